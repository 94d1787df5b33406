/*
 * progress.h - a one-line progress bar on a terminal (never on a pipe).
 */
#ifndef KZ_CLI_PROGRESS_H
#define KZ_CLI_PROGRESS_H

#include <stdint.h>

typedef struct kz_progress {
    int enabled;      /* stderr is a terminal and the user did not ask for quiet */
    const char *label;
    double started, last;
    int drawn;
} kz_progress;

void kz_progress_start(kz_progress *p, int enabled, const char *label);

/* Redraws at most ten times a second: percent, rows, rows/s and time left. */
void kz_progress_update(kz_progress *p, uint64_t bytes, uint64_t total, int64_t rows);

/* Erases the bar. */
void kz_progress_done(kz_progress *p);

#endif
