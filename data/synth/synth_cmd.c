/*
 * synth_cmd.c - `profil synth`: write a synthetic population of registered
 * job seekers as CSV, with the ground truth of its labels beside it.
 *
 * The command only parses options, opens the output files and hands over to
 * pf_synth_write(); both files appear under their final names only when the
 * whole run succeeded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "synth.h"

static const char *const CMD = "synth";

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil synth [OPTION]...\n"
            "Write a synthetic population of registered job seekers as CSV.\n"
            "\n"
            "The columns are the source columns of the schema af-inskrivning; the labels\n"
            "arbete_studier_90d and arbete_studier_180d are drawn from a known logistic\n"
            "model, which is written as JSON beside the data (the truth file). The same\n"
            "seed and options give the same bytes.\n"
            "\n"
            "Options:\n"
            "  -n, --rows=N          number of rows, 1 to 1e8; 1e6 style accepted\n"
            "                        (default %llu)\n"
            "  -s, --seed=S          random seed, 0 to 2^63-1 (default %llu)\n"
            "  -o, --output=FILE     write the CSV to FILE; a name ending in .gz is\n"
            "                        gzip-compressed; - is standard output (default -)\n"
            "      --truth=FILE      write the truth JSON to FILE (default: beside the\n"
            "                        output, its name without .csv or .csv.gz followed\n"
            "                        by .truth.json; none for standard output)\n"
            "      --with-truth-p    add the column p_sann_180d, the true probability of\n"
            "                        arbete_studier_180d (for research and tests)\n"
            "  -h, --help            show this help and exit\n"
            "  -V, --version         show version information and exit\n"
            "\n"
            "Reference tables are read from ref/ in the data directory (set PROFIL_DATA\n"
            "to change it):\n"
            "  %s\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage error.\n"
            "\n"
            "Example:\n"
            "  profil synth -n 1e6 -s 7 -o pop.csv.gz   # also writes pop.truth.json\n",
            (unsigned long long) PF_SYNTH_DEFAULT_ROWS, (unsigned long long) PF_SYNTH_DEFAULT_SEED,
            pf_cli_datadir());
}

/* "pop.csv.gz" -> "pop.truth.json"; "pop.csv" -> "pop.truth.json";
 * "pop" -> "pop.truth.json". Caller frees. */
static char *default_truth_path(const char *out)
{
    size_t n = strlen(out);
    static const char *const suffixes[] = {".csv.gz", ".csv", ".gz"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t m = strlen(suffixes[i]);
        if (n > m && !strcmp(out + n - m, suffixes[i])) {
            n -= m;
            break;
        }
    }
    char *p = malloc(n + sizeof ".truth.json");
    if (p) {
        memcpy(p, out, n);
        strcpy(p + n, ".truth.json");
    }
    return p;
}

static int parse_seed(const char *s, unsigned long long *out)
{
    char *end;
    if (!*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v > 9223372036854775807ULL)
        return -1;
    *out = v;
    return 0;
}

int pf_cmd_synth(int argc, char **argv)
{
    enum { OPT_TRUTH = 256, OPT_WITH_TRUTH_P };
    static const struct option longopts[] = {
        {"rows", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"truth", required_argument, NULL, OPT_TRUTH},
        {"with-truth-p", no_argument, NULL, OPT_WITH_TRUTH_P},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    pf_synth_options opt = {.n = PF_SYNTH_DEFAULT_ROWS, .seed = PF_SYNTH_DEFAULT_SEED};
    const char *output = "-";
    const char *truth_arg = NULL;

    optind = 0; /* getopt may have run before in this process */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":n:s:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': {
            long long v;
            if (pf_cli_parse_count(optarg, &v) != 0 || v < 1 ||
                (unsigned long long) v > PF_SYNTH_MAX_ROWS)
                return pf_cli_usage_error(CMD, "invalid number of rows '%s' (1 to 1e8)", optarg);
            opt.n = (uint64_t) v;
            break;
        }
        case 's': {
            unsigned long long v;
            if (parse_seed(optarg, &v) != 0)
                return pf_cli_usage_error(CMD, "invalid seed '%s' (0 to 2^63-1)", optarg);
            opt.seed = v;
            break;
        }
        case 'o':
            output = optarg;
            break;
        case OPT_TRUTH:
            truth_arg = optarg;
            break;
        case OPT_WITH_TRUTH_P:
            opt.with_truth_p = 1;
            break;
        case 'h':
            usage(stdout);
            return PF_EXIT_OK;
        case 'V':
            pf_cli_print_version(stdout);
            return PF_EXIT_OK;
        case ':':
            return pf_cli_usage_error(CMD, "option '%s' needs an argument", argv[optind - 1]);
        default:
            return pf_cli_usage_error(CMD, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return pf_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);

    char datadir[4096];
    snprintf(datadir, sizeof datadir, "%s", pf_cli_datadir());
    opt.datadir = datadir;

    char *truth_path = NULL;
    if (truth_arg)
        truth_path = strdup(truth_arg);
    else if (strcmp(output, "-") != 0)
        truth_path = default_truth_path(output);
    if ((truth_arg || strcmp(output, "-") != 0) && !truth_path) {
        pf_cli_error(CMD, "out of memory");
        return PF_EXIT_FAIL;
    }
    if (truth_path && !strcmp(truth_path, output)) {
        free(truth_path);
        return pf_cli_usage_error(CMD, "the truth file must differ from the output");
    }

    pf_error err = {0};
    pf_outfile *out = NULL, *truth = NULL;
    int rc = pf_outfile_open(&out, output, &err);
    if (rc == 0 && truth_path)
        rc = pf_outfile_open(&truth, truth_path, &err);
    if (rc == 0)
        rc = pf_synth_write(&opt, out, truth, &err);
    if (rc == 0) {
        pf_outfile *o = out;
        out = NULL;
        rc = pf_outfile_commit(o, &err);
    }
    if (rc == 0 && truth) {
        pf_outfile *t = truth;
        truth = NULL;
        rc = pf_outfile_commit(t, &err);
    }
    pf_outfile_abort(out);
    pf_outfile_abort(truth);
    free(truth_path);
    if (rc != 0) {
        pf_cli_error(CMD, "%s", err.message[0] ? err.message : pf_strerror(rc));
        return PF_EXIT_FAIL;
    }
    return PF_EXIT_OK;
}
