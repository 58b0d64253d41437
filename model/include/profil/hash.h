/*
 * hash.h - SHA-256 (through GNU Nettle) for traceability: every model,
 * policy, input and output is identified by the hash of its bytes, so a
 * scored row can be traced to exactly what produced it.
 */
#ifndef PROFIL_HASH_H
#define PROFIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PF_SHA256_HEX 65 /* 64 hex digits and a NUL */

typedef struct pf_sha256 {
    uint64_t state[16]; /* room for Nettle's sha256_ctx, kept opaque */
} pf_sha256;

void pf_sha256_init(pf_sha256 *h);
void pf_sha256_update(pf_sha256 *h, const void *data, size_t n);
/* Writes the digest as lowercase hex into hex[PF_SHA256_HEX]; h is reset. */
void pf_sha256_hex(pf_sha256 *h, char *hex);

/* SHA-256 of a whole file, as `sha256sum` prints it. */
int pf_sha256_file(const char *path, char *hex, pf_error *err);

#ifdef __cplusplus
}
#endif
#endif
