/*
 * renewal.h - when an account renews: the day the dashboard's renewals, the
 * account list and the playbooks' date triggers go by.
 *
 * An account's renewal is its custom date field `renewal_date` when it has
 * one (the day it says, even when that day has passed: a contract nobody
 * updated shows as overdue), else the next anniversary of its first
 * subscription's start.
 */
#ifndef KZ_ENGINE_RENEWAL_H
#define KZ_ENGINE_RENEWAL_H

#include "core/time.h"
#include "engine/engine.h" /* KZ_DAY_NONE */

/* The day `years` years after d (29 February: the 28th in a year without one). */
kz_day kz_add_years(kz_day d, int years);

/* The renewal on or after day `at` of an account whose first subscription
 * started on first_start (KZ_DAY_NONE: none), with the field renewal_date
 * `field` (KZ_DAY_NONE: not set): field when set, else the first
 * anniversary of first_start (a year or more after it) on or after at;
 * KZ_DAY_NONE when there is neither. */
kz_day kz_renewal_next(kz_day first_start, kz_day field, kz_day at);

#endif
