/*
 * strmap.h - internal: a small open-addressing map from byte strings to
 * non-negative int32 values. Used to look up category levels, reference
 * table keys and header names. Keys are copied; lookups do not allocate.
 */
#ifndef PROFIL_STRMAP_H
#define PROFIL_STRMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* Lookups are inline: they are on every category value the reader checks. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define PF_STRMAP_LE64(x) __builtin_bswap64(x)
#define PF_STRMAP_LE32(x) __builtin_bswap32(x)
#else
#define PF_STRMAP_LE64(x) (x)
#define PF_STRMAP_LE32(x) (x)
#endif

/* The first eight bytes of a key (fewer when it is shorter), byte i in
 * bits 8i..8i+7, read with at most two loads. Overlapping loads write the
 * same bytes twice, which OR leaves unchanged. */
static inline uint64_t pf_strmap_head8(const char *s, size_t n)
{
    if (n >= 8) {
        uint64_t k;
        memcpy(&k, s, 8);
        return PF_STRMAP_LE64(k);
    }
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        return (uint64_t) PF_STRMAP_LE32(lo) | (uint64_t) PF_STRMAP_LE32(hi) << (8 * (n - 4));
    }
    if (n == 0)
        return 0;
    return (uint64_t) (unsigned char) s[0] | (uint64_t) (unsigned char) s[n / 2] << (8 * (n / 2)) |
           (uint64_t) (unsigned char) s[n - 1] << (8 * (n - 1));
}

/* Keys are mostly codes of up to eight bytes ("0114", "SE"): those hash
 * with one multiply of their packed bytes and compare as one word. */
static inline uint64_t pf_strmap_hash(uint64_t head, const char *s, size_t n)
{
    uint64_t h = (head ^ (uint64_t) n << 56) * 0x9E3779B97F4A7C15ULL;
    for (size_t i = 8; i < n; i++)
        h = (h ^ (unsigned char) s[i]) * 1099511628211ULL;
    return h ^ (h >> 32);
}

/* Keys are mostly a few bytes long, where a plain loop beats a call. */
static inline int pf_strmap_same(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static inline size_t pf_strmap_find(const pf_strmap *m, uint64_t head, const char *key, size_t len)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t) pf_strmap_hash(head, key, len) & mask;
    while (m->keys[i] && !(m->heads[i] == head && m->lens[i] == len &&
                           (len <= 8 || pf_strmap_same(m->keys[i] + 8, key + 8, len - 8))))
        i = (i + 1) & mask;
    return i;
}

/* Value of key, or -1 when absent. */
static inline int32_t pf_strmap_get(const pf_strmap *m, const char *key, size_t len)
{
    if (m->cap == 0)
        return -1;
    size_t i = pf_strmap_find(m, pf_strmap_head8(key, len), key, len);
    return m->keys[i] ? m->vals[i] : -1;
}

#endif
