/* SPDX-License-Identifier: ISC */
/*
 * pipeto - run a program with a prefix, then our standard input, as its
 * standard input: what predate and mailsubj do (and the shell pipelines
 * they were in qmail).  If our input fails half way, the child is
 * killed before it sees end of file, so it never takes a truncated
 * message for a whole one (qmail-inject killed mid-message queues
 * nothing).  A child that stops reading early is its own business: its
 * exit code says what happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"
#include "writeall.h"

extern char **environ;

static int
reap(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) == -1)
        if (errno != EINTR)
            return -1;
    return 0;
}

/*
 * inject_pipeto - run argv (looked up in PATH when search) with prefix
 * and then fd 0 on its standard input; SIGPIPE must be ignored.
 * Returns the child's exit code; -1 with errno and *why when it could
 * not be started or our input could not be read (the child was killed
 * then); -2 when it died of a signal.
 */
int
inject_pipeto(char *const argv[], bool search, const char *prefix,
              size_t len, const char **why)
{
    posix_spawn_file_actions_t fa;
    static char buf[65536];
    bool gone = false;
    int p[2], e, status;
    pid_t pid;

    *why = NULL;
    if (pipe2(p, O_CLOEXEC) == -1) {
        *why = "unable to make a pipe";
        return -1;
    }
    e = posix_spawn_file_actions_init(&fa);
    if (!e)
        e = posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    if (!e)
        e = (search ? posix_spawnp : posix_spawn)(&pid, argv[0], &fa, NULL,
                                                  argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[0]);
    if (e) {
        close(p[1]);
        errno = e;
        *why = "unable to run";
        return -1;
    }
    if (write_all(p[1], prefix, len) == -1)
        gone = true;
    while (!gone) {
        ssize_t r = read(0, buf, sizeof buf);

        if (r == 0)
            break;
        if (r == -1) {
            if (errno == EINTR)
                continue;
            e = errno;
            kill(pid, SIGTERM);
            close(p[1]);
            reap(pid, &status);
            errno = e;
            *why = "unable to read the input";
            return -1;
        }
        if (write_all(p[1], buf, (size_t)r) == -1)
            gone = true;
    }
    close(p[1]);
    if (reap(pid, &status) == -1) {
        *why = "unable to wait for";
        return -1;
    }
    if (!WIFEXITED(status))
        return -2;
    return WEXITSTATUS(status);
}
