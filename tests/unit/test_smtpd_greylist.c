/* SPDX-License-Identifier: ISC */
/*
 * test_smtpd_greylist - the greylisting store (src/smtpd/greylist.c):
 * the client network (IPv4 /24, IPv6 /64, mapped addresses as IPv4,
 * anything else kept but never a path), the triplet's hash (hex only,
 * case-blind, unambiguous), the retry rule of postgrey (first sight
 * refused, a retry before the delay refused, one within the window
 * passes, one after it counts as a first sight, a pass good for maxage
 * after its last use), the auto-allowed client network, expiry, and
 * trouble with the store.  Time is simulated: mtimes are set with
 * utimensat and "now" is passed in, nothing sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "greylist.h"
#include "harness.h"

#define NOW ((time_t)1800000000)

static const struct greylist_conf conf = {300, 172800, 3024000, 3, false};

static const char *
dir(const char *sub)
{
    static char p[512];

    snprintf(p, sizeof p, "%s/%s", harness_tmpdir(), sub);
    mkdir(p, 0700);
    return p;
}

/* where the store keeps the triplet's file (suffix "" or ".ok") */
static const char *
tfile(const char *d, const char *net, const char *from, const char *to,
      const char *suffix)
{
    static char p[700];
    char h[GREYLIST_HASH];

    CHECK(greylist_hash(net, from, strlen(from), to, strlen(to), h) == 0);
    snprintf(p, sizeof p, "%s/%.2s/%s%s", d, h, h, suffix);
    return p;
}

static bool
exists(const char *p)
{
    struct stat st;

    return lstat(p, &st) == 0;
}

static void
age(const char *p, time_t when)
{
    struct timespec ts[2] = {{when, 0}, {when, 0}};

    CHECK(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) == 0);
}

static time_t
mtime(const char *p)
{
    struct stat st;

    return lstat(p, &st) == 0 ? st.st_mtime : (time_t)-1;
}

/* verdict - greylist_check's verdict on (net, from, to) at now */
static int
verdict(const char *d, const struct greylist_conf *c, const char *net,
        const char *from, const char *to, time_t now, unsigned long *agep)
{
    enum greylist_verdict v;
    unsigned long a = 0;

    if (greylist_check(d, c, net, from, strlen(from), to, strlen(to), now, &v,
                       &a) == -1)
        return -1;
    if (agep)
        *agep = a;
    return (int)v;
}

static void
test_net(void)
{
    static const struct {
        const char *ip, *net;
    } cases[] = {
        {"192.0.2.77", "192.0.2.0/24"},
        {"192.0.2.1", "192.0.2.0/24"},
        {"198.51.100.255", "198.51.100.0/24"},
        {"::ffff:192.0.2.9", "192.0.2.0/24"},
        {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
        {"2001:DB8:1:2::ff", "2001:db8:1:2::/64"},
        {"::1", "::/64"},
        {"127.0.0.1", "127.0.0.0/24"},
        /* not addresses: kept, marked, only ever hashed */
        {"unknown", "?unknown"},
        {"../../etc/passwd", "?../../etc/passwd"},
        {"1.2.3.4/..", "?1.2.3.4/.."},
        {"01.2.3.4", "?01.2.3.4"},
        {"", "?"},
    };
    char out[GREYLIST_NET];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        greylist_net(cases[i].ip, out);
        CHECK_STR(out, cases[i].net);
    }
    greylist_net(NULL, out);
    CHECK_STR(out, "?");
    {
        char longip[300];

        memset(longip, 'x', sizeof longip - 1);
        longip[sizeof longip - 1] = '\0';
        greylist_net(longip, out);
        CHECK_INT(strlen(out), GREYLIST_NET - 1);
        CHECK(out[0] == '?');
    }
}

static bool
all_hex(const char *h)
{
    for (size_t i = 0; i < 64; i++)
        if (!strchr("0123456789abcdef", h[i]))
            return false;
    return h[64] == '\0';
}

