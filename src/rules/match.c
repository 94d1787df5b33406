/*
 * match.c - the event and sequence triggers over runs of events (match.h).
 *
 * Rules are found by the event's name id (a list of (rule, step) per name),
 * so an event no rule names costs one array read. Properties are parsed
 * (cJSON) only for events a step names that have conditions or a "same".
 * The state is one open-addressing table of entries keyed by (rule, subject,
 * same-value hash); the cooldown record of a (rule, subject) is an entry of
 * its own with a reserved hash.
 */
#include "rules/match.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/text.h"

#define COOLDOWN_KEY UINT64_MAX
#define MAX_HITS 4096 /* events a sequence keeps per subject at most (16 steps of up to 1000 each would be more) */

struct hit {
    kz_time ts;
    uint64_t seq;   /* which event (one event may count for several steps) */
    uint16_t step;
};

struct entry {
    uint64_t same;  /* hash of the "same" value; COOLDOWN_KEY for the cooldown record */
    uint32_t rule;  /* index + 1; 0: empty slot */
    uint32_t subject;
    kz_time last;   /* cooldown record: the last firing */
    struct hit *hits;
    uint32_t nhits, caphits;
};

struct ref {
    uint32_t rule, step;
};

struct refs {
    struct ref *v;
    size_t n;
};

struct kz_matcher {
    kz_rule *const *rules;
    size_t nrules;
    kz_time *since;
    struct refs *by_name; /* per event name id */
    size_t nnames;
    struct entry *slots;
    size_t cap, used;
    uint64_t seq;
    kz_time now;          /* the latest event fed */
    int64_t span;
    kz_user_key_fn user_key;
    void *user_ctx;
    size_t hit_bytes;
};

static int is_per_event(const kz_rule *r)
{
    return r->trigger == KZ_TRIG_EVENT || r->trigger == KZ_TRIG_SEQUENCE;
}

static int add_name(kz_matcher *m, uint32_t id, const char *name, size_t n)
{
    if (id >= m->nnames) {
        size_t cap = m->nnames ? m->nnames : 64;
        while (cap <= id)
            cap *= 2;
        struct refs *p = realloc(m->by_name, cap * sizeof *p);
        if (!p)
            return kz_error_oom();
        memset(p + m->nnames, 0, (cap - m->nnames) * sizeof *p);
        m->by_name = p;
        m->nnames = cap;
    }
    struct refs *r = &m->by_name[id];
    free(r->v);
    r->v = NULL;
    r->n = 0;
    for (size_t i = 0; i < m->nrules; i++) {
        const kz_rule *rule = m->rules[i];
        if (!is_per_event(rule))
            continue;
        for (size_t s = 0; s < rule->nsteps; s++) {
            if (strlen(rule->steps[s].event) != n || memcmp(rule->steps[s].event, name, n) != 0)
                continue;
            struct ref *p = realloc(r->v, (r->n + 1) * sizeof *p);
            if (!p)
                return kz_error_oom();
            r->v = p;
            r->v[r->n++] = (struct ref){ (uint32_t)i, (uint32_t)s };
        }
    }
    return KZ_OK;
}

int kz_matcher_new(kz_matcher **out, kz_rule *const *rules, size_t n, const kz_time *since, char *const *names,
                   size_t nnames)
{
    kz_matcher *m = calloc(1, sizeof *m);
    int rc = KZ_OK;
    *out = NULL;
    if (!m || !(m->since = calloc(n + 1, sizeof *m->since)) || !(m->slots = calloc(1024, sizeof *m->slots))) {
        rc = kz_error_oom();
        goto done;
    }
    m->rules = rules;
    m->nrules = n;
    m->cap = 1024;
    for (size_t i = 0; i < n; i++) {
        m->since[i] = since ? since[i] : INT64_MIN;
        if (rules[i]->trigger == KZ_TRIG_SEQUENCE && rules[i]->within > m->span)
            m->span = rules[i]->within;
    }
    for (size_t id = 1; id < nnames && !rc; id++)
        if (names[id])
            rc = add_name(m, (uint32_t)id, names[id], strlen(names[id]));
done:
    if (rc) {
        kz_matcher_free(m);
        return rc;
    }
    *out = m;
    return KZ_OK;
}

