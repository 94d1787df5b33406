/*
 * tz.c - time zones from fixed offsets and TZif files (RFC 8536).
 */
#include "core/tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/time.h"

/* A daylight-saving rule of the POSIX footer: month m, week w (5 = last), day d
 * (0 = Sunday), at `secs` local time. */
struct rule {
    int m, w, d;
    int32_t secs;
};

struct kz_tz {
    char name[64];
    int utc;
    int32_t fixed;        /* the offset when there are no transitions */
    int64_t *when;        /* transition instants, ascending */
    int32_t *after;       /* the offset from each transition on */
    size_t n;
    int32_t before;       /* the offset before the first transition */
    /* the footer rule, for instants after the last transition */
    int has_rule, rule_dst;
    int32_t std_off, dst_off; /* seconds east */
    struct rule start, end;
};

const char *kz_tz_name(const kz_tz *tz)
{
    return tz ? tz->name : "UTC";
}

int kz_tz_is_utc(const kz_tz *tz)
{
    return !tz || (tz->utc && tz->fixed == 0);
}

void kz_tz_free(kz_tz *tz)
{
    if (!tz)
        return;
    free(tz->when);
    free(tz->after);
    free(tz);
}

/* "+09:00", "-0530", "+9", "UTC", "Z" */
static int parse_fixed(const char *s, int32_t *out)
{
    if (strcmp(s, "UTC") == 0 || strcmp(s, "Z") == 0 || strcmp(s, "GMT") == 0) {
        *out = 0;
        return 1;
    }
    if (s[0] != '+' && s[0] != '-')
        return 0;
    int sign = s[0] == '-' ? -1 : 1, h = 0, m = 0, i = 1, nd = 0;
    while (s[i] >= '0' && s[i] <= '9' && nd < 2) {
        h = h * 10 + (s[i++] - '0');
        nd++;
    }
    if (nd == 0)
        return 0;
    if (s[i] == ':')
        i++;
    if (s[i]) {
        if (!(s[i] >= '0' && s[i] <= '9' && s[i + 1] >= '0' && s[i + 1] <= '9') || s[i + 2])
            return 0;
        m = (s[i] - '0') * 10 + (s[i + 1] - '0');
    }
    if (h > 18 || m > 59)
        return 0;
    *out = sign * (h * 3600 + m * 60);
    return 1;
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 64 || s[0] == '/' || strstr(s, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' || c == '_' ||
              c == '-' || c == '+'))
            return 0;
    }
    return 1;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* POSIX TZ offsets are "hours west" with an optional sign and minutes: "5",
 * "-9", "3:30". Returns the length read, 0 when malformed. *out is seconds
 * east (the sign flipped). */
static size_t posix_offset(const char *s, int32_t *out)
{
    size_t i = 0;
    int sign = 1;
    if (s[i] == '+' || s[i] == '-')
        sign = s[i++] == '-' ? -1 : 1;
    int parts[3] = { 0, 0, 0 }, np = 0;
    while (np < 3) {
        int nd = 0, v = 0;
        while (s[i] >= '0' && s[i] <= '9' && nd < 3) {
            v = v * 10 + (s[i++] - '0');
            nd++;
        }
        if (!nd)
            return 0;
        parts[np++] = v;
        if (s[i] != ':')
            break;
        i++;
    }
    *out = -sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
    return i;
}

/* A zone abbreviation: letters, or <...>. */
static size_t posix_name(const char *s)
{
    size_t i = 0;
    if (s[0] == '<') {
        while (s[i] && s[i] != '>')
            i++;
        return s[i] == '>' ? i + 1 : 0;
    }
    while ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'))
        i++;
    return i >= 3 ? i : 0;
}

