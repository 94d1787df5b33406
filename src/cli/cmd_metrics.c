/*
 * cmd_metrics.c - `kizuna metrics REPORT`: the SaaS numbers from the engine.
 *
 * One table of reports: each row names the engine function, the parts of the
 * image it needs, and its help. Every report prints as an aligned table, CSV or
 * JSON (`--format`); the CSV of mrr, usage, daily and cohorts has exactly the
 * columns and rows of the reference results Q2..Q5 of ../shared/bench.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/table.h"
#include "core/text.h"
#include "engine/engine.h"
#include "engine/segment.h"
#include "engine/signals.h"

/* What --explain takes: nothing (the report has no drill-down), a month, a day. */
enum { X_NONE, X_MONTH, X_DAY, X_MONTH_OR_ALL };

struct report {
    const char *name;
    kz_metric_fn run;
    int parts;
    const char *summary;
    kz_metric_fn explain; /* the accounts behind a row, or NULL */
    int explain_takes;
};

static const struct report reports[] = {
    { "summary", kz_metric_summary, KZ_ENGINE_SUBSCRIPTIONS,
      "the current month to date at a glance, each number beside the month before", kz_explain_mrr, X_MONTH },
    { "mrr", kz_metric_mrr, KZ_ENGINE_SUBSCRIPTIONS,
      "MRR movements by month or week: starting, new, expansion, contraction, churned, reactivation, ending; "
      "logo churn, GRR, NRR",
      kz_explain_mrr, X_DAY },
    { "cohorts", kz_metric_cohorts, KZ_ENGINE_SUBSCRIPTIONS,
      "logo and revenue retention by signup cohort, k = 0..24 months", kz_explain_cohorts, X_MONTH },
    { "usage", kz_metric_usage, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS,
      "per-account usage in the last 28 days against the 28 before, at the observation date", NULL, X_NONE },
    { "signals", kz_metric_signals, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS,
      "every account's signals at the observation date: usage, support, NPS, revenue, tenure", NULL, X_NONE },
    { "daily", kz_metric_daily, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS,
      "events and distinct active users per day", kz_explain_daily, X_DAY },
    { "arpa", kz_metric_arpa, KZ_ENGINE_SUBSCRIPTIONS,
      "average revenue per paying account, and of the new accounts, per month", kz_explain_mrr, X_MONTH },
    { "ltv", kz_metric_ltv, KZ_ENGINE_SUBSCRIPTIONS,
      "lifetime value: ARPA x gross margin / revenue churn (trailing 12-month mean), per month", kz_explain_mrr,
      X_MONTH },
    { "cac", kz_metric_cac, KZ_ENGINE_SUBSCRIPTIONS,
      "acquisition cost per new account from the imported spend, and its payback in months", kz_explain_mrr,
      X_MONTH },
    { "nps", kz_metric_nps, KZ_ENGINE_SUBSCRIPTIONS, "NPS per month: responses, promoters, passives, detractors",
      kz_explain_nps, X_MONTH },
    { "contract-length", kz_metric_contract_length, KZ_ENGINE_SUBSCRIPTIONS,
      "how long accounts stay: Kaplan-Meier median (paying accounts censored), mean of the churned",
      kz_explain_lifetimes, X_MONTH_OR_ALL },
    { "survival", kz_metric_survival, KZ_ENGINE_SUBSCRIPTIONS,
      "the Kaplan-Meier survival curve of account lifetime, month by month", kz_explain_lifetimes,
      X_MONTH_OR_ALL },
};

#define NREPORTS (sizeof reports / sizeof reports[0])

/* YYYY-MM (the month's first or last day) or YYYY-MM-DD. */
static int parse_bound(kz_day *out, const char *s, int is_end)
{
    size_t n = strlen(s);
    kz_month m;
    if (n == 7 && kz_parse_month(&m, s, n) == 0) {
        *out = is_end ? kz_month_first_day(m + 1) - 1 : kz_month_first_day(m);
        return KZ_OK;
    }
    return kz_parse_date(out, s, n);
}

/* --explain WHEN for report r: sets o->at (KZ_EXIT_OK) or says why not. */
static int parse_explain(kz_cli *cli, const struct report *r, const char *v, kz_metric_opts *o)
{
    size_t n = strlen(v);
    kz_month m;
    kz_day d;
    switch (r->explain_takes) {
    case X_NONE:
        return kz_cli_usage(cli, "--explain: the %s report already lists its accounts", r->name);
    case X_MONTH_OR_ALL:
        if (strcmp(v, "all") == 0)
            return KZ_EXIT_OK; /* o->at stays KZ_DAY_NONE */
        /* fall through */
    case X_MONTH:
        if (n == 7 && kz_parse_month(&m, v, n) == 0) {
            o->at = kz_month_first_day(m);
            return KZ_EXIT_OK;
        }
        return kz_cli_usage(cli, "--explain %s: the %s report drills into a month, YYYY-MM%s", v, r->name,
                            r->explain_takes == X_MONTH_OR_ALL ? ", or all" : "");
    default:
        if (n == 10 && kz_parse_date(&d, v, n) == 0) {
            o->at = d;
            return KZ_EXIT_OK;
        }
        if (r->run == kz_metric_mrr && n == 7 && kz_parse_month(&m, v, n) == 0) {
            o->at = kz_month_first_day(m);
            return KZ_EXIT_OK;
        }
        return kz_cli_usage(cli, "--explain %s: the %s report drills into a %s", v, r->name,
                            r->run == kz_metric_mrr ? "month, YYYY-MM (or a day of the week, YYYY-MM-DD)"
                                                    : "day, YYYY-MM-DD");
    }
}

