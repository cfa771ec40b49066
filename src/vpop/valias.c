/* SPDX-License-Identifier: ISC */
/*
 * valias - show, add and remove aliases of a virtual domain, as
 * vpopmail's valias with its file store (valias(8)): an alias is the
 * file DOMAINDIR/.qmail-NAME ('.' in NAME written ':'), one delivery
 * instruction per line, read by qmail-local before vdelivermail.  A
 * line is added by rewriting the file whole (atomicfile) under a flock
 * of the domain's directory, and the domain's recipient map is rebuilt
 * after every change.  An empty line is refused (qmail-local defers a
 * .qmail whose first line is blank).
 *
 * With the PostgreSQL store (control/vpopbackend pgsql) aliases are rows
 * of vpopmail's valias table instead, as vpopmail's valias built with
 * --enable-valias keeps them (vdelivermail reads them there); .qmail-NAME
 * files are then neither shown nor changed.  Output and exit codes are
 * the same either way; the database in trouble is "Error: ..." and exit
 * 233 (VA_NO_AUTH_CONNECTION).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "readfile.h"
#include "vauth_pg.h"
#include "vtool.h"

#define ALIAS_LINE_MAX 160 /* vpopmail's MAX_ALIAS_LINE */
#define ALIAS_FILE_MAX (1u << 20)

static void
usage(void)
{
    printf("valias: usage: [options] email_address \n"
           "options: -v ( display the vpopmail version number )\n"
           "         -n ( show alias names, use just domain )\n"
           "         -s ( show aliases, can use just domain )\n"
           "         -d ( delete alias )\n"
           "         -i alias_line (insert alias line)\n"
           "\n"
           "Example: valias -i fred@inter7.com bob@inter7.com\n"
           "         (adds alias from bob@inter7.com to fred@inter7.com\n");
}

/* file_of - DOMAINDIR/.qmail-NAME with '.' as ':'. */
static int
file_of(struct bstr *p, const struct vdomain *d, const char *name)
{
    bstr_truncate(p, 0);
    if (bstr_catf(p, "%s/.qmail-", d->dir.s) == -1)
        return -1;
    for (const char *c = name; *c; c++)
        if (bstr_catc(p, *c == '.' ? ':' : *c) == -1)
            return -1;
    return 0;
}

/* show_file - "alias@domain -> line" for each line of path. */
static int
show_file(const char *path, const char *alias, const char *domain)
{
    struct bstr t = BSTR_INIT;
    int r = readfile_path(path, &t, ALIAS_FILE_MAX);
    size_t i = 0;

    if (r != 1) {
        bstr_free(&t);
        return -1;
    }
    while (i < t.len) {
        const char *nl = memchr(t.s + i, '\n', t.len - i);
        size_t n = nl ? (size_t)(nl - (t.s + i)) : t.len - i;

        printf("%s@%s -> %.*s\n", alias, domain, (int)n, t.s + i);
        i += n + 1;
    }
    fflush(stdout);
    bstr_free(&t);
    return 0;
}

static int
cmp(const void *a, const void *b)
{
    return strcasecmp(*(char *const *)a, *(char *const *)b);
}

/* names - the domain's alias names, sorted; count in *n. */
static char **
names(const struct vdomain *d, size_t *n)
{
    DIR *dir = opendir(d->dir.s);
    struct dirent *de;
    char **v = NULL;

    *n = 0;
    while (dir && (de = readdir(dir))) {
        const char *f = de->d_name;
        char **nv;
        char *s;
        struct stat st;
        struct bstr p = BSTR_INIT;

        if (strncmp(f, ".qmail-", 7) != 0 || strcmp(f, ".qmail-default") == 0)
            continue;
        /* a mailing list's links (-default, -owner) are not aliases */
        if (bstr_catf(&p, "%s/%s", d->dir.s, f) == 0 &&
            lstat(p.s, &st) == 0 && S_ISLNK(st.st_mode) &&
            (strstr(f, "-default") || strstr(f, "-owner"))) {
            bstr_free(&p);
            continue;
        }
        bstr_free(&p);
        s = strdup(f + 7);
        nv = s ? realloc(v, (*n + 1) * sizeof *v) : NULL;
        if (!nv) {
            free(s);
            break;
        }
        for (char *c = s; *c; c++)
            if (*c == ':')
                *c = '.';
        v = nv;
        v[(*n)++] = s;
    }
    if (dir)
        closedir(dir);
    if (*n)
        qsort(v, *n, sizeof *v, cmp);
    return v;
}

/* pg_trouble - the valias table could not be read or changed: exits. */
static void __attribute__((noreturn))
pg_trouble(struct vadmin *v, int err)
{
    if (v->auth.err.len)
        fprintf(stderr, "valias: %s\n", v->auth.err.s);
    vtool_fail(v, err, NULL);
}

/* pg_show - "alias@domain -> line" for each row of alias: 1 shown, 0
 * none; database trouble exits. */
