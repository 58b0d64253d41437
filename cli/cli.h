/*
 * cli.h - what every subcommand of the `profil` executable shares:
 * exit codes, version text, error printing and where bundled data lives.
 *
 * Conventions (GNU): --help and --version on every subcommand, long
 * options, "-" for stdin/stdout, errors on stderr, exit 0 on success,
 * 1 when the work failed or rows were rejected, 2 on usage or setup errors.
 */
#ifndef PROFIL_CLI_H
#define PROFIL_CLI_H

#include <stdio.h>

enum { PF_EXIT_OK = 0, PF_EXIT_FAIL = 1, PF_EXIT_USAGE = 2 };

/* One subcommand: name, one-line summary, entry point (argv[0] is the name). */
typedef struct pf_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} pf_command;

int pf_cmd_synth(int argc, char **argv);
int pf_cmd_train(int argc, char **argv);
int pf_cmd_model(int argc, char **argv);
int pf_cmd_validate(int argc, char **argv);
int pf_cmd_policy(int argc, char **argv);
int pf_cmd_score(int argc, char **argv);
int pf_cmd_serve(int argc, char **argv);
int pf_cmd_thresholds(int argc, char **argv);
int pf_cmd_whatif(int argc, char **argv);
int pf_cmd_rerun(int argc, char **argv);
int pf_cmd_diff(int argc, char **argv);
int pf_cmd_simulate(int argc, char **argv);
int pf_cmd_eval(int argc, char **argv);
int pf_cmd_report(int argc, char **argv);

struct pf_schema;

/* `profil model explain` (explain_cmd.c): per-row contributions as CSV. */
int pf_cli_model_explain(const char *model_path, const char *input, const char *out_path,
                         const struct pf_schema *s);

/* `profil model import-xgboost` (xgboost_cmd.c): argv[0] is the action. */
int pf_cli_model_import_xgboost(int argc, char **argv);

/* "profil 0.1.0" plus library versions, for --version. */
void pf_cli_print_version(FILE *fp);

/* Prints "profil CMD: message" to stderr. */
void pf_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "profil CMD: INPUT: message" for an error about an input file,
 * without naming the file twice when the message already starts with it. */
void pf_cli_input_error(const char *cmd, const char *input, const char *message);

/* Prints "Try 'profil CMD --help'." and returns PF_EXIT_USAGE. */
int pf_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Directory of bundled data: $PROFIL_DATA if set, else the installed share
 * directory if it exists, else the source tree's data/ directory. */
const char *pf_cli_datadir(void);

/* Path of a bundled data file (relative to the data directory) in buf. */
const char *pf_cli_data_path(char *buf, size_t n, const char *relative);

struct pf_schema;

/* Loads the schema at path, or the bundled default when path is NULL;
 * prints the error as "profil CMD: ..." and returns PF_EXIT_USAGE on
 * failure, 0 on success. */
int pf_cli_load_schema(const char *cmd, const char *path, struct pf_schema **out);

/* The default schema's path. */
#define PF_DEFAULT_SCHEMA "schema/af-inskrivning.json"

struct pf_policy;
struct pf_policy_set;
struct pf_model;

/* The default model and policy directory, relative to the data directory. */
#define PF_DEFAULT_MODEL      "models/af-logit.json"
#define PF_DEFAULT_POLICY_DIR "policies"
#define PF_DEFAULT_SERVICE    "rusta_och_matcha"

/* Loads the model at path (NULL: the bundled default) for schema s; prints
 * the error and returns PF_EXIT_USAGE on failure. */
int pf_cli_load_model(const char *cmd, const char *path, const struct pf_schema *s,
                      struct pf_model **out);

/* How a command names its policy: a file or bundled name (--policy), or a
 * date (--date YYYY-MM-DD, default today) with an optional service and
 * directory. */
typedef struct pf_cli_policy_choice {
    const char *policy;  /* path, or the name of a bundled policy ("krom-2020") */
    const char *date;    /* YYYY-MM-DD; NULL = today */
    const char *service; /* NULL = PF_DEFAULT_SERVICE */
    const char *dir;     /* NULL = the bundled policies */
} pf_cli_policy_choice;

/* Loads the chosen policy into *out (freed with pf_policy_free by the
 * caller); prints the error and returns PF_EXIT_USAGE on failure. */
int pf_cli_load_policy(const char *cmd, const pf_cli_policy_choice *c, const struct pf_schema *s,
                       struct pf_policy **out);

struct pf_outfile;
struct pf_problem;

/* The rejects file every reading command writes: one line per problem. */
#define PF_CLI_REJECTS_HEADER "row,line,id,column,rule,value,message\n"

/* Writes one problem as a rejects-file line; 0 or -1 on a write error. */
int pf_cli_write_problem(struct pf_outfile *o, const struct pf_problem *p);

/* One problem as a line of text (no newline): "row R (line L), COLUMN:
 * RULE 'VALUE': MESSAGE", as commands show the first few. */
void pf_cli_problem_text(char *buf, size_t n, const struct pf_problem *p);

/* path with its extension (.csv.gz, .gz, .csv, .txt) replaced by suffix:
 * "data/x.csv.gz", ".rejects.csv" -> "data/x.rejects.csv". Caller frees. */
char *pf_cli_sibling_path(const char *path, const char *suffix);

/* Spaces that pad UTF-8 text s to width characters (0 when it is wider):
 * printf's %-Ns counts bytes, and the labels are Swedish. Use as
 * printf("%s%*s", s, pf_cli_pad(s, w), ""). */
int pf_cli_pad(const char *s, int width);

/* Parses a non-negative integer with optional k/M/G-style suffix-free
 * scientific shorthand ("1e6"); returns 0 on success. */
int pf_cli_parse_count(const char *s, long long *out);

/* Parses the argument of --threads (1 to 256) into *out; on a bad value
 * prints the usage error and returns PF_EXIT_USAGE, else 0. */
int pf_cli_parse_threads(const char *cmd, const char *s, int *out);

#endif
