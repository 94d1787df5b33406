/*
 * rule.c - reading and checking playbook rules (rule.h); the format is in
 * docs/playbooks.md.
 *
 * Every message names the origin, the rule and the field: a rule that is
 * wrong is refused whole, never loaded in part. Nothing here evaluates a
 * rule or touches the store.
 */
#include "rules/rule.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/jsonkeys.h"
#include "core/text.h"
#include "engine/health.h"
#include "engine/signals.h"
#include "rules/playbook.h"
#include "rules/template.h"

#define RULE_JSON_MAX (256u << 10)

static const kz_trigger_def triggers[KZ_TRIG_COUNT] = {
    [KZ_TRIG_EVENT] = { "event", "an event arrives (by name, with conditions on its properties)", 1 },
    [KZ_TRIG_SEQUENCE] = { "sequence", "events of one user or account within a window, in any order or in sequence", 1 },
    [KZ_TRIG_THRESHOLD] = { "threshold", "a measure (health, churn probability, a signal) crosses a threshold", 0 },
    [KZ_TRIG_DATE] = { "date", "a day relative to the lifecycle: renewal, signup, a date field", 0 },
    [KZ_TRIG_ANOMALY] = { "anomaly", "an anomaly is found", 0 },
    [KZ_TRIG_TICKET] = { "ticket", "a ticket is opened (by category and priority)", 0 },
    [KZ_TRIG_NPS] = { "nps", "an NPS answer arrives (a detractor, 0 to 6, by default)", 0 },
};

static const kz_action_def actions[KZ_ACTION_COUNT] = {
    [KZ_ACTION_TASK] = { "task", "a task for the account's owner or a named user, due in N days", 0 },
    [KZ_ACTION_EMAIL] = { "email", "an e-mail from a template (SMTP)", 1 },
    [KZ_ACTION_WEBHOOK] = { "webhook", "a signed JSON POST (or a Slack-compatible body)", 1 },
    [KZ_ACTION_NOTE] = { "note", "a note on the account's timeline", 0 },
    [KZ_ACTION_SET_FIELD] = { "set_field", "sets a custom field of the account (a segment is a field too)", 0 },
};

const kz_trigger_def *kz_rule_triggers(size_t *n)
{
    *n = KZ_TRIG_COUNT;
    return triggers;
}

const kz_action_def *kz_rule_actions(size_t *n)
{
    *n = KZ_ACTION_COUNT;
    return actions;
}

static const char *const mode_names[] = { [KZ_RULE_ON] = "on", [KZ_RULE_DRY_RUN] = "dry-run", [KZ_RULE_OFF] = "off" };

const char *kz_rule_mode_name(kz_rule_mode m)
{
    return (unsigned)m < 3 ? mode_names[m] : "?";
}

int kz_rule_mode_parse(kz_rule_mode *out, const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, mode_names[i]) == 0) {
            *out = (kz_rule_mode)i;
            return KZ_OK;
        }
    return kz_error_set(KZ_EINVALID, "'%s' is not a rule mode (on, dry-run, off)", s);
}

int kz_rule_id_ok(const char *s, size_t n)
{
    if (n < 1 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static const char *const placeholders[] = {
    "account.id", "account.name", "account.owner", "account.domain", "account.industry", "account.plan",
    "account.mrr", "account.health", "account.band", "account.churn", "user.id", "user.email", "user.name",
    "contact.email", "contact.name", "rule.id", "rule.title", "rule.playbook", "event.name", "event.time",
    "trigger.reason", "trigger.value", "trigger.date", "today",
};

int kz_rule_placeholder_known(const char *name, size_t n)
{
    if (n > 6 && memcmp(name, "field.", 6) == 0)
        return 1;
    for (size_t i = 0; i < sizeof placeholders / sizeof *placeholders; i++)
        if (strlen(placeholders[i]) == n && memcmp(placeholders[i], name, n) == 0)
            return 1;
    return 0;
}

/* ---- the place a message names ------------------------------------------------------- */

struct where {
    const char *origin;
    const char *rule;
    char path[160];
    kz_arena *a;
};

static int bad(const struct where *w, const char *key, const char *fmt, ...) KZ_PRINTF(3, 4);

static int bad(const struct where *w, const char *key, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    const char *sep = *w->path && key ? "." : "";
    const char *colon = *w->path || key ? ": " : "";
    if (w->rule)
        return kz_error_set(KZ_EINVALID, "%s: rule '%s': %s%s%s%s%s", w->origin, w->rule, w->path, sep,
                            key ? key : "", colon, why);
    return kz_error_set(KZ_EINVALID, "%s: %s%s%s%s%s", w->origin, w->path, sep, key ? key : "", colon, why);
}

/* Appends ".key" or "[i]" to the path for the span of a nested check; the
 * returned length restores it. */
static size_t push(struct where *w, const char *key, int index)
{
    size_t len = strlen(w->path);
    if (key)
        snprintf(w->path + len, sizeof w->path - len, "%s%s", len ? "." : "", key);
    else
        snprintf(w->path + len, sizeof w->path - len, "[%d]", index);
    return len;
}

static void pop(struct where *w, size_t len)
{
    w->path[len] = 0;
}

static int only_keys(const struct where *w, const cJSON *obj, const char *allowed)
{
    const char *key = kz_json_unknown_key(obj, allowed);
    return key ? bad(w, key, "unknown key (known: %s)", allowed) : KZ_OK;
}

/* obj[key] as text into *out (in the arena); NULL when absent and optional. */
static int text(const struct where *w, const cJSON *obj, const char *key, int required, const char **out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!it) {
        if (required)
            return bad(w, key, "missing");
        return KZ_OK;
    }
    if (!cJSON_IsString(it) || !*it->valuestring)
        return bad(w, key, "must be a non-empty text");
    size_t n = strlen(it->valuestring);
    if (n > 64 * 1024)
        return bad(w, key, "longer than 64 KiB");
    if (!(*out = kz_arena_strndup(w->a, it->valuestring, n)))
        return kz_error_oom();
    return KZ_OK;
}

/* A template: text whose placeholders are known. */
static int tpl(const struct where *w, const cJSON *obj, const char *key, int required, const char **out)
{
    int rc = text(w, obj, key, required, out);
    if (rc || !*out)
        return rc;
    if (kz_template_check(*out, kz_rule_placeholder_known, NULL) < 0)
        return bad(w, key, "%s", kz_error_msg());
    return KZ_OK;
}

static int integer(const struct where *w, const cJSON *obj, const char *key, int lo, int hi, int dflt, int *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it) {
        *out = dflt;
        return KZ_OK;
    }
    if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble))
        return bad(w, key, "must be a whole number");
    if (it->valuedouble < lo || it->valuedouble > hi)
        return bad(w, key, "%g is out of range (%d to %d)", it->valuedouble, lo, hi);
    *out = (int)it->valuedouble;
    return KZ_OK;
}

