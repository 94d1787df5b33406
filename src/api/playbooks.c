/*
 * playbooks.c - playbooks over HTTP (docs/playbooks.md, docs/api.md):
 *
 *   /api/v1/rules[/{name}[/backtest]]   the stored rules: list, create or
 *                                       replace, mode, remove, backtest;
 *   /api/v1/firings, /api/v1/deliveries what the rules did, and the outbox;
 *   /api/v1/tasks[/{id}]                the tasks of CSMs;
 *   /api/v1/accounts/{id}/timeline      everything that happened to an
 *                                       account, in one stream, newest first,
 *                                       each item in words and as data;
 *   /api/v1/playbooks[/{name}]          the playbook documents, as HTML too.
 *
 * Thin: rules are read and checked by rules/rule.h, replayed by rules/run.h,
 * documents read and rendered by rules/playbook.h, and everything is kept by
 * the store. Every change is written with its audit record in one
 * transaction: a change is whole or not at all.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"
#include "core/time.h"
#include "core/vec.h"
#include "engine/segment.h"
#include "rules/playbook.h"
#include "rules/run.h"

#define TITLE_MAX 1000      /* bytes of a task's title */
#define ASSIGNEE_MAX 256    /* bytes of an assignee's name */
#define TASK_BODY_MAX 65536 /* bytes of a task's body */
#define DETAIL_MAX 500      /* bytes of a timeline item's detail (longer ones are cut, with "…") */
#define ALL INT64_MAX       /* "at most" for the store's walks that must not stop early */

/* ---- small pieces ------------------------------------------------------------------------ */

static void json_opt_time(kz_jw *w, kz_time t)
{
    if (t)
        kz_jw_time(w, t);
    else
        kz_jw_null(w);
}

static void json_opt_int(kz_jw *w, int64_t v)
{
    if (v)
        kz_jw_int(w, v);
    else
        kz_jw_null(w);
}

/* A firing's why (rules/act.h), JSON the store checked; null when there is none. */
static void json_why(kz_jw *w, const char *why)
{
    if (why && *why)
        kz_jw_raw(w, why, strlen(why));
    else
        kz_jw_null(w);
}

struct acc_id {
    int64_t id;
};

static int on_acc_id(void *ctx, int64_t id, const kz_value *row)
{
    (void)row;
    ((struct acc_id *)ctx)->id = id;
    return KZ_OK;
}

/* The store's id of account `key`; KZ_ENOTFOUND when there is none. */
static int account_id_of(kz_store *st, const char *key, int64_t *out)
{
    struct acc_id a = { 0 };
    kz_value k = kz_vtext(key, strlen(key));
    int rc = kz_store_get(st, KZ_ENT_ACCOUNT, &k, on_acc_id, &a);
    *out = a.id;
    return rc;
}

/* 0 when every member of object o is one of keys (NULL-terminated), else 1
 * with the 400 answer naming the first other one. */
static int only_keys(kz_http_resp *resp, const cJSON *o, const char *const *keys, const char *known)
{
    for (const cJSON *c = o->child; c; c = c->next) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], c->string) != 0)
            i++;
        if (!keys[i]) {
            kz_resp_error(resp, 400, c->string, "%.100s: not a key of this body (%s)", c->string, known);
            return 1;
        }
    }
    return 0;
}

/* A text member: 0 with *out (NULL when absent or null, unless required),
 * else 1 with the 400 answer naming it. Text must be valid UTF-8 of at most
 * max bytes, without control characters unless multiline. */
static int text_member(kz_http_resp *resp, const cJSON *o, const char *key, int required, size_t max,
                       int multiline, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required) {
            kz_resp_error(resp, 400, key, "%s: missing", key);
            return 1;
        }
        return 0;
    }
    if (!cJSON_IsString(v)) {
        kz_resp_error(resp, 400, key, "%s: must be a text", key);
        return 1;
    }
    const char *s = v->valuestring;
    size_t n = strlen(s);
    if (required && n == 0) {
        kz_resp_error(resp, 400, key, "%s: must not be empty", key);
        return 1;
    }
    if (n > max) {
        kz_resp_error(resp, 400, key, "%s: longer than %zu bytes", key, max);
        return 1;
    }
    if (kz_utf8_invalid_at(s, n) < n) {
        kz_resp_error(resp, 400, key, "%s: not valid UTF-8", key);
        return 1;
    }
    size_t c = kz_control_at(s, n); /* tab, CR and LF aside */
    if (c < n) {
        kz_resp_error(resp, 400, key, "%s: a control character at byte %zu", key, c);
        return 1;
    }
    if (!multiline) {
        for (size_t i = 0; i < n; i++)
            if (s[i] == '\n' || s[i] == '\r') {
                kz_resp_error(resp, 400, key, "%s: one line, without line breaks", key);
                return 1;
            }
    }
    *out = s;
    return 0;
}

/* The body as a JSON object (NULL with the 400 answer when it is not one). */
static cJSON *body_object(kz_http_req *req, kz_http_resp *resp, const char *shape)
{
    cJSON *body = cJSON_ParseWithLength(req->body, req->body_len);
    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        kz_resp_error(resp, 400, NULL, "the body must be a JSON object: %s", shape);
        return NULL;
    }
    return body;
}

/* The day the reporting time zone is on now. */
static kz_day today_of(const kz_app *a)
{
    return (kz_day)kz_tz_day(a->tz, kz_now() / KZ_USEC_PER_SEC);
}

/* Ends a change begun with kz_store_begin: commit when rc is 0, else roll back. */
static int tx_end(kz_store *st, int rc)
{
    if (!rc)
        rc = kz_store_commit(st);
    if (rc)
        kz_store_rollback(st);
    return rc;
}

/* ---- rules ------------------------------------------------------------------------------- */

/* The field a message of kz_rule_parse names ("the request: rule 'x':
 * trigger.steps[1].event: missing" names trigger.steps[1].event), or "". */
