/* SPDX-License-Identifier: ISC */
/*
 * lworker - qmail-lspawn's per-user delivery workers.
 *
 * Without them, every local delivery costs a fork (and the start-up of
 * qmail-local's code in the child); on a virtual machine that is most of
 * a delivery's CPU.  A worker is a child of qmail-lspawn that has become
 * one user (uid and gid; in a single-user instance, the instance's
 * owner) and delivers message after message for that user in one
 * process: qmail-lspawn still opens the message and looks the user up
 * with its own privileges (lspawn_prepare), then passes the message and
 * the report pipe as descriptors with the delivery's arguments; the
 * worker runs qmail-local's code on them (qmail_local_run) with the
 * environment it started with, closes them and answers with the exit
 * code.  qmail-lspawn reports the delivery exactly as it reports a
 * child's (the same text from the pipe, the same verdict from the code);
 * a worker that dies is reaped and its delivery reported as a crash.
 *
 * A worker is forked, becomes the user and then execs
 * "qmail-local --worker": a fresh address space with a layout of its own,
 * holding nothing of qmail-lspawn's memory (other deliveries' envelopes
 * and report texts).  It runs as the user whose files it reads, so what
 * one delivery could do to the next is what that user's own mail could
 * do to that user; it never serves another uid.  Programs in .qmail
 * files still run in processes of their own.
 *
 * Packets (SOCK_SEQPACKET):
 *   worker -> qmail-lspawn  "H"     started (after the exec)
 *   qmail-lspawn -> worker  "d" user\0home\0local\0dash\0ext\0domain\0sender\0
 *                           with two descriptors: the message, the pipe
 *   worker -> qmail-lspawn  "e" CODE MORE   (MORE '0': it exits now)
 */
#ifndef LWORKER_H
#define LWORKER_H

#include <stdbool.h>
#include <sys/types.h>

#include "lspawn.h"

#define LWORKERS_MAX 64       /* workers at once, over all users */
#define LWORKER_USES 1000     /* deliveries before a worker exits */
#define LWORKER_PKT_MAX 16384 /* the largest request */
#define LWORKER_HELLO_MS 5000 /* a new worker's wait to say it started */

struct lworker {
    pid_t pid;
    int fd;    /* -1: free slot */
    uid_t uid;
    gid_t gid;
    bool busy;
};

struct lworkers {
    struct lworker w[LWORKERS_MAX];
    bool off; /* a worker did not start: no more tries */
};

void lworkers_init(struct lworkers *p);
int lworkers_send(struct lworkers *p, const struct lspawn_conf *c,
                  const struct local_user *u, const char *local,
                  const char *domain, const char *sender, int messfd,
                  int outfd);
int lworkers_event(struct lworkers *p, size_t i, pid_t *pid, int *code);
void lworkers_forget(struct lworkers *p, pid_t pid);
void lworkers_close(struct lworkers *p);
void lworker_main(int sock, const char *defaultdelivery)
    __attribute__((noreturn));

#endif
