/*
 * act.c - firings and their actions (act.h).
 *
 * kz_act_fire: one transaction holds the firing and everything it does here
 * (tasks, notes, fields, the outbox rows of e-mails and webhooks), so a crash
 * leaves either all of it or nothing. kz_act_deliver: the outbox rows due are
 * read first, then sent one by one outside any transaction (a slow server
 * holds no lock), each outcome recorded on its own.
 */
#include "rules/act.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/text.h"
#include "engine/engine.h"
#include "rules/template.h"

#define RENDER_MAX (1u << 20) /* bytes of one rendered text */

void kz_occasion_init(kz_occasion *o)
{
    memset(o, 0, sizeof *o);
    o->value = NAN;
    o->health = NAN;
    o->churn = NAN;
    o->mrr = INT64_MIN;
}

/* ---- what templates read ---------------------------------------------------------------- */

struct facts {
    kz_arena *a;
    const kz_occasion *o;
    int have_account;
    const char *acc[KZ_ACCOUNT_NCOLS];
    kz_field_def *defs;
    size_t ndefs;
    const char **fields;          /* per def, as text (NULL: empty) */
    const char *contact_email, *contact_name;
    const char *user_email, *user_name;
    char today[KZ_DATE_BUF];
};

static const char *text_of(kz_arena *a, const kz_value *v)
{
    char buf[64];
    switch (v->kind) {
    case KZ_VTEXT: return kz_arena_strndup(a, v->s, v->n);
    case KZ_VINT: snprintf(buf, sizeof buf, "%lld", (long long)v->i); return kz_arena_strndup(a, buf, strlen(buf));
    case KZ_VREAL: {
        char d[KZ_DOUBLE_BUF];
        size_t n = kz_format_double(d, v->d);
        return kz_arena_strndup(a, d, n);
    }
    default: return NULL;
    }
}

static int on_account(void *ctx, int64_t id, const kz_value *row)
{
    struct facts *f = ctx;
    (void)id;
    f->have_account = 1;
    for (int c = 0; c < KZ_ACCOUNT_NCOLS; c++)
        if (row[c].kind == KZ_VTEXT && !(f->acc[c] = kz_arena_strndup(f->a, row[c].s, row[c].n)))
            return kz_error_oom();
    return KZ_OK;
}

static int on_contact(void *ctx, int64_t id, const kz_value *row)
{
    struct facts *f = ctx;
    (void)id;
    const kz_value *email = &row[KZ_CONTACT_EMAIL], *name = &row[KZ_CONTACT_NAME], *key = &row[KZ_CONTACT_KEY];
    int champion = row[KZ_CONTACT_CHAMPION].kind == KZ_VINT && row[KZ_CONTACT_CHAMPION].i;
    if (email->kind == KZ_VTEXT && (!f->contact_email || champion)) {
        f->contact_email = kz_arena_strndup(f->a, email->s, email->n);
        f->contact_name = name->kind == KZ_VTEXT ? kz_arena_strndup(f->a, name->s, name->n) : NULL;
        if (!f->contact_email)
            return kz_error_oom();
    }
    /* the product user is this contact when the keys or the e-mails agree */
    const char *u = f->o->user;
    if (u && email->kind == KZ_VTEXT &&
        ((key->kind == KZ_VTEXT && kz_streq(key->s, key->n, u)) || kz_streq(email->s, email->n, u))) {
        f->user_email = kz_arena_strndup(f->a, email->s, email->n);
        f->user_name = name->kind == KZ_VTEXT ? kz_arena_strndup(f->a, name->s, name->n) : NULL;
    }
    return KZ_OK;
}

