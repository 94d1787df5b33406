/*
 * run.c - the stored rules, conditions on accounts, backtests and runs (run.h).
 *
 * A pass walks the stored events once (kz_events_walk, in time order), feeds
 * the slice a pass needs to one matcher, and collects what fires; the
 * collected firings are recorded and acted on after the walk, so that no
 * write happens while the walk reads.
 */
#include "rules/run.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/text.h"
#include "engine/findings.h"
#include "engine/health.h"
#include "engine/renewal.h"
#include "engine/segment.h"
#include "engine/signals.h"
#include "store/evblock.h"

/* ---- the stored rules ------------------------------------------------------------------ */

struct load {
    kz_ruleset *rs;
    size_t cap;
};

static int on_rule(void *ctx, const kz_rule_rec *r)
{
    struct load *l = ctx;
    kz_ruleset *rs = l->rs;
    if (rs->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        kz_rule **v = realloc(rs->rules, cap * sizeof *v);
        if (v)
            rs->rules = v;
        kz_rule_mode *m = realloc(rs->mode, cap * sizeof *m);
        if (m)
            rs->mode = m;
        kz_time *t = realloc(rs->enabled_at, cap * sizeof *t);
        if (t)
            rs->enabled_at = t;
        if (!v || !m || !t)
            return kz_error_oom();
        l->cap = cap;
    }
    char origin[96];
    snprintf(origin, sizeof origin, "stored rule '%s'", r->name);
    kz_rule *rule;
    int rc = kz_rule_parse(&rule, r->definition, strlen(r->definition), origin);
    if (rc)
        return rc;
    if (kz_rule_mode_parse(&rs->mode[rs->n], r->mode)) {
        kz_rule_free(rule);
        return kz_error_prefix(KZ_EINVALID, "%s", origin);
    }
    rule->mode = rs->mode[rs->n];
    rs->rules[rs->n] = rule;
    rs->enabled_at[rs->n] = r->enabled_at;
    rs->n++;
    return KZ_OK;
}

int kz_ruleset_load(kz_ruleset **out, kz_store *st)
{
    struct load l = { calloc(1, sizeof(kz_ruleset)), 0 };
    *out = NULL;
    if (!l.rs)
        return kz_error_oom();
    int rc = kz_store_rules_each(st, on_rule, &l);
    if (rc) {
        kz_ruleset_free(l.rs);
        return rc;
    }
    *out = l.rs;
    return KZ_OK;
}

void kz_ruleset_free(kz_ruleset *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n; i++)
        kz_rule_free(rs->rules[i]);
    free(rs->rules);
    free(rs->mode);
    free(rs->enabled_at);
    free(rs);
}

static int on_stored_mode(void *ctx, const kz_rule_rec *r)
{
    return kz_rule_mode_parse(ctx, r->mode);
}

int kz_ruleset_store(kz_store *st, kz_rule *const *v, size_t n, const kz_rule_mode *mode, int keep_mode,
                     kz_time now, size_t *out_created)
{
    size_t created = 0;
    int rc = kz_store_begin(st);
    for (size_t i = 0; i < n && !rc; i++) {
        kz_rule_mode m = mode ? *mode : v[i]->mode;
        if (!mode && keep_mode && (rc = kz_store_rule_get(st, v[i]->id, on_stored_mode, &m)) == KZ_ENOTFOUND)
            rc = KZ_OK;
        char source[1100];
        snprintf(source, sizeof source, "file:%.1024s", v[i]->origin);
        kz_rule_rec rec = { .name = v[i]->id, .definition = v[i]->json, .mode = kz_rule_mode_name(m),
                            .source = source };
        int fresh = 0;
        if (!rc && !(rc = kz_store_rule_put(st, &rec, now, &fresh)))
            created += (size_t)fresh;
    }
    if (rc) {
        kz_store_rollback(st);
        return rc;
    }
    if ((rc = kz_store_commit(st)))
        return rc;
    if (out_created)
        *out_created = created;
    return KZ_OK;
}

/* ---- conditions on accounts -------------------------------------------------------------- */

struct idx {
    int64_t id;
    uint32_t a;
};

struct kz_judge {
    kz_rule *const *rules;
    size_t n;
    kz_engine *own_engine;
    const kz_engine *e;
    kz_scores *own_scores;
    const kz_scores *sc;
    struct idx *by_id;     /* engine accounts by store id */
    int64_t *ids;          /* the store's id of each engine account */
    size_t naccounts;
    uint8_t **masks;       /* per rule: accounts passing its filters (NULL: no filter) */
    kz_day today;
};

static int cmp_idx(const void *a, const void *b)
{
    int64_t x = ((const struct idx *)a)->id, y = ((const struct idx *)b)->id;
    return (x > y) - (x < y);
}

static int needs_scores(const kz_rule *r)
{
    return r->bands || r->nsegments || r->trigger == KZ_TRIG_THRESHOLD || strstr(r->json, "account.health") || strstr(r->json, "account.band") ||
           strstr(r->json, "account.churn");
}

int kz_judge_new(kz_judge **out, kz_store *st, kz_rule *const *rules, size_t n, const kz_engine *e,
                 const kz_scores *sc, kz_day today)
{
    kz_judge *j = calloc(1, sizeof *j);
    int rc = KZ_OK, want_scores = 0;
    *out = NULL;
    if (!j || !(j->masks = calloc(n + 1, sizeof *j->masks))) {
        free(j);
        return kz_error_oom();
    }
    j->rules = rules;
    j->n = n;
    j->today = today;
    for (size_t i = 0; i < n; i++)
        want_scores |= needs_scores(rules[i]);
    j->e = e;
    j->sc = sc;
    if (!e) {
        if ((rc = kz_engine_build(&j->own_engine, st, want_scores ? KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS
                                                                  : KZ_ENGINE_SUBSCRIPTIONS,
                                  NULL)))
            goto done;
        j->e = j->own_engine;
    }
    if (!sc && want_scores) {
        kz_metric_opts mo;
        kz_metric_opts_init(&mo);
        if ((rc = kz_scores_compute(&j->own_scores, st, j->e, &mo)))
            goto done;
        j->sc = j->own_scores;
    }
    j->naccounts = kz_engine_accounts(j->e);
    int64_t *ids = malloc((j->naccounts + 1) * sizeof *ids);
    if (!ids || !(j->by_id = malloc((j->naccounts + 1) * sizeof *j->by_id))) {
        free(ids);
        rc = kz_error_oom();
        goto done;
    }
    kz_engine_account_ids(j->e, ids);
    for (size_t a = 0; a < j->naccounts; a++)
        j->by_id[a] = (struct idx){ ids[a], (uint32_t)a };
    j->ids = ids;
    qsort(j->by_id, j->naccounts, sizeof *j->by_id, cmp_idx);
    for (size_t i = 0; i < n && !rc; i++) {
        if (!rules[i]->nfilters)
            continue;
        kz_segments *s;
        if ((rc = kz_segments_build(&s, st, j->e, today, rules[i]->filters, rules[i]->nfilters, NULL))) {
            kz_error_prefix(rc, "rule '%s': conditions.filters", rules[i]->id);
            break;
        }
        j->masks[i] = s->filter;
        s->filter = NULL;
        kz_segments_free(s);
    }
done:
    if (rc) {
        kz_judge_free(j);
        return rc;
    }
    *out = j;
    return KZ_OK;
}

void kz_judge_free(kz_judge *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++)
        free(j->masks[i]);
    free(j->masks);
    free(j->by_id);
    free(j->ids);
    kz_scores_free(j->own_scores);
    kz_engine_free(j->own_engine);
    free(j);
}

static const char *const band_names[] = { [KZ_BAND_RED] = "red", [KZ_BAND_YELLOW] = "yellow",
                                          [KZ_BAND_GREEN] = "green" };

