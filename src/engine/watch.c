/*
 * watch.c - the watched series (watch.h): extracted from the engine in one
 * pass over the events (day by day, as the daily report does) and a pass
 * over the tickets and answers, judged by the detectors of anomaly.h.
 */
#include "engine/watch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/text.h"
#include "core/time.h"
#include "core/vec.h"
#include "engine/anomaly.h"
#include "engine/engine_internal.h"

enum { DIR_BOTH = 0, DIR_UP = 1, DIR_DOWN = -1 };

static const kz_watch_kind kinds[] = {
    { "dau", "Active users", KZ_GRAIN_DAY, 6, 0.2 },
    { "events", "Events", KZ_GRAIN_DAY, 6, 0.2 },
    { "event", "Events", KZ_GRAIN_DAY, 8, 0.25 },
    { "plan_dau", "Active users", KZ_GRAIN_DAY, 8, 0.25 },
    { "account", "Events of", KZ_GRAIN_DAY, 6, 0.6 },
    { "tickets", "Tickets", KZ_GRAIN_DAY, 6, 0 },
    { "tickets_functional", "Functional tickets", KZ_GRAIN_DAY, 6, 0 },
    { "tickets_operational", "Operational tickets", KZ_GRAIN_DAY, 6, 0 },
    { "signups", "New paying accounts", KZ_GRAIN_MONTH, 4, 0 },
    { "logo_churn", "Logo churn", KZ_GRAIN_MONTH, 2, 0 },
    { "revenue_churn", "Revenue churn", KZ_GRAIN_MONTH, 2, 0 },
    { "new_mrr", "New MRR", KZ_GRAIN_MONTH, 4, 0 },
    { "expansion_mrr", "Expansion MRR", KZ_GRAIN_MONTH, 4, 0 },
    { "contraction_mrr", "Contraction MRR", KZ_GRAIN_MONTH, 4, 0 },
    { "churned_mrr", "Churned MRR", KZ_GRAIN_MONTH, 2.5, 0 },
    { "nps", "NPS", KZ_GRAIN_MONTH, 4, 0 },
    { "cohort_tickets", "Tickets per account", KZ_GRAIN_COHORT, 3, 0 },
};

#define NKINDS (sizeof kinds / sizeof kinds[0])
#define MAX_NAMES 32     /* event names watched, the busiest */
#define MIN_NAME_DAILY 20.0
#define MAX_ACCOUNTS 500 /* big accounts watched, the busiest */
#define MIN_ACCOUNT_DAILY 20.0
#define COHORT_AGES 3
#define COHORT_DAYS 30 /* an account's month */
#define COHORT_WINDOW 6
#define MIN_NPS_ANSWERS 10

const kz_watch_kind *kz_watch_kinds(size_t *n)
{
    *n = NKINDS;
    return kinds;
}

void kz_watch_opts_init(kz_watch_opts *w)
{
    memset(w, 0, sizeof *w);
    w->sensitivity = 1;
}

void kz_watch_opts_free(kz_watch_opts *w)
{
    free((void *)w->kinds);
    free((void *)w->thresholds);
    w->kinds = NULL;
    w->thresholds = NULL;
    w->nkinds = 0;
}

static int kind_index(const char *name, size_t n)
{
    for (size_t k = 0; k < NKINDS; k++)
        if (strlen(kinds[k].name) == n && memcmp(kinds[k].name, name, n) == 0)
            return (int)k;
    return -1;
}

int kz_watch_opts_parse(kz_watch_opts *w, const char *text)
{
    double sens = w->sensitivity;
    kz_watch_opts_init(w);
    w->sensitivity = sens > 0 ? sens : 1;
    /* every kind, each watched or not, with its threshold (0: the default) */
    int on[NKINDS] = { 0 };
    double thr[NKINDS] = { 0 };
    int all = 0, any = 0;
    for (const char *p = text; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *colon = memchr(p, ':', (size_t)(end - p));
        const char *nend = colon ? colon : end;
        while (nend > p && nend[-1] == ' ')
            nend--;
        if ((size_t)(nend - p) == 3 && memcmp(p, "all", 3) == 0 && !colon) {
            all = 1;
            p = end;
            continue;
        }
        int k = kind_index(p, (size_t)(nend - p));
        if (k < 0)
            return kz_error_set(KZ_EINVALID, "'%.*s' is not a watched series (kizuna anomalies --help lists them)",
                                (int)(nend - p > 40 ? 40 : nend - p), p);
        if (colon) {
            const char *ts = colon + 1;
            while (*ts == ' ')
                ts++;
            size_t tl = (size_t)(end - ts);
            while (tl && ts[tl - 1] == ' ')
                tl--;
            if (kz_parse_double(&thr[k], ts, tl) || !(thr[k] > 0 && thr[k] < 1000))
                return kz_error_set(KZ_EINVALID, "%s: the threshold '%.*s' is not a number above 0", kinds[k].name,
                                    (int)(tl > 20 ? 20 : tl), ts);
        }
        on[k] = 1;
        any = 1;
        p = end;
    }
    if (!all && !any)
        return kz_error_set(KZ_EINVALID, "no series to watch: give 'all' or the names of series");
    const char **names = calloc(NKINDS, sizeof *names);
    double *t = calloc(NKINDS, sizeof *t);
    if (!names || !t) {
        free(names);
        free(t);
        return kz_error_oom();
    }
    size_t n = 0;
    for (size_t k = 0; k < NKINDS; k++)
        if (all || on[k]) {
            names[n] = kinds[k].name;
            t[n++] = thr[k];
        }
    w->kinds = names;
    w->thresholds = t;
    w->nkinds = n;
    return KZ_OK;
}

