/*
 * rerun_cmd.c - `profil rerun MANIFEST`: reproduce a past batch run.
 *
 * A `profil score` run leaves a manifest (format profil-run/1) naming its
 * input, schema, model and policy with their SHA-256, the options that
 * shape the output, and the SHA-256 of the output's text. A rerun finds
 * those files again (at the recorded paths, relative to the run's working
 * directory, or where the options say they moved), checks each against its
 * hash, scores the input again with `profil score` and the same options,
 * and compares: the new output's hash with the recorded one, the row counts
 * with the recorded counts, and, when the past output file is still there,
 * the two outputs row by row, to name the first row that differs (row,
 * id, column, old and new value) and count the rows that differ.
 *
 * The report goes to standard output: it may name a person's id (the
 * caseworker needs it), so nothing on standard error ever does.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "compare.h"
#include "profil/hash.h"
#include "profil/jsonkeys.h"
#include "profil/prefetch.h"
#include "profil/records.h"

static const char *const cmd = "rerun";

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: profil rerun [OPTIONS] MANIFEST\n"
                "\n"
                "Reproduce the `profil score` run that wrote MANIFEST (a run manifest,\n"
                "profil-run/1): find its input, schema, model and policy, check each against\n"
                "the SHA-256 the manifest records, score the input again with the same options\n"
                "and check that the output is the same, byte for byte. When it is not, name the\n"
                "first row that differs (row, id, column, old and new value) (docs/rerun.md).\n"
                "\n"
                "Options:\n"
                "      --input FILE      the input, moved since the run (still hash-checked)\n"
                "  -m, --model FILE      the model, moved since the run (still hash-checked)\n"
                "  -p, --policy FILE     the policy, moved since the run (still hash-checked)\n"
                "  -s, --schema FILE     the schema, moved since the run (still hash-checked)\n"
                "      --previous FILE   the run's output, to compare row by row (default: the\n"
                "                        path the manifest records, when it exists)\n"
                "  -o, --output FILE     keep the new output (and its manifest and rejects\n"
                "                        beside it); default: a temporary directory, removed\n"
                "      --verify-only     check the hashes of the files only; do not score\n"
                "  -t, --threads N       worker threads (default: all cores; the output is the\n"
                "                        same for any number)\n"
                "  -h, --help            show this help and exit\n"
                "  -V, --version         show version information and exit\n"
                "\n"
                "Exit status: 0 reproduced (every hash, count and output byte as recorded);\n"
                "1 not reproduced (a file changed, or the output or counts differ: the report\n"
                "says which); 2 usage error, or a manifest or file that cannot be read.\n");
}

typedef struct rerun_opts {
    const char *manifest, *input, *model, *policy, *schema, *previous, *output;
    int verify_only, threads;
} rerun_opts;

/* One file the run read, as the manifest records it and as found now. */
typedef struct input_file {
    const char *what;     /* "input", "schema", "model", "policy" */
    const char *recorded; /* path in the manifest, or NULL */
    const char *want;     /* SHA-256 in the manifest */
    char path[PATH_MAX];  /* where it is now */
    char got[PF_SHA256_HEX];
    int found, same;
} input_file;

