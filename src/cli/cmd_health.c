/*
 * cmd_health.c - `kizuna health`: account health scores from a definition
 * (docs/health.md): the scores of every paying account, one account's
 * factors in words, the backtest against real churn, and the definition.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/table.h"
#include "core/text.h"
#include "engine/evaluate.h"
#include "engine/health.h"
#include "engine/logit.h"
#include "engine/scores.h"
#include "engine/segment.h"
#include "engine/signals.h"


struct run {
    kz_cli *cli;
    const char *sub, *account, *format, *definition;
    int horizon, step;
    long top;
    kz_metric_opts mo;
    kz_store *st;
    kz_engine *e;
    kz_tz *tz;
    kz_segments *filter;
    kz_attrs *attrs;
    kz_health_def *def;
    int64_t version;           /* of def: 0 the built-in one, -1 a file not stored yet, else stored */
    kz_day from, to;           /* record, history, diff */
    char *image;
    const char **filters;
    size_t nfilters;
    kz_buf out;
};

static void run_free(struct run *r)
{
    free(r->filters);
    kz_buf_free(&r->out);
    kz_health_def_free(r->def);
    kz_attrs_free(r->attrs);
    kz_segments_free(r->filter);
    kz_engine_free(r->e);
    kz_tz_free(r->tz);
    free(r->image);
    kz_store_close(r->st);
}

/* Reads the definition: --definition FILE, or the default. */
/* Parses a definition from JSON text into *out; origin names it in messages. */
static int parse_def(struct run *r, const char *json, size_t n, const char *origin, kz_health_def **out)
{
    if (kz_health_def_parse(out, json, n, origin)) {
        kz_cli_err(r->cli, "%s", kz_error_msg());
        return KZ_EXIT_USAGE;
    }
    return KZ_EXIT_OK;
}

/* The definition of version v (0: the built-in one) into *out. */
static int def_of_version(struct run *r, int64_t v, kz_health_def **out)
{
    if (kz_health_def_version(out, r->st, v)) {
        kz_cli_err(r->cli, "%s", kz_error_msg());
        return kz_error_code() == KZ_EINVALID ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
    }
    return KZ_EXIT_OK;
}

/* The definition in use: --definition FILE (version -1 until stored, or the
 * stored version it equals), else the latest stored, else the built-in. */
static int load_definition(struct run *r)
{
    int64_t latest = 0;
    char *stored = NULL;
    if (!r->definition) {
        if (kz_health_def_current(&r->def, &r->version, r->st)) {
            kz_cli_err(r->cli, "reading the health definition: %s", kz_error_msg());
            return KZ_EXIT_FAIL;
        }
        return KZ_EXIT_OK;
    }
    int rc = kz_store_health_def_get(r->st, 0, &latest, &stored);
    if (rc && rc != KZ_ENOTFOUND)
        return kz_cli_fail(r->cli, "reading the health definition");
    kz_buf b, norm;
    kz_buf_init(&norm, KZ_BUF_UNLIMITED);
    if (kz_cli_read_file(r->cli, r->definition, (size_t)16 << 20, &b) ||
        (rc = parse_def(r, b.data ? b.data : "", b.len, r->definition, &r->def))) {
        kz_buf_free(&b);
        free(stored);
        return KZ_EXIT_USAGE;
    }
    /* the same as the latest stored one (normalised)? then it is that version */
    r->version = -1;
    if (stored && kz_health_def_json(r->def, &norm) == KZ_OK && kz_buf_putc(&norm, '\0') == KZ_OK &&
        strcmp(norm.data, stored) == 0)
        r->version = latest;
    kz_buf_free(&norm);
    kz_buf_free(&b);
    free(stored);
    return KZ_EXIT_OK;
}

/* Stores the definition in use as a new version unless it is one already. */
static int store_definition(struct run *r)
{
    if (r->version >= 0)
        return KZ_EXIT_OK;
    kz_buf norm;
    kz_buf_init(&norm, KZ_BUF_UNLIMITED);
    int rc = kz_health_def_json(r->def, &norm) || kz_buf_putc(&norm, '\0') ||
             kz_store_health_def_put(r->st, norm.data, kz_now(), &r->version);
    kz_buf_free(&norm);
    return rc ? kz_cli_fail(r->cli, "storing the health definition") : KZ_EXIT_OK;
}

