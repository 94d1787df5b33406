/*
 * export.c - rows to CSV or NDJSON in the import format (export.h).
 */
#include "ingest/export.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/csvw.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"
#include "core/time.h"
#include "store/evblock.h"

#define FLUSH_AT (1u << 20)

struct out {
    FILE *f;
    kz_buf b;
    int ndjson;
    int rc;
    /* the record being written */
    int first;  /* CSV: no field written yet */
    kz_jw jw;   /* NDJSON */
};

static int flush_out(struct out *o, int force)
{
    if (o->rc || (!force && o->b.len < FLUSH_AT) || !o->f)
        return o->rc; /* without a file, the caller takes the buffer */
    if (o->b.len && fwrite(o->b.data, 1, o->b.len, o->f) != o->b.len)
        o->rc = kz_error_set(KZ_EIO, "write error: %s", strerror(errno));
    kz_buf_reset(&o->b);
    return o->rc;
}

static void rec_begin(struct out *o)
{
    o->first = 1;
    if (o->ndjson) {
        kz_jw_init(&o->jw, &o->b);
        kz_jw_obj(&o->jw);
    }
}

static void rec_end(struct out *o)
{
    if (o->ndjson) {
        kz_jw_end(&o->jw);
        if (!o->rc && kz_jw_error(&o->jw))
            o->rc = kz_error_set(KZ_ETOOBIG, "a row is too large to write");
    }
    if (!o->rc && kz_buf_putc(&o->b, '\n'))
        o->rc = KZ_ENOMEM;
    flush_out(o, 0);
}

/* One value: text (NULL = empty/absent); json_raw: write as a JSON number,
 * boolean or object instead of a string. */
static void put(struct out *o, const char *name, const char *s, size_t n, int json_raw)
{
    if (o->rc)
        return;
    if (o->ndjson) {
        if (!s)
            return; /* absent keys mean empty */
        kz_jw_key(&o->jw, name);
        if (json_raw)
            kz_jw_raw(&o->jw, s, n);
        else
            kz_jw_strn(&o->jw, s, n);
        return;
    }
    if (kz_csvw_field(&o->b, s ? s : "", s ? n : 0, o->first))
        o->rc = KZ_ENOMEM;
    o->first = 0;
}

static void header(struct out *o, const char *const *names, size_t n)
{
    if (o->ndjson)
        return;
    o->first = 1;
    for (size_t i = 0; i < n; i++)
        put(o, names[i], names[i], strlen(names[i]), 0);
    if (!o->rc && kz_buf_putc(&o->b, '\n'))
        o->rc = KZ_ENOMEM;
}

/* ---- entities ---------------------------------------------------------------- */

struct ent_ctx {
    struct out *o;
    kz_store *st;
    kz_entity e;
    const kz_store_column *cols;
    size_t ncols;
    kz_field_def *defs;
    size_t ndefs;
    kz_value *fvals;
    int derived; /* tickets: the classified category and its source too */
};

static void put_value(struct out *o, const kz_store_column *col, const kz_value *v)
{
    char buf[64];
    size_t n;
    if (v->kind == KZ_VNULL) {
        put(o, col->name, NULL, 0, 0);
        return;
    }
    switch (col->type) {
    case KZ_COL_KEY:
    case KZ_COL_TEXT:
    case KZ_COL_REF:
        put(o, col->name, v->s, v->n, 0);
        return;
    case KZ_COL_TIME:
        /* midnight UTC reads back the same as a plain date, and reads better */
        n = v->i % KZ_USEC_PER_DAY == 0 ? kz_format_date(buf, kz_time_day(v->i)) : kz_format_time(buf, v->i);
        put(o, col->name, buf, n, 0);
        return;
    case KZ_COL_DAY:
        n = kz_format_date(buf, (kz_day)v->i);
        put(o, col->name, buf, n, 0);
        return;
    case KZ_COL_MONTH:
        n = kz_format_month(buf, (kz_month)v->i);
        put(o, col->name, buf, n, 0);
        return;
    case KZ_COL_MONEY:
        n = kz_format_fixed_min(buf, v->i, KZ_MONEY_SCALE, 2);
        put(o, col->name, buf, n, 1);
        return;
    case KZ_COL_INT:
        n = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)v->i);
        put(o, col->name, buf, n, 1);
        return;
    case KZ_COL_BOOL:
        put(o, col->name, v->i ? "true" : "false", v->i ? 4 : 5, 1);
        return;
    }
}

