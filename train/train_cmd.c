/*
 * train_cmd.c - `profil train`: fits a logistic regression by IRLS to a CSV
 * file under a model specification, evaluates it on a holdout split, and
 * writes the model file (and optionally the coefficient table as CSV).
 *
 * Data flow: reader → frames → (label, weight, holdout split) → encoder →
 * two in-memory designs (fit, holdout) → pf_irls_fit → holdout metrics →
 * model file. Memory is the encoded design (8 bytes per row and term) plus
 * constant-size buffers; the input is read once.
 */
#include <getopt.h>
#include <gsl/gsl_cdf.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dist.h"
#include "trainmeta.h"
#include "profil/csvout.h"
#include "profil/design.h"
#include "profil/irls.h"
#include "profil/metrics.h"
#include "profil/model.h"
#include "profil/prefetch.h"
#include "profil/reader.h"
#include "profil/spec.h"

#define BATCH 1024
#define Z95   1.959963984540054

typedef struct batch {
    pf_design *d;
    size_t n, p;
    double *x, *y, *w;
} batch;

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil train [OPTIONS] [FILE]\n"
            "\n"
            "Fit a logistic regression (IRLS, as R's glm) to a CSV file (plain or gzip; '-'\n"
            "or none for standard input) under a model specification, evaluate it on a\n"
            "holdout split and write the model file.\n"
            "\n"
            "Options:\n"
            "      --kind KIND       logit (this fit, the default) or gbdt (gradient-boosted\n"
            "                        trees: 'profil train --kind gbdt --help')\n"
            "  -s, --schema FILE     schema (default: the bundled %s)\n"
            "  -m, --spec FILE       model specification (default: the bundled\n"
            "                        models/af-logit.spec.json)\n"
            "  -o, --output FILE     model file to write (default: model.json)\n"
            "      --coef-csv FILE   also write the coefficient table as CSV (the format\n"
            "                        'profil model from-table' reads)\n"
            "      --holdout F       share of rows held out for evaluation, 0 <= F < 1\n"
            "                        (default: the specification's)\n"
            "      --seed N          seed of the holdout split (default: the specification's)\n"
            "      --l2 LAMBDA       ridge penalty (default: the specification's, usually 0)\n"
            "      --max-iter N      IRLS iteration cap (default 25)\n"
            "      --cv K            also estimate out-of-sample metrics by K-fold cross-\n"
            "                        validation on the fit rows (K refits)\n"
            "  -t, --threads N       threads for the fit (default: all cores; the result is\n"
            "                        the same for every N)\n"
            "  -q, --quiet           print nothing but errors\n"
            "  -h, --help            show this help and exit\n"
            "  -V, --version         show version information and exit\n"
            "\n"
            "Rows rejected by the schema, or with a missing label or weight, are counted and\n"
            "left out. Exit status: 0 model written, 1 the fit failed (the reason names the\n"
            "terms involved) or the input could not be read, 2 usage or setup error.\n",
            PF_DEFAULT_SCHEMA);
}

static int flush_batch(batch *b, pf_error *err)
{
    if (b->n == 0)
        return 0;
    int rc = pf_design_append(b->d, b->n, b->x, b->y, b->w, NULL, err);
    b->n = 0;
    return rc;
}

static int batch_init(batch *b, pf_design *d, size_t p)
{
    b->d = d;
    b->p = p;
    b->n = 0;
    b->x = malloc(BATCH * p * sizeof *b->x);
    b->y = malloc(BATCH * sizeof *b->y);
    b->w = malloc(BATCH * sizeof *b->w);
    return b->x && b->y && b->w ? 0 : PF_ENOMEM;
}

static void batch_free(batch *b)
{
    free(b->x);
    free(b->y);
    free(b->w);
}

static void print_coefficients(const pf_irls_result *r)
{
    printf("%-44s %11s %10s %8s %10s %9s %9s %9s\n", "term", "estimate", "std.error", "z", "p",
           "odds", "2.5%", "97.5%");
    for (size_t j = 0; j < r->p; j++) {
        double b = r->coef[j], se = r->se[j], z = b / se;
        double pv = 2 * gsl_cdf_ugaussian_Q(fabs(z));
        printf("%-44s %11.5f %10.5f %8.2f %10.3g %9.4f %9.4f %9.4f\n", r->names[j], b, se, z, pv,
               exp(b), exp(b - Z95 * se), exp(b + Z95 * se));
    }
}

