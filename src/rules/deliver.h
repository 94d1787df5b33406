/*
 * deliver.h - carrying remote playbook actions out: e-mail over SMTP and
 * webhooks over HTTP(S), with signed bodies and a retry schedule.
 *
 * This file sends one message and says whether it went; it does not queue,
 * retry or remember anything. The caller (the action queue of act.c) keeps
 * the deliveries, asks kz_retry_delay() when to try again and gives up after
 * kz_retry_max() attempts. Nothing here reads the configuration: servers,
 * secrets and timeouts are passed in.
 *
 * Transport is libcurl (easy interface, one handle per call, no signals, so
 * any thread may send once kz_deliver_init() has run); HMAC is libsodium.
 * Ownership: nothing handed out; inputs are borrowed for the call.
 */
#ifndef KZ_RULES_DELIVER_H
#define KZ_RULES_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* The process-wide set-up of libcurl (curl_global_init) and libsodium.
 * Call it once from the main thread before any other thread starts and
 * before any function below; it is NOT thread-safe (curl_global_init is not
 * on every build). Calling it again is a no-op. 0 or KZ_ERROR. */
int kz_deliver_init(void);

/* ---- e-mail ------------------------------------------------------------ */

typedef struct kz_smtp_conf {
    const char *url;              /* "smtp://host:port" or "smtps://host:port" (TLS from the start) */
    const char *user, *password;  /* may be NULL: no authentication */
    const char *from;             /* "addr@domain" or "Name <addr@domain>" */
    int starttls;                 /* smtp://: 0 none, 1 try (plain text when refused), 2 required */
    long timeout_ms;              /* the whole exchange; <= 0: 30 s */
} kz_smtp_conf;

/* Sends one plain-text e-mail. to is one or more addresses separated by
 * commas ("a@x.jp, Tanaka <t@y.jp>"); subject and body are UTF-8 (NULL is
 * empty). The message has Date, From, To, Subject (RFC 2047 encoded words
 * when not ASCII), Message-ID, MIME-Version and a text/plain; charset=UTF-8
 * body in base64 (line breaks made CRLF first), so no server sees a long
 * line or 8-bit data. Display names that are not ASCII are encoded too;
 * addresses themselves must be ASCII.
 *
 * Returns 0 when the server accepted the message for every recipient;
 * KZ_EINVALID for a CR or LF (header injection) or another control
 * character in to, subject or from, invalid UTF-8, an empty or malformed
 * address or a URL that is not smtp:// or smtps://; KZ_ETOOBIG past 32 MiB;
 * KZ_EIO when the exchange failed, with "smtp://host:port: <the server's
 * reply when it refused> (<curl's reason>)". When err_detail is not NULL it
 * is reset and, on failure, receives the same text, uncut (the per-thread
 * message may be truncated). */
int kz_smtp_send(const kz_smtp_conf *c, const char *to, const char *subject, const char *body,
                 kz_buf *err_detail);

/* ---- webhooks ------------------------------------------------------------ */

typedef struct kz_hook_result {
    long status; /* HTTP status of the response, 0 when none came */
} kz_hook_result;

/* The signature of a webhook body: HMAC-SHA256, keyed with the bytes of
 * secret, over timestamp (decimal Unix seconds, digits only), '.', then the
 * n bytes of body; written as 64 lowercase hex digits and a NUL. 0, or
 * KZ_EINVALID for a NULL or empty secret or a timestamp that is not digits
 * (out_hex is then ""). body may be NULL when n is 0. */
int kz_webhook_sign(char out_hex[65], const char *secret, const char *timestamp, const char *body, size_t n);

/* Checks a received X-Kizuna-Signature header ("v1=<64 hex digits>") against
 * the body and the X-Kizuna-Timestamp it came with, in constant time.
 * 0 when valid, else KZ_EINVALID. It does not judge the timestamp's age:
 * receivers should also refuse timestamps far from their clock (replays). */
int kz_webhook_verify(const char *secret, const char *timestamp, const char *body, size_t n,
                      const char *signature_header);

/* POSTs the n bytes of body (JSON) to url with Content-Type:
 * application/json and User-Agent: kizuna; when secret is not NULL, also
 * X-Kizuna-Timestamp: <now> (Unix seconds) and X-Kizuna-Signature: v1=<hex>
 * (kz_webhook_sign). Only http:// and https:// URLs; redirects are not
 * followed (a 3xx is a failure); the response body is read and dropped.
 * timeout_ms <= 0 means 30 s. res (may be NULL) receives the status either way.
 *
 * Returns 0 on a 2xx; KZ_EINVALID for another scheme, an empty secret or a
 * malformed URL; KZ_EIO with "<origin>: HTTP 500" or "<origin>: <curl's
 * reason>" otherwise. <origin> is scheme://host[:port] only: the path and the
 * query of webhook URLs are often secrets (Slack's are), so they are never
 * put into messages. */
int kz_webhook_post(const char *url, const char *secret, const char *body, size_t n, long timeout_ms, int64_t now,
                    kz_hook_result *res);

/* Appends the Slack-compatible body {"text":"..."} (escaped JSON) to out.
 * 0, KZ_EINVALID when text is NULL or not UTF-8, or out's error (KZ_ETOOBIG,
 * KZ_ENOMEM), out then left as it was. */
int kz_webhook_slack_body(kz_buf *out, const char *text);

/* ---- retries --------------------------------------------------------------- */

/* Seconds to wait before retry number attempt (1-based: retry 1 follows the
 * first, failed, delivery): first (rules.retry_first_seconds; <= 0: 60), then
 * doubling (60, 120, 240, ...), never more than 6 h (21600). attempt < 1
 * gives 0 (the first delivery is not delayed). */
int64_t kz_retry_delay(int attempt, int64_t first);

/* Deliveries tried in all before an action is given up: 8 (the first and 7
 * retries; the last retry comes 3840 s after the one before, about 2 h 7 min
 * after the first delivery). */
int kz_retry_max(void);

#endif
