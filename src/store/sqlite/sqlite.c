/*
 * sqlite.c - the SQLite backend of store.h.
 *
 * One connection per handle, WAL journal, foreign keys on, synchronous=FULL so
 * that a commit is durable when it returns. Every statement is a constant string
 * with placeholders, prepared once per handle and kept in a cache indexed by an
 * enum; values are always bound. Identifiers never come from input.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/vec.h"
#include "store/backend.h"
#include "store/sqlite/sqlite_internal.h"

/* ---- statements ---------------------------------------------------------- */

/* Per entity: select by key (id first, then the columns in order), insert
 * (columns, then updated_at), update (id, columns, updated_at), the export walk
 * (id, then columns with references as keys) and the count. */
struct entity_sql {
    const char *sel, *ins, *upd, *each, *count;
    const char *one;        /* as each, the row of key ?1 (spend: month ?1, channel ?2) */
    const char *of_account; /* as each, the rows of account id ?1, newest first, at most ?2 (NULL: spend) */
    const char *del;        /* by key, as one */
};

static const struct entity_sql entity_sql[KZ_ENT_COUNT] = {
    [KZ_ENT_ACCOUNT] = {
        "SELECT id, account_key, name, domain, industry, owner, created_at FROM accounts "
        "WHERE account_key = ?1",
        "INSERT INTO accounts (account_key, name, domain, industry, owner, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        "UPDATE accounts SET account_key = ?2, name = ?3, domain = ?4, industry = ?5, owner = ?6, "
        "created_at = ?7, updated_at = ?8 WHERE id = ?1",
        "SELECT id, account_key, name, domain, industry, owner, created_at FROM accounts "
        "ORDER BY account_key",
        "SELECT count(*) FROM accounts",
        "SELECT id, account_key, name, domain, industry, owner, created_at FROM accounts WHERE account_key = ?1",
        "SELECT id, account_key, name, domain, industry, owner, created_at FROM accounts WHERE id = ?1 LIMIT ?2",
        "DELETE FROM accounts WHERE account_key = ?1",
    },
    [KZ_ENT_CONTACT] = {
        "SELECT id, contact_key, account_id, email, name, role, champion FROM contacts "
        "WHERE contact_key = ?1",
        "INSERT INTO contacts (contact_key, account_id, email, name, role, champion, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        "UPDATE contacts SET contact_key = ?2, account_id = ?3, email = ?4, name = ?5, role = ?6, "
        "champion = ?7, updated_at = ?8 WHERE id = ?1",
        "SELECT c.id, c.contact_key, a.account_key, c.email, c.name, c.role, c.champion "
        "FROM contacts c JOIN accounts a ON a.id = c.account_id ORDER BY c.contact_key",
        "SELECT count(*) FROM contacts",
        "SELECT c.id, c.contact_key, a.account_key, c.email, c.name, c.role, c.champion "
        "FROM contacts c JOIN accounts a ON a.id = c.account_id WHERE c.contact_key = ?1",
        "SELECT c.id, c.contact_key, a.account_key, c.email, c.name, c.role, c.champion "
        "FROM contacts c JOIN accounts a ON a.id = c.account_id WHERE c.account_id = ?1 "
        "ORDER BY c.contact_key LIMIT ?2",
        "DELETE FROM contacts WHERE contact_key = ?1",
    },
    [KZ_ENT_SUBSCRIPTION] = {
        "SELECT id, subscription_key, account_id, plan, mrr, quantity, start_date, end_date "
        "FROM subscriptions WHERE subscription_key = ?1",
        "INSERT INTO subscriptions (subscription_key, account_id, plan, mrr, quantity, start_date, "
        "end_date, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        "UPDATE subscriptions SET subscription_key = ?2, account_id = ?3, plan = ?4, mrr = ?5, "
        "quantity = ?6, start_date = ?7, end_date = ?8, updated_at = ?9 WHERE id = ?1",
        "SELECT s.id, s.subscription_key, a.account_key, s.plan, s.mrr, s.quantity, s.start_date, "
        "s.end_date FROM subscriptions s JOIN accounts a ON a.id = s.account_id "
        "ORDER BY s.subscription_key",
        "SELECT count(*) FROM subscriptions",
        "SELECT s.id, s.subscription_key, a.account_key, s.plan, s.mrr, s.quantity, s.start_date, "
        "s.end_date FROM subscriptions s JOIN accounts a ON a.id = s.account_id WHERE s.subscription_key = ?1",
        "SELECT s.id, s.subscription_key, a.account_key, s.plan, s.mrr, s.quantity, s.start_date, "
        "s.end_date FROM subscriptions s JOIN accounts a ON a.id = s.account_id WHERE s.account_id = ?1 "
        "ORDER BY s.start_date DESC, s.subscription_key LIMIT ?2",
        "DELETE FROM subscriptions WHERE subscription_key = ?1",
    },
    [KZ_ENT_TICKET] = {
        "SELECT id, ticket_key, account_id, opened_at, first_response_at, resolved_at, category, "
        "category_source, priority, subject, body FROM tickets WHERE ticket_key = ?1",
        "INSERT INTO tickets (ticket_key, account_id, opened_at, first_response_at, resolved_at, "
        "category, category_source, priority, subject, body, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        "UPDATE tickets SET ticket_key = ?2, account_id = ?3, opened_at = ?4, "
        "first_response_at = ?5, resolved_at = ?6, category = ?7, category_source = ?8, "
        "priority = ?9, subject = ?10, body = ?11, updated_at = ?12 WHERE id = ?1",
        "SELECT t.id, t.ticket_key, a.account_key, t.opened_at, t.first_response_at, t.resolved_at, "
        "t.category, t.category_source, t.priority, t.subject, t.body "
        "FROM tickets t JOIN accounts a ON a.id = t.account_id ORDER BY t.ticket_key",
        "SELECT count(*) FROM tickets",
        "SELECT t.id, t.ticket_key, a.account_key, t.opened_at, t.first_response_at, t.resolved_at, "
        "t.category, t.category_source, t.priority, t.subject, t.body "
        "FROM tickets t JOIN accounts a ON a.id = t.account_id WHERE t.ticket_key = ?1",
        "SELECT t.id, t.ticket_key, a.account_key, t.opened_at, t.first_response_at, t.resolved_at, "
        "t.category, t.category_source, t.priority, t.subject, t.body "
        "FROM tickets t JOIN accounts a ON a.id = t.account_id WHERE t.account_id = ?1 "
        "ORDER BY t.opened_at DESC, t.ticket_key LIMIT ?2",
        "DELETE FROM tickets WHERE ticket_key = ?1",
    },
    [KZ_ENT_NPS] = {
        "SELECT id, response_key, account_id, contact_id, ts, score, comment FROM nps_responses "
        "WHERE response_key = ?1",
        "INSERT INTO nps_responses (response_key, account_id, contact_id, ts, score, comment, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        "UPDATE nps_responses SET response_key = ?2, account_id = ?3, contact_id = ?4, ts = ?5, "
        "score = ?6, comment = ?7, updated_at = ?8 WHERE id = ?1",
        "SELECT n.id, n.response_key, a.account_key, c.contact_key, n.ts, n.score, n.comment "
        "FROM nps_responses n JOIN accounts a ON a.id = n.account_id "
        "LEFT JOIN contacts c ON c.id = n.contact_id ORDER BY n.response_key",
        "SELECT count(*) FROM nps_responses",
        "SELECT n.id, n.response_key, a.account_key, c.contact_key, n.ts, n.score, n.comment "
        "FROM nps_responses n JOIN accounts a ON a.id = n.account_id "
        "LEFT JOIN contacts c ON c.id = n.contact_id WHERE n.response_key = ?1",
        "SELECT n.id, n.response_key, a.account_key, c.contact_key, n.ts, n.score, n.comment "
        "FROM nps_responses n JOIN accounts a ON a.id = n.account_id "
        "LEFT JOIN contacts c ON c.id = n.contact_id WHERE n.account_id = ?1 "
        "ORDER BY n.ts DESC, n.response_key LIMIT ?2",
        "DELETE FROM nps_responses WHERE response_key = ?1",
    },
    [KZ_ENT_ACTIVITY] = {
        "SELECT id, activity_key, account_id, ts, kind, direction, subject, body, author "
        "FROM activities WHERE activity_key = ?1",
        "INSERT INTO activities (activity_key, account_id, ts, kind, direction, subject, body, "
        "author, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        "UPDATE activities SET activity_key = ?2, account_id = ?3, ts = ?4, kind = ?5, "
        "direction = ?6, subject = ?7, body = ?8, author = ?9, updated_at = ?10 WHERE id = ?1",
        "SELECT t.id, t.activity_key, a.account_key, t.ts, t.kind, t.direction, t.subject, t.body, "
        "t.author FROM activities t JOIN accounts a ON a.id = t.account_id ORDER BY t.activity_key",
        "SELECT count(*) FROM activities",
        "SELECT t.id, t.activity_key, a.account_key, t.ts, t.kind, t.direction, t.subject, t.body, "
        "t.author FROM activities t JOIN accounts a ON a.id = t.account_id WHERE t.activity_key = ?1",
        "SELECT t.id, t.activity_key, a.account_key, t.ts, t.kind, t.direction, t.subject, t.body, "
        "t.author FROM activities t JOIN accounts a ON a.id = t.account_id WHERE t.account_id = ?1 "
        "ORDER BY t.ts DESC, t.activity_key LIMIT ?2",
        "DELETE FROM activities WHERE activity_key = ?1",
    },
    [KZ_ENT_SPEND] = {
        "SELECT id, month, channel, amount FROM spend WHERE month = ?1 AND channel = ?2",
        "INSERT INTO spend (month, channel, amount, updated_at) VALUES (?1, ?2, ?3, ?4)",
        "UPDATE spend SET month = ?2, channel = ?3, amount = ?4, updated_at = ?5 WHERE id = ?1",
        "SELECT id, month, channel, amount FROM spend ORDER BY month, channel",
        "SELECT count(*) FROM spend",
        "SELECT id, month, channel, amount FROM spend WHERE month = ?1 AND channel = ?2",
        NULL,
        "DELETE FROM spend WHERE month = ?1 AND channel = ?2",
    },
};

enum { ES_SEL, ES_INS, ES_UPD, ES_EACH, ES_COUNT, ES_ONE, ES_OF_ACCOUNT, ES_DEL, ES_N };

enum stmt_id {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SNAP_BEGIN,
    S_SNAP_END,
    S_ACCOUNT_KEYS,
    S_CONTACT_KEYS,
    S_CONTACT_ACCOUNT,
    S_FIELDS,
    S_FIELD_DEFINE,
    S_FIELD_UPSERT,
    S_FIELD_DELETE,
    S_FIELD_GET,
    S_USERS_LOAD,
    S_NAMES_LOAD,
    S_USERS_MAX,
    S_NAMES_MAX,
    S_USER_ADD,
    S_NAME_ADD,
    S_USERS_SIZE,
    S_NAMES_SIZE,
    S_BLOCK_PUT,
    S_BLOCK_LIST,
    S_BLOCK_GET,
    S_BLOCK_REPLACE,
    S_BLOCK_DELETE,
    S_BLOCK_SET_IDS,
    S_EVENT_COUNT,
    S_STATS_EVENTS,
    S_STATS_USERS,
    S_STATS_NAMES,
    S_STATS_FIELDS,
    S_STATS_MRR,
    S_STATS_TICKETS,
    S_IMPORT_LOG,
    S_VERSION_GET,
    S_VERSION_BUMP,
    S_MODEL_PUT,
    S_MODEL_LATEST,
    S_MODEL_LATEST_ANY,
    S_PRED_DELETE,
    S_PRED_PUT,
    S_PRED_EACH,
    S_HDEF_PUT,
    S_HDEF_GET,
    S_HDEF_LATEST,
    S_HEALTH_PUT,
    S_HEALTH_EACH,
    S_LOGIN_ADD,
    S_LOGIN_BY_NAME,
    S_LOGIN_BY_ID,
    S_LOGIN_SET_ROLE,
    S_LOGIN_SET_HASH,
    S_LOGIN_REMOVE,
    S_LOGIN_EACH,
    S_TOKEN_ADD,
    S_TOKEN_USER,
    S_TOKEN_REVOKE,
    S_TOKEN_REVOKE_ALL,
    S_SESSION_ADD,
    S_SESSION_GET,
    S_SESSION_REMOVE,
    S_AUDIT_ADD,
    S_AUDIT_EACH,
    S_ANOMALY_PUT,
    S_ANOMALY_EACH,
    S_ANOMALY_NEWEST,
    S_ANOMALY_COUNT,
    S_ANOMALY_GET,
    S_ANOMALY_STATE,
    S_RULE_MODE,
    S_RULE_INSERT,
    S_RULE_UPDATE,
    S_RULE_SET_MODE,
    S_RULE_REMOVE,
    S_RULE_GET,
    S_RULE_EACH,
    S_FIRING_ADD,
    S_FIRING_NEAR,
    S_FIRING_EACH,
    S_DELIVERY_ADD,
    S_DELIVERY_DUE,
    S_DELIVERY_SET,
    S_DELIVERY_EACH,
    S_TASK_ADD,
    S_TASK_GET,
    S_TASK_SET,
    S_TASK_EACH,
    S_RSTATE_GET,
    S_RSTATE_PUT,
    S_RSTATE_DELETE,
    S_N
};

