/*
 * gbdt_cmd.c - `profil train --kind gbdt`: fits gradient-boosted trees
 * (gbdt_train.h) to a CSV file, evaluates them on the holdout split and
 * writes a "gbdt" model file with the same metadata and training
 * distributions as the logistic model.
 *
 * Data flow: reader → frames → (label, weight, holdout and validation
 * split) → feature rows in memory (8 bytes per row and feature) →
 * pf_gbdt_train → holdout metrics → model file. The features are the
 * schema columns the specification's terms use; the specification also
 * gives the label, the weight and the holdout split.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dist.h"
#include "profil/gbdt_train.h"
#include "profil/model.h"
#include "profil/prefetch.h"
#include "profil/reader.h"
#include "profil/spec.h"
#include "trainmeta.h"

/* Stream of the validation split's hash (the holdout uses the spec's). */
#define VALIDATION_STREAM 0x76616c6964ull

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil train --kind gbdt [OPTIONS] [FILE]\n"
            "\n"
            "Fit gradient-boosted trees (histogram-based, logistic loss) to a CSV file\n"
            "(plain or gzip; '-' or none for standard input), evaluate them on a holdout\n"
            "split and write the model file. The features are the schema columns that the\n"
            "specification's terms use; it also gives the label, weight and holdout split.\n"
            "\n"
            "Options:\n"
            "  -s, --schema FILE          schema (default: the bundled %s)\n"
            "  -m, --spec FILE            model specification (default: the bundled\n"
            "                             models/af-logit.spec.json)\n"
            "  -o, --output FILE          model file to write (default: model.json)\n"
            "      --holdout F            share of rows held out, 0 <= F < 1 (default: the\n"
            "                             specification's)\n"
            "      --seed N               seed of the splits and the subsampling (default: the\n"
            "                             specification's)\n"
            "      --trees N              boosting rounds, at most (default 300)\n"
            "      --max-depth D          depth limit, 0 for none (default 6)\n"
            "      --max-leaves L         leaf limit per tree, 0 for none (default 0)\n"
            "      --learning-rate R      shrinkage, 0 < R <= 1 (default 0.1)\n"
            "      --subsample F          share of rows per tree (default 1)\n"
            "      --colsample F          share of features per tree (default 1)\n"
            "      --l2 LAMBDA            L2 penalty on leaf values (default 1)\n"
            "      --min-child-weight H   least hessian sum in a leaf (default 1)\n"
            "      --min-split-gain G     least loss reduction of a split (default 0)\n"
            "      --bins N               value bins per feature, 2 to 255 (default 255)\n"
            "      --validation F         share of the fit rows set aside for early stopping,\n"
            "                             0 <= F < 1 (default 0.1; 0 turns early stopping off)\n"
            "      --early-stopping N     stop after N rounds without a better validation\n"
            "                             log-loss and keep the best round (default 20; 0 off)\n"
            "      --monotone NAME=DIR    constrain p to rise (+1) or fall (-1) with a\n"
            "                             feature; repeat or separate by commas\n"
            "  -t, --threads N            threads (default: all cores; the model is the same\n"
            "                             bytes for every N)\n"
            "  -q, --quiet                print nothing but errors\n"
            "  -h, --help                 show this help and exit\n"
            "  -V, --version              show version information and exit\n"
            "\n"
            "Rows rejected by the schema, or with a missing label or bad weight, are counted\n"
            "and left out; rows of weight 0 are left out of the fit. Exit status: 0 model\n"
            "written, 1 the fit failed or the input could not be read, 2 usage or setup\n"
            "error.\n",
            PF_DEFAULT_SCHEMA);
}

/* Rows held in memory: features row-major, label, weight. */
typedef struct rowset {
    size_t n, cap, nf;
    double *x, *y, *w;
} rowset;

