/*
 * cmd_rules.c - `kizuna rules`: playbook rules loaded, listed, switched on
 * and off, backtested, run, and their firings and deliveries shown; and
 * `kizuna tasks`: the tasks of CSMs, listed and closed.
 *
 * Thin: parsing is rules/rule.h, the passes rules/run.h, actions rules/act.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/table.h"
#include "core/text.h"
#include "core/time.h"
#include "rules/act.h"
#include "rules/playbook.h"
#include "rules/run.h"

#define RULE_FILE_MAX ((size_t)1 << 20)

static int print_table(kz_cli *cli, const kz_table *t, const char *format)
{
    kz_buf out;
    kz_buf_init(&out, KZ_BUF_UNLIMITED);
    int rc = strcmp(format, "csv") == 0    ? kz_table_csv(t, &out)
             : strcmp(format, "json") == 0 ? kz_table_json(t, &out)
                                           : kz_table_text(t, &out);
    if (rc) {
        kz_buf_free(&out);
        return kz_cli_fail(cli, "writing the table");
    }
    fwrite(out.data ? out.data : "", 1, out.len, stdout);
    kz_buf_free(&out);
    return KZ_EXIT_OK;
}

static int format_ok(const char *f)
{
    return strcmp(f, "table") == 0 || strcmp(f, "csv") == 0 || strcmp(f, "json") == 0;
}

static int cell_text(kz_table *t, kz_tcell *c, const char *s)
{
    return s ? kz_cell_text(t, c, s, strlen(s)) : KZ_OK;
}

static int cell_time(kz_table *t, kz_tcell *c, kz_time at)
{
    char b[KZ_TIME_BUF];
    if (!at)
        return KZ_OK;
    size_t n = kz_format_time(b, at);
    return kz_cell_text(t, c, b, n);
}

/* ---- load ---------------------------------------------------------------------------- */

/* The filters of the rules name attributes that exist (checked on the data). */
static int check_conditions(kz_cli *cli, kz_store *st, kz_rule *const *v, size_t n)
{
    kz_judge *j;
    int need = 0;
    for (size_t i = 0; i < n; i++)
        need |= v[i]->nfilters > 0;
    if (!need)
        return KZ_EXIT_OK;
    if (kz_judge_new(&j, st, v, n, NULL, NULL, kz_time_day(kz_now()))) {
        kz_cli_err(cli, "%s", kz_error_msg());
        return KZ_EXIT_USAGE;
    }
    kz_judge_free(j);
    return KZ_EXIT_OK;
}

