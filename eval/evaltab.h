/*
 * evaltab.h - the tables of an evaluation (`profil eval`) and how they are
 * written: each table is a JSON array of row objects with a fixed column
 * order, stored in eval.json and exported as a CSV file beside it, so the
 * report (`profil report`) and a researcher's pandas read the same numbers.
 *
 * Numbers are written with printf's "%.10g" in the C locale (the CSV) and
 * by jansson with 17 significant digits (the JSON); a missing value (null)
 * is an empty CSV field. The same table gives the same bytes.
 */
#ifndef PROFIL_EVALTAB_H
#define PROFIL_EVALTAB_H

#include <jansson.h>

#include "profil/hash.h"
#include "profil/outfile.h"
#include "profil/status.h"

/* A table: its name (the CSV file is NAME.csv), its columns in order, and
 * its rows (a JSON array of objects keyed by the column names). */
typedef struct pf_evaltab {
    const char *name;
    const char *const *columns; /* NULL-terminated */
    json_t *rows;               /* owned */
} pf_evaltab;

/* Starts an empty table (rows = a new array); 0 or PF_ENOMEM. */
int pf_evaltab_init(pf_evaltab *t, const char *name, const char *const *columns, pf_error *err);

/* Appends a row object (reference stolen). Keys not among the columns are a
 * programming error and are ignored by the CSV writer. */
int pf_evaltab_add(pf_evaltab *t, json_t *row, pf_error *err);

/* Writes the table as CSV (header and rows) to o and into hash. */
int pf_evaltab_write_csv(const pf_evaltab *t, pf_outfile *o, pf_sha256 *hash);

/* A real number, or null when it is not finite. */
json_t *pf_evaltab_real(double v);

/* A share num / den, or null when den is 0. */
json_t *pf_evaltab_ratio(double num, double den);

#endif
