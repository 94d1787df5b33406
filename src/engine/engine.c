/*
 * engine.c - building the columnar image from the store (engine.h).
 */
#include "engine/engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "store/evblock.h"

struct build {
    kz_engine *e;
    kz_strmap *by_key;   /* account key -> index */
    size_t cap_ids;
    /* subscriptions before grouping */
    struct sub {
        uint32_t acc;
        kz_day start, end;
        int64_t mrr, qty;
        uint16_t plan;
    } *subs;
    kz_strmap *plan_ids;  /* plan name -> id (1..) */
    size_t capplans;
    size_t nsubs, capsubs;
    size_t filled;       /* events copied so far */
    int64_t unknown;     /* events of accounts no longer stored */
};

static int on_account(void *ctx, int64_t id, const kz_value *row)
{
    struct build *b = ctx;
    kz_engine *e = b->e;
    size_t a = e->naccounts;
    if (a >= UINT32_MAX - 1)
        return kz_error_set(KZ_ETOOBIG, "too many accounts");
    if (id < 0 || (uint64_t)id >= (uint64_t)SIZE_MAX / sizeof(uint32_t))
        return kz_error_set(KZ_EINVALID, "account id out of range");
    /* grow the arrays by doubling */
    if (a % 1024 == 0) {
        size_t n = a + 1024;
        const char **k = realloc((void *)e->acc_key, n * sizeof *k);
        if (!k)
            return kz_error_oom();
        e->acc_key = k;
        size_t *kl = realloc(e->acc_key_len, n * sizeof *kl);
        if (!kl)
            return kz_error_oom();
        e->acc_key_len = kl;
    }
    if ((size_t)id >= b->cap_ids) {
        size_t n = b->cap_ids ? b->cap_ids : 1024;
        while (n <= (size_t)id)
            n *= 2;
        uint32_t *m = realloc(e->acc_of_id, n * sizeof *m);
        if (!m)
            return kz_error_oom();
        memset(m + b->cap_ids, 0xff, (n - b->cap_ids) * sizeof *m);
        e->acc_of_id = m;
        b->cap_ids = n;
    }
    char *key = kz_arena_strndup(e->arena, row[KZ_ACCOUNT_KEY].s, row[KZ_ACCOUNT_KEY].n);
    if (!key)
        return KZ_ENOMEM;
    e->acc_key[a] = key;
    e->acc_key_len[a] = row[KZ_ACCOUNT_KEY].n;
    e->acc_of_id[id] = (uint32_t)a;
    if ((size_t)id + 1 > e->nids)
        e->nids = (size_t)id + 1;
    e->naccounts++;
    return kz_strmap_put(b->by_key, key, row[KZ_ACCOUNT_KEY].n, (uint32_t)a);
}

static int on_subscription(void *ctx, int64_t id, const kz_value *row)
{
    struct build *b = ctx;
    (void)id;
    int64_t a = kz_strmap_get(b->by_key, row[KZ_SUB_ACCOUNT].s, row[KZ_SUB_ACCOUNT].n);
    if (a < 0)
        return kz_error_set(KZ_ERROR, "a subscription refers to an account that is not stored");
    if (b->nsubs == b->capsubs) {
        size_t n = b->capsubs ? b->capsubs * 2 : 1024;
        struct sub *s = realloc(b->subs, n * sizeof *s);
        if (!s)
            return kz_error_oom();
        b->subs = s;
        b->capsubs = n;
    }
    struct sub *s = &b->subs[b->nsubs++];
    s->acc = (uint32_t)a;
    s->mrr = row[KZ_SUB_MRR].i;
    s->start = (kz_day)row[KZ_SUB_START].i;
    s->end = row[KZ_SUB_END].kind == KZ_VINT ? (kz_day)row[KZ_SUB_END].i : KZ_DAY_OPEN;
    s->qty = row[KZ_SUB_QUANTITY].kind == KZ_VINT ? row[KZ_SUB_QUANTITY].i : 0;
    s->plan = 0;
    if (row[KZ_SUB_PLAN].kind == KZ_VTEXT && row[KZ_SUB_PLAN].n) {
        kz_engine *e = b->e;
        int64_t pid = kz_strmap_get(b->plan_ids, row[KZ_SUB_PLAN].s, row[KZ_SUB_PLAN].n);
        if (pid < 0) {
            if (e->nplans >= UINT16_MAX)
                return kz_error_set(KZ_ETOOBIG, "more than 65534 plans");
            if (e->nplans == b->capplans) {
                size_t n = b->capplans ? b->capplans * 2 : 16;
                const char **pn = realloc((void *)e->plans, n * sizeof *pn);
                if (!pn)
                    return kz_error_oom();
                e->plans = pn;
                b->capplans = n;
            }
            char *name = kz_arena_strndup(e->arena, row[KZ_SUB_PLAN].s, row[KZ_SUB_PLAN].n);
            if (!name)
                return KZ_ENOMEM;
            pid = (int64_t)e->nplans;
            e->plans[e->nplans++] = name;
            if (kz_strmap_put(b->plan_ids, name, row[KZ_SUB_PLAN].n, (uint32_t)pid))
                return KZ_ENOMEM;
        }
        s->plan = (uint16_t)pid;
    }
    return KZ_OK;
}