void kz_anomalies_free(kz_anomalies *a)
{
    if (!a)
        return;
    free(a->v);
    kz_arena_free(a->arena);
    free(a);
}

/* ---- the scan ------------------------------------------------------------------------- */

struct scan {
    const kz_engine *e;
    const kz_metric_opts *o;
    const kz_watch_opts *w;
    kz_anomalies *out;
    kz_buf msg;
    kz_point *pts;
    size_t cap;
    uint8_t *hol, *hol7; /* each day from the first: a holiday; a holiday in the 7 days to it */
    struct kz_watch_series *jobs; /* collecting: the series to judge, judged once the engine is let go */
};

/* A series collected from the engine, judged later (kz_watch_judge). */
struct job {
    int grain, kind, direction;
    char *series, *subject;       /* malloc'd; subject may be NULL */
    double *x, *se, *var;         /* malloc'd: values (cohorts: rates); NPS errors or cohort sizes; cohort variances */
    size_t n;                     /* points (cohorts: cohorts) */
    kz_day day0;                  /* days: the first; months and cohorts: the first month's first day */
    double min_expected;
    const uint8_t *hol;           /* days: the holidays (the collection's own arrays) */
    const char *unit;             /* static */
};

struct kz_watch_series {
    KZ_VEC(struct job) jobs;
    uint8_t *hol, *hol7;
    kz_day last_day;
    kz_month last_month;
    const kz_watch_opts *w;
};

/* The threshold of kind k, or 0 when it is not watched. */
static double threshold_of(const struct scan *s, size_t k)
{
    double sens = s->w->sensitivity > 0 ? s->w->sensitivity : 1;
    if (!s->w->kinds)
        return kinds[k].threshold * sens;
    for (size_t i = 0; i < s->w->nkinds; i++)
        if (strcmp(s->w->kinds[i], kinds[k].name) == 0)
            return (s->w->thresholds && s->w->thresholds[i] > 0 ? s->w->thresholds[i] : kinds[k].threshold) * sens;
    return 0;
}

static int kind_of(const char *name)
{
    return kind_index(name, strlen(name));
}

static int room(struct scan *s, size_t n)
{
    if (n <= s->cap)
        return KZ_OK;
    kz_point *p = realloc(s->pts, n * sizeof *p);
    if (!p)
        return kz_error_oom();
    s->pts = p;
    s->cap = n;
    return KZ_OK;
}

