/*
 * server_test.c - `kizuna serve` as a client sees it: the real binary on a
 * free loopback port, spoken to over HTTP.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/server.h"
#include "../support/support.h"

Test(server, reports_health_errors_and_a_clean_stop, .timeout = 60)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    char *token = kt_user_token(dir, "watcher", "viewer", "watcher-pass");
    char bearer[128];
    snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", token);
    const char *auth[] = { bearer, NULL };
    kt_server s;
    kt_serve(&s, dir, NULL);
    kt_http_resp r;
    kt_http(&r, &s, "GET", "/healthz", NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"status\":\"ok\"") && kt_contains(r.body, "\"accounts\":8"), "%s", r.body);
    cr_assert(kt_contains(r.headers, "Content-Type: application/json"), "%s", r.headers);
    kt_http_free(&r);
    /* a report: the same JSON as the command line */
    kt_run cli;
    kt_kizunav(&cli, dir, NULL, "--db", "k.db", "metrics", "mrr", "--from", "2024-03", "--format", "json", NULL);
    kt_http(&r, &s, "GET", "/api/v1/metrics/mrr?from=2024-03", NULL, auth);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(r.body, cli.out);
    kt_http_free(&r);
    kt_run_free(&cli);
    kt_kizunav(&cli, dir, NULL, "--db", "k.db", "metrics", "mrr", "--explain", "2024-03", "--segment", "plan",
               "--format", "json", NULL);
    kt_http(&r, &s, "GET", "/api/v1/metrics/mrr?explain=2024-03&segment=plan", NULL, auth);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(r.body, cli.out);
    kt_http_free(&r);
    kt_run_free(&cli);
    kt_http(&r, &s, "GET", "/api/v1/metrics/cohorts?revenue=1&matrix=1&filter=plan%3Dpro", NULL, auth);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"initial_mrr\""), "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/metrics", NULL, auth);
    cr_assert(kt_contains(r.body, "\"path\":\"/api/v1/metrics/summary\""), "%s", r.body);
    kt_http_free(&r);
    /* errors: JSON, with the reason */
    static const struct {
        const char *method, *path;
        int status;
        const char *says;
    } bad[] = {
        { "GET", "/api/v1/metrics/mrr?from=2024-13", 400, "from 2024-13: " },
        { "GET", "/api/v1/metrics/mrr?interval=fortnight", 400, "interval must be month or week" },
        { "GET", "/api/v1/metrics/usage?explain=2024-03", 400, "explain: the usage report already lists" },
        { "GET", "/api/v1/metrics/mrr?filter=colour%3Dred", 400, "'colour' is not an attribute" },
        { "GET", "/api/v1/metrics/mrr?timezone=Mars%2FBase", 400, "unknown time zone" },
        { "GET", "/api/v1/metrics/nope", 404, "no report 'nope'" },
        { "GET", "/api/v2/anything", 404, "no such resource" },
        { "DELETE", "/healthz", 405, "/healthz does not take DELETE" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kt_http(&r, &s, bad[i].method, bad[i].path, NULL, auth);
        cr_assert_eq(r.status, bad[i].status, "case %zu: %d %s", i, r.status, r.body);
        cr_assert(kt_contains(r.body, "{\"error\":{\"status\":") && kt_contains(r.body, bad[i].says), "case %zu: %s",
                  i, r.body);
        kt_http_free(&r);
    }
    /* the counters */
    kt_http(&r, &s, "GET", "/metrics", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert(kt_contains(r.body, "kizuna_http_requests_total{route=\"GET /api/v1/metrics/{report}\",code=\"4xx\"} 6\n"),
              "%s", r.body);
    cr_assert(kt_contains(r.body, "kizuna_http_requests_total{route=\"unmatched\",code=\"4xx\"} 2\n"), "%s", r.body);
    cr_assert(kt_contains(r.body, "kizuna_http_request_duration_seconds_bucket{route=\"GET /healthz\",le=\"+Inf\"} 1\n"),
              "%s", r.body);
    cr_assert(kt_contains(r.body, "kizuna_http_request_duration_seconds_count{route=\"GET /healthz\"} 1\n"), "%s",
              r.body);
    cr_assert(kt_contains(r.body, "kizuna_engine_accounts 8\n"), "%s", r.body);
    cr_assert(kt_contains(r.headers, "text/plain; version=0.0.4"), "%s", r.headers);
    kt_http_free(&r);
    /* SIGTERM: a clean stop */
    cr_assert_eq(kt_serve_stop(&s), 0);
    char *log = kt_read(s.log, NULL);
    cr_assert(kt_contains(log, "msg=\"serve: stopped\""), "%s", log);
    cr_assert(kt_contains(log, "msg=\"http\" method=GET path=\"/healthz\" status=200"), "%s", log);
    free(log);
    free(token);
    kt_rmrf(dir);
}

Test(server, limits_and_bad_starts, .timeout = 60)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    kt_server s;
    const char *small[] = { "--set", "server.max_body_bytes=1024", NULL };
    kt_serve(&s, dir, small);
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    kt_http_resp r;
    kt_http(&r, &s, "POST", "/api/v1/metrics", big, NULL);
    cr_assert_eq(r.status, 413, "%s", r.body);
    cr_assert(kt_contains(r.body, "larger than 1024 bytes"), "%s", r.body);
    kt_http_free(&r);
    free(big);
    /* the port is taken: a second server says so */
    char port[64];
    snprintf(port, sizeof port, "127.0.0.1:%d", s.port);
    kt_run run;
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "serve", "--listen", port, NULL);
    cr_assert_eq(run.status, 1, "%s", run.err);
    cr_assert(kt_contains(run.err, "cannot listen on"), "%s", run.err);
    kt_run_free(&run);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "serve", "--listen", "localhost:80", NULL);
    cr_assert_eq(run.status, 2, "%s", run.err);
    cr_assert(kt_contains(run.err, "the host must be an IPv4 address"), "%s", run.err);
    kt_run_free(&run);
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "serve", "--threads", "0", NULL);
    cr_assert_eq(run.status, 2, "%s", run.err);
    kt_run_free(&run);
    kt_rmrf(dir);
}