static void put_custom(struct out *o, const kz_field_def *d, const kz_value *v)
{
    char buf[64];
    size_t n;
    if (v->kind == KZ_VNULL) {
        put(o, d->name, NULL, 0, 0);
        return;
    }
    double x = v->kind == KZ_VREAL ? v->d : (double)v->i;
    switch (d->type) {
    case KZ_FIELD_NUMBER:
        n = kz_format_double(buf, x);
        put(o, d->name, buf, n, 1);
        return;
    case KZ_FIELD_BOOLEAN:
        put(o, d->name, x != 0 ? "true" : "false", x != 0 ? 4 : 5, 1);
        return;
    case KZ_FIELD_DATE: {
        kz_time t = (kz_time)llround(x);
        n = t % KZ_USEC_PER_DAY == 0 ? kz_format_date(buf, kz_time_day(t)) : kz_format_time(buf, t);
        put(o, d->name, buf, n, 0);
        return;
    }
    case KZ_FIELD_TEXT:
        put(o, d->name, v->kind == KZ_VTEXT ? v->s : "", v->kind == KZ_VTEXT ? v->n : 0, 0);
        return;
    }
}

static int on_row(void *vctx, int64_t id, const kz_value *row)
{
    struct ent_ctx *c = vctx;
    struct out *o = c->o;
    rec_begin(o);
    for (size_t i = 0; i < c->ncols; i++) {
        if (c->e == KZ_ENT_TICKET && i == KZ_TICKET_CATEGORY_SOURCE) {
            if (c->derived)
                put(o, "category_source", row[i].kind == KZ_VTEXT ? row[i].s : NULL, row[i].n, 0);
            continue;
        }
        kz_value v = row[i];
        /* a classified category is left for the importer to classify again */
        if (c->e == KZ_ENT_TICKET && i == KZ_TICKET_CATEGORY && !c->derived && row[KZ_TICKET_CATEGORY_SOURCE].kind == KZ_VTEXT &&
            kz_streq(row[KZ_TICKET_CATEGORY_SOURCE].s, row[KZ_TICKET_CATEGORY_SOURCE].n, "classified"))
            v = kz_vnull();
        /* spend without a channel is stored with channel '' */
        if (c->e == KZ_ENT_SPEND && i == KZ_SPEND_CHANNEL && v.kind == KZ_VTEXT && v.n == 0)
            v = kz_vnull();
        put_value(o, &c->cols[i], &v);
    }
    if (c->ndefs) {
        int rc = kz_store_field_values(c->st, id, c->defs, c->ndefs, c->fvals);
        if (rc)
            return rc;
        for (size_t k = 0; k < c->ndefs; k++)
            put_custom(o, &c->defs[k], &c->fvals[k]);
    }
    rec_end(o);
    return o->rc;
}

int kz_export_row_json(kz_store *st, kz_entity e, int64_t id, const kz_value *row, int derived, kz_buf *out)
{
    struct out o;
    struct ent_ctx c;
    int rc = KZ_OK;
    memset(&o, 0, sizeof o);
    memset(&c, 0, sizeof c);
    kz_buf_init(&o.b, KZ_BUF_UNLIMITED);
    o.ndjson = 1;
    c.o = &o;
    c.st = st;
    c.e = e;
    c.derived = derived;
    c.cols = kz_store_columns(e, &c.ncols);
    if (e == KZ_ENT_ACCOUNT && (rc = kz_store_fields(st, &c.defs, &c.ndefs)) == KZ_OK &&
        !(c.fvals = calloc(c.ndefs ? c.ndefs : 1, sizeof *c.fvals)))
        rc = kz_error_oom();
    if (!rc)
        rc = on_row(&c, id, row);
    if (!rc && o.b.len && o.b.data[o.b.len - 1] == '\n')
        o.b.len--;
    if (!rc)
        rc = kz_buf_append(out, o.b.data, o.b.len);
    kz_buf_free(&o.b);
    free(c.defs);
    free(c.fvals);
    return rc;
}

static int export_entity(kz_store *st, kz_entity e, struct out *o)
{
    struct ent_ctx c;
    const char *names[KZ_STORE_MAX_COLS + 256];
    size_t nn = 0;
    int rc;

    memset(&c, 0, sizeof c);
    c.o = o;
    c.st = st;
    c.e = e;
    c.cols = kz_store_columns(e, &c.ncols);
    if (e == KZ_ENT_ACCOUNT) {
        rc = kz_store_fields(st, &c.defs, &c.ndefs);
        if (rc)
            return rc;
        if (c.ndefs > 256) {
            free(c.defs);
            return kz_error_set(KZ_ETOOBIG, "more than 256 custom fields");
        }
        c.fvals = calloc(c.ndefs ? c.ndefs : 1, sizeof *c.fvals);
        if (!c.fvals) {
            free(c.defs);
            return kz_error_oom();
        }
    }
    for (size_t i = 0; i < c.ncols; i++)
        if (!(e == KZ_ENT_TICKET && i == KZ_TICKET_CATEGORY_SOURCE))
            names[nn++] = c.cols[i].name;
    for (size_t k = 0; k < c.ndefs; k++)
        names[nn++] = c.defs[k].name;
    header(o, names, nn);
    rc = o->rc ? o->rc : kz_store_each(st, e, on_row, &c);
    free(c.defs);
    free(c.fvals);
    return rc;
}