static int rowset_push(rowset *r, const double *x, double y, double w)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 65536;
        double *nx = realloc(r->x, cap * r->nf * sizeof *nx);
        if (nx)
            r->x = nx;
        double *ny = nx ? realloc(r->y, cap * sizeof *ny) : NULL;
        if (ny)
            r->y = ny;
        double *nw = ny ? realloc(r->w, cap * sizeof *nw) : NULL;
        if (nw)
            r->w = nw;
        if (!nw)
            return PF_ENOMEM;
        r->cap = cap;
    }
    memcpy(r->x + r->n * r->nf, x, r->nf * sizeof *x);
    r->y[r->n] = y;
    r->w[r->n++] = w;
    return 0;
}

static void rowset_free(rowset *r)
{
    free(r->x);
    free(r->y);
    free(r->w);
}

static int parse_share(const char *s, double lo_incl, double hi, int hi_incl, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v >= lo_incl) || (hi_incl ? !(v <= hi) : !(v < hi)))
        return -1;
    *out = v;
    return 0;
}

/* --monotone alder=-1,inskrivningsdagar=-1 against the feature columns. */
static int parse_monotone(const char *arg, const pf_schema *s, const int *cols, size_t nf,
                          int8_t *mono, const char *cmd)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return pf_cli_usage_error(cmd, "--monotone takes NAME=+1 or NAME=-1, not '%s'", tok);
        *eq = 0;
        const char *dir = eq + 1;
        int d = !strcmp(dir, "+1") || !strcmp(dir, "1") ? 1
                : !strcmp(dir, "-1")                    ? -1
                : !strcmp(dir, "0")                     ? 0
                                                        : 2;
        if (d == 2)
            return pf_cli_usage_error(cmd, "--monotone %s: the direction must be +1, -1 or 0", tok);
        int c = pf_schema_find(s, tok);
        size_t j = 0;
        while (j < nf && cols[j] != c)
            j++;
        if (c < 0 || j == nf)
            return pf_cli_usage_error(cmd, "--monotone: '%s' is not a feature of the model", tok);
        mono[j] = (int8_t) d;
    }
    return 0;
}

typedef struct gbdt_opts {
    pf_gbdt_params p;
    double holdout, validation;
    long long seed;
    const char *monotone[64];
    int nmonotone;
} gbdt_opts;

static int parse_count_opt(const char *cmd, const char *name, const char *arg, long long lo,
                           long long hi, int *out)
{
    long long v;
    if (pf_cli_parse_count(arg, &v) || v < lo || v > hi)
        return pf_cli_usage_error(cmd, "--%s takes %lld to %lld", name, lo, hi);
    *out = (int) v;
    return 0;
}

static int parse_real_opt(const char *cmd, const char *name, const char *arg, double *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (*end || !(v >= 0) || !isfinite(v))
        return pf_cli_usage_error(cmd, "--%s takes a number >= 0", name);
    *out = v;
    return 0;
}

