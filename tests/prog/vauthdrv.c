/* SPDX-License-Identifier: ISC */
/*
 * vauthdrv - a test-only driver of the account store (vauth.h), so that
 * the e2e tests reach every operation of every backend, one process and
 * one connection for many calls: test_vpop_pgsql uses it to stop the
 * database under a running process and see it recover.
 *
 * Run in $QMAIL_HOME (vconf, users/cdb).  With arguments, one command
 * and exit 0 (done, found), 1 (none, exists, noent, refused, nodomain)
 * or 111 (temporary trouble).  Without, one command per line on stdin
 * and one answer per line on stdout.  Fields are separated by one space
 * and %XX-escaped, so names with spaces, quotes, NUL or any byte pass;
 * answers escape '%', control bytes and bytes over 0x7e alike.
 *
 *   getpw DOMAIN USER     found LINE | none
 *   getall DOMAIN         ok TEXT (the vpasswd text, newlines escaped)
 *   adduser DOMAIN LINE   ok | exists | refused
 *   setpw DOMAIN LINE     ok | noent | refused
 *   deluser DOMAIN USER   ok | noent
 *   deldomain DOMAIN      ok
 *   scramput DOMAIN USER VERIFIER HASH   ok     (PostgreSQL only)
 *   scramget DOMAIN USER  found VERIFIER HASH | none
 *   scramdel DOMAIN USER  ok
 *   valiasget DOMAIN ALIAS        found LINES (escaped) | none
 *   valiasnames DOMAIN            ok NAMES (escaped)
 *   valiasadd DOMAIN ALIAS LINE   ok | refused
 *   valiasdel DOMAIN ALIAS [LINE] ok | noent
 *
 * and "temp ERRNO: WORDS" or "nodomain" for any of them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "vauth.h"
#include "vauth_pg.h"

#define FIELDS 5

/* unescape - %XX-decode s[0..n) into out. */
static int
unescape(const char *s, size_t n, struct bstr *out)
{
    bstr_truncate(out, 0);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && scan_xdigit(s[i + 1]) >= 0 &&
            scan_xdigit(s[i + 2]) >= 0) {
            char c = (char)(scan_xdigit(s[i + 1]) * 16 + scan_xdigit(s[i + 2]));

            if (bstr_catc(out, c) == -1)
                return -1;
            i += 2;
        } else if (bstr_catc(out, s[i]) == -1) {
            return -1;
        }
    }
    if (out->s == NULL)
        return bstr_copys(out, "");
    return 0;
}

/* put - s[0..n) escaped on stdout. */
static void
put(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x21 || c > 0x7e || c == '%')
            printf("%%%02X", c);
        else
            putchar(c);
    }
}

/* temp - the words of a temporary failure; exit code 111. */
static int
temp(struct vauth *a)
{
    printf("temp %s: %s\n",
           strerrorname_np(errno) ? strerrorname_np(errno) : "?",
           a->err.s ? a->err.s : "");
    return 111;
}

/* changed - the answer to a change that returned r; its exit code. */
static int
changed(struct vauth *a, int r)
{
    if (r == 0) {
        printf("ok\n");
        return 0;
    }
    switch (errno) {
    case EEXIST:
        printf("exists\n");
        return 1;
    case ENOENT:
        printf("noent\n");
        return 1;
    case EINVAL:
        printf("refused %s\n", a->err.s ? a->err.s : "");
        return 1;
    }
    return temp(a);
}

