/*
 * anomaly_test.c - `kizuna anomalies` and `kizuna anomaly` on demo worlds:
 * the three planted anomalies found (a day of five times the usual active
 * users, a year-end churn 1.5 times earlier Decembers', a cohort filing a
 * third of the usual tickets in its first month), their neighbourhoods
 * quiet and no flood elsewhere, on two seeds; anomalies stored once with a
 * state changed by ack / resolve / reopen; bad flags and settings named; and
 * `anomaly scan` on files: the season found, every row scored, bad rows
 * reported by line with nothing written.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../support/support.h"

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "%s is not a number", key);
    return v->valuedouble;
}

/* Days since 1970 of "YYYY-MM-DD", months since year 0 of "YYYY-MM". */
static long day_of(const char *s)
{
    int y, m, d;
    cr_assert_eq(sscanf(s, "%d-%d-%d", &y, &m, &d), 3, "%s", s);
    /* days from civil (Howard Hinnant's algorithm, written out) */
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400, doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static long month_of(const char *s)
{
    int y, m;
    cr_assert_eq(sscanf(s, "%d-%d", &y, &m), 2, "%s", s);
    return (long)y * 12 + m - 1;
}

/* The planted anomaly of a kind in planted.json: its member `key`. */
static const char *planted(const cJSON *all, const char *kind, const char *key)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, all)
    {
        if (str(p, "kind") && strcmp(str(p, "kind"), kind) == 0)
            return str(p, key);
    }
    cr_assert_fail("planted.json has no %s", kind);
    return NULL;
}

