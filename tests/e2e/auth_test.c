/*
 * auth_test.c - who may call the server: tokens, roles, sessions with their
 * CSRF token, revocation, the rate limit on failed logins, and the audit log.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../support/server.h"
#include "../support/support.h"

/* The session cookie "kizuna_session=..." of a login answer, as a Cookie header. */
static char *cookie_of(const kt_http_resp *r)
{
    const char *c = strstr(r->headers, "kizuna_session=");
    cr_assert_not_null(c, "%s", r->headers);
    const char *end = strchr(c, ';');
    char *h = malloc(256);
    snprintf(h, 256, "Cookie: %.*s", (int)(end - c), c);
    return h;
}

/* The csrf member of a login answer, as an X-CSRF-Token header. */
static char *csrf_of(const kt_http_resp *r)
{
    const char *c = strstr(r->body, "\"csrf\":\"");
    cr_assert_not_null(c, "%s", r->body);
    c += 8;
    char *h = malloc(256);
    snprintf(h, 256, "X-CSRF-Token: %.*s", (int)(strchr(c, '"') - c), c);
    return h;
}

Test(auth, tokens_roles_sessions_and_the_audit_log, .timeout = 120)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    char *admin = kt_user_token(dir, "ann", "admin", "ann-password"), *viewer = kt_user_token(dir, "vic", "viewer", "vic-password");
    char ah[128], vh[128];
    snprintf(ah, sizeof ah, "Authorization: Bearer %s", admin);
    snprintf(vh, sizeof vh, "Authorization: Bearer %s", viewer);
    const char *as_admin[] = { ah, NULL }, *as_viewer[] = { vh, NULL };
    const char *json_admin[] = { ah, "Content-Type: application/json", NULL };
    kt_server s;
    kt_serve(&s, dir, NULL);
    kt_http_resp r;
    /* nobody, a wrong token, a viewer where only an admin may go */
    kt_http(&r, &s, "GET", "/api/v1/metrics/mrr", NULL, NULL);
    cr_assert_eq(r.status, 401);
    cr_assert(kt_contains(r.headers, "WWW-Authenticate: Bearer"), "%s", r.headers);
    kt_http_free(&r);
    const char *wrong[] = { "Authorization: Bearer kz_0000000000000000000000000000000000000000000000000000000000000000",
                            NULL };
    kt_http(&r, &s, "GET", "/api/v1/metrics/mrr", NULL, wrong);
    cr_assert_eq(r.status, 401);
    cr_assert(kt_contains(r.body, "unknown or revoked token"), "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/metrics/mrr", NULL, as_viewer);
    cr_assert_eq(r.status, 200, "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/users", NULL, as_viewer);
    cr_assert_eq(r.status, 403);
    cr_assert(kt_contains(r.body, "a viewer may not do this"), "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/me", NULL, as_viewer);
    cr_assert(kt_contains(r.body, "{\"name\":\"vic\",\"role\":\"viewer\",\"csrf\":null}"), "%s", r.body);
    kt_http_free(&r);
    /* users, by an admin: validated, and no removing oneself */
    kt_http(&r, &s, "POST", "/api/v1/users", "{\"name\": \"sue\", \"role\": \"boss\"}", json_admin);
    cr_assert_eq(r.status, 400);
    cr_assert(kt_contains(r.body, "\"field\":\"role\""), "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "POST", "/api/v1/users", "{\"name\": \"sue\", \"role\": \"support\", \"password\": \"short\"}",
            json_admin);
    cr_assert_eq(r.status, 400);
    cr_assert(kt_contains(r.body, "at least 8 characters"), "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "POST", "/api/v1/users", "{\"name\": \"sue\", \"role\": \"support\", \"password\": \"sue-password\"}",
            json_admin);
    cr_assert_eq(r.status, 201, "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "POST", "/api/v1/users", "{\"name\": \"sue\", \"role\": \"csm\"}", json_admin);
    cr_assert_eq(r.status, 409, "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "DELETE", "/api/v1/users/ann", NULL, as_admin);
    cr_assert_eq(r.status, 409);
    kt_http_free(&r);
    kt_http(&r, &s, "PATCH", "/api/v1/users/nobody", "{\"role\": \"csm\"}", json_admin);
    cr_assert_eq(r.status, 404);
    kt_http_free(&r);
    /* a session: the cookie reads; a change needs the CSRF token too */
    kt_http(&r, &s, "POST", "/api/v1/login", "{\"name\": \"sue\", \"password\": \"sue-password\"}", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.headers, "HttpOnly; SameSite=Strict"), "%s", r.headers);
    char *cookie = cookie_of(&r), *csrf = csrf_of(&r);
    kt_http_free(&r);
    const char *by_cookie[] = { cookie, NULL }, *by_cookie_csrf[] = { cookie, csrf, NULL };
    kt_http(&r, &s, "GET", "/api/v1/me", NULL, by_cookie);
    cr_assert(kt_contains(r.body, "\"role\":\"support\""), "%s", r.body);
    /* the session's CSRF token again, for a page that was reloaded */
    char *again = csrf_of(&r);
    cr_assert_str_eq(again, csrf);
    free(again);
    kt_http_free(&r);
    /* a page's first call: the session, whoever calls, always 200 */
    kt_http(&r, &s, "GET", "/api/v1/session", NULL, by_cookie);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"user\":{\"name\":\"sue\",\"role\":\"support\"}"), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"currency\":\"USD\",\"timezone\":\"UTC\""), "%s", r.body);
    again = csrf_of(&r);
    cr_assert_str_eq(again, csrf);
    free(again);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/session", NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "{\"user\":null,\"csrf\":null,"), "%s", r.body);
    kt_http_free(&r);
    const char *bad_cookie[] = { "Cookie: kizuna_session=kz_not_a_session", NULL };
    kt_http(&r, &s, "GET", "/api/v1/session", NULL, bad_cookie);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "{\"user\":null,"), "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "POST", "/api/v1/logout", NULL, by_cookie);
    cr_assert_eq(r.status, 403);
    cr_assert(kt_contains(r.body, "X-CSRF-Token"), "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "POST", "/api/v1/logout", NULL, by_cookie_csrf);
    cr_assert_eq(r.status, 200, "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/me", NULL, by_cookie);
    cr_assert_eq(r.status, 401);
    kt_http_free(&r);
    /* a token revoked by an admin stops working at once */
    kt_http(&r, &s, "DELETE", "/api/v1/users/vic/tokens", NULL, as_admin);
    cr_assert(kt_contains(r.body, "{\"revoked\":1}"), "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/me", NULL, as_viewer);
    cr_assert_eq(r.status, 401);
    kt_http_free(&r);
    kt_http(&r, &s, "POST", "/api/v1/users/vic/tokens", NULL, as_admin);
    cr_assert_eq(r.status, 201);
    cr_assert(kt_contains(r.body, "\"token\":\"kz_"), "%s", r.body);
    kt_http_free(&r);
    /* failed logins: after five for one user, even the right password waits */
    for (int i = 0; i < 5; i++) {
        kt_http(&r, &s, "POST", "/api/v1/login", "{\"name\": \"sue\", \"password\": \"guess-guess\"}", NULL);
        cr_assert_eq(r.status, 401, "try %d: %s", i, r.body);
        kt_http_free(&r);
    }
    kt_http(&r, &s, "POST", "/api/v1/login", "{\"name\": \"sue\", \"password\": \"sue-password\"}", NULL);
    cr_assert_eq(r.status, 429, "%s", r.body);
    cr_assert(kt_contains(r.headers, "Retry-After: 900"), "%s", r.headers);
    kt_http_free(&r);
    /* every change was written down, with who and from where */
    kt_http(&r, &s, "GET", "/api/v1/audit", NULL, as_admin);
    cr_assert_eq(r.status, 200);
    cr_assert(kt_contains(r.body, "\"actor\":\"ann\",\"action\":\"user.add\",\"target\":\"sue\""), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"action\":\"login\",\"target\":\"sue\""), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"action\":\"token.revoke\""), "%s", r.body);
    cr_assert(kt_contains(r.body, "\"client\":\"127.0.0.1\""), "%s", r.body);
    cr_assert(!kt_contains(r.body, "sue-password"), "a password in the audit log");
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);
    char *log = kt_read(s.log, NULL);
    cr_assert(!kt_contains(log, "sue-password") && !kt_contains(log, admin), "a secret in the log");
    free(log);
    free(cookie);
    free(csrf);
    free(admin);
    free(viewer);
    kt_rmrf(dir);
}

