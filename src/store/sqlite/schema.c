/*
 * schema.c - the SQLite schema as numbered forward migrations.
 *
 * Migration N brings a database from version N-1 to N and ends by setting
 * PRAGMA user_version = N; each runs in its own transaction. Never edit a
 * migration that has shipped: add a new one. docs/architecture.md describes the
 * tables. CHECKs of three or more allowed values are written as OR chains: an
 * IN list that long makes SQLite build a temporary index on every insert.
 */
#include <stddef.h>

#include "store/sqlite/sqlite_internal.h"

static const char *const migrations[] = {
    /* 1: the entities of the data contract. Account ids are AUTOINCREMENT: event
     * blocks refer to them, so an id must never be reused after a delete; the
     * other tables need no such guarantee and avoid its cost per insert. */
    "PRAGMA application_id = 1264209473;\n" /* 'KZNA' */
    "CREATE TABLE accounts (\n"
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    "  account_key TEXT NOT NULL UNIQUE,\n"
    "  name TEXT, domain TEXT, industry TEXT, owner TEXT,\n"
    "  created_at INTEGER,\n"
    "  updated_at INTEGER NOT NULL);\n"
    "CREATE TABLE custom_fields (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  type TEXT NOT NULL CHECK (type = 'number' OR type = 'date' OR type = 'text' OR type = 'boolean'),\n"
    "  created_at INTEGER NOT NULL);\n"
    "CREATE TABLE account_fields (\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  field_id INTEGER NOT NULL REFERENCES custom_fields(id) ON DELETE CASCADE,\n"
    "  num REAL, txt TEXT,\n"
    "  PRIMARY KEY (account_id, field_id)) WITHOUT ROWID;\n"
    "CREATE TABLE contacts (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  contact_key TEXT NOT NULL UNIQUE,\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  email TEXT, name TEXT, role TEXT,\n"
    "  champion INTEGER CHECK (champion IN (0, 1)),\n"
    "  updated_at INTEGER NOT NULL);\n"
    "CREATE INDEX contacts_account ON contacts(account_id);\n"
    "CREATE TABLE subscriptions (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  subscription_key TEXT NOT NULL UNIQUE,\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  plan TEXT,\n"
    "  mrr INTEGER NOT NULL CHECK (mrr >= 0),\n"
    "  quantity INTEGER CHECK (quantity >= 0),\n"
    "  start_date INTEGER NOT NULL,\n"
    "  end_date INTEGER CHECK (end_date IS NULL OR end_date > start_date),\n"
    "  updated_at INTEGER NOT NULL);\n"
    "CREATE INDEX subscriptions_account ON subscriptions(account_id, start_date);\n"
    "CREATE TABLE tickets (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  ticket_key TEXT NOT NULL UNIQUE,\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  opened_at INTEGER NOT NULL,\n"
    "  first_response_at INTEGER CHECK (first_response_at >= opened_at),\n"
    "  resolved_at INTEGER CHECK (resolved_at >= opened_at),\n"
    "  category TEXT CHECK (category IN ('functional', 'operational')),\n"
    "  category_source TEXT CHECK (category_source IN ('imported', 'classified')),\n"
    "  priority TEXT CHECK (priority = 'low' OR priority = 'normal' OR priority = 'high' OR priority = 'urgent'),\n"
    "  subject TEXT, body TEXT,\n"
    "  updated_at INTEGER NOT NULL);\n"
    "CREATE INDEX tickets_account ON tickets(account_id, opened_at);\n"
    "CREATE TABLE nps_responses (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  response_key TEXT NOT NULL UNIQUE,\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,\n"
    "  ts INTEGER NOT NULL,\n"
    "  score INTEGER NOT NULL CHECK (score BETWEEN 0 AND 10),\n"
    "  comment TEXT,\n"
    "  updated_at INTEGER NOT NULL);\n"
    "CREATE INDEX nps_account ON nps_responses(account_id, ts);\n"
    "CREATE TABLE activities (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  activity_key TEXT NOT NULL UNIQUE,\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  ts INTEGER NOT NULL,\n"
    "  kind TEXT NOT NULL CHECK (kind = 'email' OR kind = 'call' OR kind = 'meeting' OR kind = 'note'),\n"
    "  direction TEXT CHECK (direction IN ('inbound', 'outbound')),\n"
    "  subject TEXT, body TEXT, author TEXT,\n"
    "  updated_at INTEGER NOT NULL);\n"
    "CREATE INDEX activities_account ON activities(account_id, ts);\n"
    "CREATE TABLE spend (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  month INTEGER NOT NULL,\n"
    "  channel TEXT NOT NULL DEFAULT '',\n"
    "  amount INTEGER NOT NULL CHECK (amount >= 0),\n"
    "  updated_at INTEGER NOT NULL,\n"
    "  UNIQUE (month, channel));\n"
    "PRAGMA user_version = 1;\n",

    /* 2: product events as dictionary-encoded column blocks (evblock.h) */
    "CREATE TABLE event_names (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE);\n"
    "CREATE TABLE product_users (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  user_key TEXT NOT NULL UNIQUE,\n"
    "  account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL);\n"
    "CREATE TABLE event_blocks (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  min_ts INTEGER NOT NULL,\n"
    "  max_ts INTEGER NOT NULL CHECK (max_ts >= min_ts),\n"
    "  n_events INTEGER NOT NULL CHECK (n_events > 0),\n"
    "  bytes INTEGER NOT NULL,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  data BLOB NOT NULL);\n"
    "CREATE INDEX event_blocks_ts ON event_blocks(min_ts, max_ts);\n"
    "PRAGMA user_version = 2;\n",

    /* 3: the ledger of imports */
    "CREATE TABLE imports (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  entity TEXT NOT NULL,\n"
    "  source TEXT NOT NULL,\n"
    "  format TEXT NOT NULL,\n"
    "  started_at INTEGER NOT NULL,\n"
    "  finished_at INTEGER NOT NULL,\n"
    "  rows_ok INTEGER NOT NULL,\n"
    "  rows_rejected INTEGER NOT NULL,\n"
    "  inserted INTEGER NOT NULL,\n"
    "  updated INTEGER NOT NULL,\n"
    "  unchanged INTEGER NOT NULL,\n"
    "  status TEXT NOT NULL);\n"
    "PRAGMA user_version = 3;\n",

    /* 4: a data version, bumped by every change, so that derived data (the
     * engine's image file) can tell whether it is current */
    "CREATE TABLE meta (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value INTEGER NOT NULL) WITHOUT ROWID;\n"
    "INSERT INTO meta (key, value) VALUES ('data_version', 0);\n"
    "PRAGMA user_version = 4;\n",

    /* 5: models learnt from the data (churn), and their predictions per
     * account; derived, so they do not raise the data version */
    "CREATE TABLE models (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  kind TEXT NOT NULL,\n"
    "  name TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  data_version INTEGER NOT NULL,\n"
    "  meta TEXT NOT NULL,\n"
    "  body BLOB NOT NULL);\n"
    "CREATE INDEX models_kind ON models(kind, name, id);\n"
    "CREATE TABLE predictions (\n"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  as_of INTEGER NOT NULL,\n"
    "  probability REAL NOT NULL CHECK (probability >= 0 AND probability <= 1),\n"
    "  drivers TEXT NOT NULL,\n"
    "  computed_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (model_id, account_id)) WITHOUT ROWID;\n"
    "PRAGMA user_version = 5;\n",

    /* 6: health definitions, versioned, and the scores made with them, one a
     * day per account */
    "CREATE TABLE health_definitions (\n"
    "  version INTEGER PRIMARY KEY,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  definition TEXT NOT NULL);\n"
    "CREATE TABLE health_scores (\n"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  day INTEGER NOT NULL,\n"
    "  score REAL NOT NULL CHECK (score >= 0 AND score <= 100),\n"
    "  band TEXT NOT NULL CHECK (band = 'green' OR band = 'yellow' OR band = 'red'),\n"
    "  version INTEGER NOT NULL,\n"
    "  parts TEXT NOT NULL,\n"
    "  computed_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (account_id, day)) WITHOUT ROWID;\n"
    "PRAGMA user_version = 6;\n",

    /* 7: users of the server, their API tokens and sessions (only hashes of
     * secrets), and the audit log of every change */
    "CREATE TABLE users (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  role TEXT NOT NULL CHECK (role IN ('admin', 'csm', 'support', 'viewer')),\n"
    "  password_hash TEXT,\n"
    "  created_at INTEGER NOT NULL);\n"
    "CREATE TABLE api_tokens (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
    "  hash TEXT NOT NULL UNIQUE,\n"
    "  prefix TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  revoked_at INTEGER);\n"
    "CREATE TABLE sessions (\n"
    "  hash TEXT PRIMARY KEY,\n"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,\n"
    "  csrf TEXT NOT NULL,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  expires_at INTEGER NOT NULL) WITHOUT ROWID;\n"
    "CREATE TABLE audit_log (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  at INTEGER NOT NULL,\n"
    "  actor TEXT NOT NULL,\n"
    "  action TEXT NOT NULL,\n"
    "  target TEXT NOT NULL,\n"
    "  detail TEXT NOT NULL,\n"
    "  client TEXT NOT NULL);\n"
    "PRAGMA user_version = 7;\n",

    /* 8: how many events of a block carry an event_id (NULL: not counted, an
     * older block), so that the events API loads only blocks that have ids */
    "ALTER TABLE event_blocks ADD COLUMN n_ids INTEGER CHECK (n_ids >= 0);\n"
    "PRAGMA user_version = 8;\n",

    /* 9: anomalies, each stored once (by series, day and age) with its state,
     * so that alerts and playbooks react to it once */
    "CREATE TABLE anomalies (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  series TEXT NOT NULL,\n"
    "  kind TEXT NOT NULL,\n"
    "  grain TEXT NOT NULL CHECK (grain IN ('day', 'month', 'cohort')),\n"
    "  day INTEGER NOT NULL,\n"
    "  age INTEGER NOT NULL CHECK (age >= 0),\n"
    "  until_day INTEGER NOT NULL CHECK (until_day >= day),\n"
    "  observed REAL NOT NULL,\n"
    "  expected REAL NOT NULL,\n"
    "  low REAL NOT NULL,\n"
    "  high REAL NOT NULL,\n"
    "  score REAL NOT NULL CHECK (score >= 0 AND score < 1),\n"
    "  direction TEXT NOT NULL CHECK (direction IN ('up', 'down')),\n"
    "  unit TEXT NOT NULL,\n"
    "  message TEXT NOT NULL,\n"
    "  state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),\n"
    "  state_by TEXT,\n"
    "  note TEXT,\n"
    "  found_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL,\n"
    "  UNIQUE (series, day, age));\n"
    "CREATE INDEX anomalies_until ON anomalies (until_day);\n"
    "PRAGMA user_version = 9;\n",

    /* 10: playbooks. Rules by name with their mode and since when they act;
     * each firing once per (rule, subject, window), kept for the record when
     * its account goes (account_id NULL); the outbox of deliveries; tasks for
     * CSMs (an account's go with it); and what a rule remembers per subject.
     * Firings name their rule by text: removing a rule keeps its history. */
    "CREATE TABLE rules (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  definition TEXT NOT NULL,\n"
    "  mode TEXT NOT NULL CHECK (mode = 'on' OR mode = 'dry-run' OR mode = 'off'),\n"
    "  source TEXT NOT NULL,\n"
    "  enabled_at INTEGER NOT NULL,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL);\n"
    "CREATE TABLE rule_firings (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  rule TEXT NOT NULL,\n"
    "  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('account', 'user')),\n"
    "  subject TEXT NOT NULL,\n"
    "  account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,\n"
    "  window_key TEXT NOT NULL,\n"
    "  at INTEGER NOT NULL,\n"
    "  fired_at INTEGER NOT NULL,\n"
    "  reason TEXT NOT NULL,\n"
    "  dry_run INTEGER NOT NULL CHECK (dry_run IN (0, 1)),\n"
    "  UNIQUE (rule, subject_kind, subject, window_key));\n"
    "CREATE INDEX rule_firings_account ON rule_firings (account_id, at);\n"
    "CREATE INDEX rule_firings_subject ON rule_firings (rule, subject_kind, subject, at);\n"
    "CREATE INDEX rule_firings_at ON rule_firings (at);\n"
    "CREATE TABLE deliveries (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  firing_id INTEGER NOT NULL REFERENCES rule_firings(id),\n"
    "  action INTEGER NOT NULL CHECK (action >= 0),\n"
    "  kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),\n"
    "  payload TEXT NOT NULL,\n"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state = 'pending' OR state = 'done' OR state = 'failed'),\n"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),\n"
    "  next_at INTEGER NOT NULL,\n"
    "  last_error TEXT,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL);\n"
    "CREATE INDEX deliveries_due ON deliveries (state, next_at);\n"
    "CREATE INDEX deliveries_firing ON deliveries (firing_id);\n"
    "CREATE TABLE tasks (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  title TEXT NOT NULL,\n"
    "  body TEXT,\n"
    "  account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,\n"
    "  assignee TEXT,\n"
    "  due_day INTEGER,\n"
    "  status TEXT NOT NULL DEFAULT 'open' CHECK (status = 'open' OR status = 'done' OR status = 'cancelled'),\n"
    "  source TEXT NOT NULL,\n"
    "  firing_id INTEGER REFERENCES rule_firings(id),\n"
    "  playbook TEXT,\n"
    "  created_at INTEGER NOT NULL,\n"
    "  updated_at INTEGER NOT NULL,\n"
    "  closed_at INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE INDEX tasks_assignee ON tasks (assignee, status);\n"
    "CREATE INDEX tasks_account ON tasks (account_id);\n"
    "CREATE INDEX tasks_due ON tasks (status, due_day);\n"
    "CREATE TABLE rule_state (\n"
    "  rule TEXT NOT NULL,\n"
    "  subject TEXT NOT NULL,\n"
    "  value TEXT NOT NULL,\n"
    "  updated_at INTEGER NOT NULL,\n"
    "  PRIMARY KEY (rule, subject)) WITHOUT ROWID;\n"
    "PRAGMA user_version = 10;\n",

    /* 11: firings of the business (a business-wide anomaly): a subject kind
     * of its own. The table is made again (SQLite cannot change a CHECK),
     * rows and ids kept, so deliveries and tasks still point at theirs. */
    "CREATE TABLE rule_firings_new (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  rule TEXT NOT NULL,\n"
    "  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('account', 'user', 'business')),\n"
    "  subject TEXT NOT NULL,\n"
    "  account_id INTEGER REFERENCES accounts(id) ON DELETE SET NULL,\n"
    "  window_key TEXT NOT NULL,\n"
    "  at INTEGER NOT NULL,\n"
    "  fired_at INTEGER NOT NULL,\n"
    "  reason TEXT NOT NULL,\n"
    "  dry_run INTEGER NOT NULL CHECK (dry_run IN (0, 1)),\n"
    "  UNIQUE (rule, subject_kind, subject, window_key));\n"
    "INSERT INTO rule_firings_new (id, rule, subject_kind, subject, account_id, window_key, at, fired_at, reason, "
    "dry_run)\n"
    "  SELECT id, rule, subject_kind, subject, account_id, window_key, at, fired_at, reason, dry_run FROM rule_firings;\n"
    "DROP TABLE rule_firings;\n"
    "ALTER TABLE rule_firings_new RENAME TO rule_firings;\n"
    "CREATE INDEX rule_firings_account ON rule_firings (account_id, at);\n"
    "CREATE INDEX rule_firings_subject ON rule_firings (rule, subject_kind, subject, at);\n"
    "CREATE INDEX rule_firings_at ON rule_firings (at);\n"
    "PRAGMA user_version = 11;\n",

    /* 12: a firing's why as data (rules/act.h), so that people read it in their language; NULL for
     * the firings recorded before */
    "ALTER TABLE rule_firings ADD COLUMN why TEXT CHECK (why IS NULL OR json_valid(why));\n"
    "PRAGMA user_version = 12;\n",
};

int kz_sqlite_latest_version(void)
{
    return (int)(sizeof migrations / sizeof migrations[0]);
}

const char *kz_sqlite_migration(int version)
{
    if (version < 1 || version > kz_sqlite_latest_version())
        return NULL;
    return migrations[version - 1];
}
