/* SPDX-License-Identifier: ISC */
/*
 * popup - qmail-popup's AUTHORIZATION state (see popup.h).
 *
 * The replies keep qmail-1.03's texts ("+OK " with its space, "-ERR USER
 * first", "-ERR authorization first", "-ERR aack, child crashed",
 * "-ERR authorization failed" byte for byte); only the new temporary
 * failure carries an RFC 3206 code ([SYS/TEMP]).  In plain mode the checkpassword chain gets the
 * client's socket as fds 0 and 1 and the login on fd 3, so qmail-pop3d
 * talks to the client itself; over TLS popup_tls.c relays instead.
 * Nothing here logs a password.
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
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "datetime.h"
#include "log.h"
#include "pop3cmd.h"
#include "popup.h"
#include "writeall.h"

#define LOGIN_CMD 1u /* a login command: refused before TLS when required */

/* ---- pure helpers (unit-tested) ---------------------------------------- */

/* popup_stamp - "<PID.TIME@HOST>" into out (RFC 1939 §7's timestamp,
 * qmail's form).  0, or -1 (ENOMEM). */
int
popup_stamp(struct bstr *out, long pid, long long now, const char *host)
{
    bstr_truncate(out, 0);
    return bstr_catf(out, "<%ld.%lld@%s>", pid, now, host);
}

/*
 * popup_fd3_data - the checkpassword input "user\0secret\0stamp\0" (qmail's
 * order for USER/PASS and APOP alike).  Fields with a NUL are refused
 * (EINVAL): they would shift the fields.  0, or -1 with errno.
 */
int
popup_fd3_data(struct bstr *out, const char *user, size_t ulen,
               const char *secret, size_t slen, const struct bstr *stamp)
{
    bstr_truncate(out, 0);
    if (memchr(user, '\0', ulen) || memchr(secret, '\0', slen)) {
        errno = EINVAL;
        return -1;
    }
    if (bstr_catb(out, user, ulen) == -1 || bstr_catc(out, '\0') == -1 ||
        bstr_catb(out, secret, slen) == -1 || bstr_catc(out, '\0') == -1 ||
        bstr_catb(out, stamp->s, stamp->len) == -1 ||
        bstr_catc(out, '\0') == -1)
        return -1;
    return 0;
}

/*
 * popup_plain_decode - a SASL PLAIN response (RFC 4616): base64 of
 * "authzid\0authcid\0passwd".  The authzid must be empty or equal to
 * the authcid (no proxy logins here).  Returns 0 with authcid and pass,
 * -1 bad base64, -2 not the PLAIN shape (empty authcid or password, a
 * NUL too many), -3 another authzid, -4 no memory.  The decoded bytes
 * are wiped.
 */
int
popup_plain_decode(const char *b64, size_t n, struct bstr *authcid,
                   struct bstr *pass)
{
    struct bstr dec = BSTR_INIT;
    const char *a, *c, *p, *end;
    int r = 0;

    if (base64_decode(&dec, b64, n) == -1) {
        r = errno == ENOMEM ? -4 : -1;
        goto out;
    }
    a = dec.s;
    end = dec.s + dec.len;
    c = dec.len ? memchr(a, '\0', dec.len) : NULL;
    if (c == NULL) {
        r = -2;
        goto out;
    }
    c++;
    p = memchr(c, '\0', (size_t)(end - c));
    if (p == NULL || p == c || p + 1 == end ||
        memchr(p + 1, '\0', (size_t)(end - p - 1))) {
        r = -2;
        goto out;
    }
    p++;
    if (c - 1 != a &&
        ((size_t)(c - 1 - a) != (size_t)(p - 1 - c) ||
         memcmp(a, c, (size_t)(p - 1 - c)) != 0)) {
        r = -3;
        goto out;
    }
    if (bstr_copyb(authcid, c, (size_t)(p - 1 - c)) == -1 ||
        bstr_copyb(pass, p, (size_t)(end - p)) == -1)
        r = -4;
out:
    if (dec.s)
        explicit_bzero(dec.s, dec.cap);
    bstr_free(&dec);
    return r;
}

