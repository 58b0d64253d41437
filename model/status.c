/*
 * status.c - status names and the error record (see status.h).
 */
#include "profil/status.h"

#include <stdarg.h>
#include <stdio.h>

const char *pf_strerror(int status)
{
    switch (status) {
    case PF_OK:
        return "success";
    case PF_ENOMEM:
        return "out of memory";
    case PF_EIO:
        return "input/output error";
    case PF_EFORMAT:
        return "malformed input";
    case PF_ESCHEMA:
        return "invalid schema";
    case PF_EINVAL:
        return "invalid argument";
    case PF_ELIMIT:
        return "limit exceeded";
    case PF_EHEADER:
        return "header does not match schema";
    case PF_ENOTFOUND:
        return "not found";
    }
    return "unknown error";
}

int pf_error_set(pf_error *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->status = (pf_status) status;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

void pf_error_clear(pf_error *err)
{
    if (err) {
        err->status = PF_OK;
        err->message[0] = '\0';
    }
}
