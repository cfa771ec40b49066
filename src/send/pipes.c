/* SPDX-License-Identifier: ISC */
/*
 * pipes - qmail-send's pipes to its helpers (qmail-lspawn, qmail-rspawn,
 * qmail-clean) are non-blocking: a helper slow to read never stops the
 * main loop.  What waits to be written sits in a buffer and goes out as
 * far as the pipe takes it, the rest on a later turn (when poll says the
 * pipe is writable).  Nothing here decides what a failure means.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "send.h"

/* pipes_nonblock - make fd non-blocking: 0, or -1 with errno. */
int
pipes_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
        return -1;
    return 0;
}

/*
 * pipes_write - write b from *off on to fd until it is all out (b is
 * emptied, *off 0) or the pipe is full (*off says how far it got).
 * Returns 0, or -1 with errno when the helper is gone.
 */
int
pipes_write(int fd, struct bstr *b, size_t *off)
{
    while (*off < b->len) {
        ssize_t w = write(fd, b->s + *off, b->len - *off);

        if (w == -1) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return 0;
            return -1;
        }
        *off += (size_t)w;
    }
    bstr_truncate(b, 0);
    *off = 0;
    return 0;
}
