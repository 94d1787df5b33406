/*
 * reports.h - the table of reports (`kizuna metrics REPORT`, `GET
 * /api/v1/metrics/REPORT`) and the options they take, checked once for both
 * the command line and the API.
 */
#ifndef KZ_ENGINE_REPORTS_H
#define KZ_ENGINE_REPORTS_H

#include <stddef.h>

#include "core/config.h"
#include "engine/engine.h"
#include "engine/segment.h"

/* What --explain takes: nothing (the report has no drill-down), a month, a day. */
enum { KZ_X_NONE, KZ_X_MONTH, KZ_X_DAY, KZ_X_MONTH_OR_ALL };

typedef struct kz_report {
    const char *name;
    kz_metric_fn run;
    int parts;            /* KZ_ENGINE_*: what of the image it needs */
    const char *summary;
    kz_metric_fn explain; /* the accounts behind a row, or NULL */
    int explain_takes;
} kz_report;

/* Every report, in the order of the help. */
const kz_report *kz_reports(size_t *n);

/* The report called name, or NULL. */
const kz_report *kz_report_find(const char *name);

/* The options of a report as text (NULL or 0 when not given). */
typedef struct kz_report_args {
    const char *from, *to, *as_of, *explain, *interval, *window;
    const char *steps, *within, *per; /* funnel */
    int revenue, matrix, wide, by_event;
} kz_report_args;

/* Checks a's options for report r and applies them to o (from, to, obs,
 * interval, flags, window, at); *fn is the function to run (the report or
 * its drill-down). KZ_EINVALID with a message naming the option as
 * prefix + name ("--from" on the command line, "from" in the API). */
int kz_report_options(const kz_report *r, const kz_report_args *a, const char *prefix, kz_metric_opts *o,
                      kz_metric_fn *fn);

/* The definitions that are configuration (gross margin, reactivation window,
 * intra-period subscriptions, threads) from cfg into o. */
void kz_report_config(const kz_config *cfg, kz_metric_opts *o);

#endif