/* NPS answers and spend are few: growable arrays in the arena would waste
 * it, so they are collected with realloc and copied once. */
struct nps_row {
    int64_t sec;
    uint8_t score;
    uint32_t acc;
};

struct ticket_row {
    uint32_t acc;
    uint8_t priority, category;
    int64_t opened, resolved, first_resp;
};

struct extra {
    struct build *b;
    struct ticket_row *tk;
    size_t ntk, captk;
    struct nps_row *nps;
    size_t nnps, capnps;
    struct {
        kz_month month;
        int64_t amount;
    } *spend;
    size_t nspend, capspend;
};

static int64_t usec_to_sec(int64_t us)
{
    return us / KZ_USEC_PER_SEC - (us % KZ_USEC_PER_SEC < 0);
}

static int on_nps(void *ctx, int64_t id, const kz_value *row)
{
    struct extra *x = ctx;
    (void)id;
    int64_t a = kz_strmap_get(x->b->by_key, row[KZ_NPS_ACCOUNT].s, row[KZ_NPS_ACCOUNT].n);
    if (a < 0)
        return KZ_OK;
    if (x->nnps == x->capnps) {
        size_t n = x->capnps ? x->capnps * 2 : 256;
        struct nps_row *p = realloc(x->nps, n * sizeof *p);
        if (!p)
            return kz_error_oom();
        x->nps = p;
        x->capnps = n;
    }
    x->nps[x->nnps++] = (struct nps_row){ usec_to_sec(row[KZ_NPS_TS].i), (uint8_t)row[KZ_NPS_SCORE].i, (uint32_t)a };
    return KZ_OK;
}

/* The index of v among the '|'-separated names, plus one; 0 when absent. */
static uint8_t code_of(const kz_value *v, const char *const *names, int n)
{
    if (v->kind != KZ_VTEXT)
        return 0;
    for (int i = 0; i < n; i++)
        if (strlen(names[i]) == v->n && memcmp(names[i], v->s, v->n) == 0)
            return (uint8_t)(i + 1);
    return 0;
}

static int on_ticket(void *ctx, int64_t id, const kz_value *row)
{
    static const char *const prio[] = { "low", "normal", "high", "urgent" };
    static const char *const cat[] = { "functional", "operational" };
    struct extra *x = ctx;
    (void)id;
    int64_t a = kz_strmap_get(x->b->by_key, row[KZ_TICKET_ACCOUNT].s, row[KZ_TICKET_ACCOUNT].n);
    if (a < 0)
        return KZ_OK;
    if (x->ntk == x->captk) {
        size_t n = x->captk ? x->captk * 2 : 256;
        struct ticket_row *p = realloc(x->tk, n * sizeof *p);
        if (!p)
            return kz_error_oom();
        x->tk = p;
        x->captk = n;
    }
    x->tk[x->ntk++] = (struct ticket_row){
        (uint32_t)a,
        code_of(&row[KZ_TICKET_PRIORITY], prio, 4),
        code_of(&row[KZ_TICKET_CATEGORY], cat, 2),
        usec_to_sec(row[KZ_TICKET_OPENED].i),
        row[KZ_TICKET_RESOLVED].kind == KZ_VINT ? usec_to_sec(row[KZ_TICKET_RESOLVED].i) : INT64_MAX,
        row[KZ_TICKET_FIRST_RESPONSE].kind == KZ_VINT ? usec_to_sec(row[KZ_TICKET_FIRST_RESPONSE].i) : INT64_MAX,
    };
    return KZ_OK;
}