static const char *const stmt_sql[S_N] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_SNAP_BEGIN] = "BEGIN DEFERRED",
    [S_SNAP_END] = "COMMIT",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_ACCOUNT_KEYS] = "SELECT account_key, id FROM accounts",
    [S_CONTACT_KEYS] = "SELECT contact_key, id FROM contacts",
    [S_CONTACT_ACCOUNT] = "SELECT account_id FROM contacts WHERE id = ?1",
    [S_FIELDS] = "SELECT id, name, type FROM custom_fields ORDER BY id",
    [S_FIELD_DEFINE] = "INSERT INTO custom_fields (name, type, created_at) VALUES (?1, ?2, ?3)",
    [S_FIELD_UPSERT] = "INSERT INTO account_fields (account_id, field_id, num, txt) VALUES (?1, ?2, ?3, ?4) "
                       "ON CONFLICT (account_id, field_id) DO UPDATE SET num = excluded.num, "
                       "txt = excluded.txt WHERE num IS NOT excluded.num OR txt IS NOT excluded.txt",
    [S_FIELD_DELETE] = "DELETE FROM account_fields WHERE account_id = ?1 AND field_id = ?2",
    [S_FIELD_GET] = "SELECT field_id, num, txt FROM account_fields WHERE account_id = ?1",
    [S_USERS_LOAD] = "SELECT user_key, id FROM product_users",
    [S_NAMES_LOAD] = "SELECT name, id FROM event_names",
    [S_USERS_MAX] = "SELECT coalesce(max(id), 0) FROM product_users",
    [S_NAMES_MAX] = "SELECT coalesce(max(id), 0) FROM event_names",
    [S_USER_ADD] = "INSERT INTO product_users (id, user_key, account_id) VALUES (?1, ?2, ?3)",
    [S_NAME_ADD] = "INSERT INTO event_names (id, name) VALUES (?1, ?2)",
    [S_USERS_SIZE] = "SELECT coalesce(max(id), 0), coalesce(sum(length(CAST(user_key AS BLOB))), 0), "
                     "count(*) FROM product_users",
    [S_NAMES_SIZE] = "SELECT coalesce(max(id), 0), coalesce(sum(length(CAST(name AS BLOB))), 0), "
                     "count(*) FROM event_names",
    [S_BLOCK_PUT] = "INSERT INTO event_blocks (min_ts, max_ts, n_events, bytes, created_at, data, n_ids) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_BLOCK_LIST] = "SELECT id, min_ts, max_ts, n_events, bytes, coalesce(n_ids, -1) FROM event_blocks "
                     "WHERE max_ts >= ?1 AND min_ts <= ?2 ORDER BY min_ts, id",
    [S_BLOCK_GET] = "SELECT data FROM event_blocks WHERE id = ?1",
    [S_BLOCK_REPLACE] = "UPDATE event_blocks SET min_ts = ?2, max_ts = ?3, n_events = ?4, bytes = ?5, data = ?6, "
                        "n_ids = ?7 WHERE id = ?1",
    [S_BLOCK_DELETE] = "DELETE FROM event_blocks WHERE id = ?1",
    [S_BLOCK_SET_IDS] = "UPDATE event_blocks SET n_ids = ?2 WHERE id = ?1",
    [S_EVENT_COUNT] = "SELECT coalesce(sum(n_events), 0) FROM event_blocks",
    [S_STATS_EVENTS] = "SELECT coalesce(sum(n_events), 0), count(*), coalesce(sum(bytes), 0), "
                       "coalesce(min(min_ts), 0), coalesce(max(max_ts), 0) FROM event_blocks",
    [S_STATS_USERS] = "SELECT count(*) FROM product_users",
    [S_STATS_NAMES] = "SELECT count(*) FROM event_names",
    [S_STATS_FIELDS] = "SELECT count(*) FROM custom_fields",
    [S_STATS_MRR] = "SELECT coalesce(sum(m), 0), coalesce(sum(m > 0), 0) FROM ("
                    "SELECT sum(mrr) AS m FROM subscriptions "
                    "WHERE start_date <= ?1 AND (end_date IS NULL OR end_date > ?1) GROUP BY account_id)",
    [S_STATS_TICKETS] = "SELECT count(*) FROM tickets WHERE opened_at < ?1 "
                        "AND (resolved_at IS NULL OR resolved_at >= ?1)",
    [S_IMPORT_LOG] = "INSERT INTO imports (entity, source, format, started_at, finished_at, rows_ok, "
                     "rows_rejected, inserted, updated, unchanged, status) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [S_VERSION_GET] = "SELECT value FROM meta WHERE key = 'data_version'",
    [S_VERSION_BUMP] = "UPDATE meta SET value = value + 1 WHERE key = 'data_version'",
    [S_MODEL_PUT] = "INSERT INTO models (kind, name, created_at, data_version, meta, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_MODEL_LATEST] = "SELECT id, kind, name, created_at, data_version, meta, body FROM models "
                       "WHERE kind = ?1 AND name = ?2 ORDER BY id DESC LIMIT 1",
    [S_MODEL_LATEST_ANY] = "SELECT id, kind, name, created_at, data_version, meta, body FROM models "
                           "WHERE kind = ?1 ORDER BY id DESC LIMIT 1",
    [S_PRED_DELETE] = "DELETE FROM predictions WHERE model_id = ?1",
    [S_PRED_PUT] = "INSERT INTO predictions (model_id, account_id, as_of, probability, drivers, computed_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_HDEF_PUT] = "INSERT INTO health_definitions (created_at, definition) VALUES (?1, ?2)",
    [S_HDEF_GET] = "SELECT version, definition FROM health_definitions WHERE version = ?1",
    [S_HDEF_LATEST] = "SELECT version, definition FROM health_definitions ORDER BY version DESC LIMIT 1",
    [S_HEALTH_PUT] = "INSERT INTO health_scores (account_id, day, score, band, version, parts, computed_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (account_id, day) DO UPDATE SET "
                     "score = excluded.score, band = excluded.band, version = excluded.version, "
                     "parts = excluded.parts, computed_at = excluded.computed_at",
    [S_HEALTH_EACH] = "SELECT a.account_key, h.account_id, h.day, h.score, h.band, h.version, h.parts "
                      "FROM health_scores h JOIN accounts a ON a.id = h.account_id "
                      "WHERE (?1 = 0 OR h.account_id = ?1) AND h.day BETWEEN ?2 AND ?3 "
                      "ORDER BY a.account_key, h.day",
    [S_LOGIN_ADD] = "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
    [S_LOGIN_BY_NAME] = "SELECT id, name, role, password_hash, created_at FROM users WHERE name = ?1",
    [S_LOGIN_BY_ID] = "SELECT id, name, role, password_hash, created_at FROM users WHERE id = ?1",
    [S_LOGIN_SET_ROLE] = "UPDATE users SET role = ?2 WHERE name = ?1",
    [S_LOGIN_SET_HASH] = "UPDATE users SET password_hash = ?2 WHERE name = ?1",
    [S_LOGIN_REMOVE] = "DELETE FROM users WHERE name = ?1",
    [S_LOGIN_EACH] = "SELECT id, name, role, password_hash, created_at FROM users ORDER BY name",
    [S_TOKEN_ADD] = "INSERT INTO api_tokens (user_id, hash, prefix, created_at) VALUES (?1, ?2, ?3, ?4)",
    [S_TOKEN_USER] = "SELECT user_id FROM api_tokens WHERE hash = ?1 AND revoked_at IS NULL",
    [S_TOKEN_REVOKE] = "UPDATE api_tokens SET revoked_at = ?3 WHERE user_id = ?1 AND prefix = ?2 AND revoked_at IS NULL",
    [S_TOKEN_REVOKE_ALL] = "UPDATE api_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
    [S_SESSION_ADD] = "INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_SESSION_GET] = "SELECT user_id, csrf FROM sessions WHERE hash = ?1 AND expires_at > ?2",
    [S_SESSION_REMOVE] = "DELETE FROM sessions WHERE hash = ?1",
    [S_ANOMALY_PUT] = "INSERT INTO anomalies (series, kind, grain, day, age, until_day, observed, expected, low, high, "
                      "score, direction, unit, message, found_at, updated_at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15) "
                      "ON CONFLICT (series, day, age) DO UPDATE SET kind = excluded.kind, grain = excluded.grain, "
                      "until_day = excluded.until_day, observed = excluded.observed, expected = excluded.expected, "
                      "low = excluded.low, high = excluded.high, score = excluded.score, "
                      "direction = excluded.direction, unit = excluded.unit, message = excluded.message, "
                      "updated_at = excluded.updated_at "
                      "WHERE (observed, expected, low, high, score, direction, message) IS NOT "
                      "(excluded.observed, excluded.expected, excluded.low, excluded.high, excluded.score, "
                      "excluded.direction, excluded.message) "
                      "RETURNING id, found_at = updated_at AND found_at = ?15",
#define ANOMALY_COLS                                                                                              \
    "id, series, kind, grain, day, age, until_day, observed, expected, low, high, score, direction, unit, message, " \
    "state, state_by, note, found_at, updated_at"
#define ANOMALY_WHERE                                                                                             \
    "FROM anomalies WHERE until_day >= ?1 AND day <= ?2 AND (?3 IS NULL OR state = ?3) "                         \
    "AND (?4 IS NULL OR series = ?4 OR kind = ?4) "
    [S_ANOMALY_EACH] = "SELECT " ANOMALY_COLS " " ANOMALY_WHERE "ORDER BY day, series, age LIMIT ?5 OFFSET ?6",
    [S_ANOMALY_NEWEST] = "SELECT " ANOMALY_COLS " " ANOMALY_WHERE "ORDER BY day DESC, id DESC LIMIT ?5 OFFSET ?6",
    [S_ANOMALY_COUNT] = "SELECT count(*) " ANOMALY_WHERE,
    [S_ANOMALY_GET] = "SELECT " ANOMALY_COLS " FROM anomalies WHERE id = ?1",
    [S_ANOMALY_STATE] = "UPDATE anomalies SET state = ?2, state_by = ?3, note = coalesce(?4, note), updated_at = ?5 "
                        "WHERE id = ?1",
    [S_RULE_MODE] = "SELECT mode, enabled_at FROM rules WHERE name = ?1",
    [S_RULE_INSERT] = "INSERT INTO rules (name, definition, mode, source, enabled_at, created_at, updated_at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    [S_RULE_UPDATE] = "UPDATE rules SET definition = ?2, mode = ?3, source = ?4, enabled_at = ?5, updated_at = ?6 "
                      "WHERE name = ?1",
    [S_RULE_SET_MODE] = "UPDATE rules SET mode = ?2, enabled_at = ?3, updated_at = ?4 WHERE name = ?1",
    [S_RULE_REMOVE] = "DELETE FROM rules WHERE name = ?1",
#define RULE_COLS "name, definition, mode, source, enabled_at, created_at, updated_at"
    [S_RULE_GET] = "SELECT " RULE_COLS " FROM rules WHERE name = ?1",
    [S_RULE_EACH] = "SELECT " RULE_COLS " FROM rules ORDER BY name",
    /* a row back only when inserted: a firing seen before writes nothing */
    [S_FIRING_ADD] = "INSERT INTO rule_firings (rule, subject_kind, subject, account_id, window_key, at, fired_at, "
                     "reason, dry_run, why) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                     "ON CONFLICT (rule, subject_kind, subject, window_key) DO NOTHING RETURNING id",
    [S_FIRING_NEAR] = "SELECT at FROM rule_firings WHERE rule = ?1 AND subject_kind = ?2 AND subject = ?3 "
                      "AND at > ?4 - ?5 AND at < ?4 + ?5 AND at <> ?4 ORDER BY abs(at - ?4) LIMIT 1",
    /* paging: the rows after before_id's in the order (at DESC, id DESC) */
    [S_FIRING_EACH] = "SELECT f.id, f.rule, f.subject_kind, f.subject, coalesce(f.account_id, 0), a.account_key, "
                      "f.window_key, f.at, f.fired_at, f.reason, f.dry_run, f.why "
                      "FROM rule_firings f LEFT JOIN accounts a ON a.id = f.account_id "
                      "WHERE (?1 IS NULL OR f.rule = ?1) AND (?2 = 0 OR f.account_id = ?2) "
                      "AND (?3 = 0 OR (f.at, f.id) < (SELECT b.at, b.id FROM rule_firings b WHERE b.id = ?3)) "
                      "ORDER BY f.at DESC, f.id DESC LIMIT ?4",
    [S_DELIVERY_ADD] = "INSERT INTO deliveries (firing_id, action, kind, payload, next_at, created_at, updated_at) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)",
