/* SPDX-License-Identifier: ISC */
/*
 * batch - qmail-queue -m: many messages over one socket on fd 0.
 *
 * Frames from the caller: a type byte, a 4-byte big-endian length, then
 * that many bytes.
 *   'D' message bytes (the caller's Received line and the message)
 *   'E' the envelope "Fs\0Tr\0...\0": ends the message; qmail-queue
 *       commits it and answers one byte, the exit code qmail-queue would
 *       have exited with for this message (0: queued)
 *   'A' (length 0) forget the message in progress; no answer
 * End of file between messages ends the batch (exit 0); in the middle
 * of a message it is an abort.  A malformed frame ends the batch with
 * exit 91.  Each message gets its own inode, files and fsyncs exactly as
 * in single mode; a failure affects only that message.
 */
#ifndef BATCH_H
#define BATCH_H

#include <time.h>

#include "bstr.h"
#include "enqueue.h"

#define BATCH_FRAME_MAX (1u << 20)    /* one 'D' frame */
#define BATCH_ENVELOPE_MAX (64u << 20) /* one 'E' frame */

typedef int (*batch_received_fn)(struct bstr *out, pid_t pid, time_t now);

int batch_run(struct enqueue *e, batch_received_fn received);

#endif
