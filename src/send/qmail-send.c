/* SPDX-License-Identifier: ISC */
/*
 * qmail-send - the queue manager.
 *
 * Started by qmail-start with its helpers on fixed descriptors:
 *   1 (and 2)  the log (qmail-send's lines; a logger stamps them)
 *   3 -> 4 <-  qmail-lspawn: requests, reports (spawnproto.h)
 *   5 -> 6 <-  qmail-rspawn
 *   7 -> 8 <-  qmail-clean: "t<id>" / "x<id>" requests, '+'/'!' answers
 * It works in $QMAIL_HOME/queue.  This file is main(): the descriptors,
 * the settings, the lock, the signals and the event loop; its state is
 * one struct send_state (send.h, state.c), and the work is elsewhere:
 * what the queue holds at the start is read a slice at a time
 * (startup.c), new messages in todo/ are preprocessed (todo.c),
 * deliveries are scheduled by due time and concurrency and started
 * (dispatch.c), their reports recorded (report.c), finished jobs and
 * messages retried, bounced or ended (finish.c), files synced in the
 * background (fsyncq.c, pend.c) and cleaned by qmail-clean (cleanq.c),
 * next attempts kept in the channel files' mtimes (touch.c); done marks,
 * bounces (bounce.c) and the log (slog.c) follow qmail-1.03.
 *
 * Signals: HUP rereads control/, ALRM makes every message due now, TERM
 * (and INT: a Ctrl-C to the process group) stops starting deliveries,
 * waits for the running ones, then exits.
 * lock/sendmutex is locked while it runs (one qmail-send per queue);
 * lock/trigger wakes it when qmail-queue commits a message; lock/sendctl
 * carries queue tools' requests (requeue, expire, remove: sendctl.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "fsyncq.h"
#include "lock.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "send.h"

/*
 * hold_queue - take lock/sendmutex, as qmail-1.03's qmail-send does, and
 * keep it until exit: one qmail-send per queue.  A second one (a second
 * qmail-start, a supervisor starting it again) stops here with
 * qmail-1.03's alert, before it reads or changes anything in the queue.
 * The lock is flock(2)'s, which qmail-1.03 takes too where it has it.
 */
static void
hold_queue(void)
{
    int fd = open("lock/sendmutex", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

    if (fd == -1)
        slog_die("cannot start: unable to open mutex");
    if (lock_ex_wait(fd, 0) == -1)
        slog_die(errno == ETIMEDOUT
                     ? "cannot start: qmail-send is already running"
                     : "cannot start: unable to lock mutex");
    /* fd stays open, and the queue ours, until qmail-send exits */
}

/* nonblock - a helper's pipe made non-blocking (pipes.c), or the end */
static void
nonblock(int fd)
{
    if (pipes_nonblock(fd) == -1)
        slog_die("unable to set up the helpers' pipes, exiting");
}

/* next_timeout - how long poll may sleep: until the next due time of a
 * channel with room, or of a bounce, or the next todo/ scan; 0 while
 * there is work left over from this turn.  Once exiting nothing due is
 * started any more: only the helpers' answers, which wake poll, matter */
static int
next_timeout(const struct send_state *st, bool busy)
{
    time_t now = time(NULL);
    int64_t next = now + TODO_RESCAN, parked = sendrate_wake(&st->rate);
    const struct sched_item *it;

    if (busy)
        return 0;
    if (st->exiting)
        return TODO_RESCAN * 1000;
    for (int c = 0; c < NCHAN; c++)
        if ((it = sched_peek(&st->ch[c].heap)) && it->when < next &&
            st->ch[c].active < st->cf.concurrency[c] + EXTRA_ACTIVE)
            next = it->when;
    if ((it = sched_peek(&st->bounceheap)) && it->when < next)
        next = it->when;
    /* a rate limit's window ends: deliveries it held back may start,
     * and parked messages it admits come due */
    if (st->rate_wake && st->rate_wake < next)
        next = st->rate_wake;
    if (parked && parked < next)
        next = parked;
    if (next <= now)
        return 0;
    return (int)(next - now) * 1000;
}

/*
 * work - one turn's work, each part bounded: deliveries started, bounces
 * retried, slices of the start-up scan, the todo/ scan, the touch and
 * orphan sweeps; what waits for the helpers written as far as their
 * pipes take it, and the log.  True when work is left for the next turn
 * at once.
 */
static bool
work(struct send_state *st)
{
    bool busy;

    for (int c = 0; c < NCHAN; c++) {
        dispatch_activate(st, c);
        dispatch_run(st, c);
    }
    finish_bounces_due(st);
    busy = state_scan_slice(st);
    busy = todo_work(st) || busy;
    busy = touch_work(&st->touch, &st->msgs) || busy;
    busy = state_orphan_slice(st) || busy;
    for (int c = 0; c < NCHAN; c++)
        if (st->ch[c].wbuf.len &&
            pipes_write(st->ch[c].wfd, &st->ch[c].wbuf, &st->ch[c].woff) == -1)
            slog_die("lost connection to a helper (write), exiting");
    if (st->clean.buf.len &&
        pipes_write(st->clean.wfd, &st->clean.buf, &st->clean.off) == -1)
        slog_die("lost connection to a helper (write), exiting");
    slog_flush();
    return busy;
}

/* signals - HUP rereads control/, ALRM requeues all, TERM and INT stop */
static void
signals(struct send_state *st, int sfd)
{
    struct signalfd_siginfo si;

    while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            reload_conf(st);
        } else if (si.ssi_signo == SIGALRM) {
            if (sendctl_command(&st->ctl_ops, "requeue all") == -1)
                slog_nomem();
        } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            /* INT too: a Ctrl-C to the process group (make run) stops
             * qmail-send as TERM does; the helpers ignore it and end
             * once their pipes close */
            if (!st->exiting) {
                st->exiting = true;
                dispatch_status(st);
            }
        }
    }
}

