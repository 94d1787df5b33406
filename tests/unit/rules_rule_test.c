/*
 * rules_rule_test.c - playbook rules read from JSON (src/rules/rule.c): every
 * trigger kind with its fields and defaults, every action kind, modes, the
 * compact JSON kept, and the messages of refused rules (origin, rule id, field
 * path, reason), files of several rules, placeholders.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/health.h"
#include "engine/signals.h"
#include "rules/rule.h"

#define ORIGIN "rules/x.json"
#define NOTE "[{\"kind\":\"note\",\"text\":\"hi\"}]"

static kz_rule *parse_ok(const char *json)
{
    kz_rule *r = NULL;
    int rc = kz_rule_parse(&r, json, strlen(json), ORIGIN);
    cr_assert_eq(rc, 0, "%s\n  -> %s", json, kz_error_msg());
    cr_assert_not_null(r);
    return r;
}

/* The message of a refused rule (a copy: the next call overwrites it). */
static char *parse_err(const char *json, size_t len)
{
    kz_rule *r = NULL;
    int rc = kz_rule_parse(&r, json, len, ORIGIN);
    cr_assert_eq(rc, KZ_EINVALID, "%s\n  -> accepted (rc %d)", json, rc);
    cr_assert_null(r);
    char *m = strdup(kz_error_msg());
    cr_assert_not_null(m);
    return m;
}

#define EXPECT_ERR(json, want)                                                                                 \
    do {                                                                                                       \
        char *m_ = parse_err(json, strlen(json));                                                              \
        cr_expect(strstr(m_, want) != NULL, "%s\n  message: %s\n  wanted:  %s", json, m_, want);              \
        free(m_);                                                                                              \
    } while (0)

/* ---- valid rules of each trigger kind ---------------------------------------------------- */

Test(rules_rule, event_trigger_full)
{
    kz_rule *r = parse_ok("{\"id\":\"big-purchase\",\"title\":\"Big purchase\",\"description\":\"d\","
                          "\"playbook\":\"risk-recovery\",\"mode\":\"dry-run\","
                          "\"trigger\":{\"kind\":\"event\",\"per\":\"user\",\"event\":\"purchase\",\"where\":["
                          "{\"field\":\"value\",\"op\":\">=\",\"value\":100},"
                          "{\"field\":\"properties.plan\",\"op\":\"in\",\"value\":[\"pro\",2,\"team\"]},"
                          "{\"field\":\"properties.tags\",\"op\":\"contains\",\"value\":\"vip\"},"
                          "{\"field\":\"properties.coupon\",\"op\":\"exists\"},"
                          "{\"field\":\"user_id\",\"op\":\"!=\",\"value\":\"bot\"},"
                          "{\"field\":\"properties.trial\",\"op\":\"=\",\"value\":false}]},"
                          "\"actions\":" NOTE "}");
    cr_assert_str_eq(r->id, "big-purchase");
    cr_assert_str_eq(r->title, "Big purchase");
    cr_assert_str_eq(r->description, "d");
    cr_assert_str_eq(r->playbook, "risk-recovery");
    cr_assert_eq(r->mode, KZ_RULE_DRY_RUN);
    cr_assert_eq(r->trigger, KZ_TRIG_EVENT);
    cr_assert_eq(r->per, KZ_PER_USER);
    cr_assert_eq(r->nsteps, 1);
    const kz_rule_step *s = &r->steps[0];
    cr_assert_str_eq(s->event, "purchase");
    cr_assert_eq(s->count, 1);
    cr_assert_eq(s->nwhere, 6);
    cr_assert_str_eq(s->where[0].field, "value");
    cr_assert_eq(s->where[0].op, KZ_OP_GE);
    cr_assert(s->where[0].numeric);
    cr_assert_float_eq(s->where[0].num, 100, 0);
    cr_assert_eq(s->where[1].op, KZ_OP_IN);
    cr_assert_eq(s->where[1].nlist, 3);
    cr_assert_str_eq(s->where[1].list[0], "pro");
    cr_assert_str_eq(s->where[1].list[1], "2");
    cr_assert_str_eq(s->where[1].list[2], "team");
    cr_assert_eq(s->where[2].op, KZ_OP_CONTAINS);
    cr_assert_not(s->where[2].numeric);
    cr_assert_str_eq(s->where[2].text, "vip");
    cr_assert_eq(s->where[3].op, KZ_OP_EXISTS);
    cr_assert_str_eq(s->where[3].field, "properties.coupon");
    cr_assert_eq(s->where[4].op, KZ_OP_NE);
    cr_assert_str_eq(s->where[4].text, "bot");
    cr_assert_str_eq(s->where[5].text, "false");
    cr_assert_eq(r->cooldown, 86400, "event: 1 day by default");
    kz_rule_free(r);
}

Test(rules_rule, event_trigger_minimal_defaults)
{
    kz_rule *r = parse_ok("{\"id\":\"e\",\"trigger\":{\"kind\":\"event\",\"event\":\"login\"},\"actions\":" NOTE "}");
    cr_assert_str_eq(r->title, "e", "the title is the id when not given");
    cr_assert_null(r->description);
    cr_assert_null(r->playbook);
    cr_assert_eq(r->mode, KZ_RULE_ON);
    cr_assert_eq(r->per, KZ_PER_ACCOUNT);
    cr_assert_eq(r->steps[0].nwhere, 0);
    cr_assert_eq(r->cooldown, 86400);
    cr_assert_eq(r->nfilters, 0);
    cr_assert_eq(r->bands, 0);
    cr_assert_null(r->segments);
    kz_rule_free(r);
}

