/* SPDX-License-Identifier: ISC */
/*
 * commands - the SMTP verbs of qmail-smtpd: parsing (pure functions),
 * one check + act pair per verb, and the {verb, handler, flags} table.
 *
 * Replies are qmail-1.03's texts from the outcome table; after EHLO they
 * carry RFC 3463 codes (RFC 2034).  Replies are buffered and written
 * only when the client has nothing more pipelined (RFC 2920), before any
 * read that could block, and at once after 354.  Handlers never exit:
 * they return -1 with s->fate and s->how saying how the session ends,
 * and qmail-smtpd.c's die paths carry it out.  Every refusal is logged
 * with its reason name; nothing half-received ever reaches the queue.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "checkpw.h"
#include "datetime.h"
#include "fmt.h"
#include "greylist.h"
#include "log.h"
#include "ratelimit.h"
#include "scram.h"
#include "smtpd.h"
#include "vis.h"

/* ---- parsing ---------------------------------------------------------- */

/* case-insensitive: does s[0..len) start with the lowercase word w? */
static bool
has_prefix(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w);

    return len >= n && strncasecmp(s, w, n) == 0;
}

/*
 * smtpd_cmd_parse - split one command line as read (with its CRLF or
 * LF, or none) into verb and argument.  The verb is matched without
 * regard to case; the argument starts after the spaces following it and
 * loses trailing spaces.  Returns OC_OK (c->verb is the unknown-verb
 * entry when no verb matched), OC_LONGCMD when the line is over
 * SMTPD_CMD_MAX bytes, or OC_BADCMD when it holds a NUL or a CR or LF
 * that is not its line end.
 */
enum reason
smtpd_cmd_parse(const char *line, size_t len, struct smtpd_cmd *c)
{
    const struct smtpd_verb *v;
    size_t n = 0, i;

    for (v = smtpd_verbs; v->name; v++)
        ;
    c->verb = v; /* the unknown-verb entry */
    c->arg = "";
    c->arglen = 0;
    if (len && line[len - 1] == '\n')
        len--;
    if (len && line[len - 1] == '\r')
        len--;
    if (len > SMTPD_CMD_MAX)
        return OC_LONGCMD;
    if (memchr(line, '\0', len) || memchr(line, '\r', len) ||
        memchr(line, '\n', len))
        return OC_BADCMD;
    while (n < len && line[n] != ' ')
        n++;
    for (v = smtpd_verbs; v->name; v++)
        if (strlen(v->name) == n && strncasecmp(v->name, line, n) == 0)
            break;
    c->verb = v;
    for (i = n; i < len && line[i] == ' '; i++)
        ;
    while (len > i && line[len - 1] == ' ')
        len--;
    c->arg = line + i;
    c->arglen = len - i;
    return OC_OK;
}

static enum reason
addr_reason(int st)
{
    switch (st) {
    case ADDR_OK:
        return OC_OK;
    case ADDR_NEEDUTF8:
        return OC_NEEDUTF8;
    case ADDR_BADUTF8:
        return OC_BADUTF8;
    default:
        return OC_SYNTAX;
    }
}

/* RFC 5321 esmtp-keyword: (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") */
static bool
keyword_ok(const char *k, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9');

        if (!alnum && (i == 0 || c != '-'))
            return false;
    }
    return true;
}

static bool
word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/*
 * ESMTP parameters after a path: SP-separated "keyword[=value]".  m NULL
 * (RCPT) accepts none.  Returns OC_OK, OC_SYNTAX (no space after the
 * path), or OC_BADPARAM (unknown, repeated or malformed parameter).
 */
static enum reason
parse_params(const char *p, size_t len, struct smtpd_mail_arg *m)
{
    bool seen_size = false, seen_body = false, seen_utf8 = false;
    bool seen_auth = false;
    size_t i = 0;

    for (;;) {
        size_t start = i, k, klen, vlen;
        const char *val;

        while (i < len && p[i] == ' ')
            i++;
        if (i == len)
            return OC_OK;
        if (i == start)
            return OC_SYNTAX; /* "<a@b>junk" */
        start = i;
        while (i < len && p[i] != ' ')
            i++;
        for (k = start; k < i && p[k] != '='; k++)
            ;
        klen = k - start;
        val = p + k + 1;
        vlen = k < i ? i - k - 1 : 0;
        if (!m || !keyword_ok(p + start, klen))
            return OC_BADPARAM;
        if (word_is(p + start, klen, "SIZE")) {
            size_t d;

            if (seen_size || k == i || vlen == 0)
                return OC_BADPARAM;
            for (d = 0; d < vlen && val[d] >= '0' && val[d] <= '9'; d++)
                ;
            if (d != vlen)
                return OC_BADPARAM;
            if (scan_ull(val, vlen, &m->size) != vlen)
                m->size = ULLONG_MAX; /* too big to count: too big */
            m->size_given = seen_size = true;
        } else if (word_is(p + start, klen, "BODY")) {
            if (seen_body || k == i)
                return OC_BADPARAM;
            if (word_is(val, vlen, "8BITMIME"))
                m->body8 = true;
            else if (!word_is(val, vlen, "7BIT"))
                return OC_BADPARAM;
            seen_body = true;
        } else if (word_is(p + start, klen, "SMTPUTF8")) {
            if (seen_utf8 || k != i)
                return OC_BADPARAM;
            m->utf8 = seen_utf8 = true;
        } else if (word_is(p + start, klen, "AUTH")) {
            /* RFC 4954 5: AUTH=<> or an xtext mailbox, from a server
             * that authenticated the sender.  We trust no other server's
             * word for it, so it is checked for shape and forgotten. */
            if (seen_auth || k == i || vlen == 0)
                return OC_BADPARAM;
            for (size_t d = 0; d < vlen; d++)
                if (val[d] < '!' || val[d] > '~' || val[d] == '=')
                    return OC_BADPARAM;
            seen_auth = true;
        } else {
            return OC_BADPARAM;
        }
    }
}

/*
 * smtpd_parse_mail - the argument of MAIL: "FROM:" (any case), optional
 * spaces (qmail took "MAIL FROM: <a@b>"), a path with or without <>,
 * then SIZE=n, BODY=7BIT|8BITMIME and SMTPUTF8 parameters.  A non-ASCII
 * path needs SMTPUTF8; invalid UTF-8 never passes.  Returns OC_OK with
 * m filled in, or the reason to refuse.
 */
enum reason
smtpd_parse_mail(const char *arg, size_t len, struct smtpd_mail_arg *m)
{
    size_t i = 5, used = 0;
    enum reason r;
    int st;

    m->size = 0;
    m->size_given = m->body8 = m->utf8 = false;
    bstr_truncate(&m->addr, 0);
    if (!has_prefix(arg, len, "from:"))
        return OC_SYNTAX;
    while (i < len && arg[i] == ' ')
        i++;
    st = addr_parse_path(arg + i, len - i,
                         ADDR_F_UTF8 | ADDR_F_NULL_OK | ADDR_F_NOBRACKET,
                         &m->addr, &used);
    if (st != ADDR_OK)
        return addr_reason(st);
    r = parse_params(arg + i + used, len - i - used, m);
    if (r != OC_OK)
        return r;
    if (!m->utf8 && !addr_is_ascii(arg + i, used))
        return OC_NEEDUTF8;
    return OC_OK;
}

