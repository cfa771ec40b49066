/* SPDX-License-Identifier: ISC */
/*
 * test_mlogdir - a multilog directory on disk: creation and lock,
 * rotation into @<label>.s with daemontools' modes, pruning to the
 * count, the restart after a clean exit and after an outage (.u), and a
 * processor.  Each case works in its own subdirectory of the harness's
 * temporary directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "mlogdir.h"

static char base[512];

/* fresh - a new empty directory name under the temporary directory. */
static const char *
fresh(const char *name)
{
    snprintf(base, sizeof base, "%s/%s", harness_tmpdir(), name);
    return base;
}

static char *
slurp(const char *dir, const char *name)
{
    static char buf[65536];
    char path[1024];
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_RDONLY);
    if (fd == -1)
        return NULL;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return NULL;
    buf[n] = '\0';
    return buf;
}

static int
mode_of(const char *dir, const char *name)
{
    char path[1024];
    struct stat st;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) == -1)
        return -1;
    return (int)(st.st_mode & 07777);
}

static void
put(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[1024];
    int fd;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!CHECK(fd != -1))
        return;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CHECK(fchmod(fd, mode) == 0);
    close(fd);
}

static int
cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* archives - the archive names in dir, sorted; returns how many. */
static size_t
archives(const char *dir, char names[][64], size_t max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)))
        if (mlog_is_archive(de->d_name) && n < max)
            snprintf(names[n++], 64, "%.63s", de->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_name);
    return n;
}

static void
start(struct mlogdir *d, struct mlog_dirconf *c, const char *path)
{
    mlogdir_init(d, c);
    c->path = path;
    CHECK_INT(mlogdir_open(d, AT_FDCWD), 0);
    CHECK_INT(mlogdir_recover(d), 0);
}

static void
t_open_lock(void)
{
    const char *dir = fresh("lock");
    struct mlog_dirconf c = {dir, 4096, 10, NULL};
    struct mlogdir d, d2;

    start(&d, &c, dir);
    CHECK_INT(mode_of(dir, "."), 0700);
    CHECK_INT(mode_of(dir, "current"), 0644);
    CHECK_INT(mode_of(dir, "lock"), 0600);
    CHECK(slurp(dir, "state") != NULL);
    CHECK_INT(d.bytes, 0);
    /* a second writer is refused */
    mlogdir_init(&d2, &c);
    CHECK_INT(mlogdir_open(&d2, AT_FDCWD), -1);
    CHECK_INT(errno, EWOULDBLOCK);
    CHECK(strstr(d2.why.s, "unable to lock directory") != NULL);
    mlogdir_free(&d2);
    mlogdir_free(&d);
    /* once the first is gone, the lock is free */
    mlogdir_init(&d2, &c);
    CHECK_INT(mlogdir_open(&d2, AT_FDCWD), 0);
    mlogdir_free(&d2);
    /* a directory that cannot be created */
    c.path = "/proc/no/such/dir";
    mlogdir_init(&d2, &c);
    CHECK_INT(mlogdir_open(&d2, AT_FDCWD), -1);
    CHECK(strstr(d2.why.s, "unable to create directory") != NULL);
    mlogdir_free(&d2);
}

static void
t_rotate(void)
{
    const char *dir = fresh("rotate");
    struct mlog_dirconf c = {dir, 4096, 10, NULL};
    char names[8][64];
    struct mlogdir d;

    start(&d, &c, dir);
    CHECK_INT(mlogdir_write(&d, "one\ntwo\n", 8), 8);
    CHECK_INT(d.bytes, 8);
    CHECK_INT(mlogdir_rotate(&d), 0);
    CHECK_INT(d.phase, MLOGDIR_IDLE);
    CHECK_INT(d.bytes, 0);
    if (CHECK_INT(archives(dir, names, 8), 1)) {
        CHECK_INT(strlen(names[0]), 27);
        CHECK_STR(names[0] + 25, ".s");
        CHECK_STR(slurp(dir, names[0]), "one\ntwo\n");
        CHECK_INT(mode_of(dir, names[0]), 0744);
    }
    CHECK_STR(slurp(dir, "current"), "");
    CHECK_INT(mode_of(dir, "current"), 0644);
    CHECK_INT(mode_of(dir, "previous"), -1);
    CHECK_INT(mlogdir_write(&d, "three\n", 6), 6);
    CHECK_STR(slurp(dir, "current"), "three\n");
    mlogdir_free(&d);
}

