/*
 * image.c - the engine's columns as a file beside the database.
 *
 * Reading 50,000 accounts and their subscriptions from SQLite costs about
 * 100 ms, decoding the compressed event blocks about 30 ms per million
 * events; a report run as a fresh process would pay that every time. So the
 * first build writes the columns to "<database>.engine", and later builds map
 * that file into memory instead, as long as it was made at the store's
 * current data version (every committed import raises it). The file is
 * derived data: when it is missing, stale, damaged or cannot be written, the
 * engine is built from the store as before; deleting it is always safe.
 *
 * Layout: a 256-byte header (magic, data version, counts, for each of the two
 * sections its place, size and checksum, a check of the header), then the
 * sections. The base section holds the accounts (ids and keys), the
 * subscriptions and support tickets grouped by account, NPS answers, spend,
 * the event and plan names;
 * the events section (absent when the file was written by a report that did
 * not need events) holds ev_sec, ev_acc, ev_user, ev_name and acc_last. Every
 * column starts at a multiple of 64 bytes. A section's checksum is verified
 * when it is loaded (four independent lanes at memory speed: about 15 ms for
 * 10 million events), so a damaged file is never believed; the structure of
 * the base section (offsets, groups, account indexes) is checked as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/hash.h"
#include "engine/engine_internal.h"

#define MAGIC "KZENGIM5"
#define HEADER 256
#define NBASE 25  /* columns of the base section */
#define NEVENTS 5 /* columns of the events section */

struct header {
    char magic[8];
    uint64_t data_version;
    uint64_t has_events;
    uint64_t naccounts, nids, nsubs, nnps, nspend, nnames, key_bytes, name_bytes, ntickets, nplans, plan_bytes;
    uint64_t nevents, nusers;
    int64_t base, last_time;
    uint64_t base_off, base_size, base_sum;
    uint64_t ev_off, ev_size, ev_sum;
    uint64_t file_size;
    uint64_t check; /* over the fields above */
};

_Static_assert(sizeof(struct header) <= HEADER, "header too big");

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* The sizes of the columns of each section, from the counts. */
static void base_sizes(const struct header *h, uint64_t sz[NBASE])
{
    uint64_t na = h->naccounts;
    const uint64_t v[NBASE] = {
        h->nids * 4,        /* acc_of_id */
        (na + 1) * 8,       /* key offsets */
        h->key_bytes,       /* keys, each followed by a NUL */
        h->nsubs * 8,       /* sub_mrr */
        h->nsubs * 8,       /* sub_qty */
        h->nsubs * 4,       /* sub_start */
        h->nsubs * 4,       /* sub_end */
        (na + 1) * 4,       /* acc_subs */
        h->nnps * 8,        /* nps_sec */
        h->nnps * 4,        /* nps_acc */
        h->nnps,            /* nps_score */
        h->nspend * 4,      /* spend_month */
        h->nspend * 8,      /* spend_amount */
        (h->nnames + 1) * 8, /* name offsets */
        h->nnames,          /* 1 where a name is stored */
        h->name_bytes,      /* names, each followed by a NUL */
        h->ntickets * 8,    /* tk_opened */
        h->ntickets * 8,    /* tk_resolved */
        h->ntickets * 8,    /* tk_first_resp */
        h->ntickets,        /* tk_priority */
        h->ntickets,        /* tk_category */
        (na + 1) * 4,       /* acc_tickets */
        h->nsubs * 2,       /* sub_plan */
        (h->nplans + 1) * 8, /* plan offsets (plan 0, none, is empty) */
        h->plan_bytes,      /* plan names, each followed by a NUL */
    };
    memcpy(sz, v, sizeof v);
}

static void event_sizes(const struct header *h, uint64_t sz[NEVENTS])
{
    const uint64_t v[NEVENTS] = { h->nevents * 4, h->nevents * 4, h->nevents * 4, h->nevents * 2, h->naccounts * 8 };
    memcpy(sz, v, sizeof v);
}

/* Offsets of n columns of the given sizes from `at`; returns the end. */
static uint64_t place(const uint64_t *sz, int n, uint64_t at, uint64_t *off)
{
    for (int i = 0; i < n; i++) {
        off[i] = at;
        at = align64(at + sz[i]);
    }
    return at;
}

