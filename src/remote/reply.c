/* SPDX-License-Identifier: ISC */
/*
 * reply - the SMTP reply push parser (see reply.h).
 */
#include <string.h>

#include "reply.h"

/* reply_init - an empty parser. */
void
reply_init(struct reply *r)
{
    memset(r, 0, sizeof *r);
}

/* reply_reset - ready for the next reply; keeps the memory. */
void
reply_reset(struct reply *r)
{
    r->code = 0;
    r->nlines = 0;
    r->total = 0;
    r->err = NULL;
    r->done = false;
    bstr_truncate(&r->text, 0);
    bstr_truncate(&r->lines, 0);
    bstr_truncate(&r->line, 0);
}

void
reply_free(struct reply *r)
{
    bstr_free(&r->text);
    bstr_free(&r->lines);
    bstr_free(&r->line);
}

/* keep - add a finished line to the text for people, sanitized, capped. */
static int
keep(struct reply *r, const char *s, size_t len)
{
    size_t room;

    if (r->text.len >= REPLY_TEXT_MAX)
        return 0;
    room = REPLY_TEXT_MAX - r->text.len - 1;
    if (len > room)
        len = room;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (bstr_catc(&r->text, (c < 0x20 || c == 0x7f) ? '?' : (char)c))
            return -1;
    }
    return bstr_catc(&r->text, '\n');
}

/*
 * line_done - check one complete line (without its line end) and add it.
 * Returns REPLY_MORE (a continuation), REPLY_DONE, REPLY_BAD, REPLY_NOMEM.
 */
static int
line_done(struct reply *r)
{
    const char *s = r->line.s ? r->line.s : "";
    size_t len = r->line.len;
    unsigned code;
    bool last;

    if (len && s[len - 1] == '\r')
        len--;
    if (len < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '9' ||
        s[2] < '0' || s[2] > '9' || (len > 3 && s[3] != ' ' && s[3] != '-')) {
        r->err = "a malformed reply";
        return REPLY_BAD;
    }
    code = (unsigned)(s[0] - '0') * 100 + (unsigned)(s[1] - '0') * 10 +
           (unsigned)(s[2] - '0');
    if (r->nlines && code != r->code) {
        r->err = "a multi-line reply with different codes";
        return REPLY_BAD;
    }
    r->code = code;
    last = len == 3 || s[3] == ' ';
    if (++r->nlines > REPLY_LINES_MAX) {
        r->err = "a reply of more than 200 lines";
        return REPLY_BAD;
    }
    if (keep(r, s, len) == -1)
        return REPLY_NOMEM;
    if (r->lines.len < REPLY_BYTES_MAX) {
        size_t off = len > 4 ? 4 : len;

        if (bstr_catb(&r->lines, s + off, len - off) == -1 ||
            bstr_catc(&r->lines, '\0') == -1)
            return REPLY_NOMEM;
    }
    bstr_truncate(&r->line, 0);
    if (last) {
        r->done = true;
        return REPLY_DONE;
    }
    return REPLY_MORE;
}

/*
 * reply_push - feed len bytes; *used says how many were consumed.
 * REPLY_MORE: all used, the reply is not complete.  REPLY_DONE: one reply
 * is complete (bytes after it are left unused; call reply_reset before
 * the next).  REPLY_BAD: r->err says why; the stream is unusable.
 */
int
reply_push(struct reply *r, const char *buf, size_t len, size_t *used)
{
    size_t off = 0;

    *used = 0;
    if (r->done || r->err)
        return r->err ? REPLY_BAD : REPLY_DONE;
    while (off < len) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
        int ev;

        if (memchr(buf + off, '\0', n)) {
            r->err = "a NUL byte in a reply";
            *used = off;
            return REPLY_BAD;
        }
        if (r->line.len + n > REPLY_LINE_MAX + 1) { /* +1: its CR */
            r->err = "a reply line over 1000 bytes";
            *used = off;
            return REPLY_BAD;
        }
        if (r->total + n + 1 > REPLY_BYTES_MAX) {
            r->err = "a reply of more than 65536 bytes";
            *used = off;
            return REPLY_BAD;
        }
        if (bstr_catb(&r->line, buf + off, n) == -1)
            return REPLY_NOMEM;
        r->total += n + (nl ? 1 : 0);
        off += n + (nl ? 1 : 0);
        *used = off;
        if (!nl)
            return REPLY_MORE;
        ev = line_done(r);
        if (ev != REPLY_MORE)
            return ev;
    }
    return REPLY_MORE;
}

/* reply_line_next - iterate the lines' texts: pass NULL first. */
const char *
reply_line_next(const struct reply *r, const char *prev)
{
    const char *p;

    if (!r->lines.s || r->lines.len == 0)
        return NULL;
    if (!prev)
        return r->lines.s;
    p = prev + strlen(prev) + 1;
    return p < r->lines.s + r->lines.len ? p : NULL;
}
