/* SPDX-License-Identifier: ISC */
/*
 * test_fdpass - packets with descriptors over a SOCK_SEQPACKET pair: what
 * the receiver asked for arrives close-on-exec; a packet with more or
 * fewer descriptors than asked, or too long for the buffer, is refused
 * with EPROTO and leaves no descriptor open in the receiver; a packet
 * without any gives -1 in every slot; the peer's end is 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"
#include "harness.h"

static int sp[2];

static void
pair(void)
{
    CHECK_INT(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
}

/* The lowest free descriptor: what a leaked one would take. */
static int
lowest_free(void)
{
    int fd = dup(0);

    close(fd);
    return fd;
}

static void
test_one_fd(void)
{
    int p[2], got;
    char buf[16];

    pair();
    CHECK_INT(pipe(p), 0);
    CHECK_INT(fdpass_send(sp[0], "n", 1, &p[1], 1), 0);
    CHECK_INT(fdpass_recv(sp[1], buf, sizeof buf, &got, 1), 1);
    CHECK(got != -1 && buf[0] == 'n');
    CHECK_INT(fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    CHECK_INT(write(got, "x", 1), 1); /* it is the pipe's write end */
    CHECK_INT(read(p[0], buf, 1), 1);
    close(got);
    close(p[0]);
    close(p[1]);
    close(sp[0]);
    close(sp[1]);
}

static void
test_wrong_count_refused_and_closed(void)
{
    int p[2], got[2] = {-2, -2}, before;
    char buf[16];

    pair();
    CHECK_INT(pipe(p), 0);
    before = lowest_free();
    /* two sent, one asked for */
    CHECK_INT(fdpass_send(sp[0], "n", 1, p, 2), 0);
    errno = 0;
    CHECK_INT(fdpass_recv(sp[1], buf, sizeof buf, got, 1), -1);
    CHECK_INT(errno, EPROTO);
    CHECK_INT(got[0], -1);
    CHECK_INT(lowest_free(), before);
    /* one sent, two asked for */
    CHECK_INT(fdpass_send(sp[0], "n", 1, p, 1), 0);
    errno = 0;
    CHECK_INT(fdpass_recv(sp[1], buf, sizeof buf, got, 2), -1);
    CHECK_INT(errno, EPROTO);
    CHECK(got[0] == -1 && got[1] == -1);
    CHECK_INT(lowest_free(), before);
    close(p[0]);
    close(p[1]);
    close(sp[0]);
    close(sp[1]);
}

static void
test_no_fds_and_truncation(void)
{
    int p[2], got = -2, before;
    char big[64], buf[4];

    pair();
    CHECK_INT(pipe(p), 0);
    CHECK_INT(fdpass_send(sp[0], "e\0001", 3, NULL, 0), 0);
    CHECK_INT(fdpass_recv(sp[1], buf, sizeof buf, &got, 1), 3);
    CHECK_INT(got, -1);
    /* longer than the buffer: refused, its descriptor closed */
    memset(big, 'x', sizeof big);
    before = lowest_free();
    CHECK_INT(fdpass_send(sp[0], big, sizeof big, &p[1], 1), 0);
    errno = 0;
    CHECK_INT(fdpass_recv(sp[1], buf, sizeof buf, &got, 1), -1);
    CHECK_INT(errno, EPROTO);
    CHECK_INT(lowest_free(), before);
    /* too many descriptors to send */
    errno = 0;
    CHECK_INT(fdpass_send(sp[0], "n", 1, p, FDPASS_MAX + 1), -1);
    CHECK_INT(errno, EINVAL);
    /* the peer gone: end of file */
    close(sp[0]);
    CHECK_INT(fdpass_recv(sp[1], buf, sizeof buf, &got, 1), 0);
    close(sp[1]);
    close(p[0]);
    close(p[1]);
}

static const struct test_case cases[] = {
    {"one descriptor, close-on-exec", test_one_fd},
    {"wrong number refused, nothing leaked", test_wrong_count_refused_and_closed},
    {"none, truncated, too many, end of file", test_no_fds_and_truncation},
};

TEST_MAIN(cases)
