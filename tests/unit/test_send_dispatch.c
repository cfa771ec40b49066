/* SPDX-License-Identifier: ISC */
/*
 * test_send_dispatch - qmail-send's deliveries from start to report
 * (dispatch.c, report.c, finish.c, pend.c) against fake spawners: the
 * test reads the requests qmail-send queued for a channel (its write
 * buffer, as the spawner would read them off the pipe) and answers with
 * report bytes it makes itself, or with a pipe it closes or fills with
 * garbage.  A queue is made in a temporary directory; the log (fd 1) is
 * captured.  The rules checked:
 *   - one delivery per local recipient, one per remote domain, each
 *     logged "starting delivery N: msg M to CHANNEL ADDR";
 *   - never more deliveries than the channel's concurrency, nor more
 *     than perdomain to one remote domain;
 *   - a success is a done mark on disk before the recipient counts as
 *     finished; a deferral keeps the recipient (and sets the next
 *     attempt in the file's mtime); a failure goes to bounce/N, then the
 *     done mark; the last recipient ends the message ("end msg N");
 *   - a spawner that closes its pipe (crashed) leaves its deliveries
 *     unrecorded, so they are tried again: temporary;
 *   - garbage, an over-long record, or a report for an idle slot changes
 *     nothing and does not crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsyncq.h"
#include "harness.h"
#include "qpath.h"
#include "send.h"

static struct send_state st;
static char topdir[4096];
static int logfd = -1, stdout_fd = -1;

/* ---- the queue, the state, the log ------------------------------------ */

/* setup - a fresh queue in name/ under the test's temporary directory,
 * entered; st with these limits; the log going to name/log */
static void
setup(const char *name, unsigned long local, unsigned long remote,
      unsigned long perdomain)
{
    static const char *const subdirs[] = {"info", "local",  "remote", "mess",
                                          "todo", "bounce", "intd"};
    static bool pool;
    char d[128];

    if (!topdir[0])
        CHECK(getcwd(topdir, sizeof topdir) != NULL);
    snprintf(d, sizeof d, "%s/%s", harness_tmpdir(), name);
    CHECK(mkdir(d, 0700) == 0);
    CHECK(chdir(d) == 0);
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        CHECK(mkdir(subdirs[i], 0700) == 0);
        for (unsigned s = 0; i < 4 && s < QPATH_SPLIT; s++) {
            snprintf(d, sizeof d, "%s/%u", subdirs[i], s);
            CHECK(mkdir(d, 0700) == 0);
        }
    }
    if (!pool) {
        CHECK(fsyncq_init() == 0);
        pool = true;
    }
    memset(&st, 0, sizeof st);
    st.cf.concurrency[CHAN_LOCAL] = local;
    st.cf.concurrency[CHAN_REMOTE] = remote;
    st.cf.spawnlimit = 8;
    st.cf.perdomain = perdomain;
    st.cf.queuelifetime = 604800;
    st.cf.skip[CHAN_LOCAL] = 10;
    st.cf.skip[CHAN_REMOTE] = 20;
    CHECK(state_init(&st) == 0);
    slog_flush();
    fflush(stdout);
    stdout_fd = dup(1);
    logfd = open("log", O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(stdout_fd != -1 && logfd != -1 && dup2(logfd, 1) == 1);
}

/* logged - the log so far (a static buffer) */
static const char *
logged(void)
{
    static char text[1 << 20];
    ssize_t n;

    slog_flush();
    n = pread(logfd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

static void
teardown(void)
{
    state_free(&st);
    slog_flush();
    CHECK(dup2(stdout_fd, 1) == 1);
    close(stdout_fd);
    close(logfd);
    CHECK(chdir(topdir) == 0);
}

/* file - write dir/S/id holding the records recs (each with its NUL) */
static void
file(const char *dir, uint64_t id, const char *recs, size_t len)
{
    char fn[QPATH_MAX];
    int fd;

    qpath_fmt(fn, dir, id);
    fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd != -1);
    CHECK(write(fd, recs, len) == (ssize_t)len);
    close(fd);
}

/* contents - dir/S/id, NULs shown as '|'; "" when there is no file */
static const char *
contents(const char *dir, uint64_t id)
{
    static char text[4096];
    char fn[QPATH_MAX];
    ssize_t n = -1;
    int fd;

    qpath_fmt(fn, dir, id);
    fd = open(fn, O_RDONLY);
    if (fd != -1) {
        n = read(fd, text, sizeof text - 1);
        close(fd);
    }
    text[n > 0 ? n : 0] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if (!text[i])
            text[i] = '|';
    return text;
}

/*
 * message - message id from sender to the recipients (T records, each
 * with its NUL, rlen bytes) on channel c, preprocessed and due now.
 */
static struct msg *
message(uint64_t id, const char *sender, int c, const char *recs, size_t rlen)
{
    char info[256];
    int n = snprintf(info, sizeof info, "F%s", sender);
    struct msg *m;

    file("info", id, info, (size_t)n + 1);
    file(c == CHAN_LOCAL ? "local" : "remote", id, recs, rlen);
    m = msgmap_add(&st.msgs, id);
    CHECK(m != NULL);
    m->birth = time(NULL);
    m->flags = MSG_PENDING(c);
    dispatch_schedule(&st, m, c, time(NULL));
    return m;
}

/* ---- the fake spawner -------------------------------------------------- */

struct req {
    unsigned slot;
    unsigned long long id;
    char rcpts[256]; /* joined with ',' */
};

/* requests - what channel c asked its spawner since the last call */
static size_t
requests(int c, struct req *out, size_t max)
{
    struct bstr *w = &st.ch[c].wbuf;
    struct spawn_reqparser p;
    size_t off = 0, n = 0;

    spawnproto_req_init(&p);
    while (off < w->len) {
        size_t used;
        int ev = spawnproto_req_push(&p, w->s + off, w->len - off, &used);

        off += used;
        if (ev == SPAWNPROTO_REQUEST && n < max) {
            size_t at = 0;

            out[n].slot = p.req.slot;
            out[n].id = p.req.msgid;
            out[n].rcpts[0] = '\0';
            for (size_t r = 0; r < p.req.nrcpt; r++) {
                const char *a = p.req.rcpts.s + at;

                snprintf(out[n].rcpts + strlen(out[n].rcpts),
                         sizeof out[n].rcpts - strlen(out[n].rcpts), "%s%s",
                         r ? "," : "", a);
                at += strlen(a) + 1;
            }
            n++;
        } else if (ev != SPAWNPROTO_MORE && ev != SPAWNPROTO_REQUEST) {
            CHECK(!"a request qmail-send wrote does not parse");
            break;
        }
    }
    spawnproto_req_free(&p);
    bstr_truncate(w, 0);
    return n;
}

/* answer - spawner c reports slot: one code per recipient (codes), the
 * same text for each, then final; fed as a spawner's pipe would */
static int
answer(int c, unsigned slot, const char *codes, const char *text, char final)
{
    struct bstr b = BSTR_INIT;
    int r;

    CHECK(spawnproto_report_start(&b, slot) == 0);
    for (const char *p = codes; *p; p++)
        CHECK(spawnproto_report_rcpt(&b, *p, text, strlen(text)) == 0);
    CHECK(spawnproto_report_end(&b, final, "", 0) == 0);
    r = report_feed(&st, c, b.s, b.len);
    bstr_free(&b);
    return r;
}

/* turn - the dispatch part of a main-loop turn for channel c */
static void
turn(int c)
{
    dispatch_activate(&st, c);
    dispatch_run(&st, c);
}

/* synced - wait (5 s at most) until every background fsync has ended
 * and been acted on, as the main loop would */
static void
synced(void)
{
    for (int i = 0; i < 500 && fsyncq_pending(); i++) {
        struct pollfd p = {fsyncq_fd(), POLLIN, 0};

        if (poll(&p, 1, 10) == 1)
            fsyncq_collect(pend_done);
    }
    CHECK_INT(fsyncq_pending(), 0);
}

/* state_of - recipient i's state in the job of channel c's slot si */
static char
state_of(int c, unsigned si, size_t i)
{
    const struct job *j = st.ch[c].slot[si].job;

    return j && i < j->nr ? j->r[i].state : '?';
}

#define RECS(s) (s), sizeof(s) /* a literal's records, with the last NUL */

/* ---- the cases --------------------------------------------------------- */

static void
t_local_one_per_rcpt_within_concurrency(void)
{
    struct req r[8];
    size_t n;

    setup("local-conc", 2, 2, 5);
    message(101, "s@x.test", CHAN_LOCAL,
            RECS("Ta@x.test\0Tb@x.test\0Tc@x.test"));
    turn(CHAN_LOCAL);
    n = requests(CHAN_LOCAL, r, 8);
    /* three recipients, concurrency 2: two deliveries of one each */
    CHECK_INT(n, 2);
    CHECK_INT(st.ch[CHAN_LOCAL].used, 2);
    CHECK_INT(r[0].id, 101);
    CHECK_STR(r[0].rcpts, "a@x.test");
    CHECK_STR(r[1].rcpts, "b@x.test");
    CHECK(r[0].slot != r[1].slot);
    CHECK(strstr(logged(), "starting delivery 1: msg 101 to local "
                           "a@x.test\nstatus: local 1/2 remote 0/2\n"
                           "starting delivery 2: msg 101 to local "
                           "b@x.test\nstatus: local 2/2 remote 0/2\n") != NULL);
    /* another turn starts nothing: the channel is full */
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 8), 0);
    /* a success frees a slot: the third starts */
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "r", "did 0+0+1", 'K'), 0);
    CHECK_INT(st.ch[CHAN_LOCAL].used, 1);
    turn(CHAN_LOCAL);
    n = requests(CHAN_LOCAL, r + 2, 6);
    CHECK_INT(n, 1);
    CHECK_STR(r[2].rcpts, "c@x.test");
    CHECK_INT(st.ch[CHAN_LOCAL].used, 2);
    CHECK(strstr(logged(), "\ndelivery 1: success: did_0+0+1\n") != NULL);
    CHECK(strstr(logged(), "starting delivery 3: msg 101 to local "
                           "c@x.test") != NULL);
    CHECK_INT(answer(CHAN_LOCAL, r[1].slot, "r", "ok", 'K'), 0);
    CHECK_INT(answer(CHAN_LOCAL, r[2].slot, "r", "ok", 'K'), 0);
    synced();
    /* every recipient done: the channel file and info/ go, qmail-clean
     * is asked to remove the rest */
    CHECK_STR(contents("local", 101), "");
    CHECK_STR(contents("info", 101), "");
    CHECK(strstr(logged(), "end msg 101\n") != NULL);
    CHECK_INT(st.clean.count, 1);
    CHECK_INT(st.clean.buf.len, 5);
    CHECK(memcmp(st.clean.buf.s, "x101", 5) == 0);
    CHECK_INT(st.ch[CHAN_LOCAL].used, 0);
    CHECK_INT(st.ch[CHAN_LOCAL].active, 0);
    CHECK(msgmap_get(&st.msgs, 101)->flags & MSG_DONEWAIT);
    teardown();
}

