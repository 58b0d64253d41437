/*
 * thresholds_cmd.c - `profil thresholds`: capacity planning. Scores a
 * population with a model under a starting policy and chooses the policy's
 * thresholds on p so that target shares of the population fall in each
 * group (1 står nära, 2 aktuell, 3 står långt ifrån), level (A/B/C) or track
 * (enhanced or not); optionally writes the policy with only those
 * thresholds replaced.
 *
 * Data flow: reader → prefetched frames → pf_decide (the one scoring
 * function: p is never recomputed here) → one double per accepted row →
 * sort → cuts. A cut that leaves the k lowest of m sorted values below it
 * lies at the midpoint between the two order statistics around it, rounded
 * to 4 decimals; the shares reported are those the rounded thresholds give,
 * counted with the policy's own rules on the reloaded policy.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profil/decide.h"
#include "profil/jsonkeys.h"
#include "profil/model.h"
#include "profil/outfile.h"
#include "profil/policy.h"
#include "profil/prefetch.h"
#include "profil/reader.h"
#include "profil/schema.h"

#define CHUNK_ROWS 8192

/* Thresholds live on a grid of 4 decimals, strictly inside (0, 1) as the
 * policy loader requires. */
#define GRID     1e4
#define GRID_MIN 0.0001
#define GRID_MAX 0.9999

static const char *const cmd = "thresholds";

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil thresholds [OPTIONS] [FILE]\n"
            "\n"
            "Capacity planning: score a population (CSV, plain or gzip; '-' or none for\n"
            "standard input) with a model, and choose the thresholds on p, the probability\n"
            "of work or studies, that put target shares of it in each group, level or\n"
            "track of the starting policy. Prints the thresholds and the shares they\n"
            "achieve; with -o or --in-place also writes the policy with only those\n"
            "thresholds replaced.\n"
            "\n"
            "Shares (percent; planning assumptions, not figures from a source):\n"
            "      --groups A,B,C    groups 1 (står nära: the highest p), 2 and 3 (står\n"
            "                        långt ifrån: the lowest p); must sum to 100\n"
            "                        (default 25,55,20)\n"
            "      --levels A,B,C    levels A (highest p), B and C within the level groups\n"
            "                        (policies with levels; default 30,40,30)\n"
            "      --enhanced X      enhanced support (lowest p) within the track groups\n"
            "                        (policies with tracks; default 50)\n"
            "\n"
            "Starting policy and model:\n"
            "  -p, --policy P        a policy file, or the name of a bundled policy\n"
            "  -d, --date D          the policy in force on D, YYYY-MM-DD (default: today)\n"
            "      --service S       with --date: rusta_och_matcha (default) or\n"
            "                        stod_och_matchning\n"
            "      --policy-dir DIR  with --date: a directory of policy files (default:\n"
            "                        the bundled ones)\n"
            "  -m, --model FILE      model (default: the bundled %s)\n"
            "  -s, --schema FILE     schema (default: the bundled\n"
            "                        %s)\n"
            "\n"
            "Output:\n"
            "  -o, --output FILE     write the starting policy with the new thresholds\n"
            "      --in-place        rewrite the starting policy file itself\n"
            "  -h, --help            show this help and exit\n"
            "  -V, --version         show version information and exit\n"
            "\n"
            "A threshold is the midpoint between the two p values around the cut, rounded\n"
            "to 4 decimals, so the achieved shares differ slightly from the targets. Rows\n"
            "rejected by the schema are counted and left out. The file is written only\n"
            "after it loads as a valid policy. Exit status: 0 success, 1 the input could\n"
            "not be read or no thresholds divide it, 2 usage or setup error.\n",
            PF_DEFAULT_MODEL, PF_DEFAULT_SCHEMA);
}

/* ---- options ---- */

/* Parses one share in percent, 0 to 100. */
static int parse_percent(const char *s, const char *end, double *out)
{
    char buf[64];
    size_t n = (size_t) (end - s);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *e;
    errno = 0;
    double v = strtod(buf, &e);
    if (e == buf || *e || errno || !(v >= 0 && v <= 100))
        return -1;
    *out = v;
    return 0;
}

