/* SPDX-License-Identifier: ISC */
/*
 * deadline - waiting on one descriptor until an absolute time.
 *
 * A deadline is a datetime_mono_ms() time (CLOCK_MONOTONIC, in ms), so
 * that a series of waits shares one limit however often it is
 * interrupted: a signal (EINTR), a spurious wake-up or a read that finds
 * nothing (EAGAIN) never restarts the clock.  DEADLINE_NONE means wait
 * for ever.  A deadline already passed still looks once whether the
 * descriptor is ready, so a zero wait is a readiness test.  Nothing here
 * exits, logs or changes a descriptor's flags.
 */
#ifndef DEADLINE_H
#define DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define DEADLINE_NONE 0LL

#define DEADLINE_WUR __attribute__((warn_unused_result))

/*
 * deadline_in - the deadline ms milliseconds from now; DEADLINE_NONE
 * when ms is negative (how poll(2) spells "no limit").
 */
long long deadline_in(long long ms);

/* deadline_passed - a deadline is set and it has come. */
bool deadline_passed(long long deadline);

/*
 * deadline_ms - the time left before deadline, for an API that takes a
 * relative timeout: 0 with *ms set (-1 for DEADLINE_NONE, capped at
 * INT_MAX), or -1 with errno ETIMEDOUT once the deadline has passed.
 */
int deadline_ms(long long deadline, int *ms) DEADLINE_WUR;

/*
 * deadline_wait - poll fd for events (POLLIN, POLLOUT) until deadline.
 * 0 when fd is ready (or in error, or hung up: the next read or write
 * says which); -1 with errno ETIMEDOUT at the deadline, EBADF for a
 * negative fd (which poll would ignore), or poll's errno.
 */
int deadline_wait(int fd, short events, long long deadline) DEADLINE_WUR;

/*
 * deadline_connect - connect the non-blocking socket fd to sa and wait
 * until deadline for the outcome.  0 when connected; -1 with errno:
 * ETIMEDOUT at the deadline, or why the connection failed
 * (ECONNREFUSED, ENETUNREACH, ... from connect or SO_ERROR).
 */
int deadline_connect(int fd, const struct sockaddr *sa, socklen_t len,
                     long long deadline) DEADLINE_WUR;

/*
 * deadline_read - one read(2) of at most n bytes, waiting until deadline
 * for input first.  >0 bytes read, 0 at end of file, -1 with errno
 * (ETIMEDOUT).  EINTR and EAGAIN wait again, against the same deadline.
 */
ssize_t deadline_read(int fd, void *buf, size_t n,
                      long long deadline) DEADLINE_WUR;

/*
 * deadline_write - one write(2) of at most n bytes, waiting until
 * deadline for room first.  The bytes written (0 only when n is 0), or
 * -1 with errno (ETIMEDOUT).  EINTR and EAGAIN wait again.
 */
ssize_t deadline_write(int fd, const void *buf, size_t n,
                       long long deadline) DEADLINE_WUR;
ssize_t deadline_recv(int fd, void *buf, size_t n, long long deadline)
    __attribute__((warn_unused_result));
ssize_t deadline_send(int fd, const void *buf, size_t n, long long deadline)
    __attribute__((warn_unused_result));

#endif
