/* SPDX-License-Identifier: ISC */
/*
 * retry - qmail's quadratic retry schedule.  Attempt k of a message
 * happens (k * skip)^2 seconds after its birth, so old messages are
 * tried less and less often; with qmail's skip of 20 for remote
 * deliveries that is 0, 400, 1600, 3600 ... seconds (the table in the
 * admin guide), with 10 for local ones 0, 100, 400 ...  The next attempt
 * depends only on the birth and the clock; qmail-send also records it as
 * the channel file's mtime (job.c, qmail-1.03's convention), so a restart
 * does not retry everything at once.
 */
#include "send.h"

static unsigned long long
isqrt(unsigned long long x)
{
    unsigned long long r = 0, bit = 1ULL << 62;

    while (bit > x)
        bit >>= 2;
    while (bit) {
        if (x >= r + bit) {
            x -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

/* retry_next - the first scheduled attempt strictly after now. */
time_t
retry_next(time_t birth, time_t now, unsigned long skip)
{
    unsigned long long age = now > birth ? (unsigned long long)(now - birth) : 0;
    unsigned long long s = skip ? skip : 1;
    unsigned long long k = isqrt(age) / s + 1;

    while (k * s * k * s <= age)
        k++;
    return birth + (time_t)(k * s * k * s);
}