static void
t_prune(void)
{
    const char *dir = fresh("prune");
    struct mlog_dirconf c = {dir, 4096, 3, NULL};
    char names[8][64], line[16];
    struct mlogdir d;

    start(&d, &c, dir);
    /* an unrelated @name too short to count stays */
    put(dir, "@short", "x", 0644);
    for (int i = 0; i < 6; i++) {
        int n = snprintf(line, sizeof line, "line %d\n", i);

        CHECK_INT(mlogdir_write(&d, line, (size_t)n), n);
        CHECK_INT(mlogdir_rotate(&d), 0);
    }
    /* n3: current and the two newest archives */
    if (CHECK_INT(archives(dir, names, 8), 2)) {
        CHECK_STR(slurp(dir, names[0]), "line 4\n");
        CHECK_STR(slurp(dir, names[1]), "line 5\n");
    }
    CHECK_STR(slurp(dir, "@short"), "x");
    mlogdir_free(&d);
}

static void
t_restart_clean(void)
{
    const char *dir = fresh("clean");
    struct mlog_dirconf c = {dir, 4096, 10, NULL};
    char names[8][64];
    struct mlogdir d;

    start(&d, &c, dir);
    CHECK_INT(mlogdir_write(&d, "before\n", 7), 7);
    CHECK_INT(mlogdir_close(&d), 0);
    CHECK_INT(mode_of(dir, "current"), 0744);
    mlogdir_free(&d);
    /* a cleanly closed current is appended to */
    start(&d, &c, dir);
    CHECK_INT(d.bytes, 7);
    CHECK_INT(mode_of(dir, "current"), 0644);
    CHECK_INT(mlogdir_write(&d, "after\n", 6), 6);
    CHECK_STR(slurp(dir, "current"), "before\nafter\n");
    CHECK_INT(archives(dir, names, 8), 0);
    mlogdir_free(&d);
}

static void
t_restart_outage(void)
{
    const char *dir = fresh("outage");
    struct mlog_dirconf c = {dir, 4096, 10, NULL};
    char names[8][64];
    struct mlogdir d;

    start(&d, &c, dir);
    CHECK_INT(mlogdir_write(&d, "killed\n", 7), 7);
    mlogdir_free(&d); /* no close: as after kill -9 */
    CHECK_INT(mode_of(dir, "current"), 0644);
    start(&d, &c, dir);
    CHECK_INT(d.bytes, 0);
    CHECK_STR(slurp(dir, "current"), "");
    if (CHECK_INT(archives(dir, names, 8), 1)) {
        CHECK_STR(names[0] + 25, ".u");
        CHECK_STR(slurp(dir, names[0]), "killed\n");
    }
    mlogdir_free(&d);
    /* a crash in the middle of a rotation: previous is kept as .u */
    dir = fresh("outage2");
    c.path = dir;
    CHECK_INT(mkdir(dir, 0700), 0);
    put(dir, "previous", "old\n", 0744);
    put(dir, "current", "new\n", 0644);
    put(dir, "newstate", "junk", 0644);
    start(&d, &c, dir);
    if (CHECK_INT(archives(dir, names, 8), 2)) {
        CHECK_STR(slurp(dir, names[0]), "old\n");
        CHECK_STR(slurp(dir, names[1]), "new\n");
        CHECK_STR(names[0] + 25, ".u");
    }
    CHECK_INT(mode_of(dir, "previous"), -1);
    CHECK_INT(mode_of(dir, "newstate"), -1);
    CHECK_STR(slurp(dir, "state"), "");
    mlogdir_free(&d);
    /* a processor had finished: processed is the archive, .s */
    dir = fresh("outage3");
    c.path = dir;
    CHECK_INT(mkdir(dir, 0700), 0);
    put(dir, "previous", "raw\n", 0744);
    put(dir, "processed", "RAW\n", 0744);
    start(&d, &c, dir);
    if (CHECK_INT(archives(dir, names, 8), 1)) {
        CHECK_STR(slurp(dir, names[0]), "RAW\n");
        CHECK_STR(names[0] + 25, ".s");
    }
    CHECK_INT(mode_of(dir, "previous"), -1);
    CHECK_INT(mode_of(dir, "processed"), -1);
    mlogdir_free(&d);
    /* an unfinished processed is dropped; previous is kept */
    dir = fresh("outage4");
    c.path = dir;
    CHECK_INT(mkdir(dir, 0700), 0);
    put(dir, "previous", "raw\n", 0744);
    put(dir, "processed", "RA", 0644);
    start(&d, &c, dir);
    if (CHECK_INT(archives(dir, names, 8), 1))
        CHECK_STR(slurp(dir, names[0]), "raw\n");
    CHECK_INT(mode_of(dir, "processed"), -1);
    mlogdir_free(&d);
}

