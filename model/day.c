/*
 * day.c - calendar days as integers (see day.h), after Howard Hinnant's
 * days_from_civil and civil_from_days.
 */
#include "profil/day.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil). */
pf_day pf_day_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

int pf_day_parse(const char *s, pf_day *out)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int k = 0; k < 10; k++)
        if (k != 4 && k != 7 && (s[k] < '0' || s[k] > '9'))
            return -1;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *out = pf_day_from_civil(y, m, d);
    return 0;
}

void pf_day_to_civil(pf_day z, int *year, int *month, int *day)
{
    /* civil_from_days, the inverse of pf_day_from_civil */
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned) (z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int) yoe + era * 400 + (m <= 2);
    *month = (int) m;
    *day = (int) (doy - (153 * mp + 2) / 5 + 1);
}

void pf_day_format(pf_day z, char buf[11])
{
    if (z == PF_DAY_NONE) {
        snprintf(buf, 11, "open");
        return;
    }
    int y, m, d;
    pf_day_to_civil(z, &y, &m, &d);
    if (y < 0 || y > 9999) {
        snprintf(buf, 11, "invalid");
        return;
    }
    snprintf(buf, 11, "%04u-%02u-%02u", (unsigned) y % 10000u, (unsigned) m % 100u,
             (unsigned) d % 100u);
}