/* where each descriptor main() polls sits in the array (-1: not there) */
struct polls {
    struct pollfd p[11];
    int n, sig, trig, ctl, clean, fq, r[NCHAN];
};

static int
poll_add(struct polls *ps, int fd, short events)
{
    ps->p[ps->n].fd = fd;
    ps->p[ps->n].events = events;
    ps->p[ps->n].revents = 0;
    return ps->n++;
}

/* poll_wait - wait for the descriptors with something to say, at most
 * the time to the next due work */
static void
poll_wait(struct send_state *st, struct polls *ps, int sfd, int trigger_fd,
          bool busy)
{
    ps->n = 0;
    ps->ctl = -1;
    ps->sig = poll_add(ps, sfd, POLLIN);
    ps->trig = poll_add(ps, trigger_fd, POLLIN);
    if (st->ctl.fd != -1 && !cleanq_full(st))
        ps->ctl = poll_add(ps, st->ctl.fd, POLLIN);
    ps->clean = poll_add(ps, st->clean.rfd, POLLIN);
    ps->fq = poll_add(ps, fsyncq_fd(), POLLIN);
    if (st->clean.buf.len)
        poll_add(ps, st->clean.wfd, POLLOUT);
    for (int c = 0; c < NCHAN; c++) {
        ps->r[c] = poll_add(ps, st->ch[c].rfd, POLLIN);
        if (st->ch[c].wbuf.len)
            poll_add(ps, st->ch[c].wfd, POLLOUT);
    }
    if (poll(ps->p, (nfds_t)ps->n, next_timeout(st, busy)) == -1 &&
        errno != EINTR)
        slog_die("poll failed, exiting");
}

int
main(void)
{
    struct send_state st = {0};
    const char *bad = NULL;
    struct polls ps;
    sigset_t mask;
    int sfd, trigger_fd;

    log_init("qmail-send");
    if (chdir(priv_home()) == -1)
        slog_die("unable to chdir to the qmail home, exiting");
    if (conf_load(&st.cf, &bad) == -1)
        slog_die("unable to read controls, exiting");
    if (chdir("queue") == -1)
        slog_die("unable to chdir to queue, exiting");
    hold_queue();
    if (setenv("QMAIL_QUEUE_ORIGIN", "bounce", 1) == -1 ||
        state_init(&st) == -1)
        slog_nomem();

    sigemptyset(&mask);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGALRM);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd == -1)
        slog_die("unable to set up signals, exiting");
    if (fsyncq_init() == -1)
        slog_die("unable to start the fsync threads, exiting");

    /* qmail-start's descriptors: lspawn 3/4, rspawn 5/6, clean 7/8 */
    for (int c = 0; c < NCHAN; c++) {
        st.ch[c].wfd = 3 + 2 * c;
        st.ch[c].rfd = 4 + 2 * c;
        nonblock(st.ch[c].wfd);
        nonblock(st.ch[c].rfd);
    }
    st.clean.wfd = 7;
    st.clean.rfd = 8;
    nonblock(st.clean.wfd);
    nonblock(st.clean.rfd);
    trigger_fd = open("lock/trigger", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (trigger_fd == -1)
        slog_die("unable to open lock/trigger, exiting");
    st.ctl.fd = open("lock/sendctl", O_RDWR | O_NONBLOCK | O_CLOEXEC);

    if (startup_begin(&st.scan) == -1)
        slog_die("unable to scan the queue at start-up, exiting");
    st.todo.again = true;
    slog("status: local 0/%lu remote 0/%lu", st.cf.concurrency[CHAN_LOCAL],
         st.cf.concurrency[CHAN_REMOTE]);
    slog_flush();

    for (;;) {
        bool busy = work(&st);

        if (st.exiting && !st.ch[0].used && !st.ch[1].used && !st.clean.count &&
            !st.clean.buf.len && !fsyncq_pending())
            break;
        for (int c = 0; c < NCHAN; c++)
            if (st.ch[c].dead) {
                slog("alert: lost connection to qmail-%cspawn, exiting",
                     c == CHAN_LOCAL ? 'l' : 'r');
                slog_flush();
                _exit(EXIT_TEMP);
            }

        poll_wait(&st, &ps, sfd, trigger_fd, busy);

        if (ps.p[ps.sig].revents & POLLIN)
            signals(&st, sfd);
        if (ps.p[ps.trig].revents & POLLIN) {
            char buf[256];

            while (read(trigger_fd, buf, sizeof buf) > 0)
                ;
            st.todo.again = true;
        }
        if (ps.ctl >= 0 && (ps.p[ps.ctl].revents & POLLIN))
            if (sendctl_read(&st.ctl, &st.ctl_ops) == -1)
                slog_nomem();
        if (ps.p[ps.fq].revents & POLLIN)
            fsyncq_collect(pend_done);
        if ((ps.p[ps.clean].revents & (POLLIN | POLLHUP)) &&
            cleanq_read(&st) == -1)
            slog_die("lost connection to qmail-clean, exiting");
        for (int c = 0; c < NCHAN; c++)
            if ((ps.p[ps.r[c]].revents & (POLLIN | POLLHUP)) &&
                report_read(&st, c) == -1)
                slog_die(errno == ENOMEM ? "out of memory, exiting"
                                         : "a spawner's report is garbled, "
                                           "exiting");
    }
    slog("status: exiting");
    slog_flush();
    state_free(&st);
    return 0;
}