/*
 * smtpd_parse_rcpt - the argument of RCPT: "TO:", optional spaces, a
 * path; no parameters yet.  utf8: the transaction said SMTPUTF8.
 * Returns OC_OK with addr set, or the reason to refuse.
 */
enum reason
smtpd_parse_rcpt(const char *arg, size_t len, bool utf8, struct bstr *addr)
{
    size_t i = 3, used = 0;
    enum reason r;
    int st;

    bstr_truncate(addr, 0);
    if (!has_prefix(arg, len, "to:"))
        return OC_SYNTAX;
    while (i < len && arg[i] == ' ')
        i++;
    st = addr_parse_path(arg + i, len - i, ADDR_F_UTF8 | ADDR_F_NOBRACKET,
                         addr, &used);
    if (st != ADDR_OK)
        return addr_reason(st);
    r = parse_params(arg + i + used, len - i - used, NULL);
    if (r != OC_OK)
        return r;
    if (!utf8 && !addr_is_ascii(arg + i, used))
        return OC_NEEDUTF8;
    return OC_OK;
}

/*
 * smtpd_parse_bdat - "n" or "n LAST" (RFC 3030).  Returns 0, or -1 when
 * the size cannot be read: the client's stream can no longer be followed.
 */
int
smtpd_parse_bdat(const char *arg, size_t len, unsigned long long *size,
                 bool *last)
{
    size_t i = scan_ull(arg, len, size);

    *last = false;
    if (i == 0)
        return -1;
    if (i == len)
        return 0;
    if (arg[i] != ' ')
        return -1;
    while (i < len && arg[i] == ' ')
        i++;
    if (!word_is(arg + i, len - i, "LAST"))
        return -1;
    *last = true;
    return 0;
}

/* ---- replies and logs ------------------------------------------------- */

static void
put(struct smtpd_session *s, const char *p, size_t n)
{
    if (!s->wfail && iob_put(&s->out, p, n) == -1)
        s->wfail = true;
}

static void
put_line(struct smtpd_session *s, enum reason r, bool more, const char *text,
         const char *extra)
{
    const struct outcome *o = outcome_get(r);
    char code[FMT_ULONG + 1];
    size_t n = fmt_ull(code, o->smtp);

    code[n++] = more ? '-' : ' ';
    put(s, code, n);
    if (s->esmtp && o->esc && !more) {
        put(s, o->esc, strlen(o->esc));
        put(s, " ", 1);
    }
    put(s, text, strlen(text));
    if (extra)
        put(s, extra, strlen(extra));
    put(s, "\r\n", 2);
}

/* smtpd_flush - write out pending replies: 0, or -1 (client gone). */
int
smtpd_flush(struct smtpd_session *s)
{
    if (s->wfail)
        return -1;
    if (s->out.len && iob_flush(&s->out) == -1) {
        s->wfail = true;
        return -1;
    }
    return 0;
}

/*
 * smtpd_reply_quiet - queue one reply line: code, the enhanced code when
 * EHLO asked for them, the table's text, then extra.  No log, no count.
 */
void
smtpd_reply_quiet(struct smtpd_session *s, enum reason r, const char *extra)
{
    put_line(s, r, false, outcome_get(r)->text, extra);
}

/*
 * cat_said - append ' qq="TEXT"' when qmail-queue (or $QMAILQUEUE) said
 * something about the message: its words made safe by vis_cat, with '"'
 * as \042 so that the field ends where it seems to, and "..." when it
 * said more than qq keeps.  It is the last field of a line.
 */
static int
cat_said(struct bstr *t, const struct qq *q)
{
    size_t n;
    bool cut;
    const char *p = qq_said(q, &n, &cut);
    int e = 0;

    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    if (n == 0 && !cut)
        return 0;
    e |= bstr_cats(t, " qq=\"");
    for (size_t i = 0; i < n;) {
        size_t j = i;

        while (j < n && p[j] != '"')
            j++;
        e |= vis_cat(t, p + i, j - i);
        if (j < n) {
            e |= bstr_cats(t, "\\042");
            j++;
        }
        i = j;
    }
    if (cut)
        e |= bstr_cats(t, "...");
    e |= bstr_catc(t, '"');
    return e;
}

/*
 * cat_addr - append field, the address made safe by vis_cat (a client's
 * bytes: a UTF-8 C1 control through SMTPUTF8, a backslash in a quoted
 * local part) and '>'.  The log layer turns C0 into '?'; an address
 * must not be able to rewrite an admin's terminal either.
 */
static int
cat_addr(struct bstr *t, const char *field, const char *a, size_t len)
{
    int e = 0;

    e |= bstr_cats(t, field);
    e |= vis_cat(t, a, len);
    e |= bstr_catc(t, '>');
    return e;
}

static void
log_reject(struct smtpd_session *s, const struct outcome *o)
{
    struct bstr *t = &s->tmp;
    int e = 0;

    bstr_truncate(t, 0);
    e |= bstr_catf(t, "reject ip=%s reason=%s code=%u", s->remoteip, o->name,
                   o->smtp);
    if (s->qq_exit >= 0)
        e |= bstr_catf(t, " qqexit=%d", s->qq_exit);
    if (s->cur_from)
        e |= cat_addr(t, " from=<", s->cur_from, s->cur_from_len);
    if (s->cur_rcpt)
        e |= cat_addr(t, " rcpt=<", s->cur_rcpt, s->cur_rcpt_len);
    else if (s->state >= SMTPD_MAIL && s->txn.nrcpt) {
        e |= bstr_catf(t, " rcpts=%lu", s->txn.nrcpt);
    }
    if (s->detail) { /* what a check found (a DNSBL's zones and score) */
        e |= bstr_cats(t, " detail=");
        e |= vis_cat(t, s->detail, strlen(s->detail));
        s->detail = NULL;
    }
    if (s->qq_said)
        e |= cat_said(t, &s->qq);
    if (e == 0)
        log_line("%s", t->s);
    else
        log_line("reject ip=%s reason=%s code=%u", s->remoteip, o->name,
                 o->smtp);
}

/* reply - one reply line; a 4xx/5xx is logged, and counted towards
 * control/maxerrors when count says so */
static void
reply(struct smtpd_session *s, enum reason r, const char *text,
      const char *extra, bool count)
{
    const struct outcome *o = outcome_get(r);

    if (o->smtp >= 400) {
        s->errors += count;
        log_reject(s, o);
    }
    put_line(s, r, false, text ? text : o->text, extra);
}

/*
 * smtpd_reply - queue the reply for reason r (extra appended to its
 * text).  A 4xx/5xx reply is logged and counts towards control/maxerrors.
 */
