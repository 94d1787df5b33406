/*
 * accounts.c - the accounts a CSM works through: GET /api/v1/accounts (the
 * list: search, filters, sort, pages) and GET /api/v1/accounts/{id} (one
 * account's whole story), and the directory of names behind the list.
 *
 * The list is computed in memory from the engine (MRR, plan, last event,
 * open tickets), the directory (name, domain, industry, owner) and the
 * current scores (health, churn risk), all under the engine's read lock, so
 * it costs no SQL. The story adds the rows of the store (subscriptions,
 * contacts, tickets, NPS answers, activities, custom fields).
 */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"
#include "core/time.h"
#include "engine/renewal.h"
#include "engine/segment.h"
#include "engine/signals.h"
#include "ingest/export.h"

/* ---- the directory ---------------------------------------------------------------------- */

struct kz_directory {
    size_t n;
    const char **name, **domain, **industry, **owner; /* per engine account; NULL when empty */
    kz_day *renewal_field;      /* per engine account: the custom field renewal_date (KZ_DAY_NONE: none) */
    kz_attrs *attrs;            /* the accounts' fields (owner, industry, employees, custom ones): the
                                 * list's optional columns */
    kz_arena *arena;
};

void kz_directory_free(kz_directory *d)
{
    if (!d)
        return;
    free((void *)d->name);
    free((void *)d->domain);
    free((void *)d->industry);
    free((void *)d->owner);
    free(d->renewal_field);
    kz_attrs_free(d->attrs);
    kz_arena_free(d->arena);
    free(d);
}

struct dir_ctx {
    kz_directory *d;
    const kz_engine *e;
};

static const char *dup_text(kz_arena *a, const kz_value *v)
{
    if (v->kind != KZ_VTEXT || v->n == 0)
        return NULL;
    return kz_arena_strndup(a, v->s, v->n);
}

static int on_dir_row(void *ctx, int64_t id, const kz_value *row)
{
    struct dir_ctx *c = ctx;
    (void)id;
    int64_t a = kz_engine_find_account(c->e, row[KZ_ACCOUNT_KEY].s, row[KZ_ACCOUNT_KEY].n);
    if (a < 0)
        return KZ_OK; /* stored after the engine was built: the next build has it */
    kz_directory *d = c->d;
    d->name[a] = dup_text(d->arena, &row[KZ_ACCOUNT_NAME]);
    d->domain[a] = dup_text(d->arena, &row[KZ_ACCOUNT_DOMAIN]);
    d->industry[a] = dup_text(d->arena, &row[KZ_ACCOUNT_INDUSTRY]);
    d->owner[a] = dup_text(d->arena, &row[KZ_ACCOUNT_OWNER]);
    return KZ_OK;
}

int kz_directory_build(kz_directory **out, kz_store *st, const kz_engine *e)
{
    kz_directory *d = calloc(1, sizeof *d);
    *out = NULL;
    if (!d)
        return kz_error_oom();
    d->n = kz_engine_accounts(e);
    size_t m = d->n ? d->n : 1;
    d->arena = kz_arena_new(1 << 16);
    d->name = calloc(m, sizeof *d->name);
    d->domain = calloc(m, sizeof *d->domain);
    d->industry = calloc(m, sizeof *d->industry);
    d->owner = calloc(m, sizeof *d->owner);
    d->renewal_field = malloc(m * sizeof *d->renewal_field);
    if (!d->arena || !d->name || !d->domain || !d->industry || !d->owner || !d->renewal_field) {
        kz_directory_free(d);
        return kz_error_oom();
    }
    for (size_t i = 0; i < m; i++)
        d->renewal_field[i] = KZ_DAY_NONE;
    struct dir_ctx c = { d, e };
    int rc = kz_store_each(st, KZ_ENT_ACCOUNT, on_dir_row, &c);
    /* the custom date field renewal_date, when there is one */
    kz_attrs *at = NULL;
    if (!rc)
        rc = kz_attrs_load(&at, st, e);
    for (size_t k = 0; !rc && k < at->n; k++) {
        const kz_attr_col *col = &at->cols[k];
        if (strcmp(col->name, "renewal_date") != 0 || !col->is_date)
            continue;
        for (size_t i = 0; i < d->n && i < at->naccounts; i++)
            if (!isnan(col->num[i]))
                d->renewal_field[i] = kz_time_day((kz_time)col->num[i]);
    }
    d->attrs = at; /* kept: the list shows them */
    if (rc) {
        kz_directory_free(d);
        return rc;
    }
    *out = d;
    return KZ_OK;
}

/* ---- common pieces ------------------------------------------------------------------------ */




static void json_opt_str(kz_jw *w, const char *s)
{
    if (s)
        kz_jw_str(w, s);
    else
        kz_jw_null(w);
}

/* The day lists and pages are as of: the last day with events, else today. */
static kz_day as_of(const kz_engine *e, const kz_tz *tz)
{
    kz_day d = kz_engine_last_day(e, tz);
    return d != KZ_DAY_NONE ? d : (kz_day)kz_tz_day(tz, kz_now() / KZ_USEC_PER_SEC);
}

