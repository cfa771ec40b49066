/* SPDX-License-Identifier: ISC */
/*
 * readfile - a whole small file into a bstr (see readfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "readfile.h"

#define CHUNK 8192

int
readfile_fd(int fd, struct bstr *out, size_t max)
{
    bstr_truncate(out, 0);
    if (bstr_ready(out, 0) == -1)
        return -1;
    out->s[0] = '\0';
    for (;;) {
        ssize_t r;

        if (bstr_readyplus(out, CHUNK) == -1)
            return -1;
        r = read(fd, out->s + out->len, CHUNK);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            return -1;
        if (r == 0)
            return 0;
        out->len += (size_t)r;
        out->s[out->len] = '\0';
        if (max && out->len > max) {
            errno = EFBIG;
            return -1;
        }
    }
}

int
readfile_path(const char *fn, struct bstr *out, size_t max)
{
    int fd = open(fn, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    int r, e;

    bstr_truncate(out, 0);
    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    r = readfile_fd(fd, out, max);
    e = errno;
    close(fd);
    errno = e;
    return r == 0 ? 1 : -1;
}
