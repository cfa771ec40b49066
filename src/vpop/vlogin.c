/* SPDX-License-Identifier: ISC */
/*
 * vlogin - vchkpw's decisions (see vlogin.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "quota.h"
#include "vlogin.h"
#include "vpass.h"

/*
 * vlogin_fields - the checkpassword input buf[0..n): "user\0password\0"
 * and an optional third field, each ending with a NUL.  0, or -1 with
 * errno EINVAL (nothing, a missing NUL, one field or more than three,
 * an empty user).
 */
int
vlogin_fields(const char *buf, size_t n, struct vlogin_input *in)
{
    const char *f[3] = {NULL, NULL, NULL};
    size_t k = 0;

    in->user = in->pass = in->third = NULL;
    if (n == 0 || buf[n - 1] != '\0')
        goto bad;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || buf[i - 1] == '\0') {
            if (k == 3)
                goto bad;
            f[k++] = buf + i;
        }
    }
    if (k < 2 || f[0][0] == '\0')
        goto bad;
    in->user = f[0];
    in->pass = f[1];
    in->third = f[2];
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/*
 * vlogin_split - "user@domain" or "user%domain" (the first of the two
 * signs splits, as vpopmail's parse_email) into user and domain, both
 * lower case; without either sign the domain is empty.  0, or -1 with
 * errno EINVAL (an empty user or domain after the sign, a user with a
 * control byte, '/' or ':', or one too long) or ENOMEM.
 */
int
vlogin_split(const char *login, size_t len, struct bstr *user,
             struct bstr *domain)
{
    size_t at = 0;

    while (at < len && login[at] != '@' && login[at] != '%')
        at++;
    if (at == 0 || at > VPW_FIELD_MAX || (at < len && at + 1 == len))
        goto bad;
    for (size_t i = 0; i < at; i++)
        if ((unsigned char)login[i] < 0x20 || login[i] == 0x7f ||
            login[i] == '/' || login[i] == ':' || login[i] == '\0')
            goto bad;
    if (bstr_copyb(user, login, at) == -1 ||
        bstr_copyb(domain, at < len ? login + at + 1 : "",
                   at < len ? len - at - 1 : 0) == -1)
        return -1;
    bstr_lower(user);
    bstr_lower(domain);
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/*
 * vlogin_default_domain - ~vpopmail/etc/defaultdomain (vpopmail's own
 * file) into out.  1 read, 0 none, -1 with errno.
 */
int
vlogin_default_domain(const struct vconf *c, struct bstr *out)
{
    struct bstr p = BSTR_INIT;
    int r;

    if (bstr_catf(&p, "%s/%s", c->home.s, VLOGIN_DEFAULTDOMAIN) == -1)
        return -1;
    r = ctl_readline(p.s, out);
    bstr_free(&p);
    if (r == 1 && out->len == 0)
        r = 0;
    return r;
}

static unsigned long
port_of(const char *s)
{
    unsigned long v = 0;

    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 65535)
            return 0;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    return v;
}

/*
 * vlogin_service - the service of a login: the port the client came to
 * (TCPLOCALPORT), else the program to run (prog, NULL for none); POP3
 * and IMAP from remoteip 127.0.0.1 are webmail.
 */
enum vlogin_service
vlogin_service(const char *localport, const char *prog, const char *remoteip)
{
    enum vlogin_service s;

    switch (port_of(localport)) {
    case 25:
    case 465:
    case 587:
        s = VLOGIN_SMTP;
        break;
    case 110:
    case 995:
        s = VLOGIN_POP3;
        break;
    case 143:
    case 993:
        s = VLOGIN_IMAP;
        break;
    default:
        s = prog == NULL           ? VLOGIN_SMTP
            : strstr(prog, "true") ? VLOGIN_SMTP
            : strstr(prog, "imap") ? VLOGIN_IMAP
                                   : VLOGIN_POP3;
    }
    if ((s == VLOGIN_POP3 || s == VLOGIN_IMAP) && remoteip &&
        strcmp(remoteip, "127.0.0.1") == 0)
        s = VLOGIN_WEBMAIL;
    return s;
}

/*
 * vlogin_service_named - the service a caller names: Dovecot's
 * checkpassword driver sets SERVICE ("imap", "pop3", "smtp",
 * "submission"), whatever port it listens on.  1 with *s (webmail from
 * 127.0.0.1 as above), 0 for none or a name not known here.
 */
int
vlogin_service_named(const char *name, const char *remoteip,
                     enum vlogin_service *s)
{
    if (name == NULL)
        return 0;
    if (strcmp(name, "imap") == 0)
        *s = VLOGIN_IMAP;
    else if (strcmp(name, "pop3") == 0)
        *s = VLOGIN_POP3;
    else if (strcmp(name, "smtp") == 0 || strcmp(name, "submission") == 0)
        *s = VLOGIN_SMTP;
    else
        return 0;
    if (*s != VLOGIN_SMTP && remoteip && strcmp(remoteip, "127.0.0.1") == 0)
        *s = VLOGIN_WEBMAIL;
    return 1;
}

