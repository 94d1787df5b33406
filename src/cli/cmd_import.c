/*
 * cmd_import.c - `kizuna import`: one file of one entity, or a whole folder.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/fmt.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/text.h"
#include "ingest/import.h"

struct run {
    kz_cli *cli;
    kz_progress prog;
    int64_t max_errors;
    int64_t printed, suppressed;
    int quiet;
};

static void on_reject(void *ctx, const char *msg)
{
    struct run *r = ctx;
    if (r->max_errors == 0 || r->printed < r->max_errors) {
        kz_progress_done(&r->prog);
        fprintf(stderr, "%s\n", msg);
        r->printed++;
    } else {
        r->suppressed++;
    }
}

static void on_progress(void *ctx, uint64_t bytes, uint64_t total, int64_t rows)
{
    struct run *r = ctx;
    kz_progress_update(&r->prog, bytes, total, rows);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* Imports one file and prints its summary. Returns the exit status. */
static int import_one(struct run *r, kz_store *st, const char *path, kz_import_opts *o)
{
    kz_import_result res;
    char a[KZ_GROUPED_BUF], b[KZ_GROUPED_BUF], c[KZ_GROUPED_BUF], d[KZ_GROUPED_BUF], e[KZ_GROUPED_BUF];
    const char *name = strcmp(path, "-") == 0 ? "stdin" : path;

    r->printed = r->suppressed = 0;
    kz_progress_start(&r->prog, r->cli->err_tty && !r->quiet, base_name(name));
    o->on_reject = on_reject;
    o->on_progress = on_progress;
    o->ctx = r;
    int rc = kz_import(st, path, o, &res);
    kz_progress_done(&r->prog);
    if (rc) {
        kz_cli_err(r->cli, "%s", kz_error_msg());
        kz_cli_err(r->cli, "%s: nothing imported", name);
        kz_import_result_free(&res);
        return KZ_EXIT_FAIL;
    }
    if (r->suppressed)
        fprintf(stderr, "%s: ... and %lld more rejected rows (every one is in %s)\n", name, (long long)r->suppressed,
                res.rejects_path ? res.rejects_path : "the rejects file");
    int events = o->kind == KZ_IMP_EVENTS;
    if (!r->quiet) {
        double rate = res.seconds > 0 ? (double)res.rows / res.seconds : 0;
        if (o->dry_run)
            printf("%s: dry run, nothing written: %s rows: %s would be new, %s updated, %s unchanged; %s rejected\n",
                   name, kz_fmt_int(a, res.rows), kz_fmt_int(b, res.inserted), kz_fmt_int(c, res.updated),
                   kz_fmt_int(d, res.unchanged), kz_fmt_int(e, res.rejected));
        else if (!res.committed)
            printf("%s: %s of %s rows rejected; nothing imported (--strict)%s%s\n", name, kz_fmt_int(a, res.rejected),
                   kz_fmt_int(b, res.rows), res.rejects_path ? "; rejected rows in " : "",
                   res.rejects_path ? res.rejects_path : "");
        else if (events)
            printf("%s: %s rows: %s new events, %s duplicates skipped, %s rejected%s%s [%.2f s, %.0f rows/s]\n", name,
                   kz_fmt_int(a, res.rows), kz_fmt_int(b, res.inserted), kz_fmt_int(c, res.unchanged),
                   kz_fmt_int(d, res.rejected), res.rejects_path ? " (in " : "",
                   res.rejects_path ? res.rejects_path : "", res.seconds, rate);
        else
            printf("%s: %s rows: %s new, %s updated, %s unchanged, %s rejected%s%s%s [%.2f s]\n", name,
                   kz_fmt_int(a, res.rows), kz_fmt_int(b, res.inserted), kz_fmt_int(c, res.updated),
                   kz_fmt_int(d, res.unchanged), kz_fmt_int(e, res.rejected), res.rejects_path ? " (in " : "",
                   res.rejects_path ? res.rejects_path : "", res.rejects_path ? ")" : "", res.seconds);
        if (res.fields_defined && res.committed)
            printf("%s: %lld new custom field%s (see `kizuna fields`)\n", name, (long long)res.fields_defined,
                   res.fields_defined == 1 ? "" : "s");
        fflush(stdout);
    }
    int status = res.rejected ? KZ_EXIT_FAIL : KZ_EXIT_OK;
    kz_import_result_free(&res);
    return status;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Imports every known file of a folder, in dependency order. */
static int import_folder(struct run *r, kz_store *st, const char *dir, kz_import_opts *o)
{
    static const char *const exts[] = { ".csv", ".ndjson", ".jsonl" };
    int status = KZ_EXIT_OK, found = 0;
    for (int k = 0; k < KZ_IMP_COUNT; k++) {
        const kz_import_schema *sc = kz_import_schema_of((kz_import_kind)k);
        char *path = NULL;
        for (size_t x = 0; x < 3; x++) {
            size_t n = strlen(dir) + strlen(sc->name) + strlen(exts[x]) + 2;
            char *p = malloc(n);
            if (!p) {
                free(path);
                kz_cli_err(r->cli, "out of memory");
                return KZ_EXIT_FAIL;
            }
            snprintf(p, n, "%s/%s%s", dir, sc->name, exts[x]);
            if (!file_exists(p)) {
                free(p);
                continue;
            }
            if (path) {
                kz_cli_err(r->cli, "%s: both %s and %s exist; import one of them by name", dir, path, p);
                free(p);
                free(path);
                return KZ_EXIT_USAGE;
            }
            path = p;
        }
        if (!path)
            continue;
        found++;
        o->kind = (kz_import_kind)k;
        int s = import_one(r, st, path, o);
        free(path);
        if (s != KZ_EXIT_OK)
            status = KZ_EXIT_FAIL;
    }
    if (!found) {
        kz_cli_err(r->cli, "%s holds none of accounts.csv, subscriptions.csv, events.csv, ... (see docs/import.md)", dir);
        return KZ_EXIT_FAIL;
    }
    return status;
}

/* Splits "A=B" into two strings in the arena-like pool; 0 or -1. */
static int split_pair(const char *arg, char **a, char **b)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return -1;
    *a = strndup(arg, (size_t)(eq - arg));
    *b = strdup(eq + 1);
    return *a && *b ? 0 : -1;
}