static void
test_hash(void)
{
    char a[GREYLIST_HASH], b[GREYLIST_HASH];

    CHECK(greylist_hash("192.0.2.0/24", "Joe@Example.COM", 15, "u@d.test", 8,
                        a) == 0);
    CHECK(all_hex(a));
    /* case-blind */
    CHECK(greylist_hash("192.0.2.0/24", "joe@example.com", 15, "U@D.TEST", 8,
                        b) == 0);
    CHECK_STR(a, b);
    /* each part counts */
    CHECK(greylist_hash("192.0.3.0/24", "joe@example.com", 15, "u@d.test", 8,
                        b) == 0);
    CHECK(strcmp(a, b) != 0);
    CHECK(greylist_hash("192.0.2.0/24", "joe@example.org", 15, "u@d.test", 8,
                        b) == 0);
    CHECK(strcmp(a, b) != 0);
    CHECK(greylist_hash("192.0.2.0/24", "joe@example.com", 15, "v@d.test", 8,
                        b) == 0);
    CHECK(strcmp(a, b) != 0);
    /* no ambiguity where one part ends and the next begins */
    CHECK(greylist_hash("n", "ab", 2, "c", 1, a) == 0);
    CHECK(greylist_hash("n", "a", 1, "bc", 2, b) == 0);
    CHECK(strcmp(a, b) != 0);
    CHECK(greylist_hash("n", "a\0b", 3, "c", 1, a) == 0);
    CHECK(greylist_hash("n", "a", 1, "b\0c", 3, b) == 0);
    CHECK(strcmp(a, b) != 0);
    /* the null sender is a sender like any */
    CHECK(greylist_hash("n", "", 0, "c", 1, a) == 0);
    CHECK(all_hex(a));
    /* hostile bytes still make hex names */
    CHECK(greylist_hash("?../..", "../../../etc/passwd\n", 20, "/\0..", 4,
                        a) == 0);
    CHECK(all_hex(a));
}

/* postgrey's rule, step by step */
static void
test_flow(void)
{
    const char *d = dir("flow");
    const char *net = "192.0.2.0/24", *from = "a@far.test", *to = "u@d.test";
    char pend[700], ok[700];
    unsigned long a = 0;

    snprintf(pend, sizeof pend, "%s", tfile(d, net, from, to, ""));
    snprintf(ok, sizeof ok, "%s", tfile(d, net, from, to, ".ok"));
    CHECK_INT(verdict(d, &conf, net, from, to, NOW, &a), GREYLIST_NEW);
    CHECK(exists(pend) && !exists(ok));
    CHECK_INT(mtime(pend), NOW);
    /* a retry too early, however often, changes nothing */
    CHECK_INT(verdict(d, &conf, net, from, to, NOW + 10, &a), GREYLIST_EARLY);
    CHECK_INT(a, 10);
    CHECK_INT(verdict(d, &conf, net, from, to, NOW + 299, &a),
              GREYLIST_EARLY);
    CHECK_INT(mtime(pend), NOW);
    /* the same at exactly the delay passes, and is recorded */
    CHECK_INT(verdict(d, &conf, net, from, to, NOW + 300, &a),
              GREYLIST_PASSED);
    CHECK_INT(a, 300);
    CHECK(!exists(pend) && exists(ok));
    CHECK_INT(mtime(ok), NOW + 300);
    /* from now on it passes, refreshed once an hour old */
    CHECK_INT(verdict(d, &conf, net, from, to, NOW + 400, &a), GREYLIST_PASS);
    CHECK_INT(mtime(ok), NOW + 300);
    CHECK_INT(verdict(d, &conf, net, from, to, NOW + 86400, &a),
              GREYLIST_PASS);
    CHECK_INT(mtime(ok), NOW + 86400);
    /* unused for maxage: greylisted again */
    CHECK_INT(verdict(d, &conf, net, from, to, NOW + 86400 + 3024000, &a),
              GREYLIST_NEW);
    CHECK(exists(pend) && !exists(ok));
}

static void
test_window(void)
{
    const char *d = dir("window");
    const char *net = "198.51.100.0/24", *from = "", *to = "postmaster@d.test";
    char pend[700];

    snprintf(pend, sizeof pend, "%s", tfile(d, net, from, to, ""));
    CHECK_INT(verdict(d, &conf, net, from, to, NOW, NULL), GREYLIST_NEW);
    /* the last second of the window still passes ... */
    age(pend, NOW - 172800);
    CHECK_INT(verdict(d, &conf, net, from, to, NOW, NULL), GREYLIST_PASSED);
    /* ... one after it is a first try again, and the delay starts anew */
    CHECK_INT(verdict(d, &conf, net, from, "x@d.test", NOW, NULL),
              GREYLIST_NEW);
    snprintf(pend, sizeof pend, "%s", tfile(d, net, from, "x@d.test", ""));
    age(pend, NOW - 172801);
    CHECK_INT(verdict(d, &conf, net, from, "x@d.test", NOW, NULL),
              GREYLIST_EXPIRED);
    CHECK_INT(mtime(pend), NOW);
    CHECK_INT(verdict(d, &conf, net, from, "x@d.test", NOW + 1, NULL),
              GREYLIST_EARLY);
    CHECK_INT(verdict(d, &conf, net, from, "x@d.test", NOW + 300, NULL),
              GREYLIST_PASSED);
    /* a clock set back: an mtime far in the future is not trusted */
    CHECK_INT(verdict(d, &conf, net, from, "y@d.test", NOW + 100000, NULL),
              GREYLIST_NEW);
    CHECK_INT(verdict(d, &conf, net, from, "y@d.test", NOW, NULL),
              GREYLIST_EXPIRED);
}