static const char *const weekdays[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const weekday_names[7] = { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                                              "Sunday" };

/* A value as a person reads it, by unit. */
static void put_value(kz_buf *b, const char *unit, double v)
{
    if (strcmp(unit, "ratio") == 0)
        kz_buf_printf(b, "%.2f%%", v * 100);
    else if (strcmp(unit, "money") == 0)
        kz_buf_printf(b, "%.2f", v);
    else if (strcmp(unit, "per account") == 0)
        kz_buf_printf(b, "%.2f", v);
    else
        kz_buf_printf(b, "%.0f", v);
}

static int add(struct scan *s, const char *series, size_t kind, kz_day day, int age, double x, const kz_point *p,
               const char *unit, const char *subject)
{
    kz_anomalies *a = s->out;
    if (a->n == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 64;
        kz_anomaly *nv = realloc(a->v, ncap * sizeof *nv);
        if (!nv)
            return kz_error_oom();
        a->v = nv;
        a->cap = ncap;
    }
    double low = p->low, high = p->high;
    if (strcmp(unit, "count") == 0) {
        /* the usual whole counts: those inside the range */
        low = ceil(low - 1e-9);
        high = floor(high + 1e-9);
    }
    if (low <= 0 && strcmp(unit, "score") != 0)
        low = 0;
    /* "Active users Tue 2026-03-10: 512, usual for a Tuesday 88-112" */
    kz_buf *b = &s->msg;
    kz_buf_reset(b);
    char when[KZ_DATE_BUF];
    int grain = kinds[kind].grain;
    if (grain == KZ_GRAIN_DAY && strcmp(kinds[kind].name, "account") == 0) {
        /* "Events of acc_001 in the 7 days to Tue 2026-03-10: 3, usual 140-260" */
        kz_format_date(when, day);
        kz_buf_printf(b, "%s %s in the 7 days to %s %s: ", kinds[kind].label, subject, weekdays[kz_weekday(day)],
                      when);
        put_value(b, unit, x);
        kz_buf_puts(b, ", usual ");
    } else if (grain == KZ_GRAIN_DAY) {
        kz_format_date(when, day);
        int wd = kz_weekday(day);
        kz_buf_printf(b, "%s%s%s %s %s: ", kinds[kind].label, subject ? " " : "", subject ? subject : "", weekdays[wd],
                      when);
        put_value(b, unit, x);
        kz_buf_printf(b, ", usual for a %s ", weekday_names[wd]);
    } else if (grain == KZ_GRAIN_MONTH) {
        kz_format_month(when, kz_day_month(day));
        kz_buf_printf(b, "%s %s: ", kinds[kind].label, when);
        put_value(b, unit, x);
        kz_buf_puts(b, ", usual ");
    } else {
        kz_format_month(when, kz_day_month(day));
        if (age == 0)
            kz_buf_printf(b, "%s of the %s cohort in its first %d days: ", kinds[kind].label, when, COHORT_DAYS);
        else
            kz_buf_printf(b, "%s of the %s cohort in its days %d-%d: ", kinds[kind].label, when,
                          COHORT_DAYS * age + 1, COHORT_DAYS * (age + 1));
        put_value(b, unit, x);
        kz_buf_puts(b, ", usual for earlier cohorts at that age ");
    }
    put_value(b, unit, low);
    kz_buf_puts(b, "-");
    put_value(b, unit, high);
    if (grain == KZ_GRAIN_MONTH)
        kz_buf_puts(b, " (the same month in earlier years and the recent trend)");
    if (kz_buf_putc(b, '\0'))
        return kz_error_oom();
    kz_anomaly *an = &a->v[a->n];
    an->series = kz_arena_strndup(a->arena, series, strlen(series));
    an->message = kz_arena_strndup(a->arena, b->data, strlen(b->data));
    if (!an->series || !an->message)
        return kz_error_oom();
    an->kind = kinds[kind].name;
    an->grain = grain;
    an->day = day;
    an->age = age;
    an->until = grain == KZ_GRAIN_DAY     ? day
                : grain == KZ_GRAIN_MONTH ? kz_month_first_day(kz_day_month(day) + 1) - 1
                                          : kz_month_first_day(kz_day_month(day) + 1) - 1 + COHORT_DAYS * (age + 1);
    an->observed = x;
    an->expected = p->expected;
    an->low = low;
    an->high = high;
    an->z = p->z;
    an->score = p->score;
    an->higher = p->z > 0;
    an->unit = unit;
    an->flagged = p->flagged;
    a->n++;
    return KZ_OK;
}

static double *copy_doubles(const double *x, size_t n)
{
    double *c = malloc((n ? n : 1) * sizeof *c);
    if (c && n)
        memcpy(c, x, n * sizeof *c);
    return c;
}

static void job_free(struct job *j)
{
    free(j->series);
    free(j->subject);
    free(j->x);
    free(j->se);
    free(j->var);
}

/* Keeps a series to judge (copies of its strings and values; se and var
 * are taken over, freed on failure too). */
static int push_job(struct scan *s, const struct job *tmpl, const char *series, const char *subject, const double *x,
                    double *se, double *var)
{
    struct job j = *tmpl;
    j.series = strdup(series);
    j.subject = subject ? strdup(subject) : NULL;
    j.x = copy_doubles(x, tmpl->grain == KZ_GRAIN_COHORT ? tmpl->n * COHORT_AGES : tmpl->n);
    j.se = se;
    j.var = var;
    if (!j.series || (subject && !j.subject) || !j.x || kz_vec_push(&s->jobs->jobs, j)) {
        job_free(&j);
        return kz_error_oom();
    }
    return KZ_OK;
}

/* A daily series to judge, its abnormal days to be listed (a run of them
 * as one, run_days). */
static int judge_days(struct scan *s, const char *series, const char *kind_name, const double *x, size_t n,
                      kz_day day0, int direction, double min_expected, const char *subject, const uint8_t *hol)
{
    int k = kind_of(kind_name);
    if (threshold_of(s, (size_t)k) <= 0 || n == 0)
        return KZ_OK;
    struct job j = { KZ_GRAIN_DAY, k, direction, NULL, NULL, NULL, NULL, NULL, n, day0, min_expected, hol,
                     "count" };
    return push_job(s, &j, series, subject, x, NULL, NULL);
}

static int judge_months(struct scan *s, const char *kind_name, const double *x, size_t n, kz_month m0, int direction,
                        const char *unit, double min_expected, const double *se)
{
    int k = kind_of(kind_name);
    if (threshold_of(s, (size_t)k) <= 0 || n == 0)
        return KZ_OK;
    double *sc = NULL;
    if (se && !(sc = copy_doubles(se, n)))
        return kz_error_oom();
    struct job j = { KZ_GRAIN_MONTH, k, direction, NULL, NULL, NULL, NULL, NULL, n, kz_month_first_day(m0),
                     min_expected, NULL, unit };
    return push_job(s, &j, kind_name, NULL, x, sc, NULL);
}

/* ---- judging the collected series ------------------------------------------------------- */

/* The anomaly at index at began a run with `more` abnormal days after it:
 * its message says so. */
static int finish_run(struct scan *s, size_t at, int more)
{
    kz_anomaly *an = &s->out->v[at];
    char to[KZ_DATE_BUF];
    kz_format_date(to, an->until);
    kz_buf *b = &s->msg;
    kz_buf_reset(b);
    if (kz_buf_printf(b, "%s (and %d more abnormal day%s to %s %s)", an->message, more, more == 1 ? "" : "s",
                      weekdays[kz_weekday(an->until)], to))
        return kz_error_oom();
    const char *m = kz_arena_strndup(s->out->arena, b->data, b->len);
    if (!m)
        return kz_error_oom();
    an->message = m;
    return KZ_OK;
}

static int run_days(struct scan *s, const struct job *j)
{
    double thr = threshold_of(s, (size_t)j->kind);
    int rc = room(s, j->n);
    if (rc)
        return rc;
    int traced = s->w->trace && strcmp(s->w->trace, j->series) == 0;
    kz_detect_opts o;
    kz_detect_opts_init(&o);
    o.threshold = thr;
    o.direction = j->direction;
    o.counts = 1;
    o.min_expected = j->min_expected;
    o.min_change = kinds[j->kind].min_change;
    o.holiday = j->hol;
    o.exact_ranges = traced;
    if ((rc = kz_detect_daily(s->pts, j->x, j->n, j->day0, &o)))
        return rc;
    s->out->series++;
    /* a run of abnormal days the same way (at most three days apart: a
     * weekend between) is one anomaly, on its first day */
    size_t last = SIZE_MAX, at = SIZE_MAX;
    int more = 0, up = 0;
    for (size_t t = 0; t < j->n && !rc; t++) {
        const kz_point *p = &s->pts[t];
        s->out->points += p->scored;
        if (traced) {
            if (p->scored)
                rc = add(s, j->series, (size_t)j->kind, j->day0 + (kz_day)t, 0, j->x[t], p, j->unit, j->subject);
            continue;
        }
        if (!p->flagged)
            continue;
        if (at != SIZE_MAX && t <= last + 3 && (p->z > 0) == up) {
            more++;
            s->out->v[at].until = j->day0 + (kz_day)t;
            last = t;
            continue;
        }
        if (more && (rc = finish_run(s, at, more)))
            break;
        at = s->out->n;
        more = 0;
        up = p->z > 0;
        last = t;
        rc = add(s, j->series, (size_t)j->kind, j->day0 + (kz_day)t, 0, j->x[t], p, j->unit, j->subject);
    }
    if (!rc && more)
        rc = finish_run(s, at, more);
    return rc;
}

static int run_months(struct scan *s, const struct job *j)
{
    int rc = room(s, j->n);
    if (rc)
        return rc;
    kz_month m0 = kz_day_month(j->day0);
    kz_detect_opts o;
    kz_detect_opts_init(&o);
    o.threshold = threshold_of(s, (size_t)j->kind);
    o.direction = j->direction;
    o.min_expected = j->min_expected;
    o.absolute = j->se != NULL;
    o.se = j->se;
    if ((rc = kz_detect_monthly(s->pts, j->x, j->n, m0, &o)))
        return rc;
    s->out->series++;
    int traced = s->w->trace && strcmp(s->w->trace, j->series) == 0;
    for (size_t t = 0; t < j->n && !rc; t++) {
        s->out->points += s->pts[t].scored;
        if (s->pts[t].flagged || (traced && s->pts[t].scored))
            rc = add(s, j->series, (size_t)j->kind, kz_month_first_day(m0 + (kz_month)t), 0, j->x[t], &s->pts[t],
                     j->unit, NULL);
    }
    return rc;
}

/* A cohort job: x the rates (n cohorts by COHORT_AGES), se the sizes, var
 * the variances. */
static int run_cohorts(struct scan *s, const struct job *j)
{
    size_t nc = j->n;
    int rc = room(s, nc * COHORT_AGES);
    if (rc)
        return rc;
    kz_month first = kz_day_month(j->day0);
    kz_detect_opts o;
    kz_detect_opts_init(&o);
    o.threshold = threshold_of(s, (size_t)j->kind);
    o.min_rel = 0.1;
    if ((rc = kz_detect_cohorts(s->pts, j->x, j->se, j->var, nc, COHORT_AGES, COHORT_WINDOW, &o)))
        return rc;
    s->out->series++;
    for (size_t c = 0; c < nc && !rc; c++)
        for (size_t g = 0; g < COHORT_AGES && !rc; g++) {
            const kz_point *p = &s->pts[c * COHORT_AGES + g];
            s->out->points += p->scored;
            char name[64];
            snprintf(name, sizeof name, "%s/age %zu", j->series, g);
            if (!p->flagged && !(p->scored && s->w->trace && strcmp(s->w->trace, name) == 0))
                continue;
            rc = add(s, name, (size_t)j->kind, kz_month_first_day(first + (kz_month)c), (int)g, j->x[c * COHORT_AGES + g],
                     p, j->unit, NULL);
        }
    return rc;
}

/* Events and users per day: all, per watched event name, per plan, per big account. */
static int scan_events(struct scan *s, kz_day first, size_t ndays)
{
    const kz_engine *e = s->e;
    const kz_metric_opts *o = s->o;
    const uint8_t *mask = o->mask;
    int rc = KZ_OK;
    /* the busiest event names and accounts */
    size_t nn = e->nnames ? e->nnames : 1, na = e->naccounts ? e->naccounts : 1;
    int64_t *name_total = calloc(nn, sizeof *name_total), *acc_total = calloc(na, sizeof *acc_total);
    int *name_slot = malloc(nn * sizeof *name_slot), *acc_slot = malloc(na * sizeof *acc_slot);
    int *plan_of = malloc(na * sizeof *plan_of);
    double *dau = calloc(ndays, sizeof *dau), *events = calloc(ndays, sizeof *events);
    double *by_name = NULL, *by_acc = NULL, *by_plan = NULL, *week = NULL;
    uint64_t *seen = NULL, *plan_seen = NULL;
    size_t words = (e->nusers + 64) / 64, nplans = e->nplans ? e->nplans : 1;
    size_t nwatch_names = 0, nwatch_acc = 0;
    uint32_t watch_names[MAX_NAMES], *watch_acc = malloc(MAX_ACCOUNTS * sizeof *watch_acc);
    if (!name_total || !acc_total || !name_slot || !acc_slot || !plan_of || !dau || !events || !watch_acc) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t i = 0; i < e->nevents; i++) {
        if (mask && !mask[e->ev_acc[i]])
            continue;
        name_total[e->ev_name[i]]++;
        acc_total[e->ev_acc[i]]++;
    }
    for (size_t k = 0; k < nn; k++)
        name_slot[k] = -1;
    for (size_t a = 0; a < na; a++)
        acc_slot[a] = -1;
    /* the MAX_NAMES busiest names of at least MIN_NAME_DAILY a day */
    for (size_t pick = 0; pick < MAX_NAMES && threshold_of(s, (size_t)kind_of("event")) > 0; pick++) {
        size_t best = SIZE_MAX;
        for (size_t k = 0; k < e->nnames; k++)
            if (name_slot[k] < 0 && (best == SIZE_MAX || name_total[k] > name_total[best]))
                best = k;
        if (best == SIZE_MAX || (double)name_total[best] < MIN_NAME_DAILY * (double)ndays || !e->names[best])
            break;
        name_slot[best] = (int)nwatch_names;
        watch_names[nwatch_names++] = (uint32_t)best;
    }
    for (size_t pick = 0; pick < MAX_ACCOUNTS && threshold_of(s, (size_t)kind_of("account")) > 0; pick++) {
        size_t best = SIZE_MAX;
        for (size_t a = 0; a < e->naccounts; a++)
            if (acc_slot[a] < 0 && (best == SIZE_MAX || acc_total[a] > acc_total[best]))
                best = a;
        /* busy over the days it was active is what matters; its total over the
         * whole window is a good enough first cut */
        if (best == SIZE_MAX || (double)acc_total[best] < MIN_ACCOUNT_DAILY * (double)ndays / 4)
            break;
        acc_slot[best] = (int)nwatch_acc;
        watch_acc[nwatch_acc++] = (uint32_t)best;
    }
    int watch_plans = threshold_of(s, (size_t)kind_of("plan_dau")) > 0 && e->nplans > 1;
    kz_day obs = first + (kz_day)ndays - 1;
    for (size_t a = 0; a < e->naccounts; a++)
        plan_of[a] = watch_plans ? kz_engine_plan_on(e, (uint32_t)a, obs) : 0;
    by_name = calloc((nwatch_names ? nwatch_names : 1) * ndays, sizeof *by_name);
    by_acc = calloc((nwatch_acc ? nwatch_acc : 1) * ndays, sizeof *by_acc);
    by_plan = calloc(nplans * ndays, sizeof *by_plan);
    seen = calloc(words, sizeof *seen);
    week = calloc(ndays, sizeof *week);
    plan_seen = watch_plans ? calloc(nplans * words, sizeof *plan_seen) : NULL;
    if (!by_name || !by_acc || !by_plan || !seen || !week || (watch_plans && !plan_seen)) {
        rc = kz_error_oom();
        goto done;
    }
    /* day by day: a contiguous run of the time-sorted events */
    for (size_t d = 0; d < ndays; d++) {
        size_t lo = kz_engine_lower_day(e, o, (int64_t)first + (int64_t)d),
               hi = kz_engine_lower_day(e, o, (int64_t)first + (int64_t)d + 1);
        double users = 0;
        for (size_t i = lo; i < hi; i++) {
            uint32_t a = e->ev_acc[i];
            if (mask && !mask[a])
                continue;
            events[d]++;
            uint32_t u = e->ev_user[i];
            if (u) {
                uint64_t bit = (uint64_t)1 << (u & 63);
                if (!(seen[u >> 6] & bit)) {
                    seen[u >> 6] |= bit;
                    users++;
                }
                if (plan_seen && plan_of[a]) {
                    uint64_t *ps = &plan_seen[(size_t)plan_of[a] * words + (u >> 6)];
                    if (!(*ps & bit)) {
                        *ps |= bit;
                        by_plan[(size_t)plan_of[a] * ndays + d]++;
                    }
                }
            }
            int ns = name_slot[e->ev_name[i]];
            if (ns >= 0)
                by_name[(size_t)ns * ndays + d]++;
            int as = acc_slot[a];
            if (as >= 0)
                by_acc[(size_t)as * ndays + d]++;
        }
        dau[d] = users;
        for (size_t i = lo; i < hi; i++) {
            uint32_t u = e->ev_user[i];
            seen[u >> 6] = 0;
            if (plan_seen)
                plan_seen[(size_t)plan_of[e->ev_acc[i]] * words + (u >> 6)] = 0;
        }
    }
    char name[512];
    if ((rc = judge_days(s, "dau", "dau", dau, ndays, first, DIR_BOTH, MIN_NAME_DAILY, NULL, s->hol)) ||
        (rc = judge_days(s, "events", "events", events, ndays, first, DIR_BOTH, MIN_NAME_DAILY, NULL, s->hol)))
        goto done;
    for (size_t k = 0; k < nwatch_names && !rc; k++) {
        snprintf(name, sizeof name, "event/%s", e->names[watch_names[k]]);
        char subject[256];
        snprintf(subject, sizeof subject, "'%s'", e->names[watch_names[k]]);
        rc = judge_days(s, name, "event", by_name + k * ndays, ndays, first, DIR_BOTH, MIN_NAME_DAILY, subject, s->hol);
    }
    for (size_t p = 1; watch_plans && p < e->nplans && !rc; p++) {
        if (!e->plans[p])
            continue;
        snprintf(name, sizeof name, "plan_dau/%s", e->plans[p]);
        char subject[256];
        snprintf(subject, sizeof subject, "on %s", e->plans[p]);
        rc = judge_days(s, name, "plan_dau", by_plan + p * ndays, ndays, first, DIR_BOTH, MIN_NAME_DAILY, subject, s->hol);
    }
    for (size_t k = 0; k < nwatch_acc && !rc; k++) {
        size_t klen;
        const char *key = kz_engine_account_key(e, watch_acc[k], &klen);
        snprintf(name, sizeof name, "account/%.*s", (int)klen, key);
        /* silence: only drops of the events of the 7 days to each day (one
         * day of a small team says little), of accounts that usually do
         * MIN_ACCOUNT_DAILY a day, while they pay (a churned one's silence is
         * known) */
        double *x = by_acc + k * ndays, run = 0;
        for (size_t d = 0; d < ndays; d++) {
            run += x[d] - (d >= 7 ? week[d - 7] : 0);
            week[d] = x[d];
            x[d] = d + 1 >= 7 && kz_engine_mrr(e, watch_acc[k], first + (kz_day)d) > 0 ? run : NAN;
        }
        rc = judge_days(s, name, "account", x, ndays, first, DIR_DOWN, 7 * MIN_ACCOUNT_DAILY, name + 8, s->hol7);
    }
done:
    free(name_total);
    free(acc_total);
    free(name_slot);
    free(acc_slot);
    free(plan_of);
    free(dau);
    free(events);
    free(by_name);
    free(by_acc);
    free(by_plan);
    free(seen);
    free(week);
    free(plan_seen);
    free(watch_acc);
    return rc;
}