static int facts_load(struct facts *f, kz_store *st, const kz_occasion *o)
{
    int rc;
    memset(f, 0, sizeof *f);
    f->o = o;
    if (!(f->a = kz_arena_new(4096)))
        return kz_error_oom();
    kz_format_date(f->today, kz_time_day(kz_now()));
    if ((rc = kz_store_fields(st, &f->defs, &f->ndefs)))
        return rc;
    if (o->account_id == 0)
        return KZ_OK; /* the business: no account, its placeholders empty */
    if ((rc = kz_store_each_of_account(st, KZ_ENT_ACCOUNT, o->account_id, 1, on_account, f)))
        return rc;
    if (!f->have_account)
        return kz_error_set(KZ_ENOTFOUND, "no account %lld", (long long)o->account_id);
    if ((rc = kz_store_each_of_account(st, KZ_ENT_CONTACT, o->account_id, 1000, on_contact, f)))
        return rc;
    if (o->user && !f->user_email && strchr(o->user, '@'))
        f->user_email = o->user;
    if (f->ndefs) {
        kz_value *vals = kz_arena_calloc(f->a, f->ndefs, sizeof *vals);
        f->fields = kz_arena_calloc(f->a, f->ndefs, sizeof *f->fields);
        if (!vals || !f->fields)
            return kz_error_oom();
        if ((rc = kz_store_field_values(st, o->account_id, f->defs, f->ndefs, vals)))
            return rc;
        for (size_t i = 0; i < f->ndefs; i++) {
            if (vals[i].kind == KZ_VNULL)
                continue;
            if (f->defs[i].type == KZ_FIELD_DATE && vals[i].kind == KZ_VINT) {
                char d[KZ_DATE_BUF];
                kz_format_date(d, kz_time_day(vals[i].i));
                f->fields[i] = kz_arena_strndup(f->a, d, strlen(d));
            } else if (f->defs[i].type == KZ_FIELD_BOOLEAN && vals[i].kind == KZ_VINT) {
                f->fields[i] = vals[i].i ? "true" : "false";
            } else if (!(f->fields[i] = text_of(f->a, &vals[i]))) {
                return kz_error_oom();
            }
        }
    }
    return KZ_OK;
}

static void facts_free(struct facts *f)
{
    free(f->defs);
    kz_arena_free(f->a);
}

static int put_num(kz_buf *out, double v)
{
    char d[KZ_DOUBLE_BUF];
    if (isnan(v))
        return 0;
    size_t n = kz_format_double(d, v);
    return kz_buf_append(out, d, n) ? KZ_ETOOBIG : 1;
}

static int put_text(kz_buf *out, const char *s)
{
    if (!s || !*s)
        return 0;
    return kz_buf_puts(out, s) ? KZ_ETOOBIG : 1;
}

static int lookup(void *ctx, const char *name, size_t n, kz_buf *out)
{
    struct facts *f = ctx;
    const kz_occasion *o = f->o;
    const kz_rule *r = o->rule;
    char num[32];
#define IS(lit) kz_streq(name, n, lit)
    if (n > 6 && memcmp(name, "field.", 6) == 0) {
        for (size_t i = 0; i < f->ndefs; i++)
            if (kz_streq(name + 6, n - 6, f->defs[i].name))
                return put_text(out, f->fields[i]);
        return 0;
    }
    if (IS("account.id"))
        return put_text(out, f->acc[KZ_ACCOUNT_KEY]);
    if (IS("account.name"))
        return put_text(out, f->acc[KZ_ACCOUNT_NAME]);
    if (IS("account.owner"))
        return put_text(out, f->acc[KZ_ACCOUNT_OWNER]);
    if (IS("account.domain"))
        return put_text(out, f->acc[KZ_ACCOUNT_DOMAIN]);
    if (IS("account.industry"))
        return put_text(out, f->acc[KZ_ACCOUNT_INDUSTRY]);
    if (IS("account.plan"))
        return put_text(out, o->plan);
    if (IS("account.band"))
        return put_text(out, o->band);
    if (IS("account.health"))
        return put_num(out, isnan(o->health) ? NAN : round(o->health));
    if (IS("account.churn"))
        return put_num(out, o->churn);
    if (IS("account.mrr")) {
        if (o->mrr == INT64_MIN)
            return 0;
        char b[KZ_FIXED_BUF];
        size_t len = kz_format_fixed_min(b, o->mrr, 4, 2);
        return kz_buf_append(out, b, len) ? KZ_ETOOBIG : 1;
    }
    if (IS("user.id"))
        return put_text(out, o->user);
    if (IS("user.email"))
        return put_text(out, f->user_email);
    if (IS("user.name"))
        return put_text(out, f->user_name);
    if (IS("contact.email"))
        return put_text(out, f->contact_email);
    if (IS("contact.name"))
        return put_text(out, f->contact_name);
    if (IS("rule.id"))
        return put_text(out, r->id);
    if (IS("rule.title"))
        return put_text(out, r->title);
    if (IS("rule.playbook"))
        return put_text(out, r->playbook);
    if (IS("event.name"))
        return put_text(out, o->event);
    if (IS("event.time") || IS("trigger.date")) {
        char t[KZ_TIME_BUF];
        if (IS("trigger.date"))
            kz_format_date(t, kz_time_day(o->at));
        else
            kz_format_time(t, o->at);
        return put_text(out, t);
    }
    if (IS("trigger.reason"))
        return put_text(out, o->reason);
    if (IS("trigger.value"))
        return put_num(out, o->value);
    if (IS("today"))
        return put_text(out, f->today);
    (void)num;
    return 0;
#undef IS
}

