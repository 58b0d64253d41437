/*
 * status.h - error codes and the error record every fallible call fills.
 *
 * Library functions return 0 on success or a negative pf_status. When the
 * caller passes a pf_error, it receives a human-readable message that names
 * the file, row, column and value involved where there is one. The library
 * never prints and never exits; front-ends decide what to show.
 */
#ifndef PROFIL_STATUS_H
#define PROFIL_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pf_status {
    PF_OK = 0,
    PF_ENOMEM = -1,   /* allocation failed */
    PF_EIO = -2,      /* reading or writing a file failed */
    PF_EFORMAT = -3,  /* malformed file: JSON, CSV header, gzip stream */
    PF_ESCHEMA = -4,  /* schema file is invalid */
    PF_EINVAL = -5,   /* invalid argument from the caller */
    PF_ELIMIT = -6,   /* a configured maximum was exceeded */
    PF_EHEADER = -7,  /* input header does not match the schema */
    PF_ENOTFOUND = -8 /* named file, column or level does not exist */
} pf_status;

#define PF_ERROR_MAX 1024

typedef struct pf_error {
    pf_status status;
    char message[PF_ERROR_MAX];
} pf_error;

/* Static English name of a status code; never NULL. */
const char *pf_strerror(int status);

/* Fills err (if not NULL) with status and a printf-style message; returns status. */
int pf_error_set(pf_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets err to PF_OK with an empty message. */
void pf_error_clear(pf_error *err);

#ifdef __cplusplus
}
#endif
#endif
