/*
 * deliver.c - e-mail and webhook delivery of playbook actions (deliver.h).
 *
 * One curl easy handle per message, created and freed within the call. The
 * e-mail is composed here in full (headers folded, body in base64) and
 * uploaded from memory; curl does the SMTP dialogue and the dot-stuffing.
 * Nothing here queues or retries: that is the caller's, with
 * kz_retry_delay().
 */
#include "rules/deliver.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"

#define MAIL_MAX ((size_t)32 << 20)   /* the composed e-mail */
#define REPLY_MAX 512                 /* the server's last reply kept for messages */
#define ORIGIN_MAX 1024               /* scheme://host:port in messages */
#define DEFAULT_TIMEOUT_MS 30000L
#define RETRY_FIRST 60
#define RETRY_CAP (6 * 3600)
#define RETRY_MAX 8

/* Sets one curl option unless an earlier one failed: the first failure stays in cc. */
#define SETOPT(h, cc, opt, val)                                                                                      \
    do {                                                                                                             \
        if ((cc) == CURLE_OK)                                                                                        \
            (cc) = curl_easy_setopt((h), (opt), (val));                                                              \
    } while (0)

static int initialised;

int kz_deliver_init(void)
{
    if (initialised)
        return KZ_OK;
    if (sodium_init() < 0)
        return kz_error_set(KZ_ERROR, "libsodium cannot start");
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK)
        return kz_error_set(KZ_ERROR, "libcurl cannot start: %s", curl_easy_strerror(cc));
    initialised = 1;
    return KZ_OK;
}

/* ---- shared ------------------------------------------------------------------ */

/* "scheme://host[:port]" of url into out (reset first): what messages may
 * name. Never the user, password, path or query. 0 or KZ_EINVALID. */
