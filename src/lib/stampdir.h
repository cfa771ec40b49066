/* SPDX-License-Identifier: ISC */
/*
 * stampdir - directories of empty files whose names are keys and whose
 * mtimes are the data (POP-before-SMTP's users/open-smtp, greylisting's
 * users/greylist): the sweep that removes the stale ones, and the stamp
 * that says when the built-in expiry last ran, taken by one process at a
 * time with a non-blocking flock, so nobody ever waits for it.
 *
 * The stamp (a file in the directory, e.g. ".expire") has its mtime set
 * to the end of the last pass and one byte written after the first: a
 * stamp without that byte has never seen a pass, however new its mtime,
 * so the process that has just created it runs one.  Times come from the
 * caller; nothing here logs or exits.
 */
#ifndef STAMPDIR_H
#define STAMPDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "bstr.h"

#define STAMPDIR_SKEW 60 /* seconds an mtime may lie in the future */

/* stampdir_age - seconds from mtime to now: a time in the future (a clock
 * set back, another host's) counts as now, one more than STAMPDIR_SKEW
 * ahead as ULONG_MAX, older than anything (a scribble must not last) */
unsigned long stampdir_age(time_t mtime, time_t now);

/* stale: 1 remove the file, 0 keep it (a name that is not the caller's
 * own is kept) */
typedef int (*stampdir_stale_fn)(const char *name, time_t mtime, void *arg);

/*
 * stampdir_sweep - unlink each regular file of dir (names starting with
 * '.' left alone) for which stale says 1, adding the count to *removed.
 * Files that vanish meanwhile are no error.  0, or -1 with errno (dir
 * unreadable, or a stat or unlink failing otherwise).
 */
int stampdir_sweep(const char *dir, stampdir_stale_fn stale, void *arg,
                   size_t *removed) WUR;

/*
 * stampdir_due - is an expiry pass due: the stamp file missing, never
 * passed, at least every seconds old, more than STAMPDIR_SKEW in the
 * future, or force?  Then 1 with *fd holding the stamp's flock: run the
 * pass and end with stampdir_done (or stampdir_abandon).  0 when not due
 * or another process holds the flock (no wait), -1 on error.
 */
int stampdir_due(const char *stamp, unsigned long every, time_t now,
                 bool force, int *fd) WUR;
/*
 * stampdir_open - open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
 * mode), making its directory sub (mode 0700) first when it is missing
 * and sub is not NULL.  The descriptor, or -1 with errno.
 */
int stampdir_open(const char *path, const char *sub, int flags, int mode);
/*
 * stampdir_regular - fstat fd into *st: 0 when it is a regular file,
 * -1 with errno (EINVAL: a fifo, a directory... planted under the name).
 */
int stampdir_regular(int fd, struct stat *st) WUR;
/*
 * stampdir_close_at - set the mtime of the stamp file open on fd to when
 * and close it: 0, or -1 with errno (fd closed either way).
 */
int stampdir_close_at(int fd, time_t when) WUR;
/* stampdir_done - the pass ran: mark the stamp at now and let it go. */
int stampdir_done(int fd, time_t now) WUR;
/* stampdir_abandon - the pass failed: let the stamp go, errno kept. */
void stampdir_abandon(int fd);

#endif
