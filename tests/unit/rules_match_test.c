/*
 * rules_match_test.c - the event and sequence triggers over runs of events
 * (src/rules/match.c): the honey and help examples, windows, order, "same",
 * cooldowns, subjects per user or account, conditions on values and
 * properties, since[], refused firings, names added live, and that a run
 * split in pieces fires as the whole run does (backtest = live).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/time.h"
#include "rules/match.h"
#include "rules/rule.h"
#include "store/evblock.h"

enum { PURCHASE = 1, HELP = 2, LOGIN = 3, SIGNUP = 4, NNAMES = 5 };
static char n_purchase[] = "purchase", n_help[] = "help_viewed", n_login[] = "login";
static char *names[NNAMES] = { NULL, n_purchase, n_help, n_login, NULL /* signup: added live */ };

#define SEC KZ_USEC_PER_SEC
#define HOUR (INT64_C(3600) * SEC)
#define DAY KZ_USEC_PER_DAY
#define T0 (INT64_C(1700000000) * SEC)

#define BABY "{\"category\":\"baby\"}"
#define HONEY_P "{\"category\":\"honey\"}"

#define HONEY_STEPS                                                                                            \
    "\"steps\":[{\"event\":\"purchase\",\"where\":[{\"field\":\"properties.category\",\"op\":\"=\",\"value\":\"baby\"}]}," \
    "{\"event\":\"purchase\",\"where\":[{\"field\":\"properties.category\",\"op\":\"=\",\"value\":\"honey\"}]}]"
#define HONEY "{\"kind\":\"sequence\",\"per\":\"user\"," HONEY_STEPS ",\"within\":\"30d\"}"
#define HONEY_ORDERED "{\"kind\":\"sequence\",\"per\":\"user\",\"ordered\":true," HONEY_STEPS ",\"within\":\"30d\"}"
#define HELP_RULE                                                                                              \
    "{\"kind\":\"sequence\",\"per\":\"user\",\"steps\":[{\"event\":\"help_viewed\",\"count\":3}],"             \
    "\"same\":\"properties.article\",\"within\":\"1d\"}"

struct ev {
    kz_time ts;
    uint32_t account, user, event;
    double value;
    const char *props;
};

/* The fire function: keeps every call; refuses (returns 0) the first
 * `refuse` of them, as a failed condition on the account would. */
struct sink {
    kz_fire v[64];
    int fired[64];
    size_t n;
    int refuse;
};

static int collect(void *ctx, const kz_fire *f)
{
    struct sink *s = ctx;
    cr_assert_lt(s->n, 64);
    int ok = s->refuse > 0 ? (s->refuse--, 0) : 1;
    s->fired[s->n] = ok;
    s->v[s->n++] = *f;
    return ok;
}

static kz_rule *rule_of(const char *trigger, const char *extra)
{
    char json[2048];
    snprintf(json, sizeof json, "{\"id\":\"r\",\"trigger\":%s,\"actions\":[{\"kind\":\"note\",\"text\":\"x\"}]%s}",
             trigger, extra ? extra : "");
    kz_rule *r = NULL;
    int rc = kz_rule_parse(&r, json, strlen(json), "test");
    cr_assert_eq(rc, 0, "%s\n  -> %s", json, kz_error_msg());
    return r;
}

static kz_matcher *matcher_of(kz_rule *const *rules, size_t n, const kz_time *since)
{
    kz_matcher *m = NULL;
    cr_assert_eq(kz_matcher_new(&m, rules, n, since, names, NNAMES), 0, "%s", kz_error_msg());
    return m;
}

static void feed(kz_matcher *m, const struct ev *e, size_t n, struct sink *s)
{
    kz_evcols c = { 0 };
    cr_assert_eq(kz_evcols_reserve(&c, n ? n : 1), 0);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(kz_evcols_append(&c, e[i].ts, e[i].account, e[i].user, e[i].event, e[i].value, NULL, 0,
                                      e[i].props, e[i].props ? strlen(e[i].props) : 0),
                     0);
    cr_assert_eq(kz_matcher_feed(m, &c, collect, s), 0, "%s", kz_error_msg());
    kz_evcols_free(&c);
}

/* The key of a firing at t: its time, and for a rule with "same" ":" and the
 * value's hash. */
static const char *key_time(char buf[KZ_TIME_BUF], kz_time t)
{
    kz_format_time(buf, t);
    return buf;
}

/* One rule over one run: the sink of its calls. */
static struct sink run1(const char *trigger, const char *extra, const struct ev *e, size_t n)
{
    kz_rule *r = rule_of(trigger, extra);
    kz_matcher *m = matcher_of(&r, 1, NULL);
    struct sink s = { 0 };
    feed(m, e, n, &s);
    kz_matcher_free(m);
    kz_rule_free(r);
    return s;
}

