/*
 * rule.h - a playbook rule as data: trigger + conditions + actions +
 * cooldown, read from JSON and checked with errors that name the rule, the
 * field and the reason ("rule 'honey': trigger.steps[1].event: missing").
 *
 * The format is in docs/playbooks.md. Trigger kinds and action kinds are
 * each one table (kz_rule_triggers, kz_rule_actions): a new kind is a new
 * row and the code that reads it. This file knows nothing of evaluation
 * (match.c, scan.c) or of carrying actions out (act.c).
 *
 * Ownership: a kz_rule and every string in it live in the rule's arena and
 * go with kz_rule_free.
 */
#ifndef KZ_RULES_RULE_H
#define KZ_RULES_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

typedef enum { KZ_RULE_ON, KZ_RULE_DRY_RUN, KZ_RULE_OFF } kz_rule_mode;

typedef enum {
    KZ_TRIG_EVENT,     /* an event arrives (name, property conditions) */
    KZ_TRIG_SEQUENCE,  /* events of one subject within a window, in any order or in sequence */
    KZ_TRIG_THRESHOLD, /* a measure crosses a threshold (health, churn, a signal) */
    KZ_TRIG_DATE,      /* a day relative to the lifecycle (renewal, signup, a date field) */
    KZ_TRIG_ANOMALY,   /* an anomaly is found */
    KZ_TRIG_TICKET,    /* a ticket is opened */
    KZ_TRIG_NPS,       /* an NPS answer arrives (a detractor by default) */
    KZ_TRIG_COUNT
} kz_trigger_kind;

typedef enum { KZ_ACTION_TASK, KZ_ACTION_EMAIL, KZ_ACTION_WEBHOOK, KZ_ACTION_NOTE, KZ_ACTION_SET_FIELD, KZ_ACTION_COUNT } kz_action_kind;

typedef enum { KZ_PER_ACCOUNT, KZ_PER_USER } kz_rule_per;

typedef enum { KZ_OP_EQ, KZ_OP_NE, KZ_OP_LT, KZ_OP_LE, KZ_OP_GT, KZ_OP_GE, KZ_OP_IN, KZ_OP_CONTAINS,
               KZ_OP_EXISTS } kz_rule_op;

/* The measures a threshold reads besides the signals (signals.h). */
enum { KZ_MEASURE_HEALTH = -1, KZ_MEASURE_CHURN = -2 };

typedef enum { KZ_ANCHOR_RENEWAL, KZ_ANCHOR_SIGNUP, KZ_ANCHOR_FIELD } kz_rule_anchor;

/* A comparison of one value of an event: "value", "user_id" or
 * "properties.a.b" (a member of the event's properties, by path). */
typedef struct kz_rule_cond {
    const char *field;
    kz_rule_op op;
    int numeric;          /* the operand is a number (num), else text */
    double num;
    const char *text;
    const char **list;    /* KZ_OP_IN: the values, as text (numbers as written) */
    size_t nlist;
} kz_rule_cond;

typedef struct kz_rule_step {
    const char *event;    /* the event's name */
    int count;            /* how many such events (1 and up) */
    kz_rule_cond *where;
    size_t nwhere;
} kz_rule_step;

typedef struct kz_rule_action {
    kz_action_kind kind;
    /* task: title (template), assignee ("owner" or a user), due_days,
     * playbook (a document's name), body (template) */
    const char *title, *assignee, *playbook, *body;
    int due_days;
    /* email: to, subject, body (templates) */
    const char *to, *subject;
    /* webhook: url, format ("json" or "slack"), text (template); the secret
     * is rules.webhook_secret of the configuration */
    const char *url, *format, *text;
    /* note: text (template); set_field: field and value (template) */
    const char *field, *value;
} kz_rule_action;