/* Parses "A,B,C": n shares in percent that sum to 100. */
static int parse_shares(const char *opt, const char *arg, int n, double *v)
{
    const char *s = arg;
    double sum = 0;
    for (int k = 0; k < n; k++) {
        const char *end = strchr(s, ',');
        if (!end)
            end = s + strlen(s);
        if ((k < n - 1) != (*end == ','))
            return pf_cli_usage_error(cmd,
                                      "%s takes %d shares in percent separated by commas, "
                                      "not '%s'",
                                      opt, n, arg);
        if (parse_percent(s, end, &v[k]))
            return pf_cli_usage_error(cmd, "%s: '%.*s' is not a share in percent (0 to 100)", opt,
                                      (int) (end - s), s);
        sum += v[k];
        s = end + 1;
    }
    if (fabs(sum - 100) > 1e-9)
        return pf_cli_usage_error(cmd, "%s: the shares must sum to 100, not %g", opt, sum);
    return 0;
}

/* ---- cuts ---- */

static double round4(double x)
{
    return round(x * GRID) / GRID;
}

/* Rows at the cut: k rounded from a share of m rows, kept within [0, m]. */
static size_t rows_for(size_t m, double percent)
{
    double k = round((double) m * percent / 100);
    return k <= 0 ? 0 : k >= (double) m ? m : (size_t) k;
}

/* A cut that falls inside a run of equal values cannot be made: moves it to
 * the nearer end of the run (the lower one when both are as near). */
static size_t untie(const double *v, size_t m, size_t k)
{
    if (k == 0 || k == m || v[k - 1] < v[k])
        return k;
    size_t lo = k - 1, hi = k;
    while (lo > 0 && v[lo - 1] == v[k])
        lo--;
    while (hi < m && v[hi] == v[k])
        hi++;
    return k - lo <= hi - k ? lo : hi;
}

/* The threshold t with v[0..k-1] < t <= v[k..m-1]: the midpoint of the two
 * order statistics around the cut (lo and hi standing in beyond either end),
 * rounded to 4 decimals and kept within [lo, hi] and the grid's (0, 1). */
static double cut_at(const double *v, size_t m, size_t k, double lo, double hi)
{
    double a = k > 0 ? v[k - 1] : lo, b = k < m ? v[k] : hi;
    double t = round4(a + (b - a) / 2);
    double tmin = lo > GRID_MIN ? lo : GRID_MIN, tmax = hi < GRID_MAX ? hi : GRID_MAX;
    return t < tmin ? tmin : t > tmax ? tmax : t;
}

