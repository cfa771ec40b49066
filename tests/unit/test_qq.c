/* SPDX-License-Identifier: ISC */
/*
 * test_qq - the qmail-queue client (src/lib/qq.c) in single mode, with
 * queue programs that are shell scripts: the exit code is the verdict,
 * and with qq_capture what the program writes to stderr is kept for the
 * log, bounded, without ever stalling on a program that writes a lot or
 * leaves a child holding its stderr open.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "datetime.h"
#include "harness.h"
#include "outcome.h"
#include "qq.h"

/* script - an executable /bin/sh script in the test directory. */
static const char *
script(const char *name, const char *body)
{
    static char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", harness_tmpdir(), name);
    f = fopen(path, "w");
    if (!CHECK(f != NULL))
        return "/nonexistent";
    fprintf(f, "#!/bin/sh\n%s", body);
    fclose(f);
    CHECK(chmod(path, 0755) == 0);
    return path;
}

/* one_message - hand over one small message; the verdict. */
static int
one_message(struct qq *q)
{
    if (!CHECK(qq_open(q) == 0))
        return -1;
    qq_puts(q, "Subject: t\n\nbody\n");
    qq_from(q, "a@b", 3);
    qq_to(q, "c@d", 3);
    return qq_close(q);
}

static void
t_exit_code_and_words(void)
{
    const char *prog = script(
        "qq53", "cat >/dev/null\n"
                "echo 'qmail-queue: unable to write mess/1/2: No space' >&2\n"
                "exit 53\n");
    struct qq q;
    const char *said;
    size_t n;
    bool cut;

    qq_init(&q, prog, false);
    qq_capture(&q);
    CHECK_INT(one_message(&q), QQ_WRITE);
    said = qq_said(&q, &n, &cut);
    CHECK(!cut);
    CHECK(harness_check_mem(said, n,
                            "qmail-queue: unable to write mess/1/2: No space\n",
                            48, "said", __FILE__, __LINE__));
    /* the next message starts with nothing said */
    prog = script("qq0", "cat >/dev/null; cat <&1 >/dev/null; exit 0\n");
    q.prog = prog;
    CHECK_INT(one_message(&q), 0);
    qq_said(&q, &n, &cut);
    CHECK_INT(n, 0);
    qq_end(&q);
}

static void
t_envelope_reaches_the_program(void)
{
    char out[512], cmd[1200];
    const char *prog;
    struct qq q;
    FILE *f;
    char buf[64];
    size_t n;

    snprintf(out, sizeof out, "%s/env.out", harness_tmpdir());
    snprintf(cmd, sizeof cmd,
             "cat >/dev/null; cat <&1 >'%s'; echo saw it >&2; exit 0\n", out);
    prog = script("qqenv", cmd);
    qq_init(&q, prog, false);
    qq_capture(&q);
    CHECK_INT(one_message(&q), 0);
    f = fopen(out, "rb");
    n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    CHECK(harness_check_mem(buf, n, "Fa@b\0Tc@d\0\0", 11, "envelope",
                            __FILE__, __LINE__));
    {
        bool cut;
        const char *said = qq_said(&q, &n, &cut);

        CHECK(harness_check_mem(said, n, "saw it\n", 7, "said", __FILE__,
                                __LINE__));
    }
    qq_end(&q);
}

/* A program that writes far more than a pipe holds before it reads its
 * input would deadlock a client that only writes; qq reads meanwhile
 * and keeps the first QQ_SAID_MAX bytes. */
static void
t_chatty_program(void)
{
    const char *prog = script(
        "qqchat", "i=0; while [ $i -lt 3000 ]; do\n"
                  "echo 'chatter chatter chatter chatter chatter chatter "
                  "chatter' >&2; i=$((i+1)); done\n"
                  "cat >/dev/null; cat <&1 >/dev/null; exit 0\n");
    struct qq q;
    struct bstr big = BSTR_INIT;
    size_t n;
    bool cut;

    alarm(60); /* a deadlock fails the test instead of hanging it */
    for (int i = 0; i < 20000; i++)
        CHECK(bstr_cats(&big, "a line of the message body\n") == 0);
    qq_init(&q, prog, false);
    qq_capture(&q);
    CHECK(qq_open(&q) == 0);
    qq_put(&q, big.s, big.len);
    qq_from(&q, "a@b", 3);
    qq_to(&q, "c@d", 3);
    CHECK_INT(qq_close(&q), 0);
    qq_said(&q, &n, &cut);
    CHECK_INT(n, QQ_SAID_MAX);
    CHECK(cut);
    qq_end(&q);
    alarm(0);
    bstr_free(&big);
}

/* A child of the program that keeps stderr open must not hold the
 * verdict until it exits. */
static void
t_grandchild_keeps_stderr(void)
{
    const char *prog = script(
        "qqbg", "cat >/dev/null; cat <&1 >/dev/null\n"
                "sleep 4 & echo 'left a child' >&2; exit 71\n");
    struct qq q;
    long long t0 = datetime_mono_ms();
    size_t n;
    bool cut;
    const char *said;

    alarm(60);
    qq_init(&q, prog, false);
    qq_capture(&q);
    CHECK_INT(one_message(&q), QQ_TEMP_REFUSED);
    CHECK(datetime_mono_ms() - t0 < 5000);
    said = qq_said(&q, &n, &cut);
    CHECK(harness_check_mem(said, n, "left a child\n", 13, "said", __FILE__,
                            __LINE__));
    qq_end(&q);
    alarm(0);
}

static void
t_cannot_run(void)
{
    struct qq q;
    size_t n;
    bool cut;
    const char *said;

    qq_init(&q, "/nonexistent/qmail-queue", false);
    qq_capture(&q);
    CHECK_INT(qq_open(&q), -1);
    said = qq_said(&q, &n, &cut);
    CHECK(harness_check_mem(said, n,
                            "unable to run /nonexistent/qmail-queue: No such "
                            "file or directory",
                            65, "said", __FILE__, __LINE__));
    qq_end(&q);
}

/* Abandoned: the program sees both pipes end early; nothing it says is
 * anyone's business, and the client is ready for the next message. */
static void
t_abort(void)
{
    const char *prog = script("qqab", "cat >/dev/null; exec 3<&1\n"
                                      "test -z \"$(cat <&3)\" && exit 54\n"
                                      "exit 0\n");
    struct qq q;

    qq_init(&q, prog, false);
    qq_capture(&q);
    CHECK(qq_open(&q) == 0);
    qq_puts(&q, "half a mess");
    qq_abort(&q);
    CHECK_INT(q.pid, -1);
    CHECK_INT(q.errfd, -1);
    CHECK_INT(one_message(&q), 0);
    qq_end(&q);
}

static const struct test_case tests[] = {
    {"exit code is the verdict, stderr is kept", t_exit_code_and_words},
    {"message and envelope reach the program", t_envelope_reaches_the_program},
    {"a program chattering on stderr does not stall", t_chatty_program},
    {"a grandchild holding stderr does not stall", t_grandchild_keeps_stderr},
    {"a program that cannot run is named", t_cannot_run},
    {"an abandoned message", t_abort},
};

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return harness_run(tests, sizeof tests / sizeof tests[0]);
}
