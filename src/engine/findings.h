/*
 * findings.h - what the CLI and the server share of anomalies: the scan of
 * the watched series as the configuration asks (anomaly.watch,
 * anomaly.sensitivity_percent, anomaly.holidays), its anomalies stored once
 * each with their state, and an anomaly as JSON.
 */
#ifndef KZ_ENGINE_FINDINGS_H
#define KZ_ENGINE_FINDINGS_H

#include <stdint.h>

#include "core/calendar.h"
#include "core/config.h"
#include "core/jsonw.h"
#include "engine/engine.h"
#include "engine/watch.h"
#include "store/store.h"

/* The watch options cfg asks for (watch: another list in the form of
 * anomaly.watch, NULL for the configured one; every threshold times cfg's
 * sensitivity times `sensitivity`), its holidays in *holidays, which w
 * points to. KZ_EINVALID names the setting that is wrong. Free both with
 * kz_findings_opts_free, also after a failure. */
int kz_findings_opts(kz_watch_opts *w, kz_calendar *holidays, const kz_config *cfg, const char *watch,
                     double sensitivity);
void kz_findings_opts_free(kz_watch_opts *w, kz_calendar *holidays);

/* Every anomaly of the series cfg watches (watch: another list in the form
 * of anomaly.watch, NULL for the configured one), every threshold times
 * cfg's sensitivity times `sensitivity`; trace: a series whose every point is
 * listed (NULL: none); days not over by `now` are not judged (0: all).
 * KZ_EINVALID names the setting that is wrong ("anomaly.holidays: ...").
 * Caller frees *out with kz_anomalies_free. */
int kz_findings_scan(kz_anomalies **out, const kz_engine *e, const kz_metric_opts *o, const kz_config *cfg,
                     const char *watch, double sensitivity, const char *trace, kz_time now);

/* The stored form of anomaly a (strings borrowed from a). */
void kz_finding_rec(kz_anomaly_rec *r, const kz_anomaly *a);

/* Stores the abnormal points of a (not a trace's normal ones): each once,
 * new ones open, known ones keep their state. *out_new: how many were new. */
int kz_findings_record(kz_store *st, const kz_anomalies *a, kz_time at, int64_t *out_new);

/* Anomaly r as one JSON object: id and state when stored (r->id > 0),
 * series, kind, grain, date / month / cohort (with age and days), until,
 * observed, expected, low, high, score, direction, unit, message. */
void kz_finding_json(kz_jw *w, const kz_anomaly_rec *r);

#endif
