/* SPDX-License-Identifier: ISC */
/*
 * popup_tls - qmail-popup's TLS: STLS (RFC 2595) and POP3S (RFC 8314),
 * and the relay that carries the session to the checkpassword chain once
 * TLS is on (an exec'd qmail-pop3d cannot take over a TLS session).
 *
 * The context comes from $QMAIL_HOME/control as qmail-smtpd's does
 * (servercert.pem, servercert2.pem, dh2048.pem, tlsticketkeys,
 * tlsserverciphers, tlsserverciphersuites, tlsserverminprotocol), made
 * at the first use.  The relay never reads the client before the chain
 * has spoken: a refused login (the chain exits without a word) leaves
 * whatever the client pipelined for the next AUTHORIZATION command.
 * Buffers are bounded both ways; a connection idle for the session
 * timeout is closed.  Failures are logged; nothing here exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "datetime.h"
#include "log.h"
#include "popup.h"
#include "tls.h"
#include "tlsctl.h"
#include "writeall.h"

#define RELAY_BUF 16384

struct popup_tls {
    struct tls_ctx *ctx;
    struct tls_conn *conn;
};

static const char *
ip(const struct popup_session *s)
{
    return s->cf->remoteip ? s->cf->remoteip : "unknown";
}

/* control - $QMAIL_HOME/control/NAME into out: 0, or -1 (ENOMEM) */
static int
control(const struct popup_session *s, const char *name, struct bstr *out)
{
    bstr_truncate(out, 0);
    return bstr_catf(out, "%s/control/%s", s->cf->home, name);
}

/* popup_tls_configured - is there a certificate to offer STLS with? */
bool
popup_tls_configured(const struct popup_session *s)
{
    struct bstr p = BSTR_INIT;
    bool ok = control(s, "servercert.pem", &p) == 0 && access(p.s, F_OK) == 0;

    bstr_free(&p);
    return ok;
}

/* log_warnings - each line of warn as a warning */
static void
log_warnings(const struct bstr *warn)
{
    const char *p = warn->s, *end = warn->s + warn->len;

    while (p && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        log_line("warning: %.*s", (int)n, p);
        p += n + 1;
    }
}

/*
 * popup_tls_prepare - the server context, made once, as qmail-smtpd makes
 * it (tlsctl).  0, or -1 after logging why TLS cannot be had (the client
 * hears "-ERR TLS not available", or a POP3S connection is closed).
 */
int
popup_tls_prepare(struct popup_session *s)
{
    static const char *const names[] = {"tlsserverciphers",
                                        "tlsserverciphersuites",
                                        "tlsserverminprotocol"};
    struct bstr val[3] = {BSTR_INIT, BSTR_INIT, BSTR_INIT};
    struct bstr dir = BSTR_INIT, path = BSTR_INIT, warn = BSTR_INIT,
                err = BSTR_INIT;
    struct tlsctl_conf c;
    int ret = -1;

    if (s->tls && s->tls->ctx)
        return 0;
    if ((s->tls == NULL && (s->tls = calloc(1, sizeof *s->tls)) == NULL) ||
        bstr_catf(&dir, "%s/control", s->cf->home) == -1) {
        log_line("warning: TLS not available: out of memory");
        goto out;
    }
    for (size_t i = 0; i < 3; i++) {
        bstr_truncate(&path, 0);
        if (bstr_catf(&path, "%s/%s", dir.s, names[i]) == -1) {
            log_line("warning: TLS not available: out of memory");
            goto out;
        }
        if (ctl_readline(path.s, &val[i]) == -1)
            log_line("warning: unable to read %s: %s", path.s, strerror(errno));
    }
    c.dir = dir.s;
    c.ciphers = val[0].len ? val[0].s : NULL;
    c.suites = val[1].len ? val[1].s : NULL;
    c.minproto = val[2].len ? val[2].s : NULL;
    s->tls->ctx = tlsctl_server(&c, &warn, &err);
    log_warnings(&warn);
    if (s->tls->ctx == NULL)
        log_line("warning: TLS not available: %s",
                 err.len ? err.s : strerror(errno));
    else
        ret = 0;
out:
    for (size_t i = 0; i < 3; i++)
        bstr_free(&val[i]);
    bstr_free(&dir);
    bstr_free(&path);
    bstr_free(&warn);
    bstr_free(&err);
    return ret;
}

