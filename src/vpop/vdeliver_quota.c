/* SPDX-License-Identifier: ISC */
/*
 * vdeliver_quota - vdelivermail's files in a Maildir: storing a message
 * (named with ",S=<size>"), reading, recalculating and adding to
 * maildirsize, and the quota warning's flag file (see vdeliver.h and
 * quota.h for the rules).
 *
 * Concurrent deliveries keep maildirsize exact: a delivery links its
 * file into new/ and appends its line while holding a shared flock on
 * the Maildir directory, and a recalculation counts the Maildir and
 * renames the new maildirsize into place holding it exclusively, so
 * each message is counted once, by the scan or by its line.  The check
 * itself takes no lock: like every Maildir++ writer, deliveries running
 * side by side may each fit and together go a little over.  Where
 * directories cannot be locked (NFS), all of this runs unlocked.  Every path
 * is opened relative to the Maildir's descriptor.  Nothing here exits or
 * logs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"
#include "vdeliver.h"
#include "writeall.h"

#define MDSIZE "maildirsize"
#define MDSIZE_READ_MAX 65536 /* past MDQ_RECALC_SIZE anyway: recalculate */
#define WALK_TRIES 3          /* scans of a Maildir that keeps changing */
#define BUFSIZE 65536

/* opendir_at - dir (relative to dfd) for reading: the DIR, or NULL. */
static DIR *
opendir_at(int dfd, const char *dir)
{
    int fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d;

    if (fd == -1)
        return NULL;
    d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return d;
}

/* is_folder - a Maildir++ folder name counted in the quota? */
static bool
is_folder(const char *n)
{
    return n[0] == '.' && strcmp(n, ".") != 0 && strcmp(n, "..") != 0 &&
           strcmp(n, ".Trash") != 0;
}

/*
 * count_dir - add the messages of dir ("new", ".Sent/cur", relative to
 * dfd) to u.  A directory that is not there counts nothing.  0 or -1.
 */
static int
count_dir(int dfd, const char *dir, struct mdusage *u)
{
    DIR *d = opendir_at(dfd, dir);
    struct dirent *de;

    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    for (errno = 0; (de = readdir(d)); errno = 0) {
        size_t len = strlen(de->d_name);
        unsigned long long sz;
        struct stat st;

        if (de->d_name[0] == '.' || mdq_name_trashed(de->d_name, len))
            continue;
        if (!mdq_name_size(de->d_name, len, &sz)) {
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
                if (errno == ENOENT)
                    continue; /* moved or removed under us */
                goto fail;
            }
            if (!S_ISREG(st.st_mode))
                continue;
            sz = (unsigned long long)st.st_size;
        }
        /* a name may claim any size: saturate rather than overflow */
        u->bytes = sz > (unsigned long long)(LLONG_MAX - u->bytes)
                       ? LLONG_MAX
                       : u->bytes + (long long)sz;
        u->count++;
    }
    if (errno)
        goto fail;
    closedir(d);
    return 0;
fail:;
    int e = errno;
    closedir(d);
    errno = e;
    return -1;
}

/* stamp_dir - add dir's mtime (nanoseconds) to *sig, modulo 2^64;
 * absent adds 0. */
