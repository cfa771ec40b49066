/* SPDX-License-Identifier: ISC */
/*
 * fuzz_vdeliver - what vdelivermail reads from users' and admins' files
 * (src/vpop/vdeliver_parse.c, quota.c's message names).  The input is
 * split at its first NUL: the part before is a .qmail file (each line
 * through vdel_line_parse), the .qmail-default's instruction
 * (vdel_catchall_parse), a path (vdel_path_resolve), a Maildir file's
 * name (mdq_name_size, mdq_name_trashed) and $EXT (vdel_name_ok); the part
 * after, up to any further NUL, is the base directory for the path.
 * Every part is handed over in a buffer of its exact size, so a read past
 * len is seen.  Whatever is accepted must be safe to act on: program
 * commands not empty, forwards that pass the address check, Maildir and
 * mbox paths without ".." or control bytes that resolve; resolved paths
 * absolute, clean, and inside the confining directory.  Any broken
 * property aborts.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vdeliver.h"

#define CONFINE "/home/vpopmail/domains"

static void
must(int cond)
{
    if (!cond)
        abort();
}

/* dup_exact - s[0..len) in a buffer of exactly len bytes; an empty one
 * is the end of a 1-byte block (ASan does not see a read of malloc(0)'s
 * first byte), so that reading path[0] of an empty path is seen.  Freed
 * by release(p, len). */
static char *
dup_exact(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);

    if (!p)
        abort();
    if (len == 0)
        return p + 1;
    memcpy(p, s, len);
    return p;
}

static void
release(char *p, size_t len)
{
    free(len ? p : p - 1);
}

/* clean_abs - an absolute path without "", "." or ".." components, no
 * trailing '/' (but "/"), no control byte. */
static bool
clean_abs(const char *s, size_t len)
{
    if (len == 0 || s[0] != '/')
        return false;
    if (len == 1)
        return true;
    if (s[len - 1] == '/' || !vdel_path_safe(s, len))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '/')
            continue;
        if (i + 1 < len && s[i + 1] == '/')
            return false;
        if (i + 1 < len && s[i + 1] == '.' &&
            (i + 2 == len || s[i + 2] == '/'))
            return false;
    }
    return true;
}

static void
check_line(const char *text, size_t len)
{
    char *line = dup_exact(text, len);
    struct vdel_line l;

    vdel_line_parse(line, len, &l);
    must(l.arg >= line && l.len <= len &&
         (size_t)(l.arg - line) + l.len <= len);
    must((l.kind == VDEL_L_BAD) == (l.why != NULL));
    switch (l.kind) {
    case VDEL_L_BLANK:
        must(l.len == 0);
        break;
    case VDEL_L_COMMENT:
        must(l.arg[0] == '#');
        break;
    case VDEL_L_PROGRAM:
        must(l.len > 0 && l.arg[0] != ' ' && l.arg[0] != '\t');
        must(memchr(l.arg, '\0', l.len) == NULL);
        break;
    case VDEL_L_FORWARD:
        must(vdel_address_ok(l.arg, l.len));
        must(memchr(l.arg, '@', l.len) != NULL);
        break;
    case VDEL_L_MAILDIR:
    case VDEL_L_MBOX: {
        struct bstr out = BSTR_INIT;

        must(l.arg[0] == '.' || l.arg[0] == '/');
        must((l.arg[l.len - 1] == '/') == (l.kind == VDEL_L_MAILDIR));
        must(vdel_path_safe(l.arg, l.len));
        /* what the first pass accepted, the second can resolve */
        must(vdel_path_resolve(CONFINE "/d.test/joe", l.arg, l.len, NULL,
                               &out) == 0 ||
             errno == ENOMEM);
        must(out.len == 0 || clean_abs(out.s, out.len));
        bstr_free(&out);
        break;
    }
    case VDEL_L_BAD:
        break;
    }
    release(line, len);
}