/* digits - s is a non-empty run of decimal digits */
static bool
digits(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/*
 * popup_capa - the CAPA reply (RFC 2449 §5) for the AUTHORIZATION state:
 * stls says whether STLS is offered now, login_ok whether USER and SASL
 * may be used now (not before TLS when it is required).  0, or -1.
 */
int
popup_capa(struct bstr *out, const struct popup_config *cf, bool stls,
           bool login_ok)
{
    bstr_truncate(out, 0);
    if (bstr_cats(out, "+OK Capability list follows\r\n"
                       "TOP\r\nUIDL\r\nRESP-CODES\r\n"
                       "PIPELINING\r\n") == -1)
        return -1;
    if (login_ok && bstr_cats(out, "USER\r\nSASL PLAIN\r\n") == -1)
        return -1;
    if (stls && bstr_cats(out, "STLS\r\n") == -1)
        return -1;
    if (digits(cf->logindelay) &&
        bstr_catf(out, "LOGIN-DELAY %s\r\n", cf->logindelay) == -1)
        return -1;
    if (cf->expire && (digits(cf->expire) || strcmp(cf->expire, "NEVER") == 0) &&
        bstr_catf(out, "EXPIRE %s\r\n", cf->expire) == -1)
        return -1;
    return bstr_cats(out, "IMPLEMENTATION qmail-ng\r\n.\r\n");
}

/* popup_verdict - a checkpassword chain's wait status as a result:
 * exit 0 accepted (the session ran), 2 and 111 temporary (checkpw.h's
 * rule), a signal a crash, anything else refused. */
enum popup_result
popup_verdict(int w)
{
    if (WIFSIGNALED(w))
        return POPUP_CRASH;
    if (!WIFEXITED(w))
        return POPUP_TEMP;
    switch (WEXITSTATUS(w)) {
    case 0:
        return POPUP_DONE;
    case 2:
    case 111:
        return POPUP_TEMP;
    default:
        return POPUP_REFUSED;
    }
}

/*
 * popup_readline_fd - one line (LF included, at most max bytes kept)
 * from fd without reading a byte past its LF: on a socket the bytes are
 * peeked and only the line's are taken; on anything else (a pipe) they
 * are read one at a time.  The rest of an over-long line is read and
 * dropped.  Each wait is at most timeout_ms.  Returns IOB_LINE,
 * IOB_LONG, IOB_EOF (also for a line cut by the end), or -1 with errno
 * (ETIMEDOUT).
 */
int
popup_readline_fd(int fd, struct bstr *line, size_t max, int timeout_ms)
{
    char buf[512];
    bool peek = true, toolong = false;

    bstr_truncate(line, 0);
    for (;;) {
        const char *nl;
        ssize_t r;
        size_t n, take;

        if (iob_poll(fd, POLLIN, timeout_ms) == -1)
            return -1;
        if (peek) {
            r = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
            if (r == -1 && errno == ENOTSOCK) {
                peek = false;
                continue;
            }
            if (r > 0) {
                /* take exactly the line's bytes: all of them belong to
                 * this line, none beyond its LF */
                nl = memchr(buf, '\n', (size_t)r);
                n = nl ? (size_t)(nl - buf) + 1 : (size_t)r;
                r = recv(fd, buf, n, MSG_DONTWAIT);
            }
        } else {
            r = read(fd, buf, 1);
        }
        if (r == -1) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        if (r == 0)
            return IOB_EOF;
        nl = memchr(buf, '\n', (size_t)r);
        n = nl ? (size_t)(nl - buf) + 1 : (size_t)r;
        take = n;
        if (line->len + take > max) {
            take = max > line->len ? max - line->len : 0;
            toolong = true;
        }
        if (take && bstr_catb(line, buf, take) == -1)
            return -1;
        if (nl)
            return toolong ? IOB_LONG : IOB_LINE;
    }
}

/* ---- the session -------------------------------------------------------- */

/* popup_init - a session with its timestamp.  0, or -1 (ENOMEM). */
int
popup_init(struct popup_session *s, const struct popup_config *cf)
{
    memset(s, 0, sizeof *s);
    s->cf = cf;
    s->stamp = (struct bstr)BSTR_INIT;
    s->user = (struct bstr)BSTR_INIT;
    s->line = (struct bstr)BSTR_INIT;
    iob_init(&s->out, 1, s->outbuf, sizeof s->outbuf, NULL, NULL);
    iob_settimeout(&s->out, cf->timeout);
    iob_init(&s->in, 0, s->inbuf, sizeof s->inbuf, NULL, NULL);
    iob_settimeout(&s->in, cf->timeout);
    return popup_stamp(&s->stamp, (long)getpid(), (long long)time(NULL),
                       cf->host);
}

/* popup_free - wipe and free what the session holds. */
void
popup_free(struct popup_session *s)
{
    if (s->line.s)
        explicit_bzero(s->line.s, s->line.cap);
    bstr_free(&s->line);
    bstr_free(&s->user);
    bstr_free(&s->stamp);
    popup_tls_end(s);
}

/* end - the session is over with this exit status */
static void
end(struct popup_session *s, int status)
{
    s->done = true;
    s->status = status;
}

/*
 * linger - before exiting with the client's input unread: stop writing,
 * then read and drop what comes for a moment, so the kernel does not
 * answer the unread bytes with a reset that would destroy our last reply
 * before the client reads it (over TLS after close_notify, the records
 * are dropped unread).  Bounded: 2 seconds, 1 MiB.
 */
static void
linger(struct popup_session *s)
{
    long long until = datetime_mono_ms() + 2000;
    size_t total = 0;
    char buf[4096];

    popup_tls_end(s); /* close_notify first; the rest is raw bytes */
    if (shutdown(1, SHUT_WR) == -1)
        return;
    while (total < (1u << 20)) {
        long long left = until - datetime_mono_ms();
        ssize_t r;

        if (left <= 0 || iob_poll(0, POLLIN, (int)left) == -1)
            break;
        r = read(0, buf, sizeof buf);
        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        total += (size_t)r;
    }
}

/* send_raw - text as it is, flushed; a client gone ends the session */
static void
send_raw(struct popup_session *s, const char *text, size_t len)
{
    if (s->done)
        return;
    if (iob_put(&s->out, text, len) == -1 || iob_flush(&s->out) == -1)
        end(s, 1);
}

/* reply - one reply line: text and CRLF */
static void
reply(struct popup_session *s, const char *text)
{
    if (s->done)
        return;
    if (iob_puts(&s->out, text) == -1 || iob_puts(&s->out, "\r\n") == -1 ||
        iob_flush(&s->out) == -1)
        end(s, 1);
}

static const char *
ip(const struct popup_session *s)
{
    return s->cf->remoteip ? s->cf->remoteip : "unknown";
}

/* get_line - the next line (CR LF removed) into s->line, at most max:
 * IOB_LINE, IOB_LONG, IOB_EOF or -1. */
static int
get_line(struct popup_session *s, size_t max)
{
    int r;

    if (s->tls_on)
        r = iob_getline(&s->in, &s->line, max);
    else
        r = popup_readline_fd(0, &s->line, max,
                              s->cf->timeout ? (int)s->cf->timeout * 1000 : -1);
    if (r == IOB_LINE || r == IOB_LONG) {
        if (s->line.len && s->line.s[s->line.len - 1] == '\n')
            s->line.len--;
        if (s->line.len && s->line.s[s->line.len - 1] == '\r')
            s->line.len--;
        if (s->line.s)
            s->line.s[s->line.len] = '\0';
    }
    return r;
}

/*
 * popup_exec - in a child: fd3 becomes fd 3, SIGPIPE its default again,
 * an inherited AUTHMECH gone (vchkpw's conversation mode is not ours),
 * then the checkpassword chain.  Never returns: 111 when it cannot run.
 */
void
popup_exec(char **argv, int fd3)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    if (fd3 != 3) {
        if (dup2(fd3, 3) == -1)
            _exit(111);
        close(fd3);
    } else if (fcntl(3, F_SETFD, 0) == -1) {
        _exit(111);
    }
    if (unsetenv("AUTHMECH") == -1)
        _exit(111);
    execvp(argv[0], argv);
    log_line("unable to run %s: %s", argv[0], strerror(errno));
    _exit(111);
}

