/*
 * records.c - decision files read back record by record (see records.h).
 *
 * The text sits in one buffer: [head, len) is unread, and a record is found
 * by scanning from `scan` with the quote state kept between reads, so a
 * record that spans two reads is never scanned twice. The buffer grows to
 * the longest record (at most PF_RECORDS_MAX) and no further.
 */
#include "profil/records.h"

#include <stdlib.h>
#include <string.h>

#include "source.h"

#define READ_BYTES (256u << 10)

struct pf_records {
    pf_source *src;
    int mode;
    char *buf;
    size_t cap, head, len, scan;
    int in_quote, eof;
    int64_t count;
    pf_sha256 text;
};

static int open_common(pf_records **out, pf_source *src, int mode, pf_error *err)
{
    pf_records *r = calloc(1, sizeof *r);
    if (!r) {
        pf_source_close(src);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    r->src = src;
    r->mode = mode;
    pf_sha256_init(&r->text);
    *out = r;
    return 0;
}

int pf_records_open(pf_records **out, const char *path, int mode, pf_error *err)
{
    pf_source *src;
    *out = NULL;
    int rc = pf_source_open_file(&src, path, err);
    return rc ? rc : open_common(out, src, mode, err);
}

int pf_records_open_memory(pf_records **out, const void *buf, size_t n, int mode, pf_error *err)
{
    pf_source *src;
    *out = NULL;
    int rc = pf_source_open_memory(&src, buf, n, err);
    return rc ? rc : open_common(out, src, mode, err);
}

/* Reads more text behind [head, len), moving it to the front first. */
static int fill(pf_records *r, pf_error *err)
{
    if (r->head) {
        memmove(r->buf, r->buf + r->head, r->len - r->head);
        r->len -= r->head;
        r->scan -= r->head;
        r->head = 0;
    }
    if (r->cap - r->len < READ_BYTES) {
        if (r->len >= PF_RECORDS_MAX)
            return pf_error_set(err, PF_ELIMIT,
                                "record %lld is longer than %u bytes (a quote left open?)",
                                (long long) r->count + 1, PF_RECORDS_MAX);
        size_t cap = r->len + READ_BYTES;
        char *p = realloc(r->buf, cap);
        if (!p)
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        r->buf = p;
        r->cap = cap;
    }
    ssize_t got = pf_source_read(r->src, r->buf + r->len, r->cap - r->len, err);
    if (got < 0)
        return (int) got;
    if (got == 0)
        r->eof = 1;
    pf_sha256_update(&r->text, r->buf + r->len, (size_t) got);
    r->len += (size_t) got;
    return 0;
}

int pf_records_next(pf_records *r, const char **rec, size_t *n, pf_error *err)
{
    for (;;) {
        size_t i = r->scan;
        if (r->mode == PF_RECORDS_CSV) {
            for (; i < r->len; i++) {
                char c = r->buf[i];
                if (c == '"')
                    r->in_quote = !r->in_quote;
                else if (c == '\n' && !r->in_quote)
                    break;
            }
        } else {
            const char *nl = i < r->len ? memchr(r->buf + i, '\n', r->len - i) : NULL;
            i = nl ? (size_t) (nl - r->buf) : r->len;
        }
        r->scan = i;
        if (i < r->len || (r->eof && r->len > r->head)) {
            size_t end = i, next = i < r->len ? i + 1 : i;
            if (end > r->head && r->buf[end - 1] == '\r')
                end--;
            *rec = r->buf + r->head;
            *n = end - r->head;
            r->head = r->scan = next;
            r->in_quote = 0;
            r->count++;
            return 1;
        }
        if (r->eof)
            return 0;
        int rc = fill(r, err);
        if (rc)
            return rc;
    }
}

int64_t pf_records_count(const pf_records *r)
{
    return r->count;
}

void pf_records_sha256(const pf_records *r, char hex[PF_SHA256_HEX])
{
    pf_sha256 copy = r->text;
    pf_sha256_hex(&copy, hex);
}

void pf_records_close(pf_records *r)
{
    if (!r)
        return;
    pf_source_close(r->src);
    free(r->buf);
    free(r);
}

size_t pf_csv_split(const char *rec, size_t n, char delim, size_t *start, size_t *len, size_t max)
{
    size_t k = 0, from = 0;
    int in_quote = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && rec[i] == '"') {
            in_quote = !in_quote;
            continue;
        }
        if (i == n || (rec[i] == delim && !in_quote)) {
            if (k < max) {
                start[k] = from;
                len[k] = i - from;
            }
            k++;
            from = i + 1;
        }
    }
    return k;
}

size_t pf_csv_unquote(const char *s, size_t n, char *buf, size_t cap)
{
    size_t w = 0;
    if (!cap)
        return 0;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        s++;
        n -= 2;
    }
    for (size_t i = 0; i < n && w + 1 < cap; i++) {
        buf[w++] = s[i];
        if (s[i] == '"' && i + 1 < n && s[i + 1] == '"')
            i++;
    }
    buf[w] = 0;
    return w;
}
