/*
 * segment.c - filters and segments of accounts (segment.h).
 */
#include "engine/segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/text.h"
#include "engine/engine_internal.h"

/* The value of one attribute for every account, as text (NULL: empty), with
 * numbers, dates and booleans also as numbers for comparisons. */
struct attr {
    const char *name;
    kz_field_type type; /* KZ_FIELD_TEXT for the built-in ones */
    char **text;        /* per account */
    double *num;        /* per account (NAN when empty); numbers, dates (microseconds), booleans */
};

struct ctx {
    const kz_engine *e;
    kz_day obs;
    struct attr *attrs;
    size_t nattrs;
    kz_field_def *defs;
    size_t ndefs;
    kz_store *st;
};

static char *dup_value(const kz_value *v)
{
    if (v->kind != KZ_VTEXT || v->n == 0)
        return NULL;
    return strndup(v->s, v->n);
}

static int new_attr(struct ctx *c, const char *name, kz_field_type type, struct attr **out)
{
    struct attr *a = &c->attrs[c->nattrs];
    a->name = name;
    a->type = type;
    a->text = calloc(c->e->naccounts ? c->e->naccounts : 1, sizeof *a->text);
    a->num = malloc((c->e->naccounts ? c->e->naccounts : 1) * sizeof *a->num);
    if (!a->text || !a->num) {
        free(a->text);
        free(a->num);
        return kz_error_oom();
    }
    for (size_t i = 0; i < c->e->naccounts; i++)
        a->num[i] = NAN;
    c->nattrs++;
    *out = a;
    return KZ_OK;
}

static const char *const builtin[] = { "account_id", "name", "domain", "industry", "owner" };

static int on_account(void *vctx, int64_t id, const kz_value *row)
{
    struct ctx *c = vctx;
    (void)id;
    int64_t a = kz_engine_find_account(c->e, row[KZ_ACCOUNT_KEY].s, row[KZ_ACCOUNT_KEY].n);
    if (a < 0)
        return KZ_OK;
    static const int cols[] = { KZ_ACCOUNT_KEY, KZ_ACCOUNT_NAME, KZ_ACCOUNT_DOMAIN, KZ_ACCOUNT_INDUSTRY,
                                KZ_ACCOUNT_OWNER };
    for (size_t k = 0; k < 5; k++) {
        c->attrs[k].text[a] = dup_value(&row[cols[k]]);
        if (row[cols[k]].kind == KZ_VTEXT && row[cols[k]].n && !c->attrs[k].text[a])
            return kz_error_oom();
    }
    /* custom fields */
    if (c->ndefs) {
        kz_value vals[256];
        int rc = kz_store_field_values(c->st, id, c->defs, c->ndefs, vals);
        if (rc)
            return rc;
        for (size_t k = 0; k < c->ndefs; k++) {
            struct attr *at = &c->attrs[6 + k];
            const kz_value *v = &vals[k];
            char buf[64];
            if (v->kind == KZ_VNULL)
                continue;
            if (at->type == KZ_FIELD_TEXT) {
                at->text[a] = dup_value(v);
                continue;
            }
            double x = v->kind == KZ_VREAL ? v->d : (double)v->i;
            at->num[a] = x;
            if (at->type == KZ_FIELD_NUMBER)
                kz_format_double(buf, x);
            else if (at->type == KZ_FIELD_BOOLEAN)
                snprintf(buf, sizeof buf, "%s", x != 0 ? "true" : "false");
            else {
                kz_time t = (kz_time)llround(x);
                if (t % KZ_USEC_PER_DAY == 0)
                    kz_format_date(buf, kz_time_day(t));
                else
                    kz_format_time(buf, t);
            }
            at->text[a] = strdup(buf);
            if (!at->text[a])
                return kz_error_oom();
        }
    }
    return KZ_OK;
}

