/*
 * cmd_churn.c - `kizuna churn evaluate`: how well a churn model, trained on
 * the earlier history of the database, foresaw churn in the later part.
 */
#include <errno.h>
#include <math.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/csvw.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/table.h"
#include "core/text.h"
#include "engine/churn.h"
#include "engine/scores.h"
#include "engine/segment.h"
#include "engine/signals.h"
#include <cjson/cJSON.h>

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
        const kz_day days[4] = { ev[i].train_first, ev[i].train_last, ev[i].test_first, ev[i].test_last };
        for (int k = 0; k < 4; k++)
            if (days[k] != KZ_DAY_NONE) /* none for a table without dates */
                kz_cell_int(&r[1 + k], days[k]);
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


/* What the subcommands share: the options, the store, the engine, the accounts. */
struct run {
    kz_cli *cli;
    const char *sub, *format, *algorithm;
    const char *table, *id, *label, *model_path, *output; /* an analyst's table */
    kz_churn_opts co;
    kz_metric_opts mo;
    kz_store *st;
    kz_engine *e;
    kz_tz *tz;
    kz_segments *seg;
    kz_attrs *attrs;
    char *image;
    const char **filters, **excluded;
    size_t nfilters, nexcluded;
    long top;
    kz_buf out;
};

static void run_free(struct run *r)
{
    free(r->filters);
    free(r->excluded);
    kz_buf_free(&r->out);
    kz_attrs_free(r->attrs);
    kz_segments_free(r->seg);
    kz_engine_free(r->e);
    kz_tz_free(r->tz);
    free(r->image);
    kz_store_close(r->st);
}

