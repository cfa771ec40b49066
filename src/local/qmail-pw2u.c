/* SPDX-License-Identifier: ISC */
/*
 * qmail-pw2u - turn a passwd file (stdin) into users/assign lines
 * (stdout) that give each account what qmail-getpw would have.
 *
 * Skipped: uid 0, names with uppercase letters (-u allows them), homes
 * that do not exist or belong to someone else (-o, the default; -h stops
 * on a missing home; -H checks nothing).  Each account gets "=name" and
 * "+name-" (-c char changes the '-', -C drops these), -/ makes its files
 * .qmail-/... .  $QMAIL_HOME/users/include, exclude, mailnames, subusers
 * and append adjust the result as in qmail-pw2u(8).  The alias account
 * must be in the input; its home is $QMAIL_HOME/alias, as for
 * qmail-lspawn.  Exit 0, 100 usage, 111 trouble.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bstr.h"
#include "ctl.h"
#include "fmt.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "users.h"

enum home_rule { HOME_ANY, HOME_STOP, HOME_SKIP };

struct pw2u {
    enum home_rule homes;
    bool upper_ok;
    char brk;          /* 0: no user-ext addresses */
    const char *dashcolon; /* "-:" or "-/:" */
    bool have_incl, have_excl, have_names;
    struct bstr incl, excl, names;
    struct bstr users; /* "name\0:user:uid:gid:home:\0" for subusers */
    struct bstr aliashome;
    bool alias_seen;
};

static void __attribute__((noreturn))
die_write(void)
{
    log_die_sys(EXIT_TEMP, "unable to write output");
}

static void
out(const char *s, size_t n)
{
    if (n && fwrite(s, 1, n, stdout) != n)
        die_write();
}

static void
outs(const char *s)
{
    out(s, strlen(s));
}

static bool
listed(const struct bstr *list, const char *name)
{
    for (const char *p = ctl_list_next(list, NULL); p;
         p = ctl_list_next(list, p))
        if (strcmp(p, name) == 0)
            return true;
    return false;
}

/* mailnames_for - the "user:name1:name2" line of user, after its colon. */
static const char *
mailnames_for(const struct pw2u *p, const char *user)
{
    size_t n = strlen(user);

    for (const char *l = ctl_list_next(&p->names, NULL); l;
         l = ctl_list_next(&p->names, l))
        if (strncmp(l, user, n) == 0 && l[n] == ':')
            return l + n + 1;
    return NULL;
}

static void
read_list(const char *fn, struct bstr *list, bool *present)
{
    int r = ctl_readlist(fn, list);

    if (r == -1)
        log_die_sys(EXIT_TEMP, "unable to read %s", fn);
    *present = r == 1;
}

/* split - the first n colon-separated fields of line; false if fewer. */
static bool
split(char *line, char **f, int n)
{
    for (int i = 0; i < n; i++) {
        char *c = strchr(line, ':');

        if (!c)
            return false;
        *c = '\0';
        f[i] = line;
        line = c + 1;
    }
    return true;
}

