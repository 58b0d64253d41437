/*
 * whatif_impl.h - what the what-if files share and the public header
 * does not show: the engine and profile structures, and profiles as CSV
 * rows read back through the reader.
 */
#ifndef PROFIL_WHATIF_IMPL_H
#define PROFIL_WHATIF_IMPL_H

#include <stdint.h>

#include "profil/frame.h"
#include "profil/whatif.h"

/* Profiles are written with this delimiter: the reader then takes a
 * decimal point or a decimal comma, as in an export. */
#define PF_WI_DELIM ';'

struct pf_whatif {
    const pf_decider *d;
    const pf_whatif_settings *ws;
    const pf_schema *s;
    int *slot;     /* schema column -> index in ws->cols, or -1 */
    uint8_t *used; /* input column read by the model or the policy (via derived ones too) */
};

struct pf_profile {
    const pf_whatif *w;
    size_t n;     /* ws->ncols */
    char **val;   /* per settings column */
    uint8_t *src; /* pf_profile_source per settings column */
    char *id;     /* NULL = none */
    uint8_t id_src;
    int has_file;
};

typedef struct pf_wi_buf {
    char *p;
    size_t n, cap;
    int failed;
} pf_wi_buf;

int pf_wi_buf_put(pf_wi_buf *b, const char *s, size_t n);

/* The CSV header of a profile, and one row (values per settings column). */
void pf_wi_header(const pf_schema *s, const pf_whatif_settings *ws, pf_wi_buf *b);
void pf_wi_row(const pf_schema *s, const pf_whatif_settings *ws, pf_wi_buf *b, const char *id,
               const char *const *val);

typedef int (*pf_wi_frame_fn)(void *ctx, const pf_frame *f, pf_error *err);

/* Reads nrows CSV rows through the reader, calling fn for each frame of
 * accepted rows (f->row[i] is the 1-based row). Reports how many rows were
 * rejected, the first problem's text and its row. */
int pf_wi_read(const pf_schema *s, const pf_wi_buf *csv, size_t nrows, pf_wi_frame_fn fn, void *ctx,
               int64_t *rejected_rows, char *first_problem, size_t fpn, int64_t *first_bad_row,
               pf_error *err);

/* Scores nrows CSV rows into out[row - 1] (p NaN for a rejected row);
 * card, when given, receives the contributions of the (single) row. */
int pf_wi_score_rows(const pf_whatif *w, const pf_wi_buf *csv, size_t nrows, pf_whatif_score *out,
                     pf_whatif_card *card, int64_t *rejected, char *problem, size_t pn,
                     int64_t *first_bad, pf_error *err);

/* Standard error and interval of a score from its design row x. */
void pf_wi_interval(const pf_model *m, const double *x, pf_whatif_score *sc);

/* A JSON scalar as input text (caller frees); NULL for arrays and objects. */
struct json_t;
char *pf_wi_json_text(const struct json_t *v);

/* Frame row i, column col, as input text. */
void pf_wi_frame_text(const pf_frame *f, size_t i, int col, char *buf, size_t n);

void pf_wi_mark_used(pf_whatif *w, int col);

#endif
