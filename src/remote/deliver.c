/* SPDX-License-Identifier: ISC */
/*
 * deliver - one message over the destination's connection (see
 * remote.h): opening the connection, the SMTP transaction, the results.
 *
 * Result texts are qmail-1.03's qmail-remote's, byte for byte where it
 * had the case, one or more lines each ended by '\n': who said what ("IP
 * does not like recipient.") and the server's reply ("Remote host said:
 * 550 ...").  Anything that leaves the connection in an unknown state
 * (timeout, dropped, garbled reply) closes it; the message then fails
 * temporarily, with "Possible duplicate!" when the whole message was
 * sent and only its reply is missing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "body.h"
#include "remote.h"
#include "result.h"
#include "tcpto.h"

#define BODY_CHUNK 65536

static const char nomem[] = REMOTE_NOMEM;

/* ---- results ------------------------------------------------------- */

/* remote_msg_init - a message with n recipients, nothing tried yet. */
int
remote_msg_init(struct remote_msg *m, const char *sender,
                const char *const *rcpts, size_t n, int fd)
{
    memset(m, 0, sizeof *m);
    m->sender = sender;
    m->fd = fd;
    m->final = 'Z';
    m->r = calloc(n ? n : 1, sizeof *m->r);
    if (!m->r)
        return -1;
    m->n = n;
    for (size_t i = 0; i < n; i++)
        m->r[i].addr = rcpts[i];
    return 0;
}

void
remote_msg_free(struct remote_msg *m)
{
    for (size_t i = 0; i < m->n; i++)
        bstr_free(&m->r[i].text);
    free(m->r);
    bstr_free(&m->text);
    m->r = NULL;
    m->n = 0;
}

/*
 * settle - the message's final result: code and text (a copy).  When the
 * text cannot be stored, the result is a temporary failure saying so.
 */
static void
settle(struct remote_msg *m, char code, const struct bstr *text)
{
    m->final = code;
    m->nomem = false;
    if (bstr_copyb(&m->text, text->s ? text->s : "", text->len) == -1) {
        m->final = 'Z';
        m->nomem = true;
        bstr_truncate(&m->text, 0);
    }
}

/* settle_text - settle with a C string. */
static void
settle_text(struct remote_msg *m, char code, const char *text)
{
    struct bstr t = {(char *)text, strlen(text), 0};

    settle(m, code, &t);
}

/*
 * settle_result - settle with result r, as a line: 'D' when it is
 * permanent, else 'Z'.
 */
static void
settle_result(struct remote_msg *m, enum result_reason r,
              const char *const *args, size_t nargs)
{
    struct bstr t = BSTR_INIT;

    if (result_line(&t, r, args, nargs) == -1)
        settle_text(m, 'Z', nomem);
    else
        settle(m, result_get(r)->kind == OUTCOME_PERM ? 'D' : 'Z', &t);
    bstr_free(&t);
}

/*
 * rcpt_result - one recipient's code and text; tail, when not NULL, is
 * what only batch reports add to it (see remote_rcpt).
 */
static void
rcpt_result(struct remote_rcpt *r, char code, const struct bstr *text,
            const struct bstr *tail)
{
    r->code = code;
    r->tail = 0;
    bstr_truncate(&r->text, 0);
    if (text && bstr_catb(&r->text, text->s ? text->s : "", text->len) == -1)
        bstr_truncate(&r->text, 0); /* the final text will stand in */
    else if (text && tail && tail->len &&
             bstr_catb(&r->text, tail->s, tail->len) == 0)
        r->tail = tail->len;
}

/* fail_code - 'D' for a 5xx reply, 'Z' for anything else. */
static char
fail_code(int code)
{
    return code >= 500 ? 'D' : 'Z';
}

/*
 * tls_note - append the connection's TLS line (protocol and cipher, or
 * why it went without TLS) after qmail's lines, which stay as they were.
 */
static int
tls_note(const struct remote *rm, struct bstr *t)
{
    if (rm->tlsnote.len == 0)
        return 0;
    return bstr_catb(t, rm->tlsnote.s, rm->tlsnote.len);
}

