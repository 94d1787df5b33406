/*
 * demo_test.c - the demo world (src/demo/): same options, same bytes; the files
 * keep the import contract (headers, order, windows, references); the three
 * planted abnormalities are really in the data, measured from the CSV files
 * the way an analyst would; bad options exit 2.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/error.h"
#include "core/text.h"
#include "core/time.h"
#include "demo/demo.h"
#include "../support/support.h"

static const char *const files[] = {
    "accounts.csv", "contacts.csv", "subscriptions.csv", "events.csv", "tickets.csv",
    "nps.csv",      "activities.csv", "spend.csv",       "planted.json",
};
#define NFILES (sizeof files / sizeof files[0])

static kz_day day_of(const char *s)
{
    kz_day d;
    cr_assert_eq(kz_parse_date(&d, s, 10), 0, "bad date '%.10s'", s);
    return d;
}

static kz_day end_default(void)
{
    return (kz_day)kz_days_from_civil(2026, 10, 31);
}

static void generate(const char *dir, int64_t accounts, int64_t days, uint64_t seed, kz_demo_stats *st)
{
    kz_demo_opts o;
    kz_demo_stats tmp;
    kz_demo_defaults(&o);
    o.out_dir = dir;
    o.accounts = accounts;
    o.days = days;
    o.seed = seed;
    int rc = kz_demo_generate(st ? st : &tmp, &o);
    cr_assert_eq(rc, 0, "kz_demo_generate: %s", kz_error_msg());
}

/* ---- a small RFC 4180 reader over a whole file ------------------------------ */

typedef struct csv {
    char *data, *p, *end, *scratch, *o;
} csv;

static void csv_open(csv *c, const char *dir, const char *name)
{
    size_t n;
    char *path = kt_path(dir, name);
    c->data = kt_read(path, &n);
    cr_assert_not_null(c->data, "cannot read %s", path);
    free(path);
    c->p = c->data;
    c->end = c->data + n;
    c->scratch = malloc(n + 1);
    cr_assert_not_null(c->scratch);
}

static void csv_close(csv *c)
{
    free(c->data);
    free(c->scratch);
}

/* The next record's fields (NUL-terminated, valid until the next call); returns
 * the number of fields, 0 at the end. */
static int csv_next(csv *c, char **f, int maxf)
{
    int n = 0;
    if (c->p >= c->end)
        return 0;
    c->o = c->scratch;
    for (;;) {
        cr_assert_lt(n, maxf, "too many fields");
        f[n++] = c->o;
        if (c->p < c->end && *c->p == '"') {
            c->p++;
            for (;;) {
                cr_assert_lt(c->p, c->end, "unterminated quote");
                if (*c->p == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        *c->o++ = '"';
                        c->p += 2;
                        continue;
                    }
                    c->p++;
                    break;
                }
                *c->o++ = *c->p++;
            }
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\n') {
                cr_assert_neq(*c->p, '"', "quote inside an unquoted field");
                cr_assert_neq(*c->p, '\r', "CR in the file");
                *c->o++ = *c->p++;
            }
        }
        *c->o++ = '\0';
        if (c->p >= c->end || *c->p == '\n') {
            c->p++;
            return n;
        }
        cr_assert_eq(*c->p, ',', "text after a closing quote");
        c->p++;
    }
}

/* The header line of a file, checked. */
static void expect_header(const char *dir, const char *name, const char *want)
{
    csv c;
    char *f[16];
    char line[512] = "";
    size_t len = 0;
    csv_open(&c, dir, name);
    int n = csv_next(&c, f, 16);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", i ? "," : "", f[i]);
    cr_assert_str_eq(line, want, "%s header", name);
    csv_close(&c);
}

static int64_t acc_index(const char *id)
{
    int64_t v;
    cr_assert_eq(strncmp(id, "acc_", 4), 0, "account id %s", id);
    cr_assert_eq(kz_parse_int(&v, id + 4, strlen(id + 4), 1, 10000000), 0, "account id %s", id);
    return v - 1;
}