Test(auth, the_user_command)
{
    char *dir = kt_tmpdir();
    kt_run r;
    kt_kizunav(&r, dir, "a-good-password\n", "--db", "k.db", "user", "add", "--name", "kim", "--role", "csm",
               "--password-stdin", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    static const struct {
        const char *args[8];
        const char *in, *says;
    } bad[] = {
        { { "user", "add", "--name", "kim", "--role", "csm", "--password-stdin", NULL }, "another-password\n",
          "there is a user called 'kim' already" },
        { { "user", "add", "--name", "lee", "--role", "boss", NULL }, NULL, "--role must be admin, csm" },
        { { "user", "add", "--name", "lee", "--role", "csm", "--password-stdin", NULL }, "short\n",
          "at least 8 characters" },
        { { "user", "add", "--name", "lee", "--role", "csm", NULL }, "", "--password-stdin" },
        { { "user", "role", "--name", "nobody", "--role", "csm", NULL }, NULL, "no user 'nobody'" },
        { { "user", "fly", NULL }, NULL, "unknown subcommand 'fly'" },
        { { "user", "token", NULL }, NULL, "which user" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[12] = { "--db", "k.db" };
        size_t n = 2;
        for (size_t k = 0; bad[i].args[k]; k++)
            argv[n++] = bad[i].args[k];
        argv[n] = NULL;
        kt_kizuna(&r, dir, bad[i].in, argv);
        cr_assert_eq(r.status, 2, "case %zu: %d %s", i, r.status, r.err);
        cr_assert(kt_contains(r.err, bad[i].says), "case %zu: %s", i, r.err);
        kt_run_free(&r);
    }
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "user", "role", "kim", "--role", "admin", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "user", "list", NULL);
    cr_assert(kt_contains(r.out, "kim") && kt_contains(r.out, "admin") && kt_contains(r.out, "password"), "%s",
              r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "user", "token", "--name", "kim", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    const char *last = strrchr(r.out, '\n');
    cr_assert(last && last - r.out > 67 && strncmp(last - 67, "kz_", 3) == 0, "the token is the last line: %s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "user", "remove", "kim", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    kt_run_free(&r);
    kt_rmrf(dir);
}
