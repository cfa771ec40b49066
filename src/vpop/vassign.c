/* SPDX-License-Identifier: ISC */
/*
 * vassign - virtual domains in users/assign (see vassign.h).
 */
#include <errno.h>
#include <string.h>

#include "vassign.h"

/*
 * vdomain_name_ok - may a virtual domain have this name?  1 to
 * VDOMAIN_MAX bytes of labels of a-z, 0-9 and '-' joined by single
 * dots, no label starting or ending with '-', no leading or trailing
 * dot; lower case only (the tools lower-case first, as vpopmail does).
 */
bool
vdomain_name_ok(const char *d, size_t len)
{
    size_t label = 0;

    if (len == 0 || len > VDOMAIN_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = d[i];

        if (c == '.') {
            if (label == 0 || d[i - 1] == '-')
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   (c == '-' && label > 0)) {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && d[len - 1] != '-';
}

/* is_domain_line - does line[0..n) start with "+DOMAIN-:"? */
static bool
is_domain_line(const char *line, size_t n, const char *domain, size_t dl)
{
    return n >= dl + 3 && line[0] == '+' && memcmp(line + 1, domain, dl) == 0 &&
           line[dl + 1] == '-' && line[dl + 2] == ':';
}

/* is_end - the "." line that ends users/assign. */
static bool
is_end(const char *line, size_t n)
{
    return n == 1 && line[0] == '.';
}

/*
 * edit - copy text to out with the domain's lines dropped and, when
 * newline is not NULL, newline put where the first of them was, else
 * before the "." line; a "." line is added when there is none.
 * *found says whether the domain had a line.
 */
static int
edit(const char *text, size_t len, const char *domain, const char *newline,
     struct bstr *out, bool *found)
{
    size_t dl = strlen(domain);
    bool ended = false, placed = newline == NULL;

    *found = false;
    while (len && !ended) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) : len;
        size_t step = nl ? n + 1 : n;

        if (is_domain_line(text, n, domain, dl)) {
            *found = true;
            if (!placed && bstr_cats(out, newline) == -1)
                return -1;
            placed = true;
        } else if (is_end(text, n)) {
            ended = true; /* what follows "." is not read by qmail-newu */
            break;
        } else if (bstr_catb(out, text, n) == -1 ||
                   bstr_catc(out, '\n') == -1) {
            return -1;
        }
        text += step;
        len -= step;
    }
    if (!placed && bstr_cats(out, newline) == -1)
        return -1;
    if (bstr_cats(out, ".\n") == -1)
        return -1;
    /* anything after the "." line is kept as it was */
    if (ended) {
        const char *nl = memchr(text, '\n', len);
        size_t skip = nl ? (size_t)(nl - text) + 1 : len;

        if (bstr_catb(out, text + skip, len - skip) == -1)
            return -1;
    }
    return 0;
}

