/*
 * store.h - the system of record, behind one interface.
 *
 * A kz_store is an opaque handle over a backend (SQLite today; PostgreSQL later)
 * reached through a table of functions, so callers never see SQL or the backend.
 * Every entity of the data contract (docs/import.md) is stored here, plus the
 * dictionaries and column blocks of product events (see evblock.h) and the
 * ledger of imports.
 *
 * Rows cross this interface as arrays of kz_value in the column order of the
 * entity (kz_store_columns()). Keys are the external ids of the contract
 * ("acc_001"); references between rows use the internal integer ids that the
 * store hands out (kz_store_keys() maps one to the other).
 *
 * Ownership: the store copies whatever it keeps; values it hands out are
 * borrowed until the next call on the same handle unless a comment says else.
 * A handle is used by one thread at a time.
 */
#ifndef KZ_STORE_STORE_H
#define KZ_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/time.h"

typedef struct kz_store kz_store;

/* ---- values ------------------------------------------------------------ */

typedef enum { KZ_VNULL = 0, KZ_VTEXT, KZ_VINT, KZ_VREAL } kz_vkind;

typedef struct kz_value {
    kz_vkind kind;
    const char *s; /* KZ_VTEXT: bytes (not necessarily NUL-terminated) */
    size_t n;      /* KZ_VTEXT: length */
    int64_t i;     /* KZ_VINT */
    double d;      /* KZ_VREAL */
} kz_value;

static inline kz_value kz_vnull(void)
{
    kz_value v = { KZ_VNULL, NULL, 0, 0, 0 };
    return v;
}
static inline kz_value kz_vtext(const char *s, size_t n)
{
    kz_value v = { KZ_VTEXT, s, n, 0, 0 };
    return v;
}
static inline kz_value kz_vint(int64_t i)
{
    kz_value v = { KZ_VINT, NULL, 0, i, 0 };
    return v;
}
static inline kz_value kz_vreal(double d)
{
    kz_value v = { KZ_VREAL, NULL, 0, 0, d };
    return v;
}

/* 1 when a and b hold the same kind and value. */
int kz_value_eq(const kz_value *a, const kz_value *b);

/* ---- entities and their columns ---------------------------------------- */

typedef enum {
    KZ_ENT_ACCOUNT,
    KZ_ENT_CONTACT,
    KZ_ENT_SUBSCRIPTION,
    KZ_ENT_TICKET,
    KZ_ENT_NPS,
    KZ_ENT_ACTIVITY,
    KZ_ENT_SPEND,
    KZ_ENT_COUNT
} kz_entity;

/* How a column's value is stored; the importer converts text to these. */
typedef enum {
    KZ_COL_KEY,    /* external id, text */
    KZ_COL_TEXT,
    KZ_COL_REF,    /* internal id of an account or contact (int) */
    KZ_COL_TIME,   /* kz_time, microseconds UTC (int) */
    KZ_COL_DAY,    /* kz_day (int) */
    KZ_COL_MONTH,  /* kz_month (int) */
    KZ_COL_MONEY,  /* fixed point, KZ_MONEY_SCALE decimals (int) */
    KZ_COL_INT,
    KZ_COL_BOOL    /* 0 or 1 (int) */
} kz_coltype;

/* Money is stored as an integer count of 1/10^4 of the currency unit. */
#define KZ_MONEY_SCALE 4
#define KZ_MONEY_UNIT INT64_C(10000)

typedef struct kz_store_column {
    const char *name; /* the contract's field name, e.g. "account_id" */
    kz_coltype type;
} kz_store_column;

enum { KZ_ACCOUNT_KEY, KZ_ACCOUNT_NAME, KZ_ACCOUNT_DOMAIN, KZ_ACCOUNT_INDUSTRY, KZ_ACCOUNT_OWNER,
       KZ_ACCOUNT_CREATED_AT, KZ_ACCOUNT_NCOLS };
enum { KZ_CONTACT_KEY, KZ_CONTACT_ACCOUNT, KZ_CONTACT_EMAIL, KZ_CONTACT_NAME, KZ_CONTACT_ROLE,
       KZ_CONTACT_CHAMPION, KZ_CONTACT_NCOLS };