static void
t_remote_per_domain(void)
{
    struct req r[8];
    size_t n;

    setup("remote-domain", 2, 3, 1);
    message(201, "s@x.test", CHAN_REMOTE,
            RECS("Ta@one.test\0Tb@two.test\0Tc@ONE.test"));
    message(202, "s@x.test", CHAN_REMOTE, RECS("Td@one.test\0Te@three.test"));
    turn(CHAN_REMOTE);
    n = requests(CHAN_REMOTE, r, 8);
    /* one delivery per domain (case does not matter), at most perdomain
     * (1) to one domain: d@one.test waits, e@three.test goes ahead */
    CHECK_INT(n, 3);
    CHECK_STR(r[0].rcpts, "a@one.test,c@ONE.test");
    CHECK_STR(r[1].rcpts, "b@two.test");
    CHECK_STR(r[2].rcpts, "e@three.test");
    CHECK_INT(r[2].id, 202);
    CHECK_INT(st.ch[CHAN_REMOTE].used, 3);
    CHECK(strstr(logged(), "starting delivery 2: msg 201 to remote "
                           "c@ONE.test") != NULL);
    /* one.test is free again: d goes */
    CHECK_INT(answer(CHAN_REMOTE, r[0].slot, "rr", "250 ok", 'K'), 0);
    turn(CHAN_REMOTE);
    CHECK_INT(requests(CHAN_REMOTE, r + 3, 5), 1);
    CHECK_STR(r[3].rcpts, "d@one.test");
    CHECK_INT(st.ch[CHAN_REMOTE].used, 3);
    /* a report for both recipients of the first: two lines */
    CHECK(strstr(logged(), "delivery 1: success: 250_ok\n"
                           "delivery 2: success: 250_ok\n") != NULL);
    CHECK_INT(answer(CHAN_REMOTE, r[1].slot, "r", "ok", 'K'), 0);
    CHECK_INT(answer(CHAN_REMOTE, r[2].slot, "r", "ok", 'K'), 0);
    CHECK_INT(answer(CHAN_REMOTE, r[3].slot, "r", "ok", 'K'), 0);
    synced();
    CHECK(strstr(logged(), "end msg 201\n") != NULL);
    CHECK(strstr(logged(), "end msg 202\n") != NULL);
    teardown();
}

static void
t_success_marks_before_done(void)
{
    struct req r[2];

    setup("success", 1, 1, 1);
    message(301, "s@x.test", CHAN_LOCAL, RECS("Ta@x.test\0Tb@x.test"));
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 1);
    CHECK_INT(state_of(CHAN_LOCAL, r[0].slot, 0), 'R');
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "r", "ok", 'K'), 0);
    /* written at once, counted finished only once synced */
    CHECK_STR(contents("local", 301), "Da@x.test|Tb@x.test|");
    CHECK(st.ch[CHAN_LOCAL].qhead != NULL);
    CHECK_INT(st.ch[CHAN_LOCAL].qhead->r[0].state, 'M');
    CHECK_INT(st.ch[CHAN_LOCAL].qhead->marking, 1);
    synced();
    CHECK_INT(st.ch[CHAN_LOCAL].qhead->r[0].state, 'D');
    CHECK_INT(st.ch[CHAN_LOCAL].qhead->marking, 0);
    teardown();
}

static void
t_deferral_keeps_rcpt(void)
{
    struct req r[2];
    struct msg *m;
    struct stat sb;
    char fn[QPATH_MAX];
    time_t now = time(NULL);

    setup("deferral", 1, 1, 1);
    m = message(401, "s@x.test", CHAN_LOCAL, RECS("Ta@x.test"));
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 1);
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "s", "mailbox busy\nlater", 'Z'),
              0);
    synced();
    CHECK(strstr(logged(), "delivery 1: deferral: mailbox_busy/later\n") !=
          NULL);
    /* still to do on disk; the job is finished and the next attempt is
     * the schedule's, in the file's mtime and in the heap */
    CHECK_STR(contents("local", 401), "Ta@x.test|");
    CHECK_INT(st.ch[CHAN_LOCAL].active, 0);
    CHECK(!(m->flags & MSG_ACTIVE(CHAN_LOCAL)));
    CHECK(m->flags & MSG_PENDING(CHAN_LOCAL));
    qpath_fmt(fn, "local", 401);
    CHECK(stat(fn, &sb) == 0);
    CHECK_INT(sb.st_mtime, retry_next(m->birth, now, 10));
    CHECK(sb.st_mtime > now);
    CHECK(sched_peek(&st.ch[CHAN_LOCAL].heap) != NULL);
    CHECK_INT(sched_peek(&st.ch[CHAN_LOCAL].heap)->when, sb.st_mtime);
    /* not due yet: nothing starts */
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 0);
    CHECK(strstr(logged(), "end msg") == NULL);
    teardown();
}

static void
t_failure_bounces(void)
{
    struct req r[2];

    setup("failure", 1, 1, 1);
    /* a double bounce's sender: its bounce is discarded, no qmail-queue */
    message(501, "#@[]", CHAN_LOCAL, RECS("Ta@x.test"));
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 1);
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "h", "no mailbox here", 'D'), 0);
    /* the failure is in bounce/N before the done mark */
    CHECK(strstr(contents("bounce", 501), "a@x.test") != NULL);
    CHECK(strstr(contents("bounce", 501), "no mailbox here") != NULL);
    synced();
    CHECK(strstr(logged(), "delivery 1: failure: no_mailbox_here\n") != NULL);
    CHECK(strstr(logged(), "triple bounce: discarding bounce/501\n") != NULL);
    CHECK(strstr(logged(), "end msg 501\n") != NULL);
    CHECK_STR(contents("bounce", 501), "");
    CHECK_STR(contents("local", 501), "");
    teardown();
}