/* dir_ok - a home a users/assign line can hold (no ':' or control). */
static bool
dir_ok(const char *dir)
{
    if (dir[0] != '/')
        return false;
    for (const char *p = dir; *p; p++)
        if (*p == ':' || (unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

/*
 * vassign_set - text with the domain's line set (replaced where it was,
 * else added before the "." line) into out.  Returns 0, or -1 with
 * errno EINVAL (a bad domain name or home) or ENOMEM.
 */
int
vassign_set(const char *text, size_t len, const char *domain, unsigned long uid,
            unsigned long gid, const char *dir, struct bstr *out)
{
    return vassign_set_alias(text, len, domain, domain, uid, gid, dir, out);
}

/*
 * vassign_set_alias - as vassign_set, for a domain that stands for the
 * domain real (vaddaliasdomain): "+ALIAS-:REAL:UID:GID:DIR:-::".
 */
int
vassign_set_alias(const char *text, size_t len, const char *domain,
                  const char *real, unsigned long uid, unsigned long gid,
                  const char *dir, struct bstr *out)
{
    struct bstr line = BSTR_INIT;
    bool found;
    int r;

    if (!vdomain_name_ok(domain, strlen(domain)) ||
        !vdomain_name_ok(real, strlen(real)) || !dir_ok(dir)) {
        errno = EINVAL;
        return -1;
    }
    if (bstr_catf(&line, "+%s-:%s:%lu:%lu:%s:-::\n", domain, real, uid, gid,
                  dir) == -1)
        return -1;
    r = edit(text, len, domain, line.s, out, &found);
    bstr_free(&line);
    return r;
}

/*
 * vassign_del - text without the domain's line into out.  Returns 0, or
 * -1 with errno ENOENT (no such line), EINVAL or ENOMEM.
 */
int
vassign_del(const char *text, size_t len, const char *domain, struct bstr *out)
{
    bool found;

    if (!vdomain_name_ok(domain, strlen(domain))) {
        errno = EINVAL;
        return -1;
    }
    if (edit(text, len, domain, NULL, out, &found) == -1)
        return -1;
    if (!found) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

/*
 * vassign_find - the domain's line (without its newline) into line.
 * Returns 1 found, 0 not (also when it follows the "." line).
 */
int
vassign_find(const char *text, size_t len, const char *domain,
             struct bstr *line)
{
    size_t dl = strlen(domain);

    while (len) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) : len;

        if (is_end(text, n))
            return 0;
        if (is_domain_line(text, n, domain, dl)) {
            bstr_truncate(line, 0);
            return bstr_catb(line, text, n) == -1 ? -1 : 1;
        }
        n += nl ? 1 : 0;
        text += n;
        len -= n;
    }
    return 0;
}

/* field - the next ':'-field of s[*i..n) (1), or 0 at the end. */
static bool
field(const char *s, size_t n, size_t *i, const char **f, size_t *fl)
{
    const char *c;

    if (*i > n)
        return false;
    *f = s + *i;
    c = memchr(*f, ':', n - *i);
    *fl = c ? (size_t)(c - *f) : n - *i;
    *i += *fl + 1;
    return true;
}

/*
 * vassign_next - the next virtual domain line of users/assign from *pos
 * on ("+DOMAIN-:REAL:UID:GID:DIR:-::", DOMAIN a domain name with a dot:
 * qmail-pw2u's "+joe-:joe:..." lines for system users have the same
 * shape), into v (pointers into text).  Returns 1, or 0 at the "." line
 * or the end.
 */
int
vassign_next(const char *text, size_t len, size_t *pos,
             struct vassign_line *v)
{
    while (*pos < len) {
        const char *line = text + *pos, *nl = memchr(line, '\n', len - *pos);
        size_t n = nl ? (size_t)(nl - line) : len - *pos, i = 1;
        const char *f[7];
        size_t fl[7], k = 0;
        unsigned long ids[2];

        *pos += n + 1;
        if (is_end(line, n))
            return 0;
        if (n < 4 || line[0] != '+')
            continue;
        while (k < 7 && field(line, n, &i, &f[k], &fl[k]))
            k++;
        if (k != 7 || fl[0] < 2 || f[0][fl[0] - 1] != '-' ||
            !vdomain_name_ok(f[0], fl[0] - 1) ||
            !vdomain_name_ok(f[1], fl[1]) || !memchr(f[0], '.', fl[0]) ||
            fl[4] == 0 || f[4][0] != '/' ||
            fl[5] != 1 || f[5][0] != '-' || fl[6] != 0)
            continue;
        for (int j = 0; j < 2; j++) {
            ids[j] = 0;
            if (fl[2 + j] == 0 || fl[2 + j] > 10)
                goto next;
            for (size_t m = 0; m < fl[2 + j]; m++) {
                if (f[2 + j][m] < '0' || f[2 + j][m] > '9')
                    goto next;
                ids[j] = ids[j] * 10 + (unsigned long)(f[2 + j][m] - '0');
            }
        }
        v->domain = f[0];
        v->domainlen = fl[0] - 1;
        v->real = f[1];
        v->reallen = fl[1];
        v->uid = ids[0];
        v->gid = ids[1];
        v->dir = f[4];
        v->dirlen = fl[4];
        return 1;
next:;
    }
    return 0;
}
