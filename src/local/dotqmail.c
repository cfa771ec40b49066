/* SPDX-License-Identifier: ISC */
/*
 * dotqmail - the .qmail parser and the extension search (see dotqmail.h).
 *
 * Line rules are dot-qmail(5)'s: '#' comment, '|' program, '.' or '/'
 * file (a trailing '/' makes it a maildir), '&' forward, '+list' turns
 * the rest of the file forward-only, other '+' lines are ignored, and
 * anything else is a forward address.  Trailing spaces and tabs are
 * dropped (and a CR, for files edited elsewhere); blank lines are
 * allowed except as the first line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dotqmail.h"
#include "grow.h"

/* dotqmail_init - an empty instruction list. */
void
dotqmail_init(struct dotqmail *d)
{
    struct bstr empty = BSTR_INIT;

    d->v = NULL;
    d->n = d->cap = 0;
    d->args = empty;
}

/* dotqmail_free - release the list; it is empty again afterwards. */
void
dotqmail_free(struct dotqmail *d)
{
    free(d->v);
    bstr_free(&d->args);
    dotqmail_init(d);
}

/* dotqmail_arg - the i-th instruction's argument, NUL-terminated. */
const char *
dotqmail_arg(const struct dotqmail *d, size_t i)
{
    return d->args.s + d->v[i].off;
}

/* dotqmail_strerror - words for a refusal, without the enhanced code. */
const char *
dotqmail_strerror(enum dq_error code)
{
    switch (code) {
    case DQ_E_NONE:
        return "no error";
    case DQ_E_FIRSTBLANK:
        return "first line of .qmail file is blank";
    case DQ_E_PROG_XBIT:
        return ".qmail has prog delivery but has x bit set";
    case DQ_E_FILE_XBIT:
        return ".qmail has file delivery but has x bit set";
    case DQ_E_NUL:
        return "line contains a NUL byte";
    case DQ_E_CONTROL:
        return "line contains a control character";
    case DQ_E_LONG:
        return "line is too long";
    case DQ_E_SPACE:
        return "line begins with white space";
    case DQ_E_EMPTYPROG:
        return "program line names no program";
    case DQ_E_EMPTYADDR:
        return "forward line names no address";
    case DQ_E_BADADDR:
        return "forward address is malformed";
    case DQ_E_TOOBIG:
        return "file is too big";
    }
    return "unknown error";
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * dotqmail_addr_ok - is this a forward address qmail-queue may get?  No
 * white space or control characters, none of "<>()," (a line copied from
 * a mail header), a local part and a domain around the last '@' when
 * there is one, and the queue's length limit.
 */
bool
dotqmail_addr_ok(const char *a, size_t len)
{
    size_t at = len;

    if (len == 0 || len > DOTQMAIL_ADDR_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)a[i];

        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '(' ||
            c == ')' || c == ',')
            return false;
        if (c == '@')
            at = i;
    }
    if (at < len && (at == 0 || at + 1 == len))
        return false;
    return true;
}

static int
add(struct dotqmail *d, enum dq_kind kind, unsigned line, const char *arg,
    size_t len)
{
    struct dq_instr *in;

    if (grow(&d->v, &d->cap, d->n + 1, sizeof *d->v, 8) == -1)
        return -1;
    in = &d->v[d->n];
    in->kind = kind;
    in->line = line;
    in->off = d->args.len;
    in->len = len;
    if (bstr_catb(&d->args, arg, len) == -1 || bstr_catc(&d->args, '\0') ==
                                                   -1)
        return -1;
    d->n++;
    return 0;
}

/* check_line - refusals common to every instruction: 0 or an error. */
static enum dq_error
check_line(const char *l, size_t n)
{
    if (memchr(l, '\0', n))
        return DQ_E_NUL;
    if (n > DOTQMAIL_LINE_MAX)
        return DQ_E_LONG;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return DQ_E_CONTROL;
    }
    if (is_space(l[0]))
        return DQ_E_SPACE;
    return DQ_E_NONE;
}