void
smtpd_reply(struct smtpd_session *s, enum reason r, const char *extra)
{
    reply(s, r, NULL, extra, true);
}

/*
 * smtpd_reply_text - smtpd_reply with text in place of the table's, for
 * a refusal that names what it found (dnsbl.c: the zone); text ends in
 * the row's "(#x.y.z)" as the table's texts do.
 */
void
smtpd_reply_text(struct smtpd_session *s, enum reason r, const char *text)
{
    reply(s, r, text, NULL, true);
}

/*
 * smtpd_reply_retry - smtpd_reply for a 4xx that asks a well-behaved
 * client to come back later (greylisting): logged, but not the client's
 * error, so not counted towards control/maxerrors.
 */
void
smtpd_reply_retry(struct smtpd_session *s, enum reason r)
{
    reply(s, r, NULL, NULL, false);
}

/* smtpd_greet - "220 <smtpgreeting> ESMTP" (never an enhanced code). */
void
smtpd_greet(struct smtpd_session *s)
{
    put_line(s, OC_GREET, false, s->cf->greeting.s, " ESMTP");
}

/* cur_sender - the transaction's sender is what the next refusal is about */
static void
cur_sender(struct smtpd_session *s)
{
    s->cur_from = s->txn.sender.s;
    s->cur_from_len = s->txn.sender.len;
}

static int
nomem(struct smtpd_session *s)
{
    s->fate = OC_NOMEM;
    s->how = "nomem";
    return -1;
}

/*
 * Deadlines (RFC 5321 4.5.3.2 for the defaults).  timeoutsmtpd bounds
 * each read, as in qmail; on top of it a command line must be whole
 * within timeoutsmtpdcmd seconds of its first byte, and a message
 * (DATA, or every BDAT chunk of it and the commands between them) within
 * timeoutsmtpddata seconds of its start plus one second for every
 * mindatarate bytes received: past that grace it must keep coming at
 * mindatarate on average.  A client trickling a byte at a time holds a
 * slot for minutes, not for ever.
 */
enum { DL_NONE, DL_CMD, DL_DATA };

/* body_begin - a message's data (or a chunk no message wants) starts. */
static void
body_begin(struct smtpd_session *s)
{
    s->txn.body_start = datetime_mono_ms();
    s->txn.body_bytes = 0;
}

/* body_deadline - when the data read so far had to be in by; 0: none. */
static long long
body_deadline(const struct smtpd_session *s)
{
    unsigned long r = s->cf->minrate;
    unsigned long long b = s->txn.body_bytes;

    if (r == 0)
        return 0;
    return s->txn.body_start + (long long)s->cf->datatimeout * 1000 +
           (long long)(b / r) * 1000 + (long long)(b % r * 1000 / r);
}

/* set_deadline - the earlier of a line's and a message's deadline. */
static void
set_deadline(struct smtpd_session *s, long long line, long long body)
{
    if (body && (!line || body <= line)) {
        iob_setdeadline(&s->in, body);
        s->deadline = DL_DATA;
    } else {
        iob_setdeadline(&s->in, line);
        s->deadline = line ? DL_CMD : DL_NONE;
    }
}

static void
fate_io(struct smtpd_session *s, const char *eof_how)
{
    if (errno == ETIMEDOUT && s->deadline != DL_NONE &&
        iob_expired(&s->in)) {
        /* logged like a refusal: who it was and what they were sending */
        bool data = s->deadline == DL_DATA;

        if (data && s->state >= SMTPD_MAIL)
            cur_sender(s);
        smtpd_reply(s, data ? OC_SLOWDATA : OC_SLOWCMD, NULL);
        s->fate = OC_OK;
        s->how = data ? "slowdata" : "slowcmd";
    } else if (errno == ETIMEDOUT) {
        s->fate = OC_TIMEOUT;
        s->how = "timeout";
    } else if (errno == ENOMEM) {
        nomem(s);
    } else {
        s->fate = OC_OK;
        s->how = eof_how;
    }
}

/* ---- session and transaction ------------------------------------------ */

/*
 * smtpd_session_init - set up the buffers (inbuf: SMTPD_INBUF bytes,
 * outbuf: SMTPD_OUTBUF, databuf: SMTPD_INBUF) and reserve the scratch
 * strings so a session rarely allocates.  Returns 0 or -1 (no memory).
 * The caller fills in cf, pol and the tcpserver fields.
 */
int
smtpd_session_init(struct smtpd_session *s, char *inbuf, char *outbuf,
                   char *databuf)
{
    iob_init(&s->in, 0, inbuf, SMTPD_INBUF, NULL, NULL);
    iob_init(&s->out, 1, outbuf, SMTPD_OUTBUF, NULL, NULL);
    s->databuf = databuf;
    s->state = SMTPD_START;
    s->fate = OC_OK;
    s->how = "eof";
    s->qq_exit = -1;
    qq_init(&s->qq, "bin/qmail-queue", false);
    if (bstr_ready(&s->marg.addr, SMTPD_CMD_MAX + 16) == -1 ||
        bstr_ready(&s->txn.sender, 256) == -1 ||
        bstr_ready(&s->tmp, 512) == -1 ||
        bstr_ready(&s->txn.rcpts, 256) == -1 ||
        bstr_ready(&s->line, SMTPD_CMD_MAX + 16) == -1)
        return -1;
    return 0;
}

/*
 * txn_reset - forget the transaction: whatever qmail-queue had of it is
 * thrown away, the strings keep their memory, the rest is zero.  The
 * session goes back to HELLO (or START when no HELO came).
 */
static void
txn_reset(struct smtpd_session *s)
{
    struct bstr sender = s->txn.sender, rcpts = s->txn.rcpts;

    if (s->txn.qq_open)
        qq_abort(&s->qq);
    bstr_truncate(&sender, 0);
    bstr_truncate(&rcpts, 0);
    s->txn = (struct smtpd_txn){.sender = sender, .rcpts = rcpts};
    if (s->state >= SMTPD_MAIL)
        s->state = s->helo.s ? SMTPD_HELLO : SMTPD_START;
}

/*
 * smtpd_session_free - release what smtpd_session_init and the session
 * allocated (the buffers given to init are the caller's), so the process
 * can serve another session (tcpserver -W).  qmail-queue is left to the
 * caller (smtpd_abort ends it).
 */
void
smtpd_session_free(struct smtpd_session *s)
{
    /* zeroed: the heap they go back to serves the next client */
    bstr_wipe_free(&s->marg.addr);
    bstr_wipe_free(&s->txn.sender);
    bstr_wipe_free(&s->txn.rcpts);
    bstr_wipe_free(&s->tmp);
    bstr_wipe_free(&s->line);
    bstr_wipe_free(&s->helo);
    bstr_wipe_free(&s->authuser);
    smtpd_auth_free(&s->auth);
    smtpd_dnsbl_end(s);
    smtpd_checks_end(s);
}

/* smtpd_forget - the session is ending: nothing half-received is queued,
 * qmail-queue stays for the next session. */