/* Parses the command line; KZ_EXIT_OK to go on. */
static int parse(struct run *r, int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' },   { "horizon", required_argument, NULL, 'H' },
        { "step", required_argument, NULL, 'S' },     { "test-share", required_argument, NULL, 'T' },
        { "lambda", required_argument, NULL, 'L' },   { "as-of", required_argument, NULL, 'a' },
        { "timezone", required_argument, NULL, 'z' }, { "filter", required_argument, NULL, 'w' },
        { "no-field", required_argument, NULL, 'x' }, { "algorithm", required_argument, NULL, 'g' },
        { "top", required_argument, NULL, 't' },      { "table", required_argument, NULL, 'b' },
        { "id", required_argument, NULL, 'i' },       { "label", required_argument, NULL, 'l' },
        { "model", required_argument, NULL, 'm' },    { "output", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    kz_cli *cli = r->cli;
    int done, c;
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        int64_t v;
        double x;
        switch (c) {
        case 'f': r->format = optarg; break;
        case 'g': r->algorithm = optarg; break;
        case 'b': r->table = optarg; break;
        case 'i': r->id = optarg; break;
        case 'l': r->label = optarg; break;
        case 'm': r->model_path = optarg; break;
        case 'o': r->output = optarg; break;
        case 'H':
        case 'S':
            if (kz_parse_int(&v, optarg, strlen(optarg), 1, 3660))
                return kz_cli_usage(cli, "--%s %s: a number of days from 1 to 3660", c == 'H' ? "horizon" : "step",
                                    optarg);
            *(c == 'H' ? &r->co.horizon : &r->co.step) = (int)v;
            break;
        case 't':
            if (kz_parse_int(&v, optarg, strlen(optarg), 1, INT32_MAX))
                return kz_cli_usage(cli, "--top %s: a number of accounts, 1 or more", optarg);
            r->top = (long)v;
            break;
        case 'T':
            if (kz_parse_double(&x, optarg, strlen(optarg)) || !(x > 0 && x < 1))
                return kz_cli_usage(cli, "--test-share %s: a fraction between 0 and 1, like 0.3", optarg);
            r->co.test_share = x;
            break;
        case 'L':
            if (strcmp(optarg, "auto") == 0) {
                r->co.lambda = -1;
                break;
            }
            if (kz_parse_double(&x, optarg, strlen(optarg)) || !(x >= 0) || !isfinite(x))
                return kz_cli_usage(cli, "--lambda %s: auto or a number >= 0", optarg);
            r->co.lambda = x;
            break;
        case 'a': {
            kz_day day;
            if (kz_parse_date(&day, optarg, strlen(optarg)))
                return kz_cli_usage(cli, "--as-of %s: %s", optarg, kz_error_msg());
            r->mo.obs = day;
            break;
        }
        case 'z':
            if (kz_config_set(&cli->cfg, "reporting.timezone", optarg, KZ_SRC_FLAG))
                return kz_cli_usage(cli, "--timezone: %s", kz_error_msg());
            break;
        case 'w': r->filters[r->nfilters++] = optarg; break;
        case 'x': r->excluded[r->nexcluded++] = optarg; break;
        default: return done == KZ_EXIT_OK ? -1 : done; /* -1: --help was printed */
        }
    }
    if (strcmp(r->format, "table") != 0 && strcmp(r->format, "csv") != 0 && strcmp(r->format, "json") != 0)
        return kz_cli_usage(cli, "--format must be table, csv or json, not '%s'", r->format);
    if (optind >= argc)
        return kz_cli_usage(cli, "which subcommand? (evaluate, train or predict)");
    r->sub = argv[optind];
    if (strcmp(r->sub, "evaluate") != 0 && strcmp(r->sub, "train") != 0 && strcmp(r->sub, "predict") != 0)
        return kz_cli_usage(cli, "unknown subcommand '%s' (evaluate, train or predict)", r->sub);
    if (optind + 1 < argc)
        return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind + 1]);
    if (strcmp(r->algorithm, "best") != 0 && strcmp(r->algorithm, "logistic") != 0 &&
        strcmp(r->algorithm, "xgboost") != 0)
        return kz_cli_usage(cli, "--algorithm must be best, logistic or xgboost, not '%s'", r->algorithm);
    if (r->top && strcmp(r->sub, "predict") != 0)
        return kz_cli_usage(cli, "--top: only churn predict lists accounts");
    int predict = strcmp(r->sub, "predict") == 0;
    if (!r->table) {
        if (r->id || r->label || r->model_path || r->output)
            return kz_cli_usage(cli, "--%s goes with --table FILE",
                                r->id ? "id" : r->label ? "label" : r->model_path ? "model" : "output");
        return KZ_EXIT_OK;
    }
    if (!predict && (!r->id || !r->label))
        return kz_cli_usage(cli, "--table needs --id COLUMN and --label COLUMN");
    if ((predict || strcmp(r->sub, "train") == 0) && !r->model_path)
        return kz_cli_usage(cli, "--table needs --model PATH (the model file to %s)", predict ? "read" : "write");
    if (r->output && !predict)
        return kz_cli_usage(cli, "--output: only churn predict writes probabilities");
    if (predict && r->label)
        return kz_cli_usage(cli, "--label: churn predict has no label to read");
    if (r->nfilters || r->nexcluded || r->mo.obs != KZ_DAY_NONE || r->top)
        return kz_cli_usage(cli, "--filter, --no-field, --as-of and --top are for the database, not --table");
    return KZ_EXIT_OK;
}

/* Opens the store (writable for train and predict), builds the engine, the
 * filter and the attributes. */