static int parse(struct run *r, int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' },     { "definition", required_argument, NULL, 'd' },
        { "as-of", required_argument, NULL, 'a' },      { "timezone", required_argument, NULL, 'z' },
        { "filter", required_argument, NULL, 'w' },     { "horizon", required_argument, NULL, 'H' },
        { "step", required_argument, NULL, 'S' },       { "top", required_argument, NULL, 't' },
        { "from", required_argument, NULL, 'F' },       { "to", required_argument, NULL, 'T' },
        { NULL, 0, NULL, 0 },
    };
    kz_cli *cli = r->cli;
    int done, c;
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        int64_t v;
        switch (c) {
        case 'f': r->format = optarg; break;
        case 'd': r->definition = optarg; break;
        case 'w': r->filters[r->nfilters++] = optarg; break;
        case 'H':
        case 'S':
            if (kz_parse_int(&v, optarg, strlen(optarg), 1, 3660))
                return kz_cli_usage(cli, "--%s %s: a number of days from 1 to 3660", c == 'H' ? "horizon" : "step",
                                    optarg);
            *(c == 'H' ? &r->horizon : &r->step) = (int)v;
            break;
        case 't':
            if (kz_parse_int(&v, optarg, strlen(optarg), 1, INT32_MAX))
                return kz_cli_usage(cli, "--top %s: a number of accounts, 1 or more", optarg);
            r->top = (long)v;
            break;
        case 'a':
        case 'F':
        case 'T': {
            kz_day day;
            if (kz_parse_date(&day, optarg, strlen(optarg)))
                return kz_cli_usage(cli, "--%s %s: %s", c == 'a' ? "as-of" : c == 'F' ? "from" : "to", optarg,
                                    kz_error_msg());
            *(c == 'a' ? &r->mo.obs : c == 'F' ? &r->from : &r->to) = day;
            break;
        }
        case 'z':
            if (kz_config_set(&cli->cfg, "reporting.timezone", optarg, KZ_SRC_FLAG))
                return kz_cli_usage(cli, "--timezone: %s", kz_error_msg());
            break;
        default: return done == KZ_EXIT_OK ? -1 : done;
        }
    }
    if (strcmp(r->format, "table") != 0 && strcmp(r->format, "csv") != 0 && strcmp(r->format, "json") != 0)
        return kz_cli_usage(cli, "--format must be table, csv or json, not '%s'", r->format);
    if (optind >= argc)
        return kz_cli_usage(cli, "which subcommand? (score, show ACCOUNT, backtest, suggest or definition)");
    r->sub = argv[optind++];
    static const char *const subs[] = { "score", "show", "backtest", "suggest", "definition", "define", "record",
                                        "history", "diff" };
    int known = 0;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        known |= strcmp(r->sub, subs[i]) == 0;
    if (!known)
        return kz_cli_usage(cli, "unknown subcommand '%s' (score, show, history, diff, record, backtest, suggest, "
                                 "definition or define)",
                            r->sub);
    int takes_account = strcmp(r->sub, "show") == 0 || strcmp(r->sub, "history") == 0 || strcmp(r->sub, "diff") == 0;
    if (takes_account || strcmp(r->sub, "define") == 0) {
        if (optind >= argc)
            return kz_cli_usage(cli, takes_account ? "%s which account? (kizuna health %s ACCOUNT_ID)"
                                                   : "%s which file? (kizuna health %s FILE)",
                                r->sub, r->sub);
        if (takes_account)
            r->account = argv[optind++];
        else
            r->definition = argv[optind++];
    }
    if (optind < argc)
        return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (r->top && strcmp(r->sub, "score") != 0)
        return kz_cli_usage(cli, "--top: only health score lists accounts");
    if (strcmp(r->sub, "diff") == 0 && (r->from == KZ_DAY_NONE || r->to == KZ_DAY_NONE))
        return kz_cli_usage(cli, "diff needs --from DATE and --to DATE");
    if ((r->from != KZ_DAY_NONE || r->to != KZ_DAY_NONE) && strcmp(r->sub, "diff") != 0 &&
        strcmp(r->sub, "record") != 0 && strcmp(r->sub, "history") != 0)
        return kz_cli_usage(cli, "--from and --to: for record, history and diff");
    if (r->from != KZ_DAY_NONE && r->to != KZ_DAY_NONE && r->from > r->to)
        return kz_cli_usage(cli, "--from is after --to");
    return KZ_EXIT_OK;
}

static int prepare(struct run *r)
{
    kz_cli *cli = r->cli;
    int rc;
    if (kz_tz_load(&r->tz, cli->cfg.reporting_timezone)) {
        kz_cli_err(cli, "reporting.timezone: %s", kz_error_msg());
        return KZ_EXIT_USAGE;
    }
    r->mo.tz = r->tz;
    int writes = strcmp(r->sub, "define") == 0 || strcmp(r->sub, "record") == 0;
    if ((rc = kz_cli_open_store(cli, &r->st, writes ? 0 : KZ_STORE_READONLY)) != 0)
        return rc;
    if ((rc = load_definition(r)) != 0)
        return rc;
    r->image = kz_engine_image_path(r->st);
    if (!r->image || kz_engine_build(&r->e, r->st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, r->image))
        return kz_cli_fail(cli, "building the engine");
    kz_day at = r->mo.obs != KZ_DAY_NONE ? r->mo.obs : kz_engine_last_day(r->e, r->tz);
    if (kz_segments_build(&r->filter, r->st, r->e, at, r->filters, r->nfilters, NULL)) {
        kz_cli_err(cli, "%s", kz_error_msg());
        return kz_error_code() == KZ_EINVALID ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
    }
    r->mo.mask = r->filter ? r->filter->filter : NULL;
    if (kz_attrs_load(&r->attrs, r->st, r->e))
        return kz_cli_fail(cli, "reading the attributes of accounts");
    return KZ_EXIT_OK;
}

/* The scores at day `at` (the masks of the segments are built for that day). */
static int scores_at(struct run *r, kz_day at, kz_health_scores **out)
{
    if (kz_health_score_at(out, r->def, r->definition ? r->definition : "definition", r->st, r->e, &r->mo, at,
                           r->attrs) == KZ_OK)
        return KZ_EXIT_OK;
    if (kz_error_code() == KZ_EINVALID) {
        kz_cli_err(r->cli, "%s", kz_error_msg());
        return KZ_EXIT_USAGE;
    }
    return kz_cli_fail(r->cli, "computing the scores");
}