static int url_origin(kz_buf *out, const char *url)
{
    int rc = KZ_OK;
    char *scheme = NULL, *host = NULL, *port = NULL;
    CURLU *u = curl_url();
    kz_buf_reset(out);
    if (!u) {
        rc = kz_error_oom();
        goto done;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = kz_error_set(KZ_EINVALID, "the URL is malformed");
        goto done;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
        port = NULL; /* none written in the URL */
    rc = kz_buf_printf(out, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
    if (rc == KZ_ETOOBIG)
        rc = kz_error_set(KZ_EINVALID, "the URL's host name is too long");
    else if (rc)
        rc = kz_error_oom();
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static int has_prefix_ci(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

/* The server's last reply line, kept from curl's debug stream (SMTP replies
 * come as CURLINFO_HEADER_IN, one line each). */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *ud)
{
    kz_buf *last = ud;
    (void)h;
    if (type != CURLINFO_HEADER_IN)
        return 0;
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    kz_buf_reset(last);
    if (size > REPLY_MAX)
        size = REPLY_MAX;
    if (kz_buf_append(last, data, size) != KZ_OK)
        kz_buf_reset(last); /* the message goes without the reply */
    return 0;
}

static size_t discard_cb(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* The message of a failed exchange: "origin: [the server replied '...' (]reason[)]". */
static int fail_io(kz_buf *detail, const char *origin, const kz_buf *reply, CURLcode cc, const char *errbuf)
{
    const char *reason = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    const char *r = kz_buf_cstr(reply);
    int refused = r[0] == '4' || r[0] == '5';
    if (detail) {
        kz_buf_reset(detail);
        int rc = refused ? kz_buf_printf(detail, "%s: the server replied '%s' (%s)", origin, r, reason)
                         : kz_buf_printf(detail, "%s: %s", origin, reason);
        if (rc)
            kz_buf_reset(detail); /* the per-thread message still says it */
    }
    if (refused)
        return kz_error_set(KZ_EIO, "%s: the server replied '%s' (%s)", origin, r, reason);
    return kz_error_set(KZ_EIO, "%s: %s", origin, reason);
}

/* ---- composing the e-mail ----------------------------------------------------- */

/* A header being written: the output, the current line's length (for
 * folding) and a sticky error checked once at the end. */
struct hdr {
    kz_buf *b;
    size_t col;
    int err;
};

static void hput(struct hdr *h, const char *s, size_t n)
{
    if (h->err)
        return;
    h->err = kz_buf_append(h->b, s, n);
    h->col += n;
}

static void hputs(struct hdr *h, const char *s)
{
    hput(h, s, strlen(s));
}

/* Ends the line inside a header: the next line continues it. */
static void hfold(struct hdr *h)
{
    hput(h, "\r\n ", 3);
    h->col = 1;
}

static void hend(struct hdr *h)
{
    hput(h, "\r\n", 2);
    h->col = 0;
}

static int is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 0;
    return 1;
}

/* UTF-8 text as RFC 2047 encoded words ("=?UTF-8?B?...?="), cut between
 * characters, each fitting its line of 76, one per line after the first. */
static void put_encoded(struct hdr *h, const char *s, size_t n)
{
    enum { CHUNK = 45, WRAP = 12, LINE = 76 }; /* 45 bytes: 60 base64 characters, 12 of "=?UTF-8?B?" "?=" */
    char b64[sodium_base64_ENCODED_LEN(CHUNK, sodium_base64_VARIANT_ORIGINAL)];
    size_t at = 0;
    int first = 1;
    while (at < n && !h->err) {
        if (!first)
            hfold(h);
        first = 0;
        size_t room = h->col + WRAP < LINE ? (LINE - h->col - WRAP) / 4 * 3 : 0;
        if (room < 6) { /* not even one character of four bytes: a line of its own */
            hfold(h);
            room = CHUNK;
        }
        size_t len = n - at < room ? n - at : room;
        if (len > CHUNK)
            len = CHUNK;
        /* never split a character: back off continuation bytes */
        while (at + len < n && len > 1 && ((unsigned char)s[at + len] & 0xC0) == 0x80)
            len--;
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)s + at, len, sodium_base64_VARIANT_ORIGINAL);
        hputs(h, "=?UTF-8?B?");
        hputs(h, b64);
        hputs(h, "?=");
        at += len;
    }
}

/* Checks a header value: UTF-8, no CR or LF (they would start headers of the
 * caller's choosing), no other control character. */
static int check_header_text(const char *s, const char *what)
{
    size_t n = strlen(s);
    if (strpbrk(s, "\r\n"))
        return kz_error_set(KZ_EINVALID, "%s: a CR or LF in a header is refused (header injection)", what);
    size_t at = kz_control_at(s, n);
    if (at < n)
        return kz_error_set(KZ_EINVALID, "%s: control character 0x%02x at byte %zu", what, (unsigned char)s[at], at);
    at = kz_utf8_invalid_at(s, n);
    if (at < n)
        return kz_error_set(KZ_EINVALID, "%s: invalid UTF-8 at byte %zu", what, at);
    return KZ_OK;
}

/* One mailbox of an address list: the display name (maybe empty, maybe
 * quoted) and the address, both spans of the caller's string. */
struct mailbox {
    const char *name, *addr;
    size_t nname, naddr;
};

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* "addr" or "Name <addr>" (trimmed). The address must be plain ASCII
 * local@domain: no spaces, quotes, brackets or commas, one '@' inside. */
static int parse_mailbox(struct mailbox *m, const char *s, size_t n, const char *what)
{
    trim(&s, &n);
    const char *lt = n ? memchr(s, '<', n) : NULL;
    if (lt) {
        const char *gt = memchr(lt, '>', n - (size_t)(lt - s));
        if (!gt || gt != s + n - 1)
            return kz_error_set(KZ_EINVALID, "%s: '<' without a closing '>' at the end of the address", what);
        m->name = s;
        m->nname = (size_t)(lt - s);
        trim(&m->name, &m->nname);
        m->addr = lt + 1;
        m->naddr = (size_t)(gt - lt - 1);
    } else {
        m->name = s;
        m->nname = 0;
        m->addr = s;
        m->naddr = n;
    }
    if (m->naddr == 0)
        return kz_error_set(KZ_EINVALID, "%s: an empty address", what);
    size_t ats = 0, at = 0;
    for (size_t i = 0; i < m->naddr; i++) {
        unsigned char c = (unsigned char)m->addr[i];
        if (c <= 0x20 || c >= 0x7f)
            return kz_error_set(KZ_EINVALID, "%s: an address must be ASCII without spaces: '%.*s'", what,
                                (int)m->naddr, m->addr);
        if (strchr("<>,\"()[]\\;:", c))
            return kz_error_set(KZ_EINVALID, "%s: character '%c' in the address '%.*s'", what, c, (int)m->naddr,
                                m->addr);
        if (c == '@') {
            ats++;
            at = i;
        }
    }
    if (ats != 1 || at == 0 || at == m->naddr - 1)
        return kz_error_set(KZ_EINVALID, "%s: '%.*s' is not an address (local@domain)", what, (int)m->naddr,
                            m->addr);
    return KZ_OK;
}

/* Calls fn for each comma-separated mailbox of list (commas inside quotes or
 * angle brackets do not separate). Stops at the first error. */
typedef int (*mailbox_fn)(const struct mailbox *m, void *ud);

static int each_mailbox(const char *list, const char *what, mailbox_fn fn, void *ud)
{
    int rc = KZ_OK, quoted = 0, angle = 0, count = 0;
    const char *start = list;
    for (const char *p = list;; p++) {
        if (*p == '\\' && quoted && p[1]) {
            p++;
            continue;
        }
        if (*p == '"')
            quoted = !quoted;
        else if (*p == '<' && !quoted)
            angle = 1;
        else if (*p == '>' && !quoted)
            angle = 0;
        if (*p == '\0' || (*p == ',' && !quoted && !angle)) {
            struct mailbox m;
            const char *s = start;
            size_t n = (size_t)(p - start);
            trim(&s, &n);
            if (n > 0 || *p == ',') { /* a stray empty entry between commas is refused */
                rc = parse_mailbox(&m, s, n, what);
                if (!rc)
                    rc = fn(&m, ud);
                if (rc)
                    return rc;
                count++;
            }
            if (*p == '\0')
                break;
            start = p + 1;
        }
    }
    if (quoted)
        return kz_error_set(KZ_EINVALID, "%s: an unclosed quote", what);
    if (count == 0)
        return kz_error_set(KZ_EINVALID, "%s: no address", what);
    return KZ_OK;
}

/* Writes a display name: encoded words when not ASCII, a quoted string when
 * it holds specials, as is otherwise. A name already quoted is unquoted first. */
static void put_display(struct hdr *h, const char *s, size_t n)
{
    kz_buf plain;
    kz_buf_init(&plain, n + 1);
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        for (size_t i = 1; i + 1 < n && !h->err; i++) {
            if (s[i] == '\\' && i + 2 < n)
                i++;
            h->err = kz_buf_putc(&plain, s[i]);
        }
    } else if (n > 0) {
        h->err = h->err ? h->err : kz_buf_append(&plain, s, n);
    }
    const char *p = kz_buf_cstr(&plain);
    size_t len = plain.len;
    if (h->err || len == 0)
        goto done;
    if (!is_ascii(p, len)) {
        put_encoded(h, p, len);
    } else if (strpbrk(p, "()<>[]:;@\\,.\"") || strstr(p, "=?")) {
        hputs(h, "\"");
        for (size_t i = 0; i < len; i++) {
            if (p[i] == '"' || p[i] == '\\')
                hputs(h, "\\");
            hput(h, p + i, 1);
        }
        hputs(h, "\"");
    } else {
        hput(h, p, len);
    }
    hputs(h, " ");
done:
    kz_buf_free(&plain);
}