/*
 * plain_login - the chain on the client's own fds 0 and 1: it reads
 * fd 3, and on success execs qmail-pop3d, which answers the PASS and
 * runs the session; we wait for the end.  0 with the result, or -1.
 * On a TCP connection the bytes written to it while the chain ran tell
 * whether it spoke: a chain that talked to the client ran the session,
 * whatever its exit (as behind the TLS relay); elsewhere (a pipe) the
 * exit alone decides.
 */
static int
plain_login(struct popup_session *s, const char *data, size_t len,
            enum popup_result *res, int *w)
{
    unsigned long long before = 0, after = 0;
    bool counted = popup_sent(1, &before) == 0;
    int p[2], e;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) == -1)
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
        popup_exec(s->cf->child, p[0]);
    }
    close(p[0]);
    /* a few hundred bytes: the pipe takes them at once; a child that
     * exits unread (SIGPIPE is ignored: EPIPE) says its verdict by exit */
    if (write_all(p[1], data, len) == -1) {
        /* its exit tells */
    }
    close(p[1]);
    while (waitpid(pid, w, 0) == -1)
        if (errno != EINTR)
            return -1;
    *res = popup_verdict(*w);
    if (*res != POPUP_DONE && *res != POPUP_CRASH && counted &&
        popup_sent(1, &after) == 0 && after > before)
        *res = POPUP_DONE;
    return 0;
}

