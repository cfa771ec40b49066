/* SPDX-License-Identifier: ISC */
/*
 * secure - what qmail-remote does between EHLO and MAIL: STARTTLS as the
 * destination's policy asks (tlspolicy.h), and AUTH to a smarthost that
 * has a login in control/smtproutes-auth.
 *
 * The level of one connection is the destination's policy, overridden
 * for one host by the TLS patch's files: control/notlshosts/NAME (no
 * STARTTLS to that host) and control/tlshosts/NAME.pem (verify that
 * host against the CAs in that file).  NAME is the host's name as the
 * MX record or smtproutes gives it; a certificate must name it
 * (RFC 6125; an address has no name, so verify fails for it unless a
 * route names the host).  control/clientcert.pem, when present, is our
 * client certificate.
 *
 * Results: at may, a failed STARTTLS or handshake makes the caller
 * connect to the same address again at once and send in plain text; at
 * encrypt and verify, a server without STARTTLS, a failed handshake or
 * a certificate that does not verify is a temporary failure of that
 * address (the next MX is tried, then the message is deferred), with a
 * text naming the policy.  rm->tlsnote gets a line for the delivery's
 * text: the protocol and cipher, or why the mail went in clear text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "remote.h"

/* client_ctx - the context for cafile (NULL: system CAs), made once. */
static struct tls_ctx *
client_ctx(struct remote *rm, const char *cafile, struct bstr *err)
{
    struct tls_client_conf c;
    struct bstr cert = BSTR_INIT;
    struct tls_ctx *t = NULL;

    memset(&c, 0, sizeof c);
    c.cafile = cafile;
    if (bstr_catf(&cert, "%s/clientcert.pem", rm->ctldir) == -1)
        return NULL;
    c.certfile = access(cert.s, F_OK) == 0 ? cert.s : NULL;
    if (cafile == NULL) {
        if (rm->ctx == NULL && !rm->ctxfailed) {
            rm->ctx = tls_client_new(&c, &rm->ctxerr);
            rm->ctxfailed = rm->ctx == NULL;
        }
        if (rm->ctxfailed && bstr_copy(err, &rm->ctxerr) == -1)
            bstr_truncate(err, 0);
        t = rm->ctx;
    } else if (rm->hostctx && rm->hostca && strcmp(rm->hostca, cafile) == 0) {
        t = rm->hostctx;
    } else if (rm->s.tls == NULL) { /* no connection uses the old one */
        tls_ctx_free(rm->hostctx);
        free(rm->hostca);
        rm->hostca = strdup(cafile);
        rm->hostctx = rm->hostca ? tls_client_new(&c, err) : NULL;
        t = rm->hostctx;
    }
    bstr_free(&cert);
    return t;
}

/*
 * host_level - this host's level: notlshosts/NAME, tlshosts/NAME.pem
 * (its CA file into *cafile, malloc'ed), else the destination's.
 */
static enum tls_level
host_level(struct remote *rm, const char *name, char **cafile)
{
    struct bstr fn = BSTR_INIT;
    enum tls_level l = rm->policy.level;

    *cafile = NULL;
    if (!*name || strchr(name, '/') || name[0] == '.')
        return l;
    if (bstr_catf(&fn, "%s/notlshosts/%s", rm->ctldir, name) == 0 &&
        access(fn.s, F_OK) == 0) {
        l = TLS_LEVEL_NONE;
    } else {
        bstr_truncate(&fn, 0);
        if (bstr_catf(&fn, "%s/tlshosts/%s.pem", rm->ctldir, name) == 0 &&
            access(fn.s, F_OK) == 0) {
            l = TLS_LEVEL_VERIFY;
            *cafile = strdup(fn.s);
        }
    }
    bstr_free(&fn);
    return l;
}

/* policy_words - "control/tlsdestinations says verify for example.com" */
static int
policy_words(struct remote *rm, enum tls_level l, bool hostfile,
             struct bstr *why)
{
    if (hostfile)
        return bstr_catf(why, "control/tlshosts says verify for this host");
    return bstr_catf(why, "%s says %s for %s", rm->policy.source,
                     tls_level_name(l), rm->host);
}

/* failure - what failed, and the details when there are some (up to a
 * NUL in them), into an empty w: "what: detail".  0 or -1. */
static int
failure(struct bstr *w, const char *what, const struct bstr *detail)
{
    return bstr_catf(w, "%s%s%.*s", what, detail && detail->len ? ": " : "",
                     detail ? (int)detail->len : 0,
                     detail && detail->s ? detail->s : "");
}