static cJSON *list(const char *dir, const char *const *args)
{
    kt_run r;
    kt_kizuna(&r, dir, NULL, args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *a = cJSON_Parse(r.out);
    cr_assert(cJSON_IsArray(a), "%s", r.out);
    kt_run_free(&r);
    return a;
}

/* Every anomaly is a proper one: a score from its threshold (0.5) up, the
 * observed value outside the usual range, a sentence. */
static void proper(const cJSON *a)
{
    double score = num(a, "score"), obs = num(a, "observed"), lo = num(a, "low"), hi = num(a, "high");
    const char *msg = str(a, "message"), *dir = str(a, "direction");
    cr_assert(score >= 0.5 && score < 1, "%s: score %f", msg, score);
    cr_assert(lo <= hi, "%s", msg);
    cr_assert(dir && (strcmp(dir, "up") == 0 ? obs >= hi : obs <= lo), "%s: %g outside %g-%g (%s)", msg, obs, lo, hi,
              dir);
    cr_assert(msg && strlen(msg) > 20, "a sentence");
    cr_assert(num(a, "expected") >= lo && num(a, "expected") <= hi, "%s: expected within its range", msg);
}

static void planted_found_and_quiet_around(int seed)
{
    char *dir = kt_demo_world(1000, seed);
    char *pj = kt_path(dir, "w/planted.json");
    char *text = kt_read(pj, NULL);
    cJSON *plants = cJSON_Parse(text);
    cr_assert(cJSON_IsArray(plants), "planted.json");
    const char *spike = planted(plants, "dau_spike", "date"), *churn = planted(plants, "yearend_churn", "month"),
               *cohort = planted(plants, "cohort_low_tickets", "cohort");
    long spike_day = day_of(spike), churn_month = month_of(churn), cohort_month = month_of(cohort);

    cJSON *all = list(dir, (const char *const[]){ "--db", "k.db", "anomalies", "--all", "--format", "json", NULL });
    int found_spike = 0, found_churn = 0, found_cohort = 0, n = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, all)
    {
        n++;
        proper(a);
        const char *series = str(a, "series"), *grain = str(a, "grain"), *msg = str(a, "message");
        cr_assert(series && grain && msg);
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(a, "id")), "%s: stored, with an id", msg);
        cr_assert_str_eq(str(a, "state"), "open");
        if (strcmp(grain, "day") == 0 && (strcmp(series, "dau") == 0 || strcmp(series, "events") == 0)) {
            long d = day_of(str(a, "date"));
            if (d == spike_day) {
                cr_assert_str_eq(str(a, "direction"), "up", "%s", msg);
                found_spike += strcmp(series, "dau") == 0;
                if (strcmp(series, "dau") == 0)
                    cr_assert_geq(num(a, "observed"), 3 * num(a, "expected"), "%s", msg);
            } else {
                cr_assert(labs(d - spike_day) > 14, "quiet around the spike of %s, but: %s", spike, msg);
            }
        }
        if (strcmp(series, "logo_churn") == 0 || strcmp(series, "revenue_churn") == 0) {
            long m = month_of(str(a, "month"));
            if (m == churn_month && strcmp(series, "logo_churn") == 0) {
                cr_assert_str_eq(str(a, "direction"), "up", "%s", msg);
                found_churn = 1;
            } else {
                cr_assert(labs(m - churn_month) > 3, "quiet around the churn of %s, but: %s", churn, msg);
            }
        }
        if (strncmp(series, "cohort_tickets/", 15) == 0) {
            long m = month_of(str(a, "cohort"));
            if (m == cohort_month && num(a, "age") == 0) {
                cr_assert_str_eq(str(a, "direction"), "down", "%s", msg);
                cr_assert_lt(num(a, "observed"), 0.5 * num(a, "expected"), "%s", msg);
                found_cohort = 1;
            } else {
                cr_assert(labs(m - cohort_month) > 2, "quiet around the cohort of %s, but: %s", cohort, msg);
            }
        }
    }
    cr_assert(found_spike, "seed %d: the active users of %s not found", seed, spike);
    cr_assert(found_churn, "seed %d: the churn of %s not found", seed, churn);
    cr_assert(found_cohort, "seed %d: the cohort of %s not found", seed, cohort);
    /* two years of 190 series: a couple of dozen at most, not a flood */
    cr_assert(n <= 25, "seed %d: %d anomalies", seed, n);
    cJSON_Delete(all);

    /* a period: the spike and the events of its day */
    char from[16], to[16];
    snprintf(from, sizeof from, "%s", spike);
    snprintf(to, sizeof to, "%s", spike);
    all = list(dir, (const char *const[]){ "--db", "k.db", "anomalies", "--from", from, "--to", to, "--format", "json",
                                           NULL });
    int days = 0;
    cJSON_ArrayForEach(a, all)
    {
        /* the months and cohorts that hold the day may be listed too */
        if (str(a, "date")) {
            cr_assert_str_eq(str(a, "date"), spike);
            days++;
        }
    }
    cr_assert_eq(days, 2, "dau and events on %s", spike);
    cJSON_Delete(all);

    /* now: the cohort completed its first 30 days in the last complete month */
    all = list(dir, (const char *const[]){ "--db", "k.db", "anomalies", "--format", "json", NULL });
    int now_cohort = 0;
    cJSON_ArrayForEach(a, all)
    {
        if (str(a, "cohort") && strcmp(str(a, "cohort"), cohort) == 0)
            now_cohort = 1;
        cr_assert(!str(a, "date") || day_of(str(a, "date")) > day_of("2026-10-24"), "now: %s", str(a, "message"));
    }
    cr_assert(now_cohort, "the cohort is news now");
    cJSON_Delete(all);
    cJSON_Delete(plants);
    free(text);
    free(pj);
    kt_rmrf(dir);
    free(dir);
}

Test(anomaly, planted_found_neighbourhood_quiet_seed_42, .timeout = 120)
{
    planted_found_and_quiet_around(42);
}

Test(anomaly, planted_found_neighbourhood_quiet_seed_7, .timeout = 120)
{
    planted_found_and_quiet_around(7);
}

/* The id of the first anomaly of series in a JSON list, and its state. */
static long id_of(const cJSON *all, const char *series, const char **state)
{
    const cJSON *a;
    cJSON_ArrayForEach(a, all)
    {
        if (strcmp(str(a, "series"), series) == 0) {
            *state = str(a, "state");
            return (long)num(a, "id");
        }
    }
    cr_assert_fail("no %s", series);
    return 0;
}

