/*
 * utf8.h - internal: strict UTF-8 validation (no overlongs, no surrogates,
 * nothing above U+10FFFF). Input fields are checked before they are used.
 */
#ifndef PROFIL_UTF8_H
#define PROFIL_UTF8_H

#include <stddef.h>

/* 1 when s[0..n) is valid UTF-8, else 0. */
int pf_utf8_valid(const char *s, size_t n);

#endif
