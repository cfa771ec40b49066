/* SPDX-License-Identifier: ISC */
/*
 * pool - tcpserver's side of -W: the resident workers, which is idle,
 * handing a connection to one, and hearing that its session ended (the
 * protocol is in worker.h).
 *
 * Workers are started on demand, never more than tcpserver's -c limit
 * (there are never more sessions than that), and kept until they exit.
 * Starting one waits (up to POOL_HELLO_MS) for its hello; a program
 * that does not say it turns the pool off for good and tcpserver forks
 * a child per connection as without -W, after one warning.
 */
#ifndef POOL_H
#define POOL_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "bstr.h"
#include "conn.h"

#define POOL_HELLO_MS 5000

struct pool_worker {
    pid_t pid;
    int fd;    /* -1: gone, removed at the next pool_compact */
    bool busy;
    /* a connection handed over but not yet acknowledged: our copy of its
     * socket and the peer, to give it to another worker should this one
     * die before taking it (pool_orphan) */
    int pending;
    struct sockaddr_storage peer;
    socklen_t peerlen;
};

struct pool {
    unsigned long uses; /* -W; 0: no pool */
    bool off;           /* the program does not speak the protocol */
    size_t n, cap;
    struct pool_worker *w;
    struct bstr conf;   /* the "c" packet */
    char **argv;
    const sigset_t *mask; /* the signal mask for the program */
};

int pool_init(struct pool *p, unsigned long uses, const struct conn_conf *cf,
              const sigset_t *mask) __attribute__((warn_unused_result));
pid_t pool_take(struct pool *p, int fd, const struct sockaddr *peer,
                socklen_t peerlen);
size_t pool_pollfds(const struct pool *p, struct pollfd *out);
int pool_event(struct pool *p, int fd, pid_t *pid, int *code);
void pool_forget(struct pool *p, pid_t pid);
int pool_orphan(struct pool *p, pid_t *pid, struct sockaddr_storage *peer,
                socklen_t *peerlen);
void pool_compact(struct pool *p);

#endif