/* tpl rendered into a string of the arena ("" for NULL). */
static int render(const char **out, struct facts *f, const char *tpl, int escape)
{
    kz_buf b;
    int rc = KZ_OK;
    *out = "";
    if (!tpl)
        return KZ_OK;
    kz_buf_init(&b, RENDER_MAX);
    if ((rc = kz_template_render(&b, tpl, lookup, f, escape)) == KZ_OK &&
        !(*out = kz_arena_strndup(f->a, b.data ? b.data : "", b.len)))
        rc = kz_error_oom();
    kz_buf_free(&b);
    return rc;
}

/* ---- the actions -------------------------------------------------------------------------- */

static int do_task(kz_store *st, struct facts *f, const kz_rule_action *ac, int64_t firing, kz_time now)
{
    const char *title, *body;
    int rc;
    if ((rc = render(&title, f, ac->title, KZ_TEMPLATE_PLAIN)) || (rc = render(&body, f, ac->body, KZ_TEMPLATE_PLAIN)))
        return rc;
    const char *assignee = ac->assignee;
    if (strcmp(assignee, "owner") == 0)
        assignee = f->acc[KZ_ACCOUNT_OWNER]; /* may be NULL: nobody yet, the task waits in the account's list */
    char *source = kz_arena_printf(f->a, "rule:%s", f->o->rule->id);
    if (!source)
        return kz_error_oom();
    kz_task_rec t = { .title = *title ? title : f->o->rule->title,
                      .body = *body ? body : NULL,
                      .account_id = f->o->account_id,
                      .assignee = assignee,
                      .due = kz_time_day(now) + ac->due_days,
                      .source = source,
                      .firing_id = firing,
                      .playbook = ac->playbook ? ac->playbook : f->o->rule->playbook };
    return kz_store_task_add(st, &t, now, NULL);
}

static int do_note(kz_store *st, struct facts *f, const kz_rule_action *ac, int64_t firing, size_t index,
                   kz_time now)
{
    const char *text;
    int rc = render(&text, f, ac->text, KZ_TEMPLATE_PLAIN);
    if (rc)
        return rc;
    char key[64];
    snprintf(key, sizeof key, "kizuna-firing-%lld-%zu", (long long)firing, index);
    const char *title = f->o->rule->title;
    kz_value row[KZ_ACT_NCOLS] = {
        [KZ_ACT_KEY] = kz_vtext(key, strlen(key)),
        [KZ_ACT_ACCOUNT] = kz_vint(f->o->account_id),
        [KZ_ACT_TS] = kz_vint(now),
        [KZ_ACT_KIND] = kz_vtext("note", 4),
        [KZ_ACT_DIRECTION] = kz_vnull(),
        [KZ_ACT_SUBJECT] = kz_vtext(title, strlen(title)),
        [KZ_ACT_BODY] = kz_vtext(text, strlen(text)),
        [KZ_ACT_AUTHOR] = kz_vtext("kizuna", 6),
    };
    uint64_t present = ((uint64_t)1 << KZ_ACT_NCOLS) - 1 - ((uint64_t)1 << KZ_ACT_DIRECTION);
    return kz_store_upsert(st, KZ_ENT_ACTIVITY, row, present, 0, NULL, NULL);
}

/* Sets a custom field (defined as text when it is new); the value is
 * converted to the field's type, so a number field takes "12.5". */
