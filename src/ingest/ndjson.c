/*
 * ndjson.c - the flat JSON object scanner of ndjson.h.
 */
#include "ingest/ndjson.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"

#define NOFF SIZE_MAX

void kz_ndjson_init(kz_ndjson *p, size_t max)
{
    memset(p, 0, sizeof *p);
    kz_buf_init(&p->scratch, max);
}

void kz_ndjson_free(kz_ndjson *p)
{
    free(p->pairs);
    free(p->off);
    kz_buf_free(&p->scratch);
    memset(p, 0, sizeof *p);
}

const char *kz_jtype_name(kz_jtype t)
{
    static const char *names[] = { "null", "string", "number", "boolean", "object", "array" };
    return names[t];
}

struct cur {
    const char *s;
    size_t n, i;
};

static int fail(const struct cur *c, const char *what)
{
    return kz_error_set(KZ_EINVALID, "column %zu: %s", c->i + 1, what);
}

static void ws(struct cur *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\r' || c->s[c->i] == '\n'))
        c->i++;
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char ch = s[k];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (uint32_t)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (uint32_t)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (uint32_t)(ch - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int put_utf8(kz_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return kz_buf_append(b, u, n);
}

/* Reads a string at c->i (on the opening quote). Without escapes the result
 * points into the input (*off = NOFF); with escapes it is decoded into scratch
 * at *off. */
static int string(kz_ndjson *p, struct cur *c, const char **out, size_t *len, size_t *off)
{
    size_t start = ++c->i;
    size_t so = NOFF;
    for (;;) {
        size_t run = c->i;
        while (c->i < c->n && c->s[c->i] != '"' && c->s[c->i] != '\\' && (unsigned char)c->s[c->i] >= 0x20)
            c->i++;
        if (c->i >= c->n)
            return fail(c, "unterminated string");
        char ch = c->s[c->i];
        if ((unsigned char)ch < 0x20)
            return fail(c, "control character inside a string (escape it)");
        if (so != NOFF && kz_buf_append(&p->scratch, c->s + run, c->i - run))
            return KZ_ETOOBIG;
        if (ch == '"') {
            c->i++;
            if (so == NOFF) {
                *out = c->s + start;
                *len = c->i - 1 - start;
                *off = NOFF;
            } else {
                *out = NULL;
                *len = p->scratch.len - so;
                *off = so;
            }
            return KZ_OK;
        }
        /* backslash */
        if (so == NOFF) {
            so = p->scratch.len;
            if (kz_buf_append(&p->scratch, c->s + start, c->i - start))
                return KZ_ETOOBIG;
        }
        if (c->i + 1 >= c->n)
            return fail(c, "unterminated escape");
        char e = c->s[c->i + 1];
        const char *rep = NULL;
        switch (e) {
        case '"': rep = "\""; break;
        case '\\': rep = "\\"; break;
        case '/': rep = "/"; break;
        case 'b': rep = "\b"; break;
        case 'f': rep = "\f"; break;
        case 'n': rep = "\n"; break;
        case 'r': rep = "\r"; break;
        case 't': rep = "\t"; break;
        case 'u': break;
        default: return fail(c, "invalid escape in a string");
        }
        if (rep) {
            if (kz_buf_append(&p->scratch, rep, 1))
                return KZ_ETOOBIG;
            c->i += 2;
            continue;
        }
        uint32_t cp;
        if (c->i + 6 > c->n || hex4(c->s + c->i + 2, &cp))
            return fail(c, "invalid \\u escape");
        c->i += 6;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t lo;
            if (c->i + 6 > c->n || c->s[c->i] != '\\' || c->s[c->i + 1] != 'u' || hex4(c->s + c->i + 2, &lo) ||
                lo < 0xdc00 || lo > 0xdfff)
                return fail(c, "unpaired surrogate in a \\u escape");
            c->i += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return fail(c, "unpaired surrogate in a \\u escape");
        }
        if (put_utf8(&p->scratch, cp))
            return KZ_ETOOBIG;
    }
}

static int number(struct cur *c)
{
    size_t i = c->i;
    const char *s = c->s;
    if (i < c->n && s[i] == '-')
        i++;
    if (i >= c->n)
        return fail(c, "bad number");
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < c->n && s[i] >= '0' && s[i] <= '9')
            i++;
    } else {
        return fail(c, "bad number");
    }
    if (i < c->n && s[i] == '.') {
        i++;
        if (i >= c->n || s[i] < '0' || s[i] > '9')
            return fail(c, "bad number: digits must follow '.'");
        while (i < c->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < c->n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < c->n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= c->n || s[i] < '0' || s[i] > '9')
            return fail(c, "bad number: digits must follow the exponent");
        while (i < c->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    c->i = i;
    return KZ_OK;
}

/* Skips a nested object or array, returning its span; then validates it. */
static int nested(struct cur *c, const char **out, size_t *len)
{
    size_t start = c->i;
    int depth = 0;
    while (c->i < c->n) {
        char ch = c->s[c->i];
        if (ch == '"') {
            c->i++;
            while (c->i < c->n && c->s[c->i] != '"') {
                if (c->s[c->i] == '\\')
                    c->i++;
                c->i++;
            }
            if (c->i >= c->n)
                return fail(c, "unterminated string");
        } else if (ch == '{' || ch == '[') {
            if (++depth > 64)
                return fail(c, "nesting deeper than 64 levels");
        } else if (ch == '}' || ch == ']') {
            if (--depth == 0) {
                c->i++;
                *out = c->s + start;
                *len = c->i - start;
                cJSON *j = cJSON_ParseWithLength(*out, *len);
                if (!j) {
                    c->i = start;
                    return fail(c, "invalid JSON inside a nested value");
                }
                cJSON_Delete(j);
                return KZ_OK;
            }
        }
        c->i++;
    }
    return fail(c, "unterminated object or array");
}

static int push(kz_ndjson *p)
{
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 32;
        kz_jpair *np = realloc(p->pairs, ncap * sizeof *np);
        if (!np)
            return kz_error_oom();
        p->pairs = np;
        size_t *no = realloc(p->off, ncap * 2 * sizeof *no);
        if (!no)
            return kz_error_oom();
        p->off = no;
        p->cap = ncap;
    }
    p->n++;
    return KZ_OK;
}

