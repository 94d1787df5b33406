/*
 * loopback.h (tests) - real servers on 127.0.0.1 for the delivery tests: an
 * SMTP server that keeps the messages it accepts, and an HTTP server that
 * keeps the webhook requests it receives.
 *
 * Each runs in its own thread on an ephemeral port and serves one
 * connection at a time. Setup failures fail the test (cr_assert). The
 * accessors are thread-safe; strings they return are malloc'd copies the
 * caller frees. _stop joins the thread and frees everything; _stop(NULL) is
 * a no-op.
 */
#ifndef KT_LOOPBACK_H
#define KT_LOOPBACK_H

/* ---- SMTP ---------------------------------------------------------------- */

typedef struct kt_smtp kt_smtp;

/* Speaks enough SMTP to accept mail: 220 greeting, EHLO/HELO, MAIL FROM,
 * RCPT TO, DATA (354, then up to CRLF.CRLF, then 250), RSET, NOOP, QUIT. No
 * AUTH, no STARTTLS advertised. */
kt_smtp *kt_smtp_start(void);
int kt_smtp_port(kt_smtp *s);
void kt_smtp_stop(kt_smtp *s);

/* Messages accepted so far (a DATA refused by kt_smtp_fail_next is not one). */
int kt_smtp_count(kt_smtp *s);

/* Message i (0-based) as sent after DATA: headers, blank line, body, CRLF
 * line ends, dot-stuffing undone, without the final ".". NULL when i is out
 * of range. Caller frees. */
char *kt_smtp_message(kt_smtp *s, int i);

/* The RCPT TO addresses of message i, without angle brackets, joined by
 * ",". NULL when out of range. Caller frees. */
char *kt_smtp_rcpt(kt_smtp *s, int i);

/* The MAIL FROM address of message i, without angle brackets. Caller frees. */
char *kt_smtp_sender(kt_smtp *s, int i);

/* 1 when at least count messages have arrived within timeout_ms, else 0. */
int kt_smtp_wait(kt_smtp *s, int count, int timeout_ms);

/* Answers "451 4.3.0 try again later" at the end of the next n DATA. */
void kt_smtp_fail_next(kt_smtp *s, int n);

/* ---- HTTP (webhook receiver) ------------------------------------------------ */

typedef struct kt_hook kt_hook;

/* Reads a request (request line, headers, a Content-Length body), answers
 * 200 (or 500, kt_hook_fail_next) with Connection: close, closes. */
kt_hook *kt_hook_start(void);
int kt_hook_port(kt_hook *h);
void kt_hook_stop(kt_hook *h);

/* Answers 500 to the next n requests, then 200 again. */
void kt_hook_fail_next(kt_hook *h, int n);

/* Requests received, answered 500 or not. */
int kt_hook_count(kt_hook *h);

/* The body of request i (NUL-terminated). NULL when out of range. Caller frees. */
char *kt_hook_body(kt_hook *h, int i);

/* The value of header name (any case, surrounding spaces removed) of
 * request i, or NULL. Caller frees. */
char *kt_hook_header(kt_hook *h, int i, const char *name);

/* The request line of request i ("POST /x HTTP/1.1"). Caller frees. */
char *kt_hook_request_line(kt_hook *h, int i);

/* 1 when at least count requests have arrived within timeout_ms, else 0. */
int kt_hook_wait(kt_hook *h, int count, int timeout_ms);

#endif
