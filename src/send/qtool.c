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

static void
show_records(FILE *out, const struct bstr *b, const char *chan)
{
    size_t i = 0;

    while (i < b->len) {
        const char *p = b->s + i;
        const char *nul = memchr(p, '\0', b->len - i);
        size_t n = nul ? (size_t)(nul - p) : b->len - i;

        i += n + 1;
        if (n < 2)
            continue;
        if (p[0] == 'T')
            fprintf(out, "\t%s\t%.*s\n", chan, (int)n - 1, p + 1);
        else if (p[0] == 'D')
            fprintf(out, "\tdone\t%s\t%.*s\n", chan, (int)n - 1, p + 1);
    }
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
 * qtool_show - qmail-qread's lines for one message:
 *   "23 Nov 2026 16:09:43 GMT  #123  87  <sender>  bouncing"
 *   "\tdone\tlocal\tuser@host" / "\tremote\tuser@host"
 * todo: the message is not preprocessed yet (its envelope is in todo/).
 * Returns 1 shown, 0 gone meanwhile, -1 error.
 */
int
qtool_show(FILE *out, uint64_t id, bool todo)
{
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char fn[QPATH_MAX];
    struct bstr info = BSTR_INIT, recs = BSTR_INIT;
    struct stat st, ms;
    struct tm tm;
    const char *sender;
    size_t slen = 0;
    int r;

    qpath_fmt(fn, todo ? "todo" : "info", id);
    if (stat(fn, &st) == -1 || (r = readfile_path(fn, &info, 0)) <= 0) {
        bstr_free(&info);
        return errno == ENOENT ? 0 : -1;
    }
    sender = find_rec(&info, 'F', &slen);
    qpath_fmt(fn, "mess", id);
    if (stat(fn, &ms) == -1)
        ms.st_size = 0;
    gmtime_r(&st.st_mtime, &tm);
    fprintf(out, "%d %s %d %02d:%02d:%02d GMT  #%llu  %lld  <%.*s>",
            tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
            tm.tm_min, tm.tm_sec, (unsigned long long)id,
            (long long)ms.st_size, (int)slen, sender ? sender : "");
    qpath_fmt(fn, "bounce", id);
    if (!todo && access(fn, F_OK) == 0)
        fprintf(out, "  bouncing");
    if (todo)
        fprintf(out, "  not yet preprocessed");
    fprintf(out, "\n");
    if (todo) {
        show_records(out, &info, "todo");
    } else {
        qpath_fmt(fn, "local", id);
        if (readfile_path(fn, &recs, 0) == 1)
            show_records(out, &recs, "local");
        qpath_fmt(fn, "remote", id);
        if (readfile_path(fn, &recs, 0) == 1)
            show_records(out, &recs, "remote");
    }
    bstr_free(&info);
    bstr_free(&recs);
    return 1;
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