/* A duration "30d", "12h", "45m" or "90s" into seconds; dflt when absent. */
static int duration(const struct where *w, const cJSON *obj, const char *key, int64_t dflt, int64_t *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!it) {
        *out = dflt;
        return KZ_OK;
    }
    const char *s = cJSON_IsString(it) ? it->valuestring : NULL;
    size_t n = s ? strlen(s) : 0;
    int64_t v = 0, unit = 0;
    if (n >= 2 && n <= 8) {
        switch (s[n - 1]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: break;
        }
        for (size_t i = 0; unit && i + 1 < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                unit = 0;
            else
                v = v * 10 + (s[i] - '0');
        }
    }
    if (!unit)
        return bad(w, key, "must be a duration such as \"30d\", \"12h\", \"45m\" or \"90s\"");
    if (v * unit > 3660LL * 86400)
        return bad(w, key, "longer than 3660 days");
    *out = v * unit;
    return KZ_OK;
}

/* A list of texts into *out (arena), at most max; 0 entries when absent. */
static int texts(const struct where *w, const cJSON *obj, const char *key, size_t max, const char ***out,
                 size_t *n)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key), *it;
    *out = NULL;
    *n = 0;
    if (!arr)
        return KZ_OK;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || (size_t)cJSON_GetArraySize(arr) > max)
        return bad(w, key, "must be a list of 1 to %zu texts", max);
    if (!(*out = kz_arena_calloc(w->a, (size_t)cJSON_GetArraySize(arr), sizeof **out)))
        return kz_error_oom();
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it) || !*it->valuestring)
            return bad(w, key, "must be a list of non-empty texts");
        if (!((*out)[(*n)++] = kz_arena_strndup(w->a, it->valuestring, strlen(it->valuestring))))
            return kz_error_oom();
    }
    return KZ_OK;
}

/* A list of names of a fixed set into a bit mask (0 when absent). */
static int names_mask(const struct where *w, const cJSON *obj, const char *key, const char *const *names, int nn,
                      unsigned *mask)
{
    const char **v;
    size_t n;
    int rc = texts(w, obj, key, 16, &v, &n);
    *mask = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        int k = 0;
        while (k < nn && strcmp(names[k], v[i]) != 0)
            k++;
        if (k == nn) {
            char list[256] = "";
            size_t len = 0;
            for (int j = 0; j < nn && len < sizeof list; j++)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "", names[j]);
            return bad(w, key, "'%s' is not one of %s", v[i], list);
        }
        *mask |= 1u << k;
    }
    return rc;
}

/* ---- conditions on events ---------------------------------------------------------- */

static const struct {
    const char *name;
    kz_rule_op op;
} ops[] = {
    { "=", KZ_OP_EQ },  { "!=", KZ_OP_NE }, { "<", KZ_OP_LT },  { "<=", KZ_OP_LE },          { ">", KZ_OP_GT },
    { ">=", KZ_OP_GE }, { "in", KZ_OP_IN }, { "contains", KZ_OP_CONTAINS }, { "exists", KZ_OP_EXISTS },
};

const char *kz_rule_op_name(kz_rule_op op)
{
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (ops[i].op == op)
            return ops[i].name;
    return "?";
}