static void rule_field(const char *msg, const char *origin, char *out, size_t cap)
{
    size_t olen = strlen(origin);
    out[0] = '\0';
    if (strncmp(msg, origin, olen) != 0 || strncmp(msg + olen, ": ", 2) != 0)
        return;
    const char *p = msg + olen + 2;
    if (strncmp(p, "rule '", 6) == 0) {
        const char *q = strstr(p + 6, "': ");
        if (!q)
            return;
        p = q + 3;
    }
    size_t n = 0;
    while (p[n] && (p[n] == '_' || p[n] == '.' || p[n] == '[' || p[n] == ']' || p[n] == '-' ||
                    (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9')))
        n++;
    if (n == 0 || n >= cap || strncmp(p + n, ": ", 2) != 0)
        return;
    memcpy(out, p, n);
    out[n] = '\0';
}

/* A stored rule as an object of the API. */
static int rule_json(kz_jw *w, const kz_rule_rec *r)
{
    kz_rule *p = NULL;
    char origin[96], words[512];
    snprintf(origin, sizeof origin, "stored rule '%.64s'", r->name);
    int prc = kz_rule_parse(&p, r->definition, strlen(r->definition), origin);
    size_t nt;
    const kz_trigger_def *trig = kz_rule_triggers(&nt);
    kz_jw_obj(w);
    kz_jw_key(w, "name");
    kz_jw_str(w, r->name);
    kz_jw_key(w, "title");
    kz_jw_str(w, p ? p->title : NULL);
    kz_jw_key(w, "description");
    kz_jw_str(w, p ? p->description : NULL);
    kz_jw_key(w, "playbook");
    kz_jw_str(w, p ? p->playbook : NULL);
    kz_jw_key(w, "mode");
    kz_jw_str(w, r->mode);
    kz_jw_key(w, "trigger");
    kz_jw_str(w, p && (size_t)p->trigger < nt ? trig[p->trigger].name : NULL);
    kz_jw_key(w, "per");
    kz_jw_str(w, p ? (p->per == KZ_PER_USER ? "user" : "account") : NULL);
    kz_jw_key(w, "summary");
    if (p) {
        kz_rule_describe(p, words, sizeof words);
        kz_jw_str(w, words);
    } else {
        kz_jw_null(w);
    }
    kz_jw_key(w, "enabled_at");
    json_opt_time(w, r->enabled_at);
    kz_jw_key(w, "source");
    kz_jw_str(w, r->source);
    kz_jw_key(w, "created_at");
    json_opt_time(w, r->created_at);
    kz_jw_key(w, "updated_at");
    json_opt_time(w, r->updated_at);
    if (prc) {
        /* written by a newer program, say: shown, and why it does not read */
        kz_jw_key(w, "error");
        kz_jw_str(w, kz_error_msg());
    }
    kz_jw_key(w, "definition");
    cJSON *check = prc ? cJSON_Parse(r->definition) : NULL;
    if (!prc || check)
        kz_jw_raw(w, r->definition, strlen(r->definition)); /* the parser's compact JSON */
    else
        kz_jw_str(w, r->definition);
    cJSON_Delete(check);
    kz_jw_end(w);
    kz_rule_free(p);
    return w->err;
}

static int on_rule_json(void *ctx, const kz_rule_rec *r)
{
    return rule_json(ctx, r);
}

int kz_api_rules(kz_http_req *req, kz_http_resp *resp)
{
    kz_store *st = kz_app_store(req->app);
    if (!st)
        return KZ_EIO;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "rules");
    kz_jw_arr(&w);
    int rc = kz_store_rules_each(st, on_rule_json, &w);
    if (rc)
        return rc;
    kz_jw_end(&w);
    kz_jw_end(&w);
    return kz_resp_json_end(resp, &w, 200);
}

/* Answers rule `name` as it is stored, with status. */
static int rule_answer(kz_store *st, const char *name, kz_http_resp *resp, int status)
{
    kz_jw w;
    kz_buf_reset(&resp->body);
    kz_jw_init(&w, &resp->body);
    int rc = kz_store_rule_get(st, name, on_rule_json, &w);
    if (rc == KZ_ENOTFOUND) {
        kz_buf_reset(&resp->body);
        return kz_resp_error(resp, 404, NULL, "no rule '%.64s'", name);
    }
    return rc ? rc : kz_resp_json_end(resp, &w, status);
}

/* The {name} of the path: NULL (resp holds the 404) when it cannot be a rule's. */
static const char *rule_name(kz_http_req *req, kz_http_resp *resp)
{
    const char *name = kz_req_param(req, "name");
    if (!name || !kz_rule_id_ok(name, strlen(name))) {
        kz_resp_error(resp, 404, NULL, "no rule '%.64s'", name ? name : "");
        return NULL;
    }
    return name;
}

int kz_api_rule(kz_http_req *req, kz_http_resp *resp)
{
    const char *name = rule_name(req, resp);
    if (!name)
        return KZ_OK;
    kz_store *st = kz_app_store(req->app);
    return st ? rule_answer(st, name, resp, 200) : KZ_EIO;
}

/* The filters of r name attributes that exist (judged on the data, as `kizuna
 * rules load` does): 0, or 1 with the 400 answer. */
static int filters_ok(kz_app *a, kz_store *st, const kz_rule *r, kz_http_resp *resp, int *rc)
{
    *rc = KZ_OK;
    if (!r->nfilters)
        return 0;
    kz_segments *seg = NULL;
    const kz_engine *e = kz_app_engine(a);
    int brc = kz_segments_build(&seg, st, e, today_of(a), r->filters, r->nfilters, NULL);
    kz_app_engine_done(a);
    kz_segments_free(seg);
    if (!brc)
        return 0;
    if (brc == KZ_EINVALID) {
        kz_resp_error(resp, 400, "conditions.filters", "the request: rule '%s': conditions.filters: %s", r->id,
                      kz_error_msg());
        return 1;
    }
    *rc = brc;
    return 1;
}

int kz_api_rule_put(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_api_user *me = req->user;
    const char *mode_q = kz_req_query(req, "mode");
    kz_rule_mode mode;
    kz_rule *r = NULL;
    int rc;
    if (mode_q && kz_rule_mode_parse(&mode, mode_q))
        return kz_resp_error(resp, 400, "mode", "mode: '%.40s' is not on, dry-run or off", mode_q);
    /* everything checked before anything is stored */
    rc = kz_rule_parse(&r, req->body, req->body_len, "the request");
    if (rc == KZ_EINVALID || rc == KZ_ETOOBIG) {
        char field[160];
        rule_field(kz_error_msg(), "the request", field, sizeof field);
        return kz_resp_error(resp, rc == KZ_ETOOBIG ? 413 : 400, field[0] ? field : NULL, "%s", kz_error_msg());
    }
    if (rc)
        return rc;
    kz_store *st = kz_app_store(a);
    if (!st) {
        kz_rule_free(r);
        return KZ_EIO;
    }
    if (filters_ok(a, st, r, resp, &rc)) {
        kz_rule_free(r);
        return rc;
    }
    if (!mode_q)
        mode = r->mode;
    char source[200], detail[64], target[80];
    snprintf(source, sizeof source, "api:%.180s", me->user.name);
    snprintf(target, sizeof target, "rule/%s", r->id);
    kz_rule_rec rec = { .name = r->id, .definition = r->json, .mode = kz_rule_mode_name(mode), .source = source };
    int created = 0;
    if ((rc = kz_store_begin(st))) {
        kz_rule_free(r);
        return rc;
    }
    rc = kz_store_rule_put(st, &rec, kz_now(), &created);
    snprintf(detail, sizeof detail, "%s, mode %s", created ? "created" : "replaced", rec.mode);
    if (!rc)
        rc = kz_api_audit(req, "rule.put", target, detail);
    rc = tx_end(st, rc);
    if (!rc)
        rc = rule_answer(st, r->id, resp, created ? 201 : 200);
    kz_rule_free(r);
    return rc;
}

int kz_api_rule_change(kz_http_req *req, kz_http_resp *resp)
{
    const char *name = rule_name(req, resp);
    if (!name)
        return KZ_OK;
    static const char *const keys[] = { "mode", "since", NULL };
    cJSON *body = body_object(req, resp, "{\"mode\": \"on\" | \"dry-run\" | \"off\", \"since\"?: TIME}");
    if (!body)
        return KZ_OK;
    const char *mode = NULL, *since = NULL;
    kz_rule_mode m;
    kz_time at = kz_now();
    int rc = KZ_OK;
    if (only_keys(resp, body, keys, "mode, since") || text_member(resp, body, "mode", 1, 16, 0, &mode) ||
        text_member(resp, body, "since", 0, 64, 0, &since))
        goto done;
    if (kz_rule_mode_parse(&m, mode)) {
        kz_resp_error(resp, 400, "mode", "mode: '%s' is not on, dry-run or off", mode);
        goto done;
    }
    if (since) {
        if (m == KZ_RULE_OFF) {
            kz_resp_error(resp, 400, "since", "since: goes with mode on or dry-run (from when the rule acts)");
            goto done;
        }
        if (kz_parse_time(&at, NULL, since, strlen(since))) {
            kz_resp_error(resp, 400, "since", "since: %s", kz_error_msg());
            goto done;
        }
    }
    kz_store *st = kz_app_store(req->app);
    if (!st) {
        rc = KZ_EIO;
        goto done;
    }
    char target[80], detail[120];
    snprintf(target, sizeof target, "rule/%s", name);
    snprintf(detail, sizeof detail, "%s%s%.64s", mode, since ? " since " : "", since ? since : "");
    if ((rc = kz_store_begin(st)))
        goto done;
    /* since: the time it acts from moves (kizuna rules enable --since) */
    rc = kz_store_rule_set_mode(st, name, kz_rule_mode_name(m), since ? at : 0, kz_now());
    if (!rc)
        rc = kz_api_audit(req, "rule.mode", target, detail);
    rc = tx_end(st, rc);
    if (rc == KZ_ENOTFOUND)
        rc = kz_resp_error(resp, 404, NULL, "no rule '%s'", name);
    else if (!rc)
        rc = rule_answer(st, name, resp, 200);
done:
    cJSON_Delete(body);
    return rc;
}

int kz_api_rule_remove(kz_http_req *req, kz_http_resp *resp)
{
    const char *name = rule_name(req, resp);
    if (!name)
        return KZ_OK;
    kz_store *st = kz_app_store(req->app);
    if (!st)
        return KZ_EIO;
    char target[80];
    snprintf(target, sizeof target, "rule/%s", name);
    int rc = kz_store_begin(st);
    if (rc)
        return rc;
    rc = kz_store_rule_remove(st, name);
    if (!rc)
        rc = kz_api_audit(req, "rule.remove", target, "");
    rc = tx_end(st, rc);
    if (rc == KZ_ENOTFOUND)
        return kz_resp_error(resp, 404, NULL, "no rule '%s'", name);
    if (rc)
        return rc;
    resp->status = 204;
    resp->type = "application/json";
    return KZ_OK;
}

struct got_rule {
    kz_rule *r;
};

static int on_got_rule(void *ctx, const kz_rule_rec *rec)
{
    char origin[96];
    snprintf(origin, sizeof origin, "stored rule '%.64s'", rec->name);
    return kz_rule_parse(&((struct got_rule *)ctx)->r, rec->definition, strlen(rec->definition), origin);
}

int kz_api_rule_backtest(kz_http_req *req, kz_http_resp *resp)
{
    const char *name = rule_name(req, resp);
    if (!name)
        return KZ_OK;
    int64_t days, limit;
    kz_day until;
    if (kz_req_int(req, resp, "days", 1, 36600, 90, &days) || kz_req_date(req, resp, "until", &until) ||
        kz_req_int(req, resp, "limit", 0, 100000, 1000, &limit))
        return KZ_OK;
    kz_store *st = kz_app_store(req->app);
    if (!st)
        return KZ_EIO;
    struct got_rule g = { NULL };
    int rc = kz_store_rule_get(st, name, on_got_rule, &g);
    if (rc == KZ_ENOTFOUND) {
        kz_rule_free(g.r);
        return kz_resp_error(resp, 404, NULL, "no rule '%s'", name);
    }
    if (rc) {
        kz_rule_free(g.r);
        return rc;
    }
    kz_time to = until != KZ_DAY_NONE ? kz_day_time(until + 1) - 1 : kz_now();
    kz_time from = to - days * KZ_USEC_PER_DAY;
    kz_backtest *b = NULL;
    rc = kz_rules_backtest(&b, st, g.r, from, to);
    if (rc == KZ_EINVALID) {
        rc = kz_resp_error(resp, 400, NULL, "%s", kz_error_msg());
        kz_rule_free(g.r);
        return rc;
    }
    if (rc) {
        kz_rule_free(g.r);
        return rc;
    }
    char words[512];
    kz_rule_describe(g.r, words, sizeof words);
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "rule");
    kz_jw_str(&w, g.r->id);
    kz_jw_key(&w, "summary");
    kz_jw_str(&w, words);
    kz_jw_key(&w, "per");
    kz_jw_str(&w, g.r->per == KZ_PER_USER ? "user" : "account");
    kz_jw_key(&w, "from");
    kz_jw_time(&w, b->from);
    kz_jw_key(&w, "to");
    kz_jw_time(&w, b->to);
    kz_jw_key(&w, "events");
    kz_jw_int(&w, b->events);
    kz_jw_key(&w, "fired");
    kz_jw_int(&w, (int64_t)b->n);
    kz_jw_key(&w, "subjects");
    kz_jw_int(&w, (int64_t)b->subjects);
    kz_jw_key(&w, "firings");
    kz_jw_arr(&w);
    for (size_t i = 0; i < b->n && i < (size_t)limit; i++) {
        kz_jw_obj(&w);
        kz_jw_key(&w, "at");
        kz_jw_time(&w, b->hits[i].at);
        kz_jw_key(&w, "account_id");
        kz_jw_str(&w, b->hits[i].account);
        kz_jw_key(&w, "user_id");
        kz_jw_str(&w, b->hits[i].user);
        kz_jw_key(&w, "window");
        kz_jw_str(&w, b->hits[i].key);
        kz_jw_key(&w, "reason");
        kz_jw_str(&w, b->hits[i].reason);
        kz_jw_key(&w, "why");
        json_why(&w, b->hits[i].why);
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    kz_jw_key(&w, "truncated");
    kz_jw_bool(&w, b->n > (size_t)limit);
    kz_jw_end(&w);
    kz_backtest_free(b);
    kz_rule_free(g.r);
    return kz_resp_json_end(resp, &w, 200);
}

/* ---- firings and deliveries ---------------------------------------------------------------- */

struct page {
    kz_jw *w;
    int64_t limit, seen, last;
};

static int on_firing(void *ctx, const kz_firing_rec *f)
{
    struct page *p = ctx;
    if (p->seen++ >= p->limit)
        return KZ_OK; /* the one more that says there is a next page */
    kz_jw *w = p->w;
    p->last = f->id;
    kz_jw_obj(w);
    kz_jw_key(w, "id");
    kz_jw_int(w, f->id);
    kz_jw_key(w, "rule");
    kz_jw_str(w, f->rule);
    kz_jw_key(w, "at");
    kz_jw_time(w, f->at);
    kz_jw_key(w, "fired_at");
    kz_jw_time(w, f->fired_at);
    kz_jw_key(w, "account_id");
    kz_jw_str(w, f->account_key);
    kz_jw_key(w, "subject_kind");
    kz_jw_str(w, f->subject_kind);
    kz_jw_key(w, "subject");
    kz_jw_str(w, f->subject);
    kz_jw_key(w, "window");
    kz_jw_str(w, f->window_key);
    kz_jw_key(w, "reason");
    kz_jw_str(w, f->reason);
    kz_jw_key(w, "why");
    json_why(w, f->why);
    kz_jw_key(w, "dry_run");
    kz_jw_bool(w, f->dry_run);
    kz_jw_end(w);
    return w->err;
}

/* The account of query argument `name` (0 when absent): 0, or 1 with the 400 answer. */
static int account_arg(kz_http_req *req, kz_http_resp *resp, kz_store *st, const char *name, int64_t *out, int *rc)
{
    const char *key = kz_req_query(req, name);
    *out = 0;
    *rc = KZ_OK;
    if (!key)
        return 0;
    int grc = account_id_of(st, key, out);
    if (grc == KZ_ENOTFOUND) {
        kz_resp_error(resp, 400, name, "%s: no account '%.200s'", name, key);
        return 1;
    }
    *rc = grc;
    return grc != 0;
}

int kz_api_firings(kz_http_req *req, kz_http_resp *resp)
{
    const char *rule = kz_req_query(req, "rule");
    int64_t limit, before, account = 0;
    int rc;
    if (kz_req_int(req, resp, "limit", 1, 1000, 100, &limit) || kz_req_int(req, resp, "before", 1, INT64_MAX, 0, &before))
        return KZ_OK;
    if (rule && !kz_rule_id_ok(rule, strlen(rule)))
        return kz_resp_error(resp, 400, "rule", "rule: '%.64s' is not a rule's name", rule);
    kz_store *st = kz_app_store(req->app);
    if (!st)
        return KZ_EIO;
    if (account_arg(req, resp, st, "account", &account, &rc))
        return rc;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "firings");
    kz_jw_arr(&w);
    struct page p = { &w, limit, 0, 0 };
    if ((rc = kz_store_firings_each(st, rule, account, before, limit + 1, on_firing, &p)))
        return rc;
    kz_jw_end(&w);
    kz_jw_key(&w, "next_before");
    if (p.seen > limit)
        kz_jw_int(&w, p.last);
    else
        kz_jw_null(&w);
    kz_jw_end(&w);
    return kz_resp_json_end(resp, &w, 200);
}

/* scheme://host[:port] of a URL: its path and query are often secrets (a
 * Slack webhook's are), so an answer never shows them. */
static void url_origin(const char *url, char *out, size_t cap)
{
    const char *sep = strstr(url, "://");
    if (!sep) {
        snprintf(out, cap, "?");
        return;
    }
    const char *host = sep + 3;
    size_t n = strcspn(host, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (host[i] == '@')
            at = host + i; /* user:password@ goes too */
    if (at) {
        n -= (size_t)(at + 1 - host);
        host = at + 1;
    }
    snprintf(out, cap, "%.*s://%.*s", (int)(sep - url) > 16 ? 16 : (int)(sep - url), url, (int)(n > 255 ? 255 : n),
             host);
}

/* The payload of a delivery as shown: what is sent, its webhook URL cut to
 * the origin. */
static void payload_json(kz_jw *w, const char *payload)
{
    cJSON *j = payload ? cJSON_Parse(payload) : NULL;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        kz_jw_null(w);
        return;
    }
    cJSON *url = cJSON_GetObjectItemCaseSensitive(j, "url");
    if (cJSON_IsString(url)) {
        char origin[300];
        url_origin(url->valuestring, origin, sizeof origin);
        cJSON_ReplaceItemInObjectCaseSensitive(j, "url", cJSON_CreateString(origin));
    }
    char *text = cJSON_PrintUnformatted(j);
    if (text)
        kz_jw_raw(w, text, strlen(text));
    else
        kz_jw_null(w);
    cJSON_free(text);
    cJSON_Delete(j);
}

static int on_delivery(void *ctx, const kz_delivery_rec *d)
{
    kz_jw *w = ctx;
    kz_jw_obj(w);
    kz_jw_key(w, "id");
    kz_jw_int(w, d->id);
    kz_jw_key(w, "firing_id");
    kz_jw_int(w, d->firing_id);
    kz_jw_key(w, "rule");
    kz_jw_str(w, d->rule);
    kz_jw_key(w, "action");
    kz_jw_int(w, d->action);
    kz_jw_key(w, "kind");
    kz_jw_str(w, d->kind);
    kz_jw_key(w, "state");
    kz_jw_str(w, d->state);
    kz_jw_key(w, "attempts");
    kz_jw_int(w, d->attempts);
    kz_jw_key(w, "next_at");
    if (d->state && strcmp(d->state, "pending") == 0)
        kz_jw_time(w, d->next_at);
    else
        kz_jw_null(w);
    kz_jw_key(w, "last_error");
    kz_jw_str(w, d->last_error);
    kz_jw_key(w, "created_at");
    json_opt_time(w, d->created_at);
    kz_jw_key(w, "updated_at");
    json_opt_time(w, d->updated_at);
    kz_jw_key(w, "payload");
    payload_json(w, d->payload);
    kz_jw_end(w);
    return w->err;
}

int kz_api_deliveries(kz_http_req *req, kz_http_resp *resp)
{
    const char *state = kz_req_query(req, "state");
    int64_t limit, firing;
    if (kz_req_int(req, resp, "limit", 1, 1000, 100, &limit) || kz_req_int(req, resp, "firing", 1, INT64_MAX, 0, &firing))
        return KZ_OK;
    if (state && strcmp(state, "pending") != 0 && strcmp(state, "done") != 0 && strcmp(state, "failed") != 0)
        return kz_resp_error(resp, 400, "state", "state: pending, done or failed");
    kz_store *st = kz_app_store(req->app);
    if (!st)
        return KZ_EIO;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "deliveries");
    kz_jw_arr(&w);
    int rc = kz_store_deliveries_each(st, state, firing, limit, on_delivery, &w);
    if (rc)
        return rc;
    kz_jw_end(&w);
    kz_jw_end(&w);
    return kz_resp_json_end(resp, &w, 200);
}

