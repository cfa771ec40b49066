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

/* date822_cat - append qmail's Received: date for t, in UTC. */
int
date822_cat(struct bstr *out, time_t t)
{
    struct tm tm;

    if (!gmtime_r(&t, &tm))
        return bstr_cats(out, "1 Jan 1970 00:00:00 -0000");
    return bstr_catf(out, "%d %s %d %02d:%02d:%02d -0000", tm.tm_mday,
                     months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
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

void
tai64n_now(char out[TAI64N_LEN])
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    tai64n_fmt(out, &ts);
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
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
        int v = hexval(s[i]);
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
