/*
 * rules_template_test.c - the text templates of playbook actions
 * (src/rules/template.c): values, defaults, missing values, the three escapes,
 * literal braces, every syntax error with its byte offset, unknown names.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "rules/template.h"

struct kv {
    const char *name, *value;
};

static const struct kv values[] = {
    { "account.name", "Sakura Tech" },
    { "account.owner", "" },
    { "account.mrr", "1200.50" },
    { "field.region", "JP" },
    { "rule.title", "Renewal in 90 days" },
    { "html", "<b>R&D</b> \"quoted\" 'single'" },
    { "json", "say \"hi\"\\\nnext\r\tend\x01\x1f\x7f" },
    { "jp", "株式会社さくらテック" },
    { "braces", "{{not a placeholder}}" },
    { "bad.utf8", "a\xff" "b" },
    { "sep", "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c" },
    { NULL, NULL },
};

static int lookup(void *ctx, const char *name, size_t n, kz_buf *out)
{
    const struct kv *v = ctx ? ctx : values;
    for (; v->name; v++)
        if (strlen(v->name) == n && memcmp(v->name, name, n) == 0) {
            int rc = kz_buf_puts(out, v->value);
            return rc ? rc : 1;
        }
    return 0;
}

static int failing(void *ctx, const char *name, size_t n, kz_buf *out)
{
    (void)ctx;
    (void)out;
    if (n == 4 && memcmp(name, "boom", 4) == 0)
        return kz_error_set(KZ_EIO, "the store went away");
    return 0;
}

static char *render(const char *tpl, int escape)
{
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    int rc = kz_template_render(&b, tpl, lookup, NULL, escape);
    cr_assert_eq(rc, 0, "%s: %s", tpl, kz_error_msg());
    char *s = kz_buf_take(&b);
    cr_assert_not_null(s);
    return s;
}

#define RENDERS(tpl, escape, want)                                                                  \
    do {                                                                                             \
        char *got_ = render(tpl, escape);                                                            \
        cr_assert_str_eq(got_, want, "template %s", tpl);                                            \
        free(got_);                                                                                  \
    } while (0)

static int known(const char *name, size_t n)
{
    static const char *const names[] = { "account.name", "account.owner", "account.mrr", "rule.title", "today" };
    if (n > 6 && memcmp(name, "field.", 6) == 0)
        return 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
            return 1;
    return 0;
}

/* kz_template_check fails with exactly this message, and render fails alike
 * (except for unknown names, which render does not check). */
static void fails(const char *tpl, const char *msg)
{
    kz_buf err;
    kz_buf_init(&err, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_template_check(tpl, known, &err), KZ_EINVALID, "%s: should fail", tpl);
    cr_assert_str_eq(kz_error_msg(), msg, "template %s", tpl);
    cr_assert_str_eq(kz_buf_cstr(&err), msg, "template %s (err buffer)", tpl);
    kz_buf_free(&err);
}

static void syntax_fails(const char *tpl, const char *msg)
{
    fails(tpl, msg);
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_buf_puts(&b, "kept"), 0);
    cr_assert_eq(kz_template_render(&b, tpl, lookup, NULL, KZ_TEMPLATE_PLAIN), KZ_EINVALID, "%s", tpl);
    cr_assert_str_eq(kz_error_msg(), msg, "render of %s", tpl);
    cr_assert_str_eq(kz_buf_cstr(&b), "kept", "a failed render leaves out as it was");
    kz_buf_free(&b);
}

Test(rules_template, values_replace_placeholders)
{
    RENDERS("Hello {{account.name}}!", KZ_TEMPLATE_PLAIN, "Hello Sakura Tech!");
    RENDERS("{{account.name}}", KZ_TEMPLATE_PLAIN, "Sakura Tech");
    RENDERS("{{ account.name }} / {{\taccount.mrr\n}}", KZ_TEMPLATE_PLAIN, "Sakura Tech / 1200.50");
    RENDERS("{{field.region}}{{field.region}}", KZ_TEMPLATE_PLAIN, "JPJP");
    RENDERS("MRR {{account.mrr}} in {{field.region}} ({{rule.title}})", KZ_TEMPLATE_PLAIN,
            "MRR 1200.50 in JP (Renewal in 90 days)");
}

