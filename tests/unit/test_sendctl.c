/* SPDX-License-Identifier: ISC */
/*
 * test_sendctl - qmail-send's handling of the queue tools' requests
 * (sendctl.c), the sweep that gives requeued channel files their new
 * mtime (touch.c) and the start-up scan (startup.c), each against a
 * stand-in for qmail-send's schedule that records what it was asked, on
 * a queue made in a temporary directory.  The rules checked: a request
 * only marks and schedules (the delivery pass does the work), never
 * schedules a message whose todo/ entry is not yet gone, removes a
 * message still in todo/ through qmail-clean, reads only whole lines,
 * and every slice is bounded.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "qpath.h"
#include "send.h"

/* ---- a queue in a temporary directory, and the log captured ------------ */

static char home[4096];

static void
queue_enter(const char *name)
{
    static const char *const dirs[] = {"todo", "bounce", "intd"};
    static const char *const split[] = {"info", "local", "remote", "mess"};
    char d[64];

    if (!home[0])
        CHECK(getcwd(home, sizeof home) != NULL);
    CHECK(chdir(harness_tmpdir()) == 0);
    CHECK(mkdir(name, 0700) == 0 && chdir(name) == 0);
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        CHECK(mkdir(dirs[i], 0700) == 0);
    for (size_t i = 0; i < sizeof split / sizeof split[0]; i++) {
        CHECK(mkdir(split[i], 0700) == 0);
        for (unsigned s = 0; s < QPATH_SPLIT; s++) {
            snprintf(d, sizeof d, "%s/%u", split[i], s);
            CHECK(mkdir(d, 0700) == 0);
        }
    }
}

static void
queue_leave(void)
{
    CHECK(chdir(home) == 0);
}

static void
put(const char *dir, uint64_t id, const char *content, time_t mtime)
{
    char fn[QPATH_MAX];
    struct timespec t[2] = {{mtime, 0}, {mtime, 0}};
    int fd;

    qpath_fmt(fn, dir, id);
    fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd != -1);
    CHECK(write(fd, content, strlen(content) + 1) ==
          (ssize_t)strlen(content) + 1);
    close(fd);
    if (mtime)
        CHECK(utimensat(AT_FDCWD, fn, t, 0) == 0);
}

static bool
exists(const char *dir, uint64_t id)
{
    char fn[QPATH_MAX];
    struct stat st;

    qpath_fmt(fn, dir, id);
    return stat(fn, &st) == 0;
}

static time_t
mtime_of(const char *dir, uint64_t id)
{
    char fn[QPATH_MAX];
    struct stat st;

    qpath_fmt(fn, dir, id);
    return stat(fn, &st) == 0 ? st.st_mtime : -1;
}

static int saved_fd1 = -1;