/* refuse - a policy not met: a temporary failure of this address. */
static int
refuse(struct remote *rm, enum tls_level l, bool hostfile, const char *what,
       const struct bstr *detail, struct bstr *why)
{
    struct bstr w = BSTR_INIT, p = BSTR_INIT;

    bstr_truncate(why, 0);
    if (failure(&w, what, detail) == -1 ||
        policy_words(rm, l, hostfile, &p) == -1 ||
        result_line(why, RS_TLS_FAILED,
                    RESULT_ARGS(rm->s.ipstr, w.s, p.s ? p.s : "")) == -1)
        bstr_truncate(why, 0);
    bstr_free(&w);
    bstr_free(&p);
    return REMOTE_SECURE_FAIL;
}

/* note_plain - at may: why this delivery goes in plain text. */
static void
note_plain(struct remote *rm, const char *what, const struct bstr *detail)
{
    struct bstr w = BSTR_INIT;

    bstr_truncate(&rm->tlsnote, 0);
    if (failure(&w, what, detail) == -1 ||
        result_line(&rm->tlsnote, RS_NOTE_PLAIN,
                    RESULT_ARGS(rm->s.ipstr, w.s)) == -1)
        bstr_truncate(&rm->tlsnote, 0);
    bstr_free(&w);
}

/* ehlo_again - EHLO inside TLS (RFC 3207 §4.2: forget what was said). */
static int
ehlo_again(struct remote *rm)
{
    struct bstr cmd = BSTR_INIT;
    int code = -1;

    if (bstr_catf(&cmd, "EHLO %s\r\n",
                  rm->c->helohost.s ? rm->c->helohost.s : "") == 0 &&
        smtp_put(&rm->s, cmd.s, cmd.len) == 0)
        code = smtp_read(&rm->s);
    bstr_free(&cmd);
    if (code / 100 == 2)
        smtp_ehlo_parse(&rm->s);
    return code;
}

/*
 * starttls - STARTTLS, the handshake, the check, EHLO again.  Returns
 * REMOTE_SECURE_OK, _FAIL (why set), or _PLAIN (at may: reconnect and
 * send in plain text; rm->tlsnote says why).
 */
static int
starttls(struct remote *rm, const char *name, enum tls_level l, char *cafile,
         struct bstr *why)
{
    struct smtp *s = &rm->s;
    struct bstr err = BSTR_INIT;
    struct tls_ctx *ctx;
    const char *what = NULL;
    char bits[16];
    int code, r = REMOTE_SECURE_OK;

    ctx = client_ctx(rm, cafile, &err);
    if (ctx == NULL) {
        what = "no TLS context";
        goto failed;
    }
    if (smtp_put(s, "STARTTLS\r\n", 10) == -1 || (code = smtp_read(s)) == -1)
        goto dead;
    if (code != 220) {
        what = "it refused STARTTLS";
        if (bstr_catf(&err, "%u", (unsigned)code) == -1)
            bstr_truncate(&err, 0);
        goto failed;
    }
    if (smtp_starttls(s, ctx, *name ? name : NULL, &err) == -1) {
        what = "the handshake failed";
        goto failed;
    }
    if (l == TLS_LEVEL_VERIFY) {
        int v = tls_verify(s->tls, name, &err);

        if (v != 1) {
            r = refuse(rm, l, cafile != NULL, "the certificate did not verify",
                       &err, why);
            goto out;
        }
        s->verified = true;
    }
    if ((code = ehlo_again(rm)) == -1)
        goto dead;
    if (code / 100 != 2) {
        bstr_truncate(why, 0);
        if (result_line(why, RS_R_HELO, RESULT_ARGS(s->ipstr)) == -1 ||
            smtp_said(s, why) == -1)
            bstr_truncate(why, 0);
        r = REMOTE_SECURE_FAIL;
        goto out;
    }
    bstr_truncate(&rm->tlsnote, 0);
    snprintf(bits, sizeof bits, "%d", tls_cipher_bits(s->tls));
    if (result_line(&rm->tlsnote, RS_NOTE_TLS,
                    RESULT_ARGS(tls_protocol(s->tls), tls_cipher(s->tls), bits,
                                s->verified ? "verified" : "not verified")) ==
        -1)
        bstr_truncate(&rm->tlsnote, 0);
    goto out;
dead:
    bstr_truncate(why, 0);
    if (smtp_died(s, false, why) == -1)
        bstr_truncate(why, 0);
    r = REMOTE_SECURE_FAIL;
    if (l != TLS_LEVEL_MAY || s->tls == NULL)
        goto out;
    /* at may, a handshake that broke the connection: plain text */
    what = "the connection died";
failed:
    if (l == TLS_LEVEL_MAY) {
        note_plain(rm, what, &err);
        r = REMOTE_SECURE_PLAIN;
    } else {
        r = refuse(rm, l, cafile != NULL, what, &err, why);
    }
out:
    bstr_free(&err);
    return r;
}