#define N(a) (sizeof(a) / sizeof *(a))
#define P(ts, user, props) { (ts), 1, (user), PURCHASE, NAN, (props) }

/* ---- the honey example ------------------------------------------------------------------- */

Test(rules_match, honey_fires_once)
{
    const struct ev e[] = { P(T0, 7, BABY), P(T0 + 10 * DAY, 7, HONEY_P) };
    struct sink s = run1(HONEY, NULL, e, N(e));
    cr_assert_eq(s.n, 1);
    const kz_fire *f = &s.v[0];
    cr_assert_eq(f->rule_index, 0);
    cr_assert_eq(f->account_id, 1);
    cr_assert_eq(f->user, 7);
    cr_assert_eq(f->at, T0 + 10 * DAY);
    cr_assert_eq(f->first, T0);
    cr_assert_eq(f->event, PURCHASE);
    cr_assert(isnan(f->value));
    char key[KZ_TIME_BUF];
    cr_assert_str_eq(f->key, key_time(key, T0 + 10 * DAY));
}

Test(rules_match, honey_any_order_when_not_ordered)
{
    const struct ev e[] = { P(T0, 7, HONEY_P), P(T0 + 10 * DAY, 7, BABY) };
    struct sink s = run1(HONEY, NULL, e, N(e));
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.v[0].at, T0 + 10 * DAY);
    cr_assert_eq(s.v[0].first, T0);
}

Test(rules_match, honey_ordered)
{
    const struct ev reversed[] = { P(T0, 7, HONEY_P), P(T0 + 10 * DAY, 7, BABY) };
    cr_assert_eq(run1(HONEY_ORDERED, NULL, reversed, N(reversed)).n, 0, "honey then baby");
    const struct ev in_order[] = { P(T0, 7, BABY), P(T0 + 10 * DAY, 7, HONEY_P) };
    struct sink s = run1(HONEY_ORDERED, NULL, in_order, N(in_order));
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.v[0].first, T0);
    /* honey, baby, honey: the second honey completes it in order */
    const struct ev later[] = { P(T0, 7, HONEY_P), P(T0 + DAY, 7, BABY), P(T0 + 2 * DAY, 7, HONEY_P) };
    s = run1(HONEY_ORDERED, NULL, later, N(later));
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.v[0].at, T0 + 2 * DAY);
    cr_assert_eq(s.v[0].first, T0 + DAY);
}

Test(rules_match, honey_not_when_40_days_apart)
{
    const struct ev e[] = { P(T0, 7, BABY), P(T0 + 40 * DAY, 7, HONEY_P) };
    cr_assert_eq(run1(HONEY, NULL, e, N(e)).n, 0);
    /* the window is inclusive: exactly 30 days still counts */
    const struct ev edge[] = { P(T0, 7, BABY), P(T0 + 30 * DAY, 7, HONEY_P) };
    cr_assert_eq(run1(HONEY, NULL, edge, N(edge)).n, 1);
    const struct ev past[] = { P(T0, 7, BABY), P(T0 + 30 * DAY + SEC, 7, HONEY_P) };
    cr_assert_eq(run1(HONEY, NULL, past, N(past)).n, 0);
}

Test(rules_match, honey_cooldown)
{
    const struct ev e[] = {
        P(T0, 7, BABY),
        P(T0 + 10 * DAY, 7, HONEY_P), /* fires; the cooldown (= within, 30d) starts */
        P(T0 + 12 * DAY, 7, BABY),
        P(T0 + 15 * DAY, 7, HONEY_P), /* complete again, within the cooldown: no */
        P(T0 + 50 * DAY, 7, BABY),    /* new events, after the cooldown: again */
        P(T0 + 55 * DAY, 7, HONEY_P),
    };
    struct sink s = run1(HONEY, NULL, e, N(e));
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.v[0].at, T0 + 10 * DAY);
    cr_assert_eq(s.v[1].at, T0 + 55 * DAY);
    cr_assert_eq(s.v[1].first, T0 + 50 * DAY);
}

Test(rules_match, firing_uses_the_events_up)
{
    /* after the firing and its cooldown, a honey alone does not fire on the old baby */
    const struct ev e[] = { P(T0, 7, BABY), P(T0 + 10 * DAY, 7, HONEY_P), P(T0 + 29 * DAY, 7, HONEY_P),
                            P(T0 + 41 * DAY, 7, HONEY_P) };
    cr_assert_eq(run1(HONEY, ",\"cooldown\":\"1d\"", e, N(e)).n, 1);
}

/* ---- the help example ---------------------------------------------------------------------- */

#define H(ts, user, article) { (ts), 1, (user), HELP, NAN, "{\"article\":\"" article "\"}" }