/* The counts must not make the sizes overflow: a bound far above any real use. */
static int counts_sane(const struct header *h)
{
    const uint64_t lim = (uint64_t)1 << 40;
    return h->naccounts < lim && h->nids < lim && h->nsubs < lim && h->nnps < lim && h->nspend < lim &&
           h->nnames < 65536 && h->key_bytes < lim && h->name_bytes < lim && h->nevents < lim && h->nusers < lim &&
           h->ntickets < lim && h->nplans >= 1 && h->nplans <= 65535 && h->plan_bytes < lim;
}

static uint64_t header_check(const struct header *h)
{
    /* stable across versions of this program: the file may outlive it */
    const uint64_t *w = (const uint64_t *)(const void *)h;
    size_t n = offsetof(struct header, check) / 8;
    uint64_t x = 0x9e3779b97f4a7c15ULL ^ 0x4b5a494d4733ULL;
    for (size_t i = 0; i < n; i++)
        x = kz_mix64(x ^ w[i]);
    return x;
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* A checksum of n bytes (n a multiple of 8, as the layout guarantees) in four
 * independent lanes. Frozen: files written by one version are checked by the
 * next (a change needs a new MAGIC). */
static uint64_t payload_sum(const unsigned char *p, size_t n)
{
    const uint64_t k = 0x9fb21c651e98df25ULL;
    uint64_t a = 0x243f6a8885a308d3ULL, b = 0x13198a2e03707344ULL, c = 0xa4093822299f31d0ULL,
             d = 0x082efa98ec4e6c89ULL;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        a = rotl((a ^ w[0]) * k, 31);
        b = rotl((b ^ w[1]) * k, 31);
        c = rotl((c ^ w[2]) * k, 31);
        d = rotl((d ^ w[3]) * k, 31);
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        a = rotl((a ^ w) * k, 31);
    }
    return kz_mix64(a ^ rotl(b, 17) ^ rotl(c, 34) ^ rotl(d, 51) ^ n);
}