enum { KZ_SUB_KEY, KZ_SUB_ACCOUNT, KZ_SUB_PLAN, KZ_SUB_MRR, KZ_SUB_QUANTITY, KZ_SUB_START,
       KZ_SUB_END, KZ_SUB_NCOLS };
enum { KZ_TICKET_KEY, KZ_TICKET_ACCOUNT, KZ_TICKET_OPENED, KZ_TICKET_FIRST_RESPONSE,
       KZ_TICKET_RESOLVED, KZ_TICKET_CATEGORY, KZ_TICKET_CATEGORY_SOURCE, KZ_TICKET_PRIORITY,
       KZ_TICKET_SUBJECT, KZ_TICKET_BODY, KZ_TICKET_NCOLS };
enum { KZ_NPS_KEY, KZ_NPS_ACCOUNT, KZ_NPS_CONTACT, KZ_NPS_TS, KZ_NPS_SCORE, KZ_NPS_COMMENT,
       KZ_NPS_NCOLS };
enum { KZ_ACT_KEY, KZ_ACT_ACCOUNT, KZ_ACT_TS, KZ_ACT_KIND, KZ_ACT_DIRECTION, KZ_ACT_SUBJECT,
       KZ_ACT_BODY, KZ_ACT_AUTHOR, KZ_ACT_NCOLS };
/* spend is keyed by (month, channel); channel '' when none */
enum { KZ_SPEND_MONTH, KZ_SPEND_CHANNEL, KZ_SPEND_AMOUNT, KZ_SPEND_NCOLS };

#define KZ_STORE_MAX_COLS 16

/* The columns of an entity in row order; *n receives the count. Static. */
const kz_store_column *kz_store_columns(kz_entity e, size_t *n);

/* The contract name of an entity ("accounts", "subscriptions", ...). Static. */
const char *kz_entity_name(kz_entity e);

/* ---- opening ------------------------------------------------------------ */

enum {
    KZ_STORE_CREATE = 1,   /* create the database when missing */
    KZ_STORE_READONLY = 2  /* never write (reports); migrations must be current */
};

/* Opens the store at location (a SQLite file path), creating it when asked and
 * running forward migrations. 0, or KZ_EIO / KZ_ECONFLICT (schema newer than this
 * program) / KZ_ENOTFOUND (missing, without KZ_STORE_CREATE) with the reason.
 * Caller closes with kz_store_close(). */
int kz_store_open(kz_store **out, const char *location, int flags);

/* Closes the handle (rolls back an open transaction). NULL is a no-op. */
void kz_store_close(kz_store *st);

/* Schema version of the open database and the newest this program knows. */
int kz_store_schema_version(kz_store *st, int *out_current, int *out_latest);

/* Name of the backend ("sqlite"). Static. */
const char *kz_store_backend(const kz_store *st);

/* ---- transactions ------------------------------------------------------- */

/* One transaction at a time; commit is durable when it returns. */
int kz_store_begin(kz_store *st);
int kz_store_commit(kz_store *st);
int kz_store_rollback(kz_store *st);

/* A read snapshot: every read until kz_store_snapshot_end sees the database
 * as one committed state, whatever other writers commit meanwhile (reading
 * many tables or blocks that must agree). Inside a transaction or another
 * snapshot it does nothing (*out_started = 0); end it with the same flag. */
int kz_store_snapshot_begin(kz_store *st, int *out_started);
void kz_store_snapshot_end(kz_store *st, int started);

/* ---- rows ---------------------------------------------------------------- */

typedef enum { KZ_ROW_INSERTED, KZ_ROW_UPDATED, KZ_ROW_UNCHANGED } kz_row_change;

/* Inserts or updates the row whose key columns (column 0; for spend columns 0
 * and 1) are in row. Columns whose bit (1 << column) is set in present are
 * written; columns set only in defaults are written when the row is new and
 * left alone when it exists; the others are NULL on insert and kept on update.
 * *out_id receives the internal id and *out_change what happened (either may be
 * NULL). Constraint failures (a reference to a missing row) are KZ_EINVALID. */
int kz_store_upsert(kz_store *st, kz_entity e, const kz_value *row, uint64_t present,
                    uint64_t defaults, int64_t *out_id, kz_row_change *out_change);