/* ---- tasks ---------------------------------------------------------------------------------- */

struct task_out {
    kz_jw *w;
    kz_day today;
    int64_t limit, seen, last;
};

static void task_json(kz_jw *w, const kz_task_rec *t, kz_day today)
{
    kz_jw_obj(w);
    kz_jw_key(w, "id");
    kz_jw_int(w, t->id);
    kz_jw_key(w, "title");
    kz_jw_str(w, t->title);
    kz_jw_key(w, "body");
    kz_jw_str(w, t->body);
    kz_jw_key(w, "account_id");
    kz_jw_str(w, t->account_key);
    kz_jw_key(w, "account_name");
    kz_jw_str(w, t->account_name);
    kz_jw_key(w, "assignee");
    kz_jw_str(w, t->assignee);
    kz_jw_key(w, "due");
    kz_jw_date(w, t->due);
    kz_jw_key(w, "overdue");
    kz_jw_bool(w, t->status && strcmp(t->status, "open") == 0 && t->due != KZ_DAY_NONE && t->due < today);
    kz_jw_key(w, "status");
    kz_jw_str(w, t->status);
    kz_jw_key(w, "source");
    kz_jw_str(w, t->source);
    kz_jw_key(w, "firing_id");
    json_opt_int(w, t->firing_id);
    kz_jw_key(w, "playbook");
    kz_jw_str(w, t->playbook);
    kz_jw_key(w, "created_at");
    json_opt_time(w, t->created_at);
    kz_jw_key(w, "updated_at");
    json_opt_time(w, t->updated_at);
    kz_jw_key(w, "closed_at");
    json_opt_time(w, t->closed_at);
    kz_jw_end(w);
}