struct list_ctx {
    struct hdr *h;
    int n;
};

static int put_mailbox(const struct mailbox *m, void *ud)
{
    struct list_ctx *x = ud;
    struct hdr *h = x->h;
    if (x->n++ > 0) {
        hputs(h, ",");
        if (h->col + m->nname + m->naddr + 3 > 76)
            hfold(h);
        else
            hputs(h, " ");
    }
    if (m->nname > 0) {
        put_display(h, m->name, m->nname);
        hputs(h, "<");
        hput(h, m->addr, m->naddr);
        hputs(h, ">");
    } else {
        hput(h, m->addr, m->naddr);
    }
    return h->err;
}

/* A header of mailboxes ("From: ", "To: "). */
static int put_list_header(struct hdr *h, const char *name, const char *list, const char *what)
{
    struct list_ctx x = { h, 0 };
    hputs(h, name);
    int rc = each_mailbox(list, what, put_mailbox, &x);
    hend(h);
    return rc ? rc : h->err;
}

static int add_rcpt(const struct mailbox *m, void *ud)
{
    struct curl_slist **l = ud;
    kz_buf a;
    kz_buf_init(&a, m->naddr + 3);
    int rc = kz_buf_printf(&a, "<%.*s>", (int)m->naddr, m->addr);
    struct curl_slist *nl = rc ? NULL : curl_slist_append(*l, kz_buf_cstr(&a));
    kz_buf_free(&a);
    if (!nl)
        return kz_error_oom();
    *l = nl;
    return KZ_OK;
}