/* Subscriptions per account, as read back. */
typedef struct sub {
    kz_day start, end; /* end: INT32_MAX when empty */
    int addon;
} sub;

typedef struct subs {
    sub *v;
    int *off, *cnt; /* per account */
    int64_t n, naccounts;
} subs;

static void read_subs(subs *s, const char *dir, int64_t naccounts)
{
    csv c;
    char *f[16];
    int64_t cap = 1024, prev_acc = -1;
    kz_day prev_start = 0;
    memset(s, 0, sizeof *s);
    s->naccounts = naccounts;
    s->v = malloc((size_t)cap * sizeof *s->v);
    s->off = calloc((size_t)naccounts, sizeof *s->off);
    s->cnt = calloc((size_t)naccounts, sizeof *s->cnt);
    csv_open(&c, dir, "subscriptions.csv");
    csv_next(&c, f, 16);
    while (csv_next(&c, f, 16)) {
        int64_t a = acc_index(f[1]);
        double mrr;
        int64_t q;
        cr_assert(a >= 0 && a < naccounts);
        cr_assert(a >= prev_acc, "subscriptions not ordered by account");
        if (s->n == cap)
            s->v = realloc(s->v, (size_t)(cap *= 2) * sizeof *s->v);
        sub *x = &s->v[s->n];
        x->start = day_of(f[5]);
        x->end = f[6][0] ? day_of(f[6]) : INT32_MAX;
        x->addon = strcmp(f[2], "addon") == 0;
        cr_assert(x->end > x->start, "%s: end_date %s <= start_date %s", f[0], f[6], f[5]);
        cr_assert(a != prev_acc || x->start >= prev_start, "%s: not ordered by start", f[0]);
        cr_assert_eq(kz_parse_double(&mrr, f[3], strlen(f[3])), 0);
        cr_assert(mrr > 0, "%s: mrr %s", f[0], f[3]);
        cr_assert(strchr(f[3], '.') && strlen(strchr(f[3], '.')) == 3, "%s: mrr %s needs two decimals", f[0], f[3]);
        cr_assert_eq(kz_parse_int(&q, f[4], strlen(f[4]), 1, 100000), 0, "%s: quantity %s", f[0], f[4]);
        cr_assert(x->end == INT32_MAX || x->end <= end_default(), "%s: end_date after the end", f[0]);
        if (a != prev_acc)
            s->off[a] = (int)s->n;
        s->cnt[a]++;
        prev_acc = a;
        prev_start = x->start;
        s->n++;
    }
    csv_close(&c);
}

static void subs_free(subs *s)
{
    free(s->v);
    free(s->off);
    free(s->cnt);
}

/* 1 when account a pays on day d (a base subscription covers it). */
static int paying(const subs *s, int64_t a, kz_day d)
{
    for (int i = 0; i < s->cnt[a]; i++) {
        const sub *x = &s->v[s->off[a] + i];
        if (!x->addon && x->start <= d && d < x->end)
            return 1;
    }
    return 0;
}

static kz_day first_start(const subs *s, int64_t a)
{
    return s->cnt[a] ? s->v[s->off[a]].start : INT32_MAX;
}

/* ---- determinism --------------------------------------------------------------- */