static int on_task(void *ctx, const kz_task_rec *t)
{
    struct task_out *o = ctx;
    if (o->seen++ >= o->limit)
        return KZ_OK;
    o->last = t->id;
    task_json(o->w, t, o->today);
    return o->w->err;
}

int kz_api_tasks(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_api_user *me = req->user;
    const char *assignee = kz_req_query(req, "assignee"), *status = kz_req_query(req, "status");
    int64_t limit, after;
    int rc;
    if (kz_req_int(req, resp, "limit", 1, 1000, 100, &limit) || kz_req_int(req, resp, "after", 0, INT64_MAX, 0, &after))
        return KZ_OK;
    if (kz_req_flag(req, "mine")) {
        if (assignee && strcmp(assignee, me->user.name) != 0)
            return kz_resp_error(resp, 400, "mine", "mine: give mine or assignee, not both");
        assignee = me->user.name;
    }
    if (!status)
        status = "open";
    if (strcmp(status, "open") != 0 && strcmp(status, "done") != 0 && strcmp(status, "cancelled") != 0 &&
        strcmp(status, "all") != 0)
        return kz_resp_error(resp, 400, "status", "status: open, done, cancelled or all");
    kz_store *st = kz_app_store(a);
    if (!st)
        return KZ_EIO;
    kz_day today = today_of(a);
    kz_task_query q = { .assignee = assignee, .status = strcmp(status, "all") == 0 ? NULL : status,
                        .due_before = kz_req_flag(req, "overdue") ? today : KZ_DAY_NONE, .after_id = after,
                        .limit = limit + 1 };
    if (account_arg(req, resp, st, "account", &q.account_id, &rc))
        return rc;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "tasks");
    kz_jw_arr(&w);
    struct task_out o = { &w, today, limit, 0, 0 };
    if ((rc = kz_store_tasks_each(st, &q, on_task, &o)))
        return rc;
    kz_jw_end(&w);
    kz_jw_key(&w, "next_after");
    if (o.seen > limit)
        kz_jw_int(&w, o.last);
    else
        kz_jw_null(&w);
    kz_jw_end(&w);
    return kz_resp_json_end(resp, &w, 200);
}

static int on_task_one(void *ctx, const kz_task_rec *t)
{
    struct task_out *o = ctx;
    task_json(o->w, t, o->today);
    return o->w->err;
}

/* Answers task id as it is stored, with status. */
static int task_answer(kz_app *a, kz_store *st, int64_t id, kz_http_resp *resp, int status)
{
    kz_jw w;
    kz_buf_reset(&resp->body);
    kz_jw_init(&w, &resp->body);
    struct task_out o = { &w, today_of(a), 1, 0, 0 };
    int rc = kz_store_task_get(st, id, on_task_one, &o);
    if (rc == KZ_ENOTFOUND) {
        kz_buf_reset(&resp->body);
        return kz_resp_error(resp, 404, NULL, "no task %lld", (long long)id);
    }
    return rc ? rc : kz_resp_json_end(resp, &w, status);
}

/* The {id} of the path, or 0 (resp holds the 404). */
static int64_t task_id(kz_http_req *req, kz_http_resp *resp)
{
    const char *p = kz_req_param(req, "id");
    int64_t id;
    if (!p || kz_parse_int(&id, p, strlen(p), 1, INT64_MAX)) {
        kz_resp_error(resp, 404, NULL, "no task '%.40s'", p ? p : "");
        return 0;
    }
    return id;
}

int kz_api_task(kz_http_req *req, kz_http_resp *resp)
{
    int64_t id = task_id(req, resp);
    if (!id)
        return KZ_OK;
    kz_store *st = kz_app_store(req->app);
    return st ? task_answer(req->app, st, id, resp, 200) : KZ_EIO;
}

/* A date member ("YYYY-MM-DD" or null): 0 with *out (KZ_DAY_NONE for null,
 * absent as `absent`), else 1 with the 400 answer. */
static int date_member(kz_http_resp *resp, const cJSON *o, const char *key, kz_day absent, kz_day *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = absent;
    if (!v)
        return 0;
    if (cJSON_IsNull(v)) {
        *out = KZ_DAY_NONE;
        return 0;
    }
    if (!cJSON_IsString(v) || kz_parse_date(out, v->valuestring, strlen(v->valuestring))) {
        kz_resp_error(resp, 400, key, "%s: a date, YYYY-MM-DD", key);
        return 1;
    }
    return 0;
}

