/*
 * match.h - the rules that fire on events (triggers "event" and "sequence"),
 * fed runs of product events in time order.
 *
 * The same matcher serves the backtest (kizuna rules test: the stored events
 * of the last N days), a run over the stored events (kizuna rules run) and the
 * server (each committed batch of live events), so that what a backtest
 * reports is what the rule does live on the same events.
 *
 * What it keeps: per (rule, subject[, value of "same"]) the recent events that
 * count for a sequence, within its window; per (rule, subject) the time of the
 * last firing, for the cooldown. A firing uses up the events that made it.
 * An event counts for every step it matches.
 *
 * Not here: conditions on the account (the caller's fire function judges
 * them and says whether the rule fired), recording and acting (act.h).
 *
 * Threads: one thread at a time per matcher.
 */
#ifndef KZ_RULES_MATCH_H
#define KZ_RULES_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/time.h"
#include "rules/rule.h"
#include "store/evblock.h"

typedef struct kz_matcher kz_matcher;

/* A rule that would fire: what it fired on, for the caller to judge and record. */
typedef struct kz_fire {
    const kz_rule *rule;
    size_t rule_index;       /* its position in the matcher's rules */
    int64_t account_id;      /* the store's id */
    uint32_t user;           /* the product user's dictionary id (0: none); the subject of per-user rules */
    kz_time at;              /* the completing event's time */
    kz_time first;           /* the first event that counted (the event itself for "event") */
    uint32_t event;          /* the completing event's name id */
    double value;            /* its value (NaN: none) */
    char key[64];            /* the window key: which occasion this is (rule.h: once per rule, subject, key) */
} kz_fire;

/* Judges a firing: 1 when the rule fired (its cooldown starts, the events
 * that made it are used up), 0 when it did not (a condition on the account
 * failed), negative on error (stops the feed and is returned). */
typedef int (*kz_fire_fn)(void *ctx, const kz_fire *f);

/* The key of a product user (dictionary id), for conditions on "user_id":
 * NULL when unknown. Borrowed until the next call. */
typedef const char *(*kz_user_key_fn)(void *ctx, uint32_t user, size_t *n);

/* A matcher over the per-event rules among rules[0..n) (the others are left
 * out; indices stay those of the array). names[0..nnames) are the event
 * names by dictionary id (names[0] unused; may hold NULLs). since[i] (may be
 * NULL: no limit) is the first time at which rule i may fire: earlier events
 * only build up its sequences. The rules are borrowed and must outlive the
 * matcher. Caller frees with kz_matcher_free. */
int kz_matcher_new(kz_matcher **out, kz_rule *const *rules, size_t n, const kz_time *since, char *const *names,
                   size_t nnames);
void kz_matcher_free(kz_matcher *m);

/* Makes the matcher know an event name new since it was made (live events). */
int kz_matcher_name(kz_matcher *m, uint32_t id, const char *name, size_t n);

/* Sets the resolver of user keys (may be NULL: conditions on user_id fail). */
void kz_matcher_users(kz_matcher *m, kz_user_key_fn fn, void *ctx);

/* Feeds a run of events sorted by time, calling fire for each firing in
 * order. 0, the fire function's error, or KZ_ENOMEM. */
int kz_matcher_feed(kz_matcher *m, const kz_evcols *ev, kz_fire_fn fire, void *ctx);

/* The longest window of its sequences (seconds; 0 without sequences): how far
 * back a replay must start to rebuild them. */
int64_t kz_matcher_span(const kz_matcher *m);

/* Bytes held for the state (for the figures of the benchmark). */
size_t kz_matcher_memory(const kz_matcher *m);

#endif
