/*
 * store.c - the backend-independent half of store.h: column tables, argument
 * checks and dispatch to the backend's function table.
 */
#include "store/store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "store/backend.h"

static const kz_store_column account_cols[] = {
    { "account_id", KZ_COL_KEY }, { "name", KZ_COL_TEXT },  { "domain", KZ_COL_TEXT },
    { "industry", KZ_COL_TEXT },  { "owner", KZ_COL_TEXT }, { "created_at", KZ_COL_TIME },
};
static const kz_store_column contact_cols[] = {
    { "contact_id", KZ_COL_KEY }, { "account_id", KZ_COL_REF }, { "email", KZ_COL_TEXT },
    { "name", KZ_COL_TEXT },      { "role", KZ_COL_TEXT },      { "champion", KZ_COL_BOOL },
};
static const kz_store_column sub_cols[] = {
    { "subscription_id", KZ_COL_KEY }, { "account_id", KZ_COL_REF }, { "plan", KZ_COL_TEXT },
    { "mrr", KZ_COL_MONEY },           { "quantity", KZ_COL_INT },   { "start_date", KZ_COL_DAY },
    { "end_date", KZ_COL_DAY },
};
static const kz_store_column ticket_cols[] = {
    { "ticket_id", KZ_COL_KEY },         { "account_id", KZ_COL_REF },
    { "opened_at", KZ_COL_TIME },        { "first_response_at", KZ_COL_TIME },
    { "resolved_at", KZ_COL_TIME },      { "category", KZ_COL_TEXT },
    { "category_source", KZ_COL_TEXT },  { "priority", KZ_COL_TEXT },
    { "subject", KZ_COL_TEXT },          { "body", KZ_COL_TEXT },
};
static const kz_store_column nps_cols[] = {
    { "response_id", KZ_COL_KEY }, { "account_id", KZ_COL_REF }, { "contact_id", KZ_COL_REF },
    { "ts", KZ_COL_TIME },         { "score", KZ_COL_INT },      { "comment", KZ_COL_TEXT },
};
static const kz_store_column activity_cols[] = {
    { "activity_id", KZ_COL_KEY }, { "account_id", KZ_COL_REF }, { "ts", KZ_COL_TIME },
    { "kind", KZ_COL_TEXT },       { "direction", KZ_COL_TEXT }, { "subject", KZ_COL_TEXT },
    { "body", KZ_COL_TEXT },       { "author", KZ_COL_TEXT },
};
static const kz_store_column spend_cols[] = {
    { "month", KZ_COL_MONTH },
    { "channel", KZ_COL_TEXT },
    { "amount", KZ_COL_MONEY },
};

static const struct {
    const char *name;
    const kz_store_column *cols;
    size_t ncols;
} entities[KZ_ENT_COUNT] = {
    [KZ_ENT_ACCOUNT] = { "accounts", account_cols, KZ_ACCOUNT_NCOLS },
    [KZ_ENT_CONTACT] = { "contacts", contact_cols, KZ_CONTACT_NCOLS },
    [KZ_ENT_SUBSCRIPTION] = { "subscriptions", sub_cols, KZ_SUB_NCOLS },
    [KZ_ENT_TICKET] = { "tickets", ticket_cols, KZ_TICKET_NCOLS },
    [KZ_ENT_NPS] = { "nps", nps_cols, KZ_NPS_NCOLS },
    [KZ_ENT_ACTIVITY] = { "activities", activity_cols, KZ_ACT_NCOLS },
    [KZ_ENT_SPEND] = { "spend", spend_cols, KZ_SPEND_NCOLS },
};

_Static_assert(sizeof account_cols / sizeof account_cols[0] == KZ_ACCOUNT_NCOLS, "account columns");
_Static_assert(sizeof contact_cols / sizeof contact_cols[0] == KZ_CONTACT_NCOLS, "contact columns");
_Static_assert(sizeof sub_cols / sizeof sub_cols[0] == KZ_SUB_NCOLS, "subscription columns");
_Static_assert(sizeof ticket_cols / sizeof ticket_cols[0] == KZ_TICKET_NCOLS, "ticket columns");
_Static_assert(sizeof nps_cols / sizeof nps_cols[0] == KZ_NPS_NCOLS, "nps columns");
_Static_assert(sizeof activity_cols / sizeof activity_cols[0] == KZ_ACT_NCOLS, "activity columns");
_Static_assert(sizeof spend_cols / sizeof spend_cols[0] == KZ_SPEND_NCOLS, "spend columns");