static int prepare(struct run *r)
{
    kz_cli *cli = r->cli;
    int rc;
    if (kz_tz_load(&r->tz, cli->cfg.reporting_timezone)) {
        kz_cli_err(cli, "reporting.timezone: %s", kz_error_msg());
        return KZ_EXIT_USAGE;
    }
    r->mo.tz = r->tz;
    r->mo.threads = strcmp(cli->cfg.engine_threads, "auto") == 0 ? 0
                    : strcmp(cli->cfg.engine_threads, "1") == 0  ? 1
                                                                 : 2;
    if ((rc = kz_cli_open_store(cli, &r->st, strcmp(r->sub, "evaluate") == 0 ? KZ_STORE_READONLY : 0)) != 0)
        return rc;
    r->image = kz_engine_image_path(r->st);
    if (!r->image || kz_engine_build(&r->e, r->st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, r->image))
        return kz_cli_fail(cli, "building the engine");
    kz_day at = r->mo.obs != KZ_DAY_NONE ? r->mo.obs : kz_engine_last_day(r->e, r->tz);
    if (kz_segments_build(&r->seg, r->st, r->e, at, r->filters, r->nfilters, NULL)) {
        kz_cli_err(cli, "%s", kz_error_msg());
        return kz_error_code() == KZ_EINVALID ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
    }
    r->mo.mask = r->seg ? r->seg->filter : NULL;
    if (kz_attrs_load(&r->attrs, r->st, r->e))
        return kz_cli_fail(cli, "reading the attributes of accounts");
    r->co.exclude = r->excluded;
    r->co.nexclude = r->nexcluded;
    return KZ_EXIT_OK;
}

/* The evaluation in the chosen format, into r->out. */
static int print_evaluation(struct run *r, const kz_churn_eval *ev, const kz_dataset *d)
{
    kz_table *t = NULL, *cal = NULL;
    int wrc;
    if (strcmp(r->format, "json") == 0)
        return kz_churn_eval_json(&r->out, ev, KZ_CHURN_MODELS, &r->co, d);
    wrc = eval_table(&t, ev, KZ_CHURN_MODELS);
    if (!wrc)
        wrc = strcmp(r->format, "csv") == 0 ? kz_table_csv(t, &r->out) : kz_table_text(t, &r->out);
    if (!wrc && strcmp(r->format, "table") == 0) {
        wrc = calib_table(&cal, ev, KZ_CHURN_MODELS);
        if (!wrc)
            wrc = kz_buf_puts(&r->out, "\nCalibration on the test period (predicted churn probability against what "
                                       "happened):\n");
        if (!wrc)
            wrc = kz_table_text(cal, &r->out);
    }
    kz_table_free(t);
    kz_table_free(cal);
    return wrc;
}

/* The description stored with a model: where it came from and how it did. */
static int model_meta(kz_buf *out, const struct run *r, const kz_dataset *d, const kz_churn_eval *ev)
{
    kz_jw w;
    char day[KZ_DATE_BUF];
    size_t churned = 0;
    for (size_t i = 0; i < d->n; i++)
        churned += d->y[i];
    kz_jw_init(&w, out);
    kz_jw_obj(&w);
    kz_jw_key(&w, "horizon_days");
    kz_jw_int(&w, r->co.horizon);
    kz_jw_key(&w, "step_days");
    kz_jw_int(&w, r->co.step);
    kz_format_date(day, d->dates[0]);
    kz_jw_key(&w, "trained_from");
    kz_jw_str(&w, day);
    kz_format_date(day, d->dates[d->ndates - 1]);
    kz_jw_key(&w, "trained_to");
    kz_jw_str(&w, day);
    kz_jw_key(&w, "rows");
    kz_jw_int(&w, (int64_t)d->n);
    kz_jw_key(&w, "churned");
    kz_jw_int(&w, (int64_t)churned);
    kz_jw_key(&w, "features");
    kz_jw_int(&w, (int64_t)d->p);
    kz_jw_key(&w, "evaluation");
    kz_jw_obj(&w);
    kz_jw_key(&w, "roc_auc");
    kz_jw_double(&w, ev->roc_auc);
    kz_jw_key(&w, "pr_auc");
    kz_jw_double(&w, ev->pr_auc);
    kz_jw_key(&w, "top_decile_lift");
    kz_jw_double(&w, ev->top_decile_lift);
    kz_jw_key(&w, "test_from");
    kz_jw_date(&w, ev->test_first);
    kz_jw_key(&w, "test_to");
    kz_jw_date(&w, ev->test_last);
    kz_jw_key(&w, "test_rows");
    kz_jw_int(&w, (int64_t)ev->test_rows);
    kz_jw_end(&w);
    kz_jw_end(&w);
    return kz_jw_error(&w);
}

