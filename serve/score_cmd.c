/*
 * score_cmd.c - `profil score`: batch scoring at population scale.
 *
 * The flow: a reader thread parses and validates frames (pf_prefetch);
 * worker threads decide each frame with pf_decide(), count it for the drift
 * check and the summary, and format its rows into a text buffer; the main
 * thread writes the buffers in input order to a temporary file that is
 * renamed into place only when the run succeeds (reject rate and drift
 * within limits). Memory is a fixed ring of frames and buffers, whatever N.
 * Each row's text depends on that row alone, so the output is the same for
 * any thread count.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "profil/decide.h"
#include "profil/drift.h"
#include "profil/hash.h"
#include "profil/model.h"
#include "profil/outfile.h"
#include "profil/policy.h"
#include "profil/prefetch.h"
#include "profil/reader.h"
#include "profil/schema.h"
#include "rowfmt.h"

#define CHUNK_ROWS   8192
#define MAX_FEATURES 256

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil score [OPTIONS] [FILE]\n"
            "\n"
            "Score every row of FILE (CSV or CSV.gz; '-' or none for standard input) with a\n"
            "model under the policy in force, and write one decision per accepted row, in\n"
            "input order: p, group, level or track, target groups, delivery area,\n"
            "compensation, eligibility and the top reasons (docs/score.md).\n"
            "\n"
            "Options:\n"
            "  -m, --model FILE          model (default: the bundled %s)\n"
            "  -p, --policy FILE|NAME    policy file or bundled name (krom-2020, ...)\n"
            "  -d, --date YYYY-MM-DD     use the policy in force on this day (default: today)\n"
            "      --service S           %s (default) or stod_och_matchning\n"
            "      --policy-dir DIR      where --date looks (default: the bundled policies)\n"
            "  -s, --schema FILE         schema (default: the bundled one)\n"
            "  -o, --output FILE         decisions (default: standard output); .gz compresses\n"
            "  -f, --format FMT          csv (default) or jsonl (default for *.jsonl)\n"
            "      --passthrough COLS    comma-separated input columns copied to the output\n"
            "      --reasons K           reasons per row, 0-%d (default 3)\n"
            "  -r, --rejects FILE        rejected rows with reasons (default: next to the\n"
            "                            output, or the input, as NAME.rejects.csv)\n"
            "      --max-reject-rate R   fail when more than this share of rows is rejected\n"
            "                            (default 0.01)\n"
            "      --manifest FILE       run manifest (default: next to the output as\n"
            "                            NAME.manifest.json; none for standard output)\n"
            "      --allow-drift         do not fail when an input feature has drifted\n"
            "                            (population stability index above %.2f)\n"
            "  -t, --threads N           cores to use (default: all); the output is the\n"
            "                            same for any number\n"
            "      --progress            show progress on stderr (default: when a terminal)\n"
            "  -q, --quiet               print no summary\n"
            "  -h, --help                show this help and exit\n"
            "  -V, --version             show version information and exit\n"
            "\n"
            "Exit status: 0 success; 1 failure (reject rate or drift over the limit, an\n"
            "input error): no output file is left under the final name; 2 usage or setup\n"
            "error.\n",
            PF_DEFAULT_MODEL, PF_DEFAULT_SERVICE, PF_DECISION_MAX_REASONS, PF_DRIFT_FAIL);
}

/* What the summary and manifest count; integers, merged in any order. */
typedef struct tally {
    int64_t rows;
    int64_t group[4], level[4], track[5], eligible;
    int64_t failed[PF_POLICY_MAX_RULES];
    int64_t target[PF_POLICY_MAX_TARGET_GROUPS];
    int64_t reason_up[MAX_FEATURES], reason_down[MAX_FEATURES]; /* first reason, by column */
    double sum_p;
} tally;

enum { JOB_EMPTY, JOB_QUEUED, JOB_RUNNING, JOB_DONE };

typedef struct job {
    pf_frame *f;
    pf_buf out;
    int state;
} job;

typedef struct worker {
    struct pipeline *pl;
    pthread_t thread;
    pf_decision *dec;
    pf_drift *drift;
    tally t;
    int failed;
    pf_error err;
} worker;

typedef struct pipeline {
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    job *jobs;
    size_t njobs;
    size_t next_submit, next_take;
    int eof, stop;
    const pf_decider *d;
    const pf_rowfmt *rf;
} pipeline;

