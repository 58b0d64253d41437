/*
 * strmap.c - string → int32 hash map with linear probing (see strmap.h).
 * FNV-1a hashing: the keys are short codes ("0114", "SE"), where it is
 * fast and spreads well.
 */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "profil/status.h"

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char) s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

void pf_strmap_init(pf_strmap *m)
{
    memset(m, 0, sizeof *m);
}

void pf_strmap_clear(pf_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->lens);
    free(m->vals);
    pf_strmap_init(m);
}

/* Keys are mostly a few bytes long, where a plain loop beats a call. */
static int same(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static size_t find(const pf_strmap *m, const char *key, size_t len)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t) hash(key, len) & mask;
    while (m->keys[i] && !(m->lens[i] == len && same(m->keys[i], key, len)))
        i = (i + 1) & mask;
    return i;
}

static int grow(pf_strmap *m)
{
    pf_strmap bigger;
    bigger.cap = m->cap ? m->cap * 2 : 16;
    bigger.size = 0;
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.lens = calloc(bigger.cap, sizeof *bigger.lens);
    bigger.vals = calloc(bigger.cap, sizeof *bigger.vals);
    if (!bigger.keys || !bigger.lens || !bigger.vals) {
        free(bigger.keys);
        free(bigger.lens);
        free(bigger.vals);
        return PF_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = find(&bigger, m->keys[i], m->lens[i]);
        bigger.keys[j] = m->keys[i];
        bigger.lens[j] = m->lens[i];
        bigger.vals[j] = m->vals[i];
        bigger.size++;
    }
    free(m->keys);
    free(m->lens);
    free(m->vals);
    *m = bigger;
    return 0;
}

int pf_strmap_put(pf_strmap *m, const char *key, size_t len, int32_t val)
{
    /* Keep the load factor at or below one half. */
    if ((m->size + 1) * 2 > m->cap && grow(m))
        return PF_ENOMEM;
    size_t i = find(m, key, len);
    if (m->keys[i])
        return 1;
    char *copy = malloc(len + 1);
    if (!copy)
        return PF_ENOMEM;
    memcpy(copy, key, len);
    copy[len] = '\0';
    m->keys[i] = copy;
    m->lens[i] = (uint32_t) len;
    m->vals[i] = val;
    m->size++;
    return 0;
}

int32_t pf_strmap_get(const pf_strmap *m, const char *key, size_t len)
{
    if (m->cap == 0)
        return -1;
    size_t i = find(m, key, len);
    return m->keys[i] ? m->vals[i] : -1;
}
