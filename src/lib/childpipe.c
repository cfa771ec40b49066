/* SPDX-License-Identifier: ISC */
/*
 * childpipe - SIGCHLD as a readable descriptor (see childpipe.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "childpipe.h"

static int wfd = -1;

static void
on_child(int sig)
{
    int e = errno;

    (void)sig;
    if (write(wfd, "", 1) < 0) {
        /* the pipe is full: a wake-up is already pending */
    }
    errno = e;
}

int
childpipe_init(void)
{
    struct sigaction sa;
    int p[2];

    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1)
        return -1;
    wfd = p[1];
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, NULL) == -1) {
        int e = errno;

        close(p[0]);
        close(p[1]);
        wfd = -1;
        errno = e;
        return -1;
    }
    return p[0];
}

void
childpipe_drain(int fd)
{
    char buf[64];

    while (read(fd, buf, sizeof buf) > 0)
        ;
}
