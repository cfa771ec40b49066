/* SPDX-License-Identifier: ISC */
/*
 * test_lock - flock with a time limit, dot-locks: taken, waited for,
 * given up on, stale ones removed, unwritable directories tolerated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datetime.h"
#include "harness.h"
#include "lock.h"

static void
t_flock_timeout(void)
{
    char p[512];
    int a, b;
    long long t0;

    snprintf(p, sizeof p, "%s/f", harness_tmpdir());
    a = open(p, O_RDWR | O_CREAT, 0600);
    b = open(p, O_RDWR);
    CHECK(lock_ex_wait(a, 1) == 0);
    t0 = datetime_mono_ms();
    CHECK_INT(lock_ex_wait(b, 1), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 >= 900);
    close(a);
    CHECK(lock_ex_wait(b, 1) == 0);
    close(b);
}

static void
t_dot(void)
{
    char p[512], l[600];
    struct bstr a = BSTR_INIT, b = BSTR_INIT;
    long long t0;

    snprintf(p, sizeof p, "%s/box", harness_tmpdir());
    snprintf(l, sizeof l, "%s.lock", p);
    CHECK_INT(lock_dot(p, 1, &a), 1);
    CHECK(access(l, F_OK) == 0);
    t0 = datetime_mono_ms();
    CHECK_INT(lock_dot(p, 1, &b), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 >= 900);
    lock_dot_release(&a);
    CHECK(access(l, F_OK) == -1);
    CHECK_INT(lock_dot(p, 1, &b), 1);
    lock_dot_release(&b);
    bstr_free(&a);
    bstr_free(&b);
}

static void
t_dot_stale(void)
{
    char p[512], l[600];
    struct bstr a = BSTR_INIT;
    struct timespec old[2] = {{1000, 0}, {1000, 0}};
    int fd;

    snprintf(p, sizeof p, "%s/stale", harness_tmpdir());
    snprintf(l, sizeof l, "%s.lock", p);
    fd = open(l, O_WRONLY | O_CREAT, 0644);
    close(fd);
    CHECK(utimensat(AT_FDCWD, l, old, 0) == 0);
    CHECK_INT(lock_dot(p, 1, &a), 1);
    lock_dot_release(&a);
    bstr_free(&a);
}

static void
t_dot_unwritable(void)
{
    char d[512], p[600];
    struct bstr a = BSTR_INIT;
    pid_t pid;
    int st;

    /* as an ordinary user, a directory we cannot write: no dot-lock */
    snprintf(d, sizeof d, "%s/ro", harness_tmpdir());
    snprintf(p, sizeof p, "%s/box", d);
    CHECK(mkdir(d, 0555) == 0);
    pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) == -1 || setuid(65534) == -1))
            _exit(2);
        _exit(lock_dot(p, 1, &a) == 0 && a.len == 0 ? 0 : 1);
    }
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    bstr_free(&a);
}

static const struct test_case cases[] = {
    {"flock with a time limit", t_flock_timeout},
    {"dot-lock", t_dot},
    {"stale dot-lock", t_dot_stale},
    {"no dot-lock where we cannot write", t_dot_unwritable},
};

TEST_MAIN(cases)
