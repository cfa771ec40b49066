/* SPDX-License-Identifier: ISC */
/*
 * deadline - waiting on one descriptor until an absolute time (see
 * deadline.h).  Every wait in the library goes through deadline_wait,
 * so the rules are kept in one place: the time left is computed again
 * after each interruption, poll never gets a timeout past the deadline,
 * and ETIMEDOUT is reported only once the deadline has come.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include "datetime.h"
#include "deadline.h"

/* deadline_in - now + ms; DEADLINE_NONE for a negative ms. */
long long
deadline_in(long long ms)
{
    if (ms < 0)
        return DEADLINE_NONE;
    return datetime_mono_ms() + ms;
}

/* deadline_passed - a deadline is set and has come. */
bool
deadline_passed(long long deadline)
{
    return deadline != DEADLINE_NONE && datetime_mono_ms() >= deadline;
}

/* deadline_ms - the ms left for a relative timeout, or ETIMEDOUT. */
int
deadline_ms(long long deadline, int *ms)
{
    long long left;

    if (deadline == DEADLINE_NONE) {
        *ms = -1;
        return 0;
    }
    left = deadline - datetime_mono_ms();
    if (left <= 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    *ms = left > INT_MAX ? INT_MAX : (int)left;
    return 0;
}

/* deadline_wait - poll one fd until it is ready or deadline comes. */
int
deadline_wait(int fd, short events, long long deadline)
{
    struct pollfd p;

    if (fd < 0) {
        errno = EBADF; /* poll would skip it: a wait with no end */
        return -1;
    }
    p.fd = fd;
    p.events = events;
    for (;;) {
        int ms, r;

        /* a deadline that has passed still gets one look (ms 0) */
        if (deadline_ms(deadline, &ms) == -1)
            ms = 0;
        p.revents = 0;
        r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r == 0) {
            /* ms was capped at INT_MAX: that is no reason to give up */
            if (ms == 0 || deadline_passed(deadline)) {
                errno = ETIMEDOUT;
                return -1;
            }
            continue;
        }
        if (errno != EINTR)
            return -1;
    }
}

/* deadline_connect - a non-blocking connect, its outcome awaited. */
int
deadline_connect(int fd, const struct sockaddr *sa, socklen_t len,
                 long long deadline)
{
    socklen_t elen = sizeof(int);
    int e = 0;

    if (connect(fd, sa, len) == 0)
        return 0;
    /* EINTR: the connection goes on in the background (POSIX connect) */
    if (errno != EINPROGRESS && errno != EINTR)
        return -1;
    if (deadline_wait(fd, POLLOUT, deadline) == -1)
        return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
        return -1;
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/*
 * io - one read or write against deadline; EINTR and EAGAIN wait again,
 * against the same deadline.  A plain fd is waited for first (a blocking
 * one would otherwise block past the deadline); a socket (sock) is tried
 * at once with MSG_DONTWAIT, which never blocks, and waited for only
 * when it would block: on a busy socket the poll before each read and
 * write is saved.
 */
static ssize_t
io(int fd, void *buf, size_t n, long long deadline, bool out, bool sock)
{
    bool wait = !sock;

    for (;;) {
        ssize_t r;

        if (wait && deadline_wait(fd, out ? POLLOUT : POLLIN, deadline) == -1)
            return -1;
        if (sock)
            r = out ? send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL)
                    : recv(fd, buf, n, MSG_DONTWAIT);
        else
            r = out ? write(fd, buf, n) : read(fd, buf, n);
        if (r >= 0 || (errno != EINTR && errno != EAGAIN))
            return r;
        wait = errno == EAGAIN || !sock;
    }
}

/* deadline_recv - deadline_read for a socket: tried first, then awaited. */
ssize_t
deadline_recv(int fd, void *buf, size_t n, long long deadline)
{
    return io(fd, buf, n, deadline, false, true);
}

/* deadline_send - deadline_write for a socket (no SIGPIPE: EPIPE). */
ssize_t
deadline_send(int fd, const void *buf, size_t n, long long deadline)
{
    return io(fd, (void *)buf, n, deadline, true, true);
}

/* deadline_read - one read(2), input awaited until deadline. */
ssize_t
deadline_read(int fd, void *buf, size_t n, long long deadline)
{
    return io(fd, buf, n, deadline, false, false);
}

/* deadline_write - one write(2), room awaited until deadline. */
ssize_t
deadline_write(int fd, const void *buf, size_t n, long long deadline)
{
    return io(fd, (void *)buf, n, deadline, true, false);
}