/* evaluate, or train: evaluate, then fit both on every row and store them. */
static int cmd_evaluate_or_train(struct run *r)
{
    kz_dataset *d = NULL;
    kz_churn_eval ev[KZ_CHURN_MODELS];
    int rc = KZ_EXIT_OK, train = strcmp(r->sub, "train") == 0;
    if (kz_churn_dataset(&d, r->e, &r->mo, &r->co, r->attrs) || kz_churn_evaluate(ev, d, &r->co)) {
        kz_cli_err(r->cli, "%s", kz_error_msg());
        kz_dataset_free(d);
        return KZ_EXIT_FAIL;
    }
    if (print_evaluation(r, ev, d)) {
        kz_dataset_free(d);
        return kz_cli_fail(r->cli, "formatting the evaluation");
    }
    int64_t version = 0;
    if (train && kz_store_data_version(r->st, &version))
        rc = kz_cli_fail(r->cli, "reading the data version");
    for (int k = 0; train && k < KZ_CHURN_MODELS && rc == KZ_EXIT_OK; k++) {
        kz_churn_model *m = NULL;
        kz_buf body, meta;
        int64_t id;
        kz_buf_init(&body, KZ_BUF_UNLIMITED);
        kz_buf_init(&meta, KZ_BUF_UNLIMITED);
        if (kz_churn_model_train(&m, d, k, k == KZ_CHURN_LOGISTIC ? ev[k].lambda : 0, r->co.horizon) ||
            kz_churn_model_save(m, &body) || model_meta(&meta, r, d, &ev[k]) || kz_buf_putc(&body, '\0') ||
            kz_buf_putc(&meta, '\0')) {
            rc = kz_cli_fail(r->cli, "training the model");
        } else {
            kz_model_rec rec = { 0, "churn", kz_churn_algo_name(k), kz_now(), version, meta.data, body.data,
                                 body.len - 1 };
            if (kz_store_model_put(r->st, &rec, &id))
                rc = kz_cli_fail(r->cli, "storing the model");
            else if (strcmp(r->format, "table") == 0)
                kz_buf_printf(&r->out, "%s%s model stored (%zu rows, %zu features)\n", k == 0 ? "\n" : "",
                              kz_churn_algo_name(k), d->n, d->p);
        }
        kz_churn_model_free(m);
        kz_buf_free(&body);
        kz_buf_free(&meta);
    }
    kz_dataset_free(d);
    return rc;
}

static const kz_tcol pred_cols[] = {
    { "account_id", KZ_T_TEXT }, { "churn_probability", KZ_T_DOUBLE }, { "mrr", KZ_T_MONEY },
    { "top_drivers", KZ_T_TEXT },
};

struct pred_order {
    size_t row;
    double p;
};

