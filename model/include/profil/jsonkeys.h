/*
 * jsonkeys.h - strict reading of profil's JSON files (schemas, model
 * specifications, policies): an object may hold only the keys its format
 * defines, so a misspelt key is an error at load, not a silent default.
 */
#ifndef PROFIL_JSONKEYS_H
#define PROFIL_JSONKEYS_H

#include <jansson.h>

#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns 0 when every key of obj is in the NULL-terminated list allowed;
 * else fills err with "PATH: WHERE: unknown key 'K'" and returns status. */
int pf_json_check_keys(const json_t *obj, const char *const *allowed, const char *path,
                       const char *where, int status, pf_error *err);

#ifdef __cplusplus
}
#endif
#endif
