/* SPDX-License-Identifier: ISC */
/*
 * ratecost - what qmail-smtpd's rate-limit counters cost per connection
 * (issue 13's "cost of the rate-limit counters per connection"), doing
 * exactly what ratelimit.c does against a store file (src/lib/ratestore):
 *   open   a process per connection: open + check + mmap the store, count
 *          the connection for its ip and /24 (conn/min), unmap;
 *   warm   a tcpserver -W worker (the store stays mapped): the same two
 *          counts;
 *   auth   per message of an authenticated user: msgs/hour and msgs/day
 *          for the user and its domain (four counts);
 *   racing the warm case in 2 processes at once on the same keys (the
 *          cache line bouncing between CPUs).
 * Clients cycle over 10,000 addresses in 40 /24s.  Prints wall and CPU
 * microseconds per iteration.  Not part of the build:
 *     make B=build-d all && cc -O2 -Isrc/lib -o /tmp/ratecost \
 *         bench/ratecost.c build-d/libqng.a && /tmp/ratecost 200000 /tmp/rate.db
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bstr.h"
#include "ratestore.h"

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu(void)
{
    struct rusage s, c;

    getrusage(RUSAGE_SELF, &s);
    getrusage(RUSAGE_CHILDREN, &c);
    return s.ru_utime.tv_sec + s.ru_utime.tv_usec / 1e6 + s.ru_stime.tv_sec +
           s.ru_stime.tv_usec / 1e6 + c.ru_utime.tv_sec +
           c.ru_utime.tv_usec / 1e6 + c.ru_stime.tv_sec +
           c.ru_stime.tv_usec / 1e6;
}

static struct bstr key = BSTR_INIT;

/* count - what ratelimit.c does for one key and one counter */
static void
count(struct ratestore *rs, const char *k, size_t len, unsigned c, time_t t)
{
    uint32_t idx;

    if (ratestore_find(rs, k, len, t, true, &idx) == 1)
        (void)ratestore_add(rs, idx, c, 1000000000u, true, t, NULL);
}

static void
conn(struct ratestore *rs, long i, time_t t)
{
    char ip[32];

    snprintf(ip, sizeof ip, "10.%ld.%ld.%ld", (i % 10000) / 250 % 256,
             (i % 10000) / 250 / 256, (i % 10000) % 250 + 1);
    for (int net = 0; net < 2; net++)
        if (ratestore_ipkey(&key, ip, net) == 0)
            count(rs, key.s, key.len, RATE_COUNTER(RATE_CONN, RATE_MIN), t);
}

static void
report(const char *what, long n, double w0, double c0, int procs)
{
    printf("%-7s %8.2f us wall %8.2f us cpu per iteration (%ld x %d)\n", what,
           (now() - w0) * 1e6 / n, (cpu() - c0) * 1e6 / n / procs, n, procs);
}

int
main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    const char *path = argc > 2 ? argv[2] : "/tmp/ratecost.db";
    struct ratestore rs;
    time_t t = time(NULL);
    double w0, c0;

    unlink(path);
    if (ratestore_open(&rs, path, RATESTORE_SLOTS, true) == -1) {
        perror(path);
        return 111;
    }
    ratestore_close(&rs);

    w0 = now(), c0 = cpu();
    for (long i = 0; i < n / 10; i++) {
        if (ratestore_open(&rs, path, RATESTORE_SLOTS, true) == -1)
            return 111;
        conn(&rs, i, t);
        ratestore_close(&rs);
    }
    report("open", n / 10, w0, c0, 1);

    if (ratestore_open(&rs, path, RATESTORE_SLOTS, true) == -1)
        return 111;
    w0 = now(), c0 = cpu();
    for (long i = 0; i < n; i++)
        conn(&rs, i, t);
    report("warm", n, w0, c0, 1);

    w0 = now(), c0 = cpu();
    for (long i = 0; i < n; i++) {
        char u[64], d[64];
        int ul = snprintf(u, sizeof u, "user:u%ld@d%ld.example", i % 1000,
                          i % 50);
        int dl = snprintf(d, sizeof d, "domain:d%ld.example", i % 50);

        for (int per = RATE_HOUR; per <= RATE_DAY; per++) {
            count(&rs, u, (size_t)ul, RATE_COUNTER(RATE_MSGS, per), t);
            count(&rs, d, (size_t)dl, RATE_COUNTER(RATE_MSGS, per), t);
        }
    }
    report("auth", n, w0, c0, 1);

    w0 = now(), c0 = cpu();
    for (int k = 0; k < 2; k++)
        if (fork() == 0) {
            for (long i = 0; i < n; i++)
                conn(&rs, i % 16, t);
            _exit(0);
        }
    while (wait(NULL) > 0)
        ;
    report("racing", n, w0, c0, 2);
    ratestore_close(&rs);
    unlink(path);
    return 0;
}