/*
 * popup_tls_begin - the handshake on fds 0/1 (each step within the
 * session timeout, the whole too); then the session reads and writes
 * through TLS.  0, or -1 logged (no channel is left to answer on).
 */
int
popup_tls_begin(struct popup_session *s)
{
    struct bstr err = BSTR_INIT;
    int ms = s->cf->timeout ? (int)s->cf->timeout * 1000 : -1;
    long long deadline =
        s->cf->timeout ? datetime_mono_ms() + (long long)s->cf->timeout * 1000 : 0;

    s->tls->conn = tls_conn_new(s->tls->ctx, 0, 1, NULL);
    if (s->tls->conn == NULL) {
        log_line("tls failed ip=%s: out of memory", ip(s));
        return -1;
    }
    if (tls_handshake(s->tls->conn, ms, deadline, &err) == -1) {
        log_line("tls failed ip=%s: %s", ip(s),
                 err.len ? err.s : strerror(errno));
        bstr_free(&err);
        tls_conn_free(s->tls->conn);
        s->tls->conn = NULL;
        return -1;
    }
    bstr_free(&err);
    iob_init(&s->in, 0, s->inbuf, sizeof s->inbuf, tls_read, s->tls->conn);
    iob_settimeout(&s->in, s->cf->timeout);
    s->out.op = tls_write;
    s->out.ctx = s->tls->conn;
    s->tls_on = true;
    log_line("tls ip=%s protocol=%s cipher=%s bits=%d%s", ip(s),
             tls_protocol(s->tls->conn), tls_cipher(s->tls->conn),
             tls_cipher_bits(s->tls->conn),
             tls_resumed(s->tls->conn) ? " resumed" : "");
    return 0;
}

/* popup_tls_end - close_notify, then free (any time: NULL-safe). */
void
popup_tls_end(struct popup_session *s)
{
    if (s->tls == NULL)
        return;
    if (s->tls->conn) {
        tls_shutdown(s->tls->conn, 1000);
        tls_conn_free(s->tls->conn);
    }
    if (s->tls->ctx)
        tls_ctx_free(s->tls->ctx);
    free(s->tls);
    s->tls = NULL;
    s->tls_on = false;
    /* nothing may go through the freed connection any more */
    s->out.op = NULL;
    s->out.ctx = NULL;
    s->out.len = 0;
    iob_init(&s->in, 0, s->inbuf, sizeof s->inbuf, NULL, NULL);
}

