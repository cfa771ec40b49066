/* SPDX-License-Identifier: ISC */
/*
 * enqueue - putting one message into the qmail-1.03 queue.
 *
 * The steps and the queue state after each (doc/queue-states.md):
 *   begin     pid/P.T.R created; its inode N names the message; linked
 *             to mess/S/N and the pid file removed        (invisible)
 *   message   Received line + message written to mess/S/N (invisible)
 *   envelope  "u p F T.." written to intd/N                (invisible)
 *   commit    both files fsynced, intd/N linked to todo/N, todo/ fsynced,
 *             lock/trigger poked                           (queued)
 * Every function returns a qmail-queue exit code (0: go on); a failure
 * also leaves one line in e->why saying what failed and why (the file and
 * the errno text), for enqueue_report() to write to stderr.  Until
 * commit, enqueue_cleanup() removes every file made, so a failure leaves
 * nothing behind.  The steps take buffers as well as fds, so one process
 * can queue many messages in a row (qmail-queue -m).
 */
#ifndef ENQUEUE_H
#define ENQUEUE_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "qpath.h"

#define ENQUEUE_ADDR_MAX 1003 /* qmail-queue's limit per address */
#define ENQUEUE_WHY_MAX 256   /* one line of failure text */

struct enqueue {
    unsigned long long id;
    char pidfn[QPATH_MAX];
    char messfn[QPATH_MAX];
    char intdfn[QPATH_MAX];
    char todofn[QPATH_MAX];
    int messfd;
    int intdfd;
    uid_t uid;
    pid_t pid;
    time_t start;
    unsigned long long bytes;
    unsigned long rcpts;
    const char *extra; /* control/queueextra: one more recipient, or NULL */
    char why[ENQUEUE_WHY_MAX]; /* what failed and why; "" if nothing */
    volatile sig_atomic_t made_pid, made_mess, made_intd, committed;
};

void enqueue_init(struct enqueue *e, uid_t uid, pid_t pid, time_t now);
int enqueue_begin(struct enqueue *e);
int enqueue_write(struct enqueue *e, const void *p, size_t n);
int enqueue_message(struct enqueue *e, int in, const char *received);
int enqueue_envelope_buf(struct enqueue *e, const char *env, size_t len);
int enqueue_envelope(struct enqueue *e, int in);
int enqueue_commit(struct enqueue *e);
void enqueue_cleanup(struct enqueue *e);
void enqueue_close(struct enqueue *e);
int enqueue_fail(struct enqueue *e, int code, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void enqueue_report(const struct enqueue *e);

#endif