/* Places a cut at `percent` below, noting when ties move it. */
static size_t place(const double *v, size_t m, double percent, const char *what)
{
    size_t want = rows_for(m, percent), k = untie(v, m, want);
    if (k != want) {
        size_t run = 0;
        for (size_t i = 0; i < m; i++)
            run += v[i] == v[want];
        fprintf(stderr,
                "profil %s: note: %zu rows share p = %.6f at the cut for %s: they cannot be "
                "split, so %zu rows fall below the cut instead of %zu\n",
                cmd, run, v[want], what, k, want);
    }
    return k;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* The sorted values whose group (under pol) is in the set `groups`: a
 * slice of v, as a group is a band of p. Returns the first index and sets
 * *m; *m = SIZE_MAX when the groups are not adjacent (1 and 3 without 2). */
static size_t subpopulation(const pf_policy *pol, uint8_t groups, const double *v, size_t n,
                            size_t *m)
{
    size_t first = n, count = 0;
    for (size_t i = 0; i < n; i++)
        if (groups >> (pf_policy_group(pol, v[i]) - 1) & 1) {
            if (first == n)
                first = i;
            count++;
            if (i - first + 1 != count) {
                *m = SIZE_MAX;
                return 0;
            }
        }
    *m = count;
    return count ? first : 0;
}

/* The band a subpopulation of `groups` lies in: its thresholds stay within. */
static void band(const pf_policy *pol, uint8_t groups, double *lo, double *hi)
{
    *lo = groups & 4 ? 0 : pol->far_below;
    *hi = groups & 1 ? 1 : pol->close_min;
}

/* "group 2" or "groups 2 3". */
static void print_groups(char *buf, size_t n, uint8_t g)
{
    int len = snprintf(buf, n, "group%s", (g & (g - 1)) ? "s" : "");
    for (int k = 0; k < 3; k++)
        if (g >> k & 1)
            len += snprintf(buf + len, n - (size_t) len, " %d", k + 1);
}

/* The slice of the sorted p in the level or track groups under pol (a
 * share's population); prints why and returns NULL when it is empty or not
 * one band. */
static const double *slice(const pf_policy *pol, uint8_t groups, const char *what,
                           const double *shares, const double *p, size_t n, size_t *m)
{
    char g[32];
    size_t first = subpopulation(pol, groups, p, n, m);
    if (*m && *m != SIZE_MAX)
        return p + first;
    print_groups(g, sizeof g, groups);
    if (*m == SIZE_MAX)
        pf_cli_error(cmd, "policy %s: the %s %s are not adjacent: no %s thresholds can be chosen",
                     pol->name, what, g, what);
    else
        pf_cli_error(cmd,
                     "--groups %g,%g,%g leaves no one in the %s %s: no %s thresholds can "
                     "be chosen",
                     shares[0], shares[1], shares[2], what, g, what);
    return NULL;
}

/* ---- the new policy ---- */

/* Sets a number that the starting policy already holds (so its place in the
 * file is kept). */
static int replace(json_t *root, const char *obj, const char *key, double v)
{
    json_t *o = json_object_get(root, obj);
    if (!json_is_object(o) || !json_object_get(o, key))
        return -1;
    return json_object_set_new(o, key, json_real(v));
}

/* Serializes root as the policy files are written (2-space indent, key
 * order kept, UTF-8 unescaped, trailing newline) with the fewest significant
 * digits (15 to 17) that read back as the same document, so that numbers
 * the file had keep their value and 0.5523 is written as 0.5523. */
static char *dump_policy(const json_t *root)
{
    for (int prec = 15; prec <= 17; prec++) {
        char *s =
            json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(prec));
        if (!s)
            return NULL;
        json_t *back = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
        int same = back && json_equal(root, back);
        json_decref(back);
        if (same || prec == 17) {
            size_t n = strlen(s);
            char *t = realloc(s, n + 2);
            if (!t) {
                free(s);
                return NULL;
            }
            t[n] = '\n';
            t[n + 1] = 0;
            return t;
        }
        free(s);
    }
    return NULL;
}

/* Loads the new policy text: the new thresholds are checked by the same
 * loader every command uses before anything is reported or written. */
static int load_candidate(const char *text, const pf_schema *s, pf_policy **out)
{
    static const char name[] = "new policy";
    pf_error err = {0};
    if (pf_policy_load_text(out, text, strlen(text), name, s, &err)) {
        /* The message starts with the document's name: said already. */
        const char *msg = err.message;
        if (!strncmp(msg, name, sizeof name - 1) && msg[sizeof name - 1] == ':')
            msg += sizeof name;
        pf_cli_error(cmd, "the policy with the new thresholds does not load:%s%s",
                     *msg == ' ' ? "" : " ", msg);
        return -1;
    }
    return 0;
}

/* ---- the report ---- */

static void row(const char *share, size_t of, double target, const char *key, double t, size_t rows)
{
    char thr[48] = "";
    if (key)
        snprintf(thr, sizeof thr, "%-16s %6.4f", key, t);
    printf("%s%*s", share, pf_cli_pad(share, 24), "");
    printf("%9zu %9.3f  %-23s %11.3f %10zu\n", of, target, thr,
           of ? 100.0 * (double) rows / (double) of : 0.0, rows);
}

