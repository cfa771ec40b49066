/* SPDX-License-Identifier: ISC */
/*
 * dirwatch - has anything in this directory changed since I last asked?
 *
 * For a long-lived process that caches files it would otherwise read
 * again for every client (qmail-smtpd as a tcpserver -W worker reads
 * control/ once and again only after a change).  Built on inotify:
 * a file written in place, replaced by rename, created, removed or
 * chmod'ed counts, and so does a lost event (queue overflow).  What it
 * cannot see: a change to the target of a symbolic link that lives
 * outside the directory.  Without inotify, every question is answered
 * "changed", which is always safe.
 */
#ifndef DIRWATCH_H
#define DIRWATCH_H

#include <stdbool.h>

int dirwatch_open(const char *dir) __attribute__((warn_unused_result));
bool dirwatch_changed(int fd);
void dirwatch_close(int fd);

#endif
