/* SPDX-License-Identifier: ISC */
/*
 * qq - the client side of qmail-queue (see qq.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outcome.h"
#include "qq.h"

extern char **environ;

/*
 * qq_open - start prog with a message pipe on fd 0 and an envelope pipe
 * on fd 1.  envp NULL keeps the caller's environment.  Returns 0 or -1.
 */
int
qq_open(struct qq *q, const char *prog, char *const envp[])
{
    int pm[2], pe[2];

    q->pid = -1;
    q->msgfd = q->envfd = -1;
    q->err = false;
    q->bytes = 0;
    if (pipe2(pm, O_CLOEXEC) == -1)
        return -1;
    if (pipe2(pe, O_CLOEXEC) == -1) {
        close(pm[0]);
        close(pm[1]);
        return -1;
    }
    q->pid = fork();
    if (q->pid == -1) {
        close(pm[0]);
        close(pm[1]);
        close(pe[0]);
        close(pe[1]);
        return -1;
    }
    if (q->pid == 0) {
        char *argv[2];

        if (dup2(pm[0], 0) == -1 || dup2(pe[0], 1) == -1)
            _exit(QQ_EXEC);
        signal(SIGPIPE, SIG_DFL);
        argv[0] = (char *)prog;
        argv[1] = NULL;
        execve(prog, argv, envp ? envp : environ);
        _exit(QQ_EXEC);
    }
    close(pm[0]);
    close(pe[0]);
    q->msgfd = pm[1];
    q->envfd = pe[1];
    iob_init(&q->out, q->msgfd, q->buf, sizeof q->buf, NULL, NULL);
    return 0;
}

void
qq_put(struct qq *q, const void *p, size_t n)
{
    if (q->err)
        return;
    if (iob_put(&q->out, p, n) == -1)
        q->err = true;
    q->bytes += n;
}

void
qq_puts(struct qq *q, const char *s)
{
    qq_put(q, s, strlen(s));
}

/* qq_from - end the message and start the envelope with the sender. */
void
qq_from(struct qq *q, const char *sender, size_t len)
{
    if (!q->err && iob_flush(&q->out) == -1)
        q->err = true;
    close(q->msgfd);
    q->msgfd = -1;
    iob_init(&q->out, q->envfd, q->buf, sizeof q->buf, NULL, NULL);
    qq_put(q, "F", 1);
    qq_put(q, sender, len);
    qq_put(q, "", 1);
}

void
qq_to(struct qq *q, const char *rcpt, size_t len)
{
    qq_put(q, "T", 1);
    qq_put(q, rcpt, len);
    qq_put(q, "", 1);
}

static int
reap(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            return QQ_BUG;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return QQ_BUG; /* a crash is temporary, never success */
}

/*
 * qq_close - finish the envelope and wait: qmail-queue's exit code (0 is
 * success), or a temporary code when our side failed to write.
 */
int
qq_close(struct qq *q)
{
    int code;

    qq_put(q, "", 1);
    if (!q->err && iob_flush(&q->out) == -1)
        q->err = true;
    if (q->msgfd != -1)
        close(q->msgfd);
    close(q->envfd);
    q->msgfd = q->envfd = -1;
    code = reap(q->pid);
    q->pid = -1;
    if (code == 0 && q->err)
        return QQ_WRITE; /* we could not hand over everything */
    return code;
}

/* qq_abort - make the child give up before it commits anything. */
void
qq_abort(struct qq *q)
{
    if (q->msgfd != -1)
        close(q->msgfd);
    if (q->envfd != -1)
        close(q->envfd);
    q->msgfd = q->envfd = -1;
    if (q->pid > 0) {
        /* With both pipes closed early, qmail-queue reads a short
         * envelope, removes its files and exits without committing.
         * It is not killed: a signal would stop that cleanup. */
        reap(q->pid);
        q->pid = -1;
    }
}