int kz_judge_account(kz_judge *j, size_t i, int64_t account_id, kz_occasion *o)
{
    const kz_rule *r = j->rules[i];
    struct idx key = { account_id, 0 };
    const struct idx *x = bsearch(&key, j->by_id, j->naccounts, sizeof *j->by_id, cmp_idx);
    if (!x)
        /* an account the engine does not have yet (added since): only a rule without conditions fires */
        return !r->nfilters && !r->bands && !r->nsegments;
    uint32_t a = x->a;
    if (j->masks[i] && !j->masks[i][a])
        return 0;
    kz_metric_opts mo;
    kz_account_facts facts;
    kz_metric_opts_init(&mo);
    kz_engine_account_facts(j->e, &mo, a, j->today, &facts);
    o->plan = facts.plan;
    o->mrr = facts.mrr;
    const kz_scores *sc = j->sc;
    if (sc && a < sc->naccounts) {
        o->health = sc->health[a];
        o->churn = sc->churn ? sc->churn[a] : NAN;
        if (!isnan(sc->health[a]) && sc->band[a] <= KZ_BAND_GREEN)
            o->band = band_names[sc->band[a]];
        if (r->bands && (isnan(sc->health[a]) || !(r->bands & (1u << sc->band[a]))))
            return 0;
        if (r->nsegments) {
            int ok = 0;
            for (size_t k = 0; k < r->nsegments && !ok; k++)
                ok = sc->segment[a] && strcmp(sc->segment[a], r->segments[k]) == 0;
            if (!ok)
                return 0;
        }
    } else if (r->bands || r->nsegments) {
        return 0;
    }
    return 1;
}

/* ---- in words ------------------------------------------------------------------------------ */

static void put(char *out, size_t cap, size_t *len, const char *fmt, ...) KZ_PRINTF(4, 5);

static void put(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (k > 0)
        *len = *len + (size_t)k >= cap ? cap - 1 : *len + (size_t)k;
}

static void describe_step(const kz_rule_step *s, char *out, size_t cap, size_t *len)
{
    put(out, cap, len, "%s", s->event);
    if (s->count > 1) {
        char n[24];
        snprintf(n, sizeof n, " x%d", s->count);
        put(out, cap, len, "%s", n);
    }
    for (size_t k = 0; k < s->nwhere; k++) {
        const kz_rule_cond *c = &s->where[k];
        const char *f = strncmp(c->field, "properties.", 11) == 0 ? c->field + 11 : c->field;
        char v[48];
        if (c->op == KZ_OP_EXISTS)
            v[0] = 0;
        else if (c->op == KZ_OP_IN)
            snprintf(v, sizeof v, " (%zu values)", c->nlist);
        else if (c->numeric)
            snprintf(v, sizeof v, " %g", c->num);
        else
            snprintf(v, sizeof v, " %.40s", c->text);
        put(out, cap, len, "%s%s %s%s", k ? ", " : " (", f, kz_rule_op_name(c->op), v);
    }
    if (s->nwhere)
        put(out, cap, len, ")");
}

void kz_rule_describe(const kz_rule *r, char *out, size_t cap)
{
    size_t len = 0;
    if (!cap)
        return;
    out[0] = 0;
    switch (r->trigger) {
    case KZ_TRIG_THRESHOLD:
        put(out, cap, &len, "%s %s %.6g",
            r->measure == KZ_MEASURE_HEALTH  ? "health"
            : r->measure == KZ_MEASURE_CHURN ? "churn probability"
                                             : kz_signal_defs()[r->measure].name,
            kz_rule_op_name(r->op), r->threshold);
        return;
    case KZ_TRIG_DATE: {
        const char *what = r->anchor == KZ_ANCHOR_RENEWAL ? "renewal" : r->anchor == KZ_ANCHOR_SIGNUP ? "signup"
                                                                                                      : r->anchor_field;
        if (r->offset_days)
            put(out, cap, &len, "%d days %s %s", abs(r->offset_days), r->offset_days < 0 ? "before" : "after", what);
        else
            put(out, cap, &len, "the day of %s", what);
        if (r->unless_event)
            put(out, cap, &len, ", unless %s by then", r->unless_event);
        return;
    }
    case KZ_TRIG_TICKET: {
        static const char *const cats[] = { "functional", "operational" };
        static const char *const prios[] = { "low", "normal", "high", "urgent" };
        put(out, cap, &len, "a ticket opened");
        for (int i = 0, first = 1; i < 4; i++)
            if (r->priorities & (1u << i)) {
                put(out, cap, &len, "%s%s", first ? ", priority " : " or ", prios[i]);
                first = 0;
            }
        for (int i = 0, first = 1; i < 2; i++)
            if (r->categories & (1u << i)) {
                put(out, cap, &len, "%s%s", first ? ", " : " or ", cats[i]);
                first = 0;
            }
        return;
    }
    case KZ_TRIG_NPS:
        put(out, cap, &len, "an NPS answer of %d to %d", r->min_score, r->max_score);
        return;
    case KZ_TRIG_ANOMALY:
        put(out, cap, &len, "an anomaly%s%s%s", r->series ? " of " : " of an account", r->series ? r->series : "",
            r->direction > 0 ? ", up" : r->direction < 0 ? ", down" : "");
        return;
    default: break;
    }
    for (size_t s = 0; s < r->nsteps; s++) {
        if (s)
            put(out, cap, &len, "%s", r->ordered ? ", then " : " and ");
        describe_step(&r->steps[s], out, cap, &len);
    }
    if (r->trigger == KZ_TRIG_SEQUENCE) {
        char w[32];
        int64_t d = r->within;
        if (d % 86400 == 0)
            snprintf(w, sizeof w, "%lldd", (long long)(d / 86400));
        else if (d % 3600 == 0)
            snprintf(w, sizeof w, "%lldh", (long long)(d / 3600));
        else
            snprintf(w, sizeof w, "%llds", (long long)d);
        put(out, cap, &len, " within %s", w);
        if (r->same)
            put(out, cap, &len, ", the same %s", r->same);
    }
    put(out, cap, &len, "%s", r->per == KZ_PER_USER ? ", by one user" : ", in one account");
}

/* ---- a pass over the stored events ------------------------------------------------------- */

struct cand {
    size_t rule;
    int64_t account_id;
    uint32_t user, event;
    kz_time at;
    double value;
    char key[64];
    char reason[160];       /* scheduled triggers: what it fired on; "" for events (the rule says) */
    char *facts;            /* scheduled triggers: what it fired on as a JSON object (owned); NULL for events */
};

struct pass {
    kz_rule **rules;         /* the rules of the pass (borrowed from a ruleset or the caller) */
    kz_time *since;          /* since when each acts */
    size_t nrules;
    kz_matcher *m;
    kz_judge *judge;         /* made for each pass: the accounts as they are then */
    kz_time lo, hi;          /* the stored events walked: [lo, hi] */
    int64_t events;
    struct cand *v;
    size_t n, cap;
    char **names;            /* event names by dictionary id */
    size_t nnames;
    char **users;            /* product users' keys by dictionary id */
    size_t nusers;
    /* date rules' unless_event: the first time each account did such an event */
    uint8_t *unless;        /* per event name id: 1 when a rule asks */
    size_t nunless;
    kz_strmap *first_seen;  /* (name id, account id) -> index in seen */
    kz_time *seen;
    size_t nseen, capseen;
};

/* Forgets the candidates (and their facts). */
static void cands_clear(struct pass *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].facts);
    p->n = 0;
}

