/*
 * classify_test.c - how well the ticket classifier (src/ingest/classify.c)
 * tells functional from operational tickets, measured on the labelled tickets
 * of a demo world (whose texts are written for the category they carry).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo/demo.h"
#include "ingest/csv.h"
#include "ingest/import.h"
#include "../support/support.h"

Test(classify, agrees_with_the_labels_of_the_demo_world, .timeout = 60)
{
    char *dir = kt_tmpdir();
    kz_demo_opts o;
    kz_demo_stats stats;
    kz_demo_defaults(&o);
    o.out_dir = dir;
    o.accounts = 400;
    o.days = 365;
    cr_assert_eq(kz_demo_generate(&stats, &o), 0);
    char *path = kt_path(dir, "tickets.csv");
    kz_csv *r;
    kz_csv_rec rec;
    cr_assert_eq(kz_csv_open(&r, path, 1 << 20), 0);
    cr_assert_eq(kz_csv_next(r, &rec), 1); /* header: ...,category,priority,subject,body */
    int total = 0, right = 0, per[2][2] = { { 0, 0 }, { 0, 0 } };
    while (kz_csv_next(r, &rec) == 1) {
        const kz_field *cat = &rec.f[5], *subj = &rec.f[7], *body = &rec.f[8];
        if (cat->n == 0)
            continue;
        int truth = cat->n == strlen("operational") && memcmp(cat->p, "operational", cat->n) == 0;
        const char *got = kz_classify_ticket(subj->p, subj->n, body->p, body->n);
        int guess = strcmp(got, "operational") == 0;
        per[truth][guess]++;
        total++;
        right += truth == guess;
    }
    kz_csv_close(r);
    cr_assert_gt(total, 500);
    double accuracy = (double)right / total;
    cr_log_info("classifier: %d labelled tickets, accuracy %.3f (functional %d/%d, operational %d/%d)", total,
                accuracy, per[0][0], per[0][0] + per[0][1], per[1][1], per[1][0] + per[1][1]);
    cr_assert_geq(accuracy, 0.9, "accuracy %.3f", accuracy);
    cr_assert_gt(per[1][1], (per[1][0] + per[1][1]) * 8 / 10, "operational recall too low");
    kt_rmrf(dir);
}