static int load_attrs(struct ctx *c)
{
    int rc = kz_store_fields(c->st, &c->defs, &c->ndefs);
    if (rc)
        return rc;
    if (c->ndefs > 256)
        return kz_error_set(KZ_ETOOBIG, "more than 256 custom fields");
    c->attrs = calloc(6 + c->ndefs, sizeof *c->attrs);
    if (!c->attrs)
        return kz_error_oom();
    struct attr *a;
    for (size_t k = 0; k < 5; k++)
        if ((rc = new_attr(c, builtin[k], KZ_FIELD_TEXT, &a)))
            return rc;
    struct attr *plan;
    if ((rc = new_attr(c, "plan", KZ_FIELD_TEXT, &plan)))
        return rc;
    for (size_t k = 0; k < c->ndefs; k++)
        if ((rc = new_attr(c, c->defs[k].name, c->defs[k].type, &a)))
            return rc;
    if ((rc = kz_store_each(c->st, KZ_ENT_ACCOUNT, on_account, c)))
        return rc;
    /* the plan on the observation day (kz_engine_plan_on) */
    for (uint32_t i = 0; i < c->e->naccounts; i++) {
        int id = kz_engine_plan_on(c->e, i, c->obs);
        if (!id)
            continue;
        plan->text[i] = strdup(c->e->plans[id]);
        if (!plan->text[i])
            return kz_error_oom();
    }
    return KZ_OK;
}

static struct attr *find_attr(struct ctx *c, const char *name)
{
    for (size_t k = 0; k < c->nattrs; k++)
        if (strcmp(c->attrs[k].name, name) == 0)
            return &c->attrs[k];
    return NULL;
}

static int unknown_attr(struct ctx *c, const char *name)
{
    char list[1024];
    size_t n = 0;
    for (size_t k = 0; k < c->nattrs && n + 2 < sizeof list; k++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k ? ", " : "", c->attrs[k].name);
    return kz_error_set(KZ_EINVALID, "'%s' is not an attribute of accounts (one of: %s)", name, list);
}

enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

