/* SPDX-License-Identifier: ISC */
/*
 * headeraddr - address lists (see headeraddr.h).
 *
 * Three passes over one field value: unfold (drop the line breaks of
 * folding), tokenise (atoms, quoted strings, domain literals, comments,
 * and the specials < > @ , ; : .), then parse left to right.  A list is
 * split at commas outside <...> into units; a unit holding a colon
 * before any "<" opens a group.  Inside a unit, everything before a "<"
 * is the display name; without "<", two words in a row (comments do not
 * count) start a new address, which is how qmail reads old-style lists
 * ("djb fred" is "djb, fred").  Every loop is iterative: a hostile list
 * of a million words costs memory linear in its size, never stack.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "headeraddr.h"

enum { T_ATOM = 'a', T_QUOTED = 'q', T_LITERAL = 'l', T_COMMENT = 'c' };
#define NONE SIZE_MAX

struct tok {
    unsigned char type; /* T_* or the special character itself */
    bool ws;            /* blanks came before it */
    uint32_t off, len;  /* raw text in the unfolded value */
    uint32_t voff, vlen; /* decoded value in ctx.val */
};

struct ctx {
    struct bstr u;   /* the unfolded value */
    struct tok *t;
    size_t n, cap;
    struct bstr val; /* decoded token values */
    size_t *idx;     /* scratch: the address tokens of one mailbox */
    size_t nidx, capidx;
    headeraddr_fn fn;
    void *fnctx;
    struct bstr *out;
    size_t col;
    bool sep;         /* an element precedes at this level */
    bool aftercolon;  /* a group was just opened */
    struct bstr piece;
    struct headeraddr a;
    const char *why;
};

static int
fail(struct ctx *c, const char *why)
{
    c->why = why;
    errno = EINVAL;
    return -1;
}

static bool
is_ctl(unsigned char ch)
{
    return (ch < 32 && ch != '\t') || ch == 127;
}

static bool
is_special(unsigned char ch)
{
    return ch && strchr("()<>@,;:\\\".[]", ch) != NULL;
}

static bool
is_atext(unsigned char ch)
{
    return ch != ' ' && ch != '\t' && !is_ctl(ch) && !is_special(ch);
}

/* ---- tokens --------------------------------------------------------- */

static int
push(struct ctx *c, unsigned char type, bool ws, size_t off, size_t len,
     size_t voff)
{
    if (grow(&c->t, &c->cap, c->n + 1, sizeof *c->t, 64) == -1)
        return -1;
    c->t[c->n].type = type;
    c->t[c->n].ws = ws;
    c->t[c->n].off = (uint32_t)off;
    c->t[c->n].len = (uint32_t)len;
    c->t[c->n].voff = (uint32_t)voff;
    c->t[c->n].vlen = (uint32_t)(c->val.len - voff);
    c->n++;
    return 0;
}

/*
 * delimited - a quoted string, comment or domain literal starting at
 * u[i]; its content, quoted pairs resolved, goes to c->val.  Returns the
 * index just past it, or NONE.
 */
static size_t
delimited(struct ctx *c, size_t i, char close)
{
    const unsigned char *u = (const unsigned char *)c->u.s;
    size_t depth = 1;

    for (i++;; i++) {
        unsigned char ch;

        if (i >= c->u.len) {
            fail(c, close == '"'   ? "a quoted string without its \""
                    : close == ')' ? "a comment without its )"
                                   : "a domain literal without its ]");
            return NONE;
        }
        ch = u[i];
        if (close == ']' && (ch == ' ' || ch == '\t'))
            continue; /* blanks in a literal mean nothing (RFC 5322) */
        if (close == ']' && ch == '\\') {
            fail(c, "a backslash in a domain literal");
            return NONE;
        }
        if (ch == '\\') {
            if (i + 1 >= c->u.len || is_ctl(u[i + 1])) {
                fail(c, "a backslash at the end or before a control "
                        "character");
                return NONE;
            }
            ch = u[++i];
        } else if (is_ctl(ch)) {
            fail(c, "a control character");
            return NONE;
        } else if (ch == (unsigned char)close) {
            if (--depth == 0)
                return i + 1;
        } else if (close == ')' && ch == '(') {
            depth++;
        } else if (close == ']' && ch == '[') {
            fail(c, "\"[\" inside a domain literal");
            return NONE;
        }
        if (bstr_catc(&c->val, (char)ch) == -1)
            return NONE;
    }
}