/* Points the engine at the base section (sane counts, checksum verified). */
static int load_base(kz_engine *e, const struct header *h, const char *p)
{
    uint64_t sz[NBASE], off[NBASE];
    base_sizes(h, sz);
    place(sz, NBASE, h->base_off, off);
    size_t na = (size_t)h->naccounts, nn = (size_t)h->nnames;
    const uint64_t *key_off = (const uint64_t *)(const void *)(p + off[1]);
    const uint64_t *name_off = (const uint64_t *)(const void *)(p + off[13]);
    const uint8_t *present = (const uint8_t *)(p + off[14]);
    const char *keys = p + off[2], *names = p + off[15];
    const uint32_t *acc_subs = (const uint32_t *)(const void *)(p + off[7]);
    const uint32_t *nps_acc = (const uint32_t *)(const void *)(p + off[9]);
    const uint32_t *of_id = (const uint32_t *)(const void *)(p + off[0]);
    const uint32_t *acc_tickets = (const uint32_t *)(const void *)(p + off[21]);
    const uint16_t *sub_plan = (const uint16_t *)(const void *)(p + off[22]);
    const uint64_t *plan_off = (const uint64_t *)(const void *)(p + off[23]);
    const char *plan_names = p + off[24];
    size_t np = (size_t)h->nplans;
    /* the structure: offsets that rise and end where the bytes do, NUL
     * terminated strings, groups within the subscriptions, indexes in range */
    if (key_off[0] != 0 || key_off[na] != h->key_bytes || acc_subs[0] != 0 || acc_subs[na] != h->nsubs ||
        name_off[0] != 0 || name_off[nn] != h->name_bytes || acc_tickets[0] != 0 || acc_tickets[na] != h->ntickets)
        return KZ_ENOTFOUND;
    for (size_t a = 0; a < na; a++)
        if (key_off[a + 1] <= key_off[a] || keys[key_off[a + 1] - 1] != '\0' || acc_subs[a + 1] < acc_subs[a] ||
            acc_tickets[a + 1] < acc_tickets[a])
            return KZ_ENOTFOUND;
    for (size_t i = 0; i < nn; i++)
        if (name_off[i + 1] < name_off[i] + present[i] || (present[i] && names[name_off[i + 1] - 1] != '\0'))
            return KZ_ENOTFOUND;
    for (size_t i = 0; i < h->nnps; i++)
        if (nps_acc[i] >= na)
            return KZ_ENOTFOUND;
    if (plan_off[0] != 0 || plan_off[1] != 0 || plan_off[np] != h->plan_bytes)
        return KZ_ENOTFOUND;
    for (size_t i = 1; i < np; i++)
        if (plan_off[i + 1] <= plan_off[i] || plan_names[plan_off[i + 1] - 1] != '\0')
            return KZ_ENOTFOUND;
    for (size_t i = 0; i < h->nsubs; i++)
        if (sub_plan[i] >= np)
            return KZ_ENOTFOUND;
    for (size_t i = 0; i < h->nids; i++)
        if (of_id[i] != UINT32_MAX && of_id[i] >= na)
            return KZ_ENOTFOUND;
    const char **acc_key = malloc((na ? na : 1) * sizeof *acc_key);
    size_t *acc_key_len = malloc((na ? na : 1) * sizeof *acc_key_len);
    uint32_t *acc_of_id = malloc((h->nids ? h->nids : 1) * sizeof *acc_of_id);
    const char **name = kz_arena_calloc(e->arena, nn ? nn : 1, sizeof *name);
    const char **plans = malloc(np * sizeof *plans);
    if (!acc_key || !acc_key_len || !acc_of_id || !name || !plans) {
        free((void *)acc_key);
        free(acc_key_len);
        free(acc_of_id);
        free((void *)plans);
        return kz_error_oom();
    }
    plans[0] = NULL;
    for (size_t i = 1; i < np; i++)
        plans[i] = plan_names + plan_off[i];
    e->plans = plans;
    e->nplans = np;
    e->sub_plan = (uint16_t *)(uintptr_t)sub_plan;
    e->acc_key = acc_key;
    e->acc_key_len = acc_key_len;
    e->acc_of_id = acc_of_id;
    e->names = name;
    for (size_t a = 0; a < na; a++) {
        e->acc_key[a] = keys + key_off[a];
        e->acc_key_len[a] = (size_t)(key_off[a + 1] - key_off[a] - 1);
    }
    memcpy(e->acc_of_id, of_id, (size_t)h->nids * sizeof *e->acc_of_id);
    for (size_t i = 0; i < nn; i++)
        e->names[i] = present[i] ? names + name_off[i] : NULL;
    e->naccounts = na;
    e->nids = (size_t)h->nids;
    e->nsubs = (size_t)h->nsubs;
    /* read-only in the map; the engine never writes them after the build */
    e->sub_mrr = (int64_t *)(uintptr_t)(p + off[3]);
    e->sub_qty = (int64_t *)(uintptr_t)(p + off[4]);
    e->sub_start = (kz_day *)(uintptr_t)(p + off[5]);
    e->sub_end = (kz_day *)(uintptr_t)(p + off[6]);
    e->acc_subs = (uint32_t *)(uintptr_t)(p + off[7]);
    e->nnps = (size_t)h->nnps;
    e->nps_sec = (int64_t *)(uintptr_t)(p + off[8]);
    e->nps_acc = (uint32_t *)(uintptr_t)(p + off[9]);
    e->nps_score = (uint8_t *)(uintptr_t)(p + off[10]);
    e->nspend = (size_t)h->nspend;
    e->spend_month = (kz_month *)(uintptr_t)(p + off[11]);
    e->spend_amount = (int64_t *)(uintptr_t)(p + off[12]);
    e->nnames = nn;
    e->ntickets = (size_t)h->ntickets;
    e->tk_opened = (int64_t *)(uintptr_t)(p + off[16]);
    e->tk_resolved = (int64_t *)(uintptr_t)(p + off[17]);
    e->tk_first_resp = (int64_t *)(uintptr_t)(p + off[18]);
    e->tk_priority = (uint8_t *)(uintptr_t)(p + off[19]);
    e->tk_category = (uint8_t *)(uintptr_t)(p + off[20]);
    e->acc_tickets = (uint32_t *)(uintptr_t)(p + off[21]);
    e->last_time = h->last_time;
    return KZ_OK;
}

static void load_events(kz_engine *e, const struct header *h, const char *p)
{
    uint64_t sz[NEVENTS], off[NEVENTS];
    event_sizes(h, sz);
    place(sz, NEVENTS, h->ev_off, off);
    e->nevents = (size_t)h->nevents;
    e->base = h->base;
    e->nusers = (size_t)h->nusers;
    e->ev_sec = (uint32_t *)(uintptr_t)(p + off[0]);
    e->ev_acc = (uint32_t *)(uintptr_t)(p + off[1]);
    e->ev_user = (uint32_t *)(uintptr_t)(p + off[2]);
    e->ev_name = (uint16_t *)(uintptr_t)(p + off[3]);
    e->acc_last = (int64_t *)(uintptr_t)(p + off[4]);
}

