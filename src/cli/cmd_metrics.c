/*
 * cmd_metrics.c - `kizuna metrics REPORT`: the SaaS numbers from the engine.
 *
 * The reports and their options are those of engine/reports.c (shared with
 * the API). Every report prints as an aligned table, CSV or
 * JSON (`--format`); the CSV of mrr, usage, daily and cohorts has exactly the
 * columns and rows of the reference results Q2..Q5 of ../shared/bench.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/table.h"
#include "engine/engine.h"
#include "engine/reports.h"
#include "engine/segment.h"

static void list_reports(FILE *f)
{
    size_t n;
    const kz_report *reports = kz_reports(&n);
    fprintf(f, "Reports:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-16s %s\n", reports[i].name, reports[i].summary);
}

int kz_cmd_metrics(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' }, { "from", required_argument, NULL, 'F' },
        { "to", required_argument, NULL, 'T' },     { "as-of", required_argument, NULL, 'a' },
        { "timezone", required_argument, NULL, 'z' }, { "filter", required_argument, NULL, 'w' },
        { "segment", required_argument, NULL, 's' },  { "interval", required_argument, NULL, 'i' },
        { "explain", required_argument, NULL, 'x' },  { "revenue", no_argument, NULL, 'r' },
        { "matrix", no_argument, NULL, 'm' },         { "wide", no_argument, NULL, 'W' },
        { "by-event", no_argument, NULL, 'E' },       { "window", required_argument, NULL, 'n' },
        { "steps", required_argument, NULL, 'S' },    { "within", required_argument, NULL, 'I' },
        { "per", required_argument, NULL, 'P' },      { NULL, 0, NULL, 0 },
    };
    kz_report_args ra = { 0 };
    kz_metric_fn fn = NULL;
    const char *format = "table";
    kz_metric_opts mo;
    int done, c, rc = KZ_EXIT_OK;
    kz_store *st = NULL;
    kz_engine *e = NULL;
    kz_table *t = NULL;
    char *image = NULL;
    kz_tz *tz = NULL;
    kz_segments *seg = NULL;
    const char *segment_by = NULL;
    const char **filters = calloc((size_t)argc + 1, sizeof *filters);
    size_t nfilters = 0;
    kz_buf out;

    kz_metric_opts_init(&mo);
    kz_buf_init(&out, KZ_BUF_UNLIMITED);
    if (!filters) {
        kz_cli_err(cli, "out of memory");
        return KZ_EXIT_FAIL;
    }
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 'f':
            format = optarg;
            break;
        case 'z':
            if (kz_config_set(&cli->cfg, "reporting.timezone", optarg, KZ_SRC_FLAG)) {
                free(filters);
                return kz_cli_usage(cli, "--timezone: %s", kz_error_msg());
            }
            break;
        case 'w':
            filters[nfilters++] = optarg;
            break;
        case 's':
            segment_by = optarg;
            break;
        case 'i': ra.interval = optarg; break;
        case 'x': ra.explain = optarg; break;
        case 'r': ra.revenue = 1; break;
        case 'm': ra.matrix = 1; break;
        case 'W': ra.wide = 1; break;
        case 'E': ra.by_event = 1; break;
        case 'n': ra.window = optarg; break;
        case 'S': ra.steps = optarg; break;
        case 'I': ra.within = optarg; break;
        case 'P': ra.per = optarg; break;
        case 'F': ra.from = optarg; break;
        case 'T': ra.to = optarg; break;
        case 'a': ra.as_of = optarg; break;
        default:
            if (done == KZ_EXIT_OK && c == 'h')
                list_reports(stdout);
            free(filters);
            return done;
        }
    }
    const kz_report *r = NULL;
    if (strcmp(format, "table") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        rc = kz_cli_usage(cli, "--format must be table, csv or json, not '%s'", format);
        goto done;
    }
    if (optind >= argc) {
        list_reports(stderr);
        rc = kz_cli_usage(cli, "which report? (see the list above)");
        goto done;
    }
    if (optind + 1 < argc) {
        rc = kz_cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        goto done;
    }
    r = kz_report_find(argv[optind]);
    if (!r) {
        list_reports(stderr);
        rc = kz_cli_usage(cli, "unknown report '%s'", argv[optind]);
        goto done;
    }
    if (kz_report_options(r, &ra, "--", &mo, &fn)) {
        rc = kz_cli_usage(cli, "%s", kz_error_msg());
        goto done;
    }
    kz_report_config(&cli->cfg, &mo);
    if (kz_tz_load(&tz, cli->cfg.reporting_timezone)) {
        kz_cli_err(cli, "reporting.timezone: %s", kz_error_msg());
        rc = KZ_EXIT_USAGE;
        goto done;
    }
    mo.tz = tz;
    if ((rc = kz_cli_open_store(cli, &st, KZ_STORE_READONLY)) != 0)
        goto done;
    image = kz_engine_image_path(st);
    if (!image || kz_engine_build(&e, st, r->parts, image)) {
        rc = kz_cli_fail(cli, "building the engine");
        goto done;
    }
    if (mo.obs == KZ_DAY_NONE && kz_engine_last_day(e, tz) == KZ_DAY_NONE)
        mo.obs = (kz_day)kz_tz_day(tz, kz_now() / KZ_USEC_PER_SEC); /* no events: as of today */
    if (kz_segments_build(&seg, st, e, mo.obs != KZ_DAY_NONE ? mo.obs : kz_engine_last_day(e, tz), filters, nfilters,
                          segment_by)) {
        kz_cli_err(cli, "%s", kz_error_msg());
        rc = kz_error_code() == KZ_EINVALID ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
        goto done;
    }
    if (kz_metric_segmented(&t, fn, e, &mo, seg)) {
        rc = kz_cli_fail(cli, r->name);
        goto done;
    }
    int wrc = strcmp(format, "csv") == 0    ? kz_table_csv(t, &out)
              : strcmp(format, "json") == 0 ? kz_table_json(t, &out)
                                            : kz_table_text(t, &out);
    if (wrc) {
        rc = kz_cli_fail(cli, "formatting the report");
        goto done;
    }
    int empty = kz_engine_subscriptions(e) == 0 || ((r->parts & KZ_ENGINE_EVENTS) && kz_engine_events(e) == 0);
    if (strcmp(format, "table") == 0 && (empty || kz_table_rows(t) == 0)) {
        if (empty)
            fprintf(stderr, "kizuna metrics %s: no data for this report yet (import subscriptions%s first)\n",
                    r->name, r->parts & KZ_ENGINE_EVENTS ? " and events" : "");
        else
            fprintf(stderr, "kizuna metrics %s: no rows for these options (dates, filters, observation date)\n",
                    r->name);
    }
    if (fwrite(out.data ? out.data : "", 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        kz_cli_err(cli, "cannot write the report");
        rc = KZ_EXIT_FAIL;
    }
done:
    free(filters);
    kz_segments_free(seg);
    kz_tz_free(tz);
    free(image);
    kz_buf_free(&out);
    kz_table_free(t);
    kz_engine_free(e);
    kz_store_close(st);
    return rc;
}