static int
pg_show(struct vadmin *v, const struct vdomain *d, const char *alias)
{
    struct bstr t = BSTR_INIT;
    int r = vauth_pg_valias_get(&v->auth, d, alias, &t);
    size_t i = 0;

    if (r == -1)
        pg_trouble(v, VA_NO_AUTH_CONNECTION);
    while (i < t.len) {
        const char *nl = memchr(t.s + i, '\n', t.len - i);
        size_t n = nl ? (size_t)(nl - (t.s + i)) : t.len - i;

        printf("%s@%s -> %.*s\n", alias, d->real.s, (int)n, t.s + i);
        i += n + 1;
    }
    fflush(stdout);
    bstr_free(&t);
    return r;
}

/* pg_insert - a row for line, unless alias has it already. */
static int
pg_insert(struct vadmin *v, const struct vdomain *d, const char *alias,
          const char *line)
{
    struct bstr t = BSTR_INIT;
    const char *l = line;

    while (*l == ' ') /* the table keeps it so (vpopmail's valias_insert) */
        l++;
    if (vauth_pg_valias_get(&v->auth, d, alias, &t) == -1)
        pg_trouble(v, VA_NO_AUTH_CONNECTION);
    for (size_t i = 0; i < t.len;) {
        const char *nl = memchr(t.s + i, '\n', t.len - i);
        size_t n = nl ? (size_t)(nl - (t.s + i)) : t.len - i;

        if (n == strlen(l) && memcmp(t.s + i, l, n) == 0) {
            fprintf(stderr, "Error: alias %s@%s -> %s already exists.\n",
                    alias, d->real.s, line);
            vtool_exit(v, 255);
        }
        i += n + 1;
    }
    bstr_free(&t);
    if (vauth_pg_valias_add(&v->auth, d, alias, line) == -1)
        pg_trouble(v, errno == EINVAL ? VA_COULD_NOT_UPDATE_FILE
                                      : VA_NO_AUTH_CONNECTION);
    return vadmin_rebuild_map(v, d);
}

/* lock_domain - the domain directory flocked for a change of an alias
 * file (read, change, replace), so that two valias runs at once cannot
 * lose a line; the lock ends with the process or close().  The fd. */
static int
lock_domain(struct vadmin *v, const struct vdomain *d)
{
    int fd = open(d->dir.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd == -1 || flock(fd, LOCK_EX) == -1) {
        fprintf(stderr, "valias: unable to lock %s: %s\n", d->dir.s,
                strerror(errno));
        vtool_fail(v, VA_COULD_NOT_OPEN_DOT_QMAIL, NULL);
    }
    return fd;
}

