/* SPDX-License-Identifier: ISC */
/*
 * test_ratestore - the shared counter file: fixed and sliding windows
 * rolling (time simulated through the now argument, never slept), limits
 * exact under fork()ed writers hammering the same keys, the admin told
 * once per window, a full table and its stale slots reused, and files
 * that are not ours (garbage, truncated, another version, scribbled
 * slots) replaced or survived, never trusted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "ratestore.h"

#define NOW ((time_t)1800000000)
#define MSGS_MIN RATE_COUNTER(RATE_MSGS, RATE_MIN)
#define MSGS_HOUR RATE_COUNTER(RATE_MSGS, RATE_HOUR)
#define MSGS_DAY RATE_COUNTER(RATE_MSGS, RATE_DAY)
#define CONN_MIN RATE_COUNTER(RATE_CONN, RATE_MIN)

static const char *
path(const char *name)
{
    static char p[512];

    snprintf(p, sizeof p, "%s/%s", harness_tmpdir(), name);
    return p;
}

/* start of a minute, hour and day: windows are easy to reason about */
static time_t
day0(void)
{
    return NOW - NOW % 86400;
}

static uint32_t
slot_of(struct ratestore *rs, const char *key, time_t now)
{
    uint32_t i = UINT32_MAX;

    CHECK_INT(ratestore_find(rs, key, strlen(key), now, true, &i), 1);
    return i;
}

static void
test_create_and_persist(void)
{
    struct ratestore rs;
    uint32_t i, j;
    uint64_t n = 0;
    struct stat st;

    CHECK_INT(ratestore_open(&rs, path("a.db"), 64, false), -1);
    CHECK_INT(errno, ENOENT);
    CHECK_INT(ratestore_open(&rs, path("a.db"), 64, true), 0);
    CHECK(!rs.replaced);
    CHECK_INT(rs.nslots, 64);
    CHECK_INT(stat(path("a.db"), &st), 0);
    CHECK_INT(st.st_size, 4096 + 64 * 512);
    CHECK_INT(st.st_mode & 0777, 0600);
    i = slot_of(&rs, "user:joe@example.com", day0());
    for (int k = 0; k < 5; k++)
        CHECK_INT(ratestore_add(&rs, i, MSGS_DAY, 0, false, day0() + k, &n),
                  1);
    CHECK_INT(n, 5);
    ratestore_close(&rs);
    /* a restart: the daily count is still there, the size asked now is
     * ignored for an existing good file */
    CHECK_INT(ratestore_open(&rs, path("a.db"), 1024, true), 0);
    CHECK_INT(rs.nslots, 64);
    CHECK_INT(ratestore_find(&rs, "user:joe@example.com", 20, day0() + 100,
                             false, &j), 1);
    CHECK_INT(j, i);
    CHECK_INT(ratestore_count(&rs, j, MSGS_DAY, false, day0() + 100), 5);
    CHECK_INT(ratestore_find(&rs, "user:bob@example.com", 20, day0(), false,
                             &j), 0);
    CHECK(!ratestore_moved(&rs, path("a.db")));
    {
        char a[512], a2[512];

        snprintf(a, sizeof a, "%s", path("a.db"));
        snprintf(a2, sizeof a2, "%s", path("a2.db"));
        CHECK_INT(rename(a, a2), 0); /* gone: moved */
        CHECK(ratestore_moved(&rs, a));
        CHECK_INT(rename(a2, a), 0);
    }
    CHECK(!ratestore_moved(&rs, path("a.db")));
    ratestore_close(&rs);
    ratestore_close(&rs); /* twice is harmless */
    CHECK(!ratestore_moved(&rs, path("a.db")));
    CHECK_INT(ratestore_open(&rs, path("a.db"), 8, true), -1);
    CHECK_INT(errno, EINVAL);
}

