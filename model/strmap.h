/*
 * strmap.h - internal: a small open-addressing map from byte strings to
 * non-negative int32 values. Used to look up category levels, reference
 * table keys and header names. Keys are copied; lookups do not allocate.
 */
#ifndef PROFIL_STRMAP_H
#define PROFIL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct pf_strmap {
    size_t cap;  /* power of two */
    size_t size; /* number of keys */
    char **keys;
    uint64_t *heads; /* a key's first eight bytes, packed */
    uint32_t *lens;
    int32_t *vals;
} pf_strmap;

void pf_strmap_init(pf_strmap *m);
void pf_strmap_clear(pf_strmap *m);

/* Inserts key → val. Returns 0, 1 when the key was already present (the
 * old value is kept), or PF_ENOMEM. */
int pf_strmap_put(pf_strmap *m, const char *key, size_t len, int32_t val);

/* Value of key, or -1 when absent. */
int32_t pf_strmap_get(const pf_strmap *m, const char *key, size_t len);

#endif