const kz_store_column *kz_store_columns(kz_entity e, size_t *n)
{
    *n = entities[e].ncols;
    return entities[e].cols;
}

const char *kz_entity_name(kz_entity e)
{
    return entities[e].name;
}

int kz_value_eq(const kz_value *a, const kz_value *b)
{
    if (a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case KZ_VNULL: return 1;
    case KZ_VTEXT: return a->n == b->n && (a->n == 0 || memcmp(a->s, b->s, a->n) == 0);
    case KZ_VINT: return a->i == b->i;
    case KZ_VREAL: return a->d == b->d;
    }
    return 0;
}

const char *kz_field_type_name(kz_field_type t)
{
    static const char *names[] = { "number", "date", "text", "boolean" };
    return names[t];
}

int kz_field_type_parse(kz_field_type *out, const char *s)
{
    for (int t = KZ_FIELD_NUMBER; t <= KZ_FIELD_BOOLEAN; t++) {
        if (strcmp(s, kz_field_type_name((kz_field_type)t)) == 0) {
            *out = (kz_field_type)t;
            return KZ_OK;
        }
    }
    return kz_error_set(KZ_EINVALID, "unknown field type '%s' (number, date, text or boolean)", s);
}

int kz_store_open(kz_store **out, const char *location, int flags)
{
    *out = NULL;
    if (!location || !location[0])
        return kz_error_set(KZ_EINVALID, "no database given (use --db PATH or KIZUNA_DB)");
    if (strncmp(location, "postgres://", 11) == 0 || strncmp(location, "postgresql://", 13) == 0)
        return kz_error_set(KZ_EINVALID, "the PostgreSQL backend is not available in this build");
    return kz_sqlite_open(out, location, flags);
}

void kz_store_close(kz_store *st)
{
    if (st)
        st->ops->close(st);
}

int kz_store_schema_version(kz_store *st, int *cur, int *latest)
{
    return st->ops->schema_version(st, cur, latest);
}

const char *kz_store_backend(const kz_store *st)
{
    return st->ops->name;
}

static int writable(kz_store *st)
{
    if (st->readonly)
        return kz_error_set(KZ_EINVALID, "the database was opened read-only");
    return KZ_OK;
}

int kz_store_begin(kz_store *st)
{
    if (st->in_snapshot)
        return kz_error_set(KZ_ECONFLICT, "a read snapshot is open");
    if (st->in_tx)
        return kz_error_set(KZ_ECONFLICT, "a transaction is already open");
    int rc = st->ops->begin(st);
    if (!rc)
        st->in_tx = 1;
    return rc;
}

int kz_store_commit(kz_store *st)
{
    if (!st->in_tx)
        return kz_error_set(KZ_ECONFLICT, "no transaction is open");
    int rc = st->ops->commit(st);
    if (!rc)
        st->in_tx = 0;
    return rc;
}

int kz_store_rollback(kz_store *st)
{
    if (!st->in_tx)
        return KZ_OK;
    st->in_tx = 0;
    return st->ops->rollback(st);
}

int kz_store_get(kz_store *st, kz_entity e, const kz_value *key, kz_row_fn fn, void *ctx)
{
    return st->ops->get(st, e, key, fn, ctx);
}

int kz_store_each_of_account(kz_store *st, kz_entity e, int64_t account_id, int64_t limit, kz_row_fn fn, void *ctx)
{
    if (e == KZ_ENT_SPEND)
        return kz_error_set(KZ_EINVALID, "spend belongs to no account");
    return st->ops->each_of_account(st, e, account_id, limit, fn, ctx);
}

int kz_store_delete(kz_store *st, kz_entity e, const kz_value *key)
{
    int rc = writable(st);
    return rc ? rc : st->ops->del(st, e, key);
}

int kz_store_snapshot_begin(kz_store *st, int *out_started)
{
    *out_started = 0;
    if (st->in_tx || st->in_snapshot)
        return KZ_OK; /* already reading one state */
    int rc = st->ops->snapshot_begin(st);
    if (!rc) {
        st->in_snapshot = 1;
        *out_started = 1;
    }
    return rc;
}

void kz_store_snapshot_end(kz_store *st, int started)
{
    if (!started || !st->in_snapshot)
        return;
    st->in_snapshot = 0;
    st->ops->snapshot_end(st);
}

