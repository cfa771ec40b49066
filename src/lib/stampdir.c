/* SPDX-License-Identifier: ISC */
/*
 * stampdir - the sweep and the expiry stamp of a directory of stamp
 * files (see stampdir.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stampdir.h"

int
stampdir_sweep(const char *dir, stampdir_stale_fn stale, void *arg,
               size_t *removed)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int e = 0;

    if (d == NULL)
        return -1;
    for (;;) {
        struct stat st;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            e = errno;
            break;
        }
        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
            if (errno == ENOENT)
                continue;
            e = errno;
            break;
        }
        if (!S_ISREG(st.st_mode) || stale(de->d_name, st.st_mtime, arg) != 1)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            (*removed)++;
        else if (errno != ENOENT) {
            e = errno;
            break;
        }
    }
    closedir(d);
    errno = e;
    return e ? -1 : 0;
}

unsigned long
stampdir_age(time_t mtime, time_t now)
{
    if (mtime > now)
        return mtime - now > STAMPDIR_SKEW ? ULONG_MAX : 0;
    /* unsigned: no overflow however far back a scribbled mtime lies */
    return (unsigned long)((unsigned long long)now - (unsigned long long)mtime);
}

/* fresh - the stamp has seen a pass less than every seconds ago */
static bool
fresh(const struct stat *st, unsigned long every, time_t now)
{
    return st->st_size != 0 && stampdir_age(st->st_mtime, now) < every;
}

int
stampdir_due(const char *stamp, unsigned long every, time_t now, bool force,
             int *fd)
{
    struct stat st;
    int e;

    *fd = -1;
    /* the common case: one lstat and done */
    if (!force && lstat(stamp, &st) == 0 && fresh(&st, every, now))
        return 0;
    *fd = stampdir_open(stamp, NULL, O_CREAT | O_RDWR, 0644);
    if (*fd == -1)
        return -1;
    if (flock(*fd, LOCK_EX | LOCK_NB) == -1) {
        e = errno;
        close(*fd);
        *fd = -1;
        if (e == EWOULDBLOCK)
            return 0;
        errno = e;
        return -1;
    }
    /* another process may have finished a pass since our lstat; a stamp
     * that is not a plain file (a FIFO put there) is no stamp */
    if (stampdir_regular(*fd, &st) == -1) {
        stampdir_abandon(*fd);
        *fd = -1;
        return -1;
    }
    if (!force && fresh(&st, every, now)) {
        close(*fd);
        *fd = -1;
        return 0;
    }
    return 1;
}

int
stampdir_open(const char *path, const char *sub, int flags, int mode)
{
    int fd;

    flags |= O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
    fd = open(path, flags, mode);
    if (fd == -1 && errno == ENOENT && sub) {
        if (mkdir(sub, 0700) == -1 && errno != EEXIST)
            return -1;
        fd = open(path, flags, mode);
    }
    return fd;
}

int
stampdir_regular(int fd, struct stat *st)
{
    if (fstat(fd, st) == -1)
        return -1;
    if (!S_ISREG(st->st_mode)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

int
stampdir_close_at(int fd, time_t when)
{
    struct timespec ts[2];

    ts[0].tv_sec = ts[1].tv_sec = when;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    if (futimens(fd, ts) == -1) {
        stampdir_abandon(fd);
        return -1;
    }
    return close(fd);
}

int
stampdir_done(int fd, time_t now)
{
    struct stat st;

    /* one byte: this stamp has seen a pass */
    if (fstat(fd, &st) == -1 || (st.st_size == 0 && write(fd, "+", 1) != 1)) {
        stampdir_abandon(fd);
        return -1;
    }
    return stampdir_close_at(fd, now);
}

void
stampdir_abandon(int fd)
{
    int e = errno;

    close(fd);
    errno = e;
}
