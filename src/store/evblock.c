/*
 * evblock.c - encoding and decoding of event column blocks (evblock.h).
 *
 * Layout (little-endian):
 *   "KZEB" u8 version(1) u8 reserved u16 ncols u32 nevents u64 checksum
 *   ncols x { u8 column, u8 encoding, u16 reserved, u32 raw_bytes, u32 stored_bytes }
 *   the stored bytes of each column, in directory order
 * Columns: time (varint of zig-zag deltas), account, user, event (unsigned
 * integers packed into the fewest bytes their largest value needs, 1 to 4, the
 * width in the directory entry's third byte),
 * value (varint of zig-zag integers, or raw doubles), event_id and properties
 * (varint lengths, then the bytes). Each column's raw bytes are zstd-compressed.
 * The checksum (checksum() below, frozen) covers the rest of the header and the body, so a damaged
 * block is refused before any of it is believed.
 */
#include "store/evblock.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/error.h"
#include "core/hash.h"
#include "store/store.h"

enum { COL_TS = 1, COL_ACCOUNT, COL_USER, COL_EVENT, COL_VALUE, COL_EVENT_ID, COL_PROPS };
enum { ENC_VARINT = 1, ENC_U32, ENC_F64, ENC_STR, ENC_PACKED };

#define HEADER 20
#define DIRENT 12
#define MAX_COLS 8

/* ---- checksum ------------------------------------------------------------- */

/* The block checksum. Stored in every block, so frozen: it must never change
 * (kz_hash64 may). FNV-style mixing of 8-byte words, then the tail bytes. */