static kz_day obs_of(const struct run *r)
{
    return r->mo.obs != KZ_DAY_NONE ? r->mo.obs : kz_engine_last_day(r->e, r->tz);
}

static int emit(struct run *r, kz_table *t)
{
    return strcmp(r->format, "csv") == 0    ? kz_table_csv(t, &r->out)
           : strcmp(r->format, "json") == 0 ? kz_table_json(t, &r->out)
                                            : kz_table_text(t, &r->out);
}

struct order {
    uint32_t a;
    double score;
};

static int cmp_order(const void *x, const void *y)
{
    const struct order *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? -1 : 1;
    return (a->a > b->a) - (a->a < b->a);
}

static const kz_tcol score_cols[] = {
    { "account_id", KZ_T_TEXT }, { "score", KZ_T_NUMBER }, { "band", KZ_T_TEXT }, { "segment", KZ_T_TEXT },
    { "mrr", KZ_T_MONEY },       { "weakest", KZ_T_TEXT },
};

/* score: every paying account, the weakest first, with the factors that cost
 * it the most points. */
static int cmd_score(struct run *r)
{
    kz_health_scores *h = NULL;
    kz_day at = obs_of(r);
    struct order *ord = NULL;
    kz_table *t = NULL;
    size_t n = 0;
    int rc = at == KZ_DAY_NONE ? (kz_cli_err(r->cli, "no data to score yet"), KZ_EXIT_FAIL) : scores_at(r, at, &h);
    if (rc)
        return rc;
    ord = malloc((h->naccounts ? h->naccounts : 1) * sizeof *ord);
    t = kz_table_new(score_cols, sizeof score_cols / sizeof score_cols[0]);
    if (!ord || !t) {
        rc = kz_cli_fail(r->cli, "out of memory");
        goto done;
    }
    for (uint32_t a = 0; a < h->naccounts; a++)
        if (!isnan(h->score[a]))
            ord[n++] = (struct order){ a, h->score[a] };
    if (n > 1)
        qsort(ord, n, sizeof *ord, cmp_order);
    for (size_t i = 0; i < n && (!r->top || i < (size_t)r->top); i++) {
        uint32_t a = ord[i].a;
        int s = h->segment[a];
        kz_buf weak;
        kz_buf_init(&weak, KZ_BUF_UNLIMITED);
        kz_health_weakest(&weak, r->def, h, a);
        size_t klen;
        const char *key = kz_engine_account_key(r->e, a, &klen);
        const char *band = kz_health_band_name(h->band[a]), *seg = kz_health_segment_name(r->def, (size_t)s);
        kz_tcell *c = kz_table_add_row(t);
        int bad = !c || kz_cell_text(t, &c[0], key, klen) || kz_cell_text(t, &c[2], band, strlen(band)) ||
                  kz_cell_text(t, &c[3], seg, strlen(seg)) ||
                  kz_cell_text(t, &c[5], weak.data ? weak.data : "", weak.len);
        kz_buf_free(&weak);
        if (bad) {
            rc = kz_cli_fail(r->cli, "out of memory");
            goto done;
        }
        kz_cell_number(&c[1], round(h->score[a] * 10) / 10);
        kz_cell_int(&c[4], kz_engine_mrr(r->e, a, at));
    }
    if (emit(r, t))
        rc = kz_cli_fail(r->cli, "formatting the scores");
done:
    free(ord);
    kz_table_free(t);
    kz_health_scores_free(h);
    return rc;
}

static const kz_tcol show_cols[] = {
    { "factor", KZ_T_TEXT },   { "value", KZ_T_NUMBER }, { "points", KZ_T_NUMBER }, { "weight", KZ_T_NUMBER },
    { "adds", KZ_T_NUMBER },   { "says", KZ_T_TEXT },
};

/* show ACCOUNT: its score and each factor, in words. */
static int cmd_show(struct run *r)
{
    int64_t a = kz_engine_find_account(r->e, r->account, strlen(r->account));
    kz_health_scores *h = NULL;
    kz_table *t = NULL;
    kz_day at = obs_of(r);
    int rc;
    if (a < 0) {
        kz_cli_err(r->cli, "no account '%s'", r->account);
        return KZ_EXIT_USAGE;
    }
    if (at == KZ_DAY_NONE) {
        kz_cli_err(r->cli, "no data to score yet");
        return KZ_EXIT_FAIL;
    }
    if ((rc = scores_at(r, at, &h)))
        return rc;
    if (isnan(h->score[a])) {
        char day[KZ_DATE_BUF];
        kz_format_date(day, at);
        kz_cli_err(r->cli, "%s does not pay on %s: only paying accounts have a health score", r->account, day);
        kz_health_scores_free(h);
        return KZ_EXIT_FAIL;
    }
    int s = h->segment[a];
    t = kz_table_new(show_cols, sizeof show_cols / sizeof show_cols[0]);
    if (!t) {
        kz_health_scores_free(h);
        return kz_cli_fail(r->cli, "out of memory");
    }
    for (size_t k = 0; k < kz_health_factors(r->def, (size_t)s) && !rc; k++) {
        const kz_health_part *p = &h->part[(size_t)a * h->width + k];
        const char *name = kz_health_factor_name(r->def, (size_t)s, k);
        kz_buf says;
        kz_buf_init(&says, KZ_BUF_UNLIMITED);
        kz_health_describe(&says, r->def, h, (uint32_t)a, k);
        kz_tcell *c = kz_table_add_row(t);
        if (!c || kz_cell_text(t, &c[0], name, strlen(name)) ||
            kz_cell_text(t, &c[5], says.data ? says.data : "", says.len))
            rc = kz_cli_fail(r->cli, "out of memory");
        kz_buf_free(&says);
        if (rc)
            break;
        if (!isnan(p->value))
            kz_cell_number(&c[1], p->value);
        kz_cell_number(&c[2], round(p->points * 1000) / 10);
        kz_cell_number(&c[3], round(p->weight * 10) / 10);
        kz_cell_number(&c[4], round(p->score * 10) / 10);
    }
    if (!rc && strcmp(r->format, "table") == 0) {
        char day[KZ_DATE_BUF];
        kz_format_date(day, at);
        kz_buf_printf(&r->out, "%s on %s: %.1f, %s (segment %s)\n", r->account, day, h->score[a],
                      kz_health_band_name(h->band[a]), kz_health_segment_name(r->def, (size_t)s));
    }
    if (!rc && emit(r, t))
        rc = kz_cli_fail(r->cli, "formatting");
    kz_table_free(t);
    kz_health_scores_free(h);
    return rc;
}

