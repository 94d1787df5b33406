/*
 * schema.c - the import contract table and one validator per field kind.
 */
#include "ingest/schema.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/text.h"
#include "core/time.h"

#define KEY_MAX 256
#define NAME_MAX_ 1000
#define LINE_MAX_ 4000

static const kz_input_field account_fields[] = {
    { "account_id", KZ_F_KEY, 1, KEY_MAX, NULL, KZ_ACCOUNT_KEY, "the account's id in your systems" },
    { "name", KZ_F_TEXT, 0, NAME_MAX_, NULL, KZ_ACCOUNT_NAME, "company name" },
    { "domain", KZ_F_DOMAIN, 0, 253, NULL, KZ_ACCOUNT_DOMAIN, "web domain, e.g. example.com" },
    { "industry", KZ_F_TEXT, 0, NAME_MAX_, NULL, KZ_ACCOUNT_INDUSTRY, "industry" },
    { "owner", KZ_F_TEXT, 0, NAME_MAX_, NULL, KZ_ACCOUNT_OWNER, "the CSM who owns the account" },
    { "created_at", KZ_F_TIME, 0, 64, NULL, KZ_ACCOUNT_CREATED_AT, "when the account was created" },
};

static const kz_input_field contact_fields[] = {
    { "contact_id", KZ_F_KEY, 1, KEY_MAX, NULL, KZ_CONTACT_KEY, "the contact's id" },
    { "account_id", KZ_F_ACCOUNT, 1, KEY_MAX, NULL, KZ_CONTACT_ACCOUNT, "the contact's account" },
    { "email", KZ_F_EMAIL, 0, 254, NULL, KZ_CONTACT_EMAIL, "e-mail address" },
    { "name", KZ_F_TEXT, 0, NAME_MAX_, NULL, KZ_CONTACT_NAME, "full name" },
    { "role", KZ_F_TEXT, 0, NAME_MAX_, NULL, KZ_CONTACT_ROLE, "job title or role" },
    { "champion", KZ_F_BOOL, 0, 16, NULL, KZ_CONTACT_CHAMPION, "true for the account's champion" },
};

static const kz_input_field subscription_fields[] = {
    { "subscription_id", KZ_F_KEY, 1, KEY_MAX, NULL, KZ_SUB_KEY, "the subscription's id" },
    { "account_id", KZ_F_ACCOUNT, 1, KEY_MAX, NULL, KZ_SUB_ACCOUNT, "the subscribing account" },
    { "mrr", KZ_F_MONEY, 1, 64, NULL, KZ_SUB_MRR, "monthly recurring revenue of this subscription" },
    { "start_date", KZ_F_DATE, 1, 64, NULL, KZ_SUB_START, "first day it is paid for" },
    { "plan", KZ_F_TEXT, 0, NAME_MAX_, NULL, KZ_SUB_PLAN, "plan name" },
    { "quantity", KZ_F_COUNT, 0, 32, NULL, KZ_SUB_QUANTITY, "seats" },
    { "end_date", KZ_F_DATE, 0, 64, NULL, KZ_SUB_END,
      "first day it is no longer paid for (exclusive); empty while active" },
};

static const kz_input_field event_fields[] = {
    { "ts", KZ_F_TIME, 1, 64, NULL, -1, "when it happened" },
    { "account_id", KZ_F_ACCOUNT, 1, KEY_MAX, NULL, -1, "the account it happened in" },
    { "event", KZ_F_KEY, 1, 200, NULL, -1, "event name, e.g. report.view" },
    { "user_id", KZ_F_KEY, 0, KEY_MAX, NULL, -1, "the user who did it" },
    { "value", KZ_F_NUMBER, 0, 64, NULL, -1, "a number attached to the event (duration, count, amount)" },
    { "event_id", KZ_F_KEY, 0, KEY_MAX, NULL, -1, "unique id; events are de-duplicated by it" },
    { "properties", KZ_F_JSON_OBJECT, 0, 0, NULL, -1, "a JSON object of further properties" },
};

