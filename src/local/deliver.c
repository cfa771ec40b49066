/* SPDX-License-Identifier: ISC */
/*
 * deliver - the four kinds of local delivery, plus Return-Path,
 * Delivered-To and the loop check (see deliver.h).
 *
 * Maildir and mbox copies start with Return-Path and Delivered-To; a
 * forwarded copy gets only Delivered-To (its new envelope sender makes a
 * new Return-Path at the next hop); a program gets the message as
 * queued, with the lines in $RPLINE and $DTLINE.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addr.h"
#include "deliver.h"
#include "exits.h"
#include "helper.h"
#include "iob.h"
#include "maildir.h"
#include "mbox.h"
#include "outcome.h"
#include "result.h"

#define HEADER_LINE_MAX 65536 /* a longer line cannot be ours */

/* qlocal_init - an empty delivery context (message on fd 0). */
void
qlocal_init(struct qlocal *q)
{
    struct bstr empty = BSTR_INIT;

    memset(q, 0, sizeof *q);
    q->msgfd = 0;
    q->recipient = q->dtline = q->rpline = q->ufline = empty;
    q->newsender = q->err = empty;
}

/* qlocal_free - release the context's strings. */
void
qlocal_free(struct qlocal *q)
{
    bstr_free(&q->recipient);
    bstr_free(&q->dtline);
    bstr_free(&q->rpline);
    bstr_free(&q->ufline);
    bstr_free(&q->newsender);
    bstr_free(&q->err);
}

/*
 * fail - q->err becomes result r's text (empty when out of memory, which
 * is all we can do); returns r's exit code.
 */
static int
fail(struct qlocal *q, enum result_reason r, const char *const *args,
     size_t nargs)
{
    (void)result_set(&q->err, r, args, nargs);
    return result_exit(r);
}

static void
newlines_out(struct bstr *b, size_t from)
{
    for (size_t i = from; i < b->len; i++)
        if (b->s[i] == '\n')
            b->s[i] = '_';
}

/*
 * qlocal_lines - recipient, Delivered-To, Return-Path and the mbox "From "
 * line from the arguments.  A newline in an address becomes '_', so no
 * address can add a header line of its own.  Returns 0 or -1.
 */
int
qlocal_lines(struct qlocal *q)
{
    size_t n;

    bstr_truncate(&q->recipient, 0);
    if (bstr_cats(&q->recipient, q->local) == -1 ||
        bstr_catc(&q->recipient, '@') == -1 ||
        bstr_cats(&q->recipient, q->host) == -1)
        return -1;
    newlines_out(&q->recipient, 0);
    if (bstr_copys(&q->dtline, "Delivered-To: ") == -1 ||
        bstr_catb(&q->dtline, q->recipient.s, q->recipient.len) == -1 ||
        bstr_catc(&q->dtline, '\n') == -1)
        return -1;
    if (bstr_copys(&q->rpline, "Return-Path: <") == -1)
        return -1;
    n = q->rpline.len;
    if (*q->sender && addr_quote(&q->rpline, q->sender, strlen(q->sender)) ==
                          -1)
        return -1;
    newlines_out(&q->rpline, n);
    if (bstr_cats(&q->rpline, ">\n") == -1)
        return -1;
    return mbox_ufline(&q->ufline, q->sender, q->now);
}

static bool
same_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];

        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

/*
 * qlocal_is_dtline - is this header line "Delivered-To: <recipient>"?
 * Case and the blanks around the address do not matter: a loop through a
 * host that spells the name differently is still a loop.
 */
bool
qlocal_is_dtline(const char *line, size_t len, const struct bstr *recipient)
{
    static const char name[] = "delivered-to:";
    size_t i = sizeof name - 1;

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                       line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    if (len < i || !same_nocase(line, name, i))
        return false;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return len - i == recipient->len &&
           same_nocase(line + i, recipient->s, recipient->len);
}

/* qlocal_rewind - back to the start of the message: 0, or 111. */
int
qlocal_rewind(struct qlocal *q)
{
    if (lseek(q->msgfd, 0, SEEK_SET) == 0)
        return 0;
    return fail(q, RS_REWIND, RESULT_NOARGS);
}

/*
 * qlocal_loopcheck - bounce a message that already carries our
 * Delivered-To line in its header.  Returns 0, 100 (looping) or 111.
 */
int
qlocal_loopcheck(struct qlocal *q)
{
    struct bstr line = BSTR_INIT;
    struct iob in;
    char buf[8192];
    int r, code = 0;

    if ((code = qlocal_rewind(q)) != 0)
        return code;
    iob_init(&in, q->msgfd, buf, sizeof buf, NULL, NULL);
    for (;;) {
        r = iob_getline(&in, &line, HEADER_LINE_MAX);
        if (r == -1) {
            code = fail(q, RS_READ_MSG, RESULT_ARGS(strerror(errno)));
            break;
        }
        if (r == IOB_EOF)
            break;
        if (line.len <= 1 || (line.len == 2 && line.s[0] == '\r'))
            break; /* the end of the header */
        if (r == IOB_LINE && qlocal_is_dtline(line.s, line.len, &q->recipient)) {
            code = fail(q, RS_LOOP, RESULT_NOARGS);
            break;
        }
    }
    bstr_free(&line);
    return code;
}

