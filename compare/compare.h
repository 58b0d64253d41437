/*
 * compare.h - comparing two decision files written by `profil score` text
 * for text (a rerun against the run it reproduces), and the subcommands of
 * this folder: rerun, diff, simulate.
 */
#ifndef PROFIL_COMPARE_H
#define PROFIL_COMPARE_H

#include <stdint.h>

#include "profil/hash.h"
#include "profil/status.h"

typedef struct pf_compare_result {
    int64_t old_rows, new_rows; /* data rows (the CSV header is not a row) */
    int64_t ndiffer;            /* rows whose text differs, or that only one file has */
    int64_t first_row; /* 1-based data row of the first difference; 0 = the header, -1 = none */
    int header_differs;
    char old_sha256[PF_SHA256_HEX]; /* of the old file's text */
    char first[1024];               /* the first difference, in words (may name an id) */
} pf_compare_result;

/* Compares the old and new decision files (plain or gzip; mode
 * PF_RECORDS_CSV or PF_RECORDS_LINES) row by row. */
int pf_compare_outputs(const char *old_path, const char *new_path, int mode, pf_compare_result *res,
                       pf_error *err);

/* The SHA-256 of a decision file's text (decompressed). */
int pf_compare_text_sha256(const char *path, int mode, char hex[PF_SHA256_HEX], pf_error *err);

struct json_t;

/* Writes the JSON document j (2-space indent, key order kept, a final
 * newline) atomically to path, and releases j. */
int pf_compare_write_json(const char *path, struct json_t *j, pf_error *err);

#endif