int kz_api_task_add(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_api_user *me = req->user;
    static const char *const keys[] = { "title", "account_id", "assignee", "due", "playbook", "body", NULL };
    cJSON *body = body_object(req, resp, "{\"title\", \"account_id\"?, \"assignee\"?, \"due\"?, \"playbook\"?, "
                                         "\"body\"?}");
    if (!body)
        return KZ_OK;
    const char *title, *account, *assignee, *playbook, *text;
    kz_day due;
    int64_t acc = 0, id = 0;
    int rc = KZ_OK;
    if (only_keys(resp, body, keys, "title, account_id, assignee, due, playbook, body") ||
        text_member(resp, body, "title", 1, TITLE_MAX, 0, &title) ||
        text_member(resp, body, "account_id", 0, 1000, 0, &account) ||
        text_member(resp, body, "assignee", 0, ASSIGNEE_MAX, 0, &assignee) ||
        date_member(resp, body, "due", KZ_DAY_NONE, &due) ||
        text_member(resp, body, "playbook", 0, KZ_PLAYBOOK_NAME_MAX, 0, &playbook) ||
        text_member(resp, body, "body", 0, TASK_BODY_MAX, 1, &text))
        goto done;
    if (assignee && !*assignee) {
        kz_resp_error(resp, 400, "assignee", "assignee: a user's name, or leave it out");
        goto done;
    }
    if (playbook && !kz_playbook_name_ok(playbook, strlen(playbook))) {
        kz_resp_error(resp, 400, "playbook", "playbook: '%s' is not a playbook's name ([a-z0-9_-])", playbook);
        goto done;
    }
    if (playbook) {
        /* a link to a document that is there */
        kz_playbook doc;
        int prc = kz_playbook_load(&doc, a->cfg->playbooks_dir, playbook);
        kz_playbook_free(&doc);
        if (prc == KZ_ENOTFOUND) {
            kz_resp_error(resp, 400, "playbook", "playbook: no document '%s' in %s (GET /api/v1/playbooks lists them)",
                          playbook, a->cfg->playbooks_dir);
            goto done;
        }
    }
    kz_store *st = kz_app_store(a);
    if (!st) {
        rc = KZ_EIO;
        goto done;
    }
    if (account) {
        rc = account_id_of(st, account, &acc);
        if (rc == KZ_ENOTFOUND) {
            rc = kz_resp_error(resp, 400, "account_id", "account_id: no account '%.200s'", account);
            goto done;
        }
        if (rc)
            goto done;
    }
    char source[200], target[40];
    snprintf(source, sizeof source, "user:%.180s", me->user.name);
    kz_task_rec t = { .title = title, .body = text && *text ? text : NULL, .account_id = acc, .assignee = assignee,
                      .due = due, .source = source, .playbook = playbook };
    if ((rc = kz_store_begin(st)))
        goto done;
    rc = kz_store_task_add(st, &t, kz_now(), &id);
    snprintf(target, sizeof target, "task/%lld", (long long)id);
    if (!rc)
        rc = kz_api_audit(req, "task.add", target, title);
    if (!(rc = tx_end(st, rc)))
        rc = task_answer(a, st, id, resp, 201);
done:
    cJSON_Delete(body);
    return rc;
}

int kz_api_task_change(kz_http_req *req, kz_http_resp *resp)
{
    int64_t id = task_id(req, resp);
    if (!id)
        return KZ_OK;
    static const char *const keys[] = { "status", "assignee", "due", NULL };
    cJSON *body = body_object(req, resp, "{\"status\"?: \"open\" | \"done\" | \"cancelled\", \"assignee\"?, \"due\"?}");
    if (!body)
        return KZ_OK;
    const char *status, *assignee;
    kz_day due;
    int rc = KZ_OK;
    if (only_keys(resp, body, keys, "status, assignee, due") || text_member(resp, body, "status", 0, 16, 0, &status) ||
        text_member(resp, body, "assignee", 0, ASSIGNEE_MAX, 0, &assignee) ||
        date_member(resp, body, "due", KZ_TASK_DUE_KEPT, &due))
        goto done;
    if (!body->child) {
        kz_resp_error(resp, 400, NULL, "nothing to change: give status, assignee or due");
        goto done;
    }
    if (status && strcmp(status, "open") != 0 && strcmp(status, "done") != 0 && strcmp(status, "cancelled") != 0) {
        kz_resp_error(resp, 400, "status", "status: open, done or cancelled");
        goto done;
    }
    const cJSON *ja = cJSON_GetObjectItemCaseSensitive(body, "assignee");
    if (ja && (!assignee || !*assignee)) {
        kz_resp_error(resp, 400, "assignee", "assignee: a user's name (a task keeps an assignee once it has one)");
        goto done;
    }
    if (cJSON_GetObjectItemCaseSensitive(body, "status") && !status) {
        kz_resp_error(resp, 400, "status", "status: open, done or cancelled");
        goto done;
    }
    kz_store *st = kz_app_store(req->app);
    if (!st) {
        rc = KZ_EIO;
        goto done;
    }
    char target[40], day[KZ_DATE_BUF];
    kz_buf detail;
    kz_buf_init(&detail, 4096);
    snprintf(target, sizeof target, "task/%lld", (long long)id);
    if (status)
        kz_buf_printf(&detail, "status=%s ", status);
    if (assignee)
        kz_buf_printf(&detail, "assignee=%s ", assignee);
    if (due != KZ_TASK_DUE_KEPT) {
        if (due == KZ_DAY_NONE)
            snprintf(day, sizeof day, "none");
        else
            kz_format_date(day, due);
        kz_buf_printf(&detail, "due=%s ", day);
    }
    if (detail.len)
        detail.data[--detail.len] = '\0';
    if (!(rc = kz_store_begin(st))) {
        rc = kz_store_task_set(st, id, status, assignee, due, kz_now());
        if (!rc)
            rc = kz_api_audit(req, "task.change", target, kz_buf_cstr(&detail));
        rc = tx_end(st, rc);
    }
    kz_buf_free(&detail);
    if (rc == KZ_ENOTFOUND)
        rc = kz_resp_error(resp, 404, NULL, "no task %lld", (long long)id);
    else if (!rc)
        rc = task_answer(req->app, st, id, resp, 200);
done:
    cJSON_Delete(body);
    return rc;
}

/* ---- the timeline of an account ----------------------------------------------------------------- */

/* One thing that happened, in the order newest first: at, then kind, then
 * ref, each descending (a total order: no two items share all three). title
 * and detail are English sentences; data holds the facts they are made of,
 * as a JSON object (docs/api.md lists its keys per kind), so that a client
 * can say them in its own language. */
struct item {
    kz_time at;
    const char *kind, *title, *detail, *ref;
    const char *data;
};

struct sub {
    const char *key, *plan;
    int64_t mrr, quantity;
    kz_day start, end;
    int followed; /* another subscription of the account begins the day it ends: a change */
};

struct timeline {
    kz_store *st;
    kz_arena *a;
    KZ_VEC(struct item) v;
    kz_day today;
    int rc;
    /* subscriptions, first gathered, then read as starts, changes and ends */
    KZ_VEC(struct sub) subs;
    /* health: the band of the day before */
    char band[16];
    /* the data of the item being made: written here (no cap: it holds no
     * more than a stored row), then copied into the arena */
    kz_buf scratch;
    kz_jw w;
};

static int cmp_item(const struct item *x, const struct item *y)
{
    if (x->at != y->at)
        return x->at > y->at ? -1 : 1;
    int c = strcmp(x->kind, y->kind);
    if (c)
        return -c;
    return -strcmp(x->ref, y->ref);
}

static int cmp_item_q(const void *p, const void *q)
{
    return cmp_item(p, q);
}

/* p, an allocation that is NULL only when out of memory; then t->rc says so. */
static const char *need(struct timeline *t, const char *p)
{
    if (!p && !t->rc)
        t->rc = kz_error_oom();
    return p;
}

/* The text of a value (NULL when null or empty), copied into the arena (out of memory: NULL, t->rc set). */
static const char *vtext(struct timeline *t, const kz_value *v)
{
    if (v->kind != KZ_VTEXT || v->n == 0)
        return NULL;
    return need(t, kz_arena_strndup(t->a, v->s, v->n));
}

/* s cut to DETAIL_MAX bytes on a character's boundary, with "…" when cut. */
static const char *cut(struct timeline *t, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if (n <= DETAIL_MAX)
        return s;
    n = DETAIL_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return need(t, kz_arena_printf(t->a, "%.*s…", (int)n, s));
}

/* Starts the data of an item, an object: its members follow on the writer returned. */
static kz_jw *data_begin(struct timeline *t)
{
    kz_buf_reset(&t->scratch);
    kz_jw_init(&t->w, &t->scratch);
    kz_jw_obj(&t->w);
    return &t->w;
}