/* "Mm.w.d[/time]"; returns the length read, 0 when not of that form. */
static size_t posix_rule(const char *s, struct rule *r)
{
    int m, w, d, n = 0;
    if (sscanf(s, "M%d.%d.%d%n", &m, &w, &d, &n) != 3 || m < 1 || m > 12 || w < 1 || w > 5 || d < 0 || d > 6)
        return 0;
    r->m = m;
    r->w = w;
    r->d = d;
    r->secs = 7200;
    size_t i = (size_t)n;
    if (s[i] == '/') {
        int32_t t;
        size_t k = posix_offset(s + i + 1, &t);
        if (!k)
            return 0;
        r->secs = -t; /* posix_offset flips the sign */
        i += 1 + k;
    }
    return i;
}

static void parse_footer(kz_tz *tz, const char *s)
{
    size_t i = posix_name(s), k;
    if (!i || !(k = posix_offset(s + i, &tz->std_off)))
        return;
    i += k;
    if (!s[i]) {
        tz->has_rule = 1; /* a fixed zone after the table */
        return;
    }
    size_t dn = posix_name(s + i);
    if (!dn)
        return;
    i += dn;
    tz->dst_off = tz->std_off + 3600;
    if (s[i] && s[i] != ',') {
        if (!(k = posix_offset(s + i, &tz->dst_off)))
            return;
        i += k;
    }
    if (s[i] != ',' || !(k = posix_rule(s + i + 1, &tz->start)))
        return;
    i += 1 + k;
    if (s[i] != ',' || !(k = posix_rule(s + i + 1, &tz->end)))
        return;
    tz->has_rule = 1;
    tz->rule_dst = 1;
}

static int load_tzif(kz_tz *tz, const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = KZ_OK;
    if (!f)
        return kz_error_set(KZ_ENOTFOUND, "unknown time zone '%s' (%s)", tz->name, strerror(errno));
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (1u << 22)) {
                rc = kz_error_set(KZ_EINVALID, "time zone file %s is too large", path);
                goto done;
            }
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                rc = kz_error_oom();
                goto done;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (n < 44 || memcmp(buf, "TZif", 4) != 0 || buf[4] < '2') {
        rc = kz_error_set(KZ_EINVALID, "%s is not a TZif file of version 2 or later", path);
        goto done;
    }
    /* skip the 32-bit block */
    size_t c[6];
    for (int k = 0; k < 6; k++)
        c[k] = be32(buf + 20 + 4 * k);
    size_t v1 = 44 + c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    if (v1 + 44 > n || memcmp(buf + v1, "TZif", 4) != 0) {
        rc = kz_error_set(KZ_EINVALID, "%s is damaged", path);
        goto done;
    }
    const unsigned char *h = buf + v1;
    for (int k = 0; k < 6; k++)
        c[k] = be32(h + 20 + 4 * k);
    size_t isut = c[0], isstd = c[1], leap = c[2], timecnt = c[3], typecnt = c[4], charcnt = c[5];
    const unsigned char *p = h + 44;
    size_t need = timecnt * 8 + timecnt + typecnt * 6 + charcnt + leap * 12 + isstd + isut;
    if (typecnt == 0 || typecnt > 256 || timecnt > 100000 || (size_t)(p - buf) + need > n) {
        rc = kz_error_set(KZ_EINVALID, "%s is damaged", path);
        goto done;
    }
    const unsigned char *times = p, *idx = p + timecnt * 8, *types = idx + timecnt;
    tz->when = malloc((timecnt ? timecnt : 1) * sizeof *tz->when);
    tz->after = malloc((timecnt ? timecnt : 1) * sizeof *tz->after);
    if (!tz->when || !tz->after) {
        rc = kz_error_oom();
        goto done;
    }
    for (size_t k = 0; k < timecnt; k++) {
        if (idx[k] >= typecnt) {
            rc = kz_error_set(KZ_EINVALID, "%s is damaged", path);
            goto done;
        }
        tz->when[k] = be64(times + 8 * k);
        tz->after[k] = (int32_t)be32(types + 6 * idx[k]);
    }
    tz->n = timecnt;
    /* before the first transition: the first non-DST type, else type 0 */
    tz->before = (int32_t)be32(types);
    for (size_t k = 0; k < typecnt; k++)
        if (!types[6 * k + 4]) {
            tz->before = (int32_t)be32(types + 6 * k);
            break;
        }
    tz->fixed = tz->n ? tz->after[tz->n - 1] : tz->before;
    /* the footer: "\nTZ\n" */
    const unsigned char *foot = p + need;
    if (foot < buf + n && *foot == '\n') {
        char rule[128];
        size_t k = 0;
        for (foot++; foot < buf + n && *foot != '\n' && k + 1 < sizeof rule; foot++)
            rule[k++] = (char)*foot;
        rule[k] = '\0';
        parse_footer(tz, rule);
    }
