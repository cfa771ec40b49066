/* SPDX-License-Identifier: ISC */
/*
 * test_checkpw - running a checkpassword program: the bytes on fd 3, and
 * each way it can end (exit 0, 1, 2, 111, another code, a signal, no end
 * within the timeout, no program at all) turned into the verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpw.h"
#include "datetime.h"
#include "harness.h"

static char dir[] = "/tmp/qng-cpw-XXXXXX";

static char *
script(const char *name, const char *body)
{
    static char path[4][256];
    static int i;
    FILE *f;

    i = (i + 1) % 4;
    snprintf(path[i], sizeof path[i], "%s/%s", dir, name);
    f = fopen(path[i], "w");
    if (f) {
        fprintf(f, "#!/bin/sh\n%s\n", body);
        fclose(f);
        chmod(path[i], 0755);
    }
    return path[i];
}

static void
t_verdicts(void)
{
    static const struct {
        const char *body;
        enum checkpw_verdict v;
        int status;
    } cases[] = {
        {"exec \"$@\"", CHECKPW_OK, 0},
        {"exit 1", CHECKPW_REFUSED, 1},
        {"exit 3", CHECKPW_REFUSED, 3},
        {"exit 2", CHECKPW_TEMP, 2},
        {"exit 111", CHECKPW_TEMP, 111},
        {"kill -SEGV $$", CHECKPW_TEMP, -11},
    };

    if (!CHECK(mkdtemp(dir) != NULL))
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[] = {script("cp", cases[i].body), (char *)"true", NULL};
        enum checkpw_verdict v;
        int st = -5;

        CHECK(checkpw_run(argv, "u\0p\0", 4, 10, &v, &st) == 0);
        if (!CHECK_INT(v, cases[i].v) || !CHECK_INT(st, cases[i].status))
            printf("    %s\n", cases[i].body);
    }
}

static void
t_fd3_and_timeout(void)
{
    char out[300], *argv[3] = {NULL, (char *)"true", NULL};
    char body[600];
    enum checkpw_verdict v;
    int st;
    FILE *f;
    size_t n = 0;
    long long t0;

    snprintf(out, sizeof out, "%s/fd3", dir);
    snprintf(body, sizeof body, "cat <&3 >%s; exec \"$@\"", out);
    argv[0] = script("dump", body);
    CHECK(checkpw_run(argv, "user\0chal\0resp\0", 15, 10, &v, &st) == 0);
    CHECK_INT(v, CHECKPW_OK);
    f = fopen(out, "rb");
    if (CHECK(f != NULL)) {
        n = fread(body, 1, sizeof body, f);
        fclose(f);
    }
    CHECK(n == 15 && memcmp(body, "user\0chal\0resp\0", 15) == 0);
    /* stdin and stdout are /dev/null: a program reading stdin ends */
    argv[0] = script("stdin", "cat >/dev/null; exit 1");
    CHECK(checkpw_run(argv, "u\0p\0", 4, 10, &v, &st) == 0 &&
          v == CHECKPW_REFUSED);
    /* one that never ends is killed at the timeout: temporary */
    argv[0] = script("slow", "exec sleep 30");
    t0 = datetime_mono_ms();
    CHECK(checkpw_run(argv, "u\0p\0", 4, 1, &v, &st) == 0);
    CHECK(v == CHECKPW_TEMP && st == -1000);
    CHECK(datetime_mono_ms() - t0 < 5000);
    /* one that does not read fd 3 is no error of ours */
    argv[0] = script("noread", "exit 1");
    CHECK(checkpw_run(argv, "u\0p\0", 4, 10, &v, &st) == 0 &&
          v == CHECKPW_REFUSED);
    /* no such program: the exec fails in the child, exit 111 */
    argv[0] = (char *)"/nonexistent/checkpassword";
    CHECK(checkpw_run(argv, "u\0p\0", 4, 10, &v, &st) == 0);
    CHECK(v == CHECKPW_TEMP && st == 111);
    argv[0] = NULL;
    CHECK(checkpw_run(argv, "", 0, 1, &v, &st) == -1 && errno == EINVAL);
    snprintf(body, sizeof body, "rm -rf %s", dir);
    CHECK(system(body) == 0);
}

static const struct test_case tests[] = {
    {"exit codes to verdicts", t_verdicts},
    {"fd 3 bytes, stdin, timeout, missing program", t_fd3_and_timeout},
};

TEST_MAIN(tests)