/* Parses the options; returns -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, gbdt_opts *o, const char **schema_path,
                         const char **spec_path, const char **out_path, int *quiet)
{
    static const struct option longopts[] = {{"kind", required_argument, NULL, 'k'},
                                             {"schema", required_argument, NULL, 's'},
                                             {"spec", required_argument, NULL, 'm'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"holdout", required_argument, NULL, 'H'},
                                             {"seed", required_argument, NULL, 'S'},
                                             {"trees", required_argument, NULL, 'n'},
                                             {"max-depth", required_argument, NULL, 'd'},
                                             {"max-leaves", required_argument, NULL, 'l'},
                                             {"learning-rate", required_argument, NULL, 'r'},
                                             {"subsample", required_argument, NULL, 'u'},
                                             {"colsample", required_argument, NULL, 'c'},
                                             {"l2", required_argument, NULL, 'L'},
                                             {"min-child-weight", required_argument, NULL, 'w'},
                                             {"min-split-gain", required_argument, NULL, 'g'},
                                             {"bins", required_argument, NULL, 'b'},
                                             {"validation", required_argument, NULL, 'v'},
                                             {"early-stopping", required_argument, NULL, 'e'},
                                             {"monotone", required_argument, NULL, 'M'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    const char *cmd = "train";
    pf_gbdt_params *p = &o->p;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:m:o:t:qhV", longopts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'k':
            break; /* gbdt: how we got here */
        case 's':
            *schema_path = optarg;
            break;
        case 'm':
            *spec_path = optarg;
            break;
        case 'o':
            *out_path = optarg;
            break;
        case 'H':
            if (parse_share(optarg, 0, 1, 0, &o->holdout))
                return pf_cli_usage_error(cmd, "--holdout takes a share in [0, 1)");
            break;
        case 'S':
            if (pf_cli_parse_count(optarg, &o->seed))
                return pf_cli_usage_error(cmd, "--seed takes a non-negative integer");
            break;
        case 'n':
            rc = parse_count_opt(cmd, "trees", optarg, 1, 100000, &p->ntrees);
            break;
        case 'd':
            rc = parse_count_opt(cmd, "max-depth", optarg, 0, 30, &p->max_depth);
            break;
        case 'l':
            rc = parse_count_opt(cmd, "max-leaves", optarg, 0, 65536, &p->max_leaves);
            break;
        case 'b':
            rc = parse_count_opt(cmd, "bins", optarg, 2, 255, &p->max_bins);
            break;
        case 'e':
            rc = parse_count_opt(cmd, "early-stopping", optarg, 0, 100000, &p->early_stopping);
            break;
        case 't':
            rc = parse_count_opt(cmd, "threads", optarg, 1, 256, &p->threads);
            break;
        case 'r':
            if (parse_share(optarg, 0, 1, 1, &p->learning_rate) || p->learning_rate == 0)
                return pf_cli_usage_error(cmd, "--learning-rate takes a number in (0, 1]");
            break;
        case 'u':
            if (parse_share(optarg, 0, 1, 1, &p->subsample) || p->subsample == 0)
                return pf_cli_usage_error(cmd, "--subsample takes a share in (0, 1]");
            break;
        case 'c':
            if (parse_share(optarg, 0, 1, 1, &p->colsample) || p->colsample == 0)
                return pf_cli_usage_error(cmd, "--colsample takes a share in (0, 1]");
            break;
        case 'v':
            if (parse_share(optarg, 0, 1, 0, &o->validation))
                return pf_cli_usage_error(cmd, "--validation takes a share in [0, 1)");
            break;
        case 'L':
            rc = parse_real_opt(cmd, "l2", optarg, &p->l2);
            break;
        case 'w':
            rc = parse_real_opt(cmd, "min-child-weight", optarg, &p->min_child_weight);
            break;
        case 'g':
            rc = parse_real_opt(cmd, "min-split-gain", optarg, &p->min_split_gain);
            break;
        case 'M':
            if (o->nmonotone == 64)
                return pf_cli_usage_error(cmd, "--monotone given too often");
            o->monotone[o->nmonotone++] = optarg;
            break;
        case 'q':
            *quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return PF_EXIT_OK;
        case 'V':
            pf_cli_print_version(stdout);
            return PF_EXIT_OK;
        default:
            return pf_cli_usage_error(cmd, "invalid option");
        }
        if (rc)
            return rc;
    }
    if (argc - optind > 1)
        return pf_cli_usage_error(cmd, "expected at most one input file");
    if (p->max_depth == 0 && p->max_leaves == 0)
        return pf_cli_usage_error(cmd, "--max-depth 0 needs a --max-leaves limit");
    if (p->max_leaves == 1)
        return pf_cli_usage_error(cmd, "--max-leaves takes 0 (none) or at least 2");
    return -1;
}

static json_t *options_json(const gbdt_opts *o, const pf_spec *sp)
{
    const pf_gbdt_params *p = &o->p;
    return json_pack("{s:f,s:f,s:I,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:i,s:i}",
                     "holdout_fraction", sp->holdout_fraction, "validation_fraction", o->validation,
                     "holdout_column", (json_int_t) sp->holdout_col, "trees", p->ntrees,
                     "max_depth", p->max_depth, "max_leaves", p->max_leaves, "learning_rate",
                     p->learning_rate, "subsample", p->subsample, "colsample", p->colsample, "l2",
                     p->l2, "min_child_weight", p->min_child_weight, "min_split_gain",
                     p->min_split_gain, "bins", p->max_bins, "early_stopping", p->early_stopping);
}

