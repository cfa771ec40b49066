/* SPDX-License-Identifier: ISC */
/*
 * batch - qmail-remote -m: many messages for one destination over one
 * connection, for qmail-rspawn.
 *
 * Requests come on fd 0 and reports go to fd 1 in the spawn protocol
 * (spawnproto.h), one request at a time: the message mess/S/N (cwd is
 * the queue) is opened here, delivered, and its report written at once,
 * before the next request is read.  The connection stays open between
 * messages (RSET before the next one); at the end of the requests
 * qmail-remote says QUIT and exits 0.  A message that cannot be opened
 * is reported as a temporary failure, like any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "outcome.h"
#include "qpath.h"
#include "spawnproto.h"
#include "writeall.h"

#define BATCH_READ 65536

/*
 * fallback - a report written without allocating: every recipient 's',
 * then Z with text (for when memory ran out).  0, or -1.
 */
static int
fallback(int out, unsigned slot, size_t n, const char *text)
{
    char num[16];
    int len = snprintf(num, sizeof num, "%u", slot);

    if (write_all(out, num, (size_t)len + 1) == -1) /* with its NUL */
        return -1;
    for (size_t i = 0; i < n; i++)
        if (write_all(out, "s", 2) == -1)
            return -1;
    if (write_all(out, "Z", 1) == -1)
        return -1;
    return write_all(out, text, strlen(text) + 1);
}

/*
 * one - deliver the request in req and write its report to out.  fail,
 * when not empty, is a reason every message fails with (the setup went
 * wrong).  Returns 0, or -1 when the report could not be written.
 */
static int
one(struct remote *rm, const struct spawn_request *req,
    const struct bstr *fail, int out)
{
    static const char nomem[] = REMOTE_NOMEM;
    const char *rcpts[SPAWN_RCPTS_MAX];
    struct remote_msg m;
    struct bstr rep = BSTR_INIT;
    char mess[QPATH_MAX];
    const char *p = req->rcpts.s;
    int fd = -1, r;

    for (size_t i = 0; i < req->nrcpt; i++) {
        rcpts[i] = p;
        p += strlen(p) + 1;
    }
    if (remote_msg_init(&m, req->sender.s ? req->sender.s : "", rcpts,
                        req->nrcpt, -1) == -1)
        return fallback(out, req->slot, req->nrcpt, nomem);
    qpath_fmt(mess, "mess", req->msgid);
    if (fail && fail->len) {
        r = bstr_copy(&m.text, fail);
    } else if ((fd = open(mess, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
        r = result_line(&m.text, RS_MESS_OPEN,
                        RESULT_ARGS(mess, strerror(errno)));
    } else {
        m.fd = fd;
        remote_deliver(rm, &m);
        r = 0;
    }
    if (r == -1 || remote_report_batch(&m, req->slot, &rep) == -1)
        r = fallback(out, req->slot, req->nrcpt, nomem);
    else
        r = write_all(out, rep.s, rep.len);
    if (fd != -1)
        close(fd);
    remote_msg_free(&m);
    bstr_free(&rep);
    return r;
}

/*
 * remote_batch - serve requests from in until its end, reports to out.
 * Returns an exit code: 0 at the end of the requests, 111 when they
 * were garbled or the reports could not be written.
 */
int
remote_batch(struct remote *rm, const struct bstr *fail, int in, int out)
{
    char buf[BATCH_READ];
    struct spawn_reqparser p;
    int code = EXIT_OK;

    spawnproto_req_init(&p);
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        size_t off = 0;

        if (r == -1 && errno == EINTR)
            continue;
        if (r == 0)
            break;
        if (r == -1) {
            code = EXIT_TEMP;
            break;
        }
        while (off < (size_t)r && code == EXIT_OK) {
            size_t used;
            int ev = spawnproto_req_push(&p, buf + off, (size_t)r - off,
                                         &used);

            off += used;
            if (ev == SPAWNPROTO_BAD || ev == SPAWNPROTO_NOMEM)
                code = EXIT_TEMP;
            else if (ev == SPAWNPROTO_REQUEST &&
                     one(rm, &p.req, fail, out) == -1)
                code = EXIT_TEMP;
        }
        if (code != EXIT_OK)
            break;
    }
    remote_finish(rm);
    spawnproto_req_free(&p);
    return code;
}
