/*
 * progress.c - the terminal progress bar of progress.h.
 */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>

#include "core/time.h"

void kz_progress_start(kz_progress *p, int enabled, const char *label)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->label = label;
    p->started = kz_monotonic();
    p->last = p->started;
}

static const char *human(char *buf, size_t cap, double v)
{
    if (v >= 1e6)
        snprintf(buf, cap, "%.1fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, cap, "%.1fk", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
    return buf;
}

void kz_progress_update(kz_progress *p, uint64_t bytes, uint64_t total, int64_t rows)
{
    char bar[31], r1[32], r2[32];
    double now = kz_monotonic();
    if (!p->enabled || now - p->last < 0.1)
        return;
    p->last = now;
    double el = now - p->started;
    double rate = el > 0 ? (double)rows / el : 0;
    if (total > 0) {
        double frac = (double)bytes / (double)total;
        if (frac > 1)
            frac = 1;
        int fill = (int)(frac * 30);
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, ' ', (size_t)(30 - fill));
        bar[30] = '\0';
        double eta = frac > 0 ? el / frac - el : 0;
        fprintf(stderr, "\r%s [%s] %3.0f%%  %s rows  %s rows/s  ETA %.0fs ", p->label, bar, frac * 100,
                human(r1, sizeof r1, (double)rows), human(r2, sizeof r2, rate), eta);
    } else {
        fprintf(stderr, "\r%s  %s rows  %s rows/s ", p->label, human(r1, sizeof r1, (double)rows),
                human(r2, sizeof r2, rate));
    }
    p->drawn = 1;
    fflush(stderr);
}

void kz_progress_done(kz_progress *p)
{
    if (p->enabled && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = 0;
}
