/* SPDX-License-Identifier: ISC */
/*
 * lock - exclusive locks on mailbox files: flock(2) with a time limit,
 * and the traditional "file.lock" dot-lock that mail readers check.
 *
 * Every wait is bounded: a reader that holds a mailbox forever makes the
 * caller fail (temporarily), never hang.  A dot-lock older than
 * LOCK_DOT_STALE seconds is taken to be left by a dead process and
 * removed.  Nothing here exits or logs.
 */
#ifndef LOCK_H
#define LOCK_H

#include <stdbool.h>

#include "bstr.h"

#define LOCK_DOT_STALE 300 /* seconds, as procmail and mutt assume */

int lock_ex_wait(int fd, unsigned seconds) WUR;
int lock_dot(const char *path, unsigned seconds, struct bstr *name) WUR;
void lock_dot_release(struct bstr *name);

#endif
