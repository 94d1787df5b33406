/*
 * template.c - placeholders in the text of playbook actions (template.h).
 *
 * One parser, next_piece(), cuts a template into pieces (text, a quoted
 * literal, a placeholder with its optional default); kz_template_check and
 * kz_template_render both walk it, so what is checked is what is rendered.
 * Nothing is allocated but the scratch buffer that receives each value.
 */
#include "rules/template.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/text.h"

enum { PIECE_TEXT, PIECE_LITERAL, PIECE_VALUE };

struct piece {
    int kind;
    const char *text;  /* PIECE_TEXT: the text; PIECE_LITERAL: inside the quotes, escapes as written */
    size_t tn;
    const char *name;  /* PIECE_VALUE */
    size_t nn;
    size_t name_at;    /* offset of the name in the template */
    int has_def;
    const char *def;   /* inside the quotes, escapes as written */
    size_t dn;
};

static int syntax(size_t at, const char *fmt, ...) KZ_PRINTF(2, 3);

static int syntax(size_t at, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return kz_error_set(KZ_EINVALID, "at byte %zu: %s", at, why);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

static size_t skip_space(const char *t, size_t n, size_t i)
{
    while (i < n && is_space(t[i]))
        i++;
    return i;
}

static int closes_at(const char *t, size_t n, size_t i)
{
    return i + 1 < n && t[i] == '}' && t[i + 1] == '}';
}

/* Offset of the next "{{" at or after i, or n. */
static size_t find_open(const char *t, size_t n, size_t i)
{
    while (i + 1 < n) {
        const char *p = memchr(t + i, '{', n - i - 1);
        if (!p)
            return n;
        i = (size_t)(p - t);
        if (t[i + 1] == '{')
            return i;
        i++;
    }
    return n;
}

/* An unexpected character at i inside the placeholder opened at `open`. When
 * no "}}" follows at all, the real mistake is the missing close. */
static int unexpected(const char *t, size_t n, size_t open, size_t i, const char *expected)
{
    int any_close = 0;
    for (size_t k = i; k + 1 < n && !any_close; k++)
        any_close = closes_at(t, n, k);
    if (!any_close)
        return syntax(open, "'{{' not closed");
    unsigned char c = (unsigned char)t[i];
    if (c > 0x20 && c < 0x7f)
        return syntax(i, "unexpected '%c', expected %s", c, expected);
    return syntax(i, "unexpected byte 0x%02x, expected %s", c, expected);
}

/* The quoted string starting at t[*i] == '"': its inside is [*from, *to), and
 * *i moves past the closing quote. */
static int quoted(const char *t, size_t n, size_t *i, size_t *from, size_t *to)
{
    size_t q = *i, j = q + 1;
    while (j < n && t[j] != '"') {
        if (t[j] == '\\') {
            if (j + 1 >= n) {
                j = n;
                break;
            }
            if (t[j + 1] != '"' && t[j + 1] != '\\')
                return syntax(j, "bad escape in a quoted string (only \\\" and \\\\)");
            j++;
        }
        j++;
    }
    if (j >= n)
        return syntax(q, "quoted string not closed");
    *from = q + 1;
    *to = j;
    *i = j + 1;
    return KZ_OK;
}

static int check_name(const char *t, size_t from, size_t to)
{
    size_t nn = to - from;
    if (nn > KZ_TEMPLATE_NAME_MAX)
        return syntax(from, "placeholder name longer than %d bytes", KZ_TEMPLATE_NAME_MAX);
    int bad = t[from] == '.' || t[to - 1] == '.';
    for (size_t k = from; k + 1 < to && !bad; k++)
        bad = t[k] == '.' && t[k + 1] == '.';
    if (bad)
        return syntax(from, "bad placeholder name '%.*s' (a '.' goes between two parts)", (int)nn, t + from);
    return KZ_OK;
}

/* The placeholder opened at t[open] ("{{"); *pos moves past its "}}". */
static int placeholder(const char *t, size_t n, size_t open, size_t *pos, struct piece *p)
{
    size_t i = skip_space(t, n, open + 2), from, to;
    int rc;
    memset(p, 0, sizeof *p);
    if (i >= n)
        return syntax(open, "'{{' not closed");
    if (t[i] == '"') {
        if ((rc = quoted(t, n, &i, &from, &to)))
            return rc;
        p->kind = PIECE_LITERAL;
        p->text = t + from;
        p->tn = to - from;
        i = skip_space(t, n, i);
        if (i < n && t[i] == '|')
            return syntax(i, "a quoted literal takes no default");
        if (!closes_at(t, n, i))
            return i >= n ? syntax(open, "'{{' not closed") : unexpected(t, n, open, i, "'}}' after the quoted literal");
        *pos = i + 2;
        return KZ_OK;
    }
    if (closes_at(t, n, i))
        return syntax(open, "empty placeholder");
    if (!is_name_char(t[i]))
        return unexpected(t, n, open, i, "a placeholder name ([a-z0-9_.]) or a quoted literal");
    from = i;
    while (i < n && is_name_char(t[i]))
        i++;
    if (i < n && !is_space(t[i]) && t[i] != '}' && t[i] != '|')
        return unexpected(t, n, open, i, "a placeholder name ([a-z0-9_.]), '|' or '}}'");
    if ((rc = check_name(t, from, i)))
        return rc;
    p->kind = PIECE_VALUE;
    p->name = t + from;
    p->nn = i - from;
    p->name_at = from;
    i = skip_space(t, n, i);
    if (i < n && t[i] == '|') {
        i = skip_space(t, n, i + 1);
        if (i >= n)
            return syntax(open, "'{{' not closed");
        if (t[i] != '"')
            return unexpected(t, n, open, i, "a quoted default (\"...\") after '|'");
        if ((rc = quoted(t, n, &i, &from, &to)))
            return rc;
        p->has_def = 1;
        p->def = t + from;
        p->dn = to - from;
        i = skip_space(t, n, i);
    }
    if (!closes_at(t, n, i))
        return i >= n ? syntax(open, "'{{' not closed")
                      : unexpected(t, n, open, i, p->has_def ? "'}}' after the default" : "'|' or '}}'");
    *pos = i + 2;
    return KZ_OK;
}

/* The next piece of t from *pos: 1 and *p, 0 at the end, KZ_EINVALID. */
static int next_piece(const char *t, size_t n, size_t *pos, struct piece *p)
{
    size_t i = *pos;
    if (i >= n)
        return 0;
    size_t open = find_open(t, n, i);
    if (open > i) {
        memset(p, 0, sizeof *p);
        p->kind = PIECE_TEXT;
        p->text = t + i;
        p->tn = open - i;
        *pos = open;
        return 1;
    }
    int rc = placeholder(t, n, open, pos, p);
    return rc ? rc : 1;
}

int kz_template_check(const char *tpl, int (*known)(const char *name, size_t n), kz_buf *err)
{
    size_t n = strlen(tpl), pos = 0, bad = kz_utf8_invalid_at(tpl, n);
    struct piece p;
    int rc = KZ_OK, more = 0;

    if (bad < n) {
        rc = syntax(bad, "invalid UTF-8");
        goto done;
    }
    while ((more = next_piece(tpl, n, &pos, &p)) == 1) {
        if (p.kind == PIECE_VALUE && known && known(p.name, p.nn) != 1) {
            rc = syntax(p.name_at, "unknown placeholder '%.*s'", (int)p.nn, p.name);
            goto done;
        }
    }
    rc = more;
done:
    if (rc && err)
        (void)kz_buf_puts(err, kz_error_msg());
    return rc;
}

/* Appends the inside of a quoted string, its escapes undone. */
static int unquote(kz_buf *b, const char *s, size_t n)
{
    int rc = KZ_OK;
    size_t start = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (s[i] != '\\')
            continue;
        rc = kz_buf_append(b, s + start, i - start);
        start = ++i; /* the escaped character starts the next run */
    }
    return rc ? rc : kz_buf_append(b, s + start, n - start);
}