static int take_first(const struct mailbox *m, void *ud)
{
    struct mailbox *first = ud;
    if (first->addr)
        return kz_error_set(KZ_EINVALID, "from: one address only");
    *first = *m;
    return KZ_OK;
}

static void put_date(struct hdr *h)
{
    static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = time(NULL);
    struct tm tm;
    char line[64];
    if (!gmtime_r(&t, &tm)) {
        h->err = kz_error_set(KZ_ERROR, "the system clock cannot be read");
        return;
    }
    /* by hand, not strftime: %a and %b follow the locale */
    int len = snprintf(line, sizeof line, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000", wday[tm.tm_wday % 7],
                       tm.tm_mday, mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (len < 0 || (size_t)len >= sizeof line) {
        h->err = kz_error_set(KZ_ERROR, "the date does not fit its header");
        return;
    }
    hputs(h, line);
    hend(h);
}

/* The body in its canonical form (every line break CRLF), in base64 lines of 76. */
static int put_body(struct hdr *h, const char *body)
{
    enum { LINE = 57 }; /* 57 bytes: 76 base64 characters */
    char b64[sodium_base64_ENCODED_LEN(LINE, sodium_base64_VARIANT_ORIGINAL)];
    kz_buf canon;
    size_t n = strlen(body);
    kz_buf_init(&canon, MAIL_MAX);
    int rc = kz_buf_reserve(&canon, n + n / 16 + 1);
    for (size_t i = 0; i < n && !rc; i++) {
        if (body[i] == '\r' || body[i] == '\n') {
            rc = kz_buf_append(&canon, "\r\n", 2);
            if (body[i] == '\r' && body[i + 1] == '\n')
                i++;
        } else {
            rc = kz_buf_putc(&canon, body[i]);
        }
    }
    for (size_t at = 0; at < canon.len && !rc && !h->err; at += LINE) {
        size_t len = canon.len - at < LINE ? canon.len - at : LINE;
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)canon.data + at, len,
                          sodium_base64_VARIANT_ORIGINAL);
        hputs(h, b64);
        hend(h);
    }
    kz_buf_free(&canon);
    return rc ? rc : h->err;
}

/* The whole message into out. */
static int compose(kz_buf *out, const kz_smtp_conf *c, const struct mailbox *from, const char *to,
                   const char *subject, const char *body)
{
    struct hdr h = { out, 0, 0 };
    unsigned char rnd[16];
    char id[2 * sizeof rnd + 1];
    size_t ns = strlen(subject);
    int rc;

    put_date(&h);
    rc = put_list_header(&h, "From: ", c->from, "from");
    if (!rc)
        rc = put_list_header(&h, "To: ", to, "to");
    if (rc)
        return rc;
    hputs(&h, "Subject: ");
    /* plain when it can be: ASCII, within the 998 bytes of a line, and
     * nothing a reader would take for an encoded word */
    if (is_ascii(subject, ns) && ns + h.col <= 998 && !strstr(subject, "=?"))
        hput(&h, subject, ns);
    else
        put_encoded(&h, subject, ns);
    hend(&h);
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(id, sizeof id, rnd, sizeof rnd);
    const char *domain = (const char *)memchr(from->addr, '@', from->naddr) + 1;
    hputs(&h, "Message-ID: <");
    hputs(&h, id);
    hputs(&h, "@");
    hput(&h, domain, from->naddr - (size_t)(domain - from->addr));
    hputs(&h, ">");
    hend(&h);
    hputs(&h, "MIME-Version: 1.0\r\n"
              "Content-Type: text/plain; charset=UTF-8\r\n"
              "Content-Transfer-Encoding: base64\r\n"
              "\r\n");
    if (h.err)
        return h.err;
    return put_body(&h, body);
}

/* ---- sending the e-mail ------------------------------------------------------- */

struct upload {
    const char *p;
    size_t n, off;
};

static size_t read_cb(char *dst, size_t size, size_t nitems, void *ud)
{
    struct upload *u = ud;
    size_t room = size * nitems, left = u->n - u->off;
    size_t k = left < room ? left : room;
    memcpy(dst, u->p + u->off, k);
    u->off += k;
    return k;
}

