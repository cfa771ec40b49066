/* SPDX-License-Identifier: ISC */
/*
 * worker - the program's side of tcpserver -W, and the options packet
 * (see worker.h).
 *
 * What a worker guarantees its next client: fds 0 and 1 are that
 * client's socket and nothing else of the last one is open (the socket
 * is replaced by /dev/null at worker_done); the environment is the one
 * the worker was started with plus what tcpserver's child would have
 * set for this client, rebuilt from a copy made at start, so variables
 * set for the last client or by the program itself are gone.  What the
 * program keeps in memory between sessions is its own business: a
 * program that holds secrets of a session (a password, TLS keys) must
 * exit after it instead of asking for the next.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "envsave.h"
#include "fdpass.h"
#include "fmt.h"
#include "log.h"
#include "worker.h"

/* The options a worker needs, as the "c" packet names them. */
enum kind { K_STR, K_BOOL, K_UNSIGNED, K_INT };
#define F(name, kind, max) {#name, kind, max, offsetof(struct conn_conf, name)}
static const struct field {
    const char *name;
    enum kind kind;
    unsigned long max;
    size_t off;
} fields[] = {
    F(rules, K_STR, 0),          F(rules_optional, K_BOOL, 1),
    F(lookup_host, K_BOOL, 1),   F(paranoid, K_BOOL, 1),
    F(ident, K_BOOL, 1),         F(ident_timeout, K_UNSIGNED, 3600),
    F(localhost_fixed, K_BOOL, 1), F(localhost, K_STR, 0),
    F(banner, K_STR, 0),         F(nodelay, K_BOOL, 1),
    F(killopts, K_BOOL, 1),      F(verbosity, K_INT, CONN_VERBOSE),
};
#undef F
#define NFIELDS (sizeof fields / sizeof fields[0])

static int
put(struct bstr *out, const char *name, const char *value)
{
    if (!value)
        return 0;
    if (bstr_cats(out, name) == -1 || bstr_catb(out, "=", 1) == -1 ||
        bstr_cats(out, value) == -1 || bstr_catb(out, "", 1) == -1)
        return -1;
    return 0;
}

static int
put_ulong(struct bstr *out, const char *name, unsigned long u)
{
    char buf[FMT_ULONG];

    buf[fmt_ull(buf, u)] = '\0';
    return put(out, name, buf);
}

/*
 * worker_conf_pack - the "c" packet: the connection options of cf that a
 * worker needs, and uses.  Returns 0, or -1 (ENOMEM, or EMSGSIZE when a
 * banner or path makes it longer than a packet may be).
 */