Test(rules_match, help_third_view_of_same_article)
{
    const struct ev e[] = { H(T0, 7, "a"), H(T0 + HOUR, 7, "a"), H(T0 + 2 * HOUR, 7, "a"), H(T0 + 3 * HOUR, 7, "a") };
    struct sink s = run1(HELP_RULE, NULL, e, N(e));
    cr_assert_eq(s.n, 1, "the 3rd view fires; the 4th starts anew (the three are used up)");
    cr_assert_eq(s.v[0].at, T0 + 2 * HOUR);
    cr_assert_eq(s.v[0].first, T0);
    cr_assert_eq(s.v[0].event, HELP);
    char when[KZ_TIME_BUF], prefix[64];
    snprintf(prefix, sizeof prefix, "%s:", key_time(when, T0 + 2 * HOUR));
    cr_assert_eq(strncmp(s.v[0].key, prefix, strlen(prefix)), 0, "%s", s.v[0].key);
    cr_assert_eq(strlen(s.v[0].key), strlen(prefix) + 16, "%s", s.v[0].key);
}

Test(rules_match, help_not_for_different_articles)
{
    const struct ev e[] = { H(T0, 7, "a"), H(T0 + HOUR, 7, "b"), H(T0 + 2 * HOUR, 7, "c"), H(T0 + 3 * HOUR, 7, "b") };
    cr_assert_eq(run1(HELP_RULE, NULL, e, N(e)).n, 0);
    /* a view without the article does not count */
    const struct ev none[] = { H(T0, 7, "a"), { T0 + HOUR, 1, 7, HELP, NAN, "{}" }, { T0 + 2 * HOUR, 1, 7, HELP, NAN, NULL },
                               H(T0 + 3 * HOUR, 7, "a") };
    cr_assert_eq(run1(HELP_RULE, NULL, none, N(none)).n, 0);
}

Test(rules_match, help_not_over_two_days)
{
    const struct ev e[] = { H(T0, 7, "a"), H(T0 + DAY, 7, "a"), H(T0 + 2 * DAY, 7, "a") };
    cr_assert_eq(run1(HELP_RULE, NULL, e, N(e)).n, 0);
    const struct ev f[] = { H(T0, 7, "a"), H(T0 + 23 * HOUR, 7, "a"), H(T0 + 47 * HOUR, 7, "a") };
    cr_assert_eq(run1(HELP_RULE, NULL, f, N(f)).n, 0);
}

Test(rules_match, help_views_of_different_users_do_not_add_up)
{
    const struct ev e[] = { H(T0, 7, "a"), H(T0 + HOUR, 8, "a"), H(T0 + 2 * HOUR, 7, "a") };
    cr_assert_eq(run1(HELP_RULE, NULL, e, N(e)).n, 0);
}

/* ---- subjects ---------------------------------------------------------------------------------- */

#define HONEY_ACCOUNT "{\"kind\":\"sequence\"," HONEY_STEPS ",\"within\":\"30d\"}"

Test(rules_match, per_user_and_per_account)
{
    /* one account, two users: baby by user 7, honey by user 8 */
    const struct ev e[] = { P(T0, 7, BABY), P(T0 + DAY, 8, HONEY_P) };
    cr_assert_eq(run1(HONEY, NULL, e, N(e)).n, 0, "per user: two subjects");
    struct sink s = run1(HONEY_ACCOUNT, NULL, e, N(e));
    cr_assert_eq(s.n, 1, "per account: one subject");
    cr_assert_eq(s.v[0].account_id, 1);
    cr_assert_eq(s.v[0].user, 8);
    /* two accounts do not add up */
    const struct ev two[] = { { T0, 1, 7, PURCHASE, NAN, BABY }, { T0 + DAY, 2, 7, PURCHASE, NAN, HONEY_P } };
    cr_assert_eq(run1(HONEY_ACCOUNT, NULL, two, N(two)).n, 0);
}

Test(rules_match, per_user_skips_events_without_user)
{
    const struct ev e[] = { P(T0, 0, BABY), P(T0 + DAY, 0, HONEY_P) };
    cr_assert_eq(run1(HONEY, NULL, e, N(e)).n, 0);
    cr_assert_eq(run1(HONEY_ACCOUNT, NULL, e, N(e)).n, 1);
    const struct ev login[] = { { T0, 1, 0, LOGIN, NAN, NULL }, { T0 + HOUR, 1, 3, LOGIN, NAN, NULL } };
    struct sink s = run1("{\"kind\":\"event\",\"per\":\"user\",\"event\":\"login\"}", NULL, login, N(login));
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.v[0].user, 3);
}

