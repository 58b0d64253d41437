/*
 * trainmeta.c - holdout metrics and helpers shared by the training
 * commands (see trainmeta.h).
 */
#include "trainmeta.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double pf_train_column_value(const pf_frame *f, int col, size_t i)
{
    const pf_colbuf *c = &f->col[col];
    if (c->cat)
        return c->cat[i] < 0 ? NAN : c->cat[i];
    return c->num[i];
}

int pf_train_row(const pf_spec *spec, const pf_schema *schema, const pf_frame *f, size_t i,
                 double *y, double *w, int *hold, pf_train_excluded *ex, pf_error *err)
{
    *y = pf_train_column_value(f, spec->label_col, i);
    if (!(*y == 0 || *y == 1)) {
        if (isnan(*y)) {
            ex->label++;
            return 0;
        }
        return pf_error_set(err, PF_EINVAL, "row %lld: label %s is %g, not 0 or 1",
                            (long long) f->row[i], schema->cols[spec->label_col].name, *y);
    }
    *w = spec->weight_col >= 0 ? pf_train_column_value(f, spec->weight_col, i) : 1;
    if (!(*w >= 0) || !isfinite(*w)) {
        ex->weight++;
        return 0;
    }
    *hold = spec->holdout_col >= 0 ? f->col[spec->holdout_col].cat[i] == 1
                                   : pf_spec_holdout_row(spec, f->row[i]);
    return 1;
}

json_t *pf_train_metrics_json(const pf_metrics_summary *m, const pf_metrics_bin *bins, size_t nbins)
{
    json_t *o = json_object();
    json_object_set_new(o, "rows", json_integer((json_int_t) m->loss.n));
    json_object_set_new(o, "base_rate", json_real(m->loss.base_rate));
    json_object_set_new(o, "mean_p", json_real(m->loss.mean_p));
    json_object_set_new(o, "log_loss", json_real(m->loss.log_loss));
    json_object_set_new(o, "brier", json_real(m->loss.brier));
    if (!(m->flags & PF_METRICS_ONE_CLASS)) {
        json_object_set_new(o, "auc", json_real(m->auc.auc));
        json_object_set_new(o, "auc_ci95", json_pack("[f,f]", m->auc.ci_lo, m->auc.ci_hi));
        json_object_set_new(o, "calibration_intercept", json_real(m->calib.intercept));
        if (m->calib.has_slope)
            json_object_set_new(o, "calibration_slope", json_real(m->calib.slope));
    }
    json_t *table = json_array();
    for (size_t b = 0; b < nbins; b++)
        json_array_append_new(
            table, json_pack("{s:I,s:f,s:f,s:f,s:f,s:f}", "n", (json_int_t) bins[b].n, "p_min",
                             bins[b].p_min, "p_max", bins[b].p_max, "mean_p", bins[b].mean_p,
                             "observed", bins[b].obs, "observed_lo", bins[b].obs_lo));
    json_object_set_new(o, "deciles", table);
    return o;
}

int pf_train_holdout_json(const double *p, const double *y, const double *w, size_t n, json_t **out,
                          pf_error *err)
{
    *out = json_null();
    if (n == 0)
        return 0;
    pf_metrics_workspace *ws = NULL;
    int rc = pf_metrics_workspace_new(n, &ws, err);
    pf_metrics_summary ms;
    pf_metrics_bin bins[10];
    size_t nbins = 0;
    if (!rc && !(rc = pf_metrics_summarize(p, y, w, n, ws, &ms, err)) &&
        !(rc = pf_metrics_calib_table(p, y, w, n, 10, ws, bins, &nbins, err)))
        *out = pf_train_metrics_json(&ms, bins, nbins);
    pf_metrics_workspace_free(ws);
    return rc;
}

void pf_train_print_holdout(const json_t *h)
{
    if (json_is_object(h))
        printf("holdout:    AUC %.4f [%.4f, %.4f], log-loss %.4f, Brier %.4f, calibration "
               "intercept %.3f, slope %.3f\n",
               json_real_value(json_object_get(h, "auc")),
               json_real_value(json_array_get(json_object_get(h, "auc_ci95"), 0)),
               json_real_value(json_array_get(json_object_get(h, "auc_ci95"), 1)),
               json_real_value(json_object_get(h, "log_loss")),
               json_real_value(json_object_get(h, "brier")),
               json_real_value(json_object_get(h, "calibration_intercept")),
               json_real_value(json_object_get(h, "calibration_slope")));
}

const char *pf_train_kind(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--kind") && i + 1 < argc)
            return argv[i + 1];
        if (!strncmp(argv[i], "--kind=", 7))
            return argv[i] + 7;
    }
    return NULL;
}