/* Facts of a candidate: a JSON object written by fn(w, arg) into c->facts. */
static int cand_facts(struct cand *c, void (*fn)(kz_jw *w, const void *arg), const void *arg)
{
    kz_buf b;
    kz_jw w;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    kz_jw_init(&w, &b);
    kz_jw_obj(&w);
    fn(&w, arg);
    kz_jw_end(&w);
    int rc = kz_jw_error(&w);
    if (rc) {
        kz_buf_free(&b);
        return rc;
    }
    c->facts = kz_buf_take(&b);
    return c->facts ? KZ_OK : kz_error_oom();
}

static const char *user_key(void *ctx, uint32_t u, size_t *n)
{
    struct pass *p = ctx;
    if (u >= p->nusers || !p->users[u])
        return NULL;
    *n = strlen(p->users[u]);
    return p->users[u];
}

static struct cand *cand_add(struct pass *p)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct cand *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return NULL;
        p->v = v;
        p->cap = cap;
    }
    struct cand *c = &p->v[p->n++];
    memset(c, 0, sizeof *c);
    c->value = NAN;
    return c;
}

static int collect(void *ctx, const kz_fire *f)
{
    struct pass *p = ctx;
    kz_occasion o;
    kz_occasion_init(&o);
    if (!kz_judge_account(p->judge, f->rule_index, f->account_id, &o))
        return 0;
    struct cand *c = cand_add(p);
    if (!c)
        return kz_error_oom();
    c->rule = f->rule_index;
    c->account_id = f->account_id;
    c->user = f->user;
    c->event = f->event;
    c->at = f->at;
    c->value = f->value;
    memcpy(c->key, f->key, sizeof c->key);
    return 1;
}

/* Feeds a run of events (in time order) to the matcher, and notes the
 * first time each account did an event a date rule waits for. */
static int pass_feed(struct pass *p, const kz_evcols *ev)
{
    p->events += (int64_t)ev->n;
    for (size_t i = 0; p->unless && i < ev->n; i++) {
        if (ev->event[i] >= p->nunless || !p->unless[ev->event[i]])
            continue;
        unsigned char key[12];
        int64_t acc = ev->account[i];
        memcpy(key, &ev->event[i], 4);
        memcpy(key + 4, &acc, 8);
        int64_t k = kz_strmap_get(p->first_seen, (const char *)key, sizeof key);
        if (k >= 0) {
            if (ev->ts[i] < p->seen[k])
                p->seen[k] = ev->ts[i]; /* a late event of live ingestion: earlier than the first seen */
            continue;
        }
        if (p->nseen == p->capseen) {
            size_t cap = p->capseen ? p->capseen * 2 : 256;
            kz_time *v = realloc(p->seen, cap * sizeof *v);
            if (!v)
                return kz_error_oom();
            p->seen = v;
            p->capseen = cap;
        }
        p->seen[p->nseen] = ev->ts[i];
        if (kz_strmap_put(p->first_seen, (const char *)key, sizeof key, (uint32_t)p->nseen))
            return kz_error_oom();
        p->nseen++;
    }
    return kz_matcher_feed(p->m, ev, collect, p);
}

/* The walk's run of events, cut to [lo, hi]. */
static int on_run(void *ctx, const kz_evcols *ev)
{
    struct pass *p = ctx;
    if (!ev->n || ev->ts[ev->n - 1] < p->lo || ev->ts[0] > p->hi)
        return KZ_OK;
    size_t a = 0, b = ev->n;
    while (a < ev->n && ev->ts[a] < p->lo)
        a++;
    while (b > a && ev->ts[b - 1] > p->hi)
        b--;
    kz_evcols s = *ev;
    s.n = s.cap = b - a;
    s.ts += a;
    s.account += a;
    s.user += a;
    s.event += a;
    s.value += a;
    if (s.event_id.off)
        s.event_id.off += a;
    if (s.props.off)
        s.props.off += a;
    return pass_feed(p, &s);
}

static void pass_free(struct pass *p)
{
    cands_clear(p);
    kz_matcher_free(p->m);
    kz_judge_free(p->judge);
    free(p->v);
    free(p->rules);
    free(p->since);
    free(p->unless);
    kz_strmap_free(p->first_seen);
    free(p->seen);
    if (p->users)
        kz_store_dict_free(p->users);
    if (p->names)
        kz_store_dict_free(p->names);
    memset(p, 0, sizeof *p);
}

/* Marks the event names that date rules wait for (again after new names). */
static int mark_unless(struct pass *p)
{
    int any = 0;
    for (size_t i = 0; i < p->nrules; i++)
        any |= p->rules[i]->trigger == KZ_TRIG_DATE && p->rules[i]->unless_event;
    if (!any)
        return KZ_OK;
    uint8_t *u = realloc(p->unless, p->nnames + 1);
    if (!u)
        return kz_error_oom();
    memset(u, 0, p->nnames + 1);
    p->unless = u;
    p->nunless = p->nnames;
    if (!p->first_seen && !(p->first_seen = kz_strmap_new(1024)))
        return kz_error_oom();
    for (size_t i = 0; i < p->nrules; i++) {
        const kz_rule *r = p->rules[i];
        if (r->trigger != KZ_TRIG_DATE || !r->unless_event)
            continue;
        for (size_t id = 1; id < p->nnames; id++)
            if (p->names[id] && strcmp(p->names[id], r->unless_event) == 0)
                u[id] = 1;
    }
    return KZ_OK;
}

/* A pass over the rules of rules[0..n) that act (borrowed; since[i]: rule i
 * acts from then; mode NULL: all of them, else those not off), the stored
 * events of [lo, hi] to be walked: lo is the earliest time that can matter (a
 * sequence's window before its rule acts; the whole history for the events
 * date rules wait for). No judge yet. */
static int pass_begin(struct pass *p, kz_store *st, kz_rule *const *rules, const kz_time *since,
                      const kz_rule_mode *mode, size_t n, kz_time hi)
{
    int rc;
    memset(p, 0, sizeof *p);
    if (!(p->rules = calloc(n + 1, sizeof *p->rules)) || !(p->since = calloc(n + 1, sizeof *p->since)))
        return kz_error_oom();
    p->lo = INT64_MAX;
    p->hi = hi;
    for (size_t i = 0; i < n; i++) {
        const kz_rule *r = rules[i];
        if (mode && mode[i] == KZ_RULE_OFF)
            continue;
        p->rules[p->nrules] = rules[i];
        p->since[p->nrules++] = since[i];
        kz_time lo = since[i] - (r->trigger == KZ_TRIG_SEQUENCE ? r->within * KZ_USEC_PER_SEC : 0);
        if ((r->trigger == KZ_TRIG_EVENT || r->trigger == KZ_TRIG_SEQUENCE) && lo < p->lo)
            p->lo = lo;
        if (r->trigger == KZ_TRIG_DATE && r->unless_event)
            p->lo = INT64_MIN;
    }
    if ((rc = kz_store_dict_array(st, KZ_DICT_EVENT_NAMES, &p->names, &p->nnames)) ||
        (rc = kz_store_dict_array(st, KZ_DICT_USERS, &p->users, &p->nusers)) ||
        (rc = kz_matcher_new(&p->m, p->rules, p->nrules, p->since, p->names, p->nnames)) || (rc = mark_unless(p)))
        return rc;
    kz_matcher_users(p->m, user_key, p);
    return KZ_OK;
}

/* Walks the stored events of [lo, hi] in one read snapshot; *version (may
 * be NULL) is the data version the walk saw. */
static int pass_walk(struct pass *p, kz_store *st, int64_t *version)
{
    int started = 0, rc;
    if (p->lo > p->hi) {
        /* no rule reads events */
        return version ? kz_store_data_version(st, version) : KZ_OK;
    }
    if ((rc = kz_store_snapshot_begin(st, &started)))
        return rc;
    if (!(rc = version ? kz_store_data_version(st, version) : KZ_OK))
        rc = kz_events_walk(st, on_run, p, NULL);
    kz_store_snapshot_end(st, started);
    return rc;
}

