/* SPDX-License-Identifier: ISC */
/*
 * ident - the RFC 1413 client tcpserver -r uses for TCPREMOTEINFO.
 *
 * One query to port 113 of the client, sent from the address the client
 * connected to, bounded by one deadline for connect, write and read.
 * The answer is untrusted text from the client: only a USERID reply for
 * exactly our port pair is used, control characters become '?', and an
 * over-long user id is refused rather than cut.
 */
#ifndef IDENT_H
#define IDENT_H

#include <stddef.h>
#include <sys/socket.h>

#include "bstr.h"

#define IDENT_PORT 113
#define IDENT_USER_MAX 256  /* longest user id kept */
#define IDENT_LINE_MAX 1000 /* RFC 1413: replies are at most 1000 bytes */

int ident_parse(const char *resp, size_t len, unsigned rport, unsigned lport,
                struct bstr *user) __attribute__((warn_unused_result));
int ident_query(const struct sockaddr *local, socklen_t llen,
                const struct sockaddr *remote, socklen_t rlen,
                unsigned timeout, struct bstr *user)
    __attribute__((warn_unused_result));

#endif