/* died - the connection failed: Z with the reason, and close it. */
static void
died(struct remote *rm, struct remote_msg *m, bool critical)
{
    struct bstr t = BSTR_INIT;

    if (smtp_died(&rm->s, critical, &t) == -1 || tls_note(rm, &t) == -1)
        bstr_truncate(&t, 0);
    settle(m, 'Z', &t);
    if (t.len == 0)
        settle_text(m, 'Z', nomem);
    bstr_free(&t);
    smtp_close(&rm->s);
}

/*
 * said - the result: r's line naming the server, then the server's last
 * reply (qmail's way of saying who did what).
 */
static void
said(struct remote *rm, struct remote_msg *m, char code, enum result_reason r)
{
    struct bstr t = BSTR_INIT;

    if (result_line(&t, r, RESULT_ARGS(rm->s.ipstr)) == -1 ||
        smtp_said(&rm->s, &t) == -1 || tls_note(rm, &t) == -1)
        settle_text(m, 'Z', nomem);
    else
        settle(m, code, &t);
    bstr_free(&t);
}

/* ---- opening the connection ---------------------------------------- */

/*
 * greet - read the greeting and introduce ourselves: EHLO, or HELO when
 * EHLO gets a 5xx; then TLS and AUTH as secure.c decides for the host
 * name (plain: this is the plain-text retry).  Returns 0 (ready), -1
 * with the reason in why, or REMOTE_SECURE_PLAIN: connect again, plain.
 */
static int
greet(struct remote *rm, const char *name, bool plain, struct bstr *why)
{
    struct smtp *s = &rm->s;
    const char *helo = rm->c->helohost.s ? rm->c->helohost.s : "";
    int code = smtp_read(s);

    bstr_truncate(why, 0);
    if (code == -1)
        goto dead;
    if (code / 100 != 2) {
        if (result_line(why, RS_R_GREETING, RESULT_ARGS(s->ipstr)) == -1 ||
            smtp_said(s, why) == -1)
            bstr_truncate(why, 0);
        return -1;
    }
    if (bstr_catf(why, "EHLO %s\r\n", helo) == -1 ||
        smtp_put(s, why->s, why->len) == -1 || (code = smtp_read(s)) == -1)
        goto dead;
    if (code / 100 == 2) {
        smtp_ehlo_parse(s);
    } else if (code / 100 == 5) {
        bstr_truncate(why, 0);
        if (bstr_catf(why, "HELO %s\r\n", helo) == -1 ||
            smtp_put(s, why->s, why->len) == -1 ||
            (code = smtp_read(s)) == -1)
            goto dead;
        s->ext = 0;
        s->sizemax = 0;
    }
    bstr_truncate(why, 0);
    if (code / 100 != 2) {
        if (result_line(why, RS_R_HELO, RESULT_ARGS(s->ipstr)) == -1 ||
            smtp_said(s, why) == -1)
            bstr_truncate(why, 0);
        return -1;
    }
    code = remote_secure(rm, name, plain, why);
    if (code != REMOTE_SECURE_OK)
        return code;
    s->ready = true;
    return 0;
dead:
    bstr_truncate(why, 0);
    if (smtp_died(s, false, why) == -1)
        bstr_truncate(why, 0);
    return -1;
}

/* source - the outgoing address for ip's family, or NULL. */
static const struct ipaddr *
source(const struct remote *rm, const struct ipaddr *ip)
{
    if (ip->family == AF_INET)
        return rm->has_src4 ? &rm->src4 : NULL;
    return rm->has_src6 ? &rm->src6 : NULL;
}

/*
 * remember - tell the downed-host memory how connecting to ip went (err:
 * 0 connected, else the errno of the failure; only a timeout marks it,
 * see tcpto_note).  Its trouble is ignored: without it, only a shortcut
 * is lost.  errno is kept.
 */
static void
remember(struct remote *rm, const struct ipaddr *ip, int err)
{
    int e = errno;

    if (rm->tcpto &&
        tcpto_note(rm->tcpto, ip, err, (long long)time(NULL)) == -1) {
        /* unwritable or locked for long: go on without the memory */
    }
    errno = e;
}