static uint64_t checksum(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ seed ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
                     (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    while (n--) {
        h = (h ^ *p++) * 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* ---- columns ------------------------------------------------------------ */

void kz_evcols_free(kz_evcols *c)
{
    free(c->ts);
    free(c->account);
    free(c->user);
    free(c->event);
    free(c->value);
    free(c->event_id.off);
    free(c->event_id.bytes);
    free(c->props.off);
    free(c->props.bytes);
    memset(c, 0, sizeof *c);
}

void kz_evcols_clear(kz_evcols *c)
{
    c->n = 0;
    free(c->event_id.off);
    free(c->props.off);
    c->event_id.off = NULL;
    c->props.off = NULL;
    c->event_id.len = 0;
    c->props.len = 0;
}

static int grow(void *slot, size_t elem, size_t cap)
{
    void *p;
    memcpy(&p, slot, sizeof p);
    void *np = realloc(p, cap * elem);
    if (!np)
        return kz_error_oom();
    memcpy(slot, &np, sizeof np);
    return KZ_OK;
}

int kz_evcols_reserve(kz_evcols *c, size_t cap)
{
    if (cap <= c->cap)
        return KZ_OK;
    if (cap > SIZE_MAX / sizeof(double) / 2)
        return kz_error_oom();
    if (grow(&c->ts, sizeof *c->ts, cap) || grow(&c->account, sizeof *c->account, cap) ||
        grow(&c->user, sizeof *c->user, cap) || grow(&c->event, sizeof *c->event, cap) ||
        grow(&c->value, sizeof *c->value, cap))
        return KZ_ENOMEM;
    if (c->event_id.off && grow(&c->event_id.off, sizeof(uint32_t), cap + 1))
        return KZ_ENOMEM;
    if (c->props.off && grow(&c->props.off, sizeof(uint32_t), cap + 1))
        return KZ_ENOMEM;
    c->cap = cap;
    return KZ_OK;
}

/* Adds string s for event i (the events before it have been added). */
static int strcol_add(kz_strcol *sc, size_t i, size_t cap, const char *s, size_t n)
{
    if (!sc->off) {
        if (n == 0)
            return KZ_OK;
        sc->off = calloc(cap + 1, sizeof *sc->off); /* earlier events: all empty at 0 */
        if (!sc->off)
            return kz_error_oom();
        for (size_t k = 0; k <= i; k++)
            sc->off[k] = (uint32_t)sc->len;
    }
    if (n > UINT32_MAX - sc->len)
        return kz_error_set(KZ_ETOOBIG, "event text column exceeds 4 GiB in one block");
    if (sc->len + n > sc->cap) {
        size_t ncap = sc->cap ? sc->cap : 4096;
        while (ncap < sc->len + n)
            ncap *= 2;
        char *nb = realloc(sc->bytes, ncap);
        if (!nb)
            return kz_error_oom();
        sc->bytes = nb;
        sc->cap = ncap;
    }
    if (n)
        memcpy(sc->bytes + sc->len, s, n);
    sc->len += n;
    sc->off[i + 1] = (uint32_t)sc->len;
    return KZ_OK;
}

int kz_evcols_append(kz_evcols *c, kz_time ts, uint32_t account, uint32_t user, uint32_t event,
                     double value, const char *event_id, size_t id_len, const char *props,
                     size_t props_len)
{
    size_t i = c->n;
    if (i >= c->cap)
        return kz_error_set(KZ_ETOOBIG, "event block is full");
    c->ts[i] = ts;
    c->account[i] = account;
    c->user[i] = user;
    c->event[i] = event;
    c->value[i] = value;
    if ((c->event_id.off || id_len) && strcol_add(&c->event_id, i, c->cap, event_id, id_len))
        return kz_error_code();
    if ((c->props.off || props_len) && strcol_add(&c->props, i, c->cap, props, props_len))
        return kz_error_code();
    c->n++;
    return KZ_OK;
}

const char *kz_strcol_get(const kz_strcol *s, size_t i, size_t *n)
{
    if (!s->off || s->off[i + 1] == s->off[i]) {
        *n = 0;
        return NULL;
    }
    *n = s->off[i + 1] - s->off[i];
    return s->bytes + s->off[i];
}

int64_t kz_evcols_count_ids(const kz_evcols *c)
{
    int64_t n = 0;
    if (!c->event_id.off)
        return 0;
    for (size_t i = 0; i < c->n; i++)
        n += c->event_id.off[i + 1] != c->event_id.off[i];
    return n;
}

/* ---- sorting ------------------------------------------------------------------ */

static int permute_str(kz_strcol *sc, const uint32_t *perm, size_t n)
{
    if (!sc->off)
        return KZ_OK;
    uint32_t *off = malloc((n + 1) * sizeof *off);
    char *bytes = malloc(sc->len ? sc->len : 1);
    if (!off || !bytes) {
        free(off);
        free(bytes);
        return kz_error_oom();
    }
    size_t len = 0;
    off[0] = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t a = sc->off[perm[i]], b = sc->off[perm[i] + 1];
        memcpy(bytes + len, sc->bytes + a, b - a);
        len += b - a;
        off[i + 1] = (uint32_t)len;
    }
    free(sc->off);
    free(sc->bytes);
    sc->off = off;
    sc->bytes = bytes;
    sc->cap = sc->len ? sc->len : 1;
    return KZ_OK;
}

/* Stable merge sort of an index permutation by ts. */
static void merge_sort(uint32_t *idx, uint32_t *tmp, size_t n, const kz_time *ts)
{
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                tmp[k++] = ts[idx[b]] < ts[idx[a]] ? idx[b++] : idx[a++];
            while (a < mid)
                tmp[k++] = idx[a++];
            while (b < hi)
                tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, n * sizeof *idx);
    }
}

#define PERMUTE(T, arr)                          \
    do {                                         \
        T *tmp_ = (T *)scratch;                  \
        for (size_t i_ = 0; i_ < n; i_++)        \
            tmp_[i_] = (arr)[perm[i_]];          \
        memcpy((arr), tmp_, n * sizeof(T));      \
    } while (0)