static int cmd_load(kz_cli *cli, const char *path, const char *mode)
{
    kz_rule **v = NULL;
    size_t n = 0;
    kz_store *st = NULL;
    kz_rule_mode m;
    int rc;
    if (mode && kz_rule_mode_parse(&m, mode))
        return kz_cli_usage(cli, "--mode: %s", kz_error_msg());
    /* every rule read and checked before one is stored: all or none */
    if (kz_rule_load_path(&v, &n, path)) {
        kz_cli_err(cli, "%s", kz_error_msg());
        return KZ_EXIT_USAGE;
    }
    if ((rc = kz_cli_open_store(cli, &st, 0)) || (rc = check_conditions(cli, st, v, n)))
        goto done;
    size_t created = 0;
    if (kz_ruleset_store(st, v, n, mode ? &m : NULL, 0, kz_now(), &created)) {
        rc = kz_cli_fail(cli, "loading the rules");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        printf("%-32s %-8s %s\n", v[i]->id, kz_rule_mode_name(mode ? m : v[i]->mode), v[i]->title);
    fprintf(stderr, "kizuna rules: %zu new, %zu replaced\n", created, n - created);
done:
    kz_rule_list_free(v, n);
    kz_store_close(st);
    return rc;
}

/* ---- list, show ------------------------------------------------------------------------ */

static const kz_tcol list_cols[] = {
    { "rule", KZ_T_TEXT },  { "mode", KZ_T_TEXT },      { "trigger", KZ_T_TEXT },
    { "title", KZ_T_TEXT }, { "enabled_at", KZ_T_TEXT },
};

static int cmd_list(kz_cli *cli, const char *format)
{
    kz_store *st = NULL;
    kz_ruleset *rs = NULL;
    kz_table *t = kz_table_new(list_cols, sizeof list_cols / sizeof *list_cols);
    int rc;
    if (!t)
        return kz_cli_fail(cli, "listing the rules");
    if ((rc = kz_cli_open_store(cli, &st, KZ_STORE_READONLY)))
        goto done;
    if (kz_ruleset_load(&rs, st)) {
        rc = kz_cli_fail(cli, "reading the rules");
        goto done;
    }
    size_t nt;
    const kz_trigger_def *trig = kz_rule_triggers(&nt);
    for (size_t i = 0; i < rs->n; i++) {
        kz_tcell *row = kz_table_add_row(t);
        const kz_rule *r = rs->rules[i];
        if (!row || cell_text(t, &row[0], r->id) || cell_text(t, &row[1], kz_rule_mode_name(rs->mode[i])) ||
            cell_text(t, &row[2], trig[r->trigger].name) || cell_text(t, &row[3], r->title) ||
            cell_time(t, &row[4], rs->enabled_at[i])) {
            rc = kz_cli_fail(cli, "listing the rules");
            goto done;
        }
    }
    rc = print_table(cli, t, format);
done:
    kz_table_free(t);
    kz_ruleset_free(rs);
    kz_store_close(st);
    return rc;
}

static int show_rec(void *ctx, const kz_rule_rec *r)
{
    kz_buf *out = ctx;
    kz_jw w;
    kz_jw_init(&w, out);
    kz_jw_obj(&w);
    kz_jw_key(&w, "rule");
    kz_jw_str(&w, r->name);
    kz_jw_key(&w, "mode");
    kz_jw_str(&w, r->mode);
    kz_jw_key(&w, "source");
    kz_jw_str(&w, r->source);
    kz_jw_key(&w, "enabled_at");
    if (r->enabled_at)
        kz_jw_time(&w, r->enabled_at);
    else
        kz_jw_null(&w);
    kz_jw_key(&w, "created_at");
    kz_jw_time(&w, r->created_at);
    kz_jw_key(&w, "updated_at");
    kz_jw_time(&w, r->updated_at);
    kz_jw_key(&w, "definition");
    kz_jw_raw(&w, r->definition, strlen(r->definition));
    kz_jw_end(&w);
    return kz_jw_error(&w);
}

static int cmd_show(kz_cli *cli, const char *name)
{
    kz_store *st = NULL;
    kz_buf out;
    kz_buf_init(&out, KZ_BUF_UNLIMITED);
    int rc = kz_cli_open_store(cli, &st, KZ_STORE_READONLY);
    if (!rc && kz_store_rule_get(st, name, show_rec, &out))
        rc = kz_error_code() == KZ_ENOTFOUND ? (kz_cli_err(cli, "no rule '%s' (kizuna rules list)", name), KZ_EXIT_FAIL)
                                             : kz_cli_fail(cli, "reading the rule");
    if (!rc)
        printf("%s\n", out.data);
    kz_buf_free(&out);
    kz_store_close(st);
    return rc;
}

/* ---- modes, remove ----------------------------------------------------------------------- */

static int cmd_mode(kz_cli *cli, const char *name, const char *mode, const char *since)
{
    kz_store *st = NULL;
    kz_time at = 0;
    if (since) {
        int has_time;
        if (kz_parse_time(&at, &has_time, since, strlen(since)))
            return kz_cli_usage(cli, "--since %s: a date (YYYY-MM-DD) or a time (RFC 3339)", since);
    }
    int rc = kz_cli_open_store(cli, &st, 0);
    if (rc)
        return rc;
    /* --since: the rule acts on what happened from then on */
    if (kz_store_rule_set_mode(st, name, mode, at, kz_now())) {
        int code = kz_error_code();
        if (code == KZ_ENOTFOUND)
            kz_cli_err(cli, "no rule '%s' (kizuna rules list)", name);
        else
            kz_cli_err(cli, "%s", kz_error_msg());
        rc = KZ_EXIT_FAIL;
    } else {
        printf("%s %s\n", name, mode);
    }
    kz_store_close(st);
    return rc;
}

static int cmd_remove(kz_cli *cli, const char *name)
{
    kz_store *st = NULL;
    int rc = kz_cli_open_store(cli, &st, 0);
    if (rc)
        return rc;
    if (kz_store_rule_remove(st, name)) {
        if (kz_error_code() == KZ_ENOTFOUND)
            kz_cli_err(cli, "no rule '%s' (kizuna rules list)", name);
        else
            kz_cli_err(cli, "%s", kz_error_msg());
        rc = KZ_EXIT_FAIL;
    }
    kz_store_close(st);
    return rc;
}

/* ---- test ------------------------------------------------------------------------------ */

struct getrule {
    kz_rule *r;
};

static int on_get(void *ctx, const kz_rule_rec *rec)
{
    struct getrule *g = ctx;
    char origin[96];
    snprintf(origin, sizeof origin, "stored rule '%s'", rec->name);
    return kz_rule_parse(&g->r, rec->definition, strlen(rec->definition), origin);
}

static const kz_tcol hit_cols[] = {
    { "at", KZ_T_TEXT }, { "account_id", KZ_T_TEXT }, { "user_id", KZ_T_TEXT }, { "window", KZ_T_TEXT },
    { "reason", KZ_T_TEXT }
};

static int cmd_test(kz_cli *cli, const char *what, int64_t days, const char *until, const char *format)
{
    kz_store *st = NULL;
    kz_rule *r = NULL;
    kz_backtest *b = NULL;
    kz_table *t = NULL;
    int rc;
    kz_time to = kz_now();
    if (until) {
        kz_day d;
        if (kz_parse_date(&d, until, strlen(until)))
            return kz_cli_usage(cli, "--until %s: a date, YYYY-MM-DD", until);
        to = kz_day_time(d + 1) - 1;
    }
    if ((rc = kz_cli_open_store(cli, &st, KZ_STORE_READONLY)))
        return rc;
    /* a file (tried before it is stored), or a stored rule's name */
    if (strchr(what, '/') || strstr(what, ".json")) {
        kz_buf text;
        kz_rule **v = NULL;
        size_t n = 0;
        if ((rc = kz_cli_read_file(cli, what, RULE_FILE_MAX, &text))) {
            kz_buf_free(&text);
            goto done;
        }
        int prc = kz_rule_parse_file(&v, &n, text.data ? text.data : "", text.len, what);
        kz_buf_free(&text);
        if (prc || n != 1) {
            if (!prc)
                kz_error_set(KZ_EINVALID, "%s: holds %zu rules; test them one at a time", what, n);
            kz_rule_list_free(v, n);
            kz_cli_err(cli, "%s", kz_error_msg());
            rc = KZ_EXIT_USAGE;
            goto done;
        }
        r = v[0];
        free(v);
    } else {
        struct getrule g = { NULL };
        if (kz_store_rule_get(st, what, on_get, &g)) {
            kz_rule_free(g.r);
            kz_cli_err(cli, kz_error_code() == KZ_ENOTFOUND ? "no rule '%s' (kizuna rules list; or give a file)"
                                                             : "%s",
                       kz_error_code() == KZ_ENOTFOUND ? what : kz_error_msg());
            rc = KZ_EXIT_FAIL;
            goto done;
        }
        r = g.r;
    }
    kz_time from = to - days * 86400 * KZ_USEC_PER_SEC;
    if (kz_rules_backtest(&b, st, r, from, to)) {
        kz_cli_err(cli, "%s", kz_error_msg());
        rc = kz_error_code() == KZ_EINVALID ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
        goto done;
    }
    if (!(t = kz_table_new(hit_cols, 5))) {
        rc = kz_cli_fail(cli, "the backtest");
        goto done;
    }
    for (size_t i = 0; i < b->n; i++) {
        kz_tcell *row = kz_table_add_row(t);
        if (!row || cell_time(t, &row[0], b->hits[i].at) || cell_text(t, &row[1], b->hits[i].account) ||
            cell_text(t, &row[2], b->hits[i].user) || cell_text(t, &row[3], b->hits[i].key) || cell_text(t, &row[4], b->hits[i].reason)) {
            rc = kz_cli_fail(cli, "the backtest");
            goto done;
        }
    }
    char f[KZ_TIME_BUF], u[KZ_TIME_BUF], what_words[512];
    kz_format_time(f, from);
    kz_format_time(u, to);
    kz_rule_describe(r, what_words, sizeof what_words);
    fprintf(stderr, "kizuna rules test: '%s' (%s) over %s to %s: %lld events replayed; it would have fired %zu %s, "
                    "for %zu %s%s (nothing was done: a backtest)\n",
            r->id, what_words, f, u, (long long)b->events, b->n, b->n == 1 ? "time" : "times", b->subjects,
            r->per == KZ_PER_USER ? "user" : "account", b->subjects == 1 ? "" : "s");
    rc = print_table(cli, t, format);
done:
    kz_table_free(t);
    kz_backtest_free(b);
    kz_rule_free(r);
    kz_store_close(st);
    return rc;
}

/* ---- run, deliver ------------------------------------------------------------------------- */

static int cmd_run(kz_cli *cli, int deliver)
{
    kz_store *st = NULL;
    kz_ruleset *rs = NULL;
    kz_run_stats s;
    kz_act_env env;
    int rc = kz_cli_open_store(cli, &st, 0);
    if (rc)
        return rc;
    kz_act_env_from_config(&env, &cli->cfg);
    if (kz_ruleset_load(&rs, st) || kz_rules_run(st, rs, deliver ? &env : NULL, kz_now(), &s))
        rc = kz_cli_fail(cli, "running the rules");
    else
        printf("events %lld, fired %lld (dry runs %lld), found again %lld; deliveries sent %lld, to retry %lld, "
               "failed %lld\n",
               (long long)s.events, (long long)s.fired, (long long)s.dry, (long long)s.known,
               (long long)s.deliveries.sent, (long long)s.deliveries.retrying, (long long)s.deliveries.failed);
    kz_ruleset_free(rs);
    kz_store_close(st);
    return rc;
}

static int cmd_deliver(kz_cli *cli, int all)
{
    kz_store *st = NULL;
    kz_deliver_stats s;
    kz_act_env env;
    int rc = kz_cli_open_store(cli, &st, 0);
    if (rc)
        return rc;
    kz_act_env_from_config(&env, &cli->cfg);
    /* --all: what waits for its next try is tried now */
    kz_time now = kz_now();
    if (kz_act_deliver(st, &env, now, all, 0, &s))
        rc = kz_cli_fail(cli, "sending the deliveries");
    else
        printf("deliveries sent %lld, to retry %lld, failed %lld\n", (long long)s.sent, (long long)s.retrying,
               (long long)s.failed);
    kz_store_close(st);
    return rc;
}

/* ---- firings, deliveries ------------------------------------------------------------------- */

static const kz_tcol firing_cols[] = {
    { "id", KZ_T_INT },          { "rule", KZ_T_TEXT },    { "at", KZ_T_TEXT },     { "account_id", KZ_T_TEXT },
    { "subject", KZ_T_TEXT },    { "window", KZ_T_TEXT },  { "dry_run", KZ_T_INT }, { "reason", KZ_T_TEXT },
};

static int on_firing(void *ctx, const kz_firing_rec *f)
{
    kz_table *t = ctx;
    kz_tcell *row = kz_table_add_row(t);
    if (!row)
        return kz_error_oom();
    kz_cell_int(&row[0], f->id);
    kz_cell_int(&row[6], f->dry_run);
    return cell_text(t, &row[1], f->rule) || cell_time(t, &row[2], f->at) || cell_text(t, &row[3], f->account_key) ||
                   cell_text(t, &row[4], f->subject) || cell_text(t, &row[5], f->window_key) ||
                   cell_text(t, &row[7], f->reason)
               ? kz_error_oom()
               : KZ_OK;
}

static const kz_tcol delivery_cols[] = {
    { "id", KZ_T_INT },       { "firing", KZ_T_INT },     { "rule", KZ_T_TEXT },      { "kind", KZ_T_TEXT },
    { "state", KZ_T_TEXT },   { "attempts", KZ_T_INT },   { "next_at", KZ_T_TEXT },   { "last_error", KZ_T_TEXT },
};

static int on_delivery(void *ctx, const kz_delivery_rec *d)
{
    kz_table *t = ctx;
    kz_tcell *row = kz_table_add_row(t);
    if (!row)
        return kz_error_oom();
    kz_cell_int(&row[0], d->id);
    kz_cell_int(&row[1], d->firing_id);
    kz_cell_int(&row[5], d->attempts);
    return cell_text(t, &row[2], d->rule) || cell_text(t, &row[3], d->kind) || cell_text(t, &row[4], d->state) ||
                   (strcmp(d->state, "pending") == 0 && cell_time(t, &row[6], d->next_at)) ||
                   cell_text(t, &row[7], d->last_error)
               ? kz_error_oom()
               : KZ_OK;
}

static int cmd_history(kz_cli *cli, int deliveries, const char *rule, const char *state, int64_t limit,
                       const char *format)
{
    kz_store *st = NULL;
    kz_table *t = deliveries ? kz_table_new(delivery_cols, 8) : kz_table_new(firing_cols, 8);
    int rc;
    if (!t)
        return kz_cli_fail(cli, "listing");
    if ((rc = kz_cli_open_store(cli, &st, KZ_STORE_READONLY)))
        goto done;
    if (deliveries ? kz_store_deliveries_each(st, state, 0, limit, on_delivery, t)
                   : kz_store_firings_each(st, rule, 0, 0, limit, on_firing, t)) {
        rc = kz_cli_fail(cli, deliveries ? "reading the deliveries" : "reading the firings");
        goto done;
    }
    rc = print_table(cli, t, format);
done:
    kz_table_free(t);
    kz_store_close(st);
    return rc;
}

int kz_cmd_rules(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "mode", required_argument, NULL, 'm' },  { "days", required_argument, NULL, 'd' },
        { "until", required_argument, NULL, 'u' }, { "format", required_argument, NULL, 'f' },
        { "since", required_argument, NULL, 's' }, { "no-deliver", no_argument, NULL, 'n' },
        { "all", no_argument, NULL, 'a' },         { "rule", required_argument, NULL, 'r' },
        { "state", required_argument, NULL, 't' }, { "limit", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 }
    };
    const char *mode = NULL, *until = NULL, *format = "table", *since = NULL, *rule = NULL, *state = NULL;
    int64_t days = 90, limit = 100;
    int done, c, deliver = 1, all = 0;
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 0: break;
        case 'h': return KZ_EXIT_OK;
        case 'm': mode = optarg; break;
        case 'u': until = optarg; break;
        case 'f': format = optarg; break;
        case 's': since = optarg; break;
        case 'n': deliver = 0; break;
        case 'a': all = 1; break;
        case 'r': rule = optarg; break;
        case 't': state = optarg; break;
        case 'd':
            if (kz_parse_int(&days, optarg, strlen(optarg), 1, 36600))
                return kz_cli_usage(cli, "--days %s: a number of days, 1 to 36600", optarg);
            break;
        case 'l':
            if (kz_parse_int(&limit, optarg, strlen(optarg), 1, 1000000))
                return kz_cli_usage(cli, "--limit %s: 1 to 1000000", optarg);
            break;
        default: return KZ_EXIT_USAGE;
        }
    }
    if (done)
        return KZ_EXIT_USAGE;
    if (!format_ok(format))
        return kz_cli_usage(cli, "--format %s: table, csv or json", format);
    if (state && strcmp(state, "pending") != 0 && strcmp(state, "done") != 0 && strcmp(state, "failed") != 0)
        return kz_cli_usage(cli, "--state %s: pending, done or failed", state);
    if (optind >= argc)
        return kz_cli_usage(cli, "which? load, list, show, test, run, deliver, enable, disable, dry-run, remove, "
                                 "firings, deliveries");
    const char *sub = argv[optind++];
    int nargs = argc - optind;
    const char *arg = nargs ? argv[optind] : NULL;
    static const struct {
        const char *name;
        int args;
    } subs[] = { { "load", 1 },    { "list", 0 },    { "show", 1 },   { "test", 1 },    { "run", 0 },
                 { "deliver", 0 }, { "enable", 1 },  { "disable", 1 }, { "dry-run", 1 }, { "remove", 1 },
                 { "firings", 0 }, { "deliveries", 0 } };
    size_t k = 0;
    while (k < sizeof subs / sizeof *subs && strcmp(subs[k].name, sub) != 0)
        k++;
    if (k == sizeof subs / sizeof *subs)
        return kz_cli_usage(cli, "'%s' is not a rules command (load, list, show, test, run, deliver, enable, "
                                 "disable, dry-run, remove, firings, deliveries)",
                            sub);
    if (nargs != subs[k].args)
        return kz_cli_usage(cli, subs[k].args ? "rules %s takes one argument" : "rules %s takes no argument", sub);
    if (strcmp(sub, "load") == 0)
        return cmd_load(cli, arg, mode);
    if (strcmp(sub, "list") == 0)
        return cmd_list(cli, format);
    if (strcmp(sub, "show") == 0)
        return cmd_show(cli, arg);
    if (strcmp(sub, "test") == 0)
        return cmd_test(cli, arg, days, until, format);
    if (strcmp(sub, "run") == 0)
        return cmd_run(cli, deliver);
    if (strcmp(sub, "deliver") == 0)
        return cmd_deliver(cli, all);
    if (strcmp(sub, "enable") == 0)
        return cmd_mode(cli, arg, "on", since);
    if (strcmp(sub, "disable") == 0)
        return cmd_mode(cli, arg, "off", NULL);
    if (strcmp(sub, "dry-run") == 0)
        return cmd_mode(cli, arg, "dry-run", since);
    if (strcmp(sub, "remove") == 0)
        return cmd_remove(cli, arg);
    return cmd_history(cli, strcmp(sub, "deliveries") == 0, rule, state, limit, format);
}

