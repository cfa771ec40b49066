/* SPDX-License-Identifier: ISC */
/*
 * vfs - trees removed, made and fixed without following links (see
 * vfs.h).  The walks are iterative over open directory descriptors
 * (openat with O_NOFOLLOW), so a tree as deep as the file system allows
 * costs no stack and a link swapped in during the walk is never
 * followed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfs.h"

#define VFS_DEPTH_MAX 64 /* a Maildir++ tree is four deep */

/* empty_dir - remove everything inside the directory fd (closed). */
static int
empty_dir(int fd, int depth)
{
    DIR *d = fdopendir(fd);
    struct dirent *de;
    int e = 0;

    if (!d) {
        e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (depth > VFS_DEPTH_MAX) {
        closedir(d);
        errno = ELOOP;
        return -1;
    }
    while (!e && (errno = 0, de = readdir(d))) {
        const char *n = de->d_name;
        struct stat st;

        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) == -1) {
            if (errno != ENOENT)
                e = errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), n,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

            if (sub == -1 || empty_dir(sub, depth + 1) == -1 ||
                unlinkat(dirfd(d), n, AT_REMOVEDIR) == -1)
                e = errno;
        } else if (unlinkat(dirfd(d), n, 0) == -1 && errno != ENOENT) {
            e = errno;
        }
    }
    if (!e && errno)
        e = errno;
    closedir(d);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/*
 * vfs_rmtree - remove path and all below it; a link is removed, never
 * followed.  Absent: 0.  0, or -1 with errno.
 */
int
vfs_rmtree(const char *path)
{
    struct stat st;
    int fd;

    if (lstat(path, &st) == -1)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlink(path);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1 || empty_dir(fd, 0) == -1)
        return -1;
    return rmdir(path);
}

/*
 * vfs_mkdir - a directory with mode (umask aside) and, when chown_it,
 * owner uid:gid.  An existing directory is left as it is: 0.  0, or -1.
 */
int
vfs_mkdir(const char *path, mode_t mode, uid_t uid, gid_t gid, bool chown_it)
{
    struct stat st;

    if (mkdir(path, mode) == -1) {
        if (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        return -1;
    }
    if (chmod(path, mode) == -1)
        return -1;
    if (chown_it && lchown(path, uid, gid) == -1)
        return -1;
    return 0;
}

/*
 * vfs_maildir - dir/Maildir with new, cur and tmp, mode 700 each, owned
 * by uid:gid when chown_it.  Parts already there are kept.  0, or -1.
 */
int
vfs_maildir(const char *dir, uid_t uid, gid_t gid, bool chown_it)
{
    static const char *const sub[] = {"", "/new", "/cur", "/tmp"};
    struct bstr p = BSTR_INIT;
    int r = 0;

    for (size_t i = 0; r == 0 && i < sizeof sub / sizeof sub[0]; i++) {
        bstr_truncate(&p, 0);
        if (bstr_catf(&p, "%s/Maildir%s", dir, sub[i]) == -1 ||
            vfs_mkdir(p.s, 0700, uid, gid, chown_it) == -1)
            r = -1;
    }
    bstr_free(&p);
    return r;
}

/* fix_one - owner and mode of the entry n in directory dfd. */
static int
fix_one(int dfd, const char *n, const struct stat *st, uid_t uid, gid_t gid,
        bool chown_it, struct vfs_fix *fx)
{
    mode_t want = S_ISDIR(st->st_mode) ? 0700 : 0600;
    bool changed = false;

    if (chown_it && (st->st_uid != uid || st->st_gid != gid)) {
        if (fchownat(dfd, n, uid, gid, AT_SYMLINK_NOFOLLOW) == -1)
            return -1;
        changed = true;
    }
    if ((st->st_mode & 07777) != want) {
        if (fchmodat(dfd, n, want, 0) == -1)
            return -1;
        changed = true;
    }
    if (changed)
        fx->changed++;
    return 0;
}

/* failed - one entry that could not be fixed: counted, the walk goes on */
static void
failed(struct vfs_fix *fx)
{
    if (fx->failed++ == 0)
        fx->first_errno = errno;
}

/* fix_dir - everything inside the directory fd (closed). */
static int
fix_dir(int fd, uid_t uid, gid_t gid, bool chown_it, struct vfs_fix *fx,
        int depth)
{
    DIR *d = fdopendir(fd);
    struct dirent *de;
    int e = 0;

    if (!d) {
        e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (depth > VFS_DEPTH_MAX) {
        closedir(d);
        errno = ELOOP;
        return -1;
    }
    while (!e && (errno = 0, de = readdir(d))) {
        const char *n = de->d_name;
        struct stat st;

        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
            continue;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) == -1) {
            if (errno != ENOENT)
                e = errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub;

            fx->dirs++;
            if (fix_one(dirfd(d), n, &st, uid, gid, chown_it, fx) == -1)
                failed(fx);
            sub = openat(dirfd(d), n,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub == -1 || fix_dir(sub, uid, gid, chown_it, fx,
                                     depth + 1) == -1)
                e = errno;
        } else if (S_ISREG(st.st_mode)) {
            fx->files++;
            if (fix_one(dirfd(d), n, &st, uid, gid, chown_it, fx) == -1)
                failed(fx);
        } else {
            fx->skipped++; /* a link, a fifo: never followed or changed */
        }
    }
    if (!e && errno)
        e = errno;
    closedir(d);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/*
 * vfs_fixtree - path and everything below it: directories 700, files
 * 600, owner uid:gid when chown_it (what the seeds' chown -R and chmod
 * loop meant to do, without following links or touching anything but
 * directories and plain files).  An entry that cannot be changed is
 * counted in fx->failed and the walk goes on.  Counts in *fx.  0, or -1
 * with errno when the tree cannot be walked.
 */
int
vfs_fixtree(const char *path, uid_t uid, gid_t gid, bool chown_it,
            struct vfs_fix *fx)
{
    struct stat st;
    int fd;

    memset(fx, 0, sizeof *fx);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1)
        return -1;
    if (fstat(fd, &st) == -1) {
        close(fd);
        return -1;
    }
    fx->dirs++;
    if ((chown_it && (st.st_uid != uid || st.st_gid != gid) &&
         fchown(fd, uid, gid) == -1) ||
        ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) == -1)) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    if ((chown_it && (st.st_uid != uid || st.st_gid != gid)) ||
        (st.st_mode & 07777) != 0700)
        fx->changed++;
    return fix_dir(fd, uid, gid, chown_it, fx, 0);
}
