/* SPDX-License-Identifier: ISC */
/*
 * mbox - ">From " quoting and locked, all-or-nothing appends (see mbox.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "mbox.h"
#include "result.h"
#include "writeall.h"

#define MBOX_BUF 65536

enum { Q_START, Q_FROM, Q_BODY };

static const char from_[] = "From ";

/* mbox_needs_quote - does this line (from its start) match ">*From "? */
bool
mbox_needs_quote(const char *line, size_t len)
{
    size_t i = 0;

    while (i < len && line[i] == '>')
        i++;
    return len - i >= 5 && memcmp(line + i, from_, 5) == 0;
}

/* mbox_quote_init - a quoter at the start of a message. */
void
mbox_quote_init(struct mbox_quoter *q)
{
    q->state = Q_START;
    q->gt = 0;
    q->fromlen = 0;
    q->any = false;
    q->nl = false;
}

static int
put(struct mbox_quoter *q, struct bstr *out, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    q->any = true;
    q->nl = p[n - 1] == '\n';
    return bstr_catb(out, p, n);
}

/* flush - write out the '>'s and the part of "From " held back. */
static int
flush(struct mbox_quoter *q, struct bstr *out, bool quote)
{
    if (quote && put(q, out, ">", 1) == -1)
        return -1;
    for (; q->gt; q->gt--)
        if (put(q, out, ">", 1) == -1)
            return -1;
    if (put(q, out, from_, q->fromlen) == -1)
        return -1;
    q->fromlen = 0;
    return 0;
}

/*
 * mbox_quote_push - quote len bytes of message into out.  The start of a
 * line is held back only as long as it could still become ">*From ", so
 * memory stays constant whatever the line length.  Returns 0 or -1.
 */
int
mbox_quote_push(struct mbox_quoter *q, const char *in, size_t len,
                struct bstr *out)
{
    size_t i = 0;

    while (i < len) {
        char c = in[i];

        switch (q->state) {
        case Q_START:
            if (c == '>') {
                q->gt++;
                i++;
                break;
            }
            if (c == 'F') {
                q->state = Q_FROM;
                q->fromlen = 1;
                i++;
                break;
            }
            if (flush(q, out, false) == -1)
                return -1;
            q->state = Q_BODY;
            break; /* c is handled as part of the line */
        case Q_FROM:
            if (c == from_[q->fromlen]) {
                i++;
                if (++q->fromlen == 5) {
                    if (flush(q, out, true) == -1)
                        return -1;
                    q->state = Q_BODY;
                }
                break;
            }
            if (flush(q, out, false) == -1)
                return -1;
            q->state = Q_BODY;
            break;
        default: {
            /* copy up to and including the next newline in one go */
            const char *nl = memchr(in + i, '\n', len - i);
            size_t n = nl ? (size_t)(nl - (in + i)) + 1 : len - i;

            if (put(q, out, in + i, n) == -1)
                return -1;
            i += n;
            if (nl)
                q->state = Q_START;
            break;
        }
        }
    }
    return 0;
}

/*
 * mbox_quote_end - finish the message: what was held back, a newline if
 * the last line had none, and the blank line that ends an mbox message.
 */
int
mbox_quote_end(struct mbox_quoter *q, struct bstr *out)
{
    if (flush(q, out, false) == -1)
        return -1;
    if (q->any && !q->nl && bstr_catc(out, '\n') == -1)
        return -1;
    q->state = Q_START;
    return bstr_catc(out, '\n');
}

/*
 * mbox_ufline - the "From " line: the sender with blanks made '-' (or
 * MAILER-DAEMON for a bounce) and the time in asctime's form, UTC.
 */
int
mbox_ufline(struct bstr *out, const char *sender, time_t t)
{
    struct tm tm;
    char date[64];

    bstr_truncate(out, 0);
    if (bstr_cats(out, "From ") == -1)
        return -1;
    if (!*sender) {
        if (bstr_cats(out, "MAILER-DAEMON") == -1)
            return -1;
    } else {
        for (const char *s = sender; *s; s++) {
            char c = *s == ' ' || *s == '\t' || *s == '\n' ? '-' : *s;

            if (bstr_catc(out, c) == -1)
                return -1;
        }
    }
    if (!gmtime_r(&t, &tm) ||
        strftime(date, sizeof date, " %a %b %e %H:%M:%S %Y\n", &tm) == 0) {
        errno = EINVAL;
        return -1;
    }
    return bstr_cats(out, date);
}