static const kz_input_field ticket_fields[] = {
    { "ticket_id", KZ_F_KEY, 1, KEY_MAX, NULL, KZ_TICKET_KEY, "the ticket's id" },
    { "account_id", KZ_F_ACCOUNT, 1, KEY_MAX, NULL, KZ_TICKET_ACCOUNT, "the account that asked" },
    { "opened_at", KZ_F_TIME, 1, 64, NULL, KZ_TICKET_OPENED, "when it was opened" },
    { "first_response_at", KZ_F_TIME, 0, 64, NULL, KZ_TICKET_FIRST_RESPONSE, "first answer; empty if none" },
    { "resolved_at", KZ_F_TIME, 0, 64, NULL, KZ_TICKET_RESOLVED, "when it was resolved; empty while open" },
    { "category", KZ_F_ENUM, 0, 32, "functional|operational", KZ_TICKET_CATEGORY,
      "functional (how the product works: support answers) or operational (how the customer runs "
      "their business with it: the CSM answers); empty: Kizuna classifies it" },
    { "priority", KZ_F_ENUM, 0, 32, "low|normal|high|urgent", KZ_TICKET_PRIORITY, "priority" },
    { "subject", KZ_F_TEXT, 0, LINE_MAX_, NULL, KZ_TICKET_SUBJECT, "subject line" },
    { "body", KZ_F_TEXT, 0, 0, NULL, KZ_TICKET_BODY, "the request's text" },
};

static const kz_input_field nps_fields[] = {
    { "response_id", KZ_F_KEY, 1, KEY_MAX, NULL, KZ_NPS_KEY, "the response's id" },
    { "account_id", KZ_F_ACCOUNT, 1, KEY_MAX, NULL, KZ_NPS_ACCOUNT, "the responding account" },
    { "ts", KZ_F_TIME, 1, 64, NULL, KZ_NPS_TS, "when it was answered" },
    { "score", KZ_F_SCORE, 1, 8, NULL, KZ_NPS_SCORE, "0 to 10" },
    { "contact_id", KZ_F_CONTACT, 0, KEY_MAX, NULL, KZ_NPS_CONTACT, "the contact who answered (of the same account)" },
    { "comment", KZ_F_TEXT, 0, 0, NULL, KZ_NPS_COMMENT, "free text" },
};

static const kz_input_field activity_fields[] = {
    { "activity_id", KZ_F_KEY, 1, KEY_MAX, NULL, KZ_ACT_KEY, "the activity's id" },
    { "account_id", KZ_F_ACCOUNT, 1, KEY_MAX, NULL, KZ_ACT_ACCOUNT, "the account it concerns" },
    { "ts", KZ_F_TIME, 1, 64, NULL, KZ_ACT_TS, "when it happened" },
    { "kind", KZ_F_ENUM, 1, 16, "email|call|meeting|note", KZ_ACT_KIND, "email, call, meeting or note" },
    { "direction", KZ_F_ENUM, 0, 16, "inbound|outbound", KZ_ACT_DIRECTION, "inbound or outbound" },
    { "subject", KZ_F_TEXT, 0, LINE_MAX_, NULL, KZ_ACT_SUBJECT, "subject or title" },
    { "body", KZ_F_TEXT, 0, 0, NULL, KZ_ACT_BODY, "text" },
    { "author", KZ_F_TEXT, 0, NAME_MAX_, NULL, KZ_ACT_AUTHOR, "who wrote or held it" },
};

