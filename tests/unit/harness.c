/* SPDX-License-Identifier: ISC */
/*
 * harness - unit-test runner (see harness.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static int failures_in_case;
static char tmpdir[256];

static void
cleanup_tmp(void)
{
    char cmd[300];

    if (tmpdir[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "harness: could not remove %s\n", tmpdir);
    }
}

/* harness_tmpdir - a fresh directory, removed when the binary exits. */
const char *
harness_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/qng-unit-XXXXXX",
                 base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(cleanup_tmp);
    }
    return tmpdir;
}

bool
harness_check(bool ok, const char *expr, const char *file, int line)
{
    if (!ok) {
        failures_in_case++;
        printf("    %s:%d: check failed: %s\n", file, line, expr);
    }
    return ok;
}

bool
harness_check_long(long long a, long long b, const char *ea, const char *eb,
                   const char *file, int line)
{
    if (a != b) {
        failures_in_case++;
        printf("    %s:%d: %s == %lld, expected %s == %lld\n", file, line,
               ea, a, eb, b);
        return false;
    }
    return true;
}

bool
harness_check_str(const char *a, const char *b, const char *ea,
                  const char *eb, const char *file, int line)
{
    if (!a || !b || strcmp(a, b) != 0) {
        failures_in_case++;
        printf("    %s:%d: %s == \"%s\", expected %s == \"%s\"\n", file,
               line, ea, a ? a : "(null)", eb, b ? b : "(null)");
        return false;
    }
    return true;
}

bool
harness_check_mem(const void *a, size_t alen, const void *b, size_t blen,
                  const char *ea, const char *file, int line)
{
    if (alen != blen || (alen && memcmp(a, b, alen) != 0)) {
        failures_in_case++;
        printf("    %s:%d: %s == \"%.*s\" (%zu bytes), expected \"%.*s\" "
               "(%zu bytes)\n",
               file, line, ea, (int)alen, a ? (const char *)a : "", alen,
               (int)blen, (const char *)b, blen);
        return false;
    }
    return true;
}

/* harness_run - run every case; exit status 0 only if all passed. */
int
harness_run(const struct test_case *cases, size_t n)
{
    size_t passed = 0, failed = 0;

    for (size_t i = 0; i < n; i++) {
        failures_in_case = 0;
        cases[i].fn();
        if (failures_in_case == 0) {
            passed++;
            printf("ok   %s\n", cases[i].name);
        } else {
            failed++;
            printf("FAIL %s\n", cases[i].name);
        }
        fflush(stdout);
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