Test(anomaly, stored_once_with_a_state, .timeout = 120)
{
    char *dir = kt_demo_world(1000, 42);
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomalies", "--all", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, " new)") && !kt_contains(r.out, "; 0 new)"), "the first look finds new ones: %s",
              r.out);
    kt_run_free(&r);
    /* again: the same anomalies, nothing new, the same ids */
    cJSON *first = list(dir, (const char *const[]){ "--db", "k.db", "anomalies", "--all", "--format", "json", NULL });
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomalies", "--all", NULL);
    cr_assert(kt_contains(r.out, "; 0 new)"), "%s", r.out);
    kt_run_free(&r);
    const char *state;
    long id = id_of(first, "dau", &state);
    cr_assert_str_eq(state, "open");
    char ids[32];
    snprintf(ids, sizeof ids, "%ld", id);

    /* acknowledged, with a note; then resolved; then open again */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomaly", "ack", ids, "--note", "the training day", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *one = cJSON_Parse(r.out);
    cr_assert_str_eq(str(one, "state"), "acknowledged", "%s", r.out);
    cr_assert_str_eq(str(one, "note"), "the training day");
    cr_assert(str(one, "state_by") && strncmp(str(one, "state_by"), "cli:", 4) == 0);
    cJSON_Delete(one);
    kt_run_free(&r);
    cJSON *again = list(dir, (const char *const[]){ "--db", "k.db", "anomalies", "--all", "--format", "json", NULL });
    cr_assert_eq(id_of(again, "dau", &state), id);
    cr_assert_str_eq(state, "acknowledged", "a new look keeps the state");
    cr_assert_eq(cJSON_GetArraySize(again), cJSON_GetArraySize(first));
    cJSON_Delete(again);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomaly", "resolve", ids, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    one = cJSON_Parse(r.out);
    cr_assert_str_eq(str(one, "state"), "resolved");
    cr_assert_str_eq(str(one, "note"), "the training day", "a state without a note keeps the note");
    cJSON_Delete(one);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomaly", "reopen", ids, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "\"state\":\"open\""), "%s", r.out);
    kt_run_free(&r);

    /* what cannot be done says why, and changes nothing */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomaly", "ack", "99999", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(kt_contains(r.err, "no anomaly 99999"), "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomaly", "ack", "x1", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(kt_contains(r.err, "x1"), "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomaly", "ack", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(kt_contains(r.err, "needs the id"), "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomaly", "ack", ids, ids, NULL);
    cr_assert_eq(r.status, 2);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomaly", "forget", ids, NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(kt_contains(r.err, "forget"), "%s", r.err);
    kt_run_free(&r);
    again = list(dir, (const char *const[]){ "--db", "k.db", "anomalies", "--all", "--format", "json", NULL });
    cr_assert_eq(cJSON_GetArraySize(again), cJSON_GetArraySize(first));
    cJSON_Delete(again);

    /* a look at a part (a filter, other series, another sensitivity) is shown, not stored */
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "anomalies", "--all", "--watch", "dau:3", "--format", "json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cJSON *part = cJSON_Parse(r.out);
    const cJSON *a;
    int unstored = 0;
    cJSON_ArrayForEach(a, part) unstored += cJSON_GetObjectItemCaseSensitive(a, "id") == NULL;
    cr_assert_gt(unstored, 0, "a lower threshold finds more, not stored: %s", r.out);
    cJSON_Delete(part);
    kt_run_free(&r);
    again = list(dir, (const char *const[]){ "--db", "k.db", "anomalies", "--all", "--format", "json", NULL });
    cr_assert_eq(cJSON_GetArraySize(again), cJSON_GetArraySize(first));
    cJSON_Delete(again);
    cJSON_Delete(first);
    kt_rmrf(dir);
    free(dir);
}