/* the log (slog writes fd 1) goes to a file until capture_end */
static void
capture_begin(void)
{
    int fd;

    fflush(stdout);
    slog_flush();
    saved_fd1 = dup(1);
    fd = open("log", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(saved_fd1 != -1 && fd != -1 && dup2(fd, 1) == 1);
    close(fd);
}

static void
capture_end(char *out, size_t max)
{
    ssize_t n;
    int fd;

    slog_flush();
    CHECK(dup2(saved_fd1, 1) == 1);
    close(saved_fd1);
    fd = open("log", O_RDONLY);
    n = fd == -1 ? -1 : read(fd, out, max - 1);
    out[n > 0 ? n : 0] = '\0';
    if (fd != -1)
        close(fd);
}

/* ---- a stand-in for qmail-send's schedule ------------------------------ */

struct fake {
    struct msgmap msgs;
    struct touch_sweep touch;
    struct {
        uint64_t id;
        int c;
        time_t when;
    } due[2048];
    size_t ndue;
    char cleaned[64][32];
    size_t nclean;
    unsigned rescans, preprocessed, reloads;
    uint64_t finished[64];
    size_t nfinished;
    bool full;
};

static void
f_schedule(struct msg *m, int c, time_t when, void *arg)
{
    struct fake *f = arg;

    if (f->ndue < sizeof f->due / sizeof f->due[0]) {
        f->due[f->ndue].id = m->id;
        f->due[f->ndue].c = c;
        f->due[f->ndue++].when = when;
    }
}

static struct msg *
f_take(uint64_t id, void *arg)
{
    (void)id;
    (void)arg;
    return NULL;
}

static void
f_preprocess(uint64_t id, void *arg)
{
    struct fake *f = arg;
    struct msg *m = msgmap_add(&f->msgs, id);

    f->preprocessed++;
    if (m)
        m->flags = MSG_NEW | MSG_PENDING(CHAN_LOCAL);
}

static void
f_clean(char type, uint64_t id, void *arg)
{
    struct fake *f = arg;

    if (f->nclean < 64)
        snprintf(f->cleaned[f->nclean++], 32, "%c%llu", type,
                 (unsigned long long)id);
}

static void
f_rescan(void *arg)
{
    ((struct fake *)arg)->rescans++;
}

static bool
f_full(void *arg)
{
    return ((struct fake *)arg)->full;
}

static void
f_reload(void *arg)
{
    ((struct fake *)arg)->reloads++;
}

static void
f_finished(uint64_t id, time_t when, void *arg)
{
    struct fake *f = arg;

    (void)when;
    if (f->nfinished < 64)
        f->finished[f->nfinished++] = id;
}

static struct fake *
fake_new(struct sendctl_ops *ops)
{
    struct fake *f = calloc(1, sizeof *f);

    CHECK(f != NULL && msgmap_init(&f->msgs) == 0);
    ops->msgs = &f->msgs;
    ops->touch = &f->touch;
    ops->schedule = f_schedule;
    ops->take = f_take;
    ops->preprocess = f_preprocess;
    ops->clean = f_clean;
    ops->rescan = f_rescan;
    ops->full = f_full;
    ops->reload = f_reload;
    ops->arg = f;
    return f;
}

static void
fake_free(struct fake *f)
{
    msgmap_free(&f->msgs);
    free(f);
}

static struct msg *
msg(struct fake *f, uint64_t id, uint32_t flags)
{
    struct msg *m = msgmap_add(&f->msgs, id);

    CHECK(m != NULL);
    m->flags = flags;
    return m;
}

static size_t
dues(const struct fake *f, uint64_t id)
{
    size_t n = 0;

    for (size_t i = 0; i < f->ndue; i++)
        n += f->due[i].id == id;
    return n;
}

/* ---- sendctl ------------------------------------------------------------ */

static void
t_requests_known_messages(void)
{
    struct sendctl_ops ops;
    struct fake *f = fake_new(&ops);
    struct msg *a, *b, *c, *d, *e;
    char log[8192];
    time_t now = time(NULL), later = now + 86400;

    queue_enter("known");
    a = msg(f, 10, MSG_PENDING(CHAN_LOCAL) | MSG_PENDING(CHAN_REMOTE));
    put("local", 10, "Ta@b", later);
    b = msg(f, 11, MSG_PENDING(CHAN_REMOTE) | MSG_ACTIVE(CHAN_REMOTE));
    c = msg(f, 12, MSG_NEW | MSG_PENDING(CHAN_LOCAL));
    d = msg(f, 13, MSG_BAD);
    e = msg(f, 14, MSG_PENDING(CHAN_LOCAL));
    capture_begin();
    CHECK(sendctl_command(&ops, "requeue 10") == 0);
    CHECK(sendctl_command(&ops, "remove 11") == 0);
    CHECK(sendctl_command(&ops, "expire 12") == 0);
    CHECK(sendctl_command(&ops, "remove 13") == 0);
    CHECK(sendctl_command(&ops, "expire 14") == 0);
    capture_end(log, sizeof log);
    CHECK_STR(log, "requeue msg 10\nremove msg 11\nexpire msg 12\n"
                   "remove msg 13\nexpire msg 14\n");
    /* requeue: both channels due now, on disk too */
    CHECK_INT(dues(f, 10), 2);
    CHECK(f->due[0].when >= now && f->due[0].when <= now + 2);
    CHECK(mtime_of("local", 10) <= now + 2);
    CHECK(!(a->flags & (MSG_TOUCH(0) | MSG_TOUCH(1) | MSG_REMOVE)));
    /* a running channel is left to its delivery pass */
    CHECK(b->flags & MSG_REMOVE);
    CHECK_INT(dues(f, 11), 0);
    /* todo/12 is not gone yet: marked, not scheduled */
    CHECK(c->flags & MSG_EXPIRE);
    CHECK_INT(dues(f, 12), 0);
    /* not an envelope: removed through qmail-clean */
    CHECK(d->flags & MSG_DONEWAIT);
    CHECK_INT(f->nclean, 1);
    CHECK_STR(f->cleaned[0], "x13");
    CHECK((e->flags & MSG_EXPIRE) && dues(f, 14) == 1);
    /* requeue all: each due now, the files touched by the sweep later */
    f->ndue = 0;
    capture_begin();
    CHECK(sendctl_command(&ops, "requeue all") == 0);
    capture_end(log, sizeof log);
    CHECK_STR(log, "requeue: all messages are due now\n");
    CHECK(f->touch.active);
    CHECK_INT(dues(f, 10), 2);
    CHECK_INT(dues(f, 12), 0);
    CHECK(a->flags & MSG_TOUCH(CHAN_LOCAL));
    CHECK(!(c->flags & (MSG_TOUCH(0) | MSG_TOUCH(1))));
    queue_leave();
    fake_free(f);
}

static void
t_requests_for_todo_messages(void)
{
    struct sendctl_ops ops;
    struct fake *f = fake_new(&ops);
    struct msg *m;
    char log[8192];

    queue_enter("todo");
    /* 77: committed, and what a failed preprocessing left */
    put("todo", 77, "u0", 0);
    put("intd", 77, "u0", 0);
    put("info", 77, "Fs@x", 0);
    put("local", 77, "Ta@b", 0);
    put("bounce", 77, "", 0);
    put("todo", 78, "u0", 0);
    put("todo", 79, "u0", 0);
    capture_begin();
    CHECK(sendctl_command(&ops, "remove 77") == 0);
    CHECK(sendctl_command(&ops, "requeue 78") == 0);
    CHECK(sendctl_command(&ops, "expire 79") == 0);
    CHECK(sendctl_command(&ops, "remove 99") == 0);
    capture_end(log, sizeof log);
    CHECK_STR(log, "remove msg 77\n"
                   "requeue msg 78: not yet preprocessed, reading todo/ now\n"
                   "expire msg 79\n"
                   "warning: queue request for unknown msg 99\n");
    /* qmail-send's own files go here, the rest through qmail-clean, and
     * the record keeps the todo/ scan off it */
    CHECK(!exists("info", 77) && !exists("local", 77) && !exists("bounce", 77));
    CHECK(exists("todo", 77) && exists("intd", 77));
    CHECK_INT(f->nclean, 1);
    CHECK_STR(f->cleaned[0], "x77");
    m = msgmap_get(&f->msgs, 77);
    CHECK(m && m->flags == MSG_DONEWAIT);
    CHECK_INT(f->rescans, 1);
    CHECK_INT(f->preprocessed, 1);
    m = msgmap_get(&f->msgs, 79);
    CHECK(m && (m->flags & MSG_EXPIRE) && (m->flags & MSG_NEW));
    CHECK_INT(f->ndue, 0); /* nothing scheduled before todo/ is gone */
    CHECK(msgmap_get(&f->msgs, 99) == NULL);
    queue_leave();
    fake_free(f);
}

static void
t_hostile_requests(void)
{
    struct sendctl_ops ops;
    struct fake *f = fake_new(&ops);
    char log[8192];

    queue_enter("hostile");
    msg(f, 10, MSG_PENDING(CHAN_LOCAL));
    capture_begin();
    CHECK(sendctl_command(&ops, "remove 1\033[2J") == 0);
    CHECK(sendctl_command(&ops, "frob 10") == 0);
    CHECK(sendctl_command(&ops, "remove all") == 0);
    CHECK(sendctl_command(&ops, "requeue") == 0);
    CHECK(sendctl_command(&ops, "remove ../../etc") == 0);
    CHECK(sendctl_command(&ops, "remove 0") == 0);
    CHECK(sendctl_command(&ops, "averyveryverylongverb 10") == 0);
    capture_end(log, sizeof log);
    CHECK_STR(log, "warning: queue request for unknown msg 1\\033[2J\n"
                   "warning: unknown queue request: frob 10\n"
                   "warning: unknown queue request: remove all\n"
                   "warning: unknown queue request: requeue\n"
                   "warning: queue request for unknown msg ../../etc\n"
                   "warning: queue request for unknown msg 0\n");
    CHECK_INT(f->ndue + f->nclean + f->rescans + f->preprocessed, 0);
    CHECK(msgmap_get(&f->msgs, 10)->flags == MSG_PENDING(CHAN_LOCAL));
    queue_leave();
    fake_free(f);
}

/* "reload" rereads the control files (the v* tools send it); with an
 * argument it is not a request */
static void
t_reload(void)
{
    struct sendctl_ops ops;
    struct fake *f = fake_new(&ops);
    char log[8192];

    queue_enter("reload");
    capture_begin();
    CHECK(sendctl_command(&ops, "reload") == 0);
    CHECK(sendctl_command(&ops, "reload all") == 0);
    CHECK(sendctl_command(&ops, "reload 10") == 0);
    capture_end(log, sizeof log);
    CHECK_INT(f->reloads, 1);
    CHECK_STR(log, "warning: unknown queue request: reload all\n"
                   "warning: queue request for unknown msg 10\n");
    queue_leave();
    fake_free(f);
}

static void
t_read_whole_lines(void)
{
    struct sendctl_ops ops;
    struct fake *f = fake_new(&ops);
    struct sendctl s = {-1, BSTR_INIT};
    char log[8192], want[1024], big[300];
    int p[2];

    queue_enter("read");
    msg(f, 10, MSG_PENDING(CHAN_LOCAL));
    msg(f, 12, MSG_PENDING(CHAN_LOCAL));
    CHECK(pipe(p) == 0);
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    s.fd = p[0];
    memset(big, 'z', sizeof big);
    memcpy(big, "remove ", 7);
    big[sizeof big - 1] = '\n';
    CHECK(write(p[1], "requeue 10\n\n", 12) == 12);
    CHECK(write(p[1], big, sizeof big) == (ssize_t)sizeof big);
    CHECK(write(p[1], "expire 1", 8) == 8);
    /* qmail-clean is full: the requests wait */
    f->full = true;
    CHECK(sendctl_read(&s, &ops) == 0);
    CHECK_INT(f->ndue, 0);
    f->full = false;
    capture_begin();
    CHECK(sendctl_read(&s, &ops) == 0);
    CHECK(write(p[1], "2\n", 2) == 2); /* the rest of the last line */
    CHECK(sendctl_read(&s, &ops) == 0);
    capture_end(log, sizeof log);
    /* the long line cut at 200 bytes, the torn one read whole */
    snprintf(want, sizeof want, "requeue msg 10\nwarning: queue request "
             "for unknown msg %.193s\nexpire msg 12\n", big + 7);
    CHECK_STR(log, want);
    CHECK(msgmap_get(&f->msgs, 12)->flags & MSG_EXPIRE);
    close(p[0]);
    close(p[1]);
    bstr_free(&s.line);
    queue_leave();
    fake_free(f);
}

/* ---- touch -------------------------------------------------------------- */

static void
t_touch_sweep_bounded(void)
{
    struct fake *f = calloc(1, sizeof *f);
    time_t old = time(NULL) - 3600, when = time(NULL) + 7200;
    unsigned calls = 0;

    CHECK(f != NULL && msgmap_init(&f->msgs) == 0);
    queue_enter("touch");
    for (uint64_t id = 100; id < 700; id++) {
        /* 650..699 run a delivery: their job sets the time itself */
        uint32_t active = id >= 650 ? MSG_ACTIVE(CHAN_LOCAL) : 0;

        msg(f, id, MSG_PENDING(CHAN_LOCAL) | MSG_TOUCH(CHAN_LOCAL) | active);
        put("local", id, "Ta@b", old);
    }
    CHECK(!touch_work(&f->touch, &f->msgs)); /* not started */
    touch_start(&f->touch, when);
    while (touch_work(&f->touch, &f->msgs)) {
        unsigned done = 0;

        for (uint64_t id = 100; id < 650; id++)
            done += mtime_of("local", id) == when;
        /* at most 256 files a slice */
        CHECK(done <= 256 * (calls + 1));
        if (++calls > 100)
            break;
    }
    CHECK(calls >= 2);
    for (uint64_t id = 100; id < 700; id++) {
        CHECK_INT(mtime_of("local", id), id < 650 ? when : old);
        CHECK(!(msgmap_get(&f->msgs, id)->flags & MSG_TOUCH(CHAN_LOCAL)));
    }
    queue_leave();
    msgmap_free(&f->msgs);
    free(f);
}

/* ---- startup ------------------------------------------------------------ */

static void
t_startup_scan(void)
{
    struct fake *f = calloc(1, sizeof *f);
    struct send_conf cf;
    struct startup s;
    struct startup_ops ops;
    struct msg *m = NULL;
    char log[256];
    time_t now = time(NULL), soon = now + 600;
    int r;
    unsigned turns = 0;

    CHECK(f != NULL && msgmap_init(&f->msgs) == 0);
    memset(&cf, 0, sizeof cf);
    memset(&s, 0, sizeof s);
    cf.skip[CHAN_LOCAL] = 10;
    cf.skip[CHAN_REMOTE] = 20;
    cf.queuelifetime = 604800;
    ops.msgs = &f->msgs;
    ops.cf = &cf;
    ops.schedule = f_schedule;
    ops.finished = f_finished;
    ops.arg = f;
    queue_enter("startup");
    for (uint64_t id = 1000; id < 1300; id++) {
        put("info", id, "Fs@x", now - 60);
        put("local", id, "Ta@b", soon);
    }
    put("info", 2000, "Fs@x", now - 60); /* finished before the restart */
    put("info", 2001, "Fs@x", now - 60); /* preprocessing interrupted */
    put("local", 2001, "Ta@b", soon);
    put("todo", 2001, "u0", 0);
    CHECK(startup_begin(&s) == 0);
    /* a request for one the scan has not reached takes it now */
    CHECK_INT(startup_take(&s, &ops, 1299, &m), 1);
    CHECK(m && m->id == 1299 && (m->flags & MSG_PENDING(CHAN_LOCAL)));
    CHECK_INT(f->ndue, 1);
    CHECK_INT(f->due[0].when, soon); /* the channel file's mtime */
    CHECK_INT(startup_take(&s, &ops, 1299, &m), 0); /* not twice */
    CHECK_INT(startup_take(&s, &ops, 2001, &m), 0); /* todo/: redone */
    CHECK_INT(startup_take(&s, &ops, 5555, &m), 0); /* not in the queue */
    capture_begin();
    while ((r = startup_work(&s, &ops, 100)) == 1)
        if (++turns > 10)
            break;
    capture_end(log, sizeof log);
    CHECK_INT(r, 0);
    CHECK_STR(log, "status: queue read, 301 messages\n");
    CHECK_INT(turns, 3); /* 302 messages, 100 a turn */
    CHECK(!s.active);
    CHECK_INT(f->msgs.n, 301);
    CHECK_INT(f->ndue, 300);
    CHECK_INT(f->nfinished, 1);
    CHECK_INT(f->finished[0], 2000);
    CHECK(msgmap_get(&f->msgs, 2001) == NULL);
    /* once the scan is done, nothing more is taken */
    CHECK_INT(startup_take(&s, &ops, 1000, &m), 0);
    queue_leave();
    msgmap_free(&f->msgs);
    free(f);
}

static const struct test_case cases[] = {
    {"requests for known messages mark and schedule, never early",
     t_requests_known_messages},
    {"requests for messages still in todo/", t_requests_for_todo_messages},
    {"hostile and unknown request lines are logged through vis, ignored",
     t_hostile_requests},
    {"reload rereads the control files", t_reload},
    {"the fifo is read in whole lines, 200 bytes at most, when there is room",
     t_read_whole_lines},
    {"touch sweep: every requeued file gets its mtime, 256 a slice",
     t_touch_sweep_bounded},
    {"start-up scan: slices, a message taken early, todo/ left for redoing",
     t_startup_scan},
};

TEST_MAIN(cases)