/* unbound - why a connection from outgoingip could not be made. */
static void
unbound(struct remote *rm, const struct ipaddr *ip, struct bstr *why)
{
    char src[IPADDR_FMT];
    int e = errno;

    ipaddr_fmt(src, source(rm, ip));
    bstr_truncate(why, 0);
    if (result_line(why, RS_UNBOUND, RESULT_ARGS(src, strerror(e))) == -1)
        bstr_truncate(why, 0);
}

/*
 * open_session - connect to the first candidate that answers and greets.
 * Returns 0, or -1 with the message's result settled.
 */
static int
open_session(struct remote *rm, struct remote_msg *m)
{
    struct hosts h;
    struct tcpto t;
    struct bstr why = BSTR_INIT, last = BSTR_INIT;
    enum outcome_kind k;
    long long now = (long long)time(NULL);

    k = hosts_find(rm->host, &rm->routes, &rm->ipme, &rm->res, &h, &why);
    if (k != OUTCOME_OK) {
        if (why.len)
            settle(m, k == OUTCOME_PERM ? 'D' : 'Z', &why);
        else
            settle_text(m, 'Z', nomem);
        bstr_free(&why);
        return -1;
    }
    if (!rm->tcpto || tcpto_load(rm->tcpto, &t) == -1)
        memset(&t, 0, sizeof t);
    for (size_t i = 0; i < h.n; i++) {
        const struct ipaddr *ip = &h.a[i].ip;
        bool plain = false;
        int r;

        if (tcpto_is_down(&t, ip, now))
            continue;
    again:
        r = smtp_connect(&rm->s, ip, h.port, source(rm, ip),
                         (unsigned)rm->c->timeoutconnect);
        if (r == -1)
            remember(rm, ip, errno);
        if (r == -2 && !source(rm, ip) && errno != EAFNOSUPPORT) {
            /* no socket (no IPv6 here: the next address): give up now */
            settle_result(m, RS_OSERR, RESULT_NOARGS);
            bstr_free(&why);
            bstr_free(&last);
            return -1;
        }
        if (r == -2 && source(rm, ip))
            unbound(rm, ip, &last); /* our trouble: say so if all fail */
        if (r != 0)
            continue;
        remember(rm, ip, 0);
        rm->connections++;
        r = greet(rm, h.a[i].name, plain, &why);
        if (r == 0) {
            bstr_free(&why);
            bstr_free(&last);
            return 0;
        }
        if (r == REMOTE_SECURE_PLAIN && !plain) {
            /* at "may", a failed STARTTLS: the same host, in plain text */
            smtp_close(&rm->s);
            plain = true;
            goto again;
        }
        if (why.len && bstr_copy(&last, &why) == -1)
            bstr_truncate(&last, 0);
        if (rm->s.fd != -1 && !rm->s.err && !rm->s.bad)
            smtp_quit(&rm->s);
        smtp_close(&rm->s);
    }
    if (last.len)
        settle(m, 'Z', &last);
    else /* also when every address rests in tcpto, as in qmail-1.03 */
        settle_result(m, RS_NOCONN, RESULT_NOARGS);
    bstr_free(&why);
    bstr_free(&last);
    return -1;
}

/* ---- the transaction ------------------------------------------------ */

static bool
has_ctl(const char *a)
{
    for (; *a; a++)
        if ((unsigned char)*a < 0x20 || *a == 0x7f)
            return true;
    return false;
}

static bool
is_ascii(const char *a)
{
    for (; *a; a++)
        if ((unsigned char)*a >= 0x80)
            return false;
    return true;
}

/* One transaction's progress; the commands are MAIL, RCPTs, DATA. */
struct xact {
    size_t *idx;     /* the recipients asked for, in order */
    size_t nrcpt;
    size_t sent;     /* commands written */
    size_t got;      /* replies read */
    bool mailfail;
    size_t accepted;
    bool sized;
    unsigned long long size;
    bool eightbit;
    bool utf8;
};

/*
 * put_cmd - queue command number i: 0 MAIL, 1..nrcpt RCPT, then DATA.
 * Returns 0; -1 when the connection failed; -2 when out of memory.
 */
static int
put_cmd(struct remote *rm, struct remote_msg *m, struct xact *x, size_t i,
        struct bstr *buf)
{
    const char *a;