int kz_smtp_send(const kz_smtp_conf *c, const char *to, const char *subject, const char *body, kz_buf *err_detail)
{
    int rc = KZ_OK;
    CURL *h = NULL;
    CURLcode cc = CURLE_OK;
    struct curl_slist *rcpt = NULL;
    struct mailbox from = { 0 };
    kz_buf msg, origin, reply, sender;
    char errbuf[CURL_ERROR_SIZE];
    struct upload up;
    long timeout = c && c->timeout_ms > 0 ? c->timeout_ms : DEFAULT_TIMEOUT_MS;

    kz_buf_init(&msg, MAIL_MAX);
    kz_buf_init(&origin, ORIGIN_MAX);
    kz_buf_init(&reply, REPLY_MAX);
    kz_buf_init(&sender, 1024);
    errbuf[0] = '\0';
    if (err_detail)
        kz_buf_reset(err_detail);
    subject = subject ? subject : "";
    body = body ? body : "";

    if (!c || !c->url || !c->from || !to) {
        rc = kz_error_set(KZ_EINVALID, "e-mail: the server, the sender and the recipients are required");
        goto done;
    }
    if (!has_prefix_ci(c->url, "smtp://") && !has_prefix_ci(c->url, "smtps://")) {
        rc = kz_error_set(KZ_EINVALID, "e-mail: the server URL must start with smtp:// or smtps://");
        goto done;
    }
    if ((rc = url_origin(&origin, c->url)) != KZ_OK) {
        kz_error_prefix(rc, "e-mail server");
        goto done;
    }
    if ((rc = check_header_text(c->from, "from")) || (rc = check_header_text(to, "to")) ||
        (rc = check_header_text(subject, "subject")))
        goto done;
    size_t nb = strlen(body), bad = kz_utf8_invalid_at(body, nb);
    if (bad < nb) {
        rc = kz_error_set(KZ_EINVALID, "body: invalid UTF-8 at byte %zu", bad);
        goto done;
    }
    if ((rc = each_mailbox(c->from, "from", take_first, &from)) || (rc = each_mailbox(to, "to", add_rcpt, &rcpt)))
        goto done;
    if ((rc = kz_buf_printf(&sender, "<%.*s>", (int)from.naddr, from.addr)) != KZ_OK) {
        rc = kz_error_set(KZ_EINVALID, "from: the address is too long");
        goto done;
    }
    rc = compose(&msg, c, &from, to, subject, body);
    if (rc == KZ_ETOOBIG)
        rc = kz_error_set(KZ_ETOOBIG, "e-mail: larger than %zu MiB", MAIL_MAX >> 20);
    else if (rc == KZ_ENOMEM)
        rc = kz_error_oom();
    if (rc)
        goto done;

    if (!(h = curl_easy_init())) {
        rc = kz_error_set(KZ_ERROR, "e-mail: libcurl cannot start a transfer");
        goto done;
    }
    up = (struct upload){ msg.data, msg.len, 0 };
    SETOPT(h, cc, CURLOPT_URL, c->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(h, cc, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    SETOPT(h, cc, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    SETOPT(h, cc, CURLOPT_NOSIGNAL, 1L);
    SETOPT(h, cc, CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(h, cc, CURLOPT_TIMEOUT_MS, timeout);
    SETOPT(h, cc, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    SETOPT(h, cc, CURLOPT_MAIL_FROM, kz_buf_cstr(&sender));
    SETOPT(h, cc, CURLOPT_MAIL_RCPT, rcpt);
    SETOPT(h, cc, CURLOPT_UPLOAD, 1L);
    SETOPT(h, cc, CURLOPT_READFUNCTION, read_cb);
    SETOPT(h, cc, CURLOPT_READDATA, &up);
    SETOPT(h, cc, CURLOPT_USE_SSL,
           (long)(c->starttls >= 2 ? CURLUSESSL_ALL : c->starttls == 1 ? CURLUSESSL_TRY : CURLUSESSL_NONE));
    if (c->user) {
        SETOPT(h, cc, CURLOPT_USERNAME, c->user);
        SETOPT(h, cc, CURLOPT_PASSWORD, c->password ? c->password : "");
    }
    /* the debug stream is where the server's replies are seen; VERBOSE only
     * turns it on, nothing is printed with a DEBUGFUNCTION set */
    SETOPT(h, cc, CURLOPT_DEBUGFUNCTION, debug_cb);
    SETOPT(h, cc, CURLOPT_DEBUGDATA, &reply);
    SETOPT(h, cc, CURLOPT_VERBOSE, 1L);
    if (cc != CURLE_OK) {
        rc = kz_error_set(KZ_ERROR, "e-mail: libcurl refuses an option: %s", curl_easy_strerror(cc));
        goto done;
    }
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK)
        rc = fail_io(err_detail, kz_buf_cstr(&origin), &reply, cc, errbuf);

done:
    if (rc && err_detail && err_detail->len == 0 && kz_buf_puts(err_detail, kz_error_msg()) != KZ_OK)
        kz_buf_reset(err_detail);
    curl_easy_cleanup(h);
    curl_slist_free_all(rcpt);
    kz_buf_free(&msg);
    kz_buf_free(&origin);
    kz_buf_free(&reply);
    kz_buf_free(&sender);
    return rc;
}

/* ---- webhooks ------------------------------------------------------------------ */

static int hmac(unsigned char mac[crypto_auth_hmacsha256_BYTES], const char *secret, const char *timestamp,
                const char *body, size_t n)
{
    if (!secret || !secret[0])
        return kz_error_set(KZ_EINVALID, "webhook: an empty secret");
    size_t nt = timestamp ? strlen(timestamp) : 0;
    if (nt == 0 || nt > 20 || strspn(timestamp, "0123456789") != nt)
        return kz_error_set(KZ_EINVALID, "webhook: the timestamp must be decimal Unix seconds");
    if (!body && n > 0)
        return kz_error_set(KZ_EINVALID, "webhook: no body");
    crypto_auth_hmacsha256_state st;
    /* the init/update/final form takes a key of any length (the one-shot
     * crypto_auth_hmacsha256 wants exactly 32 bytes) */
    int rc = crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    rc = rc ? rc : crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, nt);
    rc = rc ? rc : crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    if (n > 0)
        rc = rc ? rc : crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, n);
    rc = rc ? rc : crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    return rc ? kz_error_set(KZ_ERROR, "webhook: HMAC-SHA256 failed") : KZ_OK;
}

int kz_webhook_sign(char out_hex[65], const char *secret, const char *timestamp, const char *body, size_t n)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    out_hex[0] = '\0';
    int rc = hmac(mac, secret, timestamp, body, n);
    if (rc)
        return rc;
    sodium_bin2hex(out_hex, 65, mac, sizeof mac);
    return KZ_OK;
}

int kz_webhook_verify(const char *secret, const char *timestamp, const char *body, size_t n,
                      const char *signature_header)
{
    unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
    size_t len = 0;
    const char *end = NULL;
    if (!signature_header || strncmp(signature_header, "v1=", 3) != 0 || strlen(signature_header) != 3 + 64)
        return kz_error_set(KZ_EINVALID, "webhook: the signature is not 'v1=' and 64 hex digits");
    if (sodium_hex2bin(got, sizeof got, signature_header + 3, 64, NULL, &len, &end) != 0 || len != sizeof got ||
        *end != '\0')
        return kz_error_set(KZ_EINVALID, "webhook: the signature is not 'v1=' and 64 hex digits");
    int rc = hmac(want, secret, timestamp, body, n);
    if (rc)
        return rc;
    if (sodium_memcmp(want, got, sizeof want) != 0)
        return kz_error_set(KZ_EINVALID, "webhook: the signature does not match");
    return KZ_OK;
}

int kz_webhook_post(const char *url, const char *secret, const char *body, size_t n, long timeout_ms, int64_t now,
                    kz_hook_result *res)
{
    int rc = KZ_OK;
    CURL *h = NULL;
    CURLcode cc = CURLE_OK;
    struct curl_slist *hl = NULL;
    kz_buf origin, reply, line;
    char errbuf[CURL_ERROR_SIZE];
    long status = 0;
    long timeout = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;

    kz_buf_init(&origin, ORIGIN_MAX);
    kz_buf_init(&reply, REPLY_MAX);
    kz_buf_init(&line, 256);
    errbuf[0] = '\0';
    if (res)
        res->status = 0;
    if (!url || (!has_prefix_ci(url, "http://") && !has_prefix_ci(url, "https://"))) {
        rc = kz_error_set(KZ_EINVALID, "webhook: the URL must start with http:// or https://");
        goto done;
    }
    if ((rc = url_origin(&origin, url)) != KZ_OK) {
        kz_error_prefix(rc, "webhook");
        goto done;
    }
    if (!body && n > 0) {
        rc = kz_error_set(KZ_EINVALID, "webhook: no body");
        goto done;
    }
    const char *fixed[] = { "Content-Type: application/json",
                            "Expect:", /* no 100-continue round trip for bigger bodies */
                            NULL };
    for (size_t i = 0; fixed[i]; i++) {
        struct curl_slist *nl = curl_slist_append(hl, fixed[i]);
        if (!nl) {
            rc = kz_error_oom();
            goto done;
        }
        hl = nl;
    }
    if (secret) {
        char ts[24], sig[65];
        snprintf(ts, sizeof ts, "%lld", (long long)(now < 0 ? 0 : now));
        if ((rc = kz_webhook_sign(sig, secret, ts, body, n)) != KZ_OK)
            goto done;
        const char *name[] = { "X-Kizuna-Timestamp: ", "X-Kizuna-Signature: v1=" };
        const char *value[] = { ts, sig };
        for (size_t i = 0; i < 2; i++) {
            struct curl_slist *nl = NULL;
            kz_buf_reset(&line);
            if (kz_buf_printf(&line, "%s%s", name[i], value[i]) == KZ_OK)
                nl = curl_slist_append(hl, kz_buf_cstr(&line));
            if (!nl) {
                rc = kz_error_oom();
                goto done;
            }
            hl = nl;
        }
    }

    if (!(h = curl_easy_init())) {
        rc = kz_error_set(KZ_ERROR, "webhook: libcurl cannot start a transfer");
        goto done;
    }
    SETOPT(h, cc, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(h, cc, CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(h, cc, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SETOPT(h, cc, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SETOPT(h, cc, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(h, cc, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(h, cc, CURLOPT_NOSIGNAL, 1L);
    SETOPT(h, cc, CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(h, cc, CURLOPT_TIMEOUT_MS, timeout);
    SETOPT(h, cc, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    SETOPT(h, cc, CURLOPT_USERAGENT, "kizuna");
    SETOPT(h, cc, CURLOPT_HTTPHEADER, hl);
    SETOPT(h, cc, CURLOPT_POST, 1L);
    SETOPT(h, cc, CURLOPT_POSTFIELDS, n > 0 ? body : "");
    SETOPT(h, cc, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    SETOPT(h, cc, CURLOPT_WRITEFUNCTION, discard_cb);
    if (cc != CURLE_OK) {
        rc = kz_error_set(KZ_ERROR, "webhook: libcurl refuses an option: %s", curl_easy_strerror(cc));
        goto done;
    }
    cc = curl_easy_perform(h);
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    if (cc != CURLE_OK)
        rc = fail_io(NULL, kz_buf_cstr(&origin), &reply, cc, errbuf);
    else if (status < 200 || status > 299)
        rc = kz_error_set(KZ_EIO, "%s: HTTP %ld", kz_buf_cstr(&origin), status);

done:
    if (res)
        res->status = status;
    curl_easy_cleanup(h);
    curl_slist_free_all(hl);
    kz_buf_free(&origin);
    kz_buf_free(&reply);
    kz_buf_free(&line);
    return rc;
}

int kz_webhook_slack_body(kz_buf *out, const char *text)
{
    if (!text)
        return kz_error_set(KZ_EINVALID, "slack: no text");
    size_t n = strlen(text), bad = kz_utf8_invalid_at(text, n);
    if (bad < n)
        return kz_error_set(KZ_EINVALID, "slack: invalid UTF-8 at byte %zu", bad);
    size_t was = out->len;
    kz_jw w;
    kz_jw_init(&w, out);
    kz_jw_obj(&w);
    kz_jw_key(&w, "text");
    kz_jw_strn(&w, text, n);
    kz_jw_end(&w);
    int rc = kz_jw_error(&w);
    if (rc) {
        out->len = was;
        if (out->data)
            out->data[was] = '\0';
        return rc == KZ_ETOOBIG ? kz_error_set(rc, "slack: the body is too big") : kz_error_oom();
    }
    return KZ_OK;
}

/* ---- retries -------------------------------------------------------------------- */

int64_t kz_retry_delay(int attempt, int64_t first)
{
    if (attempt < 1)
        return 0;
    int64_t d = first > 0 ? first : RETRY_FIRST;
    if (d > RETRY_CAP)
        d = RETRY_CAP;
    for (int i = 1; i < attempt && d < RETRY_CAP; i++)
        d *= 2;
    return d < RETRY_CAP ? d : RETRY_CAP;
}

int kz_retry_max(void)
{
    return RETRY_MAX;
}