/* a fixed window: exactly limit per window, a new window starts at 0 */
static void
test_fixed_window_rolls(void)
{
    struct ratestore rs;
    time_t t = day0();
    uint64_t n = 0;
    uint32_t i;

    CHECK_INT(ratestore_open(&rs, path("f.db"), 64, true), 0);
    i = slot_of(&rs, "ip:192.0.2.1", t);
    for (int k = 1; k <= 3; k++) {
        CHECK_INT(ratestore_add(&rs, i, MSGS_MIN, 3, false, t + 10, &n), 1);
        CHECK_INT(n, k);
    }
    CHECK_INT(ratestore_add(&rs, i, MSGS_MIN, 3, false, t + 59, &n), 0);
    CHECK_INT(n, 3);
    CHECK_INT(ratestore_count(&rs, i, MSGS_MIN, false, t + 59), 3);
    /* refused attempts are not counted: still 3 */
    CHECK_INT(ratestore_add(&rs, i, MSGS_MIN, 3, false, t + 59, &n), 0);
    CHECK_INT(ratestore_count(&rs, i, MSGS_MIN, false, t + 59), 3);
    /* the next minute */
    CHECK_INT(ratestore_count(&rs, i, MSGS_MIN, false, t + 60), 0);
    CHECK_INT(ratestore_add(&rs, i, MSGS_MIN, 3, false, t + 60, &n), 1);
    CHECK_INT(n, 1);
    /* the hour counter of the same slot is separate and still counts */
    CHECK_INT(ratestore_add(&rs, i, MSGS_HOUR, 0, false, t + 61, &n), 1);
    CHECK_INT(n, 1);
    CHECK_INT(ratestore_count(&rs, i, MSGS_MIN, false, t + 61), 1);
    /* an hour later the minute count is gone, long after too */
    CHECK_INT(ratestore_count(&rs, i, MSGS_MIN, false, t + 3700), 0);
    CHECK_INT(ratestore_count(&rs, i, MSGS_HOUR, false, t + 3600), 0);
    CHECK_INT(ratestore_count(&rs, i, MSGS_HOUR, false, t + 3599), 1);
    /* a clock set back: the "future" window is forgotten, not trusted */
    CHECK_INT(ratestore_add(&rs, i, MSGS_MIN, 3, false, t + 7200, &n), 1);
    CHECK_INT(ratestore_add(&rs, i, MSGS_MIN, 3, false, t, &n), 1);
    CHECK_INT(n, 1);
    ratestore_close(&rs);
}

/* a sliding window: the last window's count weighs what of it is still
 * within the period */
static void
test_sliding_window(void)
{
    struct ratestore rs;
    time_t t = day0();
    uint64_t n = 0;
    uint32_t i;

    CHECK_INT(ratestore_open(&rs, path("s.db"), 64, true), 0);
    i = slot_of(&rs, "user:joe@example.com", t);
    for (int k = 0; k < 60; k++)
        CHECK_INT(ratestore_add(&rs, i, MSGS_HOUR, 100, true, t + 3000, &n),
                  1);
    /* a quarter into the next hour: 60 * 3/4 = 45 still count */
    CHECK_INT(ratestore_count(&rs, i, MSGS_HOUR, true, t + 3600 + 900), 45);
    CHECK_INT(ratestore_count(&rs, i, MSGS_HOUR, false, t + 3600 + 900), 0);
    for (int k = 0; k < 55; k++)
        CHECK_INT(ratestore_add(&rs, i, MSGS_HOUR, 100, true,
                                t + 3600 + 900, &n), 1);
    CHECK_INT(n, 100);
    CHECK_INT(ratestore_add(&rs, i, MSGS_HOUR, 100, true, t + 3600 + 900, &n),
              0);
    /* at three quarters, 60/4 = 15 of the old hour remain: 70 in all */
    CHECK_INT(ratestore_count(&rs, i, MSGS_HOUR, true, t + 3600 + 2700), 70);
    CHECK_INT(ratestore_add(&rs, i, MSGS_HOUR, 100, true, t + 3600 + 2700,
                            &n), 1);
    CHECK_INT(n, 71);
    /* rounded up: one second into the next hour, the 56 of the last
     * (55 + 1) count 56 * 3599/3600 = 55.98 as 56; at its last second,
     * 56/3600 still as 1 */
    CHECK_INT(ratestore_count(&rs, i, MSGS_HOUR, true, t + 7200 + 1), 56);
    CHECK_INT(ratestore_count(&rs, i, MSGS_HOUR, true, t + 7200 + 3599), 1);
    /* two hours on, nothing of either */
    CHECK_INT(ratestore_count(&rs, i, MSGS_HOUR, true, t + 3 * 3600 + 1), 0);
    ratestore_close(&rs);
}