static int cmp_ticket(const void *x, const void *y)
{
    const struct ticket_row *a = x, *b = y;
    if (a->acc != b->acc)
        return a->acc < b->acc ? -1 : 1;
    return (a->opened > b->opened) - (a->opened < b->opened);
}

/* Copies the tickets into the engine's columns, grouped by account. */
static int group_tickets(kz_engine *e, struct extra *x)
{
    size_t n = x->ntk;
    if (n > 1)
        qsort(x->tk, n, sizeof *x->tk, cmp_ticket);
    e->ntickets = n;
    e->tk_opened = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->tk_opened);
    e->tk_resolved = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->tk_resolved);
    e->tk_first_resp = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->tk_first_resp);
    e->tk_priority = kz_arena_alloc(e->arena, n ? n : 1);
    e->tk_category = kz_arena_alloc(e->arena, n ? n : 1);
    e->acc_tickets = kz_arena_calloc(e->arena, e->naccounts + 1, sizeof *e->acc_tickets);
    if (!e->tk_opened || !e->tk_resolved || !e->tk_first_resp || !e->tk_priority || !e->tk_category ||
        !e->acc_tickets)
        return KZ_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        e->tk_opened[i] = x->tk[i].opened;
        e->tk_resolved[i] = x->tk[i].resolved;
        e->tk_first_resp[i] = x->tk[i].first_resp;
        e->tk_priority[i] = x->tk[i].priority;
        e->tk_category[i] = x->tk[i].category;
        e->acc_tickets[x->tk[i].acc + 1]++;
    }
    for (size_t a = 0; a < e->naccounts; a++)
        e->acc_tickets[a + 1] += e->acc_tickets[a];
    return KZ_OK;
}

static int on_spend(void *ctx, int64_t id, const kz_value *row)
{
    struct extra *x = ctx;
    (void)id;
    kz_month m = (kz_month)row[KZ_SPEND_MONTH].i;
    /* rows come by month then channel: add channels up */
    if (x->nspend && x->spend[x->nspend - 1].month == m) {
        x->spend[x->nspend - 1].amount += row[KZ_SPEND_AMOUNT].i;
        return KZ_OK;
    }
    if (x->nspend == x->capspend) {
        size_t n = x->capspend ? x->capspend * 2 : 64;
        void *p = realloc(x->spend, n * sizeof *x->spend);
        if (!p)
            return kz_error_oom();
        x->spend = p;
        x->capspend = n;
    }
    x->spend[x->nspend].month = m;
    x->spend[x->nspend].amount = row[KZ_SPEND_AMOUNT].i;
    x->nspend++;
    return KZ_OK;
}

static int cmp_nps(const void *x, const void *y)
{
    const struct nps_row *a = x, *b = y;
    return (a->sec > b->sec) - (a->sec < b->sec);
}

