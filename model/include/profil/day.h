/*
 * day.h - calendar days as integers, for policy dates and the generator.
 *
 * A day is the number of days since 1970-01-01 in the proleptic Gregorian
 * calendar, so date ranges compare as integers.
 */
#ifndef PROFIL_DAY_H
#define PROFIL_DAY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t pf_day;
#define PF_DAY_NONE INT32_MAX /* an open end of a date range */

/* The day of year y, month m (1-12), day d (1-31). */
pf_day pf_day_from_civil(int y, int m, int d);

/* The year, month and day of a day. */
void pf_day_to_civil(pf_day z, int *y, int *m, int *d);

/* Parses "YYYY-MM-DD" (a real calendar day from 1900 on); 0 or -1. */
int pf_day_parse(const char *s, pf_day *out);

/* Writes "YYYY-MM-DD", or "open" for PF_DAY_NONE (11 bytes with the NUL). */
void pf_day_format(pf_day d, char buf[11]);

#ifdef __cplusplus
}
#endif
#endif