/* Inserts a row known to be new (the caller checked that the key is not stored:
 * for example an import into an empty table). Columns of present | defaults are
 * written, the others are NULL. KZ_EINVALID for a constraint failure, including
 * a key that exists after all. Faster than kz_store_upsert: no lookup. */
int kz_store_insert(kz_store *st, kz_entity e, const kz_value *row, uint64_t present, int64_t *out_id);

/* Fills map with key -> internal id for every row of e (accounts, contacts,
 * product users). The map must be empty; ids must fit in uint32. */
int kz_store_keys(kz_store *st, kz_entity e, kz_strmap *map);

/* The account (internal id) of a contact (internal id); KZ_ENOTFOUND when none. */
int kz_store_contact_account(kz_store *st, int64_t contact_id, int64_t *out_account);

/* Number of rows of an entity. */
int kz_store_count(kz_store *st, kz_entity e, int64_t *out);

/* Calls fn for every row of e in key order with its column values; reference
 * columns are given as the referenced row's key (text), not the internal id.
 * The values are borrowed for the call. A non-zero return of fn stops the walk
 * and is returned. id is the internal id. */
typedef int (*kz_row_fn)(void *ctx, int64_t id, const kz_value *row);
int kz_store_each(kz_store *st, kz_entity e, kz_row_fn fn, void *ctx);

/* The row of e whose key is key[0] (spend: month key[0], channel key[1]),
 * handed to fn as kz_store_each does; KZ_ENOTFOUND when there is none. fn
 * must not read rows of e through the same handle. */
int kz_store_get(kz_store *st, kz_entity e, const kz_value *key, kz_row_fn fn, void *ctx);

/* The rows of e (not spend) that belong to account account_id (internal id;
 * for accounts, the account itself), the newest first (contacts by key), at
 * most limit, handed to fn as kz_store_each does. fn must not read rows of e
 * through the same handle. */
int kz_store_each_of_account(kz_store *st, kz_entity e, int64_t account_id, int64_t limit, kz_row_fn fn, void *ctx);

/* Deletes the row of e whose key is key (as kz_store_get); an account takes
 * its contacts, subscriptions, tickets, answers, activities and field values
 * with it (its events stay in their blocks and are left out of every
 * report). KZ_ENOTFOUND when there is none. */
int kz_store_delete(kz_store *st, kz_entity e, const kz_value *key);

/* ---- custom fields of accounts ---------------------------------------------- */

typedef enum { KZ_FIELD_NUMBER, KZ_FIELD_DATE, KZ_FIELD_TEXT, KZ_FIELD_BOOLEAN } kz_field_type;

typedef struct kz_field_def {
    int64_t id;
    char name[128]; /* field names are limited to 127 bytes by the importer */
    kz_field_type type;
} kz_field_def;

const char *kz_field_type_name(kz_field_type t);
int kz_field_type_parse(kz_field_type *out, const char *s);

/* The defined custom fields, in definition order. *out is malloc'd (caller frees
 * with free()); *n receives the count. */
int kz_store_fields(kz_store *st, kz_field_def **out, size_t *n);

/* Defines a field; KZ_ECONFLICT if the name exists. */
int kz_store_field_define(kz_store *st, const char *name, kz_field_type type, int64_t *out_id);

/* Sets (value not NULL-kind) or clears (KZ_VNULL) a field of an account. Numbers,
 * booleans (0/1) and dates (kz_time) are KZ_VREAL/KZ_VINT; text is KZ_VTEXT.
 * *out_changed (may be NULL) is 1 when the stored value changed. */
int kz_store_field_set(kz_store *st, int64_t account_id, int64_t field_id, const kz_value *v,
                       int *out_changed);

/* Reads an account's field values into vals[0..nfields) in the order of defs
 * (as returned by kz_store_fields); absent values are KZ_VNULL. Text values are
 * borrowed until the next call on the handle. */
int kz_store_field_values(kz_store *st, int64_t account_id, const kz_field_def *defs, size_t nfields,
                          kz_value *vals);

/* ---- product events --------------------------------------------------------- */

typedef enum { KZ_DICT_USERS, KZ_DICT_EVENT_NAMES } kz_dict;

/* Fills map with the dictionary's key -> id and *out_max with the largest id (0
 * when empty). */
