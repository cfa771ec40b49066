/* SPDX-License-Identifier: ISC */
/*
 * test_popup - qmail-popup's pure parts: the greeting's timestamp, the
 * checkpassword input on fd 3, SASL PLAIN responses (RFC 4616) by table,
 * the CAPA list, the verdict from a wait status, and the rule that
 * matters most: the line reader never takes a byte past the line's LF
 * (from a socket, peeked; from a pipe, byte by byte), so qmail-pop3d
 * finds what a pipelining client sent after PASS.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "iob.h"
#include "popup.h"

static void
test_stamp(void)
{
    struct bstr b = BSTR_INIT;

    CHECK_INT(popup_stamp(&b, 4711, 1700000000LL, "pop.example.test"), 0);
    CHECK_BSTR(b, "<4711.1700000000@pop.example.test>");
    bstr_free(&b);
}

static void
test_fd3_data(void)
{
    struct bstr b = BSTR_INIT, stamp = BSTR_INIT;

    CHECK_INT(bstr_copys(&stamp, "<1.2@h>"), 0);
    CHECK_INT(popup_fd3_data(&b, "joe@dom", 7, "pass word", 9, &stamp), 0);
    CHECK(harness_check_mem(b.s, b.len, "joe@dom\0pass word\0<1.2@h>\0", 26,
                            "fd3", __FILE__, __LINE__));
    errno = 0;
    CHECK_INT(popup_fd3_data(&b, "jo\0e", 4, "x", 1, &stamp), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(popup_fd3_data(&b, "joe", 3, "p\0w", 3, &stamp), -1);
    bstr_free(&b);
    bstr_free(&stamp);
}

static void
test_plain_decode(void)
{
    static const struct {
        const char *b64;
        int want;
        const char *user, *pass;
    } cases[] = {
        {"AGpvZQBwdw==", 0, "joe", "pw"},             /* \0joe\0pw */
        {"am9lAGpvZQBwdw==", 0, "joe", "pw"},         /* joe\0joe\0pw */
        {"Ym9iAGpvZQBwdw==", -3, NULL, NULL},         /* bob\0joe\0pw */
        {"AGpvZQBwIHc=", 0, "joe", "p w"},            /* spaces kept */
        {"!!!!", -1, NULL, NULL},                     /* not base64 */
        {"AGpvZQBwdw", -1, NULL, NULL},               /* no padding */
        {"", -2, NULL, NULL},                         /* empty */
        {"am9l", -2, NULL, NULL},                     /* joe: no NUL */
        {"AGpvZQ==", -2, NULL, NULL},                 /* \0joe */
        {"AGpvZQA=", -2, NULL, NULL},                 /* \0joe\0: no password */
        {"AABwdw==", -2, NULL, NULL},                 /* \0\0pw: no user */
        {"AGpvZQBwdwB4", -2, NULL, NULL},             /* \0joe\0pw\0x */
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bstr u = BSTR_INIT, p = BSTR_INIT;
        int r = popup_plain_decode(cases[i].b64, strlen(cases[i].b64), &u, &p);

        if (!CHECK_INT(r, cases[i].want))
            continue;
        if (r == 0) {
            CHECK_BSTR(u, cases[i].user);
            CHECK_BSTR(p, cases[i].pass);
        }
        bstr_free(&u);
        bstr_free(&p);
    }
}

static void
test_capa(void)
{
    struct popup_config cf;
    struct bstr b = BSTR_INIT;

    memset(&cf, 0, sizeof cf);
    CHECK_INT(popup_capa(&b, &cf, true, true), 0);
    CHECK_BSTR(b, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
                  "PIPELINING\r\nUSER\r\nSASL PLAIN\r\n"
                  "STLS\r\nIMPLEMENTATION qmail-ng\r\n.\r\n");
    cf.logindelay = "900";
    cf.expire = "NEVER";
    CHECK_INT(popup_capa(&b, &cf, false, false), 0);
    CHECK_BSTR(b, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
                  "PIPELINING\r\nLOGIN-DELAY 900\r\n"
                  "EXPIRE NEVER\r\nIMPLEMENTATION qmail-ng\r\n.\r\n");
    /* values that are not numbers never reach the client */
    cf.logindelay = "9\r\nX";
    cf.expire = "-1";
    CHECK_INT(popup_capa(&b, &cf, false, true), 0);
    CHECK(strstr(b.s, "LOGIN-DELAY") == NULL);
    CHECK(strstr(b.s, "EXPIRE") == NULL);
    cf.expire = "30";
    CHECK_INT(popup_capa(&b, &cf, false, true), 0);
    CHECK(strstr(b.s, "\r\nEXPIRE 30\r\n") != NULL);
    bstr_free(&b);
}

/* status - the wait status of a child that exits with code, or is
 * killed by sig */
static int
status(int code, int sig)
{
    int w = 0;
    pid_t pid = fork();

    if (pid == 0) {
        if (sig) {
            signal(sig, SIG_DFL);
            raise(sig);
        }
        _exit(code);
    }
    while (waitpid(pid, &w, 0) == -1 && errno == EINTR)
        ;
    return w;
}

