/* SPDX-License-Identifier: ISC */
/*
 * writeall - write(2) until all n bytes are out, again after EINTR; and
 * the same against a deadline, for non-blocking descriptors and sockets
 * whose peer may have gone away.
 */
#ifndef WRITEALL_H
#define WRITEALL_H

#include <stddef.h>

/* write_all - all of p[0..n) to fd: 0, or -1 with errno (EIO if the
 * descriptor took nothing). */
int write_all(int fd, const void *p, size_t n)
    __attribute__((warn_unused_result));

/*
 * write_all_until - all of p[0..n) to fd, which may be non-blocking,
 * each write waiting for room until deadline (a deadline.h time;
 * DEADLINE_NONE: for ever).  A socket is written with MSG_NOSIGNAL: a
 * peer that went away is EPIPE, never SIGPIPE.  0, or -1 with errno
 * (ETIMEDOUT at the deadline; EIO if the descriptor took nothing).
 */
int write_all_until(int fd, const void *p, size_t n, long long deadline)
    __attribute__((warn_unused_result));

#endif
