/*
 * cmd_anomaly.c - `kizuna anomalies`: what is abnormal in the series a CS
 * team watches (engine/watch.h), now, in a period or in the whole history;
 * and `kizuna anomaly scan|ack|resolve`: any time series from a file scored
 * point by point, and the state of a stored anomaly.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/csvw.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/table.h"
#include "core/text.h"
#include "core/time.h"
#include "engine/anomaly.h"
#include "engine/segment.h"
#include "engine/watch.h"
#include "ingest/series.h"

/* ---- anomalies ---------------------------------------------------------------------- */

static const kz_tcol list_cols[] = {
    { "date", KZ_T_DATE },      { "series", KZ_T_TEXT },  { "observed", KZ_T_DOUBLE }, { "expected", KZ_T_DOUBLE },
    { "low", KZ_T_DOUBLE },     { "high", KZ_T_DOUBLE },  { "score", KZ_T_DOUBLE },    { "state", KZ_T_TEXT },
    { "message", KZ_T_TEXT },
};

/* The date an anomaly concerns as text: a day, a month, or a cohort. */
static void when_text(const kz_anomaly *a, char *buf, size_t cap)
{
    char d[KZ_DATE_BUF];
    if (a->grain == KZ_GRAIN_DAY)
        kz_format_date(d, a->day);
    else
        kz_format_month(d, kz_day_month(a->day));
    snprintf(buf, cap, "%s", d);
}

/* 1 when anomaly a concerns "now": a day of the last week, the last
 * complete month, or a cohort's age complete since that month began. */
static int is_now(const kz_anomalies *all, const kz_anomaly *a)
{
    if (a->grain == KZ_GRAIN_DAY)
        return a->day > all->last_day - 7;
    if (a->grain == KZ_GRAIN_MONTH)
        return kz_day_month(a->day) == all->last_month;
    return a->until >= kz_month_first_day(all->last_month);
}

/* 1 when the days anomaly a concerns meet [from, to]. */
static int in_range(const kz_anomaly *a, kz_day from, kz_day to)
{
    return a->day <= to && a->until >= from;
}