/* Appends valid UTF-8 s[0..n), escaped for HTML or the inside of a JSON string. */
static int escape_span(kz_buf *b, const char *s, size_t n, int escape)
{
    static const char hex[] = "0123456789abcdef";
    int rc = KZ_OK;
    size_t start = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
        size_t skip = 1;
        if (escape == KZ_TEMPLATE_HTML) {
            switch (c) {
            case '&': esc = "&amp;"; break;
            case '<': esc = "&lt;"; break;
            case '>': esc = "&gt;"; break;
            case '"': esc = "&quot;"; break;
            case '\'': esc = "&#39;"; break;
            case '\0': esc = "\xef\xbf\xbd"; break;
            default: continue;
            }
        } else {
            if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
                /* U+2028 and U+2029 are valid JSON but end a line in JavaScript */
                esc = (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
                skip = 3;
            } else if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
                continue;
            }
            switch (c) {
            case '"': esc = "\\\""; break;
            case '\\': esc = "\\\\"; break;
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\t': esc = "\\t"; break;
            case '\b': esc = "\\b"; break;
            case '\f': esc = "\\f"; break;
            default: break;
            }
        }
        rc = kz_buf_append(b, s + start, i - start);
        if (!rc)
            rc = esc ? kz_buf_puts(b, esc) : kz_buf_append(b, u, sizeof u);
        i += skip - 1;
        start = i + 1;
    }
    return rc ? rc : kz_buf_append(b, s + start, n - start);
}

