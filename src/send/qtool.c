/* SPDX-License-Identifier: ISC */
/*
 * qtool - shared code of qmail-qread and the queue tools (see qtool.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "priv.h"
#include "qpath.h"
#include "readfile.h"
#include "qtool.h"
#include "vis.h"

/* qtool_enter - chdir to the queue: 0 or -1. */
int
qtool_enter(void)
{
    if (chdir(priv_home()) == -1 || chdir("queue") == -1)
        return -1;
    return 0;
}

/*
 * qtool_request - one line to qmail-send.  Returns 0, or -1 with errno
 * ENXIO when qmail-send is not running.
 */
int
qtool_request(const char *line)
{
    int fd = open("lock/sendctl", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    size_t n = strlen(line);
    struct bstr b = BSTR_INIT;
    ssize_t w;

    if (fd == -1)
        return -1;
    if (bstr_cats(&b, line) == -1 || bstr_catc(&b, '\n') == -1) {
        close(fd);
        return -1;
    }
    /* one write of a short line to a fifo is atomic (PIPE_BUF) */
    w = write(fd, b.s, n + 1);
    close(fd);
    bstr_free(&b);
    return w == (ssize_t)(n + 1) ? 0 : -1;
}

/*
 * qtool_queued - whether message id is in the queue: its todo/N (not yet
 * preprocessed) or its info/S/N is there; one of them is, from the commit
 * until the message is finished.  Returns 1 yes, 0 no, -1 cannot tell
 * (errno: EACCES for a caller who may not look into info/).
 */
int
qtool_queued(uint64_t id)
{
    static const char *const where[] = {"todo", "info"};
    char fn[QPATH_MAX];
    struct stat st;

    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        qpath_fmt(fn, where[i], id);
        if (stat(fn, &st) == 0)
            return 1;
        if (errno != ENOENT)
            return -1;
    }
    return 0;
}

/*
 * show_records - a channel file's recipients as qmail-1.03's qmail-qread
 * prints them: "\tremote\taddr" to do, "  done\tremote\taddr" finished.
 * For a todo/ envelope (chan "todo") only its T records.
 */
static int
show_records(struct bstr *o, const struct bstr *b, const char *chan)
{
    size_t i = 0;

    while (i < b->len) {
        const char *p = b->s + i;
        const char *nul = memchr(p, '\0', b->len - i);
        size_t n = nul ? (size_t)(nul - p) : b->len - i;

        i += n + 1;
        if (n < 1 || (p[0] != 'T' && p[0] != 'D'))
            continue;
        if ((p[0] == 'D' && bstr_cats(o, "  done") == -1) ||
            bstr_catf(o, "\t%s\t", chan) == -1 ||
            vis_cat(o, p + 1, n - 1) == -1 || bstr_catc(o, '\n') == -1)
            return -1;
    }
    return 0;
}

static const char *
find_rec(const struct bstr *b, char type, size_t *len)
{
    size_t i = 0;

    while (i < b->len) {
        const char *p = b->s + i;
        const char *nul = memchr(p, '\0', b->len - i);
        size_t n = nul ? (size_t)(nul - p) : b->len - i;

        if (n && p[0] == type) {
            *len = n - 1;
            return p + 1;
        }
        i += n + 1;
    }
    return NULL;
}

/*
 * qtool_show - qmail-qread's lines for one message, byte for byte as
 * qmail-1.03 writes them (the header ends in "> ", then " bouncing" when
 * a bounce is pending):
 *   "23 Nov 2026 16:09:43 GMT  #123  87  <sender>  bouncing"
 *   "  done\tlocal\tuser@host" / "\tremote\tuser@host"
 * Addresses are shown through vis_cat: a control byte in an envelope
 * cannot reach the admin's terminal.  todo: the message is not
 * preprocessed yet (its envelope is in todo/): "  not yet preprocessed"
 * in place of " bouncing", recipients as "\ttodo\taddr".
 * Returns 1 shown, 0 gone meanwhile, -1 error.
 */
int
qtool_show(FILE *out, uint64_t id, bool todo)
{
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char fn[QPATH_MAX];
    struct bstr info = BSTR_INIT, recs = BSTR_INIT, o = BSTR_INIT;
    struct stat st, ms;
    struct tm tm;
    const char *sender;
    size_t slen = 0;
    int r, rc = -1;

    qpath_fmt(fn, todo ? "todo" : "info", id);
    if (stat(fn, &st) == -1 || (r = readfile_path(fn, &info, 0)) <= 0) {
        bstr_free(&info);
        return errno == ENOENT ? 0 : -1;
    }
    sender = find_rec(&info, 'F', &slen);
    qpath_fmt(fn, "mess", id);
    if (stat(fn, &ms) == -1) {
        bstr_free(&info); /* info/ without mess/: the admin hears of it */
        return -1;
    }
    gmtime_r(&st.st_mtime, &tm);
    if (bstr_catf(&o, "%d %s %d %02d:%02d:%02d GMT  #%llu  %lld  <",
                  tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, (unsigned long long)id,
                  (long long)ms.st_size) == -1 ||
        vis_cat(&o, sender ? sender : "", slen) == -1 ||
        bstr_cats(&o, "> ") == -1)
        goto out;
    qpath_fmt(fn, "bounce", id);
    if (!todo && access(fn, F_OK) == 0 && bstr_cats(&o, " bouncing") == -1)
        goto out;
    if (todo && bstr_cats(&o, " not yet preprocessed") == -1)
        goto out;
    if (bstr_catc(&o, '\n') == -1)
        goto out;
    if (todo) {
        if (show_records(&o, &info, "todo") == -1)
            goto out;
    } else {
        for (int c = 0; c < 2; c++) {
            const char *chan = c ? "remote" : "local";

            qpath_fmt(fn, chan, id);
            if (readfile_path(fn, &recs, 0) == 1 &&
                show_records(&o, &recs, chan) == -1)
                goto out;
        }
    }
    if (fwrite(o.s, 1, o.len, out) != o.len)
        goto out;
    rc = 1;
out:
    bstr_free(&info);
    bstr_free(&recs);
    bstr_free(&o);
    return rc;
}

/*
 * qtool_remove_files - take a message out of a queue that no qmail-send
 * is running on: channel files and bounce first, then info (after which
 * it is no longer a message), then todo/intd/mess.  0 or -1.
 */
int
qtool_remove_files(uint64_t id)
{
    static const char *const order[] = {"local", "remote", "bounce", "info",
                                        "todo",  "intd",   "mess"};
    char fn[QPATH_MAX];

    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        qpath_fmt(fn, order[i], id);
        if (unlink(fn) == -1 && errno != ENOENT)
            return -1;
    }
    return 0;
}