static int scan_tickets(struct scan *s, kz_day first, size_t ndays)
{
    const kz_engine *e = s->e;
    double *all = calloc(ndays, sizeof *all), *fun = calloc(ndays, sizeof *fun), *op = calloc(ndays, sizeof *op);
    int rc = KZ_OK;
    if (!all || !fun || !op) {
        rc = kz_error_oom();
        goto done;
    }
    for (uint32_t a = 0; a < e->naccounts; a++) {
        if (s->o->mask && !s->o->mask[a])
            continue;
        for (uint32_t t = e->acc_tickets[a]; t < e->acc_tickets[a + 1]; t++) {
            int64_t d = kz_tz_day(s->o->tz, e->tk_opened[t]) - first;
            if (d < 0 || (size_t)d >= ndays)
                continue;
            all[d]++;
            if (e->tk_category[t] == KZ_CAT_FUNCTIONAL)
                fun[d]++;
            else if (e->tk_category[t] == KZ_CAT_OPERATIONAL)
                op[d]++;
        }
    }
    if (!(rc = judge_days(s, "tickets", "tickets", all, ndays, first, DIR_BOTH, 3, NULL, s->hol)) &&
        !(rc = judge_days(s, "tickets_functional", "tickets_functional", fun, ndays, first, DIR_BOTH, 3, NULL, s->hol)))
        rc = judge_days(s, "tickets_operational", "tickets_operational", op, ndays, first, DIR_BOTH, 3, NULL, s->hol);
done:
    free(all);
    free(fun);
    free(op);
    return rc;
}

