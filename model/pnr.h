/*
 * pnr.h - internal: detection of Swedish personal identity numbers
 * (personnummer) and coordination numbers (samordningsnummer) in text.
 *
 * profil must never use or log one outside the id column, so every other
 * field is scanned. A match needs a valid date (day + 60 for coordination
 * numbers) and a valid Luhn check digit, so ordinary 10-digit numbers are
 * rarely flagged (about 1 in 30).
 */
#ifndef PROFIL_PNR_H
#define PROFIL_PNR_H

#include <stddef.h>

/* 1 when s[0..n) contains a personal identity or coordination number in the
 * forms YYMMDD-NNNN, YYMMDD+NNNN, YYMMDDNNNN, YYYYMMDD-NNNN, YYYYMMDDNNNN. */
int pf_pnr_contains(const char *s, size_t n);

/* The same for a field of a numeric column: digits after a decimal point
 * or comma are a fraction ("0.811218987612"), not an identity number, so
 * only the part before the first separator is scanned. */
int pf_pnr_contains_number(const char *s, size_t n);

#endif
