/* SPDX-License-Identifier: ISC */
/*
 * test_stampdir - the sweep of a stamp directory (only what the caller
 * calls stale goes; dot files, directories and symlinks' targets never)
 * and the expiry stamp (due when missing, never passed, old, in the far
 * future or forced; skipped at once while another process holds it; a
 * symlink never followed).  Times are passed in, never slept.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "stampdir.h"

#define NOW ((time_t)1800000000)

static const char *
dir(const char *sub)
{
    static char p[512];

    snprintf(p, sizeof p, "%s/%s", harness_tmpdir(), sub);
    mkdir(p, 0755);
    return p;
}

static const char *
file(const char *d, const char *name)
{
    static char p[600];

    snprintf(p, sizeof p, "%s/%s", d, name);
    return p;
}

static void
touch(const char *d, const char *name, time_t t)
{
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    int fd = open(file(d, name), O_CREAT | O_WRONLY, 0644);

    CHECK(fd >= 0);
    close(fd);
    CHECK(utimensat(AT_FDCWD, file(d, name), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

static bool
exists(const char *d, const char *name)
{
    struct stat st;

    return lstat(file(d, name), &st) == 0;
}

/* stale when older than an hour, and only names starting with "s" */
static int
older_than_hour(const char *name, time_t mtime, void *arg)
{
    const time_t *now = arg;

    return name[0] == 's' && *now - mtime > 3600;
}

static void
t_sweep(void)
{
    const char *d = dir("sweep");
    time_t now = NOW;
    size_t removed = 5;

    touch(d, "s-old", NOW - 7200);
    touch(d, "s-new", NOW - 60);
    touch(d, "other-old", NOW - 7200); /* not the caller's: kept */
    touch(d, ".s-dot", NOW - 7200);    /* dot names: never looked at */
    CHECK(mkdir(file(d, "s-dir"), 0755) == 0);
    touch(d, "target", NOW - 7200);
    CHECK(symlink("target", file(d, "s-link")) == 0);
    CHECK_INT(stampdir_sweep(d, older_than_hour, &now, &removed), 0);
    CHECK_INT(removed, 6); /* added to what was there */
    CHECK(!exists(d, "s-old"));
    CHECK(exists(d, "s-new") && exists(d, "other-old") && exists(d, ".s-dot"));
    CHECK(exists(d, "s-dir") && exists(d, "s-link") && exists(d, "target"));
    errno = 0;
    CHECK_INT(stampdir_sweep(file(d, "missing"), older_than_hour, &now,
                             &removed),
              -1);
    CHECK_INT(errno, ENOENT);
}

static void
t_due(void)
{
    const char *d = dir("due");
    const char *st = file(d, ".expire");
    char stamp[600];
    struct stat sb;
    int fd, held;

    snprintf(stamp, sizeof stamp, "%s", st);
    /* missing: due, and made */
    CHECK_INT(stampdir_due(stamp, 600, NOW, false, &fd), 1);
    CHECK(fd >= 0);
    CHECK_INT(stampdir_done(fd, NOW), 0);
    CHECK(lstat(stamp, &sb) == 0 && sb.st_mtime == NOW && sb.st_size == 1);
    /* within the period: not due; forced: due */
    CHECK_INT(stampdir_due(stamp, 600, NOW + 599, false, &fd), 0);
    CHECK_INT(fd, -1);
    CHECK_INT(stampdir_due(stamp, 600, NOW + 1, true, &fd), 1);
    stampdir_abandon(fd); /* a failed pass leaves the stamp as it was */
    CHECK(lstat(stamp, &sb) == 0 && sb.st_mtime == NOW);
    /* a period later: due */
    CHECK_INT(stampdir_due(stamp, 600, NOW + 600, false, &fd), 1);
    CHECK_INT(stampdir_done(fd, NOW + 600), 0);
    /* far in the future (the clock was set back): due */
    touch(d, ".expire", NOW + 100000);
    CHECK_INT(stampdir_due(stamp, 600, NOW + 700, false, &fd), 1);
    CHECK_INT(stampdir_done(fd, NOW + 700), 0);
    /* a stamp that never saw a pass (made by someone else this very
     * second, empty) is due however new */
    CHECK(truncate(stamp, 0) == 0);
    touch(d, ".expire", NOW + 700);
    CHECK_INT(stampdir_due(stamp, 600, NOW + 700, false, &fd), 1);
    CHECK_INT(stampdir_done(fd, NOW + 700), 0);
    /* another process holds it: skipped at once, forced or not */
    touch(d, ".expire", NOW - 100000);
    held = open(stamp, O_RDWR);
    CHECK(held >= 0 && flock(held, LOCK_EX) == 0);
    CHECK_INT(stampdir_due(stamp, 600, NOW, false, &fd), 0);
    CHECK_INT(stampdir_due(stamp, 600, NOW, true, &fd), 0);
    close(held);
    CHECK_INT(stampdir_due(stamp, 600, NOW, false, &fd), 1);
    CHECK_INT(stampdir_done(fd, NOW), 0);
    /* a symlink is not followed */
    CHECK(unlink(stamp) == 0);
    CHECK(symlink("/etc/passwd", stamp) == 0);
    CHECK_INT(stampdir_due(stamp, 600, NOW, true, &fd), -1);
    CHECK_INT(errno, ELOOP);
    /* nor is a FIFO in its place a stamp (opening it does not block) */
    CHECK(unlink(stamp) == 0);
    CHECK(mkfifo(stamp, 0600) == 0);
    CHECK_INT(stampdir_due(stamp, 600, NOW, true, &fd), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(fd, -1);
}

/* the one age rule of greylisting, POP-before-SMTP and expiry stamps */
static void
t_age(void)
{
    CHECK(stampdir_age(NOW - 90, NOW) == 90);
    CHECK(stampdir_age(NOW, NOW) == 0);
    /* a clock set back a little: as now */
    CHECK(stampdir_age(NOW + STAMPDIR_SKEW, NOW) == 0);
    /* further ahead: a scribble, older than anything */
    CHECK(stampdir_age(NOW + STAMPDIR_SKEW + 1, NOW) == ULONG_MAX);
    CHECK(stampdir_age((time_t)INT64_MAX, NOW) == ULONG_MAX);
    /* far in the past, even before 1970: large, no overflow */
    CHECK(stampdir_age((time_t)-86400, NOW) == (unsigned long)NOW + 86400);
    CHECK(stampdir_age((time_t)INT64_MIN, NOW) > (unsigned long)NOW);
}

static const struct test_case cases[] = {
    {"age", t_age},
    {"sweep", t_sweep},
    {"due", t_due},
};

TEST_MAIN(cases)
