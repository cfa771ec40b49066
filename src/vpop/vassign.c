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
    struct bstr line = BSTR_INIT;
    bool found;
    int r;

    if (!vdomain_name_ok(domain, strlen(domain)) || !dir_ok(dir)) {
        errno = EINVAL;
        return -1;
    }
    if (bstr_catf(&line, "+%s-:%s:%lu:%lu:%s:-::\n", domain, domain, uid, gid,
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