static int
tokenise(struct ctx *c)
{
    const unsigned char *u = (const unsigned char *)c->u.s;
    size_t i = 0;
    bool ws = false;

    while (i < c->u.len) {
        unsigned char ch = u[i];
        size_t voff = c->val.len, start = i;
        unsigned char type;

        if (ch == ' ' || ch == '\t') {
            ws = true;
            i++;
            continue;
        }
        if (ch == '"' || ch == '(' || ch == '[') {
            type = ch == '"' ? T_QUOTED : ch == '(' ? T_COMMENT : T_LITERAL;
            i = delimited(c, i, ch == '"' ? '"' : ch == '(' ? ')' : ']');
            if (i == NONE)
                return -1;
        } else if (ch == ')' || ch == ']') {
            return fail(c, ch == ')' ? "\")\" without \"(\""
                                     : "\"]\" without \"[\"");
        } else if (is_ctl(ch)) {
            return fail(c, "a control character");
        } else if (ch != '\\' && is_special(ch)) {
            type = ch;
            i++;
        } else {
            /* an atom; a backslash quotes the next byte (obsolete, but
             * qmail read it so) */
            type = T_ATOM;
            while (i < c->u.len && (is_atext(u[i]) || u[i] == '\\')) {
                if (u[i] == '\\') {
                    if (i + 1 >= c->u.len || is_ctl(u[i + 1]))
                        return fail(c, "a backslash at the end or before "
                                       "a control character");
                    i++;
                }
                if (bstr_catc(&c->val, (char)u[i]) == -1)
                    return -1;
                i++;
            }
        }
        if (push(c, type, ws, start, i - start, voff) == -1)
            return -1;
        ws = false;
    }
    return 0;
}

/* ---- rendering ------------------------------------------------------ */

static bool
wordish(unsigned char type)
{
    return type == T_ATOM || type == T_QUOTED || type == T_LITERAL ||
           type == T_COMMENT;
}

static int
raw(struct ctx *c, const struct tok *t)
{
    return bstr_catb(&c->piece, c->u.s + t->off, t->len);
}

/* phrase - tokens [i, j) as written, with the blanks that separated them
 * (a display name or a group's name). */
static int
phrase(struct ctx *c, size_t i, size_t j)
{
    for (size_t k = i; k < j; k++) {
        const struct tok *t = &c->t[k];

        if (k > i && (t->ws || (wordish(t->type) &&
                                wordish(c->t[k - 1].type))))
            if (bstr_catc(&c->piece, ' ') == -1)
                return -1;
        if (raw(c, t) == -1)
            return -1;
    }
    return 0;
}

/* elem - add c->piece to the output as one element of the list. */
static int
elem(struct ctx *c)
{
    int r = 0;

    if (!c->out)
        return 0;
    if (c->sep) {
        if (c->col > 2 && c->col + 2 + c->piece.len > HEADERADDR_LINE) {
            r = bstr_cats(c->out, ",\n  ");
            c->col = 2;
        } else {
            r = bstr_cats(c->out, ", ");
            c->col += 2;
        }
    } else if (c->aftercolon) {
        r = bstr_catc(c->out, ' ');
        c->col++;
    }
    if (r == -1 || bstr_catb(c->out, c->piece.s, c->piece.len) == -1)
        return -1;
    c->col += c->piece.len;
    c->sep = true;
    c->aftercolon = false;
    return 0;
}

/* ---- parsing -------------------------------------------------------- */

static int
addidx(struct ctx *c, size_t k)
{
    if (c->nidx == c->capidx) {
        size_t ncap = c->capidx ? c->capidx * 2 : 32;
        size_t *ni;

        if (ncap > SIZE_MAX / sizeof *ni) {
            errno = ENOMEM;
            return -1;
        }
        ni = realloc(c->idx, ncap * sizeof *ni);
        if (!ni) {
            errno = ENOMEM;
            return -1;
        }
        c->idx = ni;
        c->capidx = ncap;
    }
    c->idx[c->nidx++] = k;
    return 0;
}

static const struct tok *
at(const struct ctx *c, size_t k)
{
    return &c->t[c->idx[k]];
}

static int
catval(struct ctx *c, struct bstr *b, const struct tok *t)
{
    return bstr_catb(b, c->val.s + t->voff, t->vlen);
}

/*
 * addrspec - c->idx[0..nidx) (an address without its comments) into
 * c->a: the route dropped, a trailing "." then "@" dropped (qmail's
 * rwextradot/rwextraat), the local part and domain checked and joined.
 */