static void
t_mangled_and_idle(void)
{
    struct req r[2];
    struct bstr b = BSTR_INIT;

    setup("mangled", 2, 1, 1);
    message(601, "s@x.test", CHAN_LOCAL, RECS("Ta@x.test\0Tb@x.test"));
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 2);
    /* two codes for a delivery of one: deferred, not believed */
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "rr", "ok", 'K'), 0);
    CHECK(strstr(logged(), "delivery 1: report mangled, will defer\n") != NULL);
    CHECK_STR(contents("local", 601), "Ta@x.test|Tb@x.test|");
    /* a report for a slot with nothing running, and one past the slots */
    CHECK_INT(answer(CHAN_LOCAL, 5, "r", "ok", 'K'), 0);
    CHECK_INT(answer(CHAN_LOCAL, 60000, "r", "ok", 'K'), 0);
    CHECK(strstr(logged(), "warning: qmail-lspawn reported for an idle slot "
                           "5\n") != NULL);
    CHECK(strstr(logged(), "idle slot 60000\n") != NULL);
    CHECK_INT(st.ch[CHAN_LOCAL].used, 1);
    CHECK_INT(state_of(CHAN_LOCAL, r[1].slot, 1), 'R');
    /* no codes at all, only the final record */
    CHECK(spawnproto_report_start(&b, r[1].slot) == 0 &&
          spawnproto_report_end(&b, 'Z', "crashed", 7) == 0);
    CHECK_INT(report_feed(&st, CHAN_LOCAL, b.s, b.len), 0);
    bstr_free(&b);
    CHECK(strstr(logged(), "delivery 2: report mangled, will defer\n") != NULL);
    synced();
    CHECK_STR(contents("local", 601), "Ta@x.test|Tb@x.test|");
    CHECK_INT(st.ch[CHAN_LOCAL].used, 0);
    teardown();
}

static void
t_crashed_spawner_is_temporary(void)
{
    struct req r[2];
    int p[2];

    setup("crashed", 2, 1, 1);
    CHECK(pipe(p) == 0);
    CHECK(pipes_nonblock(p[0]) == 0);
    st.ch[CHAN_LOCAL].rfd = p[0];
    message(701, "s@x.test", CHAN_LOCAL,
            RECS("Ta@x.test\0Tb@x.test\0Tc@x.test"));
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 2);
    /* nothing to read yet: not dead */
    CHECK_INT(report_read(&st, CHAN_LOCAL), 0);
    CHECK(!st.ch[CHAN_LOCAL].dead);
    /* one report, then the spawner is gone */
    {
        struct bstr b = BSTR_INIT;

        CHECK(spawnproto_report_start(&b, r[0].slot) == 0 &&
              spawnproto_report_rcpt(&b, 'r', "ok", 2) == 0 &&
              spawnproto_report_end(&b, 'K', "", 0) == 0);
        CHECK(write(p[1], b.s, b.len) == (ssize_t)b.len);
        bstr_free(&b);
    }
    close(p[1]);
    CHECK_INT(report_read(&st, CHAN_LOCAL), 0);
    CHECK(st.ch[CHAN_LOCAL].dead);
    synced();
    /* what was reported is recorded; the running delivery is not, and
     * nothing more starts on a dead channel: all is tried again when
     * qmail-send is (it exits 111 on a dead channel) */
    CHECK_STR(contents("local", 701), "Da@x.test|Tb@x.test|Tc@x.test|");
    CHECK_INT(state_of(CHAN_LOCAL, r[1].slot, 1), 'R');
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 0);
    CHECK(strstr(logged(), "starting delivery 3") == NULL);
    close(p[0]);
    teardown();
}

static void
t_garbage_refused(void)
{
    static char big[1 << 20];
    struct req r[2];
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        {"x\0", 2},    /* not a slot number */
        {"0\0q\0", 4}, /* unknown record */
        {"0\0\0", 3},  /* empty record */
        {"99999999999999999999999\0", 24},
        {"-1\0r\0K\0", 7},
        {"0\r\nr\0K\0", 7},
    };

    setup("garbage", 1, 1, 1);
    message(801, "s@x.test", CHAN_LOCAL, RECS("Ta@x.test"));
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* each on a fresh parser: after garbage the stream is unusable */
        spawnproto_rep_free(&st.ch[CHAN_LOCAL].rp);
        spawnproto_rep_init(&st.ch[CHAN_LOCAL].rp);
        errno = 0;
        CHECK_INT(report_feed(&st, CHAN_LOCAL, bad[i].bytes, bad[i].len), -1);
        CHECK_INT(errno, EPROTO);
    }
    /* a megabyte with no NUL: refused at the record limit, not stored */
    memset(big, 'r', sizeof big);
    spawnproto_rep_free(&st.ch[CHAN_LOCAL].rp);
    spawnproto_rep_init(&st.ch[CHAN_LOCAL].rp);
    CHECK_INT(report_feed(&st, CHAN_LOCAL, big, sizeof big), -1);
    CHECK_INT(errno, EPROTO);
    CHECK(st.ch[CHAN_LOCAL].rp.nr.rec.len <= SPAWN_RECORD_MAX + 1);
    /* through the pipe too */
    {
        int p[2];

        CHECK(pipe(p) == 0);
        CHECK(pipes_nonblock(p[0]) == 0 && pipes_nonblock(p[1]) == 0);
        st.ch[CHAN_LOCAL].rfd = p[0];
        spawnproto_rep_free(&st.ch[CHAN_LOCAL].rp);
        spawnproto_rep_init(&st.ch[CHAN_LOCAL].rp);
        CHECK(write(p[1], big, 60000) == 60000);
        CHECK_INT(report_read(&st, CHAN_LOCAL), -1);
        CHECK_INT(errno, EPROTO);
        close(p[0]);
        close(p[1]);
    }
    /* nothing changed: the delivery still runs, nothing logged for it */
    CHECK_INT(st.ch[CHAN_LOCAL].used, 1);
    CHECK_INT(state_of(CHAN_LOCAL, r[0].slot, 0), 'R');
    CHECK(strstr(logged(), "\ndelivery 1:") == NULL);
    CHECK_STR(contents("local", 801), "Ta@x.test|");
    /* a good report on a fresh parser is still taken */
    spawnproto_rep_free(&st.ch[CHAN_LOCAL].rp);
    spawnproto_rep_init(&st.ch[CHAN_LOCAL].rp);
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "r", "ok", 'K'), 0);
    synced();
    CHECK(strstr(logged(), "end msg 801\n") != NULL);
    teardown();
}

static void
t_hostile_texts_logged_safely(void)
{
    static char text[SPAWN_TEXT_MAX];
    struct req r[2];
    const char *log, *line;

    setup("texts", 1, 1, 1);
    message(901, "s@x.test", CHAN_LOCAL, RECS("Ta\033[2J@x.test"));
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 1);
    /* a terminal escape in the address is not logged raw */
    log = logged();
    CHECK(strchr(log, '\033') == NULL);
    CHECK(strstr(log, "to local a\\033[2J@x.test\n") != NULL);
    /* a long deferral text full of control characters */
    for (size_t i = 0; i < sizeof text - 1; i++)
        text[i] = (char)(1 + i % 31);
    text[sizeof text - 1] = '\0';
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "s", text, 'Z'), 0);
    synced();
    log = logged();
    line = strstr(log, "delivery 1: deferral: ");
    CHECK(line != NULL);
    if (line) {
        const char *end = strchr(line, '\n');

        CHECK(end != NULL);
        /* at most 1000 bytes of the text, each shown as at most 4 */
        CHECK(end && end - line < 22 + 4000 + 1);
        for (const char *p = line; end && p < end; p++)
            CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
    }
    /* kept whole for the bounce or notice */
    CHECK_STR(contents("local", 901), "Ta\033[2J@x.test|");
    teardown();
}

static void
t_exiting_starts_nothing(void)
{
    struct req r[2];

    setup("exiting", 2, 2, 1);
    message(1001, "s@x.test", CHAN_LOCAL, RECS("Ta@x.test"));
    st.exiting = true;
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 0);
    CHECK_INT(st.ch[CHAN_LOCAL].active, 0);
    st.exiting = false;
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 1);
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "r", "", 'K'), 0);
    synced();
    /* an empty recipient text: the final one stands for it ("" here) */
    CHECK(strstr(logged(), "delivery 1: success: \n") != NULL);
    teardown();
}