/* What every row write checks first. */
static int row_writable(kz_store *st, kz_entity e, const kz_value *row)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if ((unsigned)e >= KZ_ENT_COUNT)
        return kz_error_set(KZ_EINVALID, "unknown entity");
    if (row[0].kind == KZ_VNULL)
        return kz_error_set(KZ_EINVALID, "%s: the key is missing", kz_entity_name(e));
    return KZ_OK;
}

int kz_store_upsert(kz_store *st, kz_entity e, const kz_value *row, uint64_t present, uint64_t defaults,
                    int64_t *out_id, kz_row_change *out_change)
{
    int rc = row_writable(st, e, row);
    return rc ? rc : st->ops->upsert(st, e, row, present, defaults, out_id, out_change);
}

int kz_store_insert(kz_store *st, kz_entity e, const kz_value *row, uint64_t present, int64_t *out_id)
{
    int rc = row_writable(st, e, row);
    return rc ? rc : st->ops->insert(st, e, row, present, out_id);
}

int kz_store_keys(kz_store *st, kz_entity e, kz_strmap *map)
{
    if (e != KZ_ENT_ACCOUNT && e != KZ_ENT_CONTACT)
        return kz_error_set(KZ_EINVALID, "keys are kept for accounts and contacts only");
    return st->ops->keys(st, e, map);
}

int kz_store_contact_account(kz_store *st, int64_t contact_id, int64_t *out_account)
{
    return st->ops->contact_account(st, contact_id, out_account);
}

int kz_store_count(kz_store *st, kz_entity e, int64_t *out)
{
    return st->ops->count(st, e, out);
}

int kz_store_each(kz_store *st, kz_entity e, kz_row_fn fn, void *ctx)
{
    return st->ops->each(st, e, fn, ctx);
}

int kz_store_fields(kz_store *st, kz_field_def **out, size_t *n)
{
    return st->ops->fields(st, out, n);
}

int kz_store_field_define(kz_store *st, const char *name, kz_field_type type, int64_t *out_id)
{
    int rc = writable(st);
    if (rc)
        return rc;
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof(((kz_field_def *)0)->name))
        return kz_error_set(KZ_EINVALID, "field name must be 1 to %zu bytes",
                            sizeof(((kz_field_def *)0)->name) - 1);
    return st->ops->field_define(st, name, type, out_id);
}

int kz_store_field_set(kz_store *st, int64_t account_id, int64_t field_id, const kz_value *v,
                       int *out_changed)
{
    int rc = writable(st);
    if (rc)
        return rc;
    return st->ops->field_set(st, account_id, field_id, v, out_changed);
}

int kz_store_field_values(kz_store *st, int64_t account_id, const kz_field_def *defs, size_t n,
                          kz_value *vals)
{
    return st->ops->field_values(st, account_id, defs, n, vals);
}

int kz_store_dict_load(kz_store *st, kz_dict d, kz_strmap *map, uint32_t *out_max)
{
    return st->ops->dict_load(st, d, map, out_max);
}

int kz_store_dict_add(kz_store *st, kz_dict d, uint32_t id, const char *key, size_t n,
                      int64_t account_id)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if (id == 0)
        return kz_error_set(KZ_EINVALID, "dictionary ids start at 1");
    return st->ops->dict_add(st, d, id, key, n, account_id);
}

int kz_store_dict_array(kz_store *st, kz_dict d, char ***out, size_t *out_n)
{
    return st->ops->dict_array(st, d, out, out_n);
}

int kz_store_block_put(kz_store *st, const kz_block_meta *meta, const void *data, size_t n,
                       int64_t *out_id)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if (meta->n_events <= 0 || meta->min_ts > meta->max_ts)
        return kz_error_set(KZ_EINVALID, "bad event block summary");
    return st->ops->block_put(st, meta, data, n, out_id);
}

int kz_store_block_list(kz_store *st, kz_time from, kz_time to, kz_block_meta **out, size_t *n)
{
    return st->ops->block_list(st, from, to, out, n);
}

int kz_store_block_get(kz_store *st, int64_t id, kz_buf *out)
{
    return st->ops->block_get(st, id, out);
}

int kz_store_block_replace(kz_store *st, int64_t id, const kz_block_meta *meta, const void *data, size_t n)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if (meta->n_events <= 0 || meta->min_ts > meta->max_ts)
        return kz_error_set(KZ_EINVALID, "bad event block summary");
    return st->ops->block_replace(st, id, meta, data, n);
}