/* The scores at past dates with their outcome (scores.h), or the error said. */
static int collect(struct run *r, kz_health_history *hs)
{
    if (kz_health_history_collect(hs, r->def, r->definition ? r->definition : "definition", r->st, r->e, &r->mo,
                                  r->attrs, r->horizon, r->step) == KZ_OK)
        return KZ_EXIT_OK;
    kz_cli_err(r->cli, "%s", kz_error_msg());
    return kz_error_code() == KZ_EINVALID ? KZ_EXIT_FAIL : KZ_EXIT_FAIL;
}

/* backtest: the score at past dates against churn within the horizon. */
static int cmd_backtest(struct run *r)
{
    kz_health_history hs;
    kz_health_backtest bt;
    int rc = collect(r, &hs);
    if (rc)
        goto done;
    kz_health_backtest_of(&bt, &hs, r->horizon);
    if (strcmp(r->format, "json") == 0) {
        if (kz_health_backtest_json(&r->out, &bt) || kz_buf_putc(&r->out, '\n'))
            rc = kz_cli_fail(r->cli, "formatting");
        goto done;
    }
    static const kz_tcol cols[] = { { "band", KZ_T_TEXT },
                                    { "rows", KZ_T_INT },
                                    { "churned", KZ_T_INT },
                                    { "churn_rate", KZ_T_DOUBLE },
                                    { "lift", KZ_T_DOUBLE } };
    kz_table *t = kz_table_new(cols, 5);
    if (!t) {
        rc = kz_cli_fail(r->cli, "out of memory");
        goto done;
    }
    double base = bt.rows ? (double)bt.churned / (double)bt.rows : NAN;
    for (int b = KZ_BAND_GREEN; b >= KZ_BAND_RED; b--) {
        const char *name = kz_health_band_name(b);
        kz_tcell *c = kz_table_add_row(t);
        if (!c || kz_cell_text(t, &c[0], name, strlen(name))) {
            kz_table_free(t);
            rc = kz_cli_fail(r->cli, "out of memory");
            goto done;
        }
        kz_cell_int(&c[1], (int64_t)bt.band_rows[b]);
        kz_cell_int(&c[2], (int64_t)bt.band_churned[b]);
        if (bt.band_rows[b]) {
            kz_cell_double(&c[3], (double)bt.band_churned[b] / (double)bt.band_rows[b]);
            if (base > 0)
                kz_cell_double(&c[4], (double)bt.band_churned[b] / (double)bt.band_rows[b] / base);
        }
    }
    if (strcmp(r->format, "table") == 0)
        kz_buf_printf(&r->out,
                      "Backtest: %zu scores of paying accounts on %zu dates, churn within %d days: ROC AUC %.3f, "
                      "%s.\n",
                      bt.rows, bt.dates, r->horizon, bt.roc_auc, bt.verdict);
    if (emit(r, t))
        rc = kz_cli_fail(r->cli, "formatting");
    kz_table_free(t);
done:
    kz_health_history_free(&hs);
    return rc;
}

/* The ROC AUC of the weighted points of the rows in `use` (weights per
 * segment and factor, w[s * width + k]). */
static double weighted_auc(const kz_health_history *hs, const double *w, const uint8_t *use)
{
    double *risk = malloc((hs->n ? hs->n : 1) * sizeof *risk);
    uint8_t *y = malloc(hs->n ? hs->n : 1);
    size_t m = 0;
    double auc = -1;
    if (risk && y) {
        for (size_t i = 0; i < hs->n; i++) {
            if (!use[i])
                continue;
            double score = 0;
            for (size_t k = 0; k < hs->width; k++)
                score += hs->points[i * hs->width + k] * w[(size_t)hs->segment[i] * hs->width + k];
            risk[m] = -score;
            y[m++] = hs->y[i];
        }
        auc = kz_eval_roc_auc(risk, y, m);
    }
    free(risk);
    free(y);
    return auc;
}

static const kz_tcol suggest_cols[] = {
    { "segment", KZ_T_TEXT }, { "factor", KZ_T_TEXT }, { "current", KZ_T_NUMBER }, { "suggested", KZ_T_NUMBER },
};

