/*
 * report_cmd.c - `profil report`: an evaluation folder (written by
 * `profil eval`) as a Jupyter notebook and a static HTML page.
 *
 * The flow: eval.json → pf_report_check → the CSV tables are checked
 * against the SHA-256 recorded in eval.json (a folder mixing two runs is
 * refused) → pf_report_build (report.c, plots by plot.c) → the notebook,
 * the HTML page and the figures as PNG files, written atomically into the
 * output folder; when that is another folder, the tables and eval.json are
 * copied there too, so the folder is complete on its own.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "profil/hash.h"
#include "profil/jsonkeys.h"
#include "profil/outfile.h"
#include "plot.h"
#include "report.h"

static const char *const cmd = "report";

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: profil report [OPTIONS] EVALDIR\n"
                "\n"
                "Write the evaluation in EVALDIR (the output folder of 'profil eval') as a\n"
                "Jupyter notebook and a static HTML page: markdown explaining each result,\n"
                "tables, plots (ROC, calibration, outcomes by decision, score distributions\n"
                "by group, shares by delivery area) and code cells that reload the CSV\n"
                "tables with pandas (docs/eval.md).\n"
                "\n"
                "Options:\n"
                "  -o, --output DIR   where to write (default: EVALDIR); another folder also\n"
                "                     gets the CSV tables and eval.json\n"
                "  -n, --name NAME    base name of the files (default: report, giving\n"
                "                     report.ipynb and report.html)\n"
                "  -q, --quiet        print nothing\n"
                "  -h, --help         show this help and exit\n"
                "  -V, --version      show version information and exit\n"
                "\n"
                "Exit status: 0 success; 1 the evaluation folder is incomplete, inconsistent\n"
                "or unreadable, or writing failed (nothing is left under a final name);\n"
                "2 usage error.\n");
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int read_file(const char *path, char **buf, size_t *n, pf_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return pf_error_set(err, PF_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 65536, len = 0;
    char *b = malloc(cap);
    while (b) {
        size_t got = fread(b + len, 1, cap - len, f);
        len += got;
        if (len < cap)
            break;
        char *nb = cap < ((size_t) 1 << 31) ? realloc(b, cap * 2) : NULL;
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b)
        return pf_error_set(err, PF_ENOMEM, "%s: too large or out of memory", path);
    if (bad) {
        free(b);
        return pf_error_set(err, PF_EIO, "%s: read error", path);
    }
    *buf = b;
    *n = len;
    return 0;
}

/* Writes n bytes to path atomically; the open file is kept in *o for a
 * commit after everything else was written. */
static int stage(pf_outfile **o, const char *dir, const char *name, const void *p, size_t n,
                 pf_error *err)
{
    char *path = join(dir, name);
    if (!path)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    int rc = pf_outfile_open(o, path, err);
    free(path);
    if (rc)
        return rc;
    pf_outfile_write(*o, p, n);
    return 0;
}