#define DELIVERY_COLS                                                                                              \
    "d.id, d.firing_id, d.action, d.kind, d.payload, d.state, d.attempts, d.next_at, d.created_at, d.updated_at, " \
    "d.last_error, f.rule, coalesce(f.account_id, 0) FROM deliveries d JOIN rule_firings f ON f.id = d.firing_id"
    [S_DELIVERY_DUE] = "SELECT " DELIVERY_COLS " WHERE d.state = 'pending' AND d.next_at <= ?1 "
                       "ORDER BY d.next_at, d.id LIMIT ?2",
    [S_DELIVERY_SET] = "UPDATE deliveries SET state = ?2, attempts = ?3, next_at = ?4, last_error = ?5, "
                       "updated_at = ?6 WHERE id = ?1",
    [S_DELIVERY_EACH] = "SELECT " DELIVERY_COLS " WHERE (?1 IS NULL OR d.state = ?1) "
                        "AND (?2 = 0 OR d.firing_id = ?2) ORDER BY d.id DESC LIMIT ?3",
    [S_TASK_ADD] = "INSERT INTO tasks (title, body, account_id, assignee, due_day, source, firing_id, playbook, "
                   "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
#define TASK_COLS                                                                                                  \
    "t.id, t.title, t.body, coalesce(t.account_id, 0), a.account_key, t.assignee, t.due_day, t.status, t.source, " \
    "coalesce(t.firing_id, 0), t.playbook, t.created_at, t.updated_at, t.closed_at, a.name "                      \
    "FROM tasks t LEFT JOIN accounts a ON a.id = t.account_id"
    [S_TASK_GET] = "SELECT " TASK_COLS " WHERE t.id = ?1",
    /* closed_at is 0 exactly while open: set when a task closes, kept when it
     * goes from one closed status to the other, cleared when it reopens */
    [S_TASK_SET] = "UPDATE tasks SET status = coalesce(?2, status), assignee = coalesce(?3, assignee), "
                   "due_day = CASE WHEN ?4 THEN due_day ELSE ?5 END, "
                   "closed_at = CASE WHEN ?2 IS NULL THEN closed_at WHEN ?2 = 'open' THEN 0 "
                   "WHEN closed_at = 0 THEN ?6 ELSE closed_at END, updated_at = ?6 WHERE id = ?1",
    [S_TASK_EACH] = "SELECT " TASK_COLS " WHERE (?1 IS NULL OR t.assignee = ?1) AND (?2 = 0 OR t.account_id = ?2) "
                    "AND (?3 IS NULL OR t.status = ?3) AND (?4 IS NULL OR (t.due_day IS NOT NULL AND t.due_day < ?4)) "
                    "AND t.id > ?5 ORDER BY t.id LIMIT ?6",
    [S_RSTATE_GET] = "SELECT value FROM rule_state WHERE rule = ?1 AND subject = ?2",
    [S_RSTATE_PUT] = "INSERT INTO rule_state (rule, subject, value, updated_at) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (rule, subject) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    [S_RSTATE_DELETE] = "DELETE FROM rule_state WHERE rule = ?1 AND subject = ?2",
    [S_AUDIT_ADD] = "INSERT INTO audit_log (at, actor, action, target, detail, client) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_AUDIT_EACH] = "SELECT id, at, actor, action, target, detail, client FROM audit_log "
                     "WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC LIMIT ?2",
    [S_PRED_EACH] = "SELECT a.account_key, p.account_id, p.as_of, p.probability, p.drivers FROM predictions p "
                    "JOIN accounts a ON a.id = p.account_id WHERE p.model_id = ?1 "
                    "ORDER BY p.probability DESC, a.account_key",
};

typedef struct sq_store {
    kz_store base;
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[S_N];
    sqlite3_stmt *ent[KZ_ENT_COUNT][ES_N];
    kz_arena *scratch; /* copies of text handed out, reset per call */
    int needs_migration; /* a read-only open found an older schema */
} sq_store;

static sq_store *sq(kz_store *st)
{
    return (sq_store *)st;
}

/* Sets the error from the connection's last message. */
static int db_error(sq_store *s, const char *what)
{
    int code = sqlite3_extended_errcode(s->db);
    int kz = KZ_EIO;
    if ((code & 0xff) == SQLITE_CONSTRAINT)
        kz = KZ_EINVALID;
    else if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
        kz = KZ_ECONFLICT;
    else if ((code & 0xff) == SQLITE_FULL)
        kz = KZ_ETOOBIG;
    if ((code & 0xff) == SQLITE_BUSY)
        return kz_error_set(kz, "%s: the database %s is locked by another process; try again", what,
                            s->path);
    return kz_error_set(kz, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int prepare(sq_store *s, sqlite3_stmt **slot, const char *sql)
{
    if (*slot) {
        sqlite3_reset(*slot);
        sqlite3_clear_bindings(*slot);
        return KZ_OK;
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK)
        return db_error(s, "preparing a statement");
    return KZ_OK;
}

/* The cached statement id, reset and cleared; NULL with the error set. */
static sqlite3_stmt *stmt(sq_store *s, enum stmt_id id)
{
    if (prepare(s, &s->stmt[id], stmt_sql[id]))
        return NULL;
    return s->stmt[id];
}

static sqlite3_stmt *ent_stmt(sq_store *s, kz_entity e, int which)
{
    const char *sql = NULL;
    switch (which) {
    case ES_SEL: sql = entity_sql[e].sel; break;
    case ES_INS: sql = entity_sql[e].ins; break;
    case ES_UPD: sql = entity_sql[e].upd; break;
    case ES_EACH: sql = entity_sql[e].each; break;
    case ES_COUNT: sql = entity_sql[e].count; break;
    case ES_ONE: sql = entity_sql[e].one; break;
    case ES_OF_ACCOUNT: sql = entity_sql[e].of_account; break;
    case ES_DEL: sql = entity_sql[e].del; break;
    }
    if (!sql) {
        kz_error_set(KZ_EINVALID, "%s have no such query", kz_entity_name(e));
        return NULL;
    }
    if (prepare(s, &s->ent[e][which], sql))
        return NULL;
    return s->ent[e][which];
}

static int exec(sq_store *s, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        int rc = kz_error_set(KZ_EIO, "%s", err ? err : sqlite3_errmsg(s->db));
        sqlite3_free(err);
        return rc;
    }
    return KZ_OK;
}

/* Steps a statement that returns no rows. */
static int step_done(sq_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        int err = db_error(s, what);
        sqlite3_reset(st);
        return err;
    }
    sqlite3_reset(st);
    return KZ_OK;
}

/* Steps a statement expected to return one row of integers. */
static int step_ints(sq_store *s, sqlite3_stmt *st, int64_t *out, int n, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        int err = rc == SQLITE_DONE ? kz_error_set(KZ_ENOTFOUND, "%s: no row", what) : db_error(s, what);
        sqlite3_reset(st);
        return err;
    }
    for (int i = 0; i < n; i++)
        out[i] = sqlite3_column_int64(st, i);
    sqlite3_reset(st);
    return KZ_OK;
}

static int bind_value(sqlite3_stmt *st, int idx, const kz_value *v)
{
    switch (v->kind) {
    case KZ_VNULL: return sqlite3_bind_null(st, idx);
    case KZ_VTEXT: return sqlite3_bind_text64(st, idx, v->n ? v->s : "", v->n, SQLITE_STATIC, SQLITE_UTF8);
    case KZ_VINT: return sqlite3_bind_int64(st, idx, v->i);
    case KZ_VREAL: return sqlite3_bind_double(st, idx, v->d);
    }
    return SQLITE_MISUSE;
}

/* Reads column col of the current row into *v (text borrowed until the next step). */
static void column_value(sqlite3_stmt *st, int col, kz_value *v)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER: *v = kz_vint(sqlite3_column_int64(st, col)); break;
    case SQLITE_FLOAT: *v = kz_vreal(sqlite3_column_double(st, col)); break;
    case SQLITE_TEXT: {
        const char *t = (const char *)sqlite3_column_text(st, col);
        *v = kz_vtext(t ? t : "", (size_t)sqlite3_column_bytes(st, col));
        break;
    }
    default: *v = kz_vnull(); break;
    }
}

/* ---- opening and migrations ------------------------------------------------- */

static void sq_close(kz_store *st)
{
    sq_store *s = sq(st);
    if (s->base.in_tx || s->base.in_snapshot)
        exec(s, "ROLLBACK");
    for (int i = 0; i < S_N; i++)
        sqlite3_finalize(s->stmt[i]);
    for (int e = 0; e < KZ_ENT_COUNT; e++)
        for (int k = 0; k < ES_N; k++)
            sqlite3_finalize(s->ent[e][k]);
    sqlite3_close(s->db);
    kz_arena_free(s->scratch);
    free(s->path);
    free(s);
}

static int pragma_int(sq_store *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = KZ_OK;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_error(s, "reading the database header");
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        rc = db_error(s, "reading the database header");
    sqlite3_finalize(st);
    return rc;
}

/* KZ_OK when no row breaks a foreign key, else an error naming the first. */
static int foreign_keys_hold(sq_store *s)
{
    sqlite3_stmt *st = NULL;
    int rc = KZ_OK;
    if (sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
        return db_error(s, "checking foreign keys");
    int sr = sqlite3_step(st);
    if (sr == SQLITE_ROW)
        rc = kz_error_set(KZ_ECONFLICT, "row %lld of table %s points at a missing row of %s",
                          (long long)sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 0),
                          (const char *)sqlite3_column_text(st, 2));
    else if (sr != SQLITE_DONE)
        rc = db_error(s, "checking foreign keys");
    sqlite3_finalize(st);
    return rc;
}

static int migrate(sq_store *s, int target)
{
    int64_t cur = 0, app = 0, tables = 0;
    int latest = kz_sqlite_latest_version();
    int rc = pragma_int(s, "PRAGMA user_version", &cur);
    if (!rc)
        rc = pragma_int(s, "PRAGMA application_id", &app);
    if (!rc)
        rc = pragma_int(s, "SELECT count(*) FROM sqlite_schema", &tables);
    if (rc)
        return kz_error_prefix(rc, "%s is not a Kizuna database", s->path);
    if (cur == 0 && tables > 0)
        return kz_error_set(KZ_ECONFLICT, "%s is a SQLite database of another program, not Kizuna's",
                            s->path);
    if (cur > 0 && app != KZ_SQLITE_APP_ID)
        return kz_error_set(KZ_ECONFLICT, "%s is not a Kizuna database (application id %lld)", s->path,
                            (long long)app);
    if (cur > latest)
        return kz_error_set(KZ_ECONFLICT,
                            "%s has schema version %lld, newer than this kizuna knows (%d); "
                            "use a newer kizuna",
                            s->path, (long long)cur, latest);
    if (cur < target && s->base.readonly) {
        s->needs_migration = 1;
        return kz_error_set(KZ_ECONFLICT,
                            "%s has schema version %lld and needs migrating to %d, which needs write "
                            "access to the file",
                            s->path, (long long)cur, target);
    }
    /* foreign keys off while a migration makes a table again (SQLite's
     * procedure for schema changes ALTER TABLE cannot make), and checked
     * whole before each commit */
    if (cur < target && (rc = exec(s, "PRAGMA foreign_keys = OFF")))
        return rc;
    for (int v = (int)cur + 1; v <= target && !rc; v++) {
        rc = exec(s, "BEGIN IMMEDIATE");
        if (!rc)
            rc = exec(s, kz_sqlite_migration(v));
        if (!rc)
            rc = foreign_keys_hold(s);
        if (rc) {
            kz_error_prefix(rc, "%s: migration to schema version %d failed", s->path, v);
            exec(s, "ROLLBACK");
            break;
        }
        if ((rc = exec(s, "COMMIT")))
            kz_error_prefix(rc, "%s: committing migration %d", s->path, v);
    }
    if (cur < target) {
        int on = exec(s, "PRAGMA foreign_keys = ON");
        rc = rc ? rc : on;
    }
    return rc;
}

static const kz_store_ops sq_ops;
static void sq_close(kz_store *st);

/* Library-wide settings, made once before the first connection: without
 * memory statistics SQLite's allocator takes no global lock per allocation
 * (we never read the statistics). */
