/* SPDX-License-Identifier: ISC */
/*
 * vdeldomain - remove a virtual domain (its accounts, mail and control
 * lines) or an alias domain, as vpopmail's vdeldomain does: a domain
 * with aliases is removed only with -f, which takes the aliases too.
 * Atomic (vadmin.h).  See vdeldomain(8).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vtool.h"

static void
usage(void)
{
    printf("vdeldomain: usage: [options] domain_name\n"
           "options: -v (print version number)\n"
           "options: -f (force delete of virtual domains)\n");
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vdomain d;
    struct bstr aliases = BSTR_INIT;
    bool force = false;
    int c, r, err;

    while ((c = getopt(argc, argv, "vf")) != -1) {
        if (c == 'v') {
            if (vtool_version() == -1)
                return 111;
        } else if (c == 'f') {
            force = true;
        } else {
            usage();
            return 255;
        }
    }
    if (optind >= argc) {
        usage();
        return 0;
    }
    vtool_start("vdeldomain", &v);
    r = vdomain_find(argv[optind], strlen(argv[optind]), &d);
    if (r == -1) {
        printf("Error: Can't get domain entries - %s\n",
               verror(VA_CANNOT_READ_ASSIGN));
        vtool_exit(&v, VA_CANNOT_READ_ASSIGN);
    }
    if (r == 0)
        vtool_fail(&v, VA_DOMAIN_DOES_NOT_EXIST, NULL);
    if (!vdomain_is_alias(&d)) {
        if (vadmin_aliases(d.name.s, &aliases) == -1) {
            printf("Error: Can't get domain entries - %s\n",
                   "can't read users/assign file");
            vtool_exit(&v, VA_CANNOT_READ_ASSIGN);
        }
        if (aliases.len) {
            printf("Warning: Alias domains %s:\n", force ? "deleted" : "exist");
            for (size_t i = 0; i < aliases.len; i += strlen(aliases.s + i) + 1)
                printf("   %s\n", aliases.s + i);
            if (!force) {
                printf("   use -f to force delete of domain and all "
                       "aliases\n");
                vdomain_free(&d);
                bstr_free(&aliases);
                vtool_exit(&v, VA_SUCCESS);
            }
        }
    }
    err = vadmin_domain_del(&v, d.name.s);
    vdomain_free(&d);
    bstr_free(&aliases);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    vtool_exit(&v, VA_SUCCESS);
}
