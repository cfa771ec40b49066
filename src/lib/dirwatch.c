/* SPDX-License-Identifier: ISC */
/*
 * dirwatch - change detection for one directory (see dirwatch.h).
 */
#include <errno.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "dirwatch.h"

#define EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | \
                IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF |   \
                IN_MOVE_SELF)

/*
 * dirwatch_open - start watching dir.  Returns the handle (an fd), or -1
 * with errno; -1 is also a valid argument to dirwatch_changed (always
 * true), so a caller may ignore the failure.
 */
int
dirwatch_open(const char *dir)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

    if (fd == -1)
        return -1;
    if (inotify_add_watch(fd, dir, EVENTS) == -1) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/*
 * dirwatch_changed - true when something happened in the directory since
 * dirwatch_open or the last call (or when that cannot be known); reads
 * every pending event, so the next call starts afresh.
 */
bool
dirwatch_changed(int fd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool changed = false;

    if (fd == -1)
        return true;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);

        if (n > 0) {
            changed = true;
            continue;
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN)
            return changed;
        return true; /* an error, or EOF: cannot know */
    }
}

/* dirwatch_close - stop watching (fd may be -1). */
void
dirwatch_close(int fd)
{
    if (fd != -1)
        close(fd);
}