Test(rules_rule, sequence_trigger_full)
{
    kz_rule *r = parse_ok("{\"id\":\"honey\",\"trigger\":{\"kind\":\"sequence\",\"per\":\"user\",\"ordered\":true,"
                          "\"within\":\"30d\",\"same\":\"properties.store\",\"steps\":["
                          "{\"event\":\"purchase\",\"where\":[{\"field\":\"properties.category\",\"op\":\"=\",\"value\":\"baby\"}]},"
                          "{\"event\":\"purchase\",\"count\":2,\"where\":[{\"field\":\"properties.category\",\"op\":\"=\",\"value\":\"honey\"}]}]},"
                          "\"actions\":" NOTE "}");
    cr_assert_eq(r->trigger, KZ_TRIG_SEQUENCE);
    cr_assert_eq(r->per, KZ_PER_USER);
    cr_assert(r->ordered);
    cr_assert_eq(r->within, 30 * 86400);
    cr_assert_str_eq(r->same, "properties.store");
    cr_assert_eq(r->nsteps, 2);
    cr_assert_str_eq(r->steps[0].event, "purchase");
    cr_assert_eq(r->steps[0].count, 1);
    cr_assert_eq(r->steps[1].count, 2);
    cr_assert_str_eq(r->steps[1].where[0].field, "properties.category");
    cr_assert_eq(r->steps[1].where[0].op, KZ_OP_EQ);
    cr_assert_str_eq(r->steps[1].where[0].text, "honey");
    cr_assert_eq(r->cooldown, r->within, "sequence: the window by default");
    kz_rule_free(r);
}

Test(rules_rule, sequence_defaults_and_durations)
{
    static const struct {
        const char *within;
        int64_t secs;
    } d[] = { { "90s", 90 }, { "45m", 2700 }, { "12h", 43200 }, { "1d", 86400 }, { "3660d", 3660LL * 86400 } };
    for (size_t i = 0; i < sizeof d / sizeof *d; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"id\":\"s\",\"trigger\":{\"kind\":\"sequence\",\"within\":\"%s\",\"steps\":[{\"event\":\"a\","
                 "\"count\":3}]},\"actions\":" NOTE "}",
                 d[i].within);
        kz_rule *r = parse_ok(json);
        cr_assert_eq(r->within, d[i].secs, "%s", d[i].within);
        cr_assert_eq(r->cooldown, d[i].secs);
        cr_assert_not(r->ordered);
        cr_assert_null(r->same);
        cr_assert_eq(r->per, KZ_PER_ACCOUNT);
        kz_rule_free(r);
    }
    kz_rule *r = parse_ok("{\"id\":\"s\",\"cooldown\":\"2h\",\"trigger\":{\"kind\":\"sequence\",\"within\":\"1d\","
                          "\"steps\":[{\"event\":\"a\"},{\"event\":\"b\"}]},\"actions\":" NOTE "}");
    cr_assert_eq(r->cooldown, 7200, "a cooldown given wins");
    kz_rule_free(r);
}

Test(rules_rule, threshold_trigger)
{
    static const struct {
        const char *measure, *op;
        double value;
        int want_measure;
        kz_rule_op want_op;
    } t[] = {
        { "health", "<", 40, KZ_MEASURE_HEALTH, KZ_OP_LT },
        { "churn", ">=", 0.7, KZ_MEASURE_CHURN, KZ_OP_GE },
        { "seat_utilisation", "<=", 0.5, KZ_SIG_SEAT_UTILISATION, KZ_OP_LE },
        { "days_since_last_event", ">", 14, KZ_SIG_DAYS_SINCE_EVENT, KZ_OP_GT },
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"id\":\"t\",\"trigger\":{\"kind\":\"threshold\",\"measure\":\"%s\",\"op\":\"%s\",\"value\":%g},"
                 "\"actions\":" NOTE "}",
                 t[i].measure, t[i].op, t[i].value);
        kz_rule *r = parse_ok(json);
        cr_assert_eq(r->trigger, KZ_TRIG_THRESHOLD);
        cr_assert_eq(r->measure, t[i].want_measure, "%s", t[i].measure);
        cr_assert_eq(r->op, t[i].want_op);
        cr_assert_float_eq(r->threshold, t[i].value, 1e-12);
        cr_assert_eq(r->cooldown, 0, "threshold: no cooldown by default");
        kz_rule_free(r);
    }
}

Test(rules_rule, date_trigger)
{
    kz_rule *r = parse_ok("{\"id\":\"renewal-90\",\"trigger\":{\"kind\":\"date\",\"anchor\":\"renewal\","
                          "\"offset_days\":-90},\"actions\":" NOTE "}");
    cr_assert_eq(r->trigger, KZ_TRIG_DATE);
    cr_assert_eq(r->anchor, KZ_ANCHOR_RENEWAL);
    cr_assert_eq(r->offset_days, -90);
    cr_assert_null(r->anchor_field);
    cr_assert_null(r->unless_event);
    cr_assert_eq(r->cooldown, 0);
    kz_rule_free(r);

    r = parse_ok("{\"id\":\"no-setup\",\"trigger\":{\"kind\":\"date\",\"anchor\":\"signup\",\"offset_days\":14,"
                 "\"unless_event\":\"setup_done\"},\"actions\":" NOTE "}");
    cr_assert_eq(r->anchor, KZ_ANCHOR_SIGNUP);
    cr_assert_eq(r->offset_days, 14);
    cr_assert_str_eq(r->unless_event, "setup_done");
    kz_rule_free(r);

    r = parse_ok("{\"id\":\"go-live\",\"trigger\":{\"kind\":\"date\",\"anchor\":\"field\",\"field\":\"go_live\"},"
                 "\"actions\":" NOTE "}");
    cr_assert_eq(r->anchor, KZ_ANCHOR_FIELD);
    cr_assert_str_eq(r->anchor_field, "go_live");
    cr_assert_eq(r->offset_days, 0);
    kz_rule_free(r);
}

Test(rules_rule, ticket_trigger_masks)
{
    kz_rule *r = parse_ok("{\"id\":\"urgent\",\"trigger\":{\"kind\":\"ticket\",\"categories\":[\"operational\"],"
                          "\"priorities\":[\"high\",\"urgent\"]},\"actions\":" NOTE "}");
    cr_assert_eq(r->trigger, KZ_TRIG_TICKET);
    cr_assert_eq(r->categories, 1u << 1);
    cr_assert_eq(r->priorities, (1u << 2) | (1u << 3));
    cr_assert_eq(r->cooldown, 0);
    kz_rule_free(r);
    r = parse_ok("{\"id\":\"any\",\"trigger\":{\"kind\":\"ticket\"},\"actions\":" NOTE "}");
    cr_assert_eq(r->categories, 0, "absent: any");
    cr_assert_eq(r->priorities, 0);
    kz_rule_free(r);
}