/* login_for - the smtproutes-auth login for this host, or NULL. */
static const struct authroute *
login_for(const struct remote *rm, const char *name)
{
    const struct authroute *a = NULL;
    char lit[IPADDR_FMT + 2];

    if (*name)
        a = authroutes_find(&rm->auth, name);
    if (!a)
        a = authroutes_find(&rm->auth, rm->s.ipstr);
    if (!a && strlen(rm->s.ipstr) < sizeof lit - 2) {
        lit[0] = '[';
        strcpy(lit + 1, rm->s.ipstr);
        strcat(lit, "]");
        a = authroutes_find(&rm->auth, lit);
    }
    return a;
}

/* auth_step - send line (base64 of p[0..n), or the literal cmd), read. */
static int
auth_step(struct smtp *s, const char *cmd, const char *p, size_t n)
{
    struct bstr l = BSTR_INIT;
    int code = -1;

    if (bstr_cats(&l, cmd) == 0 && (!p || base64_encode(&l, p, n) == 0) &&
        bstr_cats(&l, "\r\n") == 0 && smtp_put(s, l.s, l.len) == 0)
        code = smtp_read(s);
    else if (s->err == 0)
        s->err = ENOMEM;
    if (l.s)
        explicit_bzero(l.s, l.len);
    bstr_free(&l);
    return code;
}

/*
 * auth - AUTH PLAIN (RFC 4616), else LOGIN, with the host's login; only
 * over TLS.  A refused login is a temporary failure: a wrong password in
 * a control file must not bounce the mail that waits for it.
 */
static int
auth(struct remote *rm, const struct authroute *a, struct bstr *why)
{
    struct smtp *s = &rm->s;
    int code;

    bstr_truncate(why, 0);
    if (!s->tls) {
        if (result_line(why, RS_AUTH_NOTLS, RESULT_ARGS(s->ipstr)) == -1)
            bstr_truncate(why, 0);
        return REMOTE_SECURE_FAIL;
    }
    if (s->ext & SMTP_AUTH_PLAIN) {
        size_t ul = strlen(a->user), pl = strlen(a->pass);
        char *b = malloc(ul + pl + 2);

        if (!b) {
            s->err = ENOMEM;
            goto dead;
        }
        b[0] = '\0';
        memcpy(b + 1, a->user, ul);
        b[ul + 1] = '\0';
        memcpy(b + ul + 2, a->pass, pl);
        code = auth_step(s, "AUTH PLAIN ", b, ul + pl + 2);
        explicit_bzero(b, ul + pl + 2);
        free(b);
    } else if (s->ext & SMTP_AUTH_LOGIN) {
        code = auth_step(s, "AUTH LOGIN", NULL, 0);
        if (code == 334)
            code = auth_step(s, "", a->user, strlen(a->user));
        if (code == 334)
            code = auth_step(s, "", a->pass, strlen(a->pass));
    } else {
        if (result_line(why, RS_AUTH_NOMECH, RESULT_ARGS(s->ipstr)) == -1)
            bstr_truncate(why, 0);
        return REMOTE_SECURE_FAIL;
    }
    if (code == -1)
        goto dead;
    if (code == 235)
        return REMOTE_SECURE_OK;
    if (result_line(why, RS_AUTH_REFUSED,
                    RESULT_ARGS(s->ipstr, a->user)) == -1 ||
        smtp_said(s, why) == -1)
        bstr_truncate(why, 0);
    return REMOTE_SECURE_FAIL;
dead:
    if (smtp_died(s, false, why) == -1)
        bstr_truncate(why, 0);
    return REMOTE_SECURE_FAIL;
}

/*
 * remote_secure - after a successful EHLO (or HELO: no extensions) with
 * host name (may be ""): STARTTLS by the policy, unless plain (the
 * retry in plain text after a failed try at may), then AUTH when this
 * host has a login.  Returns REMOTE_SECURE_OK, _FAIL with the reason
 * in why (close the connection, try the next address), or _PLAIN
 * (connect to this address again with plain set).
 */
int
remote_secure(struct remote *rm, const char *name, bool plain, struct bstr *why)
{
    const struct authroute *a = login_for(rm, name);
    char *cafile;
    enum tls_level l = host_level(rm, name, &cafile);
    int r = REMOTE_SECURE_OK;

    if (!plain)
        bstr_truncate(&rm->tlsnote, 0);
    if (plain || l == TLS_LEVEL_NONE) {
        /* nothing */
    } else if (rm->s.ext & SMTP_STARTTLS) {
        r = starttls(rm, name, l, cafile, why);
    } else if (l != TLS_LEVEL_MAY) {
        r = refuse(rm, l, cafile != NULL, "it does not offer STARTTLS", NULL,
                   why);
    }
    free(cafile);
    if (r == REMOTE_SECURE_OK && a)
        r = auth(rm, a, why);
    return r;
}
