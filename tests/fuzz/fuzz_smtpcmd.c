/* SPDX-License-Identifier: ISC */
/*
 * fuzz_smtpcmd - qmail-smtpd's command-line parser and the MAIL, RCPT
 * and BDAT argument parsers, on one line of arbitrary bytes.  Checks:
 * the argument lies inside the line, refused lines hold a NUL, CR or LF
 * or are too long, and an accepted address is bounded, free of control
 * characters and ASCII unless SMTPUTF8 allowed otherwise.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "../../src/smtpd/smtpd.h" /* scripts/fuzz has only -Isrc/lib */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_addr(const struct bstr *a, bool utf8)
{
    if (a->len > ADDR_MAX)
        abort();
    for (size_t i = 0; i < a->len; i++) {
        unsigned char c = (unsigned char)a->s[i];
        if (c < 32 || c == 127)
            abort();
    }
    if (!utf8 && !addr_is_ascii(a->s, a->len))
        abort();
    for (size_t i = 0; i < a->len;) {
        size_t n = addr_utf8_valid(a->s + i, a->len - i);
        if (n == 0)
            abort();
        i += n;
    }
}

static void
args(const char *arg, size_t len)
{
    static struct smtpd_mail_arg m;
    static struct bstr r;
    unsigned long long n;
    bool last;

    if (smtpd_parse_mail(arg, len, &m) == OC_OK)
        check_addr(&m.addr, m.utf8);
    for (int utf8 = 0; utf8 < 2; utf8++)
        if (smtpd_parse_rcpt(arg, len, utf8, &r) == OC_OK) {
            check_addr(&r, utf8);
            if (r.len == 0)
                abort(); /* "<>" is never a recipient */
        }
    if (smtpd_parse_bdat(arg, len, &n, &last) == 0 &&
        (len == 0 || arg[0] < '0' || arg[0] > '9'))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    struct smtpd_cmd c;
    enum reason r = smtpd_cmd_parse(line, size, &c);

    if (r == OC_OK) {
        if (c.arglen && (c.arg < line || c.arg + c.arglen > line + size))
            abort();
        if (memchr(c.arg, '\r', c.arglen) || memchr(c.arg, '\0', c.arglen))
            abort();
        args(c.arg, c.arglen);
    } else if (r != OC_BADCMD && r != OC_LONGCMD) {
        abort();
    }
    args(line, size); /* the argument parsers alone, on anything */
    return 0;
}