static void tally_rows(tally *t, const pf_policy *pol, const pf_decision *x, size_t n)
{
    for (size_t i = 0; i < n; i++, x++) {
        t->rows++;
        t->sum_p += x->p;
        t->group[x->group]++;
        t->level[x->level ? x->level - 'A' + 1 : 0]++;
        t->track[x->track]++;
        if (x->failed_rule < 0)
            t->eligible++;
        else
            t->failed[x->failed_rule]++;
        for (size_t k = 0; k < pol->ntarget_groups; k++)
            t->target[k] += x->target_groups >> k & 1;
        if (x->nreasons && x->reason[0].col < MAX_FEATURES) {
            if (x->reason[0].contribution > 0)
                t->reason_up[x->reason[0].col]++;
            else
                t->reason_down[x->reason[0].col]++;
        }
    }
}

static void tally_merge(tally *a, const tally *b)
{
    a->rows += b->rows;
    a->sum_p += b->sum_p;
    for (int k = 0; k < 4; k++)
        a->group[k] += b->group[k], a->level[k] += b->level[k];
    for (int k = 0; k < 5; k++)
        a->track[k] += b->track[k];
    a->eligible += b->eligible;
    for (int k = 0; k < PF_POLICY_MAX_RULES; k++)
        a->failed[k] += b->failed[k];
    for (int k = 0; k < PF_POLICY_MAX_TARGET_GROUPS; k++)
        a->target[k] += b->target[k];
    for (int k = 0; k < MAX_FEATURES; k++)
        a->reason_up[k] += b->reason_up[k], a->reason_down[k] += b->reason_down[k];
}

static void *work(void *arg)
{
    worker *w = arg;
    pipeline *pl = w->pl;
    const pf_policy *pol = pf_decider_policy(pl->d);
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        job *j = NULL;
        while (!pl->stop) {
            if (pl->next_take < pl->next_submit) {
                j = &pl->jobs[pl->next_take % pl->njobs];
                pl->next_take++;
                j->state = JOB_RUNNING;
                break;
            }
            if (pl->eof)
                break;
            pthread_cond_wait(&pl->cv_work, &pl->mu);
        }
        pthread_mutex_unlock(&pl->mu);
        if (!j)
            return NULL;
        pf_frame *f = j->f;
        j->out.n = 0;
        /* Frames vary in size; decisions are made a cache-sized chunk at a time. */
        for (size_t first = 0; first < f->n && !w->failed; first += CHUNK_ROWS) {
            size_t n = f->n - first < CHUNK_ROWS ? f->n - first : CHUNK_ROWS;
            if (pf_decide(pl->d, f, first, n, w->dec, &w->err)) {
                w->failed = 1;
                break;
            }
            pf_drift_add(w->drift, f, first, n);
            tally_rows(&w->t, pol, w->dec, n);
            for (size_t i = 0; i < n; i++)
                pf_rowfmt_row(pl->rf, &j->out, f, first + i, &w->dec[i]);
            if (j->out.failed) {
                w->failed = 1;
                pf_error_set(&w->err, PF_ENOMEM, "out of memory formatting output");
            }
        }
        pthread_mutex_lock(&pl->mu);
        j->state = JOB_DONE;
        pthread_cond_broadcast(&pl->cv_done);
        pthread_mutex_unlock(&pl->mu);
    }
}

/* ---- the run ---- */

typedef struct reject_ctx {
    pf_outfile *o;
    int write_failed;
    int64_t shown;
    int to_stderr; /* no rejects file: show the first few problems */
} reject_ctx;

