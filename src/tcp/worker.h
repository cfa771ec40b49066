/* SPDX-License-Identifier: ISC */
/*
 * worker - tcpserver's resident workers (tcpserver -W), the program's
 * side and the protocol both sides speak.
 *
 * Without -W, tcpserver forks and execs the program for every
 * connection.  With -W it starts the program once per worker, with
 * UCSPI_WORKER=FD in its environment naming one end of a SOCK_SEQPACKET
 * socketpair, and hands it connection after connection.  A program that
 * knows this protocol (qmail-smtpd) calls worker_init() first; every
 * other program never looks at the variable, never says hello, and
 * tcpserver falls back to a process per connection.
 *
 * Messages, one per packet:
 *   worker -> tcpserver  "H1"               hello, protocol 1
 *   tcpserver -> worker  "c" NAME=VALUE\0... the connection options (once)
 *   tcpserver -> worker  "n" SOCKADDR       a connection: the peer's
 *                                           address; the socket rides
 *                                           along as SCM_RIGHTS
 *   worker -> tcpserver  "a"                taken (until then tcpserver
 *                                           keeps a copy of the socket
 *                                           and gives it to another
 *                                           worker if this one dies)
 *   worker -> tcpserver  "e" CODE MORE      that connection's session
 *                                           ended with exit code CODE;
 *                                           MORE is '1' when the worker
 *                                           takes another, '0' when it
 *                                           exits now
 *
 * For each connection the worker does what tcpserver's child does
 * (conn_setup: addresses, host names, ident, the rules cdb, the
 * environment, the "pid"/"ok"/"deny" log lines), starting from the
 * environment it was started with, so a rule's variables for one client
 * never reach the next.  The program then serves fds 0 and 1 and calls
 * worker_done(), which closes the client's socket and reports the exit
 * code, from which tcpserver logs the "end PID status" line a child's
 * exit would have given.  A worker that exits instead (a die path, a
 * crash, its -W count of sessions reached) is reaped like a child.
 */
#ifndef WORKER_H
#define WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "conn.h"

#define WORKER_ENV "UCSPI_WORKER"
#define WORKER_HELLO "H1"
#define WORKER_MSG_MAX 65536 /* the largest packet either side sends */

struct worker {
    int fd;                  /* our end of the socketpair */
    struct conn_conf cf;     /* tcpserver's options, from its "c" packet */
    unsigned long uses;      /* sessions before the worker exits (-W) */
    unsigned long served;
    char *conf;              /* the "c" packet's bytes, cf points into it */
    char **env0;             /* the environment at start, to restore */
    int null;                /* /dev/null, for fds 0/1 between sessions */
};

/* tcpserver's side: the "c" packet for cf and -W's count */
int worker_conf_pack(struct bstr *out, const struct conn_conf *cf,
                     unsigned long uses) __attribute__((warn_unused_result));
int worker_conf_unpack(char *p, size_t len, struct conn_conf *cf,
                       unsigned long *uses)
    __attribute__((warn_unused_result));

/* the program's side */
int worker_init(struct worker *w) __attribute__((warn_unused_result));
int worker_next(struct worker *w) __attribute__((warn_unused_result));
bool worker_done(struct worker *w, int code);

#endif