/* to_client - all of buf through TLS: 0, or -1 (the client is gone) */
static int
to_client(struct popup_session *s, const char *buf, size_t n)
{
    int ms = s->cf->timeout ? (int)s->cf->timeout * 1000 : -1;

    while (n) {
        ssize_t w = tls_write(s->tls->conn, 1, (void *)buf, n, ms);

        if (w <= 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* reap - wait for pid (EINTR retried): its wait status */
static int
reap(pid_t pid)
{
    int w = 0;

    while (waitpid(pid, &w, 0) == -1)
        if (errno != EINTR)
            return 0;
    return w;
}

/* start - the chain with one end of a socketpair as its fds 0 and 1,
 * the login on a pipe as fd 3, POP3TLS=1 and ucspi-ssl's SSL_PROTOCOL
 * and SSL_CIPHER in its environment.  The pid, or -1. */
static pid_t
start(struct popup_session *s, const char *data, size_t len, int *fd)
{
    int sv[2], p[2], e;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) == -1)
        return -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
        e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        return -1;
    }
    pid = fork();
    if (pid == -1) {
        e = errno;
        close(p[0]);
        close(p[1]);
        close(sv[0]);
        close(sv[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        /* 0, 1 and 2 are taken, so neither sv[1] nor p[0] is below 3 */
        if (dup2(sv[1], 0) == -1 || dup2(sv[1], 1) == -1)
            _exit(111);
        if (setenv("POP3TLS", "1", 1) == -1 ||
            setenv("SSL_PROTOCOL", tls_protocol(s->tls->conn), 1) == -1 ||
            setenv("SSL_CIPHER", tls_cipher(s->tls->conn), 1) == -1)
            _exit(111);
        popup_exec(s->cf->child, p[0]);
    }
    close(sv[1]);
    close(p[0]);
    if (write_all(p[1], data, len) == -1) {
        /* unread: its exit tells */
    }
    close(p[1]);
    *fd = sv[0];
    return pid;
}

/*
 * verdict - wait for the chain's first word or its end.  1 it spoke
 * (those bytes are already on their way to the client), 0 it ended
 * without a word (*w its status), -1 error or timeout (it is killed).
 */
static int
verdict(struct popup_session *s, pid_t pid, int fd, int *w)
{
    char buf[RELAY_BUF];
    int ms = s->cf->timeout ? (int)s->cf->timeout * 1000 : -1;

    for (;;) {
        ssize_t r;

        if (iob_poll(fd, POLLIN, ms) == -1) {
            kill(pid, SIGKILL);
            *w = reap(pid);
            return -1;
        }
        r = read(fd, buf, sizeof buf);
        if (r == -1 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r == -1 && errno == ECONNRESET)
            r = 0;
        if (r == -1) {
            kill(pid, SIGKILL);
            *w = reap(pid);
            return -1;
        }
        if (r == 0) {
            *w = reap(pid);
            return 0;
        }
        if (to_client(s, buf, (size_t)r) == -1)
            return 1; /* it spoke; the relay finds the client gone */
        return 1;
    }
}

/*
 * relay - both ways between the TLS client and the chain until the chain
 * closes its end (or the client goes and the chain follows), each
 * direction through one bounded buffer.  The client's bytes already
 * decrypted into s->in go first.
 */
static void
relay(struct popup_session *s, int fd)
{
    char up[RELAY_BUF], down[RELAY_BUF];
    size_t uplen = 0;
    bool client_open = true, wr_shut = false;
    int ms = s->cf->timeout ? (int)s->cf->timeout * 1000 : -1;

    uplen = iob_buffered(&s->in);
    if (uplen > sizeof up)
        uplen = sizeof up;
    memcpy(up, iob_peek(&s->in), uplen);
    iob_skip(&s->in, uplen);
    for (;;) {
        struct pollfd p[2];
        int np, r;

        if (client_open && uplen < sizeof up) {
            /* TLS may hold decrypted bytes poll cannot see: ask first */
            ssize_t n = tls_read(s->tls->conn, 0, up + uplen,
                                 sizeof up - uplen, 0);

            if (n > 0) {
                uplen += (size_t)n;
                continue;
            }
            if (n == 0 || errno != ETIMEDOUT)
                client_open = false;
        }
        if (!client_open && uplen == 0 && !wr_shut) {
            shutdown(fd, SHUT_WR); /* the chain sees the end of input */
            wr_shut = true;
        }
        p[0].fd = fd;
        p[0].events = POLLIN | (uplen ? POLLOUT : 0);
        np = 1;
        if (client_open && uplen < sizeof up) {
            p[1].fd = 0;
            p[1].events = POLLIN;
            np++;
        }
        r = poll(p, (nfds_t)np, ms);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                log_line("timeout ip=%s", ip(s));
            return;
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(fd, down, sizeof down);

            if (n == -1 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n <= 0)
                return; /* the chain is done */
            if (to_client(s, down, (size_t)n) == -1)
                return;
        }
        if (uplen && (p[0].revents & POLLOUT)) {
            ssize_t n = send(fd, up, uplen, MSG_NOSIGNAL | MSG_DONTWAIT);

            if (n == -1 && errno != EINTR && errno != EAGAIN)
                uplen = 0, client_open = false; /* it stopped reading */
            else if (n > 0) {
                memmove(up, up + n, uplen - (size_t)n);
                uplen -= (size_t)n;
            }
        }
    }
}

/*
 * popup_tls_login - run the chain behind the relay.  0 with the result:
 * POPUP_DONE once it spoke (the session ran through us and is over),
 * else its verdict without a word (the client is still ours); -1 with
 * errno when it could not be started.
 */
int
popup_tls_login(struct popup_session *s, const char *data, size_t len,
                enum popup_result *res, int *w)
{
    int fd = -1, r;
    pid_t pid;

    if (iob_flush(&s->out) == -1)
        return -1;
    pid = start(s, data, len, &fd);
    if (pid == -1)
        return -1;
    r = verdict(s, pid, fd, w);
    if (r == 1) {
        relay(s, fd);
        close(fd);
        tls_shutdown(s->tls->conn, 1000);
        *w = reap(pid);
        *res = POPUP_DONE;
        return 0;
    }
    close(fd);
    if (r == -1) {
        log_line("login program timed out ip=%s", ip(s));
        *res = POPUP_TEMP;
        return 0;
    }
    *res = popup_verdict(*w);
    return 0;
}