/* one_line - a line without its newline and trailing blanks. */
static int
one_line(struct dotqmail *d, const char *l, size_t n, unsigned line,
         bool *forwardonly, struct dq_err *err)
{
    enum dq_error e;

    if (n == 0) {
        if (line == 1) {
            err->code = DQ_E_FIRSTBLANK;
            goto bad;
        }
        return 0;
    }
    if (l[0] == '#')
        return 0;
    if ((e = check_line(l, n)) != DQ_E_NONE) {
        err->code = e;
        goto bad;
    }
    switch (l[0]) {
    case '|': {
        bool any = false;

        for (size_t i = 1; i < n; i++)
            any |= !is_space(l[i]);
        if (!any) {
            err->code = DQ_E_EMPTYPROG;
            goto bad;
        }
        if (*forwardonly) {
            err->code = DQ_E_PROG_XBIT;
            goto bad;
        }
        return add(d, DQ_PROGRAM, line, l + 1, n - 1);
    }
    case '.':
    case '/':
        if (*forwardonly) {
            err->code = DQ_E_FILE_XBIT;
            goto bad;
        }
        return add(d, l[n - 1] == '/' ? DQ_MAILDIR : DQ_MBOX, line, l, n);
    case '+':
        if (n == 5 && memcmp(l, "+list", 5) == 0)
            *forwardonly = true;
        return 0; /* other '+' lines: reserved, ignored as qmail does */
    case '&':
        l++;
        n--;
        if (n == 0) {
            err->code = DQ_E_EMPTYADDR;
            goto bad;
        }
        break;
    default:
        break;
    }
    if (!dotqmail_addr_ok(l, n)) {
        err->code = DQ_E_BADADDR;
        goto bad;
    }
    return add(d, DQ_FORWARD, line, l, n);
bad:
    err->line = line;
    errno = EINVAL;
    return -1;
}

/*
 * dotqmail_parse - read a .qmail text into d (which must be empty).
 * forwardonly: the file's x bit is set, so program and file lines are
 * refused.  Returns 0; or -1 with errno EINVAL and *err saying which line
 * and why; or -1 with errno ENOMEM.
 */
int
dotqmail_parse(struct dotqmail *d, const char *text, size_t len,
               bool forwardonly, struct dq_err *err)
{
    unsigned line = 0;
    size_t pos = 0;

    err->code = DQ_E_NONE;
    err->line = 0;
    if (len > DOTQMAIL_FILE_MAX) {
        err->code = DQ_E_TOOBIG;
        errno = EINVAL;
        return -1;
    }
    while (pos < len) {
        const char *l = text + pos;
        const char *nl = memchr(l, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - l) : len - pos;

        pos += n + (nl != NULL);
        line++;
        while (n > 0 && (is_space(l[n - 1]) || l[n - 1] == '\r'))
            n--;
        if (one_line(d, l, n, line, &forwardonly, err) == -1)
            return -1;
    }
    return 0;
}

/*
 * dotqmail_safeext - ext as qmail looks it up: lowercase, with every dot
 * turned into a colon so that no extension can climb out of the home
 * directory with "..".  Returns 0 or -1.
 */
int
dotqmail_safeext(struct bstr *out, const char *ext, size_t len)
{
    if (bstr_copyb(out, ext, len) == -1)
        return -1;
    for (size_t i = 0; i < out->len; i++) {
        char c = out->s[i];

        if (c == '.')
            out->s[i] = ':';
        else if (c >= 'A' && c <= 'Z')
            out->s[i] = (char)(c - 'A' + 'a');
    }
    return 0;
}

/* dotqmail_search_init - start the file search for dash and a safe ext. */
void
dotqmail_search_init(struct dq_search *s, const char *dash,
                     const char *safeext, size_t len)
{
    s->dash = dash;
    s->ext = safeext;
    s->len = len;
    s->i = len;
    s->state = 0;
}

/*
 * dotqmail_search_next - the next file name to try: first
 * ".qmail<dash><ext>", then ".qmail<dash><prefix>default" for each
 * prefix of ext that is empty or ends in '-', longest first.  *defpos is
 * where $DEFAULT starts in ext, or (size_t)-1 when the name is not a
 * -default file.  Returns 1 with a name, 0 when the list is done, -1.
 */
int
dotqmail_search_next(struct dq_search *s, struct bstr *name, size_t *defpos)
{
    if (s->state == 0) {
        s->state = 1;
        if (bstr_copys(name, ".qmail") == -1 || bstr_cats(name, s->dash) ==
                                                    -1 ||
            bstr_catb(name, s->ext, s->len) == -1)
            return -1;
        *defpos = (size_t)-1;
        if (s->len >= 7 && memcmp(s->ext + s->len - 7, "default", 7) == 0)
            *defpos = s->len - 7;
        return 1;
    }
    while (s->state == 1) {
        size_t i = s->i;
        bool here = i == 0 || s->ext[i - 1] == '-';

        if (i == 0)
            s->state = 2;
        else
            s->i--;
        if (!here)
            continue;
        if (bstr_copys(name, ".qmail") == -1 || bstr_cats(name, s->dash) ==
                                                    -1 ||
            bstr_catb(name, s->ext, i) == -1 ||
            bstr_cats(name, "default") == -1)
            return -1;
        *defpos = i;
        return 1;
    }
    return 0;
}