static int
addrspec(struct ctx *c, bool angle)
{
    size_t b = 0, e = c->nidx, atpos = NONE, words = 0;

    bstr_truncate(&c->a.local, 0);
    bstr_truncate(&c->a.domain, 0);
    c->a.null = false;
    c->a.angle = angle;
    c->a.why = NULL;
    if (angle && e && at(c, 0)->type == '@') {
        while (b < e && at(c, b)->type != ':')
            b++;
        if (b == e)
            return fail(c, "a source route without its \":\"");
        b++;
    }
    if (e > b && at(c, e - 1)->type == '.')
        e--;
    if (e > b && at(c, e - 1)->type == '@')
        e--;
    if (e == b) {
        if (!angle)
            return fail(c, "an empty address");
        c->a.null = true;
        return 0;
    }
    for (size_t k = b; k < e; k++) {
        if (at(c, k)->type != '@')
            continue;
        if (atpos != NONE)
            return fail(c, "more than one \"@\" in an address");
        atpos = k;
    }
    for (size_t k = b; k < (atpos == NONE ? e : atpos); k++) {
        const struct tok *t = at(c, k);
        int r;

        if (t->type == T_ATOM || t->type == T_QUOTED) {
            words++;
            r = catval(c, &c->a.local, t);
        } else if (t->type == '.')
            r = bstr_catc(&c->a.local, '.');
        else if (t->type == T_LITERAL)
            return fail(c, "a domain literal in a local part");
        else
            return fail(c, "a special character in an address");
        if (r == -1)
            return -1;
    }
    if (words == 0 || c->a.local.len == 0)
        return fail(c, "an empty local part");
    if (atpos == NONE)
        return 0;
    if (atpos + 2 == e && at(c, atpos + 1)->type == T_LITERAL) {
        const struct tok *t = at(c, atpos + 1);

        if (bstr_catc(&c->a.domain, '[') == -1 ||
            catval(c, &c->a.domain, t) == -1 ||
            bstr_catc(&c->a.domain, ']') == -1)
            return -1;
        return 0;
    }
    for (size_t k = atpos + 1; k < e; k++) {
        const struct tok *t = at(c, k);
        bool label = (k - atpos) % 2 == 1;

        /* a label is an atom as written: a backslash would hide a
         * special character that no rendering could show again */
        if (label ? t->type != T_ATOM || memchr(c->u.s + t->off, '\\',
                                                t->len)
                  : t->type != '.')
            return fail(c, "a bad domain");
        if ((label ? catval(c, &c->a.domain, t)
                   : bstr_catc(&c->a.domain, '.')) == -1)
            return -1;
    }
    if ((e - atpos) % 2 == 1)
        return fail(c, "a bad domain"); /* "a@b." was handled; "a@b.." */
    return 0;
}

/*
 * mailbox - one address: tokens [i, end), with "<" at lt and ">" at gt
 * (NONE for a bare address).  Comments inside the address or after it
 * are rendered after it; comments before a bare address stay before.
 */
static int
mailbox(struct ctx *c, size_t i, size_t lt, size_t gt, size_t end)
{
    size_t a0 = lt == NONE ? i : lt + 1, a1 = lt == NONE ? end : gt;
    size_t first = NONE;

    c->nidx = 0;
    for (size_t k = a0; k < a1; k++) {
        if (c->t[k].type == T_COMMENT)
            continue;
        if (first == NONE)
            first = k;
        if (addidx(c, k) == -1)
            return -1;
    }
    bstr_truncate(&c->piece, 0);
    if (lt == NONE && first == NONE) {
        /* nothing but comments */
        if (phrase(c, i, end) == -1)
            return -1;
        return elem(c);
    }
    if (addrspec(c, lt != NONE) == -1)
        return -1;
    if (c->fn && c->fn(c->fnctx, &c->a) == -1) {
        c->why = c->a.why;
        return -1;
    }
    if (!c->out)
        return 0;
    if (lt != NONE) {
        if (phrase(c, i, lt) == -1 ||
            (lt > i && bstr_catc(&c->piece, ' ') == -1) ||
            bstr_catc(&c->piece, '<') == -1)
            return -1;
    } else if (phrase(c, i, first) == -1 ||
               (first > i && bstr_catc(&c->piece, ' ') == -1)) {
        return -1;
    }
    if (!c->a.null && headeraddr_cat(&c->piece, &c->a) == -1)
        return -1;
    if (lt != NONE && bstr_catc(&c->piece, '>') == -1)
        return -1;
    for (size_t k = lt == NONE ? first : lt; k < end; k++)
        if (c->t[k].type == T_COMMENT &&
            (bstr_catc(&c->piece, ' ') == -1 || raw(c, &c->t[k]) == -1))
            return -1;
    return elem(c);
}

