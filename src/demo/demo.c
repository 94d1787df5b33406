/*
 * demo.c - the demo world generator (`kizuna demo`): a B2B SaaS customer base
 * drawn from a latent model, written as import files (demo.h, docs/demo.md).
 *
 * Order of work:
 *   1. accounts and their static attributes (risk, seats, plan, region, names,
 *      contacts), in order of creation;
 *   2. the subscription history, simulated day by day across all accounts, so
 *      that the churn decisions of one month are drawn together (systematic
 *      sampling: the number of churners is the expected number, +-1) and the
 *      planted year-end churn can be calibrated against earlier Decembers;
 *   3. per-account derived state: activity spans, users, feature adoption;
 *   4. tickets, NPS responses and CSM activities, account by account;
 *   5. the small files; then the events, generated day by day across accounts
 *      so that events.csv comes out sorted by time without a global sort;
 *   6. spend and planted.json, with the strengths measured on the output.
 * Every random draw comes from a sub-stream keyed by what it is for (kz_rng_derive),
 * so the world depends on the options and the seed only, never on the clock.
 *
 * Not for: reading the files back (ingest/), fixed benchmark workloads (bench/).
 */
#include "demo/demo.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/csvw.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/jsonw.h"
#include "core/vec.h"

#define NEVER INT32_MAX /* a day that never comes */
#define DAY_SECS 86400
#define FLUSH_AT ((size_t)1 << 20)
#define N_(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- the model's constants ------------------------------------------------ */

enum { PLAN_STARTER, PLAN_GROWTH, PLAN_PRO, PLAN_ENTERPRISE, PLAN_ADDON, NPLANS };
static const char *const plan_name[NPLANS] = { "starter", "growth", "pro", "enterprise", "addon" };
static const double plan_price[4] = { 15, 29, 49, 79 };     /* per seat per month */
static const double plan_churn[4] = { 1.35, 1.0, 0.8, 0.55 }; /* churn hazard factor */
static const double plan_annual[4] = { 0.05, 0.25, 0.7, 0.95 }; /* share on annual contracts */

#define MAX_SEATS 500
#define BASE_HAZARD 0.022      /* monthly churn probability of a median account */
#define DECEMBER_FACTOR 1.3   /* year-end seasonality of churn */
#define PLANTED_CHURN 1.5     /* planted December against earlier Decembers */
#define SPIKE_FACTOR 5.0      /* planted DAU day */
#define COHORT_FACTOR (1.0 / 3.0)
#define SIM_AFTER_END 150     /* simulate churn past the end so decline shows at the end */
#define Q0 0.2               /* daily activity probability of an average user on a weekday */

/* Event names in adoption order (see feat[]). */
enum {
    F_LOGIN, F_DASH_VIEW, F_REPORT_VIEW, F_HELP, F_FILTER, F_SEARCH, F_SETTINGS, F_INVITE_SENT,
    F_INVITE_ACCEPT, F_REPORT_CREATE, F_REPORT_EXPORT, F_LOGOUT, F_DASH_CREATE, F_COMMENT, F_DASH_SHARE,
    F_IMPORT, F_SYNC, F_ALERT_CREATE, F_ALERT_TRIGGER, F_SCHEDULE, F_API, NFEAT
};

/* weight: share among a user's events once adopted; delay: mean active days
 * after the first subscription until adoption; p: chance of ever adopting. */
static const struct featdef {
    const char *name;
    double weight, delay, p;
} feat[NFEAT] = {
    { "login", 0, 0, 1 },              { "dashboard.view", 16, 0, 1 },  { "report.view", 17, 0, 1 },
    { "help.view", 1.4, 2, 0.92 },     { "filter.apply", 9, 8, 0.9 },   { "search", 7, 12, 0.85 },
    { "settings.update", 0.8, 10, 0.7 }, { "invite.sent", 0.5, 6, 0.65 }, { "invite.accept", 0.35, 1, 1 },
    { "report.create", 3, 18, 0.85 },  { "report.export", 4, 25, 0.8 }, { "logout", 0, 3, 0.6 },
    { "dashboard.create", 1.5, 35, 0.65 }, { "comment.add", 2.2, 45, 0.55 }, { "dashboard.share", 1.2, 50, 0.5 },
    { "data.import", 1.3, 20, 0.5 },   { "integration.sync", 4, 40, 0.45 }, { "alert.create", 0.6, 60, 0.45 },
    { "alert.trigger", 2.5, 3, 1 },    { "report.schedule", 0.9, 75, 0.4 }, { "api.call", 8, 90, 0.3 },
};

#define ONBOARD_FEATURES 5 /* onboarded_at: the day the fifth feature was adopted */

/* Weekday factors of activity, Monday first. */
static const double dow_act[7] = { 1.0, 1.03, 1.02, 0.98, 0.88, 0.2, 0.16 };
static const double dow_tickets[7] = { 1.15, 1.05, 1.0, 1.0, 0.9, 0.12, 0.08 };

/* Local hour-of-day profile of work (business hours, lunch dip). */
static const double hour_w[24] = {
    0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 2.0, 4.5, 5.5, 5.2,
    3.5, 4.8, 5.3, 5.0, 4.5, 3.2, 1.8, 1.0, 0.8, 0.6, 0.4, 0.3,
};

static const int region_tz[KZ_DEMO_NREGIONS] = { 9, 8, 1, -5 }; /* hours from UTC */

/* The CS team: the first NCSM own accounts, the others help. */
static const char *const staff[] = {
    "Sato Yui",    "Tanaka Kenta",   "Suzuki Mai",    "Emily Clark",  "James Wilson", "Sophie Martin",
    "Daniel Kim",  "Yamamoto Takeshi", "Olivia Brown", "Kobayashi Aoi", "Michael Lee",
};
#define NCSM 7
#define NSTAFF N_(staff)
#define NO_OWNER 255

static const char *const roles[] = {
    "Admin", "Executive Sponsor", "Team Lead", "End User", "IT Manager", "Finance", "Operations Manager",
};
#define ROLE_FINANCE 5

static const char *const kinds[] = { "email", "call", "meeting", "note" };
enum { K_EMAIL, K_CALL, K_MEETING, K_NOTE };
enum { DIR_NONE, DIR_IN, DIR_OUT };
static const char *const priorities[] = { "low", "normal", "high", "urgent" };

static const char *const channels[] = { "paid_search", "paid_social", "events", "outbound", "partners", "content" };
static const double channel_share[] = { 0.3, 0.15, 0.15, 0.2, 0.1, 0.1 };
#define CAC 2400.0 /* sales and marketing spend per new account */

/* Keys of the random sub-streams. */
enum { R_CREATE = 1, R_ACCOUNT, R_NAME, R_SUB, R_MONTH, R_DERIVE, R_TICKETS, R_NPS, R_ACTS, R_DAY, R_SPEND, R_PLANT, R_TEXT };

static void rng_for(kz_rng *r, uint64_t seed, int key, uint64_t i)
{
    kz_rng_derive(r, seed, ((uint64_t)key << 40) ^ i);
}

/* ---- the world ------------------------------------------------------------ */

enum { ST_PROSPECT, ST_ACTIVE, ST_CHURNED, ST_GONE };

typedef struct account {
    const char *name, *domain; /* in the arena */
    kz_day created, first_start, onboarded, slump_start;
    int32_t employees, seats0, contact0, ncontacts;
    float risk, act, user_ratio, discount, slump_depth;
    int16_t ramp, slump_len;
    uint8_t industry, region, jp, strategic, owner, touch, plan0, annual0, champion, stalled;
    /* subscription simulation */
    uint8_t state, plan, annual, reacts;
    int32_t seats;
    kz_day next, term_end, span_start;
    int64_t row, addon; /* open rows (indices into rows), -1 when none */
    /* derived after the simulation */
    int32_t row0, nrows, span0, nspans, user0, nusers;
    kz_day adopt[NFEAT];
} account;

typedef struct row {
    int32_t acc, qty, seq;
    int64_t mrr; /* cents */
    kz_day start, end; /* end exclusive; NEVER while open */
    uint8_t plan, annual;
} row;

typedef struct span {
    kz_day start, end; /* end exclusive; NEVER when still active at the end of the simulation */
    int16_t decline;   /* days of falling activity before the churn at end; 0: surprise */
    uint8_t first;
} span;

typedef struct user {
    kz_day join;
    float w;  /* activity weight; 0: dormant (has a seat, never logs in) */
    float mu; /* extra events on an active day */
} user;

typedef struct contact {
    int32_t acc;
    const char *name, *email;
    uint8_t role, champion;
} contact;

typedef struct ticket {
    int32_t acc, seq;
    kz_time opened, response, resolved; /* -1: not by the end */
    uint64_t text;
    uint8_t cat, cat_empty, prio, lang, onboarding;
} ticket;

typedef struct nps_resp {
    int32_t acc, contact, seq; /* contact: global index, -1 anonymous */
    kz_time ts;
    uint64_t text;
    int8_t score;
    uint8_t comment, lang;
} nps_resp;

typedef struct activity {
    int32_t acc, seq;
    kz_time ts;
    uint64_t text;
    uint8_t kind, dir, topic, lang, author;
} activity;

typedef struct evrec {
    uint32_t sec, acc, user;
    int32_t value;
    uint8_t ev;
} evrec;

typedef struct world {
    const kz_demo_opts *o;
    uint64_t seed;
    int64_t n;
    kz_day h0, w0, end, sim_end;
    kz_month m0;
    int nmonths, acc_width, user_width;
    account *acc;
    kz_arena *arena;
    KZ_VEC(row) rows;
    KZ_VEC(span) spans;
    KZ_VEC(user) users;
    KZ_VEC(contact) contacts;
    KZ_VEC(ticket) tickets;
    KZ_VEC(nps_resp) nps;
    KZ_VEC(activity) acts;
    /* simulation */
    int32_t *head, *link; /* day buckets of pending decisions */
    double *cum, *off, *noise; /* per churn month: systematic sampling, noise */
    uint64_t *active;     /* per month: bitset of accounts paying on its first day */
    size_t words;
    /* planted */
    kz_day spike;
    kz_month churn_month, cohort;
    double churn_k;
    double cohort_cum, cohort_off; /* systematic sampling of the cohort's first-month tickets */
    /* measured */
    int64_t *dau;
    double spike_expected;
    int64_t nsubs_written, nevents;
} world;

static int32_t month_index(const world *w, kz_month m)
{
    return (int32_t)(m - w->m0);
}

static int is_month_start(kz_day d)
{
    int y, m, dd;
    kz_civil_from_days(d, &y, &m, &dd);
    return dd == 1;
}

static kz_day add_year(kz_day d)
{
    int y, m, dd;
    kz_civil_from_days(d, &y, &m, &dd);
    if (m == 2 && dd == 29)
        dd = 28;
    return (kz_day)kz_days_from_civil(y + 1, m, dd);
}

static int month_of_year(kz_month m)
{
    return (int)(m % 12) + 1;
}

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Seconds into the UTC day of a moment drawn from the business-hours profile
 * of a time zone (wrapping around midnight). */
static int32_t business_sec(kz_rng *r, int tz)
{
    int h = kz_rng_pick(r, hour_w, 24);
    int32_t s = h * 3600 + (int32_t)kz_rng_range(r, 0, 3599) - tz * 3600;
    s %= DAY_SECS;
    return s < 0 ? s + DAY_SECS : s;
}

static kz_time at(kz_day d, int32_t sec)
{
    return kz_day_time(d) + (kz_time)sec * KZ_USEC_PER_SEC;
}

/* Holiday and season factor of activity in a region on a day; *holiday is set
 * when the day is a public holiday or in the year-end break. */
static double season(int region, kz_day d, int *holiday)
{
    int y, m, dd;
    double f = 1.0;
    kz_civil_from_days(d, &y, &m, &dd);
    int wd = kz_weekday(d);
    *holiday = 0;
    if ((m == 12 && dd >= 24) || (m == 1 && dd <= 3)) {
        static const double west[11] = { 0.6, 0.35, 0.5, 0.6, 0.6, 0.5, 0.5, 0.35, 0.25, 0.45, 0.6 };
        static const double japan[11] = { 0.95, 0.95, 0.9, 0.85, 0.8, 0.35, 0.3, 0.25, 0.2, 0.3, 0.35 };
        int i = m == 12 ? dd - 24 : dd + 7;
        f = region == KZ_DEMO_JP ? japan[i] : west[i];
        *holiday = 1;
    } else if (m == 12 && dd >= 20) {
        f = 0.9;
    } else if (m == 1 && dd <= 6) {
        f = 0.85;
        *holiday = 1;
    }
    switch (region) {
    case KZ_DEMO_JP:
        if ((m == 4 && dd == 29) || (m == 5 && dd >= 3 && dd <= 5))
            f = 0.35, *holiday = 1;
        else if (m == 5 && (dd <= 2 || dd == 6))
            f = 0.75, *holiday = 1;
        else if (m == 8 && dd >= 13 && dd <= 16)
            f = 0.55, *holiday = 1;
        break;
    case KZ_DEMO_NA:
        if (m == 7 && dd == 4)
            f = 0.3, *holiday = 1;
        else if (m == 11 && wd == 3 && dd >= 22 && dd <= 28)
            f = 0.3, *holiday = 1; /* Thanksgiving */
        else if (m == 11 && wd == 4 && dd >= 23 && dd <= 29)
            f = 0.55, *holiday = 1;
        else if (m == 9 && wd == 0 && dd <= 7)
            f = 0.4, *holiday = 1; /* Labor Day */
        else if (m == 5 && wd == 0 && dd >= 25)
            f = 0.4, *holiday = 1; /* Memorial Day */
        break;
    case KZ_DEMO_EMEA:
        if (m == 8)
            f *= 0.88; /* summer holidays, spread over the month */
        if (m == 5 && dd == 1)
            f = 0.5, *holiday = 1;
        break;
    default:
        break;
    }
    return f;
}