/* pause_failed - the delay before a failed login is answered: it slows
 * down password guessing on one connection */
static void
pause_failed(const struct popup_session *s)
{
    struct timespec ts = {(time_t)s->cf->faildelay, 0};

    while ((ts.tv_sec || ts.tv_nsec) && nanosleep(&ts, &ts) == -1 &&
           errno == EINTR)
        ;
}

/* exit_text - "exit=N" or "signal=N" for the log */
static void
exit_text(char *buf, size_t n, int w)
{
    if (WIFSIGNALED(w))
        snprintf(buf, n, "signal=%d", WTERMSIG(w));
    else
        snprintf(buf, n, "exit=%d", WIFEXITED(w) ? WEXITSTATUS(w) : -1);
}

/* who - the login as given, for the log (log_line masks what is not
 * printable; a NUL cannot be in it) */
static const char *
who(const struct bstr *b)
{
    return b->s && b->len ? b->s : "";
}

/*
 * login - hand user and secret (password or APOP digest) to the chain
 * and act on its verdict: the session ends after an accepted login, a
 * refused one is delayed, logged and answered, and the POP3MAXFAIL-th
 * ends the connection.
 */
static void
login(struct popup_session *s, const char *user, size_t ulen,
      const char *secret, size_t slen, const char *mech)
{
    struct bstr data = BSTR_INIT, shown = BSTR_INIT;
    enum popup_result res = POPUP_TEMP;
    char how[32];
    int w = 0, r;

    if (bstr_copyb(&shown, user, ulen) == -1 ||
        popup_fd3_data(&data, user, ulen, secret, slen, &s->stamp) == -1) {
        bstr_free(&shown);
        if (data.s)
            explicit_bzero(data.s, data.cap);
        bstr_free(&data);
        reply(s, "-ERR out of memory");
        end(s, 1);
        return;
    }
    r = s->tls_on ? popup_tls_login(s, data.s, data.len, &res, &w)
                  : plain_login(s, data.s, data.len, &res, &w);
    explicit_bzero(data.s, data.cap);
    bstr_free(&data);
    s->seenuser = false;
    if (r == -1) {
        log_line("unable to run the checkpassword program %s ip=%s: %s",
                 s->cf->child[0], ip(s), strerror(errno));
        reply(s, "-ERR [SYS/TEMP] unable to run the login program");
        end(s, 1);
        bstr_free(&shown);
        return;
    }
    exit_text(how, sizeof how, w);
    switch (res) {
    case POPUP_DONE:
        log_line("login ok ip=%s user=%s mech=%s tls=%s %s", ip(s),
                 who(&shown), mech, s->tls_on ? "yes" : "no", how);
        end(s, 0);
        break;
    case POPUP_CRASH:
        log_line("login crashed ip=%s user=%s mech=%s %s", ip(s),
                 who(&shown), mech, how);
        reply(s, "-ERR aack, child crashed");
        end(s, 1);
        break;
    case POPUP_REFUSED:
    case POPUP_TEMP:
        s->fails++;
        log_line("login failed ip=%s user=%s mech=%s tls=%s %s%s", ip(s),
                 who(&shown), mech, s->tls_on ? "yes" : "no", how,
                 res == POPUP_TEMP ? " temporary" : "");
        pause_failed(s);
        if (s->fails >= s->cf->maxfail) {
            log_line("too many failed logins ip=%s fails=%lu", ip(s), s->fails);
            reply(s, "-ERR too many failed logins");
            end(s, 1);
            linger(s);
        } else if (res == POPUP_TEMP) {
            reply(s, "-ERR [SYS/TEMP] unable to check the login, try again later");
        } else {
            reply(s, "-ERR authorization failed"); /* qmail's */
        }
        break;
    }
    bstr_free(&shown);
}

