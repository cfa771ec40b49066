/* SPDX-License-Identifier: ISC */
/*
 * lock - bounded flock and dot-locks (see lock.h).
 *
 * The dot-lock is created with O_EXCL, which is atomic on every local
 * filesystem (and on NFSv3 and later).  Its content is the holder's pid,
 * for people; only its existence and its age matter to us.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "datetime.h"
#include "lock.h"

#define LOCK_POLL_MS 100

static void
nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/*
 * lock_ex_wait - take an exclusive flock on fd, waiting at most seconds.
 * Returns 0, or -1 with errno (ETIMEDOUT when someone kept it).
 */
int
lock_ex_wait(int fd, unsigned seconds)
{
    long long deadline = datetime_mono_ms() + (long long)seconds * 1000;

    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (datetime_mono_ms() >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        nap(LOCK_POLL_MS);
    }
}

/*
 * lock_dot - create path.lock, waiting at most seconds for another
 * holder; name receives the lock's path for lock_dot_release.
 * Returns 1 locked; 0 when the directory does not let us make one (no
 * write permission, read-only filesystem: the caller goes on with flock
 * alone, as mail delivery agents do); -1 with errno (ETIMEDOUT, ENOMEM).
 */
int
lock_dot(const char *path, unsigned seconds, struct bstr *name)
{
    long long deadline = datetime_mono_ms() + (long long)seconds * 1000;
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());

    if (bstr_copys(name, path) == -1 || bstr_cats(name, ".lock") == -1)
        return -1;
    for (;;) {
        struct stat st;
        int fd = open(name->s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                                   O_NOFOLLOW, 0644);

        if (fd != -1) {
            /* the pid is a courtesy: a short write changes nothing */
            if (write(fd, pid, (size_t)n) < 0) {
                /* ignored on purpose */
            }
            close(fd);
            return 1;
        }
        if (errno == EACCES || errno == EPERM || errno == EROFS) {
            bstr_truncate(name, 0);
            return 0;
        }
        if (errno != EEXIST && errno != EINTR)
            return -1;
        if (lstat(name->s, &st) == 0 &&
            time(NULL) - st.st_mtime > LOCK_DOT_STALE) {
            unlink(name->s); /* left by a dead process */
            continue;
        }
        if (datetime_mono_ms() >= deadline) {
            errno = ETIMEDOUT;
            return -1;
        }
        nap(LOCK_POLL_MS);
    }
}

/* lock_dot_release - remove a dot-lock made by lock_dot (if any). */
void
lock_dot_release(struct bstr *name)
{
    if (name->len)
        unlink(name->s);
    bstr_truncate(name, 0);
}
