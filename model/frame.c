/*
 * frame.c - allocation of typed column chunks (see frame.h).
 */
#include "profil/frame.h"

#include <stdlib.h>
#include <string.h>

int pf_frame_new(pf_frame **out, const pf_schema *s, size_t cap, size_t npass,
                 const char *const *pass_names, pf_error *err)
{
    *out = NULL;
    if (cap == 0)
        return pf_error_set(err, PF_EINVAL, "a frame needs room for at least one row");
    pf_frame *f = calloc(1, sizeof *f);
    if (!f)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    f->schema = s;
    f->cap = cap;
    f->target = cap;
    f->npass = npass;
    f->pass_names = pass_names;
    f->row = malloc(cap * sizeof *f->row);
    f->line = malloc(cap * sizeof *f->line);
    f->col = calloc(s->ncols, sizeof *f->col);
    f->pass = calloc(npass ? npass : 1, sizeof *f->pass);
    int ok = f->row && f->line && f->col && f->pass;
    for (size_t j = 0; ok && j < s->ncols; j++) {
        switch (s->cols[j].type) {
        case PF_TYPE_INTEGER:
        case PF_TYPE_NUMBER:
            ok = (f->col[j].num = malloc(cap * sizeof(double))) != NULL;
            break;
        case PF_TYPE_CATEGORY:
        case PF_TYPE_BOOLEAN:
            ok = (f->col[j].cat = malloc(cap * sizeof(int32_t))) != NULL;
            break;
        case PF_TYPE_STRING:
            ok = (f->col[j].str = malloc(cap * sizeof(pf_strref))) != NULL;
            break;
        }
    }
    for (size_t k = 0; ok && k < npass; k++)
        ok = (f->pass[k] = malloc(cap * sizeof(pf_strref))) != NULL;
    if (!ok) {
        pf_frame_free(f);
        return pf_error_set(err, PF_ENOMEM, "out of memory allocating a frame of %zu rows", cap);
    }
    *out = f;
    return 0;
}

void pf_frame_free(pf_frame *f)
{
    if (!f)
        return;
    if (f->col)
        for (size_t j = 0; j < f->schema->ncols; j++) {
            free(f->col[j].num);
            free(f->col[j].cat);
            free(f->col[j].str);
        }
    if (f->pass)
        for (size_t k = 0; k < f->npass; k++)
            free(f->pass[k]);
    free(f->pass);
    free(f->col);
    free(f->row);
    free(f->line);
    free(f->arena);
    free(f);
}

int pf_frame_reserve(pf_frame *f, size_t rows, pf_error *err)
{
    if (rows <= f->cap)
        return 0;
    size_t cap = f->cap * 2 > rows ? f->cap * 2 : rows;
    int ok = 1;
#define GROW(p)                                                                                    \
    do {                                                                                           \
        void *q_ = ok ? realloc((p), cap * sizeof *(p)) : NULL;                                    \
        if (q_)                                                                                    \
            (p) = q_;                                                                              \
        else                                                                                       \
            ok = 0;                                                                                \
    } while (0)
    GROW(f->row);
    GROW(f->line);
    for (size_t j = 0; j < f->schema->ncols; j++) {
        if (f->col[j].num)
            GROW(f->col[j].num);
        if (f->col[j].cat)
            GROW(f->col[j].cat);
        if (f->col[j].str)
            GROW(f->col[j].str);
    }
    for (size_t k = 0; k < f->npass; k++)
        GROW(f->pass[k]);
#undef GROW
    if (!ok)
        return pf_error_set(err, PF_ENOMEM, "out of memory growing a frame to %zu rows", cap);
    f->cap = cap;
    return 0;
}

void pf_frame_clear(pf_frame *f)
{
    f->n = 0;
    f->arena_len = 0;
}

int pf_frame_store(pf_frame *f, const char *s, size_t len, pf_strref *ref)
{
    size_t need = f->arena_len + len + 1;
    if (need > UINT32_MAX)
        return PF_ELIMIT;
    if (need > f->arena_cap) {
        size_t cap = f->arena_cap ? f->arena_cap : 65536;
        while (cap < need)
            cap *= 2;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        char *a = realloc(f->arena, cap);
        if (!a)
            return PF_ENOMEM;
        f->arena = a;
        f->arena_cap = cap;
    }
    memcpy(f->arena + f->arena_len, s, len);
    f->arena[f->arena_len + len] = '\0';
    ref->off = (uint32_t) f->arena_len;
    ref->len = (uint32_t) len;
    f->arena_len = need;
    return 0;
}
