/*
 * strmap.c - string → int32 hash map with linear probing (see strmap.h).
 * Each slot keeps the key's first eight bytes packed in a word beside its
 * length, so a probe compares words and touches the key's own memory only
 * for keys longer than eight bytes.
 */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "profil/status.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define le64(x) __builtin_bswap64(x)
#define le32(x) __builtin_bswap32(x)
#else
#define le64(x) (x)
#define le32(x) (x)
#endif

/* The first eight bytes of a key (fewer when it is shorter), byte i in
 * bits 8i..8i+7, read with at most two loads. Overlapping loads write the
 * same bytes twice, which OR leaves unchanged. */
static uint64_t head8(const char *s, size_t n)
{
    if (n >= 8) {
        uint64_t k;
        memcpy(&k, s, 8);
        return le64(k);
    }
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        return (uint64_t) le32(lo) | (uint64_t) le32(hi) << (8 * (n - 4));
    }
    if (n == 0)
        return 0;
    return (uint64_t) (unsigned char) s[0] | (uint64_t) (unsigned char) s[n / 2] << (8 * (n / 2)) |
           (uint64_t) (unsigned char) s[n - 1] << (8 * (n - 1));
}

/* Keys are mostly codes of up to eight bytes ("0114", "SE"): those hash
 * with one multiply of their packed bytes and compare as one word. */
static uint64_t hash(uint64_t head, const char *s, size_t n)
{
    uint64_t h = (head ^ (uint64_t) n << 56) * 0x9E3779B97F4A7C15ULL;
    for (size_t i = 8; i < n; i++)
        h = (h ^ (unsigned char) s[i]) * 1099511628211ULL;
    return h ^ (h >> 32);
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
    free(m->heads);
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

static size_t find(const pf_strmap *m, uint64_t head, const char *key, size_t len)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t) hash(head, key, len) & mask;
    while (m->keys[i] && !(m->heads[i] == head && m->lens[i] == len &&
                           (len <= 8 || same(m->keys[i] + 8, key + 8, len - 8))))
        i = (i + 1) & mask;
    return i;
}

static int grow(pf_strmap *m)
{
    pf_strmap bigger;
    bigger.cap = m->cap ? m->cap * 2 : 16;
    bigger.size = 0;
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.heads = calloc(bigger.cap, sizeof *bigger.heads);
    bigger.lens = calloc(bigger.cap, sizeof *bigger.lens);
    bigger.vals = calloc(bigger.cap, sizeof *bigger.vals);
    if (!bigger.keys || !bigger.heads || !bigger.lens || !bigger.vals) {
        free(bigger.keys);
        free(bigger.heads);
        free(bigger.lens);
        free(bigger.vals);
        return PF_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = find(&bigger, m->heads[i], m->keys[i], m->lens[i]);
        bigger.keys[j] = m->keys[i];
        bigger.heads[j] = m->heads[i];
        bigger.lens[j] = m->lens[i];
        bigger.vals[j] = m->vals[i];
        bigger.size++;
    }
    free(m->keys);
    free(m->heads);
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
    uint64_t head = head8(key, len);
    size_t i = find(m, head, key, len);
    if (m->keys[i])
        return 1;
    char *copy = malloc(len + 1);
    if (!copy)
        return PF_ENOMEM;
    memcpy(copy, key, len);
    copy[len] = '\0';
    m->keys[i] = copy;
    m->heads[i] = head;
    m->lens[i] = (uint32_t) len;
    m->vals[i] = val;
    m->size++;
    return 0;
}

int32_t pf_strmap_get(const pf_strmap *m, const char *key, size_t len)
{
    if (m->cap == 0)
        return -1;
    size_t i = find(m, head8(key, len), key, len);
    return m->keys[i] ? m->vals[i] : -1;
}