/* Applies "attr OP value" to mask (clearing the accounts that fail). */
static int apply_filter(struct ctx *c, const char *spec, uint8_t *mask)
{
    static const struct {
        const char *s;
        int op;
    } ops[] = { { "!=", OP_NE }, { "<=", OP_LE }, { ">=", OP_GE }, { "=", OP_EQ }, { "<", OP_LT }, { ">", OP_GT } };
    const char *at = NULL;
    int op = -1;
    size_t oplen = 0;
    for (const char *p = spec; *p && !at; p++)
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
            if (strncmp(p, ops[k].s, strlen(ops[k].s)) == 0) {
                at = p;
                op = ops[k].op;
                oplen = strlen(ops[k].s);
                break;
            }
    if (!at || at == spec)
        return kz_error_set(KZ_EINVALID, "filter '%s' is not ATTRIBUTE=VALUE (or != < <= > >=)", spec);
    /* "plan = pro" reads as "plan=pro": spaces around the operator are not part of the name or the value */
    const char *end = at;
    while (end > spec && end[-1] == ' ')
        end--;
    char name[128];
    size_t nl = (size_t)(end - spec);
    if (nl == 0)
        return kz_error_set(KZ_EINVALID, "filter '%s' is not ATTRIBUTE=VALUE (or != < <= > >=)", spec);
    if (nl >= sizeof name)
        return kz_error_set(KZ_EINVALID, "filter '%s': attribute name too long", spec);
    memcpy(name, spec, nl);
    name[nl] = '\0';
    const char *value = at + oplen;
    while (*value == ' ')
        value++;
    struct attr *a = find_attr(c, name);
    if (!a)
        return unknown_attr(c, name);
    double want = NAN;
    int numeric = a->type == KZ_FIELD_NUMBER || a->type == KZ_FIELD_DATE;
    if (a->type == KZ_FIELD_NUMBER && kz_parse_double(&want, value, strlen(value)))
        return kz_error_prefix(KZ_EINVALID, "filter '%s': %s is a number field", spec, name);
    if (a->type == KZ_FIELD_DATE) {
        kz_time t;
        if (kz_parse_time(&t, NULL, value, strlen(value)))
            return kz_error_prefix(KZ_EINVALID, "filter '%s': %s is a date field", spec, name);
        want = (double)t;
    }
    if (a->type == KZ_FIELD_BOOLEAN) {
        int b;
        if (kz_parse_bool(&b, value, strlen(value)))
            return kz_error_prefix(KZ_EINVALID, "filter '%s': %s is a boolean field", spec, name);
        want = b;
        numeric = 1;
    }
    if (!numeric && op != OP_EQ && op != OP_NE)
        return kz_error_set(KZ_EINVALID, "filter '%s': %s is text; only = and != compare it", spec, name);
    if (a->type == KZ_FIELD_BOOLEAN && op != OP_EQ && op != OP_NE)
        return kz_error_set(KZ_EINVALID, "filter '%s': %s is a boolean; only = and != compare it", spec, name);
    for (size_t i = 0; i < c->e->naccounts; i++) {
        int pass;
        if (numeric) {
            double x = a->num[i];
            if (isnan(x)) {
                pass = op == OP_NE; /* an empty value differs from every value */
            } else {
                switch (op) {
                case OP_EQ: pass = x == want; break;
                case OP_NE: pass = x != want; break;
                case OP_LT: pass = x < want; break;
                case OP_LE: pass = x <= want; break;
                case OP_GT: pass = x > want; break;
                default: pass = x >= want; break;
                }
            }
        } else {
            const char *x = a->text[i] ? a->text[i] : "";
            pass = (strcmp(x, value) == 0) == (op == OP_EQ);
        }
        if (!pass)
            mask[i] = 0;
    }
    return KZ_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int make_groups(struct ctx *c, kz_segments *s, const char *by)
{
    struct attr *a = find_attr(c, by);
    if (!a)
        return unknown_attr(c, by);
    size_t n = c->e->naccounts;
    char **vals = malloc((n ? n : 1) * sizeof *vals);
    if (!vals)
        return kz_error_oom();
    size_t nv = 0;
    for (size_t i = 0; i < n; i++)
        if (!s->filter || s->filter[i])
            vals[nv++] = a->text[i] ? a->text[i] : (char *)"(none)";
    if (nv > 1)
        qsort(vals, nv, sizeof *vals, cmp_str);
    size_t ng = 0;
    for (size_t i = 0; i < nv; i++)
        if (i == 0 || strcmp(vals[i], vals[i - 1]) != 0)
            vals[ng++] = vals[i];
    s->names = calloc(ng ? ng : 1, sizeof *s->names);
    s->masks = calloc(ng ? ng : 1, sizeof *s->masks);
    int rc = s->names && s->masks ? KZ_OK : kz_error_oom();
    for (size_t g = 0; g < ng && !rc; g++) {
        s->names[g] = strdup(vals[g]);
        s->masks[g] = calloc(n ? n : 1, 1);
        if (!s->names[g] || !s->masks[g])
            rc = kz_error_oom();
        s->ngroups = g + 1;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        if (s->filter && !s->filter[i])
            continue;
        const char *v = a->text[i] ? a->text[i] : "(none)";
        size_t lo = 0, hi = ng; /* the names are sorted */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            int cc = strcmp(s->names[mid], v);
            if (cc == 0) {
                lo = mid;
                break;
            }
            if (cc < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        s->masks[lo][i] = 1;
    }
    free(vals);
    return rc;
}

static void ctx_free(struct ctx *c)
{
    for (size_t k = 0; k < c->nattrs; k++) {
        for (size_t i = 0; c->attrs[k].text && i < c->e->naccounts; i++)
            free(c->attrs[k].text[i]);
        free(c->attrs[k].text);
        free(c->attrs[k].num);
    }
    free(c->attrs);
    free(c->defs);
}

int kz_attrs_load(kz_attrs **out, kz_store *st, const kz_engine *e)
{
    struct ctx c;
    kz_attrs *s = calloc(1, sizeof *s);
    int rc;
    *out = NULL;
    memset(&c, 0, sizeof c);
    if (!s)
        return kz_error_oom();
    c.e = e;
    c.obs = kz_engine_last_day(e, NULL);
    c.st = st;
    if ((rc = load_attrs(&c)))
        goto done;
    s->naccounts = e->naccounts;
    s->cols = calloc(c.nattrs, sizeof *s->cols);
    if (!s->cols) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t k = 0; k < c.nattrs; k++) {
        struct attr *a = &c.attrs[k];
        /* identifiers and the plan (which changes over time) are not attributes here */
        if (strcmp(a->name, "account_id") == 0 || strcmp(a->name, "name") == 0 || strcmp(a->name, "domain") == 0 ||
            strcmp(a->name, "plan") == 0)
            continue;
        kz_attr_col *col = &s->cols[s->n];
        col->name = strdup(a->name);
        if (!col->name) {
            rc = kz_error_oom();
            goto done;
        }
        s->n++;
        col->numeric = a->type == KZ_FIELD_NUMBER || a->type == KZ_FIELD_BOOLEAN || a->type == KZ_FIELD_DATE;
        col->is_date = a->type == KZ_FIELD_DATE;
        col->is_bool = a->type == KZ_FIELD_BOOLEAN;
        col->text = a->text; /* moved: the context no longer frees them */
        col->num = a->num;
        a->text = NULL;
        a->num = NULL;
    }
done:
    ctx_free(&c);
    if (rc) {
        kz_attrs_free(s);
        return rc;
    }
    *out = s;
    return KZ_OK;
}

void kz_attrs_free(kz_attrs *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->n; k++) {
        for (size_t i = 0; s->cols[k].text && i < s->naccounts; i++)
            free(s->cols[k].text[i]);
        free(s->cols[k].text);
        free(s->cols[k].num);
        free(s->cols[k].name);
    }
    free(s->cols);
    free(s);
}

