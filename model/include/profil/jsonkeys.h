/*
 * jsonkeys.h - strict reading of profil's JSON files (schemas, model
 * specifications, policies, models): an object may hold only the keys its
 * format defines, so a misspelt key is an error at load, not a silent
 * default; and a file is read once, so the SHA-256 that identifies it is
 * that of the very bytes that were parsed.
 */
#ifndef PROFIL_JSONKEYS_H
#define PROFIL_JSONKEYS_H

#include <jansson.h>

#include "profil/hash.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns 0 when every key of obj is in the NULL-terminated list allowed;
 * else fills err with "PATH: WHERE: unknown key 'K'" and returns status. */
int pf_json_check_keys(const json_t *obj, const char *const *allowed, const char *path,
                       const char *where, int status, pf_error *err);

/* Parses a JSON document held in memory (duplicate keys rejected) and
 * hashes the same bytes into hex (may be NULL). A parse error is
 * "NAME:LINE:COLUMN: text" with status. */
int pf_json_load_buffer(const char *buf, size_t n, const char *name, int status, json_t **root,
                        char hex[PF_SHA256_HEX], pf_error *err);

/* Reads the file at path (at most 64 MiB) once, then as pf_json_load_buffer.
 * A file that cannot be opened or read fails with io_status. */
int pf_json_load_file(const char *path, int status, int io_status, json_t **root,
                      char hex[PF_SHA256_HEX], pf_error *err);

#ifdef __cplusplus
}
#endif
#endif
