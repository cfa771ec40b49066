/* SPDX-License-Identifier: ISC */
/*
 * mlog - the pure parts of multilog: its script language, its patterns,
 * the line reader that cuts stdin into lines, and the arithmetic of
 * rotation (when current is full, how archives are named, which ones go).
 *
 * Semantics are daemontools 0.76's, so admins' log/run scripts keep
 * working: a line is judged on its first 1000 bytes (timestamp included)
 * and the rest of a longer line follows it unjudged; patterns are
 * multilog's own stars, not shell globs.  Nothing here touches a file,
 * exits or logs: the I/O is in mlogdir and multilog.c.
 */
#ifndef MLOG_H
#define MLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "bstr.h"
#include "datetime.h"

#define MLOG_LINE_MAX 1000   /* bytes of a line judged, kept in status */
#define MLOG_STATUS_LEN 1001 /* a status file's write: line, '\n' padding */
#define MLOG_ALERT_MAX 200   /* bytes of a line the e action prints */
#define MLOG_SIZE_MIN 4096UL
#define MLOG_SIZE_MAX 16777215UL
#define MLOG_SIZE_DEF 99999UL
#define MLOG_NUM_MIN 2UL
#define MLOG_NUM_DEF 10UL
#define MLOG_WINDOW 2000UL /* end current at a newline this close to full */
#define MLOG_STAMP_LEN (TAI64N_LEN + 1) /* "@4000...": label and a space */
#define MLOG_ARCHIVE_LEN (TAI64N_LEN + 2) /* "@4000....s" without NUL */

enum mlog_kind {
    MLOG_TIMESTAMP, /* t: the first action only */
    MLOG_DESELECT,  /* -pattern */
    MLOG_SELECT,    /* +pattern */
    MLOG_ALERT,     /* e */
    MLOG_STATUS,    /* =file */
    MLOG_SIZE,      /* sSIZE, for the directories after it */
    MLOG_NUM,       /* nNUM */
    MLOG_PROCESSOR, /* !processor */
    MLOG_DIR,       /* ./dir or /dir */
};

struct mlog_action {
    enum mlog_kind kind;
    const char *arg; /* pattern, file, processor or directory */
    size_t index;    /* MLOG_DIR: its struct mlog_dirconf; MLOG_STATUS: nth */
};

/* What the s, n and ! actions before a directory said about it. */
struct mlog_dirconf {
    const char *path;
    unsigned long size;    /* rotate current at this many bytes */
    unsigned long num;     /* log files kept, current included */
    const char *processor; /* NULL: archives are current as it was */
};

struct mlog_script {
    struct mlog_action *act;
    size_t nact;
    struct mlog_dirconf *dir;
    size_t ndir;
    size_t nstatus;
    bool timestamp;
};

#define MLOG_SCRIPT_INIT {0, 0, 0, 0, 0, false}

int mlog_script_parse(struct mlog_script *s, char *const *argv, size_t argc,
                      struct bstr *msg) WUR;
void mlog_script_free(struct mlog_script *s);
void mlog_script_select(const struct mlog_script *s, const char *line,
                        size_t len, bool *sel);

bool mlog_match(const char *pattern, const char *buf, size_t len);

/*
 * The line reader: push input in, take events out.  A line's head is its
 * first MLOG_LINE_MAX bytes (with the timestamp when the script starts
 * with t); a longer line's remaining bytes come as tail events, in the
 * pieces they were read in.  The newline itself is never in an event:
 * `end` says the line is over and a newline belongs after the bytes.
 */
enum mlog_ev {
    MLOG_EV_MORE, /* every byte pushed is used up: read more */
    MLOG_EV_LINE, /* the head of a line: judge it */
    MLOG_EV_TAIL, /* more bytes of the line whose head came last */
};

struct mlog_event {
    enum mlog_ev type;
    const char *p; /* LINE: the reader's head buffer; TAIL: the input */
    size_t len;
    bool end;
};

struct mlog_reader {
    bool timestamp;
    bool tail;   /* inside a line past its head */
    size_t len;  /* bytes in head; 0 with !tail: at a line's start */
    char head[MLOG_LINE_MAX];
};

void mlog_reader_init(struct mlog_reader *r, bool timestamp);
size_t mlog_reader_push(struct mlog_reader *r, const char *in, size_t n,
                        const struct timespec *now, struct mlog_event *ev);
bool mlog_reader_eof(struct mlog_reader *r, struct mlog_event *ev);
bool mlog_reader_midline(const struct mlog_reader *r);

void mlog_status_fill(char out[MLOG_STATUS_LEN], const char *line,
                      size_t len);
size_t mlog_alert_fill(char out[MLOG_ALERT_MAX + 4], const char *line,
                       size_t len);

size_t mlog_chunk(unsigned long bytes, unsigned long size, const char *buf,
                  size_t len);
bool mlog_full(unsigned long bytes, unsigned long size, char last);

void mlog_archive_name(char out[MLOG_ARCHIVE_LEN + 1],
                       const struct timespec *ts, char code);
bool mlog_is_archive(const char *name);
size_t mlog_prune_count(size_t archives, unsigned long num);
void mlog_sort_names(char **names, size_t n);

#endif
