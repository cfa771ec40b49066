/* SPDX-License-Identifier: ISC */
/*
 * conn - what tcpserver does for one accepted connection, in the forked
 * child: find out who is calling (addresses, host names, ident), put it
 * in the environment, consult the rules cdb, then run the program with
 * the socket as its stdin and stdout.
 *
 * Everything slow or untrusted (DNS, ident, the rules file) happens
 * here, never in the accepting parent, so one slow client costs one
 * child and not the listener.  With tcpserver -W the same steps run in
 * a resident worker instead of a fresh child (worker.h).
 */
#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <sys/socket.h>

#include "bstr.h"

/* Verbosity: -q, -Q (default), -v. */
enum { CONN_QUIET = 0, CONN_ERRORS = 1, CONN_VERBOSE = 2 };

/* The child's part of tcpserver's options, fixed before the first fork. */
struct conn_conf {
    const char *rules;     /* -x rules.cdb, or NULL */
    bool rules_optional;   /* -X: a missing cdb means no rules */
    bool lookup_host;      /* -h (true, default) or -H */
    bool paranoid;         /* -p: the host name must map back */
    bool ident;            /* -r (true, default) or -R */
    unsigned ident_timeout; /* -t seconds */
    bool localhost_fixed;  /* TCPLOCALHOST known without a lookup: */
    const char *localhost; /* -l name, or found at startup (NULL: unset) */
    const char *banner;    /* -B, or NULL */
    bool nodelay;          /* -D */
    bool killopts;         /* -O (default): drop IPv4 options */
    int verbosity;
    char **argv;           /* the program and its arguments */
};

bool conn_setup(const struct conn_conf *cf, int fd,
                const struct sockaddr *peer, socklen_t peerlen);
void conn_run(const struct conn_conf *cf, int fd, const struct sockaddr *peer,
              socklen_t peerlen) __attribute__((noreturn));
bool conn_host_clean(struct bstr *name);
int conn_name_of(const struct sockaddr *sa, socklen_t salen,
                 struct bstr *name) __attribute__((warn_unused_result));
int conn_setenv_rules(const char *data, size_t len)
    __attribute__((warn_unused_result));

#endif
