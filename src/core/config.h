/*
 * config.h - the process configuration: one table of keys.
 *
 * Every setting is a row of one table (name, type, default, bounds, environment
 * variable, help). The table drives the configuration file parser (INI, through
 * inih), the environment, `--set key=value` flags, `kizuna config show` and the
 * check that docs/configuration.md lists every key. Precedence, lowest first:
 * built-in default, file, environment, command line.
 *
 * The loaded kz_config is the only process-wide mutable state; it is filled at
 * start and read-only afterwards (passed by const pointer to whoever needs it).
 */
#ifndef KZ_CORE_CONFIG_H
#define KZ_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef enum { KZ_CFG_STR, KZ_CFG_INT, KZ_CFG_ENUM } kz_cfg_type;

typedef enum {
    KZ_SRC_DEFAULT = 0,
    KZ_SRC_FILE,
    KZ_SRC_ENV,
    KZ_SRC_FLAG
} kz_cfg_source;

#define KZ_CFG_MAX_KEYS 64

typedef struct kz_config {
    /* storage */
    char *db_path;                 /* db.path */
    /* import */
    int64_t import_max_errors;     /* import.max_errors */
    int64_t import_max_field;      /* import.max_field_bytes */
    int64_t import_max_record;     /* import.max_record_bytes */
    int64_t import_block_events;   /* import.block_events */
    int64_t import_parallel_min;   /* import.parallel_min_bytes */
    int64_t ingest_max_batch;      /* ingest.max_batch_events */
    /* metrics */
    char *engine_threads;             /* engine.threads */
    int64_t metrics_gross_margin_pct; /* metrics.gross_margin_percent */
    int64_t metrics_reactivation_days; /* metrics.reactivation_window_days */
    char *metrics_intra_period;       /* metrics.intra_period_subscriptions */
    char *reporting_timezone;         /* reporting.timezone */
    char *reporting_currency;         /* reporting.currency */
    int64_t scores_max_delay;         /* scores.max_delay_seconds */
    int64_t scores_interval;          /* scores.interval_seconds */
    char *anomaly_watch;              /* anomaly.watch */
    int64_t anomaly_sensitivity_pct;  /* anomaly.sensitivity_percent */
    char *anomaly_holidays;           /* anomaly.holidays */
    /* server */
    char *server_listen;              /* server.listen */
    int64_t server_threads;           /* server.threads */
    int64_t server_max_body;          /* server.max_body_bytes */
    int64_t server_max_connections;   /* server.max_connections */
    int64_t server_timeout;           /* server.timeout_seconds */
    char *server_secure_cookies;      /* server.secure_cookies */
    char *server_web_root;            /* server.web_root ("-": none) */
    int64_t server_cache_bytes;       /* server.cache_bytes */
    /* playbooks */
    char *rules_dir;                  /* rules.dir ("-": none) */
    char *playbooks_dir;              /* playbooks.dir */
    char *rules_webhook_secret;       /* rules.webhook_secret */
    int64_t rules_timeout;            /* rules.delivery_timeout_seconds */
    int64_t rules_retry_first;        /* rules.retry_first_seconds */
    char *smtp_url;                   /* smtp.url ("-": no e-mail) */
    char *smtp_from;                  /* smtp.from */
    char *smtp_user;                  /* smtp.user */
    char *smtp_password;              /* smtp.password */
    char *smtp_tls;                   /* smtp.tls */
    /* logging */
    char *log_level;               /* log.level */
    char *log_format;              /* log.format */

    const char *file;              /* the configuration file read, or NULL */
    kz_cfg_source source[KZ_CFG_MAX_KEYS]; /* where each key's value came from */
} kz_config;

typedef struct kz_cfg_key {
    const char *name;     /* "section.key" */
    kz_cfg_type type;
    size_t offset;        /* of the field in kz_config */
    const char *def;      /* default, as text */
    int64_t min, max;     /* bounds of integers */
    const char *choices;  /* enum values, '|'-separated */
    const char *env;      /* environment variable */
    const char *help;
    int (*check)(const char *value); /* extra validation (0 or KZ_EINVALID with the reason), or NULL */
} kz_cfg_key;

/* The table; *n receives its length. Keys whose names end in "password" or
 * "secret" are shown by `config show` as "(set)", never in clear. */
const kz_cfg_key *kz_config_keys(size_t *n);

/* Fills cfg with defaults, then the file (path, or $KIZUNA_CONFIG when path is
 * NULL; no file when both are absent), then the environment. Returns 0, or
 * KZ_EINVALID / KZ_EIO with "file:line: key: reason" in kz_error_msg(); cfg is
 * then freed. Caller frees with kz_config_free(). */
int kz_config_load(kz_config *cfg, const char *path);

/* Loads the configuration again as kz_config_load did for old (its file and
 * the environment), with the values flags gave old kept (flags win). out is
 * filled (caller frees) or, on an error with the reason, left freed. */
int kz_config_reload(kz_config *out, const kz_config *old);

/* Sets one key from text with the given source (a flag, usually). 0, or
 * KZ_ENOTFOUND (unknown key) / KZ_EINVALID (bad value) with the reason. */
int kz_config_set(kz_config *cfg, const char *key, const char *value, kz_cfg_source src);

/* Frees the strings of cfg (not cfg itself). */
void kz_config_free(kz_config *cfg);

/* The value of a key as text into buf (size cap). */
void kz_config_value_text(const kz_config *cfg, const kz_cfg_key *k, char *buf, size_t cap);

const char *kz_config_source_name(kz_cfg_source s);

#endif