static void configure_library(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static pthread_once_t configure_once = PTHREAD_ONCE_INIT;

static int open_db(kz_store **out, const char *path, int flags, int target, int *needs_migration)
{
    sq_store *s = calloc(1, sizeof *s);
    struct stat sb;
    int rc = KZ_OK;
    int exists = stat(path, &sb) == 0;

    *out = NULL;
    pthread_once(&configure_once, configure_library);
    if (!s)
        return kz_error_oom();
    s->base.ops = &sq_ops;
    s->base.readonly = (flags & KZ_STORE_READONLY) != 0;
    s->path = strdup(path);
    s->scratch = kz_arena_new(0);
    if (!s->path || !s->scratch) {
        rc = kz_error_oom();
        goto done;
    }
    if (!exists && !(flags & KZ_STORE_CREATE)) {
        rc = kz_error_set(KZ_ENOTFOUND, "database %s does not exist (import data first, or give --db)",
                          path);
        goto done;
    }
    if (exists && S_ISDIR(sb.st_mode)) {
        rc = kz_error_set(KZ_EINVALID, "database %s is a directory", path);
        goto done;
    }
    int oflags = s->base.readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = kz_error_set(KZ_EIO, "cannot open database %s: %s", path,
                          s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto done;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, 5000);
    if (!exists)
        rc = exec(s, "PRAGMA page_size = 16384");
    if (!rc && !s->base.readonly)
        rc = exec(s, "PRAGMA journal_mode = WAL");
    if (!rc)
        rc = exec(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536;"
                     " PRAGMA temp_store = MEMORY");
    if (rc) {
        kz_error_prefix(rc, "cannot open database %s", path);
        goto done;
    }
    rc = migrate(s, target);
done:
    if (rc) {
        if (needs_migration)
            *needs_migration = s->needs_migration;
        if (s->db)
            sqlite3_close(s->db);
        kz_arena_free(s->scratch);
        free(s->path);
        free(s);
        return rc;
    }
    s->base.location = s->path;
    *out = &s->base;
    return KZ_OK;
}

int kz_sqlite_open(kz_store **out, const char *path, int flags)
{
    int latest = kz_sqlite_latest_version(), older = 0;
    int rc = open_db(out, path, flags, latest, &older);
    if (rc == KZ_ECONFLICT && older) {
        /* a reader of an older database: migrate it forward, then read */
        kz_store *w = NULL;
        if (open_db(&w, path, flags & ~KZ_STORE_READONLY, latest, NULL) == KZ_OK) {
            sq_close(w);
            rc = open_db(out, path, flags, latest, NULL);
        }
    }
    return rc;
}

int kz_sqlite_open_at_version(kz_store **out, const char *path, int version)
{
    return open_db(out, path, KZ_STORE_CREATE, version, NULL);
}

static int sq_schema_version(kz_store *st, int *cur, int *latest)
{
    int64_t v = 0;
    int rc = pragma_int(sq(st), "PRAGMA user_version", &v);
    if (!rc) {
        *cur = (int)v;
        *latest = kz_sqlite_latest_version();
    }
    return rc;
}

/* ---- transactions ------------------------------------------------------------ */

static int sq_begin(kz_store *st)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_BEGIN);
    return q ? step_done(s, q, "starting a transaction") : KZ_EIO;
}

static int sq_commit(kz_store *st)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_COMMIT);
    return q ? step_done(s, q, "committing") : KZ_EIO;
}

static int sq_rollback(kz_store *st)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_ROLLBACK);
    return q ? step_done(s, q, "rolling back") : KZ_EIO;
}

/* A deferred transaction takes its snapshot at the first read; the version
 * read makes that happen now. */
static int sq_snapshot_begin(kz_store *st)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_SNAP_BEGIN);
    int rc = q ? step_done(s, q, "starting a read snapshot") : KZ_EIO;
    if (rc)
        return rc;
    int64_t v;
    q = stmt(s, S_VERSION_GET);
    rc = q ? step_ints(s, q, &v, 1, "starting a read snapshot") : KZ_EIO;
    if (rc)
        exec(s, "ROLLBACK");
    return rc;
}

static int sq_snapshot_end(kz_store *st)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_SNAP_END);
    return q ? step_done(s, q, "ending a read snapshot") : KZ_EIO;
}

/* ---- rows -------------------------------------------------------------------- */

/* Binds and runs the INSERT of entity e with the columns of mask (others NULL). */
static int insert_row(sq_store *s, kz_entity e, const kz_value *row, uint64_t mask, int64_t *out_id)
{
    size_t ncols;
    kz_store_columns(e, &ncols);
    int nkeys = e == KZ_ENT_SPEND ? 2 : 1;
    sqlite3_stmt *w = ent_stmt(s, e, ES_INS);
    if (!w)
        return KZ_EIO;
    for (size_t c = 0; c < ncols; c++) {
        kz_value nul = kz_vnull();
        bind_value(w, (int)c + 1, (mask >> c) & 1 || (int)c < nkeys ? &row[c] : &nul);
    }
    sqlite3_bind_int64(w, (int)ncols + 1, kz_now());
    int rc = step_done(s, w, "inserting a row");
    if (!rc && out_id)
        *out_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int sq_insert(kz_store *st, kz_entity e, const kz_value *row, uint64_t present, int64_t *out_id)
{
    return insert_row(sq(st), e, row, present, out_id);
}

static int sq_upsert(kz_store *st, kz_entity e, const kz_value *row, uint64_t present, uint64_t defaults,
                     int64_t *out_id, kz_row_change *out_change)
{
    sq_store *s = sq(st);
    size_t ncols;
    const kz_store_column *cols = kz_store_columns(e, &ncols);
    int nkeys = e == KZ_ENT_SPEND ? 2 : 1;
    sqlite3_stmt *sel = ent_stmt(s, e, ES_SEL);
    sqlite3_stmt *w = NULL;
    int64_t now = kz_now();
    int rc;
    (void)cols;

    if (!sel)
        return KZ_EIO;
    for (int k = 0; k < nkeys; k++)
        bind_value(sel, k + 1, &row[k]);
    rc = sqlite3_step(sel);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(sel);
        rc = insert_row(s, e, row, present | defaults, out_id);
        if (rc)
            return rc;
        if (out_change)
            *out_change = KZ_ROW_INSERTED;
        return KZ_OK;
    }
    if (rc != SQLITE_ROW) {
        rc = db_error(s, "looking up a row");
        sqlite3_reset(sel);
        return rc;
    }
    int64_t id = sqlite3_column_int64(sel, 0);
    int changed = 0;
    for (size_t c = 0; c < ncols && !changed; c++) {
        kz_value old;
        if (!((present >> c) & 1))
            continue;
        column_value(sel, (int)c + 1, &old);
        if (!kz_value_eq(&old, &row[c]))
            changed = 1;
    }
    if (out_id)
        *out_id = id;
    if (!changed) {
        sqlite3_reset(sel);
        if (out_change)
            *out_change = KZ_ROW_UNCHANGED;
        return KZ_OK;
    }
    w = ent_stmt(s, e, ES_UPD);
    if (!w) {
        sqlite3_reset(sel);
        return KZ_EIO;
    }
    sqlite3_bind_int64(w, 1, id);
    for (size_t c = 0; c < ncols; c++) {
        if ((present >> c) & 1 || (int)c < nkeys)
            bind_value(w, (int)c + 2, &row[c]);
        else /* keep: sqlite3_bind_value copies the old value */
            sqlite3_bind_value(w, (int)c + 2, sqlite3_column_value(sel, (int)c + 1));
    }
    sqlite3_bind_int64(w, (int)ncols + 2, now);
    sqlite3_reset(sel);
    rc = step_done(s, w, "updating a row");
    if (rc)
        return rc;
    if (out_change)
        *out_change = KZ_ROW_UPDATED;
    return KZ_OK;
}

static int load_map(sq_store *s, sqlite3_stmt *q, kz_strmap *map, const char *what)
{
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(q, 0);
        size_t n = (size_t)sqlite3_column_bytes(q, 0);
        int64_t id = sqlite3_column_int64(q, 1);
        if (id <= 0 || id > UINT32_MAX) {
            sqlite3_reset(q);
            return kz_error_set(KZ_ETOOBIG, "%s: id %lld does not fit the dictionary", what, (long long)id);
        }
        if (kz_strmap_put(map, k ? k : "", n, (uint32_t)id)) {
            sqlite3_reset(q);
            return KZ_ENOMEM;
        }
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(s, what);
        sqlite3_reset(q);
        return rc;
    }
    sqlite3_reset(q);
    return KZ_OK;
}

static int sq_keys(kz_store *st, kz_entity e, kz_strmap *map)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, e == KZ_ENT_ACCOUNT ? S_ACCOUNT_KEYS : S_CONTACT_KEYS);
    return q ? load_map(s, q, map, "loading keys") : KZ_EIO;
}

static int sq_contact_account(kz_store *st, int64_t contact_id, int64_t *out)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_CONTACT_ACCOUNT);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, contact_id);
    return step_ints(s, q, out, 1, "looking up a contact");
}

static int sq_count(kz_store *st, kz_entity e, int64_t *out)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = ent_stmt(s, e, ES_COUNT);
    return q ? step_ints(s, q, out, 1, "counting rows") : KZ_EIO;
}

static int sq_each(kz_store *st, kz_entity e, kz_row_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    size_t ncols;
    kz_value row[KZ_STORE_MAX_COLS];
    sqlite3_stmt *q;
    int rc;

    kz_store_columns(e, &ncols);
    /* a private statement: fn may call back into the store */
    if (sqlite3_prepare_v2(s->db, entity_sql[e].each, -1, &q, NULL) != SQLITE_OK)
        return db_error(s, "reading rows");
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        for (size_t c = 0; c < ncols; c++)
            column_value(q, (int)c + 1, &row[c]);
        rc = fn(ctx, sqlite3_column_int64(q, 0), row);
        if (rc) {
            sqlite3_finalize(q);
            return rc;
        }
    }
    rc = rc == SQLITE_DONE ? KZ_OK : db_error(s, "reading rows");
    sqlite3_finalize(q);
    return rc;
}

/* Binds the key of entity e (spend: month and channel) from key[0..]. */
static void bind_key(sqlite3_stmt *q, kz_entity e, const kz_value *key)
{
    bind_value(q, 1, &key[0]);
    if (e == KZ_ENT_SPEND)
        bind_value(q, 2, &key[1]);
}

/* Steps q, handing each row (as sq_each) to fn. */
static int walk_rows(sq_store *s, kz_entity e, sqlite3_stmt *q, kz_row_fn fn, void *ctx, int64_t *nrows)
{
    size_t ncols;
    kz_value row[KZ_STORE_MAX_COLS];
    int rc;
    kz_store_columns(e, &ncols);
    *nrows = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        for (size_t c = 0; c < ncols; c++)
            column_value(q, (int)c + 1, &row[c]);
        (*nrows)++;
        rc = fn(ctx, sqlite3_column_int64(q, 0), row);
        if (rc) {
            sqlite3_reset(q);
            return rc;
        }
    }
    rc = rc == SQLITE_DONE ? KZ_OK : db_error(s, "reading rows");
    sqlite3_reset(q);
    return rc;
}

static int sq_get(kz_store *st, kz_entity e, const kz_value *key, kz_row_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = ent_stmt(s, e, ES_ONE);
    int64_t n;
    if (!q)
        return KZ_EIO;
    bind_key(q, e, key);
    int rc = walk_rows(s, e, q, fn, ctx, &n);
    if (!rc && n == 0)
        rc = kz_error_set(KZ_ENOTFOUND, "no such %s", kz_entity_name(e));
    return rc;
}

static int sq_each_of_account(kz_store *st, kz_entity e, int64_t account_id, int64_t limit, kz_row_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = ent_stmt(s, e, ES_OF_ACCOUNT);
    int64_t n;
    if (!q)
        return kz_error_code() == KZ_EINVALID ? KZ_EINVALID : KZ_EIO;
    sqlite3_bind_int64(q, 1, account_id);
    sqlite3_bind_int64(q, 2, limit);
    return walk_rows(s, e, q, fn, ctx, &n);
}

static int sq_delete(kz_store *st, kz_entity e, const kz_value *key)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = ent_stmt(s, e, ES_DEL);
    if (!q)
        return KZ_EIO;
    bind_key(q, e, key);
    int rc = step_done(s, q, "deleting a row");
    if (!rc && sqlite3_changes(s->db) == 0)
        rc = kz_error_set(KZ_ENOTFOUND, "no such %s", kz_entity_name(e));
    return rc;
}

/* ---- custom fields --------------------------------------------------------------- */

static int sq_fields(kz_store *st, kz_field_def **out, size_t *n)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_FIELDS);
    KZ_VEC(kz_field_def) defs = { 0 };
    int rc;

    *out = NULL;
    *n = 0;
    if (!q)
        return KZ_EIO;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        kz_field_def d;
        const char *name = (const char *)sqlite3_column_text(q, 1);
        const char *type = (const char *)sqlite3_column_text(q, 2);
        d.id = sqlite3_column_int64(q, 0);
        snprintf(d.name, sizeof d.name, "%s", name ? name : "");
        if (kz_field_type_parse(&d.type, type ? type : "") || kz_vec_push(&defs, d)) {
            rc = kz_error_code();
            goto fail;
        }
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(s, "reading custom fields");
        goto fail;
    }
    sqlite3_reset(q);
    *out = defs.v;
    *n = defs.n;
    return KZ_OK;
