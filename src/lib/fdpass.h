/* SPDX-License-Identifier: ISC */
/*
 * fdpass - one packet with descriptors attached (SCM_RIGHTS), over a
 * SOCK_SEQPACKET (or datagram) UNIX socket: how tcpserver -W hands a
 * connection to a worker and qmail-lspawn a delivery to its per-user
 * worker.
 *
 * Received descriptors are close-on-exec.  A packet whose descriptors
 * did not all fit (MSG_CTRUNC) or that carries any other control data is
 * refused with EPROTO, and whatever descriptors did arrive are closed,
 * so a confused peer can never leak descriptors into the receiver.
 */
#ifndef FDPASS_H
#define FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#define FDPASS_MAX 4 /* descriptors per packet */

int fdpass_send(int sock, const void *buf, size_t len, const int *fds,
                size_t nfds) __attribute__((warn_unused_result));
ssize_t fdpass_recv(int sock, void *buf, size_t cap, int *fds, size_t nfds)
    __attribute__((warn_unused_result));

#endif