int
worker_conf_pack(struct bstr *out, const struct conn_conf *cf,
                 unsigned long uses)
{
    const char *base = (const char *)cf;

    bstr_truncate(out, 0);
    if (bstr_catb(out, "c", 1) == -1)
        return -1;
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        const void *at = base + f->off;
        int r;

        switch (f->kind) {
        case K_STR: r = put(out, f->name, *(const char *const *)at); break;
        case K_BOOL: r = put_ulong(out, f->name, *(const bool *)at); break;
        case K_UNSIGNED:
            r = put_ulong(out, f->name, *(const unsigned *)at);
            break;
        default:
            r = put_ulong(out, f->name, (unsigned long)*(const int *)at);
            break;
        }
        if (r == -1)
            return -1;
    }
    if (put_ulong(out, "uses", uses) == -1)
        return -1;
    if (out->len > WORKER_MSG_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

static int
number(const char *v, unsigned long max, unsigned long *u)
{
    size_t n = strlen(v);

    if (n == 0 || scan_ulong(v, n, u) != n || *u > max) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

/* One NAME=value of the packet into cf (or *uses); unknown: skipped. */
static int
set(struct conn_conf *cf, unsigned long *uses, const char *name, char *v)
{
    char *base = (char *)cf;
    unsigned long u;

    if (strcmp(name, "uses") == 0) {
        if (number(v, ULONG_MAX, &u) == -1)
            return -1;
        *uses = u ? u : 1;
        return 0;
    }
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        void *at = base + f->off;

        if (strcmp(name, f->name) != 0)
            continue;
        if (f->kind == K_STR) {
            *(char **)at = v;
            return 0;
        }
        if (number(v, f->max, &u) == -1)
            return -1;
        if (f->kind == K_BOOL)
            *(bool *)at = u;
        else if (f->kind == K_UNSIGNED)
            *(unsigned *)at = (unsigned)u;
        else
            *(int *)at = (int)u;
        return 0;
    }
    return 0;
}

/*
 * worker_conf_unpack - read a "c" packet of len bytes at p (kept: the
 * strings of cf point into it) into cf and *uses.  Unknown names are
 * skipped, so an older worker understands a newer tcpserver.  Returns 0,
 * or -1 with EPROTO when it is not such a packet.
 */
int
worker_conf_unpack(char *p, size_t len, struct conn_conf *cf,
                   unsigned long *uses)
{
    size_t pos = 1;

    memset(cf, 0, sizeof *cf);
    *uses = 1;
    if (len < 1 || p[0] != 'c' || (len > 1 && p[len - 1] != '\0')) {
        errno = EPROTO;
        return -1;
    }
    while (pos < len) {
        char *name = p + pos, *v = strchr(name, '=');

        pos += strlen(name) + 1;
        if (!v) {
            errno = EPROTO;
            return -1;
        }
        *v++ = '\0';
        if (set(cf, uses, name, v) == -1)
            return -1;
    }
    return 0;
}

/*
 * worker_init - when tcpserver started us as a worker (UCSPI_WORKER set),
 * say hello, read its options and keep a copy of the environment.
 * Returns 1 as a worker, 0 when not started as one, -1 with errno.
 */
int
worker_init(struct worker *w)
{
    const char *v = getenv(WORKER_ENV);
    unsigned long fd;
    ssize_t n;
    size_t len;

    memset(w, 0, sizeof *w);
    w->fd = w->null = -1;
    if (!v)
        return 0;
    len = strlen(v);
    if (len == 0 || scan_ulong(v, len, &fd) != len || fd < 3 || fd > 65535) {
        errno = EINVAL;
        return -1;
    }
    w->fd = (int)fd;
    if (unsetenv(WORKER_ENV) == -1 || fcntl(w->fd, F_SETFD, FD_CLOEXEC) == -1)
        return -1;
    w->null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (w->null == -1 || envsave_take(&w->env0) == -1)
        return -1;
    if (send(w->fd, WORKER_HELLO, sizeof WORKER_HELLO - 1, MSG_NOSIGNAL) == -1)
        return -1;
    if (!(w->conf = malloc(WORKER_MSG_MAX)))
        return -1;
    do {
        n = recv(w->fd, w->conf, WORKER_MSG_MAX, 0);
    } while (n == -1 && errno == EINTR);
    if (n <= 0) {
        if (n == 0)
            errno = EPIPE;
        return -1;
    }
    if (worker_conf_unpack(w->conf, (size_t)n, &w->cf, &w->uses) == -1)
        return -1;
    return 1;
}

/*
 * Close the client's socket (fds 0 and 1 become /dev/null) and report
 * the exit code, and whether another connection may come (tcpserver must
 * not hand one to a worker about to exit: it would be closed unserved).
 */
static int
report(struct worker *w, int code, bool more)
{
    char e[3] = {'e', (char)(code & 0xff), more ? '1' : '0'};

    if (dup2(w->null, 0) == -1 || dup2(w->null, 1) == -1)
        return -1;
    if (send(w->fd, e, sizeof e, MSG_NOSIGNAL) == -1)
        return -1;
    return 0;
}

/*
 * worker_next - wait for tcpserver's next connection and set the process
 * up for it as tcpserver's child would (conn_setup): fds 0 and 1, the
 * environment, the log lines.  A client a rule denies is closed and
 * reported here.  Returns 1 with a client to serve, 0 when tcpserver is
 * gone, -1 with errno (EPROTO: a packet that is not ours).
 */
int
worker_next(struct worker *w)
{
    for (;;) {
        struct sockaddr_storage ss;
        char pkt[1 + sizeof ss];
        const char *me;
        ssize_t n;
        int fd;
        bool ok;

        n = fdpass_recv(w->fd, pkt, sizeof pkt, &fd, 1);
        if (n == 0 || (n == -1 && errno == ECONNRESET))
            return 0;
        if (n == -1)
            return -1;
        if (fd == -1 || pkt[0] != 'n' || (size_t)n - 1 < sizeof(sa_family_t)) {
            if (fd != -1)
                close(fd);
            errno = EPROTO;
            return -1;
        }
        memcpy(&ss, pkt + 1, (size_t)n - 1);
        if (send(w->fd, "a", 1, MSG_NOSIGNAL) == -1) {
            close(fd);
            return -1;
        }
        if (envsave_restore(w->env0) == -1)
            return -1;
        me = log_prog();
        log_init("tcpserver");
        ok = conn_setup(&w->cf, fd, (struct sockaddr *)&ss,
                        (socklen_t)(n - 1));
        log_init(me);
        if (ok)
            return 1;
        if (report(w, 100, true) == -1)
            return -1;
    }
}

/*
 * worker_done - the session on fds 0/1 ended with exit code code: close
 * the client's socket and tell tcpserver.  Returns true when the worker
 * may take another connection, false when it should exit now (with
 * code): its count of sessions is reached or tcpserver cannot be told.
 */
bool
worker_done(struct worker *w, int code)
{
    bool more = ++w->served < w->uses;

    return report(w, code, more) == 0 && more;
}