/* ---- options ------------------------------------------------------------- */

void kz_demo_defaults(kz_demo_opts *o)
{
    o->out_dir = "demo-data";
    o->accounts = 1000;
    o->days = 730;
    o->end = (kz_day)kz_days_from_civil(2026, 10, 31);
    o->seed = 42;
}

int kz_demo_check(const kz_demo_opts *o)
{
    if (!o->out_dir || !o->out_dir[0])
        return kz_error_set(KZ_EINVALID, "--out must name a folder");
    if (strlen(o->out_dir) > 3000)
        return kz_error_set(KZ_EINVALID, "--out: the folder name is too long");
    if (o->accounts < KZ_DEMO_MIN_ACCOUNTS || o->accounts > KZ_DEMO_MAX_ACCOUNTS)
        return kz_error_set(KZ_EINVALID, "--accounts must be from %d to %d, not %lld", KZ_DEMO_MIN_ACCOUNTS,
                            KZ_DEMO_MAX_ACCOUNTS, (long long)o->accounts);
    if (o->days < KZ_DEMO_MIN_DAYS || o->days > KZ_DEMO_MAX_DAYS)
        return kz_error_set(KZ_EINVALID, "--days must be from %d to %d (the event window), not %lld",
                            KZ_DEMO_MIN_DAYS, KZ_DEMO_MAX_DAYS, (long long)o->days);
    if (o->end < kz_days_from_civil(1990, 1, 1) || o->end > kz_days_from_civil(9000, 12, 31))
        return kz_error_set(KZ_EINVALID, "--end must be a date from 1990-01-01 to 9000-12-31");
    return KZ_OK;
}

/* ---- output files ---------------------------------------------------------- */

typedef struct dfile {
    FILE *f;
    kz_buf b;
    int err;
    char path[3200], tmp[3300];
} dfile;

static int mkdir_p(const char *dir)
{
    char path[3200];
    size_t n = strlen(dir);
    struct stat st;
    if (n >= sizeof path)
        return kz_error_set(KZ_EINVALID, "--out: the folder name is too long");
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return kz_error_set(KZ_EIO, "cannot create the folder %s: %s", path, strerror(errno));
        path[i] = c;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return kz_error_set(KZ_EIO, "%s is not a folder", dir);
    return KZ_OK;
}

static int df_open(dfile *df, const char *dir, const char *name)
{
    memset(df, 0, sizeof *df);
    kz_buf_init(&df->b, KZ_BUF_UNLIMITED);
    int n1 = snprintf(df->path, sizeof df->path, "%s/%s", dir, name);
    int n2 = snprintf(df->tmp, sizeof df->tmp, "%s/.%s.%ld.tmp", dir, name, (long)getpid());
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof df->path || (size_t)n2 >= sizeof df->tmp)
        return df->err = kz_error_set(KZ_EINVALID, "--out: the folder name is too long");
    if (kz_buf_reserve(&df->b, FLUSH_AT + 65536))
        return df->err = KZ_ENOMEM;
    df->f = fopen(df->tmp, "wb");
    if (!df->f)
        return df->err = kz_error_set(KZ_EIO, "cannot create %s: %s", df->tmp, strerror(errno));
    return KZ_OK;
}

static int df_flush(dfile *df)
{
    if (df->err)
        return df->err;
    if (df->b.len && fwrite(df->b.data, 1, df->b.len, df->f) != df->b.len)
        return df->err = kz_error_set(KZ_EIO, "writing %s: %s", df->tmp, strerror(errno));
    kz_buf_reset(&df->b);
    return KZ_OK;
}

/* Ends a record: flushes when a megabyte has collected. */
static int df_end(dfile *df)
{
    if (!df->err)
        df->err = kz_buf_putc(&df->b, '\n');
    if (!df->err && df->b.len >= FLUSH_AT)
        return df_flush(df);
    return df->err;
}

/* Room for n bytes written directly at df->b.data + df->b.len; NULL on error. */
static char *df_room(dfile *df, size_t n)
{
    if (df->b.len + n + 1 > df->b.cap || df->b.len >= FLUSH_AT) {
        if (df_flush(df))
            return NULL;
        if ((df->err = kz_buf_reserve(&df->b, n)) != 0)
            return NULL;
    }
    return df->b.data + df->b.len;
}

/* Flushes, closes and renames the file into place; removes it on failure. */
static int df_close(dfile *df)
{
    int rc = df_flush(df);
    if (df->f) {
        if (fclose(df->f) != 0 && !rc)
            rc = kz_error_set(KZ_EIO, "writing %s: %s", df->tmp, strerror(errno));
        df->f = NULL;
        if (!rc && rename(df->tmp, df->path) != 0)
            rc = kz_error_set(KZ_EIO, "renaming %s to %s: %s", df->tmp, df->path, strerror(errno));
        if (rc)
            unlink(df->tmp);
    }
    kz_buf_free(&df->b);
    return rc;
}

/* Drops an unfinished file (after an error elsewhere). */
static void df_abort(dfile *df)
{
    if (df->f) {
        fclose(df->f);
        df->f = NULL;
        unlink(df->tmp);
    }
    kz_buf_free(&df->b);
}

static void fldn(dfile *df, const char *s, size_t n, int first)
{
    if (!df->err)
        df->err = kz_csvw_field(&df->b, s, n, first);
}

static void fld(dfile *df, const char *s, int first)
{
    fldn(df, s ? s : "", s ? strlen(s) : 0, first);
}

static void fld_int(dfile *df, int64_t v, int first)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    fldn(df, t, (size_t)n, first);
}

static void fld_cents(dfile *df, int64_t c, int first)
{
    char t[40];
    int n = snprintf(t, sizeof t, "%s%lld.%02lld", c < 0 ? "-" : "", (long long)(llabs(c) / 100),
                     (long long)(llabs(c) % 100));
    fldn(df, t, (size_t)n, first);
}

static void fld_day(dfile *df, kz_day d, int first)
{
    char t[KZ_DATE_BUF];
    size_t n = d == NEVER ? 0 : kz_format_date(t, d);
    fldn(df, t, n, first);
}

static void fld_time(dfile *df, kz_time v, int first)
{
    char t[KZ_TIME_BUF];
    size_t n = v < 0 ? 0 : kz_format_time(t, v);
    fldn(df, t, n, first);
}

static int header(dfile *df, const char *line)
{
    if (!df->err)
        df->err = kz_buf_puts(&df->b, line);
    return df_end(df);
}

/* Zero-padded decimal of at least width digits; returns the end. */
static char *put_pad(char *p, uint64_t v, int width)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = n; i < width; i++)
        *p++ = '0';
    while (n)
        *p++ = t[--n];
    return p;
}

