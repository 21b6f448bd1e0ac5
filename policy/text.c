#include "policy/text.h"

#include <string.h>

void ecl_sb_u64(ecl_sb *b, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        ecl_sb_ch(b, tmp[--n]);
}

/* Howard Hinnant's days <-> civil date algorithms (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void put_digits(ecl_sb *b, unsigned v, int width)
{
    char tmp[8];
    for (int i = width - 1; i >= 0; i--) {
        tmp[i] = (char)('0' + v % 10);
        v /= 10;
    }
    for (int i = 0; i < width; i++)
        ecl_sb_ch(b, tmp[i]);
}

void ecl_sb_date(ecl_sb *b, int64_t t)
{
    int64_t days = t >= 0 ? t / ECL_DAY_SECONDS : -((-t + ECL_DAY_SECONDS - 1) / ECL_DAY_SECONDS);
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    put_digits(b, (unsigned)y, 4);
    ecl_sb_ch(b, '-');
    put_digits(b, m, 2);
    ecl_sb_ch(b, '-');
    put_digits(b, d, 2);
}

void ecl_sb_datetime(ecl_sb *b, int64_t t)
{
    int64_t sec = t % ECL_DAY_SECONDS;
    if (sec < 0)
        sec += ECL_DAY_SECONDS;
    ecl_sb_date(b, t);
    ecl_sb_ch(b, 'T');
    put_digits(b, (unsigned)(sec / 3600), 2);
    ecl_sb_ch(b, ':');
    put_digits(b, (unsigned)(sec / 60 % 60), 2);
    ecl_sb_ch(b, ':');
    put_digits(b, (unsigned)(sec % 60), 2);
    ecl_sb_ch(b, 'Z');
}

static int num(const char *s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int ecl_date_parse(const char *s, int64_t *out)
{
    unsigned y, m, d;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (num(s, 4, &y) != 0 || num(s + 5, 2, &m) != 0 || num(s + 8, 2, &d) != 0)
        return -1;
    if (y < 1970 || m < 1 || m > 12 || d < 1)
        return -1;
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    unsigned max = mdays[m - 1] + (m == 2 ? leap : 0);
    if (d > max)
        return -1;
    *out = days_from_civil((int64_t)y, m, d) * ECL_DAY_SECONDS;
    return 0;
}
