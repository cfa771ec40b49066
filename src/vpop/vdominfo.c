/* SPDX-License-Identifier: ISC */
/*
 * vdominfo - show a virtual domain (and its aliases), or every one, in
 * vpopmail's vdominfo format (vdominfo(8)).  "users:" counts the
 * domain's accounts in the store (vpopmail printed its .dir-control
 * count, which is the same number unless that file had drifted).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"
#include "vassign.h"
#include "vtool.h"

enum { F_NAME = 1, F_UID = 2, F_GID = 4, F_DIR = 8, F_TOTAL = 16,
       F_REAL = 32 };

static void
usage(void)
{
    printf("vdominfo: usage: [options] [domain]\n"
           "options: -v (print version number)\n"
           "         -a (display all fields, this is the default)\n"
           "         -n (display domain name)\n"
           "         -u (display uid field)\n"
           "         -g (display gid field)\n"
           "         -d (display domain directory)\n"
           "         -t (display total users)\n"
           "         -r (display real domain)\n");
}

/* users - how many accounts the real domain has. */
static unsigned long
users(struct vadmin *v, const char *real)
{
    struct vdomain d;
    struct vpw_table t = {0};
    unsigned long n = 0;

    if (vdomain_find(real, strlen(real), &d) != 1)
        return 0;
    if (vauth_getall(&v->auth, &d, &t) == 0)
        n = t.n;
    vpw_table_free(&t);
    vdomain_free(&d);
    return n;
}

static void
block(struct vadmin *v, const char *name, const char *real, unsigned long uid,
      unsigned long gid, const char *dir, unsigned f, bool all)
{
    bool alias = strcmp(name, real) != 0;

    if (f == 0) {
        if (alias && all)
            printf("domain: %s (alias of %s)\n", name, real);
        else
            printf("domain: %s\n", alias ? real : name);
        printf("uid:    %lu\n", uid);
        printf("gid:    %lu\n", gid);
        printf("dir:    %s\n", dir);
        printf("users:  %lu\n", users(v, real));
        return;
    }
    if (f & F_NAME) {
        if (alias && all)
            printf("%s (alias of %s)\n", name, real);
        else
            printf("%s\n", alias ? real : name);
    }
    if (f & F_UID)
        printf("%lu\n", uid);
    if (f & F_GID)
        printf("%lu\n", gid);
    if (f & F_DIR)
        printf("%s\n", dir);
    if (f & F_TOTAL)
        printf("%lu\n", users(v, real));
    if (f & F_REAL)
        printf("%s\n", real);
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct bstr text = BSTR_INIT, aliases = BSTR_INIT, a = BSTR_INIT,
                b = BSTR_INIT, c3 = BSTR_INIT;
    struct vassign_line l;
    struct vdomain d;
    unsigned f = 0;
    size_t pos = 0;
    int c, r;

    while ((c = getopt(argc, argv, "vanugdtr")) != -1) {
        switch (c) {
        case 'v':
            if (vtool_version() == -1)
                return 111;
            break;
        case 'a': f = 0; break;
        case 'n': f |= F_NAME; break;
        case 'u': f |= F_UID; break;
        case 'g': f |= F_GID; break;
        case 'd': f |= F_DIR; break;
        case 't': f |= F_TOTAL; break;
        case 'r': f |= F_REAL; break;
        default:
            usage();
            return 255;
        }
    }
    vtool_start("vdominfo", &v);
    if (optind >= argc) {
        bool any = false;

        r = readfile_path("users/assign", &text, 1u << 30);
        if (r == -1) {
            printf("Can't get domain entries - %s\n",
                   verror(VA_CANNOT_READ_ASSIGN));
            vtool_exit(&v, VA_CANNOT_READ_ASSIGN);
        }
        while (vassign_next(text.s ? text.s : "", text.len, &pos, &l) == 1) {
            if (bstr_copyb(&a, l.domain, l.domainlen) == -1 ||
                bstr_copyb(&b, l.real, l.reallen) == -1 ||
                bstr_copyb(&c3, l.dir, l.dirlen) == -1)
                vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
            block(&v, a.s, b.s, l.uid, l.gid, c3.s, f, true);
            printf("\n");
            any = true;
        }
        if (!any)
            printf("What now - Success\n");
        vtool_exit(&v, VA_SUCCESS);
    }
    r = vdomain_find(argv[optind], strlen(argv[optind]), &d);
    if (r == -1) {
        printf("Can't get domain entries - %s\n",
               verror(VA_CANNOT_READ_ASSIGN));
        vtool_exit(&v, VA_CANNOT_READ_ASSIGN);
    }
    if (r == 0) {
        printf("Invalid domain name\n");
        vtool_exit(&v, VA_DOMAIN_DOES_NOT_EXIST);
    }
    block(&v, d.real.s, d.real.s, (unsigned long)d.uid, (unsigned long)d.gid,
          d.dir.s, f, false);
    if (vadmin_aliases(d.real.s, &aliases) == 0)
        for (size_t i = 0; i < aliases.len; i += strlen(aliases.s + i) + 1)
            printf("alias: %s\n", aliases.s + i);
    vdomain_free(&d);
    bstr_free(&aliases);
    bstr_free(&text);
    bstr_free(&a);
    bstr_free(&b);
    bstr_free(&c3);
    vtool_exit(&v, VA_SUCCESS);
}