Test(anomaly, bad_flags_and_settings, .timeout = 60)
{
    char *dir = kt_demo_world(100, 3);
    static const struct {
        const char *args[12];
        const char *says;
    } cases[] = {
        { { "anomalies", "--sensitivity", "0", NULL }, "--sensitivity 0" },
        { { "anomalies", "--sensitivity", "x", NULL }, "--sensitivity x" },
        { { "anomalies", "--all", "--from", "2026-01-01", NULL }, "--all" },
        { { "anomalies", "--from", "2026-02-01", "--to", "2026-01-01", NULL }, "--from is after --to" },
        { { "anomalies", "--from", "2026-02-30", NULL }, "--from 2026-02-30" },
        { { "anomalies", "--format", "xml", NULL }, "--format" },
        { { "anomalies", "--watch", "dau,nosuch", NULL }, "'nosuch'" },
        { { "anomalies", "--watch", "dau:-1", NULL }, "threshold" },
        { { "anomalies", "--timezone", "Mars/Base", NULL }, "--timezone" },
        { { "anomalies", "extra", NULL }, "'extra'" },
        { { "--set", "anomaly.holidays=12-24..13-03", "anomalies", NULL }, "anomaly.holidays" },
        { { "--set", "anomaly.watch=", "anomalies", NULL }, "anomaly.watch" },
        { { "--set", "anomaly.sensitivity_percent=5", "anomalies", NULL }, "anomaly.sensitivity_percent" },
        { { "anomaly", NULL }, "subcommand" },
        { { "anomaly", "scan", NULL }, "--series" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[16] = { "--db", "k.db" };
        size_t n = 2;
        for (size_t k = 0; cases[i].args[k]; k++)
            args[n++] = cases[i].args[k];
        args[n] = NULL;
        kt_run r;
        kt_kizuna(&r, dir, NULL, args);
        cr_assert_eq(r.status, 2, "case %zu: status %d: %s", i, r.status, r.err);
        cr_assert(kt_contains(r.err, cases[i].says), "case %zu says '%s': %s", i, cases[i].says, r.err);
        kt_run_free(&r);
    }
    /* every command explains itself */
    kt_run r;
    kt_kizunav(&r, dir, NULL, "anomalies", "--help", NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(kt_contains(r.out, "cohort_tickets") && kt_contains(r.out, "anomaly.holidays"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "anomaly", "--help", NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(kt_contains(r.out, "ack") && kt_contains(r.out, "scan"), "%s", r.out);
    kt_run_free(&r);
    kt_rmrf(dir);
    free(dir);
}

/* ---- anomaly scan ------------------------------------------------------------------- */

/* Eight weeks of hourly values with a daily season (busy by day) and a small
 * wobble, one spike at hour `spike`. */
static void hourly(const char *path, int spike)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "timestamp,value\n");
    long t0 = 1767225600; /* 2026-01-01T00:00:00Z */
    for (int h = 0; h < 24 * 56; h++) {
        int hod = h % 24;
        double v = (hod >= 8 && hod < 18 ? 200 : 40) + ((h * 7919) % 13) - 6;
        if (h == spike)
            v *= 4;
        if (h == 500)
            continue; /* a gap */
        long t = t0 + 3600L * h;
        fprintf(f, "%ld,%g\n", t, v);
    }
    fclose(f);
}

Test(anomaly, scan_finds_the_season_and_scores_every_row, .timeout = 60)
{
    char *dir = kt_tmpdir();
    char *in = kt_path(dir, "s.csv"), *out = kt_path(dir, "o.csv");
    int spike = 24 * 40 + 11;
    hourly(in, spike);
    kt_run r;
    kt_kizunav(&r, dir, NULL, "anomaly", "scan", "--series", "s.csv", "--output", "o.csv", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.err, "season: 24 steps"), "%s", r.err);
    cr_assert(kt_contains(r.err, "a step of 3600 s"), "%s", r.err);
    kt_run_free(&r);
    char *text = kt_read(out, NULL);
    cr_assert_not_null(text);
    char *cur = text, *line = kt_next_line(&cur);
    cr_assert_str_eq(line, "timestamp,value,anomaly_score");
    int rows = 0, high = 0, spike_found = 0;
    while ((line = kt_next_line(&cur))) {
        char *f[4];
        cr_assert_eq(kt_fields(line, f, 4), 3, "%s", line);
        double score = strtod(f[2], NULL);
        cr_assert(score >= 0 && score < 1, "%s", line);
        if (score >= 0.5) {
            high++;
            spike_found |= strcmp(f[0], "2026-02-10T11:00:00Z") == 0;
        }
        rows++;
    }
    cr_assert_eq(rows, 24 * 56 - 1, "every row scored");
    cr_assert(spike_found, "the spike at 2026-02-10T11:00 scores above the threshold");
    cr_assert(high <= 3, "%d rows above the threshold", high);
    free(text);

    /* a daily series in other columns, judged one way only */
    FILE *f = fopen(in, "w");
    cr_assert_not_null(f);
    fprintf(f, "day,orders,note\n");
    for (int d = 0; d < 120; d++) {
        long t = 1767225600L + 86400L * d;
        int wd = (int)((t / 86400 + 3) % 7); /* 0 = Monday */
        int v = wd >= 5 ? 20 : 100 + (d * 37) % 9;
        if (d == 100)
            v = 5; /* a dip */
        fprintf(f, "%ld,%d,x\n", t, v);
    }
    fclose(f);
    kt_kizunav(&r, dir, NULL, "anomaly", "scan", "--series", "s.csv", "--output", "o.csv", "--time-col", "day",
               "--value-col", "orders", "--direction", "up", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.err, "season: 7 steps"), "%s", r.err);
    cr_assert(kt_contains(r.err, "0 above the threshold"), "only rises count: %s", r.err);
    kt_run_free(&r);
    kt_rmrf(dir);
    free(in);
    free(out);
    free(dir);
}

