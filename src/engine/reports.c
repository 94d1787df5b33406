/*
 * reports.c - the table of reports and their options (reports.h).
 */
#include "engine/reports.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/text.h"
#include "engine/signals.h"

static const kz_report reports[] = {
    { "summary", kz_metric_summary, KZ_ENGINE_SUBSCRIPTIONS,
      "the current month to date at a glance, each number beside the month before", kz_explain_mrr, KZ_X_MONTH },
    { "mrr", kz_metric_mrr, KZ_ENGINE_SUBSCRIPTIONS,
      "MRR movements by month or week: starting, new, expansion, contraction, churned, reactivation, ending; "
      "logo churn, GRR, NRR",
      kz_explain_mrr, KZ_X_DAY },
    { "cohorts", kz_metric_cohorts, KZ_ENGINE_SUBSCRIPTIONS,
      "logo and revenue retention by signup cohort, k = 0..24 months", kz_explain_cohorts, KZ_X_MONTH },
    { "usage", kz_metric_usage, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS,
      "per-account usage in the last 28 days against the 28 before, at the observation date", NULL, KZ_X_NONE },
    { "signals", kz_metric_signals, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS,
      "every account's signals at the observation date: usage, support, NPS, revenue, tenure", NULL, KZ_X_NONE },
    { "daily", kz_metric_daily, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS,
      "events and distinct active users per day", kz_explain_daily, KZ_X_DAY },
    { "arpa", kz_metric_arpa, KZ_ENGINE_SUBSCRIPTIONS,
      "average revenue per paying account, and of the new accounts, per month", kz_explain_mrr, KZ_X_MONTH },
    { "ltv", kz_metric_ltv, KZ_ENGINE_SUBSCRIPTIONS,
      "lifetime value: ARPA x gross margin / revenue churn (trailing 12-month mean), per month", kz_explain_mrr,
      KZ_X_MONTH },
    { "cac", kz_metric_cac, KZ_ENGINE_SUBSCRIPTIONS,
      "acquisition cost per new account from the imported spend, and its payback in months", kz_explain_mrr,
      KZ_X_MONTH },
    { "nps", kz_metric_nps, KZ_ENGINE_SUBSCRIPTIONS, "NPS per month: responses, promoters, passives, detractors",
      kz_explain_nps, KZ_X_MONTH },
    { "contract-length", kz_metric_contract_length, KZ_ENGINE_SUBSCRIPTIONS,
      "how long accounts stay: Kaplan-Meier median (paying accounts censored), mean of the churned",
      kz_explain_lifetimes, KZ_X_MONTH_OR_ALL },
    { "funnel", kz_metric_funnel, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS,
      "accounts or users through ordered events within a window, step by step (--steps, --within, --per)", NULL,
      KZ_X_NONE },
    { "survival", kz_metric_survival, KZ_ENGINE_SUBSCRIPTIONS,
      "the Kaplan-Meier survival curve of account lifetime, month by month", kz_explain_lifetimes,
      KZ_X_MONTH_OR_ALL },
};


#define NREPORTS (sizeof reports / sizeof reports[0])

const kz_report *kz_reports(size_t *n)
{
    *n = NREPORTS;
    return reports;
}

const kz_report *kz_report_find(const char *name)
{
    for (size_t i = 0; i < NREPORTS; i++)
        if (strcmp(reports[i].name, name) == 0)
            return &reports[i];
    return NULL;
}

/* YYYY-MM (the month's first or last day) or YYYY-MM-DD. */
static int parse_bound(kz_day *out, const char *s, int is_end)
{
    size_t n = strlen(s);
    kz_month m;
    if (n == 7 && kz_parse_month(&m, s, n) == 0) {
        *out = is_end ? kz_month_first_day(m + 1) - 1 : kz_month_first_day(m);
        return KZ_OK;
    }
    return kz_parse_date(out, s, n);
}