/* ---- tasks ------------------------------------------------------------------------------ */

static const kz_tcol task_cols[] = {
    { "id", KZ_T_INT },        { "due", KZ_T_DATE },     { "status", KZ_T_TEXT }, { "assignee", KZ_T_TEXT },
    { "account_id", KZ_T_TEXT }, { "title", KZ_T_TEXT }, { "source", KZ_T_TEXT }, { "playbook", KZ_T_TEXT },
};

static int on_task(void *ctx, const kz_task_rec *r)
{
    kz_table *t = ctx;
    kz_tcell *row = kz_table_add_row(t);
    if (!row)
        return kz_error_oom();
    kz_cell_int(&row[0], r->id);
    if (r->due != KZ_DAY_NONE)
        kz_cell_int(&row[1], r->due);
    return cell_text(t, &row[2], r->status) || cell_text(t, &row[3], r->assignee) ||
                   cell_text(t, &row[4], r->account_key) || cell_text(t, &row[5], r->title) ||
                   cell_text(t, &row[6], r->source) || cell_text(t, &row[7], r->playbook)
               ? kz_error_oom()
               : KZ_OK;
}

struct account_id {
    int64_t id;
};

static int on_account_id(void *ctx, int64_t id, const kz_value *row)
{
    (void)row;
    ((struct account_id *)ctx)->id = id;
    return KZ_OK;
}