fail:
    sqlite3_reset(q);
    kz_vec_free(&defs);
    return rc ? rc : KZ_EIO;
}

static int sq_field_define(kz_store *st, const char *name, kz_field_type type, int64_t *out_id)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_FIELD_DEFINE);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, kz_field_type_name(type), -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, kz_now());
    int rc = step_done(s, q, "defining a custom field");
    if (rc == KZ_EINVALID)
        return kz_error_set(KZ_ECONFLICT, "custom field '%s' already exists", name);
    if (!rc && out_id)
        *out_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int sq_field_set(kz_store *st, int64_t account_id, int64_t field_id, const kz_value *v,
                        int *out_changed)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q;
    int rc;

    if (v->kind == KZ_VNULL) {
        q = stmt(s, S_FIELD_DELETE);
        if (!q)
            return KZ_EIO;
        sqlite3_bind_int64(q, 1, account_id);
        sqlite3_bind_int64(q, 2, field_id);
    } else {
        q = stmt(s, S_FIELD_UPSERT);
        if (!q)
            return KZ_EIO;
        sqlite3_bind_int64(q, 1, account_id);
        sqlite3_bind_int64(q, 2, field_id);
        if (v->kind == KZ_VTEXT) {
            sqlite3_bind_null(q, 3);
            bind_value(q, 4, v);
        } else {
            bind_value(q, 3, v);
            sqlite3_bind_null(q, 4);
        }
    }
    rc = step_done(s, q, "setting a custom field");
    if (!rc && out_changed)
        *out_changed = sqlite3_changes(s->db) > 0;
    return rc;
}

static int sq_field_values(kz_store *st, int64_t account_id, const kz_field_def *defs, size_t n,
                           kz_value *vals)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_FIELD_GET);
    int rc;

    for (size_t i = 0; i < n; i++)
        vals[i] = kz_vnull();
    if (!q)
        return KZ_EIO;
    kz_arena_reset(s->scratch);
    sqlite3_bind_int64(q, 1, account_id);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t fid = sqlite3_column_int64(q, 0);
        for (size_t i = 0; i < n; i++) {
            if (defs[i].id != fid)
                continue;
            if (sqlite3_column_type(q, 2) == SQLITE_TEXT) {
                /* copied: the row's text dies with the next step */
                const char *t = (const char *)sqlite3_column_text(q, 2);
                size_t len = (size_t)sqlite3_column_bytes(q, 2);
                char *copy = kz_arena_strndup(s->scratch, t ? t : "", len);
                if (!copy) {
                    sqlite3_reset(q);
                    return KZ_ENOMEM;
                }
                vals[i] = kz_vtext(copy, len);
            } else {
                column_value(q, 1, &vals[i]);
            }
        }
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(s, "reading custom fields");
        sqlite3_reset(q);
        return rc;
    }
    sqlite3_reset(q);
    return KZ_OK;
}

/* ---- product events --------------------------------------------------------------- */

static int sq_dict_load(kz_store *st, kz_dict d, kz_strmap *map, uint32_t *out_max)
{
    sq_store *s = sq(st);
    int64_t max = 0;
    sqlite3_stmt *q = stmt(s, d == KZ_DICT_USERS ? S_USERS_LOAD : S_NAMES_LOAD);
    int rc = q ? load_map(s, q, map, "loading a dictionary") : KZ_EIO;
    if (rc)
        return rc;
    q = stmt(s, d == KZ_DICT_USERS ? S_USERS_MAX : S_NAMES_MAX);
    rc = q ? step_ints(s, q, &max, 1, "loading a dictionary") : KZ_EIO;
    if (!rc)
        *out_max = (uint32_t)max;
    return rc;
}

static int sq_dict_add(kz_store *st, kz_dict d, uint32_t id, const char *key, size_t n,
                       int64_t account_id)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, d == KZ_DICT_USERS ? S_USER_ADD : S_NAME_ADD);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text64(q, 2, n ? key : "", n, SQLITE_STATIC, SQLITE_UTF8);
    if (d == KZ_DICT_USERS) {
        if (account_id > 0)
            sqlite3_bind_int64(q, 3, account_id);
        else
            sqlite3_bind_null(q, 3);
    }
    return step_done(s, q, "adding to a dictionary");
}

static int sq_dict_array(kz_store *st, kz_dict d, char ***out, size_t *out_n)
{
    sq_store *s = sq(st);
    int64_t size[3];
    sqlite3_stmt *q = stmt(s, d == KZ_DICT_USERS ? S_USERS_SIZE : S_NAMES_SIZE);
    int rc = q ? step_ints(s, q, size, 3, "reading a dictionary") : KZ_EIO;
    if (rc)
        return rc;
    size_t n = (size_t)size[0] + 1;
    size_t bytes = n * sizeof(char *) + (size_t)size[1] + (size_t)size[2];
    char **arr = calloc(1, bytes);
    if (!arr)
        return kz_error_oom();
    char *heap = (char *)(arr + n);
    q = stmt(s, d == KZ_DICT_USERS ? S_USERS_LOAD : S_NAMES_LOAD);
    if (!q) {
        free(arr);
        return KZ_EIO;
    }
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 1);
        const char *k = (const char *)sqlite3_column_text(q, 0);
        size_t len = (size_t)sqlite3_column_bytes(q, 0);
        if (id <= 0 || (size_t)id >= n || (size_t)(heap - (char *)(arr + n)) + len + 1 > bytes - n * sizeof(char *))
            continue; /* cannot happen while the size query and this one agree */
        memcpy(heap, k ? k : "", len);
        heap[len] = '\0';
        arr[id] = heap;
        heap += len + 1;
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(s, "reading a dictionary");
        sqlite3_reset(q);
        free(arr);
        return rc;
    }
    sqlite3_reset(q);
    *out = arr;
    *out_n = n;
    return KZ_OK;
}

static int sq_block_put(kz_store *st, const kz_block_meta *m, const void *data, size_t n, int64_t *out_id)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_BLOCK_PUT);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, m->min_ts);
    sqlite3_bind_int64(q, 2, m->max_ts);
    sqlite3_bind_int64(q, 3, m->n_events);
    sqlite3_bind_int64(q, 4, (int64_t)n);
    sqlite3_bind_int64(q, 5, kz_now());
    sqlite3_bind_blob64(q, 6, data, n, SQLITE_STATIC);
    if (m->n_ids >= 0)
        sqlite3_bind_int64(q, 7, m->n_ids);
    else
        sqlite3_bind_null(q, 7);
    int rc = step_done(s, q, "storing an event block");
    if (!rc && out_id)
        *out_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int sq_block_list(kz_store *st, kz_time from, kz_time to, kz_block_meta **out, size_t *n)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_BLOCK_LIST);
    KZ_VEC(kz_block_meta) v = { 0 };
    int rc;

    *out = NULL;
    *n = 0;
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, from);
    sqlite3_bind_int64(q, 2, to);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        kz_block_meta b;
        b.id = sqlite3_column_int64(q, 0);
        b.min_ts = sqlite3_column_int64(q, 1);
        b.max_ts = sqlite3_column_int64(q, 2);
        b.n_events = sqlite3_column_int64(q, 3);
        b.bytes = sqlite3_column_int64(q, 4);
        b.n_ids = sqlite3_column_int64(q, 5);
        if (kz_vec_push(&v, b)) {
            sqlite3_reset(q);
            kz_vec_free(&v);
            return KZ_ENOMEM;
        }
    }
    if (rc != SQLITE_DONE) {
        rc = db_error(s, "listing event blocks");
        kz_vec_free(&v);
        sqlite3_reset(q);
        return rc;
    }
    sqlite3_reset(q);
    *out = v.v;
    *n = v.n;
    return KZ_OK;
}

/* Runs an UPDATE or DELETE of one block by id: KZ_ENOTFOUND when no row changed. */
static int block_change(sq_store *s, sqlite3_stmt *q, int64_t id, const char *what)
{
    int rc = step_done(s, q, what);
    if (!rc && sqlite3_changes(s->db) == 0)
        rc = kz_error_set(KZ_ENOTFOUND, "event block %lld does not exist", (long long)id);
    return rc;
}

static int sq_block_replace(kz_store *st, int64_t id, const kz_block_meta *m, const void *data, size_t n)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_BLOCK_REPLACE);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, m->min_ts);
    sqlite3_bind_int64(q, 3, m->max_ts);
    sqlite3_bind_int64(q, 4, m->n_events);
    sqlite3_bind_int64(q, 5, (int64_t)n);
    sqlite3_bind_blob64(q, 6, data, n, SQLITE_STATIC);
    if (m->n_ids >= 0)
        sqlite3_bind_int64(q, 7, m->n_ids);
    else
        sqlite3_bind_null(q, 7);
    return block_change(s, q, id, "replacing an event block");
}

static int sq_block_delete(kz_store *st, int64_t id)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_BLOCK_DELETE);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, id);
    return block_change(s, q, id, "deleting an event block");
}

static int sq_block_set_ids(kz_store *st, int64_t id, int64_t n_ids)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_BLOCK_SET_IDS);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, n_ids);
    return block_change(s, q, id, "counting the ids of an event block");
}

static int sq_event_count(kz_store *st, int64_t *out)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_EVENT_COUNT);
    return q ? step_ints(s, q, out, 1, "counting events") : KZ_EIO;
}

static int sq_block_get(kz_store *st, int64_t id, kz_buf *out)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_BLOCK_GET);
    int rc;
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(q, 0);
        size_t n = (size_t)sqlite3_column_bytes(q, 0);
        rc = kz_buf_append(out, p, n);
    } else if (rc == SQLITE_DONE) {
        rc = kz_error_set(KZ_ENOTFOUND, "event block %lld does not exist", (long long)id);
    } else {
        rc = db_error(s, "reading an event block");
    }
    sqlite3_reset(q);
    return rc;
}

/* ---- summary and ledger ------------------------------------------------------------- */

static int sq_stats_get(kz_store *st, kz_day as_of, kz_store_stats *out)
{
    sq_store *s = sq(st);
    int64_t v[5];
    sqlite3_stmt *q;
    int rc = KZ_OK;

    for (int e = 0; e < KZ_ENT_COUNT && !rc; e++)
        rc = sq_count(st, (kz_entity)e, &out->rows[e]);
    if (rc)
        return rc;
    if (!(q = stmt(s, S_STATS_EVENTS)) || (rc = step_ints(s, q, v, 5, "counting events")))
        return rc ? rc : KZ_EIO;
    out->events = v[0];
    out->blocks = v[1];
    out->block_bytes = v[2];
    out->first_event = v[3];
    out->last_event = v[4];
    if (!(q = stmt(s, S_STATS_USERS)) || (rc = step_ints(s, q, &out->users, 1, "counting users")))
        return rc ? rc : KZ_EIO;
    if (!(q = stmt(s, S_STATS_NAMES)) || (rc = step_ints(s, q, &out->event_names, 1, "counting events")))
        return rc ? rc : KZ_EIO;
    if (!(q = stmt(s, S_STATS_FIELDS)) || (rc = step_ints(s, q, &out->fields, 1, "counting fields")))
        return rc ? rc : KZ_EIO;
    if (!(q = stmt(s, S_STATS_MRR)))
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, as_of);
    if ((rc = step_ints(s, q, v, 2, "summing MRR")))
        return rc;
    out->mrr = v[0];
    out->paying_accounts = v[1];
    if (!(q = stmt(s, S_STATS_TICKETS)))
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, kz_day_time(as_of + 1));
    return step_ints(s, q, &out->open_tickets, 1, "counting tickets");
}

static int sq_import_log(kz_store *st, const kz_import_rec *r)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_IMPORT_LOG);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, r->entity, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, r->format, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, r->started_at);
    sqlite3_bind_int64(q, 5, r->finished_at);
    sqlite3_bind_int64(q, 6, r->rows_ok);
    sqlite3_bind_int64(q, 7, r->rows_rejected);
    sqlite3_bind_int64(q, 8, r->inserted);
    sqlite3_bind_int64(q, 9, r->updated);
    sqlite3_bind_int64(q, 10, r->unchanged);
    sqlite3_bind_text(q, 11, r->status, -1, SQLITE_STATIC);
    return step_done(s, q, "recording the import");
}

static int sq_data_version(kz_store *st, int64_t *out)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_VERSION_GET);
    return q ? step_ints(s, q, out, 1, "reading the data version") : KZ_EIO;
}

static int sq_touch(kz_store *st)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_VERSION_BUMP);
    return q ? step_done(s, q, "raising the data version") : KZ_EIO;
}