static void json_health(kz_jw *w, const kz_scores *s, uint32_t a, int full)
{
    if (!s || a >= s->naccounts || isnan(s->health[a])) {
        kz_jw_null(w);
        return;
    }
    kz_jw_obj(w);
    kz_jw_key(w, "score");
    kz_jw_double(w, round(s->health[a] * 10) / 10);
    kz_jw_key(w, "band");
    kz_jw_str(w, kz_health_band_name(s->band[a]));
    kz_jw_key(w, "segment");
    kz_jw_str(w, s->segment[a]);
    kz_jw_key(w, "weakest");
    kz_jw_str(w, s->weakest[a]);
    /* the change since KZ_TREND_DAYS before, by the same definition */
    kz_jw_key(w, "trend");
    if (s->health_before && !isnan(s->health_before[a]))
        kz_jw_double(w, round((s->health[a] - s->health_before[a]) * 10) / 10);
    else
        kz_jw_null(w);
    kz_jw_key(w, "trend_days");
    kz_jw_int(w, KZ_TREND_DAYS);
    if (full) {
        kz_jw_key(w, "factors");
        kz_jw_raw(w, s->factors[a], strlen(s->factors[a]));
        kz_jw_key(w, "definition_version");
        kz_jw_int(w, s->health_version);
        kz_jw_key(w, "day");
        kz_jw_date(w, s->at);
    }
    kz_jw_key(w, "computed_at");
    kz_jw_time(w, s->computed_at);
    kz_jw_end(w);
}

static void json_churn(kz_jw *w, const kz_scores *s, uint32_t a)
{
    if (!s || a >= s->naccounts || isnan(s->churn[a])) {
        kz_jw_null(w);
        return;
    }
    kz_jw_obj(w);
    kz_jw_key(w, "probability");
    kz_jw_double(w, round(s->churn[a] * 10000) / 10000);
    kz_jw_key(w, "horizon_days");
    kz_jw_int(w, s->horizon);
    kz_jw_key(w, "model");
    kz_jw_str(w, s->model);
    kz_jw_key(w, "drivers");
    kz_jw_raw(w, s->drivers[a], strlen(s->drivers[a]));
    kz_jw_key(w, "computed_at");
    kz_jw_time(w, s->computed_at);
    kz_jw_end(w);
}

/* A paying account's next renewal on or after at (renewal.h); KZ_DAY_NONE for
 * one that does not pay. */
static kz_day renewal_of(const kz_directory *d, const kz_account_facts *f, uint32_t a, kz_day at)
{
    if (f->mrr <= 0)
        return KZ_DAY_NONE;
    return kz_renewal_next(f->first_start, d && a < d->n ? d->renewal_field[a] : KZ_DAY_NONE, at);
}

/* A renewal at risk: the account is in the red or yellow band, or its churn
 * probability is KZ_AT_RISK_CHURN or more (what /api/v1/renewals sums, and
 * the list's at_risk filter). */
#define KZ_AT_RISK_CHURN 0.5
static int at_risk(const kz_scores *s, uint32_t a)
{
    if (!s || a >= s->naccounts)
        return 0;
    if (!isnan(s->health[a]) && (s->band[a] == KZ_BAND_RED || s->band[a] == KZ_BAND_YELLOW))
        return 1;
    return !isnan(s->churn[a]) && s->churn[a] >= KZ_AT_RISK_CHURN;
}

/* ?name=true|false|1|0 into *out (-1 when absent): 0, or 1 with the 400 answered. */
static int bool_arg(kz_http_req *req, kz_http_resp *resp, const char *name, int *out)
{
    const char *v = kz_req_query(req, name);
    *out = -1;
    if (!v)
        return 0;
    if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
        *out = 1;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
        *out = 0;
    else {
        kz_resp_error(resp, 400, name, "%s: true or false", name);
        return 1;
    }
    return 0;
}

/* Field column col's value of account a: a number, a date, true/false, a text or null. */
static void json_field(kz_jw *w, const kz_attr_col *col, uint32_t a, size_t naccounts)
{
    if (a >= naccounts) {
        kz_jw_null(w);
    } else if (col->numeric) {
        double v = col->num[a];
        if (isnan(v))
            kz_jw_null(w);
        else if (col->is_date)
            kz_jw_date(w, kz_time_day((kz_time)v));
        else if (col->is_bool)
            kz_jw_bool(w, v != 0);
        else
            kz_jw_double(w, v);
    } else {
        json_opt_str(w, col->text ? col->text[a] : NULL);
    }
}

static const char *field_type(const kz_attr_col *col)
{
    return col->is_date ? "date" : col->is_bool ? "boolean" : col->numeric ? "number" : "text";
}

/* The list's object of account a, with the field columns cols[0..ncols) of
 * d's attributes under "fields" when ncols > 0. */