static int load_extra(struct build *b, kz_store *st)
{
    kz_engine *e = b->e;
    struct extra x;
    memset(&x, 0, sizeof x);
    x.b = b;
    int rc = kz_store_each(st, KZ_ENT_NPS, on_nps, &x);
    if (!rc)
        rc = kz_store_each(st, KZ_ENT_SPEND, on_spend, &x);
    if (!rc)
        rc = kz_store_each(st, KZ_ENT_TICKET, on_ticket, &x);
    if (!rc)
        rc = group_tickets(e, &x);
    if (rc)
        goto done;
    if (x.nnps > 1)
        qsort(x.nps, x.nnps, sizeof *x.nps, cmp_nps);
    e->nnps = x.nnps;
    e->nps_sec = kz_arena_alloc(e->arena, (x.nnps ? x.nnps : 1) * sizeof *e->nps_sec);
    e->nps_score = kz_arena_alloc(e->arena, x.nnps ? x.nnps : 1);
    e->nps_acc = kz_arena_alloc(e->arena, (x.nnps ? x.nnps : 1) * sizeof *e->nps_acc);
    e->nspend = x.nspend;
    e->spend_month = kz_arena_alloc(e->arena, (x.nspend ? x.nspend : 1) * sizeof *e->spend_month);
    e->spend_amount = kz_arena_alloc(e->arena, (x.nspend ? x.nspend : 1) * sizeof *e->spend_amount);
    if (!e->nps_sec || !e->nps_score || !e->nps_acc || !e->spend_month || !e->spend_amount) {
        rc = KZ_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < x.nnps; i++) {
        e->nps_sec[i] = x.nps[i].sec;
        e->nps_score[i] = x.nps[i].score;
        e->nps_acc[i] = x.nps[i].acc;
    }
    for (size_t i = 0; i < x.nspend; i++) {
        e->spend_month[i] = x.spend[i].month;
        e->spend_amount[i] = x.spend[i].amount;
    }
done:
    free(x.nps);
    free(x.spend);
    free(x.tk);
    return rc;
}

static int cmp_sub(const void *x, const void *y)
{
    const struct sub *a = x, *b = y;
    if (a->acc != b->acc)
        return a->acc < b->acc ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return (a->end > b->end) - (a->end < b->end);
}

static int group_subscriptions(struct build *b)
{
    kz_engine *e = b->e;
    size_t n = b->nsubs;
    if (n > 1)
        qsort(b->subs, n, sizeof *b->subs, cmp_sub);
    e->nsubs = n;
    e->sub_mrr = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->sub_mrr);
    e->sub_start = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->sub_start);
    e->sub_end = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->sub_end);
    e->sub_qty = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->sub_qty);
    e->sub_plan = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->sub_plan);
    e->acc_subs = kz_arena_calloc(e->arena, e->naccounts + 1, sizeof *e->acc_subs);
    if (!e->sub_mrr || !e->sub_start || !e->sub_end || !e->sub_qty || !e->sub_plan || !e->acc_subs)
        return KZ_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        e->sub_qty[i] = b->subs[i].qty;
        e->sub_plan[i] = b->subs[i].plan;
        e->sub_mrr[i] = b->subs[i].mrr;
        e->sub_start[i] = b->subs[i].start;
        e->sub_end[i] = b->subs[i].end;
        e->acc_subs[b->subs[i].acc + 1]++;
    }
    for (size_t a = 0; a < e->naccounts; a++)
        e->acc_subs[a + 1] += e->acc_subs[a];
    return KZ_OK;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static int on_events(void *ctx, const kz_evcols *ev)
{
    struct build *b = ctx;
    kz_engine *e = b->e;
    for (size_t i = 0; i < ev->n; i++) {
        uint32_t id = ev->account[i];
        uint32_t a = id < e->nids ? e->acc_of_id[id] : UINT32_MAX;
        if (a == UINT32_MAX) {
            b->unknown++;
            continue;
        }
        if (b->filled >= e->nevents)
            return kz_error_set(KZ_ERROR, "more events than the blocks announced");
        int64_t sec = floor_div(ev->ts[i], KZ_USEC_PER_SEC) - e->base;
        if (sec < 0 || sec > UINT32_MAX)
            return kz_error_set(KZ_ETOOBIG, "events span more than 136 years");
        if (ev->event[i] > UINT16_MAX)
            return kz_error_set(KZ_ETOOBIG, "more than 65535 event names");
        size_t k = b->filled++;
        e->ev_sec[k] = (uint32_t)sec;
        e->ev_acc[k] = a;
        e->ev_user[k] = ev->user[i];
        e->ev_name[k] = (uint16_t)ev->event[i];
        if ((int64_t)sec > e->acc_last[a])
            e->acc_last[a] = sec;
    }
    return KZ_OK;
}