static int cmp_pred(const void *x, const void *y)
{
    const struct pred_order *a = x, *b = y;
    if (a->p != b->p)
        return a->p > b->p ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* predict: the chosen model's probability and drivers for every account
 * paying on the observation date, stored and listed. */
static int cmd_predict(struct run *r)
{
    kz_model_rec *rec = NULL;
    kz_churn_model *m = NULL;
    kz_dataset *rows = NULL;
    double *prob = NULL, *contrib = NULL;
    kz_prediction *preds = NULL;
    kz_buf *dj = NULL;
    struct pred_order *order = NULL;
    int64_t *store_id = NULL;
    kz_table *t = NULL;
    int rc = KZ_EXIT_OK;
    if (kz_churn_model_pick(&rec, r->st, r->algorithm)) {
        kz_cli_err(r->cli, "%s: train one first with `kizuna churn train`", kz_error_msg());
        return KZ_EXIT_FAIL;
    }
    if (kz_churn_model_load(&m, rec->body, rec->body_len)) {
        kz_cli_err(r->cli, "model %lld: %s", (long long)rec->id, kz_error_msg());
        kz_model_rec_free(rec);
        return KZ_EXIT_FAIL;
    }
    size_t p;
    char *const *names = kz_churn_model_features(m, &p);
    kz_day at = r->mo.obs != KZ_DAY_NONE ? r->mo.obs : kz_engine_last_day(r->e, r->tz);
    if (at == KZ_DAY_NONE) {
        kz_cli_err(r->cli, "no events: nothing to predict from");
        rc = KZ_EXIT_FAIL;
        goto done;
    }
    double t0 = kz_monotonic();
    if (kz_churn_rows(&rows, r->e, &r->mo, at, names, p, r->attrs)) {
        rc = kz_cli_fail(r->cli, "building the features");
        goto done;
    }
    size_t n = rows->n;
    prob = malloc((n ? n : 1) * sizeof *prob);
    contrib = malloc((n ? n : 1) * (p ? p : 1) * sizeof *contrib);
    preds = calloc(n ? n : 1, sizeof *preds);
    dj = calloc(n ? n : 1, sizeof *dj);
    order = malloc((n ? n : 1) * sizeof *order);
    store_id = malloc((kz_engine_accounts(r->e) ? kz_engine_accounts(r->e) : 1) * sizeof *store_id);
    t = kz_table_new(pred_cols, sizeof pred_cols / sizeof pred_cols[0]);
    if (!prob || !contrib || !preds || !dj || !order || !store_id || !t) {
        rc = kz_cli_fail(r->cli, "out of memory");
        goto done;
    }
    double t1 = kz_monotonic();
    if (kz_churn_model_score(m, rows, prob, contrib)) {
        rc = kz_cli_fail(r->cli, "scoring");
        goto done;
    }
    KZ_LOG(KZ_LOG_DEBUG, "churn: scored", "accounts=%zu features_ms=%.1f score_ms=%.1f", n, (t1 - t0) * 1000,
           (kz_monotonic() - t1) * 1000);
    kz_engine_account_ids(r->e, store_id);
    for (size_t i = 0; i < n; i++) {
        kz_buf text;
        kz_buf_init(&dj[i], KZ_BUF_UNLIMITED);
        kz_buf_init(&text, KZ_BUF_UNLIMITED);
        if (kz_churn_drivers(&dj[i], &text, names, p, rows->x + i * p, contrib + i * p, NULL) || kz_buf_putc(&dj[i], '\0')) {
            kz_buf_free(&text);
            rc = kz_cli_fail(r->cli, "describing the drivers");
            goto done;
        }
        preds[i] = (kz_prediction){ store_id[rows->acc[i]], at, prob[i], dj[i].data };
        order[i] = (struct pred_order){ i, prob[i] };
        kz_buf_free(&text);
    }
    if (kz_store_predictions_put(r->st, rec->id, preds, n, kz_now())) {
        rc = kz_cli_fail(r->cli, "storing the predictions");
        goto done;
    }
    if (n > 1)
        qsort(order, n, sizeof *order, cmp_pred);
    for (size_t k = 0; k < n && (!r->top || k < (size_t)r->top); k++) {
        size_t i = order[k].row;
        size_t len;
        const char *key = kz_engine_account_key(r->e, rows->acc[i], &len);
        kz_buf text, scratch;
        kz_buf_init(&text, KZ_BUF_UNLIMITED);
        kz_buf_init(&scratch, KZ_BUF_UNLIMITED);
        int brc = kz_churn_drivers(&scratch, &text, names, p, rows->x + i * p, contrib + i * p, NULL);
        kz_tcell *c = kz_table_add_row(t);
        if (brc || !c || kz_cell_text(t, &c[0], key, len) ||
            kz_cell_text(t, &c[3], text.data ? text.data : "", text.len)) {
            kz_buf_free(&text);
            kz_buf_free(&scratch);
            rc = kz_cli_fail(r->cli, "listing the predictions");
            goto done;
        }
        kz_buf_free(&text);
        kz_buf_free(&scratch);
        kz_cell_double(&c[1], prob[i]);
        kz_cell_int(&c[2], kz_engine_mrr(r->e, rows->acc[i], at));
    }
    if (strcmp(r->format, "table") == 0)
        kz_buf_printf(&r->out, "Churn within %d days, as of the data of ", kz_churn_model_horizon(m));
    {
        char day[KZ_DATE_BUF];
        kz_format_date(day, at);
        if (strcmp(r->format, "table") == 0)
            kz_buf_printf(&r->out, "%s, by the %s model %lld (%zu accounts):\n", day, kz_churn_algo_name(kz_churn_model_algo(m)),
                          (long long)rec->id, n);
    }
    if (strcmp(r->format, "json") == 0) {
        /* the drivers as objects, as stored for the API */
        kz_jw w;
        kz_jw_init(&w, &r->out);
        kz_jw_arr(&w);
        for (size_t k = 0; k < n && (!r->top || k < (size_t)r->top); k++) {
            size_t i = order[k].row, len;
            const char *key = kz_engine_account_key(r->e, rows->acc[i], &len);
            char money[KZ_FIXED_BUF];
            size_t ml = kz_format_fixed_min(money, kz_engine_mrr(r->e, rows->acc[i], at), 4, 2);
            kz_jw_obj(&w);
            kz_jw_key(&w, "account_id");
            kz_jw_strn(&w, key, len);
            kz_jw_key(&w, "churn_probability");
            kz_jw_double(&w, prob[i]);
            kz_jw_key(&w, "mrr");
            kz_jw_raw(&w, money, ml);
            kz_jw_key(&w, "drivers");
            kz_jw_raw(&w, dj[i].data, strlen(dj[i].data));
            kz_jw_end(&w);
        }
        kz_jw_end(&w);
        if (kz_jw_error(&w) || kz_buf_putc(&r->out, '\n'))
            rc = kz_cli_fail(r->cli, "formatting the predictions");
    } else if (strcmp(r->format, "csv") == 0 ? kz_table_csv(t, &r->out) : kz_table_text(t, &r->out)) {
        rc = kz_cli_fail(r->cli, "formatting the predictions");
    }
done:
    for (size_t i = 0; dj && rows && i < rows->n; i++)
        kz_buf_free(&dj[i]);
    free(dj);
    free(prob);
    free(contrib);
    free(preds);
    free(order);
    free(store_id);
    kz_table_free(t);
    kz_dataset_free(rows);
    kz_churn_model_free(m);
    kz_model_rec_free(rec);
    return rc;
}

/* Writes text to path atomically (a temporary file renamed over it), or to
 * standard output when path is NULL or "-". */
static int write_file(const kz_cli *cli, const char *path, const char *text, size_t n)
{
    if (!path || strcmp(path, "-") == 0) {
        if (fwrite(text, 1, n, stdout) != n || fflush(stdout) != 0) {
            kz_cli_err(cli, "cannot write to standard output");
            return KZ_EXIT_FAIL;
        }
        return KZ_EXIT_OK;
    }
    kz_buf tmp;
    kz_buf_init(&tmp, KZ_BUF_UNLIMITED);
    if (kz_buf_printf(&tmp, "%s.%ld.tmp", path, (long)getpid())) {
        kz_buf_free(&tmp);
        return kz_cli_fail(cli, "out of memory");
    }
    FILE *f = fopen(tmp.data, "wb");
    int ok = f && fwrite(text, 1, n, f) == n;
    if (f && fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp.data, path) != 0) {
        kz_cli_err(cli, "cannot write %s: %s", path, strerror(errno));
        remove(tmp.data);
        kz_buf_free(&tmp);
        return KZ_EXIT_FAIL;
    }
    kz_buf_free(&tmp);
    return KZ_EXIT_OK;
}

