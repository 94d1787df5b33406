/*
 * events_test.c - POST /api/v1/events on the real server: good and bad
 * events by index, the shapes a batch may take (Kizuna's keys, analytics
 * track calls, NDJSON, {batch}), strict batches, limits, de-duplication by
 * event_id, events visible to reports at once and equal to what the command
 * line computes from the stored blocks, restarts, and kill -9 in the middle
 * of a stream: every acknowledged event kept, none twice.
 */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/server.h"
#include "../support/support.h"

struct who {
    char bearer[128];
    const char *json[3], *ndjson[3], *plain[2];
};

static void who_init(struct who *w, const char *token)
{
    snprintf(w->bearer, sizeof w->bearer, "Authorization: Bearer %s", token);
    w->json[0] = w->bearer;
    w->json[1] = "Content-Type: application/json";
    w->json[2] = NULL;
    w->ndjson[0] = w->bearer;
    w->ndjson[1] = "Content-Type: application/x-ndjson";
    w->ndjson[2] = NULL;
    w->plain[0] = w->bearer;
    w->plain[1] = NULL;
}

/* `kizuna metrics REPORT --format json` in dir, against the server's answer. */
static void same_as_cli(const kt_server *s, const struct who *w, const char *dir, const char *report,
                        const char *from)
{
    kt_run cli;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/metrics/%s?from=%s", report, from);
    kt_kizunav(&cli, dir, NULL, "--db", "k.db", "metrics", report, "--from", from, "--format", "json", NULL);
    cr_assert_eq(cli.status, 0, "%s", cli.err);
    kt_http_resp r;
    kt_http(&r, s, "GET", path, NULL, w->plain);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_str_eq(r.body, cli.out, "%s: the server's engine and the stored events differ", report);
    kt_http_free(&r);
    kt_run_free(&cli);
}