int kz_store_block_delete(kz_store *st, int64_t id)
{
    int rc = writable(st);
    return rc ? rc : st->ops->block_delete(st, id);
}

int kz_store_block_set_ids(kz_store *st, int64_t id, int64_t n_ids)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if (n_ids < 0)
        return kz_error_set(KZ_EINVALID, "a negative count of ids");
    return st->ops->block_set_ids(st, id, n_ids);
}

int kz_store_event_count(kz_store *st, int64_t *out)
{
    return st->ops->event_count(st, out);
}

int kz_store_stats_get(kz_store *st, kz_day as_of, kz_store_stats *out)
{
    memset(out, 0, sizeof *out);
    out->as_of = as_of;
    return st->ops->stats_get(st, as_of, out);
}

int kz_store_import_log(kz_store *st, const kz_import_rec *rec)
{
    int rc = writable(st);
    if (rc)
        return rc;
    return st->ops->import_log(st, rec);
}

void kz_store_dict_free(char **arr)
{
    /* backends return the pointer array and the strings in one allocation */
    free(arr);
}

int kz_store_data_version(kz_store *st, int64_t *out)
{
    return st->ops->data_version(st, out);
}

int kz_store_touch(kz_store *st)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if (!st->in_tx)
        return kz_error_set(KZ_ECONFLICT, "kz_store_touch needs the writing transaction");
    return st->ops->touch(st);
}

const char *kz_store_location(const kz_store *st)
{
    return st->location ? st->location : "";
}

int kz_store_model_put(kz_store *st, const kz_model_rec *m, int64_t *out_id)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if (!m->kind || !m->name || !m->meta || !m->body)
        return kz_error_set(KZ_EINVALID, "a model needs a kind, a name, a description and a body");
    return st->ops->model_put(st, m, out_id);
}

int kz_store_model_latest(kz_store *st, const char *kind, const char *name, kz_model_rec **out)
{
    *out = NULL;
    return st->ops->model_latest(st, kind, name, out);
}

void kz_model_rec_free(kz_model_rec *m)
{
    if (!m)
        return;
    free((void *)m->kind);
    free((void *)m->name);
    free((void *)m->meta);
    free((void *)m->body);
    free(m);
}

int kz_store_predictions_put(kz_store *st, int64_t model_id, const kz_prediction *p, size_t n, kz_time computed_at)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if (st->in_tx)
        return kz_error_set(KZ_ECONFLICT, "kz_store_predictions_put runs its own transaction");
    for (size_t i = 0; i < n; i++)
        if (!(p[i].probability >= 0 && p[i].probability <= 1) || !p[i].drivers)
            return kz_error_set(KZ_EINVALID, "prediction %zu: a probability in [0, 1] and drivers are needed", i);
    return st->ops->predictions_put(st, model_id, p, n, computed_at);
}

int kz_store_predictions_each(kz_store *st, int64_t model_id, kz_prediction_fn fn, void *ctx)
{
    return st->ops->predictions_each(st, model_id, fn, ctx);
}

int kz_store_health_def_put(kz_store *st, const char *json, kz_time at, int64_t *out_version)
{
    int rc = writable(st);
    return rc ? rc : st->ops->health_def_put(st, json, at, out_version);
}

int kz_store_health_def_get(kz_store *st, int64_t version, int64_t *out_version, char **out_json)
{
    *out_json = NULL;
    return st->ops->health_def_get(st, version, out_version, out_json);
}

int kz_store_health_put(kz_store *st, const kz_health_row *rows, size_t n, kz_time computed_at)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if (st->in_tx)
        return kz_error_set(KZ_ECONFLICT, "kz_store_health_put runs its own transaction");
    for (size_t i = 0; i < n; i++)
        if (!(rows[i].score >= 0 && rows[i].score <= 100) || !rows[i].band || !rows[i].parts)
            return kz_error_set(KZ_EINVALID, "health row %zu: a score in [0, 100], a band and parts are needed", i);
    return st->ops->health_put(st, rows, n, computed_at);
}

int kz_store_health_each(kz_store *st, int64_t account_id, kz_day from, kz_day to, kz_health_row_fn fn, void *ctx)
{
    return st->ops->health_each(st, account_id, from, to, fn, ctx);
}

