/* SPDX-License-Identifier: ISC */
/*
 * qscan - reading the queue's directories without changing anything:
 * message numbers in todo/ and info/, and the counts qmail-qstat shows.
 * Works relative to the cwd ($QMAIL_HOME/queue).  Memory is one 8-byte
 * number per message, so a million-message queue needs ~16 MB.
 */
#ifndef QSCAN_H
#define QSCAN_H

#include <stddef.h>

struct qscan_ids {
    unsigned long long *v;
    size_t n, cap;
};

struct qscan_counts {
    unsigned long long messages; /* committed: in todo/ or info/ */
    unsigned long long todo;     /* not yet preprocessed */
};

int qscan_dir(const char *dir, struct qscan_ids *ids);
int qscan_split(const char *dir, struct qscan_ids *ids);
void qscan_sort_unique(struct qscan_ids *ids);
void qscan_free(struct qscan_ids *ids);
int qscan_count(struct qscan_counts *c);

#endif