static void json_brief(kz_jw *w, const kz_engine *e, const kz_metric_opts *o, const kz_directory *d,
                       const kz_scores *s, uint32_t a, kz_day at, const size_t *cols, size_t ncols)
{
    kz_account_facts f;
    size_t klen;
    const char *key = kz_engine_account_key(e, a, &klen);
    kz_engine_account_facts(e, o, a, at, &f);
    kz_jw_obj(w);
    kz_jw_key(w, "account_id");
    kz_jw_strn(w, key, klen);
    kz_jw_key(w, "name");
    json_opt_str(w, d && a < d->n ? d->name[a] : NULL);
    kz_jw_key(w, "domain");
    json_opt_str(w, d && a < d->n ? d->domain[a] : NULL);
    kz_jw_key(w, "industry");
    json_opt_str(w, d && a < d->n ? d->industry[a] : NULL);
    kz_jw_key(w, "owner");
    json_opt_str(w, d && a < d->n ? d->owner[a] : NULL);
    kz_jw_key(w, "plan");
    json_opt_str(w, f.plan);
    kz_jw_key(w, "mrr");
    kz_jw_fixed(w, f.mrr, KZ_MONEY_SCALE, 2);
    kz_jw_key(w, "paying");
    kz_jw_bool(w, f.mrr > 0);
    kz_jw_key(w, "seats");
    kz_jw_int(w, f.seats);
    kz_jw_key(w, "customer_since");
    kz_jw_date(w, f.first_start);
    kz_jw_key(w, "renewal");
    kz_jw_date(w, renewal_of(d, &f, a, at));
    kz_jw_key(w, "last_event");
    if (f.last_event == INT64_MIN)
        kz_jw_null(w);
    else
        kz_jw_time(w, f.last_event * KZ_USEC_PER_SEC);
    kz_jw_key(w, "days_since_event");
    if (f.last_event == INT64_MIN)
        kz_jw_null(w);
    else
        kz_jw_int(w, (int64_t)at - kz_tz_day(o->tz, f.last_event));
    kz_jw_key(w, "open_tickets");
    kz_jw_int(w, f.open_tickets);
    kz_jw_key(w, "open_urgent_tickets");
    kz_jw_int(w, f.open_urgent);
    kz_jw_key(w, "health");
    json_health(w, s, a, 0);
    kz_jw_key(w, "churn");
    json_churn(w, s, a);
    kz_jw_key(w, "at_risk");
    kz_jw_bool(w, at_risk(s, a));
    if (ncols) {
        kz_jw_key(w, "fields");
        kz_jw_obj(w);
        for (size_t k = 0; k < ncols; k++) {
            const kz_attr_col *col = &d->attrs->cols[cols[k]];
            kz_jw_key(w, col->name);
            json_field(w, col, a, d->attrs->naccounts);
        }
        kz_jw_end(w);
    }
    kz_jw_end(w);
}

/* ---- the list ------------------------------------------------------------------------------ */

enum {
    SORT_RISK, SORT_HEALTH, SORT_MRR, SORT_NAME, SORT_KEY, SORT_LAST_EVENT, SORT_TICKETS, SORT_RENEWAL, SORT_TREND,
    SORT_N,
    SORT_FIELD = SORT_N /* sort=field:NAME */
};
static const char *const sort_names[SORT_N] = { "risk", "health", "mrr", "name", "account_id", "last_event",
                                                "open_tickets", "renewal", "trend" };

struct item {
    uint32_t a;
    double v;          /* the sort value (NaN: none, always last) */
    const char *text;  /* name sorts */
    const char *key;
    size_t klen;
};

/* qsort has no context argument: the order is passed through the items'
 * values (negated when descending), and text sorts use their own compare. */
static int cmp_key(const struct item *x, const struct item *y)
{
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static int cmp_value(const void *p, const void *q)
{
    const struct item *x = p, *y = q;
    int xn = isnan(x->v), yn = isnan(y->v);
    if (xn != yn)
        return xn - yn;
    if (!xn && x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return cmp_key(x, y);
}

static int cmp_text_asc(const void *p, const void *q)
{
    const struct item *x = p, *y = q;
    if (!x->text != !y->text)
        return !x->text - !y->text;
    int c = x->text ? strcasecmp(x->text, y->text) : 0;
    return c ? c : cmp_key(x, y);
}

static int cmp_text_desc(const void *p, const void *q)
{
    const struct item *x = p, *y = q;
    if (!x->text != !y->text)
        return !x->text - !y->text;
    int c = x->text ? strcasecmp(y->text, x->text) : 0;
    return c ? c : cmp_key(x, y);
}

static int cmp_key_desc(const void *p, const void *q)
{
    return cmp_key(q, p);
}

typedef int (*cmp_fn)(const void *, const void *);

static void sift_down(struct item *h, size_t n, size_t i, cmp_fn cmp)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, top = i;
        if (l < n && cmp(&h[l], &h[top]) > 0)
            top = l;
        if (r < n && cmp(&h[r], &h[top]) > 0)
            top = r;
        if (top == i)
            return;
        struct item t = h[i];
        h[i] = h[top];
        h[top] = t;
        i = top;
    }
}

/* Puts the first k of items[0..n) by cmp in order at the front (the rest in
 * no order): a heap of the best k when k is small, a whole sort otherwise,
 * so a page of a long list costs O(n log k). */
static void order_first(struct item *items, size_t n, size_t k, cmp_fn cmp)
{
    if (k >= n / 4) {
        qsort(items, n, sizeof *items, cmp);
        return;
    }
    /* items[0..k) as a heap with the worst of them on top */
    for (size_t i = k / 2; i-- > 0;)
        sift_down(items, k, i, cmp);
    for (size_t i = k; i < n; i++)
        if (cmp(&items[i], &items[0]) < 0) {
            struct item t = items[0];
            items[0] = items[i];
            items[i] = t;
            sift_down(items, k, 0, cmp);
        }
    qsort(items, k, sizeof *items, cmp);
}

