/*
 * health.c - health scores from a definition (health.h).
 */
#include "engine/health.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/jsonkeys.h"
#include "core/jsonw.h"
#include "engine/engine_internal.h"
#include "engine/signals.h"

enum { CURVE_LINEAR, CURVE_STEPS, CURVE_PERCENTILE };

struct step {
    int at_least;  /* 0: the value is at most bound */
    double bound, points;
};

struct factor {
    char *name;
    int signal;    /* or -1 */
    char *field;   /* a numeric custom field, when signal is -1 */
    char *event;   /* or: events of this name in the last `days` days */
    int days;
    char **milestones; /* or: how many of these event names the account has ever used */
    size_t nmilestones;
    double weight; /* normalised: the segment's weights add up to 100 */
    double given_weight;
    int curve;
    double zero, full;          /* linear */
    struct step *steps;         /* steps */
    size_t nsteps;
    double otherwise;           /* steps: points when none matches (0..1) */
    int higher_is_better;       /* percentile */
    double missing;             /* points when the measure is missing (0..1) */
};

struct segment {
    char *name;
    char **filters;
    size_t nfilters;
    struct factor *f;
    size_t nf;
};

struct kz_health_def {
    char *name;
    double green, yellow;
    struct segment *seg;
    size_t nseg;
};

static const char default_json[] =
    "{\n"
    "  \"name\": \"Kizuna default\",\n"
    "  \"bands\": {\"green\": 70, \"yellow\": 40},\n"
    "  \"segments\": [\n"
    "    {\"name\": \"all accounts\", \"factors\": [\n"
    "      {\"name\": \"Active users trend\", \"signal\": \"users_trend\", \"curve\": \"linear\", \"zero\": 0.5,\n"
    "       \"full\": 1.0, \"missing\": 50, \"weight\": 20},\n"
    "      {\"name\": \"Recent activity\", \"signal\": \"days_since_last_event\", \"curve\": \"steps\",\n"
    "       \"steps\": [{\"at_most\": 3, \"points\": 100}, {\"at_most\": 7, \"points\": 80},\n"
    "                 {\"at_most\": 14, \"points\": 50}, {\"at_most\": 30, \"points\": 20}],\n"
    "       \"else\": 0, \"weight\": 20},\n"
    "      {\"name\": \"Feature adoption\", \"signal\": \"feature_breadth\", \"curve\": \"percentile\", \"weight\": 15},\n"
    "      {\"name\": \"Seat utilisation\", \"signal\": \"seat_utilisation\", \"curve\": \"linear\", \"zero\": 0.2,\n"
    "       \"full\": 0.8, \"missing\": 50, \"weight\": 15},\n"
    "      {\"name\": \"Urgent tickets\", \"signal\": \"tickets_open_high\", \"curve\": \"linear\", \"zero\": 2,\n"
    "       \"full\": 0, \"weight\": 10},\n"
    "      {\"name\": \"Ticket age\", \"signal\": \"oldest_open_ticket_days\", \"curve\": \"linear\", \"zero\": 30,\n"
    "       \"full\": 3, \"missing\": 100, \"weight\": 10},\n"
    "      {\"name\": \"NPS\", \"signal\": \"nps_last\", \"curve\": \"linear\", \"zero\": 0, \"full\": 10,\n"
    "       \"missing\": 50, \"weight\": 10}\n"
    "    ]}\n"
    "  ]\n"
    "}\n";

const char *kz_health_default_json(void)
{
    return default_json;
}

void kz_health_def_free(kz_health_def *d)
{
    if (!d)
        return;
    for (size_t s = 0; s < d->nseg; s++) {
        struct segment *g = &d->seg[s];
        for (size_t k = 0; k < g->nfilters; k++)
            free(g->filters[k]);
        for (size_t k = 0; k < g->nf; k++) {
            free(g->f[k].name);
            free(g->f[k].field);
            free(g->f[k].event);
            for (size_t i = 0; i < g->f[k].nmilestones; i++)
                free(g->f[k].milestones[i]);
            free(g->f[k].milestones);
            free(g->f[k].steps);
        }
        free(g->filters);
        free(g->f);
        free(g->name);
    }
    free(d->seg);
    free(d->name);
    free(d);
}

/* The place of a value being checked, for messages: "segments[0].factors[2]". */
struct where {
    const char *origin;
    char path[128];
};