static int parse_op(const struct where *w, const cJSON *obj, const char *key, kz_rule_op *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(it))
        return bad(w, key, it ? "must be an operator" : "missing");
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (strcmp(ops[i].name, it->valuestring) == 0) {
            *out = ops[i].op;
            return KZ_OK;
        }
    return bad(w, key, "'%s' is not an operator (=, !=, <, <=, >, >=, in, contains, exists)", it->valuestring);
}

/* "value", "user_id" or "properties.<path>". */
static int field_ok(const char *f)
{
    if (strcmp(f, "value") == 0 || strcmp(f, "user_id") == 0)
        return 1;
    if (strncmp(f, "properties.", 11) != 0 || !f[11])
        return 0;
    for (const char *p = f + 11; *p; p++)
        if (*p == '.' && (p[1] == '.' || p[1] == 0))
            return 0;
    return 1;
}

static int parse_cond(kz_rule_cond *c, const cJSON *j, struct where *w)
{
    int rc;
    if (!cJSON_IsObject(j))
        return bad(w, NULL, "a condition must be an object {\"field\", \"op\", \"value\"}");
    if ((rc = only_keys(w, j, "field|op|value")) || (rc = text(w, j, "field", 1, &c->field)) ||
        (rc = parse_op(w, j, "op", &c->op)))
        return rc;
    if (!field_ok(c->field))
        return bad(w, "field", "'%s' is not \"value\", \"user_id\" or \"properties.NAME\"", c->field);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
    if (c->op == KZ_OP_EXISTS) {
        if (v)
            return bad(w, "value", "'exists' takes no value");
        return KZ_OK;
    }
    if (!v)
        return bad(w, "value", "missing");
    if (c->op == KZ_OP_IN) {
        const cJSON *it;
        if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > 1000)
            return bad(w, "value", "'in' takes a list of 1 to 1000 values");
        if (!(c->list = kz_arena_calloc(w->a, (size_t)cJSON_GetArraySize(v), sizeof *c->list)))
            return kz_error_oom();
        cJSON_ArrayForEach(it, v)
        {
            char num[64];
            const char *s = NULL;
            if (cJSON_IsString(it))
                s = it->valuestring;
            else if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
                snprintf(num, sizeof num, "%.17g", it->valuedouble);
                s = num;
            } else
                return bad(w, "value", "'in' takes texts and numbers");
            if (!(c->list[c->nlist++] = kz_arena_strndup(w->a, s, strlen(s))))
                return kz_error_oom();
        }
        return KZ_OK;
    }
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        c->numeric = 1;
        c->num = v->valuedouble;
        if (c->op == KZ_OP_CONTAINS)
            return bad(w, "value", "'contains' takes a text");
        return KZ_OK;
    }
    if (cJSON_IsBool(v)) {
        c->text = cJSON_IsTrue(v) ? "true" : "false";
        if (c->op != KZ_OP_EQ && c->op != KZ_OP_NE)
            return bad(w, "op", "a true or false value compares with = and != only");
        return KZ_OK;
    }
    if (!cJSON_IsString(v))
        return bad(w, "value", "must be a text, a number, true or false");
    if (c->op != KZ_OP_EQ && c->op != KZ_OP_NE && c->op != KZ_OP_CONTAINS)
        return bad(w, "op", "a text compares with =, != and contains (a number with < <= > >=)");
    return (c->text = kz_arena_strndup(w->a, v->valuestring, strlen(v->valuestring))) ? KZ_OK : kz_error_oom();
}

static int parse_conds(kz_rule_cond **out, size_t *n, const cJSON *arr, struct where *w)
{
    const cJSON *it;
    int rc = KZ_OK, i = 0;
    *out = NULL;
    *n = 0;
    if (!arr)
        return KZ_OK;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > 32)
        return bad(w, "where", "must be a list of at most 32 conditions");
    if (!(*out = kz_arena_calloc(w->a, (size_t)cJSON_GetArraySize(arr) + 1, sizeof **out)))
        return kz_error_oom();
    size_t len = push(w, "where", 0);
    cJSON_ArrayForEach(it, arr)
    {
        size_t l2 = push(w, NULL, i++);
        if ((rc = parse_cond(&(*out)[*n], it, w)))
            break;
        (*n)++;
        pop(w, l2);
    }
    if (!rc)
        pop(w, len);
    return rc;
}

static int parse_step(kz_rule_step *s, const cJSON *j, struct where *w, int with_count)
{
    int rc;
    if (!cJSON_IsObject(j))
        return bad(w, NULL, "a step must be an object {\"event\", \"where\", \"count\"}");
    /* an event trigger's keys are checked with the trigger's (parse_event) */
    if ((with_count && (rc = only_keys(w, j, "event|where|count"))) || (rc = text(w, j, "event", 1, &s->event)) || (rc = integer(w, j, "count", 1, 1000, 1, &s->count)))
        return rc;
    return parse_conds(&s->where, &s->nwhere, cJSON_GetObjectItemCaseSensitive(j, "where"), w);
}

/* ---- the trigger ---------------------------------------------------------------------- */

