/* SPDX-License-Identifier: ISC */
/*
 * enqueue - the queue writer behind qmail-queue (see enqueue.h).
 *
 * Works relative to the cwd, which the caller has made $QMAIL_HOME/queue.
 * Durability: the message and envelope are fsynced before intd/N is
 * linked into todo/, and todo/ itself is fsynced before success is
 * reported; on a journaled filesystem that last commit also carries the
 * mess/ and intd/ directory entries made before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bstr.h"
#include "enqueue.h"
#include "outcome.h"
#include "qenv.h"
#include "writeall.h"

void
enqueue_init(struct enqueue *e, uid_t uid, pid_t pid, time_t now)
{
    memset(e, 0, sizeof *e);
    e->messfd = e->intdfd = -1;
    e->uid = uid;
    e->pid = pid;
    e->start = now;
}

/*
 * enqueue_fail - remember what failed as one line of text, "unable to
 * ..." followed by strerror(err) when err is not 0, and return code.
 * The first failure of a message is kept: what follows from it (the
 * cleanup, a close) is not what the admin needs to read.
 */
int
enqueue_fail(struct enqueue *e, int code, int err, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (e->why[0])
        return code;
    va_start(ap, fmt);
    n = vsnprintf(e->why, sizeof e->why, fmt, ap);
    va_end(ap);
    if (n < 0) {
        snprintf(e->why, sizeof e->why, "exit code %d", code);
        n = (int)strlen(e->why);
    }
    /* a cut text still says what failed; the errno text is appended
     * only where it fits whole */
    if (err && (size_t)n < sizeof e->why)
        snprintf(e->why + n, sizeof e->why - (size_t)n, ": %s",
                 strerror(err));
    return code;
}

/*
 * enqueue_report - write e->why to stderr as "qmail-queue: TEXT", if a
 * failure was recorded.  qmail-queue's callers log it (qmail-smtpd puts
 * it into its reject line); qmail-1.03's qmail-queue said nothing, and
 * its exit codes, unchanged, still carry the verdict.
 */
void
enqueue_report(const struct enqueue *e)
{
    char line[ENQUEUE_WHY_MAX + 16];
    int n;

    if (!e->why[0])
        return;
    n = snprintf(line, sizeof line, "qmail-queue: %s\n", e->why);
    if (n > 0 && write_all(2, line, (size_t)n < sizeof line ? (size_t)n
                                                             : sizeof line - 1) == -1) {
        /* nobody to tell */
    }
}

/*
 * enqueue_begin - pick the message number: the inode of a fresh file in
 * pid/, which then becomes mess/S/N.
 */
int
enqueue_begin(struct enqueue *e)
{
    struct stat st;
    int fd = -1;

    for (unsigned tries = 0; tries < 5; tries++) {
        snprintf(e->pidfn, sizeof e->pidfn, "pid/%ld.%lld.%u", (long)e->pid,
                 (long long)e->start, tries);
        fd = open(e->pidfn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd != -1 || errno != EEXIST)
            break;
    }
    if (fd == -1)
        return enqueue_fail(e, QQ_PID, errno, "unable to create %s",
                            e->pidfn);
    e->made_pid = 1;
    if (fstat(fd, &st) == -1) {
        enqueue_fail(e, QQ_PID, errno, "unable to stat %s", e->pidfn);
        close(fd);
        return QQ_PID;
    }
    e->id = (unsigned long long)st.st_ino;
    qpath_fmt(e->messfn, "mess", e->id);
    qpath_fmt(e->intdfn, "intd", e->id);
    qpath_fmt(e->todofn, "todo", e->id);
    if (link(e->pidfn, e->messfn) == -1) {
        enqueue_fail(e, QQ_MESS, errno, "unable to link %s to %s", e->pidfn,
                     e->messfn);
        close(fd);
        return QQ_MESS;
    }
    e->made_mess = 1;
    if (unlink(e->pidfn) == -1) {
        enqueue_fail(e, QQ_PID, errno, "unable to remove %s", e->pidfn);
        close(fd);
        return QQ_PID;
    }
    e->made_pid = 0;
    e->messfd = fd;
    return 0;
}

/* enqueue_write - append message bytes to mess/S/N. */
int
enqueue_write(struct enqueue *e, const void *p, size_t n)
{
    if (write_all(e->messfd, p, n) == -1)
        return enqueue_fail(e, QQ_WRITE, errno, "unable to write %s",
                            e->messfn);
    e->bytes += n;
    return 0;
}

