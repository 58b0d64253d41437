/*
 * rowfmt.h - decisions as output rows: CSV or JSON lines.
 *
 * Batch scoring formats rows on its worker threads into per-chunk text
 * buffers, which the writer emits in input order. Numbers are written with
 * fixed decimals by integer arithmetic (no printf, no locale): p with 6
 * decimals, logits and contributions with 4, so the same decision always
 * gives the same bytes.
 */
#ifndef PROFIL_ROWFMT_H
#define PROFIL_ROWFMT_H

#include <stddef.h>
#include <stdint.h>

#include "profil/decide.h"
#include "profil/frame.h"

/* A growable text buffer. */
typedef struct pf_buf {
    char *p;
    size_t n, cap;
    int failed; /* an allocation failed: the content is incomplete */
} pf_buf;

void pf_buf_free(pf_buf *b);

/* Appending to a buffer (an allocation failure sets b->failed): bytes, a
 * string, an unsigned integer, v with exactly dec decimals (0-9, rounded
 * half away from zero, by integer arithmetic), a JSON string literal. */
void pf_buf_put(pf_buf *b, const char *s, size_t n);
void pf_buf_puts(pf_buf *b, const char *s);
void pf_buf_uint(pf_buf *b, uint64_t v);
void pf_buf_fixed(pf_buf *b, double v, int dec);
void pf_buf_json_str(pf_buf *b, const char *s, size_t n);

enum { PF_ROWFMT_CSV, PF_ROWFMT_JSONL };

/* A text written into every other CSV row, kept with 16 zero bytes after
 * it so that it is copied in fixed 16-byte moves. */
typedef struct pf_rowfmt_text {
    char *s;
    uint32_t n;
} pf_rowfmt_text;

typedef struct pf_rowfmt {
    int format;
    const pf_decider *d;
    const pf_schema *s;
    int nreasons;  /* reason columns */
    size_t npass;  /* passthrough columns */
    int *pass_col; /* schema column, or -1 - k for the frame's k-th passthrough column */
    char **pass_name;
    char model_id[17]; /* first 16 hex digits of the model's SHA-256 */
    char policy_id[17];
    size_t csv_bound;          /* the most a CSV row takes besides its id and passthrough columns */
    pf_rowfmt_text *col_text;  /* per schema column: its name (the reasons) */
    pf_rowfmt_text *area_text; /* per policy area: its name as a CSV field */
    pf_rowfmt_text *rule_text; /* per policy rule: its code */
} pf_rowfmt;

/* Sets up a formatter; names are passthrough column names, resolved
 * against the schema first and then the reader's unknown columns
 * (frame_pass_names, nframe_pass). PF_ENOTFOUND names an unknown column. */
int pf_rowfmt_init(pf_rowfmt *rf, int format, const pf_decider *d, int nreasons,
                   const char *const *names, size_t nnames, const char *const *frame_pass_names,
                   size_t nframe_pass, pf_error *err);

void pf_rowfmt_free(pf_rowfmt *rf);

/* The CSV header line (nothing for JSON lines). */
void pf_rowfmt_header(const pf_rowfmt *rf, pf_buf *b);

/* Appends row i of f with its decision. */
void pf_rowfmt_row(const pf_rowfmt *rf, pf_buf *b, const pf_frame *f, size_t i,
                   const pf_decision *x);

/* A JSON-lines row without its opening '{' and id member: ',"p":...}'
 * and the newline. The audit log puts its own members first. */
void pf_rowfmt_json_after_id(const pf_rowfmt *rf, pf_buf *b, const pf_frame *f, size_t i,
                             const pf_decision *x);

#endif