/* suggest: weights learnt from churn. Per segment, a logistic regression of
 * churn on the factors' points over the earlier dates; a factor whose points
 * go with less churn gets a weight in proportion to how strongly, the others
 * none. Both sets are then judged on the later dates. */
static int cmd_suggest(struct run *r)
{
    kz_health_history hs;
    size_t ns = kz_health_segments(r->def);
    double *cur = NULL, *sug = NULL, *x = NULL;
    uint8_t *train = NULL, *test = NULL, *yy = NULL;
    kz_table *t = NULL;
    int rc = collect(r, &hs);
    if (rc)
        goto done;
    cur = calloc(ns * (hs.width ? hs.width : 1), sizeof *cur);
    sug = calloc(ns * (hs.width ? hs.width : 1), sizeof *sug);
    train = calloc(hs.n ? hs.n : 1, 1);
    test = calloc(hs.n ? hs.n : 1, 1);
    x = malloc((hs.n ? hs.n : 1) * (hs.width ? hs.width : 1) * sizeof *x);
    yy = malloc(hs.n ? hs.n : 1);
    t = kz_table_new(suggest_cols, sizeof suggest_cols / sizeof suggest_cols[0]);
    if (!cur || !sug || !train || !test || !x || !yy || !t) {
        rc = kz_cli_fail(r->cli, "out of memory");
        goto done;
    }
    /* the dates: the latest 30 % judge, those a horizon before them teach */
    kz_day lo = KZ_DAY_NONE, hi = KZ_DAY_NONE;
    for (size_t i = 0; i < hs.n; i++) {
        lo = lo == KZ_DAY_NONE || hs.day[i] < lo ? hs.day[i] : lo;
        hi = hi == KZ_DAY_NONE || hs.day[i] > hi ? hs.day[i] : hi;
    }
    size_t ntest_dates = hs.dates ? (hs.dates * 3 + 9) / 10 : 0;
    kz_day test_first = hi - (kz_day)((ntest_dates ? ntest_dates - 1 : 0) * (size_t)r->step);
    for (size_t i = 0; i < hs.n; i++) {
        test[i] = hs.day[i] >= test_first;
        train[i] = (int64_t)hs.day[i] + r->horizon <= test_first;
    }
    for (size_t s = 0; s < ns && !rc; s++) {
        size_t nf = kz_health_factors(r->def, s), m = 0, churned = 0;
        for (size_t k = 0; k < nf; k++)
            cur[s * hs.width + k] = sug[s * hs.width + k] = kz_health_factor_weight(r->def, s, k);
        for (size_t i = 0; i < hs.n; i++) {
            if (!train[i] || hs.segment[i] != (int)s)
                continue;
            memcpy(x + m * nf, hs.points + i * hs.width, nf * sizeof *x);
            yy[m] = hs.y[i];
            churned += hs.y[i];
            m++;
        }
        kz_logit *lm = NULL;
        if (!churned || churned == m)
            continue; /* nothing to learn in this segment: keep its weights */
        if (kz_logit_fit(&lm, x, yy, m, nf, 1.0)) {
            rc = kz_cli_fail(r->cli, "learning the weights");
            break;
        }
        double total = 0;
        for (size_t k = 0; k < nf; k++)
            total += lm->coef[k] < 0 ? -lm->coef[k] : 0;
        for (size_t k = 0; k < nf && total > 0; k++)
            sug[s * hs.width + k] = 100 * (lm->coef[k] < 0 ? -lm->coef[k] : 0) / total;
        kz_logit_free(lm);
    }
    if (rc)
        goto done;
    double auc_cur = weighted_auc(&hs, cur, test), auc_sug = weighted_auc(&hs, sug, test);
    for (size_t s = 0; s < ns && !rc; s++)
        for (size_t k = 0; k < kz_health_factors(r->def, s); k++) {
            const char *sn = kz_health_segment_name(r->def, s), *fn = kz_health_factor_name(r->def, s, k);
            kz_tcell *c = kz_table_add_row(t);
            if (!c || kz_cell_text(t, &c[0], sn, strlen(sn)) || kz_cell_text(t, &c[1], fn, strlen(fn))) {
                rc = kz_cli_fail(r->cli, "out of memory");
                break;
            }
            kz_cell_number(&c[2], round(cur[s * hs.width + k] * 10) / 10);
            kz_cell_number(&c[3], round(sug[s * hs.width + k] * 10) / 10);
            kz_health_set_factor_weight(r->def, s, k, sug[s * hs.width + k]);
        }
    if (rc)
        goto done;
    if (strcmp(r->format, "json") == 0) {
        kz_jw w;
        kz_jw_init(&w, &r->out);
        kz_jw_obj(&w);
        kz_jw_key(&w, "roc_auc_current");
        kz_jw_double(&w, auc_cur);
        kz_jw_key(&w, "roc_auc_suggested");
        kz_jw_double(&w, auc_sug);
        kz_jw_key(&w, "definition");
        kz_buf def;
        kz_buf_init(&def, KZ_BUF_UNLIMITED);
        if (kz_health_def_json(r->def, &def) == KZ_OK)
            kz_jw_raw(&w, def.data, def.len);
        kz_buf_free(&def);
        kz_jw_end(&w);
        if (kz_jw_error(&w) || kz_buf_putc(&r->out, '\n'))
            rc = kz_cli_fail(r->cli, "formatting");
        goto done;
    }
    if (strcmp(r->format, "table") == 0) {
        char a[KZ_DATE_BUF], b[KZ_DATE_BUF];
        kz_format_date(a, test_first);
        kz_format_date(b, hi);
        kz_buf_printf(&r->out,
                      "Weights learnt from churn within %d days on the dates before %s, judged on %s to %s:\n"
                      "ROC AUC on those later dates: current %.3f, suggested %.3f.\n",
                      r->horizon, a, a, b, auc_cur, auc_sug);
    }
    if (emit(r, t))
        rc = kz_cli_fail(r->cli, "formatting");
    if (!rc && strcmp(r->format, "table") == 0)
        kz_buf_puts(&r->out, "\nThe suggested definition is `kizuna health suggest --format json` (its \"definition\").\n");
done:
    kz_health_history_free(&hs);
    free(cur);
    free(sug);
    free(train);
    free(test);
    free(x);
    free(yy);
    kz_table_free(t);
    return rc;
}

