/*
 * entities.c - the rows of the data contract over HTTP: create (POST),
 * read (GET), change (PATCH) and delete (DELETE) accounts, contacts,
 * subscriptions, tickets, NPS answers, activities and spend, one row at a
 * time; and whole files posted as imports (POST /api/v1/imports/{entity}).
 *
 * A row travels as the JSON object of its NDJSON import line (docs/import.md):
 * what GET gives can be sent back. Writes go through the importer itself
 * (ingest/import.h, one strict line), so a row written here is validated,
 * typed and stored exactly as an imported one, and a bad value is answered
 * 400 naming the field. PATCH changes the given keys and keeps the others
 * (null clears one).
 *
 * Who may write (on top of the route's least role):
 *   admin    everything;
 *   csm      the rows of accounts whose owner is the csm's user name (and
 *            new accounts owned by them); never another owner's, and only an
 *            admin hands an account to another owner;
 *   support  tickets of any account;
 *   viewer   nothing.
 * Deleting an account, spend and imports are for admins. Every change is
 * written to the audit log in the transaction that makes it.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/app.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"
#include "core/time.h"
#include "ingest/export.h"
#include "ingest/import.h"

struct resource {
    const char *path;   /* the URL segment, also the import's entity name */
    kz_import_kind kind;
    kz_entity entity;
    const char *key;    /* the key field (spend: month, with channel) */
    int writer;         /* the least role that writes rows of any account */
    int owned;          /* a csm writes the rows of their accounts */
};

static const struct resource resources[] = {
    { "accounts", KZ_IMP_ACCOUNTS, KZ_ENT_ACCOUNT, "account_id", KZ_ROLE_ADMIN, 1 },
    { "contacts", KZ_IMP_CONTACTS, KZ_ENT_CONTACT, "contact_id", KZ_ROLE_ADMIN, 1 },
    { "subscriptions", KZ_IMP_SUBSCRIPTIONS, KZ_ENT_SUBSCRIPTION, "subscription_id", KZ_ROLE_ADMIN, 1 },
    { "tickets", KZ_IMP_TICKETS, KZ_ENT_TICKET, "ticket_id", KZ_ROLE_SUPPORT, 1 },
    { "nps", KZ_IMP_NPS, KZ_ENT_NPS, "response_id", KZ_ROLE_ADMIN, 1 },
    { "activities", KZ_IMP_ACTIVITIES, KZ_ENT_ACTIVITY, "activity_id", KZ_ROLE_ADMIN, 1 },
    { "spend", KZ_IMP_SPEND, KZ_ENT_SPEND, "month", KZ_ROLE_ADMIN, 0 },
};

/* The resource of /api/v1/<segment>[/...]. */
static const struct resource *resource_of(const char *path)
{
    const char *seg = path + strlen("/api/v1/");
    size_t n = strcspn(seg, "/");
    for (size_t i = 0; i < sizeof resources / sizeof resources[0]; i++)
        if (strlen(resources[i].path) == n && strncmp(resources[i].path, seg, n) == 0)
            return &resources[i];
    return NULL;
}

/* ---- reading one row ---------------------------------------------------------------- */

struct found {
    kz_store *st;
    kz_entity e;
    int found;
    kz_buf json;         /* the row as its import object */
    char account[256];   /* the account it belongs to (accounts: itself) */
    char owner[256];     /* that account's owner (accounts only, here) */
    int has_owner;
    int derived;         /* show what the importer derived (answers), or not (PATCH merges) */
};

