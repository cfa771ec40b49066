/* SPDX-License-Identifier: ISC */
/*
 * pop3d - qmail-pop3d's session after login: the TRANSACTION state's
 * commands (RFC 1939 §5, RFC 2449 CAPA) and QUIT's UPDATE state.
 *
 * One table maps each verb to its handler; replies keep qmail-pop3d's
 * texts.  Input lines are read through iob with POP3CMD_MAX as their
 * limit, so a client can never make the session grow; output goes
 * through iob with qmail's 1200-second timeout and is flushed when no
 * pipelined command is waiting.  Files change only at QUIT: an end by
 * EOF, timeout or a write error leaves the Maildir as it was.
 */
#include "pop3d.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"

/* qmail-pop3d's error texts */
#define E_SYNTAX "syntax error"
#define E_UNIMPL "unimplemented"
#define E_DELETED "already deleted"
#define E_NOZERO "messages are counted from 1"
#define E_TOOBIG "not that many messages"
#define E_NOSUCH "unable to open that message"
#define E_NOUNLINK "unable to unlink all deleted messages"
#define E_LONG "line too long"

/* pop3d_config_env - read the session's settings from the environment.
 * 0, or 1 when a value was not understood and left out (why says which). */
int
pop3d_config_env(struct pop3d_config *cf, struct bstr *why)
{
    const char *v;
    unsigned long u;
    int r = 0;

    memset(cf, 0, sizeof *cf);
    /* vchkpw sets USER to the mailbox and VPOPUSER to the whole login */
    cf->user = getenv("VPOPUSER");
    if (!cf->user || !*cf->user)
        cf->user = getenv("USER");
    if (!cf->user || !*cf->user)
        cf->user = "-";
    cf->ip = getenv("TCPREMOTEIP");
    if (!cf->ip || !*cf->ip)
        cf->ip = "-";
    cf->mailbox = getenv("USER");
    cf->domain = getenv("VPOPDOMAIN");
    if (!cf->mailbox || !*cf->mailbox || !cf->domain || !*cf->domain)
        cf->mailbox = cf->domain = NULL;
    v = getenv("POP3LOGINDELAY");
    if (v && *v) {
        if (scan_ulong(v, strlen(v), &u) == strlen(v)) {
            cf->logindelay_set = true;
            cf->logindelay = u;
        } else {
            r = 1;
            if (bstr_cats(why, "POP3LOGINDELAY is not a number of seconds; ") ==
                -1)
                return 1;
        }
    }
    v = getenv("POP3EXPIRE");
    if (v && *v) {
        if (strcmp(v, "NEVER") == 0 || strcmp(v, "never") == 0)
            cf->expire = POP3D_EXPIRE_NEVER;
        else if (scan_ulong(v, strlen(v), &u) == strlen(v)) {
            cf->expire = POP3D_EXPIRE_DAYS;
            cf->expire_days = u;
        } else {
            r = 1;
            if (bstr_cats(
                    why,
                    "POP3EXPIRE is neither a number of days nor NEVER; ") == -1)
                return 1;
        }
    }
    return r;
}

/* pop3d_init - a session on infd/outfd over an empty listing. */
void
pop3d_init(struct pop3d *s, const struct pop3d_config *cf, int infd, int outfd)
{
    memset(s, 0, sizeof *s);
    s->cf = cf;
    iob_init(&s->in, infd, s->inbuf, sizeof s->inbuf, NULL, NULL);
    iob_init(&s->out, outfd, s->outbuf, sizeof s->outbuf, NULL, NULL);
    iob_settimeout(&s->in, POP3D_TIMEOUT);
    iob_settimeout(&s->out, POP3D_TIMEOUT);
}

/* pop3d_free - release what the session holds (not the listing's files). */
void
pop3d_free(struct pop3d *s)
{
    pop3d_box_free(&s->box);
    bstr_free(&s->line);
    bstr_free(&s->enc);
}

static void
io_failed(struct pop3d *s)
{
    if (errno == ETIMEDOUT)
        s->end = POP3D_END_TIMEOUT;
    else if (errno == EPIPE || errno == ECONNRESET)
        s->end = POP3D_END_EOF;
    else
        s->end = POP3D_END_ERROR;
}