Test(rules_template, text_without_placeholders_is_copied)
{
    RENDERS("", KZ_TEMPLATE_PLAIN, "");
    RENDERS("plain text", KZ_TEMPLATE_PLAIN, "plain text");
    RENDERS("a { b } c }} d {", KZ_TEMPLATE_PLAIN, "a { b } c }} d {");
    RENDERS("<p>&amp; \"as written\"</p>", KZ_TEMPLATE_HTML, "<p>&amp; \"as written\"</p>");
    RENDERS("{\"text\": \"x\"}", KZ_TEMPLATE_JSON, "{\"text\": \"x\"}");
}

Test(rules_template, render_appends_to_out)
{
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_buf_puts(&b, "Subject: "), 0);
    cr_assert_eq(kz_template_render(&b, "{{account.name}}", lookup, NULL, 0), 0);
    cr_assert_str_eq(kz_buf_cstr(&b), "Subject: Sakura Tech");
    kz_buf_free(&b);
}

Test(rules_template, defaults_when_missing_or_empty)
{
    RENDERS("{{account.owner | \"your CSM\"}}", KZ_TEMPLATE_PLAIN, "your CSM"); /* empty value */
    RENDERS("{{nobody|\"n/a\"}}", KZ_TEMPLATE_PLAIN, "n/a");                   /* missing */
    RENDERS("{{account.name | \"unused\"}}", KZ_TEMPLATE_PLAIN, "Sakura Tech"); /* present */
    RENDERS("{{ nobody  |  \"spaced\"  }}", KZ_TEMPLATE_PLAIN, "spaced");
    RENDERS("[{{nobody | \"\"}}]", KZ_TEMPLATE_PLAIN, "[]");
    RENDERS("{{nobody | \"say \\\"hi\\\" \\\\ bye\"}}", KZ_TEMPLATE_PLAIN, "say \"hi\" \\ bye");
    RENDERS("{{nobody | \"a }} b {{ c | d\"}}", KZ_TEMPLATE_PLAIN, "a }} b {{ c | d");
    RENDERS("{{nobody | \"担当者\"}}様", KZ_TEMPLATE_PLAIN, "担当者様");
}

Test(rules_template, missing_value_without_default_is_empty)
{
    RENDERS("[{{nobody}}]", KZ_TEMPLATE_PLAIN, "[]");
    RENDERS("[{{account.owner}}]", KZ_TEMPLATE_PLAIN, "[]");
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_template_render(&b, "a{{x}}b{{y | \"d\"}}", NULL, NULL, 0), 0, "no lookup: every value missing");
    cr_assert_str_eq(kz_buf_cstr(&b), "abd");
    kz_buf_free(&b);
}

Test(rules_template, html_escape_applies_to_values_only)
{
    RENDERS("<p>{{html}}</p>", KZ_TEMPLATE_HTML,
            "<p>&lt;b&gt;R&amp;D&lt;/b&gt; &quot;quoted&quot; &#39;single&#39;</p>");
    RENDERS("{{html}}", KZ_TEMPLATE_PLAIN, "<b>R&D</b> \"quoted\" 'single'");
    RENDERS("{{nobody | \"<R&D>\"}}", KZ_TEMPLATE_HTML, "&lt;R&amp;D&gt;"); /* a default stands for a value */
    RENDERS("{{\"<br>\"}}", KZ_TEMPLATE_HTML, "<br>");                      /* a literal is template text */
    RENDERS("{{jp}}", KZ_TEMPLATE_HTML, "株式会社さくらテック");
}

