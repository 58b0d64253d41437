/*
 * frame.h - a chunk of accepted rows as typed columns.
 *
 * The reader fills frames; the encoder, the model kernels and the writers
 * read them. Columns follow the schema's order (derived columns included):
 * integer and number columns in num (NaN = missing), category and boolean
 * columns as level indices in cat (-1 = missing), string columns as
 * references into the frame's arena. Unknown input columns kept with
 * passthrough come after, as strings. Only accepted rows are in a frame;
 * row[i] gives the row's 1-based position among the input's data rows.
 */
#ifndef PROFIL_FRAME_H
#define PROFIL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "profil/schema.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pf_strref {
    uint32_t off; /* into the frame's arena; PF_STR_MISSING for a missing value */
    uint32_t len; /* bytes; the arena keeps a NUL after each string */
} pf_strref;

#define PF_STR_MISSING UINT32_MAX

typedef struct pf_colbuf {
    double *num;    /* integer, number */
    int32_t *cat;   /* category, boolean */
    pf_strref *str; /* string */
} pf_colbuf;

typedef struct pf_frame {
    const pf_schema *schema;
    size_t n;       /* rows held */
    size_t cap;     /* rows allocated */
    size_t target;  /* rows the reader aims for per chunk (<= cap) */
    int64_t *row;   /* 1-based data row number in the input */
    int64_t *line;  /* physical line where the row starts */
    pf_colbuf *col; /* schema->ncols columns */
    size_t npass;   /* passthrough columns */
    const char *const *pass_names;
    pf_strref **pass; /* npass columns of strings */
    char *arena;
    size_t arena_len;
    size_t arena_cap;
    uint64_t input_bytes; /* input bytes as stored (compressed for gzip) consumed once
                             this frame was filled: a reader's progress, readable by
                             whoever holds the frame */
} pf_frame;

/* Allocates a frame for schema s holding up to cap rows, with npass
 * passthrough columns named pass_names (the names are borrowed, not
 * copied). target is set to cap. */
int pf_frame_new(pf_frame **out, const pf_schema *s, size_t cap, size_t npass,
                 const char *const *pass_names, pf_error *err);

/* Accepts NULL. */
void pf_frame_free(pf_frame *f);

/* Makes room for at least `rows` rows (keeping the rows held). On failure
 * the frame is unchanged apart from columns already grown. */
int pf_frame_reserve(pf_frame *f, size_t rows, pf_error *err);

/* Empties the frame (keeps its memory). */
void pf_frame_clear(pf_frame *f);

/* Copies len bytes (plus a NUL) into the arena; returns 0 or PF_ENOMEM /
 * PF_ELIMIT when the arena would pass 4 GiB. */
int pf_frame_store(pf_frame *f, const char *s, size_t len, pf_strref *ref);

/* The string's bytes; "" for a missing value. */
static inline const char *pf_frame_str(const pf_frame *f, pf_strref r)
{
    return r.off == PF_STR_MISSING ? "" : f->arena + r.off;
}

#ifdef __cplusplus
}
#endif
#endif