Test(server, serves_its_openapi_document_to_anyone, .timeout = 60)
{
    char *dir = kt_tmpdir();
    kt_server s;
    kt_serve(&s, dir, NULL);
    kt_http_resp r;
    kt_http(&r, &s, "GET", "/api/v1/openapi.json", NULL, NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.headers, "Content-Type: application/json"), "%s", r.headers);
    cr_assert(strncmp(r.body, "{\n  \"openapi\": \"3.0.3\"", 22) == 0, "the document without its comment lines: %.80s",
              r.body);
    cr_assert(kt_contains(r.body, "\"/api/v1/events\""), "%.200s", r.body);
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
}

Test(server, static_files_never_leave_their_folder, .timeout = 60)
{
    char *dir = kt_tmpdir();
    char *web = kt_path(dir, "web"), *assets = kt_path(dir, "web/assets");
    cr_assert_eq(mkdir(web, 0755), 0);
    cr_assert_eq(mkdir(assets, 0755), 0);
    char *p = kt_path(web, "index.html");
    kt_write(p, "<!doctype html><title>Kizuna</title>", (size_t)-1);
    free(p);
    p = kt_path(assets, "app-1234.js");
    kt_write(p, "console.log(1)", (size_t)-1);
    free(p);
    p = kt_path(dir, "secret.txt");
    kt_write(p, "the secret", (size_t)-1);
    char *link = kt_path(web, "leak.txt");
    cr_assert_eq(symlink(p, link), 0);
    free(p);
    free(link);
    const char *extra[] = { "--set", "server.web_root=web", NULL };
    kt_server s;
    kt_serve(&s, dir, extra);
    kt_http_resp r;
    kt_http(&r, &s, "GET", "/", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "<!doctype html><title>Kizuna</title>");
    cr_assert(kt_contains(r.headers, "Content-Type: text/html; charset=utf-8"), "%s", r.headers);
    cr_assert(kt_contains(r.headers, "Content-Security-Policy: default-src 'self'"), "%s", r.headers);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/assets/app-1234.js", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert(kt_contains(r.headers, "text/javascript") && kt_contains(r.headers, "immutable"), "%s", r.headers);
    kt_http_free(&r);
    /* a dashboard route is the page */
    kt_http(&r, &s, "GET", "/accounts/acc_1", NULL, NULL);
    cr_assert_eq(r.status, 200);
    cr_assert(kt_contains(r.body, "<title>Kizuna</title>"), "%s", r.body);
    kt_http_free(&r);
    /* nothing outside the folder, however asked */
    static const char *const escapes[] = { "/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt",
                                           "/leak.txt",      "/..%2fsecret.txt",   "/assets/missing.js",
                                           "//etc/passwd",   "/.hidden",           "/..\\secret.txt" };
    for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++) {
        kt_http(&r, &s, "GET", escapes[i], NULL, NULL);
        cr_assert(!kt_contains(r.body, "the secret"), "%s gave the file outside", escapes[i]);
        cr_assert(r.status == 404 || r.status == 400, "%s: %d", escapes[i], r.status);
        kt_http_free(&r);
    }
    /* the API is never a file */
    kt_http(&r, &s, "GET", "/api/v1/nothing", NULL, NULL);
    cr_assert_eq(r.status, 404);
    cr_assert(kt_contains(r.body, "\"error\""), "%s", r.body);
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);
    free(web);
    free(assets);
    kt_rmrf(dir);
}