/* record: every paying account's score on each day of [--from, --to] (or
 * the observation date), stored with the definition's version; a definition
 * given as a file is stored as a new version first. */
static int cmd_record(struct run *r)
{
    kz_day from = r->from != KZ_DAY_NONE ? r->from : obs_of(r), to = r->to != KZ_DAY_NONE ? r->to : from;
    int64_t *ids = malloc((kz_engine_accounts(r->e) ? kz_engine_accounts(r->e) : 1) * sizeof *ids);
    size_t total = 0, days = 0;
    int rc = KZ_EXIT_OK;
    if (!ids)
        return kz_cli_fail(r->cli, "out of memory");
    if (from == KZ_DAY_NONE) {
        free(ids);
        kz_cli_err(r->cli, "no data to score yet");
        return KZ_EXIT_FAIL;
    }
    if ((rc = store_definition(r))) {
        free(ids);
        return rc;
    }
    kz_engine_account_ids(r->e, ids);
    for (kz_day day = from; day <= to && !rc; day++) {
        kz_health_scores *h = NULL;
        if ((rc = scores_at(r, day, &h)))
            break;
        kz_health_row *rows = malloc((h->naccounts ? h->naccounts : 1) * sizeof *rows);
        kz_buf *parts = calloc(h->naccounts ? h->naccounts : 1, sizeof *parts);
        size_t n = 0;
        if (!rows || !parts)
            rc = kz_cli_fail(r->cli, "out of memory");
        for (uint32_t a = 0; a < h->naccounts && !rc; a++) {
            if (isnan(h->score[a]))
                continue;
            kz_buf_init(&parts[n], KZ_BUF_UNLIMITED);
            if (kz_health_parts_json(&parts[n], r->def, h, a, 0) || kz_buf_putc(&parts[n], '\0')) {
                rc = kz_cli_fail(r->cli, "out of memory");
                break;
            }
            double sc = h->score[a] < 0 ? 0 : h->score[a] > 100 ? 100 : h->score[a];
            rows[n] = (kz_health_row){ ids[a], day, sc, kz_health_band_name(h->band[a]), r->version, parts[n].data };
            n++;
        }
        if (!rc && kz_store_health_put(r->st, rows, n, kz_now()))
            rc = kz_cli_fail(r->cli, "storing the scores");
        for (size_t i = 0; parts && i < n; i++)
            kz_buf_free(&parts[i]);
        free(parts);
        free(rows);
        kz_health_scores_free(h);
        total += n;
        days++;
    }
    free(ids);
    if (!rc && strcmp(r->format, "table") == 0) {
        char a[KZ_DATE_BUF], b[KZ_DATE_BUF];
        kz_format_date(a, from);
        kz_format_date(b, to);
        kz_buf_printf(&r->out, "recorded %zu scores on %zu day%s (%s to %s) with health definition version %lld\n",
                      total, days, days == 1 ? "" : "s", a, b, (long long)r->version);
    }
    return rc;
}

static const kz_tcol history_cols[] = {
    { "day", KZ_T_DATE }, { "score", KZ_T_NUMBER }, { "band", KZ_T_TEXT }, { "version", KZ_T_INT },
};

struct hist_ctx {
    kz_table *t;
    int rc;
};

static int on_history(void *vctx, const char *key, const kz_health_row *h)
{
    struct hist_ctx *c = vctx;
    (void)key;
    kz_tcell *cell = kz_table_add_row(c->t);
    if (!cell || kz_cell_text(c->t, &cell[2], h->band, strlen(h->band)))
        return c->rc = KZ_ENOMEM;
    kz_cell_int(&cell[0], h->day);
    kz_cell_number(&cell[1], round(h->score * 10) / 10);
    kz_cell_int(&cell[3], h->version);
    return KZ_OK;
}

/* history ACCOUNT: its recorded scores. */
static int cmd_history(struct run *r)
{
    int64_t a = kz_engine_find_account(r->e, r->account, strlen(r->account));
    int64_t *ids = malloc((kz_engine_accounts(r->e) ? kz_engine_accounts(r->e) : 1) * sizeof *ids);
    struct hist_ctx c = { kz_table_new(history_cols, sizeof history_cols / sizeof history_cols[0]), 0 };
    int rc = KZ_EXIT_OK;
    if (!ids || !c.t) {
        rc = kz_cli_fail(r->cli, "out of memory");
    } else if (a < 0) {
        kz_cli_err(r->cli, "no account '%s'", r->account);
        rc = KZ_EXIT_USAGE;
    } else {
        kz_engine_account_ids(r->e, ids);
        if (kz_store_health_each(r->st, ids[a], r->from != KZ_DAY_NONE ? r->from : INT32_MIN,
                                 r->to != KZ_DAY_NONE ? r->to : INT32_MAX, on_history, &c) ||
            emit(r, c.t))
            rc = kz_cli_fail(r->cli, "reading the scores");
        else if (kz_table_rows(c.t) == 0 && strcmp(r->format, "table") == 0)
            kz_cli_err(r->cli, "no scores recorded for %s yet (kizuna health record)", r->account);
    }
    free(ids);
    kz_table_free(c.t);
    return rc;
}