/* The event names and users stored since the pass began (live events). */
static int pass_refresh(struct pass *p, kz_store *st, int names, int users)
{
    int rc = KZ_OK;
    if (names) {
        char **v = NULL;
        size_t n = 0;
        if ((rc = kz_store_dict_array(st, KZ_DICT_EVENT_NAMES, &v, &n)))
            return rc;
        for (size_t id = p->nnames ? p->nnames : 1; id < n && !rc; id++)
            if (v[id])
                rc = kz_matcher_name(p->m, (uint32_t)id, v[id], strlen(v[id]));
        if (rc) {
            kz_store_dict_free(v);
            return rc;
        }
        if (p->names)
            kz_store_dict_free(p->names);
        p->names = v;
        p->nnames = n;
        if ((rc = mark_unless(p)))
            return rc;
    }
    if (users) {
        char **v = NULL;
        size_t n = 0;
        if ((rc = kz_store_dict_array(st, KZ_DICT_USERS, &v, &n)))
            return rc;
        if (p->users)
            kz_store_dict_free(p->users);
        p->users = v;
        p->nusers = n;
    }
    return KZ_OK;
}

/* ---- the scheduled triggers: tickets, answers, thresholds -------------------------------- */

struct scan {
    struct pass *p;
    kz_store *st;
    kz_rule *const *rules;
    const size_t *which;    /* the rules of this scan (indices into rules) */
    size_t n;
    const kz_time *since;
    kz_time now;
    int backtest;           /* what would have fired in [since, now]: no state kept, no catch-up limit */
};


/* The store's id of the account with key (k, n); 0 when the engine lacks it. */
static int64_t account_of(const kz_judge *j, const kz_value *k)
{
    if (k->kind != KZ_VTEXT)
        return 0;
    int64_t a = kz_engine_find_account(j->e, k->s, k->n);
    return a < 0 ? 0 : j->ids[a];
}

static int name_bit(const kz_value *v, const char *const *names, int n)
{
    for (int i = 0; v->kind == KZ_VTEXT && i < n; i++)
        if (kz_streq(v->s, v->n, names[i]))
            return i;
    return -1;
}

/* A firing's why (rules/act.h): {"trigger": the rule's, "facts": what it fired on or null}. Caller frees. */
static char *why_of(const kz_rule *r, const struct cand *c)
{
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    if (kz_buf_printf(&b, "{\"trigger\":%s,\"facts\":%s}", r->trigger_json ? r->trigger_json : "null",
                      c->facts ? c->facts : "null")) {
        kz_buf_free(&b);
        return NULL;
    }
    return kz_buf_take(&b);
}

/* ---- what scheduled triggers fired on, as facts (the firing's why: rules/act.h) ---- */

struct ticket_facts {
    const kz_value *key;
    const char *category, *priority; /* NULL: none */
};

static void ticket_facts_json(kz_jw *w, const void *arg)
{
    const struct ticket_facts *t = arg;
    kz_jw_key(w, "ticket");
    kz_jw_strn(w, t->key->s, t->key->n);
    kz_jw_key(w, "category");
    kz_jw_str(w, t->category);
    kz_jw_key(w, "priority");
    kz_jw_str(w, t->priority);
}

static void score_facts_json(kz_jw *w, const void *arg)
{
    kz_jw_key(w, "score");
    kz_jw_int(w, *(const int64_t *)arg);
}

static void value_facts_json(kz_jw *w, const void *arg)
{
    kz_jw_key(w, "value");
    kz_jw_double(w, *(const double *)arg);
}

struct date_facts {
    kz_day anchor, day;
};

static void date_facts_json(kz_jw *w, const void *arg)
{
    const struct date_facts *d = arg;
    kz_jw_key(w, "anchor_date");
    kz_jw_date(w, d->anchor);
    kz_jw_key(w, "day");
    kz_jw_date(w, d->day);
}

static void anomaly_facts_json(kz_jw *w, const void *arg)
{
    kz_jw_key(w, "anomaly");
    kz_finding_json(w, arg);
}
static int on_ticket(void *ctx, int64_t id, const kz_value *row)
{
    static const char *const cats[] = { "functional", "operational" };
    static const char *const prios[] = { "low", "normal", "high", "urgent" };
    struct scan *sc = ctx;
    (void)id;
    if (row[KZ_TICKET_OPENED].kind != KZ_VINT || row[KZ_TICKET_KEY].kind != KZ_VTEXT)
        return KZ_OK;
    kz_time at = row[KZ_TICKET_OPENED].i;
    int cat = name_bit(&row[KZ_TICKET_CATEGORY], cats, 2), prio = name_bit(&row[KZ_TICKET_PRIORITY], prios, 4);
    for (size_t k = 0; k < sc->n; k++) {
        size_t i = sc->which[k];
        const kz_rule *r = sc->rules[i];
        if (r->trigger != KZ_TRIG_TICKET || at < sc->since[i] || at > sc->now)
            continue;
        if ((r->categories && (cat < 0 || !(r->categories & (1u << cat)))) ||
            (r->priorities && (prio < 0 || !(r->priorities & (1u << prio)))))
            continue;
        int64_t account = account_of(sc->p->judge, &row[KZ_TICKET_ACCOUNT]);
        kz_occasion o;
        kz_occasion_init(&o);
        if (!account || !kz_judge_account(sc->p->judge, i, account, &o))
            continue;
        struct cand *c = cand_add(sc->p);
        if (!c)
            return kz_error_oom();
        c->rule = i;
        c->account_id = account;
        c->at = at;
        snprintf(c->key, sizeof c->key, "ticket:%.*s", (int)(row[KZ_TICKET_KEY].n > 50 ? 50 : row[KZ_TICKET_KEY].n),
                 row[KZ_TICKET_KEY].s);
        snprintf(c->reason, sizeof c->reason, "ticket %.*s opened (%s, %s)", (int)(row[KZ_TICKET_KEY].n > 60 ? 60 : row[KZ_TICKET_KEY].n),
                 row[KZ_TICKET_KEY].s, cat >= 0 ? cats[cat] : "no category", prio >= 0 ? prios[prio] : "no priority");
        struct ticket_facts tf = { &row[KZ_TICKET_KEY], cat >= 0 ? cats[cat] : NULL, prio >= 0 ? prios[prio] : NULL };
        int rc = cand_facts(c, ticket_facts_json, &tf);
        if (rc)
            return rc;
    }
    return KZ_OK;
}

static int on_answer(void *ctx, int64_t id, const kz_value *row)
{
    struct scan *sc = ctx;
    (void)id;
    if (row[KZ_NPS_TS].kind != KZ_VINT || row[KZ_NPS_SCORE].kind != KZ_VINT || row[KZ_NPS_KEY].kind != KZ_VTEXT)
        return KZ_OK;
    kz_time at = row[KZ_NPS_TS].i;
    int64_t score = row[KZ_NPS_SCORE].i;
    for (size_t k = 0; k < sc->n; k++) {
        size_t i = sc->which[k];
        const kz_rule *r = sc->rules[i];
        if (r->trigger != KZ_TRIG_NPS || at < sc->since[i] || at > sc->now || score < r->min_score ||
            score > r->max_score)
            continue;
        int64_t account = account_of(sc->p->judge, &row[KZ_NPS_ACCOUNT]);
        kz_occasion o;
        kz_occasion_init(&o);
        if (!account || !kz_judge_account(sc->p->judge, i, account, &o))
            continue;
        struct cand *c = cand_add(sc->p);
        if (!c)
            return kz_error_oom();
        c->rule = i;
        c->account_id = account;
        c->at = at;
        c->value = (double)score;
        snprintf(c->key, sizeof c->key, "nps:%.*s", (int)(row[KZ_NPS_KEY].n > 50 ? 50 : row[KZ_NPS_KEY].n),
                 row[KZ_NPS_KEY].s);
        snprintf(c->reason, sizeof c->reason, "an NPS answer of %lld (%s)", (long long)score,
                 score <= 6 ? "a detractor" : score <= 8 ? "a passive" : "a promoter");
        int rc = cand_facts(c, score_facts_json, &score);
        if (rc)
            return rc;
    }
    return KZ_OK;
}

