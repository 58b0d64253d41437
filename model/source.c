/*
 * source.c - input byte streams with transparent gzip (see source.h).
 *
 * The first bytes decide: 1f 8b is gzip and goes through zlib's inflate,
 * anything else is passed through unchanged. Reading uses read(2) with a
 * 256 KiB buffer; the plain path copies once from that buffer.
 */
#include "source.h"

#include "profil/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define RAW_BUF (256u << 10)

struct pf_source {
    int fd; /* -1 for memory */
    int close_fd;
    const unsigned char *mem;
    size_t mem_len;
    unsigned char *raw; /* raw buffer for fd input */
    int own_raw;        /* raw was allocated here (not a memory source) */
    size_t raw_pos, raw_len;
    int raw_eof;
    uint64_t raw_total;
    pf_sha256 sha; /* of the raw (on-disk) bytes */
    int gzip;
    int z_done; /* the current gzip member ended */
    z_stream zs;
    char *name;
};

/* Makes raw bytes available; returns 0, or a negative status. */
static int fill_raw(pf_source *s, pf_error *err)
{
    if (s->raw_pos < s->raw_len || s->raw_eof)
        return 0;
    if (s->fd < 0) {
        s->raw_eof = 1;
        return 0;
    }
    for (;;) {
        ssize_t r = read(s->fd, s->raw, RAW_BUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return pf_error_set(err, PF_EIO, "%s: cannot read: %s", s->name, strerror(errno));
        s->raw_pos = 0;
        s->raw_len = (size_t) r;
        s->raw_total += (uint64_t) r;
        pf_sha256_update(&s->sha, s->raw, (size_t) r);
        if (r == 0)
            s->raw_eof = 1;
        return 0;
    }
}

static int start(pf_source *s, pf_error *err)
{
    int rc = fill_raw(s, err);
    if (rc)
        return rc;
    /* A pipe may deliver a single byte first; gzip needs two to be seen. */
    if (s->raw_len == 1 && s->fd >= 0 && s->raw[0] == 0x1f) {
        ssize_t r;
        do
            r = read(s->fd, s->raw + 1, RAW_BUF - 1);
        while (r < 0 && errno == EINTR);
        if (r < 0)
            return pf_error_set(err, PF_EIO, "%s: cannot read: %s", s->name, strerror(errno));
        s->raw_len += (size_t) r;
        s->raw_total += (uint64_t) r;
        pf_sha256_update(&s->sha, s->raw + 1, (size_t) r);
    }
    if (s->raw_len >= 2 && s->raw[0] == 0x1f && s->raw[1] == 0x8b) {
        s->gzip = 1;
        if (inflateInit2(&s->zs, 15 + 32) != Z_OK)
            return pf_error_set(err, PF_ENOMEM, "cannot start gzip decoding of %s", s->name);
    }
    return 0;
}

static pf_source *alloc_source(const char *name)
{
    pf_source *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->fd = -1;
    pf_sha256_init(&s->sha);
    s->name = strdup(name);
    if (!s->name) {
        free(s);
        return NULL;
    }
    return s;
}

int pf_source_open_file(pf_source **out, const char *path, pf_error *err)
{
    *out = NULL;
    int is_stdin = strcmp(path, "-") == 0;
    pf_source *s = alloc_source(is_stdin ? "standard input" : path);
    if (!s || !(s->raw = malloc(RAW_BUF))) {
        pf_source_close(s);
        return pf_error_set(err, PF_ENOMEM, "out of memory opening %s", path);
    }
    s->own_raw = 1;
    if (is_stdin) {
        s->fd = STDIN_FILENO;
    } else {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            int e = errno;
            pf_source_close(s);
            return pf_error_set(err, e == ENOENT ? PF_ENOTFOUND : PF_EIO, "%s: cannot open: %s",
                                path, strerror(e));
        }
        s->close_fd = 1;
    }
    int rc = start(s, err);
    if (rc) {
        pf_source_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int pf_source_open_memory(pf_source **out, const void *buf, size_t n, pf_error *err)
{
    *out = NULL;
    pf_source *s = alloc_source("input");
    if (!s)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    s->raw = (unsigned char *) buf; /* never written for memory sources */
    s->raw_len = n;
    s->raw_total = n;
    if (n)
        pf_sha256_update(&s->sha, buf, n);
    int rc = start(s, err);
    if (rc) {
        s->raw = NULL;
        pf_source_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

ssize_t pf_source_read(pf_source *s, void *buf, size_t n, pf_error *err)
{
    int rc = fill_raw(s, err);
    if (rc)
        return rc;
    if (!s->gzip) {
        size_t k = s->raw_len - s->raw_pos;
        if (k > n)
            k = n;
        if (k) /* an empty memory source may have no buffer at all */
            memcpy(buf, s->raw + s->raw_pos, k);
        s->raw_pos += k;
        return (ssize_t) k;
    }
    s->zs.next_out = buf;
    s->zs.avail_out = (uInt) (n > UINT32_MAX ? UINT32_MAX : n);
    while (s->zs.avail_out == n) {
        if ((rc = fill_raw(s, err)))
            return rc;
        if (s->raw_pos == s->raw_len) {
            if (!s->z_done)
                return pf_error_set(err, PF_EFORMAT, "%s: truncated gzip stream", s->name);
            return 0;
        }
        if (s->z_done) {
            /* Another gzip member follows the one that ended. */
            if (inflateReset(&s->zs) != Z_OK)
                return pf_error_set(err, PF_EFORMAT, "%s: bad gzip stream", s->name);
            s->z_done = 0;
        }
        s->zs.next_in = s->raw + s->raw_pos;
        s->zs.avail_in = (uInt) (s->raw_len - s->raw_pos);
        int zr = inflate(&s->zs, Z_NO_FLUSH);
        s->raw_pos = s->raw_len - s->zs.avail_in;
        if (zr == Z_STREAM_END)
            s->z_done = 1;
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return pf_error_set(err, PF_EFORMAT, "%s: corrupt gzip data (%s)", s->name,
                                s->zs.msg ? s->zs.msg : "inflate failed");
    }
    return (ssize_t) (n - s->zs.avail_out);
}

void pf_source_sha256(const pf_source *s, char *hex)
{
    pf_sha256 copy = s->sha; /* digesting resets; the source keeps its state */
    pf_sha256_hex(&copy, hex);
}

uint64_t pf_source_raw_bytes(const pf_source *s)
{
    return s->raw_total;
}

void pf_source_close(pf_source *s)
{
    if (!s)
        return;
    if (s->gzip)
        inflateEnd(&s->zs);
    if (s->close_fd)
        close(s->fd);
    if (s->own_raw) /* also when open(2) failed and fd is still -1 */
        free(s->raw);
    free(s->name);
    free(s);
}
