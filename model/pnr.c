/*
 * pnr.c - personal identity number detection (see pnr.h).
 */
#include "pnr.h"

static int dig(char c)
{
    return c >= '0' && c <= '9';
}

static int num2(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

/* Luhn check over the ten digits YYMMDDNNNN. */
static int luhn_ok(const char d[10])
{
    int sum = 0;
    for (int i = 0; i < 10; i++) {
        int v = (d[i] - '0') * (i % 2 == 0 ? 2 : 1);
        sum += v > 9 ? v - 9 : v;
    }
    return sum % 10 == 0;
}

/* year < 0: century unknown, so 29 February is allowed. */
static int date_ok(int year, int month, int day)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (day > 60)
        day -= 60; /* coordination number */
    if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1])
        return 0;
    if (month == 2 && day == 29 && year >= 0)
        return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return 1;
}

/* Checks the candidate: 'digits' are the date digits (6 or 8) and the four
 * serial digits, concatenated. */
static int candidate_ok(const char *digits, int ndate)
{
    int year = -1;
    const char *yymmdd = digits;
    if (ndate == 8) {
        int century = num2(digits);
        if (century < 18 || century > 20)
            return 0;
        year = century * 100 + num2(digits + 2);
        yymmdd = digits + 2;
    }
    if (!date_ok(year, num2(yymmdd + 2), num2(yymmdd + 4)))
        return 0;
    return luhn_ok(yymmdd);
}

int pf_pnr_contains(const char *s, size_t n)
{
    /* Fewer than ten digits cannot hold a number; most fields stop here,
     * short ones before counting. */
    if (n < 10)
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += dig(s[i]);
    if (total < 10)
        return 0;

    size_t i = 0;
    while (i < n) {
        if (!dig(s[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < n && dig(s[i]))
            i++;
        size_t run = i - start;
        char buf[12];
        /* Maximal digit runs only: a 14-digit account number is not a pnr. */
        if (run == 10 || run == 12) {
            for (size_t k = 0; k < run; k++)
                buf[k] = s[start + k];
            if (candidate_ok(buf, (int) run - 4))
                return 1;
        } else if ((run == 6 || run == 8) && i + 5 <= n && (s[i] == '-' || s[i] == '+') &&
                   dig(s[i + 1]) && dig(s[i + 2]) && dig(s[i + 3]) && dig(s[i + 4]) &&
                   (i + 5 == n || !dig(s[i + 5]))) {
            for (size_t k = 0; k < run; k++)
                buf[k] = s[start + k];
            for (size_t k = 0; k < 4; k++)
                buf[run + k] = s[i + 1 + k];
            if (candidate_ok(buf, (int) run))
                return 1;
            i += 5;
        }
    }
    return 0;
}

int pf_pnr_contains_number(const char *s, size_t n)
{
    if (n < 10)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == ',')
            return pf_pnr_contains(s, i);
    return pf_pnr_contains(s, n);
}