int kz_segments_build(kz_segments **out, kz_store *st, const kz_engine *e, kz_day obs, const char *const *filters,
                      size_t nfilters, const char *segment_by)
{
    struct ctx c;
    kz_segments *s = calloc(1, sizeof *s);
    int rc = KZ_OK;
    *out = NULL;
    memset(&c, 0, sizeof c);
    if (!s)
        return kz_error_oom();
    c.e = e;
    c.obs = obs;
    c.st = st;
    if (!nfilters && !segment_by)
        goto done;
    if ((rc = load_attrs(&c)))
        goto done;
    if (nfilters) {
        s->filter = malloc(e->naccounts ? e->naccounts : 1);
        if (!s->filter) {
            rc = kz_error_oom();
            goto done;
        }
        memset(s->filter, 1, e->naccounts ? e->naccounts : 1);
        for (size_t k = 0; k < nfilters && !rc; k++)
            rc = apply_filter(&c, filters[k], s->filter);
    }
    if (!rc && segment_by)
        rc = make_groups(&c, s, segment_by);
done:
    ctx_free(&c);
    if (rc) {
        kz_segments_free(s);
        return rc;
    }
    *out = s;
    return KZ_OK;
}

void kz_segments_free(kz_segments *s)
{
    if (!s)
        return;
    for (size_t g = 0; g < s->ngroups; g++) {
        free(s->names[g]);
        free(s->masks[g]);
    }
    free(s->names);
    free(s->masks);
    free(s->filter);
    free(s);
}

int kz_metric_segmented(kz_table **out, kz_metric_fn fn, const kz_engine *e, const kz_metric_opts *o,
                        const kz_segments *s)
{
    kz_metric_opts oo = *o;
    *out = NULL;
    if (!s || !s->ngroups) {
        oo.mask = s ? s->filter : NULL;
        return fn(out, e, &oo);
    }
    uint8_t *mask = malloc(e->naccounts ? e->naccounts : 1);
    kz_table *all = NULL;
    int rc = mask ? KZ_OK : kz_error_oom();
    for (size_t g = 0; g < s->ngroups && !rc; g++) {
        kz_table *t = NULL;
        for (size_t i = 0; i < e->naccounts; i++)
            mask[i] = s->masks[g][i] && (!s->filter || s->filter[i]);
        oo.mask = mask;
        if ((rc = fn(&t, e, &oo)))
            break;
        if (!all) {
            size_t nc = kz_table_cols(t);
            kz_tcol *cols = malloc((nc + 1) * sizeof *cols);
            if (!cols) {
                kz_table_free(t);
                rc = kz_error_oom();
                break;
            }
            cols[0] = (kz_tcol){ "segment", KZ_T_TEXT };
            for (size_t k = 0; k < nc; k++)
                cols[k + 1] = *kz_table_col(t, k);
            all = kz_table_new(cols, nc + 1);
            free(cols);
            if (!all) {
                kz_table_free(t);
                rc = KZ_ENOMEM;
                break;
            }
        }
        size_t nc = kz_table_cols(t);
        if (nc + 1 != kz_table_cols(all)) {
            kz_table_free(t);
            rc = kz_error_set(KZ_ERROR, "segment '%s': the report's columns differ between segments", s->names[g]);
            break;
        }
        for (size_t r = 0; r < kz_table_rows(t) && !rc; r++) {
            kz_tcell *row = kz_table_add_row(all);
            if (!row || kz_cell_text(all, &row[0], s->names[g], strlen(s->names[g]))) {
                rc = KZ_ENOMEM;
                break;
            }
            for (size_t k = 0; k < nc; k++) {
                const kz_tcell *src = kz_table_cell(t, r, k);
                if (kz_table_col(t, k)->type == KZ_T_TEXT && !src->null) {
                    if (kz_cell_text(all, &row[k + 1], src->s, (size_t)src->i)) {
                        rc = KZ_ENOMEM;
                        break;
                    }
                } else {
                    row[k + 1] = *src;
                }
            }
        }
        kz_table_free(t);
    }
    free(mask);
    if (rc) {
        kz_table_free(all);
        return rc;
    }
    *out = all;
    return KZ_OK;
}