static void
account(struct pw2u *p, char *line)
{
    char *f[6];
    char *user, *home;
    const char *names;
    unsigned long uid, gid;
    struct bstr uugh = BSTR_INIT;
    struct stat st;

    if (!split(line, f, 6))
        return; /* not a passwd line: qmail-pw2u skips it too */
    user = f[0];
    home = f[5];
    if (scan_ulong(f[2], strlen(f[2]), &uid) != strlen(f[2]) ||
        scan_ulong(f[3], strlen(f[3]), &gid) != strlen(f[3]) || !*f[2] ||
        !*f[3] || !*user)
        return;
    if (uid == 0)
        return;
    if (!p->upper_ok)
        for (const char *c = user; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                return;
    if (p->have_incl && !listed(&p->incl, user))
        return;
    if (p->have_excl && listed(&p->excl, user))
        return;
    if (strcmp(user, USERS_ALIAS) == 0)
        home = p->aliashome.s;
    if (p->homes != HOME_ANY) {
        if (stat(home, &st) == -1) {
            if (errno != ENOENT || p->homes == HOME_STOP)
                log_die_sys(EXIT_TEMP, "unable to stat %s", home);
            return;
        }
        if (st.st_uid != uid)
            return;
    }
    if (bstr_catf(&uugh, ":%s:%lu:%lu:%s:", user, uid, gid, home) == -1 ||
        bstr_cats(&p->users, user) == -1 || bstr_catc(&p->users, '\0') == -1 ||
        bstr_catb(&p->users, uugh.s, uugh.len + 1) == -1)
        log_die(EXIT_TEMP, "out of memory");
    if (strcmp(user, USERS_ALIAS) == 0) {
        outs("+");
        out(uugh.s, uugh.len);
        outs(p->dashcolon);
        outs(":\n");
        p->alias_seen = true;
    }
    names = p->have_names ? mailnames_for(p, user) : NULL;
    if (!names)
        names = user;
    while (*names) {
        size_t n = strcspn(names, ":");

        if (n) {
            outs("=");
            out(names, n);
            out(uugh.s, uugh.len);
            outs("::\n");
            if (p->brk) {
                outs("+");
                out(names, n);
                out(&p->brk, 1);
                out(uugh.s, uugh.len);
                outs(p->dashcolon);
                outs(":\n");
            }
        }
        names += n;
        if (*names == ':')
            names++;
    }
    bstr_free(&uugh);
}

/* uugh_for - the ":user:uid:gid:home:" of an accepted account. */
static const char *
uugh_for(const struct pw2u *p, const char *user, size_t len)
{
    size_t off = 0;

    while (off < p->users.len) {
        const char *name = p->users.s + off;
        const char *uugh = name + strlen(name) + 1;

        if (strlen(name) == len && memcmp(name, user, len) == 0)
            return uugh;
        off = (size_t)(uugh + strlen(uugh) + 1 - p->users.s);
    }
    return NULL;
}

static void
subuser(const struct pw2u *p, char *line)
{
    char *f[3];
    const char *uugh;

    if (!split(line, f, 3))
        return;
    uugh = uugh_for(p, f[1], strlen(f[1]));
    if (!uugh)
        log_die(EXIT_TEMP, "unable to find %s user for subuser",
                f[1]);
    outs("=");
    outs(f[0]);
    outs(uugh);
    outs(p->dashcolon);
    outs(f[2]);
    outs(":\n");
    if (p->brk) {
        outs("+");
        outs(f[0]);
        out(&p->brk, 1);
        outs(uugh);
        outs(p->dashcolon);
        outs(f[2]);
        outs("-:\n");
    }
}

static void
each_line(FILE *in, const char *what, void (*fn)(struct pw2u *, char *),
          struct pw2u *p)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    errno = 0;
    while ((n = getline(&line, &cap, in)) != -1) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (memchr(line, '\0', (size_t)n))
            continue; /* a NUL cannot be part of an account */
        fn(p, line);
        errno = 0;
    }
    if (ferror(in))
        log_die_sys(EXIT_TEMP, "unable to read %s", what);
    free(line);
}

static void
subuser_line(struct pw2u *p, char *line)
{
    subuser(p, line);
}

int
main(int argc, char **argv)
{
    struct pw2u p;
    FILE *f;
    int opt;

    log_init("qmail-pw2u");
    memset(&p, 0, sizeof p);
    p.homes = HOME_SKIP;
    p.brk = '-';
    p.dashcolon = "-:";
    while ((opt = getopt(argc, argv, "/ohHuUc:C")) != -1)
        switch (opt) {
        case '/':
            p.dashcolon = "-/:";
            break;
        case 'o':
            p.homes = HOME_SKIP;
            break;
        case 'h':
            p.homes = HOME_STOP;
            break;
        case 'H':
            p.homes = HOME_ANY;
            break;
        case 'u':
            p.upper_ok = true;
            break;
        case 'U':
            p.upper_ok = false;
            break;
        case 'c':
            p.brk = optarg[0];
            break;
        case 'C':
            p.brk = 0;
            break;
        default:
            log_die(EXIT_PERM, "usage: qmail-pw2u [ -/ohHuUC ] [ -cchar ]");
        }
    if (optind != argc)
        log_die(EXIT_PERM, "usage: qmail-pw2u [ -/ohHuUC ] [ -cchar ]");
    if (bstr_catf(&p.aliashome, "%s/alias", priv_home()) == -1)
        log_die(EXIT_TEMP, "out of memory");
    if (chdir(priv_home()) == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to %s", priv_home());
    read_list("users/include", &p.incl, &p.have_incl);
    read_list("users/exclude", &p.excl, &p.have_excl);
    read_list("users/mailnames", &p.names, &p.have_names);

    each_line(stdin, "input", account, &p);
    if (!p.alias_seen)
        log_die(EXIT_TEMP, "unable to find %s user", USERS_ALIAS);

    if ((f = fopen("users/subusers", "r"))) {
        each_line(f, "users/subusers", subuser_line, &p);
        fclose(f);
    } else if (errno != ENOENT) {
        log_die_sys(EXIT_TEMP, "unable to read users/subusers");
    }
    if ((f = fopen("users/append", "r"))) {
        char buf[8192];
        size_t n;

        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            out(buf, n);
        if (ferror(f))
            log_die_sys(EXIT_TEMP, "unable to read users/append");
        fclose(f);
    } else if (errno != ENOENT) {
        log_die_sys(EXIT_TEMP, "unable to read users/append");
    }
    outs(".\n");
    if (fflush(stdout) == EOF || ferror(stdout))
        die_write();
    bstr_free(&p.incl);
    bstr_free(&p.excl);
    bstr_free(&p.names);
    bstr_free(&p.users);
    bstr_free(&p.aliashome);
    return 0;
}