static void
test_verdict(void)
{
    CHECK_INT(popup_verdict(status(0, 0)), POPUP_DONE);
    CHECK_INT(popup_verdict(status(1, 0)), POPUP_REFUSED);
    CHECK_INT(popup_verdict(status(100, 0)), POPUP_REFUSED);
    CHECK_INT(popup_verdict(status(2, 0)), POPUP_TEMP);
    CHECK_INT(popup_verdict(status(111, 0)), POPUP_TEMP);
    CHECK_INT(popup_verdict(status(0, SIGSEGV)), POPUP_CRASH);
    CHECK_INT(popup_verdict(status(0, SIGKILL)), POPUP_CRASH);
}

/* rest - what is left to read in fd right now */
static size_t
rest(int fd, char *buf, size_t n)
{
    size_t got = 0;

    while (got < n && iob_poll(fd, POLLIN, 100) == 0) {
        ssize_t r = read(fd, buf + got, n - got);

        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* reader - the pipelining rule on a socketpair (peek) or a pipe */
static void
reader(bool sock)
{
    static const char in[] = "USER joe\r\nPASS a b\r\nSTAT\r\nQUIT\r\n";
    struct bstr line = BSTR_INIT;
    char buf[256];
    int fds[2];

    if (!CHECK_INT(sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds), 0))
        return;
    CHECK_INT(write(fds[1], in, sizeof in - 1), (long long)(sizeof in - 1));
    CHECK_INT(popup_readline_fd(fds[0], &line, 255, 1000), IOB_LINE);
    CHECK_BSTR(line, "USER joe\r\n");
    CHECK_INT(popup_readline_fd(fds[0], &line, 255, 1000), IOB_LINE);
    CHECK_BSTR(line, "PASS a b\r\n");
    /* what comes after PASS is still there, for the next program */
    CHECK(harness_check_mem(buf, rest(fds[0], buf, sizeof buf), "STAT\r\nQUIT\r\n",
                            12, "rest", __FILE__, __LINE__));
    /* an over-long line: cut at max, the rest dropped up to its LF only */
    memset(buf, 'x', 200);
    CHECK_INT(write(fds[1], buf, 200), 200);
    CHECK_INT(write(fds[1], "\nNOOP\n", 6), 6);
    CHECK_INT(popup_readline_fd(fds[0], &line, 50, 1000), IOB_LONG);
    CHECK_INT(line.len, 50);
    CHECK_INT(popup_readline_fd(fds[0], &line, 50, 1000), IOB_LINE);
    CHECK_BSTR(line, "NOOP\n"); /* bare LF ends a line */
    /* NUL bytes are data; the parser flags them */
    CHECK_INT(write(fds[1], "A\0B\n", 4), 4);
    CHECK_INT(popup_readline_fd(fds[0], &line, 50, 1000), IOB_LINE);
    CHECK(harness_check_mem(line.s, line.len, "A\0B\n", 4, "nul", __FILE__, __LINE__));
    /* nothing comes: the timeout */
    errno = 0;
    CHECK_INT(popup_readline_fd(fds[0], &line, 50, 50), -1);
    CHECK_INT(errno, ETIMEDOUT);
    /* a line cut by the end of input is no line */
    CHECK_INT(write(fds[1], "QUI", 3), 3);
    close(fds[1]);
    CHECK_INT(popup_readline_fd(fds[0], &line, 50, 1000), IOB_EOF);
    close(fds[0]);
    bstr_free(&line);
}

static void
test_reader_socket(void)
{
    reader(true);
}

static void
test_reader_pipe(void)
{
    reader(false);
}

/* a megabyte without a line end: one over-long line, memory bounded */
static void
test_reader_megabyte(void)
{
    struct bstr line = BSTR_INIT;
    int fds[2];
    pid_t pid;
    int w;

    if (!CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0))
        return;
    pid = fork();
    if (pid == 0) {
        char buf[4096];

        close(fds[0]);
        memset(buf, 'g', sizeof buf);
        for (int i = 0; i < 256; i++)
            if (write(fds[1], buf, sizeof buf) != (ssize_t)sizeof buf)
                _exit(1);
        _exit(write(fds[1], "\r\nNEXT\r\n", 8) == 8 ? 0 : 1);
    }
    close(fds[1]);
    CHECK_INT(popup_readline_fd(fds[0], &line, 255, 5000), IOB_LONG);
    CHECK_INT(line.len, 255);
    CHECK(line.cap < 4096);
    CHECK_INT(popup_readline_fd(fds[0], &line, 255, 5000), IOB_LINE);
    CHECK_BSTR(line, "NEXT\r\n");
    waitpid(pid, &w, 0);
    CHECK(WIFEXITED(w) && WEXITSTATUS(w) == 0);
    close(fds[0]);
    bstr_free(&line);
}

static const struct test_case cases[] = {
    {"stamp", test_stamp},
    {"fd3_data", test_fd3_data},
    {"plain_decode", test_plain_decode},
    {"capa", test_capa},
    {"verdict", test_verdict},
    {"reader_socket", test_reader_socket},
    {"reader_pipe", test_reader_pipe},
    {"reader_megabyte", test_reader_megabyte},
};

TEST_MAIN(cases)