int kz_cmd_import(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "strict", no_argument, NULL, 's' },   { "dry-run", no_argument, NULL, 'n' },
        { "format", required_argument, NULL, 'f' }, { "rejects", required_argument, NULL, 'r' },
        { "map", required_argument, NULL, 'm' }, { "ignore", required_argument, NULL, 'i' },
        { "type", required_argument, NULL, 't' }, { "max-errors", required_argument, NULL, 'e' },
        { "quiet", no_argument, NULL, 'q' },     { NULL, 0, NULL, 0 },
    };
    kz_import_opts o;
    struct run r;
    kz_store *st = NULL;
    /* repeatable options; at most argc of each */
    char **map_from = calloc((size_t)argc + 1, sizeof *map_from);
    char **map_to = calloc((size_t)argc + 1, sizeof *map_to);
    char **type_names = calloc((size_t)argc + 1, sizeof *type_names);
    kz_field_type *types = calloc((size_t)argc + 1, sizeof *types);
    const char **ignore = calloc((size_t)argc + 1, sizeof *ignore);
    size_t nmap = 0, ntypes = 0, nignore = 0;
    int done, c, status = KZ_EXIT_OK;

    memset(&r, 0, sizeof r);
    r.cli = cli;
    r.max_errors = cli->cfg.import_max_errors;
    kz_import_opts_init(&o);
    if (!map_from || !map_to || !type_names || !types || !ignore) {
        kz_cli_err(cli, "out of memory");
        status = KZ_EXIT_FAIL;
        goto done;
    }
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 's': o.strict = 1; break;
        case 'n': o.dry_run = 1; break;
        case 'q': r.quiet = 1; break;
        case 'r': o.rejects = optarg; break;
        case 'f':
            if (strcmp(optarg, "csv") == 0)
                o.format = KZ_FMT_CSV;
            else if (strcmp(optarg, "ndjson") == 0 || strcmp(optarg, "jsonl") == 0)
                o.format = KZ_FMT_NDJSON;
            else {
                status = kz_cli_usage(cli, "--format must be csv or ndjson, not '%s'", optarg);
                goto done;
            }
            break;
        case 'm':
            if (split_pair(optarg, &map_from[nmap], &map_to[nmap])) {
                free(map_from[nmap]);
                free(map_to[nmap]);
                status = kz_cli_usage(cli, "--map expects FROM=TO, got '%s'", optarg);
                goto done;
            }
            nmap++;
            break;
        case 'i': ignore[nignore++] = optarg; break;
        case 't': {
            char *tn = NULL;
            if (split_pair(optarg, &type_names[ntypes], &tn) || kz_field_type_parse(&types[ntypes], tn)) {
                free(type_names[ntypes]);
                type_names[ntypes] = NULL;
                free(tn);
                status = kz_cli_usage(cli, "--type expects FIELD=number|date|text|boolean, got '%s'", optarg);
                goto done;
            }
            free(tn);
            ntypes++;
            break;
        }
        case 'e': {
            int64_t v;
            if (kz_parse_int(&v, optarg, strlen(optarg), 0, INT64_MAX)) {
                status = kz_cli_usage(cli, "--max-errors: %s", kz_error_msg());
                goto done;
            }
            r.max_errors = v;
            break;
        }
        default:
            status = done;
            goto done;
        }
    }
    o.map_from = (const char *const *)map_from;
    o.map_to = (const char *const *)map_to;
    o.nmap = nmap;
    o.ignore = ignore;
    o.nignore = nignore;
    o.type_names = (const char *const *)type_names;
    o.types = types;
    o.ntypes = ntypes;
    o.max_field = (size_t)cli->cfg.import_max_field;
    o.max_record = (size_t)cli->cfg.import_max_record;
    o.block_events = (size_t)cli->cfg.import_block_events;
    o.parallel_min = (uint64_t)cli->cfg.import_parallel_min;
    if (o.strict && o.dry_run) {
        status = kz_cli_usage(cli, "--strict and --dry-run together make no sense: --dry-run writes nothing anyway");
        goto done;
    }
    int nargs = argc - optind;
    struct stat sb;
    if (nargs == 1 && stat(argv[optind], &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if (o.rejects) {
            status = kz_cli_usage(cli, "--rejects names one file; it cannot be used with a folder");
            goto done;
        }
        if ((status = kz_cli_open_store(cli, &st, KZ_STORE_CREATE)) != 0)
            goto done;
        status = import_folder(&r, st, argv[optind], &o);
        goto done;
    }
    if (nargs != 2) {
        status = kz_cli_usage(cli, nargs == 1 ? "'%s' is not a folder; give ENTITY FILE" : "expected ENTITY FILE or FOLDER",
                              nargs == 1 ? argv[optind] : "");
        goto done;
    }
    int kind = kz_import_kind_parse(argv[optind]);
    if (kind < 0) {
        status = kz_cli_usage(cli,
                              "unknown entity '%s' (accounts, contacts, subscriptions, events, tickets, nps, "
                              "activities or spend)",
                              argv[optind]);
        goto done;
    }
    o.kind = (kz_import_kind)kind;
    const char *path = argv[optind + 1];
    if (strcmp(path, "-") != 0 && access(path, R_OK) != 0) {
        kz_cli_err(cli, "cannot read %s: %s", path, strerror(errno));
        status = KZ_EXIT_FAIL;
        goto done;
    }
    if ((status = kz_cli_open_store(cli, &st, KZ_STORE_CREATE)) != 0)
        goto done;
    status = import_one(&r, st, path, &o);
done:
    kz_store_close(st);
    for (size_t i = 0; i < nmap; i++) {
        free(map_from[i]);
        free(map_to[i]);
    }
    for (size_t i = 0; i < ntypes; i++)
        free(type_names[i]);
    free(map_from);
    free(map_to);
    free(type_names);
    free(types);
    free(ignore);
    return status;
}
