/* SPDX-License-Identifier: ISC */
/*
 * multilog - read lines on stdin and follow a daemontools multilog
 * script for each: t, -pattern, +pattern, e, =file, sSIZE, nNUM,
 * !processor and ./dir or /dir (see multilog(8)).
 *
 * What it guarantees a mail server: a line is written as soon as it is
 * complete (nothing waits in a buffer behind it, so `tail -f current`
 * sees it at once); a write that fails (disk full, EIO, file size limit)
 * is retried, the same bytes, every second until it works, with one
 * warning per outage: nothing is lost or written twice, and the writer
 * feeding multilog waits meanwhile.  It refuses a malformed script (exit
 * 100) and a directory it cannot create or lock (exit 111) before
 * reading any input.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mlog.h"
#include "mlogdir.h"
#include "outcome.h"
#include "writeall.h"

#define IN_MAX 16384   /* bytes read at once */
#define OUT_MAX 65536  /* bytes held for one directory before writing */
#define PAUSE_IO 1     /* seconds between retries of a failed write */
#define PAUSE_PROC 5   /* after a failed processor (daemontools: 5) */

/* --- the ways out, together ------------------------------------------- */

static void __attribute__((noreturn))
die_usage(const char *why)
{
    log_line("usage: multilog script (actions: t -pattern +pattern e "
             "=file sSIZE nNUM !processor ./dir /dir): %s", why);
    exit(EXIT_PERM);
}

static void __attribute__((noreturn))
die_nomem(void)
{
    log_die(EXIT_TEMP, "out of memory");
}

/* --- state --------------------------------------------------------------- */

struct out {
    struct mlogdir d;
    struct bstr pending; /* selected bytes not yet written */
    bool selected;       /* the line being read goes here */
    bool outage;         /* a failure has been reported */
};

struct status {
    const char *path;
    int fd;
    bool outage;
};

struct multilog {
    struct mlog_script script;
    bool *sel;
    struct out *out;
    struct status *status;
    struct mlog_reader reader;
};

static volatile sig_atomic_t flag_exit;
static volatile sig_atomic_t flag_rotate;

static void
on_exit_signal(int sig)
{
    (void)sig;
    flag_exit = 1;
}

static void
on_alarm(int sig)
{
    (void)sig;
    flag_rotate = 1;
}

/* --- failures that are waited out ---------------------------------------- */

static void
pause_s(unsigned seconds)
{
    struct timespec ts = {(time_t)seconds, 0};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/*
 * trouble - a failure to wait out: say so once per outage, then pause.
 * The caller tries the same operation again afterwards.
 */
static void
trouble(bool *outage, const char *what, int err, unsigned seconds)
{
    if (!*outage) {
        if (err)
            log_line("warning: %s: %s; retrying every %u s", what,
                     strerror(err), seconds);
        else
            log_line("warning: %s; retrying every %u s", what, seconds);
        *outage = true;
    }
    pause_s(seconds);
}

static void
recovered(bool *outage, const char *what)
{
    if (*outage) {
        log_line("%s: working again", what);
        *outage = false;
    }
}

/* --- directories ---------------------------------------------------------- */

static void
out_rotate(struct out *o)
{
    while (mlogdir_rotate(&o->d) == -1) {
        int e = errno;

        if (e == EINTR)
            continue;
        trouble(&o->outage, o->d.why.len ? o->d.why.s : o->d.conf->path, e,
                o->d.phase == MLOGDIR_RUN ? PAUSE_PROC : PAUSE_IO);
    }
    recovered(&o->outage, o->d.conf->path);
}

/*
 * out_write - append p[0..len) to the directory, rotating current on
 * the way as its size says, retrying each failure until it works.
 */
static void
out_write(struct out *o, const char *p, size_t len)
{
    unsigned long size = o->d.conf->size;

    while (len) {
        size_t n;
        ssize_t w;

        if (o->d.bytes >= size)
            out_rotate(o);
        n = mlog_chunk(o->d.bytes, size, p, len);
        w = mlogdir_write(&o->d, p, n);
        if (w == -1) {
            if (errno != EINTR)
                trouble(&o->outage, o->d.why.s, errno, PAUSE_IO);
            continue;
        }
        recovered(&o->outage, o->d.conf->path);
        p += w;
        len -= (size_t)w;
        if (mlog_full(o->d.bytes, size, p[-1]))
            out_rotate(o);
    }
}

static void
out_flush(struct out *o)
{
    out_write(o, o->pending.s, o->pending.len);
    bstr_truncate(&o->pending, 0);
}

/* out_put - queue bytes for the directory; memory stays bounded. */
static void
out_put(struct out *o, const char *p, size_t len)
{
    if (o->pending.len + len > OUT_MAX)
        out_flush(o);
    if (len > OUT_MAX || bstr_catb(&o->pending, p, len) == -1) {
        out_flush(o);
        out_write(o, p, len);
    }
}

/* --- status files and alerts ------------------------------------------- */

static void
status_write(struct status *st, const char *line, size_t len)
{
    char buf[MLOG_STATUS_LEN];
    size_t off = 0;

    mlog_status_fill(buf, line, len);
    while (off < sizeof buf) {
        ssize_t w = pwrite(st->fd, buf + off, sizeof buf - off, (off_t)off);

        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w == -1 && errno == EINTR)
            continue;
        if (w == 0)
            errno = EIO;
        {
            char what[512];

            snprintf(what, sizeof what, "unable to write %s", st->path);
            trouble(&st->outage, what, errno, PAUSE_IO);
        }
    }
    recovered(&st->outage, st->path);
}

