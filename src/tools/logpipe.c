/* SPDX-License-Identifier: ISC */
/*
 * logpipe - run a program with its output going to multilog, for a
 * service manager that has no log pipe of its own (systemd units).
 *
 *   logpipe [-u user] logdir program [arg...]
 *
 * What daemontools' supervise does with a service's log/ directory, in
 * one process: a pipe, "multilog t logdir" reading it (as user, e.g.
 * qmaill), and program exec'd in logpipe's place with its stdout and
 * stderr on the pipe.  The program keeps logpipe's pid, so a service
 * manager's signals reach it (tcpserver, qmail-start).  multilog is
 * started in a grandchild that is left to the service manager (or init)
 * to reap, so the program never sees a child it did not make.  multilog
 * ends when the last writer (the program and its children) has closed
 * the pipe: lines written before a stop are not lost.
 * Exit codes: 100 usage, 111 when the pipe, the fork, the user, multilog
 * or the program cannot be had.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "outcome.h"
#include "priv.h"

static void __attribute__((noreturn))
usage(void)
{
    log_die(EXIT_PERM, "usage: logpipe [-u user] logdir program [arg...]");
}

/* logger - the grandchild: multilog t logdir on the pipe's read end,
 * as uid/gid when user is set. */
static void __attribute__((noreturn))
logger(int rfd, const char *prog, const char *user, uid_t uid, gid_t gid,
       const char *dir)
{
    if (dup2(rfd, 0) == -1)
        log_die_sys(EXIT_TEMP, "unable to set up the log pipe");
    close(rfd);
    if (user && priv_drop(uid, gid) == -1)
        log_die_sys(EXIT_TEMP, "unable to become %s", user);
    execl(prog, "multilog", "t", dir, (char *)NULL);
    log_die_sys(EXIT_TEMP, "unable to run %s", prog);
}

int
main(int argc, char **argv)
{
    const char *user = NULL;
    char prog[PATH_MAX];
    uid_t uid = 0;
    gid_t gid = 0;
    int p[2], st, c;
    pid_t pid;

    log_init("logpipe");
    while ((c = getopt(argc, argv, "+u:")) != -1) {
        if (c != 'u')
            usage();
        user = optarg;
    }
    if (argc - optind < 2 || argv[optind][0] != '/')
        usage();
    if (user && geteuid() != 0)
        log_die(EXIT_PERM, "-u needs root");
    /* what the logger needs is had here, so that a wrong user or tree
     * fails the start instead of leaving the program without a log */
    if (user && (c = priv_user(user, &uid, &gid)) != 1)
        log_die(EXIT_TEMP, "%s user %s", c == 0 ? "no" : "unable to look up",
                user);
    if ((size_t)snprintf(prog, sizeof prog, "%s/bin/multilog",
                         priv_home()) >= sizeof prog)
        log_die(EXIT_TEMP, "QMAIL_HOME is too long");
    if (access(prog, X_OK) == -1)
        log_die_sys(EXIT_TEMP, "unable to run %s", prog);
    if (pipe(p) == -1)
        log_die_sys(EXIT_TEMP, "unable to make a pipe");
    pid = fork();
    if (pid == -1)
        log_die_sys(EXIT_TEMP, "unable to fork");
    if (pid == 0) {
        close(p[1]);
        pid = fork();
        if (pid == -1)
            log_die_sys(EXIT_TEMP, "unable to fork");
        if (pid == 0)
            logger(p[0], prog, user, uid, gid, argv[optind]);
        _exit(0);
    }
    close(p[0]);
    while (waitpid(pid, &st, 0) == -1)
        if (errno != EINTR)
            log_die_sys(EXIT_TEMP, "unable to wait for the logger");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        log_die(EXIT_TEMP, "unable to start the logger");
    if (dup2(p[1], 1) == -1 || dup2(p[1], 2) == -1)
        log_die_sys(EXIT_TEMP, "unable to set up the log pipe");
    close(p[1]);
    execvp(argv[optind + 1], argv + optind + 1);
    log_die_sys(EXIT_TEMP, "unable to run %s", argv[optind + 1]);
}