Test(demo, same_seed_same_bytes)
{
    char *d1 = kt_tmpdir(), *d2 = kt_tmpdir(), *d3 = kt_tmpdir();
    generate(d1, 150, 200, 7, NULL);
    generate(d2, 150, 200, 7, NULL);
    generate(d3, 150, 200, 8, NULL);
    for (size_t i = 0; i < NFILES; i++) {
        size_t n1, n2;
        char *p1 = kt_path(d1, files[i]), *p2 = kt_path(d2, files[i]);
        char *a = kt_read(p1, &n1), *b = kt_read(p2, &n2);
        cr_assert_not_null(a, "%s missing", files[i]);
        cr_assert_not_null(b, "%s missing", files[i]);
        cr_assert(n1 == n2 && memcmp(a, b, n1) == 0, "%s differs between two runs", files[i]);
        free(a);
        free(b);
        free(p1);
        free(p2);
    }
    const char *differ[] = { "accounts.csv", "events.csv", "subscriptions.csv" };
    for (size_t i = 0; i < 3; i++) {
        size_t n1, n3;
        char *p1 = kt_path(d1, differ[i]), *p3 = kt_path(d3, differ[i]);
        char *a = kt_read(p1, &n1), *c = kt_read(p3, &n3);
        cr_assert(n1 != n3 || memcmp(a, c, n1) != 0, "%s is the same for another seed", differ[i]);
        free(a);
        free(c);
        free(p1);
        free(p3);
    }
    kt_rmrf(d1);
    kt_rmrf(d2);
    kt_rmrf(d3);
}

Test(demo, overwrites_and_leaves_no_temporary_files)
{
    char *d = kt_tmpdir();
    char *out = kt_path(d, "a/b/c");
    generate(out, 30, 120, 1, NULL);
    generate(out, 30, 120, 2, NULL); /* over the old files */
    char *cmd = NULL;
    size_t n;
    char *planted = kt_path(out, "planted.json");
    cr_assert_not_null(kt_read(planted, &n));
    FILE *p;
    cmd = malloc(strlen(out) + 64);
    snprintf(cmd, strlen(out) + 64, "ls -A '%s' | wc -l", out);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    int count = 0;
    cr_assert_eq(fscanf(p, "%d", &count), 1);
    pclose(p);
    cr_assert_eq(count, (int)NFILES, "expected exactly the %d files, found %d entries", (int)NFILES, count);
    free(cmd);
    kt_rmrf(d);
}

/* ---- the import contract ------------------------------------------------------------ */

Test(demo, every_file_has_the_exact_header)
{
    char *d = kt_tmpdir();
    generate(d, 60, 150, 3, NULL);
    expect_header(d, "accounts.csv",
                  "account_id,name,domain,industry,owner,created_at,region,employees,strategic,onboarded_at");
    expect_header(d, "contacts.csv", "contact_id,account_id,email,name,role,champion");
    expect_header(d, "subscriptions.csv", "subscription_id,account_id,plan,mrr,quantity,start_date,end_date");
    expect_header(d, "events.csv", "ts,account_id,user_id,event,value");
    expect_header(d, "tickets.csv",
                  "ticket_id,account_id,opened_at,first_response_at,resolved_at,category,priority,subject,body");
    expect_header(d, "nps.csv", "response_id,account_id,contact_id,ts,score,comment");
    expect_header(d, "activities.csv", "activity_id,account_id,ts,kind,direction,subject,body,author");
    expect_header(d, "spend.csv", "month,channel,amount");
    kt_rmrf(d);
}

