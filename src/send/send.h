/* SPDX-License-Identifier: ISC */
/*
 * send.h - qmail-send's state and internal interfaces.
 *
 * Memory is bounded by design: for every queued message qmail-send keeps
 * only a small record (struct msg, in a hash map) and one heap entry per
 * channel that still has recipients, ~50 bytes in all; sender and
 * recipient lists are read from disk when a message comes due and are
 * let go when its deliveries end.  At most a bounded number of messages
 * per channel are "active" (loaded) at once, so a million deferred
 * messages coming due together cost a heap, not a million loaded jobs.
 *
 * Scheduling is a binary heap ordered by due time: O(log n) per event.
 * Work per main-loop turn is bounded (todo/ entries preprocessed, reports
 * handled), so a flood of new mail never starves deliveries.
 */
#ifndef SEND_H
#define SEND_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "bstr.h"
#include "nulrec.h"
#include "route.h"
#include "spawnproto.h"

#define CHAN_LOCAL 0
#define CHAN_REMOTE 1
#define NCHAN 2

/* ---- settings (conf.c) --------------------------------------------- */

struct send_conf {
    struct bstr me;
    struct bstr locals, percenthack, virtualdomains;
    struct bstr envnoathost;
    struct bstr bouncefrom, bouncehost, doublebounceto, doublebouncehost;
    struct bstr retryschedule; /* list: "local:N", "remote:N" */
    unsigned long concurrency[NCHAN];
    unsigned long spawnlimit;   /* hard maximum for both */
    unsigned long perdomain;    /* remote deliveries to one domain at once */
    unsigned long queuelifetime;
    unsigned long warnafter;    /* deferral notice after this age; 0: never */
    unsigned long bouncemaxbytes; /* of the original a bounce quotes ... */
    bool bouncemaxbytes_set;      /* ... when set; else header + 10 KB */
    unsigned long skip[NCHAN];  /* quadratic retry step, seconds^(1/2) */
    struct route route;
};

int conf_load(struct send_conf *c, const char **bad);
void conf_free(struct send_conf *c);

/* ---- retry.c ---------------------------------------------------------- */

time_t retry_next(time_t birth, time_t now, unsigned long skip);

/* ---- per-message records (msgmap.c) --------------------------------- */

#define MSG_PENDING(c) (1u << (c))       /* channel file has recipients */
#define MSG_ACTIVE(c) (1u << (2 + (c)))  /* a job of that channel is loaded */
#define MSG_BOUNCE 0x10                  /* bounce/N waits to be sent */
#define MSG_NEW 0x20                     /* preprocessed, todo/ not yet gone */
#define MSG_DONEWAIT 0x40                /* finished, mess/ not yet gone */
#define MSG_EXPIRE 0x80                  /* admin: bounce what is left */
#define MSG_REMOVE 0x100                 /* admin: drop what is left */
#define MSG_REUSED 0x200                 /* a new message got this number */
#define MSG_BAD 0x400                    /* todo/N is not an envelope: left */
#define MSG_TOUCH(c) (1u << (11 + (c)))  /* requeued: file's mtime to be now */

struct msg {
    uint64_t id;
    int64_t birth;
    uint32_t gen[NCHAN]; /* heap entries carry the generation they were for */
    uint32_t flags;
};

struct msgmap {
    struct msg *slot; /* id 0 = empty (no inode is 0) */
    size_t mask, n;
};

int msgmap_init(struct msgmap *m);
struct msg *msgmap_get(struct msgmap *m, uint64_t id);
struct msg *msgmap_add(struct msgmap *m, uint64_t id);
void msgmap_del(struct msgmap *m, uint64_t id);
void msgmap_free(struct msgmap *m);

/* ---- the heap of due times (sched.c) -------------------------------- */

struct sched_item {
    int64_t when;
    uint64_t id;
    uint32_t gen;
    uint32_t chan; /* CHAN_LOCAL, CHAN_REMOTE, or SCHED_BOUNCE */
};

#define SCHED_BOUNCE 7 /* retry injecting a bounce */

