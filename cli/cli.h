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

/* "profil 0.1.0" plus library versions, for --version. */
void pf_cli_print_version(FILE *fp);

/* Prints "profil CMD: message" to stderr. */
void pf_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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

/* Parses a non-negative integer with optional k/M/G-style suffix-free
 * scientific shorthand ("1e6"); returns 0 on success. */
int pf_cli_parse_count(const char *s, long long *out);

#endif
