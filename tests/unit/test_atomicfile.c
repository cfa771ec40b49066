/* SPDX-License-Identifier: ISC */
/*
 * test_atomicfile - replacing a file: new contents and mode, the old
 * file replaced (its inode changes: readers holding it keep the old
 * bytes), no temporary left, and a failure that leaves the old file as
 * it was.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "harness.h"
#include "readfile.h"

static void
t_replace(void)
{
    char p[600], d[512];
    struct bstr b = BSTR_INIT;
    struct stat st1, st2;
    DIR *dir;
    struct dirent *de;
    int held, entries = 0;
    char old[4] = {0};

    CHECK(snprintf(d, sizeof d, "%s/af", harness_tmpdir()) > 0);
    CHECK(mkdir(d, 0700) == 0);
    CHECK(snprintf(p, sizeof p, "%s/file", d) > 0);
    CHECK_INT(atomicfile_write(p, "old", 3, 0644, ATOMICFILE_KEEP,
                               ATOMICFILE_KEEP), 0);
    CHECK(stat(p, &st1) == 0 && (st1.st_mode & 0777) == 0644);
    held = open(p, O_RDONLY);
    CHECK_INT(atomicfile_write(p, "new contents", 12, 0600, getuid(),
                               getgid()), 0);
    CHECK_INT(readfile_path(p, &b, 100), 1);
    CHECK_BSTR(b, "new contents");
    CHECK(stat(p, &st2) == 0 && (st2.st_mode & 0777) == 0600);
    CHECK(st1.st_ino != st2.st_ino);
    CHECK(held != -1 && read(held, old, 3) == 3 && memcmp(old, "old", 3) == 0);
    close(held);
    dir = opendir(d);
    while (dir && (de = readdir(dir)))
        if (de->d_name[0] != '.')
            entries++;
    if (dir)
        closedir(dir);
    CHECK_INT(entries, 1); /* no temporary left */
    /* a directory that is not there: an error, nothing written */
    CHECK_INT(atomicfile_write("/nonexistent-qng/dir/file", "x", 1, 0600,
                               ATOMICFILE_KEEP, ATOMICFILE_KEEP), -1);
    CHECK_INT(errno, ENOENT);
    CHECK_INT(atomicfile_syncdir(d), 0);
    bstr_free(&b);
}

static const struct test_case cases[] = {
    {"replace a file: contents, mode, inode, no temporary", t_replace},
};

TEST_MAIN(cases)
