/*
 * users.c - who calls the API: the check of every request (token, or
 * session cookie with its CSRF token), login and logout with a rate limit
 * on failures, the users and tokens (admin), and the audit log.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "api/auth.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/text.h"
#include "core/time.h"

#define SESSION_SECONDS (12 * 3600)
#define COOKIE "kizuna_session"
#define LIMIT_WINDOW_US (15LL * 60 * KZ_USEC_PER_SEC)
#define LIMIT_PER_ADDRESS 10
#define LIMIT_PER_USER 5

/* ---- the check of each request ---------------------------------------------------- */

/* The value of cookie `name` in a Cookie header, copied into out. */
static int cookie_value(const char *header, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            const char *v = p + n + 1, *end = strchr(v, ';');
            size_t len = end ? (size_t)(end - v) : strlen(v);
            if (len + 1 > cap)
                return 0;
            memcpy(out, v, len);
            out[len] = '\0';
            return 1;
        }
        p = strchr(p, ';');
    }
    return 0;
}

void kz_api_release(kz_http_req *req)
{
    kz_api_user *u = req->user;
    if (!u)
        return;
    kz_user_free(&u->user);
    free(u);
    req->user = NULL;
}

int kz_api_authorize(kz_http_req *req, const kz_route *route, kz_http_resp *resp)
{
    kz_app *a = req->app;
    char secret[KZ_TOKEN_TEXT + 8], hash[KZ_HASH_TEXT];
    const char *authz = kz_req_header(req, "Authorization");
    const char *cookies = kz_req_header(req, "Cookie");
    int64_t user_id = 0;
    char *csrf = NULL;
    int by_session = 0;
    kz_store *st = NULL;
    if (route->role == KZ_ROLE_PUBLIC)
        return 0;
    if (!(st = kz_app_store(a))) {
        kz_resp_error(resp, 503, NULL, "the database cannot be opened");
        return 503;
    }
    if (authz && strncmp(authz, "Bearer ", 7) == 0 && strlen(authz + 7) < sizeof secret) {
        kz_auth_hash_secret(hash, authz + 7);
        if (kz_store_token_user(st, hash, &user_id)) {
            kz_resp_error(resp, 401, NULL, "unknown or revoked token");
            kz_resp_header(resp, "WWW-Authenticate", "Bearer");
            return 401;
        }
    } else if (cookies && cookie_value(cookies, COOKIE, secret, sizeof secret)) {
        kz_auth_hash_secret(hash, secret);
        if (kz_store_session_get(st, hash, kz_now(), &user_id, &csrf)) {
            kz_resp_error(resp, 401, NULL, "the session has ended: log in again");
            return 401;
        }
        by_session = 1;
    } else {
        kz_resp_error(resp, 401, NULL, "log in, or give an API token (Authorization: Bearer ...)");
        kz_resp_header(resp, "WWW-Authenticate", "Bearer");
        return 401;
    }
    /* a browser's state change must carry the session's CSRF token */
    if (by_session && strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        const char *given = kz_req_header(req, "X-CSRF-Token");
        int ok = given && strlen(given) == strlen(csrf) && sodium_memcmp(given, csrf, strlen(csrf)) == 0;
        if (!ok) {
            free(csrf);
            kz_resp_error(resp, 403, NULL, "the X-CSRF-Token header is missing or wrong");
            return 403;
        }
    }
    kz_api_user *u = calloc(1, sizeof *u);
    if (!u || kz_store_user_get(st, NULL, user_id, &u->user)) {
        free(u);
        free(csrf);
        kz_resp_error(resp, 401, NULL, "the user no longer exists");
        return 401;
    }
    u->level = kz_auth_role(u->user.role);
    snprintf(u->session_hash, sizeof u->session_hash, "%s", by_session ? hash : "");
    snprintf(u->csrf, sizeof u->csrf, "%s", by_session && csrf ? csrf : "");
    free(csrf);
    req->user = u;
    if (u->level < route->role) {
        kz_resp_error(resp, 403, NULL, "a %s may not do this", u->user.role);
        kz_api_release(req);
        return 403;
    }
    return 0;
}

/* ---- the rate limit on failed logins ------------------------------------------------ */