/* Ends the data begun by data_begin: its JSON text, in the arena; NULL (with
 * t->rc set) when it could not be written. */
static const char *data_end(struct timeline *t)
{
    kz_jw_end(&t->w);
    int rc = kz_jw_error(&t->w);
    if (rc) {
        if (!t->rc)
            t->rc = rc;
        return NULL;
    }
    return need(t, kz_arena_strndup(t->a, kz_buf_cstr(&t->scratch), t->scratch.len));
}

static void data_str(kz_jw *w, const char *key, const char *v)
{
    kz_jw_key(w, key);
    kz_jw_str(w, v);
}

static void data_int(kz_jw *w, const char *key, int64_t v)
{
    kz_jw_key(w, key);
    kz_jw_int(w, v);
}

static void data_double(kz_jw *w, const char *key, double v)
{
    kz_jw_key(w, key);
    kz_jw_double(w, v);
}

/* Money as the API writes it everywhere: a decimal number, at least 2 decimals. */
static void data_money(kz_jw *w, const char *key, int64_t v)
{
    kz_jw_key(w, key);
    kz_jw_fixed(w, v, KZ_MONEY_SCALE, 2);
}

/* {"title"}: the data of a task closed. */
static const char *title_data(struct timeline *t, const char *title)
{
    data_str(data_begin(t), "title", title);
    return data_end(t);
}

static void add(struct timeline *t, kz_time at, const char *kind, const char *title, const char *detail,
                const char *data, const char *ref)
{
    if (t->rc)
        return;
    if (!kind || !title || !ref || !data) {
        t->rc = kz_error_oom();
        return;
    }
    struct item it = { at, kind, title, detail, ref, data };
    if (kz_vec_push(&t->v, it))
        t->rc = kz_error_oom();
}

/* "1146.60"; "" (with t->rc set) when out of memory, so that it can always be printed. */
static const char *money(struct timeline *t, int64_t v)
{
    char b[KZ_FIXED_BUF];
    kz_format_fixed_min(b, v, KZ_MONEY_SCALE, 2);
    const char *s = need(t, kz_arena_strndup(t->a, b, strlen(b)));
    return s ? s : "";
}

static int on_sub(void *ctx, int64_t id, const kz_value *row)
{
    struct timeline *t = ctx;
    (void)id;
    struct sub s = { vtext(t, &row[KZ_SUB_KEY]), vtext(t, &row[KZ_SUB_PLAN]),
                     row[KZ_SUB_MRR].kind == KZ_VINT ? row[KZ_SUB_MRR].i : 0,
                     row[KZ_SUB_QUANTITY].kind == KZ_VINT ? row[KZ_SUB_QUANTITY].i : 0,
                     row[KZ_SUB_START].kind == KZ_VINT ? (kz_day)row[KZ_SUB_START].i : KZ_DAY_NONE,
                     row[KZ_SUB_END].kind == KZ_VINT ? (kz_day)row[KZ_SUB_END].i : KZ_DAY_NONE, 0 };
    if (t->rc)
        return t->rc;
    if (!s.key)
        return kz_error_oom();
    return kz_vec_push(&t->subs, s) ? kz_error_oom() : KZ_OK;
}

/* "pro, MRR 1146.60, quantity 26" */
static const char *sub_words(struct timeline *t, const struct sub *s)
{
    return need(t, kz_arena_printf(t->a, "%s%sMRR %s, quantity %lld", s->plan ? s->plan : "", s->plan ? ", " : "",
                                   money(t, s->mrr), (long long)s->quantity));
}

/* {"plan", "mrr", "quantity"}: the data of a start or an end. */
static const char *sub_data(struct timeline *t, const struct sub *s)
{
    kz_jw *w = data_begin(t);
    data_str(w, "plan", s->plan);
    data_money(w, "mrr", s->mrr);
    data_int(w, "quantity", s->quantity);
    return data_end(t);
}

/* {"from_plan", "to_plan", "from_mrr", "to_mrr", "from_quantity", "to_quantity"}: a change. */
static const char *change_data(struct timeline *t, const struct sub *from, const struct sub *to)
{
    kz_jw *w = data_begin(t);
    data_str(w, "from_plan", from->plan);
    data_str(w, "to_plan", to->plan);
    data_money(w, "from_mrr", from->mrr);
    data_money(w, "to_mrr", to->mrr);
    data_int(w, "from_quantity", from->quantity);
    data_int(w, "to_quantity", to->quantity);
    return data_end(t);
}

/* Starts, changes (a subscription begins the day another of the account
 * ends) and ends, each on its day (00:00 UTC) once that day has come. */
static void subscription_items(struct timeline *t)
{
    size_t n = t->subs.n;
    struct sub *v = t->subs.v;
    for (size_t i = 0; i < n && !t->rc; i++) {
        struct sub *s = &v[i];
        if (s->start == KZ_DAY_NONE || s->start > t->today)
            continue;
        struct sub *before = NULL;
        for (size_t j = 0; j < n && !before; j++)
            if (j != i && !v[j].followed && v[j].end == s->start && v[j].start <= s->start)
                before = &v[j];
        if (before) {
            before->followed = 1;
            const char *from_plan = before->plan ? before->plan : "no plan", *to_plan = s->plan ? s->plan : "no plan";
            const char *detail = need(t, kz_arena_printf(t->a, "%s → %s, MRR %s → %s, quantity %lld → %lld", from_plan,
                                                         to_plan, money(t, before->mrr), money(t, s->mrr),
                                                         (long long)before->quantity, (long long)s->quantity));
            const char *data = change_data(t, before, s);
            add(t, kz_day_time(s->start), "subscription.change", "Subscription changed", detail, data, s->key);
        } else {
            const char *detail = sub_words(t, s), *data = sub_data(t, s);
            add(t, kz_day_time(s->start), "subscription.start", "Subscription started", detail, data, s->key);
        }
    }
    for (size_t i = 0; i < n && !t->rc; i++) {
        struct sub *s = &v[i];
        if (s->end == KZ_DAY_NONE || s->end > t->today || s->followed)
            continue;
        const char *detail = sub_words(t, s), *data = sub_data(t, s);
        add(t, kz_day_time(s->end), "subscription.end", "Subscription ended", detail, data, s->key);
    }
}

static int on_ticket(void *ctx, int64_t id, const kz_value *row)
{
    struct timeline *t = ctx;
    (void)id;
    const char *key = vtext(t, &row[KZ_TICKET_KEY]), *subject = vtext(t, &row[KZ_TICKET_SUBJECT]),
               *priority = vtext(t, &row[KZ_TICKET_PRIORITY]), *category = vtext(t, &row[KZ_TICKET_CATEGORY]);
    const char *detail = priority || category
                             ? need(t, kz_arena_printf(t->a, "%s%s%s%s%s", priority ? "priority " : "",
                                                       priority ? priority : "", priority && category ? ", " : "",
                                                       category ? category : "", category ? " question" : ""))
                             : NULL;
    kz_jw *w = data_begin(t);
    data_str(w, "subject", subject);
    data_str(w, "priority", priority);
    data_str(w, "category", category);
    const char *data = data_end(t);
    if (row[KZ_TICKET_OPENED].kind == KZ_VINT)
        add(t, row[KZ_TICKET_OPENED].i, "ticket.opened",
            subject ? kz_arena_printf(t->a, "Ticket opened: %s", subject) : "Ticket opened", detail, data, key);
    if (row[KZ_TICKET_RESOLVED].kind == KZ_VINT)
        add(t, row[KZ_TICKET_RESOLVED].i, "ticket.resolved",
            subject ? kz_arena_printf(t->a, "Ticket resolved: %s", subject) : "Ticket resolved", detail, data, key);
    return t->rc;
}

static int on_nps(void *ctx, int64_t id, const kz_value *row)
{
    struct timeline *t = ctx;
    (void)id;
    if (row[KZ_NPS_TS].kind != KZ_VINT)
        return KZ_OK;
    int has_score = row[KZ_NPS_SCORE].kind == KZ_VINT;
    int64_t score = has_score ? row[KZ_NPS_SCORE].i : -1;
    const char *group = score >= 9 ? "promoter" : score >= 7 ? "passive" : score >= 0 ? "detractor" : NULL;
    const char *comment = vtext(t, &row[KZ_NPS_COMMENT]);
    kz_jw *w = data_begin(t);
    kz_jw_key(w, "score");
    if (has_score)
        kz_jw_int(w, score);
    else
        kz_jw_null(w);
    data_str(w, "group", group);
    data_str(w, "comment", comment);
    const char *data = data_end(t);
    add(t, row[KZ_NPS_TS].i, "nps",
        kz_arena_printf(t->a, "NPS answer: %lld (%s)", (long long)score, group ? group : "no score"), cut(t, comment),
        data, vtext(t, &row[KZ_NPS_KEY]));
    return t->rc;
}