Test(rules_template, json_escape_applies_to_values_only)
{
    RENDERS("{\"text\": \"{{json}}\"}", KZ_TEMPLATE_JSON,
            "{\"text\": \"say \\\"hi\\\"\\\\\\nnext\\r\\tend\\u0001\\u001f\\u007f\"}");
    RENDERS("{{nobody | \"a\\\"b\"}}", KZ_TEMPLATE_JSON, "a\\\"b");
    RENDERS("{{html}}", KZ_TEMPLATE_JSON, "<b>R&D</b> \\\"quoted\\\" 'single'");
    RENDERS("{{jp}}", KZ_TEMPLATE_JSON, "株式会社さくらテック");
    RENDERS("{{sep}}", KZ_TEMPLATE_JSON, "a\\u2028b\\u2029c");
}

Test(rules_template, json_escape_of_every_control_character)
{
    struct kv one[] = { { "v", NULL }, { NULL, NULL } };
    char value[2] = { 0, 0 };
    one[0].value = value;
    for (int c = 1; c < 0x20; c++) {
        value[0] = (char)c;
        kz_buf b;
        kz_buf_init(&b, KZ_BUF_UNLIMITED);
        cr_assert_eq(kz_template_render(&b, "{{v}}", lookup, one, KZ_TEMPLATE_JSON), 0);
        const char *got = kz_buf_cstr(&b);
        cr_assert_eq(got[0], '\\', "0x%02x escaped", c);
        for (size_t i = 0; got[i]; i++)
            cr_assert((unsigned char)got[i] >= 0x20, "0x%02x: no raw control character left", c);
        kz_buf_free(&b);
    }
}

Test(rules_template, invalid_utf8_in_values)
{
    RENDERS("{{bad.utf8}}", KZ_TEMPLATE_PLAIN, "a\xff" "b");          /* plain text passes bytes through */
    RENDERS("{{bad.utf8}}", KZ_TEMPLATE_HTML, "a\xef\xbf\xbd" "b");  /* U+FFFD keeps the HTML valid */
    RENDERS("{{bad.utf8}}", KZ_TEMPLATE_JSON, "a\xef\xbf\xbd" "b");
}

Test(rules_template, literal_braces)
{
    RENDERS("{{\"{{\"}}account.name}}", KZ_TEMPLATE_PLAIN, "{{account.name}}");
    RENDERS("{{ \"{{\" }}x{{\"}}\"}}", KZ_TEMPLATE_PLAIN, "{{x}}");
    RENDERS("{{\"a \\\"q\\\"\"}}", KZ_TEMPLATE_PLAIN, "a \"q\"");
    RENDERS("{{\"\"}}", KZ_TEMPLATE_PLAIN, "");
    /* a value is never read as a template */
    RENDERS("{{braces}}", KZ_TEMPLATE_PLAIN, "{{not a placeholder}}");
}

Test(rules_template, japanese_text_and_values)
{
    RENDERS("{{jp}}様、いつもお世話になっております。", KZ_TEMPLATE_PLAIN,
            "株式会社さくらテック様、いつもお世話になっております。");
    RENDERS("【更新】{{ jp }}（{{field.region}}）", KZ_TEMPLATE_PLAIN, "【更新】株式会社さくらテック（JP）");
    cr_assert_eq(kz_template_check("{{account.name}}様 {{account.owner | \"担当\"}}", known, NULL), 0, "%s",
                 kz_error_msg());
}