static int do_set_field(kz_store *st, struct facts *f, const kz_rule_action *ac)
{
    const char *value;
    int rc = render(&value, f, ac->value, KZ_TEMPLATE_PLAIN);
    if (rc)
        return rc;
    const kz_field_def *def = NULL;
    for (size_t i = 0; i < f->ndefs; i++)
        if (strcmp(f->defs[i].name, ac->field) == 0)
            def = &f->defs[i];
    int64_t id;
    kz_field_type type = def ? def->type : KZ_FIELD_TEXT;
    if (def)
        id = def->id;
    else if ((rc = kz_store_field_define(st, ac->field, KZ_FIELD_TEXT, &id)))
        return rc;
    kz_value v = kz_vtext(value, strlen(value));
    size_t n = strlen(value);
    if (n == 0)
        v = kz_vnull();
    else if (type == KZ_FIELD_NUMBER) {
        double d;
        if (kz_parse_double(&d, value, n))
            return kz_error_set(KZ_EINVALID, "field %s is a number: '%s' is not", ac->field, value);
        v = (kz_value){ .kind = KZ_VREAL, .d = d };
    } else if (type == KZ_FIELD_BOOLEAN) {
        int b;
        if (kz_parse_bool(&b, value, n))
            return kz_error_set(KZ_EINVALID, "field %s is true or false: '%s' is not", ac->field, value);
        v = kz_vint(b);
    } else if (type == KZ_FIELD_DATE) {
        kz_day d;
        if (kz_parse_date(&d, value, n))
            return kz_error_set(KZ_EINVALID, "field %s is a date: '%s' is not", ac->field, value);
        v = kz_vint(kz_day_time(d));
    }
    int changed = 0;
    if ((rc = kz_store_field_set(st, f->o->account_id, id, &v, &changed)))
        return rc;
    /* reports and scores read fields: they must see the change */
    return changed ? kz_store_touch(st) : KZ_OK;
}

/* The outbox row of an e-mail or a webhook: what to send, rendered now. */
static int queue(kz_store *st, struct facts *f, const kz_rule_action *ac, size_t index, int64_t firing,
                 const kz_firing_rec *rec, kz_time now)
{
    kz_buf b, inner;
    kz_jw w;
    const char *to, *subject, *body, *text;
    int rc;
    kz_buf_init(&b, 4 * RENDER_MAX);
    kz_buf_init(&inner, 2 * RENDER_MAX);
    kz_jw_init(&w, &b);
    kz_jw_obj(&w);
    if (ac->kind == KZ_ACTION_EMAIL) {
        if ((rc = render(&to, f, ac->to, KZ_TEMPLATE_PLAIN)) || (rc = render(&subject, f, ac->subject, KZ_TEMPLATE_PLAIN)) ||
            (rc = render(&body, f, ac->body, KZ_TEMPLATE_PLAIN)))
            goto done;
        kz_jw_key(&w, "to");
        kz_jw_str(&w, to);
        kz_jw_key(&w, "subject");
        kz_jw_str(&w, subject);
        kz_jw_key(&w, "body");
        kz_jw_str(&w, body);
    } else {
        if ((rc = render(&text, f, ac->text, KZ_TEMPLATE_PLAIN)))
            goto done;
        if (strcmp(ac->format, "slack") == 0) {
            if ((rc = kz_webhook_slack_body(&inner, text)))
                goto done;
        } else {
            kz_jw iw;
            kz_jw_init(&iw, &inner);
            kz_jw_obj(&iw);
            kz_jw_key(&iw, "rule");
            kz_jw_str(&iw, f->o->rule->id);
            kz_jw_key(&iw, "title");
            kz_jw_str(&iw, f->o->rule->title);
            kz_jw_key(&iw, "firing_id");
            kz_jw_int(&iw, firing);
            kz_jw_key(&iw, "account_id");
            kz_jw_str(&iw, f->acc[KZ_ACCOUNT_KEY]);
            kz_jw_key(&iw, "account_name");
            kz_jw_str(&iw, f->acc[KZ_ACCOUNT_NAME]);
            kz_jw_key(&iw, "owner");
            kz_jw_str(&iw, f->acc[KZ_ACCOUNT_OWNER]);
            kz_jw_key(&iw, "user_id");
            kz_jw_str(&iw, f->o->user);
            kz_jw_key(&iw, "at");
            kz_jw_time(&iw, rec->at);
            kz_jw_key(&iw, "reason");
            kz_jw_str(&iw, rec->reason);
            kz_jw_key(&iw, "why");
            if (rec->why)
                kz_jw_raw(&iw, rec->why, strlen(rec->why));
            else
                kz_jw_null(&iw);
            kz_jw_key(&iw, "text");
            kz_jw_str(&iw, *text ? text : NULL);
            kz_jw_key(&iw, "playbook");
            kz_jw_str(&iw, f->o->rule->playbook);
            kz_jw_end(&iw);
            if ((rc = kz_jw_error(&iw)))
                goto done;
        }
        kz_jw_key(&w, "url");
        kz_jw_str(&w, ac->url);
        kz_jw_key(&w, "body");
        kz_jw_strn(&w, inner.data ? inner.data : "", inner.len);
    }
    kz_jw_end(&w);
    if ((rc = kz_jw_error(&w)))
        goto done;
    kz_delivery_rec d = { .firing_id = firing,
                          .action = (int)index,
                          .kind = ac->kind == KZ_ACTION_EMAIL ? "email" : "webhook",
                          .payload = kz_buf_cstr(&b) };
    rc = kz_store_delivery_add(st, &d, now, NULL);
done:
    kz_buf_free(&b);
    kz_buf_free(&inner);
    return rc;
}

