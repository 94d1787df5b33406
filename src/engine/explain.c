/*
 * explain.c - the accounts behind a number (--explain): for a month of the
 * monthly reports, each account's MRR at the start and the end and how it
 * moved; for a cohort, each account's months paid; for NPS, the answers; for
 * a day, the active accounts; for lifetimes, each account's span.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/engine_internal.h"

static const char *const move_names[] = {
    [KZ_MOVE_NONE] = "none",         [KZ_MOVE_STEADY] = "steady",         [KZ_MOVE_NEW] = "new",
    [KZ_MOVE_EXPANSION] = "expansion", [KZ_MOVE_CONTRACTION] = "contraction", [KZ_MOVE_CHURNED] = "churned",
    [KZ_MOVE_REACTIVATION] = "reactivation",
};

/* The order rows are shown in: what needs attention first. */
static const int move_rank[] = {
    [KZ_MOVE_CHURNED] = 0, [KZ_MOVE_CONTRACTION] = 1, [KZ_MOVE_EXPANSION] = 2, [KZ_MOVE_NEW] = 3,
    [KZ_MOVE_REACTIVATION] = 4, [KZ_MOVE_STEADY] = 5, [KZ_MOVE_NONE] = 6,
};

struct row {
    uint32_t acc;
    kz_move move;
    int64_t m0, m1, intra;
};

static int cmp_row(const void *x, const void *y)
{
    const struct row *a = x, *b = y;
    if (move_rank[a->move] != move_rank[b->move])
        return move_rank[a->move] - move_rank[b->move];
    int64_t da = llabs(a->m1 - a->m0) + a->intra, db = llabs(b->m1 - b->m0) + b->intra;
    if (da != db)
        return da > db ? -1 : 1;
    return (a->acc > b->acc) - (a->acc < b->acc);
}

static const kz_tcol mrr_cols[] = {
    { "account_id", KZ_T_TEXT }, { "movement", KZ_T_TEXT },    { "mrr_start", KZ_T_MONEY },
    { "mrr_end", KZ_T_MONEY },   { "change", KZ_T_MONEY },     { "first_start", KZ_T_DATE },
    { "intra_mrr", KZ_T_MONEY },
};

int kz_explain_mrr(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    size_t nc = sizeof mrr_cols / sizeof mrr_cols[0] - !o->count_intra;
    kz_table *t = kz_table_new(mrr_cols, nc);
    struct row *rows = malloc((e->naccounts ? e->naccounts : 1) * sizeof *rows);
    size_t n = 0;
    int rc = KZ_OK;
    *out = NULL;
    if (!t || !rows) {
        kz_table_free(t);
        free(rows);
        return kz_error_oom();
    }
    kz_day ms, me;
    if (o->interval == KZ_INTERVAL_WEEK) {
        ms = kz_week_first_day(o->at);
        me = ms + 7;
    } else {
        ms = kz_month_first_day(kz_day_month(o->at));
        me = kz_month_first_day(kz_day_month(o->at) + 1);
    }
    for (uint32_t a = 0; a < e->naccounts; a++) {
        kz_day fs = kz_engine_first_start(e, a);
        if (fs == KZ_DAY_OPEN || fs >= me || !kz_counts(o, a))
            continue;
        int64_t m0 = kz_engine_mrr_on(e, a, ms), m1 = kz_engine_mrr_on(e, a, me), intra;
        kz_move mv = kz_engine_move(e, o, a, fs, ms, me, m0, m1, &intra);
        if (m0 == 0 && m1 == 0 && intra == 0)
            continue;
        rows[n++] = (struct row){ a, mv, m0, m1, intra };
    }
    if (n > 1)
        qsort(rows, n, sizeof *rows, cmp_row);
    for (size_t i = 0; i < n && !rc; i++) {
        kz_tcell *r = kz_table_add_row(t);
        const char *mv = rows[i].intra ? (rows[i].move == KZ_MOVE_NEW ? "new_and_churned" : "reactivation_and_churned")
                                       : move_names[rows[i].move];
        if (!r || kz_cell_text(t, &r[0], e->acc_key[rows[i].acc], e->acc_key_len[rows[i].acc]) ||
            kz_cell_text(t, &r[1], mv, strlen(mv))) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[2], rows[i].m0);
        kz_cell_int(&r[3], rows[i].m1);
        kz_cell_int(&r[4], rows[i].m1 - rows[i].m0);
        kz_cell_int(&r[5], kz_engine_first_start(e, rows[i].acc));
        if (o->count_intra)
            kz_cell_int(&r[6], rows[i].intra);
    }
    free(rows);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}

static const kz_tcol cohort_cols[] = {
    { "account_id", KZ_T_TEXT },     { "first_start", KZ_T_DATE },  { "months_seen", KZ_T_INT },
    { "months_retained", KZ_T_INT }, { "retained_now", KZ_T_TEXT }, { "initial_mrr", KZ_T_MONEY },
    { "mrr_now", KZ_T_MONEY },
};