static void on_reject(void *ctx, const pf_problem *p)
{
    reject_ctx *rc = ctx;
    if (rc->o) {
        if (!rc->write_failed)
            rc->write_failed = pf_cli_write_problem(rc->o, p) != 0;
    } else if (rc->to_stderr && rc->shown < 10) {
        rc->shown++;
        char text[1024];
        pf_cli_problem_text(text, sizeof text, p);
        fprintf(stderr, "profil score: %s\n", text);
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void utc_now(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int split_list(const char *s, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char *copy = strdup(s);
    if (!copy)
        return -1;
    size_t cap = 1;
    for (const char *c = s; *c; c++)
        cap += *c == ',';
    char **v = calloc(cap, sizeof *v);
    if (!v) {
        free(copy);
        return -1;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (*tok && !(v[(*n)++] = strdup(tok))) {
            free(copy);
            return -1;
        }
    free(copy);
    *out = v;
    return 0;
}

typedef struct score_opts {
    const char *model, *schema, *output, *rejects, *manifest, *passthrough, *input;
    pf_cli_policy_choice policy;
    int format; /* -1 = from the output name */
    int reasons, threads, allow_drift, quiet, progress;
    double max_reject_rate;
} score_opts;

static void print_share(FILE *o, const char *label, int64_t n, int64_t total)
{
    fprintf(o, "  %s%*s %10lld  %5.1f %%\n", label, pf_cli_pad(label, 44), "", (long long) n,
            total ? 100.0 * (double) n / (double) total : 0.0);
}

static void print_summary(FILE *o, const pf_decider *d, const tally *t, const pf_reader_stats *st,
                          const char *out_path, const char *manifest, const char *rejects,
                          double secs)
{
    const pf_policy *pol = pf_decider_policy(d);
    const pf_schema *s = pf_decider_model(d)->schema;
    fprintf(o, "rows:     %lld read, %lld scored, %lld rejected in %.2f s (%.0f rows/s)\n",
            (long long) st->rows_read, (long long) t->rows, (long long) st->rows_rejected, secs,
            secs > 0 ? (double) st->rows_read / secs : 0.0);
    fprintf(o, "policy:   %s (%s), mean p %.4f\n", pol->name, pol->service,
            t->rows ? t->sum_p / (double) t->rows : 0.0);
    fprintf(o, "grupp:\n");
    for (int g = 1; g <= 3; g++) {
        char lab[96];
        snprintf(lab, sizeof lab, "%d %s", g, pol->group_label[g - 1]);
        print_share(o, lab, t->group[g], t->rows);
    }
    if (pol->has_levels) {
        fprintf(o, "nivå (of all rows):\n");
        for (int l = 1; l <= 3; l++) {
            char lab[16];
            snprintf(lab, sizeof lab, "%c", 'A' + l - 1);
            print_share(o, lab, t->level[l], t->rows);
        }
    }
    if (pol->has_tracks) {
        fprintf(o, "spår (of all rows):\n");
        for (int k = 1; k <= 4; k++) {
            char lab[96];
            snprintf(lab, sizeof lab, "%d %s", k, pol->track_label[k - 1]);
            print_share(o, lab, t->track[k], t->rows);
        }
    }
    fprintf(o, "eligible:\n");
    print_share(o, "yes", t->eligible, t->rows);
    for (size_t k = 0; k < pol->nrules; k++) {
        char lab[96];
        snprintf(lab, sizeof lab, "no: %s", pol->rules[k].code);
        print_share(o, lab, t->failed[k], t->rows);
    }
    fprintf(o, "målgrupper:\n");
    for (size_t k = 0; k < pol->ntarget_groups; k++)
        print_share(o, pol->target_groups[k].code, t->target[k], t->rows);
    fprintf(o, "most common first reason:\n");
    int used[2 * MAX_FEATURES] = {0};
    for (int shown = 0; shown < 5; shown++) {
        int best = -1;
        int64_t bn = 0;
        for (int c = 0; c < 2 * MAX_FEATURES && c / 2 < (int) s->ncols; c++) {
            int64_t n = c % 2 ? t->reason_down[c / 2] : t->reason_up[c / 2];
            if (!used[c] && n > bn)
                best = c, bn = n;
        }
        if (best < 0)
            break;
        used[best] = 1;
        char lab[160];
        snprintf(lab, sizeof lab, "%s %s (%s)", best % 2 ? "-" : "+", s->cols[best / 2].label,
                 s->cols[best / 2].name);
        print_share(o, lab, bn, t->rows);
    }
    fprintf(o, "output:   %s\n", out_path);
    if (rejects)
        fprintf(o, "rejects:  %s\n", rejects);
    if (manifest)
        fprintf(o, "manifest: %s\n", manifest);
}

static json_t *tally_json(const pf_decider *d, const tally *t)
{
    const pf_policy *pol = pf_decider_policy(d);
    const pf_schema *s = pf_decider_model(d)->schema;
    json_t *o = json_object();
    json_object_set_new(o, "mean_p", json_real(t->rows ? t->sum_p / (double) t->rows : 0));
    json_t *g = json_object();
    for (int k = 1; k <= 3; k++) {
        char key[4];
        snprintf(key, sizeof key, "%d", k);
        json_object_set_new(g, key, json_integer(t->group[k]));
    }
    json_object_set_new(o, "grupp", g);
    if (pol->has_levels) {
        json_t *l = json_object();
        for (int k = 1; k <= 3; k++) {
            char key[2] = {(char) ('A' + k - 1), 0};
            json_object_set_new(l, key, json_integer(t->level[k]));
        }
        json_object_set_new(o, "niva", l);
    }
    if (pol->has_tracks) {
        json_t *l = json_object();
        for (int k = 1; k <= 4; k++) {
            char key[4];
            snprintf(key, sizeof key, "%d", k);
            json_object_set_new(l, key, json_integer(t->track[k]));
        }
        json_object_set_new(o, "spar", l);
    }
    json_object_set_new(o, "eligible", json_integer(t->eligible));
    json_t *f = json_object();
    for (size_t k = 0; k < pol->nrules; k++)
        json_object_set_new(f, pol->rules[k].code, json_integer(t->failed[k]));
    json_object_set_new(o, "ineligible_by_rule", f);
    json_t *m = json_object();
    for (size_t k = 0; k < pol->ntarget_groups; k++)
        json_object_set_new(m, pol->target_groups[k].code, json_integer(t->target[k]));
    json_object_set_new(o, "malgrupp", m);
    json_t *r = json_object();
    for (size_t c = 0; c < s->ncols && c < MAX_FEATURES; c++)
        if (t->reason_up[c] || t->reason_down[c])
            json_object_set_new(r, s->cols[c].name,
                                json_pack("{s:I,s:I}", "up", (json_int_t) t->reason_up[c], "down",
                                          (json_int_t) t->reason_down[c]));
    json_object_set_new(o, "first_reason", r);
    return o;
}

static int run(score_opts *so)
{
    const char *cmd = "score";
    pf_error err = {0};
    pf_schema *schema = NULL;
    pf_model *model = NULL;
    pf_policy *policy = NULL;
    pf_decider *decider = NULL;
    pf_reader *r = NULL;
    pf_prefetch *pre = NULL;
    pf_outfile *out = NULL;
    pf_drift *drift = NULL;
    pf_rowfmt rf = {0};
    pipeline pl = {0};
    worker *workers = NULL;
    int nworkers = 0, exit_code = PF_EXIT_USAGE, rc = 0;
    char **pass = NULL;
    size_t npass = 0;
    char *rejects_path = NULL, *manifest_path = NULL;
    reject_ctx rej = {0};
    pf_buf head = {0};
    tally total = {0};
    json_t *drift_json = json_array();
    char started[32];
    utc_now(started);
    double t0 = now_seconds();
    int to_stdout = !strcmp(so->output, "-");

    char model_buf[4096];
    const char *model_path =
        so->model ? so->model : pf_cli_data_path(model_buf, sizeof model_buf, PF_DEFAULT_MODEL);
    if (pf_cli_load_schema(cmd, so->schema, &schema) ||
        pf_cli_load_model(cmd, so->model, schema, &model) ||
        pf_cli_load_policy(cmd, &so->policy, schema, &policy))
        goto out;
    pf_decider_options dopt = {.reasons = so->reasons};
    if (pf_decider_new(&decider, model, policy, &dopt, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    if (so->passthrough && split_list(so->passthrough, &pass, &npass)) {
        pf_cli_error(cmd, "out of memory");
        goto out;
    }
    int format = so->format;
    if (format < 0) {
        size_t n = strlen(so->output);
        format = (n > 6 && !strcmp(so->output + n - 6, ".jsonl")) ||
                         (n > 9 && !strcmp(so->output + n - 9, ".jsonl.gz"))
                     ? PF_ROWFMT_JSONL
                     : PF_ROWFMT_CSV;
    }

    /* Rejects and manifest beside the output (or the input). */
    if (so->rejects)
        rejects_path = strdup(so->rejects);
    else if (!to_stdout)
        rejects_path = pf_cli_sibling_path(so->output, ".rejects.csv");
    else if (strcmp(so->input, "-"))
        rejects_path = pf_cli_sibling_path(so->input, ".rejects.csv");
    if (so->manifest)
        manifest_path = strdup(so->manifest);
    else if (!to_stdout)
        manifest_path = pf_cli_sibling_path(so->output, ".manifest.json");
    rej.to_stderr = !rejects_path;
    if (rejects_path) {
        if (pf_outfile_open(&rej.o, rejects_path, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            goto out;
        }
        pf_outfile_puts(rej.o, PF_CLI_REJECTS_HEADER);
    }

    pf_reader_options ropt = {.on_reject = on_reject, .reject_ctx = &rej};
    for (size_t k = 0; k < npass; k++)
        ropt.passthrough_unknown |= pf_schema_find(schema, pass[k]) < 0;
    if ((rc = pf_reader_open(&r, schema, so->input, &ropt, &err))) {
        pf_cli_input_error(cmd, so->input, err.message);
        exit_code = rc == PF_EHEADER ? PF_EXIT_USAGE : PF_EXIT_FAIL;
        goto out;
    }
    const char *const *unknown = NULL;
    size_t nunknown = ropt.passthrough_unknown ? pf_reader_unknown_columns(r, &unknown) : 0;
    if (pf_rowfmt_init(&rf, format, decider, so->reasons, (const char *const *) pass, npass,
                       unknown, nunknown, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    exit_code = PF_EXIT_FAIL;
    if (pf_drift_new(&drift, model, &err) || pf_outfile_open(&out, so->output, &err))
        goto fail;
    pf_outfile_write_behind(out); /* hundreds of megabytes, read later if at all */
    /* The output's id: SHA-256 of its text as written (before any gzip). */
    pf_sha256 out_hash;
    pf_sha256_init(&out_hash);
    pf_rowfmt_header(&rf, &head);
    pf_sha256_update(&out_hash, head.p, head.n);
    pf_outfile_write(out, head.p, head.n);

    /* N cores: ceil(N/2) parser threads and as many workers, beside the
     * reading thread (which parses itself when there is one parser) and the
     * main thread, which hashes and writes. Parsing and deciding take about
     * 35 % of the CPU each, reading and hashing the input 10 %, hashing and
     * writing the output 20 %; on two cores three threads use 1.9 of them
     * where six (a parser and a worker per core) used 1.8, for the same
     * work. */
    nworkers = (so->threads + 1) / 2;
    pl.njobs = (size_t) nworkers + 2;
    pl.d = decider;
    pl.rf = &rf;
    pl.jobs = calloc(pl.njobs, sizeof *pl.jobs);
    workers = calloc((size_t) nworkers, sizeof *workers);
    if (!pl.jobs || !workers) {
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv_work, NULL);
    pthread_cond_init(&pl.cv_done, NULL);
    if ((rc = pf_prefetch_start(&pre, r, CHUNK_ROWS, pl.njobs + 1, nworkers, &err)))
        goto fail;
    int started_workers = 0;
    for (int k = 0; k < nworkers; k++) {
        worker *w = &workers[k];
        w->pl = &pl;
        if (!(w->dec = malloc(CHUNK_ROWS * sizeof *w->dec)) ||
            pf_drift_clone_empty(drift, &w->drift, &err) ||
            pthread_create(&w->thread, NULL, work, w)) {
            rc = pf_error_set(&err, PF_ENOMEM, "cannot start worker threads");
            break;
        }
        started_workers++;
    }

    /* Submit frames in order, write finished ones in order. */
    size_t next_write = 0;
    double last_progress = t0;
    int64_t rows_done = 0;
    uint64_t bytes_done = 0;
    struct stat sb;
    double in_size = strcmp(so->input, "-") && stat(so->input, &sb) == 0 ? (double) sb.st_size : 0;
    pthread_mutex_lock(&pl.mu);
    while (!rc) {
        job *w = &pl.jobs[next_write % pl.njobs];
        if (next_write < pl.next_submit && w->state == JOB_DONE) {
            pthread_mutex_unlock(&pl.mu);
            pf_sha256_update(&out_hash, w->out.p, w->out.n);
            if (pf_outfile_write(out, w->out.p, w->out.n))
                rc = pf_error_set(&err, PF_EIO, "%s: write failed", so->output);
            rows_done += (int64_t) w->f->n;
            bytes_done = w->f->input_bytes;
            pf_prefetch_release(pre, w->f);
            pthread_mutex_lock(&pl.mu);
            w->state = JOB_EMPTY;
            w->f = NULL;
            next_write++;
            continue;
        }
        if (!pl.eof && pl.next_submit - next_write < pl.njobs) {
            pthread_mutex_unlock(&pl.mu);
            pf_frame *f;
            int got = pf_prefetch_next(pre, &f, &err);
            pthread_mutex_lock(&pl.mu);
            if (got > 0) {
                job *j = &pl.jobs[pl.next_submit % pl.njobs];
                j->f = f;
                j->state = JOB_QUEUED;
                pl.next_submit++;
                pthread_cond_signal(&pl.cv_work);
            } else {
                pl.eof = 1;
                rc = got;
                pthread_cond_broadcast(&pl.cv_work);
            }
            if (so->progress) {
                double t = now_seconds();
                if (t - last_progress > 0.5) {
                    last_progress = t;
                    double rate = (double) rows_done / (t - t0);
                    if (in_size > 0 && rows_done > 0 && !pl.eof) {
                        double frac = (double) bytes_done / in_size;
                        double eta = frac > 0 && frac <= 1 ? (t - t0) * (1 / frac - 1) : 0;
                        fprintf(stderr, "\rprofil score: %lld rows, %.0f rows/s, ETA %.0f s   ",
                                (long long) rows_done, rate, eta);
                    } else {
                        fprintf(stderr, "\rprofil score: %lld rows, %.0f rows/s   ",
                                (long long) rows_done, rate);
                    }
                }
            }
            continue;
        }
        if (pl.eof && next_write == pl.next_submit)
            break;
        pthread_cond_wait(&pl.cv_done, &pl.mu);
    }
    pl.stop = rc != 0;
    pl.eof = 1;
    pthread_cond_broadcast(&pl.cv_work);
    pthread_mutex_unlock(&pl.mu);
    for (int k = 0; k < started_workers; k++)
        pthread_join(workers[k].thread, NULL);
    if (so->progress)
        fprintf(stderr, "\r%60s\r", "");
    for (int k = 0; k < nworkers && !rc; k++)
        if (workers[k].failed) {
            err = workers[k].err;
            rc = PF_ENOMEM;
        }
    pf_prefetch_stop(pre);
    pre = NULL;
    if (rc)
        goto fail;
    for (int k = 0; k < nworkers; k++) {
        tally_merge(&total, &workers[k].t);
        pf_drift_merge(drift, workers[k].drift);
    }
    const pf_reader_stats *st = pf_reader_stats_get(r);
    double secs = now_seconds() - t0;

    /* Limits: reject rate, then drift. */
    double reject_rate = st->rows_read ? (double) st->rows_rejected / (double) st->rows_read : 0.0;
    const char *failure = NULL;
    char why[512];
    if (rej.write_failed) {
        snprintf(why, sizeof why, "writing the rejects file failed");
        failure = why;
    } else if (reject_rate > so->max_reject_rate) {
        snprintf(why, sizeof why,
                 "%lld of %lld rows rejected (%.2f %%), over --max-reject-rate %g; see %s",
                 (long long) st->rows_rejected, (long long) st->rows_read, 100 * reject_rate,
                 so->max_reject_rate, rejects_path ? rejects_path : "the messages above");
        failure = why;
    }
    size_t ndrift = pf_drift_features(drift), nfail = 0;
    char drifted[256] = "";
    for (size_t k = 0; k < ndrift; k++) {
        pf_drift_result dr;
        pf_drift_result_get(drift, k, &dr);
        int warn = pf_drift_beyond(&dr, PF_DRIFT_WARN), bad = pf_drift_beyond(&dr, PF_DRIFT_FAIL);
        const char *status = bad ? "fail" : warn ? "warn" : "ok";
        if (warn) {
            nfail += bad;
            if (!so->quiet || bad)
                fprintf(stderr,
                        "profil score: %s: input drift in '%s': PSI %.3f (bin %s: %.1f %% in "
                        "training, %.1f %% here)\n",
                        bad && !so->allow_drift ? "error" : "warning", dr.feature, dr.psi,
                        dr.worst_bin ? dr.worst_bin : "?", 100 * dr.worst_expected,
                        100 * dr.worst_actual);
            if (bad) {
                size_t len = strlen(drifted);
                snprintf(drifted + len, sizeof drifted - len, "%s%s", len ? ", " : "", dr.feature);
            }
        }
        json_array_append_new(
            drift_json, json_pack("{s:s,s:o,s:s,s:s?,s:f,s:f}", "feature", dr.feature, "psi",
                                  isnan(dr.psi) ? json_null() : json_real(dr.psi), "status", status,
                                  "worst_bin", dr.worst_bin, "worst_bin_training_share",
                                  dr.worst_expected, "worst_bin_batch_share", dr.worst_actual));
    }
    if (!failure && nfail && !so->allow_drift) {
        snprintf(why, sizeof why,
                 "input drift: population stability index over %.2f for %s (the input differs "
                 "from what the model was trained on; check the data, or --allow-drift)",
                 PF_DRIFT_FAIL, drifted);
        failure = why;
    }
    if (rej.o) {
        rc = pf_outfile_commit(rej.o, &err); /* the rejects explain a failure too */
        rej.o = NULL;
        if (rc)
            goto fail;
    }
    if (failure) {
        pf_cli_error(cmd, "%s", failure);
        pf_outfile_abort(out);
        out = NULL;
        goto out;
    }
    char out_sha[PF_SHA256_HEX] = "";
    if ((rc = pf_outfile_commit(out, &err)))
        goto fail;
    out = NULL;
    pf_sha256_hex(&out_hash, out_sha);

    if (manifest_path) {
        char finished[32], in_sha[65], from[11], to[11];
        utc_now(finished);
        pf_reader_input_sha256(r, in_sha);
        pf_day_format(policy->valid_from, from);
        pf_day_format(policy->valid_to, to);
        json_t *rules = json_object();
        for (int k = 0; k < PF_RULE_COUNT; k++)
            json_object_set_new(rules, pf_rule_name((pf_rule) k), json_integer(st->problems[k]));
        json_t *passj = json_array();
        for (size_t k = 0; k < npass; k++)
            json_array_append_new(passj, json_string(pass[k]));
        json_t *m = json_pack(
            "{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:I},s:{s:s,s:s,s:s},s:{s:s,s:s,s:s},"
            "s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s},s:{s:i,s:s,s:i,s:o,s:f,s:b},s:{s:s,s:s,s:s?},"
            "s:{s:I,s:I,s:I,s:I},s:o,s:{s:f,s:f,s:o},s:o,s:{s:f,s:f}}",
            "format", "profil-run/1", "software", "profil " PROFIL_VERSION, "command", "score",
            "started", started, "finished", finished, "input", "path", so->input, "sha256", in_sha,
            "bytes", (json_int_t) st->bytes_read, "schema", "name", schema->name, "version",
            schema->version, "sha256", schema->sha256, "model", "path", model_path, "sha256",
            model->sha256, "label", model->label, "policy", "path", policy->path, "name",
            policy->name, "version", policy->version, "sha256", policy->sha256, "service",
            policy->service, "valid_from", from, "valid_to", to, "options", "threads", so->threads,
            "format", format == PF_ROWFMT_CSV ? "csv" : "jsonl", "reasons", so->reasons,
            "passthrough", passj, "max_reject_rate", so->max_reject_rate, "allow_drift",
            so->allow_drift, "output", "path", so->output, "sha256", out_sha, "rejects",
            rejects_path, "counts", "rows_read", (json_int_t) st->rows_read, "rows_scored",
            (json_int_t) total.rows, "rows_rejected", (json_int_t) st->rows_rejected, "blank_lines",
            (json_int_t) st->blank_lines, "rejects_by_rule", rules, "drift", "warn_above",
            PF_DRIFT_WARN, "fail_above", PF_DRIFT_FAIL, "features", drift_json, "decisions",
            tally_json(decider, &total), "timings", "seconds", secs, "rows_per_second",
            secs > 0 ? (double) st->rows_read / secs : 0.0);
        drift_json = NULL;
        if (so->policy.date)
            json_object_set_new(json_object_get(m, "policy"), "chosen_for_date",
                                json_string(so->policy.date));
        /* For `profil rerun`: the schema file, and the directory relative
         * paths above are relative to. */
        json_object_set_new(json_object_get(m, "schema"), "path", json_string(schema->path));
        char cwd[4096];
        if (getcwd(cwd, sizeof cwd))
            json_object_set_new(m, "cwd", json_string(cwd));
        pf_outfile *mo;
        char *text = m ? json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(m);
        if (!text || (rc = pf_outfile_open(&mo, manifest_path, &err))) {
            free(text);
            if (!rc)
                rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
            goto fail;
        }
        pf_outfile_puts(mo, text);
        pf_outfile_puts(mo, "\n");
        free(text);
        if ((rc = pf_outfile_commit(mo, &err)))
            goto fail;
    }
    if (!so->quiet)
        print_summary(to_stdout ? stderr : stdout, decider, &total, st,
                      to_stdout ? "standard output" : so->output, manifest_path, rejects_path,
                      secs);
    exit_code = PF_EXIT_OK;
    goto out;
fail:
    pf_cli_error(cmd, "%s", err.message);
    exit_code = PF_EXIT_FAIL;
out:
    if (pre)
        pf_prefetch_stop(pre);
    if (workers) {
        for (int k = 0; k < nworkers; k++) {
            free(workers[k].dec);
            pf_drift_free(workers[k].drift);
        }
        free(workers);
    }
    if (pl.jobs) {
        for (size_t k = 0; k < pl.njobs; k++)
            pf_buf_free(&pl.jobs[k].out);
        free(pl.jobs);
        pthread_mutex_destroy(&pl.mu);
        pthread_cond_destroy(&pl.cv_work);
        pthread_cond_destroy(&pl.cv_done);
    }
    json_decref(drift_json);
    pf_buf_free(&head);
    pf_outfile_abort(out);
    pf_outfile_abort(rej.o);
    pf_rowfmt_free(&rf);
    pf_drift_free(drift);
    pf_reader_close(r);
    pf_decider_free(decider);
    pf_policy_free(policy);
    pf_model_free(model);
    pf_schema_free(schema);
    for (size_t k = 0; k < npass; k++)
        free(pass[k]);
    free(pass);
    free(rejects_path);
    free(manifest_path);
    return exit_code;
}

int pf_cmd_score(int argc, char **argv)
{
    enum {
        O_SERVICE = 256,
        O_POLICY_DIR,
        O_PASS,
        O_REASONS,
        O_MAXREJ,
        O_MANIFEST,
        O_DRIFT,
        O_PROGRESS
    };
    static const struct option longopts[] = {{"model", required_argument, NULL, 'm'},
                                             {"policy", required_argument, NULL, 'p'},
                                             {"date", required_argument, NULL, 'd'},
                                             {"service", required_argument, NULL, O_SERVICE},
                                             {"policy-dir", required_argument, NULL, O_POLICY_DIR},
                                             {"schema", required_argument, NULL, 's'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"passthrough", required_argument, NULL, O_PASS},
                                             {"reasons", required_argument, NULL, O_REASONS},
                                             {"rejects", required_argument, NULL, 'r'},
                                             {"max-reject-rate", required_argument, NULL, O_MAXREJ},
                                             {"manifest", required_argument, NULL, O_MANIFEST},
                                             {"allow-drift", no_argument, NULL, O_DRIFT},
                                             {"threads", required_argument, NULL, 't'},
                                             {"progress", no_argument, NULL, O_PROGRESS},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    const char *cmd = "score";
    score_opts so = {.output = "-", .format = -1, .reasons = 3, .max_reject_rate = 0.01};
    so.threads = pf_default_threads();
    so.progress = isatty(2);
    long long v;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:p:d:s:o:f:r:t:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            so.model = optarg;
            break;
        case 'p':
            so.policy.policy = optarg;
            break;
        case 'd':
            so.policy.date = optarg;
            break;
        case O_SERVICE:
            so.policy.service = optarg;
            break;
        case O_POLICY_DIR:
            so.policy.dir = optarg;
            break;
        case 's':
            so.schema = optarg;
            break;
        case 'o':
            so.output = optarg;
            break;
        case 'f':
            if (!strcmp(optarg, "csv"))
                so.format = PF_ROWFMT_CSV;
            else if (!strcmp(optarg, "jsonl"))
                so.format = PF_ROWFMT_JSONL;
            else
                return pf_cli_usage_error(cmd, "--format takes csv or jsonl");
            break;
        case O_PASS:
            so.passthrough = optarg;
            break;
        case O_REASONS:
            if (pf_cli_parse_count(optarg, &v) || v > PF_DECISION_MAX_REASONS)
                return pf_cli_usage_error(cmd, "--reasons takes 0 to %d", PF_DECISION_MAX_REASONS);
            so.reasons = (int) v;
            break;
        case 'r':
            so.rejects = optarg;
            break;
        case O_MAXREJ:
            so.max_reject_rate = strtod(optarg, &end);
            if (*end || !(so.max_reject_rate >= 0 && so.max_reject_rate <= 1))
                return pf_cli_usage_error(cmd, "--max-reject-rate takes a share in [0, 1]");
            break;
        case O_MANIFEST:
            so.manifest = optarg;
            break;
        case O_DRIFT:
            so.allow_drift = 1;
            break;
        case 't':
            if (pf_cli_parse_threads(cmd, optarg, &so.threads))
                return PF_EXIT_USAGE;
            break;
        case O_PROGRESS:
            so.progress = 2;
            break;
        case 'q':
            so.quiet = 1;
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
    so.input = optind < argc ? argv[optind] : "-";
    if (so.quiet && so.progress == 1)
        so.progress = 0;
    return run(&so);
}