/* evaluate or train on an analyst's table: rows split by a hash of the id. */
static int table_evaluate_or_train(struct run *r)
{
    kz_ftable *t = NULL;
    kz_dataset *d = NULL;
    char *encoding = NULL;
    uint8_t *role = NULL;
    kz_churn_eval ev[KZ_CHURN_MODELS], periods;
    kz_churn_model *m = NULL;
    kz_buf body;
    int rc = KZ_EXIT_OK;
    kz_buf_init(&body, KZ_BUF_UNLIMITED);
    memset(&periods, 0, sizeof periods);
    periods.train_first = periods.train_last = periods.test_first = periods.test_last = KZ_DAY_NONE;
    if (kz_ftable_read(&t, r->table, r->id, r->label) || kz_ftable_dataset(&d, &encoding, t, NULL)) {
        kz_cli_err(r->cli, "%s", kz_error_msg());
        rc = kz_error_code() == KZ_EINVALID ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
        goto done;
    }
    if (!(role = malloc(d->n ? d->n : 1))) {
        rc = kz_cli_fail(r->cli, "out of memory");
        goto done;
    }
    kz_ftable_roles(role, t, r->co.test_share);
    if (kz_churn_evaluate_roles(ev, d, &r->co, role, &periods)) {
        kz_cli_err(r->cli, "%s", kz_error_msg());
        rc = KZ_EXIT_FAIL;
        goto done;
    }
    if (print_evaluation(r, ev, d)) {
        rc = kz_cli_fail(r->cli, "formatting the evaluation");
        goto done;
    }
    if (strcmp(r->sub, "train") != 0)
        goto done;
    int algo = strcmp(r->algorithm, "xgboost") == 0 ? KZ_CHURN_XGBOOST
               : strcmp(r->algorithm, "logistic") == 0 ? KZ_CHURN_LOGISTIC
               : ev[KZ_CHURN_XGBOOST].roc_auc > ev[KZ_CHURN_LOGISTIC].roc_auc ? KZ_CHURN_XGBOOST
                                                                               : KZ_CHURN_LOGISTIC;
    if (kz_churn_model_train(&m, d, algo, ev[KZ_CHURN_LOGISTIC].lambda, 0) || kz_churn_model_set_table(m, encoding) ||
        kz_churn_model_save(m, &body)) {
        rc = kz_cli_fail(r->cli, "training the model");
        goto done;
    }
    if ((rc = write_file(r->cli, r->model_path, body.data, body.len)) == KZ_EXIT_OK &&
        strcmp(r->format, "table") == 0)
        kz_buf_printf(&r->out, "\n%s model of %zu rows and %zu features written to %s\n", kz_churn_algo_name(algo),
                      d->n, d->p, r->model_path);
done:
    kz_churn_model_free(m);
    kz_buf_free(&body);
    free(role);
    free(encoding);
    kz_dataset_free(d);
    kz_ftable_free(t);
    return rc;
}

