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

#endif