Test(rules_template, check_accepts_valid_templates)
{
    static const char *const ok[] = {
        "",
        "no placeholders at all",
        "{{account.name}}",
        "{{ account.name }}",
        "{{account.owner | \"your CSM\"}}",
        "{{account.owner|\"\"}}",
        "{{field.region}} {{field.contract_tier}}",
        "{{today}}",
        "{{\"{{\"}}",
        "a } b { c }} d",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        cr_assert_eq(kz_template_check(ok[i], known, NULL), 0, "%s: %s", ok[i], kz_error_msg());
    cr_assert_eq(kz_template_check("{{anything.at_all}}", NULL, NULL), 0, "known NULL: any name");
}

Test(rules_template, unknown_placeholders_name_the_byte)
{
    fails("Hello team, {{acount.name}}", "at byte 14: unknown placeholder 'acount.name'");
    fails("{{ health }}", "at byte 3: unknown placeholder 'health'");
    fails("{{account.name}} {{nope | \"x\"}}", "at byte 19: unknown placeholder 'nope'");
    fails("{{field.}}", "at byte 2: bad placeholder name 'field.' (a '.' goes between two parts)");
    /* render does not check names: an unknown one is only missing */
    RENDERS("[{{acount.name}}]", KZ_TEMPLATE_PLAIN, "[]");
}

Test(rules_template, syntax_errors_name_the_byte)
{
    syntax_fails("abc{{account.name", "at byte 3: '{{' not closed");
    syntax_fails("abc{{", "at byte 3: '{{' not closed");
    syntax_fails("abc{{ ", "at byte 3: '{{' not closed");
    syntax_fails("{{account.name}", "at byte 0: '{{' not closed");
    syntax_fails("x {{account.name | \"d\"", "at byte 2: '{{' not closed");
    syntax_fails("x {{account.name |", "at byte 2: '{{' not closed");
    syntax_fails("Hi {{Account}} more", "at byte 5: unexpected 'A', expected a placeholder name ([a-z0-9_.]) or a quoted literal");
    syntax_fails("Hi {{Account", "at byte 3: '{{' not closed");
    syntax_fails("{{account.Name}}",
                 "at byte 10: unexpected 'N', expected a placeholder name ([a-z0-9_.]), '|' or '}}'");
    syntax_fails("{{account-name}}",
                 "at byte 9: unexpected '-', expected a placeholder name ([a-z0-9_.]), '|' or '}}'");
    syntax_fails("{{ a b }}", "at byte 5: unexpected 'b', expected '|' or '}}'");
    syntax_fails("{{}}", "at byte 0: empty placeholder");
    syntax_fails("ab{{  }}", "at byte 2: empty placeholder");
    syntax_fails("{{{{x}}}}", "at byte 2: unexpected '{', expected a placeholder name ([a-z0-9_.]) or a quoted literal");
    syntax_fails("{{.a}}", "at byte 2: bad placeholder name '.a' (a '.' goes between two parts)");
    syntax_fails("{{a..b}}", "at byte 2: bad placeholder name 'a..b' (a '.' goes between two parts)");
    syntax_fails("{{a | default}}", "at byte 6: unexpected 'd', expected a quoted default (\"...\") after '|'");
    syntax_fails("{{a | 'x'}}", "at byte 6: unexpected ''', expected a quoted default (\"...\") after '|'");
    syntax_fails("{{a | \"x}}", "at byte 6: quoted string not closed");
    syntax_fails("{{a | \"x\\", "at byte 6: quoted string not closed");
    syntax_fails("{{a | \"x\\n\"}}", "at byte 8: bad escape in a quoted string (only \\\" and \\\\)");
    syntax_fails("{{a | \"x\" \"y\"}}", "at byte 10: unexpected '\"', expected '}}' after the default");
    syntax_fails("{{a | \"x\" | \"y\"}}", "at byte 10: unexpected '|', expected '}}' after the default");
    syntax_fails("{{\"lit\" | \"x\"}}", "at byte 8: a quoted literal takes no default");
    syntax_fails("{{\"lit\" x}}", "at byte 8: unexpected 'x', expected '}}' after the quoted literal");
    syntax_fails("{{\"{{\"", "at byte 0: '{{' not closed");
    syntax_fails("{{\xe3\x81\x82}}", "at byte 2: unexpected byte 0xe3, expected a placeholder name ([a-z0-9_.]) or a quoted literal");
    syntax_fails("ok {{today}} then {{b", "at byte 18: '{{' not closed");
}

Test(rules_template, long_names)
{
    char tpl[KZ_TEMPLATE_NAME_MAX + 8];
    memset(tpl, 'a', sizeof tpl);
    tpl[0] = tpl[1] = '{';
    tpl[2 + KZ_TEMPLATE_NAME_MAX] = '}';
    tpl[3 + KZ_TEMPLATE_NAME_MAX] = '}';
    tpl[4 + KZ_TEMPLATE_NAME_MAX] = '\0';
    cr_assert_eq(kz_template_check(tpl, NULL, NULL), 0, "%d bytes is the limit: %s", KZ_TEMPLATE_NAME_MAX,
                 kz_error_msg());
    tpl[2 + KZ_TEMPLATE_NAME_MAX] = 'a';
    tpl[3 + KZ_TEMPLATE_NAME_MAX] = '}';
    tpl[4 + KZ_TEMPLATE_NAME_MAX] = '}';
    tpl[5 + KZ_TEMPLATE_NAME_MAX] = '\0';
    cr_assert_eq(kz_template_check(tpl, NULL, NULL), KZ_EINVALID);
    cr_assert_str_eq(kz_error_msg(), "at byte 2: placeholder name longer than 128 bytes");
}

Test(rules_template, invalid_utf8_in_the_template_is_rejected_by_check)
{
    fails("ok \xc3(", "at byte 3: invalid UTF-8");
    fails("{{account.name}}\xff", "at byte 16: invalid UTF-8");
    /* render stays safe with it: bytes outside placeholders pass through */
    RENDERS("\xff{{field.region}}", KZ_TEMPLATE_PLAIN, "\xff" "JP");
}

Test(rules_template, unknown_escape_is_rejected)
{
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_template_render(&b, "x", lookup, NULL, 3), KZ_EINVALID);
    cr_assert_eq(kz_template_render(&b, "x", lookup, NULL, -1), KZ_EINVALID);
    cr_assert_eq(b.len, 0);
    kz_buf_free(&b);
}

