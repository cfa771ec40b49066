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
 *
 * All of qmail-send's changing state is one struct send_state (below),
 * made in main() and passed to every function that acts on it; the
 * modules below it take what they need as arguments or callbacks.
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
#include "qscan.h"
#include "route.h"
#include "spawnproto.h"

#define CHAN_LOCAL 0
#define CHAN_REMOTE 1
#define NCHAN 2

/* ---- per-destination rate limits (sendrate.c) ----------------------- */

struct sendrate_rule {
    char *dom;          /* "example.com", ".example.com" or "*" */
    unsigned long max;  /* deliveries per window; 0: no limit */
    unsigned long secs; /* the window */
};

struct sendrate_rules {
    struct sendrate_rule *v;
    size_t n;
    const char *bad;    /* sendrate_parse: the line it could not read */
};

/* a message parked for a domain's window: its number, and its remote
 * channel's generation (struct msg) when it was parked; one whose
 * generation has moved on since (requeued, removed) no longer waits */
struct sendrate_parked {
    uint64_t id;
    uint32_t gen;
};

/* one domain's current window, and the messages parked for it */
struct sendrate_dom {
    struct sendrate_dom *next;
    int64_t start;              /* when its first delivery started */
    unsigned long secs;         /* its length */
    unsigned long count;        /* deliveries started in it */
    bool logged;                /* the hold is logged for this window */
    struct sendrate_parked *pv; /* parked, in order: pv[ph .. ph + pn), */
    size_t ph, pn, pcap;        /* room for pcap */
    int64_t wake;               /* with some parked: when to let some go */
    size_t hpos;                /* ... and its place in the wake heap */
    char name[];
};

struct sendrate {
    struct sendrate_dom **tab;
    size_t mask, n;
    struct sendrate_dom **wheap; /* the domains with parked messages, */
    size_t wn, wcap;             /* soonest wake first */
    size_t parked;               /* messages parked, in all */
};

int sendrate_parse(struct sendrate_rules *r, const struct bstr *list);
void sendrate_rules_free(struct sendrate_rules *r);
const struct sendrate_rule *sendrate_rule(const struct sendrate_rules *r,
                                          const char *dom);
int sendrate_init(struct sendrate *t);
void sendrate_free(struct sendrate *t);
struct sendrate_dom *sendrate_find(const struct sendrate *t, const char *dom);
bool sendrate_held(struct sendrate *t, const struct sendrate_rules *r,
                   const char *dom, int64_t now, int64_t *until, bool *first);
int sendrate_count(struct sendrate *t, const struct sendrate_rules *r,
                   const char *dom, int64_t now);
int sendrate_park(struct sendrate *t, const char *dom, uint64_t id,
                  uint32_t gen, int64_t when);
void sendrate_release(struct sendrate *t, const struct sendrate_rules *r,
                      int64_t now,
                      bool (*go)(uint64_t id, uint32_t gen, void *arg),
                      void *arg);
bool sendrate_waiting(const struct sendrate *t, const char *dom);
int64_t sendrate_wake(const struct sendrate *t);
void sendrate_recheck(struct sendrate *t, int64_t now);

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
    struct bstr ratelimitremote;  /* list: "domain:M:S" (sendrate.c) */
    struct sendrate_rules rates;  /* ... parsed */
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

/* ---- the start-up scan: what the queue held at the start (startup.c) -- */

struct startup {
    bool active;
    struct qscan_ids info, ids[NCHAN], todo, bounce; /* sorted */
    size_t next; /* of info: the next message to take */
    time_t now;  /* when the directories were read */
};

/* Where the start-up scan puts what it takes (qmail-send.c), each
 * callback given arg. */
struct startup_ops {
    struct msgmap *msgs;
    const struct send_conf *cf;
    /* channel c of m is due at when */
    void (*schedule)(struct msg *m, int c, time_t when, void *arg);
    /* every channel of id was finished before the restart: finish it */
    void (*finished)(uint64_t id, time_t when, void *arg);
    void *arg;
};