/* explain WHEN for report r: sets o->at, or says why not. */
static int parse_explain(const kz_report *r, const char *v, const char *p, kz_metric_opts *o)
{
    size_t n = strlen(v);
    kz_month m;
    kz_day d;
    switch (r->explain_takes) {
    case KZ_X_NONE:
        return kz_error_set(KZ_EINVALID, "%sexplain: the %s report already lists its accounts", p, r->name);
    case KZ_X_MONTH_OR_ALL:
        if (strcmp(v, "all") == 0)
            return KZ_OK; /* o->at stays KZ_DAY_NONE */
        /* fall through */
    case KZ_X_MONTH:
        if (n == 7 && kz_parse_month(&m, v, n) == 0) {
            o->at = kz_month_first_day(m);
            return KZ_OK;
        }
        return kz_error_set(KZ_EINVALID, "%sexplain %s: the %s report drills into a month, YYYY-MM%s", p, v, r->name,
                            r->explain_takes == KZ_X_MONTH_OR_ALL ? ", or all" : "");
    default:
        if (n == 10 && kz_parse_date(&d, v, n) == 0) {
            o->at = d;
            return KZ_OK;
        }
        if (r->run == kz_metric_mrr && n == 7 && kz_parse_month(&m, v, n) == 0) {
            o->at = kz_month_first_day(m);
            return KZ_OK;
        }
        return kz_error_set(KZ_EINVALID, "%sexplain %s: the %s report drills into a %s", p, v, r->name,
                            r->run == kz_metric_mrr ? "month, YYYY-MM (or a day of the week, YYYY-MM-DD)"
                                                    : "day, YYYY-MM-DD");
    }
}

/* The funnel's steps (2 to KZ_FUNNEL_MAX_STEPS event names, comma-separated),
 * window ("14d", "36h", "90m" or seconds; at most a year) and subjects. */
static int funnel_options(const kz_report_args *a, const char *p, kz_metric_opts *o)
{
    if (!a->steps)
        return kz_error_set(KZ_EINVALID, "%ssteps: missing (ordered event names: signup,report_created,invite_sent)", p);
    size_t n = 0;
    for (const char *s = a->steps;; n++) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        if (len == 0 || len > 200)
            return kz_error_set(KZ_EINVALID, "%ssteps %s: step %zu is empty or too long", p, a->steps, n + 1);
        if (!c) {
            n++;
            break;
        }
        s = c + 1;
    }
    if (n < 2 || n > KZ_FUNNEL_MAX_STEPS)
        return kz_error_set(KZ_EINVALID, "%ssteps %s: give 2 to %d event names", p, a->steps, KZ_FUNNEL_MAX_STEPS);
    o->steps = a->steps;
    o->within = 14 * 86400;
    if (a->within) {
        size_t len = strlen(a->within);
        int64_t v, unit = 1;
        char last = len ? a->within[len - 1] : 0;
        if (last == 'd' || last == 'h' || last == 'm' || last == 's') {
            unit = last == 'd' ? 86400 : last == 'h' ? 3600 : last == 'm' ? 60 : 1;
            len--;
        }
        if (kz_parse_int(&v, a->within, len, 1, 366LL * 86400) || v * unit > 366LL * 86400)
            return kz_error_set(KZ_EINVALID, "%swithin %s: a duration like 14d, 36h or 90m, at most a year", p,
                                a->within);
        o->within = v * unit;
    }
    if (a->per && strcmp(a->per, "account") != 0 && strcmp(a->per, "user") != 0)
        return kz_error_set(KZ_EINVALID, "%sper %s: account or user", p, a->per);
    o->per_user = a->per && strcmp(a->per, "user") == 0;
    return KZ_OK;
}