static int scan_months(struct scan *s, kz_day obs)
{
    const kz_engine *e = s->e;
    kz_movement *mv = NULL;
    size_t nm = 0;
    int rc = kz_engine_movements(e, obs, s->o, &mv, &nm);
    if (rc || nm == 0) {
        free(mv);
        return rc;
    }
    double *x = malloc(nm * sizeof *x);
    if (!x) {
        free(mv);
        return kz_error_oom();
    }
    kz_month m0 = mv[0].month;
    s->jobs->last_month = mv[nm - 1].month;
    static const struct {
        const char *kind;
        int direction;
        const char *unit;
    } monthly[] = {
        { "signups", DIR_BOTH, "count" },     { "logo_churn", DIR_UP, "ratio" },  { "revenue_churn", DIR_UP, "ratio" },
        { "new_mrr", DIR_BOTH, "money" },     { "expansion_mrr", DIR_BOTH, "money" },
        { "contraction_mrr", DIR_BOTH, "money" }, { "churned_mrr", DIR_UP, "money" },
    };
    for (size_t k = 0; k < sizeof monthly / sizeof monthly[0] && !rc; k++) {
        for (size_t i = 0; i < nm; i++) {
            const kz_movement *m = &mv[i];
            double v = NAN;
            switch (k) {
            case 0: v = (double)m->accounts_first; break;
            case 1: v = m->accounts_start ? (double)m->accounts_churned / (double)m->accounts_start : NAN; break;
            case 2: v = m->start ? kz_money_double(m->churned + m->contraction) / kz_money_double(m->start) : NAN; break;
            case 3: v = kz_money_double(m->new_); break;
            case 4: v = kz_money_double(m->expansion); break;
            case 5: v = kz_money_double(m->contraction); break;
            default: v = kz_money_double(m->churned); break;
            }
            /* too small a base says little: months of a handful of accounts are not judged */
            if (m->accounts_start < 20 && k != 0)
                v = NAN;
            x[i] = v;
        }
        rc = judge_months(s, monthly[k].kind, x, nm, m0, monthly[k].direction, monthly[k].unit, 0, NULL);
    }
    /* NPS per month, of months with enough answers */
    if (!rc && e->nnps) {
        for (size_t i = 0; i < nm; i++)
            x[i] = NAN;
        int64_t (*cnt)[3] = calloc(nm, sizeof *cnt);
        if (!cnt) {
            rc = kz_error_oom();
        } else {
            for (size_t i = 0; i < e->nnps; i++) {
                if (s->o->mask && !s->o->mask[e->nps_acc[i]])
                    continue;
                kz_month m = kz_day_month((kz_day)kz_tz_day(s->o->tz, e->nps_sec[i]));
                if (m < m0 || m > mv[nm - 1].month)
                    continue;
                int g = e->nps_score[i] >= 9 ? 0 : e->nps_score[i] >= 7 ? 1 : 2;
                cnt[m - m0][g]++;
            }
            double *se = malloc(nm * sizeof *se);
            for (size_t i = 0; se && i < nm; i++) {
                int64_t n = cnt[i][0] + cnt[i][1] + cnt[i][2];
                se[i] = NAN;
                if (n < MIN_NPS_ANSWERS)
                    continue;
                /* NPS = 100 (P - D); its sampling error from the shares */
                double pp = (double)cnt[i][0] / (double)n, dd = (double)cnt[i][2] / (double)n;
                x[i] = 100.0 * (pp - dd);
                se[i] = 100.0 * sqrt((pp + dd - (pp - dd) * (pp - dd)) / (double)n);
            }
            free(cnt);
            rc = se ? judge_months(s, "nps", x, nm, m0, DIR_BOTH, "score", 0, se) : kz_error_oom();
            free(se);
        }
    }
    free(x);
    free(mv);
    return rc;
}