/* Case-insensitive (ASCII) substring search; the rest of UTF-8 as bytes. */
static int contains(const char *hay, const char *needle, size_t nlen)
{
    if (!hay)
        return 0;
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, nlen) == 0)
            return 1;
    return 0;
}


#define MAX_FILTERS 16
#define MAX_FIELDS 32

/* The column of d's attributes named name[0..n); -1 when there is none. */
static ptrdiff_t field_col(const kz_directory *d, const char *name, size_t n)
{
    for (size_t k = 0; d && d->attrs && k < d->attrs->n; k++)
        if (strlen(d->attrs->cols[k].name) == n && memcmp(d->attrs->cols[k].name, name, n) == 0)
            return (ptrdiff_t)k;
    return -1;
}

/* ?fields=a,b: the columns into cols (*n of them). 0, or 1 with the 400 answered. */
static int parse_fields(kz_http_resp *resp, const kz_directory *d, const char *list, size_t *cols, size_t *n)
{
    *n = 0;
    for (const char *p = list; list && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len) {
            ptrdiff_t k = field_col(d, p, len);
            if (k < 0) {
                kz_resp_error(resp, 400, "fields", "fields: accounts have no field '%.*s' (GET /api/v1/accounts lists "
                              "them under fields_available)", (int)(len > 200 ? 200 : len), p);
                return 1;
            }
            if (*n == MAX_FIELDS) {
                kz_resp_error(resp, 400, "fields", "fields: at most %d", MAX_FIELDS);
                return 1;
            }
            cols[(*n)++] = (size_t)k;
        }
        p += len + (end != NULL);
    }
    return 0;
}