/* pop3d_put - n bytes to the client; 0, or -1 (s->end says why). */
int
pop3d_put(struct pop3d *s, const char *p, size_t n)
{
    if (iob_put(&s->out, p, n) == -1) {
        io_failed(s);
        return -1;
    }
    s->sent += n;
    return 0;
}

/* pop3d_puts - a string to the client. */
int
pop3d_puts(struct pop3d *s, const char *str)
{
    return pop3d_put(s, str, strlen(str));
}

/* pop3d_flush - everything pending to the client. */
int
pop3d_flush(struct pop3d *s)
{
    if (iob_flush(&s->out) == -1) {
        io_failed(s);
        return -1;
    }
    return 0;
}

static int
put_ull(struct pop3d *s, unsigned long long u)
{
    char buf[FMT_ULONG];

    return pop3d_put(s, buf, fmt_ull(buf, u));
}

static int
err(struct pop3d *s, const char *text)
{
    if (pop3d_puts(s, "-ERR ") == -1 || pop3d_puts(s, text) == -1)
        return -1;
    return pop3d_puts(s, "\r\n");
}

static int
okay(struct pop3d *s)
{
    return pop3d_puts(s, "+OK \r\n");
}

/*
 * msgno - the message a number argument names, as qmail-pop3d checks it.
 * NULL with *i (from 0) and the text after it, or the error text.
 */
static const char *
msgno(struct pop3d *s, const char *arg, size_t len, size_t *i,
      const char **rest, size_t *restlen)
{
    unsigned long u;

    if (!pop3cmd_number(arg, len, &u, rest, restlen))
        return E_SYNTAX;
    if (u == 0)
        return E_NOZERO;
    if (u > s->box.n)
        return E_TOOBIG;
    if (s->box.v[u - 1].deleted)
        return E_DELETED;
    *i = u - 1;
    return NULL;
}

/* msgno_only - msgno, and nothing may follow the number. */
static const char *
msgno_only(struct pop3d *s, const char *arg, size_t len, size_t *i)
{
    const char *rest, *e;
    size_t restlen;

    e = msgno(s, arg, len, i, &rest, &restlen);
    if (!e && restlen)
        return E_SYNTAX;
    return e;
}

static void
touch(struct pop3d *s, size_t i)
{
    if (i + 1 > s->last)
        s->last = i + 1;
}

static int
do_stat(struct pop3d *s, const char *arg, size_t len)
{
    unsigned long long total = 0, count = 0;

    (void)arg;
    (void)len;
    /* RFC 1939 §5: deleted messages are counted in neither figure */
    for (size_t i = 0; i < s->box.n; i++)
        if (!s->box.v[i].deleted) {
            total += s->box.v[i].size;
            count++;
        }
    if (pop3d_puts(s, "+OK ") == -1 || put_ull(s, count) == -1 ||
        pop3d_puts(s, " ") == -1 || put_ull(s, total) == -1)
        return -1;
    return pop3d_puts(s, "\r\n");
}

static int
list_one(struct pop3d *s, size_t i, bool uidl)
{
    if (put_ull(s, i + 1) == -1 || pop3d_puts(s, " ") == -1)
        return -1;
    if (uidl) {
        size_t n;
        const char *u = pop3d_uidl(pop3d_box_name(&s->box, i), &n);

        if (pop3d_put(s, u, n) == -1)
            return -1;
    } else if (put_ull(s, s->box.v[i].size) == -1)
        return -1;
    return pop3d_puts(s, "\r\n");
}

static int
listing(struct pop3d *s, const char *arg, size_t len, bool uidl)
{
    if (len) {
        size_t i;
        const char *e = msgno_only(s, arg, len, &i);

        if (e)
            return err(s, e);
        if (pop3d_puts(s, "+OK ") == -1)
            return -1;
        return list_one(s, i, uidl);
    }
    if (okay(s) == -1)
        return -1;
    for (size_t i = 0; i < s->box.n; i++)
        if (!s->box.v[i].deleted && list_one(s, i, uidl) == -1)
            return -1;
    return pop3d_puts(s, ".\r\n");
}