static const kz_input_field spend_fields[] = {
    { "month", KZ_F_MONTH, 1, 16, NULL, KZ_SPEND_MONTH, "the month, YYYY-MM" },
    { "amount", KZ_F_MONEY, 1, 64, NULL, KZ_SPEND_AMOUNT, "sales and marketing spend in the month" },
    { "channel", KZ_F_TEXT, 0, NAME_MAX_, NULL, KZ_SPEND_CHANNEL, "acquisition channel; empty for all" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const kz_import_schema schemas[KZ_IMP_COUNT] = {
    { KZ_IMP_ACCOUNTS, "accounts", "account", KZ_ENT_ACCOUNT, account_fields, N(account_fields), 1,
      "customer companies; extra columns become typed custom fields" },
    { KZ_IMP_CONTACTS, "contacts", "contact", KZ_ENT_CONTACT, contact_fields, N(contact_fields), 0,
      "people at customer companies" },
    { KZ_IMP_SUBSCRIPTIONS, "subscriptions", "subscription", KZ_ENT_SUBSCRIPTION, subscription_fields,
      N(subscription_fields), 0, "what each account pays for, over time" },
    { KZ_IMP_EVENTS, "events", "event", -1, event_fields, N(event_fields), 0, "product usage events" },
    { KZ_IMP_TICKETS, "tickets", "ticket", KZ_ENT_TICKET, ticket_fields, N(ticket_fields), 0,
      "support requests" },
    { KZ_IMP_NPS, "nps", "nps", KZ_ENT_NPS, nps_fields, N(nps_fields), 0, "NPS survey responses" },
    { KZ_IMP_ACTIVITIES, "activities", "activity", KZ_ENT_ACTIVITY, activity_fields, N(activity_fields), 0,
      "e-mails, calls, meetings and notes" },
    { KZ_IMP_SPEND, "spend", "spend", KZ_ENT_SPEND, spend_fields, N(spend_fields), 0,
      "sales and marketing spend by month (for CAC)" },
};

const kz_import_schema *kz_import_schema_of(kz_import_kind k)
{
    return &schemas[k];
}

int kz_import_kind_parse(const char *s)
{
    for (int k = 0; k < KZ_IMP_COUNT; k++)
        if (strcmp(s, schemas[k].name) == 0 || strcmp(s, schemas[k].singular) == 0)
            return k;
    return -1;
}

const kz_input_field *kz_schema_field(const kz_import_schema *s, const char *name, size_t n)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (kz_streq(name, n, s->fields[i].name))
            return &s->fields[i];
    return NULL;
}

const char *kz_ftype_name(kz_ftype t)
{
    static const char *names[KZ_F_NKINDS] = {
        [KZ_F_KEY] = "id",
        [KZ_F_TEXT] = "text",
        [KZ_F_ACCOUNT] = "account id",
        [KZ_F_CONTACT] = "contact id",
        [KZ_F_TIME] = "ISO-8601 date or time",
        [KZ_F_DATE] = "ISO-8601 date",
        [KZ_F_MONTH] = "month YYYY-MM",
        [KZ_F_MONEY] = "decimal amount",
        [KZ_F_COUNT] = "integer >= 0",
        [KZ_F_SCORE] = "integer 0-10",
        [KZ_F_BOOL] = "true/false",
        [KZ_F_ENUM] = "one of a list",
        [KZ_F_EMAIL] = "e-mail address",
        [KZ_F_DOMAIN] = "domain name",
        [KZ_F_NUMBER] = "number",
        [KZ_F_JSON_OBJECT] = "JSON object",
    };
    return names[t];
}

/* ---- validators -------------------------------------------------------------- */

int kz_check_text(const char *s, size_t n, size_t max)
{
    if (n > max)
        return kz_error_set(KZ_EINVALID, "longer than %zu bytes (%zu)", max, n);
    size_t bad = kz_utf8_invalid_at(s, n);
    if (bad < n)
        return kz_error_set(KZ_EINVALID, "invalid UTF-8 at byte %zu", bad + 1);
    bad = kz_control_at(s, n);
    if (bad < n)
        return kz_error_set(KZ_EINVALID, "control character 0x%02x at byte %zu", (unsigned char)s[bad], bad + 1);
    return KZ_OK;
}

static size_t limit(const kz_vctx *c, const kz_input_field *f)
{
    return f->max_len ? f->max_len : c->max_field;
}

/* Most kinds take text; JSON numbers are accepted where the text would be. */
static int want_text(const kz_rawval *v, int numbers_ok)
{
    if (v->type == KZ_JSTRING || (numbers_ok && v->type == KZ_JNUMBER))
        return KZ_OK;
    return kz_error_set(KZ_EINVALID, "expected a %s, found a JSON %s", numbers_ok ? "string or number" : "string",
                        kz_jtype_name(v->type));
}

static int v_key(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    int rc = want_text(v, 1);
    if (rc)
        return rc;
    if (kz_has_outer_space(v->s, v->n))
        return kz_error_set(KZ_EINVALID, "'%.*s' starts or ends with white space", (int)(v->n > 60 ? 60 : v->n), v->s);
    rc = kz_check_text(v->s, v->n, limit(c, f));
    if (rc)
        return rc;
    for (size_t i = 0; i < v->n; i++)
        if (v->s[i] == '\n' || v->s[i] == '\r' || v->s[i] == '\t')
            return kz_error_set(KZ_EINVALID, "an id must not contain tabs or line breaks");
    *out = kz_vtext(v->s, v->n);
    return KZ_OK;
}

static int v_text(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    int rc = want_text(v, 1);
    if (!rc)
        rc = kz_check_text(v->s, v->n, limit(c, f));
    if (!rc)
        *out = kz_vtext(v->s, v->n);
    return rc;
}

static int v_ref(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out,
                 const kz_strmap *map, const char *what, const char *hint)
{
    int rc = v_key(c, f, v, out);
    if (rc)
        return rc;
    int64_t id = map ? kz_strmap_get(map, v->s, v->n) : -1;
    if (id < 0)
        return kz_error_set(KZ_EINVALID, "%s '%.*s' does not exist (%s)", what, (int)(v->n > 80 ? 80 : v->n),
                            v->s, hint);
    *out = kz_vint(id);
    return KZ_OK;
}

static int v_account(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    return v_ref(c, f, v, out, c->accounts, "account", "import accounts first");
}

static int v_contact(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    return v_ref(c, f, v, out, c->contacts, "contact", "import contacts first");
}

static int v_time(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    kz_time t;
    (void)c;
    (void)f;
    int rc = want_text(v, 0);
    if (!rc)
        rc = kz_parse_time(&t, NULL, v->s, v->n);
    if (!rc)
        *out = kz_vint(t);
    return rc;
}

static int v_date(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    kz_day d;
    (void)c;
    (void)f;
    int rc = want_text(v, 0);
    if (!rc)
        rc = kz_parse_date(&d, v->s, v->n);
    if (!rc)
        *out = kz_vint(d);
    return rc;
}

static int v_month(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    kz_month m;
    (void)c;
    (void)f;
    int rc = want_text(v, 0);
    if (!rc)
        rc = kz_parse_month(&m, v->s, v->n);
    if (!rc)
        *out = kz_vint(m);
    return rc;
}

static int v_money(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    int64_t x;
    (void)c;
    (void)f;
    int rc = want_text(v, 1);
    if (!rc)
        rc = kz_parse_fixed(&x, v->s, v->n, KZ_MONEY_SCALE);
    if (!rc && x < 0)
        rc = kz_error_set(KZ_EINVALID, "must not be negative");
    if (!rc)
        *out = kz_vint(x);
    return rc;
}

static int v_count(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    int64_t x;
    (void)c;
    (void)f;
    int rc = want_text(v, 1);
    if (!rc)
        rc = kz_parse_int(&x, v->s, v->n, 0, INT64_C(1000000000));
    if (!rc)
        *out = kz_vint(x);
    return rc;
}

static int v_score(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    int64_t x;
    (void)c;
    (void)f;
    int rc = want_text(v, 1);
    if (!rc)
        rc = kz_parse_int(&x, v->s, v->n, 0, 10);
    if (!rc)
        *out = kz_vint(x);
    return rc;
}

static int v_bool(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    int b;
    (void)c;
    (void)f;
    if (v->type != KZ_JSTRING && v->type != KZ_JBOOL && v->type != KZ_JNUMBER)
        return kz_error_set(KZ_EINVALID, "expected true or false, found a JSON %s", kz_jtype_name(v->type));
    int rc = kz_parse_bool(&b, v->s, v->n);
    if (!rc)
        *out = kz_vint(b);
    return rc;
}

static int v_enum(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    (void)c;
    int rc = want_text(v, 0);
    if (rc)
        return rc;
    const char *p = f->choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == v->n && strncasecmp(p, v->s, len) == 0) {
            *out = kz_vtext(p, len); /* the canonical lower-case spelling */
            return KZ_OK;
        }
        if (!bar)
            break;
        p = bar + 1;
    }
    return kz_error_set(KZ_EINVALID, "'%.*s' is not one of %s", (int)(v->n > 40 ? 40 : v->n), v->s, f->choices);
}