int kz_image_load(kz_engine *e, const char *path, int64_t version, int events)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    struct header h;
    if (fd < 0)
        return KZ_ENOTFOUND;
    if (fstat(fd, &sb) != 0 || (size_t)sb.st_size < HEADER || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        close(fd);
        return KZ_ENOTFOUND;
    }
    uint64_t bsz[NBASE], esz[NEVENTS], boff[NBASE], eoff[NEVENTS];
    int ok = memcmp(h.magic, MAGIC, 8) == 0 && h.check == header_check(&h) && h.data_version == (uint64_t)version &&
             h.file_size == (uint64_t)sb.st_size && counts_sane(&h) && (!events || h.has_events);
    if (ok) {
        base_sizes(&h, bsz);
        event_sizes(&h, esz);
        uint64_t end = place(bsz, NBASE, HEADER, boff);
        ok = h.base_off == HEADER && h.base_size == end - HEADER;
        if (ok && h.has_events) {
            uint64_t eend = place(esz, NEVENTS, end, eoff);
            ok = h.ev_off == end && h.ev_size == eend - end && h.file_size == eend;
        } else {
            ok = ok && h.file_size == end;
        }
    }
    if (!ok) {
        close(fd);
        return KZ_ENOTFOUND;
    }
    void *map = mmap(NULL, (size_t)h.file_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return KZ_ENOTFOUND;
    const char *p = map;
    int rc = KZ_ENOTFOUND;
    if (payload_sum((const unsigned char *)p + h.base_off, (size_t)h.base_size) == h.base_sum &&
        (!events || payload_sum((const unsigned char *)p + h.ev_off, (size_t)h.ev_size) == h.ev_sum))
        rc = load_base(e, &h, p);
    if (rc) {
        munmap(map, (size_t)h.file_size);
        return rc;
    }
    if (events)
        load_events(e, &h, p);
    e->map = map;
    e->map_len = (size_t)h.file_size;
    return KZ_OK;
}