int pf_cmd_thresholds(int argc, char **argv)
{
    enum { OPT_SERVICE = 256, OPT_POLICY_DIR, OPT_GROUPS, OPT_LEVELS, OPT_ENHANCED, OPT_IN_PLACE };
    static const struct option longopts[] = {
        {"groups", required_argument, NULL, OPT_GROUPS},
        {"levels", required_argument, NULL, OPT_LEVELS},
        {"enhanced", required_argument, NULL, OPT_ENHANCED},
        {"policy", required_argument, NULL, 'p'},
        {"date", required_argument, NULL, 'd'},
        {"service", required_argument, NULL, OPT_SERVICE},
        {"policy-dir", required_argument, NULL, OPT_POLICY_DIR},
        {"model", required_argument, NULL, 'm'},
        {"schema", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"in-place", no_argument, NULL, OPT_IN_PLACE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *schema_path = NULL, *model_path = NULL, *out_path = NULL;
    pf_cli_policy_choice choice = {0};
    double groups[3] = {25, 55, 20}, levels[3] = {30, 40, 30}, enhanced = 50;
    int levels_given = 0, enhanced_given = 0, in_place = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:d:m:s:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_GROUPS:
            if (parse_shares("--groups", optarg, 3, groups))
                return PF_EXIT_USAGE;
            break;
        case OPT_LEVELS:
            if (parse_shares("--levels", optarg, 3, levels))
                return PF_EXIT_USAGE;
            levels_given = 1;
            break;
        case OPT_ENHANCED:
            if (parse_percent(optarg, optarg + strlen(optarg), &enhanced))
                return pf_cli_usage_error(cmd,
                                          "--enhanced takes a share in percent (0 to 100), "
                                          "not '%s'",
                                          optarg);
            enhanced_given = 1;
            break;
        case 'p':
            choice.policy = optarg;
            break;
        case 'd':
            choice.date = optarg;
            break;
        case OPT_SERVICE:
            choice.service = optarg;
            break;
        case OPT_POLICY_DIR:
            choice.dir = optarg;
            break;
        case 'm':
            model_path = optarg;
            break;
        case 's':
            schema_path = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case OPT_IN_PLACE:
            in_place = 1;
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
    if (out_path && in_place)
        return pf_cli_usage_error(cmd, "-o and --in-place both name the output: give one");
    if (out_path) {
        size_t n = strlen(out_path);
        if (!strcmp(out_path, "-") || (n >= 3 && !strcmp(out_path + n - 3, ".gz")))
            return pf_cli_usage_error(cmd, "-o takes a policy file name (not '-', not .gz)");
    }
    if (choice.policy && choice.dir)
        return pf_cli_usage_error(cmd, "--policy names the policy: leave out --policy-dir");
    const char *input = optind < argc ? argv[optind] : "-";

    char model_buf[4096];
    if (!model_path)
        model_path = pf_cli_data_path(model_buf, sizeof model_buf, PF_DEFAULT_MODEL);
    pf_error err = {0};
    pf_schema *schema = NULL;
    pf_model *model = NULL;
    pf_policy *start = NULL, *cand = NULL;
    pf_decider *dec = NULL;
    pf_reader *r = NULL;
    pf_prefetch *pre = NULL;
    pf_frame *f = NULL;
    pf_decision *dx = NULL;
    double *p = NULL;
    size_t n = 0, cap = 0;
    json_t *root = NULL;
    char *text = NULL;
    pf_outfile *of = NULL;
    int exit_code = PF_EXIT_USAGE, rc;

    if (pf_cli_load_schema(cmd, schema_path, &schema) ||
        pf_cli_load_model(cmd, model_path, schema, &model) ||
        pf_cli_load_policy(cmd, &choice, schema, &start))
        goto out;
    if (levels_given && !start->has_levels) {
        pf_cli_usage_error(cmd, "--levels: policy %s has no levels%s", start->name,
                           start->has_tracks ? " (it has tracks: --enhanced)" : "");
        goto out;
    }
    if (enhanced_given && !start->has_tracks) {
        pf_cli_usage_error(cmd, "--enhanced: policy %s has no tracks%s", start->name,
                           start->has_levels ? " (it has levels: --levels)" : "");
        goto out;
    }
    /* The file the new policy starts from: every byte but the thresholds. */
    char start_sha[PF_SHA256_HEX];
    if (pf_json_load_file(start->path, PF_EFORMAT, PF_EIO, &root, start_sha, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    if (strcmp(start_sha, start->sha256)) {
        pf_cli_error(cmd, "%s changed while it was read", start->path);
        goto out;
    }
    if (pf_decider_new(&dec, model, start, NULL, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }

    /* Score every accepted row; keep p alone. */
    exit_code = PF_EXIT_FAIL;
    pf_reader_options ropt = {0};
    if ((rc = pf_reader_open(&r, schema, input, &ropt, &err))) {
        pf_cli_input_error(cmd, input, err.message);
        exit_code = rc == PF_EHEADER ? PF_EXIT_USAGE : PF_EXIT_FAIL;
        goto out;
    }
    size_t dx_cap = 0;
    if ((rc = pf_prefetch_start(&pre, r, CHUNK_ROWS, 4, 0, &err)))
        goto fail;
    while ((rc = pf_prefetch_next(pre, &f, &err)) > 0) {
        if (n + f->n > cap) {
            size_t ncap = cap ? cap : 65536;
            while (ncap < n + f->n)
                ncap *= 2;
            double *np = realloc(p, ncap * sizeof *p);
            if (!np) {
                rc = pf_error_set(&err, PF_ENOMEM, "out of memory (%zu rows scored)", n);
                goto fail;
            }
            p = np;
            cap = ncap;
        }
        if ((rc = pf_decide_frame(dec, f, &dx, &dx_cap, &err)))
            goto fail;
        for (size_t i = 0; i < f->n; i++) {
            if (!(dx[i].p >= 0 && dx[i].p <= 1)) {
                rc = pf_error_set(&err, PF_EINVAL, "row %lld: p is %g", (long long) f->row[i],
                                  dx[i].p);
                goto fail;
            }
            p[n++] = dx[i].p;
        }
        pf_prefetch_release(pre, f);
        f = NULL;
    }
    pf_prefetch_stop(pre); /* the reader's statistics are ours again */
    pre = NULL;
    if (rc < 0)
        goto fail;
    const pf_reader_stats *st = pf_reader_stats_get(r);
    if (n == 0) {
        pf_cli_error(cmd,
                     "%s: no rows to score (%lld read, %lld rejected; 'profil validate' "
                     "lists why)",
                     input, (long long) st->rows_read, (long long) st->rows_rejected);
        goto out;
    }
    if (st->rows_rejected)
        fprintf(stderr,
                "profil %s: %lld of %lld rows rejected and left out ('profil validate' lists "
                "them)\n",
                cmd, (long long) st->rows_rejected, (long long) st->rows_read);
    qsort(p, n, sizeof *p, cmp_double);
    if (p[0] == p[n - 1]) {
        pf_cli_error(cmd, "all %zu rows have the same p (%.6f): no threshold can divide them", n,
                     p[0]);
        goto out;
    }

    /* Groups: cumulative from the lowest p, so the cuts are in order. */
    pf_policy trial = *start; /* thresholds replaced as they are chosen */
    size_t k3 = place(p, n, groups[2], "group 3 (far_below_p)");
    size_t k23 = place(p, n, groups[1] + groups[2], "group 1 (close_min_p)");
    trial.far_below = cut_at(p, n, k3, 0, 1);
    trial.close_min = cut_at(p, n, k23, 0, 1);
    if (start->has_levels) {
        double lo, hi;
        size_t m;
        const double *v = slice(&trial, start->level_groups, "level", groups, p, n, &m);
        if (!v)
            goto out;
        band(&trial, start->level_groups, &lo, &hi);
        size_t kc = place(v, m, levels[2], "level C (b_min_p)");
        size_t kbc = place(v, m, levels[1] + levels[2], "level A (a_min_p)");
        trial.level_b_min = cut_at(v, m, kc, lo, hi);
        trial.level_a_min = cut_at(v, m, kbc, lo, hi);
    }
    if (start->has_tracks) {
        double lo, hi;
        size_t m;
        const double *v = slice(&trial, start->track_groups, "track", groups, p, n, &m);
        if (!v)
            goto out;
        band(&trial, start->track_groups, &lo, &hi);
        size_t ke = place(v, m, enhanced, "enhanced support (enhanced_below_p)");
        trial.enhanced_below = cut_at(v, m, ke, lo, hi);
    }

    /* The new policy: the starting file with only the thresholds replaced,
     * checked by the loader before anything is reported or written. */
    if (replace(root, "groups", "close_min_p", trial.close_min) ||
        replace(root, "groups", "far_below_p", trial.far_below) ||
        (start->has_levels && (replace(root, "levels", "a_min_p", trial.level_a_min) ||
                               replace(root, "levels", "b_min_p", trial.level_b_min))) ||
        (start->has_tracks && replace(root, "tracks", "enhanced_below_p", trial.enhanced_below))) {
        pf_cli_error(cmd, "%s: a threshold key is missing", start->path);
        goto out;
    }
    if (!(text = dump_policy(root))) {
        pf_cli_error(cmd, "out of memory");
        goto out;
    }
    if (load_candidate(text, schema, &cand))
        goto out;

    /* The report: shares as the new policy's rules give them. */
    size_t cnt[3] = {0};
    for (size_t i = 0; i < n; i++)
        cnt[pf_policy_group(cand, p[i]) - 1]++;
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        mean += p[i];
    mean /= (double) n;
    double median = n % 2 ? p[n / 2] : (p[n / 2 - 1] + p[n / 2]) / 2;
    printf("input:      %s\n", strcmp(input, "-") ? input : "standard input");
    printf("rows:       %lld read, %lld rejected, %zu scored\n", (long long) st->rows_read,
           (long long) st->rows_rejected, n);
    printf("model:      %s (label %s, id %.16s)\n", model_path, model->label, model->sha256);
    printf("policy:     %s %s (%s, id %.16s)\n", start->name, start->version, start->path,
           start->sha256);
    printf("p:          min %.4f, median %.4f, mean %.4f, max %.4f\n", p[0], median, mean,
           p[n - 1]);
    printf("\n%-24s%9s %9s  %-23s %11s %10s\n", "share", "of rows", "target %", "threshold",
           "achieved %", "rows");
    row("group 1 (står nära)", n, groups[0], "close_min_p", cand->close_min, cnt[0]);
    row("group 2 (aktuell)", n, groups[1], NULL, 0, cnt[1]);
    row("group 3 (långt ifrån)", n, groups[2], "far_below_p", cand->far_below, cnt[2]);
    if (cand->has_levels) {
        size_t m, a = 0, b = 0;
        const double *v = p + subpopulation(cand, cand->level_groups, p, n, &m);
        for (size_t i = 0; i < m; i++) {
            a += v[i] >= cand->level_a_min;
            b += v[i] < cand->level_a_min && v[i] >= cand->level_b_min;
        }
        row("level A", m, levels[0], "a_min_p", cand->level_a_min, a);
        row("level B", m, levels[1], "b_min_p", cand->level_b_min, b);
        row("level C", m, levels[2], NULL, 0, m - a - b);
    }
    if (cand->has_tracks) {
        size_t m, e = 0;
        const double *v = p + subpopulation(cand, cand->track_groups, p, n, &m);
        for (size_t i = 0; i < m; i++)
            e += v[i] < cand->enhanced_below;
        row("enhanced (spår 3-4)", m, enhanced, "enhanced_below_p", cand->enhanced_below, e);
        row("basic (spår 1-2)", m, 100 - enhanced, NULL, 0, m - e);
    }
    if (cand->has_levels || cand->has_tracks) {
        char g[32];
        print_groups(g, sizeof g, cand->has_levels ? cand->level_groups : cand->track_groups);
        printf("(%s shares are of the rows in %s)\n", cand->has_levels ? "level" : "track", g);
    }

    if (in_place)
        out_path = start->path;
    if (out_path) {
        if ((rc = pf_outfile_open(&of, out_path, &err)))
            goto fail;
        pf_outfile_puts(of, text);
        rc = pf_outfile_commit(of, &err);
        of = NULL;
        if (rc)
            goto fail;
        printf("\nwritten:    %s (id %.16s)\n", out_path, cand->sha256);
    }
    exit_code = PF_EXIT_OK;
    goto out;
fail:
    pf_cli_error(cmd, "%s", err.message);
out:
    pf_outfile_abort(of);
    if (pre) {
        if (f)
            pf_prefetch_release(pre, f);
        pf_prefetch_stop(pre);
    }
    pf_reader_close(r);
    free(text);
    json_decref(root);
    free(p);
    free(dx);
    pf_decider_free(dec);
    pf_policy_free(cand);
    pf_policy_free(start);
    pf_model_free(model);
    pf_schema_free(schema);
    return exit_code;
}