int kz_store_anomalies_put(kz_store *st, const kz_anomaly_rec *v, size_t n, kz_time at, int64_t *out_new)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if (st->in_tx)
        return kz_error_set(KZ_ECONFLICT, "kz_store_anomalies_put runs its own transaction");
    for (size_t i = 0; i < n; i++) {
        const kz_anomaly_rec *a = &v[i];
        if (!a->series || !a->kind || !a->grain || !a->unit || !a->message || a->age < 0 || a->until < a->day ||
            !(a->score >= 0 && a->score < 1) || !isfinite(a->observed) || !isfinite(a->expected) ||
            !isfinite(a->low) || !isfinite(a->high))
            return kz_error_set(KZ_EINVALID, "anomaly %zu: its series, kind, grain, unit, message, days, finite "
                                             "figures and a score in [0, 1) are needed", i);
    }
    return st->ops->anomalies_put(st, v, n, at, out_new);
}

/* Listing limits: none or negative means no limit (the backends take -1). */
static int64_t no_limit(int64_t limit)
{
    return limit > 0 ? limit : -1;
}

int kz_store_anomalies_each(kz_store *st, kz_day from, kz_day to, const char *state, const char *series,
                            kz_anomaly_fn fn, void *ctx)
{
    kz_anomaly_query q = { from, to, state, series, 0, -1, 0 };
    return st->ops->anomalies_each(st, &q, fn, ctx);
}

int kz_store_anomalies_page(kz_store *st, const kz_anomaly_query *q, kz_anomaly_fn fn, void *ctx, int64_t *out_total)
{
    kz_anomaly_query c = *q;
    if (c.limit < 0 || c.offset < 0)
        return kz_error_set(KZ_EINVALID, "anomalies: a negative limit or offset");
    c.limit = no_limit(c.limit);
    int rc = out_total ? st->ops->anomalies_count(st, &c, out_total) : KZ_OK;
    return rc ? rc : st->ops->anomalies_each(st, &c, fn, ctx);
}

int kz_store_anomaly_get(kz_store *st, int64_t id, kz_anomaly_fn fn, void *ctx)
{
    return st->ops->anomaly_get(st, id, fn, ctx);
}

int kz_store_anomaly_set_state(kz_store *st, int64_t id, const char *state, const char *by, const char *note,
                               kz_time at)
{
    int rc = writable(st);
    if (rc)
        return rc;
    if (!state || (strcmp(state, "open") != 0 && strcmp(state, "acknowledged") != 0 && strcmp(state, "resolved") != 0))
        return kz_error_set(KZ_EINVALID, "state: one of open, acknowledged, resolved");
    if (!by)
        return kz_error_set(KZ_EINVALID, "who sets the state is needed");
    return st->ops->anomaly_state(st, id, state, by, note, at);
}

/* ---- playbooks ---------------------------------------------------------------------- */

/* Bytes allowed in what playbooks store: a rule's name (rules/rule.h: 1-64),
 * a key (a subject, a window, an assignee, a playbook, a task's title), a
 * line (a source, a reason, an error), a document (a definition, a payload, a
 * task's body, a rule's state). */
#define RULE_NAME_MAX 64
#define KEY_MAX 1024
#define LINE_MAX_BYTES 8192
#define DOC_MAX ((size_t)1 << 20)

static const char *const rule_modes[] = { "on", "dry-run", "off", NULL };
static const char *const subject_kinds[] = { "account", "user", "business", NULL };
static const char *const delivery_kinds[] = { "email", "webhook", NULL };
static const char *const delivery_states[] = { "pending", "done", "failed", NULL };
static const char *const task_statuses[] = { "open", "done", "cancelled", NULL };

