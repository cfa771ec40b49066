/* SPDX-License-Identifier: ISC */
/*
 * test_remote_tcpto - the downed-host memory: records, back-off growth
 * and cap, failures while down not counted, clearing one address and
 * all, the file qmail-setup makes (zeros), corrupt and truncated files,
 * a full file; what a connection attempt does to the memory (qmail-1.03:
 * only a timeout marks, a refusal or a connection clears).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "tcpto.h"

static struct ipaddr
ip(const char *s)
{
    struct ipaddr a;

    memset(&a, 0, sizeof a);
    if (!ipaddr_scan(s, strlen(s), &a))
        a.family = 0;
    return a;
}

static const char *
path(const char *name)
{
    static char p[512];

    snprintf(p, sizeof p, "%s/%s", harness_tmpdir(), name);
    return p;
}

static void
write_file(const char *p, const void *buf, size_t len)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    CHECK(fd >= 0);
    CHECK(write(fd, buf, len) == (ssize_t)len);
    close(fd);
}

static off_t
file_size(const char *p)
{
    struct stat st;

    return stat(p, &st) == 0 ? st.st_size : -1;
}

static void
t_record(void)
{
    struct tcpto_entry e = {ip("2001:db8::7"), 3, 1700000000}, d;
    unsigned char rec[TCPTO_REC];

    tcpto_encode(&e, rec);
    CHECK_INT(rec[0], 'T');
    CHECK_INT(rec[1], 6);
    CHECK(tcpto_decode(rec, &d));
    CHECK(ipaddr_equal(&d.ip, &e.ip));
    CHECK_INT(d.count, 3);
    CHECK_INT(d.when, 1700000000);
    /* any flipped byte is caught */
    for (size_t i = 1; i < TCPTO_REC; i++) {
        unsigned char bad[TCPTO_REC];

        memcpy(bad, rec, sizeof bad);
        bad[i] ^= 0x01;
        if (!CHECK(!tcpto_decode(bad, &d)))
            CHECK_INT(i, -1);
    }
    memset(rec, 0, sizeof rec);
    CHECK(!tcpto_decode(rec, &d));
    e.ip = ip("192.0.2.1");
    tcpto_encode(&e, rec);
    CHECK_INT(rec[1], 4);
    CHECK(tcpto_decode(rec, &d));
    CHECK_INT(d.ip.family, AF_INET);
}

static void
t_backoff(void)
{
    CHECK_INT(tcpto_backoff(1), 60);
    CHECK_INT(tcpto_backoff(2), 120);
    CHECK_INT(tcpto_backoff(3), 240);
    CHECK_INT(tcpto_backoff(6), 1920);
    CHECK_INT(tcpto_backoff(7), TCPTO_MAX_BACKOFF);
    CHECK_INT(tcpto_backoff(4000000000UL), TCPTO_MAX_BACKOFF);
}

