/* SPDX-License-Identifier: ISC */
/*
 * writeall - write(2) until all n bytes are out (see writeall.h).
 */
#include <errno.h>
#include <unistd.h>

#include "writeall.h"

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