/* unit - the mailboxes between two separators: tokens [i, j). */
static int
unit(struct ctx *c, size_t i, size_t j)
{
    size_t scan = i; /* the next "<" at or after i, or j: only moves on */

    while (i < j) {
        size_t lt, k;

        if (scan < i)
            scan = i;
        while (scan < j && c->t[scan].type != '<')
            scan++;
        lt = scan < j ? scan : NONE;
        if (lt != NONE) {
            size_t gt = lt + 1;

            while (c->t[gt].type != '>')
                gt++; /* there is one: parse() checked */
            k = gt + 1;
            while (k < j && c->t[k].type == T_COMMENT)
                k++;
            if (mailbox(c, i, lt, gt, k) == -1)
                return -1;
        } else {
            bool word = false;

            for (k = i; k < j; k++) {
                unsigned char ty = c->t[k].type;

                if (ty == T_COMMENT)
                    continue;
                if (ty == T_ATOM || ty == T_QUOTED || ty == T_LITERAL) {
                    if (word)
                        break;
                    word = true;
                } else {
                    word = false;
                }
            }
            if (mailbox(c, i, NONE, NONE, k) == -1)
                return -1;
        }
        i = k;
    }
    return 0;
}

static int
group_start(struct ctx *c, size_t i, size_t colon)
{
    for (size_t k = i; k < colon; k++) {
        unsigned char ty = c->t[k].type;

        if (ty != T_ATOM && ty != T_QUOTED && ty != T_COMMENT && ty != '.')
            return fail(c, "a special character in a group's name");
    }
    if (!c->out)
        return 0;
    bstr_truncate(&c->piece, 0);
    if (phrase(c, i, colon) == -1 || bstr_catc(&c->piece, ':') == -1 ||
        elem(c) == -1)
        return -1;
    c->sep = false;
    c->aftercolon = true;
    return 0;
}

static int
group_end(struct ctx *c)
{
    if (!c->out)
        return 0;
    if (bstr_cats(c->out, c->aftercolon ? " ;" : ";") == -1)
        return -1;
    c->col += c->aftercolon ? 2 : 1;
    c->sep = true;
    c->aftercolon = false;
    return 0;
}

static int
parse(struct ctx *c)
{
    size_t i = 0;
    bool ingroup = false;

    while (i < c->n) {
        size_t j, lt = NONE, colon = NONE;
        bool inangle = false;
        unsigned char ty = c->t[i].type;

        if (ty == ',') {
            i++;
            continue;
        }
        if (ty == ';') {
            /* outside a group, a ";" separates like "," (people type
             * "a@b; c@d", and qmail read it so) */
            if (ingroup && group_end(c) == -1)
                return -1;
            c->a.group = ingroup = false;
            i++;
            continue;
        }
        for (j = i; j < c->n; j++) {
            ty = c->t[j].type;
            if (ty == '<') {
                if (inangle)
                    return fail(c, "\"<\" inside <...>");
                inangle = true;
                if (lt == NONE)
                    lt = j;
            } else if (ty == '>') {
                if (!inangle)
                    return fail(c, "\">\" without \"<\"");
                inangle = false;
            } else if (!inangle && (ty == ',' || ty == ';')) {
                break;
            } else if (!inangle && ty == ':') {
                colon = j;
                break;
            }
        }
        if (colon != NONE) {
            if (lt != NONE)
                return fail(c, "\":\" after an address");
            if (ingroup)
                return fail(c, "a group inside a group");
            if (group_start(c, i, colon) == -1)
                return -1;
            c->a.group = ingroup = true;
            i = colon + 1;
            continue;
        }
        if (inangle)
            return fail(c, "\"<\" without \">\"");
        if (unit(c, i, j) == -1)
            return -1;
        i = j;
    }
    if (ingroup)
        return fail(c, "a group without its \";\"");
    return 0;
}

static void
ctx_free(struct ctx *c)
{
    bstr_free(&c->u);
    bstr_free(&c->val);
    bstr_free(&c->piece);
    headeraddr_free(&c->a);
    free(c->t);
    free(c->idx);
}

/*
 * headeraddr_list - parse the address list s[0..len) (a field's value,
 * folded or not), calling fn (if not NULL) for each address.  With out
 * not NULL, append the list rendered again with the callback's changes,
 * folded after commas past column HEADERADDR_LINE; col is the column
 * where it starts.  Returns 0, or -1 with errno: EINVAL (*why says what
 * is wrong), EMSGSIZE, ENOMEM, or the callback's.
 */