Test(rules_match, cooldown_is_per_subject)
{
    const struct ev e[] = { { T0, 1, 7, LOGIN, NAN, NULL }, { T0 + HOUR, 1, 8, LOGIN, NAN, NULL },
                            { T0 + 2 * HOUR, 1, 7, LOGIN, NAN, NULL }, { T0 + DAY, 1, 7, LOGIN, NAN, NULL } };
    struct sink s = run1("{\"kind\":\"event\",\"per\":\"user\",\"event\":\"login\"}", NULL, e, N(e));
    cr_assert_eq(s.n, 3, "users 7 and 8, then 7 again a day later");
    cr_assert_eq(s.v[0].user, 7);
    cr_assert_eq(s.v[1].user, 8);
    cr_assert_eq(s.v[2].at, T0 + DAY);
    s = run1("{\"kind\":\"event\",\"event\":\"login\"}", NULL, e, N(e));
    cr_assert_eq(s.n, 2, "per account: one subject, a cooldown of 1d");
}

/* ---- conditions ----------------------------------------------------------------------------------- */

static const struct {
    const char *where; /* the condition */
    double value;
    const char *props;
    int fires;
} conds[] = {
    { "{\"field\":\"value\",\"op\":\">=\",\"value\":100}", 150, NULL, 1 },
    { "{\"field\":\"value\",\"op\":\">=\",\"value\":100}", 100, NULL, 1 },
    { "{\"field\":\"value\",\"op\":\">=\",\"value\":100}", 99.5, NULL, 0 },
    { "{\"field\":\"value\",\"op\":\">=\",\"value\":100}", NAN, NULL, 0 },
    { "{\"field\":\"value\",\"op\":\"<\",\"value\":0}", -1, NULL, 1 },
    { "{\"field\":\"value\",\"op\":\"=\",\"value\":3}", 3, NULL, 1 },
    { "{\"field\":\"value\",\"op\":\"!=\",\"value\":3}", 4, NULL, 1 },
    { "{\"field\":\"value\",\"op\":\"!=\",\"value\":3}", 3, NULL, 0 },
    { "{\"field\":\"value\",\"op\":\"exists\"}", 0, NULL, 1 },
    { "{\"field\":\"value\",\"op\":\"exists\"}", NAN, NULL, 0 },
    { "{\"field\":\"properties.amount\",\"op\":\">=\",\"value\":100}", NAN, "{\"amount\":120}", 1 },
    { "{\"field\":\"properties.amount\",\"op\":\">=\",\"value\":100}", NAN, "{\"amount\":\"120\"}", 1 },
    { "{\"field\":\"properties.amount\",\"op\":\">=\",\"value\":100}", NAN, "{\"amount\":80}", 0 },
    { "{\"field\":\"properties.amount\",\"op\":\">=\",\"value\":100}", NAN, "{\"amount\":\"lots\"}", 0 },
    { "{\"field\":\"properties.amount\",\"op\":\">=\",\"value\":100}", NAN, "{}", 0 },
    { "{\"field\":\"properties.amount\",\"op\":\">=\",\"value\":100}", NAN, NULL, 0 },
    { "{\"field\":\"properties.plan\",\"op\":\"in\",\"value\":[\"pro\",2]}", NAN, "{\"plan\":\"pro\"}", 1 },
    { "{\"field\":\"properties.plan\",\"op\":\"in\",\"value\":[\"pro\",2]}", NAN, "{\"plan\":2}", 1 },
    { "{\"field\":\"properties.plan\",\"op\":\"in\",\"value\":[\"pro\",2]}", NAN, "{\"plan\":\"2\"}", 1 },
    { "{\"field\":\"properties.plan\",\"op\":\"in\",\"value\":[\"pro\",2]}", NAN, "{\"plan\":2.0}", 1 },
    { "{\"field\":\"properties.plan\",\"op\":\"in\",\"value\":[\"pro\",2]}", NAN, "{\"plan\":\"free\"}", 0 },
    { "{\"field\":\"properties.plan\",\"op\":\"in\",\"value\":[\"pro\",2]}", NAN, "{\"plan\":\"Pro\"}", 0 },
    { "{\"field\":\"value\",\"op\":\"in\",\"value\":[1,5]}", 5, NULL, 1 },
    { "{\"field\":\"properties.tags\",\"op\":\"contains\",\"value\":\"vip\"}", NAN, "{\"tags\":\"a-vip-b\"}", 1 },
    { "{\"field\":\"properties.tags\",\"op\":\"contains\",\"value\":\"vip\"}", NAN, "{\"tags\":\"v-i-p\"}", 0 },
    { "{\"field\":\"properties.tags\",\"op\":\"contains\",\"value\":\"vip\"}", NAN, "{\"tags\":[\"x\",\"vip\"]}", 1 },
    { "{\"field\":\"properties.tags\",\"op\":\"contains\",\"value\":\"vip\"}", NAN, "{\"tags\":[\"vipx\",\"y\"]}", 0 },
    { "{\"field\":\"properties.tags\",\"op\":\"contains\",\"value\":\"2\"}", NAN, "{\"tags\":[1,2,3]}", 1 },
    { "{\"field\":\"properties.tags\",\"op\":\"contains\",\"value\":\"vip\"}", NAN, "{}", 0 },
    { "{\"field\":\"properties.coupon\",\"op\":\"exists\"}", NAN, "{\"coupon\":\"X1\"}", 1 },
    { "{\"field\":\"properties.coupon\",\"op\":\"exists\"}", NAN, "{\"coupon\":0}", 1 },
    { "{\"field\":\"properties.coupon\",\"op\":\"exists\"}", NAN, "{\"other\":1}", 0 },
    { "{\"field\":\"properties.src\",\"op\":\"!=\",\"value\":\"bot\"}", NAN, "{\"src\":\"web\"}", 1 },
    { "{\"field\":\"properties.src\",\"op\":\"!=\",\"value\":\"bot\"}", NAN, "{\"src\":\"bot\"}", 0 },
    { "{\"field\":\"properties.src\",\"op\":\"!=\",\"value\":\"bot\"}", NAN, "{}", 1 },
    { "{\"field\":\"properties.src\",\"op\":\"=\",\"value\":\"bot\"}", NAN, "{}", 0 },
    { "{\"field\":\"properties.a.b\",\"op\":\"=\",\"value\":\"x\"}", NAN, "{\"a\":{\"b\":\"x\"}}", 1 },
    { "{\"field\":\"properties.a.b\",\"op\":\"=\",\"value\":\"x\"}", NAN, "{\"a\":{\"c\":\"x\"}}", 0 },
    { "{\"field\":\"properties.a.b\",\"op\":\"=\",\"value\":\"x\"}", NAN, "{\"a\":\"x\"}", 0 },
    { "{\"field\":\"properties.trial\",\"op\":\"=\",\"value\":true}", NAN, "{\"trial\":true}", 1 },
    { "{\"field\":\"properties.trial\",\"op\":\"=\",\"value\":true}", NAN, "{\"trial\":false}", 0 },
    { "{\"field\":\"properties.n\",\"op\":\"=\",\"value\":\"7\"}", NAN, "{\"n\":7}", 1 },
    { "{\"field\":\"properties.n\",\"op\":\"=\",\"value\":7}", NAN, "not json", 0 },
};