static int v_email(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    int rc = v_key(c, f, v, out);
    if (rc)
        return rc;
    const char *at = memchr(v->s, '@', v->n);
    if (!at || at == v->s || at == v->s + v->n - 1 || memchr(at + 1, '@', (size_t)(v->s + v->n - at - 1)) ||
        !memchr(at, '.', (size_t)(v->s + v->n - at)) || memchr(v->s, ' ', v->n))
        return kz_error_set(KZ_EINVALID, "'%.*s' is not an e-mail address", (int)(v->n > 60 ? 60 : v->n), v->s);
    return KZ_OK;
}

static int v_domain(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    int rc = v_key(c, f, v, out);
    if (rc)
        return rc;
    if (memchr(v->s, '/', v->n) || memchr(v->s, ':', v->n))
        return kz_error_set(KZ_EINVALID, "'%.*s' looks like a URL; give the domain only (example.com)",
                            (int)(v->n > 60 ? 60 : v->n), v->s);
    if (memchr(v->s, ' ', v->n) || !memchr(v->s, '.', v->n) || v->s[0] == '.' || v->s[v->n - 1] == '.')
        return kz_error_set(KZ_EINVALID, "'%.*s' is not a domain name", (int)(v->n > 60 ? 60 : v->n), v->s);
    return KZ_OK;
}