static int write_coef_csv(const char *path, const pf_encoder *e, const pf_irls_result *r,
                          pf_error *err)
{
    pf_outfile *o;
    int rc = pf_outfile_open(&o, path, err);
    if (rc)
        return rc;
    pf_outfile_puts(o, "term,level,coefficient,std_error,z,p_value,odds_ratio,ci_low,ci_high\n");
    for (size_t j = 0; j < r->p; j++) {
        double b = r->coef[j], se = r->se[j], z = b / se;
        pf_csv_put_str(o, e->terms[j].expr, ',');
        pf_outfile_write(o, ",", 1);
        pf_csv_put_str(o, e->terms[j].level, ',');
        pf_outfile_printf(o, ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", b, se, z,
                          2 * gsl_cdf_ugaussian_Q(fabs(z)), exp(b), exp(b - Z95 * se),
                          exp(b + Z95 * se));
    }
    return pf_outfile_commit(o, err);
}

/* Predicted probability, label and weight of the rows of d whose select
 * flag is set (all rows when select is NULL), in row order; returns how
 * many were written. */
static size_t predict_rows(const pf_design *d, const pf_irls_result *r, const unsigned char *select,
                           double *pp, double *yy, double *ww)
{
    size_t n = pf_design_rows(d), p = pf_design_cols(d), m = 0;
    pf_design_view v;
    for (size_t first = 0; first < n; first += v.n) {
        pf_design_rows_at(d, first, n - first, &v);
        for (size_t i = 0; i < v.n; i++) {
            if (select && !select[first + i])
                continue;
            double eta;
            pf_irls_linpred(r, v.x + i * p, 0.0, &eta, NULL);
            pp[m] = 1 / (1 + exp(-eta));
            yy[m] = v.y[i];
            ww[m++] = v.w[i];
        }
    }
    return m;
}

/* k-fold cross-validation on the fit rows: each fold is left out through
 * the fitter's exclude mask (no copy of the design), refitted, and scored;
 * returns the per-fold metrics and their mean and standard deviation. */
static int cross_validate(const pf_design *d, const uint8_t *fold, int k,
                          const pf_irls_options *base, json_t **out, pf_error *err)
{
    size_t n = pf_design_rows(d);
    unsigned char *exclude = malloc(n ? n : 1);
    double *pp = malloc((n ? n : 1) * sizeof *pp), *yy = malloc((n ? n : 1) * sizeof *yy);
    double *ww = malloc((n ? n : 1) * sizeof *ww);
    pf_metrics_workspace *ws = NULL;
    json_t *folds = json_array();
    double sum[3] = {0}, sum2[3] = {0};
    int rc = exclude && pp && yy && ww ? pf_metrics_workspace_new(n, &ws, err)
                                       : pf_error_set(err, PF_ENOMEM, "out of memory");
    for (int f = 0; !rc && f < k; f++) {
        for (size_t i = 0; i < n; i++)
            exclude[i] = fold[i] == f;
        pf_irls_options o = *base;
        o.exclude = exclude;
        pf_irls_result *r = NULL;
        if ((rc = pf_irls_fit(d, &o, &r, err))) {
            char why[PF_ERROR_MAX];
            snprintf(why, sizeof why, "%s", err ? err->message : "");
            rc = pf_error_set(err, rc, "cross-validation, fold %d of %d: %s", f + 1, k, why);
            break;
        }
        size_t m = predict_rows(d, r, exclude, pp, yy, ww); /* the left-out fold */
        pf_irls_result_free(r);
        pf_metrics_summary ms;
        if ((rc = pf_metrics_summarize(pp, yy, ww, m, ws, &ms, err)))
            break;
        double val[3] = {ms.auc.auc, ms.loss.log_loss, ms.loss.brier};
        for (int q = 0; q < 3; q++) {
            sum[q] += val[q];
            sum2[q] += val[q] * val[q];
        }
        json_array_append_new(folds,
                              json_pack("{s:i,s:I,s:f,s:f,s:f}", "fold", f, "rows", (json_int_t) m,
                                        "auc", val[0], "log_loss", val[1], "brier", val[2]));
    }
    if (!rc) {
        static const char *const names[3] = {"auc", "log_loss", "brier"};
        json_t *o = json_object();
        json_object_set_new(o, "folds_k", json_integer(k));
        for (int q = 0; q < 3; q++) {
            double mean = sum[q] / k, var = (sum2[q] - k * mean * mean) / (k - 1);
            json_object_set_new(
                o, names[q], json_pack("{s:f,s:f}", "mean", mean, "sd", var > 0 ? sqrt(var) : 0.0));
        }
        json_object_set_new(o, "folds", folds);
        folds = NULL;
        *out = o;
    }
    json_decref(folds);
    pf_metrics_workspace_free(ws);
    free(exclude);
    free(pp);
    free(yy);
    free(ww);
    return rc;
}

