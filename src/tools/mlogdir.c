/* SPDX-License-Identifier: ISC */
/*
 * mlogdir - a multilog directory on disk (see mlogdir.h).
 *
 * Crash safety follows daemontools: a file is only ever archived by
 * giving it a second name (link) and then removing the first, so after a
 * crash at any point every byte is still under some name; the restart
 * (mlogdir_recover) turns what it finds into archives.  A current left
 * with mode 0744 was closed cleanly and is appended to; one left 0644
 * was being written when multilog died and becomes @<label>.u.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mlogdir.h"

/* why - note what failed (errno is kept) and return -1. */
static int
why(struct mlogdir *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int
why(struct mlogdir *d, const char *fmt, ...)
{
    int e = errno;
    va_list ap;

    bstr_truncate(&d->why, 0);
    va_start(ap, fmt);
    if (bstr_vcatf(&d->why, fmt, ap) == -1)
        bstr_truncate(&d->why, 0);
    va_end(ap);
    errno = e;
    return -1;
}

/* mlogdir_init - a directory not yet opened, with its settings. */
void
mlogdir_init(struct mlogdir *d, const struct mlog_dirconf *conf)
{
    d->conf = conf;
    d->dirfd = d->lockfd = d->curfd = -1;
    d->bytes = 0;
    d->phase = MLOGDIR_IDLE;
    d->pid = -1;
    d->why = (struct bstr)BSTR_INIT;
}

/*
 * mlogdir_open - create the directory if needed (mode 0700, as
 * daemontools; lock is created 0600 as there), open it and take its
 * lock, relative to startfd.  A
 * directory another multilog holds fails with EWOULDBLOCK.
 */
int
mlogdir_open(struct mlogdir *d, int startfd)
{
    const char *path = d->conf->path;

    if (mkdirat(startfd, path, 0700) == -1 && errno != EEXIST)
        return why(d, "unable to create directory %s", path);
    d->dirfd = openat(startfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d->dirfd == -1)
        return why(d, "unable to open directory %s", path);
    d->lockfd = openat(d->dirfd, "lock",
                       O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (d->lockfd == -1)
        return why(d, "unable to open %s/lock", path);
    if (flock(d->lockfd, LOCK_EX | LOCK_NB) == -1)
        return why(d, "unable to lock directory %s", path);
    return 0;
}

/* open_current - open current for appending, mode 0644: being written. */
static int
open_current(struct mlogdir *d)
{
    int fd = openat(d->dirfd, "current",
                    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

    if (fd == -1)
        return why(d, "unable to create %s/current", d->conf->path);
    if (fchmod(fd, 0644) == -1) {
        why(d, "unable to set mode of %s/current", d->conf->path);
        close(fd);
        return -1;
    }
    d->curfd = fd;
    return 0;
}

/* unlink_quiet - remove name if it is there: stale state is harmless. */
static void
unlink_quiet(struct mlogdir *d, const char *name)
{
    (void)unlinkat(d->dirfd, name, 0);
}

/*
 * mlogdir_recover - make the directory ready after a start, as
 * daemontools does: a cleanly closed current (mode 0744) is reopened
 * and appended to.  Otherwise the last run ended in an outage: what a
 * processor had finished becomes @<label>.s, an unprocessed previous
 * and the old current become @<label>.u, the processor starts from an
 * empty state, and a new current is created.  Safe to call again after
 * a failure.
 */
int
mlogdir_recover(struct mlogdir *d)
{
    const char *path = d->conf->path;
    bool processed = false;
    struct stat st;
    int fd;

    if (fstatat(d->dirfd, "current", &st, 0) == 0) {
        if (st.st_mode & S_IXUSR) {
            if (open_current(d) == -1)
                return -1;
            d->bytes = (unsigned long)st.st_size;
            return 0;
        }
    } else if (errno != ENOENT) {
        return why(d, "unable to stat %s/current", path);
    }
    unlink_quiet(d, "state");
    unlink_quiet(d, "newstate");
    if (fstatat(d->dirfd, "processed", &st, 0) == 0)
        processed = (st.st_mode & S_IXUSR) != 0;
    else if (errno != ENOENT)
        return why(d, "unable to stat %s/processed", path);
    if (processed) {
        /* the processor finished: its output is the archive */
        unlink_quiet(d, "previous");
        if (mlogdir_finish(d, "processed", 's') == -1)
            return -1;
    } else {
        unlink_quiet(d, "processed");
        if (mlogdir_finish(d, "previous", 'u') == -1)
            return -1;
    }
    if (mlogdir_finish(d, "current", 'u') == -1)
        return -1;
    fd = openat(d->dirfd, "state", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                0644);
    if (fd == -1)
        return why(d, "unable to write to %s/state", path);
    close(fd);
    if (open_current(d) == -1)
        return -1;
    d->bytes = 0;
    return 0;
}

/*
 * mlogdir_write - one attempt to append buf[0..len) to current.  Returns
 * the number of bytes written (maybe fewer than len: the rest is the
 * caller's to retry) or -1.  Nothing is ever written twice: O_APPEND and
 * counting only what write(2) reports.
 */
ssize_t
mlogdir_write(struct mlogdir *d, const char *buf, size_t len)
{
    ssize_t w;

    if (len == 0)
        return 0;
    w = write(d->curfd, buf, len);
    if (w == 0) {
        errno = EIO;
        w = -1;
    }
    if (w == -1)
        return why(d, "unable to write to %s/current", d->conf->path);
    d->bytes += (unsigned long)w;
    return w;
}

/*
 * mlogdir_prune - remove the oldest archives so that at most num - 1
 * remain beside current (daemontools counts every name of 25 or more
 * bytes starting with '@').
 */
int
mlogdir_prune(struct mlogdir *d)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int fd, e = 0;
    DIR *dir;

    fd = openat(d->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1)
        return why(d, "unable to read %s", d->conf->path);
    if (!(dir = fdopendir(fd))) {
        why(d, "unable to read %s", d->conf->path);
        close(fd);
        return -1;
    }
    for (;;) {
        errno = 0;
        if (!(de = readdir(dir))) {
            e = errno;
            break;
        }
        if (!mlog_is_archive(de->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 32;
            char **nn = realloc(names, ncap * sizeof *names);

            if (!nn) {
                e = ENOMEM;
                break;
            }
            names = nn;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) {
            e = ENOMEM;
            break;
        }
        n++;
    }
    if (e) {
        errno = e;
        why(d, "unable to read %s", d->conf->path);
    } else {
        size_t k;

        mlog_sort_names(names, n);
        k = names ? mlog_prune_count(n, d->conf->num) : 0;
        for (size_t i = 0; i < k; i++)
            if (unlinkat(d->dirfd, names[i], 0) == -1 && errno != ENOENT) {
                e = errno;
                why(d, "unable to remove %s/%s", d->conf->path, names[i]);
                break;
            }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(dir);
    errno = e;
    return e ? -1 : 0;
}

/*
 * mlogdir_finish - archive file as @<now>.<code>: a second name first,
 * then the old one goes, then old archives beyond the count.  A file
 * that already has two names was linked by an earlier attempt and is
 * only unlinked.  A missing file is not an error (nothing to archive).
 */
int
mlogdir_finish(struct mlogdir *d, const char *file, char code)
{
    char name[MLOG_ARCHIVE_LEN + 1];
    struct stat st;

    if (fstatat(d->dirfd, file, &st, AT_SYMLINK_NOFOLLOW) == -1) {
        if (errno == ENOENT)
            return 0;
        return why(d, "unable to stat %s/%s", d->conf->path, file);
    }
    if (st.st_nlink == 1)
        for (int tries = 0;; tries++) {
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            mlog_archive_name(name, &ts, code);
            if (linkat(d->dirfd, file, d->dirfd, name, 0) == 0)
                break;
            if (errno != EEXIST || tries == 100)
                return why(d, "unable to link %s/%s to %s", d->conf->path,
                           file, name);
        }
    if (unlinkat(d->dirfd, file, 0) == -1 && errno != ENOENT)
        return why(d, "unable to remove %s/%s", d->conf->path, file);
    return mlogdir_prune(d);
}

/*
 * run_processor - in the child: previous on stdin, processed on stdout,
 * state on descriptor 4, newstate on 5, the log directory as cwd, the
 * signals multilog changed back to their defaults; then sh -c.
 */
static void __attribute__((noreturn))
run_processor(struct mlogdir *d)
{
    static const struct {
        const char *name;
        int flags, target;
    } files[] = {
        {"previous", O_RDONLY, 0},
        {"processed", O_WRONLY | O_CREAT | O_TRUNC, 1},
        {"state", O_RDONLY | O_CREAT, 4}, /* missing: an empty state */
        {"newstate", O_WRONLY | O_CREAT | O_TRUNC, 5},
    };
    int fds[4];
    sigset_t none;

    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (fchdir(d->dirfd) == -1) {
        log_line("warning: unable to switch to %s: %s", d->conf->path,
                 strerror(errno));
        _exit(111);
    }
    /* open everything above the targets first, then move into place */
    for (size_t i = 0; i < 4; i++) {
        int fd = open(files[i].name, files[i].flags | O_CLOEXEC, 0644);

        if (fd != -1) {
            fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 10);
            close(fd);
        } else {
            fds[i] = -1;
        }
        if (fds[i] == -1) {
            log_line("warning: unable to open %s/%s for the processor: %s",
                     d->conf->path, files[i].name, strerror(errno));
            _exit(111);
        }
    }
    for (size_t i = 0; i < 4; i++)
        if (dup2(fds[i], files[i].target) == -1) {
            log_line("warning: unable to set up the processor in %s: %s",
                     d->conf->path, strerror(errno));
            _exit(111);
        }
    execl("/bin/sh", "sh", "-c", d->conf->processor, (char *)NULL);
    log_line("warning: unable to run /bin/sh for the processor in %s: %s",
             d->conf->path, strerror(errno));
    _exit(111);
}

/* sync_file - open name (creating it), fsync it, optionally chmod it. */
static int
sync_file(struct mlogdir *d, const char *name, mode_t mode)
{
    int fd = openat(d->dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                    0600);

    if (fd == -1)
        return why(d, "unable to create %s/%s", d->conf->path, name);
    if (fsync(fd) == -1) {
        why(d, "unable to write %s/%s to disk", d->conf->path, name);
        close(fd);
        return -1;
    }
    if (mode && fchmod(fd, mode) == -1) {
        why(d, "unable to set mode of %s/%s", d->conf->path, name);
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/*
 * mlogdir_rotate - finish current and start a new one: fsync, rename to
 * previous, create current, mark previous complete, run the processor
 * if there is one, archive the result as @<label>.s, remove the oldest
 * archives, fsync the directory.  Returns 0 when done, or -1 with the
 * step kept in d->phase for the next call.  A processor that fails
 * (errno 0) is run again from the start of previous on the next call.
 */
int
mlogdir_rotate(struct mlogdir *d)
{
    const char *path = d->conf->path;
    int wstat;

    if (d->phase == MLOGDIR_IDLE)
        d->phase = MLOGDIR_SYNC;
    for (;;)
        switch (d->phase) {
        case MLOGDIR_IDLE:
            return 0;
        case MLOGDIR_SYNC:
            if (fsync(d->curfd) == -1)
                return why(d, "unable to write %s/current to disk", path);
            close(d->curfd);
            d->curfd = -1;
            d->phase = MLOGDIR_RENAME;
            break;
        case MLOGDIR_RENAME:
            if (renameat(d->dirfd, "current", d->dirfd, "previous") == -1)
                return why(d, "unable to rename %s/current to previous",
                           path);
            d->phase = MLOGDIR_CREATE;
            break;
        case MLOGDIR_CREATE:
            if (open_current(d) == -1)
                return -1;
            d->bytes = 0;
            d->phase = MLOGDIR_MARK;
            break;
        case MLOGDIR_MARK:
            if (fchmodat(d->dirfd, "previous", 0744, 0) == -1)
                return why(d, "unable to set mode of %s/previous", path);
            d->phase = d->conf->processor ? MLOGDIR_RUN : MLOGDIR_FINISH;
            break;
        case MLOGDIR_RUN:
            d->pid = fork();
            if (d->pid == -1)
                return why(d, "unable to fork for the processor in %s", path);
            if (d->pid == 0)
                run_processor(d);
            d->phase = MLOGDIR_WAIT;
            break;
        case MLOGDIR_WAIT:
            if (waitpid(d->pid, &wstat, 0) == -1) {
                if (errno == EINTR)
                    return -1;
                d->phase = MLOGDIR_RUN;
                return why(d, "wait failed for the processor in %s", path);
            }
            if (!WIFEXITED(wstat) || WEXITSTATUS(wstat) != 0) {
                d->phase = MLOGDIR_RUN;
                errno = 0;
                if (WIFSIGNALED(wstat))
                    return why(d, "processor crashed in %s (signal %d)", path,
                               WTERMSIG(wstat));
                return why(d, "processor failed in %s (exit %d)", path,
                           WIFEXITED(wstat) ? WEXITSTATUS(wstat) : -1);
            }
            d->phase = MLOGDIR_SAVE;
            break;
        case MLOGDIR_SAVE:
            if (sync_file(d, "processed", 0744) == -1)
                return -1;
            d->phase = MLOGDIR_NEWSTATE;
            break;
        case MLOGDIR_NEWSTATE:
            if (sync_file(d, "newstate", 0) == -1)
                return -1;
            d->phase = MLOGDIR_DROP;
            break;
        case MLOGDIR_DROP:
            if (unlinkat(d->dirfd, "previous", 0) == -1 && errno != ENOENT)
                return why(d, "unable to remove %s/previous", path);
            d->phase = MLOGDIR_STATE;
            break;
        case MLOGDIR_STATE:
            if (renameat(d->dirfd, "newstate", d->dirfd, "state") == -1)
                return why(d, "unable to rename %s/newstate to state", path);
            d->phase = MLOGDIR_FINISH;
            break;
        case MLOGDIR_FINISH:
            if (mlogdir_finish(d, d->conf->processor ? "processed"
                                                     : "previous",
                               's') == -1)
                return -1;
            d->phase = MLOGDIR_DIRSYNC;
            break;
        case MLOGDIR_DIRSYNC:
            if (fsync(d->dirfd) == -1 && errno != EINVAL)
                return why(d, "unable to write directory %s to disk", path);
            d->phase = MLOGDIR_IDLE;
            return 0;
        }
}

/*
 * mlogdir_close - the end of a clean run: current to disk, then mode
 * 0744, which tells the next multilog it may append to it.
 */
int
mlogdir_close(struct mlogdir *d)
{
    if (d->curfd == -1)
        return 0;
    if (fsync(d->curfd) == -1)
        return why(d, "unable to write %s/current to disk", d->conf->path);
    if (fchmod(d->curfd, 0744) == -1)
        return why(d, "unable to set mode of %s/current", d->conf->path);
    return 0;
}

/* mlogdir_free - close the descriptors (releasing the lock). */
void
mlogdir_free(struct mlogdir *d)
{
    if (d->curfd != -1)
        close(d->curfd);
    if (d->lockfd != -1)
        close(d->lockfd);
    if (d->dirfd != -1)
        close(d->dirfd);
    d->curfd = d->lockfd = d->dirfd = -1;
    bstr_free(&d->why);
}
