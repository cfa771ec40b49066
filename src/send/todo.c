/* SPDX-License-Identifier: ISC */
/*
 * todo - preprocessing: a committed message in todo/N becomes info/S/N
 * (its sender, one "F<addr>\0" record: qmail-1.03's qmail-send and
 * qmail-qread read the first record as the sender), local/S/N and
 * remote/S/N (its routed recipients, one "T<addr>\0" record each).  All
 * three are written whole and fsynced before qmail-send asks qmail-clean
 * to remove todo/N, so a crash at any point leaves either todo/N (and
 * preprocessing is simply redone, the files rewritten from scratch) or
 * the finished files - never a message half-routed with deliveries
 * already under way.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"
#include "qpath.h"
#include "readfile.h"
#include "send.h"

/*
 * write_file - fn holds exactly b.  With keep, the file is left open in
 * *keep for the caller to fsync; otherwise it is fsynced and closed here.
 */
static int
write_file(const char *fn, const struct bstr *b, int *keep)
{
    int fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t off = 0;

    if (fd == -1)
        return -1;
    while (off < b->len) {
        ssize_t w = write(fd, b->s + off, b->len - off);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        off += (size_t)w;
    }
    if (keep) {
        *keep = fd;
        return 0;
    }
    if (fsync(fd) == -1)
        goto fail;
    return close(fd);
fail:
    close(fd);
    return -1;
}

/*
 * todo_preprocess - route message id and write its info/local/remote
 * files.  With fds, the files are left open there (*nfds of them) for
 * the caller to fsync before todo/ may be cleaned; without, they are
 * fsynced here.  Returns 0 (res filled for the log), or -1 with errno:
 * the message stays in todo/ and is tried again later.  ENOENT: todo/N
 * is gone, or (res->nomess) its mess/ file is.  A todo file that is not an
 * envelope (EINVAL) is left alone for the admin to look at (and to remove
 * with qmail-qrm, or repair).
 */
int
todo_preprocess(const struct send_conf *c, uint64_t id,
                struct todo_result *res, int fds[3], int *nfds)
{
    char fn[QPATH_MAX];
    struct bstr raw = BSTR_INIT, info = BSTR_INIT, out = BSTR_INIT;
    struct bstr ch[NCHAN] = {BSTR_INIT, BSTR_INIT};
    struct stat st;
    size_t i = 0;
    bool have_f = false;
    int rc = -1;

    if (nfds)
        *nfds = 0;
    memset(res->nrcpt, 0, sizeof res->nrcpt);
    res->nomess = false;
    res->bytes = 0;
    res->qp = res->uid = 0;
    bstr_truncate(&res->sender, 0);
    qpath_fmt(fn, "todo", id);
    if (readfile_path(fn, &raw, 0) != 1)
        goto out;
    while (i < raw.len) {
        const char *p = raw.s + i;
        const char *nul = memchr(p, '\0', raw.len - i);
        size_t n;

        if (!nul) {
            errno = EINVAL; /* qmail-queue never leaves a torn todo file */
            goto out;
        }
        n = (size_t)(nul - p);
        i += n + 1;
        if (n == 0)
            continue;
        switch (p[0]) {
        case 'u':
            scan_ulong(p + 1, n - 1, &res->uid);
            break;
        case 'p':
            scan_ulong(p + 1, n - 1, &res->qp);
            break;
        case 'F':
            if (have_f) {
                errno = EINVAL;
                goto out;
            }
            have_f = true;
            if (bstr_copyb(&res->sender, p + 1, n - 1) == -1 ||
                bstr_catb(&info, p, n + 1) == -1)
                goto out;
            break;
        case 'T': {
            enum route_chan r = route_addr(&c->route, p + 1, n - 1, &out);
            int k = r == ROUTE_LOCAL ? CHAN_LOCAL : CHAN_REMOTE;

            if (out.len == 0) {
                errno = ENOMEM;
                goto out;
            }
            if (bstr_catc(&ch[k], 'T') == -1 ||
                bstr_catb(&ch[k], out.s, out.len) == -1 ||
                bstr_catc(&ch[k], '\0') == -1)
                goto out;
            res->nrcpt[k]++;
            break;
        }
        default:
            errno = EINVAL;
            goto out;
        }
    }
    if (!have_f) {
        errno = EINVAL;
        goto out;
    }
    qpath_fmt(fn, "mess", id);
    if (stat(fn, &st) == -1) {
        res->nomess = errno == ENOENT;
        goto out;
    }
    res->bytes = (unsigned long long)st.st_size;
    /* channel files first, info last: info is what marks a message as
     * preprocessed for a restarted qmail-send */
    for (int k = 0; k < NCHAN; k++) {
        int kept = -1;

        qpath_fmt(fn, k == CHAN_LOCAL ? "local" : "remote", id);
        if (!res->nrcpt[k]) {
            if (unlink(fn) == -1 && errno != ENOENT)
                goto out;
            continue;
        }
        if (write_file(fn, &ch[k], nfds ? &kept : NULL) == -1)
            goto out;
        if (nfds)
            fds[(*nfds)++] = kept;
    }
    qpath_fmt(fn, "info", id);
    {
        int kept = -1;

        if (write_file(fn, &info, nfds ? &kept : NULL) == -1)
            goto out;
        if (nfds)
            fds[(*nfds)++] = kept;
    }
    rc = 0;
out:
    if (rc == -1 && nfds) {
        int e = errno;

        while (*nfds > 0)
            close(fds[--*nfds]);
        errno = e;
    }
    bstr_free(&raw);
    bstr_free(&info);
    bstr_free(&out);
    bstr_free(&ch[0]);
    bstr_free(&ch[1]);
    return rc;
}
