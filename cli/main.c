/*
 * main.c - the `profil` executable. It only dispatches to subcommands
 * (as git and samtools do); each subcommand lives with its concern.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "profil/irls.h"

static const pf_command commands[] = {
    {"diff", "compare two scored outputs of one population: transitions and changed persons",
     pf_cmd_diff},
    {"eval", "evaluate a model and policy on labelled data: accuracy, calibration, fairness",
     pf_cmd_eval},
    {"model", "build a model from a coefficient table, or export a model's table", pf_cmd_model},
    {"policy", "list, show and check the dated policy rules", pf_cmd_policy},
    {"report", "write an evaluation as a Jupyter notebook and a static HTML page", pf_cmd_report},
    {"rerun", "reproduce a past score run from its manifest and check the output", pf_cmd_rerun},
    {"score", "score a population: decisions, reasons, rejects and a run manifest", pf_cmd_score},
    {"serve", "serve decisions over HTTP: scoring, model and policy, health and metrics",
     pf_cmd_serve},
    {"simulate", "score one population under several policies or thresholds and compare",
     pf_cmd_simulate},
    {"synth", "generate a synthetic population of registered job seekers", pf_cmd_synth},
    {"thresholds", "choose the thresholds on p that give target shares per group",
     pf_cmd_thresholds},
    {"train", "fit a logistic regression model and evaluate it on a holdout split", pf_cmd_train},
    {"validate", "check a CSV file against a schema and report every rejected row",
     pf_cmd_validate},
    {"whatif", "score one profile: explain it, vary a feature, compare, or reach a target",
     pf_cmd_whatif},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: profil COMMAND [OPTIONS] [ARGS]\n"
                "\n"
                "Statistical profiling of registered job seekers: distance to the labour\n"
                "market and the decision support derived from it under dated policy rules.\n"
                "\n"
                "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n"
                "Options:\n"
                "  -h, --help     show this help and exit\n"
                "  -V, --version  show version information and exit\n"
                "\n"
                "'profil COMMAND --help' describes a command. Exit status: 0 success,\n"
                "1 failure or rejected rows, 2 usage or setup error.\n");
}

int main(int argc, char **argv)
{
    pf_blas_release_threads();
    if (argc < 2) {
        usage(stderr);
        return PF_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
        usage(stdout);
        return PF_EXIT_OK;
    }
    if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
        pf_cli_print_version(stdout);
        return PF_EXIT_OK;
    }
    if (!strcmp(name, "help") && argc >= 3) {
        for (size_t i = 0; i < NCOMMANDS; i++)
            if (!strcmp(argv[2], commands[i].name)) {
                char *args[] = {argv[2], "--help", NULL};
                return commands[i].run(2, args);
            }
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "profil: unknown command '%s'\n\n", name);
    usage(stderr);
    return PF_EXIT_USAGE;
}
