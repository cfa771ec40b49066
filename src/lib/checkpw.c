/* SPDX-License-Identifier: ISC */
/* checkpw - a checkpassword program's run and verdict (see checkpw.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpw.h"
#include "datetime.h"
#include "iob.h"
#include "writeall.h"

static void
child(char *const argv[], int rfd)
{
    int null = open("/dev/null", O_RDWR);

    if (null == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
        (rfd != 3 && dup2(rfd, 3) == -1))
        _exit(111);
    if (null > 3)
        close(null);
    if (rfd != 3)
        close(rfd);
    execvp(argv[0], argv);
    _exit(111); /* as checkpassword itself: cannot run the next one */
}

int
checkpw_run(char *const argv[], const char *data, size_t len,
            unsigned timeout, enum checkpw_verdict *v, int *status)
{
    int p[2], w, e, pfd;
    pid_t pid;
    long long deadline;

    if (argv == NULL || argv[0] == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (pipe(p) == -1)
        return -1;
    pid = fork();
    if (pid == -1) {
        e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(p[1]);
        child(argv, p[0]);
    }
    close(p[0]);
    /* a few hundred bytes: the pipe takes them at once; a child that
     * exits without reading is not an error of ours (EPIPE ignored) */
    {
        struct sigaction sa, old;

        sa.sa_handler = SIG_IGN;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        sigaction(SIGPIPE, &sa, &old);
        if (write_all(p[1], data, len) == -1) {
            /* it did not read: its exit says what it thought */
        }
        sigaction(SIGPIPE, &old, NULL);
    }
    close(p[1]);
    /* wait for the child's end, or the timeout, in one poll: its pidfd
     * becomes readable when it exits */
    deadline = datetime_mono_ms() + (long long)timeout * 1000;
    pfd = pidfd_open(pid, 0);
    if (pfd == -1)
        goto fail;
    for (;;) {
        pid_t r = waitpid(pid, &w, WNOHANG);
        int ms;

        if (r == pid)
            break;
        if (r == -1 && errno != EINTR)
            goto fail;
        if (r == -1)
            continue;
        if (iob_limit(-1, deadline, &ms) == -1)
            goto timeout;
        if (iob_poll(pfd, POLLIN, ms) == -1) {
            if (errno == ETIMEDOUT)
                goto timeout;
            goto fail;
        }
    }
    close(pfd);
    if (WIFSIGNALED(w)) {
        *status = -WTERMSIG(w);
        *v = CHECKPW_TEMP;
    } else {
        *status = WEXITSTATUS(w);
        *v = *status == 0                     ? CHECKPW_OK
             : *status == 2 || *status == 111 ? CHECKPW_TEMP
                                              : CHECKPW_REFUSED;
    }
    return 0;
timeout:
    kill(pid, SIGKILL);
    while (waitpid(pid, &w, 0) == -1 && errno == EINTR)
        ;
    close(pfd);
    *status = -1000;
    *v = CHECKPW_TEMP;
    return 0;
fail:
    e = errno;
    kill(pid, SIGKILL);
    while (waitpid(pid, &w, 0) == -1 && errno == EINTR)
        ;
    if (pfd != -1)
        close(pfd);
    errno = e;
    return -1;
}