static int on_activity(void *ctx, int64_t id, const kz_value *row)
{
    struct timeline *t = ctx;
    (void)id;
    if (row[KZ_ACT_TS].kind != KZ_VINT)
        return KZ_OK;
    const char *kind = vtext(t, &row[KZ_ACT_KIND]), *subject = vtext(t, &row[KZ_ACT_SUBJECT]);
    if (!kind)
        kind = "note";
    static const struct {
        const char *kind, *title;
    } names[] = { { "email", "E-mail" }, { "call", "Call" }, { "meeting", "Meeting" }, { "note", "Note" } };
    const char *title = subject;
    for (size_t i = 0; !title && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].kind, kind) == 0)
            title = names[i].title;
    const char *body = cut(t, vtext(t, &row[KZ_ACT_BODY]));
    kz_jw *w = data_begin(t);
    data_str(w, "activity", kind);
    data_str(w, "subject", subject);
    data_str(w, "body", body);
    const char *data = data_end(t);
    add(t, row[KZ_ACT_TS].i, kz_arena_printf(t->a, "activity.%s", kind), title ? title : kind, body, data,
        vtext(t, &row[KZ_ACT_KEY]));
    return t->rc;
}

static int on_tl_firing(void *ctx, const kz_firing_rec *f)
{
    struct timeline *t = ctx;
    kz_jw *w = data_begin(t);
    data_str(w, "rule", f->rule);
    kz_jw_key(w, "dry_run");
    kz_jw_bool(w, f->dry_run);
    data_str(w, "reason", f->reason);
    kz_jw_key(w, "why");
    json_why(w, f->why);
    const char *data = data_end(t);
    add(t, f->fired_at,
        "rule.fired", kz_arena_printf(t->a, "Rule %s fired%s", f->rule ? f->rule : "?", f->dry_run ? " (dry run)" : ""),
        f->reason ? cut(t, need(t, kz_arena_strndup(t->a, f->reason, strlen(f->reason)))) : NULL, data,
        kz_arena_printf(t->a, "%lld", (long long)f->id));
    return t->rc;
}

static int on_tl_task(void *ctx, const kz_task_rec *r)
{
    struct timeline *t = ctx;
    char due[KZ_DATE_BUF];
    if (r->due != KZ_DAY_NONE)
        kz_format_date(due, r->due);
    const char *ref = kz_arena_printf(t->a, "%lld", (long long)r->id);
    const char *title = r->title ? r->title : "";
    const char *detail =
        need(t, kz_arena_printf(t->a, "%s%s%s%s%s%sfrom %s", r->assignee ? "assigned to " : "",
                                r->assignee ? r->assignee : "", r->assignee ? ", " : "",
                                r->due != KZ_DAY_NONE ? "due " : "", r->due != KZ_DAY_NONE ? due : "",
                                r->due != KZ_DAY_NONE ? ", " : "", r->source ? r->source : "?"));
    kz_jw *w = data_begin(t);
    data_str(w, "title", title);
    data_str(w, "assignee", r->assignee);
    kz_jw_key(w, "due");
    kz_jw_date(w, r->due);
    data_str(w, "source", r->source);
    const char *data = data_end(t);
    add(t, r->created_at, "task.created", kz_arena_printf(t->a, "Task: %s", title), detail, data, ref);
    if (r->closed_at && r->status && strcmp(r->status, "open") != 0) {
        int done = strcmp(r->status, "done") == 0;
        data = title_data(t, title);
        add(t, r->closed_at, done ? "task.done" : "task.cancelled",
            kz_arena_printf(t->a, "Task %s: %s", done ? "done" : "cancelled", title), NULL, data, ref);
    }
    return t->rc;
}

static int on_tl_health(void *ctx, const char *account_key, const kz_health_row *h)
{
    struct timeline *t = ctx;
    (void)account_key;
    const char *band = h->band ? h->band : "";
    if (t->band[0] && strcmp(t->band, band) != 0) {
        char day[KZ_DATE_BUF];
        kz_format_date(day, h->day);
        kz_jw *w = data_begin(t);
        data_str(w, "from", t->band);
        data_str(w, "to", band);
        data_double(w, "score", round(h->score * 10) / 10); /* as GET /accounts/{id}/health gives it */
        data_int(w, "version", h->version);
        const char *data = data_end(t);
        add(t, kz_day_time(h->day), "health.band", kz_arena_printf(t->a, "Health %s → %s", t->band, band),
            need(t, kz_arena_printf(t->a, "score %.1f (health definition version %lld)", h->score,
                                    (long long)h->version)),
            data, kz_arena_strndup(t->a, day, strlen(day)));
    }
    snprintf(t->band, sizeof t->band, "%s", band);
    return t->rc;
}

static int on_tl_anomaly(void *ctx, const kz_anomaly_rec *an)
{
    struct timeline *t = ctx;
    char lo[KZ_DOUBLE_BUF], hi[KZ_DOUBLE_BUF], obs[KZ_DOUBLE_BUF];
    kz_format_double(lo, an->low);
    kz_format_double(hi, an->high);
    kz_format_double(obs, an->observed);
    kz_jw *w = data_begin(t);
    data_int(w, "anomaly_id", an->id);
    data_str(w, "series", an->series);
    data_str(w, "kind", an->kind);
    data_double(w, "observed", an->observed);
    data_double(w, "low", an->low);
    data_double(w, "high", an->high);
    data_str(w, "state", an->state);
    data_str(w, "message", an->message);
    const char *data = data_end(t);
    add(t, kz_day_time(an->day), "anomaly", kz_arena_printf(t->a, "Anomaly: %s", an->message),
        need(t, kz_arena_printf(t->a, "%s %s, expected %s to %s (%s)", an->kind, obs, lo, hi, an->state)), data,
        kz_arena_printf(t->a, "%lld", (long long)an->id));
    return t->rc;
}

/* Every item of the account (key: its key), ordered. */
static int timeline_gather(struct timeline *t, int64_t account, const char *key)
{
    int rc, snap = 0;
    if ((rc = kz_store_snapshot_begin(t->st, &snap)))
        return rc;
    rc = kz_store_each_of_account(t->st, KZ_ENT_SUBSCRIPTION, account, ALL, on_sub, t);
    if (!rc) {
        subscription_items(t);
        rc = t->rc;
    }
    if (!rc)
        rc = kz_store_each_of_account(t->st, KZ_ENT_TICKET, account, ALL, on_ticket, t);
    if (!rc)
        rc = kz_store_each_of_account(t->st, KZ_ENT_NPS, account, ALL, on_nps, t);
    if (!rc)
        rc = kz_store_each_of_account(t->st, KZ_ENT_ACTIVITY, account, ALL, on_activity, t);
    if (!rc)
        rc = kz_store_firings_each(t->st, NULL, account, 0, ALL, on_tl_firing, t);
    if (!rc) {
        kz_task_query q = { .account_id = account, .due_before = KZ_DAY_NONE, .limit = ALL };
        rc = kz_store_tasks_each(t->st, &q, on_tl_task, t);
    }
    if (!rc)
        rc = kz_store_health_each(t->st, account, INT32_MIN + 1, INT32_MAX, on_tl_health, t);
    if (!rc) {
        /* the anomalies of its own series */
        const char *series = kz_arena_printf(t->a, "account/%s", key);
        rc = series ? kz_store_anomalies_each(t->st, INT32_MIN + 1, INT32_MAX, NULL, series, on_tl_anomaly, t)
                    : kz_error_oom();
    }
    kz_store_snapshot_end(t->st, snap);
    if (!rc)
        rc = t->rc;
    if (!rc && t->v.n)
        qsort(t->v.v, t->v.n, sizeof *t->v.v, cmp_item_q);
    return rc;
}

/* The cursor of an item: "c" AT "." hex(kind) "." hex(ref), opaque to clients. */
static int cursor_of(kz_buf *out, const struct item *it)
{
    int rc = kz_buf_printf(out, "c%lld.", (long long)it->at);
    for (const char *p = it->kind; !rc && *p; p++)
        rc = kz_buf_printf(out, "%02x", (unsigned char)*p);
    if (!rc)
        rc = kz_buf_putc(out, '.');
    for (const char *p = it->ref; !rc && *p; p++)
        rc = kz_buf_printf(out, "%02x", (unsigned char)*p);
    return rc;
}