int startup_begin(struct startup *s);
int startup_take(struct startup *s, const struct startup_ops *ops,
                 uint64_t id, struct msg **mp);
int startup_work(struct startup *s, const struct startup_ops *ops,
                 size_t max);

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

/* ---- next attempts in the channel files' mtimes (touch.c) ----------- */

struct touch_sweep {
    bool active, found; /* a sweep runs; its pass found files to touch */
    size_t pos;         /* the next slot of the message map */
    time_t when;        /* the mtime they get */
};

void touch_set(struct msg *m, int c, time_t when);
void touch_start(struct touch_sweep *t, time_t when);
bool touch_work(struct touch_sweep *t, struct msgmap *msgs);

/* ---- the queue tools' requests (sendctl.c) ---------------------------- */

struct sendctl {
    int fd;           /* lock/sendctl, read non-blocking; -1: none */
    struct bstr line; /* a request read in part */
};

/* What a request acts on: qmail-send's schedule (qmail-send.c), each
 * callback given arg. */
struct sendctl_ops {
    struct msgmap *msgs;
    struct touch_sweep *touch;
    /* channel c of m is due at when */
    void (*schedule)(struct msg *m, int c, time_t when, void *arg);
    /* a message the start-up scan has not reached, taken in now; NULL:
     * id is not one */
    struct msg *(*take)(uint64_t id, void *arg);
    /* preprocess todo/id now (its record, if any, in msgs after) */
    void (*preprocess)(uint64_t id, void *arg);
    /* a request to qmail-clean ('x') */
    void (*clean)(char type, uint64_t id, void *arg);
    /* read todo/ again at once */
    void (*rescan)(void *arg);
    /* qmail-clean has requests enough pending: read no more now */
    bool (*full)(void *arg);
    /* reread the control files, as on SIGHUP ("reload", sent by the v*
     * tools after they change virtualdomains) */
    void (*reload)(void *arg);
    void *arg;
};

int sendctl_command(const struct sendctl_ops *ops, const char *line);
int sendctl_read(struct sendctl *s, const struct sendctl_ops *ops);

/* ---- the log (slog.c) ------------------------------------------------ */

void slog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void slog_text(struct bstr *out, const char *text, size_t len);
const char *slog_vis(struct bstr *b, const char *s, size_t n);
void slog_flush(void);

/* ---- info file (info.c) ---------------------------------------------- */

int info_read(uint64_t id, struct bstr *sender, int64_t *birth);
int info_mark(uint64_t id, char rec);
bool info_has(uint64_t id, char rec);

/* ---- qmail-send's state (qmail-send.c and the files below) ----------- */

#define CLEAN_INFLIGHT 1024 /* unanswered qmail-clean requests at most */
#define TODO_RESCAN 60      /* seconds between unprompted todo/ scans */
#define EXTRA_ACTIVE 16     /* loaded jobs beyond a channel's concurrency */

/* one delivery running on a channel: some recipients of one job */
struct slot {
    bool busy;
    struct job *job;
    size_t *idx;          /* recipients of this delivery, n of them */
    size_t n;
    unsigned long delnum; /* of idx[0]; idx[k] is delnum + k */
};

/* a delivery channel: the pipes to qmail-lspawn or qmail-rspawn */
struct chan {
    int wfd, rfd;              /* requests out, reports in (spawnproto.h) */
    struct bstr wbuf;          /* requests not yet written */
    size_t woff;
    struct spawn_repparser rp;
    struct slot *slot;         /* cf.spawnlimit of them */
    unsigned long used;        /* busy slots */
    struct job *qhead, *qtail; /* jobs with recipients not yet dispatched */
    unsigned long active;      /* loaded jobs */
    unsigned long loads;       /* jobs read from disk (job_load) so far */
    struct sched heap;         /* due times of the channel's messages */
    bool dead;                 /* the spawner closed its end */
};

