/* SPDX-License-Identifier: ISC */
/*
 * ctl - reading control files (see ctl.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "fmt.h"
#include "readfile.h"

#define CTL_MAX (64u * 1024 * 1024) /* a control file larger is a mistake */

static size_t
strip_trailing(const char *s, size_t len)
{
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
                   s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    return len;
}

/*
 * ctl_readline - the first line of fn, trailing whitespace stripped.
 * Returns 1 when the file exists, 0 when absent (out empty), -1 error.
 */
int
ctl_readline(const char *fn, struct bstr *out)
{
    struct bstr raw = BSTR_INIT;
    int r = readfile_path(fn, &raw, CTL_MAX);
    const char *nl;
    size_t n;

    if (r <= 0) {
        bstr_free(&raw);
        bstr_truncate(out, 0);
        return r;
    }
    nl = raw.len ? memchr(raw.s, '\n', raw.len) : NULL;
    n = nl ? (size_t)(nl - raw.s) : raw.len;
    n = strip_trailing(raw.s, n);
    r = bstr_copyb(out, raw.s ? raw.s : "", n);
    bstr_free(&raw);
    return r == -1 ? -1 : 1;
}

/*
 * ctl_readulong - a decimal number on the first line.
 * Returns 1 when present and valid, 0 when absent, -1 on error (EINVAL:
 * not a number).
 */
int
ctl_readulong(const char *fn, unsigned long *out)
{
    struct bstr line = BSTR_INIT;
    int r = ctl_readline(fn, &line);
    size_t i = 0, n;

    if (r != 1) {
        bstr_free(&line);
        return r;
    }
    while (i < line.len && (line.s[i] == ' ' || line.s[i] == '\t'))
        i++;
    n = scan_ulong(line.s + i, line.len - i, out);
    if (n == 0 || i + n != line.len) {
        bstr_free(&line);
        errno = EINVAL;
        return -1;
    }
    bstr_free(&line);
    return 1;
}

/*
 * ctl_readlist - every non-empty, non-comment line, each stored followed
 * by a NUL.  Returns 1 when present, 0 when absent (out empty), -1 error.
 */
int
ctl_readlist(const char *fn, struct bstr *out)
{
    struct bstr raw = BSTR_INIT;
    int r = readfile_path(fn, &raw, CTL_MAX);
    size_t i = 0;

    bstr_truncate(out, 0);
    if (r <= 0) {
        bstr_free(&raw);
        return r;
    }
    while (i < raw.len) {
        const char *line = raw.s + i;
        const char *nl = memchr(line, '\n', raw.len - i);
        size_t n = nl ? (size_t)(nl - line) : raw.len - i;
        size_t k = strip_trailing(line, n);

        i += n + 1;
        if (k == 0 || line[0] == '#')
            continue;
        if (memchr(line, '\0', k))
            continue; /* a NUL cannot be part of an item */
        if (bstr_catb(out, line, k) == -1 || bstr_catc(out, '\0') == -1) {
            bstr_free(&raw);
            return -1;
        }
    }
    bstr_free(&raw);
    return 1;
}

/* ctl_list_next - iterate a list: pass NULL first; NULL at the end. */
const char *
ctl_list_next(const struct bstr *list, const char *prev)
{
    const char *p;

    if (!list->s || list->len == 0)
        return NULL;
    if (!prev)
        return list->s;
    p = prev + strlen(prev) + 1;
    return p < list->s + list->len ? p : NULL;
}

static const struct ctl_setting *
find_setting(const struct ctl_setting *tab, size_t upto, const char *name)
{
    for (size_t i = 0; i < upto; i++)
        if (strcmp(tab[i].file, name) == 0)
            return &tab[i];
    return NULL;
}

/*
 * ctl_load - read a program's whole settings table into conf.
 * Returns 0, or -1 with errno set and *badfile naming the file.
 */
int
ctl_load(const struct ctl_setting *tab, size_t n, void *conf,
         const char **badfile)
{
    struct bstr path = BSTR_INIT;
    char *base = conf;

    for (size_t i = 0; i < n; i++) {
        const struct ctl_setting *t = &tab[i];
        void *field = base + t->off;
        int r;

        *badfile = t->file;
        if (bstr_copys(&path, "control/") == -1 ||
            bstr_cats(&path, t->file) == -1)
            goto fail;
        switch (t->type) {
        case CTL_LINE:
            r = ctl_readline(path.s, field);
            if (r == 0) {
                const struct ctl_setting *ref;

                if (!t->def) {
                    errno = ENOENT;
                    goto fail;
                }
                if (t->def[0] == '@' &&
                    (ref = find_setting(tab, i, t->def + 1))) {
                    if (bstr_copy(field, (struct bstr *)(base + ref->off)))
                        goto fail;
                } else if (bstr_copys(field, t->def) == -1) {
                    goto fail;
                }
            }
            break;
        case CTL_ULONG: {
            unsigned long *u = field;

            r = ctl_readulong(path.s, u);
            if (r == 0) {
                if (!t->def ||
                    scan_ulong(t->def, strlen(t->def), u) != strlen(t->def))
                    *u = 0;
            }
            if (r == 1 && (*u < t->min || *u > t->max)) {
                errno = ERANGE;
                goto fail;
            }
            break;
        }
        case CTL_LIST:
            r = ctl_readlist(path.s, field);
            break;
        default:
            errno = EINVAL;
            goto fail;
        }
        if (r == -1)
            goto fail;
        if (t->present_off != CTL_NOFLAG)
            *(bool *)(base + t->present_off) = (r == 1);
    }
    bstr_free(&path);
    *badfile = NULL;
    return 0;
fail:
    bstr_free(&path);
    return -1;
}
