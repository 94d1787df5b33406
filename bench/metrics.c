/*
 * metrics.c - warm timings of the engine's reports (make bench).
 *
 * Builds the engine once from a database, then runs each report REPS times and
 * prints the median time per report, the build (cold start) time, and the
 * memory of the image: "kizuna warm <report> <seconds>" lines for the script.
 *
 *   build/bench/metrics DB [REPS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/table.h"
#include "core/time.h"
#include "engine/engine.h"
#include "engine/segment.h"
#include "store/store.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median time of reps runs of fn, rendering included (the work a client
 * sees); -1 when it fails. times has reps entries. */
static double median_time(kz_metric_fn fn, const kz_engine *e, const kz_metric_opts *o, int reps, double *times)
{
    for (int r = 0; r < reps; r++) {
        kz_table *t;
        double s = kz_monotonic();
        if (fn(&t, e, o)) {
            fprintf(stderr, "metrics: %s\n", kz_error_msg());
            return -1;
        }
        kz_buf b;
        kz_buf_init(&b, KZ_BUF_UNLIMITED);
        kz_table_csv(t, &b);
        times[r] = kz_monotonic() - s;
        kz_buf_free(&b);
        kz_table_free(t);
    }
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    return times[reps / 2];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: metrics DB [REPS]\n");
        return 2;
    }
    int reps = argc > 2 ? atoi(argv[2]) : 9;
    kz_store *st;
    kz_engine *e;
    if (kz_store_open(&st, argv[1], KZ_STORE_READONLY)) {
        fprintf(stderr, "metrics: %s\n", kz_error_msg());
        return 1;
    }
    /* the cold start: from the compressed blocks, then from the image file */
    double t0 = kz_monotonic();
    if (kz_engine_build(&e, st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, NULL)) {
        fprintf(stderr, "metrics: %s\n", kz_error_msg());
        return 1;
    }
    printf("kizuna build %.6f\n", kz_monotonic() - t0);
    kz_engine_free(e);
    char *image = kz_engine_image_path(st);
    kz_engine_build(&e, st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, image); /* writes it if needed */
    kz_engine_free(e);
    t0 = kz_monotonic();
    if (kz_engine_build(&e, st, KZ_ENGINE_SUBSCRIPTIONS | KZ_ENGINE_EVENTS, image)) {
        fprintf(stderr, "metrics: %s\n", kz_error_msg());
        return 1;
    }
    printf("kizuna build_from_image %.6f\n", kz_monotonic() - t0);
    free(image);
    printf("kizuna events %zu\n", kz_engine_events(e));
    printf("kizuna image_bytes %zu\n", kz_engine_bytes(e));
    static const struct {
        const char *name;
        kz_metric_fn fn;
    } q[] = { { "q2", kz_metric_mrr }, { "q3", kz_metric_usage }, { "q4", kz_metric_daily }, { "q5", kz_metric_cohorts } };
    kz_metric_opts o;
    kz_metric_opts_init(&o);
    double *times = calloc((size_t)reps, sizeof *times);
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        double m = median_time(q[i].fn, e, &o, reps, times);
        if (m < 0)
            return 1;
        printf("kizuna warm %s %.6f\n", q[i].name, m);
    }
    /* the variants beyond the reference, warm */
    static const struct {
        const char *name;
        kz_metric_fn fn;
        unsigned flags;
        int weekly, explain;
    } x[] = {
        { "usage_wide", kz_metric_usage, KZ_METRIC_WIDE, 0, 0 },
        { "usage_by_event", kz_metric_usage, KZ_METRIC_BY_EVENT, 0, 0 },
        { "mrr_weekly", kz_metric_mrr, 0, 1, 0 },
        { "cohorts_revenue_matrix", kz_metric_cohorts, KZ_METRIC_REVENUE | KZ_METRIC_MATRIX, 0, 0 },
        { "explain_mrr_month", kz_explain_mrr, 0, 0, 1 },
        { "summary", kz_metric_summary, 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        kz_metric_opts xo;
        kz_metric_opts_init(&xo);
        xo.flags = x[i].flags;
        xo.interval = x[i].weekly ? KZ_INTERVAL_WEEK : KZ_INTERVAL_MONTH;
        if (x[i].explain) /* the last complete month */
            xo.at = kz_month_first_day(kz_day_month(kz_engine_last_day(e, NULL)) - 1);
        double m = median_time(x[i].fn, e, &xo, reps, times);
        if (m < 0)
            return 1;
        printf("kizuna extra %s %.6f\n", x[i].name, m);
    }
    free(times);
    kz_engine_free(e);
    kz_store_close(st);
    return 0;
}
