/*
 * cmd_churn.c - `kizuna churn evaluate`: how well a churn model, trained on
 * the earlier history of the database, foresaw churn in the later part.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/table.h"
#include "core/text.h"
#include "engine/churn.h"
#include "engine/segment.h"

static const kz_tcol eval_cols[] = {
    { "model", KZ_T_TEXT },         { "train_from", KZ_T_DATE },   { "train_to", KZ_T_DATE },
    { "test_from", KZ_T_DATE },     { "test_to", KZ_T_DATE },      { "train_rows", KZ_T_INT },
    { "train_churned", KZ_T_INT },  { "test_rows", KZ_T_INT },     { "test_churned", KZ_T_INT },
    { "roc_auc", KZ_T_DOUBLE },     { "pr_auc", KZ_T_DOUBLE },     { "top_decile_lift", KZ_T_DOUBLE },
    { "lambda", KZ_T_DOUBLE },
};

static const kz_tcol calib_cols[] = {
    { "model", KZ_T_TEXT },    { "predicted_from", KZ_T_DOUBLE }, { "predicted_to", KZ_T_DOUBLE },
    { "rows", KZ_T_INT },      { "mean_predicted", KZ_T_DOUBLE }, { "observed", KZ_T_DOUBLE },
};

static int eval_table(kz_table **out, const kz_churn_eval *ev, size_t n)
{
    kz_table *t = kz_table_new(eval_cols, sizeof eval_cols / sizeof eval_cols[0]);
    if (!t)
        return KZ_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        kz_tcell *r = kz_table_add_row(t);
        if (!r || kz_cell_text(t, &r[0], ev[i].model, strlen(ev[i].model))) {
            kz_table_free(t);
            return KZ_ENOMEM;
        }
        kz_cell_int(&r[1], ev[i].train_first);
        kz_cell_int(&r[2], ev[i].train_last);
        kz_cell_int(&r[3], ev[i].test_first);
        kz_cell_int(&r[4], ev[i].test_last);
        kz_cell_int(&r[5], (int64_t)ev[i].train_rows);
        kz_cell_int(&r[6], (int64_t)ev[i].train_churned);
        kz_cell_int(&r[7], (int64_t)ev[i].test_rows);
        kz_cell_int(&r[8], (int64_t)ev[i].test_churned);
        if (!isnan(ev[i].roc_auc))
            kz_cell_double(&r[9], ev[i].roc_auc);
        if (!isnan(ev[i].pr_auc))
            kz_cell_double(&r[10], ev[i].pr_auc);
        if (!isnan(ev[i].top_decile_lift))
            kz_cell_double(&r[11], ev[i].top_decile_lift);
        if (!isnan(ev[i].lambda))
            kz_cell_double(&r[12], ev[i].lambda);
    }
    *out = t;
    return KZ_OK;
}

static int calib_table(kz_table **out, const kz_churn_eval *ev, size_t n)
{
    kz_table *t = kz_table_new(calib_cols, sizeof calib_cols / sizeof calib_cols[0]);
    if (!t)
        return KZ_ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 10; b++) {
            const kz_calib_bin *c = &ev[i].calibration[b];
            kz_tcell *r = kz_table_add_row(t);
            if (!r || kz_cell_text(t, &r[0], ev[i].model, strlen(ev[i].model))) {
                kz_table_free(t);
                return KZ_ENOMEM;
            }
            kz_cell_double(&r[1], c->lo);
            kz_cell_double(&r[2], c->hi);
            kz_cell_int(&r[3], (int64_t)c->n);
            if (c->n) {
                kz_cell_double(&r[4], c->mean_pred);
                kz_cell_double(&r[5], c->observed);
            }
        }
    *out = t;
    return KZ_OK;
}

static void json_date(kz_jw *w, const char *key, kz_day d)
{
    char buf[KZ_DATE_BUF];
    kz_format_date(buf, d);
    kz_jw_key(w, key);
    kz_jw_str(w, buf);
}

/* {"horizon_days", "models": {name: {roc_auc, pr_auc, top_decile_lift, periods, rows, calibration}}} */
static int eval_json(kz_buf *out, const kz_churn_eval *ev, size_t n, const kz_churn_opts *c, const kz_dataset *d)
{
    kz_jw w;
    kz_jw_init(&w, out);
    kz_jw_obj(&w);
    kz_jw_key(&w, "features");
    kz_jw_arr(&w);
    for (size_t j = 0; j < d->p; j++)
        kz_jw_str(&w, d->names[j]);
    kz_jw_end(&w);
    kz_jw_key(&w, "horizon_days");
    kz_jw_int(&w, c->horizon);
    kz_jw_key(&w, "step_days");
    kz_jw_int(&w, c->step);
    kz_jw_key(&w, "models");
    kz_jw_obj(&w);
    for (size_t i = 0; i < n; i++) {
        kz_jw_key(&w, ev[i].model);
        kz_jw_obj(&w);
        kz_jw_key(&w, "roc_auc");
        kz_jw_double(&w, ev[i].roc_auc);
        kz_jw_key(&w, "pr_auc");
        kz_jw_double(&w, ev[i].pr_auc);
        kz_jw_key(&w, "top_decile_lift");
        kz_jw_double(&w, ev[i].top_decile_lift);
        if (!isnan(ev[i].lambda)) {
            kz_jw_key(&w, "lambda");
            kz_jw_double(&w, ev[i].lambda);
        }
        json_date(&w, "train_from", ev[i].train_first);
        json_date(&w, "train_to", ev[i].train_last);
        json_date(&w, "test_from", ev[i].test_first);
        json_date(&w, "test_to", ev[i].test_last);
        kz_jw_key(&w, "train_rows");
        kz_jw_int(&w, (int64_t)ev[i].train_rows);
        kz_jw_key(&w, "train_churned");
        kz_jw_int(&w, (int64_t)ev[i].train_churned);
        kz_jw_key(&w, "test_rows");
        kz_jw_int(&w, (int64_t)ev[i].test_rows);
        kz_jw_key(&w, "test_churned");
        kz_jw_int(&w, (int64_t)ev[i].test_churned);
        kz_jw_key(&w, "calibration");
        kz_jw_arr(&w);
        for (int b = 0; b < 10; b++) {
            const kz_calib_bin *cb = &ev[i].calibration[b];
            kz_jw_obj(&w);
            kz_jw_key(&w, "predicted_from");
            kz_jw_double(&w, cb->lo);
            kz_jw_key(&w, "predicted_to");
            kz_jw_double(&w, cb->hi);
            kz_jw_key(&w, "rows");
            kz_jw_int(&w, (int64_t)cb->n);
            kz_jw_key(&w, "mean_predicted");
            kz_jw_double(&w, cb->mean_pred);
            kz_jw_key(&w, "observed");
            kz_jw_double(&w, cb->observed);
            kz_jw_end(&w);
        }
        kz_jw_end(&w);
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    kz_jw_end(&w);
    if (kz_buf_putc(out, '\n'))
        return KZ_ENOMEM;
    return kz_jw_error(&w);
}

int kz_cmd_churn(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' },   { "horizon", required_argument, NULL, 'H' },
        { "step", required_argument, NULL, 'S' },     { "test-share", required_argument, NULL, 'T' },
        { "lambda", required_argument, NULL, 'L' },   { "as-of", required_argument, NULL, 'a' },
        { "timezone", required_argument, NULL, 'z' }, { "filter", required_argument, NULL, 'w' },
        { "no-field", required_argument, NULL, 'x' }, { NULL, 0, NULL, 0 },
    };
    const char *format = "table";
    kz_churn_opts co;
    kz_metric_opts mo;
    int done, c, rc = KZ_EXIT_OK;
    kz_store *st = NULL;
    kz_engine *e = NULL;
    kz_tz *tz = NULL;
    kz_segments *seg = NULL;
    kz_dataset *d = NULL;
    kz_attrs *attrs = NULL;
    const char **excluded = calloc((size_t)argc + 1, sizeof *excluded);
    size_t nexcluded = 0;
    kz_table *t = NULL, *cal = NULL;
    char *image = NULL;
    const char **filters = calloc((size_t)argc + 1, sizeof *filters);
    size_t nfilters = 0;
    kz_churn_eval ev[KZ_CHURN_MODELS];
    kz_buf out;

    kz_churn_opts_init(&co);
    kz_metric_opts_init(&mo);
    kz_buf_init(&out, KZ_BUF_UNLIMITED);
    if (!filters || !excluded) {
        free(filters);
        free(excluded);
        kz_cli_err(cli, "out of memory");
        return KZ_EXIT_FAIL;
    }
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        int64_t v;
        double x;
        switch (c) {
        case 'f': format = optarg; break;
        case 'H':
        case 'S':
            if (kz_parse_int(&v, optarg, strlen(optarg), 1, 3660)) {
                rc = kz_cli_usage(cli, "--%s %s: a number of days from 1 to 3660", c == 'H' ? "horizon" : "step",
                                  optarg);
                goto done;
            }
            *(c == 'H' ? &co.horizon : &co.step) = (int)v;
            break;
        case 'T':
            if (kz_parse_double(&x, optarg, strlen(optarg)) || !(x > 0 && x < 1)) {
                rc = kz_cli_usage(cli, "--test-share %s: a fraction between 0 and 1, like 0.3", optarg);
                goto done;
            }
            co.test_share = x;
            break;
        case 'L':
            if (strcmp(optarg, "auto") == 0) {
                co.lambda = -1;
                break;
            }
            if (kz_parse_double(&x, optarg, strlen(optarg)) || !(x >= 0) || !isfinite(x)) {
                rc = kz_cli_usage(cli, "--lambda %s: auto or a number >= 0", optarg);
                goto done;
            }
            co.lambda = x;
            break;
        case 'a': {
            kz_day day;
            if (kz_parse_date(&day, optarg, strlen(optarg))) {
                rc = kz_cli_usage(cli, "--as-of %s: %s", optarg, kz_error_msg());
                goto done;
            }
            mo.obs = day;
            break;
        }
        case 'z':
            if (kz_config_set(&cli->cfg, "reporting.timezone", optarg, KZ_SRC_FLAG)) {
                rc = kz_cli_usage(cli, "--timezone: %s", kz_error_msg());
                goto done;
            }
            break;
        case 'w': filters[nfilters++] = optarg; break;
        case 'x': excluded[nexcluded++] = optarg; break;
        default: rc = done; goto done;
        }
    }
    if (strcmp(format, "table") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        rc = kz_cli_usage(cli, "--format must be table, csv or json, not '%s'", format);
        goto done;
    }
    if (optind >= argc || strcmp(argv[optind], "evaluate") != 0) {
        rc = kz_cli_usage(cli, optind >= argc ? "which subcommand? (evaluate)" : "unknown subcommand '%s' (evaluate)",
                          optind < argc ? argv[optind] : "");
        goto done;
    }
    if (optind + 1 < argc) {
        rc = kz_cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
        goto done;
    }
    if (kz_tz_load(&tz, cli->cfg.reporting_timezone)) {
        kz_cli_err(cli, "reporting.timezone: %s", kz_error_msg());
        rc = KZ_EXIT_USAGE;
        goto done;
    }
    mo.tz = tz;
    mo.threads = strcmp(cli->cfg.engine_threads, "auto") == 0 ? 0 : strcmp(cli->cfg.engine_threads, "1") == 0 ? 1 : 2;
    if ((rc = kz_cli_open_store(cli, &st, KZ_STORE_READONLY)) != 0)
        goto done;
    image = kz_engine_image_path(st);
    if (!image || kz_engine_build(&e, st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, image)) {
        rc = kz_cli_fail(cli, "building the engine");
        goto done;
    }
    if (kz_segments_build(&seg, st, e, mo.obs != KZ_DAY_NONE ? mo.obs : kz_engine_last_day(e, tz), filters, nfilters,
                          NULL)) {
        kz_cli_err(cli, "%s", kz_error_msg());
        rc = kz_error_code() == KZ_EINVALID ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
        goto done;
    }
    mo.mask = seg ? seg->filter : NULL;
    if (kz_attrs_load(&attrs, st, e)) {
        rc = kz_cli_fail(cli, "reading the attributes of accounts");
        goto done;
    }
    co.exclude = excluded;
    co.nexclude = nexcluded;
    if (kz_churn_dataset(&d, e, &mo, &co, attrs) || kz_churn_evaluate(ev, d, &co)) {
        kz_cli_err(cli, "%s", kz_error_msg());
        rc = KZ_EXIT_FAIL;
        goto done;
    }
    int wrc;
    if (strcmp(format, "json") == 0) {
        wrc = eval_json(&out, ev, KZ_CHURN_MODELS, &co, d);
    } else {
        wrc = eval_table(&t, ev, KZ_CHURN_MODELS);
        if (!wrc)
            wrc = strcmp(format, "csv") == 0 ? kz_table_csv(t, &out) : kz_table_text(t, &out);
        if (!wrc && strcmp(format, "table") == 0) {
            wrc = calib_table(&cal, ev, KZ_CHURN_MODELS);
            if (!wrc)
                wrc = kz_buf_puts(&out, "\nCalibration on the test period (predicted churn probability against what "
                                        "happened):\n");
            if (!wrc)
                wrc = kz_table_text(cal, &out);
        }
    }
    if (wrc) {
        rc = kz_cli_fail(cli, "formatting the evaluation");
        goto done;
    }
    if (fwrite(out.data ? out.data : "", 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        kz_cli_err(cli, "cannot write the evaluation");
        rc = KZ_EXIT_FAIL;
    }
done:
    free(filters);
    free(excluded);
    kz_attrs_free(attrs);
    kz_buf_free(&out);
    kz_table_free(t);
    kz_table_free(cal);
    kz_dataset_free(d);
    kz_segments_free(seg);
    kz_engine_free(e);
    kz_tz_free(tz);
    free(image);
    kz_store_close(st);
    return rc;
}