/* ---- the commands: check, then act ------------------------------------- */

static void
cmd_user(struct popup_session *s, const char *arg, size_t n)
{
    if (n == 0) {
        reply(s, "-ERR syntax error");
        return;
    }
    if (bstr_copyb(&s->user, arg, n) == -1) {
        reply(s, "-ERR out of memory");
        end(s, 1);
        return;
    }
    s->seenuser = true;
    reply(s, "+OK ");
}

static void
cmd_pass(struct popup_session *s, const char *arg, size_t n)
{
    if (!s->seenuser) {
        reply(s, "-ERR USER first");
        return;
    }
    if (n == 0) {
        reply(s, "-ERR syntax error");
        return;
    }
    login(s, s->user.s, s->user.len, arg, n, "USER");
}

/* APOP name digest (RFC 1939 §7): the chain compares the digest */
static void
cmd_apop(struct popup_session *s, const char *arg, size_t n)
{
    const char *sp = memchr(arg, ' ', n);

    if (sp == NULL || sp == arg || sp + 1 == arg + n) {
        reply(s, "-ERR syntax error");
        return;
    }
    login(s, arg, (size_t)(sp - arg), sp + 1, (size_t)(arg + n - sp - 1),
          "APOP");
}

/* plain_response - an AUTH PLAIN response, initial or continued */
static void
plain_response(struct popup_session *s, const char *b64, size_t n)
{
    struct bstr user = BSTR_INIT, pass = BSTR_INIT;
    int r;

    if (n == 1 && b64[0] == '*') {
        reply(s, "-ERR authentication cancelled");
        return;
    }
    if (n == 1 && b64[0] == '=')
        n = 0; /* RFC 5034 §4: an empty initial response */
    r = popup_plain_decode(b64, n, &user, &pass);
    if (r == 0)
        login(s, user.s, user.len, pass.s, pass.len, "PLAIN");
    else if (r == -1)
        reply(s, "-ERR malformed base64");
    else if (r == -2)
        reply(s, "-ERR malformed PLAIN response");
    else if (r == -3)
        reply(s, "-ERR [AUTH] authorization identity must be empty or the user");
    else {
        reply(s, "-ERR out of memory");
        end(s, 1);
    }
    if (pass.s)
        explicit_bzero(pass.s, pass.cap);
    bstr_free(&pass);
    bstr_free(&user);
}

/* AUTH (RFC 5034): PLAIN only, with or without the initial response;
 * a bare AUTH lists the mechanisms (RFC 1734 clients ask so) */
static void
cmd_auth(struct popup_session *s, const char *arg, size_t n)
{
    const char *sp;
    size_t mlen;
    int r;

    if (n == 0) {
        send_raw(s, "+OK\r\nPLAIN\r\n.\r\n", 15);
        return;
    }
    sp = memchr(arg, ' ', n);
    mlen = sp ? (size_t)(sp - arg) : n;
    if (mlen != 5 || strncasecmp(arg, "PLAIN", 5) != 0) {
        reply(s, "-ERR unsupported authentication mechanism");
        return;
    }
    if (sp) {
        while (sp < arg + n && *sp == ' ')
            sp++;
        if (sp < arg + n) {
            plain_response(s, sp, (size_t)(arg + n - sp));
            return;
        }
    }
    send_raw(s, "+ \r\n", 4);
    if (s->done)
        return;
    r = get_line(s, POPUP_AUTHLINE);
    if (r == -1 || r == IOB_EOF) {
        end(s, 1);
        return;
    }
    if (r == IOB_LONG) {
        reply(s, "-ERR line too long");
        return;
    }
    plain_response(s, s->line.s, s->line.len);
}

/*
 * discard_pipelined - what the client sent after STLS and before our
 * answer is dropped, unread by anything (CVE-2011-0411).  Bytes still on
 * the way reach the handshake instead, which they break.
 */
