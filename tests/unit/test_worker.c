/* SPDX-License-Identifier: ISC */
/*
 * test_worker - tcpserver -W's options packet (worker_conf_pack and
 * worker_conf_unpack) and dirwatch: every option survives the round
 * trip, absent strings stay NULL, unknown names are skipped, and packets
 * that are not ours are refused; dirwatch sees a file written in place,
 * a rename into the directory, a removal, and says nothing otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirwatch.h"
#include "harness.h"
#include "worker.h"

static void
test_round_trip(void)
{
    struct conn_conf a = {0}, b;
    struct bstr p = BSTR_INIT;
    unsigned long uses = 0;

    a.rules = "/etc/tcp.smtp.cdb";
    a.rules_optional = true;
    a.lookup_host = false;
    a.paranoid = true;
    a.ident = true;
    a.ident_timeout = 26;
    a.localhost_fixed = true;
    a.localhost = "mx.example";
    a.banner = "hello\r\nthere";
    a.nodelay = true;
    a.killopts = true;
    a.verbosity = CONN_VERBOSE;
    CHECK_INT(worker_conf_pack(&p, &a, 100), 0);
    CHECK(p.s[0] == 'c');
    CHECK_INT(worker_conf_unpack(p.s, p.len, &b, &uses), 0);
    CHECK_STR(b.rules, a.rules);
    CHECK_STR(b.localhost, a.localhost);
    CHECK_STR(b.banner, a.banner);
    CHECK(b.rules_optional && !b.lookup_host && b.paranoid && b.ident);
    CHECK_INT(b.ident_timeout, 26);
    CHECK(b.localhost_fixed && b.nodelay && b.killopts);
    CHECK_INT(b.verbosity, CONN_VERBOSE);
    CHECK_INT(uses, 100);
    CHECK(b.argv == NULL);

    /* absent strings stay absent */
    memset(&a, 0, sizeof a);
    CHECK_INT(worker_conf_pack(&p, &a, 0), 0);
    CHECK_INT(worker_conf_unpack(p.s, p.len, &b, &uses), 0);
    CHECK(b.rules == NULL && b.localhost == NULL && b.banner == NULL);
    CHECK_INT(uses, 1); /* 0 would be no sessions at all */
    bstr_free(&p);
}

static void
test_refused(void)
{
    static const struct {
        const char *name;
        const char *p;
        size_t len;
    } bad[] = {
        {"empty", "", 0},
        {"not a c packet", "nrules=x", 9},
        {"unterminated", "crules=x", 8},
        {"no equals sign", "crules\0", 7},
        {"bad number", "cverbosity=x\0", 13},
        {"number out of range", "cverbosity=3\0", 13},
        {"flag out of range", "cparanoid=2\0", 12},
        {"timeout out of range", "cident_timeout=3601\0", 20},
        {"overflow", "cuses=99999999999999999999999\0", 30},
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[64];
        struct conn_conf cf;
        unsigned long uses;

        memcpy(buf, bad[i].p, bad[i].len);
        errno = 0;
        if (!CHECK_INT(worker_conf_unpack(buf, bad[i].len, &cf, &uses), -1))
            fprintf(stderr, "  case: %s\n", bad[i].name);
        CHECK_INT(errno, EPROTO);
    }
}

static void
test_unknown_skipped(void)
{
    char buf[] = "cfuture=1\0rules=/x\0";
    struct conn_conf cf;
    unsigned long uses;

    CHECK_INT(worker_conf_unpack(buf, sizeof buf - 1, &cf, &uses), 0);
    CHECK_STR(cf.rules, "/x");
}

static void
test_too_long(void)
{
    struct conn_conf a = {0};
    struct bstr p = BSTR_INIT;
    char *big = malloc(WORKER_MSG_MAX + 1);

    CHECK(big != NULL);
    memset(big, 'b', WORKER_MSG_MAX);
    big[WORKER_MSG_MAX] = '\0';
    a.banner = big;
    errno = 0;
    CHECK_INT(worker_conf_pack(&p, &a, 1), -1);
    CHECK_INT(errno, EMSGSIZE);
    free(big);
    bstr_free(&p);
}

static void
test_dirwatch(void)
{
    char dir[512], f[600], g[600];
    int fd, w;

    snprintf(dir, sizeof dir, "%s/watched", harness_tmpdir());
    CHECK_INT(mkdir(dir, 0755), 0);
    snprintf(f, sizeof f, "%s/rcpthosts", dir);
    snprintf(g, sizeof g, "%s/../rcpthosts.tmp", dir);
    fd = open(f, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd != -1);
    close(fd);
    w = dirwatch_open(dir);
    CHECK(w != -1);
    CHECK(!dirwatch_changed(w));
    /* written in place */
    fd = open(f, O_WRONLY | O_APPEND);
    CHECK(write(fd, "x\n", 2) == 2);
    close(fd);
    CHECK(dirwatch_changed(w));
    CHECK(!dirwatch_changed(w)); /* events are consumed */
    /* replaced by rename from outside */
    fd = open(g, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    close(fd);
    CHECK_INT(rename(g, f), 0);
    CHECK(dirwatch_changed(w));
    CHECK_INT(unlink(f), 0);
    CHECK(dirwatch_changed(w));
    CHECK(!dirwatch_changed(w));
    dirwatch_close(w);
    /* no watch (a failed open): always "changed", which is safe */
    CHECK(dirwatch_changed(-1));
    errno = 0;
    CHECK_INT(dirwatch_open("/nonexistent/dir"), -1);
    CHECK_INT(errno, ENOENT);
    rmdir(dir);
}

static const struct test_case cases[] = {
    {"options round trip", test_round_trip},
    {"packets that are not ours", test_refused},
    {"unknown names skipped", test_unknown_skipped},
    {"options too long for a packet", test_too_long},
    {"dirwatch", test_dirwatch},
};

TEST_MAIN(cases)