static int write_all(int fd, const void *p, size_t n, size_t at)
{
    const char *c = p;
    while (n) {
        ssize_t w = pwrite(fd, c, n, (off_t)at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
        at += (size_t)w;
    }
    return 0;
}

/* Copies n bytes of column i of a section into the payload. */
static void put(unsigned char *payload, const uint64_t *off, uint64_t start, int i, const void *src, size_t n)
{
    if (n)
        memcpy(payload + (off[i] - start), src, n);
}

int kz_image_save(const kz_engine *e, const char *path, int64_t version, int events)
{
    struct header h;
    char tmp[4096];
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.data_version = (uint64_t)version;
    h.has_events = events != 0;
    h.naccounts = e->naccounts;
    h.nids = e->nids;
    h.nsubs = e->nsubs;
    h.nnps = e->nnps;
    h.nspend = e->nspend;
    h.nnames = e->nnames;
    h.ntickets = e->ntickets;
    h.nplans = e->nplans;
    for (size_t i = 1; i < e->nplans; i++)
        h.plan_bytes += strlen(e->plans[i]) + 1;
    for (size_t a = 0; a < e->naccounts; a++)
        h.key_bytes += e->acc_key_len[a] + 1;
    for (size_t i = 0; i < e->nnames; i++)
        h.name_bytes += e->names[i] ? strlen(e->names[i]) + 1 : 0;
    h.nevents = events ? e->nevents : 0;
    h.nusers = events ? e->nusers : 0;
    h.base = events ? e->base : 0;
    h.last_time = e->last_time;
    uint64_t bsz[NBASE], esz[NEVENTS], boff[NBASE], eoff[NEVENTS];
    base_sizes(&h, bsz);
    event_sizes(&h, esz);
    uint64_t end = place(bsz, NBASE, HEADER, boff), eend = events ? place(esz, NEVENTS, end, eoff) : end;
    h.base_off = HEADER;
    h.base_size = end - HEADER;
    h.ev_off = events ? end : 0;
    h.ev_size = eend - end;
    h.file_size = eend;
    /* the payload as it will be on disk, zero padding included */
    unsigned char *payload = calloc(1, (size_t)(eend - HEADER) + 1);
    uint64_t *key_off = malloc((e->naccounts + 1) * sizeof *key_off);
    uint64_t *plan_off = malloc((e->nplans + 1) * sizeof *plan_off);
    uint64_t *name_off = malloc((e->nnames + 1) * sizeof *name_off);
    uint8_t *present = malloc(e->nnames + 1);
    if (!payload || !key_off || !name_off || !present || !plan_off) {
        free(payload);
        free(plan_off);
        free(key_off);
        free(name_off);
        free(present);
        return kz_error_oom();
    }
    key_off[0] = 0;
    for (size_t a = 0; a < e->naccounts; a++) {
        memcpy(payload + (boff[2] - HEADER) + key_off[a], e->acc_key[a], e->acc_key_len[a]);
        key_off[a + 1] = key_off[a] + e->acc_key_len[a] + 1; /* the NUL is the zeroed byte */
    }
    name_off[0] = 0;
    for (size_t i = 0; i < e->nnames; i++) {
        size_t n = e->names[i] ? strlen(e->names[i]) : 0;
        present[i] = e->names[i] != NULL;
        if (present[i])
            memcpy(payload + (boff[15] - HEADER) + name_off[i], e->names[i], n);
        name_off[i + 1] = name_off[i] + (present[i] ? n + 1 : 0);
    }
    put(payload, boff, HEADER, 0, e->acc_of_id, e->nids * 4);
    put(payload, boff, HEADER, 1, key_off, (e->naccounts + 1) * 8);
    put(payload, boff, HEADER, 3, e->sub_mrr, e->nsubs * 8);
    put(payload, boff, HEADER, 4, e->sub_qty, e->nsubs * 8);
    put(payload, boff, HEADER, 5, e->sub_start, e->nsubs * 4);
    put(payload, boff, HEADER, 6, e->sub_end, e->nsubs * 4);
    put(payload, boff, HEADER, 7, e->acc_subs, (e->naccounts + 1) * 4);
    put(payload, boff, HEADER, 8, e->nps_sec, e->nnps * 8);
    put(payload, boff, HEADER, 9, e->nps_acc, e->nnps * 4);
    put(payload, boff, HEADER, 10, e->nps_score, e->nnps);
    put(payload, boff, HEADER, 11, e->spend_month, e->nspend * 4);
    put(payload, boff, HEADER, 12, e->spend_amount, e->nspend * 8);
    put(payload, boff, HEADER, 13, name_off, (e->nnames + 1) * 8);
    put(payload, boff, HEADER, 14, present, e->nnames);
    put(payload, boff, HEADER, 16, e->tk_opened, e->ntickets * 8);
    put(payload, boff, HEADER, 17, e->tk_resolved, e->ntickets * 8);
    put(payload, boff, HEADER, 18, e->tk_first_resp, e->ntickets * 8);
    put(payload, boff, HEADER, 19, e->tk_priority, e->ntickets);
    put(payload, boff, HEADER, 20, e->tk_category, e->ntickets);
    put(payload, boff, HEADER, 21, e->acc_tickets, (e->naccounts + 1) * 4);
    put(payload, boff, HEADER, 22, e->sub_plan, e->nsubs * 2);
    plan_off[0] = plan_off[1] = 0;
    for (size_t i = 1; i < e->nplans; i++) {
        size_t n = strlen(e->plans[i]);
        memcpy(payload + (boff[24] - HEADER) + plan_off[i], e->plans[i], n);
        plan_off[i + 1] = plan_off[i] + n + 1;
    }
    put(payload, boff, HEADER, 23, plan_off, (e->nplans + 1) * 8);
    free(plan_off);
    if (events) {
        put(payload, eoff, HEADER, 0, e->ev_sec, e->nevents * 4);
        put(payload, eoff, HEADER, 1, e->ev_acc, e->nevents * 4);
        put(payload, eoff, HEADER, 2, e->ev_user, e->nevents * 4);
        put(payload, eoff, HEADER, 3, e->ev_name, e->nevents * 2);
        put(payload, eoff, HEADER, 4, e->acc_last, e->naccounts * 8);
    }
    free(key_off);
    free(name_off);
    free(present);
    h.base_sum = payload_sum(payload, (size_t)h.base_size);
    h.ev_sum = events ? payload_sum(payload + h.base_size, (size_t)h.ev_size) : 0;
    h.check = header_check(&h);
    int n = snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        free(payload);
        return kz_error_set(KZ_ETOOBIG, "image path too long");
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        free(payload);
        return kz_error_set(KZ_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    char head[HEADER];
    memset(head, 0, sizeof head);
    memcpy(head, &h, sizeof h);
    int bad = write_all(fd, head, HEADER, 0) || write_all(fd, payload, (size_t)(eend - HEADER), HEADER);
    free(payload);
    /* no fsync: a torn file fails the size or header checks and is rebuilt */
    if (close(fd) != 0)
        bad = 1;
    if (bad || rename(tmp, path) != 0) {
        int rc = kz_error_set(KZ_EIO, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return KZ_OK;
}
