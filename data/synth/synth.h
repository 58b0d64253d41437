/*
 * synth.h - the synthetic population generator behind `profil synth`.
 *
 * Real registry data on job seekers is confidential, so training, scoring,
 * evaluation and the benchmarks run on a synthetic population. Its rows have
 * the columns of data/schema/af-inskrivning.json (the source columns; derived
 * ones are left to the reader), plausible Swedish marginals and correlations,
 * and labels drawn from a known ground-truth logistic model, so that parameter
 * recovery and model quality can be tested against the truth.
 *
 * The generator is a stream: one row at a time from a seeded GSL generator,
 * constant memory for any number of rows, the same bytes for the same seed and
 * options. docs/synthetic-population.md documents every assumption.
 */
#ifndef PROFIL_SYNTH_H
#define PROFIL_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "profil/outfile.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the generating process: any change to a distribution, the
 * ground-truth model or the output format changes it, since the same seed then
 * gives different rows. Written to the truth file. */
#define PF_SYNTH_VERSION "1.0.0"

#define PF_SYNTH_DEFAULT_ROWS 650000ULL
#define PF_SYNTH_DEFAULT_SEED 20200330ULL
#define PF_SYNTH_MAX_ROWS     100000000ULL

/* Longest CSV line pf_synth_format() can produce, newline included. */
#define PF_SYNTH_LINE_MAX 512

typedef struct pf_synth_options {
    uint64_t n;          /* rows to write, 1..PF_SYNTH_MAX_ROWS */
    uint64_t seed;       /* any value; the same seed gives the same rows */
    const char *datadir; /* bundled data directory: reads ref/kommuner.csv,
                            ref/kommun-befolkning.csv, ref/fodelseland-region.csv */
    int with_truth_p;    /* nonzero: add the column p_sann_180d */
} pf_synth_options;

/* Birth regions, as in the schema's derived column fodelseregion. */
typedef enum pf_synth_region {
    PF_REGION_SVERIGE = 0,
    PF_REGION_NORDEN,
    PF_REGION_EU_EFTA,
    PF_REGION_EUROPA_OVRIGT,
    PF_REGION_UTANFOR_EUROPA,
    PF_REGION_COUNT
} pf_synth_region;

typedef enum pf_synth_ramprogram {
    PF_RAM_INGEN = 0,
    PF_RAM_JOB,
    PF_RAM_UGA,
    PF_RAM_ETP,
    PF_RAM_COUNT
} pf_synth_ramprogram;

/* One generated person. Codes are kept as integers; pf_synth_format() writes
 * them in the schema's spelling. Area statistics are in tenths (65 = 6.5). */
typedef struct pf_synth_row {
    uint64_t index; /* 0-based row number */
    char id[12];    /* "P" and nine digits, NUL-terminated */
    int alder;      /* 16..67 */
    char kon;       /* 'K' or 'M' */
    char fodelseland[3];
    int region; /* pf_synth_region of fodelseland */
    int kommun; /* index into the municipality table */
    char kommunkod[5];
    int utbildningsniva;               /* 1..7 or 9 */
    int utbildningsinriktning;         /* 0..9 */
    int sokt_yrke[4];                  /* SSYK 2012 unit groups; 0 = none, never a gap */
    int erfarenhet_sokt_yrke;          /* 0..4 */
    int utbildning_sokt_yrke;          /* 0/1 */
    int akassa;                        /* 0/1 */
    int inskrivningsmanad;             /* 1..12 */
    int inskrivningsdagar;             /* 0..7300 */
    int dagar_foregaende_period;       /* 0..7300; 0 without an earlier period */
    int dagar_sedan_foregaende_period; /* 0..25000; -1 (empty) without one */
    int antal_tidigare_perioder;       /* 0..99 */
    int dagar_tidigare_program;        /* 0..7300 */
    int funktionsnedsattning;          /* 0 (written "00"), 10, 20, ..., 90 */
    int nedsatt_arbetsformaga;         /* 0/1; 0 whenever funktionsnedsattning is 0 */
    int sokandekategori;               /* 11, 21, 22, 31, 41 or 68 */
    int kommunovergripande;            /* 0/1 */
    int sprakstod;                     /* 0/1 */
    int ramprogram;                    /* pf_synth_ramprogram */
    int omr[5];      /* tenths: arbetsloshet %, medianinkomst tkr, andel eftergymnasial %,
                        andel utrikes medborgare %, andel ensamhushall % */
    double logit180; /* ground-truth linear predictor, 180 days */
    double p180;     /* logistic(logit180) */
    double p90;      /* logistic(logit180 - delta) */
    double u;        /* the uniform draw both labels share */
    int y90, y180;   /* y = (u < p); so y90 = 1 implies y180 = 1 */
} pf_synth_row;

/* Label summary of a generated stream, as recorded in the truth file. */
typedef struct pf_synth_stats {
    uint64_t n;
    uint64_t y90, y180;       /* count of positive labels */
    double sum_p90, sum_p180; /* sums of the true probabilities */
    double auc180;            /* true model's AUC for y180 (binned, see synth.c) */
} pf_synth_stats;

typedef struct pf_synth pf_synth;

/* Loads the reference tables from opt->datadir, builds the municipality and
 * area tables and seeds the generator. On success *out owns the generator;
 * release it with pf_synth_free(). */
int pf_synth_new(pf_synth **out, const pf_synth_options *opt, pf_error *err);

/* Frees g. Accepts NULL. */
void pf_synth_free(pf_synth *g);

/* Draws the next row (row number = rows drawn so far). Never fails and never
 * allocates. The first k rows are the same whatever n is. */
void pf_synth_next(pf_synth *g, pf_synth_row *row);

/* The header line (with newline) into buf; returns its length, or 0 if cap
 * is too small. Includes p_sann_180d when the options asked for it. */
size_t pf_synth_header(const pf_synth *g, char *buf, size_t cap);

/* Formats row as one CSV line with newline into buf, which must hold
 * PF_SYNTH_LINE_MAX bytes; returns the length (not NUL-terminated). */
size_t pf_synth_format(const pf_synth *g, const pf_synth_row *row, char *buf);

/* The ground-truth linear predictor for the 180-day label of row, from the
 * row's fields alone (the same value the generator stores in row->logit180). */
double pf_synth_logit180(const pf_synth_row *row);

/* Difference between the 180-day and the 90-day logit. */
double pf_synth_delta90(void);

/* The truth file as a JSON text (NUL-terminated, caller frees with free()):
 * seed, n, version, the formula in machine-readable form, the mapping from
 * fodelseland to fodelseregion, and the realised label rates from st (which
 * may be NULL before any rows are drawn). */
char *pf_synth_truth_json(const pf_synth *g, const pf_synth_stats *st);

/* Generates opt->n rows into out and, if truth is not NULL, the truth JSON
 * into truth. Neither file is committed: the caller commits both on success
 * and aborts both on failure, so a failed run leaves no partial file. */
int pf_synth_write(const pf_synth_options *opt, pf_outfile *out, pf_outfile *truth, pf_error *err);

#ifdef __cplusplus
}
#endif
#endif