Test(rules_template, lookup_errors_end_the_render)
{
    kz_buf b;
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_template_render(&b, "a{{x}}b{{boom}}c", failing, NULL, 0), KZ_EIO);
    cr_assert_str_eq(kz_error_msg(), "the store went away");
    cr_assert_eq(b.len, 0, "out left as it was");
    kz_buf_free(&b);
}

Test(rules_template, the_buffer_cap_holds)
{
    kz_buf b;
    kz_buf_init(&b, 8);
    cr_assert_eq(kz_template_render(&b, "{{account.name}}", lookup, NULL, 0), KZ_ETOOBIG);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(kz_template_render(&b, "{{field.region}}", lookup, NULL, 0), 0);
    cr_assert_str_eq(kz_buf_cstr(&b), "JP");
    kz_buf_free(&b);
}

/* Every prefix of a set of templates, checked and rendered: no crash, no read
 * past the end (under make asan), and check and render agree on validity. */
Test(rules_template, every_prefix_is_safe)
{
    static const char *const tpls[] = {
        "Hi {{ account.name | \"there\" }}, {{\"{{\"}} {{field.region}} 株式会社 {{x|\"a\\\"b\\\\\"}}",
        "{{{{}}}} {{ | }} {{\"\\\"}} {{a.b.c}}",
    };
    for (size_t t = 0; t < sizeof tpls / sizeof *tpls; t++) {
        size_t n = strlen(tpls[t]);
        for (size_t k = 0; k <= n; k++) {
            char *p = strndup(tpls[t], k);
            cr_assert_not_null(p);
            kz_buf b;
            kz_buf_init(&b, KZ_BUF_UNLIMITED);
            int checked = kz_template_check(p, NULL, NULL);
            int rendered = kz_template_render(&b, p, lookup, NULL, KZ_TEMPLATE_HTML);
            /* a cut inside a UTF-8 character fails check only */
            if (checked == 0)
                cr_assert_eq(rendered, 0, "prefix %zu of template %zu", k, t);
            kz_buf_free(&b);
            free(p);
        }
    }
}