Test(rules_match, event_conditions)
{
    for (size_t i = 0; i < N(conds); i++) {
        char trig[512];
        snprintf(trig, sizeof trig, "{\"kind\":\"event\",\"event\":\"purchase\",\"where\":[%s]}", conds[i].where);
        const struct ev e[] = { { T0, 1, 7, PURCHASE, conds[i].value, conds[i].props } };
        struct sink s = run1(trig, NULL, e, 1);
        cr_expect_eq((int)s.n, conds[i].fires, "%s on value %g, properties %s: %zu firing(s)", conds[i].where,
                     conds[i].value, conds[i].props ? conds[i].props : "(none)", s.n);
        if (s.n)
            cr_expect(s.v[0].value == conds[i].value || (isnan(s.v[0].value) && isnan(conds[i].value)));
    }
}

Test(rules_match, all_conditions_must_hold)
{
    const char *trig = "{\"kind\":\"event\",\"event\":\"purchase\",\"where\":["
                       "{\"field\":\"value\",\"op\":\">\",\"value\":10},"
                       "{\"field\":\"properties.plan\",\"op\":\"=\",\"value\":\"pro\"}]}";
    const struct ev e[] = { { T0, 1, 7, PURCHASE, 50, "{\"plan\":\"free\"}" },
                            { T0 + HOUR, 1, 7, PURCHASE, 5, "{\"plan\":\"pro\"}" },
                            { T0 + 2 * HOUR, 1, 7, PURCHASE, 50, "{\"plan\":\"pro\"}" } };
    struct sink s = run1(trig, NULL, e, N(e));
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.v[0].at, T0 + 2 * HOUR);
    cr_assert_float_eq(s.v[0].value, 50, 0);
}

static const char *user_key(void *ctx, uint32_t user, size_t *n)
{
    (void)ctx;
    static const char *const keys[] = { NULL, "u-1", "bot-2" };
    if (user >= 3 || !keys[user])
        return NULL;
    *n = strlen(keys[user]);
    return keys[user];
}