Test(rules_rule, nps_trigger)
{
    kz_rule *r = parse_ok("{\"id\":\"detractor\",\"trigger\":{\"kind\":\"nps\"},\"actions\":" NOTE "}");
    cr_assert_eq(r->trigger, KZ_TRIG_NPS);
    cr_assert_eq(r->min_score, 0);
    cr_assert_eq(r->max_score, 6, "a detractor by default");
    kz_rule_free(r);
    r = parse_ok("{\"id\":\"promoter\",\"trigger\":{\"kind\":\"nps\",\"min_score\":9,\"max_score\":10},"
                 "\"actions\":" NOTE "}");
    cr_assert_eq(r->min_score, 9);
    cr_assert_eq(r->max_score, 10);
    cr_assert_eq(r->cooldown, 0);
    kz_rule_free(r);
}

Test(rules_rule, anomaly_trigger)
{
    static const struct {
        const char *dir;
        int want;
    } d[] = { { "up", 1 }, { "down", -1 }, { "any", 0 } };
    for (size_t i = 0; i < sizeof d / sizeof *d; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"id\":\"a\",\"trigger\":{\"kind\":\"anomaly\",\"series\":\"account\",\"direction\":\"%s\"},"
                 "\"actions\":" NOTE "}",
                 d[i].dir);
        kz_rule *r = parse_ok(json);
        cr_assert_eq(r->trigger, KZ_TRIG_ANOMALY);
        cr_assert_str_eq(r->series, "account");
        cr_assert_eq(r->business, 0);
        cr_assert_eq(r->direction, d[i].want, "%s", d[i].dir);
        cr_assert_eq(r->cooldown, 0);
        kz_rule_free(r);
    }
    kz_rule *r = parse_ok("{\"id\":\"a\",\"trigger\":{\"kind\":\"anomaly\"},\"actions\":" NOTE "}");
    cr_assert_null(r->series);
    cr_assert_eq(r->direction, 0);
    cr_assert_eq(r->business, 0, "no series: the accounts' anomalies");
    kz_rule_free(r);
    r = parse_ok("{\"id\":\"a\",\"trigger\":{\"kind\":\"anomaly\",\"series\":\"account/acc_1\"},\"actions\":" NOTE "}");
    cr_assert_eq(r->business, 0);
    kz_rule_free(r);
    /* a business-wide series: a task for a named person, a webhook */
    r = parse_ok("{\"id\":\"a\",\"trigger\":{\"kind\":\"anomaly\",\"series\":\"mrr\"},\"actions\":["
                 "{\"kind\":\"task\",\"title\":\"MRR\",\"assignee\":\"carol\"},"
                 "{\"kind\":\"webhook\",\"url\":\"https://example.com/h\"}]}");
    cr_assert_eq(r->business, 1);
    kz_rule_free(r);
}

Test(rules_rule, conditions)
{
    kz_rule *r = parse_ok("{\"id\":\"c\",\"trigger\":{\"kind\":\"nps\"},\"conditions\":{"
                          "\"filters\":[\"plan = enterprise\",\"region = JP\"],\"bands\":[\"red\",\"yellow\"],"
                          "\"segments\":[\"smb\"]},\"actions\":" NOTE "}");
    cr_assert_eq(r->nfilters, 2);
    cr_assert_str_eq(r->filters[0], "plan = enterprise");
    cr_assert_str_eq(r->filters[1], "region = JP");
    cr_assert_eq(r->bands, (1u << KZ_BAND_RED) | (1u << KZ_BAND_YELLOW));
    cr_assert_eq(r->nsegments, 1);
    cr_assert_str_eq(r->segments[0], "smb");
    kz_rule_free(r);
}

/* ---- actions ----------------------------------------------------------------------------- */

Test(rules_rule, actions_of_each_kind)
{
    kz_rule *r = parse_ok(
        "{\"id\":\"acts\",\"trigger\":{\"kind\":\"nps\"},\"actions\":["
        "{\"kind\":\"task\",\"title\":\"Call {{account.name}}\"},"
        "{\"kind\":\"task\",\"title\":\"t\",\"assignee\":\"aiko\",\"due_days\":0,\"playbook\":\"risk-recovery\","
        "\"body\":\"{{ field.region | \\\"?\\\" }}\"},"
        "{\"kind\":\"email\",\"to\":\"{{contact.email}}\",\"subject\":\"Hello\",\"body\":\"Dear {{contact.name}}\"},"
        "{\"kind\":\"webhook\",\"url\":\"https://hooks.example.com/x\"},"
        "{\"kind\":\"webhook\",\"url\":\"http://localhost:9000/\",\"format\":\"slack\",\"text\":\"{{rule.title}}\"},"
        "{\"kind\":\"note\",\"text\":\"fired on {{event.name}}\"},"
        "{\"kind\":\"set_field\",\"field\":\"stage\",\"value\":\"at-risk {{today}}\"}]}");
    cr_assert_eq(r->nactions, 7);
    const kz_rule_action *a = r->actions;
    cr_assert_eq(a[0].kind, KZ_ACTION_TASK);
    cr_assert_str_eq(a[0].title, "Call {{account.name}}");
    cr_assert_str_eq(a[0].assignee, "owner");
    cr_assert_eq(a[0].due_days, 3);
    cr_assert_null(a[0].playbook);
    cr_assert_null(a[0].body);
    cr_assert_str_eq(a[1].assignee, "aiko");
    cr_assert_eq(a[1].due_days, 0);
    cr_assert_str_eq(a[1].playbook, "risk-recovery");
    cr_assert_str_eq(a[1].body, "{{ field.region | \"?\" }}");
    cr_assert_eq(a[2].kind, KZ_ACTION_EMAIL);
    cr_assert_str_eq(a[2].to, "{{contact.email}}");
    cr_assert_str_eq(a[2].subject, "Hello");
    cr_assert_str_eq(a[2].body, "Dear {{contact.name}}");
    cr_assert_eq(a[3].kind, KZ_ACTION_WEBHOOK);
    cr_assert_str_eq(a[3].url, "https://hooks.example.com/x");
    cr_assert_str_eq(a[3].format, "json");
    cr_assert_null(a[3].text);
    cr_assert_str_eq(a[4].format, "slack");
    cr_assert_str_eq(a[4].text, "{{rule.title}}");
    cr_assert_eq(a[5].kind, KZ_ACTION_NOTE);
    cr_assert_str_eq(a[5].text, "fired on {{event.name}}");
    cr_assert_eq(a[6].kind, KZ_ACTION_SET_FIELD);
    cr_assert_str_eq(a[6].field, "stage");
    cr_assert_str_eq(a[6].value, "at-risk {{today}}");
    kz_rule_free(r);
}