static int parse_event(kz_rule *r, const cJSON *t, struct where *w)
{
    int rc;
    if ((rc = only_keys(w, t, "kind|per|event|where")))
        return rc;
    if (!(r->steps = kz_arena_calloc(w->a, 1, sizeof *r->steps)))
        return kz_error_oom();
    r->nsteps = 1;
    return parse_step(&r->steps[0], t, w, 0);
}

static int parse_sequence(kz_rule *r, const cJSON *t, struct where *w)
{
    int rc;
    if ((rc = only_keys(w, t, "kind|per|steps|ordered|within|same")) ||
        (rc = duration(w, t, "within", -1, &r->within)) || (rc = text(w, t, "same", 0, &r->same)))
        return rc;
    if (r->within < 0)
        return bad(w, "within", "missing (the window, such as \"30d\")");
    if (r->within == 0)
        return bad(w, "within", "must be longer than 0");
    if (r->same && !field_ok(r->same))
        return bad(w, "same", "'%s' is not \"value\", \"user_id\" or \"properties.NAME\"", r->same);
    const cJSON *ord = cJSON_GetObjectItemCaseSensitive(t, "ordered");
    if (ord && !cJSON_IsBool(ord))
        return bad(w, "ordered", "must be true or false");
    r->ordered = cJSON_IsTrue(ord);
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(t, "steps"), *it;
    if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) < 1 || cJSON_GetArraySize(steps) > 16)
        return bad(w, "steps", steps ? "must be a list of 1 to 16 steps" : "missing");
    if (!(r->steps = kz_arena_calloc(w->a, (size_t)cJSON_GetArraySize(steps), sizeof *r->steps)))
        return kz_error_oom();
    size_t len = push(w, "steps", 0);
    int i = 0;
    cJSON_ArrayForEach(it, steps)
    {
        size_t l2 = push(w, NULL, i++);
        if ((rc = parse_step(&r->steps[r->nsteps], it, w, 1)))
            return rc;
        r->nsteps++;
        pop(w, l2);
    }
    pop(w, len);
    if (r->nsteps == 1 && r->steps[0].count == 1)
        return bad(w, "steps", "one event once is the 'event' trigger, not a sequence");
    return KZ_OK;
}

static int parse_threshold(kz_rule *r, const cJSON *t, struct where *w)
{
    int rc;
    const char *m;
    if ((rc = only_keys(w, t, "kind|measure|op|value")) || (rc = text(w, t, "measure", 1, &m)) ||
        (rc = parse_op(w, t, "op", &r->op)))
        return rc;
    if (strcmp(m, "health") == 0)
        r->measure = KZ_MEASURE_HEALTH;
    else if (strcmp(m, "churn") == 0)
        r->measure = KZ_MEASURE_CHURN;
    else if ((r->measure = kz_signal_find(m, strlen(m))) < 0)
        return bad(w, "measure", "'%s' is not health, churn or a signal (kizuna metrics signals --help lists them)",
                   m);
    if (r->op != KZ_OP_LT && r->op != KZ_OP_LE && r->op != KZ_OP_GT && r->op != KZ_OP_GE)
        return bad(w, "op", "a threshold compares with <, <=, > or >=");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "value");
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return bad(w, "value", v ? "must be a number" : "missing");
    r->threshold = v->valuedouble;
    if (r->measure == KZ_MEASURE_HEALTH && (r->threshold < 0 || r->threshold > 100))
        return bad(w, "value", "a health score is 0 to 100");
    if (r->measure == KZ_MEASURE_CHURN && (r->threshold < 0 || r->threshold > 1))
        return bad(w, "value", "a churn probability is 0 to 1");
    return KZ_OK;
}

static int parse_date(kz_rule *r, const cJSON *t, struct where *w)
{
    int rc;
    const char *anchor;
    if ((rc = only_keys(w, t, "kind|anchor|field|offset_days|unless_event")) ||
        (rc = text(w, t, "anchor", 1, &anchor)) || (rc = integer(w, t, "offset_days", -3660, 3660, 0, &r->offset_days)) ||
        (rc = text(w, t, "unless_event", 0, &r->unless_event)) || (rc = text(w, t, "field", 0, &r->anchor_field)))
        return rc;
    if (strcmp(anchor, "renewal") == 0)
        r->anchor = KZ_ANCHOR_RENEWAL;
    else if (strcmp(anchor, "signup") == 0)
        r->anchor = KZ_ANCHOR_SIGNUP;
    else if (strcmp(anchor, "field") == 0)
        r->anchor = KZ_ANCHOR_FIELD;
    else
        return bad(w, "anchor", "'%s' is not renewal, signup or field", anchor);
    if ((r->anchor == KZ_ANCHOR_FIELD) != (r->anchor_field != NULL))
        return bad(w, "field", r->anchor_field ? "only with \"anchor\": \"field\"" : "missing (the date field)");
    if (r->unless_event && r->offset_days < 0)
        return bad(w, "unless_event", "looks at the days from the anchor to the day, so offset_days must be 0 or more");
    return KZ_OK;
}

static const char *const categories[] = { "functional", "operational" };
static const char *const priorities[] = { "low", "normal", "high", "urgent" };

