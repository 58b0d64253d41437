/*
 * hash.c - SHA-256 through GNU Nettle (see hash.h).
 */
#include "profil/hash.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(struct sha256_ctx) <= sizeof(pf_sha256), "pf_sha256 too small");

void pf_sha256_init(pf_sha256 *h)
{
    sha256_init((struct sha256_ctx *) h);
}

void pf_sha256_update(pf_sha256 *h, const void *data, size_t n)
{
    sha256_update((struct sha256_ctx *) h, n, data);
}

void pf_sha256_hex(pf_sha256 *h, char *hex)
{
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest((struct sha256_ctx *) h, sizeof d, d);
    for (size_t i = 0; i < sizeof d; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

int pf_sha256_file(const char *path, char *hex, pf_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return pf_error_set(err, PF_EIO, "cannot open %s: %s", path, strerror(errno));
    pf_sha256 h;
    pf_sha256_init(&h);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        pf_sha256_update(&h, buf, n);
    int bad = ferror(fp);
    fclose(fp);
    if (bad)
        return pf_error_set(err, PF_EIO, "cannot read %s", path);
    pf_sha256_hex(&h, hex);
    return 0;
}