static const char *str_at(const json_t *m, const char *obj, const char *key)
{
    const json_t *o = obj ? json_object_get(m, obj) : m;
    const char *s = json_string_value(json_object_get(o, key));
    return s;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Where a recorded path is now: an override as given; an absolute path as
 * it is; a relative one under the run's working directory, then beside
 * the manifest, then under the current directory. The first that exists,
 * else the first tried (and 0). */
static int locate(const char *recorded, const char *override, const char *run_cwd,
                  const char *manifest_dir, char *out, size_t n)
{
    if (override) {
        snprintf(out, n, "%s", override);
        return exists(out);
    }
    if (!recorded || !*recorded || !strcmp(recorded, "-")) {
        *out = 0;
        return 0;
    }
    if (recorded[0] == '/') {
        snprintf(out, n, "%s", recorded);
        return exists(out);
    }
    const char *bases[] = {run_cwd, manifest_dir, "."};
    int first = 1;
    for (size_t k = 0; k < 3; k++) {
        if (!bases[k])
            continue;
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s/%s", bases[k], recorded);
        if (first)
            snprintf(out, n, "%s", tmp);
        first = 0;
        if (exists(tmp)) {
            snprintf(out, n, "%s", tmp);
            return 1;
        }
    }
    return 0;
}

static void short_hash(char out[20], const char *hex)
{
    snprintf(out, 20, "%.16s", hex && *hex ? hex : "(none)");
}

/* ---- the run ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Scores the input again through `profil score` with the manifest's
 * options; returns its exit status. */
static int score_again(const rerun_opts *o, const json_t *m, input_file *f, const char *out,
                       const char *rejects, const char *manifest)
{
    const json_t *opt = json_object_get(m, "options");
    char threads[16], reasons[16], maxrej[40];
    snprintf(threads, sizeof threads, "%d", o->threads);
    json_int_t k = json_integer_value(json_object_get(opt, "reasons"));
    snprintf(reasons, sizeof reasons, "%lld", (long long) k);
    const json_t *mr = json_object_get(opt, "max_reject_rate");
    snprintf(maxrej, sizeof maxrej, "%.17g", json_is_number(mr) ? json_number_value(mr) : 0.01);
    const char *format = json_string_value(json_object_get(opt, "format"));
    char pass[4096] = "";
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(opt, "passthrough"), i, v)
    {
        size_t len = strlen(pass);
        snprintf(pass + len, sizeof pass - len, "%s%s", len ? "," : "", json_string_value(v));
    }
    const char *argv[40];
    int argc = 0;
    argv[argc++] = "score";
    argv[argc++] = "-q";
    argv[argc++] = "--threads";
    argv[argc++] = threads;
    argv[argc++] = "--schema";
    argv[argc++] = f[1].path;
    argv[argc++] = "--model";
    argv[argc++] = f[2].path;
    argv[argc++] = "--policy";
    argv[argc++] = f[3].path;
    argv[argc++] = "--format";
    argv[argc++] = format ? format : "csv";
    argv[argc++] = "--reasons";
    argv[argc++] = reasons;
    argv[argc++] = "--max-reject-rate";
    argv[argc++] = maxrej;
    if (json_is_true(json_object_get(opt, "allow_drift")))
        argv[argc++] = "--allow-drift";
    if (*pass) {
        argv[argc++] = "--passthrough";
        argv[argc++] = pass;
    }
    argv[argc++] = "-o";
    argv[argc++] = out;
    argv[argc++] = "--rejects";
    argv[argc++] = rejects;
    argv[argc++] = "--manifest";
    argv[argc++] = manifest;
    argv[argc++] = "--";
    argv[argc++] = f[0].path;
    argv[argc] = NULL;
    return pf_cmd_score(argc, (char **) argv);
}

static int64_t count_at(const json_t *m, const char *key)
{
    return (int64_t) json_integer_value(json_object_get(json_object_get(m, "counts"), key));
}