Test(rules_rule, tables)
{
    size_t n;
    const kz_trigger_def *t = kz_rule_triggers(&n);
    cr_assert_eq(n, KZ_TRIG_COUNT);
    cr_assert_str_eq(t[KZ_TRIG_EVENT].name, "event");
    cr_assert_str_eq(t[KZ_TRIG_NPS].name, "nps");
    cr_assert(t[KZ_TRIG_EVENT].per_event && t[KZ_TRIG_SEQUENCE].per_event);
    cr_assert_not(t[KZ_TRIG_THRESHOLD].per_event);
    const kz_action_def *a = kz_rule_actions(&n);
    cr_assert_eq(n, KZ_ACTION_COUNT);
    cr_assert_str_eq(a[KZ_ACTION_SET_FIELD].name, "set_field");
    cr_assert(a[KZ_ACTION_WEBHOOK].remote && a[KZ_ACTION_EMAIL].remote);
    cr_assert_not(a[KZ_ACTION_TASK].remote);
}

/* ---- mode and JSON ------------------------------------------------------------------------ */

Test(rules_rule, modes)
{
    static const char *const names[] = { "on", "dry-run", "off" };
    static const kz_rule_mode modes[] = { KZ_RULE_ON, KZ_RULE_DRY_RUN, KZ_RULE_OFF };
    for (int i = 0; i < 3; i++) {
        kz_rule_mode m = (kz_rule_mode)-1;
        cr_assert_eq(kz_rule_mode_parse(&m, names[i]), 0);
        cr_assert_eq(m, modes[i]);
        cr_assert_str_eq(kz_rule_mode_name(m), names[i]);
        char json[256];
        snprintf(json, sizeof json, "{\"id\":\"m\",\"mode\":\"%s\",\"trigger\":{\"kind\":\"nps\"},\"actions\":" NOTE "}",
                 names[i]);
        kz_rule *r = parse_ok(json);
        cr_assert_eq(r->mode, modes[i]);
        kz_rule_free(r);
    }
    kz_rule_mode m;
    cr_assert_eq(kz_rule_mode_parse(&m, "dry_run"), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "'dry_run' is not a rule mode"));
    cr_assert_eq(kz_rule_mode_parse(&m, "ON"), KZ_EINVALID);
    cr_assert_str_eq(kz_rule_mode_name((kz_rule_mode)7), "?");
}

Test(rules_rule, json_is_compact)
{
    const char *in = "{\n  \"id\" : \"c\",\n  \"trigger\" : { \"kind\" : \"nps\", \"max_score\" : 4 },\n"
                     "  \"actions\" : [ { \"kind\" : \"note\", \"text\" : \"a b\" } ]\n}\n";
    kz_rule *r = parse_ok(in);
    cr_assert_str_eq(r->json, "{\"id\":\"c\",\"trigger\":{\"kind\":\"nps\",\"max_score\":4},"
                              "\"actions\":[{\"kind\":\"note\",\"text\":\"a b\"}]}");
    /* what is kept reads back to the same rule */
    kz_rule *again = parse_ok(r->json);
    cr_assert_str_eq(again->json, r->json);
    cr_assert_eq(again->max_score, 4);
    kz_rule_free(again);
    kz_rule_free(r);
}

Test(rules_rule, ids)
{
    cr_assert(kz_rule_id_ok("a", 1));
    cr_assert(kz_rule_id_ok("renewal-90_days", 15));
    char id[66];
    memset(id, 'a', sizeof id);
    cr_assert(kz_rule_id_ok(id, 64));
    cr_assert_not(kz_rule_id_ok(id, 65));
    cr_assert_not(kz_rule_id_ok("", 0));
    cr_assert_not(kz_rule_id_ok("Honey", 5));
    cr_assert_not(kz_rule_id_ok("a b", 3));
    cr_assert_not(kz_rule_id_ok("a.json", 6));
    cr_assert_not(kz_rule_id_ok("日本", strlen("日本")));

    /* in a rule: 65 bytes and uppercase are refused, naming the id */
    char json[256];
    snprintf(json, sizeof json, "{\"id\":\"%.65s\",\"trigger\":{\"kind\":\"nps\"},\"actions\":" NOTE "}", id);
    char *m = parse_err(json, strlen(json));
    char want[128];
    snprintf(want, sizeof want, "rules/x.json: id: '%.65s' must be 1 to 64", id);
    cr_assert(strstr(m, want), "%s", m);
    free(m);
    snprintf(json, sizeof json, "{\"id\":\"%.64s\",\"trigger\":{\"kind\":\"nps\"},\"actions\":" NOTE "}", id);
    kz_rule *r = parse_ok(json);
    cr_assert_eq(strlen(r->id), 64);
    kz_rule_free(r);
}

Test(rules_rule, placeholders)
{
#define KNOWN(s) kz_rule_placeholder_known(s, strlen(s))
    cr_assert(KNOWN("account.name"));
    cr_assert(KNOWN("account.owner"));
    cr_assert(KNOWN("rule.title"));
    cr_assert(KNOWN("today"));
    cr_assert(KNOWN("trigger.value"));
    cr_assert(KNOWN("field.region"));
    cr_assert(KNOWN("field.x"));
    cr_assert_not(KNOWN("field."), "field. needs a name");
    cr_assert_not(KNOWN("field"));
    cr_assert_not(KNOWN("acount.name"));
    cr_assert_not(KNOWN("account"));
    cr_assert_not(KNOWN("account.name.x"));
    cr_assert_not(KNOWN("todays"));
    cr_assert(kz_rule_placeholder_known("account.names", 12), "only the first n bytes count");
    cr_assert_not(kz_rule_placeholder_known("account.name", 11));
#undef KNOWN
}

/* ---- refused rules -------------------------------------------------------------------------- */

#define R(trigger, rest) "{\"id\":\"honey\",\"trigger\":" trigger rest "}"
#define EV "{\"kind\":\"event\",\"event\":\"purchase\"}"
#define SEQ(steps) "{\"kind\":\"sequence\",\"within\":\"30d\",\"steps\":" steps "}"
#define ACTS(a) ",\"actions\":[" a "]"
#define WHERE(cond) "{\"kind\":\"sequence\",\"within\":\"1d\",\"steps\":[{\"event\":\"a\",\"count\":2,\"where\":[" cond "]}]}"