static int sq_model_put(kz_store *st, const kz_model_rec *m, int64_t *out_id)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_MODEL_PUT);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, m->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, m->created_at);
    sqlite3_bind_int64(q, 4, m->data_version);
    sqlite3_bind_text(q, 5, m->meta, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(q, 6, m->body, m->body_len, SQLITE_STATIC);
    int rc = step_done(s, q, "storing the model");
    if (!rc)
        *out_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

/* A malloc'd copy of column i of the current row (text or blob), with a NUL
 * after it; *n gets its length. */
static void *column_copy(sqlite3_stmt *q, int i, size_t *n)
{
    const void *p = sqlite3_column_blob(q, i);
    size_t len = (size_t)sqlite3_column_bytes(q, i);
    char *c = malloc(len + 1);
    if (!c)
        return NULL;
    if (len)
        memcpy(c, p, len);
    c[len] = '\0';
    if (n)
        *n = len;
    return c;
}

static int sq_model_latest(kz_store *st, const char *kind, const char *name, kz_model_rec **out)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, name ? S_MODEL_LATEST : S_MODEL_LATEST_ANY);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    if (name)
        sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        int err = rc == SQLITE_DONE ? kz_error_set(KZ_ENOTFOUND, "no %s model%s%s yet", kind, name ? " " : "",
                                                   name ? name : "")
                                    : db_error(s, "reading the model");
        sqlite3_reset(q);
        return err;
    }
    kz_model_rec *m = calloc(1, sizeof *m);
    if (m) {
        m->id = sqlite3_column_int64(q, 0);
        m->kind = column_copy(q, 1, NULL);
        m->name = column_copy(q, 2, NULL);
        m->created_at = sqlite3_column_int64(q, 3);
        m->data_version = sqlite3_column_int64(q, 4);
        m->meta = column_copy(q, 5, NULL);
        m->body = column_copy(q, 6, &m->body_len);
    }
    sqlite3_reset(q);
    if (!m || !m->kind || !m->name || !m->meta || !m->body) {
        kz_model_rec_free(m);
        return kz_error_oom();
    }
    *out = m;
    return KZ_OK;
}

static int sq_predictions_put(kz_store *st, int64_t model_id, const kz_prediction *p, size_t n, kz_time at)
{
    sq_store *s = sq(st);
    sqlite3_stmt *del = stmt(s, S_PRED_DELETE), *ins = stmt(s, S_PRED_PUT);
    if (!del || !ins)
        return KZ_EIO;
    int rc = sq_begin(st);
    if (rc)
        return rc;
    sqlite3_bind_int64(del, 1, model_id);
    rc = step_done(s, del, "replacing the predictions");
    for (size_t i = 0; i < n && !rc; i++) {
        sqlite3_bind_int64(ins, 1, model_id);
        sqlite3_bind_int64(ins, 2, p[i].account_id);
        sqlite3_bind_int64(ins, 3, p[i].as_of);
        sqlite3_bind_double(ins, 4, p[i].probability);
        sqlite3_bind_text(ins, 5, p[i].drivers, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 6, at);
        rc = step_done(s, ins, "storing a prediction");
    }
    if (rc) {
        sq_rollback(st);
        return rc;
    }
    return sq_commit(st);
}

static int sq_predictions_each(kz_store *st, int64_t model_id, kz_prediction_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_PRED_EACH);
    int rc = KZ_OK, sr;
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, model_id);
    while ((sr = sqlite3_step(q)) == SQLITE_ROW) {
        kz_prediction p = { sqlite3_column_int64(q, 1), (kz_day)sqlite3_column_int64(q, 2),
                            sqlite3_column_double(q, 3), (const char *)sqlite3_column_text(q, 4) };
        if ((rc = fn(ctx, (const char *)sqlite3_column_text(q, 0), &p)))
            break;
    }
    if (!rc && sr != SQLITE_DONE)
        rc = db_error(s, "reading the predictions");
    sqlite3_reset(q);
    return rc;
}

static int sq_health_def_put(kz_store *st, const char *json, kz_time at, int64_t *out_version)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_HDEF_PUT);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, at);
    sqlite3_bind_text(q, 2, json, -1, SQLITE_STATIC);
    int rc = step_done(s, q, "storing the health definition");
    if (!rc)
        *out_version = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int sq_health_def_get(kz_store *st, int64_t version, int64_t *out_version, char **out_json)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, version ? S_HDEF_GET : S_HDEF_LATEST);
    if (!q)
        return KZ_EIO;
    if (version)
        sqlite3_bind_int64(q, 1, version);
    int rc = sqlite3_step(q);
    if (rc != SQLITE_ROW) {
        int err = rc == SQLITE_DONE ? kz_error_set(KZ_ENOTFOUND, "no health definition%s stored", version ? " of that version" : "")
                                    : db_error(s, "reading the health definition");
        sqlite3_reset(q);
        return err;
    }
    *out_version = sqlite3_column_int64(q, 0);
    *out_json = column_copy(q, 1, NULL);
    sqlite3_reset(q);
    return *out_json ? KZ_OK : kz_error_oom();
}

/* Text column i, or NULL. */
static const char *text_col(sqlite3_stmt *q, int i)
{
    return (const char *)sqlite3_column_text(q, i);
}

static int sq_health_put(kz_store *st, const kz_health_row *rows, size_t n, kz_time at)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_HEALTH_PUT);
    if (!q)
        return KZ_EIO;
    int rc = sq_begin(st);
    for (size_t i = 0; i < n && !rc; i++) {
        sqlite3_bind_int64(q, 1, rows[i].account_id);
        sqlite3_bind_int64(q, 2, rows[i].day);
        sqlite3_bind_double(q, 3, rows[i].score);
        sqlite3_bind_text(q, 4, rows[i].band, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, rows[i].version);
        sqlite3_bind_text(q, 6, rows[i].parts, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 7, at);
        rc = step_done(s, q, "storing a health score");
    }
    if (rc) {
        sq_rollback(st);
        return rc;
    }
    return sq_commit(st);
}

static int sq_health_each(kz_store *st, int64_t account_id, kz_day from, kz_day to, kz_health_row_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_HEALTH_EACH);
    int rc = KZ_OK, sr;
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, account_id);
    sqlite3_bind_int64(q, 2, from);
    sqlite3_bind_int64(q, 3, to);
    while ((sr = sqlite3_step(q)) == SQLITE_ROW) {
        kz_health_row row = { sqlite3_column_int64(q, 1),           (kz_day)sqlite3_column_int64(q, 2),
                              sqlite3_column_double(q, 3),          (const char *)sqlite3_column_text(q, 4),
                              sqlite3_column_int64(q, 5),           (const char *)sqlite3_column_text(q, 6) };
        if ((rc = fn(ctx, (const char *)sqlite3_column_text(q, 0), &row)))
            break;
    }
    if (!rc && sr != SQLITE_DONE)
        rc = db_error(s, "reading the health scores");
    sqlite3_reset(q);
    return rc;
}


static int user_row(sqlite3_stmt *q, kz_user *u)
{
    const char *h = text_col(q, 3);
    u->id = sqlite3_column_int64(q, 0);
    u->name = strdup(text_col(q, 1) ? text_col(q, 1) : "");
    u->role = strdup(text_col(q, 2) ? text_col(q, 2) : "");
    u->password_hash = h ? strdup(h) : NULL;
    u->created_at = sqlite3_column_int64(q, 4);
    if (!u->name || !u->role || (h && !u->password_hash)) {
        kz_user_free(u);
        return kz_error_oom();
    }
    return KZ_OK;
}

static int sq_user_add(kz_store *st, const char *name, const char *role, const char *hash, kz_time at, int64_t *out)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_LOGIN_ADD);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, role, -1, SQLITE_STATIC);
    if (hash)
        sqlite3_bind_text(q, 3, hash, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 3);
    sqlite3_bind_int64(q, 4, at);
    int rc = step_done(s, q, "adding the user");
    if (rc == KZ_EINVALID)
        return kz_error_set(KZ_ECONFLICT, "there is a user called '%s' already", name);
    if (!rc)
        *out = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int sq_user_get(kz_store *st, const char *name, int64_t id, kz_user *out)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, name ? S_LOGIN_BY_NAME : S_LOGIN_BY_ID);
    if (!q)
        return KZ_EIO;
    if (name)
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        rc = user_row(q, out);
    else if (rc == SQLITE_DONE)
        rc = kz_error_set(KZ_ENOTFOUND, "no user '%s'", name ? name : "?");
    else
        rc = db_error(s, "reading the user");
    sqlite3_reset(q);
    return rc;
}

/* Runs a one-row write and says KZ_ENOTFOUND when it changed nothing. */
static int write_one(sq_store *s, sqlite3_stmt *q, const char *what, const char *name)
{
    int rc = step_done(s, q, what);
    if (!rc && sqlite3_changes(s->db) == 0)
        rc = kz_error_set(KZ_ENOTFOUND, "no user '%s'", name);
    return rc;
}

static int sq_user_set(kz_store *st, const char *name, const char *role, const char *hash)
{
    sq_store *s = sq(st);
    int rc = KZ_OK;
    if (role) {
        sqlite3_stmt *q = stmt(s, S_LOGIN_SET_ROLE);
        if (!q)
            return KZ_EIO;
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, role, -1, SQLITE_STATIC);
        rc = write_one(s, q, "setting the role", name);
    }
    if (!rc && hash) {
        sqlite3_stmt *q = stmt(s, S_LOGIN_SET_HASH);
        if (!q)
            return KZ_EIO;
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, hash, -1, SQLITE_STATIC);
        rc = write_one(s, q, "setting the password", name);
    }
    return rc;
}

static int sq_user_remove(kz_store *st, const char *name)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_LOGIN_REMOVE);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    return write_one(s, q, "removing the user", name);
}

static int sq_user_each(kz_store *st, kz_user_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_LOGIN_EACH);
    int rc = KZ_OK, sr;
    if (!q)
        return KZ_EIO;
    while (!rc && (sr = sqlite3_step(q)) == SQLITE_ROW) {
        kz_user u = { sqlite3_column_int64(q, 0), (char *)(uintptr_t)text_col(q, 1), (char *)(uintptr_t)text_col(q, 2),
                      (char *)(uintptr_t)text_col(q, 3), sqlite3_column_int64(q, 4) };
        rc = fn(ctx, &u);
    }
    if (!rc && sr != SQLITE_DONE)
        rc = db_error(s, "listing the users");
    sqlite3_reset(q);
    return rc;
}

static int sq_token_add(kz_store *st, int64_t user, const char *hash, const char *prefix, kz_time at, int64_t *out)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_TOKEN_ADD);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, user);
    sqlite3_bind_text(q, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, at);
    int rc = step_done(s, q, "storing the token");
    if (!rc)
        *out = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static int sq_token_user(kz_store *st, const char *hash, int64_t *out_user)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_TOKEN_USER);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    int rc = step_ints(s, q, out_user, 1, "checking the token");
    return rc == KZ_ENOTFOUND ? kz_error_set(KZ_ENOTFOUND, "unknown or revoked token") : rc;
}

static int sq_token_revoke(kz_store *st, int64_t user, const char *prefix, kz_time at, int64_t *n)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, prefix ? S_TOKEN_REVOKE : S_TOKEN_REVOKE_ALL);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, user);
    if (prefix) {
        sqlite3_bind_text(q, 2, prefix, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, at);
    } else {
        sqlite3_bind_int64(q, 2, at);
    }
    int rc = step_done(s, q, "revoking tokens");
    *n = rc ? 0 : sqlite3_changes(s->db);
    return rc;
}

static int sq_session_add(kz_store *st, const char *hash, int64_t user, const char *csrf, kz_time at, kz_time exp)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_SESSION_ADD);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, user);
    sqlite3_bind_text(q, 3, csrf, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, at);
    sqlite3_bind_int64(q, 5, exp);
    return step_done(s, q, "storing the session");
}

static int sq_session_get(kz_store *st, const char *hash, kz_time now, int64_t *user, char **csrf)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_SESSION_GET);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, now);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *user = sqlite3_column_int64(q, 0);
        *csrf = strdup(text_col(q, 1) ? text_col(q, 1) : "");
        rc = *csrf ? KZ_OK : kz_error_oom();
    } else {
        rc = rc == SQLITE_DONE ? kz_error_set(KZ_ENOTFOUND, "no such session") : db_error(s, "reading the session");
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_session_remove(kz_store *st, const char *hash)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_SESSION_REMOVE);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
    return step_done(s, q, "ending the session");
}

