/* SPDX-License-Identifier: ISC */
/*
 * test_checkpw_conv - checkpw's conversation mode with small shell
 * programs as the checkpassword program: messages each way with their
 * NULs, AUTHMECH set for the child (and removed in the classic mode),
 * the verdict from its exit, and every bound: a message too long, input
 * that ends inside a message, an end without a word, a child too slow.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpw.h"
#include "datetime.h"
#include "harness.h"

/* sh - argv for /bin/sh -c script (-Wwrite-strings: no literals) */
static char **
sh(const char *script)
{
    static char prog[] = "/bin/sh", dash_c[] = "-c", buf[512];
    static char *argv[] = {prog, dash_c, buf, NULL};

    snprintf(buf, sizeof buf, "%s", script);
    return argv;
}

static enum checkpw_verdict
talk(const char *script, const char *send, struct bstr *got, int *rr,
     int *status, long long wait_ms)
{
    char **argv = sh(script);
    struct checkpw_conv c = CHECKPW_CONV_INIT;
    enum checkpw_verdict v = CHECKPW_TEMP;

    *rr = -2;
    if (!CHECK(checkpw_start(&c, argv, "SCRAM-SHA-256", 5) == 0))
        return v;
    /* a child that exits at once may be gone before our message */
    if (send && checkpw_send(c.fd, send, strlen(send)) == -1)
        CHECK(errno == EPIPE || errno == ECONNRESET);
    *rr = checkpw_recv(c.fd, &c.in, got, 16, datetime_mono_ms() + wait_ms);
    if (*rr == -1 && errno == ETIMEDOUT) {
        checkpw_kill(&c);
        return CHECKPW_TEMP;
    }
    CHECK(checkpw_finish(&c, &v, status) == 0);
    return v;
}

static void
t_conversation(void)
{
    struct bstr got = BSTR_INIT;
    int r, st;

    /* read "hello\0" (6 bytes), answer, exit by AUTHMECH */
    CHECK_INT(talk("dd bs=6 count=1 <&3 2>/dev/null | tr '\\0' '\\n' | "
                   "grep -qx hello || exit 1; printf 'r=abc\\0' >&3; "
                   "test \"$AUTHMECH\" = SCRAM-SHA-256",
                   "hello", &got, &r, &st, 5000),
              CHECKPW_OK);
    CHECK_INT(r, 1);
    CHECK_BSTR(got, "r=abc");
    /* a refusal without a word */
    CHECK_INT(talk("exit 1", "x", &got, &r, &st, 5000), CHECKPW_REFUSED);
    CHECK_INT(r, 0);
    CHECK_INT(st, 1);
    /* two messages in one write: the second is kept for the next recv */
    {
        char **argv = sh("printf 'a\\0b\\0' >&3");
        struct checkpw_conv c = CHECKPW_CONV_INIT;
        enum checkpw_verdict v;

        CHECK(checkpw_start(&c, argv, "X", 5) == 0);
        CHECK_INT(checkpw_recv(c.fd, &c.in, &got, 16, 0), 1);
        CHECK_BSTR(got, "a");
        CHECK_INT(checkpw_recv(c.fd, &c.in, &got, 16, 0), 1);
        CHECK_BSTR(got, "b");
        CHECK_INT(checkpw_recv(c.fd, &c.in, &got, 16, 0), 0);
        CHECK(checkpw_finish(&c, &v, &st) == 0);
        CHECK_INT(v, CHECKPW_OK);
    }
    bstr_free(&got);
}

static void
t_bounds(void)
{
    struct bstr got = BSTR_INIT;
    int r, st;

    talk("printf '0123456789012345678901234567890' >&3", NULL, &got, &r, &st,
         5000);
    CHECK_INT(r, -1);
    talk("printf 'abc' >&3; exit 0", NULL, &got, &r, &st, 5000);
    CHECK_INT(r, -1);
    CHECK_INT(errno == EPROTO || errno == EMSGSIZE, 1);
    CHECK_INT(talk("sleep 5", NULL, &got, &r, &st, 200), CHECKPW_TEMP);
    CHECK_INT(r, -1);
    /* a message with a NUL inside is not sent */
    {
        char **argv = sh("cat <&3 >/dev/null");
        struct checkpw_conv c = CHECKPW_CONV_INIT;

        CHECK(checkpw_start(&c, argv, "X", 5) == 0);
        errno = 0;
        CHECK(checkpw_send(c.fd, "a\0b", 3) == -1);
        CHECK_INT(errno, EINVAL);
        checkpw_kill(&c);
    }
    bstr_free(&got);
}

static void
t_classic_mode_has_no_authmech(void)
{
    char **argv = sh("test -z \"$AUTHMECH\"");
    enum checkpw_verdict v;
    int st;

    CHECK(setenv("AUTHMECH", "SCRAM-SHA-256", 1) == 0);
    CHECK(checkpw_run(argv, "u\0p\0", 4, 5, &v, &st) == 0);
    CHECK_INT(v, CHECKPW_OK);
    unsetenv("AUTHMECH");
}

static const struct test_case tests[] = {
    {"messages each way, AUTHMECH, verdicts", t_conversation},
    {"bounds: size, torn input, time", t_bounds},
    {"the classic mode removes AUTHMECH", t_classic_mode_has_no_authmech},
};

TEST_MAIN(tests)