int pf_cmd_train_gbdt(int argc, char **argv)
{
    const char *cmd = "train";
    char spec_buf[4096];
    const char *schema_path = NULL, *spec_path = NULL, *out_path = "model.json";
    int quiet = 0;
    gbdt_opts o = {.holdout = -1, .validation = 0.1, .seed = -1};
    pf_gbdt_params_default(&o.p);
    int ec = parse_options(argc, argv, &o, &schema_path, &spec_path, &out_path, &quiet);
    if (ec >= 0)
        return ec;
    const char *input = optind < argc ? argv[optind] : "-";
    if (!spec_path)
        spec_path = pf_cli_data_path(spec_buf, sizeof spec_buf, "models/af-logit.spec.json");

    pf_error err = {0};
    pf_schema *schema = NULL;
    pf_spec *spec = NULL;
    pf_reader *r = NULL;
    pf_frame *f = NULL;
    pf_prefetch *pre = NULL;
    pf_dist *dist = NULL;
    pf_gbdt *g = NULL;
    pf_model *model = NULL;
    pf_encoder *enc = NULL;
    rowset fit = {0}, val = {0}, hold = {0};
    double *hp = NULL, *xrow = NULL;
    int *cols = NULL;
    int8_t *mono = NULL;
    size_t nf = 0;
    int exit_code = PF_EXIT_USAGE, rc;
    pf_train_excluded ex = {0, 0};
    long long zero_weight = 0;

    if (pf_cli_load_schema(cmd, schema_path, &schema))
        goto out;
    if (pf_spec_load(&spec, spec_path, schema, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    if (o.holdout >= 0)
        spec->holdout_fraction = o.holdout;
    if (o.seed >= 0)
        spec->seed = (uint64_t) o.seed;
    o.p.seed = spec->seed;
    if (o.validation == 0)
        o.p.early_stopping = 0;
    cols = malloc(schema->ncols * sizeof *cols);
    mono = calloc(schema->ncols, 1);
    if (!cols || !mono) {
        pf_cli_error(cmd, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < schema->ncols; c++)
        for (size_t j = 0; j < spec->enc->nterms; j++)
            if (pf_term_uses(&spec->enc->terms[j], (int) c)) {
                cols[nf++] = (int) c;
                break;
            }
    if (nf == 0) {
        pf_cli_error(cmd, "%s: the specification uses no feature", spec_path);
        goto out;
    }
    for (int k = 0; k < o.nmonotone; k++)
        if (parse_monotone(o.monotone[k], schema, cols, nf, mono, cmd))
            goto out;
    o.p.monotone = mono;
    fit.nf = val.nf = hold.nf = nf;
    if (!(xrow = malloc(nf * sizeof *xrow)) || pf_dist_new(&dist, spec->enc, &err)) {
        pf_cli_error(cmd, "%s", xrow ? err.message : "out of memory");
        goto out;
    }
    exit_code = PF_EXIT_FAIL;

    pf_reader_options ropt = {0};
    if ((rc = pf_reader_open(&r, schema, input, &ropt, &err))) {
        pf_cli_input_error(cmd, input, err.message);
        exit_code = rc == PF_EHEADER ? PF_EXIT_USAGE : PF_EXIT_FAIL;
        goto out;
    }
    if ((rc = pf_prefetch_start(&pre, r, 8192, 4, o.p.threads, &err)))
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
            for (size_t j = 0; j < nf; j++)
                xrow[j] = pf_train_column_value(f, cols[j], i);
            rowset *dst = &hold;
            if (!is_hold) {
                pf_dist_add(dist, f, i);
                if (w == 0) {
                    zero_weight++;
                    continue;
                }
                dst = o.validation > 0 && pf_gbdt_uniform(spec->seed, VALIDATION_STREAM,
                                                          (uint64_t) f->row[i]) < o.validation
                          ? &val
                          : &fit;
            }
            if (rowset_push(dst, xrow, y, w)) {
                rc = pf_error_set(&err, PF_ENOMEM, "out of memory holding the rows");
                goto fail;
            }
        }
        pf_prefetch_release(pre, f);
    }
    pf_prefetch_stop(pre);
    pre = NULL;
    if (rc < 0)
        goto fail;

    pf_gbdt_data dfit = {fit.n, fit.x, fit.y, fit.w}, dval = {val.n, val.x, val.y, val.w};
    pf_gbdt_report rep;
    if ((rc = pf_gbdt_train(&dfit, &dval, nf, cols, &o.p, &g, &rep, &err)))
        goto fail;

    json_t *holdout_json = json_null();
    if (hold.n && !(hp = malloc(hold.n * sizeof *hp))) {
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    pf_gbdt_predict(g, hold.x, hold.n, hp);
    for (size_t i = 0; i < hold.n; i++)
        hp[i] = 1 / (1 + exp(-hp[i]));
    if ((rc = pf_train_holdout_json(hp, hold.y, hold.w, hold.n, &holdout_json, &err)))
        goto fail;

    if ((rc = pf_encoder_new(&enc, schema, &err)) ||
        (rc =
             pf_model_new(&model, schema, "gbdt", schema->cols[spec->label_col].name, enc, &err))) {
        json_decref(holdout_json);
        goto fail;
    }
    enc = NULL;
    model->gbdt = g;
    g = NULL;
    const pf_reader_stats *st = pf_reader_stats_get(r);
    char data_sha[65];
    pf_reader_input_sha256(r, data_sha);
    json_t *training = json_pack(
        "{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:i,s:i,s:f,s:o}", "data_sha256",
        data_sha, "spec", spec->name, "spec_sha256", spec->sha256, "rows_read",
        (json_int_t) st->rows_read, "rows_rejected", (json_int_t) st->rows_rejected,
        "rows_label_missing", (json_int_t) ex.label, "rows_weight_invalid", (json_int_t) ex.weight,
        "rows_weight_zero", (json_int_t) zero_weight, "rows_fit", (json_int_t) fit.n,
        "rows_validation", (json_int_t) val.n, "rows_holdout", (json_int_t) hold.n, "seed",
        (json_int_t) spec->seed, "options", options_json(&o, spec), "rounds", rep.rounds, "trees",
        rep.trees, "fit_log_loss", rep.fit_log_loss, "validation_log_loss",
        isnan(rep.valid_log_loss) ? json_null() : json_real(rep.valid_log_loss));
    if (!training) {
        json_decref(holdout_json);
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    json_object_set_new(model->meta, "training", training);
    json_object_set_new(model->meta, "holdout", holdout_json);
    json_object_set_new(model->meta, "distributions", pf_dist_json(dist));
    if ((rc = pf_model_save(model, out_path, &err)))
        goto fail;

    if (!quiet) {
        printf("data:       %s (sha256 %s)\n", strcmp(input, "-") ? input : "standard input",
               data_sha);
        printf("rows:       %lld read, %lld rejected, %lld without label, %lld bad weight; "
               "%zu fit, %zu validation, %zu holdout\n",
               (long long) st->rows_read, (long long) st->rows_rejected, ex.label, ex.weight, fit.n,
               val.n, hold.n);
        printf("trees:      %d kept of %d built (%zu features, %zu nodes), fit log-loss %.4f",
               rep.trees, rep.rounds, nf, model->gbdt->nnodes, rep.fit_log_loss);
        if (!isnan(rep.valid_log_loss))
            printf(", validation log-loss %.4f", rep.valid_log_loss);
        printf("\n");
        pf_train_print_holdout(json_object_get(model->meta, "holdout"));
        printf("model:      %s (sha256 %s)\n", out_path, model->sha256);
    }
    exit_code = PF_EXIT_OK;
    goto out;
fail:
    pf_cli_error(cmd, "%s", err.message);
out:
    rowset_free(&fit);
    rowset_free(&val);
    rowset_free(&hold);
    free(hp);
    free(xrow);
    free(cols);
    free(mono);
    pf_gbdt_free(g);
    pf_encoder_free(enc);
    pf_model_free(model);
    pf_dist_free(dist);
    pf_prefetch_stop(pre);
    pf_reader_close(r);
    pf_spec_free(spec);
    pf_schema_free(schema);
    return exit_code;
}