struct cleanreq {
    char type; /* 't' todo/ entry, 'x' finished message, 'o' orphan */
    uint64_t id;
};

/* the pipes to qmail-clean, and the requests it has not answered yet */
struct cleanq {
    int wfd, rfd;
    struct bstr buf; /* requests not yet written */
    size_t off;
    struct cleanreq *q; /* a ring of 4 * CLEAN_INFLIGHT */
    size_t head, count;
};

/* the todo/ scan */
struct todoscan {
    DIR *dir;   /* being read, or NULL */
    bool again; /* read it again as soon as this pass ends */
    time_t last;
};

struct send_state {
    struct send_conf cf;
    struct msgmap msgs;
    struct chan ch[NCHAN];
    struct sched bounceheap; /* bounces to retry, messages to finish */
    unsigned long delnum;    /* the last delivery number logged */
    bool exiting;            /* TERM: no new deliveries */
    struct cleanq clean;
    struct todoscan todo;
    struct startup scan;
    struct startup_ops scan_ops;
    struct orphan_sweep orphans;
    time_t orphan_next; /* when the next sweep starts; 0: after start-up */
    struct touch_sweep touch;
    struct sendctl ctl;
    struct sendctl_ops ctl_ops;
    struct sendrate rate;    /* remote deliveries per domain and window */
    int64_t rate_wake;       /* when a window holding back a loaded job's
                              * deliveries ends; 0: none does (the parked
                              * ones' wake is sendrate_wake's) */
};

/* what a background fsync (fsyncq.h) was for (pend.c) */
enum { P_PRE, P_BOUNCE, P_MARK };

struct pend {
    struct send_state *st;
    int kind;
    uint64_t id;     /* P_PRE */
    int left;        /* P_PRE: files still to sync */
    int err;
    struct job *job; /* P_BOUNCE, P_MARK */
    size_t idx;      /* P_BOUNCE: the recipient */
    size_t *idxs;    /* P_MARK: the recipients marked, nidx of them */
    size_t nidx;
};

void pend_done(void *tag, int err);
void pend_done_now(struct pend *pd);

/* state.c */
int state_init(struct send_state *st);
bool state_scan_slice(struct send_state *st);
bool state_orphan_slice(struct send_state *st);
void state_free(struct send_state *st);

/* reload.c */
void reload_conf(struct send_state *st);

/* pipes.c */
int pipes_nonblock(int fd);
int pipes_write(int fd, struct bstr *b, size_t *off);

/* cleanq.c */
void cleanq_request(struct send_state *st, char type, uint64_t id);
void cleanq_answer(struct send_state *st, char a);
int cleanq_read(struct send_state *st);
bool cleanq_full(const struct send_state *st);

/* dispatch.c */
void dispatch_schedule(struct send_state *st, struct msg *m, int c,
                       int64_t when);
void dispatch_activate(struct send_state *st, int c);
void dispatch_run(struct send_state *st, int c);
void dispatch_status(const struct send_state *st);
void dispatch_unpark(struct send_state *st);

/* report.c */
int report_feed(struct send_state *st, int c, const char *buf, size_t len);
int report_read(struct send_state *st, int c);
void report_synced(struct pend *pd, int err);
void report_maybe_finish(struct send_state *st, struct job *j);
const char *report_rcpt_vis(struct bstr *v, const struct job *j, size_t i);

/* finish.c */
void finish_job(struct send_state *st, struct job *j);
void finish_wait(struct send_state *st, struct job *j, struct msg *m);
void finish_channel(struct send_state *st, struct msg *m, int c);
void finish_message(struct send_state *st, uint64_t id);
bool finish_bounce(struct send_state *st, struct msg *m);
void finish_bounces_due(struct send_state *st);

/* todo.c: the scan */
void todo_take(struct send_state *st, uint64_t id);
bool todo_work(struct send_state *st);

/* slog.c: the way out */
void slog_die(const char *what) __attribute__((noreturn));
void slog_nomem(void) __attribute__((noreturn));

#endif