/* norecord: a first sight refused, nothing written; a known one as ever */
static void
test_norecord(void)
{
    const char *d = dir("norecord");
    struct greylist_conf c = conf;
    char pend[700];

    CHECK_INT(verdict(d, &conf, "n", "a", "known", NOW, NULL), GREYLIST_NEW);
    c.norecord = true;
    CHECK_INT(verdict(d, &c, "n", "a", "new", NOW, NULL), GREYLIST_NEW);
    snprintf(pend, sizeof pend, "%s", tfile(d, "n", "a", "new", ""));
    CHECK(!exists(pend));
    CHECK_INT(verdict(d, &c, "n", "a", "new", NOW + 400, NULL), GREYLIST_NEW);
    CHECK_INT(verdict(d, &c, "n", "a", "known", NOW + 10, NULL),
              GREYLIST_EARLY);
    CHECK_INT(verdict(d, &c, "n", "a", "known", NOW + 300, NULL),
              GREYLIST_PASSED);
    CHECK_INT(verdict(d, &c, "n", "a", "known", NOW + 301, NULL),
              GREYLIST_PASS);
}

/* a network that passed conf.clients times is allowed for any triplet */
static void
test_clients(void)
{
    const char *d = dir("clients");
    const char *net = "203.0.113.0/24";
    char to[32];

    CHECK_INT(greylist_client(d, &conf, net, NOW), 0);
    for (int i = 0; i < 3; i++) {
        snprintf(to, sizeof to, "u%d@d.test", i);
        CHECK_INT(verdict(d, &conf, net, "s@x.test", to, NOW, NULL),
                  GREYLIST_NEW);
        CHECK_INT(greylist_client(d, &conf, net, NOW + 300), 0);
        CHECK_INT(verdict(d, &conf, net, "s@x.test", to, NOW + 300, NULL),
                  GREYLIST_PASSED);
    }
    CHECK_INT(greylist_client(d, &conf, net, NOW + 300), 1);
    /* passing an old triplet again does not count */
    {
        struct greylist_conf c = conf;

        c.clients = 4;
        CHECK_INT(verdict(d, &c, net, "s@x.test", "u0@d.test", NOW + 400,
                          NULL),
                  GREYLIST_PASS);
        CHECK_INT(greylist_client(d, &c, net, NOW + 400), 0);
    }
    CHECK_INT(greylist_client(d, &conf, "203.0.114.0/24", NOW + 300), 0);
    /* clients 0: never */
    {
        struct greylist_conf c = conf;

        c.clients = 0;
        CHECK_INT(greylist_client(d, &c, net, NOW + 300), 0);
    }
    /* its last pass maxage ago: no longer */
    CHECK_INT(greylist_client(d, &conf, net, NOW + 300 + 3024000), 0);
    /* and a new pass then counts from one */
    CHECK_INT(verdict(d, &conf, net, "s@x.test", "new@d.test",
                      NOW + 3024400, NULL),
              GREYLIST_NEW);
    CHECK_INT(verdict(d, &conf, net, "s@x.test", "new@d.test",
                      NOW + 3024700, NULL),
              GREYLIST_PASSED);
    CHECK_INT(greylist_client(d, &conf, net, NOW + 3024700), 0);
}