static int crosses(kz_rule_op op, double v, double t)
{
    switch (op) {
    case KZ_OP_LT: return v < t;
    case KZ_OP_LE: return v <= t;
    case KZ_OP_GT: return v > t;
    case KZ_OP_GE: return v >= t;
    default: return 0;
    }
}

/* A threshold rule's measure of account a in s (NaN: not judged). */
static double measure_of(const kz_rule *r, const kz_scores *s, size_t a)
{
    return r->measure == KZ_MEASURE_HEALTH  ? s->health[a]
           : r->measure == KZ_MEASURE_CHURN ? (s->churn ? s->churn[a] : NAN)
           : s->signals                     ? s->signals[a * KZ_NSIGNALS + (size_t)r->measure]
                                            : NAN;
}

/* Crossing number `crossings` of rule i by the account (the store's id) at
 * `at`, with the measure v: a candidate when its conditions hold. */
static int threshold_cand(struct scan *sc, size_t i, int64_t account_id, double v, long long crossings, kz_time at)
{
    const kz_rule *r = sc->rules[i];
    kz_occasion o;
    kz_occasion_init(&o);
    if (!kz_judge_account(sc->p->judge, i, account_id, &o))
        return KZ_OK;
    struct cand *c = cand_add(sc->p);
    if (!c)
        return kz_error_oom();
    c->rule = i;
    c->account_id = account_id;
    c->at = at;
    c->value = v;
    snprintf(c->key, sizeof c->key, "crossing:%lld", crossings);
    const char *m = r->measure == KZ_MEASURE_HEALTH  ? "health"
                    : r->measure == KZ_MEASURE_CHURN ? "churn probability"
                                                     : kz_signal_defs()[r->measure].name;
    snprintf(c->reason, sizeof c->reason, "%s %.4g %s %.4g", m, v, kz_rule_op_name(r->op), r->threshold);
    return cand_facts(c, value_facts_json, &v);
}

/* Thresholds: the measure of every account judged now; a rule fires for an
 * account when the condition holds and did not when last judged (the rule
 * remembers it per account), so it fires once, and again only after the
 * account recovered. */
static int scan_thresholds(struct scan *sc)
{
    const kz_judge *j = sc->p->judge;
    const kz_scores *s = j->sc;
    int rc = KZ_OK;
    for (size_t k = 0; k < sc->n && !rc; k++) {
        size_t i = sc->which[k];
        const kz_rule *r = sc->rules[i];
        if (r->trigger != KZ_TRIG_THRESHOLD || !s || s->at == KZ_DAY_NONE)
            continue;
        for (size_t a = 0; a < s->naccounts && a < j->naccounts && !rc; a++) {
            double v = measure_of(r, s, a);
            if (isnan(v))
                continue; /* not judged: what it remembers stays */
            int holds = crosses(r->op, v, r->threshold);
            char subject[32], *was = NULL;
            snprintf(subject, sizeof subject, "account:%lld", (long long)j->ids[a]);
            if ((rc = kz_store_rule_state_get(sc->st, r->id, subject, &was)))
                break;
            /* the state: "HELD CROSSINGS" (1 or 0, and how many times it crossed) */
            int held = 0;
            long long crossings = 0;
            int known = was && sscanf(was, "%d %lld", &held, &crossings) == 2;
            free(was);
            if (known && holds == held)
                continue;
            if (holds)
                crossings++;
            char state[48];
            snprintf(state, sizeof state, "%d %lld", holds, crossings);
            if ((rc = kz_store_rule_state_put(sc->st, r->id, subject, state, sc->now)))
                break;
            if (holds && !held)
                rc = threshold_cand(sc, i, j->ids[a], v, crossings, sc->now);
        }
    }
    return rc;
}

/* Thresholds in a backtest: every account scored as of each day of the
 * window (today's health definition and churn model, the events up to
 * that day), the day before it giving where each account starts; a rule
 * fires on the days an account crosses, as a server scoring once a day
 * would. Nothing is remembered. */
static int backtest_thresholds(struct scan *sc)
{
    const kz_judge *j = sc->p->judge;
    int any = 0, rc = KZ_OK;
    for (size_t k = 0; k < sc->n; k++)
        any |= sc->rules[sc->which[k]]->trigger == KZ_TRIG_THRESHOLD;
    if (!any)
        return KZ_OK;
    kz_day from = kz_time_day(sc->since[sc->which[0]]), to = kz_time_day(sc->now);
    int8_t *held = malloc((j->naccounts + 1) * sc->n);
    long long *crossings = calloc((j->naccounts + 1) * sc->n, sizeof *crossings);
    if (!held || !crossings) {
        free(held);
        free(crossings);
        return kz_error_oom();
    }
    memset(held, -1, (j->naccounts + 1) * sc->n); /* -1: not judged yet */
    for (kz_day d = from - 1; d <= to && !rc; d++) {
        kz_metric_opts mo;
        kz_metric_opts_init(&mo);
        mo.obs = d;
        kz_scores *s = NULL;
        if ((rc = kz_scores_compute(&s, sc->st, j->e, &mo)))
            break;
        for (size_t k = 0; k < sc->n && !rc; k++) {
            size_t i = sc->which[k];
            const kz_rule *r = sc->rules[i];
            if (r->trigger != KZ_TRIG_THRESHOLD)
                continue;
            int8_t *h = held + k * (j->naccounts + 1);
            long long *cr = crossings + k * (j->naccounts + 1);
            for (size_t a = 0; a < s->naccounts && a < j->naccounts && !rc; a++) {
                double v = measure_of(r, s, a);
                if (isnan(v))
                    continue;
                int holds = crosses(r->op, v, r->threshold);
                if (holds && h[a] != 1 && d >= from)
                    rc = threshold_cand(sc, i, j->ids[a], v, ++cr[a], kz_day_time(d));
                h[a] = (int8_t)holds;
            }
        }
        kz_scores_free(s);
    }
    free(held);
    free(crossings);
    return rc;
}

static const kz_attr_col *attr(const kz_attrs *at, const char *name)
{
    for (size_t i = 0; at && i < at->n; i++)
        if (strcmp(at->cols[i].name, name) == 0 && at->cols[i].is_date)
            return &at->cols[i];
    return NULL;
}

#define DATE_CATCH_UP 7 /* days: a server that was down fires what it missed, not older */

