/* SPDX-License-Identifier: ISC */
/*
 * mlogdir - one automatically rotated log directory on disk, laid out
 * as daemontools' multilog lays it out: `current` (mode 0644 while
 * being written, 0744 once multilog has finished it cleanly), archives
 * `@<tai64n>.s` (complete) and `@<tai64n>.u` (saved after an outage),
 * `lock` (flock'ed by the one writer), and `previous`, `processed`,
 * `state`, `newstate` while a processor runs.
 *
 * Every operation is one attempt: it returns 0 (or a byte count) or -1
 * with errno set and a description in d->why ("unable to ... DIR/FILE").
 * Retrying is the caller's business; the operations are written so that
 * calling one again after a failure continues where it stopped and never
 * loses or repeats a byte (rotation keeps its step in d->phase).
 */
#ifndef MLOGDIR_H
#define MLOGDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bstr.h"
#include "mlog.h"

enum mlogdir_phase {
    MLOGDIR_IDLE,     /* not rotating */
    MLOGDIR_SYNC,     /* fsync current */
    MLOGDIR_RENAME,   /* current -> previous */
    MLOGDIR_CREATE,   /* a new, empty current */
    MLOGDIR_MARK,     /* previous is complete: mode 0744 */
    MLOGDIR_RUN,      /* start the processor on previous */
    MLOGDIR_WAIT,     /* wait for it */
    MLOGDIR_SAVE,     /* processed to disk, mode 0744 */
    MLOGDIR_NEWSTATE, /* newstate to disk */
    MLOGDIR_DROP,     /* remove previous */
    MLOGDIR_STATE,    /* newstate -> state */
    MLOGDIR_FINISH,   /* archive the finished file as @<label>.s */
    MLOGDIR_DIRSYNC,  /* the directory's new entries to disk */
};

struct mlogdir {
    const struct mlog_dirconf *conf;
    int dirfd;
    int lockfd;
    int curfd;
    unsigned long bytes; /* size of current */
    enum mlogdir_phase phase;
    pid_t pid;           /* the processor, in MLOGDIR_WAIT */
    struct bstr why;     /* the last failure, for the caller's warning */
};

void mlogdir_init(struct mlogdir *d, const struct mlog_dirconf *conf);
int mlogdir_open(struct mlogdir *d, int startfd) WUR;
int mlogdir_recover(struct mlogdir *d) WUR;
ssize_t mlogdir_write(struct mlogdir *d, const char *buf, size_t len) WUR;
int mlogdir_rotate(struct mlogdir *d) WUR;
int mlogdir_finish(struct mlogdir *d, const char *file, char code) WUR;
int mlogdir_prune(struct mlogdir *d) WUR;
int mlogdir_close(struct mlogdir *d) WUR;
void mlogdir_free(struct mlogdir *d);

#endif