static void
t_todo_to_delivery(void)
{
    static const char env[] = "u0\0p42\0Fs@x.test\0Ta@x.test\0Tb@far.test\0";
    struct req r[2];
    struct msg *m;

    setup("todo", 1, 1, 1);
    CHECK(bstr_cats(&st.cf.locals, "x.test") == 0 &&
          bstr_catc(&st.cf.locals, '\0') == 0);
    CHECK(route_init(&st.cf.route, &st.cf.locals, &st.cf.percenthack,
                     &st.cf.virtualdomains, "x.test") == 0);
    file("todo", 1101, env, sizeof env - 1);
    file("mess", 1101, "Subject: x\n\nbody\n", 17);
    st.todo.again = true;
    CHECK(!todo_work(&st));
    CHECK(strstr(logged(), "new msg 1101\ninfo msg 1101: bytes 17 from "
                           "<s@x.test> qp 42 uid 0\n") != NULL);
    m = msgmap_get(&st.msgs, 1101);
    CHECK(m != NULL);
    if (!m)
        goto out;
    CHECK(m->flags & MSG_NEW);
    /* no delivery before todo/N is gone */
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 0);
    /* the files are synced first, then qmail-clean is asked */
    synced();
    CHECK_STR(contents("info", 1101), "Fs@x.test|");
    CHECK_STR(contents("local", 1101), "Ta@x.test|");
    CHECK_STR(contents("remote", 1101), "Tb@far.test|");
    CHECK_INT(st.clean.count, 1);
    CHECK(st.clean.buf.len == 6 && memcmp(st.clean.buf.s, "t1101", 6) == 0);
    /* seen again by the next scan meanwhile: not preprocessed twice */
    st.todo.again = true;
    CHECK(!todo_work(&st));
    CHECK_INT(st.clean.count, 1);
    cleanq_answer(&st, '+');
    CHECK(!(m->flags & MSG_NEW));
    turn(CHAN_LOCAL);
    turn(CHAN_REMOTE);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 1);
    CHECK_STR(r[0].rcpts, "a@x.test");
    CHECK_INT(requests(CHAN_REMOTE, r + 1, 1), 1);
    CHECK_STR(r[1].rcpts, "b@far.test");
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "r", "ok", 'K'), 0);
    CHECK_INT(answer(CHAN_REMOTE, r[1].slot, "r", "ok", 'K'), 0);
    synced();
    CHECK(strstr(logged(), "end msg 1101\n") != NULL);
    /* qmail-clean's answer to the 'x' lets the record go */
    CHECK(msgmap_get(&st.msgs, 1101) != NULL);
    cleanq_answer(&st, '+');
    CHECK(msgmap_get(&st.msgs, 1101) == NULL);
    CHECK_INT(st.clean.count, 0);
    /* an answer nobody asked for is ignored */
    cleanq_answer(&st, '+');
    CHECK_INT(st.clean.count, 0);
out:
    teardown();
}

static void
t_todo_trouble(void)
{
    static const char env[] = "Fs@x.test\0Ta@x.test\0";

    setup("todo-trouble", 1, 1, 1);
    /* an envelope that is not one: recorded, said once, left alone */
    file("todo", 1201, "Fs@x.test\0Ta@x.test", 19);
    file("mess", 1201, "x", 1);
    /* no mess/ file: the message is lost, the envelope goes */
    file("todo", 1202, env, sizeof env - 1);
    /* one for which qmail-clean fails: preprocessed again later */
    file("todo", 1203, env, sizeof env - 1);
    file("mess", 1203, "x", 1);
    st.todo.again = true;
    CHECK(!todo_work(&st));
    synced();
    CHECK(strstr(logged(), "warning: todo/1201 is not an envelope; left "
                           "alone") != NULL);
    CHECK(msgmap_get(&st.msgs, 1201) &&
          (msgmap_get(&st.msgs, 1201)->flags & MSG_BAD));
    CHECK(strstr(logged(), "warning: todo/1202 has no mess/6/1202: the "
                           "message is lost; removing todo/1202\n") != NULL);
    CHECK(msgmap_get(&st.msgs, 1203) != NULL);
    CHECK_INT(st.clean.count, 2);
    /* answers in the order asked, whichever scan order gave */
    for (int i = 0; i < 2; i++) {
        size_t h = st.clean.head;

        cleanq_answer(&st, st.clean.q[h].id == 1203 ? '!' : '+');
    }
    CHECK(strstr(logged(), "warning: qmail-clean unable to clean up "
                           "todo/1203\n") != NULL);
    CHECK(msgmap_get(&st.msgs, 1203) == NULL);
    CHECK(msgmap_get(&st.msgs, 1202) == NULL);
    /* the bad one is not looked at again */
    st.todo.again = true;
    CHECK(!todo_work(&st));
    CHECK(strstr(strstr(logged(), "todo/1201 is not") + 1,
                 "todo/1201 is not") == NULL);
    teardown();
}

static void
t_expire_remove_lifetime(void)
{
    struct req r[2];
    struct msg *m;

    setup("expire", 1, 1, 1);
    /* expired by the admin: bounced at once, nothing delivered */
    m = message(1301, "#@[]", CHAN_LOCAL, RECS("Ta@x.test\0Tb@x.test"));
    m->flags |= MSG_EXPIRE;
    /* removed by the admin: dropped, no bounce */
    m = message(1302, "s@x.test", CHAN_LOCAL, RECS("Tc@x.test"));
    m->flags |= MSG_REMOVE;
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 0);
    CHECK(strstr(logged(), "triple bounce: discarding bounce/1301\n"
                           "end msg 1301\n") != NULL);
    CHECK(strstr(logged(), "end msg 1302\n") != NULL);
    CHECK(strstr(logged(), "bounce/1302") == NULL);
    CHECK_STR(contents("local", 1301), "");
    CHECK_STR(contents("local", 1302), "");
    CHECK_STR(contents("bounce", 1302), "");
    /* too old: a deferral is the last, and bounces */
    m = message(1303, "#@[]", CHAN_LOCAL, RECS("Td@x.test"));
    {
        /* a message's birth is its info file's mtime */
        char fn[QPATH_MAX];
        time_t old = time(NULL) - 604800 - 10;
        struct timespec t[2] = {{old, 0}, {old, 0}};

        qpath_fmt(fn, "info", 1303);
        CHECK(utimensat(AT_FDCWD, fn, t, 0) == 0);
    }
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 2), 1);
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "s", "busy", 'Z'), 0);
    synced();
    CHECK(strstr(logged(), "triple bounce: discarding bounce/1303\n"
                           "end msg 1303\n") != NULL);
    CHECK_STR(contents("local", 1303), "");
    teardown();
}

/* busy - channel c's busy slots, each checked: its recipients running */
static unsigned long
busy(int c)
{
    unsigned long n = 0;

    for (unsigned long si = 0; si < st.cf.spawnlimit; si++) {
        const struct slot *sl = &st.ch[c].slot[si];

        if (!sl->busy)
            continue;
        n++;
        for (size_t k = 0; k < sl->n; k++)
            if (!CHECK_INT(sl->job->r[sl->idx[k]].state, 'R'))
                break;
    }
    return n;
}

static void
t_random_reports_keep_the_books(void)
{
    static const char codes[] = "rhs";
    struct req r[16];
    unsigned long started = 0;

    setup("random", 3, 1, 1);
    srand(12);
    for (uint64_t id = 2001; id <= 2030; id++)
        message(id, "#@[]", CHAN_LOCAL,
                RECS("Ta@x.test\0Tb@x.test\0Tc@x.test\0Td@x.test"));
    for (int step = 0; step < 3000; step++) {
        int what = rand() % 4;

        if (what == 0) {
            turn(CHAN_LOCAL);
            started += requests(CHAN_LOCAL, r, 16);
        } else if (what == 1) {
            /* any slot, right or not, with 0 to 2 codes */
            char cs[3] = {0};
            int n = rand() % 3;

            for (int i = 0; i < n; i++)
                cs[i] = codes[rand() % 3];
            CHECK_INT(answer(CHAN_LOCAL, (unsigned)(rand() % 10), cs, "t",
                             "KZD"[rand() % 3]),
                      0);
        } else if (what == 2) {
            synced();
        } else {
            /* every message due again (as after "requeue all") */
            for (size_t i = 0; i <= st.msgs.mask; i++) {
                struct msg *m = &st.msgs.slot[i];

                if (m->id && (m->flags & MSG_PENDING(CHAN_LOCAL)) &&
                    !(m->flags & MSG_ACTIVE(CHAN_LOCAL)))
                    dispatch_schedule(&st, m, CHAN_LOCAL, time(NULL));
            }
        }
        if (!CHECK_INT(busy(CHAN_LOCAL), st.ch[CHAN_LOCAL].used) ||
            !CHECK(st.ch[CHAN_LOCAL].used <= 3) ||
            !CHECK(st.ch[CHAN_LOCAL].active <= 3 + EXTRA_ACTIVE))
            break;
    }
    CHECK(started > 30);
    /* some messages got to the end, through failures too */
    CHECK(strstr(logged(), "\nend msg 20") != NULL);
    CHECK(strstr(logged(), "\ntriple bounce: discarding bounce/20") != NULL);
    CHECK(strstr(logged(), "report mangled") != NULL);
    CHECK(strstr(logged(), "idle slot") != NULL);
    /* the rest deferred: all books balance, nothing left running */
    for (unsigned si = 0; si < st.cf.spawnlimit; si++)
        if (st.ch[CHAN_LOCAL].slot[si].busy)
            CHECK_INT(answer(CHAN_LOCAL, si, "s", "later", 'Z'), 0);
    synced();
    CHECK_INT(st.ch[CHAN_LOCAL].used, 0);
    CHECK_INT(busy(CHAN_LOCAL), 0);
    teardown();
}