Test(events, good_and_bad_events_every_shape_and_the_engine_sees_them, .timeout = 120)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    char *csm = kt_user_token(dir, "cora", "csm", "cora-password");
    char *viewer = kt_user_token(dir, "vic", "viewer", "vic-password");
    struct who w, v;
    who_init(&w, csm);
    who_init(&v, viewer);
    const char *extra[] = { "--set", "ingest.max_batch_events=5", NULL };
    kt_server s;
    kt_serve(&s, dir, extra);
    kt_http_resp r;

    /* Kizuna's keys: good ones stored, bad ones named by index and field */
    kt_http(&r, &s, "POST", "/api/v1/events",
            "[{\"ts\": \"2024-06-01T10:00:00Z\", \"account_id\": \"a2\", \"event\": \"login\", \"user_id\": \"u1\"},"
            " {\"ts\": \"yesterday\", \"account_id\": \"a2\", \"event\": \"login\"},"
            " {\"ts\": \"2024-06-01T10:00:01Z\", \"account_id\": \"nobody\", \"event\": \"login\"},"
            " {\"ts\": \"2024-06-01T10:00:02Z\", \"account_id\": \"a2\", \"event\": \"report.view\", \"value\": \"many\"},"
            " {\"ts\": \"2024-06-01T10:00:03+09:00\", \"account_id\": \"a6\", \"event\": \"brand.new\", \"user_id\": \"nu\","
            "  \"value\": 2.5, \"properties\": {\"page\": \"/help\"}}]",
            w.json);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"received\":5,\"accepted\":2,\"duplicates\":0,\"rejected\":3"), "%s", r.body);
    cr_assert(kt_contains(r.body, "{\"index\":1,\"field\":\"ts\""), "%s", r.body);
    cr_assert(kt_contains(r.body, "{\"index\":2,\"field\":\"account_id\",\"message\":\"account_id: account 'nobody' does not exist"),
              "%s", r.body);
    cr_assert(kt_contains(r.body, "{\"index\":3,\"field\":\"value\""), "%s", r.body);
    cr_assert(kt_contains(r.headers, "X-Kizuna-Data-Version: "), "%s", r.headers);
    kt_http_free(&r);

    /* analytics track calls, in a {batch}: account from context.groupId or
     * properties, user from userId or anonymousId, messageId de-duplicates */
    const char *track =
        "{\"batch\": [{\"type\": \"track\", \"userId\": \"u1\", \"event\": \"Report Created\", \"messageId\": \"m-1\","
        "  \"timestamp\": \"2024-06-02T09:00:00.250Z\", \"context\": {\"groupId\": \"a2\", \"ip\": \"10.0.0.1\"},"
        "  \"properties\": {\"value\": 3, \"kind\": \"pdf\"}},"
        " {\"type\": \"track\", \"anonymousId\": \"anon-7\", \"event\": \"Signed In\", \"messageId\": \"m-2\","
        "  \"timestamp\": \"2024-06-02T09:01:00Z\", \"properties\": {\"account_id\": \"a6\"}},"
        " {\"type\": \"identify\", \"userId\": \"u1\", \"traits\": {}},"
        " {\"type\": \"track\", \"userId\": \"u1\", \"event\": \"Lost\", \"timestamp\": \"2024-06-02T09:02:00Z\"}],"
        " \"sentAt\": \"2024-06-02T09:03:00Z\"}";
    kt_http(&r, &s, "POST", "/api/v1/events", track, w.json);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"received\":4,\"accepted\":2,\"duplicates\":0,\"rejected\":2"), "%s", r.body);
    cr_assert(kt_contains(r.body, "{\"index\":2,\"field\":\"type\",\"message\":\"type: only track calls carry events"), "%s",
              r.body);
    cr_assert(kt_contains(r.body, "{\"index\":3,\"field\":\"context.groupId\",\"message\":\"context.groupId: no account"), "%s", r.body);
    kt_http_free(&r);
    /* sent again (its answer lost, say): nothing is stored twice */
    kt_http(&r, &s, "POST", "/api/v1/events", track, w.json);
    cr_assert(kt_contains(r.body, "\"accepted\":0,\"duplicates\":2,\"rejected\":2"), "%s", r.body);
    kt_http_free(&r);

    /* NDJSON, blank lines allowed, the index is the line */
    kt_http(&r, &s, "POST", "/api/v1/events",
            "{\"ts\": \"2024-06-03\", \"account_id\": \"a2\", \"event\": \"login\", \"event_id\": \"e-9\"}\n\n"
            "{\"ts\": \"2024-06-03\", \"account_id\": \"a2\", \"event\": \"login\", \"colour\": \"red\"}\n"
            "{\"ts\": \"2024-06-03\", \"account_id\": \"a2\", \"event\": \"login\", \"event_id\": \"e-9\"}\n"
            "{not json\n",
            w.ndjson);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"received\":4,\"accepted\":1,\"duplicates\":1,\"rejected\":2"), "%s", r.body);
    cr_assert(kt_contains(r.body, "{\"index\":2,\"field\":null,\"message\":\"unknown key 'colour'"), "%s", r.body);
    cr_assert(kt_contains(r.body, "{\"index\":4,\"field\":null,\"message\":\"column 2: "), "%s", r.body);
    kt_http_free(&r);

    /* strict: one bad event keeps the whole batch out */
    kt_http(&r, &s, "POST", "/api/v1/events?strict=1",
            "[{\"ts\": \"2024-06-04\", \"account_id\": \"a2\", \"event\": \"login\"},"
            " {\"ts\": \"2024-06-04\", \"account_id\": \"a2\"}]",
            w.json);
    cr_assert_eq(r.status, 400, "%s", r.body);
    cr_assert(kt_contains(r.body, "with strict=1 nothing was stored"), "%s", r.body);
    cr_assert(kt_contains(r.body, "{\"index\":1,\"field\":\"event\",\"message\":\"event: required, but empty\"}"), "%s",
              r.body);
    kt_http_free(&r);

    /* bodies that are no batch, batches too big, callers who may not */
    static const struct {
        const char *body;
        int status;
        const char *says;
    } bad[] = {
        { "", 400, "the body is empty" },
        { "[{\"ts\": \"2024-06-04\",", 400, "byte 2: " },
        { "[1, 2] x", 400, "text after the array" },
        { "\"login\"", 400, "byte 1: expected a JSON array of events" },
        { "[]", 400, "the batch has no events" },
        { "[{\"ts\": \"2024-06-04\", \"account_id\": \"a2\"}]", 400, "none of the 1 events is valid" },
        { "[{},{},{},{},{},{}]", 413, "more than 5 events in one batch (ingest.max_batch_events)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kt_http(&r, &s, "POST", "/api/v1/events", bad[i].body, w.json);
        cr_assert_eq(r.status, bad[i].status, "'%s': %d %s", bad[i].body, r.status, r.body);
        cr_assert(kt_contains(r.body, bad[i].says), "'%s': %s", bad[i].body, r.body);
        kt_http_free(&r);
    }
    kt_http(&r, &s, "POST", "/api/v1/events", "[{\"ts\": \"2024-06-05\", \"account_id\": \"a2\", \"event\": \"x\"}]",
            v.json);
    cr_assert_eq(r.status, 403, "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "POST", "/api/v1/events", "[{\"ts\": \"2024-06-05\", \"account_id\": \"a2\", \"event\": \"x\"}]",
            NULL);
    cr_assert_eq(r.status, 401, "%s", r.body);
    kt_http_free(&r);

    /* an account imported while the server runs takes events at once */
    char *acc = kt_path(dir, "accounts.csv");
    kt_write(acc, "account_id,name\nlate,Late Co\n", (size_t)-1);
    kt_run run;
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "import", "accounts", "accounts.csv", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    kt_run_free(&run);
    kt_http(&r, &s, "POST", "/api/v1/events",
            "[{\"ts\": \"2024-06-05T08:00:00Z\", \"account_id\": \"late\", \"event\": \"login\", \"user_id\": \"l1\"}]",
            w.json);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"accepted\":1"), "%s", r.body);
    kt_http_free(&r);

    /* the reports of the server count what was acknowledged, and equal what
     * the command line computes from the stored events */
    kt_http(&r, &s, "GET", "/api/v1/metrics/daily?from=2024-06-01&to=2024-06-05", NULL, w.plain);
    cr_assert_str_eq(r.body, "[{\"day\":\"2024-06-01\",\"events\":2,\"dau\":2},"
                             "{\"day\":\"2024-06-02\",\"events\":2,\"dau\":2},"
                             "{\"day\":\"2024-06-03\",\"events\":1,\"dau\":0},"
                             "{\"day\":\"2024-06-05\",\"events\":1,\"dau\":1}]\n",
                     "%s", r.body);
    kt_http_free(&r);
    same_as_cli(&s, &w, dir, "daily", "2024-01-01");
    same_as_cli(&s, &w, dir, "usage", "2024-01-01");
    kt_http(&r, &s, "GET", "/metrics", NULL, NULL);
    cr_assert(kt_contains(r.body, "kizuna_events_ingested_total 6\n"), "%s", r.body);
    cr_assert(kt_contains(r.body, "kizuna_events_duplicate_total 3\n"), "%s", r.body);
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);

    /* after a restart, everything acknowledged is there */
    kt_serve(&s, dir, NULL);
    same_as_cli(&s, &w, dir, "daily", "2024-01-01");
    kt_http(&r, &s, "POST", "/api/v1/events", track, w.json);
    cr_assert(kt_contains(r.body, "\"accepted\":0,\"duplicates\":2"), "ids are remembered across restarts: %s", r.body);
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "export", "events", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cr_assert(kt_contains(run.out, "2024-06-01T01:00:03Z,a6,nu,brand.new,2.5,,\"{\"\"page\"\": \"\"/help\"\"}\""),
              "the event as posted, its time in UTC: %s", run.out);
    kt_run_free(&run);
    free(acc);
    free(csm);
    free(viewer);
    kt_rmrf(dir);
}