static size_t
discard_pipelined(int fd)
{
    char buf[4096];
    size_t total = 0;

    while (total < (1u << 20) && iob_poll(fd, POLLIN, 0) == 0) {
        ssize_t r = read(fd, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        total += (size_t)r;
    }
    return total;
}

static void
cmd_stls(struct popup_session *s, const char *arg, size_t n)
{
    size_t dropped;

    (void)arg;
    (void)n;
    if (s->tls_on) {
        reply(s, "-ERR TLS already active");
        return;
    }
    if (!popup_tls_configured(s) || popup_tls_prepare(s) == -1) {
        reply(s, "-ERR TLS not available");
        return;
    }
    dropped = discard_pipelined(0);
    if (dropped)
        log_line("stls ip=%s: %zu bytes sent after STLS discarded", ip(s),
                 dropped);
    reply(s, "+OK Begin TLS negotiation");
    if (s->done)
        return;
    if (popup_tls_begin(s) == -1) {
        end(s, 1);
        return;
    }
    /* RFC 2595 §4: nothing from before the handshake counts */
    s->seenuser = false;
    bstr_truncate(&s->user, 0);
}

static void
cmd_capa(struct popup_session *s, const char *arg, size_t n)
{
    struct bstr b = BSTR_INIT;
    bool stls = !s->tls_on && popup_tls_configured(s);

    (void)arg;
    (void)n;
    if (popup_capa(&b, s->cf, stls, s->tls_on || !s->cf->requiretls) == -1) {
        reply(s, "-ERR out of memory");
        end(s, 1);
    } else {
        send_raw(s, b.s, b.len);
    }
    bstr_free(&b);
}

static void
cmd_quit(struct popup_session *s, const char *arg, size_t n)
{
    (void)arg;
    (void)n;
    reply(s, "+OK ");
    end(s, 0);
}

static void
cmd_noop(struct popup_session *s, const char *arg, size_t n)
{
    (void)arg;
    (void)n;
    reply(s, "+OK ");
}

static const struct {
    enum pop3_verb verb;
    void (*act)(struct popup_session *, const char *, size_t);
    unsigned flags;
} commands[] = {
    {POP3_USER, cmd_user, LOGIN_CMD}, {POP3_PASS, cmd_pass, LOGIN_CMD},
    {POP3_APOP, cmd_apop, LOGIN_CMD}, {POP3_AUTH, cmd_auth, LOGIN_CMD},
    {POP3_STLS, cmd_stls, 0},         {POP3_CAPA, cmd_capa, 0},
    {POP3_QUIT, cmd_quit, 0},         {POP3_NOOP, cmd_noop, 0},
};

/* dispatch - one command line (CR LF removed) */
static void
dispatch(struct popup_session *s)
{
    struct pop3cmd c;

    pop3cmd_parse(s->line.s, s->line.len, &c);
    if (c.ctl) {
        reply(s, "-ERR syntax error");
        return;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (commands[i].verb != c.verb)
            continue;
        if ((commands[i].flags & LOGIN_CMD) && s->cf->requiretls &&
            !s->tls_on) {
            reply(s, "-ERR [SYS/PERM] TLS required, use STLS");
            return;
        }
        commands[i].act(s, c.arg, c.arglen);
        /* the line may have held a password: not kept past its use */
        if ((commands[i].flags & LOGIN_CMD) && s->line.s)
            explicit_bzero(s->line.s, s->line.cap);
        return;
    }
    reply(s, "-ERR authorization first");
}

/*
 * popup_run - the whole AUTHORIZATION state: POP3S's handshake, the
 * greeting, commands until a login ends the session, QUIT, the end of
 * input, a timeout or a limit.  Returns the exit status.
 */
int
popup_run(struct popup_session *s)
{
    if (s->cf->pop3s &&
        (popup_tls_prepare(s) == -1 || popup_tls_begin(s) == -1))
        return 1;
    if (iob_puts(&s->out, "+OK ") == -1 ||
        iob_put(&s->out, s->stamp.s, s->stamp.len) == -1)
        return 1;
    reply(s, "");
    while (!s->done) {
        int r = get_line(s, POP3CMD_MAX);

        if (r == -1) {
            if (errno == ETIMEDOUT)
                log_line("timeout ip=%s", ip(s));
            end(s, 1);
            break;
        }
        if (r == IOB_EOF) {
            end(s, 1);
            break;
        }
        if (++s->cmds > s->cf->maxcmds) {
            log_line("too many commands ip=%s", ip(s));
            reply(s, "-ERR too many commands");
            end(s, 1);
            linger(s);
            break;
        }
        if (r == IOB_LONG) {
            reply(s, "-ERR line too long");
            continue;
        }
        dispatch(s);
    }
    return s->status;
}