static int
stamp_dir(int dfd, const char *dir, unsigned long long *sig)
{
    struct stat st;

    if (fstatat(dfd, dir, &st, 0) == -1)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    *sig += (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
            (unsigned long long)st.st_mtim.tv_nsec;
    return 0;
}

/*
 * walk - count (u non-NULL) or stamp (sig) new/ and cur/ of the Maildir
 * at dfd and of each of its folders.  0 or -1.
 */
static int
walk(int dfd, struct mdusage *u, unsigned long long *sig)
{
    static const char *const sub[] = {"new", "cur"};
    struct bstr p = BSTR_INIT;
    DIR *d;
    struct dirent *de;
    int r = 0;

    for (size_t i = 0; i < 2 && r == 0; i++)
        r = u ? count_dir(dfd, sub[i], u) : stamp_dir(dfd, sub[i], sig);
    if (r == -1)
        return -1;
    d = opendir_at(dfd, ".");
    if (!d)
        return -1;
    for (errno = 0; r == 0 && (de = readdir(d)); errno = 0) {
        if (!is_folder(de->d_name))
            continue;
        for (size_t i = 0; i < 2 && r == 0; i++) {
            bstr_truncate(&p, 0);
            if (bstr_catf(&p, "%s/%s", de->d_name, sub[i]) == -1)
                r = -1;
            else
                r = u ? count_dir(dfd, p.s, u) : stamp_dir(dfd, p.s, sig);
        }
    }
    if (r == 0 && errno)
        r = -1;
    int e = errno;
    closedir(d);
    bstr_free(&p);
    errno = e;
    return r;
}

/*
 * vdq_usage - what the Maildir holds (Maildir++'s count: see quota.h).
 * A Maildir that changes during the count (a reader moving messages from
 * new/ to cur/) is counted again, WALK_TRIES times at most.  0, or -1
 * with errno.
 */
int
vdq_usage(const char *maildir, struct mdusage *u)
{
    int dfd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = -1;

    if (dfd == -1)
        return -1;
    for (int t = 0; t < WALK_TRIES; t++) {
        unsigned long long before = 0, after = 0;

        memset(u, 0, sizeof *u);
        if (walk(dfd, NULL, &before) == -1 || walk(dfd, u, NULL) == -1 ||
            walk(dfd, NULL, &after) == -1) {
            r = -1;
            break;
        }
        r = 0;
        if (before == after)
            break;
    }
    int e = errno;
    close(dfd);
    errno = e;
    return r;
}

/*
 * read_size - maildirsize of the Maildir at dfd into text, with its
 * stat.  1 read, 0 absent, -1 with errno (EFBIG: too big to be right).
 */
static int
read_size(int dfd, struct bstr *text, struct stat *st)
{
    int fd = openat(dfd, MDSIZE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int r;

    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    r = fstat(fd, st) == -1 ? -1 : readfile_fd(fd, text, MDSIZE_READ_MAX);
    int e = errno;
    close(fd);
    errno = e;
    return r == -1 ? -1 : 1;
}

/*
 * usable - may maildirsize's text be trusted for a delivery of add bytes
 * under q?  Sets *u and *over when it may.
 */
static bool
usable(const struct bstr *text, const struct stat *st, const struct mdquota *q,
       long long add, time_t now, struct mdusage *u, bool *over)
{
    struct mdquota fq;
    size_t lines;

    if (mdsize_parse(text->s, text->len, &fq, u, &lines) == -1 ||
        !mdq_same(&fq, q))
        return false; /* corrupt, or the quota was changed since */
    *over = mdq_over(q, u, add, 1);
    return !mdsize_stale((size_t)st->st_size, (long long)(now - st->st_mtime),
                         *over);
}

/* cat_host - the host name, '/' and ':' escaped as in Maildir names. */
static int
cat_host(struct bstr *out)
{
    char host[256];

    if (gethostname(host, sizeof host) == -1 || !host[0])
        memcpy(host, "localhost", 10);
    host[sizeof host - 1] = '\0';
    for (const char *p = host; *p; p++) {
        int r = *p == '/'   ? bstr_cats(out, "\\057")
                : *p == ':' ? bstr_cats(out, "\\072")
                            : bstr_catc(out, *p);
        if (r == -1)
            return -1;
    }
    return 0;
}

/*
 * write_size - maildirsize made anew from q and u: written in tmp/ under
 * Courier's name for it, fsynced, renamed into place.  0 or -1.
 */
static int
write_size(int dfd, const struct mdquota *q, const struct mdusage *u,
           time_t now)
{
    struct bstr text = BSTR_INIT, tmp = BSTR_INIT;
    int fd, r = -1, e;

    if (mdsize_format(q, u, &text) == -1 ||
        bstr_catf(&tmp, "tmp/%lld.%ld_NeWmAiLdIrSiZe.", (long long)now,
                  (long)getpid()) == -1 ||
        cat_host(&tmp) == -1)
        goto out;
    fd = openat(dfd, tmp.s,
                O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd == -1)
        goto out;
    if (write_all(fd, text.s, text.len) == -1 || fsync(fd) == -1) {
        e = errno;
        close(fd);
        errno = e;
        goto unlink;
    }
    if (close(fd) == -1)
        goto unlink;
    if (renameat(dfd, tmp.s, dfd, MDSIZE) == 0) {
        r = 0;
        goto out;
    }
unlink:
    e = errno;
    unlinkat(dfd, tmp.s, 0);
    errno = e;
out:
    e = errno;
    bstr_free(&text);
    bstr_free(&tmp);
    errno = e;
    return r;
}

/*
 * vdq_check - the Maildir's usage and whether a delivery of add bytes
 * would go over q, from maildirsize, recalculated first when it is
 * missing (and q limits something), damaged, written for another quota,
 * or stale (quota.h).  A Maildir without maildirsize and without a limit
 * is left alone.  0 (out filled), or -1 with errno.
 */
int
vdq_check(const char *maildir, const struct mdquota *q, long long add,
          time_t now, struct vdel_quota *out)
{
    struct bstr text = BSTR_INIT;
    struct stat st;
    int dfd, lfd = -1, r;

    memset(out, 0, sizeof *out);
    out->q = *q;
    dfd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd == -1)
        return -1;
    r = read_size(dfd, &text, &st);
    if (r == -1 && errno != EFBIG)
        goto fail;
    if (r == 0 && !mdq_limited(q))
        goto done;
    if (r == 1 && usable(&text, &st, q, add, now, &out->u, &out->over)) {
        out->file = true;
        goto done;
    }
    /* recalculate, unless another delivery just did while we waited */
    lfd = vdq_lock(maildir, true);
    if (lfd == -1)
        goto fail;
    r = read_size(dfd, &text, &st);
    if (r == -1 && errno != EFBIG)
        goto fail;
    if (r != 1 || !usable(&text, &st, q, add, now, &out->u, &out->over)) {
        if (vdq_usage(maildir, &out->u) == -1 ||
            write_size(dfd, q, &out->u, now) == -1)
            goto fail;
        out->recalculated = true;
        out->over = mdq_over(q, &out->u, add, 1);
    }
    out->file = true;
done:
    vdq_unlock(lfd);
    close(dfd);
    bstr_free(&text);
    return 0;
fail:;
    int e = errno;
    vdq_unlock(lfd);
    close(dfd);
    bstr_free(&text);
    errno = e;
    return -1;
}

/*
 * vdq_add - append "<bytes> <count>" to the Maildir's maildirsize with one
 * write(2) in append mode (whole lines, whatever runs beside us).  A
 * Maildir without maildirsize is left so.  0, or -1 with errno.
 */
int
vdq_add(const char *maildir, long long bytes, long long count)
{
    struct bstr line = BSTR_INIT, p = BSTR_INIT;
    ssize_t w;
    int fd, r = -1, e;

    if (bstr_catf(&p, "%s/%s", maildir, MDSIZE) == -1 ||
        mdsize_delta(bytes, count, &line) == -1)
        goto out;
    fd = open(p.s, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1) {
        r = errno == ENOENT ? 0 : -1;
        goto out;
    }
    w = write(fd, line.s, line.len);
    if (w >= 0 && (size_t)w != line.len)
        errno = EIO; /* cannot happen on a local file; never a torn line */
    r = w >= 0 && (size_t)w == line.len ? 0 : -1;
    e = errno;
    close(fd);
    errno = e;
out:
    e = errno;
    bstr_free(&line);
    bstr_free(&p);
    errno = e;
    return r;
}

/*
 * vdq_lock - flock the Maildir directory, shared (a delivery) or
 * exclusive (a recalculation), waiting for it.  Where the file system
 * cannot lock a directory (NFS turns flock into POSIX locks, which want a
 * descriptor open for writing), the work goes on unlocked, as every
 * Courier-style writer's does: the sums may then be off until the next
 * recalculation, which is better than deferring all mail.  The descriptor
 * to give to vdq_unlock, or -1 with errno.
 */
int
vdq_lock(const char *maildir, bool exclusive)
{
    int fd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd == -1)
        return -1;
    while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) == -1) {
        if (errno == EINTR)
            continue;
        if (errno == EBADF || errno == ENOLCK || errno == EOPNOTSUPP ||
            errno == EINVAL)
            break; /* no locks here: unlocked */
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* vdq_unlock - release vdq_lock's lock (-1: none). */
void
vdq_unlock(int fd)
{
    if (fd != -1)
        close(fd);
}

/* copy - the rest of msgfd into fd; *stage says which side failed. */
static int
copy(int fd, int msgfd, enum maildir_stage *stage)
{
    char *buf = malloc(BUFSIZE);

    if (!buf) {
        *stage = MAILDIR_S_READ;
        return -1;
    }
    for (;;) {
        ssize_t r = read(msgfd, buf, BUFSIZE);

        if (r == 0)
            break;
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            *stage = MAILDIR_S_READ;
            goto fail;
        }
        if (write_all(fd, buf, (size_t)r) == -1) {
            *stage = MAILDIR_S_WRITE;
            goto fail;
        }
    }
    free(buf);
    return 0;
fail:;
    int e = errno;
    free(buf);
    errno = e;
    return -1;
}

