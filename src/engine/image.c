/*
 * image.c - the engine's event columns as a file beside the database.
 *
 * Decoding the compressed blocks costs about 30 ms per million events; a
 * report run as a fresh process would pay that every time. So the first build
 * writes the decoded columns to "<database>.engine", and later builds map that
 * file into memory instead, as long as it was made at the store's current data
 * version (every committed import raises it). The file is derived data: when
 * it is missing, stale, damaged or cannot be written, the engine is built from
 * the store as before; deleting it is always safe.
 *
 * Layout: a 128-byte header (magic, format version, data version, counts, a
 * checksum of the columns, a check of the header) followed by the columns
 * ev_sec, ev_acc, ev_user, ev_name and acc_last, each starting at a multiple
 * of 64 bytes. The checksum is verified at every load (four independent lanes
 * run at memory speed: about 15 ms for 10 million events), so a damaged file is
 * never believed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/hash.h"
#include "engine/engine_internal.h"

#define MAGIC "KZENGIM2"
#define HEADER 128

struct header {
    char magic[8];
    uint64_t data_version;
    uint64_t nevents;
    uint64_t naccounts;
    int64_t base;
    int64_t last_day;
    uint64_t nusers;
    uint64_t file_size;
    uint64_t payload_sum; /* over everything after the header */
    uint64_t check;       /* over the fields above */
};

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* Offsets of the columns, and the file size. */
static void layout(uint64_t n, uint64_t na, size_t off[5], size_t *size)
{
    off[0] = HEADER;
    off[1] = align64(off[0] + n * 4);
    off[2] = align64(off[1] + n * 4);
    off[3] = align64(off[2] + n * 4);
    off[4] = align64(off[3] + n * 2);
    *size = off[4] + na * 8;
}

static uint64_t header_check(const struct header *h)
{
    /* stable across versions of this program: the file may outlive it */
    uint64_t words[9] = { h->data_version, h->nevents, h->naccounts, (uint64_t)h->base, (uint64_t)h->last_day,
                          h->nusers, h->file_size, h->payload_sum, 0x4b5a494d47ULL };
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 9; i++)
        x = kz_mix64(x ^ words[i]);
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

int kz_image_load(kz_engine *e, const char *path, int64_t version)
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
    size_t off[5], size;
    layout(h.nevents, h.naccounts, off, &size);
    if (memcmp(h.magic, MAGIC, 8) != 0 || h.check != header_check(&h) || h.data_version != (uint64_t)version ||
        h.naccounts != e->naccounts || h.file_size != (uint64_t)sb.st_size || size != (size_t)sb.st_size ||
        h.nevents > UINT32_MAX * (uint64_t)16) {
        close(fd);
        return KZ_ENOTFOUND;
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return KZ_ENOTFOUND;
    const char *p = map;
    if (payload_sum((const unsigned char *)p + HEADER, size - HEADER) != h.payload_sum) {
        munmap(map, size);
        return KZ_ENOTFOUND;
    }
    e->map = map;
    e->map_len = size;
    e->nevents = (size_t)h.nevents;
    e->base = h.base;
    e->last_time = h.nevents ? e->base + 0 : INT64_MIN; /* set from the columns below */
    e->nusers = (size_t)h.nusers;
    /* the columns are read-only in the map; the engine never writes them */
    e->ev_sec = (uint32_t *)(uintptr_t)(p + off[0]);
    e->ev_acc = (uint32_t *)(uintptr_t)(p + off[1]);
    e->ev_user = (uint32_t *)(uintptr_t)(p + off[2]);
    e->ev_name = (uint16_t *)(uintptr_t)(p + off[3]);
    e->acc_last = (int64_t *)(uintptr_t)(p + off[4]);
    if (e->nevents)
        e->last_time = e->base + e->ev_sec[e->nevents - 1];
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

int kz_image_save(const kz_engine *e, const char *path, int64_t version)
{
    struct header h;
    size_t off[5], size;
    char tmp[4096];
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.data_version = (uint64_t)version;
    h.nevents = e->nevents;
    h.naccounts = e->naccounts;
    h.base = e->base;
    h.last_day = 0; /* unused: the last event is the last of the columns */
    h.nusers = e->nusers;
    layout(h.nevents, h.naccounts, off, &size);
    h.file_size = size;
    /* the payload as it will be on disk, zero padding included */
    unsigned char *payload = calloc(1, size - HEADER + 1);
    if (!payload)
        return kz_error_oom();
    memcpy(payload + off[0] - HEADER, e->ev_sec, e->nevents * 4);
    memcpy(payload + off[1] - HEADER, e->ev_acc, e->nevents * 4);
    memcpy(payload + off[2] - HEADER, e->ev_user, e->nevents * 4);
    memcpy(payload + off[3] - HEADER, e->ev_name, e->nevents * 2);
    memcpy(payload + off[4] - HEADER, e->acc_last, e->naccounts * 8);
    h.payload_sum = payload_sum(payload, size - HEADER);
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
    int bad = write_all(fd, head, HEADER, 0) || write_all(fd, payload, size - HEADER, HEADER);
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
