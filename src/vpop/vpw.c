/* SPDX-License-Identifier: ISC */
/*
 * vpw - vpopmail's account lines (see vpw.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "secret.h"
#include "vpw.h"

/*
 * vpw_name_ok - may a new account have this name?  1 to VPW_NAME_MAX
 * bytes of a-z, 0-9, '.', '_' and '-', not starting with '.' or '-', no
 * "..", and not a name of the domain directory's own files (vpasswd,
 * vpasswd.cdb, vscram.cdb: an account's directory would take its place).  Upper case is refused: the tools lower-case first, as
 * vpopmail does.  Existing lines are read whatever their name holds,
 * short of ':' and control bytes (vpw_parse).
 */
bool
vpw_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > VPW_NAME_MAX || name[0] == '.' || name[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return false;
        if (c == '.' && i + 1 < len && name[i + 1] == '.')
            return false;
    }
    if ((len == 7 && memcmp(name, "vpasswd", 7) == 0) ||
        (len == 11 && memcmp(name, "vpasswd.cdb", 11) == 0) ||
        (len == 10 && memcmp(name, "vscram.cdb", 10) == 0))
        return false;
    return true;
}

void
vpw_free(struct vpw *pw)
{
    secret_free(pw->clear);
    free(pw->name);
    free(pw->passwd);
    free(pw->gecos);
    free(pw->dir);
    free(pw->quota);
    memset(pw, 0, sizeof *pw);
}

/* scan_num - a decimal field; empty is 0, as vpopmail reads it. */
static bool
scan_num(const char *s, size_t len, unsigned long *v)
{
    *v = 0;
    return len == 0 || (len <= 10 && scan_ulong(s, len, v) == len);
}

/*
 * vpw_parse - one line (without its newline) into pw.  Returns 0, or -1
 * with errno EINVAL (no name, a control byte, a field over
 * VPW_FIELD_MAX, a number that is not one) or ENOMEM.
 */