/* KZ_OK when v is one of the NULL-terminated list, else KZ_EINVALID naming them. */
static int one_of(const char *what, const char *v, const char *const *list)
{
    if (v)
        for (size_t i = 0; list[i]; i++)
            if (strcmp(v, list[i]) == 0)
                return KZ_OK;
    char names[128] = "";
    size_t n = 0;
    for (size_t i = 0; list[i] && n < sizeof names; i++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", list[i]);
    if (!v)
        return kz_error_set(KZ_EINVALID, "%s is missing (one of %s)", what, names);
    return kz_error_set(KZ_EINVALID, "%s '%s' is not one of %s", what, v, names);
}

/* KZ_OK when v is given (or may be NULL) and from min to max bytes long. */
static int text_ok(const char *what, const char *v, size_t min, size_t max, int may_be_null)
{
    if (!v)
        return may_be_null ? KZ_OK : kz_error_set(KZ_EINVALID, "%s is missing", what);
    size_t n = strlen(v);
    if (n < min || n > max)
        return kz_error_set(KZ_EINVALID, "%s must be %zu to %zu bytes (it is %zu)", what, min, max, n);
    return KZ_OK;
}

int kz_store_rule_put(kz_store *st, const kz_rule_rec *r, kz_time at, int *out_created)
{
    int rc = writable(st);
    if (!rc)
        rc = text_ok("rule name", r->name, 1, RULE_NAME_MAX, 0);
    if (!rc)
        rc = text_ok("rule definition", r->definition, 1, DOC_MAX, 0);
    if (!rc)
        rc = one_of("rule mode", r->mode, rule_modes);
    if (!rc)
        rc = text_ok("rule source", r->source, 1, LINE_MAX_BYTES, 0);
    if (!rc && out_created)
        *out_created = 0;
    return rc ? rc : st->ops->rule_put(st, r, at, out_created);
}

int kz_store_rule_set_mode(kz_store *st, const char *name, const char *mode, kz_time since, kz_time now)
{
    int rc = writable(st);
    if (!rc)
        rc = text_ok("rule name", name, 1, RULE_NAME_MAX, 0);
    if (!rc)
        rc = one_of("rule mode", mode, rule_modes);
    if (!rc && since && strcmp(mode, "off") == 0)
        rc = kz_error_set(KZ_EINVALID, "rule '%s': a time to act from goes with mode on or dry-run", name);
    if (!rc && since < 0)
        rc = kz_error_set(KZ_EINVALID, "rule '%s': a time to act from before 1970", name);
    return rc ? rc : st->ops->rule_set_mode(st, name, mode, since, now);
}

int kz_store_rule_remove(kz_store *st, const char *name)
{
    int rc = writable(st);
    if (!rc)
        rc = text_ok("rule name", name, 1, RULE_NAME_MAX, 0);
    return rc ? rc : st->ops->rule_remove(st, name);
}

int kz_store_rule_get(kz_store *st, const char *name, kz_rule_rec_fn fn, void *ctx)
{
    int rc = text_ok("rule name", name, 1, RULE_NAME_MAX, 0);
    return rc ? rc : st->ops->rule_get(st, name, fn, ctx);
}

int kz_store_rules_each(kz_store *st, kz_rule_rec_fn fn, void *ctx)
{
    return st->ops->rules_each(st, fn, ctx);
}

int kz_store_firing_add(kz_store *st, const kz_firing_rec *f, int64_t *out_id)
{
    int rc = writable(st);
    if (out_id)
        *out_id = 0;
    if (!rc)
        rc = text_ok("firing: rule name", f->rule, 1, RULE_NAME_MAX, 0);
    if (!rc)
        rc = one_of("firing: subject kind", f->subject_kind, subject_kinds);
    if (!rc)
        rc = text_ok("firing: subject", f->subject, 1, KEY_MAX, 0);
    if (!rc)
        rc = text_ok("firing: window key", f->window_key, 1, KEY_MAX, 0);
    if (!rc)
        rc = text_ok("firing: reason", f->reason, 0, LINE_MAX_BYTES, 0);
    if (!rc && f->account_id < 0)
        rc = kz_error_set(KZ_EINVALID, "firing: a negative account id");
    return rc ? rc : st->ops->firing_add(st, f, out_id);
}

int kz_store_firing_near(kz_store *st, const char *rule, const char *subject_kind, const char *subject,
                         kz_time at, kz_time within, kz_time *out_at)
{
    *out_at = 0;
    int rc = text_ok("rule name", rule, 1, RULE_NAME_MAX, 0);
    if (!rc)
        rc = one_of("subject kind", subject_kind, subject_kinds);
    if (!rc)
        rc = text_ok("subject", subject, 1, KEY_MAX, 0);
    if (!rc && within <= 0)
        return KZ_OK; /* no cooldown: nothing is too near */
    return rc ? rc : st->ops->firing_near(st, rule, subject_kind, subject, at, within, out_at);
}

int kz_store_firings_each(kz_store *st, const char *rule, int64_t account_id, int64_t before_id, int64_t limit,
                          kz_firing_fn fn, void *ctx)
{
    if (account_id < 0 || before_id < 0)
        return kz_error_set(KZ_EINVALID, "firings: negative ids");
    return st->ops->firings_each(st, rule, account_id, before_id, no_limit(limit), fn, ctx);
}

int kz_store_delivery_add(kz_store *st, const kz_delivery_rec *d, kz_time at, int64_t *out_id)
{
    int rc = writable(st);
    if (out_id)
        *out_id = 0;
    if (!rc && d->firing_id <= 0)
        rc = kz_error_set(KZ_EINVALID, "delivery: the firing it belongs to is missing");
    if (!rc && d->action < 0)
        rc = kz_error_set(KZ_EINVALID, "delivery: a negative action index");
    if (!rc)
        rc = one_of("delivery kind", d->kind, delivery_kinds);
    if (!rc)
        rc = text_ok("delivery payload", d->payload, 0, DOC_MAX, 0);
    return rc ? rc : st->ops->delivery_add(st, d, at, out_id);
}

int kz_store_deliveries_due(kz_store *st, kz_time now, int64_t limit, kz_delivery_fn fn, void *ctx)
{
    return st->ops->deliveries_due(st, now, no_limit(limit), fn, ctx);
}

int kz_store_delivery_set(kz_store *st, int64_t id, const char *state, int attempts, kz_time next_at,
                          const char *last_error, kz_time at)
{
    int rc = writable(st);
    if (!rc)
        rc = one_of("delivery state", state, delivery_states);
    if (!rc && attempts < 0)
        rc = kz_error_set(KZ_EINVALID, "delivery: a negative count of attempts");
    if (!rc)
        rc = text_ok("delivery error", last_error, 0, LINE_MAX_BYTES, 1);
    return rc ? rc : st->ops->delivery_set(st, id, state, attempts, next_at, last_error, at);
}

int kz_store_deliveries_each(kz_store *st, const char *state, int64_t firing_id, int64_t limit, kz_delivery_fn fn,
                             void *ctx)
{
    int rc = state ? one_of("delivery state", state, delivery_states) : KZ_OK;
    if (!rc && firing_id < 0)
        rc = kz_error_set(KZ_EINVALID, "deliveries: a negative firing id");
    return rc ? rc : st->ops->deliveries_each(st, state, firing_id, no_limit(limit), fn, ctx);
}

int kz_store_task_add(kz_store *st, const kz_task_rec *t, kz_time at, int64_t *out_id)
{
    int rc = writable(st);
    if (out_id)
        *out_id = 0;
    if (!rc)
        rc = text_ok("task title", t->title, 1, KEY_MAX, 0);
    if (!rc)
        rc = text_ok("task body", t->body, 0, DOC_MAX, 1);
    if (!rc)
        rc = text_ok("task assignee", t->assignee, 1, KEY_MAX, 1);
    if (!rc)
        rc = text_ok("task source", t->source, 1, LINE_MAX_BYTES, 0);
    if (!rc)
        rc = text_ok("task playbook", t->playbook, 1, KEY_MAX, 1);
    if (!rc && (t->account_id < 0 || t->firing_id < 0))
        rc = kz_error_set(KZ_EINVALID, "task: negative ids");
    if (!rc && t->due == KZ_TASK_DUE_KEPT)
        rc = kz_error_set(KZ_EINVALID, "task: not a due day");
    return rc ? rc : st->ops->task_add(st, t, at, out_id);
}

int kz_store_task_get(kz_store *st, int64_t id, kz_task_fn fn, void *ctx)
{
    return st->ops->task_get(st, id, fn, ctx);
}

int kz_store_task_set(kz_store *st, int64_t id, const char *status, const char *assignee, kz_day due, kz_time at)
{
    int rc = writable(st);
    if (!rc && status)
        rc = one_of("task status", status, task_statuses);
    if (!rc)
        rc = text_ok("task assignee", assignee, 1, KEY_MAX, 1);
    return rc ? rc : st->ops->task_set(st, id, status, assignee, due, at);
}

int kz_store_tasks_each(kz_store *st, const kz_task_query *q, kz_task_fn fn, void *ctx)
{
    kz_task_query c = *q;
    int rc = c.status ? one_of("task status", c.status, task_statuses) : KZ_OK;
    if (!rc && (c.account_id < 0 || c.after_id < 0))
        rc = kz_error_set(KZ_EINVALID, "tasks: negative ids");
    if (rc)
        return rc;
    c.limit = no_limit(c.limit);
    return st->ops->tasks_each(st, &c, fn, ctx);
}

int kz_store_rule_state_get(kz_store *st, const char *rule, const char *subject, char **out_value)
{
    *out_value = NULL;
    int rc = text_ok("rule name", rule, 1, RULE_NAME_MAX, 0);
    if (!rc)
        rc = text_ok("rule state subject", subject, 1, KEY_MAX, 0);
    return rc ? rc : st->ops->rule_state_get(st, rule, subject, out_value);
}

int kz_store_rule_state_put(kz_store *st, const char *rule, const char *subject, const char *value, kz_time at)
{
    int rc = writable(st);
    if (!rc)
        rc = text_ok("rule name", rule, 1, RULE_NAME_MAX, 0);
    if (!rc)
        rc = text_ok("rule state subject", subject, 1, KEY_MAX, 0);
    if (!rc)
        rc = text_ok("rule state", value, 0, DOC_MAX, 1);
    return rc ? rc : st->ops->rule_state_put(st, rule, subject, value, at);
}

void kz_user_free(kz_user *u)
{
    if (!u)
        return;
    free(u->name);
    free(u->role);
    free(u->password_hash);
    memset(u, 0, sizeof *u);
}

/* One of the roles of users. */
static int role_ok(const char *role)
{
    static const char *const roles[] = { "admin", "csm", "support", "viewer" };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(role, roles[i]) == 0)
            return KZ_OK;
    return kz_error_set(KZ_EINVALID, "'%s' is not a role (admin, csm, support or viewer)", role);
}