static void list_reports(FILE *f)
{
    fprintf(f, "Reports:\n");
    for (size_t i = 0; i < NREPORTS; i++)
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
        { NULL, 0, NULL, 0 },
    };
    const char *explain = NULL, *interval = "month";
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
        const char *which = c == 'F' ? "--from" : c == 'T' ? "--to" : "--as-of";
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
        case 'i':
            interval = optarg;
            break;
        case 'x':
            explain = optarg;
            break;
        case 'r':
            mo.flags |= KZ_METRIC_REVENUE;
            break;
        case 'm':
            mo.flags |= KZ_METRIC_MATRIX;
            break;
        case 'W':
            mo.flags |= KZ_METRIC_WIDE;
            break;
        case 'E':
            mo.flags |= KZ_METRIC_BY_EVENT;
            break;
        case 'n': {
            int64_t v;
            if (kz_parse_int(&v, optarg, strlen(optarg), 1, 366)) {
                free(filters);
                return kz_cli_usage(cli, "--window %s: a number of days from 1 to 366", optarg);
            }
            mo.window = (int)v;
            break;
        }
        case 'F':
        case 'T':
        case 'a': {
            kz_day d;
            if (parse_bound(&d, optarg, c == 'T')) {
                free(filters);
                return kz_cli_usage(cli, "%s %s: %s", which, optarg, kz_error_msg());
            }
            if (c == 'F')
                mo.from = d;
            else if (c == 'T')
                mo.to = d;
            else
                mo.obs = d;
            break;
        }
        default:
            if (done == KZ_EXIT_OK && c == 'h')
                list_reports(stdout);
            free(filters);
            return done;
        }
    }
    const struct report *r = NULL;
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
    for (size_t i = 0; i < NREPORTS; i++)
        if (strcmp(reports[i].name, argv[optind]) == 0)
            r = &reports[i];
    if (!r) {
        list_reports(stderr);
        rc = kz_cli_usage(cli, "unknown report '%s'", argv[optind]);
        goto done;
    }
    if (strcmp(interval, "month") == 0) {
        mo.interval = KZ_INTERVAL_MONTH;
    } else if (strcmp(interval, "week") == 0 && strcmp(r->name, "mrr") == 0) {
        mo.interval = KZ_INTERVAL_WEEK;
    } else {
        rc = kz_cli_usage(cli, strcmp(interval, "week") == 0 ? "--interval week: only the mrr report has weeks"
                                                              : "--interval must be month or week, not '%s'",
                          interval);
        goto done;
    }
    if ((mo.flags & (KZ_METRIC_REVENUE | KZ_METRIC_MATRIX)) && strcmp(r->name, "cohorts") != 0) {
        rc = kz_cli_usage(cli, "%s: only the cohorts report has it",
                          mo.flags & KZ_METRIC_REVENUE ? "--revenue" : "--matrix");
        goto done;
    }
    if ((mo.flags & (KZ_METRIC_WIDE | KZ_METRIC_BY_EVENT)) && strcmp(r->name, "usage") != 0) {
        rc = kz_cli_usage(cli, "%s: only the usage report has it",
                          mo.flags & KZ_METRIC_WIDE ? "--wide" : "--by-event");
        goto done;
    }
    if ((mo.flags & KZ_METRIC_WIDE) && (mo.flags & KZ_METRIC_BY_EVENT)) {
        rc = kz_cli_usage(cli, "--wide and --by-event: choose one");
        goto done;
    }
    if (mo.window && !(mo.flags & (KZ_METRIC_WIDE | KZ_METRIC_BY_EVENT)) && strcmp(r->name, "signals") != 0) {
        rc = kz_cli_usage(cli, "--window: only with signals, or usage --wide or --by-event (the reference columns "
                               "are of 28 days)");
        goto done;
    }
    if (explain && (mo.flags & KZ_METRIC_MATRIX)) {
        rc = kz_cli_usage(cli, "--explain and --matrix: choose one");
        goto done;
    }
    if (explain && (rc = parse_explain(cli, r, explain, &mo)) != 0)
        goto done;
    if (mo.from != INT32_MIN && mo.to != INT32_MAX && mo.from > mo.to) {
        rc = kz_cli_usage(cli, "--from is after --to");
        goto done;
    }
    mo.gross_margin = (double)cli->cfg.metrics_gross_margin_pct / 100.0;
    mo.reactivation_days = (int32_t)cli->cfg.metrics_reactivation_days;
    mo.count_intra = strcmp(cli->cfg.metrics_intra_period, "count") == 0;
    mo.threads = strcmp(cli->cfg.engine_threads, "auto") == 0 ? 0 : strcmp(cli->cfg.engine_threads, "1") == 0 ? 1 : 2;
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
    if (kz_metric_segmented(&t, explain ? r->explain : r->run, e, &mo, seg)) {
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