Test(rules_match, user_id_condition)
{
    kz_rule *r = rule_of("{\"kind\":\"event\",\"per\":\"user\",\"event\":\"login\",\"where\":["
                         "{\"field\":\"user_id\",\"op\":\"contains\",\"value\":\"bot\"}]}",
                         NULL);
    kz_matcher *m = matcher_of(&r, 1, NULL);
    const struct ev e[] = { { T0, 1, 1, LOGIN, NAN, NULL }, { T0, 1, 2, LOGIN, NAN, NULL } };
    struct sink s = { 0 };
    feed(m, e, N(e), &s);
    cr_assert_eq(s.n, 0, "no resolver: conditions on user_id fail");
    kz_matcher_users(m, user_key, NULL);
    const struct ev later[] = { { T0 + HOUR, 1, 1, LOGIN, NAN, NULL }, { T0 + HOUR, 1, 2, LOGIN, NAN, NULL } };
    feed(m, later, N(later), &s);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.v[0].user, 2);
    kz_matcher_free(m);
    kz_rule_free(r);
}

/* ---- since, refusals, names, several rules -------------------------------------------------------- */

Test(rules_match, since_builds_state_without_firing)
{
    kz_rule *rules[] = { rule_of(HONEY, NULL), rule_of("{\"kind\":\"event\",\"event\":\"login\"}", NULL) };
    const kz_time since[] = { T0 + 5 * DAY, T0 + 5 * DAY };
    kz_matcher *m = matcher_of(rules, 2, since);
    const struct ev e[] = {
        P(T0, 7, BABY),                       /* before since: counts for the sequence */
        P(T0 + 2 * DAY, 8, BABY),
        P(T0 + 3 * DAY, 8, HONEY_P),          /* user 8 completes before since: no */
        { T0 + 4 * DAY, 1, 7, LOGIN, NAN, NULL }, /* before since: no */
        { T0 + 5 * DAY, 1, 7, LOGIN, NAN, NULL }, /* at since: yes */
        P(T0 + 10 * DAY, 7, HONEY_P),         /* user 7 completes after since: yes */
    };
    struct sink s = { 0 };
    feed(m, e, N(e), &s);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.v[0].rule_index, 1);
    cr_assert_eq(s.v[0].at, T0 + 5 * DAY);
    cr_assert_eq(s.v[1].rule_index, 0);
    cr_assert_eq(s.v[1].user, 7);
    cr_assert_eq(s.v[1].first, T0, "the event before since counted");
    kz_matcher_free(m);
    kz_rule_free(rules[0]);
    kz_rule_free(rules[1]);
}

Test(rules_match, refused_firing_starts_no_cooldown)
{
    kz_rule *r = rule_of("{\"kind\":\"event\",\"event\":\"login\"}", NULL);
    kz_matcher *m = matcher_of(&r, 1, NULL);
    struct sink s = { .refuse = 1 };
    const struct ev e[] = { { T0, 1, 7, LOGIN, NAN, NULL }, { T0 + HOUR, 1, 7, LOGIN, NAN, NULL },
                            { T0 + 2 * HOUR, 1, 7, LOGIN, NAN, NULL } };
    feed(m, e, N(e), &s);
    cr_assert_eq(s.n, 2, "refused, then fired; the third is in the cooldown of the second");
    cr_assert_eq(s.fired[0], 0);
    cr_assert_eq(s.fired[1], 1);
    cr_assert_eq(s.v[1].at, T0 + HOUR);
    kz_matcher_free(m);
    kz_rule_free(r);

    /* a refused sequence keeps its events: the next honey completes it with the same baby */
    const struct ev h[] = { P(T0, 7, BABY), P(T0 + DAY, 7, HONEY_P), P(T0 + 2 * DAY, 7, HONEY_P) };
    r = rule_of(HONEY, NULL);
    m = matcher_of(&r, 1, NULL);
    s = (struct sink){ .refuse = 1 };
    feed(m, h, N(h), &s);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.fired[1], 1);
    cr_assert_eq(s.v[1].at, T0 + 2 * DAY);
    cr_assert_eq(s.v[1].first, T0);
    kz_matcher_free(m);
    kz_rule_free(r);
}

static int failing(void *ctx, const kz_fire *f)
{
    (void)ctx;
    (void)f;
    return kz_error_set(KZ_EIO, "the store went away");
}

Test(rules_match, fire_error_stops_the_feed)
{
    kz_rule *r = rule_of("{\"kind\":\"event\",\"event\":\"login\"}", NULL);
    kz_matcher *m = matcher_of(&r, 1, NULL);
    kz_evcols c = { 0 };
    cr_assert_eq(kz_evcols_reserve(&c, 1), 0);
    cr_assert_eq(kz_evcols_append(&c, T0, 1, 7, LOGIN, NAN, NULL, 0, NULL, 0), 0);
    cr_assert_eq(kz_matcher_feed(m, &c, failing, NULL), KZ_EIO);
    kz_evcols_free(&c);
    kz_matcher_free(m);
    kz_rule_free(r);
}

