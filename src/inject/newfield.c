/* SPDX-License-Identifier: ISC */
/*
 * newfield - the text of fields qmail-inject, predate and mailsubj
 * write themselves: Date in the local time zone (RFC 5322 §3.3; qmail
 * wrote GMT, datemail existed to get local time), a Message-ID that is
 * unique without coordination, and names and subjects.  Printable ASCII
 * is quoted as RFC 5322 wants; UTF-8 becomes RFC 2047 encoded-words so
 * that 7-bit readers see it right.  Control characters are the caller's
 * to refuse (inject_text_ok) and are never written.
 */
#include <string.h>

#include "addr.h"
#include "inject.h"

static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                "Thu", "Fri", "Sat"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/*
 * inject_date - append t as "Tue, 30 Jul 1996 13:54:54 +0200" in the
 * local time zone (TZ).  Returns 0 or -1.
 */
int
inject_date(struct bstr *out, time_t t)
{
    struct tm tm;
    long off, a;

    if (!localtime_r(&t, &tm)) {
        if (!gmtime_r(&t, &tm))
            return -1;
        tm.tm_gmtoff = 0;
    }
    off = tm.tm_gmtoff;
    a = off < 0 ? -off : off;
    return bstr_catf(out, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
                     days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     off < 0 ? '-' : '+', a / 3600, (a % 3600) / 60);
}

/*
 * inject_msgid - append "<YYYYMMDDHHMMSS.PID.RANDOM.qmail@idhost>": the
 * time (UTC) and process id make it unique on this host, as qmail's did;
 * 32 random bits cover a process id reused within a second.
 */
int
inject_msgid(struct bstr *out, const struct inject_stamp *st,
             const char *idhost, size_t len)
{
    struct tm tm;

    if (!gmtime_r(&st->now, &tm))
        return -1;
    if (bstr_catf(out, "<%04d%02d%02d%02d%02d%02d.%ld.%08lx.qmail@",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec, st->pid,
                  st->rnd & 0xffffffffUL) == -1 ||
        bstr_catb(out, idhost, len) == -1 || bstr_catc(out, '>') == -1)
        return -1;
    return 0;
}

static bool
printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 32 || (unsigned char)*s > 126)
            return false;
    return true;
}

static bool
utf8(const char *s)
{
    size_t len = strlen(s);

    for (size_t i = 0; i < len;) {
        size_t n = addr_utf8_valid(s + i, len - i);

        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/*
 * encoded - append s as RFC 2047 encoded-words ("=?UTF-8?B?...?="), each
 * at most 75 bytes and holding whole characters, separated by folding
 * white space.
 */
static int
encoded(struct bstr *out, const char *s)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(s), i = 0;

    while (i < len) {
        size_t n = 0;

        /* 45 bytes make 60 base64 characters: 72 with the wrapping */
        while (i + n < len) {
            size_t c = addr_utf8_valid(s + i + n, len - i - n);

            if (c == 0)
                c = 1;
            if (n + c > 45)
                break;
            n += c;
        }
        if (i && bstr_cats(out, "\n ") == -1)
            return -1;
        if (bstr_cats(out, "=?UTF-8?B?") == -1)
            return -1;
        for (size_t k = 0; k < n; k += 3) {
            const unsigned char *u = (const unsigned char *)s + i + k;
            unsigned long v = (unsigned long)u[0] << 16;
            char q[4];

            if (k + 1 < n)
                v |= (unsigned long)u[1] << 8;
            if (k + 2 < n)
                v |= u[2];
            q[0] = b64[(v >> 18) & 63];
            q[1] = b64[(v >> 12) & 63];
            q[2] = k + 1 < n ? b64[(v >> 6) & 63] : '=';
            q[3] = k + 2 < n ? b64[v & 63] : '=';
            if (bstr_catb(out, q, 4) == -1)
                return -1;
        }
        if (bstr_cats(out, "?=") == -1)
            return -1;
        i += n;
    }
    return 0;
}

static int
escaped(struct bstr *out, const char *s, const char *special, char open,
        char close)
{
    if (bstr_catc(out, open) == -1)
        return -1;
    for (; *s; s++)
        if ((strchr(special, *s) && bstr_catc(out, '\\') == -1) ||
            bstr_catc(out, *s) == -1)
            return -1;
    return bstr_catc(out, close);
}

/*
 * inject_phrase - append a display name: a quoted string ("Joe \"J\"
 * Smith"), or encoded-words when it is UTF-8 beyond ASCII.  Other 8-bit
 * text (no charset known) is quoted as it is.  Returns 0 or -1.
 */
int
inject_phrase(struct bstr *out, const char *name)
{
    if (!printable(name) && utf8(name))
        return encoded(out, name);
    return escaped(out, name, "\"\\", '"', '"');
}

/* inject_comment - append a name as a comment: "(Joe Smith)". */
int
inject_comment(struct bstr *out, const char *name)
{
    if (!printable(name) && utf8(name)) {
        if (bstr_catc(out, '(') == -1 || encoded(out, name) == -1)
            return -1;
        return bstr_catc(out, ')');
    }
    return escaped(out, name, "()\\", '(', ')');
}

/*
 * inject_text - append unstructured text (a Subject): as it is when
 * ASCII, as encoded-words when UTF-8.  Returns 0 or -1.
 */
int
inject_text(struct bstr *out, const char *text)
{
    if (!printable(text) && utf8(text))
        return encoded(out, text);
    return bstr_cats(out, text);
}
