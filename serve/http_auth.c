/*
 * http_auth.c - bearer tokens (see http_auth.h).
 */
#include "http_auth.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nettle/sha2.h>

#define MAX_TOKENS     1024
#define MAX_LINE_BYTES 4096

struct pf_tokens {
    size_t n;
    uint8_t (*hash)[SHA256_DIGEST_SIZE];
};

static void digest(const char *s, size_t n, uint8_t out[SHA256_DIGEST_SIZE])
{
    struct sha256_ctx h;
    sha256_init(&h);
    sha256_update(&h, n, (const uint8_t *) s);
    sha256_digest(&h, SHA256_DIGEST_SIZE, out);
}

int pf_tokens_load(pf_tokens **out, const char *path, pf_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "r");
    if (!fp)
        return pf_error_set(err, PF_EIO, "%s: cannot open the token file", path);
    pf_tokens *t = calloc(1, sizeof *t);
    if (t)
        t->hash = malloc(MAX_TOKENS * sizeof *t->hash);
    if (!t || !t->hash) {
        fclose(fp);
        pf_tokens_free(t);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    char line[MAX_LINE_BYTES];
    int rc = 0, lineno = 0;
    while (!rc && fgets(line, sizeof line, fp)) {
        lineno++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n')
            rc = pf_error_set(err, PF_EFORMAT, "%s:%d: line longer than %d bytes", path, lineno,
                              MAX_LINE_BYTES - 2);
        char *s = line;
        while (isspace((unsigned char) *s))
            s++;
        n = strlen(s);
        while (n && isspace((unsigned char) s[n - 1]))
            n--;
        if (rc || !n || *s == '#')
            continue;
        if (t->n == MAX_TOKENS)
            rc = pf_error_set(err, PF_ELIMIT, "%s: more than %d tokens", path, MAX_TOKENS);
        else
            digest(s, n, t->hash[t->n++]);
    }
    if (!rc && ferror(fp))
        rc = pf_error_set(err, PF_EIO, "%s: read error", path);
    fclose(fp);
    if (!rc && !t->n)
        rc = pf_error_set(err, PF_EFORMAT, "%s: no token in the file", path);
    explicit_bzero(line, sizeof line);
    if (rc) {
        pf_tokens_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void pf_tokens_free(pf_tokens *t)
{
    if (!t)
        return;
    free(t->hash);
    free(t);
}

int pf_tokens_check(const pf_tokens *t, const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7))
        return 0;
    const char *s = authorization + 7;
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        n--;
    if (!n)
        return 0;
    uint8_t h[SHA256_DIGEST_SIZE];
    digest(s, n, h);
    unsigned ok = 0;
    for (size_t k = 0; k < t->n; k++) {
        unsigned diff = 0;
        for (size_t i = 0; i < SHA256_DIGEST_SIZE; i++)
            diff |= (unsigned) (h[i] ^ t->hash[k][i]);
        ok |= diff == 0;
    }
    return (int) ok;
}
