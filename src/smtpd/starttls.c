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
#include "tlsctl.h"

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
    struct tlsctl_conf c;
    struct bstr err = BSTR_INIT, warn = BSTR_INIT;
    const struct smtpd_config *cf = s->cf;

    if (s->tlsctx)
        return 0;
    c.dir = "control";
    c.ciphers = cf->tlsciphers.len ? cf->tlsciphers.s : NULL;
    c.suites = cf->tlssuites.len ? cf->tlssuites.s : NULL;
    c.minproto = cf->tlsmin.len ? cf->tlsmin.s : NULL;
    s->tlsctx = tlsctl_server(&c, &warn, &err);
    for (const char *p = warn.s, *end = warn.s + warn.len; p && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

        log_line("warning: %.*s", (int)n, p);
        p += n + 1;
    }
    if (s->tlsctx == NULL)
        log_line("warning: TLS not available: %s",
                 err.len ? err.s : strerror(errno));
    bstr_free(&warn);
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