void kz_matcher_free(kz_matcher *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nnames; i++)
        free(m->by_name[i].v);
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].hits);
    free(m->by_name);
    free(m->slots);
    free(m->since);
    free(m);
}

int kz_matcher_name(kz_matcher *m, uint32_t id, const char *name, size_t n)
{
    return add_name(m, id, name, n);
}

void kz_matcher_users(kz_matcher *m, kz_user_key_fn fn, void *ctx)
{
    m->user_key = fn;
    m->user_ctx = ctx;
}

int64_t kz_matcher_span(const kz_matcher *m)
{
    return m->span;
}

size_t kz_matcher_memory(const kz_matcher *m)
{
    size_t b = sizeof *m + m->cap * sizeof *m->slots + m->hit_bytes + m->nnames * sizeof *m->by_name;
    for (size_t i = 0; i < m->nnames; i++)
        b += m->by_name[i].n * sizeof(struct ref);
    return b;
}

/* ---- the state table ---------------------------------------------------------------- */

static size_t slot_of(const kz_matcher *m, uint32_t rule, uint32_t subject, uint64_t same)
{
    uint64_t h = kz_mix64(((uint64_t)rule << 32 | subject) ^ kz_mix64(same));
    return (size_t)h & (m->cap - 1);
}

/* An entry that can no longer matter: a sequence's whose events all fell
 * out of its window, a cooldown that has passed. */
static int dead(const kz_matcher *m, const struct entry *e)
{
    const kz_rule *r = m->rules[e->rule - 1];
    if (e->same == COOLDOWN_KEY)
        return e->last == INT64_MIN || m->now - e->last >= r->cooldown * KZ_USEC_PER_SEC;
    return e->nhits == 0 || e->hits[e->nhits - 1].ts < m->now - r->within * KZ_USEC_PER_SEC;
}

/* Makes room: the entries that can no longer matter go, and the table
 * doubles only when most of it is still in use. */
static int grow(kz_matcher *m)
{
    size_t live = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].rule && !dead(m, &m->slots[i]))
            live++;
    size_t cap = live * 2 > m->cap ? m->cap * 2 : m->cap;
    struct entry *v = calloc(cap, sizeof *v), *old = m->slots;
    if (!v)
        return kz_error_oom();
    size_t oldcap = m->cap;
    m->slots = v;
    m->cap = cap;
    m->used = 0;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].rule)
            continue;
        if (dead(m, &old[i])) {
            m->hit_bytes -= old[i].caphits * sizeof *old[i].hits;
            free(old[i].hits);
            continue;
        }
        m->used++;
        size_t j = slot_of(m, old[i].rule, old[i].subject, old[i].same);
        while (v[j].rule)
            j = (j + 1) & (cap - 1);
        v[j] = old[i];
    }
    free(old);
    return KZ_OK;
}

/* The entry of (rule, subject, same), made when missing; NULL on ENOMEM. */
static struct entry *entry_of(kz_matcher *m, uint32_t rule, uint32_t subject, uint64_t same)
{
    uint32_t r = rule + 1;
    size_t j = slot_of(m, r, subject, same);
    while (m->slots[j].rule) {
        struct entry *e = &m->slots[j];
        if (e->rule == r && e->subject == subject && e->same == same)
            return e;
        j = (j + 1) & (m->cap - 1);
    }
    if ((m->used + 1) * 4 > m->cap * 3) {
        if (grow(m))
            return NULL;
        return entry_of(m, rule, subject, same);
    }
    struct entry *e = &m->slots[j];
    memset(e, 0, sizeof *e);
    e->rule = r;
    e->subject = subject;
    e->same = same;
    e->last = INT64_MIN;
    m->used++;
    return e;
}

/* ---- one event's values ----------------------------------------------------------------- */

struct view {
    kz_matcher *m;
    const kz_evcols *ev;
    size_t i;
    int parsed;
    cJSON *props;
};

struct val {
    int kind; /* 0 missing, 1 number, 2 text, 3 a JSON array (contains looks inside) */
    double num;
    const char *s;
    size_t n;
    const cJSON *arr;
    char buf[KZ_DOUBLE_BUF];
};