/* The store's id of the account whose key is key; reports a missing one. */
static int find_account(kz_cli *cli, kz_store *st, const char *key, int64_t *out)
{
    struct account_id a = { 0 };
    kz_value k = kz_vtext(key, strlen(key));
    if (kz_store_get(st, KZ_ENT_ACCOUNT, &k, on_account_id, &a)) {
        if (kz_error_code() == KZ_ENOTFOUND)
            kz_cli_err(cli, "no account '%s'", key);
        else
            kz_cli_err(cli, "%s", kz_error_msg());
        return KZ_EXIT_FAIL;
    }
    *out = a.id;
    return KZ_EXIT_OK;
}

static int tasks_add(kz_cli *cli, const char *title, const char *account, const char *assignee, const char *due,
                     const char *playbook)
{
    kz_store *st = NULL;
    kz_day d = KZ_DAY_NONE;
    int64_t acc = 0, id = 0;
    if (!title || !*title)
        return kz_cli_usage(cli, "tasks add needs --title");
    if (due && kz_parse_date(&d, due, strlen(due)))
        return kz_cli_usage(cli, "--due %s: a date, YYYY-MM-DD", due);
    if (playbook && !kz_playbook_name_ok(playbook, strlen(playbook)))
        return kz_cli_usage(cli, "--playbook %s: a playbook's name (the file name without .md)", playbook);
    int rc = kz_cli_open_store(cli, &st, 0);
    if (rc)
        return rc;
    if (account && (rc = find_account(cli, st, account, &acc)))
        goto done;
    const char *who = getenv("USER");
    char source[160];
    snprintf(source, sizeof source, "user:%.128s", who && *who ? who : "cli");
    kz_task_rec t = { .title = title, .account_id = acc, .assignee = assignee, .due = d, .source = source,
                      .playbook = playbook };
    if (kz_store_task_add(st, &t, kz_now(), &id))
        rc = kz_cli_fail(cli, "adding the task");
    else
        printf("%lld\n", (long long)id);
done:
    kz_store_close(st);
    return rc;
}