Test(server, json_access_log_and_a_reload_on_sighup, .timeout = 60)
{
    char *dir = kt_tmpdir();
    char *conf = kt_path(dir, "kizuna.ini");
    kt_write(conf, "[log]\nformat = logfmt\n", (size_t)-1);
    const char *extra[] = { "--config", conf, NULL };
    kt_server s;
    kt_serve(&s, dir, extra);
    kt_http_resp r;
    kt_http(&r, &s, "GET", "/healthz?probe=\"1\"", NULL, NULL);
    kt_http_free(&r);
    /* json from now on; a key that needs a restart is named as such */
    kt_write(conf, "[log]\nformat = json\n[server]\nthreads = 3\n", (size_t)-1);
    kill(s.pid, SIGHUP);
    char *log = NULL;
    for (int i = 0; i < 100; i++) {
        free(log);
        log = kt_read(s.log, NULL);
        if (kt_contains(log, "configuration reloaded"))
            break;
        usleep(20 * 1000);
    }
    cr_assert(kt_contains(log, "\"applied\":\"log.format\"") && kt_contains(log, "\"need_restart\":\"server.threads\""),
              "%s", log);
    free(log);
    kt_http(&r, &s, "GET", "/healthz", NULL, NULL);
    kt_http_free(&r);
    /* a broken file: the old configuration stays */
    kt_write(conf, "[log]\nformat = purple\n", (size_t)-1);
    kill(s.pid, SIGHUP);
    usleep(200 * 1000);
    kt_http(&r, &s, "GET", "/healthz", NULL, NULL);
    cr_assert_eq(r.status, 200);
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);
    log = kt_read(s.log, NULL);
    cr_assert(kt_contains(log, "level=info msg=\"http\" method=GET path=\"/healthz\" status=200"), "%s", log);
    cr_assert(kt_contains(log, "{\"ts\":\"") && kt_contains(log, "\"msg\":\"http\",\"method\":\"GET\",\"path\":\"/healthz\","
                                                                  "\"status\":200,\"ms\":"),
              "a JSON line per request: %s", log);
    cr_assert(kt_contains(log, "log.format: 'purple' is not one of logfmt|json"), "%s", log);
    /* every JSON line parses */
    for (char *cur = log, *line; (line = kt_next_line(&cur));)
        if (line[0] == '{')
            cr_assert(line[strlen(line) - 1] == '}', "%s", line);
    free(log);
    free(conf);
    kt_rmrf(dir);
}

Test(server, scores_again_on_a_schedule_without_changes, .timeout = 60)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    const char *extra[] = { "--set", "scores.interval_seconds=1", NULL };
    kt_server s;
    kt_serve(&s, dir, extra);
    int runs = 0;
    for (int i = 0; i < 100 && runs < 3; i++) {
        usleep(100 * 1000);
        char *log = kt_read(s.log, NULL);
        runs = 0;
        for (const char *p = log; (p = strstr(p, "scores: every account scored")); p++)
            runs++;
        free(log);
    }
    cr_assert(runs >= 3, "scored %d times in 10 s with an interval of 1 s", runs);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_rmrf(dir);
}