int kz_store_user_add(kz_store *st, const char *name, const char *role, const char *password_hash, kz_time at,
                      int64_t *out_id)
{
    int rc = writable(st);
    if (!rc)
        rc = role_ok(role);
    return rc ? rc : st->ops->user_add(st, name, role, password_hash, at, out_id);
}

int kz_store_user_get(kz_store *st, const char *name, int64_t id, kz_user *out)
{
    memset(out, 0, sizeof *out);
    return st->ops->user_get(st, name, id, out);
}

int kz_store_user_set(kz_store *st, const char *name, const char *role, const char *password_hash)
{
    int rc = writable(st);
    if (!rc && role)
        rc = role_ok(role);
    return rc ? rc : st->ops->user_set(st, name, role, password_hash);
}

int kz_store_user_remove(kz_store *st, const char *name)
{
    int rc = writable(st);
    return rc ? rc : st->ops->user_remove(st, name);
}

int kz_store_user_each(kz_store *st, kz_user_fn fn, void *ctx)
{
    return st->ops->user_each(st, fn, ctx);
}

int kz_store_token_add(kz_store *st, int64_t user_id, const char *hash, const char *prefix, kz_time at,
                       int64_t *out_id)
{
    int rc = writable(st);
    return rc ? rc : st->ops->token_add(st, user_id, hash, prefix, at, out_id);
}