Test(anomaly, scan_reports_bad_rows_by_line_and_writes_nothing, .timeout = 30)
{
    char *dir = kt_tmpdir();
    char *in = kt_path(dir, "s.csv"), *out = kt_path(dir, "o.csv");
    kt_write(in,
             "timestamp,value\n"
             "2026-01-01T00:00:00Z,1\n"
             "2026-01-02T00:00:00Z,2\n"
             "yesterday,3\n"
             "2026-01-04T00:00:00Z,4\n"
             "2026-01-05T00:00:00Z,lots\n"
             "2026-01-06T00:00:00Z,6\n"
             "2026-01-05T12:00:00Z,7\n",
             (size_t)-1);
    kt_run r;
    kt_kizunav(&r, dir, NULL, "anomaly", "scan", "--series", "s.csv", "--output", "o.csv", NULL);
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert(kt_contains(r.err, "s.csv:4: timestamp"), "%s", r.err);
    cr_assert(kt_contains(r.err, "s.csv:6: value"), "%s", r.err);
    cr_assert(kt_contains(r.err, "s.csv:8: timestamp"), "%s", r.err);
    kt_run_free(&r);
    struct stat sb;
    cr_assert_neq(stat(out, &sb), 0, "nothing written");
    /* a missing column, a missing file */
    kt_kizunav(&r, dir, NULL, "anomaly", "scan", "--series", "s.csv", "--output", "o.csv", "--value-col", "amount",
               NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(kt_contains(r.err, "amount"), "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "anomaly", "scan", "--series", "none.csv", "--output", "o.csv", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(kt_contains(r.err, "none.csv"), "%s", r.err);
    kt_run_free(&r);
    /* an existing output is left as it was when the input is bad */
    kt_write(out, "old\n", (size_t)-1);
    kt_kizunav(&r, dir, NULL, "anomaly", "scan", "--series", "s.csv", "--output", "o.csv", NULL);
    cr_assert_eq(r.status, 1);
    kt_run_free(&r);
    char *kept = kt_read(out, NULL);
    cr_assert_str_eq(kept, "old\n");
    free(kept);
    /* bad flags */
    kt_kizunav(&r, dir, NULL, "anomaly", "scan", "--series", "s.csv", "--output", "o.csv", "--threshold", "-2", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(kt_contains(r.err, "--threshold"), "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "anomaly", "scan", "--series", "s.csv", "--output", "o.csv", "--direction", "sideways",
               NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(kt_contains(r.err, "sideways"), "%s", r.err);
    kt_run_free(&r);
    kt_rmrf(dir);
    free(in);
    free(out);
    free(dir);
}