int kz_explain_cohorts(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(cohort_cols, sizeof cohort_cols / sizeof cohort_cols[0]);
    int rc = KZ_OK;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    kz_day obs = kz_engine_obs(e, o);
    kz_month cm = kz_day_month(o->at);
    for (uint32_t a = 0; a < e->naccounts && !rc; a++) {
        kz_day fs = kz_engine_first_start(e, a);
        if (fs == KZ_DAY_OPEN || kz_day_month(fs) != cm || !kz_counts(o, a))
            continue;
        int64_t seen = 0, kept = 0, now = 0;
        int last = 0;
        for (int k = 0; k <= 24; k++) {
            kz_day d = kz_month_first_day(cm + k + 1);
            if (obs == KZ_DAY_NONE || d > obs)
                break;
            seen++;
            now = kz_engine_mrr_on(e, a, d);
            last = now > 0;
            kept += last;
        }
        kz_tcell *r = kz_table_add_row(t);
        if (!r || kz_cell_text(t, &r[0], e->acc_key[a], e->acc_key_len[a]) ||
            kz_cell_text(t, &r[4], seen ? (last ? "yes" : "no") : "-", seen ? (last ? 3 : 2) : 1)) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[1], fs);
        kz_cell_int(&r[2], seen);
        kz_cell_int(&r[3], kept);
        kz_cell_int(&r[5], kz_engine_mrr_on(e, a, fs));
        if (seen)
            kz_cell_int(&r[6], now);
    }
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}

static const kz_tcol nps_cols[] = {
    { "account_id", KZ_T_TEXT }, { "day", KZ_T_DATE }, { "score", KZ_T_INT }, { "group", KZ_T_TEXT },
};

int kz_explain_nps(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(nps_cols, sizeof nps_cols / sizeof nps_cols[0]);
    int rc = KZ_OK;
    *out = NULL;
    if (!t)
        return KZ_ENOMEM;
    kz_month m = kz_day_month(o->at);
    int64_t a0 = kz_tz_day_start(o->tz, kz_month_first_day(m)), b0 = kz_tz_day_start(o->tz, kz_month_first_day(m + 1));
    for (size_t i = 0; i < e->nnps && !rc; i++) {
        if (e->nps_sec[i] < a0 || e->nps_sec[i] >= b0 || !kz_counts(o, e->nps_acc[i]))
            continue;
        int s = e->nps_score[i];
        const char *g = s >= 9 ? "promoter" : s >= 7 ? "passive" : "detractor";
        kz_tcell *r = kz_table_add_row(t);
        if (!r || kz_cell_text(t, &r[0], e->acc_key[e->nps_acc[i]], e->acc_key_len[e->nps_acc[i]]) ||
            kz_cell_text(t, &r[3], g, strlen(g))) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[1], kz_tz_day(o->tz, e->nps_sec[i]));
        kz_cell_int(&r[2], s);
    }
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}

static const kz_tcol day_cols[] = {
    { "account_id", KZ_T_TEXT },
    { "events", KZ_T_INT },
    { "users", KZ_T_INT },
};

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

int kz_explain_daily(kz_table **out, const kz_engine *e, const kz_metric_opts *o)
{
    kz_table *t = kz_table_new(day_cols, sizeof day_cols / sizeof day_cols[0]);
    size_t a0 = kz_engine_lower_day(e, o, o->at), b0 = kz_engine_lower_day(e, o, (int64_t)o->at + 1);
    /* (account, user) pairs of the day, sorted: runs of one account */
    uint64_t *pairs = malloc((b0 > a0 ? b0 - a0 : 1) * sizeof *pairs);
    size_t n = 0;
    int rc = KZ_OK;
    *out = NULL;
    if (!t || !pairs) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t i = a0; i < b0; i++)
        if (kz_counts(o, e->ev_acc[i]))
            pairs[n++] = (uint64_t)e->ev_acc[i] << 32 | e->ev_user[i];
    if (n > 1)
        qsort(pairs, n, sizeof *pairs, cmp_u64);
    for (size_t i = 0; i < n && !rc;) {
        uint32_t a = (uint32_t)(pairs[i] >> 32);
        int64_t events = 0, users = 0;
        for (; i < n && (uint32_t)(pairs[i] >> 32) == a; i++) {
            uint32_t u = (uint32_t)pairs[i];
            events++;
            users += u && (events == 1 || (uint32_t)pairs[i - 1] != u);
        }
        kz_tcell *r = kz_table_add_row(t);
        if (!r || kz_cell_text(t, &r[0], e->acc_key[a], e->acc_key_len[a])) {
            rc = KZ_ENOMEM;
            break;
        }
        kz_cell_int(&r[1], events);
        kz_cell_int(&r[2], users);
    }
done:
    free(pairs);
    if (rc) {
        kz_table_free(t);
        return rc;
    }
    *out = t;
    return KZ_OK;
}