Test(demo, files_keep_the_contract)
{
    enum { N = 400, DAYS = 365 };
    char *d = kt_tmpdir();
    char *f[16];
    csv c;
    subs s;
    kz_day end = end_default(), w0 = end - DAYS + 1;
    generate(d, N, DAYS, 11, NULL);
    read_subs(&s, d, N);

    /* accounts: ids in order, custom fields typed, some names quoted */
    int64_t i = 0, quoted = 0, japanese = 0;
    csv_open(&c, d, "accounts.csv");
    csv_next(&c, f, 16);
    while (csv_next(&c, f, 16) == 10) {
        cr_assert_eq(acc_index(f[0]), i++);
        cr_assert(f[1][0] && f[2][0], "name and domain");
        for (const char *p = f[2]; *p; p++)
            cr_assert((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-', "domain %s", f[2]);
        int64_t emp;
        cr_assert_eq(kz_parse_int(&emp, f[7], strlen(f[7]), 1, 10000000), 0, "employees %s", f[7]);
        cr_assert(strcmp(f[8], "true") == 0 || strcmp(f[8], "false") == 0);
        cr_assert(strcmp(f[6], "JP") == 0 || strcmp(f[6], "APAC") == 0 || strcmp(f[6], "EMEA") == 0 ||
                  strcmp(f[6], "NA") == 0);
        day_of(f[5]);
        if (f[9][0])
            cr_assert(day_of(f[9]) >= day_of(f[5]) && day_of(f[9]) <= end, "onboarded_at %s", f[9]);
        quoted += strchr(f[1], ',') || strchr(f[1], '"');
        japanese += strstr(f[1], "会社") != NULL;
    }
    csv_close(&c);
    cr_assert_eq(i, N);
    cr_assert_geq(quoted, 2, "names with a comma or a quote");
    cr_assert(japanese > N / 8 && japanese < N / 2, "%lld Japanese names of %d", (long long)japanese, N);

    /* contacts: 1..5 per account, at most one champion; remembered for NPS */
    int *ncon = calloc(N, sizeof *ncon), *champ = calloc(N, sizeof *champ);
    int64_t ncontacts = 0;
    int64_t *con_acc = malloc(6 * N * sizeof *con_acc);
    csv_open(&c, d, "contacts.csv");
    csv_next(&c, f, 16);
    while (csv_next(&c, f, 16) == 6) {
        int64_t a = acc_index(f[1]);
        ncon[a]++;
        champ[a] += strcmp(f[5], "true") == 0;
        cr_assert(strchr(f[2], '@'), "email %s", f[2]);
        int64_t k;
        cr_assert_eq(kz_parse_int(&k, f[0] + 4, strlen(f[0] + 4), 1, 6 * N), 0);
        con_acc[k - 1] = a;
        ncontacts++;
    }
    csv_close(&c);
    int none = 0;
    for (int a = 0; a < N; a++) {
        cr_assert(ncon[a] >= 1 && ncon[a] <= 5, "acc %d has %d contacts", a, ncon[a]);
        cr_assert(champ[a] <= 1, "acc %d has %d champions", a, champ[a]);
        none += champ[a] == 0;
    }
    cr_assert(none > 0, "some accounts have no champion");

    /* events: sorted, inside the window, only while paying, valid values */
    char prev[32] = "";
    int64_t nev = 0;
    csv_open(&c, d, "events.csv");
    csv_next(&c, f, 16);
    while (csv_next(&c, f, 16) == 5) {
        cr_assert_eq(strlen(f[0]), 20, "ts %s", f[0]);
        cr_assert_eq(f[0][19], 'Z');
        cr_assert_geq(strcmp(f[0], prev), 0, "events not sorted: %s after %s", f[0], prev);
        memcpy(prev, f[0], 21);
        kz_day day = day_of(f[0]);
        cr_assert(day >= w0 && day <= end, "event outside the window: %s", f[0]);
        int64_t a = acc_index(f[1]);
        cr_assert(paying(&s, a, day), "event of %s on %s without an active subscription", f[1], f[0]);
        cr_assert_eq(strncmp(f[2] + 2, f[1] + 4, strlen(f[1] + 4)), 0, "user %s of %s", f[2], f[1]);
        int64_t v;
        cr_assert_eq(kz_parse_int(&v, f[4], strlen(f[4]), 1, 1000000), 0, "value %s", f[4]);
        if (strcmp(f[3], "api.call") == 0)
            cr_assert(v <= 100);
        nev++;
    }
    csv_close(&c);
    cr_assert_gt(nev, 10000);

    /* tickets: categories, priorities, times in order */
    int64_t empty_cat = 0, nt = 0;
    csv_open(&c, d, "tickets.csv");
    csv_next(&c, f, 16);
    while (csv_next(&c, f, 16) == 9) {
        acc_index(f[1]);
        kz_time o, r;
        cr_assert_eq(kz_parse_time(&o, NULL, f[2], strlen(f[2])), 0);
        cr_assert(kz_time_day(o) <= end);
        if (f[3][0]) {
            cr_assert_eq(kz_parse_time(&r, NULL, f[3], strlen(f[3])), 0);
            cr_assert(r >= o && kz_time_day(r) <= end);
        }
        if (f[4][0]) {
            cr_assert(f[3][0], "resolved without a response");
            cr_assert_eq(kz_parse_time(&r, NULL, f[4], strlen(f[4])), 0);
            cr_assert(kz_time_day(r) <= end);
        }
        cr_assert(!f[5][0] || strcmp(f[5], "functional") == 0 || strcmp(f[5], "operational") == 0);
        cr_assert(strcmp(f[6], "low") == 0 || strcmp(f[6], "normal") == 0 || strcmp(f[6], "high") == 0 ||
                  strcmp(f[6], "urgent") == 0);
        cr_assert(f[7][0] && f[8][0], "subject and body");
        empty_cat += !f[5][0];
        nt++;
    }
    csv_close(&c);
    cr_assert(nt > 100 && empty_cat > nt / 30 && empty_cat < nt / 5, "%lld of %lld without category",
              (long long)empty_cat, (long long)nt);

    /* NPS: scores 0..10, the contact belongs to the account */
    int64_t nn = 0;
    csv_open(&c, d, "nps.csv");
    csv_next(&c, f, 16);
    while (csv_next(&c, f, 16) == 6) {
        int64_t a = acc_index(f[1]), sc, k;
        cr_assert_eq(kz_parse_int(&sc, f[4], strlen(f[4]), 0, 10), 0, "score %s", f[4]);
        if (f[2][0]) {
            cr_assert_eq(kz_parse_int(&k, f[2] + 4, strlen(f[2] + 4), 1, ncontacts), 0, "contact %s", f[2]);
            cr_assert_eq(con_acc[k - 1], a, "%s is not a contact of %s", f[2], f[1]);
        }
        nn++;
    }
    csv_close(&c);
    cr_assert_gt(nn, 50);

    /* activities: kinds, direction empty exactly for notes */
    csv_open(&c, d, "activities.csv");
    csv_next(&c, f, 16);
    while (csv_next(&c, f, 16) == 8) {
        acc_index(f[1]);
        int note = strcmp(f[3], "note") == 0;
        cr_assert(note || strcmp(f[3], "email") == 0 || strcmp(f[3], "call") == 0 || strcmp(f[3], "meeting") == 0);
        if (note)
            cr_assert_str_empty(f[4]);
        else
            cr_assert(strcmp(f[4], "inbound") == 0 || strcmp(f[4], "outbound") == 0, "direction %s", f[4]);
        cr_assert(f[7][0], "author");
    }
    csv_close(&c);

    /* spend: every month of the history, in order */
    kz_month first = kz_day_month(w0 - 365), m = first - 1;
    csv_open(&c, d, "spend.csv");
    csv_next(&c, f, 16);
    while (csv_next(&c, f, 16) == 3) {
        kz_month x;
        double amount;
        cr_assert_eq(kz_parse_month(&x, f[0], strlen(f[0])), 0);
        cr_assert(x == m || x == m + 1, "spend month %s out of order", f[0]);
        m = x;
        cr_assert_eq(kz_parse_double(&amount, f[2], strlen(f[2])), 0);
        cr_assert_gt(amount, 0);
    }
    csv_close(&c);
    cr_assert_eq(m, kz_day_month(end), "spend ends in %d", (int)m);

    free(ncon);
    free(champ);
    free(con_acc);
    subs_free(&s);
    kt_rmrf(d);
}

/* ---- planted.json and the planted effects ---------------------------------------------- */

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* Logo churn of month m as in the metrics: paying on its first day and not on
 * the next month's first day. */
static double logo_churn(const subs *s, kz_month m, int64_t *base_out)
{
    kz_day ms = kz_month_first_day(m), me = kz_month_first_day(m + 1);
    int64_t base = 0, churned = 0;
    for (int64_t a = 0; a < s->naccounts; a++) {
        if (!paying(s, a, ms))
            continue;
        base++;
        churned += !paying(s, a, me);
    }
    *base_out = base;
    return base ? (double)churned / (double)base : 0;
}

Test(demo, planted_json_lists_the_three_kinds)
{
    char *d = kt_tmpdir();
    kz_demo_stats st;
    generate(d, 100, 200, 5, &st);
    char *path = kt_path(d, "planted.json");
    char *text = kt_read(path, NULL);
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root, "planted.json does not parse");
    cr_assert(cJSON_IsArray(root));
    cr_assert_eq(cJSON_GetArraySize(root), 3);
    const char *kinds[] = { "dau_spike", "yearend_churn", "cohort_low_tickets" };
    const char *keys[] = { "date", "month", "cohort" };
    for (int k = 0; k < 3; k++) {
        cJSON *o = cJSON_GetArrayItem(root, k);
        cr_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind")), kinds[k]);
        const char *when = cJSON_GetStringValue(cJSON_GetObjectItem(o, keys[k]));
        cr_assert_not_null(when, "%s has no %s", kinds[k], keys[k]);
        kz_month m;
        kz_day dd;
        if (k == 0)
            cr_assert_eq(kz_parse_date(&dd, when, strlen(when)), 0);
        else
            cr_assert_eq(kz_parse_month(&m, when, strlen(when)), 0);
        cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(o, "factor")));
        const char *desc = cJSON_GetStringValue(cJSON_GetObjectItem(o, "description"));
        cr_assert(desc && strlen(desc) > 20);
    }
    /* the spike is a Tuesday or Wednesday 60..90 days before the end */
    kz_day spike = day_of(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(root, 0), "date")));
    cr_assert(kz_weekday(spike) == 1 || kz_weekday(spike) == 2);
    cr_assert(spike >= end_default() - 90 && spike <= end_default() - 60);
    cr_assert_eq(spike, st.spike_day);
    cJSON_Delete(root);
    free(text);
    free(path);
    kt_rmrf(d);
}

