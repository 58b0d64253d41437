/*
 * prefetch.c - background frame reading (see prefetch.h).
 *
 * A ring of jobs, each a frame, a block of input and what parsing the
 * block left for delivery. The reading thread cuts the input into blocks
 * of whole records (pf_reader_split). With one thread it parses each block
 * itself; with more, parser threads turn blocks into frames, each with its
 * own clone of the reader. Either way the caller's pf_prefetch_next
 * delivers frames in input order (pf_reader_deliver: row numbers,
 * rejected rows, counts), so what the caller sees does not depend on the
 * number of threads or on timing.
 * When splitting ends (input that has no place to cut, or its last
 * record without a line end), the reading thread waits until every block
 * is delivered and reads the rest itself.
 *
 * One mutex and one condition variable; jobs are numbered in input order
 * (head: next to fill, parsed: next to parse, tail: next to hand out).
 */
#include "profil/prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reader_blocks.h"

enum { JOB_FREE, JOB_SPLIT, JOB_PARSING, JOB_READY, JOB_IN_USE };

typedef struct job {
    pf_frame *f;
    pf_reader_block blk;
    pf_reader_batch batch;
    int state;
    int from_block; /* delivered through pf_reader_deliver */
    int rc;
    pf_error err;
} job;

struct pf_prefetch {
    pf_reader *r;
    size_t n;
    job *jobs;
    size_t want; /* block size in bytes */
    uint64_t head, parsed, tail;
    int serial; /* splitting is over: the reading thread reads frames itself */
    int done;   /* the reading thread has finished */
    int status; /* 0 at a clean end, else the reader's error */
    int stop;
    pf_error err;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started;
    pf_reader *own_parser; /* one thread: the reading thread parses its blocks itself */
    int nparsers;
    pf_reader **parsers;
    pthread_t *parser_threads;
    int parsers_started;
};

typedef struct parser_arg {
    pf_prefetch *p;
    pf_reader *parser;
} parser_arg;