static int parse_ticket(kz_rule *r, const cJSON *t, struct where *w)
{
    int rc;
    if ((rc = only_keys(w, t, "kind|categories|priorities")) ||
        (rc = names_mask(w, t, "categories", categories, 2, &r->categories)) ||
        (rc = names_mask(w, t, "priorities", priorities, 4, &r->priorities)))
        return rc;
    return KZ_OK;
}

static int parse_nps(kz_rule *r, const cJSON *t, struct where *w)
{
    int rc;
    if ((rc = only_keys(w, t, "kind|min_score|max_score")) || (rc = integer(w, t, "min_score", 0, 10, 0, &r->min_score)) ||
        (rc = integer(w, t, "max_score", 0, 10, 6, &r->max_score)))
        return rc;
    if (r->min_score > r->max_score)
        return bad(w, "min_score", "is above max_score");
    return KZ_OK;
}

static int parse_anomaly(kz_rule *r, const cJSON *t, struct where *w)
{
    int rc;
    const char *dir;
    if ((rc = only_keys(w, t, "kind|series|direction")) || (rc = text(w, t, "series", 0, &r->series)) ||
        (rc = text(w, t, "direction", 0, &dir)))
        return rc;
    if (!dir || strcmp(dir, "any") == 0)
        r->direction = 0;
    else if (strcmp(dir, "up") == 0)
        r->direction = 1;
    else if (strcmp(dir, "down") == 0)
        r->direction = -1;
    else
        return bad(w, "direction", "'%s' is not up, down or any", dir);
    r->business = r->series && strcmp(r->series, "account") != 0 && strncmp(r->series, "account/", 8) != 0;
    return KZ_OK;
}

/* A rule on a business-wide series fires with no account: what needs one is refused. */
static int check_business(const kz_rule *r, struct where *w)
{
    if (!r->business)
        return KZ_OK;
    size_t len = push(w, "conditions", 0);
    if (r->nfilters || r->bands || r->nsegments)
        return bad(w, r->nfilters ? "filters" : r->bands ? "bands" : "segments",
                   "trigger.series '%s' is business-wide: it has no account to judge", r->series);
    pop(w, len);
    len = push(w, "actions", 0);
    for (size_t i = 0; i < r->nactions; i++) {
        const kz_rule_action *a = &r->actions[i];
        size_t l2 = push(w, NULL, (int)i);
        if (a->kind == KZ_ACTION_NOTE || a->kind == KZ_ACTION_SET_FIELD)
            return bad(w, "kind", "trigger.series '%s' is business-wide: a %s needs an account", r->series,
                       a->kind == KZ_ACTION_NOTE ? "note" : "set_field");
        if (a->kind == KZ_ACTION_TASK && strcmp(a->assignee, "owner") == 0)
            return bad(w, "assignee", "trigger.series '%s' is business-wide: there is no account owner; name a user",
                       r->series);
        pop(w, l2);
    }
    pop(w, len);
    return KZ_OK;
}

typedef int (*trigger_parser)(kz_rule *r, const cJSON *t, struct where *w);

static const trigger_parser trigger_parsers[KZ_TRIG_COUNT] = {
    [KZ_TRIG_EVENT] = parse_event,         [KZ_TRIG_SEQUENCE] = parse_sequence, [KZ_TRIG_THRESHOLD] = parse_threshold,
    [KZ_TRIG_DATE] = parse_date,           [KZ_TRIG_ANOMALY] = parse_anomaly,   [KZ_TRIG_TICKET] = parse_ticket,
    [KZ_TRIG_NPS] = parse_nps,
};

static int parse_trigger(kz_rule *r, const cJSON *t, struct where *w)
{
    const char *kind, *per;
    int rc;
    if (!cJSON_IsObject(t))
        return bad(w, NULL, t ? "must be an object" : "missing");
    if ((rc = text(w, t, "kind", 1, &kind)) || (rc = text(w, t, "per", 0, &per)))
        return rc;
    int k = 0;
    while (k < KZ_TRIG_COUNT && strcmp(triggers[k].name, kind) != 0)
        k++;
    if (k == KZ_TRIG_COUNT)
        return bad(w, "kind", "'%s' is not a trigger (event, sequence, threshold, date, anomaly, ticket, nps)", kind);
    r->trigger = (kz_trigger_kind)k;
    r->per = KZ_PER_ACCOUNT;
    if (per) {
        if (!triggers[k].per_event)
            return bad(w, "per", "only event and sequence triggers can fire per user");
        if (strcmp(per, "user") == 0)
            r->per = KZ_PER_USER;
        else if (strcmp(per, "account") != 0)
            return bad(w, "per", "'%s' is not account or user", per);
    }
    return trigger_parsers[k](r, t, w);
}

/* ---- conditions and actions ---------------------------------------------------------- */

static int parse_conditions(kz_rule *r, const cJSON *c, struct where *w)
{
    static const char *const bands[] = { [KZ_BAND_RED] = "red", [KZ_BAND_YELLOW] = "yellow",
                                         [KZ_BAND_GREEN] = "green" };
    int rc;
    if (!c)
        return KZ_OK;
    if (!cJSON_IsObject(c))
        return bad(w, NULL, "must be an object {\"filters\", \"bands\", \"segments\"}");
    if ((rc = only_keys(w, c, "filters|bands|segments")) || (rc = texts(w, c, "filters", 32, &r->filters, &r->nfilters)) ||
        (rc = names_mask(w, c, "bands", bands, 3, &r->bands)) ||
        (rc = texts(w, c, "segments", 64, &r->segments, &r->nsegments)))
        return rc;
    return KZ_OK;
}

