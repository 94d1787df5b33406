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

typedef int (*kz_metric_fn)(kz_table **out, const kz_engine *e, const kz_metric_opts *o);

/* Runs a report for the filtered accounts, once per group when there are
 * groups (with a first column "segment"). */
int kz_metric_segmented(kz_table **out, kz_metric_fn fn, const kz_engine *e, const kz_metric_opts *o,
                        const kz_segments *s);

#endif
