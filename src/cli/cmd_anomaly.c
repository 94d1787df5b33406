/*
 * cmd_anomaly.c - `kizuna anomalies`: what is abnormal in the series a CS
 * team watches (engine/watch.h), now, in a period or in the whole history;
 * and `kizuna anomaly scan|ack|resolve`: any time series from a file scored
 * point by point, and the state of a stored anomaly.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/csvw.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/jsonw.h"
#include "core/table.h"
#include "core/text.h"
#include "core/time.h"
#include "core/tz.h"
#include "core/vec.h"
#include "engine/anomaly.h"
#include "engine/findings.h"
#include "engine/segment.h"
#include "engine/watch.h"
#include "ingest/series.h"

/* ---- anomalies ---------------------------------------------------------------------- */

static const kz_tcol list_cols[] = {
    { "id", KZ_T_INT },      { "date", KZ_T_DATE },      { "series", KZ_T_TEXT }, { "observed", KZ_T_DOUBLE },
    { "expected", KZ_T_DOUBLE }, { "low", KZ_T_DOUBLE }, { "high", KZ_T_DOUBLE },  { "score", KZ_T_DOUBLE },
    { "state", KZ_T_TEXT },  { "message", KZ_T_TEXT },
};

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

/* The stored anomalies, to show each found one's id and state. */
struct stored_rec {
    int64_t id;
    char state[16];
    char *state_by, *note; /* malloc'd, may be NULL */
    kz_time found_at, updated_at;
};
struct stored {
    kz_strmap *map;   /* "series \x1f day \x1f age" -> index in recs */
    KZ_VEC(struct stored_rec) recs;
    kz_buf key;
};

static int stored_key(kz_buf *b, const char *series, kz_day day, int age)
{
    kz_buf_reset(b);
    return kz_buf_printf(b, "%s\x1f%ld\x1f%d", series, (long)day, age);
}

static int stored_add(void *ctx, const kz_anomaly_rec *r)
{
    struct stored *sd = ctx;
    struct stored_rec rec = { r->id, { 0 }, NULL, NULL, r->found_at, r->updated_at };
    snprintf(rec.state, sizeof rec.state, "%s", r->state ? r->state : "open");
    if ((r->state_by && !(rec.state_by = strdup(r->state_by))) || (r->note && !(rec.note = strdup(r->note))) ||
        kz_vec_push(&sd->recs, rec)) {
        free(rec.state_by);
        free(rec.note);
        return kz_error_oom();
    }
    if (stored_key(&sd->key, r->series, r->day, r->age) ||
        kz_strmap_put(sd->map, sd->key.data, sd->key.len, (uint32_t)(sd->recs.n - 1)))
        return kz_error_oom();
    return KZ_OK;
}

static const struct stored_rec *stored_find(struct stored *sd, const kz_anomaly *a)
{
    if (!sd->map || stored_key(&sd->key, a->series, a->day, a->age))
        return NULL;
    int64_t i = kz_strmap_get(sd->map, sd->key.data, sd->key.len);
    return i >= 0 ? &sd->recs.v[i] : NULL;
}

