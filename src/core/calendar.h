/*
 * calendar.h - days that are not like the others: holidays and breaks, as
 * configured (anomaly.holidays), for detectors that must not call a holiday's
 * quiet an anomaly before they have seen it come back a year later.
 *
 * The text is a comma-separated list of days and ranges, each either every
 * year's ("12-24..01-03", the year-end break, which may run over New Year;
 * "05-03") or one year's ("2026-11-26", "2026-08-13..2026-08-16").
 */
#ifndef KZ_CORE_CALENDAR_H
#define KZ_CORE_CALENDAR_H

#include <stddef.h>

#include "core/time.h"

typedef struct kz_calendar {
    size_t n;
    struct kz_cal_range {
        int yearly;          /* 1: from/to are month * 100 + day; 0: days */
        int32_t from, to;    /* inclusive */
    } *v;                    /* malloc'd */
} kz_calendar;

/* Parses text into cal (empty text or "none": no day). KZ_EINVALID names the
 * entry that is wrong and why; cal is then empty. Caller frees with
 * kz_calendar_free. */
int kz_calendar_parse(kz_calendar *cal, const char *text);
void kz_calendar_free(kz_calendar *cal);

/* 1 when day d is in the calendar (cal may be NULL: never). */
int kz_calendar_has(const kz_calendar *cal, kz_day d);

#endif
