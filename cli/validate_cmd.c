/*
 * validate_cmd.c - `profil validate`: reads a CSV file through the schema
 * exactly as training and scoring would, prints counts per rule and per
 * column, and writes every problem of every rejected row to a rejects file.
 *
 * Exit status: 0 every row accepted, 1 some row rejected or the input could
 * not be read to the end, 2 usage, schema or header errors.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profil/csvout.h"
#include "profil/outfile.h"
#include "profil/prefetch.h"
#include "profil/reader.h"
#include "profil/schema.h"

#define EXAMPLES 10

typedef struct column_count {
    char *name;
    long long n;
} column_count;

typedef struct validate_ctx {
    pf_outfile *rejects;
    int write_failed;
    size_t ncols;
    column_count *cols; /* problems by column, in order of first appearance */
    int nexamples;
    char examples[EXAMPLES][512];
} validate_ctx;

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil validate [OPTIONS] [FILE]\n"
            "\n"
            "Check a CSV file (plain or gzip; '-' or none for standard input) against a\n"
            "schema, as training and scoring would read it. Prints rows read, accepted and\n"
            "rejected, problems by rule and by column, and writes every problem of every\n"
            "rejected row to a rejects file.\n"
            "\n"
            "Options:\n"
            "  -s, --schema FILE      schema file (default: the bundled %s)\n"
            "  -r, --rejects FILE     rejects CSV (row,line,id,column,rule,value,message);\n"
            "                         default: FILE's name with .rejects.csv, or none for\n"
            "                         standard input\n"
            "      --no-rejects       do not write a rejects file\n"
            "  -d, --delimiter C      ',', ';', 'tab', '|' or 'auto' (default: auto, from the\n"
            "                         header)\n"
            "      --decimal MODE     auto (default: '.' always, ',' too with ';' or tab\n"
            "                         delimiters), point, or comma\n"
            "  -t, --threads N        threads reading (default: all cores)\n"
            "      --json             print the summary as JSON\n"
            "  -q, --quiet            print nothing; only the exit status tells\n"
            "  -h, --help             show this help and exit\n"
            "  -V, --version          show version information and exit\n"
            "\n"
            "Exit status: 0 every row accepted, 1 some row rejected or the input could not\n"
            "be read to the end, 2 usage, schema or header error.\n",
            PF_DEFAULT_SCHEMA);
}

static void count_column(validate_ctx *v, const char *name)
{
    const char *key = name ? name : "(row)";
    for (size_t i = 0; i < v->ncols; i++)
        if (strcmp(v->cols[i].name, key) == 0) {
            v->cols[i].n++;
            return;
        }
    column_count *c = realloc(v->cols, (v->ncols + 1) * sizeof *c);
    if (!c)
        return;
    v->cols = c;
    c[v->ncols].name = strdup(key);
    c[v->ncols].n = c[v->ncols].name ? 1 : 0;
    if (c[v->ncols].name)
        v->ncols++;
}

static void on_reject(void *ctx, const pf_problem *p)
{
    validate_ctx *v = ctx;
    count_column(v, p->column);
    if (v->nexamples < EXAMPLES)
        pf_cli_problem_text(v->examples[v->nexamples++], sizeof v->examples[0], p);
    if (!v->rejects || v->write_failed)
        return;
    v->write_failed = pf_cli_write_problem(v->rejects, p) != 0;
}