static int bad(const struct where *w, const char *key, const char *fmt, ...) KZ_PRINTF(3, 4);

static int bad(const struct where *w, const char *key, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return kz_error_set(KZ_EINVALID, "%s: %s%s%s: %s", w->origin, w->path, *w->path && key ? "." : "", key ? key : "",
                        why);
}

/* Every key of obj is one of the allowed ('|'-separated). */
static int only_keys(const struct where *w, const cJSON *obj, const char *allowed)
{
    const char *key = kz_json_unknown_key(obj, allowed);
    return key ? bad(w, key, "unknown key (known: %s)", allowed) : KZ_OK;
}

/* A number of obj[key] in [lo, hi] into *v; dflt when absent (NAN: required). */
static int number(const struct where *w, const cJSON *obj, const char *key, double lo, double hi, double dflt,
                  double *v)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it) {
        if (isnan(dflt))
            return bad(w, key, "missing");
        *v = dflt;
        return KZ_OK;
    }
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return bad(w, key, "must be a number");
    if (it->valuedouble < lo || it->valuedouble > hi)
        return bad(w, key, "%g is out of range (%g to %g)", it->valuedouble, lo, hi);
    *v = it->valuedouble;
    return KZ_OK;
}

static int text(const struct where *w, const cJSON *obj, const char *key, char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(it) || !*it->valuestring)
        return bad(w, key, it ? "must be a non-empty text" : "missing");
    if (!(*out = strdup(it->valuestring)))
        return kz_error_oom();
    return KZ_OK;
}

static int parse_factor(struct factor *f, const cJSON *j, struct where *w)
{
    int rc;
    if (!cJSON_IsObject(j))
        return bad(w, NULL, "a factor must be an object");
    if ((rc = only_keys(w, j,
                        "name|signal|field|event|days|milestones|weight|curve|zero|full|steps|else|higher_is_better|"
                        "missing")) ||
        (rc = text(w, j, "name", &f->name)) || (rc = number(w, j, "weight", 0, 1e6, NAN, &f->given_weight)))
        return rc;
    const cJSON *sig = cJSON_GetObjectItemCaseSensitive(j, "signal");
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(j, "field");
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(j, "event");
    const cJSON *miles = cJSON_GetObjectItemCaseSensitive(j, "milestones");
    if ((sig != NULL) + (field != NULL) + (event != NULL) + (miles != NULL) != 1)
        return bad(w, NULL, "a factor measures one thing: give one of 'signal', 'field', 'event' and 'milestones'");
    f->signal = -1;
    if (sig) {
        if (!cJSON_IsString(sig) || (f->signal = kz_signal_find(sig->valuestring, strlen(sig->valuestring))) < 0) {
            char list[2048];
            size_t n = 0;
            for (int k = 0; k < KZ_NSIGNALS && n + 40 < sizeof list; k++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k ? ", " : "", kz_signal_defs()[k].name);
            return bad(w, "signal", "'%s' is not a signal (one of: %s)",
                       cJSON_IsString(sig) ? sig->valuestring : "?", list);
        }
    } else if (field) {
        if ((rc = text(w, j, "field", &f->field)))
            return rc;
    } else if (event) {
        double days;
        if ((rc = text(w, j, "event", &f->event)) || (rc = number(w, j, "days", 1, 3660, 28, &days)))
            return rc;
        f->days = (int)days;
    } else {
        const cJSON *it;
        if (!cJSON_IsArray(miles) || cJSON_GetArraySize(miles) < 1 || cJSON_GetArraySize(miles) > 64)
            return bad(w, "milestones", "must be a list of 1 to 64 event names");
        f->milestones = calloc((size_t)cJSON_GetArraySize(miles), sizeof *f->milestones);
        if (!f->milestones)
            return kz_error_oom();
        cJSON_ArrayForEach(it, miles)
        {
            if (!cJSON_IsString(it) || !*it->valuestring)
                return bad(w, "milestones", "must be a list of event names");
            if (!(f->milestones[f->nmilestones++] = strdup(it->valuestring)))
                return kz_error_oom();
        }
    }
    double missing;
    if ((rc = number(w, j, "missing", 0, 100, 0, &missing)))
        return rc;
    f->missing = missing / 100;
    const cJSON *curve = cJSON_GetObjectItemCaseSensitive(j, "curve");
    const char *c = cJSON_IsString(curve) ? curve->valuestring : "";
    if (strcmp(c, "linear") == 0) {
        f->curve = CURVE_LINEAR;
        if ((rc = number(w, j, "zero", -1e300, 1e300, NAN, &f->zero)) ||
            (rc = number(w, j, "full", -1e300, 1e300, NAN, &f->full)))
            return rc;
        if (f->zero == f->full)
            return bad(w, "full", "must differ from 'zero' (the value of no points)");
    } else if (strcmp(c, "steps") == 0) {
        f->curve = CURVE_STEPS;
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(j, "steps"), *st;
        double otherwise;
        if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) < 1)
            return bad(w, "steps", "must be a list of {\"at_most\" or \"at_least\": value, \"points\": 0-100}");
        if ((rc = number(w, j, "else", 0, 100, 0, &otherwise)))
            return rc;
        f->otherwise = otherwise / 100;
        f->steps = calloc((size_t)cJSON_GetArraySize(steps), sizeof *f->steps);
        if (!f->steps)
            return kz_error_oom();
        size_t base = strlen(w->path);
        cJSON_ArrayForEach(st, steps)
        {
            snprintf(w->path + base, sizeof w->path - base, ".steps[%zu]", f->nsteps);
            struct step *s = &f->steps[f->nsteps];
            const cJSON *most = cJSON_GetObjectItemCaseSensitive(st, "at_most");
            const cJSON *least = cJSON_GetObjectItemCaseSensitive(st, "at_least");
            double pts;
            if (!cJSON_IsObject(st) || !most == !least)
                return bad(w, NULL, "a step has one of 'at_most' and 'at_least', and 'points'");
            if ((rc = only_keys(w, st, "at_most|at_least|points")) ||
                (rc = number(w, st, most ? "at_most" : "at_least", -1e300, 1e300, NAN, &s->bound)) ||
                (rc = number(w, st, "points", 0, 100, NAN, &pts)))
                return rc;
            s->at_least = least != NULL;
            s->points = pts / 100;
            f->nsteps++;
        }
        w->path[base] = '\0';
    } else if (strcmp(c, "percentile") == 0) {
        f->curve = CURVE_PERCENTILE;
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "higher_is_better");
        if (h && !cJSON_IsBool(h))
            return bad(w, "higher_is_better", "must be true or false");
        f->higher_is_better = !h || cJSON_IsTrue(h);
    } else {
        return bad(w, "curve", "must be \"linear\" (with zero and full), \"steps\" or \"percentile\"");
    }
    return KZ_OK;
}