typedef struct kz_rule {
    const char *id;       /* [a-z0-9_-], 1-64 bytes: the rule's name everywhere */
    const char *title;    /* for people; the id when not given */
    const char *description;
    const char *playbook; /* the document that explains the process (may be NULL) */
    kz_rule_mode mode;
    kz_trigger_kind trigger;
    kz_rule_per per;
    /* event and sequence */
    kz_rule_step *steps;
    size_t nsteps;
    int ordered;          /* sequence: the steps in their order */
    int64_t within;       /* sequence: seconds from the first step to the last */
    const char *same;     /* sequence: a field every step's event must share ("properties.article") */
    /* threshold */
    int measure;          /* KZ_MEASURE_* or a signal's index */
    kz_rule_op op;
    double threshold;
    /* date */
    kz_rule_anchor anchor;
    const char *anchor_field; /* KZ_ANCHOR_FIELD: a custom date field of accounts */
    int offset_days;      /* the day is anchor + offset_days (negative: before) */
    const char *unless_event; /* signup: no such event of the account by then */
    /* ticket: which categories and priorities (bit masks; 0: any) */
    unsigned categories, priorities;
    /* nps: the scores that fire */
    int min_score, max_score;
    /* anomaly: the series or kind (NULL: any account's), direction (0 any, 1 up, -1 down);
     * business: the series is business-wide (not "account" nor "account/..."): the
     * rule fires for the business, with no account (no conditions, notes, fields or owner) */
    const char *series;
    int direction;
    int business;
    /* conditions on the account when it fires */
    const char **filters; /* segment.h filters: "plan = enterprise", "region = JP" */
    size_t nfilters;
    unsigned bands;       /* bit (1 << KZ_BAND_*) of the health bands that may fire; 0: any */
    const char **segments; /* the health definition's segments that may fire (NULL: any) */
    size_t nsegments;
    kz_rule_action *actions;
    size_t nactions;
    int64_t cooldown;     /* seconds after a firing of a subject before the next one */
    const char *json;     /* the rule as read, compact: what the store keeps */
    const char *trigger_json; /* its trigger, compact (a firing's why starts with it) */
    const char *origin;   /* where it was read ("rules/honey.json") */
    kz_arena *arena;
} kz_rule;

/* One row of the trigger table. */
typedef struct kz_trigger_def {
    const char *name;     /* "event", "sequence", ... */
    const char *help;     /* one line, for --help and docs */
    int per_event;        /* evaluated on each event (match.c), else on a schedule (scan.c) */
} kz_trigger_def;

const kz_trigger_def *kz_rule_triggers(size_t *n);

typedef struct kz_action_def {
    const char *name;     /* "task", "email", ... */
    const char *help;
    int remote;           /* reaches outside (delivered later, retried), else done with the firing */
} kz_action_def;

const kz_action_def *kz_rule_actions(size_t *n);

/* Reads and checks one rule (a JSON object). origin names the source in
 * messages ("rules/honey.json", "the request"). KZ_EINVALID with
 * "origin: rule 'id': field: reason". Caller frees with kz_rule_free. */
int kz_rule_parse(kz_rule **out, const char *json, size_t len, const char *origin);
void kz_rule_free(kz_rule *r);

/* A file of rules: one object, or an array of objects. *out is a malloc'd
 * array of *n rules (free with kz_rule_list_free). Ids must be unique. */
int kz_rule_parse_file(kz_rule ***out, size_t *n, const char *json, size_t len, const char *origin);
void kz_rule_list_free(kz_rule **v, size_t n);

/* The rules of a file, or of every *.json of a folder (in name order; at
 * most 1 MiB a file): all of them, or an error naming the file, the rule,
 * the field and why (KZ_EINVALID; KZ_ENOTFOUND, KZ_EIO for the files). Ids
 * are unique across the files. Free with kz_rule_list_free. */
int kz_rule_load_path(kz_rule ***out, size_t *n, const char *path);

const char *kz_rule_mode_name(kz_rule_mode m);

/* "=", "<=", "contains"...: an operator as rules write it. Static. */
const char *kz_rule_op_name(kz_rule_op op);
int kz_rule_mode_parse(kz_rule_mode *out, const char *s);

/* 1 when name is a valid rule id. */
int kz_rule_id_ok(const char *s, size_t n);

/* The placeholders a template of a rule may use (template.h): 1 when known. */
int kz_rule_placeholder_known(const char *name, size_t n);

#endif
