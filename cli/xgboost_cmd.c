/*
 * xgboost_cmd.c - `profil model import-xgboost XGB.json -o MODEL.json`:
 * an XGBoost JSON model (xgboost.h) written as a profil gbdt model file,
 * which score, whatif, serve and model explain then use like a trained
 * one: the same leaves for every row, TreeSHAP reasons from XGBoost's
 * node covers.
 *
 * Training distributions (for the drift checks of score and serve) come
 * from --data: the rows the XGBoost model was trained on, read and
 * validated through the schema as `profil train` reads them. Without it
 * the model file says that drift checks are unavailable, and scoring runs
 * report no drift.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dist.h"
#include "profil/gbdt.h"
#include "profil/hash.h"
#include "profil/model.h"
#include "profil/reader.h"
#include "profil/xgboost.h"

static const char *const cmd = "model import-xgboost";

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil model import-xgboost [OPTIONS] XGB.json\n"
            "\n"
            "Write an XGBoost JSON model (Booster.save_model(\"model.json\"); gbtree,\n"
            "binary:logistic, reg:logistic or binary:logitraw) as a profil gbdt model\n"
            "file. XGBoost's feature names must be the schema's feature columns, with\n"
            "the values profil gives them: numbers as numbers, booleans 0/1, a category\n"
            "as its 0-based position in the schema's level list (docs/models.md).\n"
            "\n"
            "Options:\n"
            "  -s, --schema FILE         schema (default: the bundled %s)\n"
            "  -o, --output FILE         model file to write (default model.json)\n"
            "      --label NAME          the label the model predicts (default: the\n"
            "                            schema's first label column)\n"
            "      --data CSV            the rows the model was trained on: their feature\n"
            "                            distributions become the model's training\n"
            "                            distributions, for drift checks; without it\n"
            "                            drift checks are unavailable for the model\n"
            "      --feature-names LIST  comma-separated names of XGBoost's features in\n"
            "                            order, instead of the file's feature_names\n"
            "  -q, --quiet               print nothing on success\n"
            "  -h, --help                show this help and exit\n"
            "  -V, --version             show version information and exit\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage, schema or model error.\n",
            PF_DEFAULT_SCHEMA);
}

/* Splits a comma-separated list in place into *names (owned array). */
static int split_names(char *list, char ***names, size_t *n)
{
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    *names = malloc(cap * sizeof **names);
    if (!*names)
        return -1;
    *n = 0;
    for (char *tok = list, *next; tok; tok = next) {
        next = strchr(tok, ',');
        if (next)
            *next++ = '\0';
        (*names)[(*n)++] = tok;
    }
    return 0;
}

/* The distributions of the model's features over the accepted rows of
 * data, into m->meta; 0, or an exit code. */
static int add_distributions(pf_model *m, const char *data, const pf_schema *s)
{
    pf_error err = {0};
    pf_reader *r = NULL;
    pf_frame *f = NULL;
    pf_dist *dist = NULL;
    int rc;
    if ((rc = pf_reader_open(&r, s, data, NULL, &err))) {
        pf_cli_input_error(cmd, data, err.message);
        return rc == PF_EHEADER ? PF_EXIT_USAGE : PF_EXIT_FAIL;
    }
    if ((rc = pf_reader_frame_new(r, 8192, &f, &err)) ||
        (rc = pf_dist_new_cols(&dist, s, m->gbdt->feat_col, m->gbdt->nfeat, &err)))
        goto out;
    while ((rc = pf_reader_read(r, f, &err)) > 0)
        for (size_t i = 0; i < f->n; i++)
            pf_dist_add(dist, f, i);
    if (rc < 0)
        goto out;
    const pf_reader_stats *st = pf_reader_stats_get(r);
    char sha[PF_SHA256_HEX];
    pf_reader_input_sha256(r, sha);
    if (st->rows_accepted == 0) {
        rc = pf_error_set(&err, PF_EINVAL, "%s: no accepted rows to take distributions from", data);
        goto out;
    }
    if (st->rows_rejected)
        pf_cli_error(cmd,
                     "%s: %lld of %lld rows rejected by the schema and left out of the "
                     "distributions ('profil validate' lists them)",
                     data, (long long) st->rows_rejected, (long long) st->rows_read);
    json_object_set_new(m->meta, "distributions", pf_dist_json(dist));
    json_object_set_new(m->meta, "distributions_source",
                        json_pack("{s:s,s:s,s:I,s:I}", "data", data, "data_sha256", sha,
                                  "rows_read", (json_int_t) st->rows_read, "rows_rejected",
                                  (json_int_t) st->rows_rejected));
out:
    if (rc < 0)
        pf_cli_input_error(cmd, data, err.message);
    pf_dist_free(dist);
    pf_frame_free(f);
    pf_reader_close(r);
    return rc < 0 ? PF_EXIT_FAIL : 0;
}

