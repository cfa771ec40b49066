/* SPDX-License-Identifier: ISC */
/*
 * preline - feed the message to a command with qmail-local's lines on
 * top: preline [ -dfr ] command [ arg ... ]
 *
 * Writes $UFLINE (unless -f), $RPLINE (unless -r) and $DTLINE (unless
 * -d), then the message, into command's stdin, for programs (procmail,
 * filters writing mbox files) that expect them.  Exits with command's
 * exit code; 111 when it crashed or could not be run; 100 for a usage
 * error.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"
#include "log.h"
#include "outcome.h"
#include "writeall.h"

static bool
put(int fd, const char *p, size_t n)
{
    /* false: the command stopped reading, and its exit decides */
    return write_all(fd, p, n) == 0;
}

static const char *
need(const char *name)
{
    const char *v = getenv(name);

    if (!v)
        log_die(EXIT_TEMP, "%s not set", name);
    return v;
}

int
main(int argc, char **argv)
{
    bool dt = true, uf = true, rp = true, ok = true;
    const char *ufline = NULL, *rpline = NULL, *dtline = NULL;
    char buf[65536];
    int pfd[2], opt, status;
    pid_t pid;

    log_init("preline");
    signal(SIGPIPE, SIG_IGN);
    while ((opt = getopt(argc, argv, "+dfr")) != -1)
        switch (opt) {
        case 'd':
            dt = false;
            break;
        case 'f':
            uf = false;
            break;
        case 'r':
            rp = false;
            break;
        default:
            log_die(EXIT_PERM, "usage: preline [ -dfr ] command [ arg ... ]");
        }
    if (optind >= argc)
        log_die(EXIT_PERM, "usage: preline [ -dfr ] command [ arg ... ]");
    if (uf)
        ufline = need("UFLINE");
    if (rp)
        rpline = need("RPLINE");
    if (dt)
        dtline = need("DTLINE");
    if (pipe(pfd) == -1)
        log_die_sys(EXIT_TEMP, "unable to create a pipe");
    pid = fork();
    if (pid == -1)
        log_die_sys(EXIT_TEMP, "unable to fork");
    if (pid == 0) {
        close(pfd[1]);
        if (dup2(pfd[0], 0) == -1)
            _exit(EXIT_TEMP);
        close(pfd[0]);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[optind], argv + optind);
        log_die_sys(outcome_errno_temp(errno) ? EXIT_TEMP : EXIT_PERM,
                    "unable to run %s", argv[optind]);
    }
    close(pfd[0]);
    if (ufline)
        ok = put(pfd[1], ufline, strlen(ufline));
    if (ok && rpline)
        ok = put(pfd[1], rpline, strlen(rpline));
    if (ok && dtline)
        ok = put(pfd[1], dtline, strlen(dtline));
    while (ok) {
        ssize_t r = read(0, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            kill(pid, SIGTERM); /* half a message must not count */
            close(pfd[1]);
            waitpid(pid, &status, 0);
            log_die_sys(EXIT_TEMP, "unable to read message");
        }
        if (r == 0)
            break;
        ok = put(pfd[1], buf, (size_t)r);
    }
    close(pfd[1]);
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            log_die_sys(EXIT_TEMP, "unable to wait for %s",
                        argv[optind]);
    if (!WIFEXITED(status))
        log_die(EXIT_TEMP, "%s crashed", argv[optind]);
    return WEXITSTATUS(status);
}