/* The failures counted under key in the current window; adds one when add. */
static int failures(kz_app *a, const char *key, int add)
{
    kz_time now = kz_now();
    int n = 0;
    pthread_mutex_lock(&a->limit_mu);
    size_t slot = SIZE_MAX, oldest = 0;
    for (size_t i = 0; i < KZ_LIMIT_SLOTS; i++) {
        if (strcmp(a->limits[i].key, key) == 0) {
            slot = i;
            break;
        }
        if (a->limits[i].since < a->limits[oldest].since)
            oldest = i;
    }
    if (slot == SIZE_MAX && add) {
        slot = oldest; /* the least recent key makes room */
        snprintf(a->limits[slot].key, sizeof a->limits[slot].key, "%s", key);
        a->limits[slot].since = now;
        a->limits[slot].count = 0;
    }
    if (slot != SIZE_MAX) {
        if (now - a->limits[slot].since > LIMIT_WINDOW_US) {
            a->limits[slot].since = now;
            a->limits[slot].count = 0;
        }
        a->limits[slot].count += add;
        n = a->limits[slot].count;
    }
    pthread_mutex_unlock(&a->limit_mu);
    return n;
}

/* ---- audit --------------------------------------------------------------------------- */

int kz_api_audit(kz_http_req *req, const char *action, const char *target, const char *detail)
{
    kz_app *a = req->app;
    kz_api_user *u = req->user;
    kz_store *st = kz_app_store(a);
    kz_audit rec = { 0, kz_now(), u ? u->user.name : "anonymous", action, target ? target : "", detail ? detail : "",
                     req->client ? req->client : "?" };
    return st ? kz_store_audit_add(st, &rec) : KZ_EIO;
}

/* ---- login, logout, me ------------------------------------------------------------- */

static void user_json(kz_jw *w, const char *name, const char *role)
{
    kz_jw_key(w, "name");
    kz_jw_str(w, name);
    kz_jw_key(w, "role");
    kz_jw_str(w, role);
}

