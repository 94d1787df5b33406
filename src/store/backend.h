/*
 * backend.h - what a storage backend implements (internal to src/store/).
 *
 * A backend allocates a struct whose first member is a kz_store with ops set,
 * and fills in every function of kz_store_ops. store.c checks arguments and
 * dispatches; backends may assume them valid.
 */
#ifndef KZ_STORE_BACKEND_H
#define KZ_STORE_BACKEND_H

#include "store/store.h"

typedef struct kz_store_ops {
    const char *name;
    void (*close)(kz_store *st);
    int (*schema_version)(kz_store *st, int *cur, int *latest);
    int (*begin)(kz_store *st);
    int (*commit)(kz_store *st);
    int (*rollback)(kz_store *st);
    int (*snapshot_begin)(kz_store *st);
    int (*snapshot_end)(kz_store *st);
    int (*upsert)(kz_store *st, kz_entity e, const kz_value *row, uint64_t present, uint64_t defaults,
                  int64_t *out_id,
                  kz_row_change *out_change);
    int (*insert)(kz_store *st, kz_entity e, const kz_value *row, uint64_t present, int64_t *out_id);
    int (*keys)(kz_store *st, kz_entity e, kz_strmap *map);
    int (*contact_account)(kz_store *st, int64_t contact_id, int64_t *out_account);
    int (*count)(kz_store *st, kz_entity e, int64_t *out);
    int (*each)(kz_store *st, kz_entity e, kz_row_fn fn, void *ctx);
    int (*get)(kz_store *st, kz_entity e, const kz_value *key, kz_row_fn fn, void *ctx);
    int (*each_of_account)(kz_store *st, kz_entity e, int64_t account_id, int64_t limit, kz_row_fn fn, void *ctx);
    int (*del)(kz_store *st, kz_entity e, const kz_value *key);
    int (*fields)(kz_store *st, kz_field_def **out, size_t *n);
    int (*field_define)(kz_store *st, const char *name, kz_field_type type, int64_t *out_id);
    int (*field_set)(kz_store *st, int64_t account_id, int64_t field_id, const kz_value *v,
                     int *out_changed);
    int (*field_values)(kz_store *st, int64_t account_id, const kz_field_def *defs, size_t n,
                        kz_value *vals);
    int (*dict_load)(kz_store *st, kz_dict d, kz_strmap *map, uint32_t *out_max);
    int (*dict_add)(kz_store *st, kz_dict d, uint32_t id, const char *key, size_t n,
                    int64_t account_id);
    int (*dict_array)(kz_store *st, kz_dict d, char ***out, size_t *out_n);
    int (*block_put)(kz_store *st, const kz_block_meta *meta, const void *data, size_t n,
                     int64_t *out_id);
    int (*block_list)(kz_store *st, kz_time from, kz_time to, kz_block_meta **out, size_t *n);
    int (*block_get)(kz_store *st, int64_t id, kz_buf *out);
    int (*block_replace)(kz_store *st, int64_t id, const kz_block_meta *meta, const void *data, size_t n);
    int (*block_delete)(kz_store *st, int64_t id);
    int (*block_set_ids)(kz_store *st, int64_t id, int64_t n_ids);
    int (*event_count)(kz_store *st, int64_t *out);
    int (*stats_get)(kz_store *st, kz_day as_of, kz_store_stats *out);
    int (*import_log)(kz_store *st, const kz_import_rec *rec);
    int (*data_version)(kz_store *st, int64_t *out);
    int (*touch)(kz_store *st);
    int (*model_put)(kz_store *st, const kz_model_rec *m, int64_t *out_id);
    int (*model_latest)(kz_store *st, const char *kind, const char *name, kz_model_rec **out);
    int (*predictions_put)(kz_store *st, int64_t model_id, const kz_prediction *p, size_t n, kz_time at);
    int (*predictions_each)(kz_store *st, int64_t model_id, kz_prediction_fn fn, void *ctx);
    int (*health_def_put)(kz_store *st, const char *json, kz_time at, int64_t *out_version);
    int (*health_def_get)(kz_store *st, int64_t version, int64_t *out_version, char **out_json);
    int (*health_put)(kz_store *st, const kz_health_row *rows, size_t n, kz_time at);
    int (*health_each)(kz_store *st, int64_t account_id, kz_day from, kz_day to, kz_health_row_fn fn, void *ctx);
    int (*anomalies_put)(kz_store *st, const kz_anomaly_rec *v, size_t n, kz_time at, int64_t *out_new);
    int (*anomalies_each)(kz_store *st, const kz_anomaly_query *q, kz_anomaly_fn fn, void *ctx);
    int (*anomalies_count)(kz_store *st, const kz_anomaly_query *q, int64_t *out_n);
    int (*anomaly_get)(kz_store *st, int64_t id, kz_anomaly_fn fn, void *ctx);
    int (*anomaly_state)(kz_store *st, int64_t id, const char *state, const char *by, const char *note, kz_time at);
    int (*rule_put)(kz_store *st, const kz_rule_rec *r, kz_time at, int *out_created);
    int (*rule_set_mode)(kz_store *st, const char *name, const char *mode, kz_time since, kz_time now);
    int (*rule_remove)(kz_store *st, const char *name);
    int (*rule_get)(kz_store *st, const char *name, kz_rule_rec_fn fn, void *ctx);
    int (*rules_each)(kz_store *st, kz_rule_rec_fn fn, void *ctx);
    int (*firing_add)(kz_store *st, const kz_firing_rec *f, int64_t *out_id);
    int (*firing_near)(kz_store *st, const char *rule, const char *subject_kind, const char *subject, kz_time at,
                       kz_time within, kz_time *out_at);
    int (*firings_each)(kz_store *st, const char *rule, int64_t account_id, int64_t before_id, int64_t limit,
                        kz_firing_fn fn, void *ctx);
    int (*delivery_add)(kz_store *st, const kz_delivery_rec *d, kz_time at, int64_t *out_id);
    int (*deliveries_due)(kz_store *st, kz_time now, int64_t limit, kz_delivery_fn fn, void *ctx);
    int (*delivery_set)(kz_store *st, int64_t id, const char *state, int attempts, kz_time next_at,
                        const char *last_error, kz_time at);
    int (*deliveries_each)(kz_store *st, const char *state, int64_t firing_id, int64_t limit, kz_delivery_fn fn,
                           void *ctx);
    int (*task_add)(kz_store *st, const kz_task_rec *t, kz_time at, int64_t *out_id);
    int (*task_get)(kz_store *st, int64_t id, kz_task_fn fn, void *ctx);
    int (*task_set)(kz_store *st, int64_t id, const char *status, const char *assignee, kz_day due, kz_time at);
    int (*tasks_each)(kz_store *st, const kz_task_query *q, kz_task_fn fn, void *ctx);
    int (*rule_state_get)(kz_store *st, const char *rule, const char *subject, char **out_value);
    int (*rule_state_put)(kz_store *st, const char *rule, const char *subject, const char *value, kz_time at);
    int (*user_add)(kz_store *st, const char *name, const char *role, const char *hash, kz_time at, int64_t *out);
    int (*user_get)(kz_store *st, const char *name, int64_t id, kz_user *out);
    int (*user_set)(kz_store *st, const char *name, const char *role, const char *hash);
    int (*user_remove)(kz_store *st, const char *name);
    int (*user_each)(kz_store *st, kz_user_fn fn, void *ctx);
    int (*token_add)(kz_store *st, int64_t user, const char *hash, const char *prefix, kz_time at, int64_t *out);
    int (*token_user)(kz_store *st, const char *hash, int64_t *out_user);
    int (*token_revoke)(kz_store *st, int64_t user, const char *prefix, kz_time at, int64_t *n);
    int (*session_add)(kz_store *st, const char *hash, int64_t user, const char *csrf, kz_time at, kz_time exp);
    int (*session_get)(kz_store *st, const char *hash, kz_time now, int64_t *user, char **csrf);
    int (*session_remove)(kz_store *st, const char *hash);
    int (*audit_add)(kz_store *st, const kz_audit *a);
    int (*audit_each)(kz_store *st, int64_t before_id, int64_t limit, kz_audit_fn fn, void *ctx);
} kz_store_ops;

struct kz_store {
    const kz_store_ops *ops;
    int readonly;
    int in_tx;
    int in_snapshot;
    const char *location; /* set by the backend, owned by it */
};

/* No day: the engine's KZ_DAY_NONE (engine/engine.h), which the store may not include. */
#define KZ_STORE_DAY_NONE INT32_MIN

/* The SQLite backend (src/store/sqlite/). */
int kz_sqlite_open(kz_store **out, const char *path, int flags);

/* For tests of migrations: open (creating) and migrate only up to version. */
int kz_sqlite_open_at_version(kz_store **out, const char *path, int version);

#endif