/*
 * vdq_store - head (nhead pieces) and the rest of msgfd (-1: none) as one
 * new message in the Maildir: written to tmp/, fsynced, linked into new/
 * as "<unique>,S=<size>" (vpopmail's and Courier's size in the name),
 * tmp/ name removed, new/ fsynced.  With countdir (the Maildir whose
 * maildirsize counts this one: itself, or the Maildir a folder belongs
 * to), the link and the line added to its maildirsize happen under its
 * shared lock (a failed update is st->counterr, not a failed delivery).
 * 0, or -1 with errno and st->stage.
 */
int
vdq_store(const char *maildir, const struct iovec *head, int nhead, int msgfd,
          const char *countdir, struct vdel_stored *st)
{
    struct bstr uniq = BSTR_INIT, tmp = BSTR_INIT, nw = BSTR_INIT;
    struct stat sb;
    int dfd, fd = -1, lfd = -1, e;

    st->stage = MAILDIR_S_OPEN;
    st->counterr = 0;
    st->size = 0;
    dfd = open(maildir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd == -1)
        return -1;
    for (int tries = 0;; tries++) {
        st->stage = MAILDIR_S_CREATE;
        bstr_truncate(&tmp, 0);
        if (maildir_uniq(&uniq) == -1 || bstr_cats(&tmp, "tmp/") == -1 ||
            bstr_catb(&tmp, uniq.s, uniq.len) == -1)
            goto fail;
        fd = openat(dfd, tmp.s,
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd != -1)
            break;
        if (errno != EEXIST || tries >= 5) {
            if (errno == ENOENT)
                st->stage = MAILDIR_S_OPEN;
            goto fail;
        }
    }
    st->stage = MAILDIR_S_WRITE;
    for (int i = 0; i < nhead; i++)
        if (write_all(fd, head[i].iov_base, head[i].iov_len) == -1)
            goto unlink_fail;
    if (msgfd != -1 && copy(fd, msgfd, &st->stage) == -1)
        goto unlink_fail;
    st->stage = MAILDIR_S_WRITE;
    if (fsync(fd) == -1 || fstat(fd, &sb) == -1)
        goto unlink_fail;
    if (close(fd) == -1) {
        fd = -1;
        goto unlink_fail;
    }
    fd = -1;
    st->size = (unsigned long long)sb.st_size;
    st->stage = MAILDIR_S_LINK;
    bstr_truncate(&st->name, 0);
    if (bstr_catb(&st->name, uniq.s, uniq.len) == -1 ||
        bstr_catf(&st->name, ",S=%llu", st->size) == -1 ||
        bstr_catf(&nw, "new/%s", st->name.s) == -1)
        goto unlink_fail;
    if (countdir && (lfd = vdq_lock(countdir, false)) == -1)
        goto unlink_fail;
    if (linkat(dfd, tmp.s, dfd, nw.s, 0) == -1) {
        vdq_unlock(lfd);
        lfd = -1;
        goto unlink_fail;
    }
    if (countdir && vdq_add(countdir, (long long)st->size, 1) == -1)
        st->counterr = errno ? errno : EIO;
    vdq_unlock(lfd);
    lfd = -1;
    unlinkat(dfd, tmp.s, 0);
    /* the new name must be on disk before we say "delivered" */
    fd = openat(dfd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1 || fsync(fd) == -1)
        goto fail; /* the file stays in new/: better twice than never */
    close(fd);
    close(dfd);
    bstr_free(&uniq);
    bstr_free(&tmp);
    bstr_free(&nw);
    return 0;
unlink_fail:
    e = errno;
    if (fd != -1)
        close(fd);
    fd = -1;
    unlinkat(dfd, tmp.s, 0);
    errno = e;
fail:
    e = errno;
    if (fd != -1)
        close(fd);
    close(dfd);
    bstr_free(&uniq);
    bstr_free(&tmp);
    bstr_free(&nw);
    errno = e;
    return -1;
}