static void
t_mark_and_clear(void)
{
    const char *p = path("tcpto1");
    static const unsigned char zeros[1024];
    struct ipaddr a = ip("192.0.2.1"), b = ip("2001:db8::1");
    struct tcpto t;
    long long now = 1700000000;

    write_file(p, zeros, sizeof zeros); /* as qmail-setup makes it */
    CHECK(tcpto_load(p, &t) == 0);
    CHECK_INT(t.nslots, 32);
    CHECK(!tcpto_is_down(&t, &a, now));

    CHECK(tcpto_mark(p, &a, now) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(tcpto_is_down(&t, &a, now));
    CHECK(tcpto_is_down(&t, &a, now + 59));
    CHECK(!tcpto_is_down(&t, &a, now + 60));
    CHECK(!tcpto_is_down(&t, &b, now));
    /* a mapped address is the same */
    {
        struct ipaddr m = ip("::ffff:192.0.2.1");

        CHECK(tcpto_is_down(&t, &m, now));
    }

    /* another failure while down does not count */
    CHECK(tcpto_mark(p, &a, now + 10) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(!tcpto_is_down(&t, &a, now + 60));
    /* after the back-off, the next failure doubles it */
    CHECK(tcpto_mark(p, &a, now + 100) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(tcpto_is_down(&t, &a, now + 100 + 119));
    CHECK(!tcpto_is_down(&t, &a, now + 100 + 120));
    /* a clock far behind the mark does not keep it down forever */
    CHECK(!tcpto_is_down(&t, &a, now - 3600));

    CHECK(tcpto_mark(p, &b, now) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(tcpto_is_down(&t, &b, now));
    CHECK(tcpto_clear(p, &a) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(!tcpto_is_down(&t, &a, now + 101));
    CHECK(tcpto_is_down(&t, &b, now));
    CHECK_INT(file_size(p), 1024);

    CHECK(tcpto_clear_all(p) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(!tcpto_is_down(&t, &b, now));
    CHECK_INT(file_size(p), 1024);
}

/* a failure after a quiet day counts as the first again */
static void
t_forget(void)
{
    const char *p = path("tcpto2");
    struct ipaddr a = ip("192.0.2.2");
    struct tcpto t;
    long long now = 1700000000;

    for (int i = 0; i < 8; i++)
        CHECK(tcpto_mark(p, &a, now + i * 4000) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(tcpto_is_down(&t, &a, now + 7 * 4000 + 3599));
    CHECK(tcpto_mark(p, &a, now + 7 * 4000 + TCPTO_FORGET + 10) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(!tcpto_is_down(&t, &a, now + 7 * 4000 + TCPTO_FORGET + 70));
}

static void
t_corrupt(void)
{
    const char *p = path("tcpto3");
    unsigned char buf[TCPTO_REC * 4 + 7];
    struct tcpto_entry e = {ip("192.0.2.3"), 1, 1700000000};
    struct ipaddr other = ip("192.0.2.4");
    struct tcpto t;

    /* garbage, a good record, garbage, a good one, a torn tail */
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    tcpto_encode(&e, buf + TCPTO_REC);
    e.ip = other;
    tcpto_encode(&e, buf + 3 * TCPTO_REC);
    buf[3 * TCPTO_REC + 20] ^= 0xff; /* this one is damaged */
    write_file(p, buf, sizeof buf);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK_INT(t.nslots, 4);
    CHECK_INT(t.used[0] + t.used[1] + t.used[2] + t.used[3], 1);
    e.ip = ip("192.0.2.3");
    CHECK(tcpto_is_down(&t, &e.ip, 1700000000));
    CHECK(!tcpto_is_down(&t, &other, 1700000000));
    /* marking reuses a bad slot, and the file keeps working */
    CHECK(tcpto_mark(p, &other, 1700000000) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(tcpto_is_down(&t, &other, 1700000000));
    CHECK(tcpto_is_down(&t, &e.ip, 1700000000));
    CHECK(tcpto_clear_all(p) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(!tcpto_is_down(&t, &e.ip, 1700000000));
    CHECK_INT(file_size(p), sizeof buf);

    /* an empty file, a missing file */
    write_file(p, "", 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK_INT(t.nslots, 0);
    CHECK(tcpto_mark(p, &other, 1700000000) == 0);
    CHECK_INT(file_size(p), TCPTO_REC);
    unlink(p);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(tcpto_clear_all(p) == 0);
    CHECK(tcpto_clear(p, &other) == 0);
    CHECK(tcpto_mark(p, &other, 1700000000) == 0); /* creates it */
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(tcpto_is_down(&t, &other, 1700000000));
}

/* a full file: the oldest failure makes room */
static void
t_full(void)
{
    const char *p = path("tcpto4");
    struct tcpto t;
    char s[64];
    struct ipaddr first = ip("10.0.0.0"), last;

    for (int i = 0; i < TCPTO_SLOTS + 1; i++) {
        struct ipaddr a;

        snprintf(s, sizeof s, "10.0.%d.%d", i / 256, i % 256);
        a = ip(s);
        CHECK(tcpto_mark(p, &a, 1700000000 + i) == 0);
        last = a;
    }
    CHECK_INT(file_size(p), TCPTO_SLOTS * TCPTO_REC);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(!tcpto_is_down(&t, &first, 1700000000 + 10));
    CHECK(tcpto_is_down(&t, &last, 1700000000 + TCPTO_SLOTS + 1));
}

/*
 * qmail-1.03's rule (qmail-remote.c: tcpto_err(ip, errno == error_timeout)
 * after a failed connect, tcpto_err(ip, 0) after a good one): a timeout
 * marks, a reset or any other answer clears.
 */
static void
t_note(void)
{
    const char *p = path("tcpto5");
    static const unsigned char zeros[1024];
    struct ipaddr a = ip("192.0.2.5"), b = ip("2001:db8::5");
    struct tcpto t;
    long long now = 1700000000;
    static const int clears[] = {0, ECONNREFUSED, EHOSTUNREACH, ENETUNREACH,
                                 ECONNRESET};

    write_file(p, zeros, sizeof zeros);
    /* a refused port marks nothing */
    CHECK(tcpto_note(p, &a, ECONNREFUSED, now) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(!tcpto_is_down(&t, &a, now));
    CHECK_INT(t.used[0], 0);
    /* a timeout marks, for both families */
    CHECK(tcpto_note(p, &a, ETIMEDOUT, now) == 0);
    CHECK(tcpto_note(p, &b, ETIMEDOUT, now) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    CHECK(tcpto_is_down(&t, &a, now + 1));
    CHECK(tcpto_is_down(&t, &b, now + 1));
    /* each other outcome clears its address only */
    for (size_t i = 0; i < sizeof clears / sizeof clears[0]; i++) {
        CHECK(tcpto_note(p, &a, ETIMEDOUT, now + 1000 * (long long)i) == 0);
        CHECK(tcpto_load(p, &t) == 0);
        CHECK(tcpto_is_down(&t, &a, now + 1000 * (long long)i));
        CHECK(tcpto_note(p, &a, clears[i], now + 1000 * (long long)i) == 0);
        CHECK(tcpto_load(p, &t) == 0);
        if (!CHECK(!tcpto_is_down(&t, &a, now + 1000 * (long long)i)))
            CHECK_INT(clears[i], -1);
        CHECK(tcpto_is_down(&t, &b, now + 1));
    }
    /* after a refusal the count starts over: the next timeout is the first */
    CHECK(tcpto_note(p, &b, ECONNREFUSED, now + 100) == 0);
    CHECK(tcpto_note(p, &b, ETIMEDOUT, now + 200) == 0);
    CHECK(tcpto_load(p, &t) == 0);
    for (size_t i = 0; i < t.nslots; i++)
        if (t.used[i] && ipaddr_equal(&t.e[i].ip, &b))
            CHECK_INT(t.e[i].count, 1);
    CHECK_INT(file_size(p), 1024);
}

static const struct test_case cases[] = {
    {"records and check sums", t_record},
    {"back-off", t_backoff},
    {"mark, clear, clear all", t_mark_and_clear},
    {"old failures forgotten", t_forget},
    {"corrupt and truncated files", t_corrupt},
    {"a full file", t_full},
    {"only a timeout marks", t_note},
};

TEST_MAIN(cases)
