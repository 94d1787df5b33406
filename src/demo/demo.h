/*
 * demo.h - the demo world: a deterministic, realistic B2B SaaS customer base
 * written as import files (accounts, contacts, subscriptions, events, tickets,
 * nps, activities, spend) plus planted.json, the list of the three
 * abnormalities planted in it (docs/demo.md describes the model).
 *
 * The same options give byte-identical files on every machine this builds on;
 * nothing depends on the clock. Not for: importing (ingest/), benchmarks with
 * fixed workloads (bench/).
 *
 * The second half declares the text generators (company and person names,
 * ticket, NPS and activity texts) that demo.c uses; they live in demo_text.c
 * and are exported for the tests.
 */
#ifndef KZ_DEMO_DEMO_H
#define KZ_DEMO_DEMO_H

#include <stdint.h>

#include "core/buf.h"
#include "core/rng.h"
#include "core/time.h"

/* Bounds of the options (inclusive). */
#define KZ_DEMO_MIN_ACCOUNTS 1
#define KZ_DEMO_MAX_ACCOUNTS 1000000
#define KZ_DEMO_MIN_DAYS 120
#define KZ_DEMO_MAX_DAYS 3650

typedef struct kz_demo_opts {
    const char *out_dir; /* folder to write; created when missing */
    int64_t accounts;    /* KZ_DEMO_MIN_ACCOUNTS..KZ_DEMO_MAX_ACCOUNTS */
    int64_t days;        /* length of the event window, KZ_DEMO_MIN_DAYS..KZ_DEMO_MAX_DAYS */
    kz_day end;          /* last day of data (the observation date) */
    uint64_t seed;
} kz_demo_opts;

/* What was written and what was planted, with the strengths the generator
 * measured on its own output. */
typedef struct kz_demo_stats {
    int64_t accounts, contacts, subscriptions, events, tickets, nps, activities, spend;
    int planted;                 /* number of planted abnormalities (3) */
    kz_day window_start;         /* first day with events */
    kz_day history_start;        /* first day of subscription history */
    kz_day spike_day;            /* dau_spike */
    double spike_dau, spike_expected_dau, spike_median_dau; /* that day; its model; median same weekday */
    kz_month churn_month;        /* yearend_churn */
    double churn_rate, churn_baseline; /* logo churn of that month; pooled earlier Decembers */
    double churn_min, churn_max; /* monthly logo churn range over months with >= 100 paying accounts */
    kz_month cohort_month;       /* cohort_low_tickets */
    double cohort_tickets, cohort_baseline; /* first-paid-month tickets per account; previous 6 cohorts */
    int64_t cohort_accounts;
} kz_demo_stats;

/* Fills the defaults: demo-data, 1000 accounts, 730 days, end 2026-10-31, seed 42. */
void kz_demo_defaults(kz_demo_opts *o);

/* Checks the options. 0, or KZ_EINVALID with a message that names the option
 * ("--days must be from 120 to 3650") in kz_error_msg(). */
int kz_demo_check(const kz_demo_opts *o);

/* Generates the world into o->out_dir. Each file is written under a temporary
 * name and renamed into place, so an interrupted run never leaves a half file.
 * 0, KZ_EINVALID (bad options), KZ_EIO (a file could not be written) or
 * KZ_ENOMEM, with the reason in kz_error_msg(). *out is filled on success. */
int kz_demo_generate(kz_demo_stats *out, const kz_demo_opts *o);

/* ---- text generators (demo_text.c) ------------------------------------- */

enum { KZ_DEMO_EN = 0, KZ_DEMO_JA = 1 };

/* Regions of accounts (the "region" custom field) and their UTC offsets. */
enum { KZ_DEMO_JP, KZ_DEMO_APAC, KZ_DEMO_EMEA, KZ_DEMO_NA, KZ_DEMO_NREGIONS };

#define KZ_DEMO_NINDUSTRIES 10

/* The English name of industry i (0..KZ_DEMO_NINDUSTRIES-1). Static string. */
const char *kz_demo_industry(int i);

/* The region code ("JP", "APAC", "EMEA", "NA"). Static string. */
const char *kz_demo_region(int region);

/* Appends a company name and its domain (ASCII, lowercase) drawn from r to
 * name and domain. japanese selects a Japanese name (株式会社..., domain
 * .co.jp/.jp); region picks the legal forms and the top-level domain. form
 * forces a CSV-quoting case for English names: 1 a comma ("Acme, Inc."),
 * 2 a double quote; 0 draws it (rarely). variant > 0 adds a qualifier (for
 * uniqueness after collisions). 0 or an error code of kz_buf. */
int kz_demo_company(kz_buf *name, kz_buf *domain, kz_rng *r, int japanese, int industry, int region,
                    int form, int variant);

/* Appends a person's display name ("佐藤 結衣", "Emily Clark") and the local
 * part of an e-mail address ("yui.sato", "emily.clark"). 0 or an error code. */
int kz_demo_person(kz_buf *name, kz_buf *email_local, kz_rng *r, int japanese);

/* Ticket categories. */
enum { KZ_DEMO_FUNCTIONAL = 0, KZ_DEMO_OPERATIONAL = 1 };

/* Appends a ticket subject and body of the category in the language; both
 * indicate the category (a feature question or error vs. how the customer runs
 * its business). onboarding favours first-steps questions. 0 or an error code. */
int kz_demo_ticket_text(kz_buf *subject, kz_buf *body, kz_rng *r, int category, int lang, int onboarding);

/* Appends an NPS comment that matches score (0..10) in the language. */
int kz_demo_nps_comment(kz_buf *out, kz_rng *r, int score, int lang);

/* Topics of CSM activities. */
enum {
    KZ_DEMO_T_KICKOFF,      /* meeting at onboarding */
    KZ_DEMO_T_WELCOME,      /* onboarding e-mail */
    KZ_DEMO_T_CHECKIN,      /* regular e-mail or call */
    KZ_DEMO_T_QBR,          /* quarterly business review */
    KZ_DEMO_T_RENEWAL,      /* before an annual renewal */
    KZ_DEMO_T_DETRACTOR,    /* call after a low NPS score */
    KZ_DEMO_T_ESCALATION,   /* call after an escalated ticket */
    KZ_DEMO_T_QUESTION,     /* inbound e-mail from the customer */
    KZ_DEMO_T_CANCEL,       /* inbound: thinking of cancelling */
    KZ_DEMO_T_NEWSLETTER,   /* one-to-many product update (tech touch) */
    KZ_DEMO_T_EXPANSION,    /* more seats or a higher plan */
    KZ_DEMO_T_NOTE_GOOD,    /* note: things go well */
    KZ_DEMO_T_NOTE_RISK,    /* note: signs of risk */
    KZ_DEMO_T_NOTE_PLAIN,   /* note: neutral */
    KZ_DEMO_NTOPICS
};

/* Appends the subject and body of an activity on the topic (an e-mail, call,
 * meeting or note about it) in the language. 0 or an error code. */
int kz_demo_activity_text(kz_buf *subject, kz_buf *body, kz_rng *r, int topic, int lang);

#endif
