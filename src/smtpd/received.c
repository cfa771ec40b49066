/* SPDX-License-Identifier: ISC */
/*
 * received - the Received: line qmail-smtpd puts on every message:
 *
 *   Received: from REMOTEHOST (HELO helo) (REMOTEINFO@REMOTEIP)
 *     by LOCAL with SMTP; DATE
 *
 * ("with ESMTPSA (TLSv1.3 CIPHER encrypted)" after STARTTLS and AUTH)
 *
 * in qmail-1.03's exact form, which admins and their scripts read.  Every
 * field comes from the client or its DNS, so every field is made safe:
 * bytes outside a conservative set (and parentheses, which would let a
 * HELO close the comment and forge the rest) become '?', and each field
 * is capped at SMTPD_FIELD_MAX bytes.  No header can be injected.
 */
#include <strings.h>

#include "datetime.h"
#include "smtpd.h"

static bool
safe_char(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '.':
    case '-':
    case '_':
    case ':':
    case '@':
    case '[':
    case ']':
    case '+':
    case '=':
    case '/':
    case '%':
        return true;
    default:
        return false;
    }
}

/*
 * smtpd_safe_cat - append at most max bytes of s, each byte outside the
 * safe set replaced by '?'.  Returns 0 or -1 (no memory).
 */
int
smtpd_safe_cat(struct bstr *out, const char *s, size_t max)
{
    for (size_t i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];

        if (bstr_catc(out, safe_char(c) ? (char)c : '?') == -1)
            return -1;
    }
    return 0;
}

/*
 * cat_protocol - qmail-1.03's "SMTP" (it says so after EHLO too), or
 * RFC 3848's ESMTPS/ESMTPA/ESMTPSA once TLS or AUTH was used (RFC 6531's
 * UTF8SMTP family with SMTPUTF8), then the TLS protocol and cipher in a
 * comment as the qmail TLS patch gave the cipher: "(TLSv1.3
 * TLS_AES_256_GCM_SHA384 encrypted)".  The names are OpenSSL's, made
 * safe like every other field.
 */
static int
cat_protocol(struct bstr *out, const struct smtpd_trace *t)
{
    if (bstr_cats(out, t->utf8                ? "UTF8SMTP"
                       : t->tls || t->auth ? "ESMTP"
                                           : "SMTP") == -1 ||
        (t->tls && bstr_catc(out, 'S') == -1) ||
        (t->auth && bstr_catc(out, 'A') == -1))
        return -1;
    if (!t->tls)
        return 0;
    if (bstr_cats(out, " (") == -1)
        return -1;
    for (const char *p = t->tls; *p; p++)
        if (bstr_catc(out, *p == ' ' || safe_char((unsigned char)*p)
                               ? *p
                               : '?') == -1)
            return -1;
    return bstr_cats(out, " encrypted)");
}

/*
 * smtpd_received - append the Received line for a message arriving now.
 * Returns 0 or -1 (no memory).
 */
int
smtpd_received(struct bstr *out, const struct smtpd_trace *t, time_t now)
{
    if (bstr_cats(out, "Received: from ") == -1 ||
        smtpd_safe_cat(out, t->remotehost, SMTPD_FIELD_MAX) == -1)
        return -1;
    /* qmail shows the HELO name only when it tells something new. */
    if (t->helo && strcasecmp(t->helo, t->remotehost) != 0) {
        if (bstr_cats(out, " (HELO ") == -1 ||
            smtpd_safe_cat(out, t->helo, SMTPD_FIELD_MAX) == -1 ||
            bstr_catc(out, ')') == -1)
            return -1;
    }
    if (bstr_cats(out, " (") == -1)
        return -1;
    if (t->remoteinfo) {
        if (smtpd_safe_cat(out, t->remoteinfo, SMTPD_FIELD_MAX) == -1 ||
            bstr_catc(out, '@') == -1)
            return -1;
    }
    if (smtpd_safe_cat(out, t->remoteip, SMTPD_FIELD_MAX) == -1 ||
        bstr_cats(out, ")\n  by ") == -1 ||
        smtpd_safe_cat(out, t->local, SMTPD_FIELD_MAX) == -1 ||
        bstr_cats(out, " with ") == -1 || cat_protocol(out, t) == -1 ||
        bstr_cats(out, "; ") == -1 || date822_cat(out, now) == -1 ||
        bstr_catc(out, '\n') == -1)
        return -1;
    return 0;
}