static int parse_segment(struct segment *g, const cJSON *j, struct where *w)
{
    int rc;
    if (!cJSON_IsObject(j))
        return bad(w, NULL, "a segment must be an object");
    if ((rc = only_keys(w, j, "name|filter|factors")) || (rc = text(w, j, "name", &g->name)))
        return rc;
    const cJSON *filter = cJSON_GetObjectItemCaseSensitive(j, "filter"), *it;
    if (filter) {
        if (!cJSON_IsArray(filter))
            return bad(w, "filter", "must be a list of filters like \"plan=enterprise\"");
        g->filters = calloc((size_t)cJSON_GetArraySize(filter) + 1, sizeof *g->filters);
        if (!g->filters)
            return kz_error_oom();
        cJSON_ArrayForEach(it, filter)
        {
            if (!cJSON_IsString(it))
                return bad(w, "filter", "must be a list of texts");
            if (!(g->filters[g->nfilters++] = strdup(it->valuestring)))
                return kz_error_oom();
        }
    }
    const cJSON *factors = cJSON_GetObjectItemCaseSensitive(j, "factors");
    if (!cJSON_IsArray(factors) || cJSON_GetArraySize(factors) < 1)
        return bad(w, "factors", "must be a non-empty list of factors");
    g->f = calloc((size_t)cJSON_GetArraySize(factors), sizeof *g->f);
    if (!g->f)
        return kz_error_oom();
    size_t base = strlen(w->path);
    double total = 0;
    cJSON_ArrayForEach(it, factors)
    {
        snprintf(w->path + base, sizeof w->path - base, ".factors[%zu]", g->nf);
        if ((rc = parse_factor(&g->f[g->nf++], it, w)))
            return rc;
        total += g->f[g->nf - 1].given_weight;
    }
    w->path[base] = '\0';
    if (!(total > 0))
        return bad(w, "factors", "the weights add up to 0");
    for (size_t k = 0; k < g->nf; k++)
        g->f[k].weight = 100 * g->f[k].given_weight / total;
    return KZ_OK;
}