int kz_store_dict_load(kz_store *st, kz_dict d, kz_strmap *map, uint32_t *out_max);

/* Adds key with the given id (ids are assigned by the caller, densely, from
 * out_max + 1). account_id (users only; 0 when unknown) is the first account the
 * user was seen with. */
int kz_store_dict_add(kz_store *st, kz_dict d, uint32_t id, const char *key, size_t n,
                      int64_t account_id);

/* Reads a whole dictionary as an array indexed by id: (*out)[id] is a
 * NUL-terminated key or NULL for unused ids; *out_n = max id + 1. The strings
 * live in arena-like storage freed with kz_store_dict_free(*out). */
int kz_store_dict_array(kz_store *st, kz_dict d, char ***out, size_t *out_n);
void kz_store_dict_free(char **arr);

typedef struct kz_block_meta {
    int64_t id;
    kz_time min_ts, max_ts;
    int64_t n_events;
    int64_t bytes;
    int64_t n_ids;   /* events with an event_id; -1 when not counted (older blocks) */
} kz_block_meta;

/* Stores one encoded event block (evblock.h) with its summary. */
int kz_store_block_put(kz_store *st, const kz_block_meta *meta, const void *data, size_t n,
                       int64_t *out_id);

/* The blocks whose [min_ts, max_ts] overlaps [from, to], ordered by min_ts then id.
 * *out is malloc'd (caller frees with free()). */
int kz_store_block_list(kz_store *st, kz_time from, kz_time to, kz_block_meta **out, size_t *n);

/* Appends the encoded bytes of block id to out. */
int kz_store_block_get(kz_store *st, int64_t id, kz_buf *out);

/* Replaces block id's events (compaction: its id, and so its place in the
 * canonical order, stays). KZ_ENOTFOUND when there is no such block. */
int kz_store_block_replace(kz_store *st, int64_t id, const kz_block_meta *meta, const void *data, size_t n);

/* Deletes block id (compaction, after its events went into another block of
 * the same transaction). KZ_ENOTFOUND when there is no such block. */
int kz_store_block_delete(kz_store *st, int64_t id);

/* Records how many events of block id carry an event_id (for older blocks,
 * once counted). */
int kz_store_block_set_ids(kz_store *st, int64_t id, int64_t n_ids);

/* How many events are stored (the sum over the blocks). */
int kz_store_event_count(kz_store *st, int64_t *out);

/* ---- versions ---------------------------------------------------------------- */

/* The data version: a number that every committed change of data raises (call
 * kz_store_touch() inside the writing transaction). Derived data made at
 * version v is current while the version is still v. */
int kz_store_data_version(kz_store *st, int64_t *out);
int kz_store_touch(kz_store *st);

/* The location the store was opened at (a file path for SQLite). Borrowed. */
const char *kz_store_location(const kz_store *st);

/* ---- summary and ledger ------------------------------------------------------- */

typedef struct kz_store_stats {
    int64_t rows[KZ_ENT_COUNT];
    int64_t events, users, event_names, blocks, block_bytes, fields;
    kz_time first_event, last_event; /* 0 when there are no events */
    int64_t mrr;                     /* money units: MRR on as_of */
    int64_t paying_accounts;         /* accounts with MRR > 0 on as_of */
    int64_t open_tickets;            /* opened on or before as_of, not resolved by then */
    kz_day as_of;
} kz_store_stats;

/* Counts and the MRR picture on day as_of. */
int kz_store_stats_get(kz_store *st, kz_day as_of, kz_store_stats *out);

typedef struct kz_import_rec {
    const char *entity, *source, *format;
    kz_time started_at, finished_at;
    int64_t rows_ok, rows_rejected, inserted, updated, unchanged;
    const char *status; /* "committed", "rolled back", "dry run" */
} kz_import_rec;

/* Records an import in the ledger (its own write; call inside the import's
 * transaction so that both commit together). */
int kz_store_import_log(kz_store *st, const kz_import_rec *rec);

/* ---- models and predictions ------------------------------------------------------ */

/* A model learnt from the data, stored whole: what it is (kind "churn", name
 * "logistic"), when and from which data version it was made, a JSON
 * description (training window, features, metrics) and the model itself. */