void
smtpd_forget(struct smtpd_session *s)
{
    txn_reset(s);
}

/* smtpd_abort - the session is ending: nothing half-received is queued. */
void
smtpd_abort(struct smtpd_session *s)
{
    txn_reset(s);
    qq_end(&s->qq);
}

/*
 * fill - have client bytes buffered, writing our pending replies first
 * since the read may block.  Returns the bytes buffered, or -1 with the
 * fate set (eof_how names an end of file).
 */
static ssize_t
fill(struct smtpd_session *s, const char *eof_how)
{
    ssize_t r;

    if (iob_buffered(&s->in))
        return (ssize_t)iob_buffered(&s->in);
    if (smtpd_flush(s) == -1) {
        s->how = "write";
        return -1;
    }
    r = iob_fill(&s->in);
    if (r > 0)
        return r;
    if (r == 0)
        errno = 0;
    fate_io(s, r == 0 ? eof_how : "read");
    return -1;
}

/*
 * read_line - read the next line of at most max bytes into s->line: a
 * command, or an answer inside AUTH.  Returns IOB_LINE, IOB_LONG (the
 * rest was dropped), or -1 with the fate set (end of file, timeout,
 * error).
 */
static int
read_line(struct smtpd_session *s, size_t max)
{
    long long body = s->state == SMTPD_CHUNKS ? body_deadline(s) : 0;
    int r;

    if (!memchr(iob_peek(&s->in), '\n', iob_buffered(&s->in)) &&
        smtpd_flush(s) == -1) {
        s->how = "write";
        return -1;
    }
    /* Waiting for a command is timeoutsmtpd's business, as in qmail (and
     * a chunked message's, between its chunks); the line's own deadline
     * starts with its first byte. */
    set_deadline(s, 0, body);
    if (iob_buffered(&s->in) == 0) {
        ssize_t n = iob_fill(&s->in);

        if (n <= 0) {
            if (n == 0)
                errno = 0;
            fate_io(s, n == 0 ? "eof" : "read");
            return -1;
        }
    }
    set_deadline(s,
                 s->cf->cmdtimeout
                     ? datetime_mono_ms() + (long long)s->cf->cmdtimeout * 1000
                     : 0,
                 body);
    r = iob_getline(&s->in, &s->line, max);
    if (r == IOB_LINE || r == IOB_LONG)
        return r;
    if (r == IOB_EOF)
        errno = 0;
    fate_io(s, r == IOB_EOF ? "eof" : "read");
    return -1;
}

/*
 * smtpd_read_command - read the next command line into s->line.
 * Returns 0, or -1 with the fate set (end of file, timeout, error).
 */
int
smtpd_read_command(struct smtpd_session *s)
{
    return read_line(s, SMTPD_CMD_MAX + 2) == -1 ? -1 : 0;
}

/*
 * qq_refuse - reply and log a refusal that qmail-queue decided: the
 * log line names its exit code (-1: it could not be run) and carries
 * what it said.
 */
static void
qq_refuse(struct smtpd_session *s, enum reason r, int code)
{
    s->qq_exit = code;
    s->qq_said = true;
    smtpd_reply(s, r, NULL);
    s->qq_exit = -1;
    s->qq_said = false;
}

/* Start qmail-queue and give it our Received line. */
static enum reason
qq_start(struct smtpd_session *s)
{
    struct smtpd_trace t;

    t.remotehost = s->remotehost;
    t.helo = s->helo.s; /* NULL: no HELO or EHLO */
    t.remoteinfo = s->remoteinfo;
    t.remoteip = s->remoteip;
    t.local = s->local;
    t.utf8 = s->txn.utf8;
    t.tls = s->tls ? s->tlsinfo : NULL;
    t.auth = s->authuser.len != 0;
    bstr_truncate(&s->tmp, 0);
    if (smtpd_received(&s->tmp, &t, time(NULL)) == -1)
        return OC_NOMEM;
    if (qq_open(&s->qq) == -1)
        return errno == ENOMEM || errno == EAGAIN ? OC_QQ_TEMPOTHER
                                                  : OC_QQ_EXEC;
    s->qq_said = false;
    s->txn.qq_open = true;
    qq_put(&s->qq, s->tmp.s, s->tmp.len);
    return OC_OK;
}

/*
 * Push n client bytes (or, for DATA, everything up to the end marker:
 * n is then ignored) through the data parser into qmail-queue, or just
 * discard them when feed is false.  Returns 0, 1 when DATA stopped at a
 * bare LF or CR, or -1 with the fate set.
 */
static int
pump(struct smtpd_session *s, unsigned long long n, bool dot, bool feed)
{
    for (;;) {
        size_t avail, used, outlen = 0;
        enum smtpd_data_ev ev = SMTPD_DATA_MORE;

        if (!dot && n == 0)
            return 0;
        set_deadline(s, 0, body_deadline(s));
        if (fill(s, "disconnect-in-data") == -1)
            return -1;
        avail = iob_buffered(&s->in);
        if (!dot && avail > n)
            avail = (size_t)n;
        used = avail;
        if (feed) {
            ev = smtpd_data_feed(&s->data, iob_peek(&s->in), avail, &used,
                                 s->databuf, &outlen);
            if (outlen)
                qq_put(&s->qq, s->databuf, outlen);
        }
        iob_skip(&s->in, used);
        s->txn.body_bytes += used;
        if (!dot)
            n -= used;
        else if (ev == SMTPD_DATA_END)
            return 0;
        else if (ev == SMTPD_DATA_BARE)
            return 1;
    }
}

/* The "accepted" line, with what qmail-queue said if it said anything. */
static void
log_accepted(struct smtpd_session *s, pid_t pid)
{
    struct bstr *t = &s->tmp;
    int e = 0;

    bstr_truncate(t, 0);
    e |= bstr_catf(t, "accepted qp=%ld ip=%s", (long)pid, s->remoteip);
    e |= cat_addr(t, " from=<", s->txn.sender.s, s->txn.sender.len);
    e |= bstr_catf(t, " rcpts=%lu bytes=%llu", s->txn.nrcpt, s->data.bytes);
    e |= cat_said(t, &s->qq);
    if (e == 0)
        log_line("%s", t->s);
    else
        log_line("accepted qp=%ld ip=%s rcpts=%lu bytes=%llu", (long)pid,
                 s->remoteip, s->txn.nrcpt, s->data.bytes);
}

/*
 * The message is all in: queue it, or refuse it with err.  Either way
 * the transaction is over and the session goes on.  Returns 0.
 */