Test(rules_match, name_added_live)
{
    kz_rule *r = rule_of("{\"kind\":\"event\",\"event\":\"signup\"}", NULL);
    kz_matcher *m = matcher_of(&r, 1, NULL);
    struct sink s = { 0 };
    const struct ev e[] = { { T0, 1, 7, SIGNUP, NAN, NULL } };
    feed(m, e, 1, &s);
    cr_assert_eq(s.n, 0, "the matcher does not know the name yet");
    cr_assert_eq(kz_matcher_name(m, SIGNUP, "signup", 6), 0);
    const struct ev e2[] = { { T0 + HOUR, 1, 7, SIGNUP, NAN, NULL } };
    feed(m, e2, 1, &s);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.v[0].event, SIGNUP);
    /* an id far beyond the names given at the start */
    cr_assert_eq(kz_matcher_name(m, 300, "signup", 6), 0);
    const struct ev e3[] = { { T0 + HOUR, 2, 7, 300, NAN, NULL } };
    feed(m, e3, 1, &s);
    cr_assert_eq(s.n, 2);
    cr_assert_eq(s.v[1].event, 300);
    cr_assert_eq(s.v[1].account_id, 2);
    kz_matcher_free(m);
    kz_rule_free(r);
}

Test(rules_match, other_triggers_left_out)
{
    kz_rule *rules[] = { rule_of("{\"kind\":\"nps\"}", NULL), rule_of(HELP_RULE, NULL), rule_of(HONEY, NULL),
                         rule_of("{\"kind\":\"threshold\",\"measure\":\"health\",\"op\":\"<\",\"value\":40}", NULL) };
    kz_matcher *m = matcher_of(rules, 4, NULL);
    cr_assert_eq(kz_matcher_span(m), 30 * 86400);
    cr_assert_gt(kz_matcher_memory(m), 0);
    const struct ev e[] = { P(T0, 7, BABY), P(T0 + DAY, 7, HONEY_P) };
    struct sink s = { 0 };
    feed(m, e, N(e), &s);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.v[0].rule_index, 2, "indices stay those of the array");
    cr_assert_eq(s.v[0].rule, rules[2]);
    kz_matcher_free(m);
    for (size_t i = 0; i < N(rules); i++)
        kz_rule_free(rules[i]);
}

/* ---- backtest = live ------------------------------------------------------------------------------ */

static const struct ev mixed[] = {
    P(T0, 7, BABY),
    H(T0 + HOUR, 7, "a"),
    { T0 + HOUR, 1, 7, LOGIN, 1, NULL },
    H(T0 + 2 * HOUR, 7, "a"),
    H(T0 + 2 * HOUR, 8, "b"),
    P(T0 + 3 * HOUR, 8, BABY),
    H(T0 + 3 * HOUR, 7, "a"),                 /* help fires for user 7 */
    { T0 + 5 * HOUR, 2, 9, LOGIN, 2, NULL },
    H(T0 + 6 * HOUR, 8, "b"),
    P(T0 + 2 * DAY, 7, HONEY_P),              /* honey fires for user 7 */
    { T0 + 2 * DAY, 1, 7, LOGIN, 3, NULL },   /* login fires again for account 1 */
    H(T0 + 2 * DAY + HOUR, 8, "b"),
    H(T0 + 2 * DAY + 2 * HOUR, 8, "b"),
    H(T0 + 2 * DAY + 3 * HOUR, 8, "b"),       /* help fires for user 8 */
    P(T0 + 20 * DAY, 8, HONEY_P),             /* honey fires for user 8 */
    H(T0 + 30 * DAY, 7, "a"),
    H(T0 + 30 * DAY + 1, 7, "a"),
    H(T0 + 30 * DAY + 2, 7, "a"),             /* help fires for user 7, same article again */
};

static struct sink run_split(size_t chunk)
{
    kz_rule *rules[] = { rule_of(HONEY, NULL), rule_of(HELP_RULE, NULL),
                         rule_of("{\"kind\":\"event\",\"event\":\"login\"}", NULL) };
    kz_matcher *m = matcher_of(rules, N(rules), NULL);
    struct sink s = { 0 };
    for (size_t i = 0; i < N(mixed); i += chunk)
        feed(m, mixed + i, i + chunk < N(mixed) ? chunk : N(mixed) - i, &s);
    kz_matcher_free(m);
    for (size_t i = 0; i < N(rules); i++)
        kz_rule_free(rules[i]);
    return s;
}

