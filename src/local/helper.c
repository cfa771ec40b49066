/* SPDX-License-Identifier: ISC */
/*
 * helper - running programs and forwarding copies (see helper.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"
#include "outcome.h"
#include "priv.h"
#include "qq.h"
#include "result.h"

/*
 * helper_run - run argv[0] (searched in $PATH) with our fds and wait.
 * A program that cannot be run exits 111 when that may pass and 100 when
 * it will not (it does not exist), as qmail's helpers do.  Returns 0 with
 * *wstatus, or -1 with errno when fork or wait failed.
 */
int
helper_run(char *const *argv, int *wstatus)
{
    pid_t pid = fork();

    if (pid == -1)
        return -1;
    if (pid == 0) {
        sigset_t none;

        signal(SIGPIPE, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], argv);
        _exit(outcome_errno_temp(errno) ? HELPER_EXEC_TEMP : HELPER_EXEC_PERM);
    }
    while (waitpid(pid, wstatus, 0) == -1)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* helper_qqprog - $QMAILQUEUE, or qmail-queue in the instance's bin. */
const char *
helper_qqprog(struct bstr *buf)
{
    const char *q = getenv("QMAILQUEUE");

    if (q && *q)
        return q;
    bstr_truncate(buf, 0);
    if (bstr_cats(buf, priv_home()) == -1 ||
        bstr_cats(buf, "/bin/qmail-queue") == -1)
        return NULL;
    return buf->s;
}

/*
 * helper_forward - queue dtline plus the rest of msgfd for the n
 * recipients with sender as envelope sender.  *qp gets qmail-queue's pid.
 * Returns 0, 100 (qmail-queue refused for good) or 111, with err saying
 * why ("Unable to forward message: ...").
 */
int
helper_forward(int msgfd, const char *qqprog, const char *dtline,
               size_t dtlen, const char *sender, size_t slen,
               const char *const *rcpts, size_t n, long *qp,
               struct bstr *err)
{
    struct qq qq;
    char buf[65536];
    int code;

    qq_init(&qq, qqprog, false);
    if (qq_open(&qq) == -1) {
        (void)result_set(err, RS_FORK, RESULT_ARGS(strerror(errno)));
        return EXIT_TEMP;
    }
    *qp = (long)qq.pid;
    qq_put(&qq, dtline, dtlen);
    for (;;) {
        ssize_t r = read(msgfd, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            int e = errno;
            qq_abort(&qq);
            (void)result_set(err, RS_READ_MSG, RESULT_ARGS(strerror(e)));
            return EXIT_TEMP;
        }
        if (r == 0)
            break;
        qq_put(&qq, buf, (size_t)r);
    }
    qq_from(&qq, sender, slen);
    for (size_t i = 0; i < n; i++)
        qq_to(&qq, rcpts[i], strlen(rcpts[i]));
    code = qq_close(&qq);
    if (code == 0)
        return 0;
    /* qmail-queue's own words carry the code */
    bstr_truncate(err, 0);
    if (bstr_catf(err, "Unable to forward message: %s.",
                  outcome_get(outcome_from_qq(code))->text) == -1)
        bstr_truncate(err, 0);
    return outcome_qq_kind(code) == OUTCOME_PERM ? EXIT_PERM : EXIT_TEMP;
}