int kz_health_def_parse(kz_health_def **out, const char *json, size_t n, const char *origin)
{
    kz_health_def *d = calloc(1, sizeof *d);
    cJSON *root = cJSON_ParseWithLength(json, n);
    struct where w = { origin, "" };
    int rc = KZ_OK;
    *out = NULL;
    if (!d) {
        cJSON_Delete(root);
        return kz_error_oom();
    }
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        rc = kz_error_set(KZ_EINVALID, "%s: not JSON (near byte %ld)", origin, at ? (long)(at - json) : 0L);
        goto done;
    }
    if (!cJSON_IsObject(root)) {
        rc = bad(&w, NULL, "a health definition is a JSON object");
        goto done;
    }
    if ((rc = only_keys(&w, root, "name|bands|segments")))
        goto done;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (!(d->name = strdup(cJSON_IsString(name) ? name->valuestring : "unnamed"))) {
        rc = kz_error_oom();
        goto done;
    }
    const cJSON *bands = cJSON_GetObjectItemCaseSensitive(root, "bands");
    d->green = 70;
    d->yellow = 40;
    if (bands) {
        snprintf(w.path, sizeof w.path, "bands");
        if ((rc = only_keys(&w, bands, "green|yellow")) || (rc = number(&w, bands, "green", 0, 100, 70, &d->green)) ||
            (rc = number(&w, bands, "yellow", 0, 100, 40, &d->yellow)))
            goto done;
        if (d->yellow > d->green) {
            rc = bad(&w, "yellow", "%g is above green (%g)", d->yellow, d->green);
            goto done;
        }
        w.path[0] = '\0';
    }
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive(root, "segments"), *it;
    if (!cJSON_IsArray(segs) || cJSON_GetArraySize(segs) < 1) {
        rc = bad(&w, "segments", "must be a non-empty list of segments");
        goto done;
    }
    d->seg = calloc((size_t)cJSON_GetArraySize(segs), sizeof *d->seg);
    if (!d->seg) {
        rc = kz_error_oom();
        goto done;
    }
    cJSON_ArrayForEach(it, segs)
    {
        snprintf(w.path, sizeof w.path, "segments[%zu]", d->nseg);
        if ((rc = parse_segment(&d->seg[d->nseg++], it, &w)))
            goto done;
        for (size_t k = 0; k + 1 < d->nseg; k++)
            if (strcmp(d->seg[k].name, d->seg[d->nseg - 1].name) == 0) {
                rc = bad(&w, "name", "'%s' names two segments", d->seg[k].name);
                goto done;
            }
    }
done:
    cJSON_Delete(root);
    if (rc) {
        kz_health_def_free(d);
        return rc;
    }
    *out = d;
    return KZ_OK;
}

