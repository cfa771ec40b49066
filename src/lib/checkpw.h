/* SPDX-License-Identifier: ISC */
/*
 * checkpw - running a checkpassword program (the interface qmail's AUTH
 * patch and qmail-popup use): the login goes to the child's fd 3 as
 * NUL-terminated fields ("user\0password\0", for CRAM-MD5
 * "user\0challenge\0response\0"), the child's exit says the verdict.
 *
 *   exit 0                       accepted
 *   exit 2, exit 111, a signal,  temporary: the program is broken or
 *   no exit within the timeout   its store unreachable (the client
 *                                hears 454 and may try again)
 *   any other exit (1: refused)  refused
 *
 * The child gets /dev/null as stdin and stdout and our stderr, so what
 * it says lands in the caller's log.  The caller must not ignore
 * SIGCHLD.  Never exits or logs.
 */
#ifndef CHECKPW_H
#define CHECKPW_H

#include <stddef.h>
#include <sys/types.h>

#include "bstr.h"

enum checkpw_verdict { CHECKPW_OK, CHECKPW_REFUSED, CHECKPW_TEMP };

/*
 * checkpw_run - run argv[0] (searched in PATH) with argv, data on fd 3,
 * for at most timeout seconds (then it is killed).  Returns 0 with the
 * verdict in *v and the exit status (or -signal, or -1000 on a timeout)
 * in *status, or -1 with errno when it could not be started.
 */
int checkpw_run(char *const argv[], const char *data, size_t len,
                unsigned timeout, enum checkpw_verdict *v, int *status) WUR;

/*
 * The conversation mode, for mechanisms of more than one round trip
 * (SCRAM-SHA-256; doc/vchkpw.8 describes it for other programs): the
 * child's fd 3 is one end of a socketpair and its environment says
 * AUTHMECH=mech.  Each side's messages end with a NUL; the caller speaks
 * first, the child answers each message, and its exit is the verdict as
 * above.  (Without this mode the child's AUTHMECH is removed, so a
 * value inherited from our environment cannot mislead it.)
 *
 * checkpw_start - start argv[0] so.  0, or -1 with errno.
 * checkpw_send - msg and its NUL to fd.  0, or -1 with errno.
 * checkpw_recv - the next message (NUL removed, at most max bytes) from
 *   fd into msg, bytes read beyond it kept in in, waiting until deadline
 *   (datetime_mono_ms time, 0: none).  1 a message, 0 the end of input
 *   before any byte of one, -1 with errno (ETIMEDOUT, EMSGSIZE: longer
 *   than max, EPROTO: input ended inside a message).
 * checkpw_finish - close our end and wait, at most the timeout, for the
 *   child's exit: 0 with the verdict and status as checkpw_run's, or -1.
 * checkpw_kill - kill the child and reap it (a conversation given up).
 */
struct checkpw_conv {
    pid_t pid;        /* -1: none */
    int fd;           /* our end of the socketpair */
    unsigned timeout; /* seconds for each answer and for the exit */
    struct bstr in;   /* bytes read past the last message */
};

#define CHECKPW_CONV_INIT                                                      \
    {                                                                          \
        -1, -1, 0, BSTR_INIT                                                   \
    }

int checkpw_start(struct checkpw_conv *c, char *const argv[], const char *mech,
                  unsigned timeout) WUR;
int checkpw_send(int fd, const char *msg, size_t len) WUR;
int checkpw_recv(int fd, struct bstr *in, struct bstr *msg, size_t max,
                 long long deadline) WUR;
int checkpw_finish(struct checkpw_conv *c, enum checkpw_verdict *v,
                   int *status) WUR;
void checkpw_kill(struct checkpw_conv *c);

#endif