/*
 * vlogin_quota_rule - the account's Maildir++ quota ("1000000S,500C") as
 * a Dovecot quota rule ("*:storage=1000000B:messages=500"), so that IMAP
 * shows the limit vdelivermail enforces before any maildirsize exists.
 * 1 with the rule in out, 0 for no limit (NOQUOTA, empty, unreadable:
 * Dovecot then reads maildirsize's own line), -1 no memory.
 */
int
vlogin_quota_rule(const char *quota, struct bstr *out)
{
    struct mdquota q;
    char num[24];

    bstr_truncate(out, 0);
    if (quota == NULL || mdq_parse(quota, strlen(quota), &q) == -1 ||
        !mdq_limited(&q))
        return 0;
    if (bstr_cats(out, "*") == -1)
        return -1;
    if (q.has_bytes) {
        snprintf(num, sizeof num, "%llu", q.bytes);
        if (bstr_cats(out, ":storage=") == -1 || bstr_cats(out, num) == -1 ||
            bstr_catc(out, 'B') == -1)
            return -1;
    }
    if (q.has_count) {
        snprintf(num, sizeof num, "%llu", q.count);
        if (bstr_cats(out, ":messages=") == -1 || bstr_cats(out, num) == -1)
            return -1;
    }
    return 1;
}

const char *
vlogin_service_name(enum vlogin_service s)
{
    switch (s) {
    case VLOGIN_SMTP:
        return "smtp";
    case VLOGIN_POP3:
        return "pop3";
    case VLOGIN_IMAP:
        return "imap";
    default:
        return "webmail";
    }
}

/* vlogin_allowed - do the account's flags let it use service s? */
bool
vlogin_allowed(const struct vpw *pw, enum vlogin_service s)
{
    unsigned long flag = s == VLOGIN_SMTP   ? VPW_NO_SMTP
                         : s == VLOGIN_POP3 ? VPW_NO_POP
                         : s == VLOGIN_IMAP ? VPW_NO_IMAP
                                            : VPW_NO_WEBMAIL;

    return (pw->gid & flag) == 0;
}

/* is_chal - "<...>", a CRAM-MD5 challenge (or a POP3 timestamp) */
static bool
is_chal(const char *s)
{
    size_t n = strlen(s);

    return n >= 3 && s[0] == '<' && s[n - 1] == '>';
}

/* is_digest - 32 lowercase hex digits */
static bool
is_digest(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 32;
}

/*
 * vlogin_check - the verdict on a login for account pw: VLOGIN_OK,
 * VLOGIN_NO (*why says why, for the log), VLOGIN_TEMP (no memory).
 * *mech is the way the login was proved: "PLAIN" (a password against
 * the hash), "CRAM-MD5" (against the clear text: qmail-smtpd's fields
 * user, challenge, digest; for SMTP also vpopmail's order user, digest,
 * challenge) or "APOP" (POP3 and IMAP: qmail-popup's fields user,
 * digest, timestamp, against the clear text; RFC 1939 §7).  An account without a hash refuses every login, and the
 * service's flag is checked only once the password is right, as
 * vpopmail does.
 */
enum vlogin_verdict
vlogin_check(const struct vpw *pw, const struct vlogin_input *in,
             enum vlogin_service s, const char **mech, const char **why)
{
    const char *clear = pw->clear && pw->clear[0] ? pw->clear : NULL;
    int r;

    *mech = "PLAIN";
    *why = NULL;
    if (pw->passwd == NULL || pw->passwd[0] == '\0') {
        *why = "account has no password";
        return VLOGIN_NO;
    }
    if (in->third && is_chal(in->pass) && is_digest(in->third)) {
        *mech = "CRAM-MD5";
        if (clear == NULL) {
            *why = "CRAM-MD5 needs a clear-text password";
            return VLOGIN_NO;
        }
        if (!vpass_cram_ok(clear, in->pass, in->third)) {
            *why = "wrong password";
            return VLOGIN_NO;
        }
    } else {
        if (in->pass[0] == '\0') {
            *why = "empty password";
            return VLOGIN_NO;
        }
        r = vpass_check(in->pass, pw->passwd);
        if (r == -1) {
            *why = "out of memory";
            return VLOGIN_TEMP;
        }
        if (r == 0 && s == VLOGIN_SMTP && clear && in->third &&
            is_digest(in->pass) && is_chal(in->third) &&
            vpass_cram_ok(clear, in->third, in->pass)) {
            *mech = "CRAM-MD5";
            r = 1;
        }
        /* qmail-popup's APOP: user, digest, the greeting's timestamp */
        if (r == 0 && s != VLOGIN_SMTP && clear && in->third &&
            is_digest(in->pass) && is_chal(in->third) &&
            vpass_apop_ok(clear, in->third, in->pass)) {
            *mech = "APOP";
            r = 1;
        }
        if (r == 0) {
            *why = vpass_hash_known(pw->passwd) ? "wrong password"
                                                : "unsupported password hash";
            return VLOGIN_NO;
        }
    }
    if (!vlogin_allowed(pw, s)) {
        *why = s == VLOGIN_SMTP   ? "smtp access denied"
               : s == VLOGIN_POP3 ? "pop access denied"
               : s == VLOGIN_IMAP ? "imap access denied"
                                  : "webmail access denied";
        return VLOGIN_NO;
    }
    return VLOGIN_OK;
}
