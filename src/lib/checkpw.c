/* SPDX-License-Identifier: ISC */
/* checkpw - a checkpassword program's run, conversation and verdict
 * (see checkpw.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpw.h"
#include "deadline.h"
#include "writeall.h"

/* child - the checkpassword program with rfd as its fd 3 and, in the
 * conversation mode, AUTHMECH=mech in its environment. */
static void
child(char *const argv[], int rfd, const char *mech)
{
    int null = open("/dev/null", O_RDWR);

    if (null == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
        (rfd != 3 && dup2(rfd, 3) == -1))
        _exit(111);
    if (null > 3)
        close(null);
    if (rfd != 3)
        close(rfd);
    else if (fcntl(3, F_SETFD, 0) == -1)
        _exit(111);
    if (mech ? setenv("AUTHMECH", mech, 1) == -1 : unsetenv("AUTHMECH") == -1)
        _exit(111);
    execvp(argv[0], argv);
    _exit(111); /* as checkpassword itself: cannot run the next one */
}

/*
 * reap - wait for pid's end until deadline (then kill it): 0 with the
 * verdict, or -1 with errno (the child is killed and reaped).
 */
static int
reap(pid_t pid, long long deadline, enum checkpw_verdict *v, int *status)
{
    int w, e, pfd;

    /* the child's end or the timeout in one poll: its pidfd becomes
     * readable when it exits */
    pfd = pidfd_open(pid, 0);
    if (pfd == -1)
        goto fail;
    for (;;) {
        pid_t r = waitpid(pid, &w, WNOHANG);

        if (r == pid)
            break;
        if (r == -1 && errno != EINTR)
            goto fail;
        if (r == -1)
            continue;
        if (deadline_wait(pfd, POLLIN, deadline) == -1) {
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

/* checkpw_run - the classic interface: data on a pipe (checkpw.h). */
int
checkpw_run(char *const argv[], const char *data, size_t len, unsigned timeout,
            enum checkpw_verdict *v, int *status)
{
    int p[2], e;
    pid_t pid;

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
        child(argv, p[0], NULL);
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
    return reap(pid, deadline_in((long long)timeout * 1000), v, status);
}

/* ---- the conversation mode --------------------------------------------- */

/* checkpw_start - the child on a socketpair, AUTHMECH=mech (checkpw.h). */
int
checkpw_start(struct checkpw_conv *c, char *const argv[], const char *mech,
              unsigned timeout)
{
    int sv[2], e;

    c->pid = -1;
    c->fd = -1;
    c->timeout = timeout;
    bstr_truncate(&c->in, 0);
    if (argv == NULL || argv[0] == NULL || mech == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
        return -1;
    c->pid = fork();
    if (c->pid == -1) {
        e = errno;
        close(sv[0]);
        close(sv[1]);
        errno = e;
        return -1;
    }
    if (c->pid == 0) {
        close(sv[0]);
        child(argv, sv[1], mech);
    }
    close(sv[1]);
    c->fd = sv[0];
    return 0;
}

/* checkpw_send - msg and its NUL: 0, or -1 (checkpw.h). */
int
checkpw_send(int fd, const char *msg, size_t len)
{
    if (memchr(msg, '\0', len)) {
        errno = EINVAL;
        return -1;
    }
    /* a peer that went away is EPIPE, not a signal (MSG_NOSIGNAL) */
    if (write_all_until(fd, msg, len, DEADLINE_NONE) == -1 ||
        write_all_until(fd, "", 1, DEADLINE_NONE) == -1)
        return -1;
    return 0;
}

/* checkpw_recv - the next NUL-ended message: 1, 0 at the end, -1. */
int
checkpw_recv(int fd, struct bstr *in, struct bstr *msg, size_t max,
             long long deadline)
{
    for (;;) {
        const char *nul = in->len ? memchr(in->s, '\0', in->len) : NULL;
        char buf[1024];
        ssize_t r;

        if (nul) {
            size_t n = (size_t)(nul - in->s);

            if (n > max) {
                errno = EMSGSIZE;
                return -1;
            }
            if (bstr_copyb(msg, in->s, n) == -1)
                return -1;
            memmove(in->s, nul + 1, in->len - n - 1);
            bstr_truncate(in, in->len - n - 1);
            return 1;
        }
        if (in->len > max) {
            errno = EMSGSIZE;
            return -1;
        }
        r = deadline_read(fd, buf, sizeof buf, deadline);
        if (r == -1 && errno == ETIMEDOUT)
            return -1;
        /* a peer that exits leaving our last message unread resets the
         * connection: for us that is its end all the same */
        if (r == -1 && errno == ECONNRESET)
            r = 0;
        if (r == -1)
            return -1;
        if (r == 0) {
            if (in->len == 0)
                return 0;
            errno = EPROTO;
            return -1;
        }
        if (bstr_catb(in, buf, (size_t)r) == -1)
            return -1;
    }
}

/* checkpw_finish - close, wait for the verdict: 0, or -1. */
int
checkpw_finish(struct checkpw_conv *c, enum checkpw_verdict *v, int *status)
{
    pid_t pid = c->pid;

    if (c->fd != -1)
        close(c->fd);
    c->fd = -1;
    c->pid = -1;
    if (c->in.s)
        explicit_bzero(c->in.s, c->in.cap);
    bstr_free(&c->in);
    if (pid == -1) {
        errno = ECHILD;
        return -1;
    }
    return reap(pid, deadline_in((long long)c->timeout * 1000), v,
                status);
}

/* checkpw_kill - give the conversation up: kill and reap. */
void
checkpw_kill(struct checkpw_conv *c)
{
    int w;

    if (c->pid != -1) {
        kill(c->pid, SIGKILL);
        while (waitpid(c->pid, &w, 0) == -1 && errno == EINTR)
            ;
    }
    if (c->fd != -1)
        close(c->fd);
    c->fd = -1;
    c->pid = -1;
    if (c->in.s)
        explicit_bzero(c->in.s, c->in.cap);
    bstr_free(&c->in);
}