/* ---- a stream of batches, and kill -9 ---------------------------------------------- */

struct stream {
    int port;
    char bearer[128];
    int batches, per_batch;
    _Atomic int acked; /* batches answered 200 */
};

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static void batch_body(char *buf, size_t cap, int b, int per)
{
    size_t len = 0;
    len += (size_t)snprintf(buf + len, cap - len, "[");
    for (int i = 0; i < per; i++)
        len += (size_t)snprintf(buf + len, cap - len,
                                "%s{\"ts\": \"2024-07-%02dT%02d:%02d:%02dZ\", \"account_id\": \"a%d\", \"event\": \"tick\","
                                " \"user_id\": \"s%d\", \"event_id\": \"b%d-%d\"}",
                                i ? "," : "", 1 + b % 28, b % 24, i % 60, b % 60, 1 + i % 8, i % 13, b, i);
    snprintf(buf + len, cap - len, "]");
}

static void *poster(void *arg)
{
    struct stream *st = arg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/events", st->port);
    size_t cap = (size_t)st->per_batch * 200 + 16;
    char *body = malloc(cap);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, st->bearer);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    for (int b = 0; b < st->batches; b++) {
        batch_body(body, cap, b, st->per_batch);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        if (curl_easy_perform(c) != CURLE_OK)
            break; /* the server is gone */
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200)
            break;
        atomic_store(&st->acked, b + 1);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(body);
    return NULL;
}