static void
t_finish_linked(void)
{
    /* a file already linked by an earlier attempt is only unlinked */
    const char *dir = fresh("linked");
    struct mlog_dirconf c = {dir, 4096, 10, NULL};
    char names[8][64], a[1024], b[1024];
    struct mlogdir d;

    start(&d, &c, dir);
    put(dir, "previous", "data\n", 0744);
    snprintf(a, sizeof a, "%s/previous", dir);
    snprintf(b, sizeof b, "%s/@400000003f87e06f3172d234.s", dir);
    CHECK_INT(link(a, b), 0);
    CHECK_INT(mlogdir_finish(&d, "previous", 's'), 0);
    if (CHECK_INT(archives(dir, names, 8), 1))
        CHECK_STR(names[0], "@400000003f87e06f3172d234.s");
    CHECK_INT(mode_of(dir, "previous"), -1);
    /* nothing to finish is not an error */
    CHECK_INT(mlogdir_finish(&d, "previous", 's'), 0);
    mlogdir_free(&d);
}

static void
t_processor(void)
{
    const char *dir = fresh("proc");
    struct mlog_dirconf c = {dir, 4096, 10, NULL};
    char names[8][64];
    struct mlogdir d;

    c.processor = "tr a-z A-Z && { cat <&4; echo seen; } >&5";
    start(&d, &c, dir);
    CHECK_INT(mlogdir_write(&d, "hello\n", 6), 6);
    CHECK_INT(mlogdir_rotate(&d), 0);
    if (CHECK_INT(archives(dir, names, 8), 1)) {
        CHECK_STR(slurp(dir, names[0]), "HELLO\n");
        CHECK_INT(mode_of(dir, names[0]), 0744);
    }
    CHECK_STR(slurp(dir, "state"), "seen\n");
    CHECK_INT(mode_of(dir, "previous"), -1);
    CHECK_INT(mode_of(dir, "processed"), -1);
    CHECK_INT(mode_of(dir, "newstate"), -1);
    /* the state is handed to the next run */
    CHECK_INT(mlogdir_write(&d, "again\n", 6), 6);
    CHECK_INT(mlogdir_rotate(&d), 0);
    CHECK_STR(slurp(dir, "state"), "seen\nseen\n");
    /* a failing processor: -1 with errno 0, previous kept, run again */
    c.processor = "exit 3";
    CHECK_INT(mlogdir_write(&d, "kept\n", 5), 5);
    CHECK_INT(mlogdir_rotate(&d), -1);
    CHECK_INT(errno, 0);
    CHECK(strstr(d.why.s, "processor failed") != NULL);
    CHECK_INT(d.phase, MLOGDIR_RUN);
    CHECK_STR(slurp(dir, "previous"), "kept\n");
    c.processor = "cat";
    CHECK_INT(mlogdir_rotate(&d), 0);
    CHECK_INT(archives(dir, names, 8), 3);
    CHECK_STR(slurp(dir, names[2]), "kept\n");
    mlogdir_free(&d);
}

static const struct test_case cases[] = {
    {"open_lock", t_open_lock},
    {"rotate", t_rotate},
    {"prune", t_prune},
    {"restart_clean", t_restart_clean},
    {"restart_outage", t_restart_outage},
    {"finish_linked", t_finish_linked},
    {"processor", t_processor},
};

TEST_MAIN(cases)
