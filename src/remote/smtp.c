/* SPDX-License-Identifier: ISC */
/*
 * smtp - the client side of one SMTP connection (see smtp.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "datetime.h"
#include "deadline.h"
#include "fmt.h"
#include "result.h"
#include "smtp.h"

/* smtp_init - a closed connection whose reads and writes wait timeout s. */
void
smtp_init(struct smtp *s, unsigned timeout)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->timeout = timeout;
    reply_init(&s->rep);
}

/*
 * smtp_connect - connect to ip:port (from src when not NULL), waiting at
 * most timeout seconds.  Returns 0; -1 with errno when the connection
 * failed (ETIMEDOUT, ECONNREFUSED, ...); -2 with errno when the socket
 * could not be made or bound to src (our trouble, not the peer's).
 */
int
smtp_connect(struct smtp *s, const struct ipaddr *ip, unsigned port,
             const struct ipaddr *src, unsigned timeout)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd;

    smtp_close(s);
    s->ip = *ip;
    s->port = port;
    ipaddr_fmt(s->ipstr, ip);
    fd = socket(ip->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -2;
    if (src) {
        len = ipaddr_to_sockaddr(src, 0, &ss);
        if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
            int e = errno;

            close(fd);
            errno = e;
            return -2;
        }
    }
    len = ipaddr_to_sockaddr(ip, port, &ss);
    if (deadline_connect(fd, (struct sockaddr *)&ss, len,
                         deadline_in((long long)timeout * 1000)) == -1) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    s->fd = fd;
    s->err = 0;
    s->bad = NULL;
    s->ext = 0;
    s->sizemax = 0;
    s->ready = false;
    iob_init(&s->in, fd, s->inbuf, sizeof s->inbuf, NULL, NULL);
    iob_init(&s->out, fd, s->outbuf, sizeof s->outbuf, NULL, NULL);
    iob_settimeout(&s->in, s->timeout);
    iob_settimeout(&s->out, s->timeout);
    return 0;
}

/* smtp_put - queue bytes for the server.  0, or -1 (s->err). */
int
smtp_put(struct smtp *s, const char *p, size_t n)
{
    if (s->fd == -1) {
        s->err = EBADF;
        return -1;
    }
    if (iob_put(&s->out, p, n) == -1) {
        s->err = errno;
        return -1;
    }
    return 0;
}

/* smtp_flush - write out what is queued.  0, or -1 (s->err). */
int
smtp_flush(struct smtp *s)
{
    if (s->fd == -1) {
        s->err = EBADF;
        return -1;
    }
    if (iob_flush(&s->out) == -1) {
        s->err = errno;
        return -1;
    }
    return 0;
}

/* read_reply - the next reply into s->rep (see smtp_read). */
static int
read_reply(struct smtp *s)
{
    for (;;) {
        size_t used;
        int ev;

        if (iob_buffered(&s->in) == 0) {
            ssize_t r = iob_fill(&s->in);

            if (r <= 0) {
                s->err = r == 0 ? 0 : errno;
                return -1;
            }
        }
        ev = reply_push(&s->rep, iob_peek(&s->in), iob_buffered(&s->in),
                        &used);
        iob_skip(&s->in, used);
        if (ev == REPLY_DONE)
            return (int)s->rep.code;
        if (ev == REPLY_BAD) {
            s->bad = s->rep.err;
            return -1;
        }
        if (ev == REPLY_NOMEM) {
            s->err = ENOMEM;
            return -1;
        }
    }
}

/*
 * smtp_read - flush, then read one reply into s->rep.  Returns its code;
 * -1 when the connection failed (s->err: errno, 0 at end of file) or the
 * reply was not one (s->bad says why).  The whole reply must come within
 * the timeout, not each read: a server trickling a byte at a time cannot
 * hold a delivery for longer.
 */
int
smtp_read(struct smtp *s)
{
    int r;

    if (smtp_flush(s) == -1)
        return -1;
    reply_reset(&s->rep);
    iob_setdeadline(&s->in, deadline_in(s->in.timeout_ms));
    r = read_reply(s);
    iob_setdeadline(&s->in, DEADLINE_NONE);
    return r;
}

/* keyword - whether line starts with word, then ends or has a blank. */
static bool
keyword(const char *line, const char *word, const char **rest)
{
    size_t n = strlen(word);

    if (strncasecmp(line, word, n) != 0 ||
        (line[n] && line[n] != ' ' && line[n] != '\t'))
        return false;
    *rest = line + n;
    while (**rest == ' ' || **rest == '\t')
        (*rest)++;
    return true;
}

/* auth_mechs - SMTP_AUTH_* for the mechanisms named in an AUTH line. */
static unsigned
auth_mechs(const char *p)
{
    unsigned m = 0;

    while (*p) {
        size_t n = strcspn(p, " \t");

        if (n == 5 && strncasecmp(p, "PLAIN", 5) == 0)
            m |= SMTP_AUTH_PLAIN;
        else if (n == 5 && strncasecmp(p, "LOGIN", 5) == 0)
            m |= SMTP_AUTH_LOGIN;
        p += n;
        p += strspn(p, " \t");
    }
    return m;
}