static int run(const rerun_opts *o)
{
    pf_error err = {0};
    json_t *m = NULL, *nm = NULL;
    char *tmpdir = NULL, *new_out = NULL, *new_rejects = NULL, *new_manifest = NULL;
    int exit_code = PF_EXIT_USAGE;
    if (pf_json_load_file(o->manifest, PF_EFORMAT, PF_EIO, &m, NULL, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        return PF_EXIT_USAGE;
    }
    const char *format = str_at(m, NULL, "format"), *command = str_at(m, NULL, "command");
    if (!format || strcmp(format, "profil-run/1") || !command || strcmp(command, "score")) {
        pf_cli_error(cmd, "%s: not the manifest of a `profil score` run (format profil-run/1)",
                     o->manifest);
        goto out;
    }
    char mdir_buf[PATH_MAX];
    snprintf(mdir_buf, sizeof mdir_buf, "%s", o->manifest);
    const char *mdir = dirname(mdir_buf);
    const char *run_cwd = str_at(m, NULL, "cwd");

    /* The files the run read: where they are now, and their hashes. */
    char default_schema[PATH_MAX];
    input_file f[4] = {
        {.what = "input",
         .recorded = str_at(m, "input", "path"),
         .want = str_at(m, "input", "sha256")},
        {.what = "schema",
         .recorded = str_at(m, "schema", "path"),
         .want = str_at(m, "schema", "sha256")},
        {.what = "model",
         .recorded = str_at(m, "model", "path"),
         .want = str_at(m, "model", "sha256")},
        {.what = "policy",
         .recorded = str_at(m, "policy", "path"),
         .want = str_at(m, "policy", "sha256")},
    };
    if (!f[1].recorded) /* manifests before schema.path: the bundled default */
        f[1].recorded = pf_cli_data_path(default_schema, sizeof default_schema, PF_DEFAULT_SCHEMA);
    const char *override[4] = {o->input, o->schema, o->model, o->policy};
    const char *option[4] = {"--input", "--schema", "--model", "--policy"};
    int missing = 0, changed = 0;
    for (int k = 0; k < 4; k++) {
        if (!f[k].want) {
            pf_cli_error(cmd, "%s: the manifest records no %s.sha256", o->manifest, f[k].what);
            goto out;
        }
        f[k].found = locate(f[k].recorded, override[k], run_cwd, mdir, f[k].path, sizeof f[k].path);
        if (!f[k].found) {
            if (!*f[k].path)
                pf_cli_error(cmd, "the run read its %s from standard input: name the file with %s",
                             f[k].what, option[k]);
            else
                pf_cli_error(cmd, "%s: %s not found (moved? name it with %s)", f[k].what, f[k].path,
                             option[k]);
            missing++;
            continue;
        }
        if (pf_sha256_file(f[k].path, f[k].got, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            missing++;
            continue;
        }
        f[k].same = !strcmp(f[k].got, f[k].want);
        changed += !f[k].same;
    }
    if (missing)
        goto out;

    const char *software = str_at(m, NULL, "software");
    printf("manifest:  %s (%s, %s)\n", o->manifest, software ? software : "?",
           str_at(m, NULL, "started") ? str_at(m, NULL, "started") : "?");
    if (software && strcmp(software, "profil " PROFIL_VERSION))
        printf("note:      the run used %s; this is profil %s\n", software, PROFIL_VERSION);
    for (int k = 0; k < 4; k++) {
        char want[20], got[20];
        short_hash(want, f[k].want);
        short_hash(got, f[k].got);
        if (f[k].same)
            printf("%-10s %s: same (sha256 %s)\n", f[k].what, f[k].path, got);
        else
            printf("%-10s %s: CHANGED: sha256 %s, the run read %s\n", f[k].what, f[k].path, got,
                   want);
    }

    /* The run's output, as it is now. */
    const char *out_want = str_at(m, "output", "sha256");
    char prev[PATH_MAX] = "";
    int have_prev =
        locate(str_at(m, "output", "path"), o->previous, run_cwd, mdir, prev, sizeof prev);
    if (o->previous && !have_prev) {
        pf_cli_error(cmd, "--previous %s: not found", o->previous);
        goto out;
    }
    const char *fmt = str_at(m, "options", "format");
    int mode = fmt && !strcmp(fmt, "jsonl") ? PF_RECORDS_LINES : PF_RECORDS_CSV;
    int prev_changed = 0;
    exit_code = PF_EXIT_FAIL;

    if (o->verify_only) {
        if (have_prev) {
            char got[PF_SHA256_HEX], s1[20], s2[20];
            if (pf_compare_text_sha256(prev, mode, got, &err)) {
                pf_cli_error(cmd, "%s", err.message);
                goto out;
            }
            prev_changed = !out_want || strcmp(got, out_want);
            short_hash(s1, got);
            short_hash(s2, out_want);
            printf("%-10s %s: %s (text sha256 %s%s%s)\n", "output", prev,
                   prev_changed ? "CHANGED" : "same", s1, prev_changed ? ", the run wrote " : "",
                   prev_changed ? s2 : "");
        } else {
            printf("%-10s the run's output is not at hand: not checked\n", "output");
        }
        int ok = !changed && !prev_changed;
        printf("result:    %s\n",
               ok ? "the files are those of the run" : "NOT the files of the run");
        if (!ok)
            pf_cli_error(cmd, "%d of the run's files changed since the run",
                         changed + prev_changed);
        exit_code = ok ? PF_EXIT_OK : PF_EXIT_FAIL;
        goto out;
    }

    /* Score again. */
    const char *ext = mode == PF_RECORDS_LINES ? "rerun.jsonl" : "rerun.csv";
    if (o->output) {
        new_out = strdup(o->output);
        new_rejects = pf_cli_sibling_path(o->output, ".rejects.csv");
        new_manifest = pf_cli_sibling_path(o->output, ".manifest.json");
    } else {
        const char *tmp = getenv("TMPDIR");
        tmpdir = join(tmp && *tmp ? tmp : "/tmp", "profil-rerun-XXXXXX");
        if (!tmpdir || !mkdtemp(tmpdir)) {
            pf_cli_error(cmd, "cannot make a temporary directory: %s", strerror(errno));
            free(tmpdir);
            tmpdir = NULL;
            goto out;
        }
        new_out = join(tmpdir, ext);
        new_rejects = join(tmpdir, "rerun.rejects.csv");
        new_manifest = join(tmpdir, "rerun.manifest.json");
    }
    if (!new_out || !new_rejects || !new_manifest) {
        pf_cli_error(cmd, "out of memory");
        goto out;
    }
    fflush(stdout);
    int src = score_again(o, m, f, new_out, new_rejects, new_manifest);
    if (src != PF_EXIT_OK) {
        printf("result:    NOT reproduced: scoring again failed (profil score exit %d)\n", src);
        pf_cli_error(cmd, "scoring again failed; the messages above say why");
        goto out;
    }
    if (pf_json_load_file(new_manifest, PF_EFORMAT, PF_EIO, &nm, NULL, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    static const char *const counts[] = {"rows_read", "rows_scored", "rows_rejected"};
    int counts_differ = 0;
    for (int k = 0; k < 3; k++)
        counts_differ |= count_at(m, counts[k]) != count_at(nm, counts[k]);
    printf("%-10s %lld read, %lld scored, %lld rejected; the run: %lld, %lld, %lld%s\n", "rows",
           (long long) count_at(nm, counts[0]), (long long) count_at(nm, counts[1]),
           (long long) count_at(nm, counts[2]), (long long) count_at(m, counts[0]),
           (long long) count_at(m, counts[1]), (long long) count_at(m, counts[2]),
           counts_differ ? ": DIFFERENT" : "");
    const char *out_got = str_at(nm, "output", "sha256");
    int out_same = out_want && out_got && !strcmp(out_want, out_got);
    {
        char s1[20], s2[20];
        short_hash(s1, out_got);
        short_hash(s2, out_want);
        if (out_same)
            printf("%-10s sha256 %s: the same as the run's\n", "output", s1);
        else
            printf("%-10s sha256 %s: DIFFERENT, the run wrote %s\n", "output", s1, s2);
    }

    /* Row by row against the run's output, when it is at hand. */
    pf_compare_result cr = {0};
    if (have_prev) {
        if (pf_compare_outputs(prev, new_out, mode, &cr, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            goto out;
        }
        prev_changed = !out_want || strcmp(cr.old_sha256, out_want);
        char s1[20];
        short_hash(s1, cr.old_sha256);
        printf("%-10s %s: %s (text sha256 %s)\n", "previous", prev,
               prev_changed ? "CHANGED since the run" : "as the run wrote it", s1);
        if (cr.ndiffer) {
            printf("differing: %lld of %lld rows (the run's %lld rows, the rerun's %lld)\n",
                   (long long) cr.ndiffer,
                   (long long) (cr.old_rows > cr.new_rows ? cr.old_rows : cr.new_rows),
                   (long long) cr.old_rows, (long long) cr.new_rows);
            printf("first:     %s\n", cr.first);
        } else {
            printf("differing: none of %lld rows\n", (long long) cr.old_rows);
        }
    } else {
        printf("previous:  the run's output is not at hand (--previous FILE): rows not compared\n");
    }
    int ok = !changed && out_same && !counts_differ && !prev_changed && !cr.ndiffer;
    printf("result:    %s\n", ok ? "reproduced" : "NOT reproduced");
    if (!ok) {
        char why[512] = "";
        size_t len = 0;
        for (int k = 0; k < 4; k++)
            if (!f[k].same)
                len += (size_t) snprintf(why + len, sizeof why - len, "%sthe %s changed",
                                         len ? "; " : "", f[k].what);
        if (!out_same && len < sizeof why)
            len += (size_t) snprintf(why + len, sizeof why - len, "%sthe output differs",
                                     len ? "; " : "");
        if (counts_differ && len < sizeof why)
            len += (size_t) snprintf(why + len, sizeof why - len, "%sthe row counts differ",
                                     len ? "; " : "");
        if (prev_changed && len < sizeof why)
            len += (size_t) snprintf(why + len, sizeof why - len,
                                     "%sthe stored output changed since the run", len ? "; " : "");
        if (cr.ndiffer && cr.first_row > 0 && len < sizeof why)
            snprintf(why + len, sizeof why - len, "; first differing row %lld",
                     (long long) cr.first_row);
        pf_cli_error(cmd, "not reproduced: %s", why);
    }
    exit_code = ok ? PF_EXIT_OK : PF_EXIT_FAIL;
out:
    json_decref(m);
    json_decref(nm);
    if (tmpdir) {
        nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        free(tmpdir);
    }
    free(new_out);
    free(new_rejects);
    free(new_manifest);
    return exit_code;
}

int pf_cmd_rerun(int argc, char **argv)
{
    enum { O_INPUT = 256, O_PREVIOUS, O_VERIFY };
    static const struct option longopts[] = {{"input", required_argument, NULL, O_INPUT},
                                             {"model", required_argument, NULL, 'm'},
                                             {"policy", required_argument, NULL, 'p'},
                                             {"schema", required_argument, NULL, 's'},
                                             {"previous", required_argument, NULL, O_PREVIOUS},
                                             {"output", required_argument, NULL, 'o'},
                                             {"verify-only", no_argument, NULL, O_VERIFY},
                                             {"threads", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    rerun_opts o = {0};
    o.threads = pf_default_threads();
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:p:s:o:t:hV", longopts, NULL)) != -1) {
        switch (c) {
        case O_INPUT:
            o.input = optarg;
            break;
        case 'm':
            o.model = optarg;
            break;
        case 'p':
            o.policy = optarg;
            break;
        case 's':
            o.schema = optarg;
            break;
        case O_PREVIOUS:
            o.previous = optarg;
            break;
        case 'o':
            o.output = optarg;
            break;
        case O_VERIFY:
            o.verify_only = 1;
            break;
        case 't':
            if (pf_cli_parse_threads(cmd, optarg, &o.threads))
                return PF_EXIT_USAGE;
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
        return pf_cli_usage_error(cmd, "expected one manifest");
    o.manifest = argv[optind];
    return run(&o);
}