Test(demo, planted_effects_are_in_the_data, .timeout = 60)
{
    enum { N = 1000, DAYS = 730 };
    char *d = kt_tmpdir();
    kz_demo_stats st;
    char *f[16];
    csv c;
    subs s;
    generate(d, N, DAYS, 19, &st);
    read_subs(&s, d, N);

    char *path = kt_path(d, "planted.json");
    char *text = kt_read(path, NULL);
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root);
    const char *sd = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(root, 0), "date"));
    const char *sm = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(root, 1), "month"));
    const char *sc = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(root, 2), "cohort"));
    kz_day spike = day_of(sd);
    kz_month dec, cohort;
    cr_assert_eq(kz_parse_month(&dec, sm, 7), 0);
    cr_assert_eq(kz_parse_month(&cohort, sc, 7), 0);
    cr_assert_eq(dec % 12, 11, "%s is not a December", sm);

    /* 1. DAU (distinct users a day) on the spike day against the median of the
     * same weekday. Users of a day are counted with a per-day stamp. */
    kz_day end = end_default(), w0 = end - DAYS + 1;
    int64_t *dau = calloc(DAYS, sizeof *dau);
    int32_t *stamp = NULL;
    int64_t nstamp = 0;
    csv_open(&c, d, "events.csv");
    csv_next(&c, f, 16);
    while (csv_next(&c, f, 16) == 5) {
        /* u_AAAAA_UUU: account and user number */
        char *us = strrchr(f[2], '_');
        int64_t a = acc_index(f[1]), u;
        cr_assert_eq(kz_parse_int(&u, us + 1, strlen(us + 1), 1, 100000), 0);
        int64_t key = a * 10000 + u;
        if (key >= nstamp) {
            int64_t n = (key + 1) * 2;
            stamp = realloc(stamp, (size_t)n * sizeof *stamp);
            for (int64_t k = nstamp; k < n; k++)
                stamp[k] = -1;
            nstamp = n;
        }
        int32_t day = day_of(f[0]) - w0;
        if (stamp[key] != day) {
            stamp[key] = day;
            dau[day]++;
        }
    }
    csv_close(&c);
    int64_t same[DAYS / 7 + 2];
    int ns = 0;
    for (kz_day x = w0; x <= end; x++)
        if (kz_weekday(x) == kz_weekday(spike) && x != spike)
            same[ns++] = dau[x - w0];
    qsort(same, (size_t)ns, sizeof same[0], cmp_i64);
    double median = (double)same[ns / 2];
    double spike_ratio = (double)dau[spike - w0] / median;
    cr_assert_geq(spike_ratio, 4.0, "DAU on %s is %lld, %.2fx the median %s", sd, (long long)dau[spike - w0],
                  spike_ratio, "of its weekday");
    cr_assert_eq(dau[spike - w0], (int64_t)st.spike_dau);

    /* 2. the planted December's logo churn against earlier Decembers: pooled
     * over all of them (weighted by paying accounts), and as the plain mean of
     * those with at least 100 paying accounts */
    int64_t base;
    double planted = logo_churn(&s, dec, &base);
    cr_assert_gt(base, 200);
    int64_t pb = 0, n100 = 0;
    double pc = 0, mean100 = 0;
    for (kz_month m = dec - 12; kz_month_first_day(m) >= w0 - 365; m -= 12) {
        double r = logo_churn(&s, m, &base);
        pb += base;
        pc += r * (double)base;
        if (base >= 100) {
            mean100 += r;
            n100++;
        }
    }
    cr_assert_geq(n100, 1, "no earlier December to compare with");
    double pooled = pc / (double)pb;
    mean100 /= (double)n100;
    cr_assert_geq(planted / pooled, 1.3, "December churn %.4f vs earlier %.4f", planted, pooled);
    cr_assert_geq(planted / mean100, 1.3, "December churn %.4f vs earlier %.4f", planted, mean100);
    /* and it is the highest month of the history */
    for (kz_month m = kz_day_month(w0 - 365); kz_month_first_day(m + 1) <= end; m++) {
        double r = logo_churn(&s, m, &base);
        if (base >= 100 && m != dec)
            cr_assert_lt(r, planted, "month %d churns %.4f, more than the planted %.4f", (int)m, r, planted);
    }

    /* 3. first-paid-month tickets per account of the planted cohort against the
     * previous six cohorts */
    int64_t cnt[7] = { 0 }, tk[7] = { 0 };
    for (int64_t a = 0; a < N; a++) {
        kz_day fs = first_start(&s, a);
        if (fs == INT32_MAX)
            continue;
        kz_month k = cohort - kz_day_month(fs);
        if (k >= 0 && k <= 6)
            cnt[k]++;
    }
    csv_open(&c, d, "tickets.csv");
    csv_next(&c, f, 16);
    while (csv_next(&c, f, 16) == 9) {
        int64_t a = acc_index(f[1]);
        kz_day fs = first_start(&s, a);
        kz_month k = cohort - kz_day_month(fs);
        if (k >= 0 && k <= 6 && kz_day_month(day_of(f[2])) == kz_day_month(fs))
            tk[k]++;
    }
    csv_close(&c);
    double prev = 0;
    for (int k = 1; k <= 6; k++) {
        cr_assert_gt(cnt[k], 10, "cohort -%d has %lld accounts", k, (long long)cnt[k]);
        prev += (double)tk[k] / (double)cnt[k] / 6;
    }
    cr_assert_gt(cnt[0], 15, "the planted cohort has %lld accounts", (long long)cnt[0]);
    double ratio = ((double)tk[0] / (double)cnt[0]) / prev;
    cr_assert_leq(ratio, 0.5, "cohort %s: %.3f tickets per account vs %.3f", sc, (double)tk[0] / cnt[0], prev);

    cJSON_Delete(root);
    free(text);
    free(path);
    free(dau);
    free(stamp);
    subs_free(&s);
    kt_rmrf(d);
}