typedef struct kz_model_rec {
    int64_t id;
    const char *kind, *name;
    kz_time created_at;
    int64_t data_version;
    const char *meta; /* JSON */
    const void *body; /* the model, as its module writes it */
    size_t body_len;
} kz_model_rec;

/* Stores a model (the id is ignored) and sets *out_id. Needs a writable store. */
int kz_store_model_put(kz_store *st, const kz_model_rec *m, int64_t *out_id);

/* The latest model of kind with name (NULL: any name); KZ_ENOTFOUND when
 * there is none. *out and its strings and body are malloc'd (the body is
 * followed by a NUL): free with kz_model_rec_free. */
int kz_store_model_latest(kz_store *st, const char *kind, const char *name, kz_model_rec **out);
void kz_model_rec_free(kz_model_rec *m);

/* One prediction of a model for an account (by its internal id). */
typedef struct kz_prediction {
    int64_t account_id;
    kz_day as_of;
    double probability;
    const char *drivers; /* JSON */
} kz_prediction;

/* Replaces the predictions of model_id by these n, in a transaction of its
 * own (KZ_ECONFLICT inside another). */
int kz_store_predictions_put(kz_store *st, int64_t model_id, const kz_prediction *p, size_t n, kz_time computed_at);

/* Calls fn for every prediction of model_id, the riskiest first, with the
 * account's key; values are borrowed for the call. */
typedef int (*kz_prediction_fn)(void *ctx, const char *account_key, const kz_prediction *p);
int kz_store_predictions_each(kz_store *st, int64_t model_id, kz_prediction_fn fn, void *ctx);

/* ---- health definitions and scores ---------------------------------------------- */

/* Stores a health definition (JSON) as a new version and sets *out_version. */
int kz_store_health_def_put(kz_store *st, const char *json, kz_time at, int64_t *out_version);

/* Definition `version` (0: the latest): *out_json malloc'd (caller frees),
 * *out_version its version. KZ_ENOTFOUND when there is none. */
int kz_store_health_def_get(kz_store *st, int64_t version, int64_t *out_version, char **out_json);

/* One account's health score on one day. */
typedef struct kz_health_row {
    int64_t account_id;
    kz_day day;
    double score;
    const char *band;  /* "green", "yellow", "red" */
    int64_t version;   /* of the definition */
    const char *parts; /* JSON: the factors */
} kz_health_row;

/* Stores scores, replacing those of the same account and day, in a
 * transaction of its own. */
int kz_store_health_put(kz_store *st, const kz_health_row *rows, size_t n, kz_time computed_at);

/* Calls fn for every stored score of account_id (any: 0) with day in
 * [from, to], by account then day; values borrowed for the call. */
typedef int (*kz_health_row_fn)(void *ctx, const char *account_key, const kz_health_row *row);
int kz_store_health_each(kz_store *st, int64_t account_id, kz_day from, kz_day to, kz_health_row_fn fn, void *ctx);

/* ---- anomalies --------------------------------------------------------------------- */

/* An abnormal point of a watched series (engine/watch.h), as stored: once
 * per (series, day, age), with its state. Strings are borrowed (from the
 * caller when stored, from the store for the call when read). */
typedef struct kz_anomaly_rec {
    int64_t id;
    const char *series, *kind;
    const char *grain;          /* "day", "month", "cohort" */
    kz_day day;                 /* the day; a month's or a cohort's first */
    int age;                    /* cohorts: the 30-day month of the accounts (0: the first) */
    kz_day until;               /* the last day it concerns */
    double observed, expected, low, high, score;
    int higher;                 /* above the range (direction "up"), else below */
    const char *unit, *message;
    const char *state;          /* "open", "acknowledged", "resolved" (read only) */
    const char *state_by, *note; /* who set the state, and why (NULL: nobody, none) */
    kz_time found_at, updated_at;
} kz_anomaly_rec;
typedef int (*kz_anomaly_fn)(void *ctx, const kz_anomaly_rec *a);

/* Stores anomalies in a transaction of its own: a new one as open; one
 * stored before keeps its id, state and found_at, and takes the new figures
 * (late data may change them). *out_new (may be NULL): how many were new. */
int kz_store_anomalies_put(kz_store *st, const kz_anomaly_rec *v, size_t n, kz_time at, int64_t *out_new);