static int sq_anomalies_put(kz_store *st, const kz_anomaly_rec *v, size_t n, kz_time at, int64_t *out_new)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_ANOMALY_PUT);
    if (!q)
        return KZ_EIO;
    int64_t fresh = 0;
    int rc = sq_begin(st);
    for (size_t i = 0; i < n && !rc; i++) {
        const kz_anomaly_rec *a = &v[i];
        sqlite3_bind_text(q, 1, a->series, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, a->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, a->grain, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, a->day);
        sqlite3_bind_int64(q, 5, a->age);
        sqlite3_bind_int64(q, 6, a->until);
        sqlite3_bind_double(q, 7, a->observed);
        sqlite3_bind_double(q, 8, a->expected);
        sqlite3_bind_double(q, 9, a->low);
        sqlite3_bind_double(q, 10, a->high);
        sqlite3_bind_double(q, 11, a->score);
        sqlite3_bind_text(q, 12, a->higher ? "up" : "down", -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 13, a->unit, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 14, a->message, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 15, at);
        /* a row back: inserted, or changed (unchanged ones return none) */
        int sr;
        while ((sr = sqlite3_step(q)) == SQLITE_ROW)
            fresh += sqlite3_column_int(q, 1);
        if (sr != SQLITE_DONE)
            rc = db_error(s, "storing an anomaly");
        sqlite3_reset(q);
    }
    if (rc) {
        sq_rollback(st);
        return rc;
    }
    if ((rc = sq_commit(st)))
        return rc;
    if (out_new)
        *out_new = fresh;
    return KZ_OK;
}

static void anomaly_row(sqlite3_stmt *q, kz_anomaly_rec *a)
{
    a->id = sqlite3_column_int64(q, 0);
    a->series = text_col(q, 1);
    a->kind = text_col(q, 2);
    a->grain = text_col(q, 3);
    a->day = (kz_day)sqlite3_column_int64(q, 4);
    a->age = sqlite3_column_int(q, 5);
    a->until = (kz_day)sqlite3_column_int64(q, 6);
    a->observed = sqlite3_column_double(q, 7);
    a->expected = sqlite3_column_double(q, 8);
    a->low = sqlite3_column_double(q, 9);
    a->high = sqlite3_column_double(q, 10);
    a->score = sqlite3_column_double(q, 11);
    a->higher = text_col(q, 12) && strcmp(text_col(q, 12), "up") == 0;
    a->unit = text_col(q, 13);
    a->message = text_col(q, 14);
    a->state = text_col(q, 15);
    a->state_by = text_col(q, 16);
    a->note = text_col(q, 17);
    a->found_at = sqlite3_column_int64(q, 18);
    a->updated_at = sqlite3_column_int64(q, 19);
}

static void bind_text_or_null(sqlite3_stmt *q, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

/* The arguments ?1..?4 of ANOMALY_WHERE. */
static void bind_anomaly_query(sqlite3_stmt *q, const kz_anomaly_query *aq)
{
    sqlite3_bind_int64(q, 1, aq->from);
    sqlite3_bind_int64(q, 2, aq->to);
    bind_text_or_null(q, 3, aq->state);
    bind_text_or_null(q, 4, aq->series);
}

static int sq_anomalies_count(kz_store *st, const kz_anomaly_query *aq, int64_t *out_n)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_ANOMALY_COUNT);
    *out_n = 0;
    if (!q)
        return KZ_EIO;
    bind_anomaly_query(q, aq);
    int rc = KZ_OK;
    if (sqlite3_step(q) == SQLITE_ROW)
        *out_n = sqlite3_column_int64(q, 0);
    else
        rc = db_error(s, "counting the anomalies");
    sqlite3_reset(q);
    return rc;
}

static int sq_anomalies_each(kz_store *st, const kz_anomaly_query *aq, kz_anomaly_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, aq->newest ? S_ANOMALY_NEWEST : S_ANOMALY_EACH);
    int rc = KZ_OK, sr;
    if (!q)
        return KZ_EIO;
    bind_anomaly_query(q, aq);
    sqlite3_bind_int64(q, 5, aq->limit);
    sqlite3_bind_int64(q, 6, aq->offset);
    while (!rc && (sr = sqlite3_step(q)) == SQLITE_ROW) {
        kz_anomaly_rec a;
        anomaly_row(q, &a);
        rc = fn(ctx, &a);
    }
    if (!rc && sr != SQLITE_DONE)
        rc = db_error(s, "reading the anomalies");
    sqlite3_reset(q);
    return rc;
}

static int sq_anomaly_get(kz_store *st, int64_t id, kz_anomaly_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_ANOMALY_GET);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, id);
    int sr = sqlite3_step(q), rc;
    if (sr == SQLITE_ROW) {
        kz_anomaly_rec a;
        anomaly_row(q, &a);
        rc = fn(ctx, &a);
    } else if (sr == SQLITE_DONE) {
        rc = kz_error_set(KZ_ENOTFOUND, "no anomaly %lld", (long long)id);
    } else {
        rc = db_error(s, "reading an anomaly");
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_anomaly_state(kz_store *st, int64_t id, const char *state, const char *by, const char *note,
                            kz_time at)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_ANOMALY_STATE);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, by, -1, SQLITE_STATIC);
    if (note)
        sqlite3_bind_text(q, 4, note, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 4);
    sqlite3_bind_int64(q, 5, at);
    int rc = step_done(s, q, "setting an anomaly's state");
    if (!rc && sqlite3_changes(s->db) == 0)
        rc = kz_error_set(KZ_ENOTFOUND, "no anomaly %lld", (long long)id);
    return rc;
}

/* ---- playbooks ------------------------------------------------------------------------ */

/* An internal id, 0 meaning none (NULL). */
static void bind_id_or_null(sqlite3_stmt *q, int i, int64_t id)
{
    if (id)
        sqlite3_bind_int64(q, i, id);
    else
        sqlite3_bind_null(q, i);
}

/* Opens a transaction of its own unless the caller's (or a snapshot) is open:
 * *own says whether own_end must finish it. */
static int own_begin(sq_store *s, int *own)
{
    *own = 0;
    if (s->base.in_tx || s->base.in_snapshot)
        return KZ_OK;
    int rc = sq_begin(&s->base);
    *own = rc == KZ_OK;
    return rc;
}

/* Commits an own transaction after success, rolls it back after rc. */
static int own_end(sq_store *s, int own, int rc)
{
    if (!own)
        return rc;
    if (rc) {
        sq_rollback(&s->base);
        return rc;
    }
    return sq_commit(&s->base);
}

/* Since when a rule in mode acts, given its mode before (NULL: it is new) and
 * enabled_at then: not while off; from now when it was off or new; else as before. */
static kz_time rule_enabled_at(const char *old_mode, kz_time old_enabled, const char *mode, kz_time at)
{
    if (strcmp(mode, "off") == 0)
        return 0;
    if (!old_mode || strcmp(old_mode, "off") == 0)
        return at;
    return old_enabled;
}

/* The enabled_at a rule in mode would have now (the old row read in the
 * transaction); *exists says whether there is one. */
static int rule_next_enabled(sq_store *s, const char *name, const char *mode, kz_time at, int *exists,
                             kz_time *enabled)
{
    sqlite3_stmt *q = stmt(s, S_RULE_MODE);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int sr = sqlite3_step(q), rc = KZ_OK;
    if (sr == SQLITE_ROW) {
        *exists = 1;
        *enabled = rule_enabled_at(text_col(q, 0), sqlite3_column_int64(q, 1), mode, at);
    } else if (sr == SQLITE_DONE) {
        *exists = 0;
        *enabled = rule_enabled_at(NULL, 0, mode, at);
    } else {
        rc = db_error(s, "reading a rule");
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_rule_put(kz_store *st, const kz_rule_rec *r, kz_time at, int *out_created)
{
    sq_store *s = sq(st);
    int own, exists = 0;
    kz_time enabled = 0;
    int rc = own_begin(s, &own);
    if (!rc)
        rc = rule_next_enabled(s, r->name, r->mode, at, &exists, &enabled);
    if (!rc) {
        sqlite3_stmt *q = stmt(s, exists ? S_RULE_UPDATE : S_RULE_INSERT);
        if (!q) {
            rc = KZ_EIO;
        } else {
            sqlite3_bind_text(q, 1, r->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, r->definition, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 3, r->mode, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 4, r->source, -1, SQLITE_STATIC);
            sqlite3_bind_int64(q, 5, enabled);
            sqlite3_bind_int64(q, 6, at);
            rc = step_done(s, q, "storing a rule");
        }
    }
    rc = own_end(s, own, rc);
    if (!rc && out_created)
        *out_created = !exists;
    return rc;
}

static int sq_rule_set_mode(kz_store *st, const char *name, const char *mode, kz_time since, kz_time now)
{
    sq_store *s = sq(st);
    int own, exists = 0;
    kz_time enabled = 0;
    int rc = own_begin(s, &own);
    if (!rc)
        rc = rule_next_enabled(s, name, mode, now, &exists, &enabled);
    if (!rc && since)
        enabled = since;
    if (!rc && !exists)
        rc = kz_error_set(KZ_ENOTFOUND, "no rule '%s'", name);
    if (!rc) {
        sqlite3_stmt *q = stmt(s, S_RULE_SET_MODE);
        if (!q) {
            rc = KZ_EIO;
        } else {
            sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, mode, -1, SQLITE_STATIC);
            sqlite3_bind_int64(q, 3, enabled);
            sqlite3_bind_int64(q, 4, now);
            rc = step_done(s, q, "setting a rule's mode");
        }
    }
    return own_end(s, own, rc);
}

static int sq_rule_remove(kz_store *st, const char *name)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_RULE_REMOVE);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int rc = step_done(s, q, "removing a rule");
    if (!rc && sqlite3_changes(s->db) == 0)
        rc = kz_error_set(KZ_ENOTFOUND, "no rule '%s'", name);
    return rc;
}

static void rule_row(sqlite3_stmt *q, kz_rule_rec *r)
{
    r->name = text_col(q, 0);
    r->definition = text_col(q, 1);
    r->mode = text_col(q, 2);
    r->source = text_col(q, 3);
    r->enabled_at = sqlite3_column_int64(q, 4);
    r->created_at = sqlite3_column_int64(q, 5);
    r->updated_at = sqlite3_column_int64(q, 6);
}

static int sq_rule_get(kz_store *st, const char *name, kz_rule_rec_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_RULE_GET);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    int sr = sqlite3_step(q), rc;
    if (sr == SQLITE_ROW) {
        kz_rule_rec r;
        rule_row(q, &r);
        rc = fn(ctx, &r);
    } else if (sr == SQLITE_DONE) {
        rc = kz_error_set(KZ_ENOTFOUND, "no rule '%s'", name);
    } else {
        rc = db_error(s, "reading a rule");
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_rules_each(kz_store *st, kz_rule_rec_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_RULE_EACH);
    int rc = KZ_OK, sr;
    if (!q)
        return KZ_EIO;
    while (!rc && (sr = sqlite3_step(q)) == SQLITE_ROW) {
        kz_rule_rec r;
        rule_row(q, &r);
        rc = fn(ctx, &r);
    }
    if (!rc && sr != SQLITE_DONE)
        rc = db_error(s, "reading the rules");
    sqlite3_reset(q);
    return rc;
}

static int sq_firing_add(kz_store *st, const kz_firing_rec *f, int64_t *out_id)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_FIRING_ADD);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, f->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, f->subject_kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, f->subject, -1, SQLITE_STATIC);
    bind_id_or_null(q, 4, f->account_id);
    sqlite3_bind_text(q, 5, f->window_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, f->at);
    sqlite3_bind_int64(q, 7, f->fired_at);
    sqlite3_bind_text(q, 8, f->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 9, f->dry_run != 0);
    bind_text_or_null(q, 10, f->why);
    int64_t id = 0;
    int sr = sqlite3_step(q), rc = KZ_OK;
    if (sr == SQLITE_ROW) {
        id = sqlite3_column_int64(q, 0);
        sr = sqlite3_step(q); /* finishes the insert */
    }
    if (sr != SQLITE_DONE)
        rc = db_error(s, "recording a firing");
    sqlite3_reset(q);
    if (!rc && out_id)
        *out_id = id;
    return rc;
}

static int sq_firing_near(kz_store *st, const char *rule, const char *subject_kind, const char *subject,
                          kz_time at, kz_time within, kz_time *out_at)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_FIRING_NEAR);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, subject_kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, subject, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, at);
    sqlite3_bind_int64(q, 5, within);
    int sr = sqlite3_step(q), rc = KZ_OK;
    if (sr == SQLITE_ROW)
        *out_at = sqlite3_column_int64(q, 0);
    else if (sr != SQLITE_DONE)
        rc = db_error(s, "reading a rule's firings near a time");
    sqlite3_reset(q);
    return rc;
}