/* ---- options ------------------------------------------------------------------------- */

Test(demo, check_names_the_option)
{
    kz_demo_opts o;
    kz_demo_defaults(&o);
    cr_assert_eq(kz_demo_check(&o), 0);
    o.accounts = 0;
    cr_assert_eq(kz_demo_check(&o), KZ_EINVALID);
    cr_assert(kt_contains(kz_error_msg(), "--accounts"), "%s", kz_error_msg());
    kz_demo_defaults(&o);
    o.days = 119;
    cr_assert_eq(kz_demo_check(&o), KZ_EINVALID);
    cr_assert(kt_contains(kz_error_msg(), "--days"), "%s", kz_error_msg());
    o.days = 3651;
    cr_assert_eq(kz_demo_check(&o), KZ_EINVALID);
    kz_demo_defaults(&o);
    o.out_dir = "";
    cr_assert_eq(kz_demo_check(&o), KZ_EINVALID);
    cr_assert(kt_contains(kz_error_msg(), "--out"), "%s", kz_error_msg());
}

static int run_cli(const char *a1, const char *a2, const char *a3)
{
    char *argv[8];
    int argc = 0;
    argv[argc++] = (char *)"kizuna";
    argv[argc++] = (char *)"demo";
    argv[argc++] = (char *)a1;
    if (a2)
        argv[argc++] = (char *)a2;
    if (a3)
        argv[argc++] = (char *)a3;
    argv[argc] = NULL;
    return kz_cli_main(argc, argv);
}