static int date_candidate(struct scan *sc, size_t i, uint32_t a, kz_day anchor, kz_day lo, kz_day today)
{
    const kz_rule *r = sc->rules[i];
    const kz_judge *j = sc->p->judge;
    kz_day fire = anchor + r->offset_days;
    if (fire < lo || fire > today)
        return KZ_OK;
    struct pass *p = sc->p;
    if (r->unless_event && p->first_seen) {
        for (size_t id = 1; id < p->nunless; id++) {
            if (!p->unless[id])
                continue;
            unsigned char key[12];
            uint32_t name = (uint32_t)id;
            int64_t acc = j->ids[a];
            memcpy(key, &name, 4);
            memcpy(key + 4, &acc, 8);
            int64_t k = kz_strmap_get(p->first_seen, (const char *)key, sizeof key);
            if (k >= 0 && p->seen[k] < kz_day_time(fire + 1))
                return KZ_OK; /* the milestone was reached by then */
        }
    }
    kz_occasion o;
    kz_occasion_init(&o);
    if (!kz_judge_account((kz_judge *)j, i, j->ids[a], &o))
        return KZ_OK;
    struct cand *c = cand_add(p);
    if (!c)
        return kz_error_oom();
    char d[KZ_DATE_BUF], f[KZ_DATE_BUF];
    kz_format_date(d, anchor);
    kz_format_date(f, fire);
    c->rule = i;
    c->account_id = j->ids[a];
    c->at = kz_day_time(fire);
    snprintf(c->key, sizeof c->key, "date:%s", d);
    const char *what = r->anchor == KZ_ANCHOR_RENEWAL ? "renewal" : r->anchor == KZ_ANCHOR_SIGNUP ? "signup" : r->anchor_field;
    snprintf(c->reason, sizeof c->reason, "%s on %s: day %+d is %s%s%s", what, d, r->offset_days, f,
             r->unless_event ? ", without " : "", r->unless_event ? r->unless_event : "");
    struct date_facts df = { anchor, fire };
    return cand_facts(c, date_facts_json, &df);
}

/* Dates: each account's anchor (its first subscription's start, the
 * renewal: the field renewal_date, else the next anniversary of that start,
 * or a date field) plus the offset, when that day has come (within a week,
 * and not before the rule was switched on). Once per anchor date. */
static int scan_dates(struct scan *sc)
{
    const kz_judge *j = sc->p->judge;
    kz_attrs *at = NULL;
    int rc = KZ_OK, need_attrs = 0, any = 0;
    kz_day today = kz_time_day(sc->now);
    for (size_t k = 0; k < sc->n; k++) {
        const kz_rule *r = sc->rules[sc->which[k]];
        any |= r->trigger == KZ_TRIG_DATE;
        need_attrs |= r->trigger == KZ_TRIG_DATE && r->anchor != KZ_ANCHOR_SIGNUP;
    }
    if (!any)
        return KZ_OK;
    if (need_attrs && (rc = kz_attrs_load(&at, sc->st, j->e)))
        return rc;
    kz_metric_opts mo;
    kz_metric_opts_init(&mo);
    for (size_t k = 0; k < sc->n && !rc; k++) {
        size_t i = sc->which[k];
        const kz_rule *r = sc->rules[i];
        if (r->trigger != KZ_TRIG_DATE)
            continue;
        kz_day lo = kz_time_day(sc->since[i]);
        if (!sc->backtest && lo < today - DATE_CATCH_UP)
            lo = today - DATE_CATCH_UP;
        const kz_attr_col *col = r->anchor == KZ_ANCHOR_FIELD ? attr(at, r->anchor_field)
                                 : r->anchor == KZ_ANCHOR_RENEWAL ? attr(at, "renewal_date")
                                                                  : NULL;
        for (uint32_t a = 0; a < j->naccounts && !rc; a++) {
            if (col) {
                if (!isnan(col->num[a]))
                    rc = date_candidate(sc, i, a, kz_time_day((kz_time)col->num[a]), lo, today);
                if (r->anchor == KZ_ANCHOR_FIELD || !isnan(col->num[a]))
                    continue;
            }
            if (r->anchor == KZ_ANCHOR_FIELD)
                continue;
            kz_account_facts f;
            kz_engine_account_facts(j->e, &mo, a, today, &f);
            if (f.first_start == KZ_DAY_NONE)
                continue;
            if (r->anchor == KZ_ANCHOR_SIGNUP) {
                rc = date_candidate(sc, i, a, f.first_start, lo, today);
                continue;
            }
            /* the anniversaries whose day (with the offset) may fall in [lo, today] */
            int y0, m0, d0, yl, yt, mt, dt;
            kz_civil_from_days(f.first_start, &y0, &m0, &d0);
            kz_civil_from_days(lo - r->offset_days, &yl, &mt, &dt);
            kz_civil_from_days(today - r->offset_days, &yt, &mt, &dt);
            for (int y = yl - 1; y <= yt + 1 && !rc; y++)
                if (y > y0)
                    rc = date_candidate(sc, i, a, kz_add_years(f.first_start, y - y0), lo, today);
        }
    }
    kz_attrs_free(at);
    return rc;
}

static int on_anomaly(void *ctx, const kz_anomaly_rec *an)
{
    struct scan *sc = ctx;
    const kz_judge *j = sc->p->judge;
    /* the anomalies of one account: series "account/KEY"; the others are the business's */
    int business = strncmp(an->series, "account/", 8) != 0;
    int64_t a = -1;
    if (!business) {
        const char *key = an->series + 8;
        if ((a = kz_engine_find_account(j->e, key, strlen(key))) < 0)
            return KZ_OK;
    }
    /* a backtest: when it could have been found, the day after the abnormal one */
    kz_time at = sc->backtest ? kz_day_time(an->until + 1) : an->found_at;
    for (size_t k = 0; k < sc->n; k++) {
        size_t i = sc->which[k];
        const kz_rule *r = sc->rules[i];
        if (r->trigger != KZ_TRIG_ANOMALY || at < sc->since[i] || (sc->backtest && at > sc->now))
            continue;
        /* a business rule names its series (rule.h); one without a series fires on accounts' */
        if (r->business != business || (r->series && strcmp(r->series, an->series) != 0 &&
                                         strcmp(r->series, an->kind) != 0))
            continue;
        if ((r->direction > 0 && !an->higher) || (r->direction < 0 && an->higher))
            continue;
        kz_occasion o;
        kz_occasion_init(&o);
        if (!business && !kz_judge_account((kz_judge *)j, i, j->ids[a], &o))
            continue;
        struct cand *c = cand_add(sc->p);
        if (!c)
            return kz_error_oom();
        c->rule = i;
        c->account_id = business ? 0 : j->ids[a];
        c->at = at;
        c->value = an->observed;
        snprintf(c->key, sizeof c->key, "anomaly:%lld", (long long)an->id);
        snprintf(c->reason, sizeof c->reason, "%.150s", an->message);
        int rc = cand_facts(c, anomaly_facts_json, an);
        if (rc)
            return rc;
    }
    return KZ_OK;
}

/* The scheduled triggers of the rules among which[] (ticket, nps, threshold). */
static int scan_run(struct scan *sc)
{
    int tickets = 0, answers = 0, rc = KZ_OK;
    for (size_t k = 0; k < sc->n; k++) {
        tickets |= sc->rules[sc->which[k]]->trigger == KZ_TRIG_TICKET;
        answers |= sc->rules[sc->which[k]]->trigger == KZ_TRIG_NPS;
    }
    if (tickets)
        rc = kz_store_each(sc->st, KZ_ENT_TICKET, on_ticket, sc);
    if (!rc && answers)
        rc = kz_store_each(sc->st, KZ_ENT_NPS, on_answer, sc);
    if (!rc)
        rc = sc->backtest ? backtest_thresholds(sc) : scan_thresholds(sc);
    if (!rc)
        rc = scan_dates(sc);
    int anomalies = 0;
    for (size_t k = 0; k < sc->n; k++)
        anomalies |= sc->rules[sc->which[k]]->trigger == KZ_TRIG_ANOMALY;
    if (!rc && anomalies)
        rc = kz_store_anomalies_each(sc->st, INT32_MIN, INT32_MAX, NULL, NULL, on_anomaly, sc);
    return rc;
}

/* ---- the backtest ------------------------------------------------------------------------ */

void kz_backtest_free(kz_backtest *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->hits[i].account);
        free(b->hits[i].user);
        free(b->hits[i].why);
    }
    free(b->hits);
    free(b);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* By time, then account (the scans find them rule by rule, account by account). */
static int cmp_hit(const void *a, const void *b)
{
    const kz_backtest_hit *x = a, *y = b;
    if (x->at != y->at)
        return (x->at > y->at) - (x->at < y->at);
    return (x->account_id > y->account_id) - (x->account_id < y->account_id);
}

