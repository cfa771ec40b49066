/* SPDX-License-Identifier: ISC */
/*
 * qpath - the qmail-1.03 queue layout under $QMAIL_HOME/queue.
 *
 * Message N (its inode number) lives in mess/S/N, info/S/N, local/S/N,
 * remote/S/N with S = N mod QPATH_SPLIT, and in todo/N, intd/N, bounce/N
 * unsplit.  QPATH_SPLIT is qmail's conf-split (23): a queue written by
 * qmail-1.03 is read as it is.
 */
#ifndef QPATH_H
#define QPATH_H

#include <stdbool.h>
#include <stddef.h>

#ifndef QPATH_SPLIT
#define QPATH_SPLIT 23
#endif

#define QPATH_MAX 64

bool qpath_is_split(const char *dir);
size_t qpath_fmt(char out[QPATH_MAX], const char *dir,
                 unsigned long long id);
bool qpath_scan_id(const char *name, unsigned long long *id);

#endif