static int anomalies_json(kz_buf *out, const kz_anomalies *all, const uint8_t *keep, struct stored *sd)
{
    kz_jw w;
    kz_jw_init(&w, out);
    kz_jw_arr(&w);
    for (size_t i = 0; i < all->n; i++) {
        if (!keep[i])
            continue;
        kz_anomaly_rec r;
        kz_finding_rec(&r, &all->v[i]);
        const struct stored_rec *st = all->v[i].flagged ? stored_find(sd, &all->v[i]) : NULL;
        if (st) {
            r.id = st->id;
            r.state = st->state;
            r.state_by = st->state_by;
            r.note = st->note;
            r.found_at = st->found_at;
            r.updated_at = st->updated_at;
        }
        kz_finding_json(&w, &r);
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
        { "watch", required_argument, NULL, 'W' },  { "sensitivity", required_argument, NULL, 's' },
        { "series", required_argument, NULL, 'S' }, { "filter", required_argument, NULL, 'w' },
        { "timezone", required_argument, NULL, 'z' }, { "no-record", no_argument, NULL, 'N' },
        { NULL, 0, NULL, 0 },
    };
    const char *format = "table", *watch = NULL, *trace = NULL;
    kz_day from = KZ_DAY_NONE, to = KZ_DAY_NONE;
    int all = 0, no_record = 0, c, done, rc = KZ_EXIT_OK;
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
    struct stored sd;
    kz_buf out;
    memset(&sd, 0, sizeof sd);
    kz_buf_init(&sd.key, KZ_BUF_UNLIMITED);
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
        case 'N': no_record = 1; break;
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
    if (kz_tz_load(&tz, cli->cfg.reporting_timezone)) {
        rc = kz_cli_usage(cli, "reporting.timezone: %s", kz_error_msg());
        goto done;
    }
    /* what the configuration watches, over every account, is what is stored;
     * another choice is only shown */
    int record = !no_record && !watch && sensitivity == 1 && nfilters == 0;
    if ((rc = kz_cli_open_store(cli, &st, record ? 0 : KZ_STORE_READONLY)) != 0)
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
    if (kz_findings_scan(&found, e, &mo, &cli->cfg, watch, sensitivity, trace, kz_now())) {
        if (kz_error_code() == KZ_EINVALID)
            rc = kz_cli_usage(cli, "%s%s", watch ? "--watch: " : "", kz_error_msg());
        else
            rc = kz_cli_fail(cli, "looking for anomalies");
        goto done;
    }
    int64_t fresh = 0;
    if (record && kz_findings_record(st, found, kz_now(), &fresh)) {
        rc = kz_cli_fail(cli, "storing the anomalies");
        goto done;
    }
    if (!(sd.map = kz_strmap_new(64)) ||
        kz_store_anomalies_each(st, INT32_MIN, INT32_MAX, NULL, NULL, stored_add, &sd)) {
        rc = kz_cli_fail(cli, "reading the stored anomalies");
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
        if (anomalies_json(&out, found, keep, &sd))
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
            const struct stored_rec *sr = a->flagged ? stored_find(&sd, a) : NULL;
            const char *state = sr ? sr->state : "-";
            kz_tcell *r = kz_table_add_row(t);
            if (!r || kz_cell_text(t, &r[2], a->series, strlen(a->series)) ||
                kz_cell_text(t, &r[8], state, strlen(state)) || kz_cell_text(t, &r[9], a->message, strlen(a->message))) {
                rc = kz_cli_fail(cli, "out of memory");
                goto done;
            }
            if (sr)
                kz_cell_int(&r[0], sr->id);
            kz_cell_int(&r[1], a->day);
            kz_cell_double(&r[3], a->observed);
            kz_cell_double(&r[4], round(a->expected * 1e4) / 1e4);
            kz_cell_double(&r[5], round(a->low * 1e4) / 1e4);
            kz_cell_double(&r[6], round(a->high * 1e4) / 1e4);
            kz_cell_double(&r[7], round(a->score * 1e3) / 1e3);
        }
        if (strcmp(format, "table") == 0) {
            char day[KZ_DATE_BUF], month[KZ_DATE_BUF];
            kz_format_date(day, found->last_day);
            kz_format_month(month, found->last_month);
            kz_buf_printf(&out, "%zu anomal%s %s (%zu series, %zu points judged, data to %s, last complete month %s",
                          shown, shown == 1 ? "y" : "ies",
                          all ? "in the whole history" : from != KZ_DAY_NONE || to != KZ_DAY_NONE ? "in the period" : "now",
                          found->series, found->points, day, month);
            if (record)
                kz_buf_printf(&out, "; %lld new", (long long)fresh);
            kz_buf_puts(&out, ")\n");
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
    kz_strmap_free(sd.map);
    for (size_t i = 0; i < sd.recs.n; i++) {
        free(sd.recs.v[i].state_by);
        free(sd.recs.v[i].note);
    }
    kz_vec_free(&sd.recs);
    kz_buf_free(&sd.key);
    kz_buf_free(&out);
    return rc;
}

int kz_cmd_anomalies(kz_cli *cli, int argc, char **argv)
{
    return cmd_list(cli, argc, argv);
}

/* ---- anomaly ack|resolve|reopen ID: the state of a stored anomaly --------------------------- */

static int show_one(void *ctx, const kz_anomaly_rec *r)
{
    kz_buf *out = ctx;
    kz_jw w;
    kz_jw_init(&w, out);
    kz_finding_json(&w, r);
    return kz_jw_error(&w) ? kz_jw_error(&w) : kz_buf_putc(out, '\n');
}

static int cmd_state(kz_cli *cli, const char *sub, const char *id_text, const char *note)
{
    const char *state = strcmp(sub, "ack") == 0 ? "acknowledged" : strcmp(sub, "resolve") == 0 ? "resolved" : "open";
    int64_t id;
    if (kz_parse_int(&id, id_text, strlen(id_text), 1, INT64_MAX))
        return kz_cli_usage(cli, "anomaly %s %s: the id of a stored anomaly (kizuna anomalies shows them)", sub,
                            id_text);
    kz_store *st = NULL;
    int rc = kz_cli_open_store(cli, &st, 0);
    if (rc)
        return rc;
    const char *who = getenv("USER");
    kz_buf actor, detail, out;
    kz_buf_init(&actor, 4096);
    kz_buf_init(&detail, KZ_BUF_UNLIMITED);
    kz_buf_init(&out, KZ_BUF_UNLIMITED);
    if (kz_buf_printf(&actor, "cli:%s", who ? who : "?") ||
        kz_buf_printf(&detail, "%s%s%s", state, note ? ": " : "", note ? note : "")) {
        rc = kz_cli_fail(cli, "out of memory");
        goto done;
    }
    char target[32];
    snprintf(target, sizeof target, "anomaly/%lld", (long long)id);
    kz_audit a = { 0, kz_now(), actor.data, "anomaly.state", target, detail.data, "local" };
    /* the change and its audit record together */
    if (kz_store_begin(st) || kz_store_anomaly_set_state(st, id, state, actor.data, note, kz_now()) ||
        kz_store_audit_add(st, &a) || kz_store_commit(st)) {
        int code = kz_error_code();
        kz_store_rollback(st);
        kz_cli_err(cli, "%s", kz_error_msg());
        rc = code == KZ_ENOTFOUND ? KZ_EXIT_FAIL : code == KZ_EINVALID ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
        goto done;
    }
    if (kz_store_anomaly_get(st, id, show_one, &out)) {
        rc = kz_cli_fail(cli, "reading the anomaly");
        goto done;
    }
    fwrite(out.data, 1, out.len, stdout);
done:
    kz_buf_free(&actor);
    kz_buf_free(&detail);
    kz_buf_free(&out);
    kz_store_close(st);
    return rc;
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
    o.min_rel = 0.02;
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
    /* written whole or not at all: a file beside it, renamed over it */
    kz_buf tmp;
    kz_buf_init(&tmp, KZ_BUF_UNLIMITED);
    if (kz_buf_printf(&tmp, "%s.tmp", outp) || kz_buf_putc(&tmp, '\0')) {
        kz_buf_free(&tmp);
        rc = kz_cli_fail(cli, "out of memory");
        goto done;
    }
    FILE *f = fopen(tmp.data, "wb");
    int werr = !f || fwrite(out.data, 1, out.len, f) != out.len;
    if (f && fclose(f) != 0)
        werr = 1;
    if (werr || rename(tmp.data, outp) != 0) {
        kz_cli_err(cli, "writing %s failed: %s", outp, strerror(errno));
        if (f)
            remove(tmp.data);
        kz_buf_free(&tmp);
        rc = KZ_EXIT_FAIL;
        goto done;
    }
    kz_buf_free(&tmp);
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
        { "note", required_argument, NULL, 'n' },      { NULL, 0, NULL, 0 },
    };
    const char *note = NULL;
    struct scan_args sa = { NULL, NULL, "timestamp", "value", 5, 0 };
    int done, c;
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 'i': sa.in = optarg; break;
        case 'o': sa.out = optarg; break;
        case 't': sa.tcol = optarg; break;
        case 'v': sa.vcol = optarg; break;
        case 'n': note = optarg; break;
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
        return kz_cli_usage(cli, "which subcommand? (scan, ack, resolve, reopen)");
    const char *sub = argv[optind++];
    if (strcmp(sub, "scan") == 0) {
        if (optind < argc)
            return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
        if (!sa.in || !sa.out)
            return kz_cli_usage(cli, "anomaly scan needs --series FILE.csv and --output FILE.csv");
        if (note)
            return kz_cli_usage(cli, "--note goes with ack, resolve and reopen");
        return cmd_scan(cli, &sa);
    }
    if (strcmp(sub, "ack") == 0 || strcmp(sub, "resolve") == 0 || strcmp(sub, "reopen") == 0) {
        if (optind >= argc)
            return kz_cli_usage(cli, "anomaly %s needs the id of an anomaly", sub);
        if (optind + 1 < argc)
            return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        if (sa.in || sa.out)
            return kz_cli_usage(cli, "--series and --output go with scan");
        return cmd_state(cli, sub, argv[optind], note);
    }
    return kz_cli_usage(cli, "unknown subcommand '%s' (scan, ack, resolve, reopen)", sub);
}