/* How many stored events have event_id "b<batch>-<i>", per batch and i. */
static void count_ids(const char *dir, int batches, int per, int *count)
{
    kt_run run;
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "export", "events", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    memset(count, 0, (size_t)batches * (size_t)per * sizeof *count);
    char *cur = run.out, *line;
    while ((line = kt_next_line(&cur))) {
        char *id = strstr(line, ",b");
        int b, i;
        if (id && sscanf(id, ",b%d-%d", &b, &i) == 2 && b < batches && i < per)
            count[b * per + i]++;
    }
    kt_run_free(&run);
}

Test(events, kill_9_during_a_stream_keeps_every_acknowledged_event_once, .timeout = 240)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    char *token = kt_user_token(dir, "pipe", "csm", "pipe-password");
    enum { BATCHES = 4000, PER = 50 };
    int *count = malloc(sizeof(int) * BATCHES * PER);
    kt_server s;
    kt_serve(&s, dir, NULL);
    struct stream st = { .port = s.port, .batches = BATCHES, .per_batch = PER };
    snprintf(st.bearer, sizeof st.bearer, "Authorization: Bearer %s", token);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, poster, &st), 0);
    while (atomic_load(&st.acked) < 300)
        usleep(2000);
    kt_serve_kill(&s);
    pthread_join(t, NULL);
    int acked = atomic_load(&st.acked);
    cr_assert(acked >= 300 && acked < BATCHES, "killed in the middle (%d batches acknowledged)", acked);

    /* every acknowledged event is stored once; the batch in flight entirely or not at all */
    count_ids(dir, BATCHES, PER, count);
    for (int b = 0; b < acked; b++)
        for (int i = 0; i < PER; i++)
            cr_assert_eq(count[b * PER + i], 1, "event b%d-%d of an acknowledged batch is stored %d times", b, i,
                         count[b * PER + i]);
    for (int i = 1; i < PER; i++)
        cr_assert_eq(count[acked * PER + i], count[acked * PER], "the batch in flight was stored in part");
    for (int b = acked + 1; b < BATCHES; b++)
        cr_assert_eq(count[b * PER], 0, "batch %d was never sent", b);

    /* one commit a batch or a few: the small blocks were merged as they came */
    kt_run st_run;
    kt_kizunav(&st_run, dir, NULL, "--db", "k.db", "status", NULL);
    const char *in = strstr(st_run.out, " in ");
    cr_assert_not_null(in, "%s", st_run.out);
    long blocks = strtol(in + 4, NULL, 10);
    cr_assert(blocks > 0 && blocks < acked / 8, "%ld blocks for %d acknowledged batches: %s", blocks, acked,
              st_run.out);
    kt_run_free(&st_run);

    /* the client sends everything again from its last acknowledged batch: no duplicates */
    kt_serve(&s, dir, NULL);
    st.port = s.port;
    atomic_store(&st.acked, 0);
    st.batches = acked + 40;
    poster(&st);
    cr_assert_eq(atomic_load(&st.acked), acked + 40);
    kt_http_resp r;
    const char *auth[] = { st.bearer, NULL };
    kt_http(&r, &s, "GET", "/api/v1/metrics/daily?from=2024-07-01&to=2024-07-31", NULL, auth);
    cr_assert_eq(r.status, 200, "%s", r.body);
    long total = 0;
    for (const char *p = r.body; (p = strstr(p, "\"events\":")); p += 9)
        total += strtol(p + 9, NULL, 10);
    cr_assert_eq(total, (long)(acked + 40) * PER, "the server counts each event once");
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);
    count_ids(dir, BATCHES, PER, count);
    for (int b = 0; b < acked + 40; b++)
        for (int i = 0; i < PER; i++)
            cr_assert_eq(count[b * PER + i], 1, "event b%d-%d is stored %d times", b, i, count[b * PER + i]);
    free(count);
    free(token);
    kt_rmrf(dir);
}