/* Predicted probabilities of the holdout rows under the fitted coefficients. */
static int holdout_predict(const pf_design *h, const pf_irls_result *r, double **pp, double **yy,
                           double **ww)
{
    size_t n = pf_design_rows(h);
    *pp = malloc((n ? n : 1) * sizeof **pp);
    *yy = malloc((n ? n : 1) * sizeof **yy);
    *ww = malloc((n ? n : 1) * sizeof **ww);
    if (!*pp || !*yy || !*ww)
        return PF_ENOMEM;
    predict_rows(h, r, NULL, *pp, *yy, *ww);
    return 0;
}

/* Copies the columns kept[j] != 0 of d into a new design. */
/* The weighted mean of every term over the fitted rows: the reference
 * profile that reasons are measured from (decide.h). Summed in row order,
 * so the result does not depend on the thread count. */
static int term_means(const pf_design *d, size_t p, double **out)
{
    double *sum = calloc(p, sizeof *sum), wsum = 0;
    if (!(*out = sum))
        return -1;
    pf_design_view v;
    for (size_t first = 0; pf_design_rows_at(d, first, SIZE_MAX, &v) > 0; first += v.n)
        for (size_t i = 0; i < v.n; i++) {
            wsum += v.w[i];
            for (size_t j = 0; j < p; j++)
                sum[j] += v.w[i] * v.x[i * p + j];
        }
    for (size_t j = 0; j < p; j++)
        sum[j] = wsum > 0 ? sum[j] / wsum : 0;
    return 0;
}

static int design_subset(const pf_design *d, const uint8_t *keep, const pf_design_options *dopt,
                         pf_design **out, pf_error *err)
{
    size_t p = pf_design_cols(d), q = 0, n = pf_design_rows(d);
    const char **names = malloc(p * sizeof *names);
    double *x = malloc(PF_DESIGN_CHUNK_ROWS * p * sizeof *x);
    if (!names || !x) {
        free(names);
        free(x);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < p; j++)
        if (keep[j])
            names[q++] = pf_design_name(d, j);
    int rc = pf_design_new(out, q, names, dopt, err);
    pf_design_view v;
    for (size_t first = 0; !rc && first < n; first += v.n) {
        pf_design_rows_at(d, first,
                          n - first > PF_DESIGN_CHUNK_ROWS ? PF_DESIGN_CHUNK_ROWS : n - first, &v);
        for (size_t i = 0; i < v.n; i++)
            for (size_t j = 0, k = 0; j < p; j++)
                if (keep[j])
                    x[i * q + k++] = v.x[i * p + j];
        rc = pf_design_append(*out, v.n, x, v.y, v.w, NULL, err);
    }
    free(names);
    free(x);
    return rc;
}