    bstr_truncate(buf, 0);
    if (i == 0) {
        if (bstr_cats(buf, "MAIL FROM:<") == -1 ||
            (*m->sender &&
             addr_quote(buf, m->sender, strlen(m->sender)) == -1) ||
            bstr_catc(buf, '>') == -1)
            return -2;
        if ((rm->s.ext & SMTP_SIZE) && x->sized &&
            bstr_catf(buf, " SIZE=%llu", x->size) == -1)
            return -2;
        if ((rm->s.ext & SMTP_8BITMIME) && x->eightbit &&
            bstr_cats(buf, " BODY=8BITMIME") == -1)
            return -2;
        if (x->utf8 && bstr_cats(buf, " SMTPUTF8") == -1)
            return -2;
    } else if (i <= x->nrcpt) {
        a = m->r[x->idx[i - 1]].addr;
        if (bstr_cats(buf, "RCPT TO:<") == -1 ||
            addr_quote(buf, a, strlen(a)) == -1 || bstr_catc(buf, '>') == -1)
            return -2;
    } else if (bstr_cats(buf, "DATA") == -1) {
        return -2;
    }
    if (bstr_cats(buf, "\r\n") == -1)
        return -2;
    return smtp_put(&rm->s, buf->s, buf->len);
}

/*
 * send_body - the message after DATA's 354, then its final reply.
 * Returns the reply code, or -1: *readfail when the message could not be
 * read (errno), else the connection failed (rm->s says why), *critical
 * when that was after the whole message went out.
 */
static int
send_body(struct remote *rm, struct remote_msg *m, bool *readfail,
          bool *critical)
{
    struct body_enc e;
    struct bstr wire = BSTR_INIT;
    char *buf = malloc(BODY_CHUNK);
    int code = -1;

    *readfail = *critical = false;
    if (!buf) {
        *readfail = true;
        return -1;
    }
    body_init(&e);
    if (lseek(m->fd, 0, SEEK_SET) == -1 && errno != ESPIPE)
        goto readerr;
    for (;;) {
        ssize_t r = read(m->fd, buf, BODY_CHUNK);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            goto readerr;
        if (r == 0)
            break;
        bstr_truncate(&wire, 0);
        if (body_push(&e, buf, (size_t)r, &wire) == -1)
            goto readerr;
        if (smtp_put(&rm->s, wire.s, wire.len) == -1)
            goto out;
    }
    bstr_truncate(&wire, 0);
    if (body_end(&e, &wire) == -1)
        goto readerr;
    if (smtp_put(&rm->s, wire.s, wire.len) == -1 || smtp_flush(&rm->s) == -1)
        goto out;
    *critical = true;
    code = smtp_read(&rm->s);
    goto out;
readerr:
    *readfail = true;
out:
    free(buf);
    bstr_free(&wire);
    return code;
}

/* after_data - the reply to DATA (and the message, when it was sent). */
static void
after_data(struct remote *rm, struct remote_msg *m, struct xact *x, int code)
{
    bool readfail, critical;

    if (x->mailfail || x->accepted == 0) {
        /* DATA went out pipelined, for nothing: end it with no message */
        if (code == 354 && (smtp_put(&rm->s, ".\r\n", 3) == -1 ||
                            smtp_read(&rm->s) == -1))
            smtp_close(&rm->s);
        return;
    }
    if (code != 354) {
        said(rm, m, fail_code(code), RS_R_DATA);
        return;
    }
    code = send_body(rm, m, &readfail, &critical);
    if (readfail) {
        /* mid-DATA there is no clean way out: drop the connection */
        settle_result(m, RS_NOREAD, RESULT_NOARGS);
        smtp_close(&rm->s);
        return;
    }
    if (code == -1) {
        died(rm, m, critical);
        return;
    }
    if (code / 100 == 2)
        said(rm, m, 'K', RS_R_ACCEPTED);
    else
        said(rm, m, fail_code(code), RS_R_AFTERDATA);
}

/*
 * on_reply - the reply to command i (0 MAIL, 1..nrcpt RCPT, then DATA).
 */