/* qlocal_maildir - deliver into the maildir dir (ends in '/'). */
int
qlocal_maildir(struct qlocal *q, const char *dir)
{
    struct iovec head[2];
    struct bstr name = BSTR_INIT;
    enum maildir_stage stage;
    int code, e;

    if ((code = qlocal_rewind(q)) != 0)
        return code;
    head[0].iov_base = q->rpline.s;
    head[0].iov_len = q->rpline.len;
    head[1].iov_base = q->dtline.s;
    head[1].iov_len = q->dtline.len;
    if (maildir_deliver(dir, head, 2, q->msgfd, &name, &stage) == 0) {
        bstr_free(&name);
        return 0;
    }
    e = errno;
    bstr_free(&name);
    bstr_truncate(&q->err, 0);
    switch (stage) {
    case MAILDIR_S_OPEN:
        return fail(q, RS_MAILDIR_OPEN, RESULT_ARGS(dir, strerror(e)));
    case MAILDIR_S_READ:
        return fail(q, RS_READ_MSG, RESULT_ARGS(strerror(e)));
    default:
        return fail(q, e == EDQUOT || e == ENOSPC ? RS_MAILDIR_FULL
                                                  : RS_MAILDIR_WRITE,
                    RESULT_ARGS(dir, strerror(e)));
    }
}

/* qlocal_mbox - append to the mbox file at path. */
int
qlocal_mbox(struct qlocal *q, const char *path)
{
    struct iovec head[3];
    int code;

    if ((code = qlocal_rewind(q)) != 0)
        return code;
    head[0].iov_base = q->ufline.s;
    head[0].iov_len = q->ufline.len;
    head[1].iov_base = q->rpline.s;
    head[1].iov_len = q->rpline.len;
    head[2].iov_base = q->dtline.s;
    head[2].iov_len = q->dtline.len;
    bstr_truncate(&q->err, 0);
    return mbox_append(path, head, 3, q->msgfd, &q->err) == 0 ? 0 : EXIT_TEMP;
}

/*
 * qlocal_program - run "sh -c cmd" in the home directory (the caller's
 * cwd) with the message on its stdin; its output is ours.  *stop is set
 * when it asks (99) that the rest of the file be ignored.  The program
 * speaks for itself: a failure adds no words of ours.
 */
int
qlocal_program(struct qlocal *q, const char *cmd, bool *stop)
{
    pid_t pid;
    int status, code;

    *stop = false;
    if ((code = qlocal_rewind(q)) != 0)
        return code;
    bstr_truncate(&q->err, 0);
    pid = fork();
    if (pid == -1) {
        return fail(q, RS_FORK, RESULT_ARGS(strerror(errno)));
    }
    if (pid == 0) {
        sigset_t none;
        struct bstr msg = BSTR_INIT;

        signal(SIGPIPE, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (q->msgfd != 0 && dup2(q->msgfd, 0) == -1)
            _exit(EXIT_TEMP);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        if (result_set(&msg, RS_RUN_SH, RESULT_ARGS(strerror(errno))) == 0 &&
            bstr_catc(&msg, '\n') == 0 && write(2, msg.s, msg.len) < 0)
            _exit(EXIT_TEMP);
        _exit(EXIT_TEMP);
    }
    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR) {
            return fail(q, RS_WAIT, RESULT_ARGS(strerror(errno)));
        }
    switch (exits_program(status)) {
    case PROG_OK:
        return 0;
    case PROG_STOP:
        *stop = true;
        return 0;
    case PROG_PERM:
        return EXIT_PERM;
    default:
        if (!WIFEXITED(status))
            return fail(q, RS_CRASHED, RESULT_NOARGS);
        return EXIT_TEMP;
    }
}

/*
 * qlocal_forward - queue the message again for the n addresses, with our
 * Delivered-To line on top and q->newsender as envelope sender.
 */
int
qlocal_forward(struct qlocal *q, const char *const *rcpts, size_t n)
{
    int code;

    if ((code = qlocal_rewind(q)) != 0)
        return code;
    return helper_forward(q->msgfd, q->qqprog, q->dtline.s, q->dtline.len,
                          q->newsender.s ? q->newsender.s : "",
                          q->newsender.len, rcpts, n, &q->qp, &q->err);
}

/*
 * qlocal_hostpart - $HOST2 (n 2), $HOST3, $HOST4: host up to its last,
 * second-to-last, third-to-last dot (all of it when there are fewer).
 */
int
qlocal_hostpart(struct bstr *out, const char *host, int n)
{
    size_t end = strlen(host);

    for (int k = 1; k < n; k++) {
        size_t i = end;

        while (i > 0 && host[i - 1] != '.')
            i--;
        if (i > 0)
            end = i - 1;
    }
    return bstr_copyb(out, host, end);
}

/* qlocal_extpart - $EXT2 (n 2), $EXT3, $EXT4: ext after the (n-1)th '-'. */
const char *
qlocal_extpart(const char *ext, int n)
{
    for (int k = 1; k < n; k++) {
        const char *d = strchr(ext, '-');

        ext = d ? d + 1 : ext + strlen(ext);
    }
    return ext;
}
