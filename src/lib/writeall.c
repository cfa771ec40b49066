/* SPDX-License-Identifier: ISC */
/*
 * writeall - write(2) until all n bytes are out (see writeall.h).  A
 * short write is not an error, only a reason to write the rest.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "deadline.h"
#include "writeall.h"

/* write_all - every byte, blocking; EINTR is not an error. */
int
write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n) {
        ssize_t w = write(fd, c, n);

        if (w == -1 && errno == EINTR)
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

/* write_all_until - every byte before deadline (see writeall.h). */
int
write_all_until(int fd, const void *p, size_t n, long long deadline)
{
    const char *c = p;
    int sock = 1;

    while (n) {
        ssize_t w;

        if (deadline_wait(fd, POLLOUT, deadline) == -1)
            return -1;
        w = sock ? send(fd, c, n, MSG_NOSIGNAL) : write(fd, c, n);
        if (w == -1 && sock && errno == ENOTSOCK) {
            sock = 0; /* a pipe or file: write(2), which has no flags */
            continue;
        }
        if (w == -1 && (errno == EINTR || errno == EAGAIN))
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
