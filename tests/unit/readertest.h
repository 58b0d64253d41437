/*
 * readertest.h - helpers shared by the input-side unit tests (reader,
 * schema, parsers): exact-value assertions, a growable byte buffer, gzip
 * compression of test inputs and scratch directories.
 *
 * Include after <cmocka.h>. Everything is static: each test program gets
 * its own copy.
 */
#ifndef PROFIL_READERTEST_H
#define PROFIL_READERTEST_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Exact equality of doubles, with both values printed on failure. */
#define assert_num(a, b)                                                                           \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!(a_ == b_))                                                                           \
            fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);                                    \
    } while (0)

/* hay is a string containing needle. */
#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        const char *h_ = (hay);                                                                    \
        if (!h_ || !strstr(h_, (needle)))                                                          \
            fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", (needle));                  \
    } while (0)

#define assert_not_contains(hay, needle)                                                           \
    do {                                                                                           \
        const char *h_ = (hay);                                                                    \
        if (h_ && strstr(h_, (needle)))                                                            \
            fail_msg("'%s' contains '%s'", h_, (needle));                                          \
    } while (0)

typedef struct tbuf {
    char *p;
    size_t n, cap;
} tbuf;

static inline void tbuf_add(tbuf *b, const void *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static inline void tbuf_puts(tbuf *b, const char *s)
{
    tbuf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static inline void tbuf_printf(tbuf *b, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t) n < sizeof tmp);
    tbuf_add(b, tmp, (size_t) n);
}

static inline void tbuf_free(tbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* One gzip member holding in[0..n), appended to out. */
static inline void gzip_append(tbuf *out, const void *in, size_t n)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uLong bound = deflateBound(&zs, (uLong) n) + 32;
    char *z = malloc(bound);
    assert_non_null(z);
    zs.next_in = (Bytef *) in;
    zs.avail_in = (uInt) n;
    zs.next_out = (Bytef *) z;
    zs.avail_out = (uInt) bound;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    tbuf_add(out, z, bound - zs.avail_out);
    deflateEnd(&zs);
    free(z);
}

/* A fresh directory under TMPDIR (or /tmp); the caller removes it with
 * rm_tmpdir. */
static inline char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *path;
    assert_true(asprintf(&path, "%s/profil-test-XXXXXX", base && *base ? base : "/tmp") > 0);
    assert_non_null(mkdtemp(path));
    return path;
}

/* Removes dir and everything in it (one level of subdirectories). */
static inline void rm_tmpdir(char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p;
            assert_true(asprintf(&p, "%s/%s", dir, e->d_name) > 0);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                rm_tmpdir(p);
            else {
                unlink(p);
                free(p);
            }
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

static inline void write_file(const char *path, const void *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

/* The whole file as a NUL-terminated string; *n gets its length. */
static inline char *read_file(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    tbuf b = {0};
    char tmp[65536];
    size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, fp)) > 0)
        tbuf_add(&b, tmp, k);
    fclose(fp);
    if (!b.p)
        tbuf_add(&b, "", 0);
    if (n)
        *n = b.n;
    return b.p;
}

#endif