/* Appends a value as escape says; invalid UTF-8 becomes U+FFFD when escaping,
 * so that the HTML or JSON written is valid whatever the data holds. */
static int emit(kz_buf *b, const char *s, size_t n, int escape)
{
    int rc = KZ_OK;
    size_t i = 0;
    if (escape == KZ_TEMPLATE_PLAIN)
        return kz_buf_append(b, s, n);
    while (i < n && !rc) {
        size_t bad = i + kz_utf8_invalid_at(s + i, n - i);
        rc = escape_span(b, s + i, bad - i, escape);
        if (!rc && bad < n)
            rc = kz_buf_puts(b, "\xef\xbf\xbd");
        i = bad + 1;
    }
    return rc;
}

int kz_template_render(kz_buf *out, const char *tpl, kz_template_lookup lookup, void *ctx, int escape)
{
    size_t n = strlen(tpl), pos = 0, start = out->len;
    struct piece p;
    kz_buf val;
    int rc = KZ_OK, more = 0;

    kz_buf_init(&val, out->max);
    if (escape != KZ_TEMPLATE_PLAIN && escape != KZ_TEMPLATE_HTML && escape != KZ_TEMPLATE_JSON) {
        rc = kz_error_set(KZ_EINVALID, "template: unknown escape %d", escape);
        goto done;
    }
    while (!rc && (more = next_piece(tpl, n, &pos, &p)) == 1) {
        if (p.kind == PIECE_TEXT) {
            rc = kz_buf_append(out, p.text, p.tn);
        } else if (p.kind == PIECE_LITERAL) {
            rc = unquote(out, p.text, p.tn);
        } else {
            int found = 0;
            kz_buf_reset(&val);
            if (lookup && (found = lookup(ctx, p.name, p.nn, &val)) < 0) {
                rc = found;
                break;
            }
            if (found > 0 && val.len > 0) {
                rc = emit(out, val.data, val.len, escape);
            } else if (p.has_def) {
                kz_buf_reset(&val);
                rc = unquote(&val, p.def, p.dn);
                if (!rc)
                    rc = emit(out, val.data ? val.data : "", val.len, escape);
            }
        }
    }
    if (!rc)
        rc = more;
done:
    kz_buf_free(&val);
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
    }
    return rc;
}