/* control - write control/name (one line) beside the queue */
static void
control(const char *name, const char *line)
{
    char fn[256];
    FILE *f;

    snprintf(fn, sizeof fn, "../control/%s", name);
    f = fopen(fn, "w");
    CHECK(f != NULL);
    if (f) {
        fprintf(f, "%s\n", line);
        fclose(f);
    }
}

static void
t_reload_and_requests(void)
{
    char d[256];
    struct req r[4];
    struct msg *m;

    snprintf(d, sizeof d, "%s/reload", harness_tmpdir());
    CHECK(mkdir(d, 0700) == 0);
    snprintf(d, sizeof d, "%s/reload/control", harness_tmpdir());
    CHECK(mkdir(d, 0700) == 0);
    setup("reload/queue", 1, 1, 1);
    control("me", "x.test");
    control("concurrencylocal", "50");
    control("concurrencyremote", "3");
    control("spawnlimit", "500");
    /* a "reload" request on lock/sendctl, as the v* tools send it: the
     * new settings, concurrency capped at the slots there are (8) */
    CHECK_INT(sendctl_command(&st.ctl_ops, "reload"), 0);
    CHECK(strstr(logged(), "status: control files reread\n") != NULL);
    CHECK_INT(st.cf.concurrency[CHAN_LOCAL], 8);
    CHECK_INT(st.cf.concurrency[CHAN_REMOTE], 3);
    CHECK_INT(st.cf.spawnlimit, 8);
    /* a file that does not parse keeps every old setting */
    control("concurrencyremote", "5");
    control("retryschedule", "local:x");
    reload_conf(&st);
    CHECK(strstr(logged(), "alert: unable to reread control/") != NULL);
    CHECK(strstr(logged(), "keeping the old settings\n") != NULL);
    CHECK_INT(st.cf.concurrency[CHAN_REMOTE], 3);
    /* back in the queue directory after reading control/ */
    CHECK(getcwd(d, sizeof d) != NULL &&
          strcmp(d + strlen(d) - strlen("/reload/queue"), "/reload/queue") ==
              0);
    /* "requeue all" (SIGALRM) makes a deferred message due now */
    m = message(1401, "s@x.test", CHAN_LOCAL, RECS("Ta@x.test"));
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 4), 1);
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "s", "later", 'Z'), 0);
    synced();
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 4), 0);
    CHECK_INT(sendctl_command(&st.ctl_ops, "requeue all"), 0);
    CHECK(m->flags & MSG_TOUCH(CHAN_LOCAL));
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 4), 1);
    /* "remove" of the running message: dropped when its delivery ends */
    CHECK_INT(sendctl_command(&st.ctl_ops, "remove 1401"), 0);
    CHECK_INT(answer(CHAN_LOCAL, r[0].slot, "s", "later", 'Z'), 0);
    synced();
    turn(CHAN_LOCAL);
    CHECK_INT(requests(CHAN_LOCAL, r, 4), 0);
    CHECK(strstr(logged(), "remove msg 1401\n") != NULL);
    CHECK(strstr(logged(), "end msg 1401\n") != NULL);
    CHECK_STR(contents("local", 1401), "");
    teardown();
}

/* ---- rate limits per destination domain (sendrate.c) -------------------- */

/* rules - parse text's lines (NUL-separated as ctl reads them) into r */
static int
rules(struct sendrate_rules *r, const char *text, size_t len)
{
    struct bstr b = BSTR_INIT;
    int ret;

    CHECK(bstr_catb(&b, text, len) == 0);
    ret = sendrate_parse(r, &b);
    bstr_free(&b);
    return ret;
}

static void
t_rate_rules(void)
{
    static const char *const bad[] = {
        "one.test", "one.test:5", "one.test:5:", "one.test::60",
        "one.test:5:0", "one.test:x:60", "one.test:5:60s", "one.test:-1:60",
        "one.test:5:604801", "one.test:1000001:60", ":5:60", "a b:5:60",
        "a@b:5:60", "a\tb:5:60", "one.test:5:60:9", "one.test:99999999999:60",
    };
    struct sendrate_rules r;
    const struct sendrate_rule *x;

    CHECK(rules(&r, RECS("one.test:5:60\0.two.test:7:3600\0*:100:10\0"
                         "free.two.test:0:60")) == 0);
    CHECK_INT(r.n, 4);
    x = sendrate_rule(&r, "ONE.test");
    CHECK(x && x->max == 5 && x->secs == 60);
    /* ".two.test" is every domain under two.test, not two.test itself */
    x = sendrate_rule(&r, "mx.a.two.test");
    CHECK(x && x->max == 7 && x->secs == 3600);
    x = sendrate_rule(&r, "two.test");
    CHECK(x && x->max == 100);
    /* 0: no limit, even with "*" */
    CHECK(sendrate_rule(&r, "free.two.test") == NULL);
    x = sendrate_rule(&r, "");
    CHECK(x && x->max == 100 && x->secs == 10);
    sendrate_rules_free(&r);
    /* no rules, no limit */
    CHECK(rules(&r, "", 0) == 0);
    CHECK(sendrate_rule(&r, "one.test") == NULL);
    sendrate_rules_free(&r);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        if (!CHECK(rules(&r, bad[i], strlen(bad[i]) + 1) == -1))
            fprintf(stderr, "    accepted: %s\n", bad[i]);
        CHECK_INT(errno, EINVAL);
        CHECK(r.bad != NULL);
        sendrate_rules_free(&r);
    }
}

/* the window itself, time passed in */
static void
t_rate_window(void)
{
    struct sendrate_rules r;
    struct sendrate t;
    const int64_t T = 1800000000;
    int64_t until = 0;
    bool first;

    CHECK(rules(&r, RECS("one.test:2:60")) == 0);
    CHECK(sendrate_init(&t) == 0);
    CHECK(!sendrate_held(&t, &r, "one.test", T, &until, &first));
    CHECK(sendrate_count(&t, &r, "one.test", T) == 0);
    CHECK(!sendrate_held(&t, &r, "one.test", T + 1, &until, &first));
    CHECK(sendrate_count(&t, &r, "ONE.TEST", T + 1) == 0);
    /* two in the window: held until it ends, told once */
    CHECK(sendrate_held(&t, &r, "one.test", T + 2, &until, &first));
    CHECK(first);
    CHECK_INT(until, T + 60);
    CHECK(sendrate_held(&t, &r, "one.test", T + 59, &until, &first));
    CHECK(!first);
    /* other domains have no rule, or their own window */
    CHECK(sendrate_count(&t, &r, "two.test", T) == 0);
    CHECK(!sendrate_held(&t, &r, "two.test", T, &until, &first));
    /* the window ends: a new one begins with the next delivery */
    CHECK(!sendrate_held(&t, &r, "one.test", T + 60, &until, &first));
    CHECK(sendrate_count(&t, &r, "one.test", T + 60) == 0);
    CHECK(sendrate_count(&t, &r, "one.test", T + 61) == 0);
    CHECK(sendrate_held(&t, &r, "one.test", T + 62, &until, &first));
    CHECK(first);
    CHECK_INT(until, T + 120);
    /* a clock set back does not hold mail for ever */
    CHECK(!sendrate_held(&t, &r, "one.test", T - 3600, &until, &first));
    sendrate_free(&t);
    sendrate_rules_free(&r);
    /* many domains: the table grows, ended windows are dropped */
    CHECK(rules(&r, RECS("*:1:10")) == 0);
    CHECK(sendrate_init(&t) == 0);
    for (int i = 0; i < 5000; i++) {
        char d[32];

        snprintf(d, sizeof d, "d%d.test", i);
        CHECK(sendrate_count(&t, &r, d, T + i / 100) == 0);
    }
    CHECK(t.n < 5000); /* those of windows ended by then are gone */
    CHECK(sendrate_find(&t, "d4999.test") != NULL);
    CHECK(sendrate_held(&t, &r, "d4999.test", T + 49, &until, &first));
    CHECK(!sendrate_held(&t, &r, "d0.test", T + 49, &until, &first));
    sendrate_free(&t);
    sendrate_rules_free(&r);
}