int kz_evcols_sort(kz_evcols *c)
{
    size_t n = c->n;
    size_t i;
    for (i = 1; i < n; i++)
        if (c->ts[i] < c->ts[i - 1])
            break;
    if (i >= n)
        return KZ_OK; /* already sorted: the usual case for exports */
    if (n > UINT32_MAX)
        return kz_error_set(KZ_ETOOBIG, "too many events in one block");
    uint32_t *perm = malloc(n * sizeof *perm);
    uint32_t *tmp = malloc(n * sizeof *tmp);
    void *scratch = malloc(n * sizeof(double));
    int rc = KZ_OK;
    if (!perm || !tmp || !scratch) {
        rc = kz_error_oom();
        goto done;
    }
    for (i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    merge_sort(perm, tmp, n, c->ts);
    PERMUTE(kz_time, c->ts);
    PERMUTE(uint32_t, c->account);
    PERMUTE(uint32_t, c->user);
    PERMUTE(uint32_t, c->event);
    PERMUTE(double, c->value);
    rc = permute_str(&c->event_id, perm, n);
    if (!rc)
        rc = permute_str(&c->props, perm, n);
done:
    free(perm);
    free(tmp);
    free(scratch);
    return rc;
}

/* ---- varints ------------------------------------------------------------------- */

static inline uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Reads a varint from p[*i..end); 0 or -1 when truncated or too long. */
static inline int get_varint(const unsigned char *p, size_t end, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*i >= end)
            return -1;
        unsigned char b = p[(*i)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* ---- encoding ------------------------------------------------------------------- */

struct raw_col {
    int id, enc, width;
    const void *data; /* raw bytes */
    size_t len;
    unsigned char *owned; /* freed after encoding */
};

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Packs n u32 values into the fewest little-endian bytes the largest needs.
 * Returns a malloc'd array (caller frees) and the width. */
static unsigned char *pack_u32(const uint32_t *v, size_t n, int *width)
{
    uint32_t max = 0;
    for (size_t i = 0; i < n; i++)
        max |= v[i];
    int w = max < 0x100 ? 1 : max < 0x10000 ? 2 : max < 0x1000000 ? 3 : 4;
    unsigned char *p = malloc(n * (size_t)w + 1);
    if (!p)
        return NULL;
    switch (w) {
    case 1:
        for (size_t i = 0; i < n; i++)
            p[i] = (unsigned char)v[i];
        break;
    case 2:
        for (size_t i = 0; i < n; i++) {
            p[2 * i] = (unsigned char)v[i];
            p[2 * i + 1] = (unsigned char)(v[i] >> 8);
        }
        break;
    case 3:
        for (size_t i = 0; i < n; i++) {
            p[3 * i] = (unsigned char)v[i];
            p[3 * i + 1] = (unsigned char)(v[i] >> 8);
            p[3 * i + 2] = (unsigned char)(v[i] >> 16);
        }
        break;
    default:
        for (size_t i = 0; i < n; i++)
            put32(p + 4 * i, v[i]);
        break;
    }
    *width = w;
    return p;
}

static int values_integral(const kz_evcols *c)
{
    for (size_t i = 0; i < c->n; i++) {
        double v = c->value[i];
        if (isnan(v))
            return 0;
        if (v != floor(v) || v < -9.0e15 || v > 9.0e15)
            return 0;
        if (v == 0 && signbit(v))
            return 0; /* -0.0 must round-trip */
    }
    return 1;
}

static unsigned char *encode_strcol(const kz_strcol *sc, size_t n, size_t *len)
{
    size_t cap = n * 5 + sc->len + 1;
    unsigned char *p = malloc(cap);
    size_t k = 0;
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        k += put_varint(p + k, sc->off[i + 1] - sc->off[i]);
    memcpy(p + k, sc->bytes, sc->len);
    *len = k + sc->len;
    return p;
}

int kz_evblock_encode(const kz_evcols *c, kz_buf *out, int level)
{
    struct raw_col cols[MAX_COLS];
    int ncols = 0, rc = KZ_OK;
    size_t n = c->n;
    unsigned char *tsbuf = NULL, *valbuf = NULL;

    memset(cols, 0, sizeof cols);
    if (n == 0 || n > UINT32_MAX)
        return kz_error_set(KZ_EINVALID, "an event block holds 1 to 2^32-1 events");
    /* time: first value, then deltas (non-negative when sorted) */
    tsbuf = malloc(n * 10);
    if (!tsbuf) {
        rc = kz_error_oom();
        goto done;
    }
    size_t k = 0;
    kz_time prev = 0;
    for (size_t i = 0; i < n; i++) {
        k += put_varint(tsbuf + k, zigzag(c->ts[i] - prev));
        prev = c->ts[i];
    }
    cols[ncols++] = (struct raw_col){ COL_TS, ENC_VARINT, 0, tsbuf, k, tsbuf };
    {
        const uint32_t *src[3] = { c->account, c->user, c->event };
        const int ids[3] = { COL_ACCOUNT, COL_USER, COL_EVENT };
        for (int q = 0; q < 3; q++) {
            int width;
            unsigned char *p = pack_u32(src[q], n, &width);
            if (!p) {
                rc = kz_error_oom();
                goto done;
            }
            cols[ncols++] = (struct raw_col){ ids[q], ENC_PACKED, width, p, n * (size_t)width, p };
        }
    }
    if (values_integral(c)) {
        valbuf = malloc(n * 10);
        if (!valbuf) {
            rc = kz_error_oom();
            goto done;
        }
        k = 0;
        for (size_t i = 0; i < n; i++)
            k += put_varint(valbuf + k, zigzag((int64_t)c->value[i]));
        cols[ncols++] = (struct raw_col){ COL_VALUE, ENC_VARINT, 0, valbuf, k, valbuf };
    } else {
        cols[ncols++] = (struct raw_col){ COL_VALUE, ENC_F64, 0, c->value, n * 8, NULL };
    }
    if (c->event_id.off) {
        size_t len;
        unsigned char *p = encode_strcol(&c->event_id, n, &len);
        if (!p) {
            rc = kz_error_oom();
            goto done;
        }
        cols[ncols++] = (struct raw_col){ COL_EVENT_ID, ENC_STR, 0, p, len, p };
    }
    if (c->props.off) {
        size_t len;
        unsigned char *p = encode_strcol(&c->props, n, &len);
        if (!p) {
            rc = kz_error_oom();
            goto done;
        }
        cols[ncols++] = (struct raw_col){ COL_PROPS, ENC_STR, 0, p, len, p };
    }

    /* header and directory, patched with the stored sizes below */
    size_t base = out->len;
    size_t dir = base + HEADER;
    unsigned char hdr[HEADER + DIRENT * MAX_COLS];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, "KZEB", 4);
    hdr[4] = 1;
    hdr[6] = (unsigned char)ncols;
    put32(hdr + 8, (uint32_t)n);
    rc = kz_buf_append(out, hdr, HEADER + DIRENT * (size_t)ncols);
    if (rc)
        goto done;
    for (int ci = 0; ci < ncols; ci++) {
        size_t bound = ZSTD_compressBound(cols[ci].len);
        if (cols[ci].len > UINT32_MAX || bound > UINT32_MAX) {
            rc = kz_error_set(KZ_ETOOBIG, "event block column too large");
            goto done;
        }
        rc = kz_buf_reserve(out, bound);
        if (rc)
            goto done;
        size_t z = ZSTD_compress(out->data + out->len, bound, cols[ci].data, cols[ci].len, level);
        if (ZSTD_isError(z)) {
            rc = kz_error_set(KZ_ERROR, "zstd: %s", ZSTD_getErrorName(z));
            goto done;
        }
        out->len += z;
        unsigned char *d = (unsigned char *)out->data + dir + (size_t)ci * DIRENT;
        d[0] = (unsigned char)cols[ci].id;
        d[1] = (unsigned char)cols[ci].enc;
        d[2] = (unsigned char)cols[ci].width;
        put32(d + 4, (uint32_t)cols[ci].len);
        put32(d + 8, (uint32_t)z);
    }
    uint64_t sum = checksum(out->data + base + HEADER, out->len - base - HEADER, 0x4b5a4542) ^
                   checksum(out->data + base, 12, 0x4b5a);
    put32((unsigned char *)out->data + base + 12, (uint32_t)sum);
    put32((unsigned char *)out->data + base + 16, (uint32_t)(sum >> 32));
    out->data[out->len] = '\0';
done:
    for (int ci = 0; ci < ncols; ci++)
        if (cols[ci].owned && cols[ci].owned != tsbuf && cols[ci].owned != valbuf)
            free(cols[ci].owned);
    /* (the packed id columns are owned entries too) */
    free(tsbuf);
    free(valbuf);
    return rc;
}

/* ---- decoding -------------------------------------------------------------------- */

static int bad(const char *why)
{
    return kz_error_set(KZ_EINVALID, "damaged event block: %s", why);
}

static int decode_strcol(kz_strcol *sc, size_t base, size_t n, size_t cap, const unsigned char *p,
                         size_t len)
{
    size_t i = 0;
    uint64_t total = 0;
    size_t lens_at = 0;
    /* first pass: lengths */
    for (size_t e = 0; e < n; e++) {
        uint64_t l;
        if (get_varint(p, len, &i, &l))
            return bad("text lengths truncated");
        total += l;
        if (total > len)
            return bad("text longer than its column");
    }
    if (i + total != len)
        return bad("text column size mismatch");
    if (!sc->off) {
        sc->off = calloc(cap + 1, sizeof *sc->off);
        if (!sc->off)
            return kz_error_oom();
        for (size_t k = 0; k <= base; k++)
            sc->off[k] = (uint32_t)sc->len;
    }
    if (sc->len + total > UINT32_MAX)
        return kz_error_set(KZ_ETOOBIG, "event text column exceeds 4 GiB");
    if (sc->len + total > sc->cap) {
        size_t ncap = sc->cap ? sc->cap : 4096;
        while (ncap < sc->len + total)
            ncap *= 2;
        char *nb = realloc(sc->bytes, ncap);
        if (!nb)
            return kz_error_oom();
        sc->bytes = nb;
        sc->cap = ncap;
    }
    memcpy(sc->bytes + sc->len, p + i, total);
    for (size_t e = 0; e < n; e++) {
        uint64_t l = 0;
        get_varint(p, len, &lens_at, &l);
        sc->len += l;
        sc->off[base + e + 1] = (uint32_t)sc->len;
    }
    return KZ_OK;
}

/* Extends an optional text column that this block lacks with empty entries. */
static void strcol_pad(kz_strcol *sc, size_t base, size_t n)
{
    if (!sc->off)
        return;
    for (size_t e = 0; e < n; e++)
        sc->off[base + e + 1] = (uint32_t)sc->len;
}

int kz_evblock_decode(kz_evcols *out, const void *data, size_t size)
{
    const unsigned char *p = data;
    unsigned char *raw = NULL;
    size_t raw_cap = 0;
    int rc = KZ_OK, seen = 0;

    if (size < HEADER || memcmp(p, "KZEB", 4) != 0)
        return bad("no block header");
    if (p[4] != 1)
        return kz_error_set(KZ_EINVALID, "event block version %d is not supported", p[4]);
    size_t ncols = p[6] | (size_t)p[7] << 8;
    size_t n = get32(p + 8);
    uint64_t sum = (uint64_t)get32(p + 12) | (uint64_t)get32(p + 16) << 32;
    if ((checksum(p + HEADER, size - HEADER, 0x4b5a4542) ^ checksum(p, 12, 0x4b5a)) != sum)
        return bad("checksum mismatch");
    if (ncols == 0 || ncols > MAX_COLS || size < HEADER + DIRENT * ncols)
        return bad("bad column directory");
    size_t base = out->n;
    if (n > SIZE_MAX / 16 - base)
        return bad("event count");
    rc = kz_evcols_reserve(out, base + n);
    if (rc)
        return rc;
    size_t at = HEADER + DIRENT * ncols;
    for (size_t ci = 0; ci < ncols && !rc; ci++) {
        const unsigned char *d = p + HEADER + DIRENT * ci;
        int id = d[0], enc = d[1];
        size_t rawlen = get32(d + 4), stored = get32(d + 8);
        if (stored > size - at) {
            rc = bad("column runs past the end");
            break;
        }
        if (rawlen > raw_cap) {
            unsigned char *nr = realloc(raw, rawlen);
            if (!nr) {
                rc = kz_error_oom();
                break;
            }
            raw = nr;
            raw_cap = rawlen;
        }
        size_t got = ZSTD_decompress(raw, rawlen, p + at, stored);
        at += stored;
        if (ZSTD_isError(got) || got != rawlen) {
            rc = bad("column does not decompress");
            break;
        }
        if (id < COL_TS || id > COL_PROPS || (seen & (1 << id))) {
            rc = bad("unknown or repeated column");
            break;
        }
        seen |= 1 << id;
        size_t i = 0;
        switch (id) {
        case COL_TS: {
            kz_time prev = 0;
            if (enc != ENC_VARINT) {
                rc = bad("time encoding");
                break;
            }
            for (size_t e = 0; e < n; e++) {
                uint64_t v;
                if (get_varint(raw, rawlen, &i, &v)) {
                    rc = bad("times truncated");
                    break;
                }
                prev += unzigzag(v);
                out->ts[base + e] = prev;
            }
            break;
        }
        case COL_ACCOUNT:
        case COL_USER:
        case COL_EVENT: {
            uint32_t *dst = (id == COL_ACCOUNT ? out->account : id == COL_USER ? out->user : out->event) + base;
            int w = d[2];
            if (enc == ENC_U32 && rawlen == n * 4) {
                memcpy(dst, raw, rawlen);
            } else if (enc == ENC_PACKED && w >= 1 && w <= 4 && rawlen == n * (size_t)w) {
                for (size_t e = 0; e < n; e++) {
                    const unsigned char *q = raw + e * (size_t)w;
                    uint32_t x = q[0];
                    if (w > 1)
                        x |= (uint32_t)q[1] << 8;
                    if (w > 2)
                        x |= (uint32_t)q[2] << 16;
                    if (w > 3)
                        x |= (uint32_t)q[3] << 24;
                    dst[e] = x;
                }
            } else {
                rc = bad("id column size");
            }
            break;
        }
        case COL_VALUE:
            if (enc == ENC_F64 && rawlen == n * 8) {
                memcpy(out->value + base, raw, rawlen);
            } else if (enc == ENC_VARINT) {
                for (size_t e = 0; e < n; e++) {
                    uint64_t v;
                    if (get_varint(raw, rawlen, &i, &v)) {
                        rc = bad("values truncated");
                        break;
                    }
                    out->value[base + e] = (double)unzigzag(v);
                }
            } else {
                rc = bad("value encoding");
            }
            break;
        case COL_EVENT_ID:
        case COL_PROPS:
            if (enc != ENC_STR) {
                rc = bad("text encoding");
                break;
            }
            rc = decode_strcol(id == COL_EVENT_ID ? &out->event_id : &out->props, base, n, out->cap,
                               raw, rawlen);
            break;
        }
    }
    free(raw);
    if (!rc && (seen & 0x3e) != 0x3e)
        rc = bad("a required column is missing");
    if (rc)
        return rc;
    if (!(seen & (1 << COL_EVENT_ID)))
        strcol_pad(&out->event_id, base, n);
    if (!(seen & (1 << COL_PROPS)))
        strcol_pad(&out->props, base, n);
    out->n = base + n;
    return KZ_OK;
}

uint64_t kz_evcols_identity(const kz_evcols *c, size_t i)
{
    size_t n;
    const char *id = kz_strcol_get(&c->event_id, i, &n);
    if (id)
        return kz_hash64(id, n, 0x1d);
    uint64_t parts[5];
    double v = c->value[i];
    parts[0] = (uint64_t)c->ts[i];
    parts[1] = c->account[i];
    parts[2] = c->user[i];
    parts[3] = c->event[i];
    if (isnan(v))
        parts[4] = 0x7ff8000000000001ULL; /* one pattern for every "no value" */
    else
        memcpy(&parts[4], &v, sizeof v);
    uint64_t h = kz_hash64(parts, sizeof parts, 0x2e);
    const char *props = kz_strcol_get(&c->props, i, &n);
    if (props)
        h ^= kz_mix64(kz_hash64(props, n, 0x3f));
    return h;
}

/* ---- the canonical walk ------------------------------------------------------------ */

int kz_events_walk(struct kz_store *st, kz_events_fn fn, void *ctx, int64_t *out_total)
{
    kz_block_meta *blocks = NULL;
    size_t nblocks = 0;
    kz_evcols ev;
    kz_buf blob;
    int rc;

    memset(&ev, 0, sizeof ev);
    kz_buf_init(&blob, KZ_BUF_UNLIMITED);
    rc = kz_store_block_list(st, INT64_MIN, INT64_MAX, &blocks, &nblocks);
    if (rc)
        goto done;
    if (out_total) {
        *out_total = 0;
        for (size_t i = 0; i < nblocks; i++)
            *out_total += blocks[i].n_events;
    }
    /* blocks come ordered by min_ts; overlapping ones form a group */
    for (size_t b = 0; b < nblocks && !rc;) {
        kz_time hi = blocks[b].max_ts;
        size_t e = b;
        while (e < nblocks && (e == b || blocks[e].min_ts <= hi)) {
            if (blocks[e].max_ts > hi)
                hi = blocks[e].max_ts;
            e++;
        }
        for (size_t i = b + 1; i < e; i++) /* the group by id: insertion sort, groups are small */
            for (size_t j = i; j > b && blocks[j - 1].id > blocks[j].id; j--) {
                kz_block_meta t = blocks[j];
                blocks[j] = blocks[j - 1];
                blocks[j - 1] = t;
            }
        kz_evcols_clear(&ev);
        for (size_t i = b; i < e && !rc; i++) {
            kz_buf_reset(&blob);
            rc = kz_store_block_get(st, blocks[i].id, &blob);
            if (!rc)
                rc = kz_evblock_decode(&ev, blob.data, blob.len);
        }
        if (!rc && e - b > 1)
            rc = kz_evcols_sort(&ev);
        if (!rc)
            rc = fn(ctx, &ev);
        b = e;
    }
done:
    kz_evcols_free(&ev);
    kz_buf_free(&blob);
    free(blocks);
    return rc;
}