static void finish(pf_prefetch *p, int rc, const pf_error *err)
{
    pthread_mutex_lock(&p->mu);
    p->done = 1;
    p->status = rc;
    if (err)
        p->err = *err;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void *run(void *arg)
{
    pf_prefetch *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        job *j = &p->jobs[p->head % p->n];
        while (j->state != JOB_FREE && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        int serial = p->serial;
        if (p->stop) {
            p->done = 1;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        pthread_mutex_unlock(&p->mu);

        pf_error err = {0};
        int rc;
        if (!serial) {
            rc = pf_reader_split(p->r, &j->blk, p->want, &err);
            if (rc < 0) {
                finish(p, rc, &err);
                return NULL;
            }
            if (rc > 0 && p->own_parser) {
                j->rc = pf_reader_parse_block(p->own_parser, &j->blk, j->f, &j->batch, &j->err);
                j->state = JOB_READY;
            }
            pthread_mutex_lock(&p->mu);
            if (rc > 0) {
                if (!p->own_parser)
                    j->state = JOB_SPLIT;
                j->from_block = 1;
                p->head++;
            } else {
                /* The reader's numbers and counts must be those of every
                 * block before it goes on by itself. */
                p->serial = 1;
                while (p->tail < p->head && !p->stop)
                    pthread_cond_wait(&p->cv, &p->mu);
            }
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            continue;
        }
        rc = pf_reader_read(p->r, j->f, &err);
        if (rc <= 0) {
            finish(p, rc, &err);
            return NULL;
        }
        pthread_mutex_lock(&p->mu);
        j->state = JOB_READY;
        j->from_block = 0;
        j->rc = 0;
        p->head++;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

static void *parse(void *arg)
{
    parser_arg *a = arg;
    pf_prefetch *p = a->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->stop)
            break;
        if (p->parsed < p->head) {
            job *j = &p->jobs[p->parsed % p->n];
            p->parsed++;
            if (j->state != JOB_SPLIT)
                continue; /* read by the reading thread itself */
            j->state = JOB_PARSING;
            pthread_mutex_unlock(&p->mu);
            pf_error err = {0};
            int rc = pf_reader_parse_block(a->parser, &j->blk, j->f, &j->batch, &err);
            pthread_mutex_lock(&p->mu);
            j->rc = rc;
            j->err = err;
            j->state = JOB_READY;
            pthread_cond_broadcast(&p->cv);
            continue;
        }
        if (p->done || p->serial)
            break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    free(a);
    return NULL;
}

int pf_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 1 ? (int) (n > 64 ? 64 : n) : 1;
}

int pf_prefetch_start(pf_prefetch **out, pf_reader *r, size_t rows, size_t nframes, int threads,
                      pf_error *err)
{
    *out = NULL;
    if (nframes < 2)
        nframes = 2;
    if (threads <= 0)
        threads = pf_default_threads();
    if (threads > 1)
        nframes += (size_t) threads; /* frames being parsed, besides those the caller holds */
    pf_prefetch *p = calloc(1, sizeof *p);
    if (!p)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    p->r = r;
    p->n = nframes;
    /* Rows of registry exports take about a hundred bytes. */
    p->want = rows * 112;
    p->want = p->want < 256 ? 256 : p->want > (4u << 20) ? (4u << 20) : p->want;
    p->jobs = calloc(nframes, sizeof *p->jobs);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int rc = p->jobs ? 0 : pf_error_set(err, PF_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < nframes; i++)
        rc = pf_reader_frame_new(r, rows, &p->jobs[i].f, err);
    if (!rc && threads > 1) {
        p->nparsers = threads;
        p->parsers = calloc((size_t) threads, sizeof *p->parsers);
        p->parser_threads = calloc((size_t) threads, sizeof *p->parser_threads);
        if (!p->parsers || !p->parser_threads)
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        for (int k = 0; !rc && k < threads; k++)
            rc = pf_reader_parser_new(r, &p->parsers[k], err);
    } else if (!rc) {
        rc = pf_reader_parser_new(r, &p->own_parser, err);
    }
    if (!rc && pthread_create(&p->thread, NULL, run, p) != 0)
        rc = pf_error_set(err, PF_ENOMEM, "cannot start the reading thread");
    if (!rc)
        p->started = 1;
    for (int k = 0; !rc && k < p->nparsers; k++) {
        parser_arg *a = malloc(sizeof *a);
        if (a) {
            a->p = p;
            a->parser = p->parsers[k];
        }
        if (!a || pthread_create(&p->parser_threads[k], NULL, parse, a) != 0) {
            free(a);
            rc = pf_error_set(err, PF_ENOMEM, "cannot start the parsing threads");
        } else {
            p->parsers_started++;
        }
    }
    if (rc) {
        pf_prefetch_stop(p);
        return rc;
    }
    *out = p;
    return 0;
}

int pf_prefetch_next(pf_prefetch *p, pf_frame **f, pf_error *err)
{
    *f = NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        job *j = &p->jobs[p->tail % p->n];
        while (!(p->tail < p->head && j->state == JOB_READY) && !(p->done && p->tail == p->head))
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->tail == p->head) {
            int rc = p->status;
            if (rc < 0 && err)
                *err = p->err;
            pthread_mutex_unlock(&p->mu);
            return rc;
        }
        if (j->rc) {
            /* A block that failed to parse ends the input here. */
            if (err)
                *err = j->err;
            pthread_mutex_unlock(&p->mu);
            return j->rc;
        }
        pthread_mutex_unlock(&p->mu);
        if (j->from_block)
            pf_reader_deliver(p->r, j->f, &j->batch);
        pthread_mutex_lock(&p->mu);
        p->tail++;
        /* A block of rejected rows or blank lines leaves an empty frame:
         * delivered (its problems and counts), not handed out. */
        j->state = j->f->n ? JOB_IN_USE : JOB_FREE;
        pthread_cond_broadcast(&p->cv);
        if (j->f->n) {
            *f = j->f;
            pthread_mutex_unlock(&p->mu);
            return 1;
        }
    }
}

void pf_prefetch_release(pf_prefetch *p, pf_frame *f)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++)
        if (p->jobs[i].f == f)
            p->jobs[i].state = JOB_FREE;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void pf_prefetch_stop(pf_prefetch *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->started)
        pthread_join(p->thread, NULL);
    for (int k = 0; k < p->parsers_started; k++)
        pthread_join(p->parser_threads[k], NULL);
    for (int k = 0; p->parsers && k < p->nparsers; k++)
        pf_reader_parser_free(p->parsers[k]);
    pf_reader_parser_free(p->own_parser);
    free(p->parsers);
    free(p->parser_threads);
    for (size_t i = 0; p->jobs && i < p->n; i++) {
        pf_frame_free(p->jobs[i].f);
        free(p->jobs[i].blk.p);
        pf_reader_batch_free(&p->jobs[i].batch);
    }
    free(p->jobs);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
