/* SPDX-License-Identifier: ISC */
/*
 * writeall - write(2) until all n bytes are out, again after EINTR.
 */
#ifndef WRITEALL_H
#define WRITEALL_H

#include <stddef.h>

/* write_all - all of p[0..n) to fd: 0, or -1 with errno (EIO if the
 * descriptor took nothing). */
int write_all(int fd, const void *p, size_t n)
    __attribute__((warn_unused_result));

#endif