/*
 * enqueue_message - write the Received line, then copy fd in to end of
 * file.  Nothing is fsynced yet: enqueue_commit does it.
 */
int
enqueue_message(struct enqueue *e, int in, const char *received)
{
    char buf[65536];
    int code;

    if ((code = enqueue_write(e, received, strlen(received))) != 0)
        return code;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);

        if (r == -1) {
            if (errno == EINTR)
                continue;
            return enqueue_fail(e, QQ_READ, errno,
                                "unable to read the message");
        }
        if (r == 0)
            break;
        if ((code = enqueue_write(e, buf, (size_t)r)) != 0)
            return code;
    }
    return 0;
}

/* envelope_bad - the code and text for a qenv event that ends parsing. */
static int
envelope_bad(struct enqueue *e, int ev)
{
    switch (ev) {
    case QENV_MORE:
        return enqueue_fail(e, QQ_READ, 0,
                            "the envelope ended before its last record");
    case QENV_TOOLONG:
        return enqueue_fail(e, QQ_ADDR_TOO_LONG, 0,
                            "an envelope address is longer than %d bytes",
                            ENQUEUE_ADDR_MAX);
    case QENV_NOMEM:
        return enqueue_fail(e, QQ_NOMEM, 0, "out of memory");
    default:
        return enqueue_fail(e, QQ_ENVELOPE, 0, "envelope format error");
    }
}

/*
 * enqueue_envelope_buf - check a whole envelope "Fs\0Tr\0...\0" and
 * write intd/N as "u<uid>\0p<pid>\0" followed by its F and T records.
 * Bytes after the final NUL are a format error.
 */
int
enqueue_envelope_buf(struct enqueue *e, const char *env, size_t len)
{
    struct bstr out = BSTR_INIT;
    struct qenv p;
    size_t off = 0;
    int code = 0;
    bool done = false;

    qenv_init(&p, ENQUEUE_ADDR_MAX);
    if (bstr_catf(&out, "u%lu", (unsigned long)e->uid) == -1 ||
        bstr_catc(&out, '\0') == -1 ||
        bstr_catf(&out, "p%ld", (long)e->pid) == -1 ||
        bstr_catc(&out, '\0') == -1 || bstr_readyplus(&out, len) == -1) {
        code = enqueue_fail(e, QQ_NOMEM, 0, "out of memory");
        goto out;
    }
    while (!done) {
        size_t used;
        int ev = qenv_push(&p, env + off, len - off, &used);

        off += used;
        switch (ev) {
        case QENV_SENDER:
        case QENV_RCPT:
            if (bstr_catc(&out, ev == QENV_SENDER ? 'F' : 'T') == -1 ||
                bstr_catb(&out, p.item.s, p.item.len) == -1 ||
                bstr_catc(&out, '\0') == -1) {
                code = envelope_bad(e, QENV_NOMEM);
                goto out;
            }
            if (ev == QENV_RCPT)
                e->rcpts++;
            if (ev == QENV_SENDER && e->extra &&
                (bstr_catc(&out, 'T') == -1 || bstr_cats(&out, e->extra) == -1 ||
                 bstr_catc(&out, '\0') == -1)) {
                code = envelope_bad(e, QENV_NOMEM);
                goto out;
            }
            break;
        case QENV_END:
            done = true;
            break;
        default: /* QENV_MORE: it ended before its last record */
            code = envelope_bad(e, ev);
            goto out;
        }
    }
    if (off != len) {
        code = enqueue_fail(e, QQ_ENVELOPE, 0,
                            "envelope format error: bytes after its end");
        goto out;
    }
    e->intdfd = open(e->intdfn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (e->intdfd == -1) {
        code = enqueue_fail(e, QQ_INTD, errno, "unable to create %s",
                            e->intdfn);
        goto out;
    }
    e->made_intd = 1;
    if (write_all(e->intdfd, out.s, out.len) == -1)
        code = enqueue_fail(e, QQ_WRITE, errno, "unable to write %s",
                            e->intdfn);
out:
    qenv_free(&p);
    bstr_free(&out);
    return code;
}

/*
 * enqueue_envelope - read the envelope from fd in (up to its final NUL,
 * as qmail-queue reads it: anything after it is not read) and write it.
 * An envelope that is empty, not one byte before end of file, is the
 * caller abandoning the message (qq_abort): QQ_READ, with no text, since
 * nothing failed here.
 */
int
enqueue_envelope(struct enqueue *e, int in)
{
    struct bstr env = BSTR_INIT;
    struct qenv p;
    char buf[8192];
    int code = 0;

    /* The parser finds the end; the bytes are kept for the writer. */
    qenv_init(&p, ENQUEUE_ADDR_MAX);
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        size_t off = 0, used;
        int ev = QENV_MORE;

        if (r == -1) {
            if (errno == EINTR)
                continue;
            code = enqueue_fail(e, QQ_READ, errno,
                                "unable to read the envelope");
            break;
        }
        if (r == 0) {
            code = env.len ? envelope_bad(e, QENV_MORE) : QQ_READ;
            break;
        }
        while (off < (size_t)r) {
            ev = qenv_push(&p, buf + off, (size_t)r - off, &used);
            off += used;
            if (ev != QENV_SENDER && ev != QENV_RCPT)
                break;
        }
        if (bstr_catb(&env, buf, off) == -1) {
            code = envelope_bad(e, QENV_NOMEM);
            break;
        }
        if (ev == QENV_END) {
            code = enqueue_envelope_buf(e, env.s, env.len);
            break;
        }
        if (ev != QENV_MORE && ev != QENV_SENDER && ev != QENV_RCPT) {
            code = envelope_bad(e, ev);
            break;
        }
    }
    qenv_free(&p);
    bstr_free(&env);
    return code;
}