static const cJSON *props_of(struct view *v)
{
    if (!v->parsed) {
        size_t n;
        const char *s = kz_strcol_get(&v->ev->props, v->i, &n);
        v->parsed = 1;
        v->props = s && n ? cJSON_ParseWithLength(s, n) : NULL;
    }
    return v->props;
}

static void json_val(struct val *out, const cJSON *j)
{
    if (cJSON_IsNumber(j)) {
        out->kind = 1;
        out->num = j->valuedouble;
    } else if (cJSON_IsString(j)) {
        out->kind = 2;
        out->s = j->valuestring;
        out->n = strlen(j->valuestring);
    } else if (cJSON_IsBool(j)) {
        out->kind = 2;
        out->s = cJSON_IsTrue(j) ? "true" : "false";
        out->n = strlen(out->s);
    } else if (cJSON_IsArray(j)) {
        out->kind = 3;
        out->arr = j;
    }
}

static void value_of(struct val *out, struct view *v, const char *field)
{
    memset(out, 0, sizeof *out);
    if (strcmp(field, "value") == 0) {
        double x = v->ev->value[v->i];
        if (!isnan(x)) {
            out->kind = 1;
            out->num = x;
        }
        return;
    }
    if (strcmp(field, "user_id") == 0) {
        uint32_t u = v->ev->user[v->i];
        if (u && v->m->user_key && (out->s = v->m->user_key(v->m->user_ctx, u, &out->n)))
            out->kind = 2;
        return;
    }
    const cJSON *j = props_of(v);
    const char *p = field + strlen("properties.");
    while (j && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        const cJSON *it = NULL;
        if (cJSON_IsObject(j))
            for (it = j->child; it && !(strlen(it->string) == n && memcmp(it->string, p, n) == 0); it = it->next)
                ;
        j = it;
        p += n + (dot != NULL);
    }
    if (j)
        json_val(out, j);
}

/* The value as text (numbers in their shortest exact form). */
static void as_text(struct val *x)
{
    if (x->kind == 1) {
        x->n = kz_format_double(x->buf, x->num);
        x->s = x->buf;
        x->kind = 2;
    }
}

static int as_number(const struct val *x, double *out)
{
    if (x->kind == 1) {
        *out = x->num;
        return 1;
    }
    return x->kind == 2 && kz_parse_double(out, x->s, x->n) == KZ_OK;
}

static int text_eq(const struct val *x, const char *t)
{
    return x->kind == 2 && strlen(t) == x->n && memcmp(t, x->s, x->n) == 0;
}

static int cond_holds(const kz_rule_cond *c, struct view *v)
{
    struct val x;
    double d;
    value_of(&x, v, c->field);
    if (c->op == KZ_OP_EXISTS)
        return x.kind != 0;
    if (x.kind == 0)
        return c->op == KZ_OP_NE;
    if (c->op == KZ_OP_CONTAINS) {
        if (x.kind == 3) {
            const cJSON *it;
            cJSON_ArrayForEach(it, x.arr)
            {
                struct val y = { 0 };
                json_val(&y, it);
                as_text(&y);
                if (text_eq(&y, c->text))
                    return 1;
            }
            return 0;
        }
        as_text(&x);
        size_t tn = strlen(c->text);
        if (tn == 0)
            return 1;
        for (size_t i = 0; i + tn <= x.n; i++)
            if (memcmp(x.s + i, c->text, tn) == 0)
                return 1;
        return 0;
    }
    if (x.kind == 3)
        return 0;
    if (c->op == KZ_OP_IN) {
        as_text(&x);
        for (size_t i = 0; i < c->nlist; i++)
            if (text_eq(&x, c->list[i]))
                return 1;
        if (as_number(&x, &d))
            for (size_t i = 0; i < c->nlist; i++) {
                double e;
                if (kz_parse_double(&e, c->list[i], strlen(c->list[i])) == KZ_OK && e == d)
                    return 1;
            }
        return 0;
    }
    if (c->numeric) {
        if (!as_number(&x, &d))
            return c->op == KZ_OP_NE;
        switch (c->op) {
        case KZ_OP_EQ: return d == c->num;
        case KZ_OP_NE: return d != c->num;
        case KZ_OP_LT: return d < c->num;
        case KZ_OP_LE: return d <= c->num;
        case KZ_OP_GT: return d > c->num;
        case KZ_OP_GE: return d >= c->num;
        default: return 0;
        }
    }
    as_text(&x);
    int eq = text_eq(&x, c->text);
    return c->op == KZ_OP_EQ ? eq : !eq;
}