static int
finish_message(struct smtpd_session *s, enum reason err)
{
    struct smtpd_txn *x = &s->txn;
    char extra[2 * FMT_ULONG + 8];
    pid_t pid = s->qq.pid;
    int code;
    enum reason r;

    cur_sender(s);
    if (err != OC_OK) {
        smtpd_reply(s, err, NULL);
        txn_reset(s);
        return 0;
    }
    qq_from(&s->qq, x->sender.s, x->sender.len);
    for (size_t i = 0; i < x->rcpts.len;) {
        size_t n = strlen(x->rcpts.s + i);

        qq_to(&s->qq, x->rcpts.s + i, n);
        i += n + 1;
    }
    code = qq_close(&s->qq);
    x->qq_open = false;
    r = outcome_from_qq(code);
    if (r != OC_OK) {
        qq_refuse(s, r, code);
        txn_reset(s);
        return 0;
    }
    snprintf(extra, sizeof extra, " %lld qp %ld", (long long)time(NULL),
             (long)pid);
    smtpd_reply(s, OC_OK, extra);
    log_accepted(s, pid);
    s->msgs++;
    s->rcpts_total += x->nrcpt;
    s->bytes_total += s->data.bytes;
    txn_reset(s);
    return 0;
}

/* ---- the verbs: check (pure: may it run now, is it well formed), then
 * act (reply, log, change the session) ---------------------------------- */

/*
 * smtpd_check_mail - MAIL's argument in m, or why it is refused: a
 * second MAIL, bad syntax or parameters, badmailfrom, SIZE over
 * databytes.
 */
enum reason
smtpd_check_mail(const struct smtpd_session *s, const char *arg, size_t len,
                 struct smtpd_mail_arg *m)
{
    enum reason r;

    if (s->state >= SMTPD_MAIL)
        return OC_NESTEDMAIL;
    if (s->cf->tls_required && s->tls == NULL)
        return OC_TLS_NEEDED;
    if (s->cf->auth_required && s->authuser.len == 0)
        return OC_AUTH_NEEDED;
    r = smtpd_parse_mail(arg, len, m);
    if (r != OC_OK) {
        bstr_truncate(&m->addr, 0);
        return r;
    }
    if (smtpd_checks_badmailfrom(s, m->addr.s, m->addr.len))
        return OC_BADMAILFROM;
    if (m->size_given && s->cf->databytes && m->size > s->cf->databytes)
        return OC_TOOBIG;
    return OC_OK;
}

/*
 * smtpd_check_rcpt - RCPT's address in a (rewritten as the policy says:
 * [our IP] literals), or why it is refused: no MAIL, syntax, too many,
 * relaying.  The policy's lookups use its own scratch strings.
 */
enum reason
smtpd_check_rcpt(const struct smtpd_session *s, const char *arg, size_t len,
                 struct bstr *a)
{
    enum reason r;

    if (s->state < SMTPD_MAIL)
        return OC_WANTMAIL;
    r = smtpd_parse_rcpt(arg, len, s->txn.utf8, a);
    if (r != OC_OK) {
        bstr_truncate(a, 0);
        return r;
    }
    r = smtpd_policy_rcpt(s->pol, a, s->relayclient != NULL);
    if (r != OC_OK)
        return r;
    r = smtpd_checks_rcpt(s, a); /* maxrcpt, badrcptto (checks.c) */
    if (r != OC_OK)
        return r;
    return smtpd_policy_mailbox(s->pol, a, time(NULL));
}

/* smtpd_check_data - may a message's data start now (DATA; for BDAT,
 * its first chunk)? */
enum reason
smtpd_check_data(const struct smtpd_session *s, bool bdat)
{
    if (s->state < SMTPD_MAIL)
        return OC_WANTMAIL;
    if (s->txn.nrcpt == 0)
        return OC_WANTRCPT;
    if (s->state == SMTPD_CHUNKS && !bdat)
        return OC_BDAT_MIX;
    return OC_OK;
}

static int
set_helo(struct smtpd_session *s, const char *arg, size_t len, bool esmtp)
{
    txn_reset(s);
    if (bstr_copyb(&s->helo, arg, len) == -1)
        return nomem(s);
    smtpd_checks_helo(s);
    s->esmtp = esmtp;
    s->state = SMTPD_HELLO;
    return 0;
}

static int
smtpd_helo(struct smtpd_session *s, const char *arg, size_t len)
{
    if (set_helo(s, arg, len, false) == -1)
        return -1;
    smtpd_dnsbl_helo(s); /* the HELO domain's RHSBL queries go out */
    put_line(s, OC_HELO, false, s->cf->greeting.s, NULL);
    return 0;
}

/* The keywords in the seeds' order (AUTH first, STARTTLS after
 * PIPELINING), then the ones qmail-ng adds. */
static int
smtpd_ehlo(struct smtpd_session *s, const char *arg, size_t len)
{
    static const char *const ext[] = {"8BITMIME", "ENHANCEDSTATUSCODES",
                                      "SMTPUTF8", "CHUNKING"};
    char size[FMT_ULONG + 8] = "SIZE";

    if (set_helo(s, arg, len, true) == -1)
        return -1;
    smtpd_dnsbl_helo(s); /* the HELO domain's RHSBL queries go out */
    put_line(s, OC_HELO, true, s->cf->greeting.s, NULL);
    if (smtpd_auth_offered(s)) {
        /* the AUTH patch's two lines; AUTH= for clients of before RFC
         * 2554's final text */
        put_line(s, OC_HELO, true,
                 s->auth.scram ? "AUTH " SMTPD_AUTH_MECHS_SCRAM
                               : "AUTH " SMTPD_AUTH_MECHS,
                 NULL);
        put_line(s, OC_HELO, true,
                 s->auth.scram ? "AUTH=" SMTPD_AUTH_MECHS_SCRAM
                               : "AUTH=" SMTPD_AUTH_MECHS,
                 NULL);
    }
    put_line(s, OC_HELO, true, "PIPELINING", NULL);
    if (smtpd_tls_offered(s))
        put_line(s, OC_HELO, true, "STARTTLS", NULL);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        put_line(s, OC_HELO, true, ext[i], NULL);
    if (s->cf->databytes) {
        size[4] = ' ';
        size[5 + fmt_ull(size + 5, s->cf->databytes)] = '\0';
    }
    put_line(s, OC_HELO, false, size, NULL);
    return 0;
}

static int
smtpd_mail(struct smtpd_session *s, const char *arg, size_t len)
{
    struct smtpd_mail_arg *m = &s->marg;
    enum reason r = smtpd_check_mail(s, arg, len, m);

    if (r == OC_OK)
        r = smtpd_checks_mail(s, m); /* HELO checks, MFDNSCHECK (checks.c) */
    if (r != OC_OK) {
        if (r == OC_BADMAILFROM || r == OC_TOOBIG) {
            s->cur_from = m->addr.s;
            s->cur_from_len = m->addr.len;
        }
        smtpd_checks_detail(s, r, m->addr.s, m->addr.len); /* which line */
        smtpd_reply(s, r, NULL);
        return 0;
    }
    /* DNSBL and RHSBL verdicts (dnsbl.c replies if refused) */
    if (smtpd_dnsbl_mail(s, m->addr.s, m->addr.len))
        return 0;
    /* rate limits and send quotas (ratelimit.c) */
    if ((r = smtpd_rate_mail(s)) != OC_OK) {
        s->cur_from = m->addr.s;
        s->cur_from_len = m->addr.len;
        smtpd_reply(s, r, NULL);
        return 0;
    }
    if (bstr_copy(&s->txn.sender, &m->addr) == -1)
        return nomem(s);
    s->txn.utf8 = m->utf8;
    s->state = SMTPD_MAIL;
    smtpd_reply(s, OC_MAIL_OK, NULL);
    return 0;
}