/* The value of header name (case as sent) in r's headers, into out ("" when absent). */
static void header_of(const kt_http_resp *r, const char *name, char *out, size_t cap)
{
    const char *h = r->headers ? strstr(r->headers, name) : NULL;
    out[0] = '\0';
    if (h) {
        h += strlen(name) + 2; /* ": " */
        snprintf(out, cap, "%.*s", (int)strcspn(h, "\r\n"), h);
    }
}

Test(events, an_answer_computed_from_the_data_says_when_it_was_computed, .timeout = 120)
{
    char *dir = kt_tmpdir();
    kt_import(dir, kt_fixture("reference/edges"));
    char *csm = kt_user_token(dir, "cora", "csm", "cora-password");
    struct who w;
    who_init(&w, csm);
    kt_server s;
    kt_serve(&s, dir, NULL);
    kt_http_resp r;
    char first[64], again[64], after[64];

    kt_http(&r, &s, "GET", "/api/v1/metrics/summary", NULL, w.plain);
    cr_assert_eq(r.status, 200, "%s", r.body);
    header_of(&r, "X-Kizuna-Computed-At", first, sizeof first);
    kt_http_free(&r);
    cr_assert(strlen(first) >= 20 && first[4] == '-' && first[10] == 'T' && first[strlen(first) - 1] == 'Z',
              "X-Kizuna-Computed-At: '%s'", first);
    /* kept while the data is unchanged: the time it was made */
    usleep(20 * 1000);
    kt_http(&r, &s, "GET", "/api/v1/metrics/summary", NULL, w.plain);
    header_of(&r, "X-Kizuna-Computed-At", again, sizeof again);
    kt_http_free(&r);
    cr_assert_str_eq(again, first, "a kept answer says when it was made");
    /* new data, a new answer */
    kt_http(&r, &s, "POST", "/api/v1/events", "[{\"ts\": \"2024-06-01T10:00:00Z\", \"account_id\": \"a2\", \"event\": \"login\"}]",
            w.json);
    cr_assert_eq(r.status, 200, "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/metrics/summary", NULL, w.plain);
    header_of(&r, "X-Kizuna-Computed-At", after, sizeof after);
    kt_http_free(&r);
    cr_assert(strcmp(after, first) > 0, "after new events: '%s', before '%s'", after, first);
    /* answers not computed from the data do not say it; nor do errors */
    kt_http(&r, &s, "GET", "/api/v1/session", NULL, w.plain);
    header_of(&r, "X-Kizuna-Computed-At", after, sizeof after);
    cr_assert_str_eq(after, "", "%s", r.headers);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/metrics/summary?from=never", NULL, w.plain);
    cr_assert_eq(r.status, 400, "%s", r.body);
    header_of(&r, "X-Kizuna-Computed-At", after, sizeof after);
    cr_assert_str_eq(after, "", "%s", r.headers);
    kt_http_free(&r);
    cr_assert_eq(kt_serve_stop(&s), 0);
    free(csm);
    kt_rmrf(dir);
}