static void
on_reply(struct remote *rm, struct remote_msg *m, struct xact *x, size_t i,
         int code)
{
    struct bstr t = BSTR_INIT, tail = BSTR_INIT;
    struct remote_rcpt *r;

    if (i == 0) {
        if (code / 100 != 2) {
            x->mailfail = true;
            said(rm, m, fail_code(code), RS_R_SENDER);
        }
        return;
    }
    if (i > x->nrcpt) {
        after_data(rm, m, x, code);
        return;
    }
    if (x->mailfail)
        return;
    r = &m->r[x->idx[i - 1]];
    if (code / 100 == 2) {
        rcpt_result(r, 'r', NULL, NULL);
        x->accepted++;
        return;
    }
    /*
     * qmail-1.03 delivered each recipient alone, so a refused one always
     * ended its connection with "Giving up on IP.", and qmail-rspawn put
     * that after the recipient's text: batch reports say it themselves
     */
    if (result_line(&t, RS_R_RCPT, RESULT_ARGS(rm->s.ipstr)) == -1 ||
        smtp_said(&rm->s, &t) == -1 || tls_note(rm, &t) == -1)
        bstr_truncate(&t, 0);
    if (result_line(&tail, RS_R_GIVEUP, RESULT_ARGS(rm->s.ipstr)) == -1)
        bstr_truncate(&tail, 0);
    rcpt_result(r, code >= 500 ? 'h' : 's', &t, &tail);
    bstr_free(&t);
    bstr_free(&tail);
}

/*
 * refused_all - no recipient was accepted: qmail's "Giving up", always D
 * as in qmail-1.03 (every recipient has its own h or s, which decides).
 */
static void
refused_all(struct remote *rm, struct remote_msg *m)
{
    settle_result(m, RS_R_GIVEUP, RESULT_ARGS(rm->s.ipstr));
}

/*
 * want_data - whether DATA goes out now: the sender was not refused, and
 * some recipient was accepted or still has its reply on the way.
 */
static bool
want_data(const struct xact *x)
{
    return !x->mailfail && (x->accepted > 0 || x->got < x->sent);
}

/*
 * transaction - MAIL, RCPT, DATA on the open connection, in groups of
 * REMOTE_WINDOW commands per write with PIPELINING, else one at a time;
 * replies are matched to commands in order (RFC 2920).
 */
static void
transaction(struct remote *rm, struct remote_msg *m, struct xact *x)
{
    struct bstr buf = BSTR_INIT;
    size_t window = (rm->s.ext & SMTP_PIPELINING) ? REMOTE_WINDOW : 1;
    size_t total = x->nrcpt + 2;

    for (;;) {
        while (x->sent < total && x->sent - x->got < window) {
            if (x->sent > 0 && x->mailfail)
                break;
            if (x->sent == total - 1 && !want_data(x))
                break;
            int r = put_cmd(rm, m, x, x->sent, &buf);

            if (r == -2) {
                settle_text(m, 'Z', nomem);
                smtp_close(&rm->s); /* commands may be half queued */
                goto out;
            }
            if (r == -1) {
                died(rm, m, false);
                goto out;
            }
            x->sent++;
        }
        if (x->got == x->sent)
            break;
        while (x->got < x->sent) {
            int code = smtp_read(&rm->s);

            if (code == -1) {
                died(rm, m, false);
                goto out;
            }
            on_reply(rm, m, x, x->got++, code);
            if (rm->s.fd == -1)
                goto out;
        }
    }
    if (!x->mailfail && x->accepted == 0)
        refused_all(rm, m);
out:
    bstr_free(&buf);
}

/* ---- one message ---------------------------------------------------- */

/*
 * check_ctl - refuse what must never reach the wire: control bytes in an
 * address (a CR LF there would be a command of its own).  Returns 0, or
 * -1 with the message settled (a bad sender, or no recipient left).
 */
static int
check_ctl(struct remote_msg *m)
{
    struct bstr text = BSTR_INIT;
    size_t left = 0;

    if (has_ctl(m->sender)) {
        settle_result(m, RS_SENDER_CTL, RESULT_NOARGS);
        return -1;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (!has_ctl(m->r[i].addr))
            left++;
        else if (text.len || result_line(&text, RS_RCPT_CTL,
                                         RESULT_NOARGS) == 0)
            rcpt_result(&m->r[i], 'h', &text, NULL);
        else /* no words for it: the final text stands in */
            rcpt_result(&m->r[i], 'h', NULL, NULL);
    }
    bstr_free(&text);
    if (left == 0) {
        settle_result(m, RS_NORCPT_LEFT, RESULT_NOARGS);
        return -1;
    }
    return 0;
}

