/*
 * rules.c - `make bench`: what playbook rules cost per ingested event.
 *
 * 100 rules over 50 event names, as a real rule set looks: 40 event rules
 * (half with a condition on a property, a quarter on the value), 40
 * sequences of two or three steps within 1 to 30 days (half per user, some
 * with "same"), 20 counting rules (3 views of one article in a day). 5
 * million events of 20,000 accounts and 200,000 users over 90 days, 60 %
 * of them of names no rule reads (page views and the like), fed in runs of
 * 10,000 as the live writer hands them over; 35 % of common names the
 * sequences read, 5 % of rarer ones the event rules wait for. Reported: nanoseconds per
 * event, firings, and the matcher's memory. The fire callback accepts
 * every firing (conditions on accounts are judged per firing, not per
 * event, and are not part of this figure).
 *
 * Usage: build/bench/rules [EVENTS]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/time.h"
#include "rules/match.h"
#include "rules/rule.h"
#include "store/evblock.h"

#define NRULES 100
#define NNAMES 60
#define RUN 10000

static int on_fire(void *ctx, const kz_fire *f)
{
    (void)f;
    (*(int64_t *)ctx)++;
    return 1;
}

static int make_rule(kz_rule **out, int i)
{
    char json[2048];
    int e1 = 1 + i % 20, e2 = 1 + (i * 7) % 20, e3 = 1 + (i * 13) % 20;
    if (i < 40) {
        const char *where = i % 4 == 0   ? ",\"where\":[{\"field\":\"value\",\"op\":\">=\",\"value\":90}]"
                            : i % 2 == 0 ? ",\"where\":[{\"field\":\"properties.plan\",\"op\":\"=\",\"value\":\"pro\"}]"
                                         : "";
        snprintf(json, sizeof json,
                 "{\"id\":\"event-%d\",\"trigger\":{\"kind\":\"event\",\"event\":\"e%d\"%s},"
                 "\"actions\":[{\"kind\":\"note\",\"text\":\"n\"}]}",
                 i, 21 + i % 10, where);
    } else if (i < 80) {
        snprintf(json, sizeof json,
                 "{\"id\":\"seq-%d\",\"trigger\":{\"kind\":\"sequence\",\"per\":\"%s\",\"ordered\":%s,\"within\":\"%dd\","
                 "\"steps\":[{\"event\":\"e%d\"},{\"event\":\"e%d\",\"where\":[{\"field\":\"properties.plan\",\"op\":"
                 "\"!=\",\"value\":\"free\"}]}%s]},\"actions\":[{\"kind\":\"note\",\"text\":\"n\"}]}",
                 i, i % 2 ? "user" : "account", i % 3 ? "false" : "true", 1 + i % 30, e1, e2,
                 i % 4 == 0 ? ",{\"event\":\"e3\"}" : "");
        (void)e3;
    } else {
        snprintf(json, sizeof json,
                 "{\"id\":\"count-%d\",\"trigger\":{\"kind\":\"sequence\",\"per\":\"user\",\"within\":\"1d\","
                 "\"same\":\"properties.article\",\"steps\":[{\"event\":\"e%d\",\"count\":3}]},"
                 "\"actions\":[{\"kind\":\"note\",\"text\":\"n\"}]}",
                 i, 1 + i % 20);
    }
    return kz_rule_parse(out, json, strlen(json), "bench");
}

int main(int argc, char **argv)
{
    long long nev = argc > 1 ? atoll(argv[1]) : 5000000;
    kz_rule *rules[NRULES];
    char *names[NNAMES + 1];
    names[0] = NULL;
    for (int i = 1; i <= NNAMES; i++) {
        names[i] = malloc(16);
        if (!names[i])
            return 1;
        snprintf(names[i], 16, "e%d", i);
    }
    for (int i = 0; i < NRULES; i++)
        if (make_rule(&rules[i], i)) {
            fprintf(stderr, "bench rules: %s\n", kz_error_msg());
            return 1;
        }
    kz_matcher *m;
    if (kz_matcher_new(&m, rules, NRULES, NULL, names, NNAMES + 1)) {
        fprintf(stderr, "bench rules: %s\n", kz_error_msg());
        return 1;
    }
    kz_rng rng;
    kz_rng_seed(&rng, 42);
    kz_evcols ev = { 0 };
    if (kz_evcols_reserve(&ev, RUN))
        return 1;
    kz_time t0 = kz_days_from_civil(2026, 1, 1) * KZ_USEC_PER_DAY;
    kz_time span = 90 * KZ_USEC_PER_DAY;
    int64_t fired = 0;
    double busy = 0;
    const char *plans[] = { "free", "pro", "team" };
    for (long long done = 0; done < nev;) {
        kz_evcols_clear(&ev);
        for (int k = 0; k < RUN && done < nev; k++, done++) {
            kz_time ts = t0 + (kz_time)((double)span * (double)done / (double)nev);
            uint32_t user = 1 + (uint32_t)(kz_rng_u64(&rng) % 200000);
            uint32_t account = 1 + user % 20000;
            /* 60 %: names no rule reads; 35 % common ones that sequences read; 5 % rarer
             * ones (a cancellation page, an export) that event rules wait for */
            uint64_t pick = kz_rng_u64(&rng) % 100;
            uint32_t name = pick < 60   ? 31 + (uint32_t)(kz_rng_u64(&rng) % 30)
                            : pick < 95 ? 1 + (uint32_t)(kz_rng_u64(&rng) % 20)
                                        : 21 + (uint32_t)(kz_rng_u64(&rng) % 10);
            char props[96];
            int n = snprintf(props, sizeof props, "{\"plan\":\"%s\",\"article\":\"a%u\"}",
                             plans[kz_rng_u64(&rng) % 3], (unsigned)(kz_rng_u64(&rng) % 50));
            double value = (double)(kz_rng_u64(&rng) % 100);
            if (kz_evcols_append(&ev, ts, account, user, name, value, NULL, 0, props, (size_t)n))
                return 1;
        }
        double a = kz_monotonic();
        if (kz_matcher_feed(m, &ev, on_fire, &fired)) {
            fprintf(stderr, "bench rules: %s\n", kz_error_msg());
            return 1;
        }
        busy += kz_monotonic() - a;
    }
    printf("rules: %d rules (40 event, 40 sequence, 20 counting), %lld events of 20,000 accounts and 200,000 users "
           "over 90 days\n",
           NRULES, nev);
    printf("rules: %.0f ns per event (%.2f M events/s on one core), %lld firings, matcher state %.1f MiB\n",
           busy * 1e9 / (double)nev, (double)nev / busy / 1e6, (long long)fired,
           (double)kz_matcher_memory(m) / (1 << 20));
    kz_matcher_free(m);
    kz_evcols_free(&ev);
    for (int i = 0; i < NRULES; i++)
        kz_rule_free(rules[i]);
    for (int i = 1; i <= NNAMES; i++)
        free(names[i]);
    return 0;
}