int kz_act_fire(kz_store *st, const kz_occasion *o, int dry_run, kz_time now, int64_t *out_id)
{
    const kz_rule *r = o->rule;
    struct facts f;
    int64_t id = 0;
    int rc, began = 0;
    if (out_id)
        *out_id = 0;
    dry_run = dry_run || r->mode == KZ_RULE_DRY_RUN;
    if ((rc = facts_load(&f, st, o)))
        goto done;
    const char *kind = o->user ? "user" : o->account_id ? "account" : "business";
    const char *subject = o->user ? o->user : o->account_id ? f.acc[KZ_ACCOUNT_KEY] : "business";
    if ((rc = kz_store_begin(st)))
        goto done;
    began = 1;
    if (r->cooldown > 0) {
        kz_time near = 0;
        if ((rc = kz_store_firing_near(st, r->id, kind, subject, o->at, r->cooldown * KZ_USEC_PER_SEC, &near)))
            goto done;
        if (near)
            goto done; /* another firing is too close, before or after: nothing */
    }
    kz_firing_rec rec = { .rule = r->id, .subject_kind = kind, .subject = subject, .account_id = o->account_id,
                          .window_key = o->key, .at = o->at, .fired_at = now, .reason = o->reason ? o->reason : "",
                          .why = o->why, .dry_run = dry_run };
    if ((rc = kz_store_firing_add(st, &rec, &id)) || id == 0 || dry_run)
        goto done;
    for (size_t i = 0; i < r->nactions && !rc; i++) {
        const kz_rule_action *ac = &r->actions[i];
        switch (ac->kind) {
        case KZ_ACTION_TASK: rc = do_task(st, &f, ac, id, now); break;
        case KZ_ACTION_NOTE: rc = do_note(st, &f, ac, id, i, now); break;
        case KZ_ACTION_SET_FIELD: rc = do_set_field(st, &f, ac); break;
        case KZ_ACTION_EMAIL:
        case KZ_ACTION_WEBHOOK: rc = queue(st, &f, ac, i, id, &rec, now); break;
        case KZ_ACTION_COUNT: break;
        }
        if (rc)
            kz_error_prefix(rc, "rule '%s': action %zu (%s)", r->id, i + 1, kz_rule_actions(&(size_t){ 0 })[ac->kind].name);
    }
done:
    if (began && rc)
        kz_store_rollback(st);
    else if (began && (rc = kz_store_commit(st)))
        id = 0;
    facts_free(&f);
    if (!rc && out_id)
        *out_id = id;
    return rc;
}

/* ---- deliveries ----------------------------------------------------------------------------- */

void kz_act_env_from_config(kz_act_env *out, const kz_config *cfg)
{
#define SET(s) ((s) && strcmp((s), "-") != 0 ? (s) : NULL)
    memset(out, 0, sizeof *out);
    out->smtp.url = SET(cfg->smtp_url);
    out->smtp.user = SET(cfg->smtp_user);
    out->smtp.password = SET(cfg->smtp_password);
    out->smtp.from = cfg->smtp_from;
    out->smtp.starttls = !cfg->smtp_tls || strcmp(cfg->smtp_tls, "try") == 0 ? 1
                         : strcmp(cfg->smtp_tls, "required") == 0       ? 2
                                                                        : 0;
    out->timeout_ms = (long)cfg->rules_timeout * 1000;
    out->retry_first = cfg->rules_retry_first;
    out->smtp.timeout_ms = out->timeout_ms;
    out->webhook_secret = SET(cfg->rules_webhook_secret);
#undef SET
}

