/*
 * cli_progress_test.c - the progress bar (src/cli/progress.c) draws percent,
 * rows/s and time left when enabled, nothing when not, and erases itself.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/progress.h"
#include "../support/support.h"

static void nap(void)
{
    struct timespec t = { 0, 120 * 1000 * 1000 };
    nanosleep(&t, NULL);
}

Test(cli_progress, draws_when_enabled_and_stays_silent_otherwise)
{
    char *dir = kt_tmpdir();
    char *path = kt_path(dir, "err.txt");
    cr_assert_not_null(freopen(path, "w", stderr));
    kz_progress p;
    kz_progress_start(&p, 1, "events.csv");
    nap();
    kz_progress_update(&p, 250, 1000, 50000);
    kz_progress_done(&p);
    kz_progress_start(&p, 0, "quiet.csv");
    nap();
    kz_progress_update(&p, 500, 1000, 50000);
    kz_progress_done(&p);
    fflush(stderr);
    char *out = kt_read(path, NULL);
    cr_assert(kt_contains(out, "\revents.csv ["), "%s", out);
    cr_assert(kt_contains(out, " 25%"), "%s", out);
    cr_assert(kt_contains(out, "50.0k rows"), "%s", out);
    cr_assert(kt_contains(out, "rows/s"), "%s", out);
    cr_assert(kt_contains(out, "ETA"), "%s", out);
    cr_assert(kt_contains(out, "\r\033[K"), "the bar is not erased: %s", out);
    cr_assert(!kt_contains(out, "quiet.csv"), "%s", out);
    kt_rmrf(dir);
}