/* Calls fn for every stored anomaly whose days meet [from, to], with state
 * `state` and series or kind `series` (NULL: any), by day, series, age. */
int kz_store_anomalies_each(kz_store *st, kz_day from, kz_day to, const char *state, const char *series,
                            kz_anomaly_fn fn, void *ctx);

/* A page of the stored anomalies: those of kz_store_anomalies_each's
 * arguments, by day, series, age (newest: by day, the latest first, then
 * id, the latest first), skipping offset of them, at most limit (0: all). */
typedef struct kz_anomaly_query {
    kz_day from, to;
    const char *state, *series; /* NULL: any */
    int newest;
    int64_t limit, offset;
} kz_anomaly_query;
/* Calls fn for each anomaly of the page; *out_total (may be NULL): how many
 * match in all, every page together. */
int kz_store_anomalies_page(kz_store *st, const kz_anomaly_query *q, kz_anomaly_fn fn, void *ctx, int64_t *out_total);

/* Calls fn with anomaly id; KZ_ENOTFOUND. */
int kz_store_anomaly_get(kz_store *st, int64_t id, kz_anomaly_fn fn, void *ctx);

/* Sets anomaly id's state ("open", "acknowledged", "resolved"), by whom,
 * and a note (NULL: the note is kept); KZ_ENOTFOUND, KZ_EINVALID. */
int kz_store_anomaly_set_state(kz_store *st, int64_t id, const char *state, const char *by, const char *note,
                               kz_time at);

/* ---- playbooks: rules, firings, deliveries, tasks, rule state ----------------------- */

/* A stored rule: its definition (JSON, rules/rule.h) by name, with its mode
 * ("on", "dry-run", "off"), where it came from ("file:PATH", "api:USER",
 * "cli") and since when it is switched on (enabled_at: set when the rule is
 * created not off, or when its mode goes from off to on or dry-run; 0 while
 * off): a rule acts only on what happens from then on, so that a restart or
 * a new rule never acts on the past. Strings borrowed (from the caller when
 * stored, from the store for the call when read). */
typedef struct kz_rule_rec {
    const char *name, *definition, *mode, *source;
    kz_time enabled_at, created_at, updated_at;
} kz_rule_rec;
typedef int (*kz_rule_rec_fn)(void *ctx, const kz_rule_rec *r);

/* Creates or replaces rule r->name (definition, mode, source; the times are
 * the store's). *out_created (may be NULL) is 1 when it is new. */
int kz_store_rule_put(kz_store *st, const kz_rule_rec *r, kz_time at, int *out_created);
/* Sets a rule's mode at time now; KZ_ENOTFOUND. since (on and dry-run; 0:
 * none) is when it acts from; without it, from now when it was off, else
 * from when it was switched on before. */
int kz_store_rule_set_mode(kz_store *st, const char *name, const char *mode, kz_time since, kz_time now);
/* Removes a rule (its firings, deliveries and tasks stay, for the record); KZ_ENOTFOUND. */
int kz_store_rule_remove(kz_store *st, const char *name);
/* One rule; KZ_ENOTFOUND. */
int kz_store_rule_get(kz_store *st, const char *name, kz_rule_rec_fn fn, void *ctx);
/* Every rule, by name. */
int kz_store_rules_each(kz_store *st, kz_rule_rec_fn fn, void *ctx);

/* A firing of a rule for a subject (an account, or a product user of one),
 * recorded once per (rule, subject_kind, subject, window_key): the window key
 * says which occasion it is (the completing event's time, the crossing's
 * day, the anchor date, the ticket's id). `at` is the time of what it fired
 * on, fired_at when Kizuna noticed. */
typedef struct kz_firing_rec {
    int64_t id;
    const char *rule;
    const char *subject_kind;   /* "account", "user" or "business" (a business-wide anomaly) */
    const char *subject;        /* the account's or the user's key; "business" */
    int64_t account_id;         /* internal id; 0: none (the business) */
    const char *account_key;    /* read only: the account's key (NULL when it was deleted) */
    const char *window_key;
    kz_time at, fired_at;
    const char *reason;         /* in words: "events purchase, purchase within 30d" */
    const char *why;            /* the same as data, a JSON object (rules/act.h); NULL: none (older firings) */
    int dry_run;
} kz_firing_rec;
typedef int (*kz_firing_fn)(void *ctx, const kz_firing_rec *f);