static const struct {
    const char *json;
    const char *msg;
} errors[] = {
    /* the example of rule.h, whole */
    { R(SEQ("[{\"event\":\"purchase\"},{\"where\":[]}]"), ACTS("{\"kind\":\"note\",\"text\":\"x\"}")),
      "rules/x.json: rule 'honey': trigger.steps[1].event: missing" },
    /* the rule */
    { "{\"trigger\":{\"kind\":\"nps\"}}", "rules/x.json: id: missing" },
    { "{\"id\":\"Honey\",\"trigger\":{\"kind\":\"nps\"}}", "rules/x.json: id: 'Honey' must be 1 to 64 of a-z" },
    { "{\"id\":\"\"}", "rules/x.json: id: must be a non-empty text" },
    { "{\"id\":7}", "rules/x.json: id: must be a non-empty text" },
    { R("{\"kind\":\"nps\"}", ",\"colour\":\"red\"" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")),
      "rule 'honey': colour: unknown key (known: id|title|description|playbook|mode|trigger|conditions|actions|cooldown)" },
    { R("{\"kind\":\"nps\"}", ",\"title\":\"\"" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")),
      "rule 'honey': title: must be a non-empty text" },
    { R("{\"kind\":\"nps\"}", ",\"mode\":\"maybe\"" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")),
      "rule 'honey': mode: 'maybe' is not on, dry-run or off" },
    { R("{\"kind\":\"nps\"}", ",\"playbook\":\"Renewal Review\"" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")),
      "rule 'honey': playbook: 'Renewal Review' is not a playbook name" },
    { R("{\"kind\":\"nps\"}", ",\"playbook\":\"renewal-review.md\"" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")),
      "rule 'honey': playbook: 'renewal-review.md' is not a playbook name" },
    /* cooldown and within */
    { R("{\"kind\":\"nps\"}", ",\"cooldown\":\"30x\"" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")),
      "rule 'honey': cooldown: must be a duration such as \"30d\"" },
    { R("{\"kind\":\"nps\"}", ",\"cooldown\":30" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")), "cooldown: must be a duration" },
    { R("{\"kind\":\"nps\"}", ",\"cooldown\":\"d\"" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")), "cooldown: must be a duration" },
    { R("{\"kind\":\"nps\"}", ",\"cooldown\":\"-1d\"" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")), "cooldown: must be a duration" },
    { R("{\"kind\":\"nps\"}", ",\"cooldown\":\"1.5d\"" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")), "cooldown: must be a duration" },
    { R("{\"kind\":\"nps\"}", ",\"cooldown\":\"3661d\"" ACTS("{\"kind\":\"note\",\"text\":\"x\"}")),
      "cooldown: longer than 3660 days" },
    { R("{\"kind\":\"sequence\",\"steps\":[{\"event\":\"a\"},{\"event\":\"b\"}]}", ACTS("{\"kind\":\"note\",\"text\":\"x\"}")),
      "rule 'honey': trigger.within: missing (the window" },
    { R("{\"kind\":\"sequence\",\"within\":\"0d\",\"steps\":[{\"event\":\"a\"},{\"event\":\"b\"}]}", ""),
      "trigger.within: must be longer than 0" },
    { R("{\"kind\":\"sequence\",\"within\":\"3 days\",\"steps\":[{\"event\":\"a\"},{\"event\":\"b\"}]}", ""),
      "trigger.within: must be a duration" },
    /* the trigger */
    { R("null", ACTS("{\"kind\":\"note\",\"text\":\"x\"}")), "rule 'honey': trigger: must be an object" },
    { "{\"id\":\"honey\",\"actions\":[{\"kind\":\"note\",\"text\":\"x\"}]}", "rule 'honey': trigger: missing" },
    { R("{\"kind\":\"webhook\"}", ""), "trigger.kind: 'webhook' is not a trigger (event, sequence" },
    { R("{\"event\":\"a\"}", ""), "trigger.kind: missing" },
    { R("{\"kind\":\"event\",\"per\":\"team\",\"event\":\"a\"}", ""), "trigger.per: 'team' is not account or user" },
    { R("{\"kind\":\"nps\",\"per\":\"user\"}", ""), "trigger.per: only event and sequence triggers can fire per user" },
    { R("{\"kind\":\"event\",\"evnt\":\"a\"}", ""), "trigger.evnt: unknown key (known: kind|per|event|where)" },
    { R("{\"kind\":\"event\",\"event\":\"a\",\"count\":2}", ""), "trigger.count: unknown key" },
    { R("{\"kind\":\"event\"}", ""), "rule 'honey': trigger.event: missing" },
    { R(SEQ("[{\"event\":\"a\"}]"), ""), "trigger.steps: one event once is the 'event' trigger" },
    { R(SEQ("[]"), ""), "trigger.steps: must be a list of 1 to 16 steps" },
    { R("{\"kind\":\"sequence\",\"within\":\"1d\"}", ""), "trigger.steps: missing" },
    { R(SEQ("[{\"event\":\"a\"},\"b\"]"), ""), "trigger.steps[1]: a step must be an object" },
    { R(SEQ("[{\"event\":\"a\",\"count\":0},{\"event\":\"b\"}]"), ""), "trigger.steps[0].count: 0 is out of range (1 to 1000)" },
    { R(SEQ("[{\"event\":\"a\",\"count\":1.5},{\"event\":\"b\"}]"), ""), "trigger.steps[0].count: must be a whole number" },
    { R(SEQ("[{\"event\":\"a\"},{\"event\":\"b\",\"after\":1}]"), ""),
      "trigger.steps[1].after: unknown key (known: event|where|count)" },
    { R("{\"kind\":\"sequence\",\"within\":\"1d\",\"ordered\":\"yes\",\"steps\":[{\"event\":\"a\"},{\"event\":\"b\"}]}", ""),
      "trigger.ordered: must be true or false" },
    { R("{\"kind\":\"sequence\",\"within\":\"1d\",\"same\":\"article\",\"steps\":[{\"event\":\"a\"},{\"event\":\"b\"}]}", ""),
      "trigger.same: 'article' is not \"value\", \"user_id\" or \"properties.NAME\"" },
    /* conditions on events */
    { R(WHERE("{\"field\":\"value\",\"op\":\"==\",\"value\":1}"), ""),
      "trigger.steps[0].where[0].op: '==' is not an operator (=, !=, <, <=, >, >=, in, contains, exists)" },
    { R(WHERE("{\"field\":\"value\",\"value\":1}"), ""), "trigger.steps[0].where[0].op: missing" },
    { R(WHERE("{\"field\":\"value\",\"op\":1,\"value\":1}"), ""), "trigger.steps[0].where[0].op: must be an operator" },
    { R(WHERE("{\"field\":\"value\",\"op\":\">\",\"value\":1},{\"field\":\"properties.plan\",\"op\":\"<\",\"value\":\"pro\"}"), ""),
      "trigger.steps[0].where[1].op: a text compares with =, != and contains" },
    { R(WHERE("{\"field\":\"properties.trial\",\"op\":\">\",\"value\":true}"), ""),
      "where[0].op: a true or false value compares with = and != only" },
    { R(WHERE("{\"field\":\"properties.n\",\"op\":\"contains\",\"value\":3}"), ""), "where[0].value: 'contains' takes a text" },
    { R(WHERE("{\"field\":\"properties.n\",\"op\":\"exists\",\"value\":3}"), ""), "where[0].value: 'exists' takes no value" },
    { R(WHERE("{\"field\":\"properties.n\",\"op\":\"=\"}"), ""), "where[0].value: missing" },
    { R(WHERE("{\"field\":\"properties.n\",\"op\":\"=\",\"value\":null}"), ""),
      "where[0].value: must be a text, a number, true or false" },
    { R(WHERE("{\"field\":\"properties.n\",\"op\":\"in\",\"value\":\"a\"}"), ""),
      "where[0].value: 'in' takes a list of 1 to 1000 values" },
    { R(WHERE("{\"field\":\"properties.n\",\"op\":\"in\",\"value\":[]}"), ""), "'in' takes a list of 1 to 1000 values" },
    { R(WHERE("{\"field\":\"properties.n\",\"op\":\"in\",\"value\":[\"a\",[1]]}"), ""), "'in' takes texts and numbers" },
    { R(WHERE("{\"field\":\"props.n\",\"op\":\"exists\"}"), ""),
      "where[0].field: 'props.n' is not \"value\", \"user_id\" or \"properties.NAME\"" },
    { R(WHERE("{\"field\":\"properties.\",\"op\":\"exists\"}"), ""), "where[0].field: 'properties.' is not" },
    { R(WHERE("{\"field\":\"properties.a..b\",\"op\":\"exists\"}"), ""), "where[0].field: 'properties.a..b' is not" },
    { R(WHERE("{\"op\":\"exists\"}"), ""), "where[0].field: missing" },
    { R(WHERE("{\"field\":\"value\",\"op\":\"exists\",\"values\":1}"), ""),
      "where[0].values: unknown key (known: field|op|value)" },
    { R(WHERE("\"value > 3\""), ""), "trigger.steps[0].where[0]: a condition must be an object" },
    { R("{\"kind\":\"sequence\",\"within\":\"1d\",\"steps\":[{\"event\":\"a\",\"count\":2,\"where\":{}}]}", ""),
      "trigger.steps[0].where: must be a list of at most 32 conditions" },
    /* threshold */
    { R("{\"kind\":\"threshold\",\"measure\":\"happiness\",\"op\":\"<\",\"value\":1}", ""),
      "trigger.measure: 'happiness' is not health, churn or a signal" },
    { R("{\"kind\":\"threshold\",\"measure\":\"health\",\"op\":\"=\",\"value\":1}", ""),
      "trigger.op: a threshold compares with <, <=, > or >=" },
    { R("{\"kind\":\"threshold\",\"measure\":\"health\",\"op\":\"<\",\"value\":150}", ""),
      "trigger.value: a health score is 0 to 100" },
    { R("{\"kind\":\"threshold\",\"measure\":\"churn\",\"op\":\">\",\"value\":2}", ""),
      "trigger.value: a churn probability is 0 to 1" },
    { R("{\"kind\":\"threshold\",\"measure\":\"churn\",\"op\":\">\",\"value\":\"high\"}", ""), "trigger.value: must be a number" },
    { R("{\"kind\":\"threshold\",\"measure\":\"churn\",\"op\":\">\"}", ""), "trigger.value: missing" },
    { R("{\"kind\":\"threshold\",\"op\":\">\",\"value\":1}", ""), "trigger.measure: missing" },
    /* date */
    { R("{\"kind\":\"date\",\"anchor\":\"birthday\"}", ""), "trigger.anchor: 'birthday' is not renewal, signup or field" },
    { R("{\"kind\":\"date\"}", ""), "trigger.anchor: missing" },
    { R("{\"kind\":\"date\",\"anchor\":\"field\"}", ""), "trigger.field: missing (the date field)" },
    { R("{\"kind\":\"date\",\"anchor\":\"renewal\",\"field\":\"go_live\"}", ""), "trigger.field: only with \"anchor\": \"field\"" },
    { R("{\"kind\":\"date\",\"anchor\":\"signup\",\"offset_days\":-3,\"unless_event\":\"setup\"}", ""),
      "trigger.unless_event: looks at the days from the anchor" },
    { R("{\"kind\":\"date\",\"anchor\":\"renewal\",\"offset_days\":1.5}", ""), "trigger.offset_days: must be a whole number" },
    { R("{\"kind\":\"date\",\"anchor\":\"renewal\",\"offset_days\":5000}", ""),
      "trigger.offset_days: 5000 is out of range (-3660 to 3660)" },
    /* ticket, nps, anomaly */
    { R("{\"kind\":\"ticket\",\"categories\":[\"billing\"]}", ""),
      "trigger.categories: 'billing' is not one of functional, operational" },
    { R("{\"kind\":\"ticket\",\"priorities\":[\"high\",\"p1\"]}", ""),
      "trigger.priorities: 'p1' is not one of low, normal, high, urgent" },
    { R("{\"kind\":\"ticket\",\"priorities\":[]}", ""), "trigger.priorities: must be a list of 1 to 16 texts" },
    { R("{\"kind\":\"ticket\",\"severity\":[\"high\"]}", ""), "trigger.severity: unknown key (known: kind|categories|priorities)" },
    { R("{\"kind\":\"nps\",\"min_score\":7}", ""), "trigger.min_score: is above max_score" },
    { R("{\"kind\":\"nps\",\"max_score\":11}", ""), "trigger.max_score: 11 is out of range (0 to 10)" },
    { R("{\"kind\":\"anomaly\",\"direction\":\"sideways\"}", ""), "trigger.direction: 'sideways' is not up, down or any" },
    /* a business-wide series has no account */
    { R("{\"kind\":\"anomaly\",\"series\":\"mrr\"}", ACTS("{\"kind\":\"note\",\"text\":\"x\"}")),
      "rule 'honey': actions[0].kind: trigger.series 'mrr' is business-wide: a note needs an account" },
    { R("{\"kind\":\"anomaly\",\"series\":\"dau\"}",
        ACTS("{\"kind\":\"webhook\",\"url\":\"https://x.example/h\"},{\"kind\":\"set_field\",\"field\":\"f\",\"value\":\"1\"}")),
      "actions[1].kind: trigger.series 'dau' is business-wide: a set_field needs an account" },
    { R("{\"kind\":\"anomaly\",\"series\":\"mrr\"}", ACTS("{\"kind\":\"task\",\"title\":\"x\"}")),
      "actions[0].assignee: trigger.series 'mrr' is business-wide: there is no account owner; name a user" },
    { R("{\"kind\":\"anomaly\",\"series\":\"mrr\"}",
        ",\"conditions\":{\"bands\":[\"red\"]}" ACTS("{\"kind\":\"task\",\"title\":\"x\",\"assignee\":\"a\"}")),
      "conditions.bands: trigger.series 'mrr' is business-wide: it has no account to judge" },
    /* conditions on the account */
    { R("{\"kind\":\"nps\"}", ",\"conditions\":{\"bands\":[\"blue\"]}"),
      "rule 'honey': conditions.bands: 'blue' is not one of red, yellow, green" },
    { R("{\"kind\":\"nps\"}", ",\"conditions\":{\"tags\":[\"x\"]}"),
      "conditions.tags: unknown key (known: filters|bands|segments)" },
    { R("{\"kind\":\"nps\"}", ",\"conditions\":{\"filters\":[\"\"]}"), "conditions.filters: must be a list of non-empty texts" },
    { R("{\"kind\":\"nps\"}", ",\"conditions\":[]"), "rule 'honey': conditions: must be an object" },
    /* actions */
    { R("{\"kind\":\"nps\"}", ""), "rule 'honey': actions: missing" },
    { R("{\"kind\":\"nps\"}", ACTS("")), "rule 'honey': actions: must be a list of 1 to 16 actions" },
    { R("{\"kind\":\"nps\"}", ACTS("\"note\"")), "rule 'honey': actions[0]: an action must be an object" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"sms\"}")), "actions[0].kind: 'sms' is not an action (task, email, webhook" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"text\":\"x\"}")), "actions[0].kind: missing" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"note\",\"text\":\"Hi {{acount.name}}\"}")),
      "rule 'honey': actions[0].text: at byte 5: unknown placeholder 'acount.name'" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"note\",\"text\":\"Hi {{account.name\"}")), "actions[0].text: at byte 3:" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"note\",\"text\":\"x\"},{\"kind\":\"email\",\"to\":\"a@b\",\"body\":\"b\"}")),
      "rule 'honey': actions[1].subject: missing" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"email\",\"to\":\"{{acount.owner}}\",\"subject\":\"s\",\"body\":\"b\"}")),
      "actions[0].to: at byte 2: unknown placeholder 'acount.owner'" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"task\"}")), "actions[0].title: missing" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"task\",\"title\":\"t\",\"due_days\":-1}")),
      "actions[0].due_days: -1 is out of range (0 to 3660)" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"task\",\"title\":\"t\",\"playbook\":\"Risk Recovery\"}")),
      "actions[0].playbook: 'Risk Recovery' is not a playbook name" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"task\",\"title\":\"t\",\"owner\":\"aiko\"}")),
      "actions[0].owner: unknown key (known: kind|title|assignee|due_days|playbook|body)" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"webhook\",\"url\":\"ftp://example.com/\"}")),
      "actions[0].url: must start with http:// or https://" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"webhook\",\"url\":\"example.com\"}")), "actions[0].url: must start with http://" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"webhook\"}")), "actions[0].url: missing" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"webhook\",\"url\":\"https://x\",\"format\":\"slack\"}")),
      "actions[0].text: missing (a Slack message needs its text)" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"webhook\",\"url\":\"https://x\",\"format\":\"xml\"}")),
      "actions[0].format: 'xml' is not json or slack" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"webhook\",\"url\":\"https://x\",\"secret\":\"s\"}")),
      "actions[0].secret: unknown key (known: kind|url|format|text)" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"note\"}")), "actions[0].text: missing" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"set_field\",\"field\":\"stage\"}")), "actions[0].value: missing" },
    { R("{\"kind\":\"nps\"}", ACTS("{\"kind\":\"set_field\",\"value\":\"x\"}")), "actions[0].field: missing" },
};