int kz_store_token_user(kz_store *st, const char *hash, int64_t *out_user)
{
    return st->ops->token_user(st, hash, out_user);
}

int kz_store_token_revoke(kz_store *st, int64_t user_id, const char *prefix, kz_time at, int64_t *n)
{
    int rc = writable(st);
    return rc ? rc : st->ops->token_revoke(st, user_id, prefix, at, n);
}

int kz_store_session_add(kz_store *st, const char *hash, int64_t user_id, const char *csrf, kz_time at,
                         kz_time expires)
{
    int rc = writable(st);
    return rc ? rc : st->ops->session_add(st, hash, user_id, csrf, at, expires);
}

int kz_store_session_get(kz_store *st, const char *hash, kz_time now, int64_t *user, char **csrf)
{
    *csrf = NULL;
    return st->ops->session_get(st, hash, now, user, csrf);
}

int kz_store_session_remove(kz_store *st, const char *hash)
{
    int rc = writable(st);
    return rc ? rc : st->ops->session_remove(st, hash);
}

int kz_store_audit_add(kz_store *st, const kz_audit *a)
{
    int rc = writable(st);
    return rc ? rc : st->ops->audit_add(st, a);
}

int kz_store_audit_each(kz_store *st, int64_t before_id, int64_t limit, kz_audit_fn fn, void *ctx)
{
    return st->ops->audit_each(st, before_id, limit, fn, ctx);
}