static void
check_catchall(const char *text, size_t len)
{
    char *s = dup_exact(text, len);
    struct bstr arg = BSTR_INIT;
    enum vdel_catch kind;

    if (vdel_catchall_parse(s, len, &kind, &arg) == -1) {
        must(errno == ENOMEM);
        goto out;
    }
    switch (kind) {
    case VDEL_C_BOUNCE:
    case VDEL_C_DELETE:
    case VDEL_C_BAD:
        must(arg.len == 0);
        break;
    case VDEL_C_FORWARD:
        must(vdel_address_ok(arg.s, arg.len));
        must(strlen(arg.s) == arg.len);
        break;
    case VDEL_C_DIR:
        must(arg.len > 1 && arg.s[0] == '/' && arg.s[arg.len - 1] != '/');
        must(vdel_path_safe(arg.s, arg.len));
        break;
    }
out:
    bstr_free(&arg);
    release(s, len);
}

static void
check_resolve(const char *text, size_t len, const char *base)
{
    char *path = dup_exact(text, len);
    struct bstr out = BSTR_INIT, again = BSTR_INIT;
    const char *confine[2] = {NULL, CONFINE};

    for (int c = 0; c < 2; c++) {
        if (vdel_path_resolve(base, path, len, confine[c], &out) == -1) {
            must(errno == EINVAL || errno == ENOMEM ||
                 (errno == EACCES && confine[c]));
            continue;
        }
        must(clean_abs(out.s, out.len));
        must(strlen(out.s) == out.len);
        if (confine[c])
            must(out.len > strlen(CONFINE) &&
                 memcmp(out.s, CONFINE "/", strlen(CONFINE) + 1) == 0);
        /* a clean path resolves to itself, whatever the base */
        must(vdel_path_resolve(NULL, out.s, out.len, confine[c], &again) ==
                 0 ||
             errno == ENOMEM);
        must(again.len == 0 ||
             (again.len == out.len && memcmp(again.s, out.s, out.len) == 0));
    }
    bstr_free(&out);
    bstr_free(&again);
    release(path, len);
}

static void
check_names(const char *text, size_t len)
{
    char *name = dup_exact(text, len);
    const char *colon = memchr(name, ':', len);
    size_t end = colon ? (size_t)(colon - name) : len;
    unsigned long long size = 0;

    if (mdq_name_size(name, len, &size)) {
        bool seen = false;

        must(size <= (unsigned long long)LLONG_MAX);
        for (size_t i = 0; i + 3 <= end && !seen; i++)
            seen = memcmp(name + i, ",S=", 3) == 0;
        must(seen);
    }
    if (mdq_name_trashed(name, len)) {
        must(colon && len - end >= 4 && memcmp(colon, ":2,", 3) == 0);
        must(memchr(colon + 3, 'T', len - end - 3) != NULL);
    }
    if (vdel_name_ok(name, len)) {
        must(len > 0 && len <= VDEL_NAME_MAX);
        must(memchr(name, '/', len) == NULL && vdel_path_safe(name, len));
    }
    release(name, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    const char *nul = memchr(t, '\0', size);
    size_t alen = nul ? (size_t)(nul - t) : size;
    char *base = NULL;

    if (nul) { /* the base: after the NUL, up to any next one */
        const char *b = nul + 1;
        const char *n2 = memchr(b, '\0', size - alen - 1);
        size_t blen = n2 ? (size_t)(n2 - b) : size - alen - 1;

        if (!(base = malloc(blen + 1)))
            abort();
        memcpy(base, b, blen);
        base[blen] = '\0';
    }
    for (size_t i = 0; i <= alen;) {
        const char *nl = memchr(t + i, '\n', alen - i);
        size_t n = nl ? (size_t)(nl - (t + i)) : alen - i;

        check_line(t + i, n);
        i += n + 1;
    }
    check_catchall(t, alen);
    check_resolve(t, alen, base ? base : "/home/vpopmail/domains/d.test/joe");
    check_names(t, alen);
    free(base);
    return 0;
}