Test(rules_rule, errors_name_origin_rule_and_field)
{
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++)
        EXPECT_ERR(errors[i].json, errors[i].msg);
}

Test(rules_rule, invalid_json_gives_the_line)
{
    const char *j = "{\n  \"id\": \"x\",\n  oops\n}";
    char *m = parse_err(j, strlen(j));
    cr_assert_str_eq(m, "rules/x.json: line 3: not valid JSON");
    free(m);
    j = "{\"id\": \"x\"";
    m = parse_err(j, strlen(j));
    cr_assert(strstr(m, "rules/x.json: line 1: not valid JSON"), "%s", m);
    free(m);
    m = parse_err("", 0);
    cr_assert(strstr(m, "not valid JSON"), "%s", m);
    free(m);
}

/* Text after the rule's object is not JSON: a file of two objects side by side
 * (a missing '[' ... ']') must not load the first one and drop the second. */
Test(rules_rule, trailing_content_is_invalid_json)
{
    const char *j = "{\"id\":\"a\",\"trigger\":{\"kind\":\"nps\"},\"actions\":" NOTE "}\n"
                    "{\"id\":\"b\",\"trigger\":{\"kind\":\"nps\"},\"actions\":" NOTE "}\n";
    char *m = parse_err(j, strlen(j));
    cr_expect(strstr(m, "rules/x.json: line 2: not valid JSON"), "%s", m);
    free(m);
    kz_rule **v = (kz_rule **)1;
    size_t n = 9;
    cr_expect_eq(kz_rule_parse_file(&v, &n, j, strlen(j), ORIGIN), KZ_EINVALID, "loaded %zu rule(s)", n);
    if (n)
        kz_rule_list_free(v, n);
    /* white space after the rule is fine */
    const char *ok = "\n{\"id\":\"a\",\"trigger\":{\"kind\":\"nps\"},\"actions\":" NOTE "}\n\t \n";
    kz_rule *r = parse_ok(ok);
    kz_rule_free(r);
}