/* Records a firing: *out_id is its id, or 0 when that (rule, subject,
 * window) was recorded before (nothing written). Works inside the caller's
 * transaction (so that the firing and its actions commit together) or on its own. */
int kz_store_firing_add(kz_store *st, const kz_firing_rec *f, int64_t *out_id);
/* The time (at) of a firing of the rule for the subject less than `within`
 * from at (before or after it, at itself not counted), the nearest; 0 when
 * none. The cooldown: a rule fires again only that far from its other
 * firings, whatever order they are found in. */
int kz_store_firing_near(kz_store *st, const char *rule, const char *subject_kind, const char *subject,
                         kz_time at, kz_time within, kz_time *out_at);
/* Firings of rule (NULL: any) and account (0: any), the latest (by at, then id)
 * first, older than before_id (0: from the newest), at most limit. */
int kz_store_firings_each(kz_store *st, const char *rule, int64_t account_id, int64_t before_id, int64_t limit,
                          kz_firing_fn fn, void *ctx);

/* An action that reaches outside (e-mail, webhook), kept as an outbox row
 * until it is delivered or given up: state "pending" (next try at next_at),
 * "done" or "failed" (gave up after `attempts`; last_error says why). */
typedef struct kz_delivery_rec {
    int64_t id, firing_id;
    int action;                 /* the action's index in the rule */
    const char *kind;           /* "email", "webhook" */
    const char *payload;        /* JSON: what to send, rendered at firing */
    const char *state;
    int attempts;
    kz_time next_at, created_at, updated_at;
    const char *last_error;     /* NULL when none */
    const char *rule;           /* read only: the firing's rule */
    int64_t account_id;         /* read only: the firing's account */
} kz_delivery_rec;
typedef int (*kz_delivery_fn)(void *ctx, const kz_delivery_rec *d);

/* Adds a pending delivery (state, attempts and times are the store's: next_at = at). */
int kz_store_delivery_add(kz_store *st, const kz_delivery_rec *d, kz_time at, int64_t *out_id);
/* Pending deliveries whose next_at <= now, the oldest first, at most limit. */
int kz_store_deliveries_due(kz_store *st, kz_time now, int64_t limit, kz_delivery_fn fn, void *ctx);
/* Records a try: the new state, attempts, next_at (pending) and error (NULL: cleared); KZ_ENOTFOUND. */
int kz_store_delivery_set(kz_store *st, int64_t id, const char *state, int attempts, kz_time next_at,
                          const char *last_error, kz_time at);
/* Deliveries in state (NULL: any) of firing firing_id (0: any), the newest first, at most limit. */
int kz_store_deliveries_each(kz_store *st, const char *state, int64_t firing_id, int64_t limit, kz_delivery_fn fn,
                             void *ctx);

/* A task for a CSM: from a rule ("rule:NAME") or a person ("user:NAME"). */
typedef struct kz_task_rec {
    int64_t id;
    const char *title, *body;   /* body may be NULL */
    int64_t account_id;         /* internal id; 0: none */
    const char *account_key;    /* read only */
    const char *account_name;   /* read only: the account's name (NULL: none, or no account) */
    const char *assignee;       /* a user name or an account owner's name; NULL: nobody yet */
    kz_day due;                 /* KZ_DAY_NONE: none */
    const char *status;         /* "open", "done", "cancelled" */
    const char *source;
    int64_t firing_id;          /* 0: none */
    const char *playbook;       /* NULL: none */
    kz_time created_at, updated_at, closed_at; /* closed_at 0 while open */
} kz_task_rec;
typedef int (*kz_task_fn)(void *ctx, const kz_task_rec *t);

/* Adds an open task (status and times are the store's). Inside or outside a transaction. */
int kz_store_task_add(kz_store *st, const kz_task_rec *t, kz_time at, int64_t *out_id);
/* One task; KZ_ENOTFOUND. */
int kz_store_task_get(kz_store *st, int64_t id, kz_task_fn fn, void *ctx);
/* Changes what is given: status (NULL: kept; closing sets closed_at, reopening clears it), assignee
 * (NULL: kept), due (KZ_TASK_DUE_KEPT: kept; KZ_DAY_NONE: none); KZ_ENOTFOUND. */