static void
test_expire(void)
{
    const char *d = dir("expire");
    char keep[700], stale[700], passed[700], oldpass[700], foreign[700];
    size_t n;

    CHECK_INT(verdict(d, &conf, "n", "a", "keep", NOW, NULL), GREYLIST_NEW);
    snprintf(keep, sizeof keep, "%s", tfile(d, "n", "a", "keep", ""));
    CHECK_INT(verdict(d, &conf, "n", "a", "stale", NOW, NULL), GREYLIST_NEW);
    snprintf(stale, sizeof stale, "%s", tfile(d, "n", "a", "stale", ""));
    age(stale, NOW - 172801);
    CHECK_INT(verdict(d, &conf, "n", "a", "p", NOW - 1000, NULL),
              GREYLIST_NEW);
    CHECK_INT(verdict(d, &conf, "n", "a", "p", NOW, NULL), GREYLIST_PASSED);
    snprintf(passed, sizeof passed, "%s", tfile(d, "n", "a", "p", ".ok"));
    CHECK_INT(verdict(d, &conf, "n", "a", "o", NOW - 1000, NULL),
              GREYLIST_NEW);
    CHECK_INT(verdict(d, &conf, "n", "a", "o", NOW - 600, NULL),
              GREYLIST_PASSED);
    snprintf(oldpass, sizeof oldpass, "%s", tfile(d, "n", "a", "o", ".ok"));
    age(oldpass, NOW - 3024000);
    /* a name not ours, beside them, old: left alone */
    snprintf(foreign, sizeof foreign, "%s", tfile(d, "n", "a", "keep", ".x"));
    CHECK(close(open(foreign, O_CREAT | O_WRONLY, 0600)) == 0);
    age(foreign, 1);
    CHECK(greylist_expire(d, &conf, 0, 256, NOW, &n) == 0);
    CHECK_INT(n, 2);
    CHECK(exists(keep) && !exists(stale) && exists(passed) &&
          !exists(oldpass) && exists(foreign));
    /* the built-in slices: one per GREYLIST_EVERY, by whoever is first */
    CHECK_INT(greylist_expire_due(d, &conf, NOW, &n), 1);
    CHECK_INT(greylist_expire_due(d, &conf, NOW + 10, &n), 0);
    CHECK_INT(greylist_expire_due(d, &conf, NOW + GREYLIST_EVERY, &n), 1);
    /* 256 / GREYLIST_SLICE slices cover every subdirectory */
    age(keep, NOW - 172801);
    {
        size_t total = 0;

        for (int i = 2; i < 2 + 256 / GREYLIST_SLICE; i++) {
            CHECK_INT(greylist_expire_due(d, &conf,
                                          NOW + i * GREYLIST_EVERY, &n),
                      1);
            total += n;
        }
        CHECK_INT(total, 1);
        CHECK(!exists(keep));
    }
    /* passes further apart than GREYLIST_EVERY (a quiet server) sweep
     * every slice whose turn came meanwhile, not only now's: a stale
     * triplet in each of the 256 subdirectories, passes two turns apart,
     * and all are gone after a round of turns */
    {
        time_t t0 = NOW + 100 * GREYLIST_EVERY;
        size_t total = 0;

        for (int sub = 0; sub < 256; sub++) {
            char p[800];

            snprintf(p, sizeof p, "%s/%02x", d, sub);
            mkdir(p, 0700);
            snprintf(p, sizeof p, "%s/%02x/%02x%062d", d, sub, sub, 0);
            CHECK(close(open(p, O_CREAT | O_WRONLY, 0600)) == 0);
            age(p, NOW - 172801);
        }
        CHECK_INT(greylist_expire_due(d, &conf, t0, &n), 1);
        total += n;
        for (int i = 1; i <= 256 / GREYLIST_SLICE / 2; i++) {
            CHECK_INT(greylist_expire_due(d, &conf,
                                          t0 + 2 * i * GREYLIST_EVERY, &n),
                      1);
            total += n;
        }
        CHECK_INT(total, 256);
    }
}

/* mksub - the directory of file p */
static void
mksub(const char *p)
{
    char sub[700];

    snprintf(sub, sizeof sub, "%.*s", (int)(strrchr(p, '/') - p), p);
    mkdir(sub, 0700);
}

/* anything wrong with the store is an error the caller can fail open on */
static void
test_trouble(void)
{
    const char *d = dir("trouble");
    char p[700], notdir[600];
    unsigned long a = 0;
    enum greylist_verdict v;
    size_t n;

    /* something planted under a triplet's name */
    snprintf(p, sizeof p, "%s", tfile(d, "n", "a", "b", ".ok"));
    mksub(p);
    CHECK(mkdir(p, 0700) == 0);
    errno = 0;
    CHECK_INT(verdict(d, &conf, "n", "a", "b", NOW, NULL), -1);
    CHECK_INT(errno, EINVAL);
    /* a fifo as a pending triplet does not hang us */
    snprintf(p, sizeof p, "%s", tfile(d, "n", "a", "fifo", ""));
    mksub(p);
    CHECK(mkfifo(p, 0600) == 0);
    CHECK_INT(verdict(d, &conf, "n", "a", "fifo", NOW, NULL), -1);
    /* the store is a file, not a directory */
    snprintf(notdir, sizeof notdir, "%s/plainfile", harness_tmpdir());
    CHECK(close(open(notdir, O_CREAT | O_WRONLY, 0600)) == 0);
    CHECK(greylist_check(notdir, &conf, "n", "a", 1, "b", 1, NOW, &v, &a) ==
          -1);
    CHECK(greylist_expire_due(notdir, &conf, NOW, &n) == -1);
    /* missing altogether */
    snprintf(notdir, sizeof notdir, "%s/none/greylist", harness_tmpdir());
    CHECK(greylist_check(notdir, &conf, "n", "a", 1, "b", 1, NOW, &v, &a) ==
          -1);
    CHECK(greylist_expire(notdir, &conf, 0, 256, NOW, &n) == 0 && n == 0);
}

static const struct test_case cases[] = {
    {"net", test_net},         {"hash", test_hash},
    {"flow", test_flow},       {"window", test_window},
    {"clients", test_clients}, {"expire", test_expire},
    {"trouble", test_trouble}, {"norecord", test_norecord},
};

TEST_MAIN(cases)