static void print_text(const char *input, const pf_reader *r, const validate_ctx *v,
                       const char *rejects_path, const char *fatal)
{
    const pf_reader_stats *st = pf_reader_stats_get(r);
    const char *const *unknown;
    size_t nunknown = pf_reader_unknown_columns(r, &unknown);
    char d = pf_reader_delimiter(r);
    printf("input:          %s (delimiter %s)\n", input,
           d == '\t'  ? "tab"
           : d == ';' ? "';'"
           : d == '|' ? "'|'"
                      : "','");
    if (nunknown) {
        printf("unknown columns (ignored): ");
        for (size_t i = 0; i < nunknown; i++)
            printf("%s%s", i ? ", " : "", unknown[i]);
        printf("\n");
    }
    char sha[65];
    pf_reader_input_sha256(r, sha);
    printf("input sha256:   %s\n", sha);
    printf("rows read:      %lld\n", (long long) st->rows_read);
    printf("rows accepted:  %lld\n", (long long) st->rows_accepted);
    printf("rows rejected:  %lld\n", (long long) st->rows_rejected);
    if (st->blank_lines)
        printf("blank lines:    %lld (skipped, not rows)\n", (long long) st->blank_lines);
    if (st->rows_rejected) {
        printf("problems by rule:\n");
        for (int k = 0; k < PF_RULE_COUNT; k++)
            if (st->problems[k])
                printf("  %-16s %lld\n", pf_rule_name((pf_rule) k), (long long) st->problems[k]);
        printf("problems by column:\n");
        for (size_t i = 0; i < v->ncols; i++)
            printf("  %-30s %lld\n", v->cols[i].name, v->cols[i].n);
        printf("first problems:\n");
        for (int i = 0; i < v->nexamples; i++)
            printf("  %s\n", v->examples[i]);
    }
    if (rejects_path)
        printf("rejects:        %s\n", rejects_path);
    if (fatal)
        printf("stopped:        %s\n", fatal);
}

static void print_json(const char *input, const pf_reader *r, const validate_ctx *v,
                       const char *rejects_path, const char *fatal)
{
    const pf_reader_stats *st = pf_reader_stats_get(r);
    json_t *o = json_object();
    json_t *rules = json_object();
    json_t *cols = json_object();
    json_t *unknown_j = json_array();
    const char *const *unknown;
    size_t nunknown = pf_reader_unknown_columns(r, &unknown);
    for (size_t i = 0; i < nunknown; i++)
        json_array_append_new(unknown_j, json_string(unknown[i]));
    for (int k = 0; k < PF_RULE_COUNT; k++)
        json_object_set_new(rules, pf_rule_name((pf_rule) k), json_integer(st->problems[k]));
    for (size_t i = 0; i < v->ncols; i++)
        json_object_set_new(cols, v->cols[i].name, json_integer(v->cols[i].n));
    char sha[65];
    pf_reader_input_sha256(r, sha);
    json_object_set_new(o, "input", json_string(input));
    json_object_set_new(o, "input_sha256", json_string(sha));
    json_object_set_new(o, "rows_read", json_integer(st->rows_read));
    json_object_set_new(o, "rows_accepted", json_integer(st->rows_accepted));
    json_object_set_new(o, "rows_rejected", json_integer(st->rows_rejected));
    json_object_set_new(o, "blank_lines", json_integer(st->blank_lines));
    json_object_set_new(o, "problems_by_rule", rules);
    json_object_set_new(o, "problems_by_column", cols);
    json_object_set_new(o, "unknown_columns", unknown_j);
    json_object_set_new(o, "rejects", rejects_path ? json_string(rejects_path) : json_null());
    json_object_set_new(o, "error", fatal ? json_string(fatal) : json_null());
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        puts(text);
    free(text);
    json_decref(o);
}