/* what sendrate_release let go, in order; a gen of 99 stands for a
 * message that no longer waits */
struct taken {
    uint64_t id[64];
    size_t n;
};

static bool
take(uint64_t id, uint32_t gen, void *arg)
{
    struct taken *tk = arg;

    if (gen == 99)
        return false;
    if (tk->n < 64)
        tk->id[tk->n] = id;
    tk->n++;
    return true;
}

/* taken_is - tk holds exactly the ids of want (0-terminated); emptied */
static bool
taken_is(struct taken *tk, const uint64_t *want)
{
    size_t n = 0;
    bool ok = true;

    while (want[n])
        n++;
    if (!CHECK_INT(tk->n, n))
        ok = false;
    for (size_t i = 0; ok && i < n; i++)
        ok = CHECK_INT(tk->id[i], want[i]);
    tk->n = 0;
    return ok;
}

/* parking and letting go, time passed in: the window's M at its end,
 * what is left of M in a running one, in order, stale ones taking no
 * place; a lifted, raised or shortened rule; many domains; many parked */
static void
t_rate_park(void)
{
    struct sendrate_rules r;
    struct sendrate t;
    struct taken tk = {{0}, 0};
    const int64_t T = 1800000000;
    int64_t until;
    bool first;

    CHECK(rules(&r, RECS("one.test:2:60\0two.test:1:10")) == 0);
    CHECK(sendrate_init(&t) == 0);
    CHECK(sendrate_wake(&t) == 0);
    /* no window: nothing to park with */
    errno = 0;
    CHECK(sendrate_park(&t, "one.test", 1, 0, T + 60) == -1);
    CHECK_INT(errno, ENOENT);
    CHECK(sendrate_count(&t, &r, "one.test", T) == 0);
    CHECK(sendrate_count(&t, &r, "one.test", T) == 0);
    CHECK(sendrate_held(&t, &r, "one.test", T, &until, &first));
    for (uint64_t id = 1; id <= 5; id++)
        CHECK(sendrate_park(&t, "ONE.test", id, 0, until) == 0);
    CHECK(sendrate_waiting(&t, "one.test"));
    CHECK(!sendrate_waiting(&t, "two.test"));
    CHECK_INT(t.parked, 5);
    CHECK_INT(sendrate_wake(&t), T + 60);
    /* not before the window ends */
    sendrate_release(&t, &r, T + 59, take, &tk);
    CHECK(taken_is(&tk, (const uint64_t[]){0}));
    /* it ends: two go, first parked first; looked at again a window on */
    sendrate_release(&t, &r, T + 60, take, &tk);
    CHECK(taken_is(&tk, (const uint64_t[]){1, 2, 0}));
    CHECK_INT(sendrate_wake(&t), T + 120);
    /* they start a second later: at T+120 that window still runs, full */
    CHECK(sendrate_count(&t, &r, "one.test", T + 61) == 0);
    CHECK(sendrate_count(&t, &r, "one.test", T + 61) == 0);
    sendrate_release(&t, &r, T + 120, take, &tk);
    CHECK(taken_is(&tk, (const uint64_t[]){0}));
    CHECK_INT(sendrate_wake(&t), T + 121);
    /* a stale one behind 3 and 4 takes no place: 6 and 7 wait */
    CHECK(sendrate_park(&t, "one.test", 6, 99, T + 121) == 0);
    CHECK(sendrate_park(&t, "one.test", 7, 0, T + 121) == 0);
    sendrate_release(&t, &r, T + 121, take, &tk);
    CHECK(taken_is(&tk, (const uint64_t[]){3, 4, 0}));
    CHECK(sendrate_count(&t, &r, "one.test", T + 121) == 0);
    CHECK(sendrate_count(&t, &r, "one.test", T + 121) == 0);
    sendrate_release(&t, &r, T + 181, take, &tk);
    CHECK(taken_is(&tk, (const uint64_t[]){5, 7, 0}));
    CHECK_INT(t.parked, 0);
    CHECK(sendrate_wake(&t) == 0);
    CHECK(!sendrate_waiting(&t, "one.test"));
    /* a domain of its own beside it: each on its own wake */
    CHECK(sendrate_count(&t, &r, "two.test", T + 200) == 0);
    CHECK(sendrate_count(&t, &r, "one.test", T + 205) == 0);
    CHECK(sendrate_count(&t, &r, "one.test", T + 205) == 0);
    CHECK(sendrate_park(&t, "one.test", 11, 0, T + 265) == 0);
    CHECK(sendrate_park(&t, "one.test", 12, 0, T + 265) == 0);
    CHECK(sendrate_park(&t, "one.test", 13, 0, T + 265) == 0);
    CHECK(sendrate_park(&t, "two.test", 21, 0, T + 210) == 0);
    CHECK(sendrate_park(&t, "two.test", 22, 0, T + 210) == 0);
    CHECK_INT(sendrate_wake(&t), T + 210);
    sendrate_release(&t, &r, T + 210, take, &tk);
    CHECK(taken_is(&tk, (const uint64_t[]){21, 0}));
    CHECK_INT(sendrate_wake(&t), T + 220);
    /* a raised limit (reload), one.test's window still running with its
     * two: one more goes at once, the last at the window's end */
    sendrate_rules_free(&r);
    CHECK(rules(&r, RECS("one.test:3:60\0two.test:1:10")) == 0);
    sendrate_recheck(&t, T + 215);
    sendrate_release(&t, &r, T + 215, take, &tk);
    if (tk.n == 2 && tk.id[0] == 22) { /* two domains due at once */
        tk.id[0] = 11;
        tk.id[1] = 22;
    }
    CHECK(taken_is(&tk, (const uint64_t[]){11, 22, 0}));
    CHECK(sendrate_count(&t, &r, "one.test", T + 215) == 0);
    CHECK_INT(sendrate_wake(&t), T + 265);
    /* a shortened window (reload): it has ended, M go */
    sendrate_rules_free(&r);
    CHECK(rules(&r, RECS("one.test:1:5")) == 0);
    CHECK(sendrate_park(&t, "one.test", 14, 0, T + 265) == 0);
    sendrate_recheck(&t, T + 230);
    sendrate_release(&t, &r, T + 230, take, &tk);
    CHECK(taken_is(&tk, (const uint64_t[]){12, 0}));
    CHECK_INT(sendrate_wake(&t), T + 235);
    /* the limit lifted: all go */
    sendrate_rules_free(&r);
    CHECK(rules(&r, RECS("one.test:0:5")) == 0);
    sendrate_recheck(&t, T + 231);
    sendrate_release(&t, &r, T + 231, take, &tk);
    CHECK(taken_is(&tk, (const uint64_t[]){13, 14, 0}));
    CHECK(sendrate_wake(&t) == 0);
    CHECK_INT(t.parked, 0);
    sendrate_free(&t);
    sendrate_rules_free(&r);
    /* many parked, many domains: in order, at the pace, nothing lost;
     * ended windows are dropped as the table grows, but not those of
     * domains with messages parked */
    CHECK(rules(&r, RECS("*:3:10")) == 0);
    CHECK(sendrate_init(&t) == 0);
    for (int i = 0; i < 200; i++) {
        char d[32];

        snprintf(d, sizeof d, "d%d.test", i);
        for (int k = 0; k < 3; k++)
            CHECK(sendrate_count(&t, &r, d, T + i) == 0);
        for (uint64_t id = 0; i < 2 && id < 3000; id++)
            CHECK(sendrate_park(&t, d, (uint64_t)i * 10000 + id + 1, 0,
                                T + i + 10) == 0);
    }
    CHECK_INT(t.parked, 6000);
    CHECK(t.n < 200);
    CHECK(sendrate_waiting(&t, "d0.test") && sendrate_waiting(&t, "d1.test"));
    {
        uint64_t next[2] = {1, 10001};
        size_t gone = 0;

        for (int64_t now = T + 200; t.parked && now < T + 20000; now += 10) {
            sendrate_release(&t, &r, now, take, &tk);
            CHECK_INT(tk.n, 6);
            for (size_t k = 0; k < tk.n && k < 64; k++) {
                size_t dn = tk.id[k] > 10000;

                CHECK_INT(tk.id[k], next[dn]);
                next[dn]++;
            }
            gone += tk.n;
            tk.n = 0;
            /* the released start, and a domain of nothing parked too */
            for (int k = 0; k < 3; k++) {
                CHECK(sendrate_count(&t, &r, "d0.test", now) == 0);
                CHECK(sendrate_count(&t, &r, "d1.test", now) == 0);
            }
        }
        CHECK_INT(gone, 6000);
    }
    CHECK(sendrate_wake(&t) == 0);
    sendrate_free(&t);
    sendrate_rules_free(&r);
}

