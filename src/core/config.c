/*
 * config.c - the configuration table and its loaders.
 */
#include "core/config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/error.h"
#include "core/text.h"
#include "core/tz.h"

#define OFF(f) offsetof(kz_config, f)

static int check_timezone(const char *v)
{
    kz_tz *tz = NULL;
    int rc = kz_tz_load(&tz, v);
    kz_tz_free(tz);
    return rc ? KZ_EINVALID : KZ_OK;
}

/* An ISO 4217 currency code: three capital letters. */
static int check_currency(const char *v)
{
    if (strlen(v) != 3 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z' || v[2] < 'A' || v[2] > 'Z')
        return kz_error_set(KZ_EINVALID, "'%s' is not a currency code of three capital letters (like USD or JPY)", v);
    return KZ_OK;
}

/* HOST:PORT with an IPv4 address and a port (0: any free one). */
static int check_listen(const char *v)
{
    const char *colon = strrchr(v, ':');
    int64_t port;
    if (!colon || colon == v || kz_parse_int(&port, colon + 1, strlen(colon + 1), 0, 65535))
        return kz_error_set(KZ_EINVALID, "'%s' is not HOST:PORT (like 127.0.0.1:8080)", v);
    int dots = 0;
    for (const char *p = v; p < colon; p++) {
        if (*p == '.')
            dots++;
        else if (*p < '0' || *p > '9')
            return kz_error_set(KZ_EINVALID, "'%s': the host must be an IPv4 address, like 127.0.0.1 or 0.0.0.0", v);
    }
    return dots == 3 ? KZ_OK : kz_error_set(KZ_EINVALID, "'%s': the host must be an IPv4 address", v);
}

static int check_holidays(const char *v)
{
    kz_calendar cal;
    int rc = kz_calendar_parse(&cal, v);
    kz_calendar_free(&cal);
    return rc;
}

static const kz_cfg_key keys[] = {
    { "db.path", KZ_CFG_STR, OFF(db_path), "kizuna.db", 0, 0, NULL, "KIZUNA_DB",
      "Database: a SQLite file path (created when missing).", NULL },
    { "import.max_errors", KZ_CFG_INT, OFF(import_max_errors), "100", 0, INT64_MAX, NULL,
      "KIZUNA_IMPORT_MAX_ERRORS",
      "Rejected rows an import prints on stderr before it only counts them (0: print all). "
      "Every rejected row is still written to the rejects file.", NULL },
    { "import.max_field_bytes", KZ_CFG_INT, OFF(import_max_field), "1048576", 64, 1073741824, NULL,
      "KIZUNA_IMPORT_MAX_FIELD_BYTES", "Longest field an import accepts; a longer one rejects its row.", NULL },
    { "import.max_record_bytes", KZ_CFG_INT, OFF(import_max_record), "16777216", 1024, 1073741824,
      NULL, "KIZUNA_IMPORT_MAX_RECORD_BYTES",
      "Longest record (CSV row or NDJSON line) an import accepts; bounds the memory an unterminated "
      "quote can take.", NULL },
    { "import.block_events", KZ_CFG_INT, OFF(import_block_events), "1048576", 1024, 16777216, NULL,
      "KIZUNA_IMPORT_BLOCK_EVENTS", "Events per stored column block.", NULL },
    { "import.parallel_min_bytes", KZ_CFG_INT, OFF(import_parallel_min), "33554432", 0, INT64_MAX, NULL,
      "KIZUNA_IMPORT_PARALLEL_MIN_BYTES",
      "Event files at least this big are read by two threads (0: always one).", NULL },
    { "ingest.max_batch_events", KZ_CFG_INT, OFF(ingest_max_batch), "100000", 1, 10000000, NULL,
      "KIZUNA_INGEST_MAX_BATCH_EVENTS",
      "Most events one POST /api/v1/events may carry; a bigger batch is answered 413 and nothing of it is "
      "stored (the body is limited by server.max_body_bytes too).", NULL },
    { "metrics.gross_margin_percent", KZ_CFG_INT, OFF(metrics_gross_margin_pct), "100", 0, 100, NULL,
      "KIZUNA_METRICS_GROSS_MARGIN_PERCENT",
      "Gross margin, in percent of revenue, used by LTV and CAC payback.", NULL },
    { "engine.threads", KZ_CFG_ENUM, OFF(engine_threads), "auto", 0, 0, "auto|1|2", "KIZUNA_ENGINE_THREADS",
      "Threads a report may use: auto (two when the work is large enough), 1, or 2 (always; the results are "
      "the same either way).", NULL },
    { "metrics.reactivation_window_days", KZ_CFG_INT, OFF(metrics_reactivation_days), "0", 0, 36600, NULL,
      "KIZUNA_METRICS_REACTIVATION_WINDOW_DAYS",
      "An account that pays again after more days than this without MRR counts as new MRR, not reactivation "
      "(0: every return is a reactivation, as in the reference).", NULL },
    { "metrics.intra_period_subscriptions", KZ_CFG_ENUM, OFF(metrics_intra_period), "ignore", 0, 0, "ignore|count",
      "KIZUNA_METRICS_INTRA_PERIOD_SUBSCRIPTIONS",
      "A paid span that begins and ends inside one month (or week): ignore it, as MRR on the first days does "
      "(the reference), or count it as new and churned MRR in that period.", NULL },
    { "reporting.timezone", KZ_CFG_STR, OFF(reporting_timezone), "UTC", 0, 0, NULL, "KIZUNA_TIMEZONE",
      "Time zone of the days and months that reports count events and answers in: UTC, an offset like +09:00, or "
      "an IANA name like Asia/Tokyo.",
      check_timezone },
    { "reporting.currency", KZ_CFG_STR, OFF(reporting_currency), "USD", 0, 0, NULL, "KIZUNA_CURRENCY",
      "The currency of the money amounts (ISO 4217, like USD or JPY): how the dashboard shows them (JPY without "
      "decimals). Amounts are not converted.",
      check_currency },
    { "scores.max_delay_seconds", KZ_CFG_INT, OFF(scores_max_delay), "30", 1, 86400, NULL,
      "KIZUNA_SCORES_MAX_DELAY_SECONDS",
      "The server scores every account's health and churn risk again once the data has been quiet for a second "
      "after a change, and at the latest this many seconds after the first change that is not yet scored.", NULL },
    { "scores.interval_seconds", KZ_CFG_INT, OFF(scores_interval), "3600", 0, 604800, NULL,
      "KIZUNA_SCORES_INTERVAL_SECONDS",
      "The server scores every account again at least this often even when no data changes, so that the "
      "daily history has every day (0: only after changes).", NULL },
    { "anomaly.watch", KZ_CFG_STR, OFF(anomaly_watch), "all", 0, 0, NULL, "KIZUNA_ANOMALY_WATCH",
      "The series anomalies are looked for in: all, or a comma-separated list of series names (kizuna anomalies "
      "--help lists them), each optionally with its threshold as name:z (the robust z from which a point is "
      "abnormal).", NULL },
    { "anomaly.sensitivity_percent", KZ_CFG_INT, OFF(anomaly_sensitivity_pct), "100", 10, 1000, NULL,
      "KIZUNA_ANOMALY_SENSITIVITY_PERCENT",
      "Every threshold of the watched series times this percentage: above 100 fewer anomalies, below more.", NULL },
    { "anomaly.holidays", KZ_CFG_STR, OFF(anomaly_holidays), "12-24..01-03", 0, 0, NULL, "KIZUNA_ANOMALY_HOLIDAYS",
      "Holidays and breaks, when activity is expected to be low: a comma-separated list of every year's days and "
      "ranges (MM-DD, MM-DD..MM-DD, which may run over New Year) and one year's (YYYY-MM-DD, YYYY-MM-DD..YYYY-MM-DD); "
      "none for no holiday. Until a year of history shows how the same days went, a holiday's low activity is not "
      "called an anomaly (its high activity still is).", check_holidays },
    { "server.listen", KZ_CFG_STR, OFF(server_listen), "127.0.0.1:8080", 0, 0, NULL, "KIZUNA_LISTEN",
      "Address and port `kizuna serve` listens on (port 0: any free one).", check_listen },
    { "server.threads", KZ_CFG_INT, OFF(server_threads), "2", 1, 64, NULL, "KIZUNA_SERVER_THREADS",
      "Threads answering requests.", NULL },
    { "server.max_body_bytes", KZ_CFG_INT, OFF(server_max_body), "33554432", 1024, 1073741824, NULL,
      "KIZUNA_SERVER_MAX_BODY_BYTES", "Largest request body; a larger one is answered 413.", NULL },
    { "server.max_connections", KZ_CFG_INT, OFF(server_max_connections), "1024", 1, 65536, NULL,
      "KIZUNA_SERVER_MAX_CONNECTIONS", "Connections served at once; more wait to be accepted.", NULL },
    { "server.timeout_seconds", KZ_CFG_INT, OFF(server_timeout), "30", 1, 3600, NULL,
      "KIZUNA_SERVER_TIMEOUT_SECONDS", "An idle or slow connection is closed after this long.", NULL },
    { "server.cache_bytes", KZ_CFG_INT, OFF(server_cache_bytes), "67108864", 0, 68719476736, NULL,
      "KIZUNA_SERVER_CACHE_BYTES",
      "Memory for answers of reports, lists and account pages, reused while the data is unchanged (0: none).", NULL },
    { "server.web_root", KZ_CFG_STR, OFF(server_web_root), "-", 0, 0, NULL, "KIZUNA_WEB_ROOT",
      "Folder of the built dashboard that `kizuna serve` serves under / (files outside it are never read); "
      "- for none.", NULL },
    { "server.secure_cookies", KZ_CFG_ENUM, OFF(server_secure_cookies), "auto", 0, 0, "auto|always",
      "KIZUNA_SECURE_COOKIES",
      "Session cookies carry Secure: always, or (auto) when the request came over HTTPS through a proxy "
      "(X-Forwarded-Proto: https).", NULL },
    { "rules.dir", KZ_CFG_STR, OFF(rules_dir), "-", 0, 0, NULL, "KIZUNA_RULES_DIR",
      "Folder of playbook rules (*.json) that `kizuna serve` loads into the database at start "
      "(docs/playbooks.md); - for none.", NULL },
    { "playbooks.dir", KZ_CFG_STR, OFF(playbooks_dir), "playbooks", 0, 0, NULL, "KIZUNA_PLAYBOOKS_DIR",
      "Folder of the playbook documents (NAME.md, Markdown) that rules and tasks link to.", NULL },
    { "rules.webhook_secret", KZ_CFG_STR, OFF(rules_webhook_secret), "-", 0, 0, NULL, "KIZUNA_WEBHOOK_SECRET",
      "The key webhooks are signed with (HMAC-SHA256 of timestamp.body in X-Kizuna-Signature); - for unsigned.",
      NULL },
    { "rules.delivery_timeout_seconds", KZ_CFG_INT, OFF(rules_timeout), "20", 1, 600, NULL,
      "KIZUNA_DELIVERY_TIMEOUT_SECONDS", "How long one e-mail or webhook delivery may take before it counts as failed.",
      NULL },
    { "rules.retry_first_seconds", KZ_CFG_INT, OFF(rules_retry_first), "60", 1, 3600, NULL,
      "KIZUNA_RETRY_FIRST_SECONDS",
      "How long a failed e-mail or webhook waits before its first retry; each retry after waits twice as long "
      "(at most 6 hours), 8 tries in all.",
      NULL },
    { "smtp.url", KZ_CFG_STR, OFF(smtp_url), "-", 0, 0, NULL, "KIZUNA_SMTP_URL",
      "The mail server of e-mail actions: smtp://host:port (STARTTLS per smtp.tls) or smtps://host:port (TLS); "
      "- for none (e-mails then fail and stay visible).", NULL },
    { "smtp.from", KZ_CFG_STR, OFF(smtp_from), "kizuna@localhost", 0, 0, NULL, "KIZUNA_SMTP_FROM",
      "The sender of e-mail actions: addr@domain or Name <addr@domain>.", NULL },
    { "smtp.user", KZ_CFG_STR, OFF(smtp_user), "-", 0, 0, NULL, "KIZUNA_SMTP_USER",
      "The user name to log in to the mail server with; - for no login.", NULL },
    { "smtp.password", KZ_CFG_STR, OFF(smtp_password), "-", 0, 0, NULL, "KIZUNA_SMTP_PASSWORD",
      "The password of smtp.user (better given by the environment than in the file).", NULL },
    { "smtp.tls", KZ_CFG_ENUM, OFF(smtp_tls), "try", 0, 0, "none|try|required", "KIZUNA_SMTP_TLS",
      "STARTTLS on smtp:// servers: none, try (plain text when the server offers none) or required.", NULL },
    { "log.level", KZ_CFG_ENUM, OFF(log_level), "info", 0, 0, "debug|info|warn|error",
      "KIZUNA_LOG_LEVEL", "Least severe log message written to stderr.", NULL },
    { "log.format", KZ_CFG_ENUM, OFF(log_format), "logfmt", 0, 0, "logfmt|json", "KIZUNA_LOG_FORMAT",
      "Log line format.", NULL },
};

#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS <= KZ_CFG_MAX_KEYS, "raise KZ_CFG_MAX_KEYS");

const kz_cfg_key *kz_config_keys(size_t *n)
{
    *n = NKEYS;
    return keys;
}

static const kz_cfg_key *find(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static int choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && memcmp(p, v, n) == 0)
            return 1;
        if (!bar)
            break;
        p = bar + 1;
    }
    return 0;
}