int pf_cmd_validate(int argc, char **argv)
{
    static const struct option longopts[] = {{"schema", required_argument, NULL, 's'},
                                             {"rejects", required_argument, NULL, 'r'},
                                             {"no-rejects", no_argument, NULL, 'N'},
                                             {"delimiter", required_argument, NULL, 'd'},
                                             {"decimal", required_argument, NULL, 'D'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    const char *cmd = "validate";
    const char *schema_path = NULL, *rejects_opt = NULL;
    int no_rejects = 0, json = 0, quiet = 0, threads = 0;
    pf_reader_options ropt = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:r:d:t:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            schema_path = optarg;
            break;
        case 'r':
            rejects_opt = optarg;
            break;
        case 'N':
            no_rejects = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 't':
            if (pf_cli_parse_threads(cmd, optarg, &threads))
                return PF_EXIT_USAGE;
            break;
        case 'd':
            if (!strcmp(optarg, "auto"))
                ropt.delimiter = 0;
            else if (!strcmp(optarg, "tab") || !strcmp(optarg, "\\t"))
                ropt.delimiter = '\t';
            else if (strlen(optarg) == 1 && strchr(",;|", optarg[0]))
                ropt.delimiter = optarg[0];
            else
                return pf_cli_usage_error(cmd,
                                          "invalid delimiter '%s' (use ',', ';', 'tab', "
                                          "'|' or 'auto')",
                                          optarg);
            break;
        case 'D':
            if (!strcmp(optarg, "auto"))
                ropt.decimal = PF_DECIMAL_AUTO;
            else if (!strcmp(optarg, "point"))
                ropt.decimal = PF_DECIMAL_POINT;
            else if (!strcmp(optarg, "comma"))
                ropt.decimal = PF_DECIMAL_COMMA;
            else
                return pf_cli_usage_error(cmd,
                                          "invalid decimal mode '%s' (use auto, point or "
                                          "comma)",
                                          optarg);
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
    if (argc - optind > 1)
        return pf_cli_usage_error(cmd, "expected at most one input file");
    const char *input = optind < argc ? argv[optind] : "-";
    pf_error err = {0};
    pf_schema *schema = NULL;
    if (pf_cli_load_schema(cmd, schema_path, &schema))
        return PF_EXIT_USAGE;
    validate_ctx v = {0};
    ropt.on_reject = on_reject;
    ropt.reject_ctx = &v;
    pf_reader *r = NULL;
    int rc = pf_reader_open(&r, schema, input, &ropt, &err);
    if (rc) {
        pf_cli_input_error(cmd, input, err.message);
        pf_schema_free(schema);
        /* A header that does not fit the schema is a setup error; an
         * unreadable file is a failure. */
        return rc == PF_EHEADER ? PF_EXIT_USAGE : PF_EXIT_FAIL;
    }

    char *rejects_path = NULL;
    if (!no_rejects) {
        if (rejects_opt)
            rejects_path = strdup(rejects_opt);
        else if (strcmp(input, "-") != 0)
            rejects_path = pf_cli_sibling_path(input, ".rejects.csv");
    }
    if (rejects_path) {
        if (pf_outfile_open(&v.rejects, rejects_path, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            free(rejects_path);
            pf_reader_close(r);
            pf_schema_free(schema);
            return PF_EXIT_FAIL;
        }
        pf_outfile_puts(v.rejects, PF_CLI_REJECTS_HEADER);
    }

    /* Read as score and train read: blocks parsed on `threads` threads,
     * rejects reported in input order. */
    char fatal[PF_ERROR_MAX] = "";
    pf_prefetch *pre = NULL;
    pf_frame *f;
    rc = pf_prefetch_start(&pre, r, 8192, 4, threads, &err);
    while (rc == 0 && (rc = pf_prefetch_next(pre, &f, &err)) > 0) {
        pf_prefetch_release(pre, f);
        rc = 0;
    }
    pf_prefetch_stop(pre);
    if (rc < 0)
        snprintf(fatal, sizeof fatal, "%s", err.message);

    int exit_code = PF_EXIT_OK;
    if (v.rejects) {
        if (v.write_failed) {
            pf_outfile_abort(v.rejects);
            pf_cli_error(cmd, "cannot write %s", rejects_path);
            exit_code = PF_EXIT_FAIL;
        } else if (pf_outfile_commit(v.rejects, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            exit_code = PF_EXIT_FAIL;
        }
    }
    const char *shown = strcmp(input, "-") ? input : "standard input";
    if (!quiet) {
        if (json)
            print_json(shown, r, &v, rejects_path, *fatal ? fatal : NULL);
        else
            print_text(shown, r, &v, rejects_path, *fatal ? fatal : NULL);
    }
    if (*fatal)
        pf_cli_error(cmd, "%s: %s", shown, fatal);
    if (*fatal || pf_reader_stats_get(r)->rows_rejected > 0)
        exit_code = PF_EXIT_FAIL;

    for (size_t i = 0; i < v.ncols; i++)
        free(v.cols[i].name);
    free(v.cols);
    free(rejects_path);
    pf_reader_close(r);
    pf_schema_free(schema);
    return exit_code;
}