/* elapse - seconds pass: every window, every parked domain's wake and
 * every due time moves back */
static void
elapse(int64_t seconds)
{
    for (size_t i = 0; i <= st.rate.mask; i++)
        for (struct sendrate_dom *d = st.rate.tab[i]; d; d = d->next) {
            d->start -= seconds;
            d->wake -= seconds;
        }
    for (int c = 0; c < NCHAN; c++)
        for (size_t i = 0; i < st.ch[c].heap.n; i++)
            st.ch[c].heap.v[i].when -= seconds;
}

static size_t
count_in(const char *text, const char *what)
{
    size_t n = 0;

    for (const char *p = text; (p = strstr(p, what)); p++)
        n++;
    return n;
}

static void
t_rate_dispatch(void)
{
    struct req r[16];
    size_t n, total;

    setup("rate", 2, 8, 20);
    CHECK(rules(&st.cf.rates, RECS("one.test:2:60")) == 0);
    for (uint64_t id = 1501; id <= 1505; id++)
        message(id, "s@x.test", CHAN_REMOTE, RECS("Ta@one.test"));
    message(1506, "s@x.test", CHAN_REMOTE, RECS("Tb@two.test"));
    turn(CHAN_REMOTE);
    n = requests(CHAN_REMOTE, r, 16);
    /* two to one.test (the limit), two.test unaffected */
    CHECK_INT(n, 3);
    CHECK_INT(count_in(logged(), "to remote a@one.test"), 2);
    CHECK_INT(count_in(logged(), "to remote b@two.test"), 1);
    CHECK_INT(count_in(logged(), "ratelimit: holding back remote deliveries "
                                 "to one.test: 2 started in 60 seconds"),
              1);
    /* the three held are parked, not among the loaded jobs */
    CHECK_INT(st.ch[CHAN_REMOTE].active, 3);
    CHECK(st.rate_wake > time(NULL) + 50 && st.rate_wake <= time(NULL) + 60);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(answer(CHAN_REMOTE, r[i].slot, "r", "250 ok", 'K'), 0);
    synced();
    /* free slots, the window still full: nothing, and no second log */
    turn(CHAN_REMOTE);
    turn(CHAN_REMOTE);
    CHECK_INT(requests(CHAN_REMOTE, r, 16), 0);
    CHECK_INT(count_in(logged(), "ratelimit: holding back"), 1);
    CHECK_STR(contents("remote", 1503), "Ta@one.test|");
    CHECK(strstr(logged(), "end msg 1503") == NULL);
    CHECK(strstr(logged(), "deferral") == NULL);
    /* a minute later: two more */
    elapse(60);
    turn(CHAN_REMOTE);
    n = requests(CHAN_REMOTE, r, 16);
    CHECK_INT(n, 2);
    CHECK_INT(count_in(logged(), "ratelimit: holding back"), 2);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(answer(CHAN_REMOTE, r[i].slot, "r", "250 ok", 'K'), 0);
    synced();
    elapse(60);
    turn(CHAN_REMOTE);
    total = requests(CHAN_REMOTE, r, 16);
    CHECK_INT(total, 1);
    CHECK_INT(answer(CHAN_REMOTE, r[0].slot, "r", "250 ok", 'K'), 0);
    synced();
    for (uint64_t id = 1501; id <= 1506; id++) {
        char e[32];

        snprintf(e, sizeof e, "end msg %llu\n", (unsigned long long)id);
        CHECK(strstr(logged(), e) != NULL);
    }
    /* nothing counted as an attempt: no deferral, no bounce */
    CHECK(strstr(logged(), "deferral") == NULL);
    CHECK(strstr(logged(), "bounce") == NULL);
    CHECK_INT(st.ch[CHAN_REMOTE].active, 0);
    teardown();
}

/* a job with a held domain and another: the other goes, the held one
 * waits (the job parked once its delivery reported) */
static void
t_rate_mixed_job(void)
{
    struct req r[8];

    setup("rate-mixed", 2, 8, 20);
    CHECK(rules(&st.cf.rates, RECS(".one.test:1:3600\0*:0:1")) == 0);
    message(1601, "s@x.test", CHAN_REMOTE, RECS("Ta@mx.one.test"));
    message(1602, "s@x.test", CHAN_REMOTE,
            RECS("Tb@mx.one.test\0Tc@two.test"));
    turn(CHAN_REMOTE);
    CHECK_INT(requests(CHAN_REMOTE, r, 8), 2);
    CHECK_STR(r[0].rcpts, "a@mx.one.test");
    CHECK_STR(r[1].rcpts, "c@two.test");
    /* 1602 still has c running: it stays queued */
    CHECK_INT(st.ch[CHAN_REMOTE].active, 2);
    CHECK_INT(answer(CHAN_REMOTE, r[1].slot, "r", "250 ok", 'K'), 0);
    CHECK_INT(answer(CHAN_REMOTE, r[0].slot, "r", "250 ok", 'K'), 0);
    synced();
    turn(CHAN_REMOTE);
    CHECK_INT(requests(CHAN_REMOTE, r, 8), 0);
    /* parked: c's done mark on disk, b still to do */
    CHECK_INT(st.ch[CHAN_REMOTE].active, 0);
    CHECK_STR(contents("remote", 1602), "Tb@mx.one.test|Dc@two.test|");
    elapse(3600);
    turn(CHAN_REMOTE);
    CHECK_INT(requests(CHAN_REMOTE, r, 8), 1);
    CHECK_STR(r[0].rcpts, "b@mx.one.test");
    CHECK_INT(answer(CHAN_REMOTE, r[0].slot, "r", "250 ok", 'K'), 0);
    synced();
    CHECK(strstr(logged(), "end msg 1602\n") != NULL);
    teardown();
}

/* steps - three turns (loads, then starts) and what they started, each
 * answered with success; returns how many started, their recipients in
 * got (joined with ' ') */
static size_t
steps(char *got, size_t len)
{
    struct req r[16];
    size_t n;

    for (int i = 0; i < 3; i++)
        turn(CHAN_REMOTE);
    n = requests(CHAN_REMOTE, r, 16);
    got[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(got + strlen(got), len - strlen(got), "%s ", r[i].rcpts);
        CHECK_INT(answer(CHAN_REMOTE, r[i].slot, "r", "250 ok", 'K'), 0);
    }
    synced();
    return n;
}

/*
 * a message whose recipients are held at two domains goes to each as
 * soon as that domain's window lets it, not behind the line of messages
 * parked for the domain whose window ends first
 */
static void
t_rate_two_held_domains(void)
{
    char got[512];

    setup("rate-two", 4, 8, 20);
    CHECK(rules(&st.cf.rates, RECS("a.test:1:60\0b.test:1:120")) == 0);
    message(1901, "s@x.test", CHAN_REMOTE, RECS("Tz1@a.test"));
    message(1902, "s@x.test", CHAN_REMOTE, RECS("Tz2@b.test"));
    CHECK_INT(steps(got, sizeof got), 2); /* both windows are full now */
    for (uint64_t id = 1903; id <= 1906; id++)
        message(id, "s@x.test", CHAN_REMOTE, RECS("Tq@a.test"));
    message(1907, "s@x.test", CHAN_REMOTE, RECS("Tz@a.test\0Tz@b.test"));
    CHECK_INT(steps(got, sizeof got), 0);
    elapse(60); /* a's window ends: one of a's goes */
    CHECK_INT(steps(got, sizeof got), 1);
    CHECK(strstr(got, "@a.test ") != NULL);
    elapse(60); /* b's ends too: 1907's b recipient goes at once */
    steps(got, sizeof got);
    CHECK(strstr(got, "z@b.test ") != NULL);
    for (int w = 0; w < 8 && !strstr(logged(), "end msg 1907\n"); w++) {
        elapse(60);
        steps(got, sizeof got);
    }
    CHECK(strstr(logged(), "end msg 1907\n") != NULL);
    CHECK(strstr(logged(), "deferral") == NULL);
    teardown();
}

