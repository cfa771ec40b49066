/* SPDX-License-Identifier: ISC */
/*
 * test_maildir - making a maildir, delivering into it (whole files in
 * new/, nothing left in tmp/, failures that leave nothing), unique names,
 * listing oldest first, cleaning tmp/.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "maildir.h"

static int
count(const char *dir, const char *sub)
{
    char p[512];
    DIR *d;
    struct dirent *de;
    int n = 0;

    snprintf(p, sizeof p, "%s/%s", dir, sub);
    d = opendir(p);
    if (!d)
        return -1;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void
t_make(void)
{
    char p[512];
    struct stat st;

    snprintf(p, sizeof p, "%s/md1", harness_tmpdir());
    CHECK(maildir_make(p, 0700) == 0);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0700);
    CHECK_INT(count(p, "tmp"), 0);
    CHECK_INT(count(p, "new"), 0);
    CHECK_INT(count(p, "cur"), 0);
    CHECK_INT(maildir_make(p, 0700), -1);
    CHECK_INT(errno, EEXIST);
}

static void
t_deliver(void)
{
    char p[512], m[512], f[700], buf[256];
    struct bstr name = BSTR_INIT;
    enum maildir_stage stage;
    struct iovec head[2] = {{(void *)"A: 1\n", 5}, {(void *)"B: 2\n", 5}};
    int fd;
    ssize_t n;

    snprintf(p, sizeof p, "%s/md2", harness_tmpdir());
    snprintf(m, sizeof m, "%s/msg2", harness_tmpdir());
    CHECK(maildir_make(p, 0700) == 0);
    fd = open(m, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(write(fd, "\nbody\n", 6) == 6);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK_INT(maildir_deliver(p, head, 2, fd, &name, &stage), 0);
    close(fd);
    CHECK_INT(count(p, "new"), 1);
    CHECK_INT(count(p, "tmp"), 0);
    CHECK(bstr_catc(&name, '\0') == 0);
    snprintf(f, sizeof f, "%s/new/%s", p, name.s);
    fd = open(f, O_RDONLY);
    n = read(fd, buf, sizeof buf);
    close(fd);
    CHECK(n == 16 && memcmp(buf, "A: 1\nB: 2\n\nbody\n", 16) == 0);
    bstr_free(&name);
}

static void
t_deliver_missing(void)
{
    char p[512];
    struct bstr name = BSTR_INIT;
    enum maildir_stage stage;

    snprintf(p, sizeof p, "%s/nomaildir", harness_tmpdir());
    CHECK_INT(maildir_deliver(p, NULL, 0, 0, &name, &stage), -1);
    CHECK_INT(stage, MAILDIR_S_OPEN);
    /* a directory without tmp/ is not a maildir either */
    CHECK(mkdir(p, 0700) == 0);
    CHECK_INT(maildir_deliver(p, NULL, 0, 0, &name, &stage), -1);
    CHECK_INT(stage, MAILDIR_S_OPEN);
    bstr_free(&name);
}

static void
t_deliver_unreadable(void)
{
    char p[512];
    struct bstr name = BSTR_INIT;
    enum maildir_stage stage;
    int pfd[2];

    /* a message fd that cannot be read: nothing stays behind */
    snprintf(p, sizeof p, "%s/md3", harness_tmpdir());
    CHECK(maildir_make(p, 0700) == 0);
    CHECK(pipe(pfd) == 0);
    close(pfd[0]);
    CHECK_INT(maildir_deliver(p, NULL, 0, pfd[1], &name, &stage), -1);
    CHECK_INT(stage, MAILDIR_S_READ);
    close(pfd[1]);
    CHECK_INT(count(p, "new"), 0);
    CHECK_INT(count(p, "tmp"), 0);
    bstr_free(&name);
}

static void
t_uniq(void)
{
    struct bstr a = BSTR_INIT, b = BSTR_INIT;

    CHECK(maildir_uniq(&a) == 0);
    CHECK(maildir_uniq(&b) == 0);
    CHECK(bstr_catc(&a, '\0') == 0 && bstr_catc(&b, '\0') == 0);
    CHECK(strcmp(a.s, b.s) != 0);
    CHECK(strchr(a.s, '/') == NULL && strchr(a.s, ':') == NULL);
    CHECK(strstr(a.s, ".M") != NULL && strstr(a.s, "P") != NULL);
    bstr_free(&a);
    bstr_free(&b);
}

static void
touch(const char *dir, const char *name)
{
    char p[700];
    int fd;

    snprintf(p, sizeof p, "%s/%s", dir, name);
    fd = open(p, O_WRONLY | O_CREAT, 0600);
    CHECK(fd != -1);
    close(fd);
}

static void
t_scan(void)
{
    char p[512];
    struct maildir_list l = {0};

    snprintf(p, sizeof p, "%s/md4", harness_tmpdir());
    CHECK(maildir_make(p, 0700) == 0);
    touch(p, "new/300.b.host");
    touch(p, "cur/100.a.host:2,S");
    touch(p, "new/200.c.host");
    touch(p, "new/.hidden");
    touch(p, "cur/20.old.host");
    CHECK(maildir_scan(p, &l) == 0);
    CHECK_INT(l.n, 4);
    if (l.n == 4) {
        CHECK_STR(maildir_list_name(&l, 0), "cur/20.old.host");
        CHECK_STR(maildir_list_name(&l, 1), "cur/100.a.host:2,S");
        CHECK_STR(maildir_list_name(&l, 2), "new/200.c.host");
        CHECK_STR(maildir_list_name(&l, 3), "new/300.b.host");
        CHECK(l.v[3].time == 300);
    }
    maildir_list_free(&l);
}

static void
t_clean_tmp(void)
{
    char p[512], f[700];
    struct timespec old[2] = {{1000, 0}, {1000, 0}};

    snprintf(p, sizeof p, "%s/md5", harness_tmpdir());
    CHECK(maildir_make(p, 0700) == 0);
    touch(p, "tmp/stale");
    touch(p, "tmp/fresh");
    snprintf(f, sizeof f, "%s/tmp/stale", p);
    CHECK(utimensat(AT_FDCWD, f, old, 0) == 0);
    CHECK(maildir_clean_tmp(p, 36 * 3600) == 0);
    CHECK(access(f, F_OK) == -1);
    snprintf(f, sizeof f, "%s/tmp/fresh", p);
    CHECK(access(f, F_OK) == 0);
}

static const struct test_case cases[] = {
    {"make", t_make},
    {"deliver", t_deliver},
    {"deliver to no maildir", t_deliver_missing},
    {"unreadable message leaves nothing", t_deliver_unreadable},
    {"unique names", t_uniq},
    {"scan oldest first", t_scan},
    {"clean tmp", t_clean_tmp},
};

TEST_MAIN(cases)
