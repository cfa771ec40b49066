/* SPDX-License-Identifier: ISC */
/*
 * header - the header push parser (see header.h).
 *
 * A field is known to be complete only when the first byte of the next
 * line is seen and is not a blank (RFC 5322 §2.2.3 folding), so the
 * parser reports a field without consuming that byte; the next call
 * starts the new line with it.  The name of a field is decided on its
 * first line (qmail's hfield_valid): printable ASCII other than ':',
 * optionally followed by blanks, then ':'.
 */
#include <errno.h>
#include <string.h>

#include "header.h"

enum {
    ST_START,    /* at the start of a line, no field in progress */
    ST_NAME,     /* first line, before the colon */
    ST_NAMEWS,   /* blanks between the name and the colon */
    ST_VALUE,    /* inside a line of the field */
    ST_NL,       /* after a line of the field: folded or done? */
    ST_REPORTED, /* a field was reported; clear it before going on */
    ST_DONE      /* the end was reported */
};

/* The private part of the state: whether the field is a "From " line. */
#define MBOX_FLAG 0x100

/* header_init - a parser that holds at most max bytes of header. */
void
header_init(struct header *h, size_t max)
{
    struct bstr empty = BSTR_INIT;

    h->state = ST_START;
    h->max = max;
    h->total = 0;
    h->field = empty;
    h->namelen = 0;
    h->value = 0;
    h->end = HEADER_END_EOF;
}

static int
take(struct header *h, const char *p, size_t n)
{
    if (n > h->max - h->total) {
        errno = EMSGSIZE;
        return -1;
    }
    if (bstr_catb(&h->field, p, n) == -1)
        return -1;
    h->total += n;
    return 0;
}

static int
field_event(struct header *h)
{
    int mbox = h->state & MBOX_FLAG;

    h->state = ST_REPORTED;
    return mbox ? HEADER_MBOX : HEADER_FIELD;
}

/*
 * header_feed - consume bytes of p[0..n) until an event is ready.
 * Returns the event with *used set to the bytes consumed (all of them
 * with HEADER_MORE), or -1 with errno: EMSGSIZE past the cap, ENOMEM,
 * EINVAL when called again after HEADER_END (the rest is body).
 */
int
header_feed(struct header *h, const char *p, size_t n, size_t *used)
{
    size_t i = 0;
    int mbox;

    *used = 0;
    if (h->state == ST_DONE) {
        errno = EINVAL;
        return -1;
    }
    if (h->state == ST_REPORTED) {
        bstr_truncate(&h->field, 0);
        h->state = ST_START;
    }
    mbox = h->state & MBOX_FLAG;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        const char *nl;
        size_t k;

        switch (h->state & ~MBOX_FLAG) {
        case ST_START:
            if (c == '\n') {
                if (h->total == h->max) {
                    errno = EMSGSIZE;
                    return -1;
                }
                h->total++;
                *used = i + 1;
                h->state = ST_DONE;
                h->end = HEADER_END_BLANK;
                return HEADER_END;
            }
            h->state = ST_NAME;
            h->namelen = h->value = 0;
            break;
        case ST_NAME:
            if (c == ':' && h->field.len) {
                h->namelen = h->field.len;
                h->state = ST_VALUE;
            } else if (c == ' ' && bstr_equals(&h->field, "From")) {
                /* an mbox separator: qmail keeps it as MBOX-Line: */
                mbox = MBOX_FLAG;
                h->state = ST_VALUE | MBOX_FLAG;
            } else if ((c == ' ' || c == '\t') && h->field.len) {
                h->namelen = h->field.len;
                h->state = ST_NAMEWS;
            } else if (c <= 32 || c >= 127 || c == ':') {
                goto body;
            }
            if (take(h, p + i, 1) == -1)
                return -1;
            if (h->state == ST_VALUE)
                h->value = h->field.len;
            i++;
            break;
        case ST_NAMEWS:
            if (c == ':')
                h->state = ST_VALUE;
            else if (c != ' ' && c != '\t')
                goto body;
            if (take(h, p + i, 1) == -1)
                return -1;
            if (h->state == ST_VALUE)
                h->value = h->field.len;
            i++;
            break;
        case ST_VALUE:
            nl = memchr(p + i, '\n', n - i);
            k = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
            if (take(h, p + i, k) == -1)
                return -1;
            i += k;
            if (nl)
                h->state = ST_NL | mbox;
            break;
        case ST_NL:
            if (c == ' ' || c == '\t') {
                h->state = ST_VALUE | mbox;
                break;
            }
            *used = i;
            return field_event(h);
        default:
            errno = EINVAL;
            return -1;
        }
    }
    *used = n;
    return HEADER_MORE;
body:
    /* Not a field: the header is over and this line belongs to the
     * body; what was collected of it stays in h->field. */
    *used = i;
    h->state = ST_DONE;
    h->end = HEADER_END_BODY;
    return HEADER_END;
}

/*
 * header_eof - the input has ended.  Returns the last field's event (a
 * final line without LF gets one, as qmail's getln did), then
 * HEADER_END on the next call; -1 with errno EINVAL after the end.
 */
int
header_eof(struct header *h)
{
    switch (h->state & ~MBOX_FLAG) {
    case ST_REPORTED:
        bstr_truncate(&h->field, 0);
        /* fall through */
    case ST_START:
        h->state = ST_DONE;
        h->end = HEADER_END_EOF;
        return HEADER_END;
    case ST_NAME:
    case ST_NAMEWS:
        h->state = ST_DONE;
        h->end = HEADER_END_BODY;
        return HEADER_END;
    case ST_VALUE:
        if (bstr_catc(&h->field, '\n') == -1)
            return -1;
        h->total++;
        return field_event(h);
    case ST_NL:
        return field_event(h);
    default:
        errno = EINVAL;
        return -1;
    }
}

/* header_name_is - the reported field's name is name, ignoring case. */
bool
header_name_is(const struct header *h, const char *name)
{
    size_t n = strlen(name);

    return h->namelen == n && strncasecmp(h->field.s, name, n) == 0;
}

/* header_free - release the field buffer; h may be initialised again. */
void
header_free(struct header *h)
{
    bstr_free(&h->field);
}