/* ---- events --------------------------------------------------------------------- */

struct ev_ctx {
    struct out *o;
    char **users, **names;
    size_t nusers, nnames;
    struct {
        const char *p;
        size_t n;
    } *accounts;
    size_t naccounts;
};

static const char *const event_cols[] = { "ts", "account_id", "user_id", "event", "value", "event_id", "properties" };

static int on_events(void *vctx, const kz_evcols *ev)
{
    struct ev_ctx *c = vctx;
    struct out *o = c->o;
    for (size_t i = 0; i < ev->n && !o->rc; i++) {
        char tbuf[KZ_TIME_BUF], vbuf[KZ_DOUBLE_BUF];
        size_t n = kz_format_time(tbuf, ev->ts[i]);
        rec_begin(o);
        put(o, event_cols[0], tbuf, n, 0);
        int known = ev->account[i] < c->naccounts && c->accounts[ev->account[i]].p;
        put(o, event_cols[1], known ? c->accounts[ev->account[i]].p : "", known ? c->accounts[ev->account[i]].n : 0, 0);
        const char *u = ev->user[i] && ev->user[i] < c->nusers ? c->users[ev->user[i]] : NULL;
        put(o, event_cols[2], u, u ? strlen(u) : 0, 0);
        const char *nm = ev->event[i] < c->nnames ? c->names[ev->event[i]] : NULL;
        put(o, event_cols[3], nm ? nm : "", nm ? strlen(nm) : 0, 0);
        if (isnan(ev->value[i])) {
            put(o, event_cols[4], NULL, 0, 0);
        } else {
            n = kz_format_double(vbuf, ev->value[i]);
            put(o, event_cols[4], vbuf, n, 1);
        }
        size_t ln;
        const char *id = kz_strcol_get(&ev->event_id, i, &ln);
        put(o, event_cols[5], id, ln, 0);
        const char *props = kz_strcol_get(&ev->props, i, &ln);
        put(o, event_cols[6], props, ln, 1);
        rec_end(o);
    }
    return o->rc;
}

static int export_events(kz_store *st, struct out *o)
{
    struct ev_ctx c;
    kz_strmap *acc = NULL;
    int rc;

    memset(&c, 0, sizeof c);
    c.o = o;
    header(o, event_cols, 7);
    acc = kz_strmap_new(1024);
    if (!acc)
        return KZ_ENOMEM;
    if ((rc = kz_store_keys(st, KZ_ENT_ACCOUNT, acc)) || (rc = kz_store_dict_array(st, KZ_DICT_USERS, &c.users, &c.nusers)) ||
        (rc = kz_store_dict_array(st, KZ_DICT_EVENT_NAMES, &c.names, &c.nnames)))
        goto done;
    /* account ids -> keys */
    {
        const char *k;
        size_t kn;
        uint32_t v;
        for (size_t it = 0; kz_strmap_next(acc, &it, &k, &kn, &v);)
            if (v >= c.naccounts)
                c.naccounts = (size_t)v + 1;
        c.accounts = calloc(c.naccounts ? c.naccounts : 1, sizeof *c.accounts);
        if (!c.accounts) {
            rc = kz_error_oom();
            goto done;
        }
        for (size_t it = 0; kz_strmap_next(acc, &it, &k, &kn, &v);) {
            c.accounts[v].p = k; /* borrowed from the map, which is not written again */
            c.accounts[v].n = kn;
        }
    }
    rc = kz_events_walk(st, on_events, &c, NULL);
done:
    free(c.accounts);
    kz_store_dict_free(c.users);
    kz_store_dict_free(c.names);
    kz_strmap_free(acc);
    return rc;
}

int kz_export(kz_store *st, kz_import_kind kind, kz_format fmt, FILE *f)
{
    struct out o;
    memset(&o, 0, sizeof o);
    o.f = f;
    o.ndjson = fmt == KZ_FMT_NDJSON;
    kz_buf_init(&o.b, KZ_BUF_UNLIMITED);
    const kz_import_schema *sc = kz_import_schema_of(kind);
    int rc = sc->entity < 0 ? export_events(st, &o) : export_entity(st, (kz_entity)sc->entity, &o);
    if (!rc)
        rc = flush_out(&o, 1);
    if (!rc && fflush(f) != 0)
        rc = kz_error_set(KZ_EIO, "write error: %s", strerror(errno));
    kz_buf_free(&o.b);
    return rc;
}