int
vpw_parse(const char *line, size_t len, struct vpw *pw)
{
    const char *f[8];
    size_t flen[8], nf = 0, start = 0;
    char **str[] = {&pw->name,  &pw->passwd, NULL,       NULL,
                    &pw->gecos, &pw->dir,    &pw->quota, &pw->clear};

    memset(pw, 0, sizeof *pw);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
            goto bad;
    /* seven separators at most: the clear text is the rest of the line */
    for (size_t i = 0; i <= len && nf < 8; i++) {
        if (i == len || (line[i] == ':' && nf < 7)) {
            f[nf] = line + start;
            flen[nf++] = i - start;
            start = i + 1;
        }
    }
    if (nf < 2 || flen[0] == 0)
        goto bad;
    for (size_t i = 0; i < nf; i++)
        if (flen[i] > VPW_FIELD_MAX)
            goto bad;
    if ((nf > 2 && !scan_num(f[2], flen[2], &pw->uid)) ||
        (nf > 3 && !scan_num(f[3], flen[3], &pw->gid)))
        goto bad;
    for (size_t i = 0; i < 8; i++) {
        if (!str[i] || (i == 7 && nf < 8))
            continue;
        *str[i] = strndup(i < nf ? f[i] : "", i < nf ? flen[i] : 0);
        if (!*str[i]) {
            vpw_free(pw);
            errno = ENOMEM;
            return -1;
        }
    }
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/* field_ok - what may go into a field of a line written here. */
static bool
field_ok(const char *s, bool colon_ok)
{
    size_t n = strlen(s);

    if (n > VPW_FIELD_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ||
            (s[i] == ':' && !colon_ok))
            return false;
    return true;
}

/*
 * vpw_format - append pw's line, newline included.  Returns 0, or -1
 * with errno EINVAL when a field would break the line (a ':' outside the
 * clear text, a control byte, an empty name) or ENOMEM.
 */
int
vpw_format(const struct vpw *pw, struct bstr *out)
{
    const char *s[] = {pw->name, pw->passwd, pw->gecos, pw->dir, pw->quota};

    for (size_t i = 0; i < 5; i++)
        if (!s[i] || !field_ok(s[i], false)) {
            errno = EINVAL;
            return -1;
        }
    if (!pw->name[0] || (pw->clear && !field_ok(pw->clear, true))) {
        errno = EINVAL;
        return -1;
    }
    if (bstr_catf(out, "%s:%s:%lu:%lu:%s:%s:%s", pw->name, pw->passwd, pw->uid,
                  pw->gid, pw->gecos, pw->dir, pw->quota) == -1 ||
        (pw->clear && bstr_catf(out, ":%s", pw->clear) == -1) ||
        bstr_catc(out, '\n') == -1)
        return -1;
    return 0;
}

/*
 * vpw_table_parse - every line of a vpasswd file's text (empty lines
 * skipped) into t, in the file's order.  Returns 0; -1 with errno EINVAL
 * and *badline the 1-based number of the first bad line, or ENOMEM.
 */
int
vpw_table_parse(struct vpw_table *t, const char *text, size_t len,
                size_t *badline)
{
    size_t line = 0;
    int e;

    t->e = NULL;
    t->n = 0;
    *badline = 0;
    while (len) {
        const char *nl = memchr(text, '\n', len);
        size_t l = nl ? (size_t)(nl - text) : len;
        struct vpw *ne;

        line++;
        if (l) {
            ne = realloc(t->e, (t->n + 1) * sizeof *t->e);
            if (!ne)
                goto fail;
            t->e = ne;
            if (vpw_parse(text, l, &t->e[t->n]) == -1) {
                if (errno == EINVAL)
                    *badline = line;
                goto fail;
            }
            t->n++;
        }
        l += nl ? 1 : 0;
        text += l;
        len -= l;
    }
    return 0;
fail:
    e = errno;
    vpw_table_free(t);
    errno = e;
    return -1;
}

/* vpw_table_format - the whole file's text.  0, or -1 (vpw_format's). */
int
vpw_table_format(const struct vpw_table *t, struct bstr *out)
{
    for (size_t i = 0; i < t->n; i++)
        if (vpw_format(&t->e[i], out) == -1)
            return -1;
    return 0;
}

/* vpw_table_find - the first account named name, or NULL. */
struct vpw *
vpw_table_find(const struct vpw_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, name) == 0)
            return &t->e[i];
    return NULL;
}

/*
 * vpw_table_add - insert pw before the first name that sorts after it
 * (vpopmail's place for it); the table takes pw's strings (pw is left
 * empty).  Returns 0, or -1 with errno EEXIST (the name is taken),
 * EINVAL (it cannot be written: vpw_format) or ENOMEM.
 */
int
vpw_table_add(struct vpw_table *t, struct vpw *pw)
{
    struct bstr probe = BSTR_INIT;
    struct vpw *ne;
    size_t at = 0;
    int r;

    if (!pw->name || vpw_table_find(t, pw->name)) {
        errno = pw->name ? EEXIST : EINVAL;
        return -1;
    }
    r = vpw_format(pw, &probe);
    if (probe.s)
        explicit_bzero(probe.s, probe.len);
    bstr_free(&probe);
    if (r == -1)
        return -1;
    while (at < t->n && strcmp(t->e[at].name, pw->name) < 0)
        at++;
    ne = realloc(t->e, (t->n + 1) * sizeof *t->e);
    if (!ne)
        return -1;
    t->e = ne;
    memmove(&t->e[at + 1], &t->e[at], (t->n - at) * sizeof *t->e);
    t->e[at] = *pw;
    t->n++;
    memset(pw, 0, sizeof *pw);
    return 0;
}

/*
 * vpw_table_del - remove every account named name.  Returns 0, or -1
 * with errno ENOENT when there is none.
 */
int
vpw_table_del(struct vpw_table *t, const char *name)
{
    size_t keep = 0, n = t->n;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(t->e[i].name, name) == 0)
            vpw_free(&t->e[i]);
        else
            t->e[keep++] = t->e[i];
    }
    t->n = keep;
    if (keep == n) {
        errno = ENOENT;
        return -1;
    }
    return 0;
}

void
vpw_table_free(struct vpw_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        vpw_free(&t->e[i]);
    free(t->e);
    t->e = NULL;
    t->n = 0;
}