struct sched {
    struct sched_item *v;
    size_t n, cap;
};

int sched_push(struct sched *h, const struct sched_item *it);
const struct sched_item *sched_peek(const struct sched *h);
void sched_pop(struct sched *h);
void sched_free(struct sched *h);

/* ---- jobs: a message's recipients on one channel (job.c) ----------- */

struct rcpt {
    off_t off;       /* of its 'T' byte in the channel file */
    uint32_t addr;   /* offset of the address in job->strings */
    char state;      /* 'T' to do, 'R' running, 'D' done, 'S' deferred */
    uint32_t text;   /* offset of the last deferral text, or 0 (none) */
};

struct job {
    uint64_t id;
    int chan;
    int64_t birth;
    struct bstr sender;
    struct bstr strings; /* addresses and texts, NUL-separated */
    struct rcpt *r;
    size_t nr, next;     /* recipients; next one to dispatch */
    unsigned running;
    unsigned marking;    /* done marks (or bounce records) not yet fsynced */
    bool deferred;       /* some recipient failed temporarily */
    struct job *qnext;   /* channel's dispatch queue */
};

int job_load(struct job *j, uint64_t id, int chan, int64_t birth);
void job_free(struct job *j);
int job_mark_done(struct job *j, size_t i);
int job_mark_write(struct job *j, const size_t *idx, size_t n);
int job_remaining(uint64_t id, int chan);
int job_due(uint64_t id, int chan, time_t *when);
int job_set_due(uint64_t id, int chan, time_t when);

/* ---- bounces (bounce.c) --------------------------------------------- */

int bounce_paragraph(struct bstr *p, const char *rcpt, const char *text,
                     size_t len);
int bounce_add(uint64_t id, const char *rcpt, const char *text, size_t len);
unsigned long long bounce_quote(const struct send_conf *c,
                                unsigned long long size,
                                unsigned long long hdr, bool headers_only);
int bounce_append(uint64_t id, const char *rcpt, const char *text, size_t len);
int bounce_compose(struct bstr *head, struct bstr *tail,
                   const struct send_conf *c, const char *sender,
                   const struct bstr *report, time_t now, int64_t birth,
                   uint64_t id, bool delay);
int bounce_inject(const struct send_conf *c, uint64_t id, const char *sender,
                  bool delay, const struct bstr *delayreport, pid_t *qp);

/* ---- todo/ preprocessing (todo.c) ------------------------------------ */

struct todo_result {
    struct bstr sender;
    unsigned long long bytes;
    unsigned long qp, uid;
    unsigned nrcpt[NCHAN];
    bool nomess; /* ENOENT: todo/N is there, its mess/S/N is not */
};

int todo_preprocess(const struct send_conf *c, uint64_t id,
                    struct todo_result *res, int fds[3], int *nfds);

/* ---- orphans: mess/ files no message owns (orphan.c) ----------------- */

#define ORPHAN_AGE 129600 /* 36 hours: qmail-queue gives up after 24 */

struct stat;

struct orphan_sweep {
    bool active;
    unsigned split; /* the next mess/ subdirectory to read */
    DIR *dir;       /* the one being read, or NULL */
};

void orphan_start(struct orphan_sweep *o);
bool orphan_is(uint64_t id, const struct stat *st, time_t now);
bool orphan_work(struct orphan_sweep *o, time_t now, size_t max,
                 bool (*known)(uint64_t, void *),
                 void (*found)(uint64_t, void *), void *arg);
void orphan_free(struct orphan_sweep *o);

/* ---- the log (slog.c) ------------------------------------------------ */

void slog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void slog_text(struct bstr *out, const char *text, size_t len);
const char *slog_vis(struct bstr *b, const char *s, size_t n);
void slog_flush(void);

/* ---- info file (info.c) ---------------------------------------------- */

int info_read(uint64_t id, struct bstr *sender, int64_t *birth);
int info_mark(uint64_t id, char rec);
bool info_has(uint64_t id, char rec);

#endif
