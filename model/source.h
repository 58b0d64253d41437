/*
 * source.h - internal: a byte stream from a file, standard input or memory,
 * transparently gunzipped when it starts with the gzip magic bytes
 * (concatenated gzip members included, as pigz and bgzip write them).
 */
#ifndef PROFIL_SOURCE_H
#define PROFIL_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "profil/status.h"

typedef struct pf_source pf_source;

/* path "-" reads standard input. */
int pf_source_open_file(pf_source **out, const char *path, pf_error *err);

/* Reads from buf[0..n), which must outlive the source. */
int pf_source_open_memory(pf_source **out, const void *buf, size_t n, pf_error *err);

/* Reads up to n decompressed bytes; returns the count, 0 at the end, or a
 * negative pf_status with err filled. */
ssize_t pf_source_read(pf_source *s, void *buf, size_t n, pf_error *err);

/* SHA-256 (hex, PF_SHA256_HEX bytes) of the raw bytes consumed so far:
 * of the whole file, as `sha256sum` prints it, once the end was reached. */
void pf_source_sha256(const pf_source *s, char *hex);

/* Compressed (on-disk) bytes consumed so far. */
uint64_t pf_source_raw_bytes(const pf_source *s);

/* Accepts NULL. */
void pf_source_close(pf_source *s);

#endif