static int sq_firings_each(kz_store *st, const char *rule, int64_t account_id, int64_t before_id, int64_t limit,
                           kz_firing_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_FIRING_EACH);
    int rc = KZ_OK, sr;
    if (!q)
        return KZ_EIO;
    bind_text_or_null(q, 1, rule);
    sqlite3_bind_int64(q, 2, account_id);
    sqlite3_bind_int64(q, 3, before_id);
    sqlite3_bind_int64(q, 4, limit);
    while (!rc && (sr = sqlite3_step(q)) == SQLITE_ROW) {
        kz_firing_rec f = {
            .id = sqlite3_column_int64(q, 0),
            .rule = text_col(q, 1),
            .subject_kind = text_col(q, 2),
            .subject = text_col(q, 3),
            .account_id = sqlite3_column_int64(q, 4),
            .account_key = text_col(q, 5),
            .window_key = text_col(q, 6),
            .at = sqlite3_column_int64(q, 7),
            .fired_at = sqlite3_column_int64(q, 8),
            .reason = text_col(q, 9),
            .dry_run = sqlite3_column_int(q, 10),
            .why = text_col(q, 11),
        };
        rc = fn(ctx, &f);
    }
    if (!rc && sr != SQLITE_DONE)
        rc = db_error(s, "reading the firings");
    sqlite3_reset(q);
    return rc;
}

static int sq_delivery_add(kz_store *st, const kz_delivery_rec *d, kz_time at, int64_t *out_id)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_DELIVERY_ADD);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, d->firing_id);
    sqlite3_bind_int(q, 2, d->action);
    sqlite3_bind_text(q, 3, d->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, d->payload, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, at);
    int rc = step_done(s, q, "adding a delivery");
    if (!rc && out_id)
        *out_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

/* Steps a query of DELIVERY_COLS, handing each row to fn. */
static int walk_deliveries(sq_store *s, sqlite3_stmt *q, kz_delivery_fn fn, void *ctx)
{
    int rc = KZ_OK, sr;
    while (!rc && (sr = sqlite3_step(q)) == SQLITE_ROW) {
        kz_delivery_rec d = {
            .id = sqlite3_column_int64(q, 0),
            .firing_id = sqlite3_column_int64(q, 1),
            .action = sqlite3_column_int(q, 2),
            .kind = text_col(q, 3),
            .payload = text_col(q, 4),
            .state = text_col(q, 5),
            .attempts = sqlite3_column_int(q, 6),
            .next_at = sqlite3_column_int64(q, 7),
            .created_at = sqlite3_column_int64(q, 8),
            .updated_at = sqlite3_column_int64(q, 9),
            .last_error = text_col(q, 10),
            .rule = text_col(q, 11),
            .account_id = sqlite3_column_int64(q, 12),
        };
        rc = fn(ctx, &d);
    }
    if (!rc && sr != SQLITE_DONE)
        rc = db_error(s, "reading the deliveries");
    sqlite3_reset(q);
    return rc;
}

static int sq_deliveries_due(kz_store *st, kz_time now, int64_t limit, kz_delivery_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_DELIVERY_DUE);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, limit);
    return walk_deliveries(s, q, fn, ctx);
}

static int sq_delivery_set(kz_store *st, int64_t id, const char *state, int attempts, kz_time next_at,
                           const char *last_error, kz_time at)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_DELIVERY_SET);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_text(q, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, attempts);
    sqlite3_bind_int64(q, 4, next_at);
    bind_text_or_null(q, 5, last_error);
    sqlite3_bind_int64(q, 6, at);
    int rc = step_done(s, q, "recording a delivery");
    if (!rc && sqlite3_changes(s->db) == 0)
        rc = kz_error_set(KZ_ENOTFOUND, "no delivery %lld", (long long)id);
    return rc;
}

static int sq_deliveries_each(kz_store *st, const char *state, int64_t firing_id, int64_t limit,
                              kz_delivery_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_DELIVERY_EACH);
    if (!q)
        return KZ_EIO;
    bind_text_or_null(q, 1, state);
    sqlite3_bind_int64(q, 2, firing_id);
    sqlite3_bind_int64(q, 3, limit);
    return walk_deliveries(s, q, fn, ctx);
}

static int sq_task_add(kz_store *st, const kz_task_rec *t, kz_time at, int64_t *out_id)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_TASK_ADD);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, t->title, -1, SQLITE_STATIC);
    bind_text_or_null(q, 2, t->body);
    bind_id_or_null(q, 3, t->account_id);
    bind_text_or_null(q, 4, t->assignee);
    if (t->due == KZ_STORE_DAY_NONE)
        sqlite3_bind_null(q, 5);
    else
        sqlite3_bind_int64(q, 5, t->due);
    sqlite3_bind_text(q, 6, t->source, -1, SQLITE_STATIC);
    bind_id_or_null(q, 7, t->firing_id);
    bind_text_or_null(q, 8, t->playbook);
    sqlite3_bind_int64(q, 9, at);
    int rc = step_done(s, q, "adding a task");
    if (!rc && out_id)
        *out_id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static void task_row(sqlite3_stmt *q, kz_task_rec *t)
{
    t->id = sqlite3_column_int64(q, 0);
    t->title = text_col(q, 1);
    t->body = text_col(q, 2);
    t->account_id = sqlite3_column_int64(q, 3);
    t->account_key = text_col(q, 4);
    t->assignee = text_col(q, 5);
    t->due = sqlite3_column_type(q, 6) == SQLITE_NULL ? KZ_STORE_DAY_NONE : (kz_day)sqlite3_column_int64(q, 6);
    t->status = text_col(q, 7);
    t->source = text_col(q, 8);
    t->firing_id = sqlite3_column_int64(q, 9);
    t->playbook = text_col(q, 10);
    t->created_at = sqlite3_column_int64(q, 11);
    t->updated_at = sqlite3_column_int64(q, 12);
    t->closed_at = sqlite3_column_int64(q, 13);
    t->account_name = text_col(q, 14);
}

static int sq_task_get(kz_store *st, int64_t id, kz_task_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_TASK_GET);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, id);
    int sr = sqlite3_step(q), rc;
    if (sr == SQLITE_ROW) {
        kz_task_rec t;
        task_row(q, &t);
        rc = fn(ctx, &t);
    } else if (sr == SQLITE_DONE) {
        rc = kz_error_set(KZ_ENOTFOUND, "no task %lld", (long long)id);
    } else {
        rc = db_error(s, "reading a task");
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_task_set(kz_store *st, int64_t id, const char *status, const char *assignee, kz_day due, kz_time at)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_TASK_SET);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, id);
    bind_text_or_null(q, 2, status);
    bind_text_or_null(q, 3, assignee);
    sqlite3_bind_int(q, 4, due == KZ_TASK_DUE_KEPT);
    if (due == KZ_STORE_DAY_NONE || due == KZ_TASK_DUE_KEPT)
        sqlite3_bind_null(q, 5);
    else
        sqlite3_bind_int64(q, 5, due);
    sqlite3_bind_int64(q, 6, at);
    int rc = step_done(s, q, "changing a task");
    if (!rc && sqlite3_changes(s->db) == 0)
        rc = kz_error_set(KZ_ENOTFOUND, "no task %lld", (long long)id);
    return rc;
}

static int sq_tasks_each(kz_store *st, const kz_task_query *tq, kz_task_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_TASK_EACH);
    int rc = KZ_OK, sr;
    if (!q)
        return KZ_EIO;
    bind_text_or_null(q, 1, tq->assignee);
    sqlite3_bind_int64(q, 2, tq->account_id);
    bind_text_or_null(q, 3, tq->status);
    if (tq->due_before == KZ_STORE_DAY_NONE)
        sqlite3_bind_null(q, 4);
    else
        sqlite3_bind_int64(q, 4, tq->due_before);
    sqlite3_bind_int64(q, 5, tq->after_id);
    sqlite3_bind_int64(q, 6, tq->limit);
    while (!rc && (sr = sqlite3_step(q)) == SQLITE_ROW) {
        kz_task_rec t;
        task_row(q, &t);
        rc = fn(ctx, &t);
    }
    if (!rc && sr != SQLITE_DONE)
        rc = db_error(s, "reading the tasks");
    sqlite3_reset(q);
    return rc;
}

static int sq_rule_state_get(kz_store *st, const char *rule, const char *subject, char **out_value)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_RSTATE_GET);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, subject, -1, SQLITE_STATIC);
    int sr = sqlite3_step(q), rc = KZ_OK;
    if (sr == SQLITE_ROW) {
        *out_value = column_copy(q, 0, NULL);
        if (!*out_value)
            rc = kz_error_oom();
    } else if (sr != SQLITE_DONE) {
        rc = db_error(s, "reading a rule's state");
    }
    sqlite3_reset(q);
    return rc;
}

static int sq_rule_state_put(kz_store *st, const char *rule, const char *subject, const char *value, kz_time at)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, value ? S_RSTATE_PUT : S_RSTATE_DELETE);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_text(q, 1, rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, subject, -1, SQLITE_STATIC);
    if (value) {
        sqlite3_bind_text(q, 3, value, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, at);
    }
    return step_done(s, q, "storing a rule's state");
}

static int sq_audit_add(kz_store *st, const kz_audit *a)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_AUDIT_ADD);
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, a->at);
    sqlite3_bind_text(q, 2, a->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, a->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, a->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, a->detail, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, a->client, -1, SQLITE_STATIC);
    return step_done(s, q, "writing the audit log");
}

static int sq_audit_each(kz_store *st, int64_t before_id, int64_t limit, kz_audit_fn fn, void *ctx)
{
    sq_store *s = sq(st);
    sqlite3_stmt *q = stmt(s, S_AUDIT_EACH);
    int rc = KZ_OK, sr;
    if (!q)
        return KZ_EIO;
    sqlite3_bind_int64(q, 1, before_id);
    sqlite3_bind_int64(q, 2, limit);
    while (!rc && (sr = sqlite3_step(q)) == SQLITE_ROW) {
        kz_audit a = { sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1), text_col(q, 2), text_col(q, 3),
                       text_col(q, 4),             text_col(q, 5),             text_col(q, 6) };
        rc = fn(ctx, &a);
    }
    if (!rc && sr != SQLITE_DONE)
        rc = db_error(s, "reading the audit log");
    sqlite3_reset(q);
    return rc;
}

static const kz_store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .snapshot_begin = sq_snapshot_begin,
    .snapshot_end = sq_snapshot_end,
    .upsert = sq_upsert,
    .insert = sq_insert,
    .keys = sq_keys,
    .contact_account = sq_contact_account,
    .count = sq_count,
    .each = sq_each,
    .get = sq_get,
    .each_of_account = sq_each_of_account,
    .del = sq_delete,
    .fields = sq_fields,
    .field_define = sq_field_define,
    .field_set = sq_field_set,
    .field_values = sq_field_values,
    .dict_load = sq_dict_load,
    .dict_add = sq_dict_add,
    .dict_array = sq_dict_array,
    .block_put = sq_block_put,
    .block_list = sq_block_list,
    .block_get = sq_block_get,
    .block_replace = sq_block_replace,
    .block_delete = sq_block_delete,
    .block_set_ids = sq_block_set_ids,
    .event_count = sq_event_count,
    .stats_get = sq_stats_get,
    .import_log = sq_import_log,
    .data_version = sq_data_version,
    .touch = sq_touch,
    .model_put = sq_model_put,
    .model_latest = sq_model_latest,
    .predictions_put = sq_predictions_put,
    .predictions_each = sq_predictions_each,
    .health_def_put = sq_health_def_put,
    .health_def_get = sq_health_def_get,
    .health_put = sq_health_put,
    .health_each = sq_health_each,
    .anomalies_put = sq_anomalies_put,
    .anomalies_each = sq_anomalies_each,
    .anomalies_count = sq_anomalies_count,
    .anomaly_get = sq_anomaly_get,
    .anomaly_state = sq_anomaly_state,
    .rule_put = sq_rule_put,
    .rule_set_mode = sq_rule_set_mode,
    .rule_remove = sq_rule_remove,
    .rule_get = sq_rule_get,
    .rules_each = sq_rules_each,
    .firing_add = sq_firing_add,
    .firing_near = sq_firing_near,
    .firings_each = sq_firings_each,
    .delivery_add = sq_delivery_add,
    .deliveries_due = sq_deliveries_due,
    .delivery_set = sq_delivery_set,
    .deliveries_each = sq_deliveries_each,
    .task_add = sq_task_add,
    .task_get = sq_task_get,
    .task_set = sq_task_set,
    .tasks_each = sq_tasks_each,
    .rule_state_get = sq_rule_state_get,
    .rule_state_put = sq_rule_state_put,
    .user_add = sq_user_add,
    .user_get = sq_user_get,
    .user_set = sq_user_set,
    .user_remove = sq_user_remove,
    .user_each = sq_user_each,
    .token_add = sq_token_add,
    .token_user = sq_token_user,
    .token_revoke = sq_token_revoke,
    .session_add = sq_session_add,
    .session_get = sq_session_get,
    .session_remove = sq_session_remove,
    .audit_add = sq_audit_add,
    .audit_each = sq_audit_each,
};