static int unhex(const char *s, size_t n, char *out, size_t cap)
{
    if (n % 2 || n / 2 + 1 > cap)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[i + (size_t)k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0)
                return -1;
            v = v * 16 + d;
        }
        if (v == 0)
            return -1;
        out[i / 2] = (char)v;
    }
    out[n / 2] = '\0';
    return 0;
}

/* Reads a cursor into it (kind and ref in the buffers). 0, or -1 when malformed. */
static int cursor_parse(const char *s, struct item *it, char *kind, size_t kcap, char *ref, size_t rcap)
{
    if (s[0] != 'c')
        return -1;
    const char *d1 = strchr(s + 1, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    int64_t at;
    if (!d2 || kz_parse_int(&at, s + 1, (size_t)(d1 - s - 1), INT64_MIN, INT64_MAX) ||
        unhex(d1 + 1, (size_t)(d2 - d1 - 1), kind, kcap) || unhex(d2 + 1, strlen(d2 + 1), ref, rcap) || !*kind)
        return -1;
    it->at = at;
    it->kind = kind;
    it->ref = ref;
    return 0;
}

static void item_json(kz_jw *w, const struct item *it)
{
    kz_jw_obj(w);
    kz_jw_key(w, "at");
    kz_jw_time(w, it->at);
    kz_jw_key(w, "kind");
    kz_jw_str(w, it->kind);
    kz_jw_key(w, "title");
    kz_jw_str(w, it->title);
    kz_jw_key(w, "detail");
    kz_jw_str(w, it->detail);
    kz_jw_key(w, "ref");
    kz_jw_str(w, it->ref);
    kz_jw_key(w, "data");
    kz_jw_raw(w, it->data, strlen(it->data));
    kz_jw_end(w);
}

/* Whether kind is one of the comma-separated list, or under one of them
 * ("ticket" takes "ticket.opened"). */
static int kind_wanted(const char *list, const char *kind)
{
    size_t kn = strlen(kind);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n && n <= kn && memcmp(p, kind, n) == 0 && (kind[n] == '\0' || kind[n] == '.'))
            return 1;
        p += n + (end != NULL);
    }
    return 0;
}

int kz_api_account_timeline(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    const char *key = kz_req_param(req, "id"), *before = kz_req_query(req, "before"),
               *kinds = kz_req_query(req, "kind");
    int64_t limit, account;
    if (kz_req_int(req, resp, "limit", 1, 1000, 50, &limit))
        return KZ_OK;
    if (kinds && !*kinds)
        return kz_resp_error(resp, 400, "kind", "kind: one or more kinds, comma-separated (ticket, activity.call...)");
    /* before: a time (RFC 3339: what happened before it) or the cursor of next_before */
    struct item cur = { 0 };
    int by_cursor = 0, by_time = 0;
    kz_time before_t = 0;
    char ckind[64], cref[1100];
    if (before) {
        if (before[0] == 'c') {
            if (cursor_parse(before, &cur, ckind, sizeof ckind, cref, sizeof cref))
                return kz_resp_error(resp, 400, "before", "before: not a cursor of next_before");
            by_cursor = 1;
        } else if (kz_parse_time(&before_t, NULL, before, strlen(before))) {
            return kz_resp_error(resp, 400, "before", "before: a time (RFC 3339) or the next_before of a page: %s",
                                 kz_error_msg());
        } else {
            by_time = 1;
        }
    }
    kz_store *st = kz_app_store(a);
    if (!st)
        return KZ_EIO;
    int rc = account_id_of(st, key, &account);
    if (rc == KZ_ENOTFOUND)
        return kz_resp_error(resp, 404, NULL, "no account '%s'", key);
    if (rc)
        return rc;
    struct timeline t;
    memset(&t, 0, sizeof t);
    t.st = st;
    t.today = kz_time_day(kz_now());
    kz_buf_init(&t.scratch, KZ_BUF_UNLIMITED);
    if (!(t.a = kz_arena_new(1 << 16)))
        return kz_error_oom();
    if ((rc = timeline_gather(&t, account, key)))
        goto done;
    if (kinds) { /* ?kind=ticket,activity.call: those kinds, or kinds under them */
        size_t kept = 0;
        for (size_t i = 0; i < t.v.n; i++)
            if (kind_wanted(kinds, t.v.v[i].kind))
                t.v.v[kept++] = t.v.v[i];
        t.v.n = kept;
    }
    size_t first = 0;
    while (first < t.v.n && ((by_cursor && cmp_item(&cur, &t.v.v[first]) >= 0) || (by_time && t.v.v[first].at >= before_t)))
        first++;
    size_t end = first + (size_t)limit < t.v.n ? first + (size_t)limit : t.v.n;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "account_id");
    kz_jw_str(&w, key);
    kz_jw_key(&w, "total"); /* the items of the kinds asked for, on every page */
    kz_jw_int(&w, (int64_t)t.v.n);
    kz_jw_key(&w, "items");
    kz_jw_arr(&w);
    for (size_t i = first; i < end; i++)
        item_json(&w, &t.v.v[i]);
    kz_jw_end(&w);
    kz_jw_key(&w, "next_before");
    if (end < t.v.n && end > first) {
        kz_buf c;
        kz_buf_init(&c, KZ_BUF_UNLIMITED);
        if ((rc = cursor_of(&c, &t.v.v[end - 1]))) {
            kz_buf_free(&c);
            goto done;
        }
        kz_jw_strn(&w, c.data, c.len);
        kz_buf_free(&c);
    } else {
        kz_jw_null(&w);
    }
    kz_jw_end(&w);
    rc = kz_resp_json_end(resp, &w, 200);
done:
    kz_vec_free(&t.v);
    kz_vec_free(&t.subs);
    kz_buf_free(&t.scratch);
    kz_arena_free(t.a);
    return rc;
}

/* ---- playbook documents ---------------------------------------------------------------------- */

/* A document that does not read (not UTF-8, too big) is shown as what it is:
 * a 500 with the reason, so that it is seen and mended. */
static int document_error(kz_http_resp *resp, int rc)
{
    if (rc == KZ_EINVALID || rc == KZ_ETOOBIG)
        return kz_resp_error(resp, 500, NULL, "%s", kz_error_msg());
    return rc;
}

int kz_api_playbooks(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    kz_playbook *v = NULL;
    size_t n = 0;
    int rc = kz_playbook_list(&v, &n, a->cfg->playbooks_dir);
    if (rc)
        return document_error(resp, rc);
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "playbooks");
    kz_jw_arr(&w);
    for (size_t i = 0; i < n; i++) {
        kz_jw_obj(&w);
        kz_jw_key(&w, "name");
        kz_jw_str(&w, v[i].name);
        kz_jw_key(&w, "title");
        kz_jw_str(&w, v[i].title);
        kz_jw_end(&w);
    }
    kz_jw_end(&w);
    kz_jw_end(&w);
    kz_playbook_list_free(v, n);
    return kz_resp_json_end(resp, &w, 200);
}

int kz_api_playbook(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    const char *name = kz_req_param(req, "name");
    if (!name || !kz_playbook_name_ok(name, strlen(name)))
        return kz_resp_error(resp, 400, "name", "name: '%.64s' is not a playbook's name: 1 to %d of a-z, 0-9, '_' and '-'",
                             name ? name : "", KZ_PLAYBOOK_NAME_MAX);
    kz_playbook p;
    int rc = kz_playbook_load(&p, a->cfg->playbooks_dir, name);
    if (rc == KZ_ENOTFOUND)
        return kz_resp_error(resp, 404, NULL, "no playbook '%s'", name);
    if (rc)
        return document_error(resp, rc);
    kz_buf html;
    kz_buf_init(&html, KZ_BUF_UNLIMITED);
    if ((rc = kz_playbook_html(&html, p.markdown, p.len))) {
        kz_buf_free(&html);
        kz_playbook_free(&p);
        return document_error(resp, rc);
    }
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "name");
    kz_jw_str(&w, p.name);
    kz_jw_key(&w, "title");
    kz_jw_str(&w, p.title);
    kz_jw_key(&w, "markdown");
    kz_jw_strn(&w, p.markdown, p.len);
    kz_jw_key(&w, "html");
    kz_jw_strn(&w, html.data ? html.data : "", html.len);
    kz_jw_end(&w);
    kz_buf_free(&html);
    kz_playbook_free(&p);
    return kz_resp_json_end(resp, &w, 200);
}