/* copy - head and the quoted message into fd; *rd set if reading failed. */
static int
copy(int fd, const struct iovec *head, int nhead, int msgfd, bool *rd)
{
    struct mbox_quoter q;
    struct bstr out = BSTR_INIT;
    char *buf = malloc(MBOX_BUF);
    int e;

    *rd = false;
    if (!buf)
        return -1;
    for (int i = 0; i < nhead; i++)
        if (bstr_catb(&out, head[i].iov_base, head[i].iov_len) == -1)
            goto fail;
    mbox_quote_init(&q);
    for (;;) {
        ssize_t r = read(msgfd, buf, MBOX_BUF);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            *rd = true;
            goto fail;
        }
        if (r == 0)
            break;
        if (mbox_quote_push(&q, buf, (size_t)r, &out) == -1)
            goto fail;
        if (out.len >= MBOX_BUF) {
            if (write_all(fd, out.s, out.len) == -1)
                goto fail;
            bstr_truncate(&out, 0);
        }
    }
    if (mbox_quote_end(&q, &out) == -1 || write_all(fd, out.s, out.len) ==
                                              -1)
        goto fail;
    free(buf);
    bstr_free(&out);
    return 0;
fail:
    e = errno;
    free(buf);
    bstr_free(&out);
    errno = e;
    return -1;
}

/*
 * mbox_append - append head and the rest of msgfd to the mbox at path.
 * Returns 0, or -1 with err holding qmail-local's words for the failure
 * (always temporary).
 */
int
mbox_append(const char *path, const struct iovec *head, int nhead,
            int msgfd, struct bstr *err)
{
    struct bstr dot = BSTR_INIT;
    char secs[FMT_ULONG];
    struct stat st;
    bool locked, rd, regular;
    off_t pos;
    int fd, r, e;

    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
              0600);
    if (fd == -1) {
        (void)result_set(err, RS_MBOX_OPEN,
                         RESULT_ARGS(path, strerror(errno)));
        return -1;
    }
    if (fstat(fd, &st) == -1) {
        (void)result_set(err, RS_MBOX_OPEN,
                         RESULT_ARGS(path, strerror(errno)));
        close(fd);
        return -1;
    }
    /* /dev/null and friends: nothing to lock, truncate or sync */
    regular = S_ISREG(st.st_mode);
    r = regular ? lock_dot(path, MBOX_LOCK_SECONDS, &dot) : 0;
    if (r == -1) {
        e = errno;
        close(fd);
        if (e == ETIMEDOUT)
            (void)result_set(err, RS_MBOX_DOTLOCK,
                             RESULT_ARGS(path, result_num(secs,
                                                          MBOX_LOCK_SECONDS)));
        else
            (void)result_set(err, RS_MBOX_LOCK,
                             RESULT_ARGS(path, strerror(e)));
        return -1;
    }
    locked = regular && lock_ex_wait(fd, MBOX_LOCK_SECONDS) == 0;
    if (regular && !locked && errno == ETIMEDOUT) {
        close(fd);
        lock_dot_release(&dot);
        bstr_free(&dot);
        (void)result_set(err, RS_MBOX_LOCKED, RESULT_NOARGS);
        return -1;
    }
    /* flock may be unsupported (some network filesystems): go on
     * unlocked, as qmail does, but then never truncate */
    rd = false;
    pos = regular ? lseek(fd, 0, SEEK_END) : 0;
    if (pos == -1 || copy(fd, head, nhead, msgfd, &rd) == -1 ||
        (fsync(fd) == -1 && (regular || errno != EINVAL))) {
        e = errno;
        if (locked && pos != -1 && ftruncate(fd, pos) == -1) {
            /* nothing more can be done; the error below is reported */
        }
        close(fd);
        lock_dot_release(&dot);
        bstr_free(&dot);
        if (rd)
            (void)result_set(err, RS_READ_MSG, RESULT_ARGS(strerror(e)));
        else
            (void)result_set(err, RS_MBOX_WRITE,
                             RESULT_ARGS(path, strerror(e)));
        return -1;
    }
    if (close(fd) == -1) {
        e = errno;
        lock_dot_release(&dot);
        bstr_free(&dot);
        (void)result_set(err, RS_MBOX_WRITE, RESULT_ARGS(path, strerror(e)));
        return -1;
    }
    lock_dot_release(&dot);
    bstr_free(&dot);
    return 0;
}