static int
do_list(struct pop3d *s, const char *arg, size_t len)
{
    return listing(s, arg, len, false);
}

static int
do_uidl(struct pop3d *s, const char *arg, size_t len)
{
    return listing(s, arg, len, true);
}

/*
 * send_msg - "+OK " and message i encoded for the wire.  Once the +OK is
 * out a failure cannot be reported in the protocol: a read error ends
 * the session (s->end), as qmail-pop3d's does.
 */
static int
send_msg(struct pop3d *s, size_t i, bool top, unsigned long lines)
{
    int fd = pop3d_box_open(&s->box, i);
    struct pop3d_enc e;
    char *buf;
    int r = -1;

    if (fd == -1)
        return err(s, E_NOSUCH);
    buf = malloc(POP3D_CHUNK);
    if (!buf) {
        close(fd);
        return err(s, "out of memory");
    }
    if (okay(s) == -1)
        goto out;
    pop3d_enc_init(&e, top, lines);
    while (!e.done) {
        ssize_t n = read(fd, buf, POP3D_CHUNK);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            s->end = POP3D_END_ERROR;
            goto out;
        }
        if (n == 0)
            break;
        s->enc.len = 0;
        if (pop3d_enc_push(&e, buf, (size_t)n, &s->enc) == -1) {
            s->end = POP3D_END_ERROR;
            goto out;
        }
        if (pop3d_put(s, s->enc.s, s->enc.len) == -1)
            goto out;
    }
    s->enc.len = 0;
    if (pop3d_enc_end(&e, &s->enc) == -1) {
        s->end = POP3D_END_ERROR;
        goto out;
    }
    r = pop3d_put(s, s->enc.s, s->enc.len);
out:
    free(buf);
    close(fd);
    /* keep the encoder's buffer from staying at a chunk's worst case */
    if (s->enc.cap > 4 * POP3D_CHUNK)
        bstr_free(&s->enc);
    return r;
}

static int
do_retr(struct pop3d *s, const char *arg, size_t len)
{
    size_t i;
    const char *e = msgno_only(s, arg, len, &i);
    int r;

    if (e)
        return err(s, e);
    r = send_msg(s, i, false, 0);
    if (r == 0 && !s->end) {
        s->box.v[i].retrieved = true;
        s->nretrieved++;
        touch(s, i);
    }
    return r;
}

static int
do_top(struct pop3d *s, const char *arg, size_t len)
{
    size_t i, restlen, morelen;
    const char *rest, *more;
    const char *e = msgno(s, arg, len, &i, &rest, &restlen);
    unsigned long lines = 0;

    if (e)
        return err(s, e);
    /* qmail-pop3d: TOP n without a line count sends the whole message */
    if (!restlen)
        return send_msg(s, i, false, 0);
    if (!pop3cmd_number(rest, restlen, &lines, &more, &morelen) || morelen)
        return err(s, E_SYNTAX);
    return send_msg(s, i, true, lines);
}

static int
do_dele(struct pop3d *s, const char *arg, size_t len)
{
    size_t i;
    const char *e = msgno_only(s, arg, len, &i);

    if (e)
        return err(s, e);
    s->box.v[i].deleted = true;
    touch(s, i);
    return okay(s);
}

static int
do_rset(struct pop3d *s, const char *arg, size_t len)
{
    (void)arg;
    (void)len;
    for (size_t i = 0; i < s->box.n; i++)
        s->box.v[i].deleted = false;
    s->last = 0;
    return okay(s);
}

static int
do_noop(struct pop3d *s, const char *arg, size_t len)
{
    (void)arg;
    (void)len;
    return okay(s);
}

static int
do_last(struct pop3d *s, const char *arg, size_t len)
{
    (void)arg;
    (void)len;
    if (pop3d_puts(s, "+OK ") == -1 || put_ull(s, s->last) == -1)
        return -1;
    return pop3d_puts(s, "\r\n");
}