static int
smtpd_rcpt(struct smtpd_session *s, const char *arg, size_t len)
{
    struct bstr *a = &s->marg.addr;
    enum reason r;

    bstr_truncate(a, 0);
    if (smtpd_checks_tarpit(s) == -1) /* checks.c: a delay, maybe */
        return -1;
    r = smtpd_check_rcpt(s, arg, len, a);
    if (r == OC_NOMEM)
        return nomem(s);
    if (r != OC_OK) {
        if (s->state >= SMTPD_MAIL)
            cur_sender(s);
        if (a->len) { /* it parsed: the refusal is about this address */
            s->cur_rcpt = a->s;
            s->cur_rcpt_len = a->len;
        }
        smtpd_checks_detail(s, r, a->s, a->len); /* which badrcptto line */
        smtpd_reply(s, r, NULL);
        return 0;
    }
    if (s->pol->mbox.verdict == RCPTMAP_STALE ||
        s->pol->mbox.verdict == RCPTMAP_ERROR) {
        struct bstr *t = &s->tmp;

        /* taken as qmail would; the admin should know why it was not
         * checked (the map is rebuilt by qmail-newu and the v* tools) */
        bstr_truncate(t, 0);
        if (vis_cat(t, a->s, a->len) == 0)
            log_line("rcptcheck skipped ip=%s rcpt=<%s>: %.*s", s->remoteip,
                     t->s, (int)s->pol->mbox.why.len,
                     s->pol->mbox.why.s ? s->pol->mbox.why.s : "");
    }
    /* greylisting, the last step (greylist.c) */
    if ((r = smtpd_greylist(s, a->s, a->len)) != OC_OK) {
        cur_sender(s);
        s->cur_rcpt = a->s;
        s->cur_rcpt_len = a->len;
        smtpd_reply_retry(s, r);
        return 0;
    }
    /* recipients per ip/net and AUTH quotas (ratelimit.c) */
    if ((r = smtpd_rate_rcpt(s)) != OC_OK) {
        cur_sender(s);
        s->cur_rcpt = a->s;
        s->cur_rcpt_len = a->len;
        smtpd_reply(s, r, NULL);
        return 0;
    }
    /* qmail appends RELAYCLIENT's value to each recipient. */
    if (bstr_catb(&s->txn.rcpts, a->s, a->len) == -1 ||
        (s->relayclient && bstr_cats(&s->txn.rcpts, s->relayclient) == -1) ||
        bstr_catc(&s->txn.rcpts, '\0') == -1)
        return nomem(s);
    s->txn.nrcpt++;
    smtpd_reply(s, OC_RCPT_OK, NULL);
    return 0;
}

static int
smtpd_data(struct smtpd_session *s, const char *arg, size_t len)
{
    enum reason r = smtpd_check_data(s, false);

    (void)arg;
    (void)len;
    if (s->state >= SMTPD_MAIL)
        cur_sender(s);
    if (r != OC_OK) {
        smtpd_reply(s, r, NULL);
        return 0;
    }
    r = qq_start(s);
    if (r == OC_NOMEM)
        return nomem(s);
    if (r != OC_OK) {
        qq_refuse(s, r, -1);
        return 0;
    }
    smtpd_data_init(&s->data, true, s->cf->databytes);
    smtpd_reply(s, OC_DATA_GO, NULL);
    if (smtpd_flush(s) == -1) {
        s->how = "write";
        return -1;
    }
    body_begin(s);
    switch (pump(s, 0, true, true)) {
    case -1:
        return -1;
    case 1:
        /* qmail's smtplf answer, at once, then the end: what follows is
         * neither surely data nor surely commands.  die() takes the
         * message back from qmail-queue before it commits. */
        cur_sender(s);
        smtpd_reply(s, OC_BARENL, NULL);
        s->fate = OC_OK;
        s->how = "barelf";
        return -1;
    default:
        return finish_message(s, s->data.err);
    }
}

static int
smtpd_bdat(struct smtpd_session *s, const char *arg, size_t len)
{
    char extra[FMT_ULONG + 24];
    unsigned long long n;
    bool last, first = s->state != SMTPD_CHUNKS, qq_failed = false;
    enum reason r;

    if (smtpd_parse_bdat(arg, len, &n, &last) == -1) {
        /* RFC 3030: without the size the stream cannot be followed. */
        smtpd_reply(s, OC_SYNTAX, NULL);
        s->fate = OC_OK;
        s->how = "bdat-syntax";
        return -1;
    }
    r = smtpd_check_data(s, true);
    if (s->state >= SMTPD_MAIL)
        cur_sender(s);
    if (first)
        body_begin(s); /* a message's first chunk, or one no message wants */
    if (r == OC_OK && first) {
        r = qq_start(s);
        if (r == OC_OK) {
            smtpd_data_init(&s->data, false, s->cf->databytes);
            s->state = SMTPD_CHUNKS;
        } else {
            qq_failed = true;
        }
    }
    if (r == OC_NOMEM)
        return nomem(s);
    /* The chunk is read in full in every case (RFC 3030 §2). */
    if (pump(s, n, false, r == OC_OK) == -1)
        return -1;
    if (qq_failed) {
        /* The transaction lost this chunk: later ones must not make a
         * message without it. */
        qq_refuse(s, r, -1);
        txn_reset(s);
        return 0;
    }
    if (r != OC_OK) {
        smtpd_reply(s, r, NULL);
        return 0;
    }
    if (s->data.err != OC_OK)
        return finish_message(s, s->data.err);
    if (last)
        return finish_message(s, smtpd_data_finish(&s->data));
    snprintf(extra, sizeof extra, " %llu octets received", n);
    smtpd_reply(s, OC_OK, extra);
    return 0;
}

/* smtpd_check_starttls - may TLS start now?  Not offered (no
 * certificate, switched off, or TLS already on: the TLS patch's 502), or
 * with an argument. */
enum reason
smtpd_check_starttls(const struct smtpd_session *s, size_t arglen)
{
    if (!smtpd_tls_offered(s))
        return OC_UNIMPL;
    if (arglen)
        return OC_TLS_ARG;
    return OC_OK;
}

/*
 * STARTTLS: 220, the handshake, then a session that knows nothing the
 * client said before (RFC 3207 4.2): no HELO, no transaction, no AUTH.
 * Bytes pipelined after the STARTTLS line were sent in the clear and
 * are dropped unread (the CVE-2011-0411 class of injection).
 */