Test(rules_match, split_feeds_fire_as_one_run)
{
    struct sink whole = run_split(N(mixed));
    cr_assert_eq(whole.n, 8);
    static const size_t want_rule[] = { 2, 1, 2, 0, 2, 1, 0, 1 };
    for (size_t i = 0; i < whole.n; i++)
        cr_assert_eq(whole.v[i].rule_index, want_rule[i], "firing %zu", i);
    /* the same article's key ends alike at both firings of user 7 */
    const char *k1 = strrchr(whole.v[1].key, ':'), *k2 = strrchr(whole.v[7].key, ':'), *k8 = strrchr(whole.v[5].key, ':');
    cr_assert(k1 && k2 && k8);
    cr_assert_str_eq(k1, k2);
    cr_assert_str_neq(k1, k8, "user 8 read article b");
    char when[KZ_TIME_BUF];
    cr_assert_str_eq(whole.v[0].key, key_time(when, whole.v[0].at), "no \"same\": the time alone");
    for (size_t chunk = 1; chunk < N(mixed); chunk++) {
        struct sink s = run_split(chunk);
        cr_assert_eq(s.n, whole.n, "chunks of %zu", chunk);
        for (size_t i = 0; i < s.n; i++) {
            const kz_fire *a = &whole.v[i], *b = &s.v[i];
            cr_assert_eq(b->rule_index, a->rule_index, "chunks of %zu, firing %zu", chunk, i);
            cr_assert_eq(b->account_id, a->account_id);
            cr_assert_eq(b->user, a->user);
            cr_assert_eq(b->at, a->at);
            cr_assert_eq(b->first, a->first);
            cr_assert_eq(b->event, a->event);
            cr_assert_str_eq(b->key, a->key, "chunks of %zu, firing %zu", chunk, i);
        }
    }
}

Test(rules_match, key_is_stable)
{
    /* the same occasion gives the same key in two matchers, and keys of
     * different articles differ */
    const struct ev a[] = { H(T0, 7, "a"), H(T0 + 1, 7, "a"), H(T0 + 2, 7, "a") };
    const struct ev b[] = { H(T0, 7, "b"), H(T0 + 1, 7, "b"), H(T0 + 2, 7, "b") };
    struct sink s1 = run1(HELP_RULE, NULL, a, N(a)), s2 = run1(HELP_RULE, NULL, a, N(a)),
                s3 = run1(HELP_RULE, NULL, b, N(b));
    cr_assert_eq(s1.n, 1);
    cr_assert_eq(s3.n, 1);
    cr_assert_str_eq(s1.v[0].key, s2.v[0].key);
    cr_assert_str_neq(s1.v[0].key, s3.v[0].key);
    cr_assert_eq(strlen(s1.v[0].key), strlen(s3.v[0].key));
    /* without "same", the key is the completing event's time */
    const struct ev l[] = { { T0 + 5, 1, 7, LOGIN, NAN, NULL } };
    struct sink s4 = run1("{\"kind\":\"event\",\"event\":\"login\"}", NULL, l, 1);
    cr_assert_eq(s4.n, 1);
    char key[KZ_TIME_BUF];
    cr_assert_str_eq(s4.v[0].key, key_time(key, T0 + 5));
}

/* "A firing uses up the events that made it" (match.h), whatever the order of
 * the steps of an unordered sequence: the honey purchase of value 20 makes
 * the first firing (matching both steps) and must not count again for a
 * second one. Both spellings of the same rule fire once. */
#define STEP_HONEY "{\"event\":\"purchase\",\"where\":[{\"field\":\"properties.category\",\"op\":\"=\",\"value\":\"honey\"}]}"
#define STEP_BIG "{\"event\":\"purchase\",\"where\":[{\"field\":\"value\",\"op\":\">\",\"value\":10}]}"

Test(rules_match, used_up_whatever_the_step_order)
{
    const struct ev e[] = { { T0, 1, 7, PURCHASE, 20, BABY },
                            { T0 + DAY, 1, 7, PURCHASE, 20, HONEY_P },    /* fires with the baby */
                            { T0 + 3 * DAY, 1, 7, PURCHASE, 5, HONEY_P } }; /* a honey alone: step 1 only */
    struct sink a = run1("{\"kind\":\"sequence\",\"per\":\"user\",\"within\":\"30d\",\"steps\":[" STEP_BIG "," STEP_HONEY "]}",
                         ",\"cooldown\":\"1d\"", e, N(e));
    cr_assert_eq(a.n, 1, "big, honey: %zu firing(s)", a.n);
    struct sink b = run1("{\"kind\":\"sequence\",\"per\":\"user\",\"within\":\"30d\",\"steps\":[" STEP_HONEY "," STEP_BIG "]}",
                         ",\"cooldown\":\"1d\"", e, N(e));
    cr_expect_eq(b.n, 1, "honey, big: %zu firing(s) (the second reuses the purchase of the first)", b.n);
    cr_expect_eq(b.v[0].at, T0 + DAY);
}