static int tasks_set(kz_cli *cli, const char *id_text, const char *status)
{
    int64_t id;
    kz_store *st = NULL;
    if (kz_parse_int(&id, id_text, strlen(id_text), 1, INT64_MAX))
        return kz_cli_usage(cli, "'%s' is not a task id (kizuna tasks shows them)", id_text);
    int rc = kz_cli_open_store(cli, &st, 0);
    if (rc)
        return rc;
    if (kz_store_task_set(st, id, status, NULL, KZ_TASK_DUE_KEPT, kz_now())) {
        if (kz_error_code() == KZ_ENOTFOUND)
            kz_cli_err(cli, "no task %lld", (long long)id);
        else
            kz_cli_err(cli, "%s", kz_error_msg());
        rc = KZ_EXIT_FAIL;
    } else {
        printf("%lld %s\n", (long long)id, status);
    }
    kz_store_close(st);
    return rc;
}

int kz_cmd_tasks(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "mine", no_argument, NULL, 'm' },           { "assignee", required_argument, NULL, 'a' },
        { "overdue", no_argument, NULL, 'o' },        { "account", required_argument, NULL, 'c' },
        { "status", required_argument, NULL, 's' },   { "format", required_argument, NULL, 'f' },
        { "limit", required_argument, NULL, 'l' },    { "title", required_argument, NULL, 't' },
        { "due", required_argument, NULL, 'd' },      { "playbook", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 }
    };
    const char *assignee = NULL, *account = NULL, *status = "open", *format = "table", *title = NULL, *due = NULL,
               *playbook = NULL;
    int64_t limit = 1000;
    int done, c, overdue = 0;
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 0: break;
        case 'h': return KZ_EXIT_OK;
        case 'm':
            assignee = getenv("USER");
            if (!assignee || !*assignee)
                return kz_cli_usage(cli, "--mine: $USER is not set; give --assignee NAME");
            break;
        case 'a': assignee = optarg; break;
        case 'o': overdue = 1; break;
        case 'c': account = optarg; break;
        case 's': status = optarg; break;
        case 'f': format = optarg; break;
        case 't': title = optarg; break;
        case 'd': due = optarg; break;
        case 'p': playbook = optarg; break;
        case 'l':
            if (kz_parse_int(&limit, optarg, strlen(optarg), 1, 1000000))
                return kz_cli_usage(cli, "--limit %s: 1 to 1000000", optarg);
            break;
        default: return KZ_EXIT_USAGE;
        }
    }
    if (done)
        return KZ_EXIT_USAGE;
    if (!format_ok(format))
        return kz_cli_usage(cli, "--format %s: table, csv or json", format);
    if (strcmp(status, "open") != 0 && strcmp(status, "done") != 0 && strcmp(status, "cancelled") != 0 &&
        strcmp(status, "all") != 0)
        return kz_cli_usage(cli, "--status %s: open, done, cancelled or all", status);
    if (optind < argc) {
        const char *sub = argv[optind++];
        if (strcmp(sub, "add") == 0) {
            if (optind < argc)
                return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
            return tasks_add(cli, title, account, assignee, due, playbook);
        }
        const char *to = strcmp(sub, "done") == 0 ? "done" : strcmp(sub, "cancel") == 0 ? "cancelled"
                         : strcmp(sub, "reopen") == 0 ? "open" : NULL;
        if (!to)
            return kz_cli_usage(cli, "'%s' is not a tasks command (add, done, cancel, reopen)", sub);
        if (optind + 1 != argc)
            return kz_cli_usage(cli, "tasks %s takes one task id", sub);
        return tasks_set(cli, argv[optind], to);
    }
    kz_store *st = NULL;
    kz_table *t = kz_table_new(task_cols, 8);
    int rc;
    if (!t)
        return kz_cli_fail(cli, "listing the tasks");
    if ((rc = kz_cli_open_store(cli, &st, KZ_STORE_READONLY)))
        goto done;
    kz_task_query q = { .assignee = assignee, .status = strcmp(status, "all") == 0 ? NULL : status,
                        .due_before = overdue ? kz_time_day(kz_now()) : KZ_DAY_NONE, .limit = limit };
    if (account && (rc = find_account(cli, st, account, &q.account_id)))
        goto done;
    if (kz_store_tasks_each(st, &q, on_task, t)) {
        rc = kz_cli_fail(cli, "listing the tasks");
        goto done;
    }
    rc = print_table(cli, t, format);
done:
    kz_table_free(t);
    kz_store_close(st);
    return rc;
}