static int on_found(void *ctx, int64_t id, const kz_value *row)
{
    struct found *f = ctx;
    f->found = 1;
    if (f->e != KZ_ENT_SPEND) {
        const kz_value *acc = f->e == KZ_ENT_ACCOUNT ? &row[KZ_ACCOUNT_KEY] : &row[1]; /* column 1: the account */
        snprintf(f->account, sizeof f->account, "%.*s", (int)acc->n, acc->s ? acc->s : "");
    }
    if (f->e == KZ_ENT_ACCOUNT && row[KZ_ACCOUNT_OWNER].kind == KZ_VTEXT) {
        snprintf(f->owner, sizeof f->owner, "%.*s", (int)row[KZ_ACCOUNT_OWNER].n, row[KZ_ACCOUNT_OWNER].s);
        f->has_owner = 1;
    }
    return kz_export_row_json(f->st, f->e, id, row, f->derived, &f->json);
}

/* The key values of a row for the store: key (spend: month text and channel). */
static int key_values(const struct resource *res, const char *key, const char *channel, kz_value *out)
{
    if (res->entity != KZ_ENT_SPEND) {
        out[0] = kz_vtext(key, strlen(key));
        return KZ_OK;
    }
    kz_month m;
    if (kz_parse_month(&m, key, strlen(key)))
        return kz_error_set(KZ_EINVALID, "month: '%s' is not YYYY-MM", key);
    out[0] = kz_vint(m);
    out[1] = kz_vtext(channel ? channel : "", channel ? strlen(channel) : 0);
    return KZ_OK;
}

/* Looks up the row; f->found says whether it exists. */
static int find_row(kz_store *st, const struct resource *res, const kz_value *key, int derived, struct found *f)
{
    memset(f, 0, sizeof *f);
    f->st = st;
    f->derived = derived;
    f->e = res->entity;
    kz_buf_init(&f->json, KZ_BUF_UNLIMITED);
    int rc = kz_store_get(st, res->entity, key, on_found, f);
    return rc == KZ_ENOTFOUND ? KZ_OK : rc;
}

/* The owner of account `key` (*has 0 when it has none or does not exist). */
static int owner_of(kz_store *st, const char *key, char *owner, size_t cap, int *has, int *exists)
{
    static const struct resource acc = { "accounts", KZ_IMP_ACCOUNTS, KZ_ENT_ACCOUNT, "account_id", 0, 1 };
    struct found f;
    kz_value k = kz_vtext(key, strlen(key));
    int rc = find_row(st, &acc, &k, 0, &f);
    *has = f.has_owner;
    *exists = f.found;
    snprintf(owner, cap, "%s", f.owner);
    kz_buf_free(&f.json);
    return rc;
}

/* ---- who may write --------------------------------------------------------------------- */

/* 0 when the caller may write rows of `res` for account `account` (NULL:
 * none, spend), else the HTTP status with the answer written. */
static int may_write(kz_http_req *req, kz_http_resp *resp, const struct resource *res, const char *account)
{
    const kz_api_user *u = req->user;
    if (u->level >= KZ_ROLE_ADMIN || (u->level >= res->writer && u->level != KZ_ROLE_CSM))
        return 0;
    if (u->level == KZ_ROLE_CSM && res->owned && account) {
        char owner[256];
        int has = 0, exists = 0;
        kz_store *st = kz_app_store(req->app);
        if (!st || owner_of(st, account, owner, sizeof owner, &has, &exists))
            return kz_resp_error(resp, 503, NULL, "the database cannot be read"), 503;
        if (!exists)
            return 0; /* the importer says that it does not exist */
        if (has && strcmp(owner, u->user.name) == 0)
            return 0;
        kz_resp_error(resp, 403, "owner", "account '%s' belongs to %s%s%s: a csm writes only their own accounts",
                      account, has ? "'" : "", has ? owner : "nobody", has ? "'" : "");
        return 403;
    }
    kz_resp_error(resp, 403, NULL, "a %s may not change %s", u->user.role, res->path);
    return 403;
}

/* ---- writing through the importer ------------------------------------------------------- */

struct write_ctx {
    kz_http_req *req;
    const char *action, *target;
    char detail[512];
    char reject[1024];  /* the first rejected row's message */
};