int kz_api_accounts(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    const char *q = kz_req_query(req, "q"), *owner = kz_req_query(req, "owner"),
               *industry = kz_req_query(req, "industry"), *plan = kz_req_query(req, "plan"),
               *band = kz_req_query(req, "band"), *sort = kz_req_query(req, "sort");
    const char *filters[MAX_FILTERS];
    const char *fields = kz_req_query(req, "fields"), *segment = kz_req_query(req, "segment");
    size_t cols[MAX_FIELDS], ncols = 0;
    int64_t limit, offset;
    int rc = KZ_OK;
    int64_t renewal_within;
    kz_day renewal_from, renewal_to;
    int want_paying, want_risk;
    if (kz_req_int(req, resp, "limit", 1, 1000, 50, &limit) || kz_req_int(req, resp, "offset", 0, INT32_MAX, 0, &offset) ||
        kz_req_int(req, resp, "renewal_within", -1, 3660, -1, &renewal_within) ||
        kz_req_date(req, resp, "renewal_from", &renewal_from) || kz_req_date(req, resp, "renewal_to", &renewal_to) ||
        bool_arg(req, resp, "paying", &want_paying) || bool_arg(req, resp, "at_risk", &want_risk))
        return KZ_OK;
    if (renewal_from != KZ_DAY_NONE && renewal_to != KZ_DAY_NONE && renewal_from > renewal_to)
        return kz_resp_error(resp, 400, "renewal_from", "renewal_from: after renewal_to");
    int by_renewal = renewal_within >= 0 || renewal_from != KZ_DAY_NONE || renewal_to != KZ_DAY_NONE;
    int by = SORT_RISK, desc = 1;
    ptrdiff_t sort_col = -1; /* sort=field:NAME, its column found under the lock */
    if (sort && strncmp(sort + (sort[0] == '-'), "field:", 6) == 0) {
        by = SORT_FIELD;
        desc = sort[0] == '-';
    } else if (sort) {
        const char *name = sort[0] == '-' ? sort + 1 : sort;
        by = -1;
        for (int i = 0; i < SORT_N; i++)
            if (strcmp(name, sort_names[i]) == 0)
                by = i;
        if (by < 0)
            return kz_resp_error(resp, 400, "sort",
                                 "sort: one of risk, health, mrr, name, account_id, last_event, open_tickets, "
                                 "renewal, trend (a leading '-' for the largest first)");
        desc = sort[0] == '-';
    }
    int want_band = -1;
    if (band) {
        static const char *const bands[] = { "red", "yellow", "green", "none" };
        for (int i = 0; i < 4; i++)
            if (strcmp(band, bands[i]) == 0)
                want_band = i;
        if (want_band < 0)
            return kz_resp_error(resp, 400, "band", "band: green, yellow, red or none (not scored)");
    }
    size_t nf = kz_req_query_all(req, "filter", filters, MAX_FILTERS);
    if (nf > MAX_FILTERS)
        return kz_resp_error(resp, 400, "filter", "at most %d filters", MAX_FILTERS);
    size_t qlen = q ? strlen(q) : 0;

    kz_segments *seg = NULL;
    struct item *items = NULL;
    const kz_engine *e = kz_app_engine(a);
    const kz_directory *d = a->directory;
    const kz_scores *s = a->scores;
    if (parse_fields(resp, d, fields, cols, &ncols))
        goto done;
    if (by == SORT_FIELD) {
        const char *name = sort + (sort[0] == '-') + 6;
        if ((sort_col = field_col(d, name, strlen(name))) < 0) {
            kz_resp_error(resp, 400, "sort", "sort: accounts have no field '%.200s'", name);
            goto done;
        }
    }
    kz_metric_opts mo;
    kz_metric_opts_init(&mo);
    mo.tz = a->tz;
    kz_day at = as_of(e, a->tz);
    size_t n = kz_engine_accounts(e), total = 0;
    if (nf) {
        kz_store *st = kz_app_store(a);
        if (!st) {
            rc = KZ_EIO;
            goto done;
        }
        if (kz_segments_build(&seg, st, e, at, filters, nf, NULL)) {
            if (kz_error_code() == KZ_EINVALID)
                kz_resp_error(resp, 400, "filter", "%s", kz_error_msg());
            else
                rc = kz_error_code();
            goto done;
        }
    }
    items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        rc = kz_error_oom();
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (seg && seg->filter && !seg->filter[i])
            continue;
        const char *nm = d && i < d->n ? d->name[i] : NULL;
        struct item it = { i, NAN, nm, NULL, 0 };
        it.key = kz_engine_account_key(e, i, &it.klen);
        if (owner && !(d && i < d->n && d->owner[i] && strcmp(d->owner[i], owner) == 0))
            continue;
        if (industry && !(d && i < d->n && d->industry[i] && strcmp(d->industry[i], industry) == 0))
            continue;
        if (q && !(contains(nm, q, qlen) || contains(d && i < d->n ? d->domain[i] : NULL, q, qlen) ||
                   (it.klen >= qlen && memmem(it.key, it.klen, q, qlen))))
            continue;
        double health = s && i < s->naccounts ? s->health[i] : NAN;
        double risk = s && i < s->naccounts ? s->churn[i] : NAN;
        if (segment &&
            !(s && i < s->naccounts && !isnan(health) && s->segment[i] && strcmp(s->segment[i], segment) == 0))
            continue;
        if (want_band >= 0) {
            int b = isnan(health) ? 3 : s->band[i];
            if (b != want_band)
                continue;
        }
        if (want_risk >= 0 && at_risk(s, i) != want_risk)
            continue;
        int64_t mrr = (want_paying >= 0 || by == SORT_MRR) ? kz_engine_mrr(e, i, at) : 0;
        if (want_paying >= 0 && (mrr > 0) != want_paying)
            continue;
        /* the account's facts, once, when a filter or the order needs them */
        kz_day renewal = KZ_DAY_NONE;
        kz_account_facts f;
        if (plan || by_renewal || by == SORT_RENEWAL || by == SORT_LAST_EVENT || by == SORT_TICKETS)
            kz_engine_account_facts(e, &mo, i, at, &f);
        if (plan || by_renewal || by == SORT_RENEWAL) {
            if (plan && (!f.plan || strcmp(f.plan, plan) != 0))
                continue;
            renewal = renewal_of(d, &f, i, at);
            /* renewal_within N: those that renew within N days (a renewal_date already passed included) */
            if (by_renewal && renewal == KZ_DAY_NONE)
                continue;
            if (renewal_within >= 0 && renewal > at + renewal_within)
                continue;
            if ((renewal_from != KZ_DAY_NONE && renewal < renewal_from) ||
                (renewal_to != KZ_DAY_NONE && renewal > renewal_to))
                continue;
        }
        switch (by) {
        case SORT_RISK: /* the most likely to churn first; without a model, the least healthy */
            it.v = !isnan(risk) ? risk : isnan(health) ? NAN : (100 - health) / 100;
            break;
        case SORT_HEALTH: it.v = health; break;
        case SORT_TREND:
            it.v = isnan(health) || !s->health_before || isnan(s->health_before[i]) ? NAN
                                                                                    : health - s->health_before[i];
            break;
        case SORT_RENEWAL: it.v = renewal == KZ_DAY_NONE ? NAN : (double)renewal; break;
        case SORT_MRR: it.v = (double)mrr; break;
        case SORT_LAST_EVENT: it.v = f.last_event == INT64_MIN ? NAN : (double)f.last_event; break;
        case SORT_TICKETS: it.v = (double)f.open_tickets; break;
        case SORT_FIELD: {
            const kz_attr_col *col = &d->attrs->cols[sort_col];
            if (i >= d->attrs->naccounts)
                it.text = NULL;
            else if (col->numeric)
                it.v = col->num[i];
            else
                it.text = col->text ? col->text[i] : NULL;
            break;
        }
        default: break;
        }
        if (desc && !isnan(it.v))
            it.v = -it.v;
        items[total++] = it;
    }
    size_t want = (size_t)offset + (size_t)limit; /* only the first `want` need their order */
    if (by == SORT_NAME || (by == SORT_FIELD && !d->attrs->cols[sort_col].numeric))
        order_first(items, total, want, desc ? cmp_text_desc : cmp_text_asc);
    else if (by == SORT_KEY && desc)
        order_first(items, total, want, cmp_key_desc);
    else
        order_first(items, total, want, cmp_value); /* keys ascending: every value is NaN */
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "as_of");
    kz_jw_date(&w, at);
    kz_jw_key(&w, "total");
    kz_jw_int(&w, (int64_t)total);
    kz_jw_key(&w, "offset");
    kz_jw_int(&w, offset);
    kz_jw_key(&w, "limit");
    kz_jw_int(&w, limit);
    kz_jw_key(&w, "sort");
    kz_jw_str(&w, sort ? sort : "-risk");
    kz_jw_key(&w, "fields_available");
    kz_jw_arr(&w);
    for (size_t k = 0; d && d->attrs && k < d->attrs->n; k++) {
        kz_jw_obj(&w);
        kz_jw_key(&w, "name");
        kz_jw_str(&w, d->attrs->cols[k].name);
        kz_jw_key(&w, "type");
        kz_jw_str(&w, field_type(&d->attrs->cols[k]));
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    kz_jw_key(&w, "accounts");
    kz_jw_arr(&w);
    for (size_t i = (size_t)offset; i < total && i < (size_t)(offset + limit); i++)
        json_brief(&w, e, &mo, d, s, items[i].a, at, cols, ncols);
    kz_jw_end(&w);
    kz_jw_end(&w);
    rc = kz_resp_json_end(resp, &w, 200);
done:
    kz_app_engine_done(a);
    kz_segments_free(seg);
    free(items);
    return rc;
}