/*
 * vdq_quota_dir - the Maildir whose maildirsize counts mail stored in
 * maildir: maildir itself, or, for a Maildir++ folder (it holds a
 * "maildirfolder" file), the Maildir above it.  0, or -1 with errno.
 */
int
vdq_quota_dir(const char *maildir, struct bstr *out)
{
    struct bstr p = BSTR_INIT;
    struct stat st;
    size_t len = strlen(maildir);
    int r;

    while (len > 1 && maildir[len - 1] == '/')
        len--;
    if (bstr_copyb(out, maildir, len) == -1 ||
        bstr_catf(&p, "%s/maildirfolder", out->s) == -1) {
        bstr_free(&p);
        return -1;
    }
    r = lstat(p.s, &st);
    bstr_free(&p);
    if (r == -1)
        return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    while (out->len > 1 && out->s[out->len - 1] != '/')
        bstr_truncate(out, out->len - 1);
    if (out->len > 1)
        bstr_truncate(out, out->len - 1);
    return 0;
}

/*
 * vdq_warn_claim - is a quota warning due for this Maildir, and if so,
 * mark it sent?  The flag file VDEL_WARN_FLAG (vpopmail's) is created,
 * or refreshed when it is VDEL_WARN_AGAIN seconds old; two deliveries
 * racing for a new flag cannot both win.  1 due (now marked), 0 not due,
 * -1 with errno.
 */
