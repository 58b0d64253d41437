/*
 * prefetch.c - background frame reading (see prefetch.h).
 *
 * A ring of frames, each FREE (the reader thread may fill it), FILLED
 * (waiting for the caller, in order) or IN_USE (the caller has it). One
 * mutex and one condition variable: the thread fills slots in ring order,
 * the caller takes them in the same order, so input order is kept.
 */
#include "profil/prefetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE, SLOT_FILLED, SLOT_IN_USE };

struct pf_prefetch {
    pf_reader *r;
    size_t n;
    pf_frame **frames;
    int *state;
    size_t head; /* next slot the thread fills */
    size_t tail; /* next slot the caller takes */
    int done;    /* the thread has finished */
    int status;  /* 0 at a clean end, else the reader's error */
    int stop;
    pf_error err;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int started;
};

static void *run(void *arg)
{
    pf_prefetch *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->state[p->head] != SLOT_FREE && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop) {
            p->done = 1;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        pf_frame *f = p->frames[p->head];
        pthread_mutex_unlock(&p->mu);

        pf_error err = {0};
        int rc = pf_reader_read(p->r, f, &err);

        pthread_mutex_lock(&p->mu);
        if (rc <= 0) {
            p->done = 1;
            p->status = rc;
            p->err = err;
        } else {
            p->state[p->head] = SLOT_FILLED;
            p->head = (p->head + 1) % p->n;
        }
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (rc <= 0)
            return NULL;
    }
}

int pf_prefetch_start(pf_prefetch **out, pf_reader *r, size_t rows, size_t nframes, pf_error *err)
{
    *out = NULL;
    if (nframes < 2)
        nframes = 2;
    pf_prefetch *p = calloc(1, sizeof *p);
    if (!p)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    p->r = r;
    p->n = nframes;
    p->frames = calloc(nframes, sizeof *p->frames);
    p->state = calloc(nframes, sizeof *p->state);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    int rc = p->frames && p->state ? 0 : pf_error_set(err, PF_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < nframes; i++)
        rc = pf_reader_frame_new(r, rows, &p->frames[i], err);
    if (!rc && pthread_create(&p->thread, NULL, run, p) != 0)
        rc = pf_error_set(err, PF_ENOMEM, "cannot start the reading thread");
    if (rc) {
        pf_prefetch_stop(p);
        return rc;
    }
    p->started = 1;
    *out = p;
    return 0;
}

int pf_prefetch_next(pf_prefetch *p, pf_frame **f, pf_error *err)
{
    pthread_mutex_lock(&p->mu);
    while (p->state[p->tail] != SLOT_FILLED && !p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    int rc;
    if (p->state[p->tail] == SLOT_FILLED) {
        *f = p->frames[p->tail];
        p->state[p->tail] = SLOT_IN_USE;
        p->tail = (p->tail + 1) % p->n;
        rc = 1;
    } else {
        *f = NULL;
        rc = p->status;
        if (rc < 0 && err)
            *err = p->err;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void pf_prefetch_release(pf_prefetch *p, pf_frame *f)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++)
        if (p->frames[i] == f)
            p->state[i] = SLOT_FREE;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void pf_prefetch_stop(pf_prefetch *p)
{
    if (!p)
        return;
    if (p->started) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
    }
    for (size_t i = 0; p->frames && i < p->n; i++)
        pf_frame_free(p->frames[i]);
    free(p->frames);
    free(p->state);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