static int
smtpd_starttls(struct smtpd_session *s, const char *arg, size_t len)
{
    enum reason r = smtpd_check_starttls(s, len);
    size_t junk;

    (void)arg;
    s->secrets = true; /* keys in memory from here on */
    if (r != OC_OK) {
        smtpd_reply(s, r, NULL);
        return 0;
    }
    if (smtpd_tls_prepare(s) == -1) {
        smtpd_reply(s, OC_TLS_TEMP, NULL);
        return 0;
    }
    junk = iob_buffered(&s->in);
    iob_skip(&s->in, junk);
    if (junk)
        log_line("starttls ip=%s: %zu bytes sent after STARTTLS dropped",
                 s->remoteip, junk);
    smtpd_reply(s, OC_TLS_GO, NULL);
    if (smtpd_flush(s) == -1) {
        s->how = "write";
        return -1;
    }
    if (smtpd_tls_begin(s) == -1)
        return -1;
    txn_reset(s);
    bstr_free(&s->helo);
    s->esmtp = false;
    s->state = SMTPD_START;
    bstr_truncate(&s->authuser, 0);
    s->remoteinfo = s->tcpremoteinfo;
    s->relayclient = s->tcprelayclient;
    return 0;
}

/* smtpd_auth_offered - does EHLO say AUTH?  Only with a checkpassword
 * program, and only over TLS unless control/authplaintext says 1. */
bool
smtpd_auth_offered(const struct smtpd_session *s)
{
    return s->cf->checkpw && !s->cf->auth_off &&
           (s->tls || s->cf->authplain);
}

/* smtpd_check_auth - may AUTH start now?  (The mechanism and its data
 * are auth.c's to judge.) */
enum reason
smtpd_check_auth(const struct smtpd_session *s)
{
    if (!s->cf->checkpw || s->cf->auth_off)
        return OC_AUTH_UNAVAIL;
    if (!s->tls && !s->cf->authplain)
        return OC_AUTH_NEEDTLS;
    if (s->authuser.len)
        return OC_AUTH_TWICE;
    if (s->state >= SMTPD_MAIL)
        return OC_AUTH_INTXN;
    return OC_OK;
}

/* the user named in a log line, made safe to show */
static const char *
auth_user_vis(struct smtpd_session *s)
{
    bstr_truncate(&s->tmp, 0);
    if (vis_cat(&s->tmp, s->auth.user.s ? s->auth.user.s : "",
                s->auth.user.len > 200 ? 200 : s->auth.user.len) == -1)
        return "?";
    return s->tmp.s ? s->tmp.s : "";
}

/*
 * auth_judge - the checkpassword program's verdict (ran -1: it could not
 * be run).  Returns OC_OK, OC_AUTH_FAILED or OC_AUTH_TEMP, each logged
 * with the client's IP and the user (one line fail2ban-style tools can
 * match).
 */
static enum reason
auth_judge(struct smtpd_session *s, int ran, enum checkpw_verdict v, int st)
{
    const char *mech = smtpd_auth_name(s->auth.mech);

    if (ran == -1) {
        log_line("auth temporary failure ip=%s user=%s mech=%s: unable to "
                 "run %s: %s",
                 s->remoteip, auth_user_vis(s), mech, s->cf->checkpw[0],
                 strerror(errno));
        return OC_AUTH_TEMP;
    }
    if (v == CHECKPW_OK) {
        log_line("auth ok ip=%s user=%s mech=%s", s->remoteip,
                 auth_user_vis(s), mech);
        return OC_OK;
    }
    if (v == CHECKPW_TEMP) {
        log_line("auth temporary failure ip=%s user=%s mech=%s: %s %s %d",
                 s->remoteip, auth_user_vis(s), mech, s->cf->checkpw[0],
                 st == -1000 ? "timed out" : st < 0 ? "died of signal" : "exit",
                 st == -1000 ? SMTPD_AUTH_TIMEOUT : st < 0 ? -st : st);
        return OC_AUTH_TEMP;
    }
    log_line("auth failed ip=%s user=%s mech=%s", s->remoteip,
             auth_user_vis(s), mech);
    return OC_AUTH_FAILED;
}

/* auth_verdict - run the checkpassword program on the credentials. */
static enum reason
auth_verdict(struct smtpd_session *s)
{
    struct bstr data = BSTR_INIT;
    enum checkpw_verdict v = CHECKPW_TEMP;
    int st = 0, ran = -1;

    if (smtpd_auth_data(&s->auth, &data) == 0)
        ran = checkpw_run(s->cf->checkpw, data.s, data.len,
                          SMTPD_AUTH_TIMEOUT, &v, &st);
    if (data.s)
        explicit_bzero(data.s, data.cap);
    bstr_free(&data);
    return auth_judge(s, ran, v, st);
}

/*
 * auth_converse - one turn of a conversation with the checkpassword
 * program (SCRAM-SHA-256, checkpw.h): the client's message to it, its
 * answer through smtpd_auth_reply.  Once it has said its last word (the
 * server-final, an error, or nothing), its exit is the verdict: then
 * OC_AUTH_MORE (the server-final for the client) means accepted.
 */
static enum reason
auth_converse(struct smtpd_session *s, struct checkpw_conv *cv)
{
    struct bstr msg = BSTR_INIT, prompt = BSTR_INIT;
    enum checkpw_verdict v = CHECKPW_TEMP;
    enum reason r = OC_AUTH_FAILED;
    int st = 0, got = -1;

    if (cv->pid == -1 &&
        checkpw_start(cv, s->cf->checkpw, smtpd_auth_name(s->auth.mech),
                      SMTPD_AUTH_TIMEOUT) == -1)
        return auth_judge(s, -1, v, st);
    if (smtpd_auth_data(&s->auth, &msg) == 0 &&
        checkpw_send(cv->fd, msg.s, msg.len) == 0)
        got = checkpw_recv(cv->fd, &cv->in, &msg, SCRAM_MSG_MAX,
                           datetime_mono_ms() + SMTPD_AUTH_TIMEOUT * 1000LL);
    /* the prompt is kept apart: the log lines below use s->tmp */
    if (got == 1)
        r = smtpd_auth_reply(&s->auth, msg.s, msg.len, &prompt);
    bstr_free(&msg);
    if (r == OC_AUTH_MORE && s->auth.step == 2) {
        /* the server-first: the client's turn */
        if (bstr_copy(&s->tmp, &prompt) == -1)
            r = OC_NOMEM;
        bstr_free(&prompt);
        return r;
    }
    if (r == OC_NOMEM || checkpw_finish(cv, &v, &st) == -1) {
        bstr_free(&prompt);
        return r == OC_NOMEM ? r : auth_judge(s, -1, v, st);
    }
    if (v == CHECKPW_OK && r != OC_AUTH_MORE) {
        /* accepted without a server-final: no SCRAM program at all */
        log_line("auth temporary failure ip=%s user=%s mech=%s: %s does not "
                 "speak the SCRAM conversation",
                 s->remoteip, auth_user_vis(s),
                 smtpd_auth_name(s->auth.mech), s->cf->checkpw[0]);
        r = OC_AUTH_TEMP;
    } else {
        r = auth_judge(s, 0, v, st);
    }
    /* accepted: the server-final for the client */
    if (r == OC_OK)
        r = bstr_copy(&s->tmp, &prompt) == -1 ? OC_NOMEM : OC_AUTH_MORE;
    bstr_free(&prompt);
    return r;
}

