/* SPDX-License-Identifier: ISC */
/*
 * pop3d_box - the Maildir qmail-pop3d serves (the current directory):
 * listing new/ and cur/, opening a message, the UPDATE state at QUIT,
 * EXPIRE and the LOGIN-DELAY stamp.
 *
 * Guarantees: only regular files with names pop3d_name_ok allows are
 * listed, opened (never through a symlink) or removed; a message another
 * session moved from new/ to cur/ is found again by its unique name; a
 * message already gone when we remove it is not an error.  Whatever is
 * removed is taken off maildirsize (Maildir++), when there is one, in
 * one appended line.  Nothing here exits or logs.
 */
#include "pop3d.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"
#include "quota.h"
#include "vdeliver.h"

static const char *const subdirs[] = {"new", "cur"};

static int
add(struct pop3d_box *b, const char *sub, const char *name,
    const struct stat *st)
{
    size_t off = b->names.len;

    if (grow(&b->v, &b->cap, b->n + 1, sizeof *b->v, 64) == -1)
        return -1;
    if (bstr_cats(&b->names, sub) == -1 || bstr_catc(&b->names, '/') == -1 ||
        bstr_cats(&b->names, name) == -1 || bstr_catc(&b->names, '\0') == -1)
        return -1;
    memset(&b->v[b->n], 0, sizeof b->v[b->n]);
    b->v[b->n].off = off;
    b->v[b->n].size = (unsigned long long)st->st_size;
    b->v[b->n].mtime = st->st_mtime;
    b->n++;
    return 0;
}

static int
by_order(const void *x, const void *y, void *names)
{
    return pop3d_msg_cmp(x, y, names);
}

/*
 * pop3d_box_scan - list the messages of new/ and cur/ into b (empty
 * before), oldest first.  0, or -1 with errno (a missing new/ or cur/
 * is ENOENT).
 */
int
pop3d_box_scan(struct pop3d_box *b)
{
    for (size_t i = 0; i < 2; i++) {
        DIR *d = opendir(subdirs[i]);
        struct dirent *de;

        if (!d)
            return -1;
        errno = 0;
        while ((de = readdir(d))) {
            struct stat st;

            if (!pop3d_name_ok(de->d_name))
                continue;
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
                !S_ISREG(st.st_mode)) {
                errno = 0;
                continue; /* gone meanwhile, or not a message */
            }
            if (add(b, subdirs[i], de->d_name, &st) == -1) {
                int e = errno;
                closedir(d);
                errno = e;
                return -1;
            }
            errno = 0;
        }
        if (errno) {
            int e = errno;
            closedir(d);
            errno = e;
            return -1;
        }
        closedir(d);
    }
    if (b->n > 1) {
        qsort_r(b->v, b->n, sizeof *b->v, by_order, b->names.s);
    }
    return 0;
}

/* pop3d_box_free - release a listing. */
void
pop3d_box_free(struct pop3d_box *b)
{
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
    bstr_free(&b->names);
}

/* pop3d_box_name - message i's current name ("new/X" or "cur/X..."). */
const char *
pop3d_box_name(const struct pop3d_box *b, size_t i)
{
    return b->names.s + b->v[i].off;
}

/*
 * find_moved - another session moved message i from new/X to cur/X:2,...
 * (or flagged it in cur/): look in cur/ for a name with the same unique
 * part and make it message i's name.  1 found, 0 not there, -1 error.
 */
static int
find_moved(struct pop3d_box *b, size_t i)
{
    size_t ulen;
    const char *u = pop3d_uidl(pop3d_box_name(b, i), &ulen);
    struct bstr want = BSTR_INIT;
    DIR *d;
    struct dirent *de;
    int r = 0;

    if (bstr_catb(&want, u, ulen) == -1)
        return -1;
    d = opendir("cur");
    if (!d) {
        bstr_free(&want);
        return errno == ENOENT ? 0 : -1;
    }
    while ((de = readdir(d))) {
        size_t n;
        const char *du = pop3d_uidl(de->d_name, &n);
        struct stat st;

        if (n != want.len || memcmp(du, want.s, n) != 0 ||
            !pop3d_name_ok(de->d_name))
            continue;
        if (strcmp(pop3d_box_name(b, i) + 4, de->d_name) == 0 &&
            strncmp(pop3d_box_name(b, i), "cur/", 4) == 0)
            continue; /* the name we already tried */
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
            !S_ISREG(st.st_mode))
            continue;
        size_t off = b->names.len;
        if (bstr_cats(&b->names, "cur/") == -1 ||
            bstr_cats(&b->names, de->d_name) == -1 ||
            bstr_catc(&b->names, '\0') == -1) {
            r = -1;
            break;
        }
        b->v[i].off = off;
        r = 1;
        break;
    }
    int e = errno;
    closedir(d);
    bstr_free(&want);
    errno = e;
    return r;
}

/*
 * open_msg - open a message file: never through a symlink, and never
 * anything but a regular file (a FIFO put there after the listing would
 * block an open or a read for ever, beyond the session's timeouts).
 */
static int
open_msg(const char *name)
{
    int fd = open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;

    if (fd == -1)
        return -1;
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd; /* O_NONBLOCK changes nothing for a regular file */
}

/*
 * pop3d_box_open - open message i for reading, following it into cur/
 * when another session moved it.  The fd, or -1 with errno (ENOENT: the
 * message is gone; EINVAL: not a regular file).
 */
int
pop3d_box_open(struct pop3d_box *b, size_t i)
{
    int fd = open_msg(pop3d_box_name(b, i));

    if (fd == -1 && errno == ENOENT) {
        int r = find_moved(b, i);

        if (r == 1)
            fd = open_msg(pop3d_box_name(b, i));
        else if (r == 0)
            errno = ENOENT;
    }
    return fd;
}