/*
 * check_utf8 - UTF-8 addresses need a server that announced SMTPUTF8
 * (RFC 6531 §3.4); fill x->idx with the recipients to ask for.  Returns
 * 0, or -1 with the message settled.
 */
static int
check_utf8(struct remote *rm, struct remote_msg *m, struct xact *x)
{
    bool utf8ok = rm->s.ext & SMTP_SMTPUTF8;

    x->nrcpt = 0;
    x->utf8 = false;
    if (!is_ascii(m->sender)) {
        if (!utf8ok) {
            settle_result(m, RS_SENDER_UTF8, RESULT_ARGS(rm->s.ipstr));
            return -1;
        }
        x->utf8 = true;
    }
    for (size_t i = 0; i < m->n; i++) {
        struct remote_rcpt *r = &m->r[i];

        if (r->code)
            continue;
        if (!is_ascii(r->addr)) {
            if (!utf8ok) {
                struct bstr t = BSTR_INIT;

                if (result_line(&t, RS_RCPT_UTF8,
                                RESULT_ARGS(rm->s.ipstr)) == -1)
                    bstr_truncate(&t, 0);
                rcpt_result(r, 'h', &t, NULL);
                bstr_free(&t);
                continue;
            }
            x->utf8 = true;
        }
        x->idx[x->nrcpt++] = i;
    }
    if (x->nrcpt == 0) {
        refused_all(rm, m);
        return -1;
    }
    return 0;
}

/*
 * too_big - the message is over the limit the server announced with
 * SIZE: a permanent failure, before anything is sent.
 */
static bool
too_big(struct remote *rm, struct remote_msg *m, const struct xact *x)
{
    char size[FMT_ULONG], max[FMT_ULONG];

    if (!x->sized || !rm->s.sizemax || x->size <= rm->s.sizemax)
        return false;
    settle_result(m, RS_TOOBIG,
                  RESULT_ARGS(result_num(size, x->size), rm->s.ipstr,
                              result_num(max, rm->s.sizemax)));
    return true;
}

/* reuse - RSET on the connection left by the previous message. */
static void
reuse(struct remote *rm)
{
    int code;

    if (smtp_put(&rm->s, "RSET\r\n", 6) == -1 ||
        (code = smtp_read(&rm->s)) == -1) {
        smtp_close(&rm->s);
        return;
    }
    if (code / 100 != 2)
        smtp_quit(&rm->s);
}

/*
 * remote_deliver - send message m to the destination, leaving results in
 * m->r[] and m->final.  Uses the open connection (after RSET) or opens
 * one; leaves it open for the next message when its state is known.
 */
void
remote_deliver(struct remote *rm, struct remote_msg *m)
{
    struct xact x;

    memset(&x, 0, sizeof x);
    x.idx = calloc(m->n ? m->n : 1, sizeof *x.idx);
    if (!x.idx) {
        settle_text(m, 'Z', nomem);
        return;
    }
    if (check_ctl(m) == -1)
        goto out;
    /* the size and 8-bit scan needs a seekable message; else skip it */
    if (lseek(m->fd, 0, SEEK_SET) == 0) {
        if (body_scan(m->fd, &x.size, &x.eightbit) == -1) {
            settle_result(m, RS_NOREAD, RESULT_NOARGS);
            goto out;
        }
        x.sized = true;
    }
    if (rm->s.ready)
        reuse(rm);
    if (!rm->s.ready && open_session(rm, m) == -1)
        goto out;
    if (!too_big(rm, m, &x) && check_utf8(rm, m, &x) == 0)
        transaction(rm, m, &x);
out:
    free(x.idx);
}

/* remote_finish - QUIT the open connection, if any. */
void
remote_finish(struct remote *rm)
{
    if (rm->s.ready)
        smtp_quit(&rm->s);
    smtp_close(&rm->s);
}