/* ---- the renewals ahead, by month ------------------------------------------------------------ */

struct renewal_month {
    kz_month month;
    int64_t accounts, at_risk, overdue;
    int64_t arr, arr_at_risk; /* KZ_MONEY_SCALE */
};

static int cmp_month(const void *x, const void *y)
{
    const struct renewal_month *a = x, *b = y;
    return (a->month > b->month) - (a->month < b->month);
}

static void json_renewal_sums(kz_jw *w, const struct renewal_month *m)
{
    kz_jw_key(w, "accounts");
    kz_jw_int(w, m->accounts);
    kz_jw_key(w, "arr");
    kz_jw_fixed(w, m->arr, KZ_MONEY_SCALE, 2);
    kz_jw_key(w, "accounts_at_risk");
    kz_jw_int(w, m->at_risk);
    kz_jw_key(w, "arr_at_risk");
    kz_jw_fixed(w, m->arr_at_risk, KZ_MONEY_SCALE, 2);
    kz_jw_key(w, "overdue");
    kz_jw_int(w, m->overdue);
}

int kz_api_renewals(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    int64_t within;
    if (kz_req_int(req, resp, "within", 0, 3660, 90, &within))
        return KZ_OK;
    const kz_engine *e = kz_app_engine(a);
    const kz_directory *d = a->directory;
    const kz_scores *s = a->scores;
    kz_metric_opts mo;
    kz_metric_opts_init(&mo);
    mo.tz = a->tz;
    kz_day at = as_of(e, a->tz);
    size_t n = kz_engine_accounts(e), nm = 0, cap = 0;
    struct renewal_month *months = NULL, all = { 0 };
    int rc = KZ_OK;
    for (uint32_t i = 0; i < n && !rc; i++) {
        kz_account_facts f;
        kz_engine_account_facts(e, &mo, i, at, &f);
        kz_day renewal = renewal_of(d, &f, i, at);
        if (renewal == KZ_DAY_NONE || renewal > at + within)
            continue;
        kz_month mon = kz_day_month(renewal);
        size_t k = 0; /* a few dozen months at most */
        while (k < nm && months[k].month != mon)
            k++;
        if (k == nm) {
            if (nm == cap) {
                size_t c = cap ? 2 * cap : 16;
                struct renewal_month *m = realloc(months, c * sizeof *m);
                if (!m) {
                    rc = kz_error_oom();
                    break;
                }
                months = m;
                cap = c;
            }
            months[nm++] = (struct renewal_month){ .month = mon };
        }
        struct renewal_month *m = &months[k];
        int64_t arr = f.mrr * 12;
        int risky = at_risk(s, i), late = renewal < at;
        m->accounts++, all.accounts++;
        m->arr += arr, all.arr += arr;
        m->at_risk += risky, all.at_risk += risky;
        m->arr_at_risk += risky ? arr : 0, all.arr_at_risk += risky ? arr : 0;
        m->overdue += late, all.overdue += late;
    }
    if (!rc) {
        qsort(months, nm, sizeof *months, cmp_month);
        kz_jw w;
        kz_jw_init(&w, &resp->body);
        kz_jw_obj(&w);
        kz_jw_key(&w, "as_of");
        kz_jw_date(&w, at);
        kz_jw_key(&w, "computed_at");
        if (s && s->at != KZ_DAY_NONE)
            kz_jw_time(&w, s->computed_at);
        else
            kz_jw_null(&w);
        kz_jw_key(&w, "within");
        kz_jw_int(&w, within);
        kz_jw_key(&w, "at_risk_churn");
        kz_jw_double(&w, KZ_AT_RISK_CHURN);
        json_renewal_sums(&w, &all);
        kz_jw_key(&w, "months");
        kz_jw_arr(&w);
        for (size_t k = 0; k < nm; k++) {
            char buf[KZ_DATE_BUF];
            kz_format_month(buf, months[k].month);
            kz_jw_obj(&w);
            kz_jw_key(&w, "month");
            kz_jw_str(&w, buf);
            json_renewal_sums(&w, &months[k]);
            kz_jw_end(&w);
        }
        kz_jw_end(&w);
        kz_jw_end(&w);
        rc = kz_resp_json_end(resp, &w, 200);
    }
    kz_app_engine_done(a);
    free(months);
    return rc;
}