/* Tickets per account of each signup cohort in its first COHORT_AGES months. */
static int scan_cohorts(struct scan *s)
{
    const kz_engine *e = s->e;
    int k = kind_of("cohort_tickets");
    double thr = threshold_of(s, (size_t)k);
    if (thr <= 0 || s->jobs->last_month == 0)
        return KZ_OK;
    kz_month first = INT32_MAX, last = s->jobs->last_month;
    for (uint32_t a = 0; a < e->naccounts; a++) {
        kz_day fs = kz_engine_first_start(e, a);
        if (fs != KZ_DAY_OPEN && kz_day_month(fs) < first)
            first = kz_day_month(fs);
    }
    if (first > last)
        return KZ_OK;
    size_t nc = (size_t)(last - first) + 1;
    double *rate = calloc(nc * COHORT_AGES, sizeof *rate), *size = calloc(nc, sizeof *size);
    double *sq = calloc(nc * COHORT_AGES, sizeof *sq); /* sums of squares of the accounts' counts */
    int rc = KZ_OK;
    if (!rate || !size || !sq) {
        free(rate);
        free(size);
        free(sq);
        return kz_error_oom();
    }
    for (uint32_t a = 0; a < e->naccounts; a++) {
        if (s->o->mask && !s->o->mask[a])
            continue;
        kz_day fs = kz_engine_first_start(e, a);
        if (fs == KZ_DAY_OPEN || kz_day_month(fs) > last)
            continue;
        size_t c = (size_t)(kz_day_month(fs) - first);
        size[c]++;
        double mine[COHORT_AGES] = { 0 };
        for (uint32_t t = e->acc_tickets[a]; t < e->acc_tickets[a + 1]; t++) {
            /* its own months: 30 days each from its first paid day, so every
             * account of a cohort is seen as long */
            int64_t since = kz_tz_day(s->o->tz, e->tk_opened[t]) - (int64_t)fs;
            if (since >= 0 && since < COHORT_DAYS * COHORT_AGES)
                mine[since / COHORT_DAYS]++;
        }
        for (size_t g = 0; g < COHORT_AGES; g++) {
            rate[c * COHORT_AGES + g] += mine[g];
            sq[c * COHORT_AGES + g] += mine[g] * mine[g];
        }
    }
    /* the first ticket: ages that began before it are unknown, not quiet */
    int64_t first_ticket = INT64_MAX;
    for (uint32_t a = 0; a < e->naccounts; a++)
        for (uint32_t t = e->acc_tickets[a]; t < e->acc_tickets[a + 1]; t++) {
            int64_t d = kz_tz_day(s->o->tz, e->tk_opened[t]);
            if (d < first_ticket)
                first_ticket = d;
        }
    for (size_t c = 0; c < nc; c++)
        for (size_t g = 0; g < COHORT_AGES; g++) {
            /* the cohort's last account reaches the end of age g on this day */
            kz_day done = kz_month_first_day(first + (kz_month)c + 1) - 1 + (kz_day)(COHORT_DAYS * (g + 1));
            size_t i = c * COHORT_AGES + g;
            /* ages not complete by the observation date, and empty cohorts, are unknown */
            int64_t began = (int64_t)kz_month_first_day(first + (kz_month)c) + COHORT_DAYS * (int64_t)g;
            if (done > s->jobs->last_day || size[c] == 0 || began < first_ticket) {
                rate[i] = sq[i] = NAN;
                continue;
            }
            double mean = rate[i] / size[c];
            /* the sample variance of one account's count */
            sq[i] = size[c] > 1 ? (sq[i] - size[c] * mean * mean) / (size[c] - 1) : mean;
            rate[i] = mean;
        }
    struct job j = { KZ_GRAIN_COHORT, k, 0, NULL, NULL, NULL, NULL, NULL, nc, kz_month_first_day(first), 0, NULL,
                     "per account" };
    /* the rates are copied; the sizes and variances taken over */
    rc = push_job(s, &j, "cohort_tickets", NULL, rate, size, sq);
    free(rate);
    return rc;
}