int kz_report_options(const kz_report *r, const kz_report_args *a, const char *p, kz_metric_opts *o,
                      kz_metric_fn *fn)
{
    const char *bounds[3] = { a->from, a->to, a->as_of }, *names[3] = { "from", "to", "as-of" };
    kz_day *dest[3] = { &o->from, &o->to, &o->obs };
    *fn = r->run;
    for (int k = 0; k < 3; k++) {
        kz_day d;
        if (!bounds[k])
            continue;
        if (parse_bound(&d, bounds[k], k == 1))
            return kz_error_set(KZ_EINVALID, "%s%s %s: %s", p, names[k], bounds[k], kz_error_msg());
        *dest[k] = d;
    }
    if (a->window) {
        int64_t v;
        if (kz_parse_int(&v, a->window, strlen(a->window), 1, 366))
            return kz_error_set(KZ_EINVALID, "%swindow %s: a number of days from 1 to 366", p, a->window);
        o->window = (int)v;
    }
    o->flags |= (a->revenue ? KZ_METRIC_REVENUE : 0) | (a->matrix ? KZ_METRIC_MATRIX : 0) |
                (a->wide ? KZ_METRIC_WIDE : 0) | (a->by_event ? KZ_METRIC_BY_EVENT : 0);
    const char *interval = a->interval ? a->interval : "month";
    if (strcmp(interval, "month") == 0)
        o->interval = KZ_INTERVAL_MONTH;
    else if (strcmp(interval, "week") == 0 && strcmp(r->name, "mrr") == 0)
        o->interval = KZ_INTERVAL_WEEK;
    else if (strcmp(interval, "week") == 0)
        return kz_error_set(KZ_EINVALID, "%sinterval week: only the mrr report has weeks", p);
    else
        return kz_error_set(KZ_EINVALID, "%sinterval must be month or week, not '%s'", p, interval);
    if ((o->flags & (KZ_METRIC_REVENUE | KZ_METRIC_MATRIX)) && strcmp(r->name, "cohorts") != 0)
        return kz_error_set(KZ_EINVALID, "%s%s: only the cohorts report has it", p,
                            o->flags & KZ_METRIC_REVENUE ? "revenue" : "matrix");
    if ((o->flags & (KZ_METRIC_WIDE | KZ_METRIC_BY_EVENT)) && strcmp(r->name, "usage") != 0)
        return kz_error_set(KZ_EINVALID, "%s%s: only the usage report has it", p,
                            o->flags & KZ_METRIC_WIDE ? "wide" : "by-event");
    if ((o->flags & KZ_METRIC_WIDE) && (o->flags & KZ_METRIC_BY_EVENT))
        return kz_error_set(KZ_EINVALID, "%swide and %sby-event: choose one", p, p);
    if (o->window && !(o->flags & (KZ_METRIC_WIDE | KZ_METRIC_BY_EVENT)) && strcmp(r->name, "signals") != 0)
        return kz_error_set(KZ_EINVALID,
                            "%swindow: only with signals, or usage %swide or %sby-event (the reference columns "
                            "are of 28 days)",
                            p, p, p);
    int funnel = strcmp(r->name, "funnel") == 0;
    if (!funnel && (a->steps || a->within || a->per))
        return kz_error_set(KZ_EINVALID, "%s%s: only the funnel report has it", p,
                            a->steps ? "steps" : a->within ? "within" : "per");
    if (funnel) {
        int rc = funnel_options(a, p, o);
        if (rc)
            return rc;
    }
    if (a->explain && (o->flags & KZ_METRIC_MATRIX))
        return kz_error_set(KZ_EINVALID, "%sexplain and %smatrix: choose one", p, p);
    if (a->explain) {
        int rc = parse_explain(r, a->explain, p, o);
        if (rc)
            return rc;
        *fn = r->explain;
    }
    if (o->from != INT32_MIN && o->to != INT32_MAX && o->from > o->to)
        return kz_error_set(KZ_EINVALID, "%sfrom is after %sto", p, p);
    return KZ_OK;
}

void kz_report_config(const kz_config *cfg, kz_metric_opts *o)
{
    o->gross_margin = (double)cfg->metrics_gross_margin_pct / 100.0;
    o->reactivation_days = (int32_t)cfg->metrics_reactivation_days;
    o->count_intra = strcmp(cfg->metrics_intra_period, "count") == 0;
    o->threads = strcmp(cfg->engine_threads, "auto") == 0 ? 0 : strcmp(cfg->engine_threads, "1") == 0 ? 1 : 2;
}
