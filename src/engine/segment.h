/*
 * segment.h - which accounts a report counts (--filter) and how it splits
 * them (--segment).
 *
 * An attribute of an account is one of owner, industry, plan (the plan of its
 * largest subscription on the observation date, else of its latest one),
 * domain, name, account_id, or a custom field. A filter is ATTRIBUTE OP VALUE
 * with OP one of = != < <= > >=; the comparisons take the attribute's type
 * (numbers and dates compare as such; text and booleans only = and !=).
 * Segments group accounts by the value of one attribute ("(none)" when empty).
 */
#ifndef KZ_ENGINE_SEGMENT_H
#define KZ_ENGINE_SEGMENT_H

#include "engine/engine.h"

typedef struct kz_segments {
    size_t ngroups;
    char **names;    /* group names, in name order */
    uint8_t **masks; /* per group: a mask over the engine's accounts */
    uint8_t *filter; /* the accounts that pass every filter (NULL: no filter) */
} kz_segments;

/* Builds the masks. segment_by may be NULL (no groups). 0, or KZ_EINVALID for
 * an unknown attribute or a bad filter (the message says which and why).
 * Caller frees with kz_segments_free(). */
int kz_segments_build(kz_segments **out, kz_store *st, const kz_engine *e, kz_day obs, const char *const *filters,
                      size_t nfilters, const char *segment_by);

void kz_segments_free(kz_segments *s);

/* The attributes that describe accounts to a model: industry, owner and
 * every custom field (not the identifiers, nor the plan, which changes over
 * time and comes from the engine). Values are today's: a field written after
 * the fact (a churn reason) would tell the future, so models let the user
 * leave fields out. */
typedef struct kz_attr_col {
    char *name;     /* owned */
    int numeric;    /* 1: num holds the values (numbers, booleans as 0/1, dates as microseconds) */
    int is_date;
    int is_bool;    /* a boolean: num is 0 or 1 */
    double *num;    /* per account; NaN when empty or not numeric */
    char **text;    /* per account, the value as text; NULL when empty */
} kz_attr_col;

typedef struct kz_attrs {
    size_t n, naccounts;
    kz_attr_col *cols;
} kz_attrs;

/* Loads them for every account of the engine. Caller frees with kz_attrs_free. */
int kz_attrs_load(kz_attrs **out, kz_store *st, const kz_engine *e);
void kz_attrs_free(kz_attrs *s);

typedef int (*kz_metric_fn)(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Runs a report for the filtered accounts, once per group when there are
 * groups (with a first column "segment"). */
int kz_metric_segmented(kz_table **out, kz_metric_fn fn, const kz_engine *e, const kz_metric_opts *o,
                        const kz_segments *s);

#endif