struct keyget {
    char *key;
};

static int on_key(void *ctx, int64_t id, const kz_value *row)
{
    struct keyget *k = ctx;
    (void)id;
    if (row[KZ_ACCOUNT_KEY].kind == KZ_VTEXT && !(k->key = strndup(row[KZ_ACCOUNT_KEY].s, row[KZ_ACCOUNT_KEY].n)))
        return kz_error_oom();
    return KZ_OK;
}

static char *account_key(kz_store *st, int64_t id)
{
    struct keyget k = { NULL };
    if (kz_store_each_of_account(st, KZ_ENT_ACCOUNT, id, 1, on_key, &k))
        return NULL;
    return k.key;
}

int kz_rules_backtest(kz_backtest **out, kz_store *st, const kz_rule *r, kz_time from, kz_time to)
{
    struct pass p;
    const char **subjects = NULL;
    kz_backtest *b = calloc(1, sizeof *b);
    kz_rule *one = (kz_rule *)r;
    size_t which = 0;
    int rc = KZ_OK;
    *out = NULL;
    if (!b)
        return kz_error_oom();
    /* the events of the window (and the span before it that sequences and
     * waited-for events need), the rows of the window, and for thresholds
     * the scores of each day */
    if ((rc = pass_begin(&p, st, &one, &from, NULL, 1, to)) ||
        (rc = kz_judge_new(&p.judge, st, p.rules, 1, NULL, NULL, kz_time_day(kz_now()))) ||
        (rc = pass_walk(&p, st, NULL)))
        goto done;
    struct scan sc = { &p, st, p.rules, &which, 1, p.since, to, 1 };
    if ((rc = scan_run(&sc)))
        goto done;
    b->from = from;
    b->to = to;
    b->events = p.events;
    if (p.n && (!(b->hits = calloc(p.n, sizeof *b->hits)) || !(subjects = calloc(p.n, sizeof *subjects)))) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t i = 0; i < p.n; i++) {
        kz_backtest_hit *h = &b->hits[b->n];
        const struct cand *c = &p.v[i];
        h->at = c->at;
        h->account_id = c->account_id;
        memcpy(h->key, c->key, sizeof h->key);
        if (c->reason[0])
            snprintf(h->reason, sizeof h->reason, "%s", c->reason);
        else
            kz_rule_describe(r, h->reason, sizeof h->reason);
        if (c->account_id && !(h->account = account_key(st, c->account_id)))
            continue; /* an account deleted since: its events are left out of everything */
        if (!(h->why = why_of(r, c))) {
            free(h->account);
            rc = kz_error_oom();
            goto done;
        }
        if (r->per == KZ_PER_USER && c->user < p.nusers && p.users[c->user] &&
            !(h->user = strdup(p.users[c->user]))) {
            free(h->account);
            free(h->why);
            rc = kz_error_oom();
            goto done;
        }
        b->n++;
    }
    if (b->n) {
        qsort(b->hits, b->n, sizeof *b->hits, cmp_hit);
        for (size_t i = 0; i < b->n; i++)
            subjects[i] = b->hits[i].user ? b->hits[i].user : b->hits[i].account ? b->hits[i].account : "";
        qsort(subjects, b->n, sizeof *subjects, cmp_str);
    }
    for (size_t i = 0; i < b->n; i++)
        b->subjects += i == 0 || strcmp(subjects[i], subjects[i - 1]) != 0;
done:
    free((void *)subjects);
    pass_free(&p);
    if (rc) {
        kz_backtest_free(b);
        return rc;
    }
    *out = b;
    return KZ_OK;
}

/* ---- a run ------------------------------------------------------------------------------- */

/* Records and acts on the candidates the pass collected, then forgets them. */
static int pass_act(struct pass *p, kz_store *st, kz_time now, kz_run_stats *s)
{
    int rc = KZ_OK;
    for (size_t i = 0; i < p->n && !rc; i++) {
        const struct cand *c = &p->v[i];
        const kz_rule *r = p->rules[c->rule];
        char reason[512];
        kz_occasion o;
        kz_occasion_init(&o);
        kz_judge_account(p->judge, c->rule, c->account_id, &o);
        if (c->reason[0])
            snprintf(reason, sizeof reason, "%s", c->reason);
        else
            kz_rule_describe(r, reason, sizeof reason);
        o.rule = r;
        o.account_id = c->account_id;
        o.user = r->per == KZ_PER_USER && c->user < p->nusers ? p->users[c->user] : NULL;
        o.key = c->key;
        o.at = c->at;
        o.reason = reason;
        o.event = c->event < p->nnames ? p->names[c->event] : NULL;
        o.value = c->value;
        int64_t id = 0;
        if (r->per == KZ_PER_USER && !o.user)
            continue;
        char *why = why_of(r, c);
        if (!why) {
            rc = kz_error_oom();
            break;
        }
        o.why = why;
        rc = kz_act_fire(st, &o, 0, now, &id);
        free(why);
        if (rc == KZ_ENOTFOUND) {
            rc = KZ_OK; /* its account was deleted since */
            continue;
        }
        if (!rc && id) {
            s->fired++;
            s->dry += r->mode == KZ_RULE_DRY_RUN;
        } else if (!rc) {
            s->known++;
        }
    }
    cands_clear(p);
    return rc;
}

/* The scheduled triggers of every rule of the pass. */
static int pass_scan(struct pass *p, kz_store *st, kz_time now)
{
    size_t *which = calloc(p->nrules + 1, sizeof *which);
    if (!which)
        return kz_error_oom();
    for (size_t i = 0; i < p->nrules; i++)
        which[i] = i;
    struct scan sc = { p, st, p->rules, which, p->nrules, p->since, now, 0 };
    int rc = scan_run(&sc);
    free(which);
    return rc;
}

int kz_rules_run(kz_store *st, const kz_ruleset *rs, const kz_act_env *env, kz_time now, kz_run_stats *out)
{
    struct pass p;
    kz_run_stats s = { 0 };
    int any = 0, rc = KZ_OK;
    for (size_t i = 0; i < rs->n; i++)
        any |= rs->mode[i] != KZ_RULE_OFF;
    memset(&p, 0, sizeof p);
    if (any && !(rc = pass_begin(&p, st, rs->rules, rs->enabled_at, rs->mode, rs->n, now)) &&
        !(rc = kz_judge_new(&p.judge, st, p.rules, p.nrules, NULL, NULL, kz_time_day(now))) &&
        !(rc = pass_walk(&p, st, NULL)) && !(rc = pass_scan(&p, st, now))) {
        s.events = p.events;
        rc = pass_act(&p, st, now, &s);
    }
    if (!rc && env)
        rc = kz_act_deliver(st, env, now, 0, 0, &s.deliveries);
    pass_free(&p);
    if (out)
        *out = s;
    return rc;
}

/* ---- the server: rules as events arrive ---------------------------------------------------- */

/* Events waiting for a pass at most (about 32 bytes each: 512 MiB); beyond,
 * the next pass replays the stored events instead (slower, never wrong). A
 * pass follows each scoring, a few seconds apart under load. */
#define LIVE_QUEUE_MAX ((size_t)16 << 20)

struct batch {
    kz_evcols ev;
    int64_t version;
};

struct kz_rules_live {
    pthread_mutex_t mu;      /* over the queue and the flags below */
    struct batch *q;
    size_t nq, capq, queued; /* batches, room, events in them */
    int replay;              /* the next pass replays the stored events */
    int wants;               /* the rules of the last pass read events: batches are kept */
    int names, users;        /* a batch brought a new event name, a user id beyond those known */
    uint32_t max_user;
    /* the passes' (one thread) */
    int built;
    uint64_t sig;            /* the rules the matcher was made for */
    kz_ruleset *rs;
    struct pass p;
    int64_t version;         /* the data version of the stored events replayed */
};

