/*
 * act.h - what a rule does when it fires: the firing recorded once, its
 * actions carried out, and the deliveries that reach outside sent with
 * retries.
 *
 * A firing and its local actions (a task, a timeline note, a field) commit
 * in one transaction, so a firing is never half done; e-mails and webhooks
 * are rendered at firing and queued in the same transaction (the outbox),
 * then sent by kz_act_deliver, which retries a failure with backoff
 * (deliver.h: kz_retry_delay) and gives up after kz_retry_max tries, the
 * last error kept for people to see.
 *
 * Templates (template.h) read the placeholders of rule.h's
 * kz_rule_placeholder_known from the account, its fields and contacts, and
 * what the caller knows of the firing (kz_occasion).
 */
#ifndef KZ_RULES_ACT_H
#define KZ_RULES_ACT_H

#include <stdint.h>

#include "core/config.h"
#include "core/time.h"
#include "rules/deliver.h"
#include "rules/rule.h"
#include "store/store.h"

/* One occasion of a rule: what it fired on. Strings borrowed for the call. */
typedef struct kz_occasion {
    const kz_rule *rule;
    int64_t account_id;      /* the store's id; 0: the business (a business-wide anomaly), no account */
    const char *user;        /* per-user rules: the product user's key (the subject); else NULL */
    const char *key;         /* the window key (match.h, scan.h) */
    kz_time at;              /* what it fired on happened then */
    const char *reason;      /* in words, for people */
    const char *why;         /* and as data, a JSON object: {"trigger": the rule's trigger, "facts": what a
                              * scheduled trigger fired on ({"ticket", "category", "priority"}, {"score"},
                              * {"value"}, {"anchor_date", "day"}, {"anomaly"}) or null}; NULL: none */
    const char *event;       /* the event's name (NULL: not an event) */
    double value;            /* trigger.value: the event's value or the measure (NaN: none) */
    /* what the caller knows of the account (NaN or NULL: not known) */
    double health, churn;
    const char *band, *plan;
    int64_t mrr;             /* money units (1/10,000); INT64_MIN: not known */
} kz_occasion;

/* The occasion's fields set to "not known". */
void kz_occasion_init(kz_occasion *o);

/* Records the firing of o->rule for its subject and window key and carries
 * out its actions (dry_run, or the rule in dry-run mode: the firing only,
 * marked as a dry run). *out_id (may be NULL) is the firing's id, 0 when
 * nothing was done: recorded before (a restart, a replay) or within the
 * rule's cooldown after the subject's previous firing. On error nothing is
 * written. Opens its own transaction (none may be open). */
int kz_act_fire(kz_store *st, const kz_occasion *o, int dry_run, kz_time now, int64_t *out_id);

/* Where deliveries go, from the configuration (smtp.*, rules.*). The
 * strings are borrowed from cfg. */
typedef struct kz_act_env {
    kz_smtp_conf smtp;       /* smtp.url NULL: no mail server (e-mails fail, visibly) */
    const char *webhook_secret; /* NULL: webhooks unsigned */
    long timeout_ms;
    int64_t retry_first;     /* seconds before the first retry (deliver.h: kz_retry_delay; 0: 60) */
} kz_act_env;

void kz_act_env_from_config(kz_act_env *out, const kz_config *cfg);

typedef struct kz_deliver_stats {
    int64_t sent, retrying, failed;
} kz_deliver_stats;

/* Sends the deliveries due at `now` (all: also those waiting for their next
 * try; at most limit, <= 0: no limit): a success is done, a failure pending
 * again after the backoff from now, or failed for good after the last try.
 * Sending errors are recorded, not returned; an error of the store is. */
int kz_act_deliver(kz_store *st, const kz_act_env *env, kz_time now, int all, int64_t limit, kz_deliver_stats *out);

#endif
