/* SPDX-License-Identifier: ISC */
/*
 * starttls - qmail-smtpd's side of TLS: STARTTLS (RFC 3207) and implicit
 * TLS from the first byte (SMTPS, RFC 8314).
 *
 * The context is made from control/ at the first use in the process, so
 * a replaced certificate applies to the next connection and a session
 * that never asks for TLS never reads the key.  After the handshake the
 * session's iobs read and write through the TLS connection; nothing the
 * client sent before the handshake survives it (the caller discards the
 * pipelined bytes, CVE-2011-0411).  Failures are logged with OpenSSL's
 * text and end the session; nothing here exits.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "datetime.h"
#include "log.h"
#include "smtpd.h"

#define CERTFILE "control/servercert.pem"
#define CERTFILE2 "control/servercert2.pem" /* a second key type, if any */
#define DHFILE "control/dh2048.pem"
#define TICKETKEYS "control/tlsticketkeys"

static enum tls_version
min_version(const struct bstr *b)
{
    static const struct {
        const char *name;
        enum tls_version v;
    } names[] = {{"TLSv1", TLS_V1_0},   {"TLSv1.0", TLS_V1_0},
                 {"TLSv1.1", TLS_V1_1}, {"TLSv1.2", TLS_V1_2},
                 {"TLSv1.3", TLS_V1_3}};

    for (size_t i = 0; b->len && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(b->s, names[i].name) == 0)
            return names[i].v;
    return 0;
}

/* smtpd_tls_offered - may this session say STARTTLS now? */
bool
smtpd_tls_offered(const struct smtpd_session *s)
{
    return s->cf->tls_cert && !s->cf->tls_off && s->tls == NULL;
}

/*
 * smtpd_tls_prepare - the server context, made once per process.
 * Returns 0, or -1 after logging why TLS cannot be had (the client of a
 * STARTTLS hears 454).
 */
int
smtpd_tls_prepare(struct smtpd_session *s)
{
    struct tls_server_conf c;
    struct bstr err = BSTR_INIT;
    const struct smtpd_config *cf = s->cf;

    if (s->tlsctx)
        return 0;
    memset(&c, 0, sizeof c);
    c.certfile[0] = CERTFILE;
    c.certfile[1] = access(CERTFILE2, F_OK) == 0 ? CERTFILE2 : NULL;
    c.dhfile = access(DHFILE, F_OK) == 0 ? DHFILE : NULL;
    c.ciphers = cf->tlsciphers.len ? cf->tlsciphers.s : NULL;
    c.ciphersuites = cf->tlssuites.len ? cf->tlssuites.s : NULL;
    c.minver = min_version(&cf->tlsmin);
    c.ticketkeys = access(TICKETKEYS, F_OK) == 0 ? TICKETKEYS : NULL;
    if (cf->tlsmin.len && c.minver == 0)
        log_line("warning: control/tlsserverminprotocol: unknown %s, "
                 "using TLSv1.2", cf->tlsmin.s);
    s->tlsctx = tls_server_new(&c, &err);
    if (s->tlsctx == NULL && c.ticketkeys) {
        /* a bad key file costs resumption, not TLS */
        log_line("warning: %s: %s; sessions are not resumed", TICKETKEYS,
                 err.len ? err.s : strerror(errno));
        bstr_truncate(&err, 0);
        c.ticketkeys = NULL;
        s->tlsctx = tls_server_new(&c, &err);
    }
    if (s->tlsctx == NULL)
        log_line("warning: TLS not available: %s",
                 err.len ? err.s : strerror(errno));
    bstr_free(&err);
    return s->tlsctx ? 0 : -1;
}

/*
 * smtpd_tls_begin - the handshake on fds 0/1, within timeoutsmtpd per
 * step and timeoutsmtpdcmd in all; then the session reads and writes
 * through TLS.  Call it after smtpd_tls_prepare, with nothing pending in
 * s->out.  Returns 0, or
 * -1 with the fate set (the session ends without a reply: there is no
 * channel left to give one on).
 */
int
smtpd_tls_begin(struct smtpd_session *s)
{
    struct bstr err = BSTR_INIT;
    long long deadline = 0;
    int r;

    s->fate = OC_OK;
    s->how = "tls";
    s->tls = tls_conn_new(s->tlsctx, 0, 1, NULL);
    if (s->tls == NULL) {
        s->fate = OC_NOMEM;
        s->how = "nomem";
        return -1;
    }
    if (s->cf->cmdtimeout)
        deadline = datetime_mono_ms() + (long long)s->cf->cmdtimeout * 1000;
    r = tls_handshake(s->tls, s->in.timeout_ms, deadline, &err);
    if (r == -1) {
        log_line("tls failed ip=%s: %s", s->remoteip,
                 err.len ? err.s : strerror(errno));
        bstr_free(&err);
        tls_conn_free(s->tls);
        s->tls = NULL;
        return -1;
    }
    bstr_free(&err);
    s->in.op = tls_read;
    s->in.ctx = s->tls;
    s->out.op = tls_write;
    s->out.ctx = s->tls;
    snprintf(s->tlsinfo, sizeof s->tlsinfo, "%s %s", tls_protocol(s->tls),
             tls_cipher(s->tls));
    log_line("tls ip=%s protocol=%s cipher=%s bits=%d%s", s->remoteip,
             tls_protocol(s->tls), tls_cipher(s->tls),
             tls_cipher_bits(s->tls), tls_resumed(s->tls) ? " resumed" : "");
    return 0;
}

/* smtpd_tls_end - the session is over: close_notify, then free. */
void
smtpd_tls_end(struct smtpd_session *s)
{
    if (s->tls) {
        tls_shutdown(s->tls, 1000);
        tls_conn_free(s->tls);
        s->tls = NULL;
    }
    if (s->tlsctx) {
        tls_ctx_free(s->tlsctx);
        s->tlsctx = NULL;
    }
}