static int set_value(kz_config *cfg, const kz_cfg_key *k, const char *v, kz_cfg_source src)
{
    char *base = (char *)cfg;
    switch (k->type) {
    case KZ_CFG_INT: {
        int64_t x;
        if (kz_parse_int(&x, v, strlen(v), k->min, k->max))
            return kz_error_prefix(KZ_EINVALID, "%s", k->name);
        memcpy(base + k->offset, &x, sizeof x);
        break;
    }
    case KZ_CFG_ENUM:
        if (!choice_ok(k->choices, v))
            return kz_error_set(KZ_EINVALID, "%s: '%s' is not one of %s", k->name, v, k->choices);
        /* fall through */
    case KZ_CFG_STR: {
        if (k->type == KZ_CFG_STR && v[0] == '\0')
            return kz_error_set(KZ_EINVALID, "%s: must not be empty", k->name);
        if (k->check && k->check(v))
            return kz_error_prefix(KZ_EINVALID, "%s", k->name);
        char *copy = strdup(v);
        char *old;
        if (!copy)
            return kz_error_oom();
        memcpy(&old, base + k->offset, sizeof old);
        free(old);
        memcpy(base + k->offset, &copy, sizeof copy);
        break;
    }
    }
    cfg->source[k - keys] = src;
    return KZ_OK;
}

