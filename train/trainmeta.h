/*
 * trainmeta.h - what the training commands (`profil train` for each model
 * kind) share: reading a label or weight from a frame, holdout metrics as
 * the model file stores them, and their one-line summary.
 */
#ifndef PROFIL_TRAIN_TRAINMETA_H
#define PROFIL_TRAIN_TRAINMETA_H

#include <jansson.h>
#include <stddef.h>

#include "profil/frame.h"
#include "profil/metrics.h"
#include "profil/schema.h"
#include "profil/spec.h"
#include "profil/status.h"

/* A boolean or numeric column as a double; NaN when missing. */
double pf_train_column_value(const pf_frame *f, int col, size_t i);

/* Counts of rows a fit leaves out. */
typedef struct pf_train_excluded {
    long long label;  /* label missing */
    long long weight; /* weight negative, missing or not finite */
} pf_train_excluded;

/* Row i of f as training sees it: its label y (0 or 1), its weight w and
 * whether it is a holdout row. Returns 1 for a row to use, 0 for one left
 * out (counted in ex), or PF_EINVAL for a label that is neither 0 nor 1. */
int pf_train_row(const pf_spec *spec, const pf_schema *schema, const pf_frame *f, size_t i,
                 double *y, double *w, int *hold, pf_train_excluded *ex, pf_error *err);

/* The model file's "holdout" object for one summary and its decile table. */
json_t *pf_train_metrics_json(const pf_metrics_summary *m, const pf_metrics_bin *bins,
                              size_t nbins);

/* Holdout metrics of predictions p against labels y with weights w (n rows):
 * the "holdout" object, or JSON null when n is 0. */
int pf_train_holdout_json(const double *p, const double *y, const double *w, size_t n, json_t **out,
                          pf_error *err);

/* Prints "holdout:    AUC ..." for a "holdout" object (nothing for null). */
void pf_train_print_holdout(const json_t *h);

/* The value of --kind (or --kind=) in argv before any "--"; NULL when absent. */
const char *pf_train_kind(int argc, char **argv);

/* `profil train --kind gbdt` (gbdt_cmd.c). */
int pf_cmd_train_gbdt(int argc, char **argv);

#endif