static int same_dir(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

int pf_cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"name", required_argument, NULL, 'n'},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    const char *outdir = NULL, *name = "report";
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:n:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            outdir = optarg;
            break;
        case 'n':
            if (!*optarg || strchr(optarg, '/'))
                return pf_cli_usage_error(cmd, "--name takes a file name without '/'");
            name = optarg;
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
        return pf_cli_usage_error(cmd, "expected one evaluation folder");
    const char *evaldir = argv[optind];
    if (!outdir)
        outdir = evaldir;

    pf_error err = {0};
    json_t *doc = NULL;
    pf_report rep = {0};
    size_t nout = 0, cap_out = 0;
    pf_outfile **outs = NULL;
    char *jpath = join(evaldir, "eval.json");
    char *jtext = NULL;
    size_t jn = 0;
    int exit_code = PF_EXIT_FAIL, rc;
    if (!jpath) {
        pf_cli_error(cmd, "out of memory");
        return PF_EXIT_FAIL;
    }
    if ((rc = read_file(jpath, &jtext, &jn, &err)) ||
        (rc = pf_json_load_buffer(jtext, jn, jpath, PF_EFORMAT, &doc, NULL, &err)) ||
        (rc = pf_report_check(doc, &err)))
        goto fail;

    /* The tables must be the ones this eval.json describes. */
    const json_t *files = json_object_get(doc, "files");
    for (int k = 0; pf_report_tables[k]; k++) {
        char fname[64];
        snprintf(fname, sizeof fname, "%s.csv", pf_report_tables[k]);
        const char *want = json_string_value(json_object_get(files, fname));
        char *path = join(evaldir, fname), hex[PF_SHA256_HEX];
        if (!path) {
            rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
            goto fail;
        }
        rc = pf_sha256_file(path, hex, &err);
        if (!rc && (!want || strcmp(want, hex)))
            rc = pf_error_set(&err, PF_EFORMAT,
                              "%s does not match eval.json (SHA-256 %s, eval.json records %s): "
                              "the folder mixes files of different runs; run 'profil eval' "
                              "again",
                              path, hex, want ? want : "none");
        free(path);
        if (rc)
            goto fail;
    }

    if ((rc = pf_report_build(doc, &rep, &err)))
        goto fail;

    struct stat st;
    if (stat(outdir, &st) != 0) {
        if (mkdir(outdir, 0777) && errno != EEXIST) {
            rc = pf_error_set(&err, PF_EIO, "cannot create %s: %s", outdir, strerror(errno));
            goto fail;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        rc = pf_error_set(&err, PF_EINVAL, "%s exists and is not a directory", outdir);
        goto fail;
    }
    int copy = !same_dir(evaldir, outdir);
    cap_out = rep.nfigures + 3 + (copy ? 8 : 0);
    if (!(outs = calloc(cap_out, sizeof *outs))) {
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    char nbname[300], htmlname[300];
    snprintf(nbname, sizeof nbname, "%s.ipynb", name);
    snprintf(htmlname, sizeof htmlname, "%s.html", name);
    if ((rc = stage(&outs[nout++], outdir, nbname, rep.notebook, strlen(rep.notebook), &err)) ||
        (rc = stage(&outs[nout++], outdir, htmlname, rep.html, strlen(rep.html), &err)))
        goto fail;
    /* The notebook's code cells show these files. */
    for (size_t k = 0; k < rep.nfigures; k++)
        if ((rc = stage(&outs[nout++], outdir, rep.figures[k].name, rep.figures[k].png,
                        rep.figures[k].n, &err)))
            goto fail;
    if (copy) {
        if ((rc = stage(&outs[nout++], outdir, "eval.json", jtext, jn, &err)))
            goto fail;
        for (int k = 0; pf_report_tables[k]; k++) {
            char fname[64], *buf = NULL;
            size_t n = 0;
            snprintf(fname, sizeof fname, "%s.csv", pf_report_tables[k]);
            char *path = join(evaldir, fname);
            rc = path ? read_file(path, &buf, &n, &err)
                      : pf_error_set(&err, PF_ENOMEM, "out of memory");
            free(path);
            if (!rc)
                rc = stage(&outs[nout++], outdir, fname, buf, n, &err);
            free(buf);
            if (rc)
                goto fail;
        }
    }
    for (size_t k = 0; k < nout; k++) {
        rc = pf_outfile_commit(outs[k], &err);
        outs[k] = NULL;
        if (rc)
            goto fail;
    }
    if (!quiet) {
        printf("notebook: %s/%s\n", outdir, nbname);
        printf("html:     %s/%s\n", outdir, htmlname);
        printf("figures:  %zu PNG files in %s/\n", rep.nfigures, outdir);
    }
    exit_code = PF_EXIT_OK;
    goto out;
fail:
    pf_cli_error(cmd, "%s", err.message);
out:
    for (size_t k = 0; k < nout; k++)
        pf_outfile_abort(outs[k]);
    free(outs);
    pf_report_free(&rep);
    json_decref(doc);
    free(jtext);
    free(jpath);
    pf_plot_release();
    return exit_code;
}
