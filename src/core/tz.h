/*
 * tz.h - reporting time zones: which calendar day an instant falls on.
 *
 * A zone is UTC, a fixed offset ("+09:00", "-0530"), or an IANA name
 * ("Asia/Tokyo", "America/New_York") read from the system's time zone files
 * (TZDIR, default /usr/share/zoneinfo, Debian's tzdata). Names are checked
 * before any file is opened. Times after the last transition in the file
 * follow the file's POSIX rule (for example "EST5EDT,M3.2.0,M11.1.0").
 * A loaded zone is read-only and may be shared by threads.
 */
#ifndef KZ_CORE_TZ_H
#define KZ_CORE_TZ_H

#include <stdint.h>

typedef struct kz_tz kz_tz;

/* Loads a zone. 0, or KZ_EINVALID / KZ_ENOTFOUND with the reason. Caller frees
 * with kz_tz_free(). */
int kz_tz_load(kz_tz **out, const char *name);
void kz_tz_free(kz_tz *tz);

/* The zone's name as given. Borrowed. */
const char *kz_tz_name(const kz_tz *tz);

/* 1 for UTC (no offset ever). NULL counts as UTC. */
int kz_tz_is_utc(const kz_tz *tz);

/* Seconds east of UTC at an instant (seconds since the epoch). NULL is UTC. */
int32_t kz_tz_offset(const kz_tz *tz, int64_t t);

/* The local calendar day (days since 1970-01-01) of an instant. */
int64_t kz_tz_day(const kz_tz *tz, int64_t t);

/* The first instant of local day `day`, in seconds since the epoch (local
 * midnight, or the first existing instant after it when a clock change skips
 * midnight). */
int64_t kz_tz_day_start(const kz_tz *tz, int64_t day);

#endif