/* quota_bytes - what Maildir++ counts for a message: its ",S=" or its size. */
static unsigned long long
quota_bytes(const char *name, unsigned long long st_size)
{
    unsigned long long s;

    if (mdq_name_size(name, strlen(name), &s))
        return s;
    return st_size;
}

/*
 * remove_msg - unlink message i (following a move by another session).
 * 1 removed (*bytes its quota size), 0 already gone, -1 error.
 */
static int
remove_msg(struct pop3d_box *b, size_t i, unsigned long long *bytes)
{
    for (int tries = 0; tries < 3; tries++) {
        const char *name = pop3d_box_name(b, i);
        struct stat st;
        unsigned long long size = b->v[i].size;

        if (lstat(name, &st) == 0)
            size = (unsigned long long)st.st_size;
        if (unlink(name) == 0) {
            *bytes = quota_bytes(name + 4, size);
            return 1;
        }
        if (errno != ENOENT)
            return -1;
        int r = find_moved(b, i);
        if (r != 1)
            return r;
    }
    return 0; /* it keeps moving: someone else has it */
}

/*
 * pop3d_box_update - the UPDATE state (RFC 1939 §6): unlink the messages
 * marked deleted (and, with expire0, those retrieved), move the other
 * messages of new/ to cur/NAME:2, (qmail's), then take what was removed
 * off maildirsize.  *ndeleted: how many files were unlinked by us.  0,
 * or -1 with errno when a message could not be removed (the others are
 * still done).  A maildirsize that could not be updated is not a failure:
 * b->counterr says it.
 */
int
pop3d_box_update(struct pop3d_box *b, bool expire0, unsigned long *ndeleted)
{
    unsigned long long bytes = 0;
    long long count = 0;
    int failed = 0, lockfd = -1;
    bool any = false;
    struct bstr to = BSTR_INIT;

    *ndeleted = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].deleted || (expire0 && b->v[i].retrieved))
            any = true;
    if (any)
        lockfd = vdq_lock(".", false); /* as a delivery: appends one line */
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i].deleted || (expire0 && b->v[i].retrieved)) {
            unsigned long long one = 0;
            int r = remove_msg(b, i, &one);

            if (r == -1)
                failed = errno;
            else if (r == 1) {
                bytes += one;
                count++;
            }
        } else if (strncmp(pop3d_box_name(b, i), "new/", 4) == 0) {
            const char *name = pop3d_box_name(b, i);

            to.len = 0;
            if (bstr_cats(&to, "cur/") == -1 ||
                bstr_cats(&to, name + 4) == -1 || bstr_cats(&to, ":2,") == -1) {
                failed = errno;
                continue;
            }
            /* a failure leaves it in new/, where it is still listed */
            (void)rename(name, to.s);
        }
    }
    *ndeleted = (unsigned long)count;
    /* the messages are gone either way: a quota file that cannot be
     * written is no reason to tell the client they are not */
    b->counterr = 0;
    if (count > 0 && vdq_add(".", -(long long)bytes, -count) == -1)
        b->counterr = errno;
    vdq_unlock(lockfd);
    bstr_free(&to);
    if (failed) {
        errno = failed;
        return -1;
    }
    return 0;
}

/*
 * pop3d_expire - EXPIRE days (RFC 2449 §6.7): remove messages of cur/
 * retrieved (moved there: the file's ctime) more than days ago, and take
 * them off maildirsize.  *nremoved: how many.  0, or -1 with errno.
 */
int
pop3d_expire(unsigned long days, time_t now, unsigned long *nremoved)
{
    DIR *d = opendir("cur");
    struct dirent *de;
    unsigned long long bytes = 0;
    long long count = 0;
    /* at most a thousand years: days * 86400 must not overflow */
    time_t age = (time_t)(days > 365UL * 1000 ? 365UL * 1000 : days) * 86400;
    int lockfd, r = 0;

    *nremoved = 0;
    if (!d)
        return -1;
    lockfd = vdq_lock(".", false);
    while ((de = readdir(d))) {
        struct stat st;

        if (!pop3d_name_ok(de->d_name))
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
            !S_ISREG(st.st_mode) || now - st.st_ctime <= age)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
            if (errno != ENOENT)
                r = -1;
            continue;
        }
        bytes += quota_bytes(de->d_name, (unsigned long long)st.st_size);
        count++;
    }
    int e = errno;
    closedir(d);
    if (count > 0 && vdq_add(".", -(long long)bytes, -count) == -1) {
        e = errno;
        r = -1;
    }
    vdq_unlock(lockfd);
    *nremoved = (unsigned long)count;
    errno = e;
    return r;
}

/*
 * pop3d_logindelay - LOGIN-DELAY (RFC 2449 §6.5): 1 when the last login
 * (the mtime of POP3D_STAMP) was less than delay seconds ago (*wait: the
 * seconds still to wait), else stamp this login and return 0.  -1 with
 * errno when the stamp cannot be written.
 */
int
pop3d_logindelay(unsigned long delay, time_t now, unsigned long *wait)
{
    struct stat st;
    int fd;

    *wait = 0;
    if (lstat(POP3D_STAMP, &st) == 0 && st.st_mtime <= now &&
        (unsigned long long)(now - st.st_mtime) < delay) {
        *wait = delay - (unsigned long)(now - st.st_mtime);
        return 1;
    }
    /* O_NONBLOCK: a FIFO in its place must not block the login */
    fd = open(POP3D_STAMP,
              O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd == -1)
        return -1;
    if (futimens(fd, NULL) == -1) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return close(fd);
}