int kz_health_def_json(const kz_health_def *d, kz_buf *out)
{
    kz_jw w;
    kz_jw_init(&w, out);
    kz_jw_obj(&w);
    kz_jw_key(&w, "name");
    kz_jw_str(&w, d->name);
    kz_jw_key(&w, "bands");
    kz_jw_obj(&w);
    kz_jw_key(&w, "green");
    kz_jw_double(&w, d->green);
    kz_jw_key(&w, "yellow");
    kz_jw_double(&w, d->yellow);
    kz_jw_end(&w);
    kz_jw_key(&w, "segments");
    kz_jw_arr(&w);
    for (size_t s = 0; s < d->nseg; s++) {
        const struct segment *g = &d->seg[s];
        kz_jw_obj(&w);
        kz_jw_key(&w, "name");
        kz_jw_str(&w, g->name);
        if (g->nfilters) {
            kz_jw_key(&w, "filter");
            kz_jw_arr(&w);
            for (size_t k = 0; k < g->nfilters; k++)
                kz_jw_str(&w, g->filters[k]);
            kz_jw_end(&w);
        }
        kz_jw_key(&w, "factors");
        kz_jw_arr(&w);
        for (size_t k = 0; k < g->nf; k++) {
            const struct factor *f = &g->f[k];
            kz_jw_obj(&w);
            kz_jw_key(&w, "name");
            kz_jw_str(&w, f->name);
            if (f->signal >= 0 || f->field) {
                kz_jw_key(&w, f->signal >= 0 ? "signal" : "field");
                kz_jw_str(&w, f->signal >= 0 ? kz_signal_defs()[f->signal].name : f->field);
            } else if (f->event) {
                kz_jw_key(&w, "event");
                kz_jw_str(&w, f->event);
                kz_jw_key(&w, "days");
                kz_jw_int(&w, f->days);
            } else {
                kz_jw_key(&w, "milestones");
                kz_jw_arr(&w);
                for (size_t i = 0; i < f->nmilestones; i++)
                    kz_jw_str(&w, f->milestones[i]);
                kz_jw_end(&w);
            }
            kz_jw_key(&w, "curve");
            kz_jw_str(&w, f->curve == CURVE_LINEAR ? "linear" : f->curve == CURVE_STEPS ? "steps" : "percentile");
            if (f->curve == CURVE_LINEAR) {
                kz_jw_key(&w, "zero");
                kz_jw_double(&w, f->zero);
                kz_jw_key(&w, "full");
                kz_jw_double(&w, f->full);
            } else if (f->curve == CURVE_STEPS) {
                kz_jw_key(&w, "steps");
                kz_jw_arr(&w);
                for (size_t i = 0; i < f->nsteps; i++) {
                    kz_jw_obj(&w);
                    kz_jw_key(&w, f->steps[i].at_least ? "at_least" : "at_most");
                    kz_jw_double(&w, f->steps[i].bound);
                    kz_jw_key(&w, "points");
                    kz_jw_double(&w, f->steps[i].points * 100);
                    kz_jw_end(&w);
                }
                kz_jw_end(&w);
                kz_jw_key(&w, "else");
                kz_jw_double(&w, f->otherwise * 100);
            } else {
                kz_jw_key(&w, "higher_is_better");
                kz_jw_bool(&w, f->higher_is_better);
            }
            kz_jw_key(&w, "missing");
            kz_jw_double(&w, f->missing * 100);
            kz_jw_key(&w, "weight");
            kz_jw_double(&w, f->given_weight);
            kz_jw_end(&w);
        }
        kz_jw_end(&w);
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    kz_jw_end(&w);
    return kz_jw_error(&w);
}

size_t kz_health_segments(const kz_health_def *d)
{
    return d->nseg;
}

const char *kz_health_segment_name(const kz_health_def *d, size_t s)
{
    return d->seg[s].name;
}

const char *const *kz_health_segment_filters(const kz_health_def *d, size_t s, size_t *n)
{
    *n = d->seg[s].nfilters;
    return (const char *const *)d->seg[s].filters;
}

size_t kz_health_factors(const kz_health_def *d, size_t s)
{
    return d->seg[s].nf;
}

const char *kz_health_factor_name(const kz_health_def *d, size_t s, size_t f)
{
    return d->seg[s].f[f].name;
}

int kz_health_factor_signal(const kz_health_def *d, size_t s, size_t f)
{
    return d->seg[s].f[f].signal;
}

double kz_health_factor_weight(const kz_health_def *d, size_t s, size_t f)
{
    return d->seg[s].f[f].weight;
}

void kz_health_set_factor_weight(kz_health_def *d, size_t s, size_t f, double w)
{
    struct segment *g = &d->seg[s];
    g->f[f].given_weight = w;
    double total = 0;
    for (size_t k = 0; k < g->nf; k++)
        total += g->f[k].given_weight;
    for (size_t k = 0; k < g->nf; k++)
        g->f[k].weight = total > 0 ? 100 * g->f[k].given_weight / total : 0;
}

double kz_health_band_green(const kz_health_def *d)
{
    return d->green;
}

double kz_health_band_yellow(const kz_health_def *d)
{
    return d->yellow;
}

const char *kz_health_band_name(int band)
{
    return band == KZ_BAND_GREEN ? "green" : band == KZ_BAND_YELLOW ? "yellow" : "red";
}

void kz_health_scores_free(kz_health_scores *h)
{
    if (!h)
        return;
    free(h->score);
    free(h->band);
    free(h->segment);
    free(h->part);
    free(h->signals);
    free(h);
}

/* Points of value v by a linear or steps curve. */
static double curve_points(const struct factor *f, double v)
{
    if (f->curve == CURVE_LINEAR) {
        double p = (v - f->zero) / (f->full - f->zero);
        return p < 0 ? 0 : p > 1 ? 1 : p;
    }
    for (size_t i = 0; i < f->nsteps; i++)
        if (f->steps[i].at_least ? v >= f->steps[i].bound : v <= f->steps[i].bound)
            return f->steps[i].points;
    return f->otherwise;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The share of the sorted values below v, ties counting one half. */
static double percentile(const double *sorted, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first >= v */
        size_t m = lo + (hi - lo) / 2;
        if (sorted[m] < v)
            lo = m + 1;
        else
            hi = m;
    }
    size_t below = lo;
    hi = n;
    while (lo < hi) { /* first > v */
        size_t m = lo + (hi - lo) / 2;
        if (sorted[m] <= v)
            lo = m + 1;
        else
            hi = m;
    }
    return n ? ((double)below + 0.5 * (double)(lo - below)) / (double)n : 0.5;
}

/* The id of event name `name`, or -1 when no event has it. */
static int name_id(const kz_engine *e, const char *name)
{
    for (size_t i = 0; i < e->nnames; i++)
        if (e->names[i] && strcmp(e->names[i], name) == 0)
            return (int)i;
    return -1;
}

/* For an event or milestones factor: per account, the events of the name in
 * the last f->days days, or how many of the milestones it has reached, by
 * the end of obs (one pass over the events up to then). */
static int event_measure(const struct factor *f, const kz_engine *e, const kz_metric_opts *o, kz_day obs, double *v)
{
    size_t end = kz_engine_lower_day(e, o, (int64_t)obs + 1);
    for (size_t a = 0; a < e->naccounts; a++)
        v[a] = 0;
    if (f->event) {
        int id = name_id(e, f->event);
        for (size_t i = kz_engine_lower_day(e, o, (int64_t)obs - f->days + 1); id >= 0 && i < end; i++)
            if (e->ev_name[i] == id)
                v[e->ev_acc[i]]++;
        return KZ_OK;
    }
    /* a bit per milestone and account */
    size_t nm = f->nmilestones < 64 ? f->nmilestones : 64;
    int ids[64];
    uint64_t *seen = calloc(e->naccounts ? e->naccounts : 1, sizeof *seen);
    if (!seen)
        return kz_error_oom();
    for (size_t m = 0; m < nm; m++)
        ids[m] = name_id(e, f->milestones[m]);
    for (size_t i = 0; i < end; i++)
        for (size_t m = 0; m < nm; m++)
            if (e->ev_name[i] == ids[m])
                seen[e->ev_acc[i]] |= (uint64_t)1 << m;
    for (size_t a = 0; a < e->naccounts; a++)
        v[a] = __builtin_popcountll(seen[a]);
    free(seen);
    return KZ_OK;
}

/* The measure of factor f for account a (ev: its event measure, if any). */
static double measure(const struct factor *f, const double *row, const kz_attrs *attrs, uint32_t a, const double *ev)
{
    if (ev)
        return ev[a];
    if (f->signal >= 0)
        return row[f->signal];
    for (size_t k = 0; attrs && k < attrs->n; k++)
        if (strcmp(attrs->cols[k].name, f->field) == 0 && attrs->cols[k].numeric && !attrs->cols[k].is_date)
            return attrs->cols[k].num[a];
    return NAN;
}

int kz_health_compute(kz_health_scores **out, const kz_health_def *d, const uint8_t *const *masks,
                      const kz_engine *e, const kz_metric_opts *o, const kz_attrs *attrs)
{
    kz_health_scores *h = calloc(1, sizeof *h);
    double *sorted = NULL;
    int rc = KZ_OK;
    *out = NULL;
    if (!h)
        return kz_error_oom();
    size_t na = e->naccounts;
    for (size_t s = 0; s < d->nseg; s++)
        h->width = d->seg[s].nf > h->width ? d->seg[s].nf : h->width;
    h->naccounts = na;
    h->score = malloc((na ? na : 1) * sizeof *h->score);
    h->band = calloc(na ? na : 1, 1);
    h->segment = malloc((na ? na : 1) * sizeof *h->segment);
    h->part = calloc((na ? na : 1) * h->width, sizeof *h->part);
    sorted = malloc((na ? na : 1) * sizeof *sorted);
    if (!h->score || !h->band || !h->segment || !h->part || !sorted) {
        rc = kz_error_oom();
        goto done;
    }
    if ((rc = kz_engine_signals(&h->signals, e, o)))
        goto done;
    kz_day obs = kz_engine_obs(e, o);
    for (uint32_t a = 0; a < na; a++) {
        h->score[a] = NAN;
        h->segment[a] = -1;
        if (obs == KZ_DAY_NONE || !kz_counts(o, a) || kz_engine_mrr_on(e, a, obs) <= 0)
            continue;
        for (size_t s = 0; s < d->nseg && h->segment[a] < 0; s++)
            if (!masks || !masks[s] || masks[s][a])
                h->segment[a] = (int)s;
    }
    /* the measures and the curves; percentiles once a segment's values are known */
    for (size_t s = 0; s < d->nseg; s++) {
        const struct segment *g = &d->seg[s];
        for (size_t k = 0; k < g->nf && !rc; k++) {
            const struct factor *f = &g->f[k];
            size_t n = 0;
            double *ev = NULL;
            if ((f->event || f->milestones) && obs != KZ_DAY_NONE) {
                if (!(ev = malloc((na ? na : 1) * sizeof *ev)) || (rc = event_measure(f, e, o, obs, ev))) {
                    free(ev);
                    rc = rc ? rc : kz_error_oom();
                    break;
                }
            }
            for (uint32_t a = 0; a < na; a++) {
                if (h->segment[a] != (int)s)
                    continue;
                kz_health_part *p = &h->part[(size_t)a * h->width + k];
                p->value = measure(f, h->signals + (size_t)a * KZ_NSIGNALS, attrs, a, ev);
                p->weight = f->weight;
                if (!isnan(p->value))
                    sorted[n++] = p->value;
            }
            if (f->curve == CURVE_PERCENTILE && n > 1)
                qsort(sorted, n, sizeof *sorted, cmp_double);
            for (uint32_t a = 0; a < na; a++) {
                if (h->segment[a] != (int)s)
                    continue;
                kz_health_part *p = &h->part[(size_t)a * h->width + k];
                if (isnan(p->value))
                    p->points = f->missing;
                else if (f->curve == CURVE_PERCENTILE)
                    p->points = f->higher_is_better ? percentile(sorted, n, p->value)
                                                    : 1 - percentile(sorted, n, p->value);
                else
                    p->points = curve_points(f, p->value);
                p->score = p->points * p->weight;
            }
            free(ev);
        }
    }
    if (rc)
        goto done;
    for (uint32_t a = 0; a < na; a++) {
        if (h->segment[a] < 0)
            continue;
        double total = 0;
        for (size_t k = 0; k < d->seg[h->segment[a]].nf; k++)
            total += h->part[(size_t)a * h->width + k].score;
        h->score[a] = total;
        h->band[a] = total >= d->green ? KZ_BAND_GREEN : total >= d->yellow ? KZ_BAND_YELLOW : KZ_BAND_RED;
    }
done:
    free(sorted);
    if (rc) {
        kz_health_scores_free(h);
        return rc;
    }
    *out = h;
    return KZ_OK;
}

int kz_health_describe(kz_buf *out, const kz_health_def *d, const kz_health_scores *h, uint32_t a, size_t f)
{
    if (h->segment[a] < 0 || f >= d->seg[h->segment[a]].nf)
        return KZ_OK;
    const struct factor *fc = &d->seg[h->segment[a]].f[f];
    if (fc->signal >= 0)
        return kz_signal_describe(out, fc->signal, h->signals + (size_t)a * KZ_NSIGNALS);
    double v = h->part[(size_t)a * h->width + f].value;
    if (fc->event)
        return kz_buf_printf(out, "%.0f %s events in the last %d days", v, fc->event, fc->days);
    if (fc->milestones)
        return kz_buf_printf(out, "%.0f of %zu milestones reached", v, fc->nmilestones);
    return isnan(v) ? kz_buf_printf(out, "%s is empty", fc->field) : kz_buf_printf(out, "%s = %g", fc->field, v);
}
