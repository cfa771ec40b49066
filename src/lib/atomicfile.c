/* SPDX-License-Identifier: ISC */
/*
 * atomicfile - temp, fsync, rename, fsync the directory (atomicfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "writeall.h"

/* atomicfile_syncdir - fsync directory dir (its renames are then
 * durable).  0, or -1 with errno. */
int
atomicfile_syncdir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r;

    if (fd == -1)
        return -1;
    r = fsync(fd);
    close(fd);
    return r;
}

/* sync_parent - fsync the directory holding path. */
static int
sync_parent(const char *path)
{
    char *copy = strdup(path);
    int r;

    if (!copy)
        return -1;
    r = atomicfile_syncdir(dirname(copy));
    free(copy);
    return r;
}

/*
 * atomicfile_write - PATH's new contents p[0..n), mode mode, owner
 * uid:gid (ATOMICFILE_KEEP: the writer's; a chown refused to a non-root
 * writer is not an error, as it cannot give files away).  Returns 0, or
 * -1 with errno; on failure PATH is as it was and no temporary is left.
 */
int
atomicfile_write(const char *path, const void *p, size_t n, mode_t mode,
                 uid_t uid, gid_t gid)
{
    struct bstr tmp = BSTR_INIT;
    int fd = -1, e;

    {
        /* DIR/.NAME.tmp.PID: a leftover of a crash has a name no reader
         * takes for a file of its own (qmail-local would take a
         * .qmail-NAME.tmp.PID for the address NAME.tmp.PID) */
        const char *slash = strrchr(path, '/');
        size_t dl = slash ? (size_t)(slash - path + 1) : 0;

        if (bstr_catf(&tmp, "%.*s.%s.tmp.%ld", (int)dl, path, path + dl,
                      (long)getpid()) == -1)
            return -1;
    }
    fd = open(tmp.s, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
              0600);
    if (fd == -1)
        goto fail;
    if (uid != ATOMICFILE_KEEP && fchown(fd, uid, gid) == -1 && geteuid() == 0)
        goto fail;
    /* the mode after the owner: chown clears set-id bits */
    if (fchmod(fd, mode) == -1 || write_all(fd, p, n) == -1 || fsync(fd) == -1)
        goto fail;
    e = close(fd);
    fd = -1;
    if (e == -1 || rename(tmp.s, path) == -1)
        goto fail;
    bstr_free(&tmp);
    return sync_parent(path);
fail:
    e = errno;
    if (fd != -1)
        close(fd);
    unlink(tmp.s);
    bstr_free(&tmp);
    errno = e;
    return -1;
}
