/*
 * http_audit.c - the audit log (see http_audit.h).
 */
#include "http_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <nettle/hmac.h>

#define SALT_MAX 1024

struct pf_audit {
    char *path;
    int fd;
    pthread_mutex_t mu; /* guards fd against a reopen */
    uint8_t salt[SALT_MAX];
    size_t nsalt;
};

static int open_log(const char *path, pf_error *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return pf_error_set(err, PF_EIO, "%s: cannot open the audit log: %s", path,
                            strerror(errno));
    return fd;
}

int pf_audit_open(pf_audit **out, const char *path, const char *salt_path, pf_error *err)
{
    *out = NULL;
    pf_audit *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    a->fd = -1;
    pthread_mutex_init(&a->mu, NULL);
    int rc = 0;
    if (salt_path) {
        FILE *fp = fopen(salt_path, "rb");
        if (!fp) {
            rc = pf_error_set(err, PF_EIO, "%s: cannot open the salt file", salt_path);
        } else {
            a->nsalt = fread(a->salt, 1, SALT_MAX, fp);
            if (ferror(fp))
                rc = pf_error_set(err, PF_EIO, "%s: read error", salt_path);
            else if (a->nsalt < 16)
                rc = pf_error_set(err, PF_EFORMAT, "%s: a salt needs at least 16 bytes", salt_path);
            fclose(fp);
        }
    } else {
        a->nsalt = 32;
        if (getrandom(a->salt, a->nsalt, 0) != (ssize_t) a->nsalt)
            rc = pf_error_set(err, PF_EIO, "no random salt: %s", strerror(errno));
    }
    if (!rc) {
        a->fd = open_log(path, err);
        if (a->fd < 0)
            rc = a->fd;
    }
    if (rc) {
        pf_audit_close(a);
        return rc;
    }
    *out = a;
    return 0;
}

int pf_audit_reopen(pf_audit *a, pf_error *err)
{
    int fd = open_log(a->path, err);
    if (fd < 0)
        return fd;
    pthread_mutex_lock(&a->mu);
    int old = a->fd;
    a->fd = fd;
    pthread_mutex_unlock(&a->mu);
    close(old);
    return 0;
}

void pf_audit_close(pf_audit *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    pthread_mutex_destroy(&a->mu);
    explicit_bzero(a->salt, sizeof a->salt);
    free(a->path);
    free(a);
}

void pf_audit_id_hash(const pf_audit *a, const char *id, size_t n, char out[33])
{
    static const char hex[] = "0123456789abcdef";
    struct hmac_sha256_ctx h;
    uint8_t d[16];
    hmac_sha256_set_key(&h, a->nsalt, a->salt);
    hmac_sha256_update(&h, n, (const uint8_t *) id);
    hmac_sha256_digest(&h, sizeof d, d);
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[32] = '\0';
}

void pf_audit_format(const pf_audit *a, pf_buf *b, const char *route, const pf_rowfmt *rf,
                     const pf_frame *f, size_t i, const pf_decision *x)
{
    const pf_schema *s = rf->s;
    const char *id = NULL;
    size_t idlen = 0;
    if (s->id_col >= 0 && f->col[s->id_col].str[i].off != PF_STR_MISSING) {
        id = pf_frame_str(f, f->col[s->id_col].str[i]);
        idlen = f->col[s->id_col].str[i].len;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char t[32], ms[8];
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ms, sizeof ms, ".%03dZ", (int) (ts.tv_nsec / 1000000) % 1000);
    strcat(t, ms);
    pf_buf_puts(b, "{\"time\":\"");
    pf_buf_puts(b, t);
    pf_buf_puts(b, "\",\"route\":");
    pf_buf_json_str(b, route, strlen(route));
    pf_buf_puts(b, ",\"id_hash\":");
    if (id) {
        char h[33];
        pf_audit_id_hash(a, id, idlen, h);
        pf_buf_json_str(b, h, 32);
    } else {
        pf_buf_puts(b, "null");
    }
    pf_rowfmt_json_after_id(rf, b, f, i, x);
}

int pf_audit_write(pf_audit *a, const pf_buf *b)
{
    if (b->failed)
        return -1;
    pthread_mutex_lock(&a->mu);
    size_t done = 0;
    int rc = 0;
    while (done < b->n) {
        ssize_t k = write(a->fd, b->p + done, b->n - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = -1;
            break;
        }
        done += (size_t) k;
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}
