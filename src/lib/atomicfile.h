/* SPDX-License-Identifier: ISC */
/*
 * atomicfile - replace a small file so that readers and a crash see the
 * old contents or the new, never a mix: a temporary file beside it
 * (DIR/.NAME.tmp.PID for DIR/NAME), written, given its owner and mode, fsynced, renamed
 * over PATH, and the directory fsynced.  Nothing here exits or logs.
 */
#ifndef ATOMICFILE_H
#define ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "bstr.h"

#define ATOMICFILE_KEEP ((uid_t)-1) /* uid/gid: the writer's own */

int atomicfile_write(const char *path, const void *p, size_t n, mode_t mode,
                     uid_t uid, gid_t gid) WUR;
int atomicfile_syncdir(const char *dir) WUR;

#endif
