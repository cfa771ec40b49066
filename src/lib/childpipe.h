/* SPDX-License-Identifier: ISC */
/*
 * childpipe - SIGCHLD as a readable descriptor, for a poll() loop that
 * runs children (the self-pipe trick): the handler writes a byte to a
 * non-blocking pipe, the loop polls the read end, drains it and reaps
 * with waitpid(WNOHANG).  One per process.
 */
#ifndef CHILDPIPE_H
#define CHILDPIPE_H

/* childpipe_init - install the handler: the fd to poll, or -1 (errno). */
int childpipe_init(void);

/* childpipe_drain - empty the pipe after poll said it is readable. */
void childpipe_drain(int fd);

#endif
