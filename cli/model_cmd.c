/*
 * model_cmd.c - `profil model`: work with model files without training.
 *
 *   profil model from-table TABLE.csv -o model.json
 *       builds a logistic model from a coefficient table (term, level,
 *       coefficient, optional std_error), e.g. one published or fitted in
 *       R or Stata, so it is scored with exactly the same decisions and
 *       reasons as a trained one;
 *   profil model coef MODEL.json [-o table.csv]
 *       writes a model's coefficient table in that same format;
 *   profil model explain MODEL.json DATA.csv [-o contributions.csv]
 *       writes every row's exact per-feature contributions (explain_cmd.c);
 *   profil model import-xgboost XGB.json [-o model.json] [--data CSV]
 *       writes an XGBoost JSON model as a gbdt model file (xgboost_cmd.c).
 *
 * A round trip (coef, then from-table) gives the same terms and
 * coefficients bit for bit, hence the same decisions.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profil/csvout.h"
#include "profil/model.h"
#include "profil/table.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil model from-table [OPTIONS] TABLE.csv\n"
            "       profil model coef [OPTIONS] MODEL.json\n"
            "       profil model explain [OPTIONS] MODEL.json DATA.csv\n"
            "       profil model import-xgboost [OPTIONS] XGB.json (see its --help)\n"
            "\n"
            "from-table: build a logistic model file from a coefficient table: CSV with\n"
            "the columns term, level, coefficient and optionally std_error, one row per\n"
            "design column, the intercept as term '(Intercept)'. Terms: x, log1p(x),\n"
            "hinge(x,k), bin(x,lo,hi), missing(x), a category x with its level in the\n"
            "level column, interactions joined with ':' (levels too). See\n"
            "docs/model-file.md.\n"
            "\n"
            "coef: write a model's coefficient table in the format from-table reads.\n"
            "\n"
            "explain: write every accepted row's logit, the reference logit and the exact\n"
            "contribution of every feature (the numbers reasons are ranked by), as CSV\n"
            "at full precision; they sum to logit - reference_logit.\n"
            "\n"
            "Options:\n"
            "  -s, --schema FILE   schema (default: the bundled %s)\n"
            "  -o, --output FILE   output file (from-table: default model.json;\n"
            "                      coef: default standard output)\n"
            "      --label NAME    the label the coefficients predict (from-table; default:\n"
            "                      the schema's first label column)\n"
            "  -h, --help          show this help and exit\n"
            "  -V, --version       show version information and exit\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage, schema or table error.\n",
            PF_DEFAULT_SCHEMA);
}

static int parse_double(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && isfinite(*out) ? 0 : -1;
}

static int from_table(const char *path, const char *out_path, const char *label, const pf_schema *s)
{
    const char *cmd = "model from-table";
    pf_error err = {0};
    pf_table *t = NULL;
    pf_encoder *enc = NULL;
    pf_model *m = NULL;
    int rc = PF_EXIT_USAGE;
    if (pf_table_load(&t, path, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        return PF_EXIT_USAGE;
    }
    int ct = pf_table_column(t, "term"), cl = pf_table_column(t, "level");
    int cc = pf_table_column(t, "coefficient"), cs = pf_table_column(t, "std_error");
    if (ct < 0 || cl < 0 || cc < 0) {
        pf_cli_error(cmd, "%s: needs the columns term, level and coefficient", path);
        goto out;
    }
    if (t->nrows == 0) {
        pf_cli_error(cmd, "%s: no coefficients", path);
        goto out;
    }
    if (pf_encoder_new(&enc, s, &err))
        goto fail;
    for (size_t i = 0; i < t->nrows; i++)
        if (pf_encoder_add(enc, pf_table_cell(t, i, (size_t) ct), pf_table_cell(t, i, (size_t) cl),
                           &err)) {
            pf_cli_error(cmd, "%s: row %zu: %s", path, i + 2, err.message);
            goto out;
        }
    if (pf_encoder_check_missing(enc, &err)) {
        pf_cli_error(cmd, "%s: %s", path, err.message);
        goto out;
    }
    if (pf_model_new(&m, s, "logit", label, enc, &err))
        goto fail;
    enc = NULL;
    if (cs >= 0 && !(m->se = malloc(t->nrows * sizeof *m->se)))
        goto fail;
    for (size_t i = 0; i < t->nrows; i++) {
        if (parse_double(pf_table_cell(t, i, (size_t) cc), &m->coef[i])) {
            pf_cli_error(cmd, "%s: row %zu: coefficient '%s' is not a finite number", path, i + 2,
                         pf_table_cell(t, i, (size_t) cc));
            goto out;
        }
        const char *se = cs >= 0 ? pf_table_cell(t, i, (size_t) cs) : NULL;
        if (se && (!*se ? (m->se[i] = NAN, 0) : parse_double(se, &m->se[i]))) {
            pf_cli_error(cmd, "%s: row %zu: std_error '%s' is not a number", path, i + 2, se);
            goto out;
        }
    }
    char sha[PF_SHA256_HEX];
    if (pf_sha256_file(path, sha, &err))
        goto fail;
    json_object_set_new(m->meta, "source",
                        json_pack("{s:s,s:s}", "coefficient_table", path, "sha256", sha));
    rc = PF_EXIT_FAIL;
    if (pf_model_save(m, out_path, &err))
        goto fail;
    printf("model: %s (%zu terms, sha256 %s)\n", out_path, m->enc->nterms, m->sha256);
    rc = PF_EXIT_OK;
    goto out;
fail:
    pf_cli_error(cmd, "%s", err.message);
out:
    pf_model_free(m);
    pf_encoder_free(enc);
    pf_table_free(t);
    return rc;
}

static int coef(const char *path, const char *out_path, const pf_schema *s)
{
    const char *cmd = "model coef";
    pf_error err = {0};
    pf_model *m = NULL;
    pf_outfile *o = NULL;
    if (pf_model_load(&m, path, s, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        return PF_EXIT_USAGE;
    }
    if (m->gbdt) {
        pf_cli_error(cmd, "%s: a %s model has no coefficient table", path, m->kind);
        pf_model_free(m);
        return PF_EXIT_USAGE;
    }
    if (pf_outfile_open(&o, out_path, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        pf_model_free(m);
        return PF_EXIT_FAIL;
    }
    pf_outfile_puts(o, m->se ? "term,level,coefficient,std_error\n" : "term,level,coefficient\n");
    for (size_t j = 0; j < m->enc->nterms; j++) {
        pf_csv_put_str(o, m->enc->terms[j].expr, ',');
        pf_outfile_write(o, ",", 1);
        pf_csv_put_str(o, m->enc->terms[j].level, ',');
        pf_outfile_printf(o, ",%.17g", m->coef[j]);
        if (m->se)
            pf_outfile_printf(o, ",%.17g", m->se[j]);
        pf_outfile_write(o, "\n", 1);
    }
    int rc = pf_outfile_commit(o, &err);
    if (rc)
        pf_cli_error(cmd, "%s", err.message);
    pf_model_free(m);
    return rc ? PF_EXIT_FAIL : PF_EXIT_OK;
}

int pf_cmd_model(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"schema", required_argument, NULL, 's'}, {"output", required_argument, NULL, 'o'},
        {"label", required_argument, NULL, 'l'},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    const char *cmd = "model";
    const char *schema_path = NULL, *out_path = NULL, *label = NULL;
    int c;
    if (argc > 1 && strcmp(argv[1], "import-xgboost") == 0)
        return pf_cli_model_import_xgboost(argc - 1, argv + 1);
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:o:hV", longopts, NULL)) != -1) {
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
    int is_explain = optind < argc && strcmp(argv[optind], "explain") == 0;
    if (argc - optind != 2 + is_explain)
        return pf_cli_usage_error(cmd, is_explain ? "explain takes a model and a data file"
                                                  : "expected an action (from-table, coef or "
                                                    "explain) and a file");
    const char *action = argv[optind], *file = argv[optind + 1];
    int is_from = strcmp(action, "from-table") == 0, is_coef = strcmp(action, "coef") == 0;
    if (!is_from && !is_coef && !is_explain)
        return pf_cli_usage_error(
            cmd,
            "unknown action '%s' (from-table, coef, explain or import-xgboost, "
            "which comes first)",
            action);
    pf_schema *s = NULL;
    if (pf_cli_load_schema(cmd, schema_path, &s))
        return PF_EXIT_USAGE;
    int rc;
    if (is_from) {
        if (!label)
            for (size_t j = 0; j < s->ncols && !label; j++)
                if (s->cols[j].role == PF_ROLE_LABEL)
                    label = s->cols[j].name;
        int lc = label ? pf_schema_find(s, label) : -1;
        if (lc < 0 || s->cols[lc].role != PF_ROLE_LABEL)
            rc = pf_cli_usage_error(cmd, "--label must name a label column of schema %s", s->name);
        else
            rc = from_table(file, out_path ? out_path : "model.json", label, s);
    } else if (is_coef) {
        rc = coef(file, out_path ? out_path : "-", s);
    } else {
        rc = pf_cli_model_explain(file, argv[optind + 2], out_path ? out_path : "-", s);
    }
    pf_schema_free(s);
    return rc;
}