static int step_holds(const kz_rule_step *s, struct view *v)
{
    for (size_t i = 0; i < s->nwhere; i++)
        if (!cond_holds(&s->where[i], v))
            return 0;
    return 1;
}

/* The hash of the "same" field's value; 0 when the rule has none; -1 (in
 * *ok = 0) when the event lacks it. */
static uint64_t same_of(const kz_rule *r, struct view *v, int *ok)
{
    struct val x;
    *ok = 1;
    if (!r->same)
        return 0;
    value_of(&x, v, r->same);
    as_text(&x);
    if (x.kind != 2) {
        *ok = 0;
        return 0;
    }
    uint64_t h = kz_hash64(x.s, x.n, 0x5eed);
    return h == COOLDOWN_KEY ? h - 1 : h;
}

/* ---- sequences ---------------------------------------------------------------------------- */

/* The hits a sequence keeps at most: the sum of its steps' counts. */
static int hits_needed(const kz_rule *r)
{
    int n = 0;
    for (size_t s = 0; s < r->nsteps; s++)
        n += r->steps[s].count;
    return n > 0 ? n : 1;
}

/* Adds a hit of step `step`, which needs `count` events. Events come in
 * time order, so of a step's hits the newest `count` are the best to keep:
 * each is inside the window for longer, and precedes every later step's
 * event as well as an older one would. So an entry holds at most the sum
 * of its steps' counts. */
static int add_hit(kz_matcher *m, struct entry *e, kz_time ts, uint64_t seq, uint16_t step, int count,
                   int need, int64_t within)
{
    /* drop what fell out of the window */
    uint32_t drop = 0;
    while (drop < e->nhits && e->hits[drop].ts < ts - within)
        drop++;
    if (drop) {
        memmove(e->hits, e->hits + drop, (e->nhits - drop) * sizeof *e->hits);
        e->nhits -= drop;
    }
    /* and the step's oldest hit when it has its count already */
    int have = 0;
    uint32_t oldest = UINT32_MAX;
    for (uint32_t i = 0; i < e->nhits; i++)
        if (e->hits[i].step == step && have++ == 0)
            oldest = i;
    if ((have >= count || e->nhits >= MAX_HITS) && e->nhits) {
        uint32_t at = have >= count ? oldest : 0;
        memmove(e->hits + at, e->hits + at + 1, (e->nhits - at - 1) * sizeof *e->hits);
        e->nhits--;
    }
    if (e->nhits == e->caphits) {
        /* the first time, room for what the rule can keep (the sum of its counts) */
        uint32_t cap = e->caphits ? e->caphits * 2 : (uint32_t)(need < MAX_HITS ? need : MAX_HITS);
        struct hit *p = realloc(e->hits, cap * sizeof *p);
        if (!p)
            return kz_error_oom();
        m->hit_bytes += (cap - e->caphits) * sizeof *p;
        e->hits = p;
        e->caphits = cap;
    }
    /* runs come in time order; an event older than the last goes in its place */
    uint32_t at = e->nhits;
    while (at > 0 && e->hits[at - 1].ts > ts)
        at--;
    memmove(e->hits + at + 1, e->hits + at, (e->nhits - at) * sizeof *e->hits);
    e->hits[at] = (struct hit){ ts, seq, step };
    e->nhits++;
    return KZ_OK;
}

/* Whether the hits within [now - within, now] complete the sequence; *first
 * the earliest event used. */
