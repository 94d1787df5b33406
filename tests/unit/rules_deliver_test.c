/*
 * rules_deliver_test.c - e-mail and webhook delivery (src/rules/deliver.c)
 * against real loopback servers (tests/support/loopback.c): what arrives,
 * how it is encoded and signed, and how failures are reported.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/error.h"
#include "rules/deliver.h"
#include "../support/loopback.h"
#include "../support/support.h"

static void setup(void)
{
    cr_assert_eq(kz_deliver_init(), 0, "%s", kz_error_msg());
    cr_assert_eq(kz_deliver_init(), 0, "a second init is a no-op");
}

TestSuite(rules_deliver, .init = setup);

/* ---- helpers: reading the received message ---------------------------------- */

static kz_smtp_conf conf_for(char *url, size_t cap, int port)
{
    snprintf(url, cap, "smtp://127.0.0.1:%d", port);
    return (kz_smtp_conf){ .url = url, .from = "Kizuna CS <cs@kizuna.example>", .timeout_ms = 10000 };
}

/* The header block of a message (up to the blank line). */
static size_t header_len(const char *msg)
{
    const char *e = strstr(msg, "\r\n\r\n");
    cr_assert_not_null(e, "no blank line after the headers");
    return (size_t)(e - msg) + 2;
}

/* The raw (still folded) value of a header, or NULL. */
static char *raw_header(const char *msg, const char *name)
{
    size_t hl = header_len(msg), k = strlen(name);
    for (const char *p = msg; p < msg + hl;) {
        const char *e = strstr(p, "\r\n");
        if (strncasecmp(p, name, k) == 0 && p[k] == ':') {
            const char *v = p + k + 1;
            while (*v == ' ')
                v++;
            /* continuation lines start with white space */
            while (e && (e[2] == ' ' || e[2] == '\t'))
                e = strstr(e + 2, "\r\n");
            return strndup(v, (size_t)(e - v));
        }
        p = e + 2;
    }
    return NULL;
}

/* The header unfolded (CRLF before white space removed). */
static char *header(const char *msg, const char *name)
{
    char *v = raw_header(msg, name);
    if (!v)
        return NULL;
    char *w = v;
    for (char *r = v; *r; r++) {
        if (r[0] == '\r' && r[1] == '\n') {
            r++;
            continue;
        }
        *w++ = *r;
    }
    *w = '\0';
    return v;
}

/* Decodes the RFC 2047 "=?UTF-8?B?...?=" words of an unfolded header value;
 * the white space between two adjacent encoded words is dropped. */