int kz_rules_live_new(kz_rules_live **out)
{
    kz_rules_live *l = calloc(1, sizeof *l);
    *out = NULL;
    if (!l)
        return kz_error_oom();
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l);
        return kz_error_set(KZ_ERROR, "rules: no mutex");
    }
    l->wants = 1; /* until the first pass says */
    *out = l;
    return KZ_OK;
}

static void queue_free(struct batch *q, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kz_evcols_free(&q[i].ev);
    free(q);
}

void kz_rules_live_free(kz_rules_live *l)
{
    if (!l)
        return;
    queue_free(l->q, l->nq);
    pass_free(&l->p);
    kz_ruleset_free(l->rs);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

/* A copy of the columns the matcher reads (not the event ids). */
static int batch_copy(kz_evcols *out, const kz_evcols *ev)
{
    memset(out, 0, sizeof *out);
    int rc = kz_evcols_reserve(out, ev->n ? ev->n : 1);
    for (size_t i = 0; i < ev->n && !rc; i++) {
        size_t pn;
        const char *props = kz_strcol_get(&ev->props, i, &pn);
        rc = kz_evcols_append(out, ev->ts[i], ev->account[i], ev->user[i], ev->event[i], ev->value[i], NULL, 0,
                              props, pn);
    }
    if (rc)
        kz_evcols_free(out);
    return rc;
}

void kz_rules_live_push(kz_rules_live *l, const kz_evcols *ev, int new_names, int64_t version)
{
    pthread_mutex_lock(&l->mu);
    l->names |= new_names;
    if (!l->wants || l->replay || !ev->n) {
        pthread_mutex_unlock(&l->mu);
        return;
    }
    struct batch b = { .version = version };
    int ok = l->queued + ev->n <= LIVE_QUEUE_MAX;
    if (ok && l->nq == l->capq) {
        size_t cap = l->capq ? l->capq * 2 : 16;
        struct batch *q = realloc(l->q, cap * sizeof *q);
        if (q) {
            l->q = q;
            l->capq = cap;
        }
        ok = q != NULL;
    }
    if (ok)
        ok = batch_copy(&b.ev, ev) == KZ_OK;
    if (!ok) {
        /* not kept: the stored events will be replayed instead (slower, never wrong) */
        queue_free(l->q, l->nq);
        l->q = NULL;
        l->nq = l->capq = l->queued = 0;
        l->replay = 1;
        pthread_mutex_unlock(&l->mu);
        return;
    }
    for (size_t i = 0; i < ev->n; i++)
        if (ev->user[i] > l->max_user)
            l->max_user = ev->user[i];
    l->q[l->nq++] = b;
    l->queued += ev->n;
    pthread_mutex_unlock(&l->mu);
}

void kz_rules_live_replay(kz_rules_live *l)
{
    pthread_mutex_lock(&l->mu);
    queue_free(l->q, l->nq);
    l->q = NULL;
    l->nq = l->capq = l->queued = 0;
    l->replay = 1;
    pthread_mutex_unlock(&l->mu);
}

/* What the matcher depends on: each acting rule's definition, mode and
 * start. Another value means the rules changed. */
static uint64_t ruleset_sig(const kz_ruleset *rs)
{
    uint64_t h = 0x6b7a72756c6573ULL;
    for (size_t i = 0; i < rs->n; i++) {
        if (rs->mode[i] == KZ_RULE_OFF)
            continue;
        const kz_rule *r = rs->rules[i];
        int mode = (int)rs->mode[i];
        h = kz_hash64(r->id, strlen(r->id) + 1, h);
        h = kz_hash64(r->json, strlen(r->json), h);
        h = kz_hash64(&mode, sizeof mode, h);
        h = kz_hash64(&rs->enabled_at[i], sizeof rs->enabled_at[i], h);
    }
    return h;
}

/* max_user: the largest user id the batches hold (read under the lock by the caller). */
static int live_pass(kz_rules_live *l, kz_store *st, kz_ruleset *rs, const kz_engine *e, const kz_scores *sc,
                     kz_time now, struct batch *q, size_t nq, int replay, int names, uint32_t max_user,
                     kz_run_stats *s)
{
    int rc = KZ_OK;
    uint64_t sig = ruleset_sig(rs);
    struct pass *p = &l->p;
    if (!l->built || replay || sig != l->sig) {
        /* the rules changed (or the stored events did): a new matcher, fed the stored events since each acts */
        pass_free(p);
        kz_ruleset_free(l->rs);
        l->rs = rs;
        l->built = 0;
        rc = pass_begin(p, st, rs->rules, rs->enabled_at, rs->mode, rs->n, INT64_MAX);
        if (!rc)
            rc = kz_judge_new(&p->judge, st, p->rules, p->nrules, e, sc, kz_time_day(now));
        if (!rc)
            rc = pass_walk(p, st, &l->version);
        if (rc)
            return rc;
        l->built = 1;
        l->sig = sig;
        s->replayed = 1;
    } else {
        kz_ruleset_free(rs); /* the same rules: the matcher keeps pointing into l->rs */
        int users = max_user > 0 && (size_t)max_user >= p->nusers;
        if (users || names)
            rc = pass_refresh(p, st, names, users);
        if (!rc)
            rc = kz_judge_new(&p->judge, st, p->rules, p->nrules, e, sc, kz_time_day(now));
        if (rc)
            return rc;
    }
    /* the batches the stored events did not hold, in commit order */
    for (size_t i = 0; i < nq && !rc; i++)
        if (q[i].version > l->version)
            rc = pass_feed(p, &q[i].ev);
    if (!rc)
        rc = pass_scan(p, st, now);
    s->events = p->events;
    p->events = 0;
    if (!rc)
        rc = pass_act(p, st, now, s);
    kz_judge_free(p->judge);
    p->judge = NULL;
    cands_clear(p);
    return rc;
}

int kz_rules_live_pass(kz_rules_live *l, kz_store *st, const kz_engine *e, const kz_scores *sc,
                       const kz_act_env *env, kz_time now, kz_run_stats *out)
{
    kz_run_stats s = { 0 };
    kz_ruleset *rs = NULL;
    int rc = kz_ruleset_load(&rs, st);
    pthread_mutex_lock(&l->mu);
    struct batch *q = l->q;
    size_t nq = l->nq;
    int replay = l->replay, names = l->names;
    uint32_t max_user = l->max_user;
    l->q = NULL;
    l->nq = l->capq = l->queued = 0;
    l->replay = l->names = 0;
    l->wants = 1; /* what commits from now on may be needed, whatever the rules turn out to be */
    pthread_mutex_unlock(&l->mu);
    if (!rc)
        rc = live_pass(l, st, rs, e, sc, now, q, nq, replay, names, max_user, &s);
    else
        kz_ruleset_free(rs);
    queue_free(q, nq);
    int wants = 0;
    for (size_t i = 0; l->built && i < l->p.nrules; i++) {
        const kz_rule *r = l->p.rules[i];
        wants |= r->trigger == KZ_TRIG_EVENT || r->trigger == KZ_TRIG_SEQUENCE ||
                 (r->trigger == KZ_TRIG_DATE && r->unless_event);
    }
    pthread_mutex_lock(&l->mu);
    if (rc) {
        /* what this pass had may be half judged: the next one starts again from the store
         * (a firing is recorded once, so nothing is done twice) */
        l->built = 0;
        l->replay = 1;
    }
    l->wants = wants || !l->built;
    pthread_mutex_unlock(&l->mu);
    if (!rc && env)
        rc = kz_act_deliver(st, env, now, 0, 0, &s.deliveries);
    if (out)
        *out = s;
    return rc;
}