/* A text member of a JSON object, or NULL. */
static const char *member(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int kz_api_login(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    cJSON *body = cJSON_ParseWithLength(req->body, req->body_len);
    const char *name = member(body, "name"), *password = member(body, "password");
    char addr_key[96], user_key[160];
    int rc = KZ_OK;
    if (!cJSON_IsObject(body) || !name || !password) {
        cJSON_Delete(body);
        return kz_resp_error(resp, 400, !name ? "name" : "password",
                             "give {\"name\": ..., \"password\": ...} as JSON");
    }
    snprintf(addr_key, sizeof addr_key, "addr:%s", req->client ? req->client : "?");
    snprintf(user_key, sizeof user_key, "user:%.140s", name);
    if (failures(a, addr_key, 0) >= LIMIT_PER_ADDRESS || failures(a, user_key, 0) >= LIMIT_PER_USER) {
        cJSON_Delete(body);
        kz_resp_error(resp, 429, NULL, "too many failed logins: wait 15 minutes");
        kz_resp_header(resp, "Retry-After", "900");
        return KZ_OK;
    }
    kz_store *st = kz_app_store(a);
    kz_user u;
    memset(&u, 0, sizeof u);
    int found = st && kz_store_user_get(st, name, 0, &u) == KZ_OK;
    /* the same work whether the user exists or not, so timing tells nothing */
    int ok = found && u.password_hash ? kz_auth_check_password(u.password_hash, password)
                                      : (kz_auth_check_password(a->dummy_hash, password), 0);
    if (!ok) {
        failures(a, addr_key, 1);
        failures(a, user_key, 1);
        KZ_LOG(KZ_LOG_WARN, "login: refused", "client=%s", req->client ? req->client : "?");
        kz_user_free(&u);
        cJSON_Delete(body);
        return kz_resp_error(resp, 401, NULL, "wrong name or password");
    }
    char secret[KZ_TOKEN_TEXT], hash[KZ_HASH_TEXT], csrf[KZ_TOKEN_TEXT], cookie[256];
    kz_auth_new_secret(secret, 0);
    kz_auth_new_secret(csrf, 0);
    kz_auth_hash_secret(hash, secret);
    kz_time now = kz_now();
    if ((rc = kz_store_session_add(st, hash, u.id, csrf, now, now + (kz_time)SESSION_SECONDS * KZ_USEC_PER_SEC))) {
        kz_user_free(&u);
        cJSON_Delete(body);
        return rc;
    }
    const char *proto = kz_req_header(req, "X-Forwarded-Proto");
    int secure = strcmp(a->cfg->server_secure_cookies, "always") == 0 || (proto && strcmp(proto, "https") == 0);
    snprintf(cookie, sizeof cookie, COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s", secret,
             SESSION_SECONDS, secure ? "; Secure" : "");
    kz_resp_header(resp, "Set-Cookie", cookie);
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    user_json(&w, u.name, u.role);
    kz_jw_key(&w, "csrf");
    kz_jw_str(&w, csrf);
    kz_jw_end(&w);
    kz_buf_putc(&resp->body, '\n');
    kz_resp_json(resp, 200);
    kz_api_user who = { u, kz_auth_role(u.role), "", "" };
    req->user = &who;
    rc = kz_api_audit(req, "login", u.name, "");
    req->user = NULL;
    kz_user_free(&u);
    cJSON_Delete(body);
    sodium_memzero(secret, sizeof secret);
    return rc ? rc : kz_jw_error(&w);
}

int kz_api_logout(kz_http_req *req, kz_http_resp *resp)
{
    kz_api_user *u = req->user;
    kz_store *st = kz_app_store(req->app);
    if (st && u->session_hash[0] && kz_store_session_remove(st, u->session_hash))
        return KZ_EIO;
    kz_resp_header(resp, "Set-Cookie", COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    kz_buf_puts(&resp->body, "{\"logged_out\":true}\n");
    kz_resp_json(resp, 200);
    return kz_api_audit(req, "logout", u->user.name, "");
}

int kz_api_session(kz_http_req *req, kz_http_resp *resp)
{
    kz_app *a = req->app;
    char secret[KZ_TOKEN_TEXT + 8], hash[KZ_HASH_TEXT];
    const char *cookies = kz_req_header(req, "Cookie");
    char *csrf = NULL;
    int64_t user_id = 0;
    kz_user u;
    int in = 0;
    memset(&u, 0, sizeof u);
    /* the session of the cookie, if it is still one: an ended or unknown one is no session, not an error */
    if (cookies && cookie_value(cookies, COOKIE, secret, sizeof secret)) {
        kz_store *st = kz_app_store(a);
        if (!st)
            return KZ_EIO;
        kz_auth_hash_secret(hash, secret);
        sodium_memzero(secret, sizeof secret);
        int rc = kz_store_session_get(st, hash, kz_now(), &user_id, &csrf);
        if (rc && rc != KZ_ENOTFOUND)
            return rc;
        if (!rc && (rc = kz_store_user_get(st, NULL, user_id, &u)) && rc != KZ_ENOTFOUND) {
            free(csrf);
            return rc;
        }
        in = !rc;
    }
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    kz_jw_key(&w, "user");
    if (in) {
        kz_jw_obj(&w);
        user_json(&w, u.name, u.role);
        kz_jw_end(&w);
    } else {
        kz_jw_null(&w);
    }
    kz_jw_key(&w, "csrf");
    kz_jw_str(&w, in ? csrf : NULL);
    kz_jw_key(&w, "currency");
    kz_jw_str(&w, a->cfg->reporting_currency);
    kz_jw_key(&w, "timezone");
    kz_jw_str(&w, a->cfg->reporting_timezone);
    kz_jw_end(&w);
    free(csrf);
    kz_user_free(&u);
    return kz_resp_json_end(resp, &w, 200);
}

int kz_api_me(kz_http_req *req, kz_http_resp *resp)
{
    kz_api_user *u = req->user;
    kz_jw w;
    kz_jw_init(&w, &resp->body);
    kz_jw_obj(&w);
    user_json(&w, u->user.name, u->user.role);
    /* a browser's session: its CSRF token again (a reloaded page has lost it);
     * only the same origin can read the answer */
    kz_jw_key(&w, "csrf");
    kz_jw_str(&w, u->csrf[0] ? u->csrf : NULL);
    kz_jw_end(&w);
    return kz_resp_json_end(resp, &w, 200);
}

/* ---- users and tokens (admin) --------------------------------------------------------- */

static int user_each_json(void *ctx, const kz_user *u)
{
    kz_jw *w = ctx;
    char day[KZ_DATE_BUF];
    kz_jw_obj(w);
    user_json(w, u->name, u->role);
    kz_jw_key(w, "password");
    kz_jw_bool(w, u->password_hash != NULL);
    kz_format_date(day, kz_time_day(u->created_at));
    kz_jw_key(w, "created");
    kz_jw_str(w, day);
    kz_jw_end(w);
    return KZ_OK;
}

int kz_api_users(kz_http_req *req, kz_http_resp *resp)
{
    kz_store *st = kz_app_store(req->app);
    kz_jw w;
    if (!st)
        return KZ_EIO;
    kz_jw_init(&w, &resp->body);
    kz_jw_arr(&w);
    int rc = kz_store_user_each(st, user_each_json, &w);
    kz_jw_end(&w);
    return rc ? rc : kz_resp_json_end(resp, &w, 200);
}

/* The store's answer to a change as an HTTP answer: 400, 404, 409 with the reason. */
static int change_failed(kz_http_resp *resp, int rc, const char *field)
{
    int status = rc == KZ_EINVALID ? 400 : rc == KZ_ENOTFOUND ? 404 : rc == KZ_ECONFLICT ? 409 : 0;
    if (!status)
        return rc;
    return kz_resp_error(resp, status, status == 400 ? field : NULL, "%s", kz_error_msg());
}

int kz_api_user_add(kz_http_req *req, kz_http_resp *resp)
{
    cJSON *body = cJSON_ParseWithLength(req->body, req->body_len);
    const char *name = member(body, "name"), *role = member(body, "role"), *password = member(body, "password");
    char *hash = NULL;
    int64_t id;
    int rc = KZ_OK;
    if (!cJSON_IsObject(body) || !name || !*name || strlen(name) > 128) {
        rc = kz_resp_error(resp, 400, "name", "a name (1 to 128 characters) is needed");
    } else if (kz_auth_role(role) < 0) {
        rc = kz_resp_error(resp, 400, "role", "role must be admin, csm, support or viewer");
    } else if (password && kz_auth_hash_password(&hash, password)) {
        rc = kz_resp_error(resp, 400, "password", "%s", kz_error_msg());
    } else {
        kz_store *st = kz_app_store(req->app);
        rc = st ? kz_store_user_add(st, name, role, hash, kz_now(), &id) : KZ_EIO;
        if (rc) {
            rc = change_failed(resp, rc, "name");
        } else {
            kz_jw w;
            kz_jw_init(&w, &resp->body);
            kz_jw_obj(&w);
            user_json(&w, name, role);
            kz_jw_end(&w);
            kz_buf_putc(&resp->body, '\n');
            kz_resp_json(resp, 201);
            rc = kz_api_audit(req, "user.add", name, role);
        }
    }
    free(hash);
    cJSON_Delete(body);
    return rc;
}

int kz_api_user_change(kz_http_req *req, kz_http_resp *resp)
{
    const char *name = kz_req_param(req, "name");
    cJSON *body = cJSON_ParseWithLength(req->body, req->body_len);
    const char *role = member(body, "role"), *password = member(body, "password");
    char *hash = NULL;
    int rc = KZ_OK;
    if (!cJSON_IsObject(body) || (!role && !password)) {
        rc = kz_resp_error(resp, 400, NULL, "give a new \"role\", a new \"password\", or both");
    } else if (role && kz_auth_role(role) < 0) {
        rc = kz_resp_error(resp, 400, "role", "role must be admin, csm, support or viewer");
    } else if (password && kz_auth_hash_password(&hash, password)) {
        rc = kz_resp_error(resp, 400, "password", "%s", kz_error_msg());
    } else {
        kz_store *st = kz_app_store(req->app);
        rc = st ? kz_store_user_set(st, name, role, hash) : KZ_EIO;
        if (rc) {
            rc = change_failed(resp, rc, "role");
        } else {
            kz_buf_printf(&resp->body, "{\"changed\":true}\n");
            kz_resp_json(resp, 200);
            rc = kz_api_audit(req, role ? "user.role" : "user.passwd", name, role ? role : "");
        }
    }
    free(hash);
    cJSON_Delete(body);
    return rc;
}

int kz_api_user_remove(kz_http_req *req, kz_http_resp *resp)
{
    const char *name = kz_req_param(req, "name");
    kz_api_user *me = req->user;
    kz_store *st = kz_app_store(req->app);
    if (strcmp(name, me->user.name) == 0)
        return kz_resp_error(resp, 409, NULL, "you cannot remove yourself");
    int rc = st ? kz_store_user_remove(st, name) : KZ_EIO;
    if (rc)
        return change_failed(resp, rc, NULL);
    kz_buf_puts(&resp->body, "{\"removed\":true}\n");
    kz_resp_json(resp, 200);
    return kz_api_audit(req, "user.remove", name, "");
}

int kz_api_token_issue(kz_http_req *req, kz_http_resp *resp)
{
    const char *name = kz_req_param(req, "name");
    kz_store *st = kz_app_store(req->app);
    kz_user u;
    char token[KZ_TOKEN_TEXT];
    int64_t id;
    int rc = st ? kz_store_user_get(st, name, 0, &u) : KZ_EIO;
    if (rc)
        return change_failed(resp, rc, NULL);
    rc = kz_auth_issue_token(st, u.id, token, &id);
    kz_user_free(&u);
    if (rc)
        return rc;
    kz_buf_printf(&resp->body, "{\"token\":\"%s\",\"note\":\"shown this once\"}\n", token);
    kz_resp_json(resp, 201);
    sodium_memzero(token, sizeof token);
    return kz_api_audit(req, "token.issue", name, "");
}

int kz_api_token_revoke(kz_http_req *req, kz_http_resp *resp)
{
    const char *name = kz_req_param(req, "name"), *prefix = kz_req_query(req, "prefix");
    kz_store *st = kz_app_store(req->app);
    kz_user u;
    int64_t n = 0;
    int rc = st ? kz_store_user_get(st, name, 0, &u) : KZ_EIO;
    if (rc)
        return change_failed(resp, rc, NULL);
    rc = kz_store_token_revoke(st, u.id, prefix, kz_now(), &n);
    kz_user_free(&u);
    if (rc)
        return rc;
    kz_buf_printf(&resp->body, "{\"revoked\":%lld}\n", (long long)n);
    kz_resp_json(resp, 200);
    return kz_api_audit(req, "token.revoke", name, prefix ? prefix : "all");
}

static int audit_json(void *ctx, const kz_audit *e)
{
    kz_jw *w = ctx;
    char when[KZ_TIME_BUF];
    kz_format_time(when, e->at);
    kz_jw_obj(w);
    kz_jw_key(w, "id");
    kz_jw_int(w, e->id);
    kz_jw_key(w, "at");
    kz_jw_str(w, when);
    kz_jw_key(w, "actor");
    kz_jw_str(w, e->actor);
    kz_jw_key(w, "action");
    kz_jw_str(w, e->action);
    kz_jw_key(w, "target");
    kz_jw_str(w, e->target);
    kz_jw_key(w, "detail");
    kz_jw_str(w, e->detail);
    kz_jw_key(w, "client");
    kz_jw_str(w, e->client);
    kz_jw_end(w);
    return KZ_OK;
}

int kz_api_audit_list(kz_http_req *req, kz_http_resp *resp)
{
    const char *lim = kz_req_query(req, "limit"), *before = kz_req_query(req, "before");
    int64_t limit = 100, bid = 0;
    if (lim && (kz_parse_int(&limit, lim, strlen(lim), 1, 1000)))
        return kz_resp_error(resp, 400, "limit", "limit: a number from 1 to 1000");
    if (before && kz_parse_int(&bid, before, strlen(before), 1, INT64_MAX))
        return kz_resp_error(resp, 400, "before", "before: an entry id");
    kz_store *st = kz_app_store(req->app);
    kz_jw w;
    if (!st)
        return KZ_EIO;
    kz_jw_init(&w, &resp->body);
    kz_jw_arr(&w);
    int rc = kz_store_audit_each(st, bid, limit, audit_json, &w);
    kz_jw_end(&w);
    return rc ? rc : kz_resp_json_end(resp, &w, 200);
}