Test(rules_rule, invalid_utf8_gives_the_byte)
{
    const char j[] = "{\"id\":\"a\xff\"}";
    char *m = parse_err(j, sizeof j - 1);
    cr_assert_str_eq(m, "rules/x.json: byte 8: not UTF-8");
    free(m);
    const char k[] = "{\"id\":\"a\",\"title\":\"caf\xc3\"}";
    m = parse_err(k, sizeof k - 1);
    cr_assert_str_eq(m, "rules/x.json: byte 22: not UTF-8");
    free(m);
    /* valid UTF-8 is kept as it is */
    kz_rule *r = parse_ok("{\"id\":\"jp\",\"title\":\"株式会社さくらテック\",\"trigger\":{\"kind\":\"nps\"},\"actions\":" NOTE "}");
    cr_assert_str_eq(r->title, "株式会社さくらテック");
    kz_rule_free(r);
}

Test(rules_rule, too_big)
{
    size_t n = (256u << 10) + 1;
    char *big = malloc(n);
    cr_assert_not_null(big);
    memset(big, ' ', n);
    kz_rule *r;
    cr_assert_eq(kz_rule_parse(&r, big, n, ORIGIN), KZ_ETOOBIG);
    cr_assert(strstr(kz_error_msg(), "rules/x.json: larger than 256 KiB"), "%s", kz_error_msg());
    free(big);
}