/* A day abnormal in every event name and plan is one anomaly, not twenty:
 * an event name's (a plan's) abnormal day is folded into the events' (the
 * active users') when those are abnormal the same day the same way, and
 * their message counts it. What is abnormal in one part alone stays. */
static int fold_children(struct scan *s)
{
    kz_anomalies *a = s->out;
    size_t kept = 0;
    for (size_t i = 0; i < a->n; i++) {
        kz_anomaly *c = &a->v[i];
        const char *parent = strcmp(c->kind, "event") == 0 ? "events" : strcmp(c->kind, "plan_dau") == 0 ? "dau" : NULL;
        kz_anomaly *p = NULL;
        for (size_t j = 0; parent && c->flagged && j < a->n && !p; j++)
            if (a->v[j].flagged && a->v[j].day == c->day && a->v[j].higher == c->higher &&
                strcmp(a->v[j].series, parent) == 0)
                p = &a->v[j];
        if (!p) {
            a->v[kept++] = *c;
            continue;
        }
        /* the parent's message says how many parts moved with it */
        int ev = strcmp(c->kind, "event") == 0;
        const char *what = ev ? "event name" : "plan";
        const char *at = strstr(p->message, " (also ");
        long count = 0;
        kz_buf *b = &s->msg;
        kz_buf_reset(b);
        if (at && strstr(at, what))
            count = strtol(at + 7, NULL, 10);
        /* what follows the count (a run's days) is kept */
        const char *rest = at ? strchr(at + 1, ')') : NULL;
        kz_buf_append(b, p->message, at ? (size_t)(at - p->message) : strlen(p->message));
        kz_buf_printf(b, " (also %ld %s%s)%s", count + 1, what, count + 1 == 1 ? "" : "s", rest ? rest + 1 : "");
        if (kz_buf_putc(b, '\0'))
            return kz_error_oom();
        const char *msg = kz_arena_strndup(a->arena, b->data, strlen(b->data));
        if (!msg)
            return kz_error_oom();
        p->message = msg;
    }
    a->n = kept;
    return KZ_OK;
}