static void
alert(const char *line, size_t len)
{
    char buf[MLOG_ALERT_MAX + 4];
    size_t n = mlog_alert_fill(buf, line, len);

    if (write_all(2, buf, n) == -1)
        return; /* stderr is gone: alerts are not the log */
}

/* --- the script, line by line ------------------------------------------ */

static void
deliver(struct multilog *m, const struct mlog_event *ev)
{
    const struct mlog_script *s = &m->script;

    if (ev->type == MLOG_EV_LINE) {
        mlog_script_select(s, ev->p, ev->len, m->sel);
        for (size_t i = 0; i < s->nact; i++) {
            const struct mlog_action *a = &s->act[i];

            if (a->kind == MLOG_ALERT && m->sel[i])
                alert(ev->p, ev->len);
            else if (a->kind == MLOG_STATUS && m->sel[i])
                status_write(&m->status[a->index], ev->p, ev->len);
            else if (a->kind == MLOG_DIR)
                m->out[a->index].selected = m->sel[i];
        }
    }
    for (size_t j = 0; j < s->ndir; j++) {
        struct out *o = &m->out[j];

        if (!o->selected)
            continue;
        if (ev->len)
            out_put(o, ev->p, ev->len);
        if (ev->end)
            out_put(o, "\n", 1);
    }
}

/* feed - every byte read goes through the script before the next read. */
static void
feed(struct multilog *m, const char *buf, size_t n)
{
    for (;;) {
        struct mlog_event ev;
        struct timespec now;
        size_t used;

        clock_gettime(CLOCK_REALTIME, &now);
        used = mlog_reader_push(&m->reader, buf, n, &now, &ev);
        buf += used;
        n -= used;
        if (ev.type == MLOG_EV_MORE)
            break;
        deliver(m, &ev);
    }
    for (size_t j = 0; j < m->script.ndir; j++)
        out_flush(&m->out[j]);
}

/* --- start and end -------------------------------------------------------- */

static void
setup_signals(sigset_t *waitmask)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL); /* a closed stderr is not fatal */
    sigaction(SIGXFSZ, &sa, NULL); /* a file size limit is EFBIG: wait */
    sa.sa_handler = on_exit_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    /* the signals arrive only while waiting for input */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, waitmask);
    sigdelset(waitmask, SIGTERM);
    sigdelset(waitmask, SIGHUP);
    sigdelset(waitmask, SIGALRM);
}