/* insert - line appended to the alias file (made if absent). */
static int
insert(struct vadmin *v, const struct vdomain *d, const char *alias,
       const char *domain, const char *line)
{
    struct bstr p = BSTR_INIT, t = BSTR_INIT, want = BSTR_INIT;
    int r, lockfd;

    if (strlen(line) >= ALIAS_LINE_MAX)
        vtool_fail(v, VA_ALIAS_LINE_TOO_LONG, NULL);
    if (strlen(alias) > 32)
        vtool_fail(v, VA_USER_NAME_TOO_LONG, NULL);
    for (const char *c = line; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            vtool_fail(v, VA_BAD_CHAR, NULL);
    if (line[strspn(line, " \t")] == '\0') {
        /* qmail-local defers every message of a .qmail whose first line
         * is blank; the table's line would be an empty delivery */
        fprintf(stderr, "Error: an alias line may not be empty.\n");
        vtool_exit(v, 255);
    }
    if (v->conf.backend == VCONF_PGSQL)
        return pg_insert(v, d, alias, line);
    if (file_of(&p, d, alias) == -1)
        vtool_fail(v, VA_MEMORY_ALLOC_ERR, NULL);
    lockfd = lock_domain(v, d);
    r = readfile_path(p.s, &t, ALIAS_FILE_MAX);
    if (r == -1)
        vtool_fail(v, VA_COULD_NOT_OPEN_DOT_QMAIL, NULL);
    if (bstr_catf(&want, "%s\n", line) == -1)
        vtool_fail(v, VA_MEMORY_ALLOC_ERR, NULL);
    for (size_t i = 0; i < t.len;) {
        const char *nl = memchr(t.s + i, '\n', t.len - i);
        size_t n = nl ? (size_t)(nl - (t.s + i)) : t.len - i;

        if (n == strlen(line) && memcmp(t.s + i, line, n) == 0) {
            fprintf(stderr, "Error: alias %s@%s -> %s already exists.\n",
                    alias, domain, line);
            vtool_exit(v, 255);
        }
        i += n + 1;
    }
    if ((t.len && t.s[t.len - 1] != '\n' && bstr_catc(&t, '\n') == -1) ||
        bstr_catb(&t, want.s, want.len) == -1)
        vtool_fail(v, VA_MEMORY_ALLOC_ERR, NULL);
    if (atomicfile_write(p.s, t.s, t.len, 0600,
                         v->conf.root ? d->uid : ATOMICFILE_KEEP,
                         v->conf.root ? d->gid : (gid_t)-1) == -1) {
        fprintf(stderr, "valias: unable to write %s: %s\n", p.s,
                strerror(errno));
        vtool_fail(v, VA_COULD_NOT_OPEN_DOT_QMAIL, NULL);
    }
    close(lockfd); /* the lock goes with it */
    bstr_free(&p);
    bstr_free(&t);
    bstr_free(&want);
    return vadmin_rebuild_map(v, d);
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vdomain d;
    struct bstr user = BSTR_INIT, domain = BSTR_INIT, p = BSTR_INIT;
    const char *line = NULL;
    char action = 's';
    int c, r;

    while ((c = getopt(argc, argv, "vnsdi:")) != -1) {
        switch (c) {
        case 'v':
            if (vtool_version() == -1)
                return 111;
            break;
        case 'n':
        case 's':
        case 'd':
            action = (char)c;
            break;
        case 'i':
            action = 'i';
            line = optarg;
            break;
        default:
            usage();
            return 254;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "must supply alias email address\n");
        usage();
        return 255;
    }
    vtool_start("valias", &v);
    if (action == 'n' && strchr(argv[optind], '@')) {
        fprintf(stderr, "Please enter domain name only.\n");
        vtool_exit(&v, 255);
    }
    if (strchr(argv[optind], '@') || action == 'i' || action == 'd') {
        r = vadmin_parse_email(argv[optind], &user, &domain, &v.conf);
        if (r != VA_SUCCESS || !vpw_name_ok(user.s, user.len)) {
            fprintf(stderr, "Error: %s\n", verror(VA_ILLEGAL_USERNAME));
            vtool_exit(&v, 255);
        }
    } else if (bstr_copys(&domain, argv[optind]) == -1) {
        vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
    }
    r = vdomain_find(domain.s, domain.len, &d);
    if (r == 1 && vdomain_is_alias(&d)) {
        struct vdomain real;

        r = vdomain_find(d.real.s, d.real.len, &real);
        vdomain_free(&d);
        d = real;
    }
    if (r != 1) {
        printf("invalid domain, not in qmail assign file\n");
        vtool_exit(&v, 255);
    }
    if (action == 'i') {
        if (insert(&v, &d, user.s, d.real.s, line) == -1)
            vtool_fail(&v, VA_COULD_NOT_UPDATE_FILE, NULL);
        vtool_exit(&v, VA_SUCCESS);
    }
    if (action == 'd' && v.conf.backend == VCONF_PGSQL) {
        /* no such alias is no error, as with the file (and vpopmail) */
        if (vauth_pg_valias_del(&v.auth, &d, user.s, NULL) == -1 &&
            errno != ENOENT)
            pg_trouble(&v, VA_NO_AUTH_CONNECTION);
        if (vadmin_rebuild_map(&v, &d) == -1)
            vtool_fail(&v, VA_COULD_NOT_UPDATE_FILE, NULL);
        vtool_exit(&v, VA_SUCCESS);
    }
    if (action == 'd') {
        if (file_of(&p, &d, user.s) == -1)
            vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
        (void)lock_domain(&v, &d); /* held until the exit */
        if (unlink(p.s) == -1 && errno != ENOENT) {
            fprintf(stderr, "valias: unable to remove %s: %s\n", p.s,
                    strerror(errno));
            vtool_fail(&v, VA_COULD_NOT_UPDATE_FILE, NULL);
        }
        if (vadmin_rebuild_map(&v, &d) == -1)
            vtool_fail(&v, VA_COULD_NOT_UPDATE_FILE, NULL);
        vtool_exit(&v, VA_SUCCESS);
    }
    if (user.len && v.conf.backend == VCONF_PGSQL)
        vtool_exit(&v, pg_show(&v, &d, user.s) == 1 ? VA_SUCCESS : 255);
    if (v.conf.backend == VCONF_PGSQL) {
        struct bstr all = BSTR_INIT;
        size_t n = 0;

        if (vauth_pg_valias_names(&v.auth, &d, &all) == -1)
            pg_trouble(&v, VA_NO_AUTH_CONNECTION);
        for (size_t i = 0; i < all.len; n++) {
            char *name = all.s + i, *nl = memchr(name, '\n', all.len - i);

            if (!nl)
                break;
            *nl = '\0';
            i = (size_t)(nl - all.s) + 1;
            if (action == 'n')
                printf("%s\n", name);
            else
                (void)pg_show(&v, &d, name);
        }
        bstr_free(&all);
        vtool_exit(&v, n ? VA_SUCCESS : 255);
    }
    if (user.len) {
        if (file_of(&p, &d, user.s) == -1 ||
            show_file(p.s, user.s, d.real.s) == -1)
            vtool_exit(&v, 255);
        vtool_exit(&v, VA_SUCCESS);
    }
    {
        size_t n;
        char **all = names(&d, &n);

        for (size_t i = 0; i < n; i++) {
            if (action == 'n') {
                printf("%s\n", all[i]);
            } else if (file_of(&p, &d, all[i]) == 0) {
                if (show_file(p.s, all[i], d.real.s) == -1) {
                    /* vpopmail ends the listing at an unreadable one */
                }
            }
            free(all[i]);
        }
        free(all);
        vtool_exit(&v, n ? VA_SUCCESS : 255);
    }
}
