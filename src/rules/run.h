/*
 * run.h - rules over the stored data: the stored rule set, the conditions
 * on accounts, the backtest (kizuna rules test), a run (kizuna rules run)
 * and the server's passes as events arrive (kz_rules_live).
 *
 * A run and the server act on what happened since each rule was switched on
 * (the stored enabled_at): a firing is recorded once per (rule, subject,
 * window), so running again, or after a restart, never acts twice. A
 * backtest replays the last N days through the same matcher, scans and
 * conditions and acts on nothing: the stored events for event and
 * sequence rules, the tickets, NPS answers and anomalies of the window,
 * the lifecycle dates that fell in it, and for thresholds every account
 * scored as of each day.
 *
 * Conditions (filters, bands, segments) are judged on the accounts as they
 * are now: a backtest over the past judges them by today's plan and health.
 */
#ifndef KZ_RULES_RUN_H
#define KZ_RULES_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "engine/scores.h"
#include "rules/act.h"
#include "rules/match.h"
#include "rules/rule.h"
#include "store/store.h"

/* The stored rules, read and checked. Caller frees with kz_ruleset_free. */
typedef struct kz_ruleset {
    size_t n;
    kz_rule **rules;
    kz_rule_mode *mode;      /* the stored mode (the definition's is only the initial one) */
    kz_time *enabled_at;     /* since when each acts (0: off) */
} kz_ruleset;

/* Every stored rule; one that no longer reads (a newer program wrote it) is
 * an error naming it. */
int kz_ruleset_load(kz_ruleset **out, kz_store *st);
void kz_ruleset_free(kz_ruleset *rs);

/* Stores rules read from files (source "file:ORIGIN") in one transaction:
 * all of them or, on error, none. Each takes `mode` when it is not NULL, else
 * with keep_mode the mode of a rule stored before under its id (what people
 * set stays), else the definition's. *out_created (may be NULL): how many
 * were new. No transaction may be open. */
int kz_ruleset_store(kz_store *st, kz_rule *const *v, size_t n, const kz_rule_mode *mode, int keep_mode,
                     kz_time now, size_t *out_created);

/* Conditions on accounts for rules[0..n): the engine (may be NULL: built
 * here without events when a rule needs one), the scores (may be NULL:
 * computed here, with an engine of events, when a rule looks at bands,
 * segments or health). Borrowed e and sc must outlive the judge. */
typedef struct kz_judge kz_judge;
int kz_judge_new(kz_judge **out, kz_store *st, kz_rule *const *rules, size_t n, const kz_engine *e,
                 const kz_scores *sc, kz_day today);
void kz_judge_free(kz_judge *j);

/* 1 when rule i may fire for the account (the store's id), with what is known
 * of it put in o (plan, MRR, health, band, churn); 0 when a condition fails. */
int kz_judge_account(kz_judge *j, size_t i, int64_t account_id, kz_occasion *o);

/* "purchase (category = baby) and purchase (category = honey) within 30d":
 * what a rule fires on, in words. Into out (cap bytes, always terminated). */
void kz_rule_describe(const kz_rule *r, char *out, size_t cap);

/* One firing the backtest found. */
typedef struct kz_backtest_hit {
    kz_time at;
    int64_t account_id;
    char *account;           /* its key; NULL for the business (a business-wide anomaly) */
    char *user;              /* per-user rules: the user's key; NULL */
    char key[64];
    char reason[160];        /* what it fired on, in words */
    char *why;               /* and as data: {"trigger", "facts"} (rules/act.h) */
} kz_backtest_hit;

typedef struct kz_backtest {
    kz_time from, to;
    int64_t events;          /* events replayed (the window and the span before it) */
    size_t n;
    kz_backtest_hit *hits;   /* by time */
    size_t subjects;         /* distinct accounts or users */
} kz_backtest;

/* What rule r would have fired in [from, to], by time: the stored events
 * of the window (and, for sequences, the span before from that can
 * complete inside it) through the matcher; tickets opened, NPS answers
 * given and anomalies of days in it; the lifecycle dates (with their
 * offset) that fell in it, with no catch-up limit; for a threshold, every
 * account scored as of each day from the day before from (one scoring a
 * day: seconds on large data), by today's health definition and churn
 * model. Reads only. Caller frees with kz_backtest_free. */
int kz_rules_backtest(kz_backtest **out, kz_store *st, const kz_rule *r, kz_time from, kz_time to);
void kz_backtest_free(kz_backtest *b);

typedef struct kz_run_stats {
    int64_t events;          /* events looked at */
    int64_t fired;           /* new firings (acted on) */
    int64_t dry;             /* of those, dry runs (recorded only) */
    int64_t known;           /* firings found again (recorded before, or in a cooldown): nothing done */
    int replayed;            /* kz_rules_live_pass: the stored events were replayed (the rules changed) */
    kz_deliver_stats deliveries;
} kz_run_stats;

/* Runs the rules that are on or in dry-run over the stored events since
 * each was switched on, records and acts on what fires, then sends the
 * deliveries due (env NULL: none sent). */
int kz_rules_run(kz_store *st, const kz_ruleset *rs, const kz_act_env *env, kz_time now, kz_run_stats *out);

/* The server's rules: one matcher kept from pass to pass and fed each
 * committed batch of live events once, so a pass costs what arrived since
 * the last one, not the history. The stored events are replayed (from the
 * earliest time a rule needs) only when the rules changed (added, changed,
 * removed, switched), when another writer stored events, or after an
 * error. Late events go in as they arrive, so the order they are matched
 * in may differ from a replay's (by time) when they come out of order.
 *
 * Threads: kz_rules_live_push and kz_rules_live_replay from any thread
 * (the events writer); kz_rules_live_pass from one thread at a time (the
 * scorer). Caller frees with kz_rules_live_free. */
typedef struct kz_rules_live kz_rules_live;

int kz_rules_live_new(kz_rules_live **out);
void kz_rules_live_free(kz_rules_live *l);

/* A committed batch (live.h's apply hook: sorted by time, accounts the
 * store's ids, version the data version of its commit; new_names: it
 * stored event names not seen before). Copied when the rules read events;
 * never fails: a batch it cannot keep (memory, or too many events waiting)
 * makes the next pass replay the stored events instead. */
void kz_rules_live_push(kz_rules_live *l, const kz_evcols *ev, int new_names, int64_t version);

/* The stored events changed behind the batches (an import): the next pass replays them. */
void kz_rules_live_replay(kz_rules_live *l);

/* A pass: the stored rules read; the matcher made again and fed the stored
 * events when they changed, else fed the batches pushed since; then the
 * scheduled triggers; what fired recorded and acted on; the deliveries due
 * sent (env NULL: none). e and sc (may be NULL: made here, see
 * kz_judge_new) are the caller's engine and scores, borrowed for the call.
 * On error the next pass starts again from the stored events. */
int kz_rules_live_pass(kz_rules_live *l, kz_store *st, const kz_engine *e, const kz_scores *sc,
                       const kz_act_env *env, kz_time now, kz_run_stats *out);

#endif