static int digits(uint64_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* "acc_00001" */
static void fld_acc(dfile *df, const world *w, int32_t a, int first)
{
    char t[32], *p = t;
    memcpy(p, "acc_", 4);
    p = put_pad(p + 4, (uint64_t)a + 1, w->acc_width);
    fldn(df, t, (size_t)(p - t), first);
}

static void fld_id(dfile *df, const char *prefix, int64_t i, int width, int first)
{
    char t[40];
    size_t k = strlen(prefix);
    memcpy(t, prefix, k);
    char *p = put_pad(t + k, (uint64_t)i + 1, width);
    fldn(df, t, (size_t)(p - t), first);
}

/* ---- 1. accounts ------------------------------------------------------------ */

static int cmp_day(const void *x, const void *y)
{
    kz_day a = *(const kz_day *)x, b = *(const kz_day *)y;
    return a < b ? -1 : a > b;
}

/* Growth rate (per day) of sign-ups such that the first year of the history
 * holds 30 % of them, within [0, ln 4 / year]. */
static double growth_rate(double first, double total)
{
    double lo = 0, hi = log(4.0) / 365.0;
    if (first / total <= 0.3)
        return 0;
    for (int i = 0; i < 60; i++) {
        double g = (lo + hi) / 2;
        double share = expm1(g * first) / expm1(g * total);
        if (share > 0.3)
            lo = g;
        else
            hi = g;
    }
    return (lo + hi) / 2;
}

static int64_t plan_mrr(int plan, int32_t seats, int annual, double discount)
{
    double v = plan_price[plan] * seats * (1 - discount) * (annual ? 0.9 : 1.0);
    int64_t c = llround(v * 100);
    return c < 100 ? 100 : c;
}

static int plan_for_seats(kz_rng *r, int32_t seats)
{
    double s = log((double)seats) + 0.45 * kz_rng_normal(r);
    return s < 1.45 ? PLAN_STARTER : s < 2.55 ? PLAN_GROWTH : s < 3.7 ? PLAN_PRO : PLAN_ENTERPRISE;
}

/* Name and domain, unique across the world (names, then domains, are checked). */
static int account_name(world *w, account *a, int64_t i, kz_strmap *names, kz_strmap *domains, int form)
{
    kz_buf name, domain;
    kz_rng r;
    int rc = 0;
    kz_buf_init(&name, 4096);
    kz_buf_init(&domain, 4096);
    rng_for(&r, w->seed, R_NAME, (uint64_t)i);
    for (int attempt = 0;; attempt++) {
        kz_buf_reset(&name);
        kz_buf_reset(&domain);
        int variant = attempt < 12 ? 0 : attempt - 11;
        rc = kz_demo_company(&name, &domain, &r, a->jp, a->industry, a->region, form, variant);
        if (!rc && attempt >= 40) {
            /* a crowded world: the account number makes it unique */
            size_t dl = domain.len;
            rc = kz_buf_printf(&name, " (%lld)", (long long)i + 1);
            if (!rc)
                rc = kz_buf_printf(&domain, "-%lld", (long long)i + 1);
            if (!rc) {
                char *dot = strchr(domain.data, '.'); /* move the number before the TLD */
                size_t stem = (size_t)(dot - domain.data), num = domain.len - dl;
                char tmp[32];
                memcpy(tmp, domain.data + dl, num);
                memmove(domain.data + stem + num, domain.data + stem, dl - stem);
                memcpy(domain.data + stem, tmp, num);
            }
        }
        if (rc)
            goto done;
        if (kz_strmap_get(names, name.data, name.len) < 0 && kz_strmap_get(domains, domain.data, domain.len) < 0)
            break;
    }
    if ((rc = kz_strmap_put(names, name.data, name.len, (uint32_t)i)) != 0 ||
        (rc = kz_strmap_put(domains, domain.data, domain.len, (uint32_t)i)) != 0)
        goto done;
    a->name = kz_arena_strndup(w->arena, name.data, name.len);
    a->domain = kz_arena_strndup(w->arena, domain.data, domain.len);
    if (!a->name || !a->domain)
        rc = KZ_ENOMEM;
done:
    kz_buf_free(&name);
    kz_buf_free(&domain);
    return rc;
}

static int make_contacts(world *w, account *a, int64_t i, kz_rng *r)
{
    kz_buf name, email;
    int rc = 0;
    kz_rng tr;
    kz_buf_init(&name, 1024);
    kz_buf_init(&email, 1024);
    rng_for(&tr, w->seed, R_NAME, (uint64_t)i | ((uint64_t)1 << 32));
    int64_t n = 1 + kz_rng_poisson(r, 0.3 + 0.4 * log((double)a->seats0));
    if (n > 5)
        n = 5;
    int champ = -1;
    if (kz_rng_bern(r, clampd(0.8 * pow(a->risk, -0.5), 0.2, 0.95)))
        champ = (int)kz_rng_range(r, 0, n - 1);
    a->contact0 = (int32_t)w->contacts.n;
    a->ncontacts = (int32_t)n;
    a->champion = champ >= 0;
    for (int k = 0; k < n && !rc; k++) {
        contact c = { (int32_t)i, NULL, NULL, 0, 0 };
        kz_buf_reset(&name);
        kz_buf_reset(&email);
        /* a few staff of Japanese companies have Western names, and vice versa */
        int jp = a->jp ? kz_rng_bern(&tr, 0.95) : kz_rng_bern(&tr, 0.03);
        if ((rc = kz_demo_person(&name, &email, &tr, jp)) != 0)
            break;
        size_t local = email.len;
        for (int dup = 2;; dup++) {
            int clash = 0;
            for (size_t j = (size_t)a->contact0; j < w->contacts.n; j++)
                if (strncmp(w->contacts.v[j].email, email.data, email.len) == 0 &&
                    w->contacts.v[j].email[email.len] == '@')
                    clash = 1;
            if (!clash)
                break;
            email.len = local;
            if ((rc = kz_buf_printf(&email, "%d", dup)) != 0)
                goto done;
        }
        if ((rc = kz_buf_printf(&email, "@%s", a->domain)) != 0)
            break;
        c.role = k == 0 ? 0 : (uint8_t)kz_rng_range(r, 1, N_(roles) - 1);
        c.champion = k == champ;
        if (c.champion && c.role == ROLE_FINANCE)
            c.role = 2;
        c.name = kz_arena_strndup(w->arena, name.data, name.len);
        c.email = kz_arena_strndup(w->arena, email.data, email.len);
        if (!c.name || !c.email)
            rc = KZ_ENOMEM;
        else
            rc = kz_vec_push(&w->contacts, c);
    }
done:
    kz_buf_free(&name);
    kz_buf_free(&email);
    return rc ? kz_error_set(rc, "making contacts: %s", kz_error_name(rc)) : 0;
}

static int make_accounts(world *w)
{
    static const double industry_w[KZ_DEMO_NINDUSTRIES] = { 18, 12, 11, 10, 9, 8, 8, 8, 7, 9 };
    static const double region_w[3] = { 0.2, 0.35, 0.45 }; /* APAC, EMEA, NA */
    kz_rng r;
    kz_day *created = NULL;
    kz_strmap *names = NULL, *domains = NULL;
    int rc = 0;
    int64_t english = 0;

    /* creation days: 30 % in the first year of the history, the rest in the
     * event window up to 30 days before the end, growing steadily */
    created = malloc((size_t)w->n * sizeof *created);
    names = kz_strmap_new((size_t)w->n);
    domains = kz_strmap_new((size_t)w->n);
    if (!created || !names || !domains) {
        rc = kz_error_oom();
        goto done;
    }
    double span_days = (double)(w->end - 30 - w->h0 + 1);
    double g = growth_rate(365.0, span_days);
    rng_for(&r, w->seed, R_CREATE, 0);
    for (int64_t i = 0; i < w->n; i++) {
        double u = kz_rng_unif(&r);
        double t = g > 0 ? log1p(u * expm1(g * span_days)) / g : u * span_days;
        kz_day d = w->h0 + (kz_day)t;
        int wd = kz_weekday(d);
        if (wd >= 5 && kz_rng_bern(&r, 0.8)) /* B2B sign-ups fall on working days */
            d += 7 - wd;
        if (d > w->end - 30)
            d = w->end - 30 - (kz_day)kz_rng_range(&r, 0, 2);
        created[i] = d;
    }
    qsort(created, (size_t)w->n, sizeof *created, cmp_day);

    for (int64_t i = 0; i < w->n && !rc; i++) {
        account *a = &w->acc[i];
        rng_for(&r, w->seed, R_ACCOUNT, (uint64_t)i);
        a->created = created[i];
        a->jp = (uint8_t)kz_rng_bern(&r, 0.25);
        a->region = a->jp ? KZ_DEMO_JP : (uint8_t)(1 + kz_rng_pick(&r, region_w, 3));
        a->industry = (uint8_t)kz_rng_pick(&r, industry_w, KZ_DEMO_NINDUSTRIES);
        a->risk = (float)exp(0.55 * kz_rng_normal(&r) - 0.15);
        double s = ceil(exp(1.85 + 0.95 * kz_rng_normal(&r)));
        a->seats0 = s > MAX_SEATS ? MAX_SEATS : (int32_t)s;
        a->plan0 = (uint8_t)plan_for_seats(&r, a->seats0);
        a->annual0 = (uint8_t)kz_rng_bern(&r, plan_annual[a->plan0]);
        a->discount = a->plan0 == PLAN_ENTERPRISE ? (float)kz_rng_unif(&r) * 0.25f
                      : kz_rng_bern(&r, 0.2)     ? 0.1f
                                                 : 0.0f;
        a->stalled = (uint8_t)kz_rng_bern(&r, clampd(0.08 * pow(a->risk, 1.3), 0, 0.5));
        a->act = (float)(exp(0.35 * kz_rng_normal(&r)) / sqrt(a->risk) / 1.19 * (a->stalled ? 0.45 : 1.0));
        a->user_ratio = (float)(0.8 + 0.25 * kz_rng_unif(&r));
        double e = a->seats0 * exp(1.4 + 0.8 * kz_rng_normal(&r));
        a->employees = (int32_t)clampd(round(e), a->seats0 + kz_rng_range(&r, 0, 5), 250000);
        a->strategic = (uint8_t)kz_rng_bern(&r, a->plan0 == PLAN_ENTERPRISE ? 0.45 : a->plan0 == PLAN_PRO ? 0.1 : 0.01);
        double mrr = (double)plan_mrr(a->plan0, a->seats0, a->annual0, a->discount) / 100;
        a->touch = (uint8_t)(mrr >= 2000 || a->strategic ? 2 : mrr >= 250 ? 1 : 0);
        if (a->touch == 0 && kz_rng_bern(&r, 0.6))
            a->owner = NO_OWNER;
        else if (a->jp)
            a->owner = (uint8_t)(kz_rng_bern(&r, 0.8) ? kz_rng_range(&r, 0, 2) : kz_rng_range(&r, 3, NCSM - 1));
        else
            a->owner = (uint8_t)(kz_rng_bern(&r, 0.85) ? kz_rng_range(&r, 3, NCSM - 1) : kz_rng_range(&r, 0, 2));
        a->first_start = kz_rng_bern(&r, 0.04) ? NEVER : a->created + (kz_day)kz_rng_range(&r, 0, 20);
        a->ramp = (int16_t)kz_rng_range(&r, 30, 60);
        if (kz_rng_bern(&r, 0.15)) {
            a->slump_len = (int16_t)kz_rng_range(&r, 30, 75);
            a->slump_start = w->h0 + (kz_day)kz_rng_range(&r, 0, w->end - w->h0);
            a->slump_depth = (float)(0.3 + 0.35 * kz_rng_unif(&r));
        }
        a->onboarded = NEVER;
        a->state = ST_PROSPECT;
        a->row = a->addon = -1;
        /* a few English names with a comma or a quote, to exercise CSV quoting */
        int form = 0;
        if (!a->jp) {
            english++;
            form = english == 2 ? 1 : english == 5 ? 2 : 0;
        }
        if ((rc = account_name(w, a, i, names, domains, form)) != 0)
            break;
        rc = make_contacts(w, a, i, &r);
    }
done:
    free(created);
    kz_strmap_free(names);
    kz_strmap_free(domains);
    return rc;
}

/* ---- 2. subscription history ------------------------------------------------ */

static void schedule(world *w, int32_t a, kz_day t)
{
    if (t > w->sim_end)
        return;
    int32_t i = t - w->h0;
    w->link[a] = w->head[i];
    w->head[i] = a;
    w->acc[a].next = t;
}

static int open_row(world *w, int32_t ai, int plan, int32_t qty, int64_t mrr, kz_day start, int annual)
{
    row rw = { ai, qty, (int32_t)w->rows.n, mrr, start, NEVER, (uint8_t)plan, (uint8_t)annual };
    return kz_vec_push(&w->rows, rw);
}

static int open_base(world *w, int32_t ai, kz_day t)
{
    account *a = &w->acc[ai];
    a->row = (int64_t)w->rows.n;
    return open_row(w, ai, a->plan, a->seats, plan_mrr(a->plan, a->seats, a->annual, a->discount), t, a->annual);
}

/* Monthly churn probability at anniversary t, before the month's factors. */
static double hazard(const account *a, kz_day t)
{
    double h = BASE_HAZARD * a->risk * plan_churn[a->plan] * (a->champion ? 0.9 : 1.25) * (a->stalled ? 1.8 : 1.0);
    if (t - a->span_start < 100)
        h *= 1.2;
    return h;
}

static double month_factor(const world *w, kz_month cm)
{
    double f = w->noise[month_index(w, cm)];
    if (month_of_year(cm) == 12)
        f *= DECEMBER_FACTOR;
    if (cm == w->churn_month)
        f = DECEMBER_FACTOR * w->churn_k;
    return f;
}

static double churn_p(const world *w, const account *a, kz_day t, int renewal)
{
    double p = hazard(a, t) * month_factor(w, kz_day_month(t - 1));
    return renewal ? clampd(7.0 * p, 0, 0.7) : clampd(p, 0, 0.6);
}

/* Systematic sampling within the churn month: candidates take consecutive
 * intervals of length p on a line, churners are those holding a point of
 * off + k. Each churns with probability p; the month's count is the sum of p
 * rounded up or down. */
static int churn_draw(world *w, kz_day t, double p)
{
    int32_t i = month_index(w, kz_day_month(t - 1));
    double c = w->cum[i], u = w->off[i];
    double k = ceil(c - u);
    w->cum[i] = c + p;
    return u + k < c + p;
}

static void close_all(world *w, account *a, kz_day t)
{
    w->rows.v[a->row].end = t;
    a->row = -1;
    if (a->addon >= 0) {
        w->rows.v[a->addon].end = t;
        a->addon = -1;
    }
}

static void churn(world *w, int32_t ai, kz_day t, kz_rng *r)
{
    account *a = &w->acc[ai];
    close_all(w, a, t);
    a->state = ST_GONE;
    if (a->reacts < 2 && kz_rng_bern(r, 0.3)) {
        a->reacts++;
        a->state = ST_CHURNED;
        schedule(w, ai, t + (kz_day)kz_rng_range(r, 60, 360));
    }
}

static void next_decision(world *w, int32_t ai, kz_day t)
{
    account *a = &w->acc[ai];
    kz_day n = t + 30;
    if (a->annual && n + 10 >= a->term_end)
        n = a->term_end;
    schedule(w, ai, n);
}

/* Replaces the base row at t with one for the account's current plan and seats. */
static int change_row(world *w, int32_t ai, kz_day t)
{
    account *a = &w->acc[ai];
    w->rows.v[a->row].end = t;
    return open_base(w, ai, t);
}

static int expand(world *w, int32_t ai, kz_day t, kz_rng *r)
{
    account *a = &w->acc[ai];
    if (a->plan < PLAN_ENTERPRISE && kz_rng_bern(r, 0.3)) {
        a->plan++;
        if (!a->annual && a->plan >= PLAN_PRO && kz_rng_bern(r, 0.5)) {
            a->annual = 1; /* larger accounts move to a yearly contract */
            a->term_end = add_year(t);
        }
    } else if (a->seats < MAX_SEATS) {
        int32_t s = (int32_t)lround(a->seats * (1.1 + 0.4 * kz_rng_unif(r)));
        a->seats = s <= a->seats ? a->seats + 1 : s > MAX_SEATS ? MAX_SEATS : s;
    } else {
        return 0;
    }
    return change_row(w, ai, t);
}

static int contract(world *w, int32_t ai, kz_day t, kz_rng *r)
{
    account *a = &w->acc[ai];
    if (a->plan > PLAN_STARTER && kz_rng_bern(r, 0.3)) {
        a->plan--;
    } else if (a->seats > 1) {
        int32_t s = (int32_t)lround(a->seats * (0.6 + 0.3 * kz_rng_unif(r)));
        a->seats = s >= a->seats ? a->seats - 1 : s < 1 ? 1 : s;
    } else {
        return 0;
    }
    return change_row(w, ai, t);
}

static int maybe_addon(world *w, int32_t ai, kz_day t, kz_rng *r)
{
    account *a = &w->acc[ai];
    if (a->addon >= 0) {
        if (kz_rng_bern(r, 0.025)) {
            w->rows.v[a->addon].end = t;
            a->addon = -1;
        }
        return 0;
    }
    if (t - a->span_start < 90 || a->plan == PLAN_STARTER || !kz_rng_bern(r, 0.03))
        return 0;
    a->addon = (int64_t)w->rows.n;
    return open_row(w, ai, PLAN_ADDON, 1, 100 * (50 + 5 * kz_rng_range(r, 0, 89)), t, a->annual);
}

static int start_span(world *w, int32_t ai, kz_day t)
{
    account *a = &w->acc[ai];
    a->state = ST_ACTIVE;
    a->span_start = t;
    a->term_end = a->annual ? add_year(t) : NEVER;
    int rc = open_base(w, ai, t);
    next_decision(w, ai, t);
    return rc;
}

/* One decision of one account on day t. */
static int step(world *w, int32_t ai, kz_day t, kz_rng *r)
{
    account *a = &w->acc[ai];
    int rc = 0;
    switch (a->state) {
    case ST_PROSPECT:
        a->plan = a->plan0;
        a->seats = a->seats0;
        a->annual = a->annual0;
        return start_span(w, ai, t);
    case ST_CHURNED: /* reactivation, possibly smaller */
        if (a->plan > PLAN_STARTER && kz_rng_bern(r, 0.4))
            a->plan--;
        a->seats = (int32_t)lround(a->seats * (0.5 + 0.5 * kz_rng_unif(r)));
        if (a->seats < 1)
            a->seats = 1;
        a->annual = (uint8_t)(a->plan >= PLAN_PRO && kz_rng_bern(r, 0.5));
        return start_span(w, ai, t);
    case ST_ACTIVE:
        break;
    default:
        return 0;
    }
    if (a->annual && t >= a->term_end) {
        /* renewal of a yearly term: churn only here */
        if (churn_draw(w, t, churn_p(w, a, t, 1))) {
            churn(w, ai, t, r);
            return 0;
        }
        double u = kz_rng_unif(r);
        if (u < 0.18 && a->seats < MAX_SEATS) {
            int32_t s = (int32_t)lround(a->seats * (1.1 + 0.3 * kz_rng_unif(r)));
            a->seats = s <= a->seats ? a->seats + 1 : s > MAX_SEATS ? MAX_SEATS : s;
        } else if (u < 0.26 && a->seats > 1) {
            int32_t s = (int32_t)lround(a->seats * (0.7 + 0.25 * kz_rng_unif(r)));
            a->seats = s >= a->seats ? a->seats - 1 : s < 1 ? 1 : s;
        }
        a->term_end = add_year(t);
        rc = change_row(w, ai, t);
    } else if (a->annual) {
        /* mid-term: seats or plan may grow (co-termed), never shrink */
        if (kz_rng_bern(r, 0.025 * pow(a->risk, -0.3) * (a->stalled ? 0.3 : 1.0)))
            rc = expand(w, ai, t, r);
        if (!rc)
            rc = maybe_addon(w, ai, t, r);
    } else {
        if (churn_draw(w, t, churn_p(w, a, t, 0))) {
            churn(w, ai, t, r);
            return 0;
        }
        double u = kz_rng_unif(r);
        double pe = 0.03 * pow(a->risk, -0.3) * (a->stalled ? 0.3 : 1.0);
        if (u < pe)
            rc = expand(w, ai, t, r);
        else if (u < pe + 0.012 * pow(a->risk, 0.6))
            rc = contract(w, ai, t, r);
        if (!rc)
            rc = maybe_addon(w, ai, t, r);
    }
    next_decision(w, ai, t);
    return rc;
}

static int64_t popcount_month(const world *w, int32_t mi, int32_t next_mi)
{
    int64_t n = 0;
    const uint64_t *a = w->active + (size_t)mi * w->words;
    const uint64_t *b = next_mi >= 0 ? w->active + (size_t)next_mi * w->words : NULL;
    for (size_t k = 0; k < w->words; k++)
        n += __builtin_popcountll(b ? a[k] & ~b[k] : a[k]);
    return n;
}

/* Logo churn of month m from the snapshots: accounts paying on its first day
 * and not on the next month's first day. *base may be NULL. */
static double churn_rate(const world *w, kz_month m, int64_t *base, int64_t *churned)
{
    int32_t i = month_index(w, m);
    int64_t b = 0, c = 0;
    if (i >= 0 && i + 1 < w->nmonths) {
        b = popcount_month(w, i, -1);
        c = popcount_month(w, i, i + 1);
    }
    if (base)
        *base = b;
    if (churned)
        *churned = c;
    return b ? (double)c / (double)b : 0;
}

/* At the start of the planted December: how much to raise its churn so that it
 * comes out at PLANTED_CHURN x the pooled churn of earlier Decembers (the mix of
 * the installed base drifts, so a fixed factor would not). */
static void calibrate(world *w, kz_day t0)
{
    kz_month cm = w->churn_month;
    kz_day next_first = kz_month_first_day(cm + 1);
    double sum = 0;
    int64_t base = 0, eb = 0, ec = 0;

    w->churn_k = 1.0; /* expected churn of a normal December */
    for (int64_t i = 0; i < w->n; i++) {
        const account *a = &w->acc[i];
        if (a->state != ST_ACTIVE)
            continue;
        base++;
        if (a->annual) {
            if (a->term_end >= t0 && a->term_end <= next_first)
                sum += churn_p(w, a, a->term_end, 1);
        } else {
            for (kz_day d = a->next; d <= next_first; d += 30)
                if (d >= t0)
                    sum += churn_p(w, a, d, 0);
        }
    }
    for (kz_month m = cm - 12; month_index(w, m) >= 0; m -= 12) {
        int64_t b, c;
        churn_rate(w, m, &b, &c);
        eb += b;
        ec += c;
    }
    double normal = base ? sum / (double)base : 0;
    if (eb >= 50 && normal > 0)
        w->churn_k = clampd(PLANTED_CHURN * ((double)ec / (double)eb) / normal, 1.2, 2.5);
    else
        w->churn_k = PLANTED_CHURN;
}

static int simulate(world *w)
{
    int32_t ndays = w->sim_end - w->h0 + 1;
    kz_rng mr;
    int rc = 0;

    w->head = malloc((size_t)ndays * sizeof *w->head);
    w->link = malloc((size_t)w->n * sizeof *w->link);
    w->cum = calloc((size_t)w->nmonths, sizeof *w->cum);
    w->off = calloc((size_t)w->nmonths, sizeof *w->off);
    w->noise = calloc((size_t)w->nmonths, sizeof *w->noise);
    w->words = (size_t)(w->n + 63) / 64;
    w->active = calloc((size_t)w->nmonths * w->words, sizeof *w->active);
    kz_rng *rs = malloc((size_t)w->n * sizeof *rs);
    if (!w->head || !w->link || !w->cum || !w->off || !w->noise || !w->active || !rs) {
        rc = kz_error_oom();
        goto done;
    }
    for (int32_t i = 0; i < ndays; i++)
        w->head[i] = -1;
    for (int32_t m = 0; m < w->nmonths; m++) {
        rng_for(&mr, w->seed, R_MONTH, (uint64_t)m);
        w->off[m] = kz_rng_unif(&mr);
        w->noise[m] = exp(0.08 * kz_rng_normal(&mr) - 0.0032);
    }
    /* schedule in reverse so that each day's bucket runs in account order */
    for (int64_t i = w->n - 1; i >= 0; i--) {
        rng_for(&rs[i], w->seed, R_SUB, (uint64_t)i);
        if (w->acc[i].first_start != NEVER)
            schedule(w, (int32_t)i, w->acc[i].first_start);
    }
    kz_day t0 = kz_month_first_day(w->churn_month) + 1;
    for (kz_day t = w->h0; t <= w->sim_end && !rc; t++) {
        if (t == t0)
            calibrate(w, t0);
        for (int32_t a = w->head[t - w->h0], nx; a >= 0 && !rc; a = nx) {
            nx = w->link[a];
            rc = step(w, a, t, &rs[a]);
        }
        if (is_month_start(t)) {
            int32_t mi = month_index(w, kz_day_month(t));
            uint64_t *bits = w->active + (size_t)mi * w->words;
            for (int64_t i = 0; i < w->n; i++)
                if (w->acc[i].state == ST_ACTIVE)
                    bits[i / 64] |= (uint64_t)1 << (i % 64);
        }
    }
    if (rc)
        kz_error_set(rc, "simulating subscriptions: %s", kz_error_name(rc));
done:
    free(rs);
    return rc;
}

/* ---- 3. derived state: rows per account, spans, users, adoption ---------------- */

static int cmp_row(const void *x, const void *y)
{
    const row *a = x, *b = y;
    if (a->acc != b->acc)
        return a->acc < b->acc ? -1 : 1;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The calendar day when the account has been active for `active` days. */
static kz_day active_day(const world *w, const account *a, double active)
{
    double left = active;
    for (int32_t k = 0; k < a->nspans; k++) {
        const span *sp = &w->spans.v[a->span0 + k];
        double len = sp->end == NEVER ? 1e9 : (double)(sp->end - sp->start);
        if (left < len)
            return sp->start + (kz_day)left;
        left -= len;
    }
    return NEVER;
}

static int derive(world *w)
{
    int rc = 0;
    kz_rng r;
    if (w->rows.n)
        qsort(w->rows.v, w->rows.n, sizeof *w->rows.v, cmp_row);
    size_t k = 0;
    int64_t max_users = 1;
    for (int64_t i = 0; i < w->n && !rc; i++) {
        account *a = &w->acc[i];
        rng_for(&r, w->seed, R_DERIVE, (uint64_t)i);
        a->row0 = (int32_t)k;
        while (k < w->rows.n && w->rows.v[k].acc == i)
            k++;
        a->nrows = (int32_t)k - a->row0;
        /* spans: runs of base rows that touch */
        a->span0 = (int32_t)w->spans.n;
        for (int32_t j = 0; j < a->nrows && !rc; j++) {
            const row *rw = &w->rows.v[a->row0 + j];
            if (rw->plan == PLAN_ADDON)
                continue;
            span *last = a->nspans ? &w->spans.v[w->spans.n - 1] : NULL;
            if (last && last->end == rw->start) {
                last->end = rw->end;
                continue;
            }
            span sp = { rw->start, rw->end, 0, (uint8_t)(a->nspans == 0) };
            if ((rc = kz_vec_push(&w->spans, sp)) != 0)
                break;
            a->nspans++;
        }
        for (int32_t j = 0; j < a->nspans; j++) {
            span *sp = &w->spans.v[a->span0 + j];
            /* most churn is preceded by falling activity; some comes as a surprise */
            if (sp->end != NEVER)
                sp->decline = kz_rng_bern(&r, 0.15) ? 0 : (int16_t)kz_rng_range(&r, 90, 120);
        }
        /* users: seats times a ratio, joining as seats are added */
        a->user0 = (int32_t)w->users.n;
        int32_t have = 0;
        for (int32_t j = 0; j < a->nrows && !rc; j++) {
            const row *rw = &w->rows.v[a->row0 + j];
            if (rw->plan == PLAN_ADDON || rw->start > w->end)
                continue;
            int32_t want = (int32_t)ceil(rw->qty * a->user_ratio);
            for (; have < want && !rc; have++) {
                user u;
                double delay = j == 0 ? kz_rng_exp(&r, 12) : kz_rng_exp(&r, 5);
                u.join = rw->start + (have == 0 ? 0 : (kz_day)(delay > 60 ? 60 : delay));
                u.w = have > 0 && kz_rng_bern(&r, 0.2) ? 0.0f : (float)exp(0.8 * kz_rng_normal(&r) - 0.32);
                u.mu = (float)(0.5 + 2.2 * pow(u.w, 0.4));
                rc = kz_vec_push(&w->users, u);
            }
        }
        a->nusers = have;
        if (have > max_users)
            max_users = have;
        /* feature adoption, counted in active days since the first subscription */
        for (int f = 0; f < NFEAT; f++)
            a->adopt[f] = NEVER;
        if (a->nspans == 0)
            continue;
        double speed = 0.6 + 0.5 * a->risk, willing = clampd(1.2 - 0.3 * a->risk, 0.35, 1.0);
        double when[NFEAT];
        for (int f = 0; f < NFEAT; f++) {
            when[f] = -1;
            if (f <= F_REPORT_VIEW)
                when[f] = 0;
            else if (f == F_INVITE_ACCEPT || f == F_ALERT_TRIGGER)
                when[f] = when[f - 1] < 0 ? -1 : when[f - 1] + kz_rng_exp(&r, feat[f].delay);
            else if ((!a->stalled || f == F_HELP) && kz_rng_bern(&r, feat[f].p * willing))
                when[f] = kz_rng_exp(&r, feat[f].delay * speed);
            if (when[f] >= 0)
                a->adopt[f] = active_day(w, a, when[f]);
        }
        kz_day sorted[NFEAT];
        memcpy(sorted, a->adopt, sizeof sorted);
        qsort(sorted, NFEAT, sizeof sorted[0], cmp_day);
        if (sorted[ONBOARD_FEATURES - 1] <= w->end)
            a->onboarded = sorted[ONBOARD_FEATURES - 1];
        a->first_start = w->spans.v[a->span0].start;
    }
    w->user_width = digits((uint64_t)max_users);
    if (w->user_width < 3)
        w->user_width = 3;
    return rc ? kz_error_set(rc, "deriving account state: %s", kz_error_name(rc)) : 0;
}

/* The base row covering day d, or NULL. */
static const row *row_at(const world *w, const account *a, kz_day d)
{
    for (int32_t j = 0; j < a->nrows; j++) {
        const row *rw = &w->rows.v[a->row0 + j];
        if (rw->plan != PLAN_ADDON && rw->start <= d && d < rw->end)
            return rw;
    }
    return NULL;
}

static const span *span_at(const world *w, const account *a, kz_day d)
{
    for (int32_t j = 0; j < a->nspans; j++) {
        const span *sp = &w->spans.v[a->span0 + j];
        if (sp->start <= d && d < sp->end)
            return sp;
    }
    return NULL;
}

/* Usage level apart from the onboarding ramp: falls before a churn, dips in a
 * slump. 1 is normal. */
static double level(const account *a, const span *sp, kz_day d)
{
    double l = 1.0;
    if (sp && sp->end != NEVER && sp->decline > 0) {
        int32_t to = sp->end - d;
        if (to < sp->decline)
            l *= 0.12 + 0.88 * (double)to / sp->decline;
    }
    if (a->slump_len && d >= a->slump_start && d < a->slump_start + a->slump_len) {
        double x = (double)(d - a->slump_start) / a->slump_len; /* V-shaped dip */
        double depth = 1.0 - (1.0 - a->slump_depth) * (1.0 - fabs(2 * x - 1));
        l *= depth;
    }
    return l;
}

static double ramp(const account *a, const span *sp, kz_day d)
{
    double len = sp->first ? a->ramp : 20;
    double x = (d - sp->start) / len;
    return x >= 1 ? 1.0 : 0.35 + 0.65 * x;
}

/* ---- 4. tickets, NPS, activities ---------------------------------------------- */

static int lang_of(const account *a, kz_rng *r)
{
    return a->jp && kz_rng_bern(r, 0.9) ? KZ_DEMO_JA : KZ_DEMO_EN;
}

static int in_first_month(const account *a, kz_day d)
{
    return d < a->first_start + 30 || kz_day_month(d) == kz_day_month(a->first_start);
}

static int make_tickets(world *w, int32_t ai)
{
    static const double prio_w[4] = { 25, 50, 18, 7 };
    static const double resp_h[4] = { 18, 7, 2, 0.6 };
    static const double res_d[4] = { 3, 2, 1, 0.5 };
    account *a = &w->acc[ai];
    kz_rng r;
    int rc = 0;
    kz_time stop = kz_day_time(w->end + 1);
    rng_for(&r, w->seed, R_TICKETS, (uint64_t)ai);
    int cohort = a->first_start != NEVER && kz_day_month(a->first_start) == w->cohort;
    for (int32_t s = 0; s < a->nspans && !rc; s++) {
        const span *sp = &w->spans.v[a->span0 + s];
        kz_day from = sp->start < w->h0 ? w->h0 : sp->start;
        kz_day to = sp->end == NEVER || sp->end > w->end + 1 ? w->end + 1 : sp->end;
        const row *rw = NULL;
        for (kz_day d = from; d < to && !rc; d++) {
            if (!rw || d >= rw->end)
                rw = row_at(w, a, d);
            if (!rw)
                continue;
            double lam = 0.35 / 30 * pow(rw->qty, 0.35) * pow(a->risk, 0.25) * dow_tickets[kz_weekday(d)];
            int onboarding = sp->first && in_first_month(a, d);
            if (onboarding)
                lam *= cohort ? 3.0 * COHORT_FACTOR : 3.0;
            int pre = sp->end != NEVER && sp->decline > 0 && sp->end - d <= 120;
            if (pre)
                lam *= 2.0;
            int64_t k;
            if (cohort && onboarding) {
                /* the planted cohort: drawn together, so that its count is its
                 * expectation (+-1) and the third is not lost in the noise */
                k = (int64_t)(floor(w->cohort_cum + lam - w->cohort_off) - floor(w->cohort_cum - w->cohort_off));
                w->cohort_cum += lam;
            } else {
                k = kz_rng_poisson(&r, lam);
            }
            for (int64_t j = 0; j < k && !rc; j++) {
                ticket t;
                memset(&t, 0, sizeof t);
                t.acc = ai;
                t.seq = (int32_t)w->tickets.n;
                t.opened = at(d, business_sec(&r, region_tz[a->region]));
                double pw[4];
                memcpy(pw, prio_w, sizeof pw);
                if (rw->plan == PLAN_ENTERPRISE)
                    pw[3] *= 1.5;
                t.prio = (uint8_t)kz_rng_pick(&r, pw, 4);
                t.cat = (uint8_t)(kz_rng_bern(&r, onboarding ? 0.5 : 0.4) ? KZ_DEMO_OPERATIONAL : KZ_DEMO_FUNCTIONAL);
                t.cat_empty = (uint8_t)kz_rng_bern(&r, 0.1);
                t.lang = (uint8_t)lang_of(a, &r);
                t.onboarding = (uint8_t)onboarding;
                double resp = 300 + kz_rng_exp(&r, resp_h[t.prio] * 3600);
                double res = kz_rng_exp(&r, res_d[t.prio] * DAY_SECS * (0.5 + 0.6 * a->risk));
                if (kz_rng_bern(&r, clampd(0.03 * a->risk + (pre ? 0.05 : 0), 0, 0.3)))
                    res += kz_rng_exp(&r, 40.0 * DAY_SECS); /* stuck */
                t.response = t.opened + (kz_time)resp * KZ_USEC_PER_SEC;
                t.resolved = t.response + (kz_time)(res + 600) * KZ_USEC_PER_SEC;
                if (t.response >= stop)
                    t.response = -1;
                if (t.resolved >= stop)
                    t.resolved = -1;
                t.text = kz_rng_u64(&r);
                rc = kz_vec_push(&w->tickets, t);
            }
        }
    }
    return rc;
}

static int make_nps(world *w, int32_t ai, size_t t0, size_t t1)
{
    account *a = &w->acc[ai];
    kz_rng r;
    int rc = 0;
    if (a->nspans == 0)
        return 0;
    rng_for(&r, w->seed, R_NPS, (uint64_t)ai);
    double mood = 0.6 * kz_rng_normal(&r); /* some customers just score higher */
    for (kz_day s = a->first_start + (kz_day)kz_rng_range(&r, 75, 150); s <= w->end && !rc;
         s += 182 + (kz_day)kz_rng_range(&r, -10, 10)) {
        const span *sp = span_at(w, a, s);
        if (!sp || s < w->h0)
            continue;
        for (int32_t c = 0; c < a->ncontacts && !rc; c++) {
            const contact *ct = &w->contacts.v[a->contact0 + c];
            double p = ct->champion ? 0.55 : ct->role == ROLE_FINANCE ? 0.15 : 0.3;
            if (!kz_rng_bern(&r, p))
                continue;
            kz_day d = s + (kz_day)kz_rng_exp(&r, 1.5);
            if (d > w->end)
                continue;
            nps_resp n;
            memset(&n, 0, sizeof n);
            n.acc = ai;
            n.seq = (int32_t)w->nps.n;
            n.ts = at(d, business_sec(&r, region_tz[a->region]));
            int open = 0, old = 0;
            for (size_t k = t0; k < t1; k++) {
                const ticket *t = &w->tickets.v[k];
                if (t->opened <= n.ts && (t->resolved < 0 || t->resolved > n.ts)) {
                    open++;
                    if (n.ts - t->opened > 14 * KZ_USEC_PER_DAY)
                        old++;
                }
            }
            double mu = 7.7 - 1.7 * log(a->risk) - 3.2 * (1 - level(a, sp, d)) - 0.6 * (open > 3 ? 3 : open) -
                        0.8 * (old > 2 ? 2 : old) + (ct->champion ? 0.7 : 0) - (a->stalled ? 1.0 : 0) + mood +
                        1.4 * kz_rng_normal(&r);
            n.score = (int8_t)clampd(round(mu), 0, 10);
            n.contact = kz_rng_bern(&r, 0.05) ? -1 : a->contact0 + c;
            n.comment = (uint8_t)kz_rng_bern(&r, n.score <= 6 ? 0.55 : 0.3);
            n.lang = (uint8_t)lang_of(a, &r);
            n.text = kz_rng_u64(&r);
            rc = kz_vec_push(&w->nps, n);
        }
    }
    return rc;
}

typedef struct actx {
    world *w;
    int32_t ai;
    kz_rng *r;
} actx;

static int add_act(actx *x, kz_day d, int kind, int dir, int topic, int by_owner)
{
    world *w = x->w;
    account *a = &w->acc[x->ai];
    if (d < w->h0 || d > w->end)
        return 0;
    activity v;
    memset(&v, 0, sizeof v);
    v.acc = x->ai;
    v.seq = (int32_t)w->acts.n;
    v.ts = at(d, business_sec(x->r, region_tz[a->region]));
    v.kind = (uint8_t)kind;
    v.dir = (uint8_t)(kind == K_NOTE ? DIR_NONE : dir);
    v.topic = (uint8_t)topic;
    v.lang = (uint8_t)lang_of(a, x->r);
    if (a->owner != NO_OWNER && (by_owner || kz_rng_bern(x->r, 0.8)))
        v.author = a->owner;
    else
        v.author = (uint8_t)kz_rng_range(x->r, NCSM, NSTAFF - 1);
    v.text = kz_rng_u64(x->r);
    return kz_vec_push(&w->acts, v);
}

static int make_activities(world *w, int32_t ai, size_t t0, size_t t1, size_t n0, size_t n1)
{
    /* daily chances of e-mails, calls, inbound mail and notes by touch model */
    static const double p_email[3] = { 0, 1.0 / 40, 1.0 / 14 };
    static const double p_call[3] = { 0, 1.0 / 100, 1.0 / 35 };
    static const double p_in[3] = { 1.0 / 150, 1.0 / 60, 1.0 / 25 };
    static const double p_note[3] = { 0, 1.0 / 120, 1.0 / 45 };
    account *a = &w->acc[ai];
    kz_rng r;
    int rc = 0;
    actx x = { w, ai, &r };
    int touch = a->touch;
    rng_for(&r, w->seed, R_ACTS, (uint64_t)ai);
    for (int32_t s = 0; s < a->nspans && !rc; s++) {
        const span *sp = &w->spans.v[a->span0 + s];
        kz_day to = sp->end == NEVER || sp->end > w->end + 1 ? w->end + 1 : sp->end;
        rc = add_act(&x, sp->start + (kz_day)kz_rng_range(&r, 0, 1), K_EMAIL, DIR_OUT, KZ_DEMO_T_WELCOME, 0);
        if (!rc && touch >= 1) {
            kz_day k = sp->start + (kz_day)kz_rng_range(&r, 2, 10);
            rc = add_act(&x, k, K_MEETING, DIR_OUT, KZ_DEMO_T_KICKOFF, 1);
            if (!rc && kz_rng_bern(&r, 0.7))
                rc = add_act(&x, k, K_NOTE, DIR_NONE, KZ_DEMO_T_NOTE_PLAIN, 1);
        }
        kz_day from = sp->start < w->h0 ? w->h0 : sp->start;
        for (kz_day d = from + 7; d < to && !rc; d++) {
            if (kz_weekday(d) >= 5)
                continue;
            double l = level(a, sp, d);
            if (kz_rng_bern(&r, p_email[touch]))
                rc = add_act(&x, d, K_EMAIL, DIR_OUT, KZ_DEMO_T_CHECKIN, 0);
            if (!rc && touch == 0 && kz_rng_bern(&r, 1.0 / 21))
                rc = add_act(&x, d, K_EMAIL, DIR_OUT, KZ_DEMO_T_NEWSLETTER, 0);
            if (!rc && kz_rng_bern(&r, p_call[touch] * (l < 0.6 ? 2 : 1))) {
                rc = add_act(&x, d, K_CALL, kz_rng_bern(&r, 0.8) ? DIR_OUT : DIR_IN, KZ_DEMO_T_CHECKIN, 0);
                if (!rc && kz_rng_bern(&r, 0.5))
                    rc = add_act(&x, d, K_NOTE, DIR_NONE, l < 0.6 ? KZ_DEMO_T_NOTE_RISK : KZ_DEMO_T_NOTE_GOOD, 0);
            }
            if (!rc && kz_rng_bern(&r, p_in[touch] * l))
                rc = add_act(&x, d, K_EMAIL, DIR_IN, KZ_DEMO_T_QUESTION, 0);
            if (!rc && kz_rng_bern(&r, p_note[touch]))
                rc = add_act(&x, d, K_NOTE, DIR_NONE, l < 0.6 ? KZ_DEMO_T_NOTE_RISK : KZ_DEMO_T_NOTE_PLAIN, 0);
        }
        /* quarterly business reviews for enterprise accounts */
        for (kz_day d = sp->start + 80; d < to && !rc; d += 91) {
            const row *rw = row_at(w, a, d);
            if (!rw || rw->plan != PLAN_ENTERPRISE)
                continue;
            kz_day q = d + (kz_day)kz_rng_range(&r, 0, 10);
            if (kz_weekday(q) >= 5)
                q += 2;
            rc = add_act(&x, q, K_MEETING, DIR_OUT, KZ_DEMO_T_QBR, 1);
            if (!rc)
                rc = add_act(&x, q, K_NOTE, DIR_NONE, level(a, sp, q) < 0.6 ? KZ_DEMO_T_NOTE_RISK : KZ_DEMO_T_NOTE_GOOD, 1);
        }
        /* the customer says so before leaving, sometimes */
        if (!rc && sp->end <= w->end && sp->decline > 0 && kz_rng_bern(&r, 0.5))
            rc = add_act(&x, sp->end - (kz_day)kz_rng_range(&r, 5, 40), K_EMAIL, DIR_IN, KZ_DEMO_T_CANCEL, 0);
    }
    /* renewals of yearly terms; expansions */
    for (int32_t j = 0; j < a->nrows && !rc; j++) {
        const row *rw = &w->rows.v[a->row0 + j];
        if (rw->plan == PLAN_ADDON)
            continue;
        if (rw->annual && touch >= 1) {
            kz_day te = rw->end != NEVER ? rw->end : add_year(rw->start);
            if (te - rw->start >= 300) {
                kz_day d = te - (kz_day)kz_rng_range(&r, 45, 60);
                rc = add_act(&x, d, K_EMAIL, DIR_OUT, KZ_DEMO_T_RENEWAL, 1);
                if (!rc)
                    rc = add_act(&x, d + (kz_day)kz_rng_range(&r, 3, 14), K_CALL, DIR_OUT, KZ_DEMO_T_RENEWAL, 1);
            }
        }
        const row *prev = j > 0 ? &w->rows.v[a->row0 + j - 1] : NULL;
        if (!rc && prev && prev->plan != PLAN_ADDON && prev->end == rw->start &&
            (rw->qty > prev->qty || rw->plan > prev->plan) && kz_rng_bern(&r, 0.5))
            rc = add_act(&x, rw->start - (kz_day)kz_rng_range(&r, 2, 12), K_EMAIL, DIR_IN, KZ_DEMO_T_EXPANSION, 0);
    }
    /* follow-ups of detractors and escalated tickets */
    for (size_t k = n0; k < n1 && !rc; k++) {
        const nps_resp *n = &w->nps.v[k];
        if (n->score <= 6 && kz_rng_bern(&r, touch ? 0.8 : 0.3)) {
            kz_day d = kz_time_day(n->ts) + (kz_day)kz_rng_range(&r, 1, 5);
            rc = add_act(&x, d, K_CALL, DIR_OUT, KZ_DEMO_T_DETRACTOR, 1);
            if (!rc)
                rc = add_act(&x, d, K_NOTE, DIR_NONE, KZ_DEMO_T_NOTE_RISK, 1);
        }
    }
    kz_time week = 7 * KZ_USEC_PER_DAY;
    for (size_t k = t0; k < t1 && !rc; k++) {
        const ticket *t = &w->tickets.v[k];
        int slow = t->resolved < 0 ? kz_day_time(w->end + 1) - t->opened > week : t->resolved - t->opened > week;
        if ((t->prio == 3 || slow) && kz_rng_bern(&r, touch ? 0.7 : 0.25)) {
            kz_day d = kz_time_day(t->opened) + (slow ? 7 : 0) + (kz_day)kz_rng_range(&r, 1, 3);
            rc = add_act(&x, d, K_CALL, DIR_OUT, KZ_DEMO_T_ESCALATION, 1);
        }
    }
    return rc;
}

static int cmp_ticket(const void *x, const void *y)
{
    const ticket *a = x, *b = y;
    if (a->opened != b->opened)
        return a->opened < b->opened ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_nps(const void *x, const void *y)
{
    const nps_resp *a = x, *b = y;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_act(const void *x, const void *y)
{
    const activity *a = x, *b = y;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int make_records(world *w)
{
    int rc = 0;
    for (int64_t i = 0; i < w->n && !rc; i++) {
        size_t t0 = w->tickets.n, n0 = w->nps.n;
        rc = make_tickets(w, (int32_t)i);
        if (!rc)
            rc = make_nps(w, (int32_t)i, t0, w->tickets.n);
        if (!rc)
            rc = make_activities(w, (int32_t)i, t0, w->tickets.n, n0, w->nps.n);
    }
    if (rc)
        return kz_error_set(rc, "making tickets, NPS and activities: %s", kz_error_name(rc));
    /* (empty vectors have no array: qsort must not see a NULL) */
    if (w->tickets.n)
        qsort(w->tickets.v, w->tickets.n, sizeof *w->tickets.v, cmp_ticket);
    if (w->nps.n)
        qsort(w->nps.v, w->nps.n, sizeof *w->nps.v, cmp_nps);
    if (w->acts.n)
        qsort(w->acts.v, w->acts.n, sizeof *w->acts.v, cmp_act);
    return 0;
}

/* ---- 5. the small files ---------------------------------------------------------- */

static int write_accounts(world *w)
{
    dfile df;
    int rc = df_open(&df, w->o->out_dir, "accounts.csv");
    if (!rc)
        rc = header(&df, "account_id,name,domain,industry,owner,created_at,region,employees,strategic,onboarded_at");
    for (int64_t i = 0; i < w->n && !rc; i++) {
        const account *a = &w->acc[i];
        fld_acc(&df, w, (int32_t)i, 1);
        fld(&df, a->name, 0);
        fld(&df, a->domain, 0);
        fld(&df, kz_demo_industry(a->industry), 0);
        fld(&df, a->owner == NO_OWNER ? "" : staff[a->owner], 0);
        fld_day(&df, a->created, 0);
        fld(&df, kz_demo_region(a->region), 0);
        fld_int(&df, a->employees, 0);
        fld(&df, a->strategic ? "true" : "false", 0);
        fld_day(&df, a->onboarded, 0);
        rc = df_end(&df);
    }
    if (!rc)
        return df_close(&df);
    df_abort(&df);
    return rc;
}

static int write_contacts(world *w)
{
    dfile df;
    int width = digits((uint64_t)w->contacts.n);
    int rc = df_open(&df, w->o->out_dir, "contacts.csv");
    if (width < 6)
        width = 6;
    if (!rc)
        rc = header(&df, "contact_id,account_id,email,name,role,champion");
    for (size_t i = 0; i < w->contacts.n && !rc; i++) {
        const contact *c = &w->contacts.v[i];
        fld_id(&df, "con_", (int64_t)i, width, 1);
        fld_acc(&df, w, c->acc, 0);
        fld(&df, c->email, 0);
        fld(&df, c->name, 0);
        fld(&df, roles[c->role], 0);
        fld(&df, c->champion ? "true" : "false", 0);
        rc = df_end(&df);
    }
    if (!rc)
        return df_close(&df);
    df_abort(&df);
    return rc;
}

static int write_subscriptions(world *w)
{
    dfile df;
    int width = digits((uint64_t)w->rows.n);
    int64_t id = 0;
    int rc = df_open(&df, w->o->out_dir, "subscriptions.csv");
    if (width < 6)
        width = 6;
    if (!rc)
        rc = header(&df, "subscription_id,account_id,plan,mrr,quantity,start_date,end_date");
    for (size_t i = 0; i < w->rows.n && !rc; i++) {
        const row *rw = &w->rows.v[i];
        if (rw->start > w->end)
            continue; /* simulated past the end, for the decline only */
        fld_id(&df, "sub_", id++, width, 1);
        fld_acc(&df, w, rw->acc, 0);
        fld(&df, plan_name[rw->plan], 0);
        fld_cents(&df, rw->mrr, 0);
        fld_int(&df, rw->qty, 0);
        fld_day(&df, rw->start, 0);
        fld_day(&df, rw->end > w->end ? NEVER : rw->end, 0);
        rc = df_end(&df);
    }
    w->nsubs_written = id;
    if (!rc)
        return df_close(&df);
    df_abort(&df);
    return rc;
}

static int write_tickets(world *w)
{
    dfile df;
    kz_buf subject, body;
    kz_rng r;
    int width = digits((uint64_t)w->tickets.n);
    int rc = df_open(&df, w->o->out_dir, "tickets.csv");
    kz_buf_init(&subject, 65536);
    kz_buf_init(&body, 65536);
    if (width < 6)
        width = 6;
    if (!rc)
        rc = header(&df, "ticket_id,account_id,opened_at,first_response_at,resolved_at,category,priority,subject,body");
    for (size_t i = 0; i < w->tickets.n && !rc; i++) {
        const ticket *t = &w->tickets.v[i];
        kz_buf_reset(&subject);
        kz_buf_reset(&body);
        rng_for(&r, t->text, R_TEXT, 0);
        if ((rc = kz_demo_ticket_text(&subject, &body, &r, t->cat, t->lang, t->onboarding)) != 0)
            break;
        fld_id(&df, "tkt_", (int64_t)i, width, 1);
        fld_acc(&df, w, t->acc, 0);
        fld_time(&df, t->opened, 0);
        fld_time(&df, t->response, 0);
        fld_time(&df, t->resolved, 0);
        fld(&df, t->cat_empty ? "" : t->cat == KZ_DEMO_FUNCTIONAL ? "functional" : "operational", 0);
        fld(&df, priorities[t->prio], 0);
        fldn(&df, subject.data, subject.len, 0);
        fldn(&df, body.data, body.len, 0);
        rc = df_end(&df);
    }
    kz_buf_free(&subject);
    kz_buf_free(&body);
    if (!rc)
        return df_close(&df);
    df_abort(&df);
    return rc;
}

static int write_nps(world *w)
{
    dfile df;
    kz_buf comment;
    kz_rng r;
    int width = digits((uint64_t)w->nps.n);
    int cwidth = digits((uint64_t)w->contacts.n);
    int rc = df_open(&df, w->o->out_dir, "nps.csv");
    kz_buf_init(&comment, 65536);
    if (width < 6)
        width = 6;
    if (cwidth < 6)
        cwidth = 6;
    if (!rc)
        rc = header(&df, "response_id,account_id,contact_id,ts,score,comment");
    for (size_t i = 0; i < w->nps.n && !rc; i++) {
        const nps_resp *n = &w->nps.v[i];
        kz_buf_reset(&comment);
        rng_for(&r, n->text, R_TEXT, 1);
        if (n->comment && (rc = kz_demo_nps_comment(&comment, &r, n->score, n->lang)) != 0)
            break;
        fld_id(&df, "nps_", (int64_t)i, width, 1);
        fld_acc(&df, w, n->acc, 0);
        if (n->contact >= 0)
            fld_id(&df, "con_", n->contact, cwidth, 0);
        else
            fld(&df, "", 0);
        fld_time(&df, n->ts, 0);
        fld_int(&df, n->score, 0);
        fldn(&df, comment.data, comment.len, 0);
        rc = df_end(&df);
    }
    kz_buf_free(&comment);
    if (!rc)
        return df_close(&df);
    df_abort(&df);
    return rc;
}

static int write_activities(world *w)
{
    static const char *const dirs[] = { "", "inbound", "outbound" };
    dfile df;
    kz_buf subject, body;
    kz_rng r;
    int width = digits((uint64_t)w->acts.n);
    int rc = df_open(&df, w->o->out_dir, "activities.csv");
    kz_buf_init(&subject, 65536);
    kz_buf_init(&body, 65536);
    if (width < 6)
        width = 6;
    if (!rc)
        rc = header(&df, "activity_id,account_id,ts,kind,direction,subject,body,author");
    for (size_t i = 0; i < w->acts.n && !rc; i++) {
        const activity *v = &w->acts.v[i];
        kz_buf_reset(&subject);
        kz_buf_reset(&body);
        rng_for(&r, v->text, R_TEXT, 2);
        if ((rc = kz_demo_activity_text(&subject, &body, &r, v->topic, v->lang)) != 0)
            break;
        fld_id(&df, "act_", (int64_t)i, width, 1);
        fld_acc(&df, w, v->acc, 0);
        fld_time(&df, v->ts, 0);
        fld(&df, kinds[v->kind], 0);
        fld(&df, dirs[v->dir], 0);
        fldn(&df, subject.data, subject.len, 0);
        fldn(&df, body.data, body.len, 0);
        fld(&df, staff[v->author], 0);
        rc = df_end(&df);
    }
    kz_buf_free(&subject);
    kz_buf_free(&body);
    if (!rc)
        return df_close(&df);
    df_abort(&df);
    return rc;
}

/* ---- 6. events ------------------------------------------------------------------ */

/* Per-account state of the event pass. */
typedef struct evacc {
    int32_t span_i, row_i; /* cursors (relative to the account's first) */
    uint32_t key;          /* what the pick table was built for */
    int nf;
    uint8_t idx[NFEAT];
    float cum[NFEAT];
    float f;               /* today's activity factor; < 0: not active today */
    int32_t nu;            /* users with a seat today */
} evacc;

typedef struct evday {
    KZ_VEC(evrec) ev;
    evrec *sorted;
    size_t sorted_cap;
    uint32_t *count; /* DAY_SECS + 1 */
} evday;

static void build_pick(evacc *e, const account *a, kz_day d, int boost_help)
{
    uint32_t key = (uint32_t)boost_help << 24;
    for (int f = 0; f < NFEAT; f++)
        if (a->adopt[f] <= d)
            key |= 1u << f;
    if (key == e->key)
        return;
    e->key = key;
    e->nf = 0;
    double c = 0;
    for (int f = 0; f < NFEAT; f++) {
        if (!(key & (1u << f)) || feat[f].weight <= 0)
            continue;
        c += feat[f].weight * (f == F_HELP ? boost_help : 1);
        e->idx[e->nf] = (uint8_t)f;
        e->cum[e->nf++] = (float)c;
    }
}

static int pick_event(const evacc *e, kz_rng *r)
{
    float x = (float)kz_rng_unif(r) * e->cum[e->nf - 1];
    for (int i = 0; i < e->nf; i++)
        if (x < e->cum[i])
            return e->idx[i];
    return e->idx[e->nf - 1];
}

static int32_t event_value(kz_rng *r, int f)
{
    double v;
    switch (f) {
    case F_DASH_VIEW:
    case F_REPORT_VIEW:
    case F_HELP:
        v = exp(3.6 + 0.8 * kz_rng_normal(r));
        return (int32_t)clampd(round(v), 1, 3600);
    case F_API:
        return (int32_t)kz_rng_range(r, 1, 100);
    case F_SYNC:
        v = exp(5.0 + 1.1 * kz_rng_normal(r));
        return (int32_t)clampd(round(v), 1, 100000);
    case F_IMPORT:
        v = exp(6.0 + 1.3 * kz_rng_normal(r));
        return (int32_t)clampd(round(v), 1, 500000);
    default:
        return 1;
    }
}

static int push_ev(evday *day, uint32_t sec, int32_t acc, uint32_t u, int f, kz_rng *r)
{
    evrec e = { sec, (uint32_t)acc, u, event_value(r, f), (uint8_t)f };
    return kz_vec_push(&day->ev, e);
}

/* A normal working day of one user: one to three sessions. */
static int user_day(evday *day, const evacc *e, const account *a, int32_t ai, uint32_t u, const user *us,
                    kz_rng *r)
{
    int rc = 0;
    int sessions = 1 + kz_rng_bern(r, 0.35) + kz_rng_bern(r, 0.1);
    int64_t n = 1 + kz_rng_poisson(r, us->mu);
    int tz = region_tz[a->region];
    int has_logout = a->adopt[F_LOGOUT] != NEVER;
    for (int s = 0; s < sessions && !rc; s++) {
        int64_t k = s == sessions - 1 ? n : (n + sessions - 1) / sessions;
        if (k <= 0)
            break;
        n -= k;
        int64_t t = business_sec(r, tz);
        for (int64_t j = 0; j < k && !rc && t < DAY_SECS; j++) {
            int f = j == 0 && kz_rng_bern(r, 0.75) ? F_LOGIN
                    : j == k - 1 && has_logout && kz_rng_bern(r, 0.25) ? F_LOGOUT
                                                                        : pick_event(e, r);
            rc = push_ev(day, (uint32_t)t, ai, u, f, r);
            t += 8 + (int64_t)kz_rng_exp(r, 70);
        }
    }
    return rc;
}

/* The planted training day: a session in the late morning, mostly help pages
 * and the basic views. */
static int training_day(evday *day, const evacc *e, const account *a, int32_t ai, uint32_t u, kz_rng *r)
{
    int rc = 0;
    int tz = region_tz[a->region];
    int64_t t = (10 + kz_rng_range(r, 0, 4)) * 3600 + kz_rng_range(r, 0, 3599) - tz * 3600;
    t = ((t % DAY_SECS) + DAY_SECS) % DAY_SECS;
    int64_t n = 3 + kz_rng_poisson(r, 4);
    for (int64_t j = 0; j < n && !rc && t < DAY_SECS; j++) {
        int f = j == 0 ? F_LOGIN : kz_rng_bern(r, 0.4) ? F_HELP : pick_event(e, r);
        rc = push_ev(day, (uint32_t)t, ai, u, f, r);
        t += 20 + (int64_t)kz_rng_exp(r, 150);
    }
    return rc;
}

/* Writes the day's events, counting-sorted by second (stable: ties keep the
 * order of generation). */
static int write_day(world *w, dfile *df, evday *day, kz_day d)
{
    size_t n = day->ev.n;
    char prefix[KZ_DATE_BUF + 1];
    size_t plen = kz_format_date(prefix, d);
    prefix[plen++] = 'T';
    if (n > day->sorted_cap) {
        evrec *p = realloc(day->sorted, n * sizeof *p);
        if (!p)
            return kz_error_oom();
        day->sorted = p;
        day->sorted_cap = n;
    }
    memset(day->count, 0, (DAY_SECS + 1) * sizeof *day->count);
    for (size_t i = 0; i < n; i++)
        day->count[day->ev.v[i].sec + 1]++;
    for (int s = 0; s < DAY_SECS; s++)
        day->count[s + 1] += day->count[s];
    for (size_t i = 0; i < n; i++)
        day->sorted[day->count[day->ev.v[i].sec]++] = day->ev.v[i];
    for (size_t i = 0; i < n; i++) {
        const evrec *e = &day->sorted[i];
        char *p = df_room(df, 160), *start = p;
        if (!p)
            return df->err;
        memcpy(p, prefix, plen);
        p += plen;
        uint32_t s = e->sec;
        *p++ = (char)('0' + s / 36000);
        *p++ = (char)('0' + s / 3600 % 10);
        *p++ = ':';
        *p++ = (char)('0' + s % 3600 / 600);
        *p++ = (char)('0' + s % 3600 / 60 % 10);
        *p++ = ':';
        *p++ = (char)('0' + s % 60 / 10);
        *p++ = (char)('0' + s % 10);
        memcpy(p, "Z,acc_", 6);
        p = put_pad(p + 6, (uint64_t)e->acc + 1, w->acc_width);
        memcpy(p, ",u_", 3);
        p = put_pad(p + 3, (uint64_t)e->acc + 1, w->acc_width);
        *p++ = '_';
        p = put_pad(p, (uint64_t)e->user + 1, w->user_width);
        *p++ = ',';
        size_t k = strlen(feat[e->ev].name);
        memcpy(p, feat[e->ev].name, k);
        p += k;
        *p++ = ',';
        p = put_pad(p, (uint64_t)e->value, 1);
        *p++ = '\n';
        df->b.len += (size_t)(p - start);
        df->b.data[df->b.len] = '\0';
    }
    w->nevents += (int64_t)n;
    return KZ_OK;
}

/* Today's activity factor of every account (negative when not active), and
 * the number of users who hold a seat. */
static void day_factors(world *w, evacc *ea, kz_day d, kz_rng *r)
{
    double sea[KZ_DEMO_NREGIONS];
    int hol;
    for (int g = 0; g < KZ_DEMO_NREGIONS; g++)
        sea[g] = season(g, d, &hol);
    double dw = dow_act[kz_weekday(d)];
    for (int64_t i = 0; i < w->n; i++) {
        const account *a = &w->acc[i];
        evacc *e = &ea[i];
        e->f = -1;
        e->nu = 0;
        if (a->first_start > d)
            continue;
        while (e->span_i < a->nspans && w->spans.v[a->span0 + e->span_i].end <= d)
            e->span_i++;
        if (e->span_i >= a->nspans)
            continue;
        const span *sp = &w->spans.v[a->span0 + e->span_i];
        if (sp->start > d)
            continue;
        const row *rw = NULL;
        for (; e->row_i < a->nrows; e->row_i++) {
            rw = &w->rows.v[a->row0 + e->row_i];
            if (rw->plan != PLAN_ADDON && rw->end > d)
                break;
        }
        if (e->row_i >= a->nrows || rw->start > d)
            continue;
        double noise = exp(0.25 * kz_rng_normal(r) - 0.03);
        e->f = (float)(a->act * dw * sea[a->region] * ramp(a, sp, d) * level(a, sp, d) * noise);
        int32_t nu = (int32_t)ceil(rw->qty * a->user_ratio);
        e->nu = nu > a->nusers ? a->nusers : nu;
        int boost = (d - a->first_start < 30 ? 3 : 1) * (level(a, sp, d) < 0.6 ? 2 : 1);
        build_pick(e, a, d, boost);
    }
}

static int write_events(world *w)
{
    dfile df;
    evday day;
    evacc *ea = calloc((size_t)w->n, sizeof *ea);
    int32_t *extra = NULL;
    kz_rng r;
    int rc = df_open(&df, w->o->out_dir, "events.csv");
    memset(&day, 0, sizeof day);
    day.count = malloc((DAY_SECS + 1) * sizeof *day.count);
    if (!ea || !day.count) {
        rc = kz_error_oom();
        goto done;
    }
    for (int64_t i = 0; i < w->n; i++)
        ea[i].key = UINT32_MAX;
    if (!rc)
        rc = header(&df, "ts,account_id,user_id,event,value");
    for (kz_day d = w->w0; d <= w->end && !rc; d++) {
        rng_for(&r, w->seed, R_DAY, (uint64_t)(d - w->w0));
        day.ev.n = 0;
        day_factors(w, ea, d, &r);
        int spike = d == w->spike;
        double pi = 0;
        if (spike) {
            /* expected DAU of a normal day like this one, then the extra
             * attendance that makes it SPIKE_FACTOR times as many */
            double expect = 0, seats = 0;
            for (int64_t i = 0; i < w->n; i++) {
                const account *a = &w->acc[i];
                if (ea[i].f < 0)
                    continue;
                for (int32_t u = 0; u < ea[i].nu; u++) {
                    const user *us = &w->users.v[a->user0 + u];
                    if (us->join > d)
                        continue;
                    expect += clampd(Q0 * us->w * ea[i].f, 0, 0.95);
                    seats += 1;
                }
            }
            double target = SPIKE_FACTOR * expect;
            w->spike_expected = expect;
            pi = seats > expect ? clampd((target - expect) / (seats - expect), 0, 1) : 1;
            if (target > seats) {
                /* not enough people with seats: add newcomers, spread by size */
                extra = calloc((size_t)w->n, sizeof *extra);
                if (!extra) {
                    rc = kz_error_oom();
                    break;
                }
                double more = target - seats;
                for (int64_t i = 0; i < w->n; i++)
                    if (ea[i].f >= 0 && ea[i].nu > 0) {
                        /* newcomers keep to the width of user numbers */
                        double room = pow(10, w->user_width) - 1 - w->acc[i].nusers;
                        double x = round(more * ea[i].nu / seats);
                        extra[i] = (int32_t)clampd(x, 0, room < w->acc[i].nusers ? room : w->acc[i].nusers);
                    }
            }
        }
        int64_t dau = 0;
        for (int64_t i = 0; i < w->n && !rc; i++) {
            const account *a = &w->acc[i];
            const evacc *e = &ea[i];
            if (e->f < 0)
                continue;
            for (int32_t u = 0; u < e->nu && !rc; u++) {
                const user *us = &w->users.v[a->user0 + u];
                if (us->join > d)
                    continue;
                double q = Q0 * us->w * e->f;
                int normal = us->w > 0 && kz_rng_unif(&r) < q;
                int train = spike && kz_rng_unif(&r) < pi;
                if (normal)
                    rc = user_day(&day, e, a, (int32_t)i, (uint32_t)u, us, &r);
                if (!rc && train)
                    rc = training_day(&day, e, a, (int32_t)i, (uint32_t)u, &r);
                dau += normal || train;
            }
            for (int32_t k = 0; spike && extra && k < extra[i] && !rc; k++, dau++)
                rc = training_day(&day, e, a, (int32_t)i, (uint32_t)(a->nusers + k), &r);
        }
        if (rc) {
            kz_error_set(rc, "generating events: %s", kz_error_name(rc));
            break;
        }
        w->dau[d - w->w0] = dau;
        rc = write_day(w, &df, &day, d);
    }
done:
    free(ea);
    free(extra);
    kz_vec_free(&day.ev);
    free(day.sorted);
    free(day.count);
    if (!rc)
        return df_close(&df);
    df_abort(&df);
    return rc;
}

/* ---- 7. spend and planted.json ------------------------------------------------------ */

static int write_spend(world *w, int64_t *rows_out)
{
    kz_month m0 = kz_day_month(w->h0), m1 = kz_day_month(w->end);
    int32_t nm = (int32_t)(m1 - m0 + 1);
    int64_t *fresh = calloc((size_t)nm, sizeof *fresh);
    dfile df;
    kz_rng r;
    int rc = df_open(&df, w->o->out_dir, "spend.csv");
    int64_t rows = 0;
    if (!fresh)
        rc = rc ? rc : kz_error_oom();
    if (!rc)
        rc = header(&df, "month,channel,amount");
    for (int64_t i = 0; i < w->n && !rc; i++) {
        kz_day f = w->acc[i].first_start;
        if (f != NEVER && f <= w->end)
            fresh[kz_day_month(f) - m0]++;
    }
    double avg = 0;
    for (int32_t m = 0; m < nm && !rc; m++)
        avg += (double)fresh[m] / nm;
    rng_for(&r, w->seed, R_SPEND, 0);
    for (int32_t m = 0; m < nm && !rc; m++) {
        char month[KZ_DATE_BUF];
        size_t ml = kz_format_month(month, m0 + m);
        for (int c = 0; c < N_(channels) && !rc; c++) {
            double noise = exp((c == 2 ? 0.35 : 0.15) * kz_rng_normal(&r));
            double amount = channel_share[c] * CAC * (0.85 * (double)fresh[m] + 0.15 * avg) * noise;
            fldn(&df, month, ml, 1);
            fld(&df, channels[c], 0);
            fld_cents(&df, llround(amount * 100), 0);
            rc = df_end(&df);
            rows++;
        }
    }
    free(fresh);
    *rows_out = rows;
    if (!rc)
        return df_close(&df);
    df_abort(&df);
    return rc;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* The strengths of the planted abnormalities, measured on what was written. */
static int measure(world *w, kz_demo_stats *st)
{
    int32_t nd = w->end - w->w0 + 1;
    int64_t *same = malloc((size_t)nd * sizeof *same);
    int nsame = 0;
    if (!same)
        return kz_error_oom();
    for (kz_day d = w->w0; d <= w->end; d++)
        if (kz_weekday(d) == kz_weekday(w->spike) && d != w->spike)
            same[nsame++] = w->dau[d - w->w0];
    qsort(same, (size_t)nsame, sizeof *same, cmp_i64);
    st->spike_day = w->spike;
    st->spike_dau = (double)w->dau[w->spike - w->w0];
    st->spike_expected_dau = w->spike_expected;
    st->spike_median_dau = nsame ? (nsame % 2 ? (double)same[nsame / 2]
                                              : (same[nsame / 2 - 1] + same[nsame / 2]) / 2.0)
                                 : 0;
    free(same);

    int64_t b, c, eb = 0, ec = 0;
    st->churn_month = w->churn_month;
    st->churn_rate = churn_rate(w, w->churn_month, NULL, NULL);
    for (kz_month m = w->churn_month - 12; month_index(w, m) >= 0; m -= 12) {
        churn_rate(w, m, &b, &c);
        eb += b;
        ec += c;
    }
    st->churn_baseline = eb ? (double)ec / (double)eb : 0;
    st->churn_min = 1;
    st->churn_max = 0;
    for (kz_month m = w->m0; kz_month_first_day(m + 1) <= w->end; m++) {
        double rate = churn_rate(w, m, &b, NULL);
        if (b < 100)
            continue;
        if (rate < st->churn_min)
            st->churn_min = rate;
        if (rate > st->churn_max)
            st->churn_max = rate;
    }
    if (st->churn_min > st->churn_max)
        st->churn_min = st->churn_max = 0;

    /* tickets in the first paid month, per account, by cohort */
    int64_t cnt[7] = { 0 }, tk[7] = { 0 };
    for (int64_t i = 0; i < w->n; i++) {
        kz_day f = w->acc[i].first_start;
        if (f == NEVER)
            continue;
        kz_month k = w->cohort - kz_day_month(f);
        if (k >= 0 && k <= 6)
            cnt[k]++;
    }
    for (size_t i = 0; i < w->tickets.n; i++) {
        const ticket *t = &w->tickets.v[i];
        kz_day f = w->acc[t->acc].first_start;
        kz_month fm = kz_day_month(f);
        kz_month k = w->cohort - fm;
        if (k >= 0 && k <= 6 && kz_day_month(kz_time_day(t->opened)) == fm)
            tk[k]++;
    }
    double base = 0;
    int nb = 0;
    for (int k = 1; k <= 6; k++)
        if (cnt[k] && kz_month_first_day(w->cohort - k) >= w->h0) {
            base += (double)tk[k] / (double)cnt[k];
            nb++;
        }
    st->cohort_month = w->cohort;
    st->cohort_accounts = cnt[0];
    st->cohort_tickets = cnt[0] ? (double)tk[0] / (double)cnt[0] : 0;
    st->cohort_baseline = nb ? base / nb : 0;
    return KZ_OK;
}

static double round3(double v)
{
    return round(v * 1000) / 1000;
}

static int write_planted(world *w, const kz_demo_stats *st)
{
    kz_buf b;
    kz_jw j;
    char t[KZ_DATE_BUF], d[512];
    dfile df;
    int rc = df_open(&df, w->o->out_dir, "planted.json");
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    kz_jw_init(&j, &b);
    j.pretty = 1;
    kz_jw_arr(&j);

    kz_jw_obj(&j);
    kz_jw_key(&j, "kind");
    kz_jw_str(&j, "dau_spike");
    kz_format_date(t, st->spike_day);
    kz_jw_key(&j, "date");
    kz_jw_str(&j, t);
    kz_jw_key(&j, "factor");
    kz_jw_double(&j, SPIKE_FACTOR);
    snprintf(d, sizeof d,
             "On %s (a %s) a company-wide training day brings about %.0fx the usual daily active users: "
             "existing users attend and dormant seats log in for the first time.",
             t, kz_weekday(st->spike_day) == 1 ? "Tuesday" : "Wednesday", SPIKE_FACTOR);
    kz_jw_key(&j, "description");
    kz_jw_str(&j, d);
    kz_jw_key(&j, "dau");
    kz_jw_int(&j, (int64_t)st->spike_dau);
    kz_jw_key(&j, "expected_dau");
    kz_jw_double(&j, round3(st->spike_expected_dau));
    kz_jw_key(&j, "median_dau_same_weekday");
    kz_jw_double(&j, st->spike_median_dau);
    kz_jw_end(&j);

    kz_jw_obj(&j);
    kz_jw_key(&j, "kind");
    kz_jw_str(&j, "yearend_churn");
    kz_format_month(t, st->churn_month);
    kz_jw_key(&j, "month");
    kz_jw_str(&j, t);
    kz_jw_key(&j, "factor");
    kz_jw_double(&j, PLANTED_CHURN);
    snprintf(d, sizeof d,
             "Logo churn in %s is about %.1fx that of earlier Decembers (which already run about %.1fx a "
             "normal month).",
             t, PLANTED_CHURN, DECEMBER_FACTOR);
    kz_jw_key(&j, "description");
    kz_jw_str(&j, d);
    kz_jw_key(&j, "logo_churn");
    kz_jw_double(&j, round(st->churn_rate * 1e5) / 1e5);
    kz_jw_key(&j, "earlier_decembers_logo_churn");
    kz_jw_double(&j, round(st->churn_baseline * 1e5) / 1e5);
    kz_jw_end(&j);

    kz_jw_obj(&j);
    kz_jw_key(&j, "kind");
    kz_jw_str(&j, "cohort_low_tickets");
    kz_format_month(t, st->cohort_month);
    kz_jw_key(&j, "cohort");
    kz_jw_str(&j, t);
    kz_jw_key(&j, "factor");
    kz_jw_double(&j, round3(COHORT_FACTOR));
    snprintf(d, sizeof d,
             "Accounts whose first paid month is %s file about a third as many tickets in that month as "
             "earlier cohorts did in theirs.",
             t);
    kz_jw_key(&j, "description");
    kz_jw_str(&j, d);
    kz_jw_key(&j, "accounts");
    kz_jw_int(&j, st->cohort_accounts);
    kz_jw_key(&j, "tickets_per_account");
    kz_jw_double(&j, round3(st->cohort_tickets));
    kz_jw_key(&j, "previous_6_cohorts_tickets_per_account");
    kz_jw_double(&j, round3(st->cohort_baseline));
    kz_jw_end(&j);

    kz_jw_end(&j);
    if (!rc && (rc = kz_jw_error(&j)) == 0) {
        if (!df.err)
            df.err = kz_buf_append(&df.b, b.data, b.len);
        rc = df_end(&df);
    }
    kz_buf_free(&b);
    if (!rc)
        return df_close(&df);
    df_abort(&df);
    return rc;
}

/* ---- planting and the whole run ------------------------------------------------------ */

/* A Tuesday or Wednesday 60..90 days before the end, away from holidays. */
static kz_day pick_spike(const world *w)
{
    kz_day cand[40];
    int n = 0;
    kz_rng r;
    rng_for(&r, w->seed, R_PLANT, 0);
    for (int pass = 0; pass < 2 && n == 0; pass++) {
        for (kz_day d = w->end - 90; d <= w->end - 60 && n < N_(cand); d++) {
            int wd = kz_weekday(d), near = 0;
            if (wd != 1 && wd != 2)
                continue;
            for (kz_day x = d - 3; x <= d + 3 && !pass; x++)
                for (int g = 0; g < KZ_DEMO_NREGIONS; g++) {
                    int hol;
                    season(g, x, &hol);
                    near |= hol;
                }
            if (!near)
                cand[n++] = d;
        }
    }
    return cand[kz_rng_range(&r, 0, n - 1)];
}

static void world_free(world *w)
{
    free(w->acc);
    kz_arena_free(w->arena);
    kz_vec_free(&w->rows);
    kz_vec_free(&w->spans);
    kz_vec_free(&w->users);
    kz_vec_free(&w->contacts);
    kz_vec_free(&w->tickets);
    kz_vec_free(&w->nps);
    kz_vec_free(&w->acts);
    free(w->head);
    free(w->link);
    free(w->cum);
    free(w->off);
    free(w->noise);
    free(w->active);
    free(w->dau);
}

int kz_demo_generate(kz_demo_stats *out, const kz_demo_opts *o)
{
    world w;
    kz_demo_stats st;
    kz_rng r;
    int rc;

    memset(&w, 0, sizeof w);
    memset(&st, 0, sizeof st);
    if ((rc = kz_demo_check(o)) != 0)
        return rc;
    if ((rc = mkdir_p(o->out_dir)) != 0)
        return rc;
    w.o = o;
    w.seed = o->seed;
    w.n = o->accounts;
    w.end = o->end;
    w.w0 = o->end - (kz_day)o->days + 1;
    w.h0 = w.w0 - 365;
    w.sim_end = w.end + SIM_AFTER_END;
    w.m0 = kz_day_month(w.h0);
    w.nmonths = (int)(kz_day_month(w.sim_end) - w.m0 + 2);
    w.acc_width = digits((uint64_t)w.n) < 5 ? 5 : digits((uint64_t)w.n);
    w.churn_month = (kz_month)((kz_day_month(w.end) / 12 - 1) * 12 + 11); /* December of last year */
    w.cohort = kz_day_month(w.end) - 2;
    w.churn_k = PLANTED_CHURN;
    w.spike = pick_spike(&w);
    rng_for(&r, w.seed, R_PLANT, 1);
    w.cohort_off = kz_rng_unif(&r);
    w.acc = calloc((size_t)w.n, sizeof *w.acc);
    w.arena = kz_arena_new(0);
    w.dau = calloc((size_t)o->days, sizeof *w.dau);
    if (!w.acc || !w.arena || !w.dau) {
        rc = kz_error_oom();
        goto done;
    }
    if ((rc = make_accounts(&w)) != 0 || (rc = simulate(&w)) != 0 || (rc = derive(&w)) != 0 ||
        (rc = make_records(&w)) != 0)
        goto done;
    if ((rc = write_accounts(&w)) != 0 || (rc = write_contacts(&w)) != 0 || (rc = write_subscriptions(&w)) != 0 ||
        (rc = write_tickets(&w)) != 0 || (rc = write_nps(&w)) != 0 || (rc = write_activities(&w)) != 0 ||
        (rc = write_events(&w)) != 0 || (rc = write_spend(&w, &st.spend)) != 0)
        goto done;
    if ((rc = measure(&w, &st)) != 0 || (rc = write_planted(&w, &st)) != 0)
        goto done;
    st.accounts = w.n;
    st.contacts = (int64_t)w.contacts.n;
    st.subscriptions = w.nsubs_written;
    st.events = w.nevents;
    st.tickets = (int64_t)w.tickets.n;
    st.nps = (int64_t)w.nps.n;
    st.activities = (int64_t)w.acts.n;
    st.planted = 3;
    st.window_start = w.w0;
    st.history_start = w.h0;
    *out = st;
done:
    world_free(&w);
    return rc;
}
