/* SPDX-License-Identifier: ISC */
/* test_readfile - whole small files into a bstr. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "readfile.h"

static void
put(const char *name, const char *content, size_t n)
{
    FILE *f = fopen(name, "w");

    if (!f)
        return;
    fwrite(content, 1, n, f);
    fclose(f);
}

static void
t_whole_file(void)
{
    struct bstr b = BSTR_INIT;
    char big[20000];

    CHECK(chdir(harness_tmpdir()) == 0);
    put("f", "F\0sender\0Tx@y\0", 15);
    CHECK_INT(readfile_path("f", &b, 0), 1);
    CHECK_INT(b.len, 15);
    CHECK(memcmp(b.s, "F\0sender\0Tx@y\0", 15) == 0);
    CHECK_INT(b.s[b.len], '\0');
    /* larger than one read, and replacing what was there */
    memset(big, 'a', sizeof big);
    put("big", big, sizeof big);
    CHECK_INT(readfile_path("big", &b, 0), 1);
    CHECK_INT(b.len, sizeof big);
    CHECK_INT(b.s[b.len], '\0');
    put("empty", "", 0);
    CHECK_INT(readfile_path("empty", &b, 0), 1);
    CHECK_INT(b.len, 0);
    CHECK(b.s && b.s[0] == '\0');
    bstr_free(&b);
}

static void
t_missing_and_limits(void)
{
    struct bstr b = BSTR_INIT;
    char big[5000];
    int fd;

    CHECK(chdir(harness_tmpdir()) == 0);
    errno = 0;
    CHECK_INT(readfile_path("no-such-file", &b, 0), 0);
    CHECK_INT(errno, ENOENT);
    CHECK_INT(b.len, 0);
    memset(big, 'b', sizeof big);
    put("big", big, sizeof big);
    CHECK_INT(readfile_path("big", &b, 4096), -1);
    CHECK_INT(errno, EFBIG);
    CHECK_INT(readfile_path("big", &b, sizeof big), 1);
    /* a directory is trouble, not an empty file */
    CHECK_INT(readfile_path(".", &b, 0), -1);
    CHECK_INT(errno, EISDIR);
    /* the rest of an open descriptor */
    fd = open("big", O_RDONLY);
    CHECK(fd != -1);
    CHECK(lseek(fd, 4000, SEEK_SET) == 4000);
    CHECK_INT(readfile_fd(fd, &b, 0), 0);
    CHECK_INT(b.len, 1000);
    close(fd);
    bstr_free(&b);
}

static const struct test_case tests[] = {
    {"whole files, NUL-terminated, replacing the old content", t_whole_file},
    {"missing files, limits, directories, descriptors", t_missing_and_limits},
};

TEST_MAIN(tests)
