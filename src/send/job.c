/* SPDX-License-Identifier: ISC */
/*
 * job - a message's recipients on one channel, loaded from local/S/N or
 * remote/S/N when the message comes due.  Each record is "T<addr>\0"
 * (to do) or "D<addr>\0" (done, for good: delivered or bounced); marking
 * a recipient done overwrites its T with D in place and fsyncs, so a
 * crash never repeats a finished recipient (qmail's done marks).  The
 * file's mtime is the channel's next attempt, as in qmail-1.03: qmail-send
 * sets it after each deferral and schedules from it at start (a file just
 * written, or marked, has the present as its mtime: due now).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grow.h"
#include "qpath.h"
#include "send.h"

static const char *const chandir[NCHAN] = {"local", "remote"};

/*
 * job_load - read the channel file of message id into j.  Returns 1 with
 * at least the recipients not yet done in j (nr may be 0), 0 when the
 * file does not exist, -1 on error.
 */
int
job_load(struct job *j, uint64_t id, int chan, int64_t birth)
{
    char fn[QPATH_MAX];
    struct bstr raw = BSTR_INIT;
    size_t i = 0, cap = 0;
    int fd, born;

    memset(j, 0, sizeof *j);
    j->id = id;
    j->chan = chan;
    j->birth = birth;
    qpath_fmt(fn, chandir[chan], id);
    fd = open(fn, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    for (;;) {
        ssize_t r;

        if (bstr_readyplus(&raw, 65536) == -1)
            goto fail;
        r = read(fd, raw.s + raw.len, 65536);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            goto fail;
        if (r == 0)
            break;
        raw.len += (size_t)r;
    }
    close(fd);
    fd = -1;
    if (bstr_catc(&j->strings, '\0') == -1) /* offset 0 means "no text" */
        goto fail;
    while (i < raw.len) {
        const char *p = raw.s + i;
        const char *nul = memchr(p, '\0', raw.len - i);
        size_t n;

        if (!nul)
            break; /* a torn last record: written but never committed */
        n = (size_t)(nul - p);
        if (n > 1 && p[0] == 'T') {
            if (grow(&j->r, &cap, j->nr + 1, sizeof *j->r, 8) == -1)
                goto fail;
            j->r[j->nr].off = (off_t)i;
            j->r[j->nr].addr = (uint32_t)j->strings.len;
            j->r[j->nr].state = 'T';
            j->r[j->nr].text = 0;
            if (bstr_catb(&j->strings, p + 1, n - 1) == -1 ||
                bstr_catc(&j->strings, '\0') == -1)
                goto fail;
            j->nr++;
        }
        i += n + 1;
    }
    bstr_free(&raw);
    born = info_read(id, &j->sender, &j->birth);
    if (born <= 0) {
        if (born == 0)
            errno = ENOENT;
        job_free(j);
        return -1;
    }
    return 1;
fail:
    if (fd != -1)
        close(fd);
    bstr_free(&raw);
    job_free(j);
    return -1;
}

void
job_free(struct job *j)
{
    free(j->r);
    j->r = NULL;
    bstr_free(&j->strings);
    bstr_free(&j->sender);
    j->nr = 0;
}

/*
 * job_mark_write - write the "D" of recipients idx[0..n) without waiting
 * for the disk: the open descriptor, for the caller to fsync (and close)
 * once for all of them, or -1.
 */
int
job_mark_write(struct job *j, const size_t *idx, size_t n)
{
    char fn[QPATH_MAX];
    int fd;

    qpath_fmt(fn, chandir[j->chan], j->id);
    fd = open(fn, O_WRONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    for (size_t k = 0; k < n; k++)
        if (pwrite(fd, "D", 1, j->r[idx[k]].off) != 1) {
            close(fd);
            return -1;
        }
    return fd;
}

/* job_mark_done - make recipient i's record "D" on disk: 0 or -1. */
int
job_mark_done(struct job *j, size_t i)
{
    char fn[QPATH_MAX];
    int fd, r = -1;

    qpath_fmt(fn, chandir[j->chan], j->id);
    fd = open(fn, O_WRONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    if (pwrite(fd, "D", 1, j->r[i].off) == 1 && fsync(fd) == 0)
        r = 0;
    if (close(fd) == -1)
        r = -1;
    if (r == 0)
        j->r[i].state = 'D';
    return r;
}

/*
 * job_remaining - recipients still to do in a channel file: the count,
 * 0 when none (or no file), -1 on error.
 */
int
job_remaining(uint64_t id, int chan)
{
    struct job j;
    int r = job_load(&j, id, chan, 0);
    int n;

    if (r <= 0)
        return r;
    n = (int)j.nr;
    job_free(&j);
    return n;
}

/*
 * job_due - the next attempt of message id on channel chan, from its
 * channel file's mtime: 1 with *when set, 0 when there is no such file,
 * -1 on error.
 */
int
job_due(uint64_t id, int chan, time_t *when)
{
    char fn[QPATH_MAX];
    struct stat st;

    qpath_fmt(fn, chandir[chan], id);
    if (stat(fn, &st) == -1)
        return errno == ENOENT ? 0 : -1;
    *when = st.st_mtime;
    return 1;
}

/*
 * job_set_due - record when to try message id on channel chan next: the
 * channel file's atime and mtime both become when, as qmail-1.03's
 * qmail-send leaves them, so a restart (of qmail-ng or of qmail-1.03)
 * keeps the schedule.  0, or -1 with errno (ENOENT: the file is gone).
 */
int
job_set_due(uint64_t id, int chan, time_t when)
{
    char fn[QPATH_MAX];
    struct timespec t[2];

    qpath_fmt(fn, chandir[chan], id);
    t[0].tv_sec = t[1].tv_sec = when;
    t[0].tv_nsec = t[1].tv_nsec = 0;
    return utimensat(AT_FDCWD, fn, t, 0);
}