static void
test_undo_and_tell(void)
{
    struct ratestore rs;
    time_t t = day0();
    uint64_t n;
    uint32_t i;

    CHECK_INT(ratestore_open(&rs, path("u.db"), 64, true), 0);
    i = slot_of(&rs, "domain:example.com", t);
    CHECK_INT(ratestore_add(&rs, i, MSGS_DAY, 0, false, t, &n), 1);
    CHECK_INT(ratestore_add(&rs, i, MSGS_DAY, 0, false, t, &n), 1);
    ratestore_undo(&rs, i, MSGS_DAY, t);
    CHECK_INT(ratestore_count(&rs, i, MSGS_DAY, false, t), 1);
    ratestore_undo(&rs, i, MSGS_DAY, t);
    ratestore_undo(&rs, i, MSGS_DAY, t); /* never below 0 */
    CHECK_INT(ratestore_count(&rs, i, MSGS_DAY, false, t), 0);
    /* told once per window and counter */
    CHECK(ratestore_tell(&rs, i, MSGS_DAY, t));
    CHECK(!ratestore_tell(&rs, i, MSGS_DAY, t + 100));
    CHECK(ratestore_tell(&rs, i, MSGS_HOUR, t + 100));
    CHECK(!ratestore_tell(&rs, i, MSGS_HOUR, t + 200));
    CHECK(ratestore_tell(&rs, i, MSGS_HOUR, t + 3600));
    CHECK(ratestore_tell(&rs, i, MSGS_DAY, t + 86400));
    /* reset: counts and told marks gone, the key stays */
    CHECK_INT(ratestore_add(&rs, i, MSGS_DAY, 0, false, t + 86400, &n), 1);
    ratestore_reset(&rs, i);
    CHECK_INT(ratestore_count(&rs, i, MSGS_DAY, false, t + 86400), 0);
    CHECK(ratestore_tell(&rs, i, MSGS_DAY, t + 86400));
    CHECK_INT(ratestore_find(&rs, "domain:example.com", 18, t, false, &i), 1);
    ratestore_close(&rs);
}

/*
 * Eight processes count on the same four keys at once: every count must
 * be there (no update lost), and with a limit exactly the limit succeeds
 * in all, however the processes interleave.
 */