/* predict on an analyst's table: <id>,churn_probability for every row, in
 * the table's order. */
static int table_predict(struct run *r)
{
    kz_churn_model *m = NULL;
    kz_ftable *t = NULL;
    kz_dataset *d = NULL;
    double *prob = NULL;
    size_t len = 0;
    char *body = NULL;
    cJSON *enc = NULL;
    kz_buf csv;
    int rc = KZ_EXIT_OK;
    kz_buf_init(&csv, KZ_BUF_UNLIMITED);
    kz_buf mb;
    int bad = kz_cli_read_file(r->cli, r->model_path, (size_t)1 << 30, &mb) != KZ_EXIT_OK;
    if (bad) {
        kz_buf_free(&mb);
        return KZ_EXIT_FAIL;
    }
    body = mb.data;
    len = mb.len;
    if (kz_churn_model_load(&m, body ? body : "", len)) {
        kz_cli_err(r->cli, "%s: %s", r->model_path, kz_error_msg());
        rc = KZ_EXIT_FAIL;
        goto done;
    }
    if (!kz_churn_model_table(m)) {
        kz_cli_err(r->cli, "%s: this model was trained on the database, not on a table", r->model_path);
        rc = KZ_EXIT_FAIL;
        goto done;
    }
    enc = cJSON_Parse(kz_churn_model_table(m));
    const cJSON *idc = cJSON_GetObjectItemCaseSensitive(enc, "id");
    const char *id = r->id ? r->id : cJSON_IsString(idc) ? idc->valuestring : "";
    if (kz_ftable_read(&t, r->table, id, NULL) || kz_ftable_dataset(&d, NULL, t, kz_churn_model_table(m))) {
        kz_cli_err(r->cli, "%s", kz_error_msg());
        rc = kz_error_code() == KZ_EINVALID ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
        goto done;
    }
    if (!(prob = malloc((d->n ? d->n : 1) * sizeof *prob)) || kz_churn_model_score(m, d, prob, NULL)) {
        rc = kz_cli_fail(r->cli, "scoring");
        goto done;
    }
    const char *idname = kz_ftable_id_column(t);
    int wrc = kz_csvw_field(&csv, idname, strlen(idname), 1) || kz_buf_puts(&csv, ",churn_probability\n");
    for (size_t i = 0; i < d->n && !wrc; i++) {
        char num[KZ_DOUBLE_BUF];
        kz_format_double(num, prob[i]);
        const char *idv = kz_ftable_id(t, i);
        wrc = kz_csvw_field(&csv, idv, strlen(idv), 1) || kz_buf_printf(&csv, ",%s\n", num);
    }
    if (wrc) {
        rc = kz_cli_fail(r->cli, "out of memory");
        goto done;
    }
    rc = write_file(r->cli, r->output, csv.data ? csv.data : "", csv.len);
done:
    cJSON_Delete(enc);
    kz_buf_free(&mb);
    kz_buf_free(&csv);
    free(prob);
    kz_dataset_free(d);
    kz_ftable_free(t);
    kz_churn_model_free(m);
    return rc;
}