static int cmp_anomaly(const void *x, const void *y)
{
    const kz_anomaly *a = x, *b = y;
    if (a->day != b->day)
        return a->day < b->day ? -1 : 1;
    int c = strcmp(a->series, b->series);
    return c ? c : (a->age > b->age) - (a->age < b->age);
}

void kz_watch_series_free(kz_watch_series *ws)
{
    if (!ws)
        return;
    for (size_t i = 0; i < ws->jobs.n; i++)
        job_free(&ws->jobs.v[i]);
    kz_vec_free(&ws->jobs);
    free(ws->hol);
    free(ws->hol7);
    free(ws);
}

int kz_watch_collect(kz_watch_series **out, const kz_engine *e, const kz_metric_opts *o, const kz_watch_opts *w)
{
    kz_watch_series *ws = calloc(1, sizeof *ws);
    struct scan s;
    int rc = KZ_OK;
    *out = NULL;
    if (!ws)
        return kz_error_oom();
    ws->w = w;
    memset(&s, 0, sizeof s);
    s.e = e;
    s.o = o;
    s.w = w;
    s.jobs = ws;
    kz_day obs = kz_engine_obs(e, o), first = kz_engine_first_day(e, o->tz);
    if (w->now && obs != KZ_DAY_NONE) {
        /* a day still going on has not shown its total */
        kz_day today = (kz_day)kz_tz_day(o->tz, w->now / KZ_USEC_PER_SEC);
        if (obs >= today)
            obs = today - 1;
    }
    ws->last_day = obs;
    if (obs != KZ_DAY_NONE && first != KZ_DAY_NONE && obs >= first) {
        size_t ndays = (size_t)(obs - first) + 1;
        s.hol = ws->hol = calloc(ndays, 1);
        s.hol7 = ws->hol7 = calloc(ndays, 1);
        if (!s.hol || !s.hol7) {
            rc = kz_error_oom();
            goto done;
        }
        for (size_t d = 0; d < ndays; d++) {
            s.hol[d] = (uint8_t)kz_calendar_has(w->holidays, first + (kz_day)d);
            for (size_t b = 0; b < 7 && b <= d; b++)
                s.hol7[d] |= s.hol[d - b];
        }
        if ((rc = scan_events(&s, first, ndays)) || (rc = scan_tickets(&s, first, ndays)))
            goto done;
    }
    if (obs != KZ_DAY_NONE && kz_engine_subscriptions(e))
        rc = scan_months(&s, obs);
    if (!rc && obs != KZ_DAY_NONE && kz_engine_subscriptions(e))
        rc = scan_cohorts(&s);
done:
    if (rc) {
        kz_watch_series_free(ws);
        return rc;
    }
    *out = ws;
    return KZ_OK;
}

int kz_watch_judge(kz_anomalies **out, const kz_watch_series *ws)
{
    kz_anomalies *a = calloc(1, sizeof *a);
    struct scan s;
    int rc = KZ_OK;
    *out = NULL;
    if (!a || !(a->arena = kz_arena_new(1 << 16))) {
        free(a);
        return kz_error_oom();
    }
    memset(&s, 0, sizeof s);
    s.w = ws->w;
    s.out = a;
    a->last_day = ws->last_day;
    a->last_month = ws->last_month;
    kz_buf_init(&s.msg, 1 << 16);
    for (size_t i = 0; i < ws->jobs.n && !rc; i++) {
        const struct job *j = &ws->jobs.v[i];
        rc = j->grain == KZ_GRAIN_DAY ? run_days(&s, j) : j->grain == KZ_GRAIN_MONTH ? run_months(&s, j)
                                                                                       : run_cohorts(&s, j);
    }
    if (!rc)
        rc = fold_children(&s);
    if (!rc && a->n > 1)
        qsort(a->v, a->n, sizeof *a->v, cmp_anomaly);
    kz_buf_free(&s.msg);
    free(s.pts);
    if (rc) {
        kz_anomalies_free(a);
        return rc;
    }
    *out = a;
    return KZ_OK;
}

int kz_watch_scan(kz_anomalies **out, const kz_engine *e, const kz_metric_opts *o, const kz_watch_opts *w)
{
    kz_watch_series *ws = NULL;
    *out = NULL;
    int rc = kz_watch_collect(&ws, e, o, w);
    if (!rc)
        rc = kz_watch_judge(out, ws);
    kz_watch_series_free(ws);
    return rc;
}
