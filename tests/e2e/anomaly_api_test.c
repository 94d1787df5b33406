/*
 * anomaly_api_test.c - anomalies through the server: found by the scorer
 * thread after the start and stored, listed by GET /api/v1/anomalies exactly
 * as `kizuna anomalies --all --format json` lists them, filtered by state,
 * series and days; their state set by PATCH (csm and up, with the audit
 * log), with bad bodies, unknown ids and too small roles refused; counted in
 * /metrics.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../support/server.h"
#include "../support/support.h"

static cJSON *get_list(const kt_server *s, const char *const *h, const char *path)
{
    kt_http_resp r;
    kt_http(&r, s, "GET", path, NULL, h);
    cr_assert_eq(r.status, 200, "%s: %s", path, r.body);
    cJSON *doc = cJSON_Parse(r.body);
    kt_http_free(&r);
    cJSON *list = cJSON_DetachItemFromObjectCaseSensitive(doc, "anomalies");
    cr_assert(cJSON_IsArray(list), "%s", path);
    cJSON_Delete(doc);
    return list;
}

Test(anomaly_api, found_listed_and_acknowledged, .timeout = 180)
{
    char *dir = kt_demo_world(1000, 42);
    char *admin = kt_user_token(dir, "ann", "admin", "ann-password");
    char *csm = kt_user_token(dir, "cal", "csm", "cal-password");
    char *viewer = kt_user_token(dir, "vic", "viewer", "vic-password");
    char ah[128], ch[128], vh[128];
    snprintf(ah, sizeof ah, "Authorization: Bearer %s", admin);
    snprintf(ch, sizeof ch, "Authorization: Bearer %s", csm);
    snprintf(vh, sizeof vh, "Authorization: Bearer %s", viewer);
    const char *as_admin[] = { ah, NULL }, *as_csm[] = { ch, NULL }, *as_viewer[] = { vh, NULL };
    kt_server s;
    kt_serve(&s, dir, NULL);

    /* the scorer looks for anomalies soon after the start */
    cJSON *api = NULL;
    for (int i = 0; i < 300; i++) {
        api = get_list(&s, as_viewer, "/api/v1/anomalies");
        if (cJSON_GetArraySize(api) > 0)
            break;
        cJSON_Delete(api);
        api = NULL;
        usleep(50 * 1000);
    }
    cr_assert_not_null(api, "no anomalies stored after the start");

    /* the same list as the command line's, member for member */
    kt_run run;
    kt_kizunav(&run, dir, NULL, "--db", "k.db", "anomalies", "--all", "--format", "json", NULL);
    cr_assert_eq(run.status, 0, "%s", run.err);
    cJSON *cli = cJSON_Parse(run.out);
    kt_run_free(&run);
    cr_assert_eq(cJSON_GetArraySize(api), cJSON_GetArraySize(cli));
    for (int i = 0; i < cJSON_GetArraySize(api); i++) {
        char *a = cJSON_PrintUnformatted(cJSON_GetArrayItem(api, i)),
             *c = cJSON_PrintUnformatted(cJSON_GetArrayItem(cli, i));
        cr_assert_str_eq(a, c, "anomaly %d", i);
        free(a);
        free(c);
    }
    cJSON_Delete(cli);

    /* pages of them, the newest first: the same anomalies, reversed, with their total and when they were judged */
    {
        int n = cJSON_GetArraySize(api);
        cr_assert(n >= 3, "too few anomalies to page: %d", n);
        cJSON *doc = NULL;
        for (int i = 0; i < 100; i++) { /* the time is set just after the anomalies are stored */
            kt_http_resp pr;
            kt_http(&pr, &s, "GET", "/api/v1/anomalies", NULL, as_viewer);
            cJSON_Delete(doc);
            doc = cJSON_Parse(pr.body);
            kt_http_free(&pr);
            if (cJSON_IsString(cJSON_GetObjectItem(doc, "judged_at")))
                break;
            usleep(50 * 1000);
        }
        cr_assert_eq(cJSON_GetObjectItem(doc, "total")->valueint, n);
        cr_assert(cJSON_IsString(cJSON_GetObjectItem(doc, "judged_at")), "judged_at: %s", cJSON_PrintUnformatted(doc));
        cr_assert(cJSON_IsString(cJSON_GetObjectItem(doc, "judged_through")));
        cJSON_Delete(doc);
        int seen = 0;
        char last[16] = "9999-99-99";
        for (int off = 0; off < n; off += 2) {
            char q[96];
            snprintf(q, sizeof q, "/api/v1/anomalies?sort=-day&limit=2&offset=%d", off);
            cJSON *page = get_list(&s, as_viewer, q), *x;
            cr_assert(cJSON_GetArraySize(page) == (n - off < 2 ? n - off : 2), "%s", q);
            cJSON_ArrayForEach(x, page)
            {
                /* day-grain ones have a date; the others a month or a cohort */
                cJSON *d = cJSON_GetObjectItem(x, "date");
                if (cJSON_IsString(d)) {
                    cr_assert(strcmp(d->valuestring, last) <= 0, "%s after %s", d->valuestring, last);
                    snprintf(last, sizeof last, "%s", d->valuestring);
                }
                int found = 0;
                const cJSON *y;
                cJSON_ArrayForEach(y, api)
                found += cJSON_GetObjectItem(y, "id")->valueint == cJSON_GetObjectItem(x, "id")->valueint;
                cr_assert_eq(found, 1, "an anomaly of a page not in the whole list");
                seen++;
            }
            cJSON_Delete(page);
        }
        cr_assert_eq(seen, n);
        cJSON *first = get_list(&s, as_viewer, "/api/v1/anomalies?limit=1");
        cr_assert_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(first, 0), "id")->valueint,
                     cJSON_GetObjectItem(cJSON_GetArrayItem(api, 0), "id")->valueint, "by day, as the whole list");
        cJSON_Delete(first);
    }

    /* the planted spike, one of them, by series and days */
    cJSON *dau = get_list(&s, as_viewer, "/api/v1/anomalies?series=dau&from=2026-08-25&to=2026-08-25");
    cr_assert_eq(cJSON_GetArraySize(dau), 1);
    const cJSON *one = cJSON_GetArrayItem(dau, 0);
    long id = (long)cJSON_GetObjectItemCaseSensitive(one, "id")->valuedouble;
    double stored_observed = cJSON_GetObjectItemCaseSensitive(one, "observed")->valuedouble;
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(one, "state")->valuestring, "open");
    cJSON_Delete(dau);
    cJSON *kinds = get_list(&s, as_viewer, "/api/v1/anomalies?series=cohort_tickets");
    cr_assert_geq(cJSON_GetArraySize(kinds), 1, "a kind of series matches its series");
    cJSON_Delete(kinds);

    char path[64], body[256];
    snprintf(path, sizeof path, "/api/v1/anomalies/%ld", id);
    kt_http_resp r;
    kt_http(&r, &s, "GET", path, NULL, as_viewer);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"series\":\"dau\""), "%s", r.body);
    kt_http_free(&r);

    /* its series around it, each point with its expected value and usual range: the anomaly's own
     * point abnormal with the figures stored, 5 before it and 2 after */
    char spath[96];
    snprintf(spath, sizeof spath, "/api/v1/anomalies/%ld/series?before=5&after=2", id);
    kt_http(&r, &s, "GET", spath, NULL, as_viewer);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cJSON *sj = cJSON_Parse(r.body);
    const cJSON *pts = cJSON_GetObjectItemCaseSensitive(sj, "points");
    cr_assert_eq(cJSON_GetArraySize(pts), 8, "%s", r.body);
    const cJSON *mid = cJSON_GetArrayItem(pts, 5);
    cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(mid, "date")->valuestring, "2026-08-25");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(mid, "abnormal")));
    cr_assert_eq(cJSON_GetObjectItemCaseSensitive(mid, "observed")->valuedouble, stored_observed);
    for (int i = 0; i < 8; i++) {
        const cJSON *p = cJSON_GetArrayItem(pts, i);
        double lo = cJSON_GetObjectItemCaseSensitive(p, "low")->valuedouble,
               hi = cJSON_GetObjectItemCaseSensitive(p, "high")->valuedouble,
               ex = cJSON_GetObjectItemCaseSensitive(p, "expected")->valuedouble;
        cr_assert(lo <= ex && ex <= hi, "point %d: %g <= %g <= %g", i, lo, ex, hi);
        if (i > 0)
            cr_assert_gt(strcmp(cJSON_GetObjectItemCaseSensitive(p, "date")->valuestring,
                                cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(pts, i - 1), "date")->valuestring),
                         0, "in order");
    }
    cJSON_Delete(sj);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/anomalies/999999/series", NULL, as_viewer);
    cr_assert_eq(r.status, 404, "%s", r.body);
    kt_http_free(&r);
    snprintf(spath, sizeof spath, "/api/v1/anomalies/%ld/series?before=-1", id);
    kt_http(&r, &s, "GET", spath, NULL, as_viewer);
    cr_assert_eq(r.status, 400, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"field\":\"before\""), "%s", r.body);
    kt_http_free(&r);

    /* a viewer may not change it; a csm may */
    kt_http(&r, &s, "PATCH", path, "{\"state\":\"acknowledged\"}", as_viewer);
    cr_assert_eq(r.status, 403, "%s", r.body);
    kt_http_free(&r);
    snprintf(body, sizeof body, "{\"state\":\"acknowledged\",\"note\":\"the training day\"}");
    kt_http(&r, &s, "PATCH", path, body, as_csm);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(kt_contains(r.body, "\"state\":\"acknowledged\"") && kt_contains(r.body, "\"state_by\":\"cal\"") &&
                  kt_contains(r.body, "\"note\":\"the training day\""),
              "%s", r.body);
    kt_http_free(&r);
    cJSON *acked = get_list(&s, as_viewer, "/api/v1/anomalies?state=acknowledged");
    cr_assert_eq(cJSON_GetArraySize(acked), 1);
    cJSON_Delete(acked);

    /* what is wrong is named, and changes nothing */
    static const struct {
        const char *body;
        int status;
        const char *says;
    } bad[] = {
        { "{\"state\":\"forgotten\"}", 400, "\"field\":\"state\"" },
        { "{\"note\":\"no state\"}", 400, "\"field\":\"state\"" },
        { "{\"state\":\"resolved\",\"note\":7}", 400, "\"field\":\"note\"" },
        { "[1,2]", 400, "JSON object" },
        { "not json", 400, "JSON object" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kt_http(&r, &s, "PATCH", path, bad[i].body, as_csm);
        cr_assert_eq(r.status, bad[i].status, "%s: %s", bad[i].body, r.body);
        cr_assert(kt_contains(r.body, bad[i].says), "%s: %s", bad[i].body, r.body);
        kt_http_free(&r);
    }
    kt_http(&r, &s, "GET", path, NULL, as_viewer);
    cr_assert(kt_contains(r.body, "\"state\":\"acknowledged\""), "unchanged: %s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "PATCH", "/api/v1/anomalies/999999", "{\"state\":\"resolved\"}", as_csm);
    cr_assert_eq(r.status, 404, "%s", r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/api/v1/anomalies/abc", NULL, as_viewer);
    cr_assert_eq(r.status, 404, "%s", r.body);
    kt_http_free(&r);
    static const char *const bad_queries[] = { "?state=gone", "?from=2026-13-01", "?from=2026-09-01&to=2026-08-01",
                                               "?sort=newest", "?limit=0", "?limit=1001", "?offset=-1" };
    for (size_t i = 0; i < sizeof bad_queries / sizeof bad_queries[0]; i++) {
        char q[96];
        snprintf(q, sizeof q, "/api/v1/anomalies%s", bad_queries[i]);
        kt_http(&r, &s, "GET", q, NULL, as_viewer);
        cr_assert_eq(r.status, 400, "%s: %s", q, r.body);
        kt_http_free(&r);
    }
    kt_http(&r, &s, "GET", "/api/v1/anomalies", NULL, NULL);
    cr_assert_eq(r.status, 401);
    kt_http_free(&r);

    /* the audit log has the change; /metrics counts what was found */
    kt_http(&r, &s, "GET", "/api/v1/audit", NULL, as_admin);
    cr_assert(kt_contains(r.body, "\"action\":\"anomaly.state\"") && kt_contains(r.body, "the training day"), "%s",
              r.body);
    kt_http_free(&r);
    kt_http(&r, &s, "GET", "/metrics", NULL, NULL);
    const char *m = strstr(r.body, "\nkizuna_anomalies_found_total ");
    cr_assert_not_null(m, "%s", r.body);
    cr_assert_eq(strtol(m + 30, NULL, 10), cJSON_GetArraySize(api), "%s", m);
    kt_http_free(&r);
    cJSON_Delete(api);
    cr_assert_eq(kt_serve_stop(&s), 0);
    free(admin);
    free(csm);
    free(viewer);
    kt_rmrf(dir);
    free(dir);
}
