/* SPDX-License-Identifier: ISC */
/*
 * vdeluser - remove an account and its mail, as vpopmail's vdeluser
 * (vdeluser(8)): the account leaves the store in one atomic step, the
 * recipient map follows, then its directory is moved aside and removed.
 */
#include <stdio.h>
#include <unistd.h>

#include "vtool.h"

static void
usage(void)
{
    printf("vdeluser: usage: [options] email_address\n"
           "options: -v (print version number)\n");
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct bstr user = BSTR_INIT, domain = BSTR_INIT;
    int c, err;

    while ((c = getopt(argc, argv, "v")) != -1) {
        if (c != 'v') {
            usage();
            return 255;
        }
        if (vtool_version() == -1)
            return 111;
    }
    if (optind >= argc) {
        usage();
        return 255;
    }
    vtool_start("vdeluser", &v);
    err = vadmin_parse_email(argv[optind], &user, &domain, &v.conf);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err == VA_DOMAIN_DOES_NOT_EXIST ? err
                                                       : VA_ILLEGAL_USERNAME,
                   NULL);
    if (user.len == 0)
        vtool_fail(&v, VA_ILLEGAL_USERNAME, NULL);
    err = vadmin_user_del(&v, user.s, domain.s);
    bstr_free(&user);
    bstr_free(&domain);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    vtool_exit(&v, VA_SUCCESS);
}