/* ---- one account's story ---------------------------------------------------------------------- */

struct story_row {
    kz_store *st;
    int found;
    int64_t id;
    kz_buf json;
};

static int on_story_account(void *ctx, int64_t id, const kz_value *row)
{
    struct story_row *c = ctx;
    c->found = 1;
    c->id = id;
    return kz_export_row_json(c->st, KZ_ENT_ACCOUNT, id, row, 1, &c->json);
}

int kz_api_account(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    const char *key = kz_req_param(req, "id");
    int64_t days, limit;
    kz_store *st = kz_app_store(a);
    struct story_row acc;
    int64_t *events = NULL, *users = NULL, *by_name = NULL, *by_week = NULL;
    size_t *order = NULL;
    int rc = KZ_OK;
    if (!st)
        return KZ_EIO;
    if (kz_req_int(req, resp, "days", 7, 730, 90, &days) || kz_req_int(req, resp, "limit", 1, 1000, 50, &limit))
        return KZ_OK;
    memset(&acc, 0, sizeof acc);
    acc.st = st;
    kz_buf_init(&acc.json, KZ_BUF_UNLIMITED);
    kz_value k = kz_vtext(key, strlen(key));
    rc = kz_store_get(st, KZ_ENT_ACCOUNT, &k, on_story_account, &acc);
    if (rc == KZ_ENOTFOUND) {
        kz_buf_free(&acc.json);
        return kz_resp_error(resp, 404, NULL, "no account '%s'", key);
    }
    if (rc) {
        kz_buf_free(&acc.json);
        return rc;
    }
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "account");
    kz_jw_raw(&w, acc.json.data, acc.json.len);

    /* what the engine knows, under its lock */
    const kz_engine *e = kz_app_engine(a);
    const kz_scores *s = a->scores;
    kz_metric_opts mo;
    kz_metric_opts_init(&mo);
    mo.tz = a->tz;
    kz_day at = as_of(e, a->tz);
    int64_t idx = kz_engine_find_account(e, key, strlen(key));
    kz_jw_key(&w, "as_of");
    kz_jw_date(&w, at);
    if (idx >= 0) {
        uint32_t i = (uint32_t)idx;
        kz_account_facts f;
        kz_engine_account_facts(e, &mo, i, at, &f);
        kz_jw_key(&w, "mrr");
        kz_jw_fixed(&w, f.mrr, KZ_MONEY_SCALE, 2);
        kz_jw_key(&w, "arr");
        kz_jw_fixed(&w, f.mrr * 12, KZ_MONEY_SCALE, 2);
        kz_jw_key(&w, "paying");
        kz_jw_bool(&w, f.mrr > 0);
        kz_jw_key(&w, "plan");
        json_opt_str(&w, f.plan);
        kz_jw_key(&w, "seats");
        kz_jw_int(&w, f.seats);
        kz_jw_key(&w, "customer_since");
        kz_jw_date(&w, f.first_start);
        kz_jw_key(&w, "renewal");
        kz_jw_date(&w, renewal_of(a->directory, &f, i, at));
        kz_jw_key(&w, "last_event");
        if (f.last_event == INT64_MIN)
            kz_jw_null(&w);
        else
            kz_jw_time(&w, f.last_event * KZ_USEC_PER_SEC);
        kz_jw_key(&w, "open_tickets");
        kz_jw_int(&w, f.open_tickets);
        kz_jw_key(&w, "open_urgent_tickets");
        kz_jw_int(&w, f.open_urgent);
        kz_jw_key(&w, "latest_nps");
        if (f.nps < 0)
            kz_jw_null(&w);
        else
            kz_jw_int(&w, f.nps);
        kz_jw_key(&w, "health");
        json_health(&w, s, i, 1);
        kz_jw_key(&w, "churn");
        json_churn(&w, s, i);
        /* the signals the scores came from, each with its sentence */
        kz_jw_key(&w, "signals");
        if (s && s->signals && i < s->naccounts) {
            const double *row = s->signals + (size_t)i * KZ_NSIGNALS;
            const kz_signal_def *defs = kz_signal_defs();
            kz_buf says;
            kz_buf_init(&says, KZ_BUF_UNLIMITED);
            kz_jw_obj(&w);
            for (int sg = 0; sg < KZ_NSIGNALS; sg++) {
                kz_buf_reset(&says);
                kz_signal_describe(&says, sg, row);
                kz_jw_key(&w, defs[sg].name);
                kz_jw_obj(&w);
                kz_jw_key(&w, "value");
                kz_jw_double(&w, row[sg]);
                kz_jw_key(&w, "unit");
                kz_jw_str(&w, defs[sg].unit);
                kz_jw_key(&w, "says");
                kz_jw_strn(&w, says.data ? says.data : "", says.len);
                kz_jw_end(&w);
            }
            kz_jw_end(&w);
            kz_buf_free(&says);
        } else {
            kz_jw_null(&w);
        }
        /* usage per day, and MRR per month */
        kz_day from = at - (kz_day)days + 1;
        events = malloc((size_t)days * sizeof *events);
        users = malloc((size_t)days * sizeof *users);
        if (!events || !users || (rc = kz_engine_account_series(e, &mo, i, from, at, events, users))) {
            rc = rc ? rc : kz_error_oom();
            kz_app_engine_done(a);
            goto done;
        }
        kz_jw_key(&w, "usage");
        kz_jw_arr(&w);
        for (int64_t dd = 0; dd < days; dd++) {
            kz_jw_obj(&w);
            kz_jw_key(&w, "day");
            kz_jw_date(&w, from + (kz_day)dd);
            kz_jw_key(&w, "events");
            kz_jw_int(&w, events[dd]);
            kz_jw_key(&w, "users");
            kz_jw_int(&w, users[dd]);
            kz_jw_end(&w);
        }
        kz_jw_end(&w);
        /* the same days by event name, the most frequent first, week by week */
        size_t names = kz_engine_event_names(e), weeks = (size_t)(days - 1) / 7 + 1, used = 0;
        by_name = malloc((names ? names : 1) * sizeof *by_name);
        by_week = malloc((names ? names : 1) * weeks * sizeof *by_week);
        order = malloc((names ? names : 1) * sizeof *order);
        if (!by_name || !by_week || !order) {
            rc = kz_error_oom();
            kz_app_engine_done(a);
            goto done;
        }
        kz_engine_account_by_name(e, &mo, i, from, at, by_name, by_week);
        for (size_t nm = 0; nm < names; nm++)
            if (by_name[nm] > 0)
                order[used++] = nm;
        for (size_t x = 1; x < used; x++) /* insertion sort: a few dozen names */
            for (size_t y = x; y > 0 && by_name[order[y]] > by_name[order[y - 1]]; y--) {
                size_t t = order[y];
                order[y] = order[y - 1];
                order[y - 1] = t;
            }
        kz_jw_key(&w, "usage_by_event");
        kz_jw_obj(&w);
        kz_jw_key(&w, "weeks");
        kz_jw_arr(&w);
        for (size_t wk = 0; wk < weeks; wk++)
            kz_jw_date(&w, from + (kz_day)(wk * 7));
        kz_jw_end(&w);
        kz_jw_key(&w, "events");
        kz_jw_arr(&w);
        for (size_t x = 0; x < used; x++) {
            kz_jw_obj(&w);
            kz_jw_key(&w, "event");
            kz_jw_str(&w, kz_engine_event_name(e, order[x]));
            kz_jw_key(&w, "events");
            kz_jw_int(&w, by_name[order[x]]);
            kz_jw_key(&w, "by_week");
            kz_jw_arr(&w);
            for (size_t wk = 0; wk < weeks; wk++)
                kz_jw_int(&w, by_week[wk * names + order[x]]);
            kz_jw_end(&w);
            kz_jw_end(&w);
        }
        kz_jw_end(&w);
        kz_jw_end(&w);
        kz_jw_key(&w, "mrr_history");
        kz_jw_arr(&w);
        if (f.first_start != KZ_DAY_NONE) {
            kz_month m0 = kz_day_month(f.first_start), m1 = kz_day_month(at);
            if (m1 - m0 > 119)
                m0 = m1 - 119; /* ten years at most */
            for (kz_month m = m0; m <= m1; m++) {
                kz_day last = m == m1 ? at : kz_month_first_day(m + 1) - 1;
                char buf[KZ_DATE_BUF];
                size_t bn = kz_format_month(buf, m);
                kz_jw_obj(&w);
                kz_jw_key(&w, "month");
                kz_jw_strn(&w, buf, bn);
                kz_jw_key(&w, "mrr");
                kz_jw_fixed(&w, kz_engine_mrr(e, i, last), KZ_MONEY_SCALE, 2);
                kz_jw_end(&w);
            }
        }
        kz_jw_end(&w);
    } else {
        /* added since the engine was last built: the store knows it, the engine not yet */
        kz_jw_key(&w, "health");
        kz_jw_null(&w);
        kz_jw_key(&w, "churn");
        kz_jw_null(&w);
    }
    kz_app_engine_done(a);

    /* the rows of the store */
    static const struct {
        const char *name;
        kz_entity e;
    } parts[] = {
        { "subscriptions", KZ_ENT_SUBSCRIPTION }, { "contacts", KZ_ENT_CONTACT }, { "tickets", KZ_ENT_TICKET },
        { "nps", KZ_ENT_NPS },                    { "activities", KZ_ENT_ACTIVITY },
    };
    for (size_t p = 0; p < sizeof parts / sizeof parts[0] && !rc; p++) {
        kz_buf rows;
        kz_buf_init(&rows, KZ_BUF_UNLIMITED);
        rc = kz_api_rows_of_account(st, parts[p].e, acc.id, limit, &rows);
        if (!rc) {
            kz_jw_key(&w, parts[p].name);
            kz_jw_raw(&w, rows.data, rows.len);
        }
        kz_buf_free(&rows);
    }
    kz_jw_end(&w);
    if (!rc) {
        rc = kz_resp_json_end(resp, &w, 200);
    }
done:
    free(events);
    free(users);
    free(by_name);
    free(by_week);
    free(order);
    kz_buf_free(&acc.json);
    return rc;
}