/* The names of events (reports show them). */
static int load_names(kz_engine *e, kz_store *st)
{
    char **names = NULL;
    size_t nnames = 0;
    int rc = kz_store_dict_array(st, KZ_DICT_EVENT_NAMES, &names, &nnames);
    if (rc)
        return rc;
    e->nnames = nnames;
    e->names = kz_arena_calloc(e->arena, nnames ? nnames : 1, sizeof *e->names);
    for (size_t i = 0; e->names && i < nnames; i++) {
        if (!names[i])
            continue;
        e->names[i] = kz_arena_strndup(e->arena, names[i], strlen(names[i]));
        if (!e->names[i])
            break;
    }
    rc = !e->names || (nnames && names[nnames - 1] && !e->names[nnames - 1]) ? KZ_ENOMEM : KZ_OK;
    kz_store_dict_free(names);
    return rc;
}

static int load_events(struct build *b, kz_store *st)
{
    kz_engine *e = b->e;
    kz_store_stats stats;
    int rc = kz_store_stats_get(st, 0, &stats);
    if (rc)
        return rc;
    size_t n = (size_t)stats.events;
    e->nevents = n;
    e->base = n ? floor_div(stats.first_event, KZ_USEC_PER_SEC) : 0;
    e->last_time = n ? floor_div(stats.last_event, KZ_USEC_PER_SEC) : INT64_MIN;
    e->ev_sec = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->ev_sec);
    e->ev_acc = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->ev_acc);
    e->ev_user = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->ev_user);
    e->ev_name = kz_arena_alloc(e->arena, (n ? n : 1) * sizeof *e->ev_name);
    e->acc_last = kz_arena_alloc(e->arena, (e->naccounts ? e->naccounts : 1) * sizeof *e->acc_last);
    if (!e->ev_sec || !e->ev_acc || !e->ev_user || !e->ev_name || !e->acc_last)
        return KZ_ENOMEM;
    for (size_t a = 0; a < e->naccounts; a++)
        e->acc_last[a] = -1;
    rc = kz_events_walk(st, on_events, b, NULL);
    if (rc)
        return rc;
    e->nevents = b->filled;
    if (b->unknown)
        KZ_LOG(KZ_LOG_WARN, "engine: events of accounts that are not stored were left out", "events=%lld",
               (long long)b->unknown);
    e->nusers = (size_t)stats.users + 1;
    for (size_t i = 0; i < e->nevents; i++)
        if (e->ev_user[i] >= e->nusers)
            e->nusers = (size_t)e->ev_user[i] + 1;
    return KZ_OK;
}

char *kz_engine_image_path(const kz_store *st)
{
    const char *loc = kz_store_location(st);
    size_t n = strlen(loc) + sizeof ".engine";
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s.engine", loc);
    else
        kz_error_oom();
    return p;
}