/* smtp_ehlo_parse - the extensions of the EHLO reply in s->rep. */
void
smtp_ehlo_parse(struct smtp *s)
{
    const char *l = reply_line_next(&s->rep, NULL); /* the greeting line */

    s->ext = 0;
    s->sizemax = 0;
    while (l && (l = reply_line_next(&s->rep, l))) {
        const char *rest;

        if (keyword(l, "PIPELINING", &rest)) {
            s->ext |= SMTP_PIPELINING;
        } else if (keyword(l, "8BITMIME", &rest)) {
            s->ext |= SMTP_8BITMIME;
        } else if (keyword(l, "SMTPUTF8", &rest)) {
            s->ext |= SMTP_SMTPUTF8;
        } else if (keyword(l, "STARTTLS", &rest)) {
            s->ext |= SMTP_STARTTLS;
        } else if (keyword(l, "AUTH", &rest) ||
                   (strncasecmp(l, "AUTH=", 5) == 0 && (rest = l + 5))) {
            s->ext |= auth_mechs(rest);
        } else if (keyword(l, "SIZE", &rest)) {
            unsigned long long v;
            size_t n = strlen(rest);

            s->ext |= SMTP_SIZE;
            /* "SIZE" alone or "SIZE 0": no fixed limit (RFC 1870) */
            if (n && scan_ull(rest, n, &v) == n)
                s->sizemax = v;
        }
    }
}

/*
 * smtp_starttls - after the server's 220 to STARTTLS: the handshake, as
 * client of ctx with sni as the server name, within the remote timeout;
 * then every read and write goes through TLS.  Bytes the server sent
 * after its 220 and before the handshake would be a plain-text reply
 * smuggled into the TLS session: refused.  Returns 0, or -1 with the
 * reason in err (the connection is then unusable: close it).
 */
int
smtp_starttls(struct smtp *s, struct tls_ctx *ctx, const char *sni,
              struct bstr *err)
{
    long long deadline = datetime_mono_ms() + (long long)s->timeout * 1000;

    const char *why = NULL;

    if (iob_buffered(&s->in))
        why = "it sent more after its 220 to STARTTLS";
    else if ((s->tls = tls_conn_new(ctx, s->fd, s->fd, sni)) == NULL)
        why = "out of memory";
    if (why) {
        if (bstr_cats(err, why) == -1)
            bstr_truncate(err, 0);
        s->err = EPROTO;
        return -1;
    }
    if (tls_handshake(s->tls, s->in.timeout_ms, deadline, err) == -1) {
        s->err = errno ? errno : EPROTO; /* no QUIT into a broken session */
        return -1;
    }
    iob_init(&s->in, s->fd, s->inbuf, sizeof s->inbuf, tls_read, s->tls);
    iob_init(&s->out, s->fd, s->outbuf, sizeof s->outbuf, tls_write, s->tls);
    iob_settimeout(&s->in, s->timeout);
    iob_settimeout(&s->out, s->timeout);
    s->ext = 0;
    s->sizemax = 0;
    return 0;
}

/* smtp_said - append "Remote host said: " and the last reply's lines. */
int
smtp_said(const struct smtp *s, struct bstr *out)
{
    return result_said(out, s->rep.text.s, s->rep.text.len);
}

/*
 * smtp_died - append why the connection failed after connecting.
 * critical: the message was sent and its reply never came, so the
 * server may have it (qmail's "Possible duplicate!").  A timeout, a
 * reset and an early end are all qmail-1.03's "connection died"; only
 * what qmail-1.03 would have read on (a reply that is no reply, or too
 * big) is named.
 */
int
smtp_died(const struct smtp *s, bool critical, struct bstr *out)
{
    const char *dup = critical ? RESULT_DUPLICATE : "";

    if (s->bad)
        return result_line(out, RS_SENT_BAD,
                           RESULT_ARGS(s->ipstr, s->bad, dup));
    return result_line(out, RS_DIED, RESULT_ARGS(s->ipstr, dup));
}

/* smtp_quit - say goodbye (briefly waiting for the reply) and close. */
void
smtp_quit(struct smtp *s)
{
    if (s->fd != -1) {
        iob_settimeout(&s->in, s->timeout < SMTP_QUIT_WAIT ? s->timeout
                                                           : SMTP_QUIT_WAIT);
        iob_settimeout(&s->out, s->timeout < SMTP_QUIT_WAIT ? s->timeout
                                                            : SMTP_QUIT_WAIT);
        if (smtp_put(s, "QUIT\r\n", 6) == 0 && smtp_read(s) >= 0) {
            /* the reply does not matter */
        }
        if (s->tls)
            tls_shutdown(s->tls, s->in.timeout_ms);
    }
    smtp_close(s);
}

/* smtp_close - drop the connection (unsent output is discarded). */
void
smtp_close(struct smtp *s)
{
    if (s->tls) {
        tls_conn_free(s->tls);
        s->tls = NULL;
    }
    if (s->fd != -1)
        close(s->fd);
    s->fd = -1;
    s->ready = false;
    s->verified = false;
}

void
smtp_free(struct smtp *s)
{
    smtp_close(s);
    reply_free(&s->rep);
}