/*
 * many messages parked for one domain: each window's end lets go as many
 * as the window admits, and only those are read from disk again (the
 * rest stay parked without a load); every window after the first is used
 * in full; a parked message requeued or removed meanwhile is read at once
 * and takes no place among those let go; none is lost, deferred or
 * bounced
 */
static void
t_rate_parked_pace(void)
{
    struct req r[16];
    unsigned long loads;
    size_t n, started = 0, holds = 1;

    setup("rate-pace", 4, 8, 20);
    CHECK(rules(&st.cf.rates, RECS("one.test:2:60")) == 0);
    for (uint64_t id = 1801; id <= 1840; id++)
        message(id, "s@x.test", CHAN_REMOTE, RECS("Ta@one.test"));
    /* each is read once, to find where it goes: two go, 38 are parked */
    turn(CHAN_REMOTE);
    turn(CHAN_REMOTE);
    turn(CHAN_REMOTE);
    n = requests(CHAN_REMOTE, r, 16);
    CHECK_INT(n, 2);
    CHECK_INT(st.ch[CHAN_REMOTE].loads, 40);
    CHECK_INT(st.ch[CHAN_REMOTE].active, 2);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(answer(CHAN_REMOTE, r[i].slot, "r", "250 ok", 'K'), 0);
    synced();
    started += n;
    for (int w = 1; started < 39 && w < 30; w++) {
        size_t want = 39 - started < 2 ? 39 - started : 2;

        if (w == 5) {
            /* the next two to go are requeued and removed: each read
             * now, once; their places in the line are stale */
            const struct sendrate_dom *d = sendrate_find(&st.rate, "one.test");
            char req[64], end[32];

            loads = st.ch[CHAN_REMOTE].loads;
            CHECK(d != NULL && d->pn > 2);
            snprintf(req, sizeof req, "requeue %llu",
                     (unsigned long long)d->pv[d->ph].id);
            CHECK(sendctl_command(&st.ctl_ops, req) == 0);
            snprintf(req, sizeof req, "remove %llu",
                     (unsigned long long)d->pv[d->ph + 1].id);
            snprintf(end, sizeof end, "end msg %llu\n",
                     (unsigned long long)d->pv[d->ph + 1].id);
            CHECK(sendctl_command(&st.ctl_ops, req) == 0);
            turn(CHAN_REMOTE);
            synced();
            turn(CHAN_REMOTE);
            CHECK_INT(requests(CHAN_REMOTE, r, 16), 0);
            CHECK_INT(st.ch[CHAN_REMOTE].loads, loads + 2);
            CHECK(strstr(logged(), end) != NULL);
        }
        /* before the window ends: nothing goes, nothing is read */
        loads = st.ch[CHAN_REMOTE].loads;
        elapse(50); /* ten seconds of slack for a slow machine */
        turn(CHAN_REMOTE);
        CHECK_INT(requests(CHAN_REMOTE, r, 16), 0);
        CHECK_INT(st.ch[CHAN_REMOTE].loads, loads);
        /* it ends: the window's two go, and only they were read */
        elapse(10);
        turn(CHAN_REMOTE);
        turn(CHAN_REMOTE);
        n = requests(CHAN_REMOTE, r, 16);
        if (!CHECK_INT(n, want) ||
            !CHECK_INT(st.ch[CHAN_REMOTE].loads, loads + want))
            break;
        /* the window is full with some still parked: held, logged */
        if (st.rate.parked)
            holds++;
        for (size_t i = 0; i < n; i++)
            CHECK_INT(answer(CHAN_REMOTE, r[i].slot, "r", "250 ok", 'K'), 0);
        synced();
        started += n;
    }
    CHECK_INT(started, 39);
    CHECK_INT(count_in(logged(), "ratelimit: holding back"), holds);
    for (uint64_t id = 1801; id <= 1840 && started == 39; id++) {
        char e[32];

        snprintf(e, sizeof e, "end msg %llu\n", (unsigned long long)id);
        CHECK(strstr(logged(), e) != NULL);
    }
    CHECK_INT(count_in(logged(), "starting delivery"), 39);
    CHECK(strstr(logged(), "deferral") == NULL);
    CHECK(strstr(logged(), "bounce") == NULL);
    CHECK_INT(st.ch[CHAN_REMOTE].active, 0);
    teardown();
}

/* new rules (a reload): the parked are looked at again at once, and
 * only those the new rules let go are read again */
static void
t_rate_reload(void)
{
    struct req r[4];

    setup("rate-reload", 2, 8, 20);
    CHECK(rules(&st.cf.rates, RECS("one.test:1:3600")) == 0);
    message(1701, "s@x.test", CHAN_REMOTE, RECS("Ta@one.test"));
    message(1702, "s@x.test", CHAN_REMOTE, RECS("Tb@one.test"));
    message(1703, "s@x.test", CHAN_REMOTE, RECS("Tc@one.test"));
    turn(CHAN_REMOTE);
    CHECK_INT(requests(CHAN_REMOTE, r, 4), 1);
    CHECK_INT(st.rate.parked, 2);
    CHECK_INT(st.ch[CHAN_REMOTE].loads, 3);
    /* the same limit: still parked, not read again */
    dispatch_unpark(&st);
    turn(CHAN_REMOTE);
    CHECK_INT(requests(CHAN_REMOTE, r + 1, 3), 0);
    CHECK_INT(st.ch[CHAN_REMOTE].active, 1);
    CHECK_INT(st.rate.parked, 2);
    CHECK_INT(st.ch[CHAN_REMOTE].loads, 3);
    /* a higher limit: the running window admits one more, at once */
    sendrate_rules_free(&st.cf.rates);
    CHECK(rules(&st.cf.rates, RECS("one.test:2:3600")) == 0);
    dispatch_unpark(&st);
    turn(CHAN_REMOTE);
    CHECK_INT(requests(CHAN_REMOTE, r + 1, 3), 1);
    CHECK_INT(st.rate.parked, 1);
    CHECK_INT(st.ch[CHAN_REMOTE].loads, 4);
    /* the limit lifted: the last goes too */
    sendrate_rules_free(&st.cf.rates);
    CHECK(rules(&st.cf.rates, RECS("one.test:0:3600")) == 0);
    dispatch_unpark(&st);
    turn(CHAN_REMOTE);
    CHECK_INT(st.rate.parked, 0);
    CHECK_INT(requests(CHAN_REMOTE, r + 2, 2), 1);
    CHECK_INT(st.ch[CHAN_REMOTE].loads, 5);
    CHECK(r[1].id != r[2].id && r[1].id != r[0].id && r[2].id != r[0].id);
    teardown();
}

static const struct test_case cases[] = {
    {"local: one delivery per recipient, within concurrency",
     t_local_one_per_rcpt_within_concurrency},
    {"remote: one delivery per domain, perdomain honoured",
     t_remote_per_domain},
    {"success: done mark synced before the recipient is done",
     t_success_marks_before_done},
    {"deferral: recipient kept, next attempt in mtime", t_deferral_keeps_rcpt},
    {"failure: bounce/N, then the done mark, then end msg", t_failure_bounces},
    {"mangled report deferred; idle slot ignored", t_mangled_and_idle},
    {"crashed spawner (EOF) leaves its deliveries to retry",
     t_crashed_spawner_is_temporary},
    {"garbage and over-long report bytes refused", t_garbage_refused},
    {"hostile addresses and texts logged safely",
     t_hostile_texts_logged_safely},
    {"exiting: no delivery starts", t_exiting_starts_nothing},
    {"todo/ to delivery: synced, cleaned, then due", t_todo_to_delivery},
    {"todo/ trouble: not an envelope, no mess/, clean failure", t_todo_trouble},
    {"expire, remove and queuelifetime end a message",
     t_expire_remove_lifetime},
    {"random reports keep slots, jobs and concurrency in step",
     t_random_reports_keep_the_books},
    {"reload, requeue all and remove through the request wiring",
     t_reload_and_requests},
    {"ratelimitremote: rules, precedence, bad lines", t_rate_rules},
    {"ratelimitremote: the window, time passed in", t_rate_window},
    {"ratelimitremote: k per window start, the rest wait in the queue",
     t_rate_dispatch},
    {"ratelimitremote: a held domain beside another in one job",
     t_rate_mixed_job},
    {"rate_two_held_domains", t_rate_two_held_domains},
    {"ratelimitremote: a reload looks at the parked again", t_rate_reload},
    {"ratelimitremote: parked mail goes at the limit's pace, read then",
     t_rate_parked_pace},
    {"ratelimitremote: parking and letting go, time passed in", t_rate_park},
};

TEST_MAIN(cases)