static void
test_concurrent_writers(void)
{
    enum { KIDS = 8, EACH = 4000, LIMIT = 5000 };
    static const char *const keys[] = {"ip:192.0.2.1", "net:192.0.2.0/24",
                                       "user:joe@example.com",
                                       "domain:example.com"};
    struct ratestore rs;
    time_t t = day0() + 30;
    int fds[KIDS][2];
    pid_t pid[KIDS];
    long ok_total = 0;

    CHECK_INT(ratestore_open(&rs, path("c.db"), 256, true), 0);
    ratestore_close(&rs);
    for (int k = 0; k < KIDS; k++) {
        CHECK_INT(pipe(fds[k]), 0);
        pid[k] = fork();
        CHECK(pid[k] != -1);
        if (pid[k] == 0) {
            struct ratestore my;
            long ok = 0;

            /* each child maps the file itself, as smtpd processes do */
            if (ratestore_open(&my, path("c.db"), 256, true) == -1)
                _exit(1);
            for (int n = 0; n < EACH; n++) {
                const char *key = keys[(n + k) % 4];
                uint32_t i;

                if (ratestore_find(&my, key, strlen(key), t, true, &i) != 1)
                    _exit(2);
                (void)ratestore_add(&my, i, MSGS_HOUR, 0, false, t, NULL);
                /* joe's successes, summed over the children */
                if (ratestore_add(&my, i, MSGS_DAY, LIMIT, false, t,
                                  NULL) == 1 &&
                    strcmp(key, "user:joe@example.com") == 0)
                    ok++;
            }
            if (write(fds[k][1], &ok, sizeof ok) != sizeof ok)
                _exit(3);
            _exit(0);
        }
        close(fds[k][1]);
    }
    for (int k = 0; k < KIDS; k++) {
        int st;
        long ok = 0;

        CHECK_INT(read(fds[k][0], &ok, sizeof ok), sizeof ok);
        close(fds[k][0]);
        ok_total += ok;
        CHECK_INT(waitpid(pid[k], &st, 0), pid[k]);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CHECK_INT(ratestore_open(&rs, path("c.db"), 256, false), 0);
    for (int n = 0; n < 4; n++) {
        uint32_t i;

        CHECK_INT(ratestore_find(&rs, keys[n], strlen(keys[n]), t, false, &i),
                  1);
        /* no update lost, and one slot per key */
        CHECK_INT(ratestore_count(&rs, i, MSGS_HOUR, false, t),
                  KIDS * EACH / 4);
        /* 8000 tries against a limit of 5000: exactly 5000 counted */
        CHECK_INT(ratestore_count(&rs, i, MSGS_DAY, false, t), LIMIT);
    }
    CHECK_INT(ok_total, LIMIT);
    ratestore_close(&rs);
}

/*
 * Two processes whose clocks straddle a minute's edge: the one a second
 * behind counts in the newer window instead of rolling the counter back
 * and wiping what was counted there, and its take-back (a refusal) finds
 * the count it made.
 */
static void
test_clock_a_second_behind(void)
{
    struct ratestore rs;
    const char *key = "ip:192.0.2.77";
    time_t t = day0() + 120; /* the start of a minute */
    uint64_t n = 0;
    uint32_t i;

    CHECK_INT(ratestore_open(&rs, path("behind.db"), 64, true), 0);
    CHECK_INT(ratestore_find(&rs, key, strlen(key), t, true, &i), 1);
    for (int k = 0; k < 3; k++)
        CHECK_INT(ratestore_add(&rs, i, MSGS_MIN, 10, false, t, NULL), 1);
    CHECK_INT(ratestore_add(&rs, i, MSGS_MIN, 10, false, t - 1, &n), 1);
    CHECK_INT(n, 4);
    CHECK_INT(ratestore_count(&rs, i, MSGS_MIN, false, t), 4);
    ratestore_undo(&rs, i, MSGS_MIN, t - 1);
    CHECK_INT(ratestore_count(&rs, i, MSGS_MIN, false, t), 3);
    /* the limit holds across the edge too */
    for (int k = 0; k < 7; k++)
        CHECK_INT(ratestore_add(&rs, i, MSGS_MIN, 10, false, t - 1, NULL), 1);
    CHECK_INT(ratestore_add(&rs, i, MSGS_MIN, 10, false, t, &n), 0);
    CHECK_INT(n, 10);
    ratestore_close(&rs);
}

/*
 * A process descheduled in the middle of claiming a key's slot (a loaded
 * machine) must not make another process claim a second slot for the
 * same key: the other one waits for the claim to be published, however
 * long that takes, and then finds it.  (It used to give up after a few
 * thousand yields and claim the next slot, splitting the key's counts.)
 */
static void
test_slow_claim_is_waited_for(void)
{
    struct ratestore rs;
    const char *key = "ip:192.0.2.9";
    time_t t = day0();
    uint32_t i, j;
    uint64_t claiming = ((uint64_t)t << 2) | 2;
    pid_t pid;
    int st;

    CHECK_INT(ratestore_open(&rs, path("slow.db"), 64, true), 0);
    CHECK_INT(ratestore_find(&rs, key, strlen(key), t, true, &i), 1);
    /* the slot looks half claimed, as by a process stopped mid-claim */
    __atomic_store_n(&rs.slot[i].tag, claiming, __ATOMIC_SEQ_CST);
    pid = fork();
    CHECK(pid != -1);
    if (pid == 0) {
        struct timespec ms = {0, 300 * 1000000L};

        nanosleep(&ms, NULL); /* far longer than the spins */
        __atomic_store_n(&rs.slot[i].tag, 1, __ATOMIC_SEQ_CST);
        _exit(0);
    }
    CHECK_INT(ratestore_find(&rs, key, strlen(key), t, true, &j), 1);
    CHECK_INT(j, i);
    CHECK_INT(waitpid(pid, &st, 0), pid);
    /* a claim that stays half done past CLAIM_STUCK seconds is broken */
    __atomic_store_n(&rs.slot[i].tag, claiming, __ATOMIC_SEQ_CST);
    CHECK_INT(ratestore_find(&rs, key, strlen(key), t + 60, true, &j), 1);
    CHECK_INT(ratestore_count(&rs, j, MSGS_DAY, false, t + 60), 0);
    /* a claim stamped far in the future is a scribble: broken at once,
     * not waited on for CLAIM_STUCK seconds of real time */
    {
        struct timespec a, b;

        __atomic_store_n(&rs.slot[j].tag, ((uint64_t)(t + 86400) << 2) | 2,
                         __ATOMIC_SEQ_CST);
        clock_gettime(CLOCK_MONOTONIC, &a);
        CHECK_INT(ratestore_find(&rs, key, strlen(key), t + 60, true, &i), 1);
        clock_gettime(CLOCK_MONOTONIC, &b);
        CHECK(b.tv_sec - a.tv_sec < 2);
    }
    ratestore_close(&rs);
}

/* a full table refuses new keys (the caller fails open); a slot whose
 * counts are all older than their last window serves a new key */
static void
test_full_table(void)
{
    struct ratestore rs;
    time_t t = day0();
    char key[64];
    uint32_t i;
    int made = 0;

    CHECK_INT(ratestore_open(&rs, path("full.db"), 16, true), 0);
    for (int k = 0; k < 40; k++) {
        snprintf(key, sizeof key, "ip:192.0.2.%d", k);
        if (ratestore_find(&rs, key, strlen(key), t, true, &i) == 1) {
            CHECK_INT(ratestore_add(&rs, i, CONN_MIN, 0, false, t, NULL), 1);
            made++;
        } else {
            CHECK_INT(errno, ENOSPC);
        }
    }
    CHECK_INT(made, 16);
    snprintf(key, sizeof key, "ip:198.51.100.1");
    CHECK_INT(ratestore_find(&rs, key, strlen(key), t + 60, true, &i), -1);
    CHECK_INT(errno, ENOSPC);
    /* two minutes on, the per-minute counts are stale */
    CHECK_INT(ratestore_find(&rs, key, strlen(key), t + 120, true, &i), 1);
    CHECK_INT(ratestore_count(&rs, i, CONN_MIN, false, t + 120), 0);
    CHECK_INT(ratestore_add(&rs, i, CONN_MIN, 0, false, t + 120, NULL), 1);
    CHECK_INT(ratestore_find(&rs, key, strlen(key), t + 120, false, &i), 1);
    /* a key longer than a slot holds is refused, not cut */
    {
        char big[RATESTORE_KEY_MAX + 2];

        memset(big, 'x', sizeof big);
        CHECK_INT(ratestore_find(&rs, big, sizeof big, t, true, &i), -1);
        CHECK_INT(errno, ENAMETOOLONG);
        CHECK_INT(ratestore_find(&rs, big, RATESTORE_KEY_MAX, t + 500, true,
                                 &i), 1);
    }
    ratestore_close(&rs);
}

/* a slot found for a key stays that key's until it is counted in, even
 * when all its counts are old: a process between ratestore_find and
 * ratestore_add must not count in a slot another key took meanwhile */
static void
test_found_slot_kept_until_counted(void)
{
    struct ratestore rs;
    time_t t = day0();
    char key[64];
    uint32_t x, got[15];

    CHECK_INT(ratestore_open(&rs, path("grace.db"), 16, true), 0);
    for (int k = 0; k < 16; k++) {
        snprintf(key, sizeof key, "ip:192.0.2.%d", k);
        x = slot_of(&rs, key, t);
        CHECK_INT(ratestore_add(&rs, x, CONN_MIN, 0, false, t, NULL), 1);
    }
    /* two minutes on, all 16 are stale: X takes one and has not counted */
    x = slot_of(&rs, "ip:198.51.100.1", t + 120);
    for (int k = 0; k < 15; k++) {
        snprintf(key, sizeof key, "ip:203.0.113.%d", k);
        got[k] = slot_of(&rs, key, t + 121);
        CHECK(got[k] != x);
        for (int m = 0; m < k; m++)
            CHECK(got[m] != got[k]);
    }
    /* all 16 slots are taken now, none of them stale */
    CHECK_INT(ratestore_find(&rs, "ip:203.0.113.99", 15, t + 122, true, &x),
              -1);
    CHECK_INT(errno, ENOSPC);
    CHECK_INT(ratestore_find(&rs, "ip:198.51.100.1", 15, t + 122, false, &x),
              1);
    /* found again later, the slot is refreshed as its key's */
    CHECK_INT(ratestore_find(&rs, "ip:198.51.100.1", 15, t + 170, true, &x),
              1);
    CHECK_INT(ratestore_find(&rs, "ip:203.0.113.99", 15, t + 200, true,
                             &got[0]), 1);
    CHECK(got[0] != x);
    /* a used time far ahead of the clock is a scribble, not a claim */
    CHECK_INT(ratestore_find(&rs, "ip:203.0.113.99", 15, t + 200, false,
                             &got[0]), 1);
    rs.slot[got[0]].used = (uint64_t)t + 86400 * 365;
    CHECK_INT(ratestore_find(&rs, "ip:203.0.113.98", 15, t + 400, true, &x),
              1);
    ratestore_close(&rs);
}

/* processes that find no store and create it at once all end up counting
 * in one file: the second creator finds the first's instead of putting
 * its own over it */
static void
test_created_at_once(void)
{
    time_t t = day0();

    for (int round = 0; round < 10; round++) {
        char name[32];
        struct ratestore rs;
        uint32_t i;
        pid_t kids[6];

        snprintf(name, sizeof name, "race%d.db", round);
        for (int k = 0; k < 6; k++) {
            kids[k] = fork();
            CHECK(kids[k] != -1);
            if (kids[k] == 0) {
                if (ratestore_open(&rs, path(name), 64, true) == -1 ||
                    ratestore_find(&rs, "ip:192.0.2.1", 12, t, true, &i) != 1 ||
                    ratestore_add(&rs, i, MSGS_DAY, 0, false, t, NULL) != 1)
                    _exit(1);
                _exit(0);
            }
        }
        for (int k = 0; k < 6; k++) {
            int st;

            CHECK(waitpid(kids[k], &st, 0) == kids[k]);
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        CHECK_INT(ratestore_open(&rs, path(name), 64, false), 0);
        CHECK_INT(ratestore_find(&rs, "ip:192.0.2.1", 12, t, false, &i), 1);
        CHECK_INT(ratestore_count(&rs, i, MSGS_DAY, false, t), 6);
        ratestore_close(&rs);
    }
}

static void
write_file(const char *p, const void *b, size_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    CHECK(fd != -1);
    CHECK_INT(write(fd, b, n), (long long)n);
    close(fd);
}

/* files that are not a good store: replaced when we may, never used */
static void
test_corrupt_files(void)
{
    struct ratestore rs;
    char junk[8192];
    uint32_t i;
    int fd;

    memset(junk, 'Z', sizeof junk);
    write_file(path("bad.db"), junk, sizeof junk);
    CHECK_INT(ratestore_open(&rs, path("bad.db"), 64, false), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(ratestore_open(&rs, path("bad.db"), 64, true), 0);
    CHECK(rs.replaced);
    CHECK_INT(rs.nslots, 64);
    ratestore_close(&rs);
    /* a good file cut short (the size no longer matches the header) */
    CHECK_INT(truncate(path("bad.db"), 4096 + 10 * 512), 0);
    CHECK_INT(ratestore_open(&rs, path("bad.db"), 64, true), 0);
    CHECK(rs.replaced);
    ratestore_close(&rs);
    /* another version, the checksum not updated and then updated */
    fd = open(path("bad.db"), O_RDWR);
    CHECK(fd != -1);
    CHECK_INT(pwrite(fd, "\2\0\0\0", 4, 8), 4);
    close(fd);
    CHECK_INT(ratestore_open(&rs, path("bad.db"), 64, true), 0);
    CHECK(rs.replaced);
    ratestore_close(&rs);
    /* an empty file, a directory, a symlink */
    write_file(path("bad.db"), "", 0);
    CHECK_INT(ratestore_open(&rs, path("bad.db"), 64, true), 0);
    CHECK(rs.replaced);
    ratestore_close(&rs);
    {
        char target[512];

        snprintf(target, sizeof target, "%s", path("bad.db"));
        CHECK_INT(symlink(target, path("link.db")), 0);
    }
    CHECK_INT(ratestore_open(&rs, path("link.db"), 64, false), -1);
    CHECK_INT(errno, ELOOP);
    /* slots scribbled on by someone with write access: every operation
     * stays inside the map and the keys still work */
    CHECK_INT(ratestore_open(&rs, path("bad.db"), 64, true), 0);
    i = slot_of(&rs, "ip:192.0.2.9", day0());
    for (size_t k = 0; k < 64 * 512; k++)
        rs.map[4096 + k] = (unsigned char)(k * 131 + 7);
    for (uint32_t s = 0; s < 64; s++) {
        char key[RATESTORE_KEY_MAX];
        size_t len;

        (void)ratestore_key(&rs, s, key, &len);
        (void)ratestore_count(&rs, s, MSGS_DAY, true, day0());
    }
    for (int k = 0; k < 100; k++) {
        char key[32];

        snprintf(key, sizeof key, "ip:10.0.0.%d", k);
        if (ratestore_find(&rs, key, strlen(key), day0(), true, &i) == 1)
            CHECK_INT(ratestore_add(&rs, i, CONN_MIN, 0, false, day0(), NULL),
                      1);
    }
    /* an index out of range is reduced, not followed */
    (void)ratestore_count(&rs, 0xffffffffu, 12345, true, day0());
    ratestore_reset(&rs, 0xfffffff0u);
    ratestore_close(&rs);
    /* the store made unreadable: an error for the caller to fail open */
    if (geteuid() != 0) {
        CHECK_INT(chmod(path("bad.db"), 0), 0);
        CHECK_INT(ratestore_open(&rs, path("bad.db"), 64, true), -1);
        CHECK_INT(errno, EACCES);
    }
}

static void
test_keys_and_names(void)
{
    struct bstr b = BSTR_INIT;
    static const struct {
        const char *ip;
        const char *ipkey, *netkey;
    } t[] = {
        {"192.0.2.77", "ip:192.0.2.77", "net:192.0.2.0/24"},
        {"::ffff:192.0.2.77", "ip:192.0.2.77", "net:192.0.2.0/24"},
        {"2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2:3:4:5:6",
         "net:2001:db8:1:2::/64"},
        {"::1", "ip:::1", "net:::/64"},
    };

    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        CHECK_INT(ratestore_ipkey(&b, t[k].ip, false), 0);
        CHECK_BSTR(b, t[k].ipkey);
        CHECK_INT(ratestore_ipkey(&b, t[k].ip, true), 0);
        CHECK_BSTR(b, t[k].netkey);
    }
    CHECK_INT(ratestore_ipkey(&b, "unknown", false), -1);
    CHECK_INT(ratestore_ipkey(&b, "192.0.2.1/../x", true), -1);
    CHECK_INT(ratestore_ipkey(&b, "", true), -1);
    bstr_free(&b);
    /* names: lower case, blanks, controls, 8-bit bytes and '%' escaped,
     * so no two names share a key */
    CHECK_INT(ratestore_namekey(&b, "user", "Joe@Example.TEST", 16), 0);
    CHECK_BSTR(b, "user:joe@example.test");
    CHECK_INT(ratestore_namekey(&b, "user", "a%41 b\x1b\xc3\xa9\x7f", 10), 0);
    CHECK_BSTR(b, "user:a%2541%20b%1b%c3%a9%7f");
    CHECK_INT(ratestore_namekey(&b, "user", "a\0b", 3), 0);
    CHECK_BSTR(b, "user:a%00b");
    /* exactly as long as a key may be: kept whole */
    {
        char name[RATESTORE_KEY_MAX + 100];
        struct bstr c = BSTR_INIT;

        memset(name, 'x', sizeof name);
        CHECK_INT(ratestore_namekey(&b, "user", name, RATESTORE_KEY_MAX - 5), 0);
        CHECK_INT((long long)b.len, RATESTORE_KEY_MAX);
        CHECK(b.s[b.len - 1] == 'x');
        /* one byte over: its start, '#', a hash of the whole */
        CHECK_INT(ratestore_namekey(&b, "user", name, RATESTORE_KEY_MAX - 4), 0);
        CHECK_INT((long long)b.len, RATESTORE_KEY_MAX);
        CHECK(b.s[RATESTORE_KEY_MAX - 17] == '#');
        /* an escape cut at the edge, and names that differ only past it,
         * still give different keys */
        name[RATESTORE_KEY_MAX - 18] = '\x01';
        CHECK_INT(ratestore_namekey(&b, "user", name, sizeof name), 0);
        name[sizeof name - 1] = 'y';
        CHECK_INT(ratestore_namekey(&c, "user", name, sizeof name), 0);
        CHECK_INT((long long)c.len, RATESTORE_KEY_MAX);
        CHECK(b.len == c.len && memcmp(b.s, c.s, b.len) != 0);
        CHECK(memcmp(b.s, c.s, RATESTORE_KEY_MAX - 16) == 0);
        bstr_free(&c);
    }
    CHECK_INT(ratestore_counter_parse("msgs/hour", 9), MSGS_HOUR);
    CHECK_INT(ratestore_counter_parse("conn/min", 8), CONN_MIN);
    CHECK_INT(ratestore_counter_parse("rcpts/day", 9),
              RATE_COUNTER(RATE_RCPTS, RATE_DAY));
    CHECK_INT(ratestore_counter_parse("msgs/week", 9), -1);
    CHECK_INT(ratestore_counter_parse("msgs/hou", 8), -1);
    CHECK_INT(ratestore_counter_parse("", 0), -1);
    for (unsigned c = 0; c < RATE_COUNTERS; c++) {
        const char *n = ratestore_counter_name(c);

        CHECK_INT(ratestore_counter_parse(n, strlen(n)), c);
    }
    CHECK_INT(ratestore_period(MSGS_DAY), 86400);
}

/* the window line, as qmail-smtpd's rules and qmail-rate both read it */
static void
test_window_line(void)
{
    bool sl = true;

    CHECK_INT(ratestore_window_line("window:fixed", 12, &sl), 1);
    CHECK(!sl);
    CHECK_INT(ratestore_window_line(" \twindow:sliding \t", 18, &sl), 1);
    CHECK(sl);
    CHECK_INT(ratestore_window_line("  window:fixed", 14, &sl), 1);
    CHECK(!sl);
    CHECK_INT(ratestore_window_line("window:sideways", 15, &sl), 0);
    CHECK_INT(ratestore_window_line("window:fixedx", 13, &sl), 0);
    CHECK_INT(ratestore_window_line("window:fix\0ed", 13, &sl), 0);
    CHECK_INT(ratestore_window_line("", 0, &sl), 0);
    CHECK(!sl); /* untouched by lines that are not one */
}

static const struct test_case cases[] = {
    {"window_line", test_window_line},
    {"create_and_persist", test_create_and_persist},
    {"fixed_window_rolls", test_fixed_window_rolls},
    {"sliding_window", test_sliding_window},
    {"undo_and_tell", test_undo_and_tell},
    {"concurrent_writers", test_concurrent_writers},
    {"clock_a_second_behind", test_clock_a_second_behind},
    {"slow_claim_is_waited_for", test_slow_claim_is_waited_for},
    {"full_table", test_full_table},
    {"found_slot_kept_until_counted", test_found_slot_kept_until_counted},
    {"created_at_once", test_created_at_once},
    {"corrupt_files", test_corrupt_files},
    {"keys_and_names", test_keys_and_names},
};

TEST_MAIN(cases)