static int parse_action(kz_rule_action *a, const cJSON *j, struct where *w)
{
    const char *kind;
    int rc;
    if (!cJSON_IsObject(j))
        return bad(w, NULL, "an action must be an object");
    if ((rc = text(w, j, "kind", 1, &kind)))
        return rc;
    int k = 0;
    while (k < KZ_ACTION_COUNT && strcmp(actions[k].name, kind) != 0)
        k++;
    if (k == KZ_ACTION_COUNT)
        return bad(w, "kind", "'%s' is not an action (task, email, webhook, note, set_field)", kind);
    a->kind = (kz_action_kind)k;
    switch (a->kind) {
    case KZ_ACTION_TASK:
        if ((rc = only_keys(w, j, "kind|title|assignee|due_days|playbook|body")) ||
            (rc = tpl(w, j, "title", 1, &a->title)) || (rc = text(w, j, "assignee", 0, &a->assignee)) ||
            (rc = integer(w, j, "due_days", 0, 3660, 3, &a->due_days)) || (rc = text(w, j, "playbook", 0, &a->playbook)) ||
            (rc = tpl(w, j, "body", 0, &a->body)))
            return rc;
        if (!a->assignee)
            a->assignee = "owner";
        if (a->playbook && !kz_playbook_name_ok(a->playbook, strlen(a->playbook)))
            return bad(w, "playbook", "'%s' is not a playbook name ([a-z0-9_-], the file name without .md)",
                       a->playbook);
        return KZ_OK;
    case KZ_ACTION_EMAIL:
        return (rc = only_keys(w, j, "kind|to|subject|body")) || (rc = tpl(w, j, "to", 1, &a->to)) ||
                       (rc = tpl(w, j, "subject", 1, &a->subject)) || (rc = tpl(w, j, "body", 1, &a->body))
                   ? rc
                   : KZ_OK;
    case KZ_ACTION_WEBHOOK:
        if ((rc = only_keys(w, j, "kind|url|format|text")) || (rc = text(w, j, "url", 1, &a->url)) ||
            (rc = text(w, j, "format", 0, &a->format)) || (rc = tpl(w, j, "text", 0, &a->text)))
            return rc;
        if (strncmp(a->url, "http://", 7) != 0 && strncmp(a->url, "https://", 8) != 0)
            return bad(w, "url", "must start with http:// or https://");
        if (!a->format)
            a->format = "json";
        if (strcmp(a->format, "json") != 0 && strcmp(a->format, "slack") != 0)
            return bad(w, "format", "'%s' is not json or slack", a->format);
        if (strcmp(a->format, "slack") == 0 && !a->text)
            return bad(w, "text", "missing (a Slack message needs its text)");
        return KZ_OK;
    case KZ_ACTION_NOTE:
        return (rc = only_keys(w, j, "kind|text")) || (rc = tpl(w, j, "text", 1, &a->text)) ? rc : KZ_OK;
    case KZ_ACTION_SET_FIELD:
        if ((rc = only_keys(w, j, "kind|field|value")) || (rc = text(w, j, "field", 1, &a->field)) ||
            (rc = tpl(w, j, "value", 1, &a->value)))
            return rc;
        return KZ_OK;
    case KZ_ACTION_COUNT:
        break;
    }
    return bad(w, "kind", "unknown");
}

static int parse_actions(kz_rule *r, const cJSON *arr, struct where *w)
{
    const cJSON *it;
    int rc, i = 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1 || cJSON_GetArraySize(arr) > 16)
        return bad(w, NULL, arr ? "must be a list of 1 to 16 actions" : "missing");
    if (!(r->actions = kz_arena_calloc(w->a, (size_t)cJSON_GetArraySize(arr), sizeof *r->actions)))
        return kz_error_oom();
    cJSON_ArrayForEach(it, arr)
    {
        size_t len = push(w, NULL, i++);
        if ((rc = parse_action(&r->actions[r->nactions], it, w)))
            return rc;
        r->nactions++;
        pop(w, len);
    }
    return KZ_OK;
}

/* The cooldown when the rule gives none: an event once a day per subject, a
 * sequence once a window; the others fire once per thing (a crossing, a
 * date, a ticket) and need none. */
static int64_t default_cooldown(const kz_rule *r)
{
    if (r->trigger == KZ_TRIG_EVENT)
        return 86400;
    if (r->trigger == KZ_TRIG_SEQUENCE)
        return r->within;
    return 0;
}