/* The stored score of account id on day, if any (*found). */
struct one_ctx {
    int found;
    double score;
    int64_t version;
};

static int on_one(void *vctx, const char *key, const kz_health_row *h)
{
    struct one_ctx *c = vctx;
    (void)key;
    c->found = 1;
    c->score = h->score;
    c->version = h->version;
    return KZ_OK;
}

static const kz_tcol diff_cols[] = {
    { "factor", KZ_T_TEXT }, { "from", KZ_T_NUMBER }, { "to", KZ_T_NUMBER }, { "change", KZ_T_NUMBER },
    { "says_then", KZ_T_TEXT }, { "says_now", KZ_T_TEXT },
};

struct change {
    size_t k;
    double delta;
};

static int cmp_change(const void *x, const void *y)
{
    const struct change *a = x, *b = y;
    double da = fabs(a->delta), db = fabs(b->delta);
    if (da != db)
        return da > db ? -1 : 1;
    return (a->k > b->k) - (a->k < b->k);
}

/* diff ACCOUNT --from --to: which factors moved the score, by how much, and
 * what part of the change, if any, came from a new definition. */
static int cmd_diff(struct run *r)
{
    int64_t a = kz_engine_find_account(r->e, r->account, strlen(r->account));
    int64_t *ids = malloc((kz_engine_accounts(r->e) ? kz_engine_accounts(r->e) : 1) * sizeof *ids);
    kz_health_scores *h0 = NULL, *h1 = NULL;
    kz_health_def *use = NULL, *keep = r->def;
    struct one_ctx was = { 0, 0, 0 }, is = { 0, 0, 0 };
    kz_table *t = NULL;
    int rc = KZ_EXIT_OK;
    if (!ids) {
        rc = kz_cli_fail(r->cli, "out of memory");
        goto done;
    }
    if (a < 0) {
        kz_cli_err(r->cli, "no account '%s'", r->account);
        rc = KZ_EXIT_USAGE;
        goto done;
    }
    kz_engine_account_ids(r->e, ids);
    if (kz_store_health_each(r->st, ids[a], r->from, r->from, on_one, &was) ||
        kz_store_health_each(r->st, ids[a], r->to, r->to, on_one, &is)) {
        rc = kz_cli_fail(r->cli, "reading the scores");
        goto done;
    }
    /* both days by the definition of the later one (as recorded, else the one in use) */
    int64_t v = is.found ? is.version : r->version;
    if (is.found && v != r->version) {
        if ((rc = def_of_version(r, v, &use)))
            goto done;
        r->def = use;
    }
    if ((rc = scores_at(r, r->from, &h0)) || (rc = scores_at(r, r->to, &h1)))
        goto done;
    if (isnan(h0->score[a]) || isnan(h1->score[a]) || h0->segment[a] != h1->segment[a]) {
        kz_cli_err(r->cli, "%s: %s", r->account,
                   isnan(h0->score[a]) || isnan(h1->score[a]) ? "does not pay on both days: no scores to compare"
                                                              : "changed segment between the days: its factors differ");
        rc = KZ_EXIT_FAIL;
        goto done;
    }
    int s = h1->segment[a];
    size_t nf = kz_health_factors(r->def, (size_t)s);
    struct change ch[64];
    size_t nch = nf < 64 ? nf : 64;
    for (size_t k = 0; k < nch; k++)
        ch[k] = (struct change){ k, h1->part[(size_t)a * h1->width + k].score - h0->part[(size_t)a * h0->width + k].score };
    qsort(ch, nch, sizeof *ch, cmp_change);
    double total = h1->score[a] - h0->score[a];
    /* a recorded score made by another definition: the difference is the definition's */
    double by_definition = was.found && was.version != v ? h0->score[a] - was.score : 0;
    if (strcmp(r->format, "json") == 0) {
        kz_jw w;
        kz_jw_init(&w, &r->out);
        kz_jw_obj(&w);
        kz_jw_key(&w, "account_id");
        kz_jw_str(&w, r->account);
        kz_jw_key(&w, "from");
        kz_jw_double(&w, was.found ? was.score : h0->score[a]);
        kz_jw_key(&w, "to");
        kz_jw_double(&w, h1->score[a]);
        kz_jw_key(&w, "customer_change");
        kz_jw_double(&w, total);
        kz_jw_key(&w, "definition_change");
        kz_jw_double(&w, by_definition);
        kz_jw_key(&w, "version");
        kz_jw_int(&w, v);
        kz_jw_key(&w, "factors");
        kz_jw_arr(&w);
        for (size_t i = 0; i < nch; i++) {
            kz_jw_obj(&w);
            kz_jw_key(&w, "factor");
            kz_jw_str(&w, kz_health_factor_name(r->def, (size_t)s, ch[i].k));
            kz_jw_key(&w, "change");
            kz_jw_double(&w, ch[i].delta);
            kz_jw_end(&w);
        }
        kz_jw_end(&w);
        kz_jw_end(&w);
        if (kz_jw_error(&w) || kz_buf_putc(&r->out, '\n'))
            rc = kz_cli_fail(r->cli, "formatting");
        goto done;
    }
    t = kz_table_new(diff_cols, sizeof diff_cols / sizeof diff_cols[0]);
    if (!t) {
        rc = kz_cli_fail(r->cli, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nch && !rc; i++) {
        size_t k = ch[i].k;
        const char *fn = kz_health_factor_name(r->def, (size_t)s, k);
        kz_buf then, now;
        kz_buf_init(&then, KZ_BUF_UNLIMITED);
        kz_buf_init(&now, KZ_BUF_UNLIMITED);
        kz_health_describe(&then, r->def, h0, (uint32_t)a, k);
        kz_health_describe(&now, r->def, h1, (uint32_t)a, k);
        kz_tcell *c = kz_table_add_row(t);
        if (!c || kz_cell_text(t, &c[0], fn, strlen(fn)) ||
            kz_cell_text(t, &c[4], then.data ? then.data : "", then.len) ||
            kz_cell_text(t, &c[5], now.data ? now.data : "", now.len))
            rc = kz_cli_fail(r->cli, "out of memory");
        kz_buf_free(&then);
        kz_buf_free(&now);
        if (rc)
            break;
        kz_cell_number(&c[1], round(h0->part[(size_t)a * h0->width + k].score * 10) / 10);
        kz_cell_number(&c[2], round(h1->part[(size_t)a * h1->width + k].score * 10) / 10);
        kz_cell_number(&c[3], round(ch[i].delta * 10) / 10);
    }
    if (!rc && strcmp(r->format, "table") == 0) {
        char d0[KZ_DATE_BUF], d1[KZ_DATE_BUF];
        kz_format_date(d0, r->from);
        kz_format_date(d1, r->to);
        kz_buf_printf(&r->out, "%s from %s to %s: %.1f -> %.1f, %+.1f", r->account, d0, d1,
                      was.found ? was.score : h0->score[a], h1->score[a], total + by_definition);
        size_t shown = 0;
        for (size_t i = 0; i < nch && shown < 3; i++)
            if (fabs(ch[i].delta) >= 0.05)
                kz_buf_printf(&r->out, "%s %s %+.1f", shown++ ? "," : ":", kz_health_factor_name(r->def, (size_t)s, ch[i].k),
                              ch[i].delta);
        if (by_definition != 0)
            kz_buf_printf(&r->out, "; of it %+.1f from the new health definition (version %lld to %lld), not from the "
                                   "customer",
                          by_definition, (long long)was.version, (long long)v);
        kz_buf_puts(&r->out, "\n");
    }
    if (!rc && emit(r, t))
        rc = kz_cli_fail(r->cli, "formatting");
done:
    r->def = keep;
    kz_health_def_free(use);
    kz_health_scores_free(h0);
    kz_health_scores_free(h1);
    kz_table_free(t);
    free(ids);
    return rc;
}

int kz_cmd_health(kz_cli *cli, int argc, char **argv)
{
    struct run r;
    memset(&r, 0, sizeof r);
    r.cli = cli;
    r.format = "table";
    r.horizon = 90;
    r.step = 30;
    kz_metric_opts_init(&r.mo);
    kz_buf_init(&r.out, KZ_BUF_UNLIMITED);
    r.filters = calloc((size_t)argc + 1, sizeof *r.filters);
    r.from = r.to = KZ_DAY_NONE;
    int rc = !r.filters ? kz_cli_fail(cli, "out of memory") : parse(&r, argc, argv);
    if (rc == -1) {
        rc = KZ_EXIT_OK; /* --help */
    } else if (rc == KZ_EXIT_OK && (rc = prepare(&r)) == KZ_EXIT_OK) {
        if (strcmp(r.sub, "definition") == 0) {
            if (kz_health_def_json(r.def, &r.out) || kz_buf_putc(&r.out, '\n'))
                rc = kz_cli_fail(cli, "formatting the definition");
        } else if (strcmp(r.sub, "define") == 0) {
            int64_t before = r.version;
            if ((rc = store_definition(&r)) == KZ_EXIT_OK)
                kz_buf_printf(&r.out, before >= 0 ? "the definition is version %lld already\n"
                                                  : "stored as health definition version %lld\n",
                              (long long)r.version);
        } else {
            rc = strcmp(r.sub, "score") == 0     ? cmd_score(&r)
                 : strcmp(r.sub, "show") == 0    ? cmd_show(&r)
                 : strcmp(r.sub, "suggest") == 0 ? cmd_suggest(&r)
                 : strcmp(r.sub, "record") == 0  ? cmd_record(&r)
                 : strcmp(r.sub, "history") == 0 ? cmd_history(&r)
                 : strcmp(r.sub, "diff") == 0    ? cmd_diff(&r)
                                                 : cmd_backtest(&r);
        }
    }
    if (rc == KZ_EXIT_OK &&
        (fwrite(r.out.data ? r.out.data : "", 1, r.out.len, stdout) != r.out.len || fflush(stdout) != 0)) {
        kz_cli_err(cli, "cannot write the output");
        rc = KZ_EXIT_FAIL;
    }
    run_free(&r);
    return rc;
}