struct due {
    int64_t id;
    int attempts;
    char *kind, *payload;
};

struct dues {
    struct due *v;
    size_t n, cap;
};

static int on_due(void *ctx, const kz_delivery_rec *d)
{
    struct dues *q = ctx;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct due *p = realloc(q->v, cap * sizeof *p);
        if (!p)
            return kz_error_oom();
        q->v = p;
        q->cap = cap;
    }
    struct due *x = &q->v[q->n];
    x->id = d->id;
    x->attempts = d->attempts;
    x->kind = strdup(d->kind);
    x->payload = strdup(d->payload);
    if (!x->kind || !x->payload) {
        free(x->kind);
        free(x->payload);
        return kz_error_oom();
    }
    q->n++;
    return KZ_OK;
}

static const char *member(const cJSON *j, const char *key)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
    return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* One try; 0 when it went, else the reason in the error message. */
static int send_one(const kz_act_env *env, const struct due *d, kz_time now)
{
    cJSON *j = cJSON_Parse(d->payload);
    int rc;
    if (!j)
        return kz_error_set(KZ_EINVALID, "delivery %lld: its payload is not JSON", (long long)d->id);
    const char *body = member(j, "body");
    if (strcmp(d->kind, "email") == 0) {
        const char *to = member(j, "to"), *subject = member(j, "subject");
        if (!env->smtp.url)
            rc = kz_error_set(KZ_EINVALID, "no mail server: set smtp.url");
        else if (!to || !*to)
            rc = kz_error_set(KZ_EINVALID, "no recipient: the template of 'to' gave nothing");
        else
            rc = kz_smtp_send(&env->smtp, to, subject ? subject : "", body ? body : "", NULL);
    } else {
        const char *url = member(j, "url");
        kz_hook_result res;
        rc = url ? kz_webhook_post(url, env->webhook_secret, body ? body : "", body ? strlen(body) : 0,
                                   env->timeout_ms, now / KZ_USEC_PER_SEC, &res)
                 : kz_error_set(KZ_EINVALID, "no url");
    }
    cJSON_Delete(j);
    return rc;
}

int kz_act_deliver(kz_store *st, const kz_act_env *env, kz_time now, int all, int64_t limit, kz_deliver_stats *out)
{
    struct dues q = { 0 };
    kz_deliver_stats s = { 0 };
    int rc = kz_store_deliveries_due(st, all ? INT64_MAX : now, limit, on_due, &q);
    for (size_t i = 0; i < q.n && !rc; i++) {
        struct due *d = &q.v[i];
        int attempts = d->attempts + 1;
        if (send_one(env, d, now) == KZ_OK) {
            rc = kz_store_delivery_set(st, d->id, "done", attempts, now, NULL, now);
            s.sent++;
            continue;
        }
        char why[512];
        snprintf(why, sizeof why, "%s", kz_error_msg());
        if (attempts >= kz_retry_max()) {
            rc = kz_store_delivery_set(st, d->id, "failed", attempts, now, why, now);
            s.failed++;
            KZ_LOG(KZ_LOG_WARN, "playbooks: a delivery failed for good", "delivery=%lld kind=%s attempts=%d reason=\"%s\"",
                   (long long)d->id, d->kind, attempts, why);
        } else {
            kz_time next = now + kz_retry_delay(attempts, env->retry_first) * KZ_USEC_PER_SEC;
            rc = kz_store_delivery_set(st, d->id, "pending", attempts, next, why, now);
            s.retrying++;
            KZ_LOG(KZ_LOG_INFO, "playbooks: a delivery will be tried again", "delivery=%lld kind=%s attempts=%d reason=\"%s\"",
                   (long long)d->id, d->kind, attempts, why);
        }
    }
    for (size_t i = 0; i < q.n; i++) {
        free(q.v[i].kind);
        free(q.v[i].payload);
    }
    free(q.v);
    if (out)
        *out = s;
    return rc;
}