#define KZ_TASK_DUE_KEPT INT32_MAX /* no day: what KZ_DAY_NONE - 1 meant, without its overflow */
int kz_store_task_set(kz_store *st, int64_t id, const char *status, const char *assignee, kz_day due, kz_time at);

typedef struct kz_task_query {
    const char *assignee;       /* NULL: anyone */
    int64_t account_id;         /* 0: any */
    const char *status;         /* NULL: any */
    kz_day due_before;          /* only tasks due before this day (overdue on it); KZ_DAY_NONE: any */
    int64_t after_id;           /* paging: ids above it (0: from the first) */
    int64_t limit;
} kz_task_query;
/* Tasks matching q by id (stable paging), at most q->limit. */
int kz_store_tasks_each(kz_store *st, const kz_task_query *q, kz_task_fn fn, void *ctx);

/* What a rule remembers of a subject between evaluations (a threshold: whether
 * the condition held when last looked at). *out_value is malloc'd (caller
 * frees), NULL when none; put with value NULL forgets it. */
int kz_store_rule_state_get(kz_store *st, const char *rule, const char *subject, char **out_value);
int kz_store_rule_state_put(kz_store *st, const char *rule, const char *subject, const char *value, kz_time at);

/* ---- users, tokens, sessions, audit ----------------------------------------------- */

/* A user of the server. Strings are malloc'd when handed out (free with
 * kz_user_free). */
typedef struct kz_user {
    int64_t id;
    char *name, *role, *password_hash; /* password_hash may be NULL: no password login */
    kz_time created_at;
} kz_user;
void kz_user_free(kz_user *u);

/* Adds a user (KZ_ECONFLICT when the name is taken). */
int kz_store_user_add(kz_store *st, const char *name, const char *role, const char *password_hash, kz_time at,
                      int64_t *out_id);
/* By name or by id (name NULL); KZ_ENOTFOUND. */
int kz_store_user_get(kz_store *st, const char *name, int64_t id, kz_user *out);
/* Sets what is not NULL of role and password_hash; KZ_ENOTFOUND. */
int kz_store_user_set(kz_store *st, const char *name, const char *role, const char *password_hash);
/* Removes a user, its tokens and sessions; KZ_ENOTFOUND. */
int kz_store_user_remove(kz_store *st, const char *name);
/* Calls fn for every user by name; values borrowed for the call. */
typedef int (*kz_user_fn)(void *ctx, const kz_user *u);
int kz_store_user_each(kz_store *st, kz_user_fn fn, void *ctx);

/* API tokens: only a hash of each is kept; prefix identifies it to people. */
int kz_store_token_add(kz_store *st, int64_t user_id, const char *hash, const char *prefix, kz_time at,
                       int64_t *out_id);
/* The user of a token's hash when it is not revoked; KZ_ENOTFOUND. */
int kz_store_token_user(kz_store *st, const char *hash, int64_t *out_user);
/* Revokes the user's tokens whose prefix is prefix (all when NULL); *n how many. */
int kz_store_token_revoke(kz_store *st, int64_t user_id, const char *prefix, kz_time at, int64_t *n);

/* Sessions of logged-in browsers, by a hash of the cookie. */
int kz_store_session_add(kz_store *st, const char *hash, int64_t user_id, const char *csrf, kz_time at,
                         kz_time expires);
/* The user and CSRF token of a session that has not expired at `now`;
 * KZ_ENOTFOUND. *csrf malloc'd. */
int kz_store_session_get(kz_store *st, const char *hash, kz_time now, int64_t *user, char **csrf);
int kz_store_session_remove(kz_store *st, const char *hash);

/* The audit log: who did what to what, from where. */
typedef struct kz_audit {
    int64_t id;
    kz_time at;
    const char *actor, *action, *target, *detail, *client;
} kz_audit;
int kz_store_audit_add(kz_store *st, const kz_audit *a);
/* The latest entries first, at most limit, older than before_id (0: from the newest). */
typedef int (*kz_audit_fn)(void *ctx, const kz_audit *a);
int kz_store_audit_each(kz_store *st, int64_t before_id, int64_t limit, kz_audit_fn fn, void *ctx);

#endif