int kz_engine_build(kz_engine **out, kz_store *st, int parts, const char *image_file)
{
    struct build b;
    int rc, snapshot = 0;
    kz_engine *e = calloc(1, sizeof *e);

    *out = NULL;
    memset(&b, 0, sizeof b);
    if (!e)
        return kz_error_oom();
    b.e = e;
    e->last_time = INT64_MIN;
    e->arena = kz_arena_new(1 << 20);
    b.by_key = kz_strmap_new(1024);
    b.plan_ids = kz_strmap_new(16);
    if (!e->arena || !b.by_key || !b.plan_ids) {
        rc = KZ_ENOMEM;
        goto done;
    }
    int events = (parts & KZ_ENGINE_EVENTS) != 0;
    int64_t version = -1;
    /* one state of the database for everything read below, though a server
     * may be storing events meanwhile */
    if ((rc = kz_store_snapshot_begin(st, &snapshot)))
        goto done;
    if ((rc = kz_store_data_version(st, &version)))
        goto done;
    e->version = version;
    if (image_file) {
        if (kz_image_load(e, image_file, version, events) == KZ_OK) {
            KZ_LOG(KZ_LOG_DEBUG, "engine: columns from the image file", "events=%d", events);
            goto done; /* current: nothing to read from the store */
        }
    }
    KZ_LOG(KZ_LOG_DEBUG, "engine: columns from the store", "events=%d", events);
    e->plans = malloc(16 * sizeof *e->plans); /* plan 0: none */
    if (!e->plans) {
        rc = kz_error_oom();
        goto done;
    }
    e->plans[0] = NULL;
    e->nplans = 1;
    b.capplans = 16;
    if ((rc = kz_store_each(st, KZ_ENT_ACCOUNT, on_account, &b)))
        goto done;
    if ((rc = kz_store_each(st, KZ_ENT_SUBSCRIPTION, on_subscription, &b)) || (rc = group_subscriptions(&b)) ||
        (rc = load_extra(&b, st)) || (rc = load_names(e, st)))
        goto done;
    if (events) {
        rc = load_events(&b, st);
    } else {
        /* the observation date without loading events */
        kz_store_stats stats;
        rc = kz_store_stats_get(st, 0, &stats);
        if (!rc && stats.events)
            e->last_time = floor_div(stats.last_event, KZ_USEC_PER_SEC);
    }
    if (!rc && image_file && kz_image_save(e, image_file, version, events))
        KZ_LOG(KZ_LOG_DEBUG, "engine: image file not written", "reason=%s", kz_error_msg());
done:
    kz_store_snapshot_end(st, snapshot);
    kz_strmap_free(b.by_key);
    kz_strmap_free(b.plan_ids);
    free(b.subs);
    if (rc) {
        kz_engine_free(e);
        return rc;
    }
    *out = e;
    return KZ_OK;
}

void kz_engine_free(kz_engine *e)
{
    if (!e)
        return;
    free((void *)e->acc_key);
    free((void *)e->plans);
    free(e->acc_key_len);
    free(e->acc_of_id);
    if (e->ev_owned) {
        free(e->ev_sec);
        free(e->ev_acc);
        free(e->ev_user);
        free(e->ev_name);
        free(e->acc_last);
    }
    if (e->names_owned)
        free((void *)e->names);
    if (e->map)
        munmap(e->map, e->map_len);
    kz_arena_free(e->arena);
    free(e);
}

kz_day kz_engine_last_day(const kz_engine *e, const kz_tz *tz)
{
    return e->last_time == INT64_MIN ? KZ_DAY_NONE : (kz_day)kz_tz_day(tz, e->last_time);
}

int64_t kz_engine_data_version(const kz_engine *e)
{
    return e->version;
}

void kz_engine_set_data_version(kz_engine *e, int64_t version)
{
    e->version = version;
}

int kz_engine_save_image(const kz_engine *e, const char *path)
{
    if (e->version < 0)
        return kz_error_set(KZ_EINVALID, "the engine's data version is not known");
    return kz_image_save(e, path, e->version, 1);
}

size_t kz_engine_accounts(const kz_engine *e)
{
    return e->naccounts;
}

size_t kz_engine_events(const kz_engine *e)
{
    return e->nevents;
}

size_t kz_engine_subscriptions(const kz_engine *e)
{
    return e->nsubs;
}

kz_day kz_engine_first_day(const kz_engine *e, const kz_tz *tz)
{
    return e->nevents ? (kz_day)kz_tz_day(tz, e->base + e->ev_sec[0]) : KZ_DAY_NONE;
}