static void on_reject(void *vctx, const char *message)
{
    struct write_ctx *c = vctx;
    if (!c->reject[0])
        snprintf(c->reject, sizeof c->reject, "%s", message);
}

static int audit_in_tx(void *vctx, kz_store *st, const kz_import_result *res)
{
    struct write_ctx *c = vctx;
    kz_api_user *u = c->req->user;
    (void)res;
    kz_audit rec = { 0, kz_now(), u->user.name, c->action, c->target, c->detail, c->req->client };
    return kz_store_audit_add(st, &rec);
}

/* A rejected row's message "body:1: field: reason" as (field, reason). */
static void split_reject(const char *msg, char *field, size_t cap, const char **reason)
{
    const char *p = msg;
    if (strncmp(p, "body:", 5) == 0) { /* the importer's "body:LINE: " */
        const char *q = p + 5;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q[0] == ':' && q[1] == ' ')
            p = q + 2;
    }
    const char *colon = strstr(p, ": ");
    field[0] = '\0';
    *reason = p;
    if (colon && (size_t)(colon - p) < cap && !memchr(p, ' ', (size_t)(colon - p))) {
        memcpy(field, p, (size_t)(colon - p));
        field[colon - p] = '\0';
    }
}

/* The names of an object's members, for the audit log ("name,owner"). */
static void member_names(const cJSON *o, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (const cJSON *m = o->child; m && n + 1 < cap; m = m->next) {
        int w = snprintf(out + n, cap - n, "%s%s", n ? "," : "", m->string);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
}

/* Stores the row `obj` (a complete import object) in one strict import. */
static int import_row(kz_http_req *req, kz_http_resp *resp, const struct resource *res, const cJSON *obj,
                      struct write_ctx *wc)
{
    kz_app *a = req->app;
    kz_store *st = kz_app_store(a);
    char *line = cJSON_PrintUnformatted(obj);
    kz_import_opts o;
    kz_import_result ir;
    if (!st || !line) {
        free(line);
        return st ? kz_error_oom() : KZ_EIO;
    }
    kz_import_opts_init(&o);
    o.kind = res->kind;
    o.format = KZ_FMT_NDJSON;
    o.strict = 1;
    o.name = "body";
    o.max_field = (size_t)a->cfg->import_max_field;
    o.max_record = (size_t)a->cfg->import_max_record;
    o.on_reject = on_reject;
    o.before_commit = audit_in_tx;
    o.ctx = wc;
    int rc = kz_import_buffer(st, line, strlen(line), &o, &ir);
    free(line);
    kz_import_result_free(&ir);
    if (rc == KZ_EINVALID)
        return kz_resp_error(resp, 400, NULL, "%s", kz_error_msg());
    if (rc)
        return rc;
    if (ir.rejected || !ir.committed) {
        char field[128];
        const char *reason;
        split_reject(wc->reject[0] ? wc->reject : "the row was not stored", field, sizeof field, &reason);
        return kz_resp_error(resp, 400, field[0] ? field : NULL, "%s", reason), KZ_EINVALID;
    }
    return kz_app_changed(a);
}

/* The row as stored now, as the answer (status 200 or 201). */
static int answer_row(kz_http_resp *resp, kz_store *st, const struct resource *res, const kz_value *key, int status)
{
    struct found f;
    int rc = find_row(st, res, key, 1, &f);
    if (!rc && !f.found)
        rc = kz_error_set(KZ_ERROR, "the row written is not there");
    if (!rc && !(rc = kz_buf_append(&resp->body, f.json.data, f.json.len)) && !(rc = kz_buf_putc(&resp->body, '\n')))
        kz_resp_json(resp, status);
    kz_buf_free(&f.json);
    return rc;
}

static const char *json_text(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* POST (path_key NULL) or PATCH of one row. */
static int write_row(kz_http_req *req, kz_http_resp *resp, const char *path_key)
{
    const struct resource *res = resource_of(req->path);
    kz_app *a = req->app;
    kz_store *st = kz_app_store(a);
    cJSON *body = NULL, *merged = NULL;
    struct found f;
    struct write_ctx wc;
    kz_value key[2];
    int rc = KZ_OK;
    memset(&f, 0, sizeof f);
    kz_buf_init(&f.json, 0);
    memset(&wc, 0, sizeof wc);
    if (!res)
        return kz_resp_error(resp, 404, NULL, "no such resource: %s", req->path);
    if (!st)
        return KZ_EIO;
    body = cJSON_ParseWithLength(req->body, req->body_len);
    if (!cJSON_IsObject(body)) {
        rc = kz_resp_error(resp, 400, NULL, "the body must be a JSON object with the fields of %s (docs/import.md)",
                           res->path);
        goto done;
    }
    /* the key: from the path (PATCH) or the body (POST) */
    const char *channel = res->entity == KZ_ENT_SPEND ? (path_key ? kz_req_query(req, "channel") : json_text(body, "channel")) : NULL;
    cJSON *k = cJSON_GetObjectItemCaseSensitive(body, res->key);
    if (path_key) {
        if (k && !(cJSON_IsString(k) && strcmp(k->valuestring, path_key) == 0)) {
            rc = kz_resp_error(resp, 400, res->key, "%s: does not match the path ('%s')", res->key, path_key);
            goto done;
        }
        if (!k && !cJSON_AddStringToObject(body, res->key, path_key)) {
            rc = kz_error_oom();
            goto done;
        }
        if (res->entity == KZ_ENT_SPEND && channel && !cJSON_GetObjectItemCaseSensitive(body, "channel") &&
            !cJSON_AddStringToObject(body, "channel", channel)) {
            rc = kz_error_oom();
            goto done;
        }
    } else if (!cJSON_IsString(k) || !k->valuestring[0]) {
        rc = kz_resp_error(resp, 400, res->key, "%s: required, a text", res->key);
        goto done;
    }
    const char *keytext = path_key ? path_key : k->valuestring;
    if (key_values(res, keytext, channel, key)) {
        rc = kz_resp_error(resp, 400, res->key, "%s", kz_error_msg());
        goto done;
    }
    kz_buf_free(&f.json);
    if ((rc = find_row(st, res, key, 0, &f)))
        goto done;
    if (!path_key && f.found) {
        rc = kz_resp_error(resp, 409, res->key, "%s '%s' exists already (PATCH /api/v1/%s/%s changes it)", res->key,
                           keytext, res->path, keytext);
        goto done;
    }
    if (path_key && !f.found) {
        rc = kz_resp_error(resp, 404, NULL, "no %s '%s'", res->key, keytext);
        goto done;
    }
    /* PATCH: the stored row with the given keys put over it */
    if (path_key) {
        merged = cJSON_ParseWithLength(f.json.data, f.json.len);
        if (!merged) {
            rc = kz_error_set(KZ_ERROR, "the stored row does not read back");
            goto done;
        }
        for (cJSON *m = body->child; m; m = m->next) {
            cJSON *copy = cJSON_Duplicate(m, 1);
            if (!copy) {
                rc = kz_error_oom();
                goto done;
            }
            if (cJSON_GetObjectItemCaseSensitive(merged, m->string))
                cJSON_ReplaceItemInObjectCaseSensitive(merged, m->string, copy);
            else
                cJSON_AddItemToObject(merged, m->string, copy);
        }
    } else {
        merged = body;
        body = NULL;
    }
    /* who may write it: the account it belongs to before and after */
    kz_api_user *u = req->user;
    const char *account = res->entity == KZ_ENT_ACCOUNT ? keytext : json_text(merged, "account_id");
    if (path_key && f.account[0] && (rc = may_write(req, resp, res, f.account)) != 0) {
        rc = KZ_OK;
        goto done;
    }
    if (res->entity == KZ_ENT_ACCOUNT && u->level == KZ_ROLE_CSM) {
        const char *owner = json_text(merged, "owner");
        if (!path_key && !cJSON_GetObjectItemCaseSensitive(merged, "owner") &&
            !cJSON_AddStringToObject(merged, "owner", u->user.name)) {
            rc = kz_error_oom();
            goto done;
        }
        owner = json_text(merged, "owner");
        if (!owner || strcmp(owner, u->user.name) != 0) {
            rc = kz_resp_error(resp, 403, "owner", "a csm keeps their accounts: only an admin gives one to another owner");
            goto done;
        }
    }
    if (!(res->entity == KZ_ENT_ACCOUNT && !path_key) && (rc = may_write(req, resp, res, account)) != 0) {
        rc = KZ_OK;
        goto done;
    }
    if (res->entity == KZ_ENT_ACCOUNT && !path_key && u->level < KZ_ROLE_ADMIN && u->level != KZ_ROLE_CSM) {
        rc = kz_resp_error(resp, 403, NULL, "a %s may not add accounts", u->user.role);
        goto done;
    }
    char action[64];
    snprintf(action, sizeof action, "%s.%s", res->path, path_key ? "change" : "add");
    wc.req = req;
    wc.action = action;
    wc.target = keytext;
    member_names(path_key ? body : merged, wc.detail, sizeof wc.detail);
    rc = import_row(req, resp, res, merged, &wc);
    if (rc == KZ_EINVALID || resp->status) {
        rc = KZ_OK; /* answered */
        goto done;
    }
    if (!rc)
        rc = answer_row(resp, st, res, key, path_key ? 200 : 201);
done:
    cJSON_Delete(body);
    cJSON_Delete(merged);
    kz_buf_free(&f.json);
    return rc;
}

int kz_api_row_add(kz_http_req *req, kz_http_resp *resp)
{
    return write_row(req, resp, NULL);
}

int kz_api_row_change(kz_http_req *req, kz_http_resp *resp)
{
    return write_row(req, resp, kz_req_param(req, "id"));
}

int kz_api_row_get(kz_http_req *req, kz_http_resp *resp)
{
    const struct resource *res = resource_of(req->path);
    kz_store *st = kz_app_store(req->app);
    const char *id = kz_req_param(req, "id");
    kz_value key[2];
    struct found f;
    if (!res)
        return kz_resp_error(resp, 404, NULL, "no such resource: %s", req->path);
    if (!st)
        return KZ_EIO;
    if (key_values(res, id, kz_req_query(req, "channel"), key))
        return kz_resp_error(resp, 400, res->key, "%s", kz_error_msg());
    int rc = find_row(st, res, key, 1, &f);
    if (!rc && !f.found)
        kz_resp_error(resp, 404, NULL, "no %s '%s'", res->key, id);
    else if (!rc && !(rc = kz_buf_append(&resp->body, f.json.data, f.json.len)) &&
             !(rc = kz_buf_putc(&resp->body, '\n')))
        kz_resp_json(resp, 200);
    kz_buf_free(&f.json);
    return rc;
}

int kz_api_row_remove(kz_http_req *req, kz_http_resp *resp)
{
    const struct resource *res = resource_of(req->path);
    kz_app *a = req->app;
    kz_store *st = kz_app_store(a);
    const char *id = kz_req_param(req, "id");
    kz_api_user *u = req->user;
    kz_value key[2];
    struct found f;
    if (!res)
        return kz_resp_error(resp, 404, NULL, "no such resource: %s", req->path);
    if (!st)
        return KZ_EIO;
    if (key_values(res, id, kz_req_query(req, "channel"), key))
        return kz_resp_error(resp, 400, res->key, "%s", kz_error_msg());
    int rc = find_row(st, res, key, 0, &f);
    if (rc)
        goto done;
    if (!f.found) {
        kz_resp_error(resp, 404, NULL, "no %s '%s'", res->key, id);
        goto done;
    }
    if (res->entity == KZ_ENT_ACCOUNT && u->level < KZ_ROLE_ADMIN) {
        kz_resp_error(resp, 403, NULL, "only an admin deletes accounts");
        goto done;
    }
    if (may_write(req, resp, res, f.account[0] ? f.account : NULL))
        goto done;
    char action[64];
    snprintf(action, sizeof action, "%s.remove", res->path);
    kz_audit rec = { 0, kz_now(), u->user.name, action, id, "", req->client };
    if ((rc = kz_store_begin(st)))
        goto done;
    if ((rc = kz_store_delete(st, res->entity, key)) || (rc = kz_store_touch(st)) ||
        (rc = kz_store_audit_add(st, &rec)) || (rc = kz_store_commit(st))) {
        kz_store_rollback(st);
        goto done;
    }
    if ((rc = kz_app_changed(a)))
        goto done;
    resp->status = 204;
    resp->type = "application/json";
done:
    kz_buf_free(&f.json);
    return rc;
}

/* ---- lists: spend, and the rows of one account --------------------------------------- */

struct list_ctx {
    kz_store *st;
    kz_entity e;
    kz_buf *out;
    int n;
};

static int on_list(void *ctx, int64_t id, const kz_value *row)
{
    struct list_ctx *c = ctx;
    if (c->n++ && kz_buf_putc(c->out, ','))
        return KZ_ENOMEM;
    return kz_export_row_json(c->st, c->e, id, row, 1, c->out);
}

int kz_api_spend_list(kz_http_req *req, kz_http_resp *resp)
{
    kz_store *st = kz_app_store(req->app);
    if (!st)
        return KZ_EIO;
    struct list_ctx c = { st, KZ_ENT_SPEND, &resp->body, 0 };
    int rc = kz_buf_putc(&resp->body, '[');
    if (!rc)
        rc = kz_store_each(st, KZ_ENT_SPEND, on_list, &c);
    if (!rc)
        rc = kz_buf_puts(&resp->body, "]\n");
    if (!rc)
        kz_resp_json(resp, 200);
    return rc;
}

/* Appends the rows of entity e of account id (internal) as a JSON array. */
int kz_api_rows_of_account(kz_store *st, kz_entity e, int64_t account_id, int64_t limit, kz_buf *out)
{
    struct list_ctx c = { st, e, out, 0 };
    int rc = kz_buf_putc(out, '[');
    if (!rc)
        rc = kz_store_each_of_account(st, e, account_id, limit, on_list, &c);
    return rc ? rc : kz_buf_putc(out, ']');
}

/* ---- imports ------------------------------------------------------------------------------ */

#define MAX_REPORTED 1000

struct import_ctx {
    kz_http_req *req;
    char target[64];
    kz_jw *w;
    size_t reported;
};

static void on_import_reject(void *vctx, const char *message)
{
    struct import_ctx *c = vctx;
    if (c->reported++ >= MAX_REPORTED)
        return;
    long line = 0;
    const char *colon = strchr(message, ':');
    if (colon)
        line = strtol(colon + 1, NULL, 10);
    char field[128];
    const char *reason;
    split_reject(message, field, sizeof field, &reason);
    kz_jw_obj(c->w);
    kz_jw_key(c->w, "line");
    kz_jw_int(c->w, line);
    kz_jw_key(c->w, "field");
    kz_jw_str(c->w, field[0] ? field : NULL);
    kz_jw_key(c->w, "message");
    kz_jw_str(c->w, reason);
    kz_jw_end(c->w);
}

static int import_audit(void *vctx, kz_store *st, const kz_import_result *res)
{
    struct import_ctx *c = vctx;
    kz_api_user *u = c->req->user;
    char detail[160];
    snprintf(detail, sizeof detail, "rows=%lld new=%lld updated=%lld rejected=%lld", (long long)res->rows,
             (long long)res->inserted, (long long)res->updated, (long long)res->rejected);
    kz_audit rec = { 0, kz_now(), u->user.name, "import", c->target, detail, c->req->client };
    return kz_store_audit_add(st, &rec);
}


int kz_api_import(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    const char *entity = kz_req_param(req, "entity");
    int kind = kz_import_kind_parse(entity);
    if (kind < 0)
        return kz_resp_error(resp, 404, NULL, "no entity '%s' (accounts, contacts, subscriptions, events, tickets, nps, "
                                              "activities, spend)", entity);
    const char *fmt = kz_req_query(req, "format"), *type = kz_req_header(req, "Content-Type");
    kz_format f = KZ_FMT_CSV;
    if (fmt ? strcmp(fmt, "ndjson") == 0
            : type && (strncasecmp(type, "application/x-ndjson", 20) == 0 || strncasecmp(type, "application/ndjson", 18) == 0))
        f = KZ_FMT_NDJSON;
    else if (fmt && strcmp(fmt, "csv") != 0)
        return kz_resp_error(resp, 400, "format", "format: csv or ndjson");
    kz_store *st = kz_app_store(a);
    if (!st)
        return KZ_EIO;
    kz_buf errs;
    kz_buf_init(&errs, KZ_BUF_UNLIMITED);
    kz_jw ew;
    kz_jw_init(&ew, &errs);
    kz_jw_arr(&ew);
    struct import_ctx c;
    memset(&c, 0, sizeof c);
    c.req = req;
    c.w = &ew;
    snprintf(c.target, sizeof c.target, "%s", kz_import_schema_of((kz_import_kind)kind)->name);
    kz_import_opts o;
    kz_import_result ir;
    kz_import_opts_init(&o);
    o.kind = (kz_import_kind)kind;
    o.format = f;
    o.strict = kz_req_flag(req, "strict");
    o.dry_run = kz_req_flag(req, "dry_run");
    o.name = "body";
    o.max_field = (size_t)a->cfg->import_max_field;
    o.max_record = (size_t)a->cfg->import_max_record;
    o.block_events = (size_t)a->cfg->import_block_events;
    o.parallel_min = 0;
    o.on_reject = on_import_reject;
    o.before_commit = import_audit;
    o.ctx = &c;
    int rc = kz_import_buffer(st, req->body, req->body_len, &o, &ir);
    kz_jw_end(&ew);
    if (rc == KZ_EINVALID) {
        kz_resp_error(resp, 400, NULL, "%s", kz_error_msg());
        rc = KZ_OK;
        goto done;
    }
    if (rc)
        goto done;
    if (ir.committed && (rc = kz_app_changed(a)))
        goto done;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "entity");
    kz_jw_str(&w, c.target);
    kz_jw_key(&w, "format");
    kz_jw_str(&w, ir.format);
    kz_jw_key(&w, "rows");
    kz_jw_int(&w, ir.rows);
    kz_jw_key(&w, "inserted");
    kz_jw_int(&w, ir.inserted);
    kz_jw_key(&w, "updated");
    kz_jw_int(&w, ir.updated);
    kz_jw_key(&w, "unchanged");
    kz_jw_int(&w, ir.unchanged);
    kz_jw_key(&w, "rejected");
    kz_jw_int(&w, ir.rejected);
    kz_jw_key(&w, "committed");
    kz_jw_bool(&w, ir.committed);
    kz_jw_key(&w, "errors");
    kz_jw_raw(&w, errs.data, errs.len);
    if (c.reported > MAX_REPORTED) {
        kz_jw_key(&w, "errors_truncated");
        kz_jw_bool(&w, 1);
    }
    kz_jw_end(&w);
    /* strict with rejects, or nothing good: the import did not happen */
    rc = kz_resp_json_end(resp, &w, ir.committed || o.dry_run ? 200 : 400);
done:
    kz_import_result_free(&ir);
    kz_buf_free(&errs);
    return rc;
}