Test(demo, bad_flags_exit_two, .init = cr_redirect_stderr)
{
    char *d = kt_tmpdir();
    char *out = kt_path(d, "never");
    cr_assert_eq(run_cli("--accounts", "0", NULL), KZ_EXIT_USAGE);
    cr_assert_eq(run_cli("--accounts", "1000001", NULL), KZ_EXIT_USAGE);
    cr_assert_eq(run_cli("--accounts", "ten", NULL), KZ_EXIT_USAGE);
    cr_assert_eq(run_cli("--days", "119", NULL), KZ_EXIT_USAGE);
    cr_assert_eq(run_cli("--days", "3651", NULL), KZ_EXIT_USAGE);
    cr_assert_eq(run_cli("--end", "2026-13-01", NULL), KZ_EXIT_USAGE);
    cr_assert_eq(run_cli("--end", "1900-01-01", NULL), KZ_EXIT_USAGE);
    cr_assert_eq(run_cli("--seed", "-1", NULL), KZ_EXIT_USAGE);
    cr_assert_eq(run_cli("--out", "", NULL), KZ_EXIT_USAGE);
    cr_assert_eq(run_cli("--bogus", NULL, NULL), KZ_EXIT_USAGE);
    cr_assert_eq(run_cli("--out", out, "extra"), KZ_EXIT_USAGE);
    cr_assert_null(kt_read(kt_path(out, "accounts.csv"), NULL), "a usage error wrote files");
    kt_rmrf(d);
}

Test(demo, cli_writes_the_world, .init = cr_redirect_stdout)
{
    char *d = kt_tmpdir();
    char *argv[] = { (char *)"kizuna", (char *)"demo", (char *)"--out", d, (char *)"--accounts", (char *)"40",
                     (char *)"--days", (char *)"120", (char *)"--end", (char *)"2025-03-31", NULL };
    cr_assert_eq(kz_cli_main(10, argv), KZ_EXIT_OK);
    for (size_t i = 0; i < NFILES; i++) {
        char *p = kt_path(d, files[i]);
        char *t = kt_read(p, NULL);
        cr_assert_not_null(t, "%s missing", files[i]);
        free(t);
        free(p);
    }
    kt_rmrf(d);
}
