/* SPDX-License-Identifier: ISC */
/* test_log - one line per event, and nothing in it that forges another
 * line or drives an admin's terminal. */
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "log.h"

/* logged - what log_line(fmt, arg) writes on fd 2. */
static void
logged(const char *arg, char *out, size_t n)
{
    int p[2], saved = dup(2);
    ssize_t r;

    out[0] = '\0';
    if (pipe(p) == -1 || saved == -1)
        return;
    dup2(p[1], 2);
    log_line("from=<%s>", arg);
    dup2(saved, 2);
    close(saved);
    close(p[1]);
    r = read(p[0], out, n - 1);
    out[r > 0 ? r : 0] = '\0';
    close(p[0]);
}

static void
t_hostile(void)
{
    char out[256];

    log_init("qmail-test");
    logged("a@b\n@4000 new msg 1", out, sizeof out);
    CHECK_STR(out, "qmail-test: from=<a@b?@4000 new msg 1>\n");
    logged("x\033]0;owned\007\r", out, sizeof out);
    CHECK_STR(out, "qmail-test: from=<x?]0;owned?" "?>\n");
    logged("csi\xc2\x9b" "2J\x9b\xff", out, sizeof out);
    CHECK_STR(out, "qmail-test: from=<csi??2J?" "?>\n");
    /* UTF-8 text and the backslash stay */
    logged("j\xc3\xb6rg\\x@b\xc3\xbc" "cher.de", out, sizeof out);
    CHECK_STR(out, "qmail-test: from=<j\xc3\xb6rg\\x@b\xc3\xbc" "cher.de>\n");
}

static const struct test_case cases[] = {
    {"hostile", t_hostile},
};

TEST_MAIN(cases)
