/* SPDX-License-Identifier: ISC */
/*
 * readfile - a whole small file into a bstr: control files, queue
 * envelopes, bounce reports, users/assign.  The content replaces what
 * out held and is NUL-terminated (out->s[out->len] == '\0') so text
 * parsers may use C string functions; it may hold NULs itself.  A file
 * larger than max bytes (max 0: no limit) is an error, EFBIG.
 */
#ifndef READFILE_H
#define READFILE_H

#include <stddef.h>

#include "bstr.h"

/* readfile_fd - the rest of fd: 0, or -1 with errno. */
int readfile_fd(int fd, struct bstr *out, size_t max) WUR;

/* readfile_path - the file fn: 1, 0 when it does not exist (errno
 * ENOENT), -1 with errno on any other trouble. */
int readfile_path(const char *fn, struct bstr *out, size_t max) WUR;

#endif