int pf_cmd_train(int argc, char **argv)
{
    static const struct option longopts[] = {{"schema", required_argument, NULL, 's'},
                                             {"spec", required_argument, NULL, 'm'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"coef-csv", required_argument, NULL, 'C'},
                                             {"holdout", required_argument, NULL, 'H'},
                                             {"seed", required_argument, NULL, 'S'},
                                             {"l2", required_argument, NULL, 'L'},
                                             {"max-iter", required_argument, NULL, 'I'},
                                             {"cv", required_argument, NULL, 'K'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {"kind", required_argument, NULL, 'k'},
                                             {NULL, 0, NULL, 0}};
    const char *cmd = "train";
    const char *kind = pf_train_kind(argc, argv);
    if (kind && !strcmp(kind, "gbdt"))
        return pf_cmd_train_gbdt(argc, argv);
    char spec_buf[4096];
    const char *schema_path = NULL, *spec_path = NULL, *out_path = "model.json";
    const char *coef_csv = NULL;
    double holdout = -1, l2 = -1;
    long long seed = -1, max_iter = 0, cv = -1;
    int threads = 0;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:m:o:t:qhV", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 's':
            schema_path = optarg;
            break;
        case 'm':
            spec_path = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'C':
            coef_csv = optarg;
            break;
        case 'H':
            holdout = strtod(optarg, &end);
            if (*end || !(holdout >= 0 && holdout < 1))
                return pf_cli_usage_error(cmd, "--holdout takes a share in [0, 1)");
            break;
        case 'L':
            l2 = strtod(optarg, &end);
            if (*end || !(l2 >= 0) || !isfinite(l2))
                return pf_cli_usage_error(cmd, "--l2 takes a number >= 0");
            break;
        case 'S':
            if (pf_cli_parse_count(optarg, &seed))
                return pf_cli_usage_error(cmd, "--seed takes a non-negative integer");
            break;
        case 'I':
            if (pf_cli_parse_count(optarg, &max_iter) || max_iter < 1 || max_iter > 10000)
                return pf_cli_usage_error(cmd, "--max-iter takes 1 to 10000");
            break;
        case 'K':
            if (pf_cli_parse_count(optarg, &cv) || cv == 1 || cv > 100)
                return pf_cli_usage_error(cmd, "--cv takes 0 (none) or 2 to 100");
            break;
        case 't':
            if (pf_cli_parse_threads(cmd, optarg, &threads))
                return PF_EXIT_USAGE;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return PF_EXIT_OK;
        case 'V':
            pf_cli_print_version(stdout);
            return PF_EXIT_OK;
        case 'k':
            if (strcmp(optarg, "logit"))
                return pf_cli_usage_error(cmd, "--kind takes logit or gbdt");
            break;
        default:
            return pf_cli_usage_error(cmd, "invalid option");
        }
    }
    if (argc - optind > 1)
        return pf_cli_usage_error(cmd, "expected at most one input file");
    const char *input = optind < argc ? argv[optind] : "-";
    if (!spec_path)
        spec_path = pf_cli_data_path(spec_buf, sizeof spec_buf, "models/af-logit.spec.json");

    pf_error err = {0};
    pf_schema *schema = NULL;
    pf_spec *spec = NULL;
    pf_reader *r = NULL;
    pf_frame *f = NULL; /* owned by the prefetcher */
    pf_prefetch *pre = NULL;
    pf_design *fit = NULL, *hold = NULL, *fit2 = NULL;
    pf_dist *dist = NULL;
    pf_irls_result *res = NULL;
    pf_model *model = NULL;
    double *hp = NULL, *hy = NULL, *hw = NULL;
    batch bf = {0}, bh = {0};
    uint8_t *keep = NULL, *fold = NULL;
    size_t nfold = 0, fold_cap = 0;
    json_t *dropped = json_array();
    int exit_code = PF_EXIT_USAGE;
    pf_train_excluded ex = {0, 0}; /* rows left out */

    if (pf_cli_load_schema(cmd, schema_path, &schema))
        goto out;
    if (pf_spec_load(&spec, spec_path, schema, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    if (holdout >= 0)
        spec->holdout_fraction = holdout;
    if (seed >= 0)
        spec->seed = (uint64_t) seed;
    if (l2 >= 0)
        spec->l2 = l2;
    if (max_iter)
        spec->max_iter = (int) max_iter;
    if (cv >= 0)
        spec->cv_folds = (int) cv;

    pf_encoder *enc = spec->enc;
    size_t p = enc->nterms;
    const char **names = malloc(p * sizeof *names);
    if (!names) {
        pf_cli_error(cmd, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < p; j++)
        names[j] = enc->terms[j].name;
    pf_design_options dopt = {.has_intercept = spec->intercept};
    int rc = pf_design_new(&fit, p, names, &dopt, &err);
    if (!rc)
        rc = pf_design_new(&hold, p, names, &dopt, &err);
    free(names);
    if (!rc)
        rc = pf_dist_new(&dist, enc, &err);
    if (!rc && (batch_init(&bf, fit, p) || batch_init(&bh, hold, p) || !(keep = calloc(p, 1))))
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
    if (rc) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    exit_code = PF_EXIT_FAIL;

    /* Rejected rows are counted by the reader; `profil validate` lists them. */
    pf_reader_options ropt = {0};
    if ((rc = pf_reader_open(&r, schema, input, &ropt, &err))) {
        pf_cli_input_error(cmd, input, err.message);
        exit_code = rc == PF_EHEADER ? PF_EXIT_USAGE : PF_EXIT_FAIL;
        goto out;
    }
    /* Parsing runs on its own threads, overlapping with encoding here. */
    if ((rc = pf_prefetch_start(&pre, r, 8192, 4, threads, &err)))
        goto fail;
    while ((rc = pf_prefetch_next(pre, &f, &err)) > 0) {
        for (size_t i = 0; i < f->n; i++) {
            double y, w;
            int is_hold, use = pf_train_row(spec, schema, f, i, &y, &w, &is_hold, &ex, &err);
            if (use < 0) {
                rc = use;
                goto fail;
            }
            if (!use)
                continue;
            batch *b = is_hold ? &bh : &bf;
            double *x = b->x + b->n * p;
            pf_encoder_rows(enc, f, i, 1, x, p);
            if (!is_hold && w > 0)
                for (size_t j = 0; j < p; j++)
                    keep[j] |= x[j] != 0; /* which terms are ever nonzero */
            b->y[b->n] = y;
            b->w[b->n] = w;
            if (!is_hold) {
                pf_dist_add(dist, f, i);
                if (spec->cv_folds >= 2) {
                    if (nfold == fold_cap) {
                        fold_cap = fold_cap ? 2 * fold_cap : 65536;
                        uint8_t *nf = realloc(fold, fold_cap);
                        if (!nf) {
                            rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
                            goto fail;
                        }
                        fold = nf;
                    }
                    fold[nfold++] = (uint8_t) pf_spec_fold(spec, f->row[i], spec->cv_folds);
                }
            }
            if (++b->n == BATCH && (rc = flush_batch(b, &err)))
                goto fail;
        }
        pf_prefetch_release(pre, f);
    }
    pf_prefetch_stop(pre); /* the reader (and its statistics) are ours again */
    pre = NULL;
    if (rc < 0 || (rc = flush_batch(&bf, &err)) || (rc = flush_batch(&bh, &err)))
        goto fail;

    /* A term that is zero in every training row (a level never seen) cannot
     * be estimated: it is dropped, and the model says so. */
    size_t nkeep = 0;
    {
        for (size_t j = 0; j < p; j++) {
            nkeep += keep[j];
            if (!keep[j]) {
                json_array_append_new(dropped, json_string(enc->terms[j].name));
                if (!quiet)
                    fprintf(stderr,
                            "profil train: term '%s' is 0 in every training row: "
                            "dropped\n",
                            enc->terms[j].name);
            }
        }
    }
    if (nkeep < p) {
        if ((rc = design_subset(fit, keep, &dopt, &fit2, &err)))
            goto fail;
        pf_design_free(fit);
        fit = fit2;
        fit2 = NULL;
        if ((rc = design_subset(hold, keep, &dopt, &fit2, &err)))
            goto fail;
        pf_design_free(hold);
        hold = fit2;
        fit2 = NULL;
        pf_encoder_retain(enc, keep);
        p = nkeep;
    }

    pf_irls_options iopt = {
        .max_iter = spec->max_iter, .tol = spec->tol, .l2 = spec->l2, .threads = threads};
    if ((rc = pf_irls_fit(fit, &iopt, &res, &err)))
        goto fail;
    json_t *cv_json = json_null();
    if (spec->cv_folds >= 2 &&
        (rc = cross_validate(fit, fold, spec->cv_folds, &iopt, &cv_json, &err)))
        goto fail;

    /* Holdout evaluation. */
    json_t *holdout_json = json_null();
    size_t nh = pf_design_rows(hold);
    if (nh > 0 && holdout_predict(hold, res, &hp, &hy, &hw)) {
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = pf_train_holdout_json(hp, hy, hw, nh, &holdout_json, &err)))
        goto fail;

    /* The model file. */
    pf_spec *sp = spec;
    if ((rc = pf_model_new(&model, schema, "logit", schema->cols[sp->label_col].name, enc, &err)))
        goto fail;
    spec->enc = NULL; /* the model owns the encoder now */
    memcpy(model->coef, res->coef, p * sizeof *res->coef);
    model->se = malloc(p * sizeof *model->se);
    model->cov = malloc(p * p * sizeof *model->cov);
    if (!model->se || !model->cov) {
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(model->se, res->se, p * sizeof *res->se);
    memcpy(model->cov, res->cov, p * p * sizeof *res->cov);
    if (term_means(fit, p, &model->ref)) {
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    const pf_reader_stats *st = pf_reader_stats_get(r);
    char data_sha[65];
    pf_reader_input_sha256(r, data_sha);
    json_t *warnings = json_array();
    for (size_t k = 0; k < res->nwarnings; k++)
        json_array_append_new(warnings, json_string(res->warnings[k]));
    json_t *training = json_pack(
        "{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:{s:f,s:I,s:f,s:I,s:f},s:f,s:f,s:f,s:i,s:b,"
        "s:o,s:o}",
        "data_sha256", data_sha, "spec", sp->name, "spec_sha256", sp->sha256, "rows_read",
        (json_int_t) st->rows_read, "rows_rejected", (json_int_t) st->rows_rejected,
        "rows_label_missing", (json_int_t) ex.label, "rows_weight_invalid", (json_int_t) ex.weight,
        "rows_fit", (json_int_t) pf_design_rows(fit), "rows_holdout", (json_int_t) nh, "seed",
        (json_int_t) sp->seed, "options", "holdout_fraction", sp->holdout_fraction, "max_iter",
        (json_int_t) (sp->max_iter ? sp->max_iter : PF_IRLS_DEFAULT_MAX_ITER), "tol",
        sp->tol > 0 ? sp->tol : PF_IRLS_DEFAULT_TOL, "holdout_column", (json_int_t) sp->holdout_col,
        "l2", sp->l2, "deviance", res->deviance, "null_deviance", res->null_deviance, "aic",
        res->aic, "iterations", res->iterations, "converged", res->converged, "warnings", warnings,
        "dropped_terms", dropped);
    dropped = NULL;
    if (!training) {
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    json_object_set_new(model->meta, "training", training);
    json_object_set_new(model->meta, "holdout", holdout_json);
    json_object_set_new(model->meta, "cross_validation", cv_json);
    json_object_set_new(model->meta, "distributions", pf_dist_json(dist));
    if ((rc = pf_model_save(model, out_path, &err)))
        goto fail;
    if (coef_csv && (rc = write_coef_csv(coef_csv, model->enc, res, &err)))
        goto fail;

    if (!quiet) {
        printf("data:       %s (sha256 %s)\n", strcmp(input, "-") ? input : "standard input",
               data_sha);
        printf("rows:       %lld read, %lld rejected, %lld without label, %lld bad weight; "
               "%zu fit, %zu holdout\n",
               (long long) st->rows_read, (long long) st->rows_rejected, ex.label, ex.weight,
               pf_design_rows(fit), nh);
        print_coefficients(res);
        printf("deviance %.4f on %.0f df (null %.4f), AIC %.4f, %d iterations%s\n", res->deviance,
               res->df_residual, res->null_deviance, res->aic, res->iterations,
               res->converged ? "" : " (NOT converged)");
        for (size_t k = 0; k < res->nwarnings; k++)
            printf("warning: %s\n", res->warnings[k]);
        pf_train_print_holdout(json_object_get(model->meta, "holdout"));
        json_t *cvj = json_object_get(model->meta, "cross_validation");
        if (json_is_object(cvj))
            printf("%d-fold CV: AUC %.4f (sd %.4f), log-loss %.4f (sd %.4f)\n",
                   (int) json_integer_value(json_object_get(cvj, "folds_k")),
                   json_real_value(json_object_get(json_object_get(cvj, "auc"), "mean")),
                   json_real_value(json_object_get(json_object_get(cvj, "auc"), "sd")),
                   json_real_value(json_object_get(json_object_get(cvj, "log_loss"), "mean")),
                   json_real_value(json_object_get(json_object_get(cvj, "log_loss"), "sd")));
        printf("model:      %s (sha256 %s)\n", out_path, model->sha256);
    }
    exit_code = PF_EXIT_OK;
    goto out;
fail:
    pf_cli_error(cmd, "%s", err.message);
out:
    json_decref(dropped);
    free(keep);
    free(fold);
    free(hp);
    free(hy);
    free(hw);
    batch_free(&bf);
    batch_free(&bh);
    pf_model_free(model);
    pf_irls_result_free(res);
    pf_dist_free(dist);
    pf_design_free(fit);
    pf_design_free(hold);
    pf_design_free(fit2);
    pf_prefetch_stop(pre);
    pf_reader_close(r);
    pf_spec_free(spec);
    pf_schema_free(schema);
    return exit_code;
}