static int
do_capa(struct pop3d *s, const char *arg, size_t len)
{
    const struct pop3d_config *cf = s->cf;

    (void)arg;
    (void)len;
    if (pop3d_puts(s,
                   "+OK capability list follows\r\n"
                   "TOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nUSER\r\n") == -1)
        return -1;
    if (cf->logindelay_set &&
        (pop3d_puts(s, "LOGIN-DELAY ") == -1 ||
         put_ull(s, cf->logindelay) == -1 || pop3d_puts(s, "\r\n") == -1))
        return -1;
    if (cf->expire == POP3D_EXPIRE_NEVER &&
        pop3d_puts(s, "EXPIRE NEVER\r\n") == -1)
        return -1;
    if (cf->expire == POP3D_EXPIRE_DAYS &&
        (pop3d_puts(s, "EXPIRE ") == -1 || put_ull(s, cf->expire_days) == -1 ||
         pop3d_puts(s, "\r\n") == -1))
        return -1;
    return pop3d_puts(s, "IMPLEMENTATION qmail-ng\r\n.\r\n");
}

static int
do_quit(struct pop3d *s, const char *arg, size_t len)
{
    bool expire0 =
        s->cf->expire == POP3D_EXPIRE_DAYS && s->cf->expire_days == 0;
    int r;

    (void)arg;
    (void)len;
    s->end = POP3D_END_QUIT;
    r = pop3d_box_update(&s->box, expire0, &s->ndeleted);
    return r == -1 ? err(s, E_NOUNLINK) : okay(s);
}

static int
do_unimpl(struct pop3d *s, const char *arg, size_t len)
{
    (void)arg;
    (void)len;
    return err(s, E_UNIMPL);
}

static const struct {
    enum pop3_verb verb;
    int (*fn)(struct pop3d *s, const char *arg, size_t len);
} commands[] = {
    {POP3_QUIT, do_quit}, {POP3_STAT, do_stat}, {POP3_LIST, do_list},
    {POP3_UIDL, do_uidl}, {POP3_DELE, do_dele}, {POP3_RETR, do_retr},
    {POP3_RSET, do_rset}, {POP3_LAST, do_last}, {POP3_TOP, do_top},
    {POP3_NOOP, do_noop}, {POP3_CAPA, do_capa},
};

/*
 * pop3d_command - run one command line (without its LF).  0, or -1 when
 * the session must end (s->end says why).
 */
int
pop3d_command(struct pop3d *s, const char *line, size_t len)
{
    struct pop3cmd c;
    int (*fn)(struct pop3d *, const char *, size_t) = do_unimpl;

    pop3cmd_parse(line, len, &c);
    if (c.ctl)
        return err(s, E_SYNTAX);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].verb == c.verb)
            fn = commands[i].fn;
    if (fn(s, c.arg, c.arglen) == -1)
        return -1;
    return s->end ? -1 : 0;
}

/* line_waiting - is a whole pipelined command already buffered?  Only then
 * may replies wait: a client is never left waiting on a half line. */
static bool
line_waiting(const struct iob *in)
{
    size_t n = iob_buffered(in);

    return n > 0 && memchr(iob_peek(in), '\n', n) != NULL;
}

/*
 * pop3d_run - read and answer commands until QUIT, EOF, a timeout or an
 * I/O error; s->end says which.
 */
void
pop3d_run(struct pop3d *s)
{
    while (!s->end) {
        int r = iob_getline(&s->in, &s->line, POP3CMD_MAX);

        if (r == -1) {
            io_failed(s);
            if (s->end == POP3D_END_ERROR && errno == EIO)
                s->end = POP3D_END_EOF;
            break;
        }
        if (r == IOB_EOF) {
            s->end = POP3D_END_EOF;
            break;
        }
        if (r == IOB_LONG) {
            if (err(s, E_LONG) == -1)
                break;
        } else {
            size_t len = s->line.len;

            if (len && s->line.s[len - 1] == '\n')
                len--;
            if (pop3d_command(s, s->line.s, len) == -1 &&
                s->end != POP3D_END_QUIT)
                break;
        }
        if ((s->end == POP3D_END_QUIT || !line_waiting(&s->in)) &&
            pop3d_flush(s) == -1)
            break;
    }
}
