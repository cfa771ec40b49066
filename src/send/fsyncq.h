/* SPDX-License-Identifier: ISC */
/*
 * fsyncq - fsyncs done beside qmail-send's main loop.
 *
 * qmail-send makes every step durable before the step that depends on
 * it (a preprocessed message before todo/ is cleaned, a done mark before
 * its recipient counts as finished).  Done one after the other in the
 * main loop, those fsyncs made the disk's latency the limit of the whole
 * queue: with ten deliveries finishing at once, each waited for the
 * others' fsyncs, and preprocessing a burst of new mail held every
 * delivery up.  Here a few threads run the fsyncs in parallel (so the
 * filesystem can commit them together) and report back through an
 * eventfd; the main loop goes on with other work and acts on each
 * completion when it arrives.  The threads touch nothing but the
 * descriptors they are given.
 */
#ifndef FSYNCQ_H
#define FSYNCQ_H

#include <stdint.h>

#define FSYNCQ_THREADS 6

int fsyncq_init(void);
int fsyncq_fd(void);
int fsyncq_submit(int fd, void *tag);
int fsyncq_collect(void (*done)(void *tag, int err));
unsigned long fsyncq_pending(void);

#endif
