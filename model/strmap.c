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
        size_t j = pf_strmap_find(&bigger, m->heads[i], m->keys[i], m->lens[i]);
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
    uint64_t head = pf_strmap_head8(key, len);
    size_t i = pf_strmap_find(m, head, key, len);
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