/*
 * enqueue_commit - make the message durable, then visible.  After the
 * link into todo/ the message is queued: nothing is removed any more,
 * even if the final fsync fails (then the caller reports a temporary
 * failure and the worst case is a duplicate, never a loss).
 */
int
enqueue_commit(struct enqueue *e)
{
    sigset_t all, old;
    int fd, r;

    /* Start the envelope's writeback so that one journal commit can
     * carry both files. */
    sync_file_range(e->intdfd, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (fsync(e->messfd) == -1)
        return enqueue_fail(e, QQ_WRITE, errno, "unable to fsync %s",
                            e->messfn);
    if (fsync(e->intdfd) == -1)
        return enqueue_fail(e, QQ_WRITE, errno, "unable to fsync %s",
                            e->intdfn);
    r = close(e->messfd);
    e->messfd = -1;
    if (r == -1)
        return enqueue_fail(e, QQ_WRITE, errno, "unable to close %s",
                            e->messfn);
    r = close(e->intdfd);
    e->intdfd = -1;
    if (r == -1)
        return enqueue_fail(e, QQ_WRITE, errno, "unable to close %s",
                            e->intdfn);

    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    r = link(e->intdfn, e->todofn);
    if (r == 0)
        e->committed = 1;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (r == -1)
        return enqueue_fail(e, QQ_TODO, errno, "unable to link %s to %s",
                            e->intdfn, e->todofn);

    fd = open("todo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1)
        return enqueue_fail(e, QQ_TODO, errno, "unable to open todo/");
    r = fsync(fd);
    if (r == -1)
        enqueue_fail(e, QQ_TODO, errno, "unable to fsync todo/");
    close(fd);
    if (r == -1)
        return QQ_TODO;

    /* Wake qmail-send; no reader (qmail-send not running) is fine. */
    fd = open("lock/trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd != -1) {
        if (write(fd, "", 1) == -1) {
            /* a full pipe already holds a wake-up */
        }
        close(fd);
    }
    return 0;
}

/* enqueue_close - close the files of a message (after commit or cleanup). */
void
enqueue_close(struct enqueue *e)
{
    if (e->messfd != -1)
        close(e->messfd);
    if (e->intdfd != -1)
        close(e->intdfd);
    e->messfd = e->intdfd = -1;
}

/*
 * enqueue_cleanup - remove what an unfinished enqueue made.  Safe in a
 * signal handler: only unlink(2).
 */
void
enqueue_cleanup(struct enqueue *e)
{
    if (e->committed)
        return;
    if (e->made_intd)
        unlink(e->intdfn);
    if (e->made_mess)
        unlink(e->messfn);
    if (e->made_pid)
        unlink(e->pidfn);
    e->made_intd = e->made_mess = e->made_pid = 0;
}
