/*
 * template.h - the text templates of playbook actions: e-mail subject and
 * body, task title and body, webhook text, notes, set_field values.
 *
 * Syntax (a template is UTF-8 text; everything outside "{{ }}" is copied as is):
 *
 *   {{name}}               the value of name; empty when it has none
 *   {{ name }}             white space (space, tab, CR, LF) inside the braces is allowed
 *   {{name | "default"}}   the default when the value is missing or empty
 *   {{"{{"}}               a quoted literal alone yields the literal: the way to write "{{"
 *
 * Names are [a-z0-9_.]+, without a leading, trailing or doubled '.', at most
 * KZ_TEMPLATE_NAME_MAX bytes: account.name, account.owner, field.region, rule.title,
 * health.score. A quoted string knows two escapes, \" and \\. "{{{{" is not
 * special: it is an opening "{{" followed by a '{' where a name is due, an error.
 * A lone '{', or "}}" outside a placeholder, is plain text.
 *
 * Escaping applies to values and defaults (they stand for a value), never to
 * the template's own text or its quoted literals, which the rule's author
 * writes for the target format.
 *
 * Offsets in messages ("at byte N: ...") count bytes of the template from 0.
 * This file knows nothing of which names a rule may use (rule.h,
 * kz_rule_placeholder_known) or where values come from (the lookup).
 */
#ifndef KZ_RULES_TEMPLATE_H
#define KZ_RULES_TEMPLATE_H

#include <stddef.h>

#include "core/buf.h"

#define KZ_TEMPLATE_NAME_MAX 128

/* The escape argument of kz_template_render. */
enum {
    KZ_TEMPLATE_PLAIN = 0, /* values copied as they are */
    KZ_TEMPLATE_HTML = 1,  /* & < > " ' become entities; NUL and invalid UTF-8 become U+FFFD */
    KZ_TEMPLATE_JSON = 2   /* the inside of a JSON string: \" \\ \n \r \t \b \f, \u00XX for
                            * other control characters; invalid UTF-8 becomes U+FFFD */
};

/* Finds the value of name[0..n) (not NUL-terminated; a valid name) and appends
 * it to out, unescaped. Returns 1 when found, 0 when the name has no value, a
 * negative KZ_E* code (with kz_error_set) on failure, which ends the rendering. */
typedef int (*kz_template_lookup)(void *ctx, const char *name, size_t n, kz_buf *out);

/* Checks the syntax of tpl and, when known is not NULL, that known() returns 1
 * for every name. Also rejects invalid UTF-8 in the template. Returns 0, or
 * KZ_EINVALID with the message "at byte N: reason" ("at byte 3: '{{' not closed",
 * "at byte 12: unknown placeholder 'acount.name'"); the first problem only.
 * When err is not NULL the same message is appended to it as well (an append
 * failure is not reported: the return code stays KZ_EINVALID). */
int kz_template_check(const char *tpl, int (*known)(const char *name, size_t n), kz_buf *err);

/* Appends tpl to out with every placeholder replaced by its value (lookup) or
 * default, escaped as escape says (KZ_TEMPLATE_*). A name without a value and
 * without a default renders as "". Names are not checked against a list here
 * (kz_template_check does that when the rule is read). Returns 0; KZ_EINVALID
 * for a syntax error (same message as kz_template_check) or an unknown escape;
 * the lookup's negative code; KZ_ETOOBIG / KZ_ENOMEM from out. On failure out
 * is left as it was before the call. */
int kz_template_render(kz_buf *out, const char *tpl, kz_template_lookup lookup, void *ctx, int escape);

#endif