static int complete(const kz_rule *r, const struct entry *e, kz_time now, kz_time *first)
{
    kz_time lo = now - r->within * KZ_USEC_PER_SEC;
    *first = now;
    if (!r->ordered) {
        for (size_t s = 0; s < r->nsteps; s++) {
            int have = 0;
            for (uint32_t i = 0; i < e->nhits && have < r->steps[s].count; i++)
                if (e->hits[i].step == s && e->hits[i].ts >= lo && e->hits[i].ts <= now) {
                    if (have == 0 && e->hits[i].ts < *first)
                        *first = e->hits[i].ts;
                    have++;
                }
            if (have < r->steps[s].count)
                return 0;
        }
        return 1;
    }
    size_t k = 0;
    int need = r->steps[0].count;
    uint64_t used = UINT64_MAX;
    for (uint32_t i = 0; i < e->nhits && k < r->nsteps; i++) {
        const struct hit *h = &e->hits[i];
        if (h->ts < lo || h->ts > now || h->step != k || h->seq == used)
            continue;
        if (k == 0 && need == r->steps[0].count)
            *first = h->ts;
        used = h->seq;
        if (--need == 0 && ++k < r->nsteps)
            need = r->steps[k].count;
    }
    return k == r->nsteps;
}

/* ---- feeding ------------------------------------------------------------------------------ */

static int consider(kz_matcher *m, uint32_t ri, size_t step, struct view *v, kz_fire_fn fire, void *ctx)
{
    const kz_rule *r = m->rules[ri];
    const kz_evcols *ev = v->ev;
    size_t i = v->i;
    uint32_t subject = r->per == KZ_PER_USER ? ev->user[i] : ev->account[i];
    int ok, rc;
    if (r->per == KZ_PER_USER && subject == 0)
        return KZ_OK;
    if (!step_holds(&r->steps[step], v))
        return KZ_OK;
    uint64_t same = same_of(r, v, &ok);
    if (!ok)
        return KZ_OK;
    kz_time ts = ev->ts[i], first = ts;
    struct entry *e = NULL;
    if (r->trigger == KZ_TRIG_SEQUENCE) {
        if (!(e = entry_of(m, ri, subject, same)) || add_hit(m, e, ts, m->seq, (uint16_t)step, r->steps[step].count,
                                                         hits_needed(r), r->within * KZ_USEC_PER_SEC))
            return kz_error_oom();
        if (!complete(r, e, ts, &first))
            return KZ_OK;
    }
    if (ts < m->since[ri])
        return KZ_OK;
    struct entry *cd = entry_of(m, ri, subject, COOLDOWN_KEY);
    if (!cd)
        return kz_error_oom();
    int64_t cooldown = r->cooldown * KZ_USEC_PER_SEC;
    if (cd->last != INT64_MIN && ts - cd->last < cooldown && cd->last - ts < cooldown)
        return KZ_OK;
    kz_fire f = { .rule = r, .rule_index = ri, .account_id = ev->account[i], .user = ev->user[i], .at = ts,
                  .first = first, .event = ev->event[i], .value = ev->value[i] };
    char when[KZ_TIME_BUF];
    kz_format_time(when, ts);
    if (r->same)
        snprintf(f.key, sizeof f.key, "%s:%016llx", when, (unsigned long long)same);
    else
        snprintf(f.key, sizeof f.key, "%s", when);
    if ((rc = fire(ctx, &f)) <= 0)
        return rc;
    cd->last = ts;
    /* the events that made it are used up (an entry of ours may have moved: find it again) */
    if (r->trigger == KZ_TRIG_SEQUENCE && (e = entry_of(m, ri, subject, same)))
        e->nhits = 0;
    return 1; /* fired: the event's other steps of this rule are not considered */
}

int kz_matcher_feed(kz_matcher *m, const kz_evcols *ev, kz_fire_fn fire, void *ctx)
{
    int rc = KZ_OK;
    for (size_t i = 0; i < ev->n && !rc; i++) {
        uint32_t name = ev->event[i];
        if (name >= m->nnames || !m->by_name[name].n)
            continue;
        if (ev->ts[i] > m->now)
            m->now = ev->ts[i];
        const struct refs *refs = &m->by_name[name];
        struct view v = { m, ev, i, 0, NULL };
        m->seq++;
        uint32_t fired = UINT32_MAX; /* a rule's refs are side by side (add_name) */
        for (size_t k = 0; k < refs->n && !rc; k++) {
            if (refs->v[k].rule == fired)
                continue;
            if ((rc = consider(m, refs->v[k].rule, refs->v[k].step, &v, fire, ctx)) == 1) {
                fired = refs->v[k].rule;
                rc = KZ_OK;
            }
        }
        cJSON_Delete(v.props);
    }
    return rc;
}
