/* SPDX-License-Identifier: ISC */
/*
 * writeall - write(2) until all n bytes are out (see writeall.h).  A
 * short write is not an error, only a reason to write the rest.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "writeall.h"

/*
 * put - every byte of c[0..n) to fd.  With wait, each write waits for
 * room until deadline first (so EAGAIN is only a reason to wait again),
 * and a socket is written with send(MSG_NOSIGNAL); without, this is a
 * plain write(2) loop, as safe in a signal handler as write(2) is.
 */
static int
put(int fd, const char *c, size_t n, bool wait, long long deadline)
{
    bool sock = wait;

    while (n) {
        ssize_t w;

        if (wait && deadline_wait(fd, POLLOUT, deadline) == -1)
            return -1;
        w = sock ? send(fd, c, n, MSG_NOSIGNAL) : write(fd, c, n);
        if (w == -1 && sock && errno == ENOTSOCK) {
            sock = false; /* a pipe or file: write(2), which has no flags */
            continue;
        }
        if (w == -1 && (errno == EINTR || (wait && errno == EAGAIN)))
            continue;
        if (w == -1)
            return -1;
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* write_all - every byte, blocking; EINTR is not an error. */
int
write_all(int fd, const void *p, size_t n)
{
    return put(fd, p, n, false, DEADLINE_NONE);
}

/* write_all_until - every byte before deadline (see writeall.h). */
int
write_all_until(int fd, const void *p, size_t n, long long deadline)
{
    return put(fd, p, n, true, deadline);
}
