/* SPDX-License-Identifier: ISC */
/*
 * vaddaliasdomain - make one domain another name of an existing virtual
 * domain (mail to user@alias goes to user@real), as vpopmail's tool
 * does: whichever of the two arguments exists is the real domain.
 * Atomic (vadmin.h).  See vaddaliasdomain(8).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vtool.h"

static void
usage(void)
{
    printf("vaddaliasdomain: usage: [options] real_domain alias_domain\n"
           "options: -v (print version number)\n"
           "note: for backward compatability, you can swap real_domain and "
           "alias_domain.\n");
}

/* lowered - a lower-case copy. */
static void
lowered(struct bstr *b, const char *s)
{
    if (bstr_copys(b, s) == -1) {
        printf("Error: %s\n", verror(VA_MEMORY_ALLOC_ERR));
        _exit(VA_MEMORY_ALLOC_ERR & 0xff);
    }
    for (size_t i = 0; i < b->len; i++)
        if (b->s[i] >= 'A' && b->s[i] <= 'Z')
            b->s[i] = (char)(b->s[i] - 'A' + 'a');
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vdomain da, db;
    struct bstr a = BSTR_INIT, b = BSTR_INIT;
    int c, ra, rb, err;

    while ((c = getopt(argc, argv, "v")) != -1) {
        if (c != 'v') {
            usage();
            return 255;
        }
        if (vtool_version() == -1)
            return 111;
    }
    if (argc - optind < 2) {
        usage();
        return 255;
    }
    if (strcmp(argv[optind], argv[optind + 1]) == 0) {
        printf("Error: real domain and alias domain are the same!\n");
        usage();
        return 255;
    }
    vtool_start("vaddaliasdomain", &v);
    lowered(&a, argv[optind]);
    lowered(&b, argv[optind + 1]);
    ra = vdomain_find(a.s, a.len, &da);
    rb = vdomain_find(b.s, b.len, &db);
    if (ra == -1 || rb == -1)
        vtool_fail(&v, VA_CANNOT_READ_ASSIGN, NULL);
    if (ra == 1 && rb == 1) {
        printf("Error: Both domains already exist, unable to create "
               "alias.\n");
        vtool_exit(&v, 255);
    }
    if (ra == 0 && rb == 0) {
        printf("Error: Neither '%s' or '%s'  exist, unable to create "
               "alias.\n",
               a.s, b.s);
        vtool_exit(&v, 255);
    }
    if (ra == 1) {
        err = vadmin_alias_add(&v, b.s, da.real.s);
        vdomain_free(&da);
    } else {
        err = vadmin_alias_add(&v, a.s, db.real.s);
        vdomain_free(&db);
    }
    bstr_free(&a);
    bstr_free(&b);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    vtool_exit(&v, VA_SUCCESS);
}