int kz_cmd_churn(kz_cli *cli, int argc, char **argv)
{
    struct run r;
    memset(&r, 0, sizeof r);
    r.cli = cli;
    r.format = "table";
    r.algorithm = "best";
    kz_churn_opts_init(&r.co);
    kz_metric_opts_init(&r.mo);
    kz_buf_init(&r.out, KZ_BUF_UNLIMITED);
    r.filters = calloc((size_t)argc + 1, sizeof *r.filters);
    r.excluded = calloc((size_t)argc + 1, sizeof *r.excluded);
    int rc = !r.filters || !r.excluded ? kz_cli_fail(cli, "out of memory") : parse(&r, argc, argv);
    if (rc == -1)
        rc = KZ_EXIT_OK; /* --help */
    else if (rc == KZ_EXIT_OK && r.table)
        rc = strcmp(r.sub, "predict") == 0 ? table_predict(&r) : table_evaluate_or_train(&r);
    else if (rc == KZ_EXIT_OK && (rc = prepare(&r)) == KZ_EXIT_OK)
        rc = strcmp(r.sub, "predict") == 0 ? cmd_predict(&r) : cmd_evaluate_or_train(&r);
    if (rc == KZ_EXIT_OK &&
        (fwrite(r.out.data ? r.out.data : "", 1, r.out.len, stdout) != r.out.len || fflush(stdout) != 0)) {
        kz_cli_err(cli, "cannot write the output");
        rc = KZ_EXIT_FAIL;
    }
    run_free(&r);
    return rc;
}