done:
    fclose(f);
    free(buf);
    return rc;
}

int kz_tz_load(kz_tz **out, const char *name)
{
    kz_tz *tz = calloc(1, sizeof *tz);
    int rc = KZ_OK;
    *out = NULL;
    if (!tz)
        return kz_error_oom();
    snprintf(tz->name, sizeof tz->name, "%s", name);
    if (parse_fixed(name, &tz->fixed)) {
        tz->utc = 1;
        *out = tz;
        return KZ_OK;
    }
    if (!valid_name(name)) {
        rc = kz_error_set(KZ_EINVALID, "'%s' is not a time zone (an IANA name like Asia/Tokyo, UTC, or +09:00)",
                          name);
        goto done;
    }
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", name);
    rc = load_tzif(tz, path);
done:
    if (rc) {
        kz_tz_free(tz);
        return rc;
    }
    *out = tz;
    return KZ_OK;
}

/* The local instant (as days and seconds since the epoch, in local time) of a
 * rule in year y: the w-th (5: last) weekday d of month m at r->secs. */
static int64_t rule_local(int y, const struct rule *r)
{
    int64_t first = kz_days_from_civil(y, r->m, 1);
    int wd = (int)((first + 4) % 7); /* 0 = Sunday; 1970-01-01 was a Thursday */
    if (wd < 0)
        wd += 7;
    int64_t day = first + (r->d - wd + 7) % 7 + 7 * (r->w - 1);
    while (day >= first + kz_month_days(y, r->m))
        day -= 7;
    return day * 86400 + r->secs;
}

static int32_t rule_offset(const kz_tz *tz, int64_t t)
{
    if (!tz->rule_dst)
        return tz->std_off;
    int y, m, d;
    kz_civil_from_days(kz_time_day(t * KZ_USEC_PER_SEC), &y, &m, &d);
    /* transitions in UTC: the start is in standard time, the end in DST */
    int64_t start = rule_local(y, &tz->start) - tz->std_off;
    int64_t end = rule_local(y, &tz->end) - tz->dst_off;
    int in_dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return in_dst ? tz->dst_off : tz->std_off;
}

int32_t kz_tz_offset(const kz_tz *tz, int64_t t)
{
    if (!tz || tz->utc)
        return tz ? tz->fixed : 0;
    if (tz->n == 0 || t < tz->when[0])
        return tz->n == 0 && tz->has_rule ? rule_offset(tz, t) : tz->before;
    if (t >= tz->when[tz->n - 1] && tz->has_rule)
        return rule_offset(tz, t);
    size_t lo = 0, hi = tz->n; /* the last transition at or before t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->when[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->after[lo];
}

int64_t kz_tz_day(const kz_tz *tz, int64_t t)
{
    int64_t local = t + kz_tz_offset(tz, t);
    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

int64_t kz_tz_day_start(const kz_tz *tz, int64_t day)
{
    int64_t local = day * 86400;
    if (kz_tz_is_utc(tz))
        return local - kz_tz_offset(tz, 0);
    /* guess with the offset at that instant, then correct once */
    int64_t t = local - kz_tz_offset(tz, local);
    t = local - kz_tz_offset(tz, t);
    if (kz_tz_day(tz, t) == day && kz_tz_day(tz, t - 1) < day)
        return t;
    /* a clock change skips or repeats midnight: the first instant of the day,
     * by binary search (offsets stay within a day of UTC) */
    int64_t lo = local - 2 * 86400, hi = local + 2 * 86400;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (kz_tz_day(tz, mid) >= day)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}