/*
 * AUTH (RFC 4954): the exchange of 334 prompts and client lines, then
 * the checkpassword program's verdict.  After success the client is
 * trusted like a RELAYCLIENT and the Received line says ESMTPA, with the
 * user where an ident answer goes (the AUTH patch's way).  Failures are
 * answered after a delay that grows with each one, and the third ends
 * the session.
 */
static int
smtpd_auth(struct smtpd_session *s, const char *arg, size_t len)
{
    enum reason r = smtpd_check_auth(s);
    unsigned long rnd = 0;
    struct checkpw_conv cv = CHECKPW_CONV_INIT; /* SCRAM's program */

    s->secrets = true; /* a password may pass through our memory */
    if (r != OC_OK) {
        smtpd_reply(s, r, NULL);
        return 0;
    }
    if (tls_random(&rnd, sizeof rnd) == -1)
        rnd = (unsigned long)getpid();
    r = smtpd_auth_start(&s->auth, arg, len, s->cf->authhost, rnd,
                         time(NULL), &s->tmp);
    for (;;) {
        int g;

        if (r == OC_OK && smtpd_auth_helper(&s->auth)) {
            r = auth_converse(s, &cv);
            continue;
        }
        if (r != OC_AUTH_MORE)
            break;
        put_line(s, OC_AUTH_MORE, false, s->tmp.len ? s->tmp.s : "", NULL);
        g = read_line(s, SMTPD_AUTH_LINE_MAX + 2);
        if (g == -1) {
            checkpw_kill(&cv);
            smtpd_auth_reset(&s->auth);
            return -1;
        }
        if (g == IOB_LONG) {
            r = OC_AUTH_LONG;
            break;
        }
        while (s->line.len &&
               (s->line.s[s->line.len - 1] == '\n' ||
                s->line.s[s->line.len - 1] == '\r'))
            s->line.len--;
        r = smtpd_auth_step(&s->auth, s->line.s, s->line.len, &s->tmp);
    }
    checkpw_kill(&cv); /* a conversation cut short; else nothing */
    if (r == OC_NOMEM) {
        smtpd_auth_reset(&s->auth);
        return nomem(s);
    }
    /* SCRAM's verdict came with its server-final */
    if (r == OC_OK && s->auth.mech != AUTH_MECH_SCRAM)
        r = auth_verdict(s);
    if (r == OC_OK) {
        if (bstr_copy(&s->authuser, &s->auth.user) == -1) {
            smtpd_auth_reset(&s->auth);
            return nomem(s);
        }
        smtpd_auth_reset(&s->auth);
        if (!s->relayclient)
            s->relayclient = "";
        s->remoteinfo = s->authuser.s;
        smtpd_reply(s, OC_AUTH_OK, NULL);
        return 0;
    }
    smtpd_auth_reset(&s->auth);
    if (r == OC_AUTH_FAILED) {
        /* 1, 2, 4 seconds: guessing costs time, a typo little */
        unsigned delay = 1u << (s->authfails < 4 ? s->authfails : 4);

        s->authfails++;
        if (smtpd_flush(s) == -1) {
            s->how = "write";
            return -1;
        }
        sleep(delay);
        if (s->authfails >= SMTPD_AUTH_FAILS) {
            smtpd_reply(s, OC_AUTH_FAILED, NULL);
            s->fate = OC_AUTH_TOOMANY;
            s->how = "authfail";
            return -1;
        }
    }
    smtpd_reply(s, r, NULL);
    return 0;
}

static int
smtpd_rset(struct smtpd_session *s, const char *arg, size_t len)
{
    (void)arg;
    (void)len;
    txn_reset(s);
    smtpd_reply(s, OC_RSET, NULL);
    return 0;
}

static int
smtpd_noop(struct smtpd_session *s, const char *arg, size_t len)
{
    (void)arg;
    (void)len;
    smtpd_reply(s, OC_OK, NULL);
    return 0;
}

static int
smtpd_vrfy(struct smtpd_session *s, const char *arg, size_t len)
{
    (void)arg;
    (void)len;
    smtpd_reply(s, OC_VRFY, NULL);
    return 0;
}

static int
smtpd_help(struct smtpd_session *s, const char *arg, size_t len)
{
    (void)arg;
    (void)len;
    smtpd_reply(s, OC_HELP, NULL);
    return 0;
}

static int
smtpd_quit(struct smtpd_session *s, const char *arg, size_t len)
{
    (void)arg;
    (void)len;
    txn_reset(s);
    put_line(s, OC_QUIT, false, s->cf->greeting.s, NULL);
    s->fate = OC_OK;
    s->how = "quit";
    return -1;
}

static int
smtpd_unknown(struct smtpd_session *s, const char *arg, size_t len)
{
    (void)arg;
    (void)len;
    smtpd_reply(s, OC_UNIMPL, NULL);
    return 0;
}

/* The verbs, matched without regard to case; the last entry catches
 * everything else. */
const struct smtpd_verb smtpd_verbs[] = {
    {"HELO", smtpd_helo, 0},
    {"EHLO", smtpd_ehlo, 0},
    {"MAIL", smtpd_mail, VERB_NEEDARG},
    {"RCPT", smtpd_rcpt, VERB_NEEDARG},
    {"DATA", smtpd_data, 0},
    {"BDAT", smtpd_bdat, 0},
    {"RSET", smtpd_rset, 0},
    {"NOOP", smtpd_noop, 0},
    {"VRFY", smtpd_vrfy, 0},
    {"HELP", smtpd_help, 0},
    {"QUIT", smtpd_quit, 0},
    {"STARTTLS", smtpd_starttls, 0},
    {"AUTH", smtpd_auth, 0},
    {NULL, smtpd_unknown, 0},
};

/*
 * smtpd_dispatch - run the command in s->line.  Returns 0 to read the
 * next one, or -1 when the session must end (s->fate, s->how).
 */
int
smtpd_dispatch(struct smtpd_session *s)
{
    struct smtpd_cmd c;
    enum reason r = smtpd_cmd_parse(s->line.s, s->line.len, &c);
    int ret = 0;

    s->cur_from = s->cur_rcpt = NULL;
    if (r != OC_OK)
        smtpd_reply(s, r, NULL);
    else if ((c.verb->flags & VERB_NEEDARG) && c.arglen == 0)
        smtpd_reply(s, OC_SYNTAX, NULL);
    else
        ret = c.verb->fn(s, c.arg, c.arglen);
    s->cur_from = s->cur_rcpt = NULL;
    if (s->wfail) {
        s->fate = OC_OK;
        s->how = "write";
        return -1;
    }
    if (ret == 0 && smtpd_checks_errors_over(s)) { /* control/maxerrors */
        s->fate = OC_TOOMANYERR;
        s->how = "errors";
        return -1;
    }
    return ret;
}
