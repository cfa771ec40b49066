/* SPDX-License-Identifier: ISC */
/*
 * popup - qmail-popup's session: the POP3 AUTHORIZATION state (RFC 1939
 * §4, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH PLAIN), then the
 * checkpassword chain with the login on its fd 3.
 *
 * Guarantees: in plain mode no byte past the end of the current command
 * line is ever read from the client, so what a pipelining client sent
 * after PASS is still in the socket for qmail-pop3d; bytes pipelined
 * after STLS never reach the TLS session; every line is bounded
 * (POP3CMD_MAX), every wait has the 1200 s timeout, the number of
 * commands and failed logins is bounded.  The password is never logged
 * and is wiped once handed over.  Nothing here trusts the client.
 */
#ifndef POPUP_H
#define POPUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bstr.h"
#include "iob.h"

#define POPUP_TIMEOUT 1200  /* seconds: qmail's, RFC 1939 §3 asks >= 600 */
#define POPUP_MAXCMDS 100   /* commands before a login */
#define POPUP_AUTHLINE 1024 /* an AUTH continuation line (RFC 5034 §4) */

/* The settings, read once at startup (qmail-popup.c), never changed. */
struct popup_config {
    const char *host;       /* argv[1]: the greeting's timestamp host */
    char **child;           /* the checkpassword chain (argv + 2) */
    const char *remoteip;   /* $TCPREMOTEIP, for the log */
    const char *home;       /* $QMAIL_HOME: control/servercert.pem ... */
    unsigned faildelay;     /* $POP3FAILDELAY seconds (2) */
    unsigned long maxfail;  /* $POP3MAXFAIL failed logins (3) */
    unsigned long maxcmds;  /* POPUP_MAXCMDS */
    unsigned timeout;       /* POPUP_TIMEOUT */
    const char *logindelay; /* $POP3LOGINDELAY digits, or NULL */
    const char *expire;     /* $POP3EXPIRE digits or NEVER, or NULL */
    bool requiretls;        /* $POP3REQUIRETLS=1 */
    bool pop3s;             /* $POP3S: TLS before the greeting (995) */
};

struct popup_tls; /* popup_tls.c: the context and the connection */

/* One connection's state: explicit, passed to every handler. */
struct popup_session {
    const struct popup_config *cf;
    struct bstr stamp;        /* "<PID.TIME@HOST>" (APOP's too) */
    struct bstr user;         /* after USER */
    bool seenuser;
    struct bstr line;         /* the command being handled */
    struct iob out;           /* fd 1, or TLS */
    char outbuf[1024];
    struct iob in;            /* TLS mode only; plain mode reads fd 0 */
    char inbuf[4096];
    struct popup_tls *tls;    /* NULL until STLS/POP3S asks */
    bool tls_on;
    unsigned long cmds, fails;
    bool done;                /* the session is over: exit with status */
    int status;
};

/* How a login ended (popup_login). */
enum popup_result {
    POPUP_DONE,    /* accepted: the child ran the session; we exit */
    POPUP_REFUSED, /* checkpassword said no (exit 1, ...) */
    POPUP_TEMP,    /* exit 2 or 111: the store or the program is broken */
    POPUP_CRASH    /* killed by a signal before a word */
};

/* ---- popup.c ----------------------------------------------------------- */
int popup_init(struct popup_session *s, const struct popup_config *cf)
    __attribute__((warn_unused_result));
void popup_free(struct popup_session *s);
int popup_run(struct popup_session *s);
int popup_readline_fd(int fd, struct bstr *line, size_t max, int timeout_ms)
    __attribute__((warn_unused_result));
int popup_stamp(struct bstr *out, long pid, long long now, const char *host)
    __attribute__((warn_unused_result));
int popup_fd3_data(struct bstr *out, const char *user, size_t ulen,
                   const char *secret, size_t slen, const struct bstr *stamp)
    __attribute__((warn_unused_result));
int popup_plain_decode(const char *b64, size_t n, struct bstr *authcid,
                       struct bstr *pass) __attribute__((warn_unused_result));
int popup_capa(struct bstr *out, const struct popup_config *cf,
               bool stls, bool login_ok) __attribute__((warn_unused_result));
enum popup_result popup_verdict(int wstatus);
void popup_exec(char **argv, int fd3) __attribute__((noreturn));

/* ---- popup_sent.c ------------------------------------------------------ */
int popup_sent(int fd, unsigned long long *n);

/* ---- popup_tls.c ------------------------------------------------------- */
bool popup_tls_configured(const struct popup_session *s);
int popup_tls_prepare(struct popup_session *s)
    __attribute__((warn_unused_result));
int popup_tls_begin(struct popup_session *s)
    __attribute__((warn_unused_result));
void popup_tls_end(struct popup_session *s);
int popup_tls_login(struct popup_session *s, const char *data, size_t len,
                    enum popup_result *res, int *wstatus)
    __attribute__((warn_unused_result));

#endif
