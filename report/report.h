/*
 * report.h - an evaluation (eval.json of `profil eval`) as a report: a
 * Jupyter notebook (nbformat 4.5) and a static HTML page with the same
 * text, tables and plots.
 *
 * The report is built in memory from the parsed eval.json alone: markdown
 * explaining each result, the tables, the plots (drawn with plot.h) as PNG
 * image outputs, and code cells that reload the exported CSV tables with
 * pandas. The notebook reads without being run; running it reproduces the
 * figures from the PNG files written beside it and loads the tables.
 * Building is deterministic: the same eval.json gives the same bytes.
 */
#ifndef PROFIL_REPORT_H
#define PROFIL_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "profil/status.h"

#define PF_EVAL_FORMAT "profil-eval/1"

/* The CSV tables an evaluation folder holds, NULL-terminated. */
extern const char *const pf_report_tables[];

typedef struct pf_report_figure {
    char *name; /* file name, e.g. "roc.png" */
    unsigned char *png;
    size_t n;
} pf_report_figure;

typedef struct pf_report {
    char *notebook; /* the .ipynb text */
    char *html;     /* the HTML page, images inline */
    size_t nfigures;
    pf_report_figure *figures;
} pf_report;

/* Checks that doc is an evaluation this report understands: the format, the
 * provenance objects, the overall summary and every table as an array of
 * row objects. PF_EFORMAT naming the first missing or mistyped key. */
int pf_report_check(const json_t *doc, pf_error *err);

/* Builds the report from a checked doc into out (freed with
 * pf_report_free). name is the notebook's base name (for the HTML title
 * and the figure files it refers to). */
int pf_report_build(const json_t *doc, pf_report *out, pf_error *err);

/* Accepts an all-zero report. */
void pf_report_free(pf_report *r);

/* Base64 (RFC 4648, no line breaks) of n bytes into a malloc'ed string. */
char *pf_base64(const unsigned char *p, size_t n);

#endif