int64_t kz_engine_find_account(const kz_engine *e, const char *k, size_t n)
{
    size_t lo = 0, hi = e->naccounts; /* keys are in byte order */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t m = e->acc_key_len[mid] < n ? e->acc_key_len[mid] : n;
        int c = memcmp(e->acc_key[mid], k, m);
        if (c == 0)
            c = (e->acc_key_len[mid] > n) - (e->acc_key_len[mid] < n);
        if (c == 0)
            return (int64_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

const char *kz_engine_account_key(const kz_engine *e, uint32_t a, size_t *len)
{
    *len = e->acc_key_len[a];
    return e->acc_key[a];
}

void kz_engine_account_ids(const kz_engine *e, int64_t *ids)
{
    for (size_t id = 0; id < e->nids; id++)
        if (e->acc_of_id[id] != UINT32_MAX)
            ids[e->acc_of_id[id]] = (int64_t)id;
}

int64_t kz_engine_mrr(const kz_engine *e, uint32_t a, kz_day d)
{
    return kz_engine_mrr_on(e, a, d);
}

size_t kz_engine_bytes(const kz_engine *e)
{
    return e->nevents * (sizeof *e->ev_sec + sizeof *e->ev_acc + sizeof *e->ev_user + sizeof *e->ev_name) +
           e->nsubs * (sizeof *e->sub_mrr + sizeof *e->sub_start + sizeof *e->sub_end) +
           e->naccounts * (sizeof *e->acc_last + sizeof *e->acc_subs + sizeof *e->acc_key + sizeof *e->acc_key_len);
}

size_t kz_engine_lower(const kz_engine *e, int64_t t)
{
    int64_t rel = t - e->base;
    if (rel <= 0)
        return 0;
    if (rel > UINT32_MAX)
        return e->nevents;
    size_t lo = 0, hi = e->nevents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((int64_t)e->ev_sec[mid] < rel)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int64_t kz_engine_mrr_on(const kz_engine *e, uint32_t a, kz_day d)
{
    int64_t m = 0;
    for (uint32_t i = e->acc_subs[a]; i < e->acc_subs[a + 1]; i++)
        if (e->sub_start[i] <= d && e->sub_end[i] > d)
            m += e->sub_mrr[i];
    return m;
}

int kz_engine_plan_on(const kz_engine *e, uint32_t a, kz_day d)
{
    int best = 0, active = 0;
    int64_t best_mrr = 0;
    kz_day best_start = INT32_MIN;
    for (uint32_t i = e->acc_subs[a]; i < e->acc_subs[a + 1]; i++) {
        int on = e->sub_start[i] <= d && e->sub_end[i] > d;
        int better = on ? (!active || e->sub_mrr[i] > best_mrr) : (!active && e->sub_start[i] >= best_start);
        if (!better || !e->sub_plan[i])
            continue;
        best = e->sub_plan[i];
        active = on;
        best_mrr = e->sub_mrr[i];
        best_start = e->sub_start[i];
    }
    return best;
}

kz_day kz_engine_first_start(const kz_engine *e, uint32_t a)
{
    /* grouped by start date: the first is the earliest */
    return e->acc_subs[a] < e->acc_subs[a + 1] ? e->sub_start[e->acc_subs[a]] : KZ_DAY_OPEN;
}

kz_day kz_engine_obs(const kz_engine *e, const kz_metric_opts *o)
{
    return o->obs != KZ_DAY_NONE ? o->obs : kz_engine_last_day(e, o->tz);
}

void kz_engine_last_before(const kz_engine *e, const kz_metric_opts *o, kz_day day, int64_t *last)
{
    size_t end = kz_engine_lower_day(e, o, (int64_t)day + 1);
    if (end >= e->nevents && e->acc_last) {
        memcpy(last, e->acc_last, e->naccounts * sizeof *last);
        return;
    }
    for (size_t a = 0; a < e->naccounts; a++)
        last[a] = -1;
    for (size_t i = 0; i < end; i++) /* by time: the last write wins */
        last[e->ev_acc[i]] = e->ev_sec[i];
}

size_t kz_engine_lower_day(const kz_engine *e, const kz_metric_opts *o, int64_t day)
{
    return kz_engine_lower(e, kz_tz_day_start(o->tz, day));
}

int kz_month_in_range(const kz_metric_opts *o, kz_month m)
{
    kz_day first = kz_month_first_day(m);
    if (o->from != INT32_MIN && first < kz_month_first_day(kz_day_month(o->from)))
        return 0;
    return first <= o->to;
}

void kz_metric_opts_init(kz_metric_opts *o)
{
    o->gross_margin = 1.0;
    o->tz = NULL;
    o->obs = KZ_DAY_NONE;
    o->from = INT32_MIN;
    o->to = INT32_MAX;
    o->mask = NULL;
    o->at = KZ_DAY_NONE;
    o->interval = KZ_INTERVAL_MONTH;
    o->reactivation_days = 0;
    o->count_intra = 0;
    o->flags = 0;
    o->window = 0;
    o->threads = 0;
}