static int v_number(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    double d;
    (void)c;
    (void)f;
    int rc = want_text(v, 1);
    if (!rc)
        rc = kz_parse_double(&d, v->s, v->n);
    if (!rc)
        *out = kz_vreal(d);
    return rc;
}

static int v_json_object(const kz_vctx *c, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    if (v->type == KZ_JOBJECT) {
        if (v->n > limit(c, f))
            return kz_error_set(KZ_EINVALID, "longer than %zu bytes", limit(c, f));
        *out = kz_vtext(v->s, v->n);
        return KZ_OK;
    }
    if (v->type != KZ_JSTRING)
        return kz_error_set(KZ_EINVALID, "expected a JSON object, found a JSON %s", kz_jtype_name(v->type));
    int rc = kz_check_text(v->s, v->n, limit(c, f));
    if (rc)
        return rc;
    cJSON *j = cJSON_ParseWithLength(v->s, v->n);
    int ok = j && cJSON_IsObject(j);
    cJSON_Delete(j);
    if (!ok)
        return kz_error_set(KZ_EINVALID, "not a JSON object");
    *out = kz_vtext(v->s, v->n);
    return KZ_OK;
}

typedef int (*validator)(const kz_vctx *, const kz_input_field *, const kz_rawval *, kz_value *);

static const validator validators[KZ_F_NKINDS] = {
    [KZ_F_KEY] = v_key,         [KZ_F_TEXT] = v_text,     [KZ_F_ACCOUNT] = v_account,
    [KZ_F_CONTACT] = v_contact, [KZ_F_TIME] = v_time,     [KZ_F_DATE] = v_date,
    [KZ_F_MONTH] = v_month,     [KZ_F_MONEY] = v_money,   [KZ_F_COUNT] = v_count,
    [KZ_F_SCORE] = v_score,     [KZ_F_BOOL] = v_bool,     [KZ_F_ENUM] = v_enum,
    [KZ_F_EMAIL] = v_email,     [KZ_F_DOMAIN] = v_domain, [KZ_F_NUMBER] = v_number,
    [KZ_F_JSON_OBJECT] = v_json_object,
};

int kz_validate(const kz_vctx *ctx, const kz_input_field *f, const kz_rawval *v, kz_value *out)
{
    if (v->type == KZ_JNULL || (v->type == KZ_JSTRING && v->n == 0)) {
        *out = kz_vnull();
        if (f->required)
            return kz_error_set(KZ_EINVALID, "required, but empty");
        return KZ_OK;
    }
    return validators[f->type](ctx, f, v, out);
}
