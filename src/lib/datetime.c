/* SPDX-License-Identifier: ISC */
/*
 * datetime - RFC 5322 dates and TAI64N labels (see datetime.h).
 *
 * TAI64N: the label is 2^62 + 10 + the POSIX seconds (the ten seconds
 * TAI ran ahead of UTC in 1970, as daemontools' tai64n counts them), as
 * 16 hex digits, then nanoseconds as 8.
 */
#include <string.h>

#include "datetime.h"
#include "fmt.h"

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/*
 * civil - the UTC calendar date and time of t, computed here rather than
 * with gmtime_r(): glibc's gmtime reads /etc/localtime first, a file
 * access per message that qmail-queue does not need.  The day count to
 * date step is the usual era-based conversion of the proleptic Gregorian
 * calendar.
 */
static void
civil(time_t t, int *y, int *mo, int *d, int *h, int *mi, int *se)
{
    long long days = (long long)t / 86400, secs = (long long)t % 86400;
    long long era, doe, yoe, doy, mp, z;

    if (secs < 0) {
        secs += 86400;
        days--;
    }
    *h = (int)(secs / 3600);
    *mi = (int)(secs / 60 % 60);
    *se = (int)(secs % 60);
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *mo = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*mo <= 2));
}

/* date822_cat - append qmail's Received: date for t, in UTC. */
int
date822_cat(struct bstr *out, time_t t)
{
    int y, mo, d, h, mi, se;

    civil(t, &y, &mo, &d, &h, &mi, &se);
    return bstr_catf(out, "%d %s %d %02d:%02d:%02d -0000", d, months[mo - 1],
                     y, h, mi, se);
}

void
tai64n_fmt(char out[TAI64N_LEN], const struct timespec *ts)
{
    unsigned long long secs =
        0x4000000000000000ULL + 10ULL + (unsigned long long)ts->tv_sec;

    out[0] = '@';
    fmt_hex(out + 1, secs, 16);
    fmt_hex(out + 17, (unsigned long long)ts->tv_nsec, 8);
}

/* datetime_mono_ms - a monotonic clock in milliseconds, for deadlines. */
long long
datetime_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
tai64n_now(char out[TAI64N_LEN])
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    tai64n_fmt(out, &ts);
}

/* tai64n_scan - parse a label ('@' optional): 0, or -1 if malformed. */
int
tai64n_scan(const char *s, size_t len, struct timespec *ts)
{
    unsigned long long secs = 0, nano = 0;

    if (len && s[0] == '@') {
        s++;
        len--;
    }
    if (len < 24)
        return -1;
    for (int i = 0; i < 24; i++) {
        int v = scan_xdigit(s[i]);
        if (v < 0)
            return -1;
        if (i < 16)
            secs = (secs << 4) | (unsigned)v;
        else
            nano = (nano << 4) | (unsigned)v;
    }
    if (secs < 0x4000000000000000ULL + 10 || nano > 999999999)
        return -1;
    ts->tv_sec = (time_t)(secs - 0x4000000000000000ULL - 10);
    ts->tv_nsec = (long)nano;
    return 0;
}
