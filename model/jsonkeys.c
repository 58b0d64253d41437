/*
 * jsonkeys.c - strict reading of profil's JSON files (see jsonkeys.h).
 */
#include "profil/jsonkeys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_BYTES (64u << 20)

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

int pf_json_load_buffer(const char *buf, size_t n, const char *name, int status, json_t **root,
                        char hex[PF_SHA256_HEX], pf_error *err)
{
    json_error_t jerr;
    *root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root)
        return pf_error_set(err, status, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
    if (hex) {
        pf_sha256 h;
        pf_sha256_init(&h);
        pf_sha256_update(&h, buf, n);
        pf_sha256_hex(&h, hex);
    }
    return 0;
}

int pf_json_load_file(const char *path, int status, int io_status, json_t **root,
                      char hex[PF_SHA256_HEX], pf_error *err)
{
    *root = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return pf_error_set(err, io_status, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    while (!rc && !feof(fp) && !ferror(fp)) {
        if (n == cap) {
            if (cap > JSON_MAX_BYTES) {
                rc =
                    pf_error_set(err, status, "%s: larger than %u MiB", path, JSON_MAX_BYTES >> 20);
                break;
            }
            cap = cap ? 2 * cap : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = pf_error_set(err, PF_ENOMEM, "out of memory reading %s", path);
                break;
            }
            buf = nb;
        }
        n += fread(buf + n, 1, cap - n, fp);
    }
    if (!rc && ferror(fp))
        rc = pf_error_set(err, io_status, "%s: cannot read", path);
    fclose(fp);
    if (!rc)
        rc = pf_json_load_buffer(buf ? buf : "", n, path, status, root, hex, err);
    free(buf);
    return rc;
}