static int anomalies_json(kz_buf *out, const kz_anomalies *all, const uint8_t *keep)
{
    kz_jw w;
    kz_jw_init(&w, out);
    kz_jw_arr(&w);
    for (size_t i = 0; i < all->n; i++) {
        const kz_anomaly *a = &all->v[i];
        char when[32];
        if (!keep[i])
            continue;
        when_text(a, when, sizeof when);
        kz_jw_obj(&w);
        kz_jw_key(&w, "series");
        kz_jw_str(&w, a->series);
        kz_jw_key(&w, "kind");
        kz_jw_str(&w, a->kind);
        kz_jw_key(&w, a->grain == KZ_GRAIN_DAY ? "date" : a->grain == KZ_GRAIN_MONTH ? "month" : "cohort");
        kz_jw_str(&w, when);
        if (a->grain == KZ_GRAIN_COHORT) {
            kz_jw_key(&w, "age_months");
            kz_jw_int(&w, a->age);
        }
        kz_jw_key(&w, "observed");
        kz_jw_double(&w, a->observed);
        kz_jw_key(&w, "expected");
        kz_jw_double(&w, a->expected);
        kz_jw_key(&w, "low");
        kz_jw_double(&w, a->low);
        kz_jw_key(&w, "high");
        kz_jw_double(&w, a->high);
        kz_jw_key(&w, "score");
        kz_jw_double(&w, a->score);
        kz_jw_key(&w, "direction");
        kz_jw_str(&w, a->higher ? "above" : "below");
        kz_jw_key(&w, "unit");
        kz_jw_str(&w, a->unit);
        kz_jw_key(&w, "message");
        kz_jw_str(&w, a->message);
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    if (kz_buf_putc(out, '\n'))
        return KZ_ENOMEM;
    return kz_jw_error(&w);
}

static int cmd_list(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' }, { "all", no_argument, NULL, 'A' },
        { "from", required_argument, NULL, 'F' },   { "to", required_argument, NULL, 'T' },
        { "timezone", required_argument, NULL, 'z' }, { "filter", required_argument, NULL, 'w' },
        { "watch", required_argument, NULL, 'W' },  { "sensitivity", required_argument, NULL, 's' },
        { "series", required_argument, NULL, 'S' },
        { NULL, 0, NULL, 0 },
    };
    const char *format = "table", *watch = NULL, *trace = NULL;
    int all = 0, done, c, rc = KZ_EXIT_OK;
    kz_day from = KZ_DAY_NONE, to = KZ_DAY_NONE;
    double sensitivity = 1;
    const char **filters = calloc((size_t)argc + 1, sizeof *filters);
    size_t nfilters = 0;
    kz_store *st = NULL;
    kz_engine *e = NULL;
    kz_tz *tz = NULL;
    kz_segments *seg = NULL;
    kz_anomalies *found = NULL;
    uint8_t *keep = NULL;
    kz_table *t = NULL;
    char *image = NULL;
    kz_watch_opts wo;
    kz_calendar holidays = { 0, NULL };
    kz_buf out;
    kz_watch_opts_init(&wo);
    kz_buf_init(&out, KZ_BUF_UNLIMITED);
    if (!filters)
        return kz_cli_fail(cli, "out of memory");
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'A': all = 1; break;
        case 'W': watch = optarg; break;
        case 'S': trace = optarg; break;
        case 'w': filters[nfilters++] = optarg; break;
        case 'F':
        case 'T':
            if (kz_parse_date(c == 'F' ? &from : &to, optarg, strlen(optarg))) {
                rc = kz_cli_usage(cli, "--%s %s: %s", c == 'F' ? "from" : "to", optarg, kz_error_msg());
                goto done;
            }
            break;
        case 's':
            if (kz_parse_double(&sensitivity, optarg, strlen(optarg)) || !(sensitivity > 0 && sensitivity < 100)) {
                rc = kz_cli_usage(cli, "--sensitivity %s: a number above 0 (1: the thresholds as they are; 2: twice "
                                       "as far from normal before anything is reported)",
                                  optarg);
                goto done;
            }
            break;
        case 'z':
            if (kz_config_set(&cli->cfg, "reporting.timezone", optarg, KZ_SRC_FLAG)) {
                rc = kz_cli_usage(cli, "--timezone: %s", kz_error_msg());
                goto done;
            }
            break;
        default: rc = done; goto done;
        }
    }
    if (optind < argc) {
        rc = kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (strcmp(format, "table") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        rc = kz_cli_usage(cli, "--format must be table, csv or json, not '%s'", format);
        goto done;
    }
    if (all && (from != KZ_DAY_NONE || to != KZ_DAY_NONE)) {
        rc = kz_cli_usage(cli, "--all lists the whole history: leave out --from and --to");
        goto done;
    }
    if (from != KZ_DAY_NONE && to != KZ_DAY_NONE && from > to) {
        rc = kz_cli_usage(cli, "--from is after --to");
        goto done;
    }
    wo.sensitivity = sensitivity;
    if (kz_watch_opts_parse(&wo, watch ? watch : cli->cfg.anomaly_watch)) {
        rc = kz_cli_usage(cli, "%s%s", watch ? "--watch: " : "anomaly.watch: ", kz_error_msg());
        goto done;
    }
    wo.sensitivity = sensitivity * (double)cli->cfg.anomaly_sensitivity_pct / 100.0;
    wo.trace = trace;
    if (kz_calendar_parse(&holidays, cli->cfg.anomaly_holidays)) {
        rc = kz_cli_usage(cli, "anomaly.holidays: %s", kz_error_msg());
        goto done;
    }
    wo.holidays = &holidays;
    if (kz_tz_load(&tz, cli->cfg.reporting_timezone)) {
        rc = kz_cli_usage(cli, "reporting.timezone: %s", kz_error_msg());
        goto done;
    }
    if ((rc = kz_cli_open_store(cli, &st, KZ_STORE_READONLY)) != 0)
        goto done;
    image = kz_engine_image_path(st);
    if (!image || kz_engine_build(&e, st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, image)) {
        rc = kz_cli_fail(cli, "building the engine");
        goto done;
    }
    kz_metric_opts mo;
    kz_metric_opts_init(&mo);
    mo.tz = tz;
    if (nfilters) {
        if (kz_segments_build(&seg, st, e, kz_engine_last_day(e, tz), filters, nfilters, NULL)) {
            kz_cli_err(cli, "%s", kz_error_msg());
            rc = kz_error_code() == KZ_EINVALID ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
            goto done;
        }
        mo.mask = seg->filter;
    }
    if (kz_watch_scan(&found, e, &mo, &wo)) {
        rc = kz_cli_fail(cli, "looking for anomalies");
        goto done;
    }
    keep = calloc(found->n ? found->n : 1, 1);
    if (!keep) {
        rc = kz_cli_fail(cli, "out of memory");
        goto done;
    }
    size_t shown = 0;
    for (size_t i = 0; i < found->n; i++) {
        const kz_anomaly *a = &found->v[i];
        keep[i] = all || trace ? (!trace || strcmp(a->series, trace) == 0)
                  : (from != KZ_DAY_NONE || to != KZ_DAY_NONE)
                      ? in_range(a, from != KZ_DAY_NONE ? from : INT32_MIN, to != KZ_DAY_NONE ? to : INT32_MAX)
                      : is_now(found, a);
        shown += keep[i];
    }
    if (strcmp(format, "json") == 0) {
        if (anomalies_json(&out, found, keep))
            rc = kz_cli_fail(cli, "formatting");
    } else {
        t = kz_table_new(list_cols, sizeof list_cols / sizeof list_cols[0]);
        if (!t) {
            rc = kz_cli_fail(cli, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < found->n; i++) {
            const kz_anomaly *a = &found->v[i];
            if (!keep[i])
                continue;
            kz_tcell *r = kz_table_add_row(t);
            if (!r || kz_cell_text(t, &r[1], a->series, strlen(a->series)) || kz_cell_text(t, &r[7], a->flagged ? "open" : "-", a->flagged ? 4 : 1) ||
                kz_cell_text(t, &r[8], a->message, strlen(a->message))) {
                rc = kz_cli_fail(cli, "out of memory");
                goto done;
            }
            kz_cell_int(&r[0], a->grain == KZ_GRAIN_COHORT ? kz_month_first_day(kz_day_month(a->day)) : a->day);
            kz_cell_double(&r[2], a->observed);
            kz_cell_double(&r[3], round(a->expected * 1e4) / 1e4);
            kz_cell_double(&r[4], round(a->low * 1e4) / 1e4);
            kz_cell_double(&r[5], round(a->high * 1e4) / 1e4);
            kz_cell_double(&r[6], round(a->score * 1e3) / 1e3);
        }
        if (strcmp(format, "table") == 0) {
            char day[KZ_DATE_BUF], month[KZ_DATE_BUF];
            kz_format_date(day, found->last_day);
            kz_format_month(month, found->last_month);
            kz_buf_printf(&out, "%zu anomal%s %s (%zu series, %zu points judged, data to %s, last complete month %s)\n",
                          shown, shown == 1 ? "y" : "ies",
                          all ? "in the whole history" : from != KZ_DAY_NONE || to != KZ_DAY_NONE ? "in the period" : "now",
                          found->series, found->points, day, month);
        }
        if (shown && (strcmp(format, "csv") == 0 ? kz_table_csv(t, &out) : kz_table_text(t, &out)))
            rc = kz_cli_fail(cli, "formatting");
        if (!shown && strcmp(format, "csv") == 0 && kz_table_csv(t, &out))
            rc = kz_cli_fail(cli, "formatting");
    }
    if (!rc)
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
done:
    free(filters);
    free(keep);
    free(image);
    kz_table_free(t);
    kz_anomalies_free(found);
    kz_segments_free(seg);
    kz_engine_free(e);
    kz_tz_free(tz);
    kz_store_close(st);
    kz_watch_opts_free(&wo);
    kz_calendar_free(&holidays);
    kz_buf_free(&out);
    return rc;
}

int kz_cmd_anomalies(kz_cli *cli, int argc, char **argv)
{
    return cmd_list(cli, argc, argv);
}

/* ---- anomaly scan: any series from a file ---------------------------------------------- */

static void on_series_error(void *ctx, const char *message)
{
    kz_cli *cli = ctx;
    kz_cli_err(cli, "%s", message);
}

struct scan_args {
    const char *in, *out, *tcol, *vcol;
    double threshold;
    int direction;
};

static int cmd_scan(kz_cli *cli, const struct scan_args *sa)
{
    const char *in = sa->in, *outp = sa->out, *tcol = sa->tcol, *vcol = sa->vcol;
    double threshold = sa->threshold;
    int direction = sa->direction, rc = KZ_EXIT_OK;
    kz_series s;
    kz_point *pts = NULL;
    kz_buf out;
    memset(&s, 0, sizeof s);
    kz_buf_init(&out, KZ_BUF_UNLIMITED);
    if (kz_series_read(&s, in, tcol, vcol, on_series_error, cli)) {
        kz_cli_err(cli, "%s", kz_error_msg());
        return KZ_EXIT_FAIL;
    }
    pts = malloc((s.n ? s.n : 1) * sizeof *pts);
    if (!pts) {
        kz_series_free(&s);
        return kz_cli_fail(cli, "out of memory");
    }
    kz_detect_opts o;
    kz_detect_opts_init(&o);
    o.threshold = threshold;
    o.direction = direction;
    o.min_rel = 0.01;
    int64_t step = 0;
    size_t period = 1, clash = 0;
    if (kz_detect_series(pts, s.t, s.v, s.n, &step, &period, &clash, &o)) {
        if (kz_error_code() == KZ_EINVALID && clash < s.n)
            kz_cli_err(cli, "%s:%lld: %s: %s (with line %lld)", in, (long long)s.line[clash], tcol, kz_error_msg(),
                       clash ? (long long)s.line[clash - 1] : 0LL);
        else
            kz_cli_err(cli, "%s: %s", in, kz_error_msg());
        rc = KZ_EXIT_FAIL;
        goto done;
    }
    /* the rows as they came: the time as given is rewritten in UTC */
    size_t flagged = 0;
    rc = kz_buf_puts(&out, "timestamp,value,anomaly_score\n");
    for (size_t i = 0; i < s.n && !rc; i++) {
        char ts[KZ_TIME_BUF];
        size_t tn = kz_format_time(ts, s.t[i] * KZ_USEC_PER_SEC);
        char v[KZ_DOUBLE_BUF];
        size_t vn = kz_format_double(v, s.v[i]);
        rc = kz_buf_printf(&out, "%.*s,%.*s,%.6f\n", (int)tn, ts, (int)vn, v, pts[i].score);
        flagged += pts[i].flagged;
    }
    if (rc) {
        rc = kz_cli_fail(cli, "out of memory");
        goto done;
    }
    /* written whole or not at all */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", outp);
    FILE *f = fopen(tmp, "wb");
    if (!f || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0 || rename(tmp, outp) != 0) {
        kz_cli_err(cli, "writing %s failed", outp);
        if (f)
            remove(tmp);
        rc = KZ_EXIT_FAIL;
        goto done;
    }
    fprintf(stderr, "%s: %zu points, a step of %lld s, %s, %zu above the threshold\n", outp, s.n, (long long)step,
            period > 1 ? "a season found" : "no season found", flagged);
    if (period > 1)
        fprintf(stderr, "  season: %zu steps\n", period);
done:
    free(pts);
    kz_series_free(&s);
    kz_buf_free(&out);
    return rc;
}

int kz_cmd_anomaly(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "series", required_argument, NULL, 'i' },    { "output", required_argument, NULL, 'o' },
        { "time-col", required_argument, NULL, 't' },  { "value-col", required_argument, NULL, 'v' },
        { "threshold", required_argument, NULL, 'z' }, { "direction", required_argument, NULL, 'd' },
        { NULL, 0, NULL, 0 },
    };
    struct scan_args sa = { NULL, NULL, "timestamp", "value", 5, 0 };
    int done, c;
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 'i': sa.in = optarg; break;
        case 'o': sa.out = optarg; break;
        case 't': sa.tcol = optarg; break;
        case 'v': sa.vcol = optarg; break;
        case 'z':
            if (kz_parse_double(&sa.threshold, optarg, strlen(optarg)) || !(sa.threshold > 0 && sa.threshold < 1000))
                return kz_cli_usage(cli, "--threshold %s: a robust z above 0 (default 5)", optarg);
            break;
        case 'd':
            if (strcmp(optarg, "both") == 0)
                sa.direction = 0;
            else if (strcmp(optarg, "up") == 0)
                sa.direction = 1;
            else if (strcmp(optarg, "down") == 0)
                sa.direction = -1;
            else
                return kz_cli_usage(cli, "--direction: both, up or down, not '%s'", optarg);
            break;
        default: return done;
        }
    }
    if (optind >= argc)
        return kz_cli_usage(cli, "which subcommand? (scan)");
    const char *sub = argv[optind++];
    if (optind < argc)
        return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (strcmp(sub, "scan") == 0) {
        if (!sa.in || !sa.out)
            return kz_cli_usage(cli, "anomaly scan needs --series FILE.csv and --output FILE.csv");
        return cmd_scan(cli, &sa);
    }
    return kz_cli_usage(cli, "unknown subcommand '%s' (scan)", sub);
}