int
headeraddr_list(const char *s, size_t len, headeraddr_fn fn, void *ctx,
                struct bstr *out, size_t col, const char **why)
{
    struct ctx c;
    int r = -1;

    memset(&c, 0, sizeof c);
    c.fn = fn;
    c.fnctx = ctx;
    c.out = out;
    c.col = col;
    *why = NULL;
    if (len > HEADERADDR_MAX) {
        *why = "an address list too long";
        errno = EMSGSIZE;
        return -1;
    }
    if (bstr_ready(&c.u, len) == -1)
        goto done;
    /* unfold: a line break followed by a blank (or ending the value)
     * goes, the blank stays; any other CR or LF is a control character */
    for (size_t i = 0; i < len; i++) {
        size_t k = i;

        if (s[k] == '\r' && k + 1 < len && s[k + 1] == '\n')
            k++;
        if (s[k] == '\n' && (k + 1 == len || s[k + 1] == ' ' ||
                             s[k + 1] == '\t')) {
            i = k;
            continue;
        }
        c.u.s[c.u.len++] = s[i];
    }
    c.u.s[c.u.len] = '\0';
    if (tokenise(&c) == 0 && parse(&c) == 0)
        r = 0;
done:
    if (r == -1)
        *why = c.why;
    ctx_free(&c);
    return r;
}

struct one {
    struct headeraddr *a;
    size_t n;
};

static int
one_cb(void *ctx, struct headeraddr *a)
{
    struct one *o = ctx;

    if (a->group || o->n++) {
        a->why = "more than one address";
        errno = EINVAL;
        return -1;
    }
    o->a->angle = a->angle;
    o->a->null = a->null;
    o->a->group = false;
    if (bstr_copy(&o->a->local, &a->local) == -1 ||
        bstr_copy(&o->a->domain, &a->domain) == -1)
        return -1;
    return 0;
}

/*
 * headeraddr_one - s[0..len) holds exactly one address ("a@b", "<a@b>",
 * "Name <a@b>", "<>"), as a command line gives it; a gets it.  Returns
 * 0, or -1 with errno (EINVAL with *why).
 */
int
headeraddr_one(const char *s, size_t len, struct headeraddr *a,
               const char **why)
{
    struct one o = {a, 0};

    if (headeraddr_list(s, len, one_cb, &o, NULL, 0, why) == -1)
        return -1;
    if (o.n != 1) {
        *why = "no address";
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static bool
dot_atom(const char *s, size_t len)
{
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '.' ? s[i - 1] == '.' : !is_atext(ch))
            return false;
    }
    return true;
}

/*
 * headeraddr_cat - append a's addr-spec as a header shows it: the local
 * part quoted unless it is a dot-atom, then "@" and the domain when
 * there is one.  Nothing for "<>".  Returns 0 or -1 (ENOMEM).
 */
int
headeraddr_cat(struct bstr *out, const struct headeraddr *a)
{
    const char *l = a->local.s ? a->local.s : "";

    if (a->null)
        return 0;
    if (dot_atom(l, a->local.len)) {
        if (bstr_catb(out, l, a->local.len) == -1)
            return -1;
    } else {
        if (bstr_catc(out, '"') == -1)
            return -1;
        for (size_t i = 0; i < a->local.len; i++)
            if (((l[i] == '"' || l[i] == '\\') &&
                 bstr_catc(out, '\\') == -1) ||
                bstr_catc(out, l[i]) == -1)
                return -1;
        if (bstr_catc(out, '"') == -1)
            return -1;
    }
    if (a->domain.len &&
        (bstr_catc(out, '@') == -1 ||
         bstr_catb(out, a->domain.s, a->domain.len) == -1))
        return -1;
    return 0;
}

/*
 * headeraddr_queue - append a in the queue's form: local part unquoted,
 * "@", domain (empty for "<>").  Returns 0 or -1 (ENOMEM).
 */
int
headeraddr_queue(struct bstr *out, const struct headeraddr *a)
{
    if (a->null)
        return 0;
    if (bstr_catb(out, a->local.s ? a->local.s : "", a->local.len) == -1)
        return -1;
    if (a->domain.len &&
        (bstr_catc(out, '@') == -1 ||
         bstr_catb(out, a->domain.s, a->domain.len) == -1))
        return -1;
    return 0;
}

/* headeraddr_free - release a's strings (a zeroed struct is fine). */
void
headeraddr_free(struct headeraddr *a)
{
    bstr_free(&a->local);
    bstr_free(&a->domain);
}
