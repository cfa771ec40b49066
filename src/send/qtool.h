/* SPDX-License-Identifier: ISC */
/*
 * qtool - what the queue tools share: reading a message's files for
 * display, and sending requests to a running qmail-send over the
 * lock/sendctl fifo (qmail-send owns scheduling, so tools never change
 * the queue under its feet).  Paths are relative to $QMAIL_HOME/queue.
 */
#ifndef QTOOL_H
#define QTOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bstr.h"

int qtool_enter(void);
int qtool_request(const char *line);
int qtool_queued(uint64_t id);
int qtool_show(FILE *out, uint64_t id, bool todo);
int qtool_remove_files(uint64_t id);

#endif
