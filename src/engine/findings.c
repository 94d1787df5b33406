/*
 * findings.c - the scan as configured, storing anomalies, and their JSON.
 */
#include "engine/findings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int kz_findings_opts(kz_watch_opts *w, kz_calendar *holidays, const kz_config *cfg, const char *watch,
                     double sensitivity)
{
    kz_watch_opts_init(w);
    memset(holidays, 0, sizeof *holidays);
    if (kz_watch_opts_parse(w, watch ? watch : cfg->anomaly_watch))
        return kz_error_prefix(KZ_EINVALID, "%s", watch ? "the series to watch" : "anomaly.watch");
    if (kz_calendar_parse(holidays, cfg->anomaly_holidays))
        return kz_error_prefix(KZ_EINVALID, "anomaly.holidays");
    w->sensitivity = (sensitivity > 0 ? sensitivity : 1) * (double)cfg->anomaly_sensitivity_pct / 100.0;
    w->holidays = holidays;
    return KZ_OK;
}

void kz_findings_opts_free(kz_watch_opts *w, kz_calendar *holidays)
{
    kz_watch_opts_free(w);
    kz_calendar_free(holidays);
}

int kz_findings_scan(kz_anomalies **out, const kz_engine *e, const kz_metric_opts *o, const kz_config *cfg,
                     const char *watch, double sensitivity, const char *trace, kz_time now)
{
    kz_watch_opts w;
    kz_calendar holidays;
    *out = NULL;
    int rc = kz_findings_opts(&w, &holidays, cfg, watch, sensitivity);
    if (!rc) {
        w.trace = trace;
        w.now = now;
        rc = kz_watch_scan(out, e, o, &w);
    }
    kz_findings_opts_free(&w, &holidays);
    return rc;
}

static const char *grain_name(int grain)
{
    return grain == KZ_GRAIN_DAY ? "day" : grain == KZ_GRAIN_MONTH ? "month" : "cohort";
}

void kz_finding_rec(kz_anomaly_rec *r, const kz_anomaly *a)
{
    memset(r, 0, sizeof *r);
    r->series = a->series;
    r->kind = a->kind;
    r->grain = grain_name(a->grain);
    r->day = a->day;
    r->age = a->age;
    r->until = a->until;
    r->observed = a->observed;
    r->expected = a->expected;
    r->low = a->low;
    r->high = a->high;
    r->score = a->score;
    r->higher = a->higher;
    r->unit = a->unit;
    r->message = a->message;
}

int kz_findings_record(kz_store *st, const kz_anomalies *a, kz_time at, int64_t *out_new)
{
    size_t n = 0;
    kz_anomaly_rec *v = malloc((a->n ? a->n : 1) * sizeof *v);
    if (!v)
        return kz_error_oom();
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].flagged)
            kz_finding_rec(&v[n++], &a->v[i]);
    int rc = kz_store_anomalies_put(st, v, n, at, out_new);
    free(v);
    return rc;
}

void kz_finding_json(kz_jw *w, const kz_anomaly_rec *r)
{
    char when[KZ_DATE_BUF];
    kz_jw_obj(w);
    if (r->id > 0) {
        kz_jw_key(w, "id");
        kz_jw_int(w, r->id);
    }
    kz_jw_key(w, "series");
    kz_jw_str(w, r->series);
    kz_jw_key(w, "kind");
    kz_jw_str(w, r->kind);
    kz_jw_key(w, "grain");
    kz_jw_str(w, r->grain);
    if (strcmp(r->grain, "day") == 0) {
        kz_jw_key(w, "date");
        kz_jw_date(w, r->day);
    } else {
        kz_format_month(when, kz_day_month(r->day));
        kz_jw_key(w, strcmp(r->grain, "month") == 0 ? "month" : "cohort");
        kz_jw_str(w, when);
    }
    if (strcmp(r->grain, "cohort") == 0) {
        kz_jw_key(w, "age");
        kz_jw_int(w, r->age);
        char days[32];
        snprintf(days, sizeof days, "%d-%d", 30 * r->age + 1, 30 * (r->age + 1));
        kz_jw_key(w, "days");
        kz_jw_str(w, days);
    }
    kz_jw_key(w, "until");
    kz_jw_date(w, r->until);
    kz_jw_key(w, "observed");
    kz_jw_double(w, r->observed);
    kz_jw_key(w, "expected");
    kz_jw_double(w, r->expected);
    kz_jw_key(w, "low");
    kz_jw_double(w, r->low);
    kz_jw_key(w, "high");
    kz_jw_double(w, r->high);
    kz_jw_key(w, "score");
    kz_jw_double(w, r->score);
    kz_jw_key(w, "direction");
    kz_jw_str(w, r->higher ? "up" : "down");
    kz_jw_key(w, "unit");
    kz_jw_str(w, r->unit);
    kz_jw_key(w, "message");
    kz_jw_str(w, r->message);
    if (r->id > 0) {
        kz_jw_key(w, "state");
        kz_jw_str(w, r->state);
        kz_jw_key(w, "state_by");
        kz_jw_str(w, r->state_by);
        kz_jw_key(w, "note");
        kz_jw_str(w, r->note);
        kz_jw_key(w, "found_at");
        kz_jw_time(w, r->found_at);
        kz_jw_key(w, "updated_at");
        kz_jw_time(w, r->updated_at);
    }
    kz_jw_end(w);
}