int
vdq_warn_claim(const char *maildir, time_t now)
{
    struct bstr p = BSTR_INIT;
    struct stat st;
    int fd, r = -1;

    if (bstr_catf(&p, "%s/%s", maildir, VDEL_WARN_FLAG) == -1)
        return -1;
    fd = open(p.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd != -1) {
        close(fd);
        r = 1;
        goto out;
    }
    if (errno != EEXIST || lstat(p.s, &st) == -1)
        goto out;
    if (now - st.st_mtime < VDEL_WARN_AGAIN) {
        r = 0;
        goto out;
    }
    r = utimensat(AT_FDCWD, p.s, NULL, AT_SYMLINK_NOFOLLOW) == -1 ? -1 : 1;
out:;
    int e = errno;
    bstr_free(&p);
    errno = e;
    return r;
}

/*
 * vdq_warn_rearm - usage went below the threshold: the next time it goes
 * over, warn again at once.  0, or -1 with errno.
 */
int
vdq_warn_rearm(const char *maildir)
{
    struct bstr p = BSTR_INIT;
    int r;

    if (bstr_catf(&p, "%s/%s", maildir, VDEL_WARN_FLAG) == -1)
        return -1;
    r = unlink(p.s) == -1 && errno != ENOENT ? -1 : 0;
    int e = errno;
    bstr_free(&p);
    errno = e;
    return r;
}