static int import(const char *path, const char *out_path, const char *label, const char *data,
                  char **names, size_t nnames, int quiet, const pf_schema *s)
{
    pf_error err = {0};
    json_error_t jerr;
    pf_gbdt *g = NULL;
    pf_encoder *enc = NULL;
    pf_model *m = NULL;
    pf_xgboost_info info;
    int rc = PF_EXIT_USAGE;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        pf_cli_error(cmd, "%s: line %d: %s", path, jerr.line, jerr.text);
        return PF_EXIT_USAGE;
    }
    char sha[PF_SHA256_HEX];
    if (pf_sha256_file(path, sha, &err) ||
        pf_xgboost_import(&g, root, s, (const char *const *) names, nnames, path, &info, &err) ||
        pf_encoder_new(&enc, s, &err) || pf_model_new(&m, s, "gbdt", label, enc, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    enc = NULL;
    m->gbdt = g;
    g = NULL;
    json_t *xnames = json_array();
    const json_t *fn = json_object_get(json_object_get(root, "learner"), "feature_names");
    for (size_t i = 0; i < (names ? nnames : json_array_size(fn)); i++)
        json_array_append_new(
            xnames, json_string(names ? names[i] : json_string_value(json_array_get(fn, i))));
    char version[48];
    snprintf(version, sizeof version, "%d.%d.%d", info.version[0], info.version[1],
             info.version[2]);
    json_object_set_new(m->meta, "source",
                        json_pack("{s:s,s:s,s:s,s:s,s:f,s:f,s:I,s:o}", "xgboost_model", path,
                                  "sha256", sha, "xgboost_version", version, "objective",
                                  info.objective, "base_score", info.base_score, "base_margin",
                                  info.base_margin, "trees", (json_int_t) info.ntrees,
                                  "feature_names", xnames));
    if (data) {
        if ((rc = add_distributions(m, data, s)))
            goto out;
    } else {
        json_object_set_new(m->meta, "drift",
                            json_string("unavailable: imported without training data, so the "
                                        "model has no training distributions (import with "
                                        "--data to add them)"));
    }
    rc = PF_EXIT_FAIL;
    if (pf_model_save(m, out_path, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    if (!quiet)
        printf("model: %s (%zu trees, %zu features, %zu nodes; %s; sha256 %s)\n", out_path,
               m->gbdt->ntrees, m->gbdt->nfeat, m->gbdt->nnodes,
               data ? "training distributions from the data" : "no drift checks", m->sha256);
    rc = PF_EXIT_OK;
out:
    json_decref(root);
    pf_gbdt_free(g);
    pf_encoder_free(enc);
    pf_model_free(m);
    return rc;
}

int pf_cli_model_import_xgboost(int argc, char **argv)
{
    static const struct option longopts[] = {{"schema", required_argument, NULL, 's'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"label", required_argument, NULL, 'l'},
                                             {"data", required_argument, NULL, 'd'},
                                             {"feature-names", required_argument, NULL, 'f'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    const char *schema_path = NULL, *out_path = "model.json", *label = NULL, *data = NULL;
    char *feature_list = NULL;
    int c, quiet = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:o:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            schema_path = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'l':
            label = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'f':
            feature_list = optarg;
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
        default:
            return pf_cli_usage_error(cmd, "invalid option");
        }
    }
    if (argc - optind != 1)
        return pf_cli_usage_error(cmd, "expected one XGBoost JSON model file");
    pf_schema *s = NULL;
    if (pf_cli_load_schema(cmd, schema_path, &s))
        return PF_EXIT_USAGE;
    if (!label)
        for (size_t j = 0; j < s->ncols && !label; j++)
            if (s->cols[j].role == PF_ROLE_LABEL)
                label = s->cols[j].name;
    int lc = label ? pf_schema_find(s, label) : -1, rc;
    char **names = NULL;
    size_t nnames = 0;
    if (lc < 0 || s->cols[lc].role != PF_ROLE_LABEL)
        rc = pf_cli_usage_error(cmd, "--label must name a label column of schema %s", s->name);
    else if (feature_list && split_names(feature_list, &names, &nnames))
        rc = (pf_cli_error(cmd, "out of memory"), PF_EXIT_FAIL);
    else
        rc = import(argv[optind], out_path, label, data, names, nnames, quiet, s);
    free(names);
    pf_schema_free(s);
    return rc;
}