static void
start(struct multilog *m, char **argv, size_t argc)
{
    struct mlog_script *s = &m->script;
    struct bstr msg = BSTR_INIT;

    if (mlog_script_parse(s, argv, argc, &msg) == -1) {
        if (errno == ENOMEM)
            die_nomem();
        die_usage(msg.s);
    }
    for (const char *p = msg.s; p && *p;) {
        const char *nl = strchr(p, '\n');

        log_line("warning: %.*s", (int)(nl - p), p);
        p = nl + 1;
    }
    bstr_free(&msg);
    m->sel = calloc(s->nact, sizeof *m->sel);
    m->out = calloc(s->ndir ? s->ndir : 1, sizeof *m->out);
    m->status = calloc(s->nstatus ? s->nstatus : 1, sizeof *m->status);
    if (!m->sel || !m->out || !m->status)
        die_nomem();
    /* status files first, then directories, as daemontools */
    for (size_t i = 0; i < s->nact; i++) {
        const struct mlog_action *a = &s->act[i];
        struct status *st = &m->status[a->index];

        if (a->kind != MLOG_STATUS)
            continue;
        st->path = a->arg;
        /* created 0600 as daemontools creates it; never truncated */
        st->fd = open(a->arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (st->fd == -1)
            log_die_sys(EXIT_TEMP, "unable to create %s", a->arg);
    }
    for (size_t j = 0; j < s->ndir; j++) {
        struct out *o = &m->out[j];

        mlogdir_init(&o->d, &s->dir[j]);
        if (mlogdir_open(&o->d, AT_FDCWD) == -1) {
            if (errno == EWOULDBLOCK)
                log_die(EXIT_TEMP, "%s: another multilog is writing it",
                        o->d.why.s);
            log_die_sys(EXIT_TEMP, "%s", o->d.why.s);
        }
        if (mlogdir_recover(&o->d) == -1)
            log_die_sys(EXIT_TEMP, "%s", o->d.why.s);
    }
    mlog_reader_init(&m->reader, s->timestamp);
}

/* finish - end any unfinished line, then every current to disk, 0744. */
static void
finish(struct multilog *m)
{
    struct mlog_event ev;

    if (mlog_reader_eof(&m->reader, &ev)) {
        deliver(m, &ev);
        for (size_t j = 0; j < m->script.ndir; j++)
            out_flush(&m->out[j]);
    }
    for (size_t j = 0; j < m->script.ndir; j++) {
        struct out *o = &m->out[j];

        while (mlogdir_close(&o->d) == -1)
            trouble(&o->outage, o->d.why.s, errno, PAUSE_IO);
        recovered(&o->outage, o->d.conf->path);
        mlogdir_free(&o->d);
        bstr_free(&o->pending);
    }
    for (size_t i = 0; i < m->script.nstatus; i++)
        close(m->status[i].fd);
    free(m->sel);
    free(m->out);
    free(m->status);
    mlog_script_free(&m->script);
}

/*
 * main - read until end of input, or until TERM/HUP at a line boundary
 * (mid-line, the rest of the line is read byte by byte first, so the
 * input stays at the first byte not processed).  ALRM rotates every
 * non-empty current.
 */
int
main(int argc, char **argv)
{
    static char buf[IN_MAX];
    struct multilog m = {0};
    sigset_t waitmask;
    int code = 0;

    log_init("multilog");
    umask(022);
    setup_signals(&waitmask);
    start(&m, argv + 1, argc > 0 ? (size_t)argc - 1 : 0);
    for (;;) {
        struct pollfd pfd = {0, POLLIN, 0};
        ssize_t n;

        if (flag_rotate) {
            flag_rotate = 0;
            for (size_t j = 0; j < m.script.ndir; j++)
                if (m.out[j].d.bytes > 0)
                    out_rotate(&m.out[j]);
        }
        if (flag_exit && !mlog_reader_midline(&m.reader))
            break;
        if (ppoll(&pfd, 1, NULL, &waitmask) == -1) {
            if (errno == EINTR)
                continue;
            log_line("warning: unable to wait for input: %s",
                     strerror(errno));
            code = EXIT_TEMP;
            break;
        }
        n = read(0, buf, flag_exit ? 1 : sizeof buf);
        if (n == 0)
            break;
        if (n == -1) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            log_line("warning: unable to read input: %s", strerror(errno));
            code = EXIT_TEMP;
            break;
        }
        feed(&m, buf, (size_t)n);
    }
    finish(&m);
    return code;
}
