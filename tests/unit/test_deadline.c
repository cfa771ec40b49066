/* SPDX-License-Identifier: ISC */
/*
 * test_deadline - waits against an absolute time: a deadline already
 * past, signals in the middle of a wait, connects refused and connects
 * that never finish (a listener whose backlog is full, on 127.0.0.1),
 * and write_all_until on a pipe nobody reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "datetime.h"
#include "deadline.h"
#include "harness.h"
#include "writeall.h"

static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

/* a SIGALRM every 20 ms, without SA_RESTART: poll sees EINTR each time */
static void
alarm_start(void)
{
    struct sigaction sa;
    struct itimerval it = {{0, 20000}, {0, 20000}};

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGALRM, &sa, NULL);
    alarms = 0;
    setitimer(ITIMER_REAL, &it, NULL);
}

static void
alarm_stop(void)
{
    struct itimerval it = {{0, 0}, {0, 0}};

    setitimer(ITIMER_REAL, &it, NULL);
    signal(SIGALRM, SIG_DFL);
}

/* A listening socket on 127.0.0.1 and a free port: its address in sin. */
static int
listener(struct sockaddr_in *sin, int backlog)
{
    socklen_t len = sizeof *sin;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1 || bind(fd, (struct sockaddr *)sin, sizeof *sin) == -1 ||
        listen(fd, backlog) == -1 ||
        getsockname(fd, (struct sockaddr *)sin, &len) == -1)
        return -1;
    return fd;
}