static int dup_key(const kz_jpair *pr)
{
    int len = (int)(pr->key_len > 64 ? 64 : pr->key_len);
    return kz_error_set(KZ_EINVALID, "key '%.*s' appears twice", len, pr->key);
}

int kz_ndjson_parse(kz_ndjson *p, const char *line, size_t n)
{
    struct cur c = { line, n, 0 };
    int rc;

    p->n = 0;
    kz_buf_reset(&p->scratch);
    ws(&c);
    if (c.i >= c.n || c.s[c.i] != '{')
        return fail(&c, "expected a JSON object ('{')");
    c.i++;
    ws(&c);
    if (c.i < c.n && c.s[c.i] == '}') {
        c.i++;
    } else {
        for (;;) {
            ws(&c);
            if (c.i >= c.n || c.s[c.i] != '"')
                return fail(&c, "expected a key in double quotes");
            if ((rc = push(p)))
                return rc;
            kz_jpair *pr = &p->pairs[p->n - 1];
            size_t *koff = &p->off[2 * (p->n - 1)], *voff = &p->off[2 * (p->n - 1) + 1];
            *voff = NOFF;
            if ((rc = string(p, &c, &pr->key, &pr->key_len, koff)))
                return rc == KZ_ETOOBIG ? fail(&c, "line too long") : rc;
            ws(&c);
            if (c.i >= c.n || c.s[c.i] != ':')
                return fail(&c, "expected ':' after a key");
            c.i++;
            ws(&c);
            if (c.i >= c.n)
                return fail(&c, "expected a value");
            char ch = c.s[c.i];
            size_t vstart = c.i;
            if (ch == '"') {
                pr->type = KZ_JSTRING;
                if ((rc = string(p, &c, &pr->val, &pr->val_len, voff)))
                    return rc == KZ_ETOOBIG ? fail(&c, "line too long") : rc;
            } else if (ch == '{' || ch == '[') {
                pr->type = ch == '{' ? KZ_JOBJECT : KZ_JARRAY;
                if ((rc = nested(&c, &pr->val, &pr->val_len)))
                    return rc;
            } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
                pr->type = KZ_JNUMBER;
                if ((rc = number(&c)))
                    return rc;
                pr->val = c.s + vstart;
                pr->val_len = c.i - vstart;
            } else if (c.n - c.i >= 4 && memcmp(c.s + c.i, "true", 4) == 0) {
                pr->type = KZ_JBOOL;
                pr->val = "true";
                pr->val_len = 4;
                c.i += 4;
            } else if (c.n - c.i >= 5 && memcmp(c.s + c.i, "false", 5) == 0) {
                pr->type = KZ_JBOOL;
                pr->val = "false";
                pr->val_len = 5;
                c.i += 5;
            } else if (c.n - c.i >= 4 && memcmp(c.s + c.i, "null", 4) == 0) {
                pr->type = KZ_JNULL;
                pr->val = NULL;
                pr->val_len = 0;
                c.i += 4;
            } else {
                return fail(&c, "expected a value (string, number, true, false, null, object or array)");
            }
            ws(&c);
            if (c.i < c.n && c.s[c.i] == ',') {
                c.i++;
                continue;
            }
            if (c.i < c.n && c.s[c.i] == '}') {
                c.i++;
                break;
            }
            return fail(&c, "expected ',' or '}' after a value");
        }
    }
    ws(&c);
    if (c.i != c.n)
        return fail(&c, "unexpected text after the object");
    /* point decoded strings into the finished scratch buffer */
    for (size_t k = 0; k < p->n; k++) {
        if (p->off[2 * k] != NOFF)
            p->pairs[k].key = p->scratch.data + p->off[2 * k];
        if (p->off[2 * k + 1] != NOFF)
            p->pairs[k].val = p->scratch.data + p->off[2 * k + 1];
    }
    /* duplicate keys are ambiguous: refuse them (a map for wide objects keeps
     * this linear) */
    if (p->n <= 32) {
        for (size_t a = 0; a < p->n; a++)
            for (size_t b = a + 1; b < p->n; b++)
                if (p->pairs[a].key_len == p->pairs[b].key_len &&
                    memcmp(p->pairs[a].key, p->pairs[b].key, p->pairs[a].key_len) == 0)
                    return dup_key(&p->pairs[a]);
    } else {
        kz_strmap *seen = kz_strmap_new(p->n);
        if (!seen)
            return KZ_ENOMEM;
        for (size_t a = 0; a < p->n; a++) {
            if (kz_strmap_get(seen, p->pairs[a].key, p->pairs[a].key_len) >= 0) {
                kz_strmap_free(seen);
                return dup_key(&p->pairs[a]);
            }
            if (kz_strmap_put(seen, p->pairs[a].key, p->pairs[a].key_len, 1)) {
                kz_strmap_free(seen);
                return KZ_ENOMEM;
            }
        }
        kz_strmap_free(seen);
    }
    return KZ_OK;
}