static char *decode_words(const char *v)
{
    size_t n = strlen(v);
    char *out = calloc(1, n + 1);
    size_t o = 0;
    int after_word = 0;
    cr_assert_not_null(out);
    for (size_t i = 0; i < n;) {
        if (strncmp(v + i, "=?UTF-8?B?", 10) == 0) {
            const char *b = v + i + 10, *e = strstr(b, "?=");
            size_t got = 0;
            cr_assert_not_null(e, "an encoded word without its end: %s", v);
            cr_assert_eq(sodium_base642bin((unsigned char *)out + o, n - o, b, (size_t)(e - b), NULL, &got, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0, "bad base64 in %s", v);
            o += got;
            i = (size_t)(e + 2 - v);
            after_word = 1;
            continue;
        }
        if (after_word && (v[i] == ' ' || v[i] == '\t')) {
            size_t j = i;
            while (v[j] == ' ' || v[j] == '\t')
                j++;
            if (strncmp(v + j, "=?UTF-8?B?", 10) == 0) {
                i = j;
                continue;
            }
        }
        after_word = 0;
        out[o++] = v[i++];
    }
    out[o] = '\0';
    return out;
}

/* The body, base64-decoded. */
static char *body_of(const char *msg)
{
    const char *b = msg + header_len(msg) + 2;
    size_t n = strlen(b), got = 0;
    char *out = calloc(1, n + 1);
    cr_assert_not_null(out);
    cr_assert_eq(sodium_base642bin((unsigned char *)out, n, b, n, "\r\n", &got, NULL, sodium_base64_VARIANT_ORIGINAL),
                 0, "the body is not base64: %s", b);
    out[got] = '\0';
    return out;
}

static void assert_lines_short(const char *msg)
{
    for (const char *p = msg; *p;) {
        const char *e = strstr(p, "\r\n");
        cr_assert_not_null(e, "a line without CRLF at the end of the message");
        cr_assert_leq((size_t)(e - p), 78, "a line of %zu characters: %.*s", (size_t)(e - p), (int)(e - p), p);
        for (const char *q = p; q < e; q++)
            cr_assert((unsigned char)*q < 0x80 && *q != '\n' && *q != '\r', "8-bit or bare CR/LF: %.*s",
                      (int)(e - p), p);
        p = e + 2;
    }
}

/* ---- e-mail -------------------------------------------------------------------- */

Test(rules_deliver, email_reaches_the_recipient_with_headers_and_body)
{
    kt_smtp *s = kt_smtp_start();
    char url[64];
    kz_smtp_conf c = conf_for(url, sizeof url, kt_smtp_port(s));
    const char *body = "Hello Acme,\n\nyour renewal is in 30 days.\n.a line that starts with a dot\n.\nBye\n";
    cr_assert_eq(kz_smtp_send(&c, "customer@example.com", "Renewal in 30 days", body, NULL), 0, "%s",
                 kz_error_msg());
    cr_assert(kt_smtp_wait(s, 1, 5000));
    cr_assert_eq(kt_smtp_count(s), 1);

    char *rcpt = kt_smtp_rcpt(s, 0), *sender = kt_smtp_sender(s, 0), *msg = kt_smtp_message(s, 0);
    cr_assert_str_eq(rcpt, "customer@example.com");
    cr_assert_str_eq(sender, "cs@kizuna.example");
    assert_lines_short(msg);

    char *subject = header(msg, "Subject"), *to = header(msg, "To"), *from = header(msg, "From");
    char *date = header(msg, "Date"), *mid = header(msg, "Message-ID"), *ct = header(msg, "Content-Type");
    char *mime = header(msg, "MIME-Version"), *cte = header(msg, "Content-Transfer-Encoding");
    cr_assert_str_eq(subject, "Renewal in 30 days");
    cr_assert_str_eq(to, "customer@example.com");
    cr_assert_str_eq(from, "Kizuna CS <cs@kizuna.example>");
    cr_assert_not_null(date);
    cr_assert(strlen(date) == 31 && kt_contains(date, " +0000"), "Date: %s", date);
    cr_assert_not_null(mid);
    cr_assert(mid[0] == '<' && kt_contains(mid, "@kizuna.example>"), "Message-ID: %s", mid);
    cr_assert_str_eq(ct, "text/plain; charset=UTF-8");
    cr_assert_str_eq(mime, "1.0");
    cr_assert_str_eq(cte, "base64");

    char *got = body_of(msg);
    cr_assert_str_eq(got, "Hello Acme,\r\n\r\nyour renewal is in 30 days.\r\n.a line that starts with a dot\r\n."
                          "\r\nBye\r\n");

    free(rcpt), free(sender), free(msg), free(subject), free(to), free(from), free(date), free(mid);
    free(ct), free(mime), free(cte), free(got);
    kt_smtp_stop(s);
}

Test(rules_deliver, email_japanese_subject_and_name_are_encoded_words)
{
    kt_smtp *s = kt_smtp_start();
    char url[64];
    kz_smtp_conf c = conf_for(url, sizeof url, kt_smtp_port(s));
    const char *subj = "【重要】ご契約の更新について：30日後に期限を迎えます。ご確認をお願いいたします";
    const char *text = "田中様\r\n\r\nいつもお世話になっております。\r\n";
    c.from = "\"Kizuna サポート\" <support@kizuna.example>";
    cr_assert_eq(kz_smtp_send(&c, "田中 太郎 <tanaka@example.jp>", subj, text, NULL), 0, "%s", kz_error_msg());
    cr_assert_eq(kt_smtp_count(s), 1);
    char *msg = kt_smtp_message(s, 0), *rcpt = kt_smtp_rcpt(s, 0);
    cr_assert_str_eq(rcpt, "tanaka@example.jp");
    assert_lines_short(msg); /* ASCII only, folded */

    char *raw = raw_header(msg, "Subject");
    cr_assert(strncmp(raw, "=?UTF-8?B?", 10) == 0, "Subject: %s", raw);
    cr_assert(kt_contains(raw, "\r\n "), "a long subject is folded: %s", raw);
    char *subject = header(msg, "Subject"), *dec = decode_words(subject);
    cr_assert_str_eq(dec, subj);

    char *to = header(msg, "To"), *to_dec = decode_words(to);
    cr_assert_str_eq(to_dec, "田中 太郎 <tanaka@example.jp>");
    char *from = header(msg, "From"), *from_dec = decode_words(from);
    cr_assert_str_eq(from_dec, "Kizuna サポート <support@kizuna.example>");
    char *body = body_of(msg);
    cr_assert_str_eq(body, text);

    free(msg), free(rcpt), free(raw), free(subject), free(dec), free(to), free(to_dec), free(from), free(from_dec);
    free(body);
    kt_smtp_stop(s);
}

Test(rules_deliver, email_to_several_recipients)
{
    kt_smtp *s = kt_smtp_start();
    char url[64];
    kz_smtp_conf c = conf_for(url, sizeof url, kt_smtp_port(s));
    cr_assert_eq(kz_smtp_send(&c, "a@example.com, \"Doe, Jane\" <jane@example.com>,b@example.org", "Hi", "x", NULL),
                 0, "%s", kz_error_msg());
    char *rcpt = kt_smtp_rcpt(s, 0), *msg = kt_smtp_message(s, 0), *to = header(msg, "To");
    cr_assert_str_eq(rcpt, "a@example.com,jane@example.com,b@example.org");
    cr_assert_str_eq(to, "a@example.com, \"Doe, Jane\" <jane@example.com>, b@example.org");
    free(rcpt), free(msg), free(to);
    kt_smtp_stop(s);
}

Test(rules_deliver, email_header_injection_and_bad_addresses_refused)
{
    kt_smtp *s = kt_smtp_start();
    char url[64];
    kz_smtp_conf c = conf_for(url, sizeof url, kt_smtp_port(s));
    cr_assert_eq(kz_smtp_send(&c, "a@example.com", "Hi\r\nBcc: victim@example.com", "x", NULL), KZ_EINVALID);
    cr_assert(kt_contains(kz_error_msg(), "subject"), "%s", kz_error_msg());
    cr_assert_eq(kz_smtp_send(&c, "a@example.com\nBcc: victim@example.com", "Hi", "x", NULL), KZ_EINVALID);
    cr_assert(kt_contains(kz_error_msg(), "to"), "%s", kz_error_msg());
    cr_assert_eq(kz_smtp_send(&c, "a@example.com", "Hi\rthere", "x", NULL), KZ_EINVALID);
    cr_assert_eq(kz_smtp_send(&c, "a@example.com", "Hi\x01", "x", NULL), KZ_EINVALID);
    kz_smtp_conf bad = c;
    bad.from = "cs@kizuna.example\r\nBcc: victim@example.com";
    cr_assert_eq(kz_smtp_send(&bad, "a@example.com", "Hi", "x", NULL), KZ_EINVALID);
    bad.from = "a@x.example, b@x.example";
    cr_assert_eq(kz_smtp_send(&bad, "a@example.com", "Hi", "x", NULL), KZ_EINVALID);

    kz_buf detail;
    kz_buf_init(&detail, 4096);
    const char *bad_to[] = { "", "not-an-address", "a@", "@b", "a b@example.com", "<a@example.com",
                             "a@example.com,,b@example.com", "tanaka@例え.jp", "\"unclosed <a@example.com>" };
    for (size_t i = 0; i < sizeof bad_to / sizeof *bad_to; i++) {
        cr_assert_eq(kz_smtp_send(&c, bad_to[i], "Hi", "x", &detail), KZ_EINVALID, "to '%s' accepted", bad_to[i]);
        cr_assert_str_eq(kz_buf_cstr(&detail), kz_error_msg());
    }
    cr_assert_eq(kz_smtp_send(&c, "a@example.com", "Hi", "bad \xff UTF-8", NULL), KZ_EINVALID);
    kz_smtp_conf http = c;
    http.url = "http://127.0.0.1:1";
    cr_assert_eq(kz_smtp_send(&http, "a@example.com", "Hi", "x", NULL), KZ_EINVALID);
    cr_assert_eq(kt_smtp_count(s), 0, "nothing refused reached the server");
    kz_buf_free(&detail);
    kt_smtp_stop(s);
}

Test(rules_deliver, email_server_451_is_eio_with_the_reply)
{
    kt_smtp *s = kt_smtp_start();
    char url[64];
    kz_smtp_conf c = conf_for(url, sizeof url, kt_smtp_port(s));
    kz_buf detail;
    kz_buf_init(&detail, 4096);
    kt_smtp_fail_next(s, 1);
    cr_assert_eq(kz_smtp_send(&c, "a@example.com", "Hi", "x", &detail), KZ_EIO);
    cr_assert(kt_contains(kz_error_msg(), url), "names the server: %s", kz_error_msg());
    cr_assert(kt_contains(kz_error_msg(), "451"), "has the reply: %s", kz_error_msg());
    cr_assert_str_eq(kz_buf_cstr(&detail), kz_error_msg());
    cr_assert_eq(kt_smtp_count(s), 0);
    /* the next attempt goes through, and the detail is emptied */
    cr_assert_eq(kz_smtp_send(&c, "a@example.com", "Hi", "x", &detail), 0, "%s", kz_error_msg());
    cr_assert_eq(detail.len, 0);
    cr_assert_eq(kt_smtp_count(s), 1);
    kz_buf_free(&detail);
    kt_smtp_stop(s);
}

Test(rules_deliver, email_closed_port_is_eio)
{
    kt_smtp *s = kt_smtp_start();
    int port = kt_smtp_port(s);
    kt_smtp_stop(s); /* nobody listens there now */
    char url[64];
    kz_smtp_conf c = conf_for(url, sizeof url, port);
    cr_assert_eq(kz_smtp_send(&c, "a@example.com", "Hi", "x", NULL), KZ_EIO);
    cr_assert(kt_contains(kz_error_msg(), url), "%s", kz_error_msg());
}

Test(rules_deliver, email_starttls_required_but_not_offered_is_eio)
{
    kt_smtp *s = kt_smtp_start();
    char url[64];
    kz_smtp_conf c = conf_for(url, sizeof url, kt_smtp_port(s));
    c.starttls = 2;
    cr_assert_eq(kz_smtp_send(&c, "a@example.com", "Hi", "x", NULL), KZ_EIO);
    cr_assert_eq(kt_smtp_count(s), 0, "nothing sent in plain text");
    c.starttls = 1; /* try: goes on without */
    cr_assert_eq(kz_smtp_send(&c, "a@example.com", "Hi", "x", NULL), 0, "%s", kz_error_msg());
    cr_assert_eq(kt_smtp_count(s), 1);
    kt_smtp_stop(s);
}

/* ---- webhooks -------------------------------------------------------------------- */

#define BODY "{\"event\":\"churn_risk\",\"account\":\"acme\"}"
#define BODY_SIG "6695a0268699292111ff1bf2f662a4798bd1e1346776990ba7d971bc46ce881e" /* Python's hmac */

Test(rules_deliver, webhook_sign_matches_a_reference_hmac)
{
    char hex[65];
    cr_assert_eq(kz_webhook_sign(hex, "s3cr3t", "1767225600", BODY, strlen(BODY)), 0);
    cr_assert_str_eq(hex, BODY_SIG);
    /* a key longer than SHA-256's block */
    cr_assert_eq(kz_webhook_sign(hex, "a-much-longer-secret-than-the-sixty-four-byte-block-of-sha256-so-it-is-hashed-"
                                      "first", "1", NULL, 0), 0);
    cr_assert_str_eq(hex, "88c54aaf9b3154b0c126b9bd9f6106bc76844973e422101a36ce8aba81f7ae4b");
    cr_assert_eq(kz_webhook_sign(hex, "", "1", "x", 1), KZ_EINVALID);
    cr_assert_eq(kz_webhook_sign(hex, NULL, "1", "x", 1), KZ_EINVALID);
    cr_assert_eq(kz_webhook_sign(hex, "k", "12a", "x", 1), KZ_EINVALID);
    cr_assert_eq(kz_webhook_sign(hex, "k", "", "x", 1), KZ_EINVALID);
    cr_assert_str_eq(hex, "");
}

Test(rules_deliver, webhook_post_signed_and_verified)
{
    kt_hook *h = kt_hook_start();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hooks/cs", kt_hook_port(h));
    kz_hook_result res = { -1 };
    cr_assert_eq(kz_webhook_post(url, "s3cr3t", BODY, strlen(BODY), 10000, 1767225600, &res), 0, "%s",
                 kz_error_msg());
    cr_assert_eq(res.status, 200);
    cr_assert(kt_hook_wait(h, 1, 5000));

    char *line = kt_hook_request_line(h, 0), *body = kt_hook_body(h, 0);
    char *ts = kt_hook_header(h, 0, "x-kizuna-timestamp"), *sig = kt_hook_header(h, 0, "X-Kizuna-Signature");
    char *ct = kt_hook_header(h, 0, "Content-Type"), *ua = kt_hook_header(h, 0, "user-agent");
    cr_assert_str_eq(line, "POST /hooks/cs HTTP/1.1");
    cr_assert_str_eq(body, BODY);
    cr_assert_str_eq(ts, "1767225600");
    cr_assert_str_eq(sig, "v1=" BODY_SIG);
    cr_assert_str_eq(ct, "application/json");
    cr_assert_str_eq(ua, "kizuna");
    cr_assert_null(kt_hook_header(h, 0, "X-Missing"));

    size_t n = strlen(body);
    cr_assert_eq(kz_webhook_verify("s3cr3t", ts, body, n, sig), 0, "%s", kz_error_msg());
    cr_assert_eq(kz_webhook_verify("wrong", ts, body, n, sig), KZ_EINVALID);
    body[n - 2] = 'X'; /* tampered */
    cr_assert_eq(kz_webhook_verify("s3cr3t", ts, body, n, sig), KZ_EINVALID);
    body[n - 2] = BODY[n - 2];
    cr_assert_eq(kz_webhook_verify("s3cr3t", "1767225601", body, n, sig), KZ_EINVALID);
    cr_assert_eq(kz_webhook_verify("s3cr3t", ts, body, n - 1, sig), KZ_EINVALID);
    const char *bad[] = { NULL, "", "v1=", "v2=" BODY_SIG, BODY_SIG, "v1=" BODY_SIG "00", "v1=zz95a0268699292111ff1bf2f662a4798bd1e1346776990ba7d971bc46ce881e" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(kz_webhook_verify("s3cr3t", ts, body, n, bad[i]), KZ_EINVALID, "'%s' accepted",
                     bad[i] ? bad[i] : "(null)");

    free(line), free(body), free(ts), free(sig), free(ct), free(ua);
    kt_hook_stop(h);
}

Test(rules_deliver, webhook_without_secret_is_not_signed)
{
    kt_hook *h = kt_hook_start();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", kt_hook_port(h));
    /* a body above curl's 1 KiB Expect: 100-continue threshold */
    kz_buf big;
    kz_buf_init(&big, KZ_BUF_UNLIMITED);
    cr_assert_eq(kz_buf_puts(&big, "{\"pad\":\""), 0);
    for (int i = 0; i < 5000; i++)
        cr_assert_eq(kz_buf_putc(&big, 'a' + i % 26), 0);
    cr_assert_eq(kz_buf_puts(&big, "\"}"), 0);
    kz_hook_result res;
    cr_assert_eq(kz_webhook_post(url, NULL, big.data, big.len, 10000, 1, &res), 0, "%s", kz_error_msg());
    char *body = kt_hook_body(h, 0);
    cr_assert_str_eq(body, big.data);
    cr_assert_null(kt_hook_header(h, 0, "X-Kizuna-Signature"));
    cr_assert_null(kt_hook_header(h, 0, "X-Kizuna-Timestamp"));
    cr_assert_null(kt_hook_header(h, 0, "Expect"));
    free(body);
    kz_buf_free(&big);
    kt_hook_stop(h);
}

Test(rules_deliver, webhook_500_is_eio_with_status_and_no_secret_path)
{
    kt_hook *h = kt_hook_start();
    char url[128], origin[64];
    snprintf(origin, sizeof origin, "http://127.0.0.1:%d", kt_hook_port(h));
    snprintf(url, sizeof url, "%s/services/T000/B000/secret-token?x=1", origin);
    kz_hook_result res = { 0 };
    kt_hook_fail_next(h, 2);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(kz_webhook_post(url, "k", "{}", 2, 10000, 1767225600, &res), KZ_EIO);
        cr_assert_eq(res.status, 500);
        char want[96];
        snprintf(want, sizeof want, "%s: HTTP 500", origin);
        cr_assert_str_eq(kz_error_msg(), want);
        cr_assert(!kt_contains(kz_error_msg(), "secret-token"));
    }
    cr_assert_eq(kz_webhook_post(url, "k", "{}", 2, 10000, 1767225600, &res), 0, "%s", kz_error_msg());
    cr_assert_eq(res.status, 200);
    cr_assert_eq(kt_hook_count(h), 3, "failed requests are counted too");
    kt_hook_stop(h);
}

Test(rules_deliver, webhook_closed_port_is_eio_without_status)
{
    kt_hook *h = kt_hook_start();
    int port = kt_hook_port(h);
    kt_hook_stop(h);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", port);
    kz_hook_result res = { 123 };
    cr_assert_eq(kz_webhook_post(url, NULL, "{}", 2, 10000, 1, &res), KZ_EIO);
    cr_assert_eq(res.status, 0);
    cr_assert(kt_contains(kz_error_msg(), "127.0.0.1"), "%s", kz_error_msg());
}

Test(rules_deliver, webhook_only_http_and_https)
{
    const char *bad[] = { "file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/", "smtp://127.0.0.1/",
                          "dict://127.0.0.1:11211/stat", "127.0.0.1/x", "", " http://127.0.0.1/" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        kz_hook_result res = { 7 };
        cr_assert_eq(kz_webhook_post(bad[i], NULL, "{}", 2, 1000, 1, &res), KZ_EINVALID, "'%s' accepted", bad[i]);
        cr_assert_eq(res.status, 0);
    }
    cr_assert_eq(kz_webhook_post(NULL, NULL, "{}", 2, 1000, 1, NULL), KZ_EINVALID);
    cr_assert_eq(kz_webhook_post("http://127.0.0.1:1/", "", "{}", 2, 1000, 1, NULL), KZ_EINVALID, "empty secret");
}

Test(rules_deliver, slack_body_is_escaped_json)
{
    const char *text = "Acme said \"cancel\"\nnext line\ttab \\ back 日本語の顧客 \x01";
    kz_buf b;
    kz_buf_init(&b, 4096);
    cr_assert_eq(kz_webhook_slack_body(&b, text), 0);
    cr_assert(kt_contains(b.data, "\\\"cancel\\\""), "%s", b.data);
    cr_assert(kt_contains(b.data, "\\n"), "%s", b.data);
    cr_assert(!strchr(b.data, '\n'), "%s", b.data);
    cJSON *j = cJSON_Parse(b.data);
    cr_assert_not_null(j, "not JSON: %s", b.data);
    cr_assert_eq(cJSON_GetArraySize(j), 1);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "text");
    cr_assert(cJSON_IsString(t));
    cr_assert_str_eq(t->valuestring, text);
    cJSON_Delete(j);

    size_t was = b.len;
    cr_assert_eq(kz_webhook_slack_body(&b, "bad \xff"), KZ_EINVALID);
    cr_assert_eq(kz_webhook_slack_body(&b, NULL), KZ_EINVALID);
    cr_assert_eq(b.len, was);
    kz_buf small;
    kz_buf_init(&small, 10);
    cr_assert_eq(kz_webhook_slack_body(&small, "longer than ten bytes"), KZ_ETOOBIG);
    cr_assert_eq(small.len, 0);
    kz_buf_free(&small);
    kz_buf_free(&b);
}

Test(rules_deliver, retry_delays_double_from_a_minute_to_six_hours)
{
    const int64_t want[] = { 0, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600 };
    for (int i = 0; i < (int)(sizeof want / sizeof *want); i++)
        cr_assert_eq(kz_retry_delay(i, 60), want[i], "attempt %d: %lld", i, (long long)kz_retry_delay(i, 60));
    cr_assert_eq(kz_retry_delay(3, 0), 240, "0: the default minute");
    cr_assert_eq(kz_retry_delay(-5, 60), 0);
    cr_assert_eq(kz_retry_delay(100, 60), 21600);
    cr_assert_eq(kz_retry_delay(INT_MAX, 60), 21600);
    /* rules.retry_first_seconds */
    cr_assert_eq(kz_retry_delay(1, 2), 2);
    cr_assert_eq(kz_retry_delay(4, 2), 16);
    cr_assert_eq(kz_retry_delay(1, 100000), 21600, "never more than the cap");
    cr_assert_eq(kz_retry_max(), 8);
}