/* A rule that is not an object has no id to name: the message says what is
 * wrong after the origin, without an empty field between two colons. */
Test(rules_rule, non_object_message_has_no_empty_path)
{
    char *m = parse_err("[1]", 3);
    cr_expect_str_eq(m, "rules/x.json: a rule must be an object");
    free(m);
}

/* A refused rule leaves *out NULL whatever the reason, as kz_rule_parse_file
 * does, so that a caller may free it unconditionally. */
Test(rules_rule, refused_rule_out_is_null)
{
    static const char *const inputs[] = { "{\"id\":", "{\"id\":\"a\xff\"}", "{\"id\":\"A\"}" };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        kz_rule *r = (kz_rule *)&inputs; /* not a rule: must be overwritten */
        cr_assert_eq(kz_rule_parse(&r, inputs[i], strlen(inputs[i]), ORIGIN), KZ_EINVALID, "%s", inputs[i]);
        cr_expect_null(r, "%s -> %s: *out left as it was", inputs[i], kz_error_msg());
    }
}

/* ---- files of rules --------------------------------------------------------------------------- */

#define RULE(id) "{\"id\":\"" id "\",\"trigger\":{\"kind\":\"nps\"},\"actions\":" NOTE "}"

Test(rules_rule, file_of_one_or_many)
{
    kz_rule **v;
    size_t n;
    const char *one = RULE("a");
    cr_assert_eq(kz_rule_parse_file(&v, &n, one, strlen(one), ORIGIN), 0, "%s", kz_error_msg());
    cr_assert_eq(n, 1);
    cr_assert_str_eq(v[0]->id, "a");
    kz_rule_list_free(v, n);

    const char *many = "[" RULE("a") "," RULE("b") ",\n" RULE("c") "]";
    cr_assert_eq(kz_rule_parse_file(&v, &n, many, strlen(many), ORIGIN), 0, "%s", kz_error_msg());
    cr_assert_eq(n, 3);
    cr_assert_str_eq(v[0]->id, "a");
    cr_assert_str_eq(v[1]->id, "b");
    cr_assert_str_eq(v[2]->id, "c");
    cr_assert_str_eq(v[2]->json, RULE("c"));
    kz_rule_list_free(v, n);

    cr_assert_eq(kz_rule_parse_file(&v, &n, "[]", 2, ORIGIN), 0);
    cr_assert_eq(n, 0);
    kz_rule_list_free(v, n);
    kz_rule_list_free(NULL, 0);
}

Test(rules_rule, file_rejects_duplicate_ids)
{
    kz_rule **v = (kz_rule **)1;
    size_t n = 9;
    const char *j = "[" RULE("a") "," RULE("b") "," RULE("a") "]";
    cr_assert_eq(kz_rule_parse_file(&v, &n, j, strlen(j), ORIGIN), KZ_EINVALID);
    cr_assert_str_eq(kz_error_msg(), "rules/x.json: [2]: rule 'a' is given twice");
    cr_assert_null(v);
    cr_assert_eq(n, 0);
}

Test(rules_rule, file_error_in_second_rule_names_it_and_frees_all)
{
    kz_rule **v = (kz_rule **)1;
    size_t n = 9;
    const char *j = "[" RULE("a") ",{\"id\":\"b\",\"trigger\":{\"kind\":\"nps\",\"max_score\":12},\"actions\":" NOTE
                    "}," RULE("c") "]";
    cr_assert_eq(kz_rule_parse_file(&v, &n, j, strlen(j), ORIGIN), KZ_EINVALID);
    cr_assert_str_eq(kz_error_msg(), "rules/x.json: rule 'b': trigger.max_score: 12 is out of range (0 to 10)");
    cr_assert_null(v);
    cr_assert_eq(n, 0);

    const char *bad_json = "[\n" RULE("a") ",\n" RULE("b") ",\n]";
    cr_assert_eq(kz_rule_parse_file(&v, &n, bad_json, strlen(bad_json), ORIGIN), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "rules/x.json: line 4: not valid JSON"), "%s", kz_error_msg());
    cr_assert_null(v);

    const char bad_utf8[] = "[" RULE("a") ",\"\xc0\"]";
    cr_assert_eq(kz_rule_parse_file(&v, &n, bad_utf8, sizeof bad_utf8 - 1, ORIGIN), KZ_EINVALID);
    cr_assert(strstr(kz_error_msg(), "not UTF-8"), "%s", kz_error_msg());
}