int kz_config_set(kz_config *cfg, const char *key, const char *value, kz_cfg_source src)
{
    const kz_cfg_key *k = find(key);
    if (!k)
        return kz_error_set(KZ_ENOTFOUND, "unknown configuration key '%s' (see `kizuna config show`)", key);
    return set_value(cfg, k, value, src);
}

struct ini_ctx {
    kz_config *cfg;
    int rc;
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *ctx = user;
    char key[256];
    int n = snprintf(key, sizeof key, "%s%s%s", section, section[0] ? "." : "", name);
    if (n < 0 || (size_t)n >= sizeof key) {
        ctx->rc = kz_error_set(KZ_EINVALID, "key too long");
        return 0;
    }
    ctx->rc = kz_config_set(ctx->cfg, key, value, KZ_SRC_FILE);
    return ctx->rc == KZ_OK;
}

void kz_config_free(kz_config *cfg)
{
    char *base = (char *)cfg;
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].type == KZ_CFG_INT)
            continue;
        char *p;
        memcpy(&p, base + keys[i].offset, sizeof p);
        free(p);
        p = NULL;
        memcpy(base + keys[i].offset, &p, sizeof p);
    }
}

int kz_config_load(kz_config *cfg, const char *path)
{
    int rc = KZ_OK;
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NKEYS && !rc; i++)
        rc = set_value(cfg, &keys[i], keys[i].def, KZ_SRC_DEFAULT);
    if (rc)
        goto done;
    if (!path)
        path = getenv("KIZUNA_CONFIG");
    if (path && path[0]) {
        FILE *f = fopen(path, "r");
        struct ini_ctx ctx = { cfg, KZ_OK };
        if (!f) {
            rc = kz_error_set(KZ_EIO, "cannot open configuration file %s: %s", path, strerror(errno));
            goto done;
        }
        int line = ini_parse_file(f, on_ini, &ctx);
        fclose(f);
        if (line != 0) {
            if (ctx.rc)
                rc = kz_error_prefix(KZ_EINVALID, "%s:%d", path, line);
            else
                rc = kz_error_set(KZ_EINVALID, "%s:%d: not a 'key = value' line or a [section]", path,
                                  line);
            goto done;
        }
        cfg->file = path;
    }
    for (size_t i = 0; i < NKEYS && !rc; i++) {
        const char *v = keys[i].env ? getenv(keys[i].env) : NULL;
        if (v && v[0]) {
            rc = set_value(cfg, &keys[i], v, KZ_SRC_ENV);
            if (rc)
                kz_error_prefix(rc, "environment variable %s", keys[i].env);
        }
    }
done:
    if (rc)
        kz_config_free(cfg);
    return rc;
}

void kz_config_value_text(const kz_config *cfg, const kz_cfg_key *k, char *buf, size_t cap)
{
    const char *base = (const char *)cfg;
    if (k->type == KZ_CFG_INT) {
        int64_t x;
        memcpy(&x, base + k->offset, sizeof x);
        snprintf(buf, cap, "%lld", (long long)x);
    } else {
        const char *p;
        memcpy(&p, base + k->offset, sizeof p);
        snprintf(buf, cap, "%s", p ? p : "");
    }
}

const char *kz_config_source_name(kz_cfg_source s)
{
    static const char *names[] = { "default", "file", "environment", "flag" };
    return names[s];
}

int kz_config_reload(kz_config *out, const kz_config *old)
{
    int rc = kz_config_load(out, old->file);
    for (size_t i = 0; i < NKEYS && !rc; i++) {
        if (old->source[i] != KZ_SRC_FLAG)
            continue;
        char buf[4096];
        kz_config_value_text(old, &keys[i], buf, sizeof buf);
        rc = set_value(out, &keys[i], buf, KZ_SRC_FLAG);
    }
    if (rc) {
        kz_config_free(out);
        return rc;
    }
    return KZ_OK;
}
