/* SPDX-License-Identifier: ISC */
/* test_iob - buffered I/O over pipes: lines, limits, deadlines. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datetime.h"
#include "harness.h"
#include "iob.h"

static void
t_lines(void)
{
    int p[2];
    char buf[8];
    struct iob in;
    struct bstr line = BSTR_INIT;
    const char *data = "HELO a\r\nMAIL FROM:<x@y>\r\nlast";

    CHECK(pipe(p) == 0);
    CHECK(write(p[1], data, strlen(data)) == (ssize_t)strlen(data));
    close(p[1]);
    iob_init(&in, p[0], buf, sizeof buf, NULL, NULL); /* tiny buffer */
    CHECK_INT(iob_getline(&in, &line, 100), IOB_LINE);
    CHECK_BSTR(line, "HELO a\r\n");
    CHECK_INT(iob_getline(&in, &line, 100), IOB_LINE);
    CHECK_BSTR(line, "MAIL FROM:<x@y>\r\n");
    CHECK_INT(iob_getline(&in, &line, 100), IOB_EOF);
    CHECK_BSTR(line, "last");
    close(p[0]);
    bstr_free(&line);
}

static void
t_long_line(void)
{
    int p[2];
    char buf[16];
    struct iob in;
    struct bstr line = BSTR_INIT;

    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "0123456789abcdefghij\nnext\n", 26) == 26);
    close(p[1]);
    iob_init(&in, p[0], buf, sizeof buf, NULL, NULL);
    CHECK_INT(iob_getline(&in, &line, 10), IOB_LONG);
    CHECK_BSTR(line, "0123456789");
    CHECK_INT(iob_getline(&in, &line, 10), IOB_LINE);
    CHECK_BSTR(line, "next\n");
    close(p[0]);
    bstr_free(&line);
}

static void
t_timeout(void)
{
    int p[2];
    char buf[16];
    struct iob in;
    struct bstr line = BSTR_INIT;

    CHECK(pipe(p) == 0);
    iob_init(&in, p[0], buf, sizeof buf, NULL, NULL);
    in.timeout_ms = 50;
    CHECK_INT(iob_getline(&in, &line, 10), -1);
    CHECK_INT(errno, ETIMEDOUT);
    close(p[0]);
    close(p[1]);
    bstr_free(&line);
}

/* A deadline bounds a series of reads however the bytes trickle in; the
 * per-read timeout alone would let a line take for ever. */
static void
t_deadline(void)
{
    int p[2];
    char buf[16];
    struct iob in;
    struct bstr line = BSTR_INIT;
    long long t0;
    pid_t pid;

    CHECK(pipe(p) == 0);
    pid = fork();
    if (pid == 0) {
        /* one byte every 50 ms, never a whole line */
        close(p[0]);
        for (int i = 0; i < 40; i++) {
            if (write(p[1], "x", 1) != 1)
                break;
            usleep(50000);
        }
        _exit(0);
    }
    close(p[1]);
    iob_init(&in, p[0], buf, sizeof buf, NULL, NULL);
    iob_settimeout(&in, 10);
    t0 = datetime_mono_ms();
    iob_setdeadline(&in, t0 + 300);
    CHECK(!iob_expired(&in));
    CHECK_INT(iob_getline(&in, &line, 100), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(iob_expired(&in));
    CHECK(datetime_mono_ms() - t0 >= 290);
    CHECK(datetime_mono_ms() - t0 < 1500);
    CHECK(line.len >= 3 && line.len <= 8); /* what came before it */

    /* past the deadline, buffered bytes are still handed out, and a read
     * that would wait fails at once */
    iob_setdeadline(&in, 0);
    CHECK(!iob_expired(&in));
    CHECK(iob_fill(&in) > 0);
    iob_setdeadline(&in, datetime_mono_ms() - 1);
    CHECK(iob_fill(&in) > 0); /* buffered: no wait needed */
    iob_skip(&in, iob_buffered(&in));
    t0 = datetime_mono_ms();
    CHECK_INT(iob_fill(&in), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 < 100);
    close(p[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    bstr_free(&line);
}

static void
t_write_and_peek(void)
{
    int p[2];
    char obuf[4], ibuf[64], got[64];
    struct iob out, in;

    CHECK(pipe(p) == 0);
    iob_init(&out, p[1], obuf, sizeof obuf, NULL, NULL);
    CHECK(iob_puts(&out, "250-first\r\n") == 0); /* larger than buffer */
    CHECK(iob_puts(&out, "250 x\r\n") == 0);
    CHECK(iob_flush(&out) == 0);
    close(p[1]);
    iob_init(&in, p[0], ibuf, sizeof ibuf, NULL, NULL);
    CHECK(iob_fill(&in) > 0);
    CHECK_INT(iob_buffered(&in), 18);
    CHECK(memcmp(iob_peek(&in), "250-first", 9) == 0);
    iob_skip(&in, 11);
    CHECK_INT(iob_get(&in, got, sizeof got), 7);
    CHECK(memcmp(got, "250 x\r\n", 7) == 0);
    CHECK_INT(iob_fill(&in), 0);
    close(p[0]);
}

static void
t_write_to_closed_pipe(void)
{
    int p[2];
    char obuf[16];
    struct iob out;

    CHECK(pipe(p) == 0);
    close(p[0]);

    iob_init(&out, p[1], obuf, sizeof obuf, NULL, NULL);
    CHECK(iob_puts(&out, "x") == 0);
    CHECK_INT(iob_flush(&out), -1);
    CHECK_INT(errno, EPIPE);
    close(p[1]);
}

static void
on_alarm(int sig)
{
    (void)sig;
}

/*
 * The per-read timeout is a deadline fixed when the read starts: a
 * signal every 20 ms (no SA_RESTART) must not start the wait over, or a
 * 100 ms timeout would never come.  The same for a write to a full pipe.
 */
static void
t_timeout_with_signals(void)
{
    struct itimerval it = {{0, 20000}, {0, 20000}}, off = {{0, 0}, {0, 0}};
    struct sigaction sa;
    static char big[1 << 17];
    int p[2];
    char buf[16], obuf[4096];
    struct iob in, out;
    struct bstr line = BSTR_INIT;
    long long t0;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    CHECK(pipe(p) == 0);
    iob_init(&in, p[0], buf, sizeof buf, NULL, NULL);
    in.timeout_ms = 100;
    setitimer(ITIMER_REAL, &it, NULL);
    t0 = datetime_mono_ms();
    CHECK_INT(iob_getline(&in, &line, 10), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 >= 100);
    CHECK(datetime_mono_ms() - t0 < 1500);

    iob_init(&out, p[1], obuf, sizeof obuf, NULL, NULL);
    out.timeout_ms = 100;
    t0 = datetime_mono_ms();
    CHECK(iob_put(&out, big, sizeof big) == -1 || iob_flush(&out) == -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 < 1500);
    setitimer(ITIMER_REAL, &off, NULL);
    signal(SIGALRM, SIG_DFL);
    close(p[0]);
    close(p[1]);
    bstr_free(&line);
}

static const struct test_case tests[] = {
    {"lines across a tiny buffer", t_lines},
    {"over-long line dropped to its end", t_long_line},
    {"read deadline", t_timeout},
    {"a timeout is not started over by signals", t_timeout_with_signals},
    {"a deadline over many reads", t_deadline},
    {"writes larger than the buffer; peek and skip", t_write_and_peek},
    {"write error reported", t_write_to_closed_pipe},
};

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    return harness_run(tests, sizeof tests / sizeof tests[0]);
}