static int parse_obj(kz_rule *r, const cJSON *j, struct where *w)
{
    int rc;
    const char *mode;
    size_t len;
    if (!cJSON_IsObject(j))
        return bad(w, NULL, "a rule must be an object");
    if ((rc = text(w, j, "id", 1, &r->id)))
        return rc;
    if (!kz_rule_id_ok(r->id, strlen(r->id)))
        return bad(w, "id", "'%s' must be 1 to 64 of a-z, 0-9, '_' and '-'", r->id);
    w->rule = r->id;
    if ((rc = only_keys(w, j, "id|title|description|playbook|mode|trigger|conditions|actions|cooldown")) ||
        (rc = text(w, j, "title", 0, &r->title)) || (rc = text(w, j, "description", 0, &r->description)) ||
        (rc = text(w, j, "playbook", 0, &r->playbook)) || (rc = text(w, j, "mode", 0, &mode)))
        return rc;
    if (!r->title)
        r->title = r->id;
    if (r->playbook && !kz_playbook_name_ok(r->playbook, strlen(r->playbook)))
        return bad(w, "playbook", "'%s' is not a playbook name ([a-z0-9_-], the file name without .md)", r->playbook);
    r->mode = KZ_RULE_ON;
    if (mode && kz_rule_mode_parse(&r->mode, mode) < 0)
        return bad(w, "mode", "'%s' is not on, dry-run or off", mode);
    len = push(w, "trigger", 0);
    if ((rc = parse_trigger(r, cJSON_GetObjectItemCaseSensitive(j, "trigger"), w)))
        return rc;
    pop(w, len);
    len = push(w, "conditions", 0);
    if ((rc = parse_conditions(r, cJSON_GetObjectItemCaseSensitive(j, "conditions"), w)))
        return rc;
    pop(w, len);
    len = push(w, "actions", 0);
    if ((rc = parse_actions(r, cJSON_GetObjectItemCaseSensitive(j, "actions"), w)))
        return rc;
    pop(w, len);
    if ((rc = check_business(r, w)))
        return rc;
    if ((rc = duration(w, j, "cooldown", default_cooldown(r), &r->cooldown)))
        return rc;
    char *compact = cJSON_PrintUnformatted(j);
    if (!compact)
        return kz_error_oom();
    r->json = kz_arena_strndup(w->a, compact, strlen(compact));
    cJSON_free(compact);
    if (!r->json)
        return kz_error_oom();
    compact = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(j, "trigger"));
    if (!compact)
        return kz_error_oom();
    r->trigger_json = kz_arena_strndup(w->a, compact, strlen(compact));
    cJSON_free(compact);
    return r->trigger_json ? KZ_OK : kz_error_oom();
}

static int parse_one(kz_rule **out, const cJSON *j, const char *origin)
{
    kz_rule *r = NULL;
    kz_arena *a = kz_arena_new(4096);
    int rc;
    *out = NULL;
    if (!a || !(r = kz_arena_calloc(a, 1, sizeof *r))) {
        kz_arena_free(a);
        return kz_error_oom();
    }
    r->arena = a;
    struct where w = { origin, NULL, "", a };
    if (!(r->origin = kz_arena_strndup(a, origin, strlen(origin)))) {
        kz_arena_free(a);
        return kz_error_oom();
    }
    if ((rc = parse_obj(r, j, &w))) {
        kz_arena_free(a);
        return rc;
    }
    *out = r;
    return KZ_OK;
}

static int parse_json(cJSON **out, const char *json, size_t len, const char *origin)
{
    if (len > RULE_JSON_MAX)
        return kz_error_set(KZ_ETOOBIG, "%s: larger than %u KiB", origin, RULE_JSON_MAX >> 10);
    size_t at = kz_utf8_invalid_at(json, len);
    if (at < len)
        return kz_error_set(KZ_EINVALID, "%s: byte %zu: not UTF-8", origin, at);
    const char *end = NULL;
    *out = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (*out && end) {
        /* one JSON value: after it only white space */
        const char *p = end;
        while (p < json + len && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p < json + len) {
            cJSON_Delete(*out);
            *out = NULL;
            end = p;
        }
    }
    if (!*out) {
        size_t off = end && end >= json ? (size_t)(end - json) : 0;
        size_t line = 1;
        for (size_t i = 0; i < off && i < len; i++)
            line += json[i] == '\n';
        return kz_error_set(KZ_EINVALID, "%s: line %zu: not valid JSON", origin, line);
    }
    return KZ_OK;
}

int kz_rule_parse(kz_rule **out, const char *json, size_t len, const char *origin)
{
    cJSON *j;
    *out = NULL;
    int rc = parse_json(&j, json, len, origin);
    if (rc)
        return rc;
    rc = parse_one(out, j, origin);
    cJSON_Delete(j);
    return rc;
}

void kz_rule_free(kz_rule *r)
{
    if (r)
        kz_arena_free(r->arena);
}

void kz_rule_list_free(kz_rule **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        kz_rule_free(v[i]);
    free(v);
}

