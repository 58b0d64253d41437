/*
 * jsonkeys.c - unknown-key checks for profil's JSON files (see jsonkeys.h).
 */
#include "profil/jsonkeys.h"

#include <string.h>

int pf_json_check_keys(const json_t *obj, const char *const *allowed, const char *path,
                       const char *where, int status, pf_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) obj, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, key) == 0;
        if (!ok)
            return pf_error_set(err, status, "%s: %s: unknown key '%s'", path, where, key);
    }
    return 0;
}