static int
tcp_socket(void)
{
    return socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static void
t_in_and_ms(void)
{
    long long now = datetime_mono_ms();
    long long d = deadline_in(1000);
    int ms = 0;

    CHECK_INT(deadline_in(-1), DEADLINE_NONE);
    CHECK(d >= now + 1000 && d <= now + 1100);
    CHECK(!deadline_passed(d));
    CHECK(!deadline_passed(DEADLINE_NONE));
    CHECK(deadline_passed(now - 1));
    CHECK_INT(deadline_ms(DEADLINE_NONE, &ms), 0);
    CHECK_INT(ms, -1);
    CHECK_INT(deadline_ms(d, &ms), 0);
    CHECK(ms > 900 && ms <= 1000);
    errno = 0;
    CHECK_INT(deadline_ms(now - 5, &ms), -1);
    CHECK_INT(errno, ETIMEDOUT);
    /* far away: capped, not wrapped */
    CHECK_INT(deadline_ms(now + 10000000000000LL, &ms), 0);
    CHECK(ms > 0);
}

/* A deadline already past: one look, then ETIMEDOUT at once. */
static void
t_past(void)
{
    int p[2];
    long long t0;

    CHECK(pipe(p) == 0);
    t0 = datetime_mono_ms();
    errno = 0;
    CHECK_INT(deadline_wait(p[0], POLLIN, t0 - 1000), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 < 100);
    /* a zero wait is a readiness test: ready is ready, past or not */
    CHECK_INT(deadline_wait(p[1], POLLOUT, t0 - 1000), 0);
    CHECK_INT(deadline_wait(p[0], POLLIN, deadline_in(0)), -1);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK_INT(deadline_wait(p[0], POLLIN, t0 - 1000), 0);
    close(p[0]);
    close(p[1]);
}

static void
t_ready_and_timeout(void)
{
    int p[2];
    long long t0;

    CHECK(pipe(p) == 0);
    t0 = datetime_mono_ms();
    errno = 0;
    CHECK_INT(deadline_wait(p[0], POLLIN, t0 + 150), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() >= t0 + 150);
    CHECK(datetime_mono_ms() - t0 < 1000);
    CHECK(write(p[1], "ab", 2) == 2);
    CHECK_INT(deadline_wait(p[0], POLLIN, DEADLINE_NONE), 0);
    close(p[1]);
    {
        char buf[8];

        CHECK_INT(deadline_read(p[0], buf, sizeof buf, deadline_in(100)),
                  2);
        /* the writer is gone: end of file, not a timeout */
        CHECK_INT(deadline_read(p[0], buf, sizeof buf, deadline_in(100)),
                  0);
    }
    close(p[0]);
}

/* Signals do not cut a wait short, nor stretch it. */
static void
t_eintr(void)
{
    int p[2];
    long long t0;
    char c;

    CHECK(pipe(p) == 0);
    alarm_start();
    t0 = datetime_mono_ms();
    errno = 0;
    CHECK_INT(deadline_wait(p[0], POLLIN, t0 + 300), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 >= 300);
    CHECK(datetime_mono_ms() - t0 < 1500);
    CHECK(alarms >= 3);
    /* a read: the same, one deadline however often interrupted */
    t0 = datetime_mono_ms();
    errno = 0;
    CHECK_INT(deadline_read(p[0], &c, 1, t0 + 200), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 >= 200);
    CHECK(datetime_mono_ms() - t0 < 1500);
    alarm_stop();
    close(p[0]);
    close(p[1]);
}

/* A read that finds nothing (EAGAIN) waits again, against one deadline. */
static void
t_eagain(void)
{
    int sv[2];
    long long t0;
    char c;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    t0 = datetime_mono_ms();
    errno = 0;
    CHECK_INT(deadline_read(sv[0], &c, 1, t0 + 100), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 >= 100);
    CHECK_INT(deadline_write(sv[1], "z", 1, deadline_in(100)), 1);
    CHECK_INT(deadline_read(sv[0], &c, 1, deadline_in(100)), 1);
    CHECK_INT(c, 'z');
    close(sv[0]);
    close(sv[1]);
}

static void
t_connect_ok(void)
{
    struct sockaddr_in sin;
    int l = listener(&sin, 5), fd = tcp_socket();

    CHECK(l != -1 && fd != -1);
    CHECK_INT(deadline_connect(fd, (struct sockaddr *)&sin, sizeof sin,
                               deadline_in(2000)),
              0);
    close(fd);
    close(l);
}

/* A port nobody listens on: ECONNREFUSED, not a timeout. */
static void
t_connect_refused(void)
{
    struct sockaddr_in sin;
    int l = listener(&sin, 1), fd;
    long long t0;

    CHECK(l != -1);
    close(l); /* the port is free again, and closed */
    fd = tcp_socket();
    CHECK(fd != -1);
    t0 = datetime_mono_ms();
    errno = 0;
    CHECK_INT(deadline_connect(fd, (struct sockaddr *)&sin, sizeof sin,
                               deadline_in(2000)),
              -1);
    CHECK_INT(errno, ECONNREFUSED);
    CHECK(datetime_mono_ms() - t0 < 1000);
    close(fd);
}

/*
 * A listener that never accepts, its backlog full: Linux drops further
 * SYNs, so the next connect neither succeeds nor fails until the
 * deadline.  All on 127.0.0.1.
 */
static void
t_connect_timeout(void)
{
    struct sockaddr_in sin;
    int l = listener(&sin, 0), fill[8], fd;
    size_t nfill = 0;
    long long t0;
    int r = 0;

    CHECK(l != -1);
    /* fill the queue: a connect that does not finish at once is the sign */
    for (; nfill < sizeof fill / sizeof fill[0]; nfill++) {
        fill[nfill] = tcp_socket();
        r = deadline_connect(fill[nfill], (struct sockaddr *)&sin, sizeof sin,
                             deadline_in(200));
        if (r == -1) {
            nfill++;
            break;
        }
    }
    CHECK_INT(r, -1);
    CHECK_INT(errno, ETIMEDOUT);
    fd = tcp_socket();
    t0 = datetime_mono_ms();
    errno = 0;
    CHECK_INT(deadline_connect(fd, (struct sockaddr *)&sin, sizeof sin,
                               t0 + 300),
              -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 >= 300);
    CHECK(datetime_mono_ms() - t0 < 2000);
    /* and a deadline already past gives up at once */
    close(fd);
    fd = tcp_socket();
    t0 = datetime_mono_ms();
    CHECK_INT(deadline_connect(fd, (struct sockaddr *)&sin, sizeof sin,
                               t0 - 1),
              -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 < 100);
    close(fd);
    for (size_t i = 0; i < nfill; i++)
        close(fill[i]);
    close(l);
}

/* write_all_until: a pipe nobody reads fills, then the deadline ends it;
 * a reader gone is EPIPE (no SIGPIPE: this process would die of it). */
static void
t_write_all_until(void)
{
    static char big[1 << 20];
    int p[2], sv[2];
    long long t0;
    char buf[16];

    CHECK(pipe2(p, O_NONBLOCK) == 0);
    t0 = datetime_mono_ms();
    errno = 0;
    CHECK_INT(write_all_until(p[1], big, sizeof big, t0 + 200), -1);
    CHECK_INT(errno, ETIMEDOUT);
    CHECK(datetime_mono_ms() - t0 >= 200);
    close(p[0]);
    close(p[1]);

    CHECK(pipe(p) == 0);
    CHECK_INT(write_all_until(p[1], "hello", 5, DEADLINE_NONE), 0);
    CHECK_INT(read(p[0], buf, sizeof buf), 5);
    close(p[0]);
    close(p[1]);

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    CHECK_INT(write_all_until(sv[0], "abc", 3, deadline_in(500)), 0);
    CHECK_INT(read(sv[1], buf, sizeof buf), 3);
    close(sv[1]);
    errno = 0;
    CHECK_INT(write_all_until(sv[0], "abc", 3, deadline_in(500)), -1);
    CHECK_INT(errno, EPIPE);
    close(sv[0]);
}

/* Descriptors that are no descriptors: an error, never a wait. */
static void
t_bad_fd(void)
{
    char c;
    int p[2];
    long long t0 = datetime_mono_ms();

    errno = 0;
    CHECK_INT(deadline_wait(-1, POLLIN, DEADLINE_NONE), -1);
    CHECK_INT(errno, EBADF);
    /* a closed one: poll says POLLNVAL at once, the read says EBADF */
    CHECK(pipe(p) == 0);
    close(p[0]);
    close(p[1]);
    errno = 0;
    CHECK_INT(deadline_read(p[0], &c, 1, DEADLINE_NONE), -1);
    CHECK_INT(errno, EBADF);
    CHECK_INT(write_all_until(-1, "x", 1, DEADLINE_NONE), -1);
    CHECK_INT(errno, EBADF);
    CHECK(datetime_mono_ms() - t0 < 100);
}

static const struct test_case cases[] = {
    {"in_and_ms", t_in_and_ms},
    {"past", t_past},
    {"ready_and_timeout", t_ready_and_timeout},
    {"eintr", t_eintr},
    {"eagain", t_eagain},
    {"connect_ok", t_connect_ok},
    {"connect_refused", t_connect_refused},
    {"connect_timeout", t_connect_timeout},
    {"write_all_until", t_write_all_until},
    {"bad_fd", t_bad_fd},
};

TEST_MAIN(cases)