/* command - one command of n fields f[]; its exit code. */
static int
command(struct vauth *a, struct bstr *f, size_t n)
{
    struct vdomain d;
    struct vpw pw;
    struct vpw_table t;
    struct bstr text = BSTR_INIT;
    int r, code = 1;

    if (n < 2) {
        printf("usage\n");
        return 100;
    }
    r = vdomain_find(f[1].s, f[1].len, &d);
    if (r == -1) {
        printf("temp %s: users/cdb\n", strerrorname_np(errno));
        return 111;
    }
    if (r == 0) {
        printf("nodomain\n");
        return 1;
    }
    errno = 0;
    if (strcmp(f[0].s, "getpw") == 0 && n == 3) {
        r = vauth_getpw(a, &d, f[2].s, f[2].len, &pw);
        if (r == 1) {
            if (vpw_format(&pw, &text) == -1) {
                printf("unformattable\n");
            } else {
                printf("found ");
                put(text.s, text.len - 1);
                printf("\n");
                code = 0;
            }
            vpw_free(&pw);
        } else if (r == 0) {
            printf("none\n");
        } else {
            code = temp(a);
        }
    } else if (strcmp(f[0].s, "getall") == 0 && n == 2) {
        if (vauth_getall(a, &d, &t) == -1) {
            code = temp(a);
        } else if (vpw_table_format(&t, &text) == -1) {
            printf("unformattable\n");
            vpw_table_free(&t);
        } else {
            printf("ok ");
            put(text.s ? text.s : "", text.len);
            printf("\n");
            vpw_table_free(&t);
            code = 0;
        }
    } else if ((strcmp(f[0].s, "adduser") == 0 ||
                strcmp(f[0].s, "setpw") == 0) &&
               n == 3) {
        if (vpw_parse(f[2].s, f[2].len, &pw) == -1) {
            printf("badline\n");
        } else {
            r = f[0].s[0] == 'a' ? vauth_adduser(a, &d, &pw)
                                 : vauth_setpw(a, &d, &pw);
            code = changed(a, r);
            vpw_free(&pw);
        }
    } else if (strcmp(f[0].s, "deluser") == 0 && n == 3) {
        code = changed(a, vauth_deluser(a, &d, f[2].s));
    } else if (strcmp(f[0].s, "scramput") == 0 && n == 5) {
        code = changed(a, vauth_pg_scram_put(a, &d, f[2].s, f[3].s, f[4].s));
    } else if (strcmp(f[0].s, "scramdel") == 0 && n == 3) {
        code = changed(a, vauth_pg_scram_put(a, &d, f[2].s, NULL, NULL));
    } else if (strcmp(f[0].s, "scramget") == 0 && n == 3) {
        struct bstr h = BSTR_INIT;

        r = vauth_pg_scram_get(a, &d, f[2].s, &text, &h);
        if (r == 1) {
            printf("found %s %s\n", text.s, h.s);
            code = 0;
        } else if (r == 0) {
            printf("none\n");
        } else {
            code = temp(a);
        }
        bstr_free(&h);
    } else if (strcmp(f[0].s, "valiasget") == 0 && n == 3) {
        r = vauth_pg_valias_get(a, &d, f[2].s, &text);
        if (r == 1) {
            printf("found ");
            put(text.s, text.len);
            printf("\n");
            code = 0;
        } else if (r == 0) {
            printf("none\n");
        } else {
            code = temp(a);
        }
    } else if (strcmp(f[0].s, "valiasnames") == 0 && n == 2) {
        if (vauth_pg_valias_names(a, &d, &text) == -1) {
            code = temp(a);
        } else {
            printf("ok ");
            put(text.s ? text.s : "", text.len);
            printf("\n");
            code = 0;
        }
    } else if (strcmp(f[0].s, "valiasadd") == 0 && n == 4) {
        code = changed(a, vauth_pg_valias_add(a, &d, f[2].s, f[3].s));
    } else if (strcmp(f[0].s, "valiasdel") == 0 && (n == 3 || n == 4)) {
        code = changed(
            a, vauth_pg_valias_del(a, &d, f[2].s, n == 4 ? f[3].s : NULL));
    } else if (strcmp(f[0].s, "deldomain") == 0 && n == 2) {
        code = changed(a, vauth_deldomain(a, &d));
    } else {
        printf("usage\n");
        code = 100;
    }
    bstr_free(&text);
    vdomain_free(&d);
    return code;
}

int
main(int argc, char **argv)
{
    struct vconf c;
    struct vauth a;
    struct bstr f[FIELDS] = {BSTR_INIT, BSTR_INIT, BSTR_INIT, BSTR_INIT,
                             BSTR_INIT};
    const char *bad;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int code = 0;

    if (vconf_load(&c, &bad) == -1) {
        printf("temp %s: %s\n", strerrorname_np(errno), bad);
        return 111;
    }
    if (vauth_init(&a, &c) == -1)
        return 111;
    if (argc > 1) {
        size_t n = 0;

        for (int i = 1; i < argc && n < FIELDS; i++, n++)
            if (unescape(argv[i], strlen(argv[i]), &f[n]) == -1)
                return 111;
        code = command(&a, f, n);
    } else {
        setvbuf(stdout, NULL, _IOLBF, 0);
        while ((len = getline(&line, &cap, stdin)) > 0) {
            size_t n = 0, start = 0, l = (size_t)len;

            if (line[l - 1] == '\n')
                l--;
            for (size_t i = 0; i <= l && n < FIELDS; i++)
                if (i == l || line[i] == ' ') {
                    if (unescape(line + start, i - start, &f[n++]) == -1)
                        return 111;
                    start = i + 1;
                }
            command(&a, f, n);
        }
        free(line);
    }
    for (size_t i = 0; i < FIELDS; i++)
        bstr_free(&f[i]);
    vauth_close(&a);
    vconf_free(&c);
    return code;
}