int kz_rule_parse_file(kz_rule ***out, size_t *n, const char *json, size_t len, const char *origin)
{
    cJSON *j, *it;
    kz_rule **v = NULL;
    size_t nv = 0;
    int rc = parse_json(&j, json, len, origin);
    *out = NULL;
    *n = 0;
    if (rc)
        return rc;
    int count = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 1;
    if (count > 10000) {
        rc = kz_error_set(KZ_ETOOBIG, "%s: more than 10000 rules", origin);
        goto done;
    }
    if (!(v = calloc((size_t)count + 1, sizeof *v))) {
        rc = kz_error_oom();
        goto done;
    }
    if (!cJSON_IsArray(j)) {
        if ((rc = parse_one(&v[0], j, origin)))
            goto done;
        nv = 1;
    } else {
        int i = 0;
        cJSON_ArrayForEach(it, j)
        {
            char where[64];
            snprintf(where, sizeof where, "[%d]", i++);
            if ((rc = parse_one(&v[nv], it, origin)))
                goto done;
            for (size_t k = 0; k < nv; k++)
                if (strcmp(v[k]->id, v[nv]->id) == 0) {
                    rc = kz_error_set(KZ_EINVALID, "%s: %s: rule '%s' is given twice", origin, where, v[nv]->id);
                    nv++;
                    goto done;
                }
            nv++;
        }
    }
done:
    cJSON_Delete(j);
    if (rc) {
        kz_rule_list_free(v, nv);
        return rc;
    }
    *out = v;
    *n = nv;
    return KZ_OK;
}

/* ---- files and folders ------------------------------------------------------------------ */

#define RULE_FILE_MAX ((size_t)1 << 20)

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* path, or every *.json of the folder path, in name order. */
static int rule_files(char ***out, size_t *n, const char *path)
{
    struct stat sb;
    char **v = NULL;
    size_t nv = 0;
    int rc = KZ_OK;
    *out = NULL;
    *n = 0;
    if (stat(path, &sb))
        return kz_error_set(KZ_ENOTFOUND, "%s: no such file or folder", path);
    if (!S_ISDIR(sb.st_mode)) {
        if (!(v = malloc(sizeof *v)) || !(v[0] = strdup(path))) {
            free(v);
            return kz_error_oom();
        }
        *out = v;
        *n = 1;
        return KZ_OK;
    }
    DIR *d = opendir(path);
    if (!d)
        return kz_error_set(KZ_EIO, "%s: cannot read the folder (%s)", path, strerror(errno));
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || de->d_name[0] == '.' || strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        char **p = realloc(v, (nv + 1) * sizeof *p);
        if (!p) {
            rc = kz_error_oom();
            break;
        }
        v = p;
        size_t size = strlen(path) + len + 2;
        if (!(v[nv] = malloc(size))) {
            rc = kz_error_oom();
            break;
        }
        snprintf(v[nv++], size, "%s/%s", path, de->d_name);
    }
    closedir(d);
    if (!rc && nv == 0)
        rc = kz_error_set(KZ_ENOTFOUND, "%s: no *.json rule files in the folder", path);
    if (rc) {
        for (size_t i = 0; i < nv; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    qsort(v, nv, sizeof *v, cmp_path);
    *out = v;
    *n = nv;
    return KZ_OK;
}

static int read_all(kz_buf *out, const char *path)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t got;
    int rc = KZ_OK;
    if (!f)
        return kz_error_set(errno == ENOENT ? KZ_ENOTFOUND : KZ_EIO, "%s: %s", path, strerror(errno));
    while (!rc && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (kz_buf_append(out, chunk, got))
            rc = kz_error_set(KZ_ETOOBIG, "%s: larger than %zu KiB", path, RULE_FILE_MAX >> 10);
    if (!rc && ferror(f))
        rc = kz_error_set(KZ_EIO, "%s: cannot be read", path);
    fclose(f);
    return rc;
}

int kz_rule_load_path(kz_rule ***out, size_t *n, const char *path)
{
    char **files = NULL;
    size_t nfiles = 0, nv = 0;
    kz_rule **all = NULL;
    int rc = rule_files(&files, &nfiles, path);
    *out = NULL;
    *n = 0;
    for (size_t i = 0; i < nfiles && !rc; i++) {
        kz_buf text;
        kz_rule **v = NULL;
        size_t k = 0;
        kz_buf_init(&text, RULE_FILE_MAX);
        if (!(rc = read_all(&text, files[i])))
            rc = kz_rule_parse_file(&v, &k, text.data ? text.data : "", text.len, files[i]);
        kz_buf_free(&text);
        if (rc)
            break;
        kz_rule **grown = realloc(all, (nv + k + 1) * sizeof *grown);
        if (!grown) {
            kz_rule_list_free(v, k);
            rc = kz_error_oom();
            break;
        }
        all = grown;
        for (size_t j = 0; j < k; j++) {
            for (size_t m = 0; m < nv && !rc; m++)
                if (strcmp(all[m]->id, v[j]->id) == 0)
                    rc = kz_error_set(KZ_EINVALID, "%s: rule '%s' is given in %s too", files[i], v[j]->id,
                                      all[m]->origin);
            if (rc) {
                for (size_t m = j; m < k; m++)
                    kz_rule_free(v[m]);
                break;
            }
            all[nv++] = v[j];
        }
        free(v);
    }
    for (size_t i = 0; i < nfiles; i++)
        free(files[i]);
    free(files);
    if (rc) {
        kz_rule_list_free(all, nv);
        return rc;
    }
    *out = all;
    *n = nv;
    return KZ_OK;
}
