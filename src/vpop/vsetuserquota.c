/* SPDX-License-Identifier: ISC */
/*
 * vsetuserquota - set the Maildir++ quota of an account, or of every
 * account of a domain, as vpopmail's vsetuserquota (vsetuserquota(8)):
 * the argument is upper-cased and written in Maildir++ form ("10M" ->
 * "10485760S"); the Maildir's maildirsize is removed, so the next
 * delivery counts the mailbox afresh against the new quota.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vtool.h"

static void
usage(void)
{
    printf("vsetuserquota: [options] email_address|domain_name quota\n"
           "options:\n"
           "-v (print version number)\n"
           "\nIf you specify a domain name rather than an email address,\n"
           "the quota will be applied to all users in that domain\n");
}

/* set - one account's quota. */
static int
set(struct vadmin *v, const struct vdomain *d, struct vpw *pw,
    const char *quota)
{
    char *old = pw->quota;
    int err;

    pw->quota = (char *)quota;
    err = vadmin_user_set(v, d, pw, true);
    pw->quota = old;
    return err;
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vdomain d;
    struct vpw pw;
    struct bstr arg = BSTR_INIT, quota = BSTR_INIT, user = BSTR_INIT,
                domain = BSTR_INIT;
    int c, err;

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
    vtool_start("vsetuserquota", &v);
    if (bstr_copys(&arg, argv[optind + 1]) == -1)
        vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
    for (size_t i = 0; i < arg.len; i++)
        if (arg.s[i] >= 'a' && arg.s[i] <= 'z')
            arg.s[i] = (char)(arg.s[i] - 'a' + 'A');
    if (arg.len > VTOOL_QUOTA_MAX)
        vtool_fail(&v, VA_QUOTA_TOO_LONG, NULL);
    if (vtool_quota_format(arg.s, &quota) == -1) {
        printf("Error: %s: not a quota (10M, 1000C, 10485760S,1000C or "
               "NOQUOTA)\n",
               argv[optind + 1]);
        vtool_exit(&v, 255);
    }
    if (!strchr(argv[optind], '@')) {
        struct vpw_table t = {0};

        err = vdomain_find(argv[optind], strlen(argv[optind]), &d);
        if (err != 1)
            vtool_fail(&v, err == 0 ? VA_DOMAIN_DOES_NOT_EXIST
                                    : VA_CANNOT_READ_ASSIGN,
                       NULL);
        if (vdomain_is_alias(&d)) {
            struct vdomain r;

            err = vdomain_find(d.real.s, d.real.len, &r);
            vdomain_free(&d);
            if (err != 1)
                vtool_fail(&v, VA_DOMAIN_DOES_NOT_EXIST, NULL);
            d = r;
        }
        if (vauth_getall(&v.auth, &d, &t) == -1) {
            fprintf(stderr, "vsetuserquota: %s\n", v.auth.err.s);
            vtool_fail(&v, VA_NO_AUTH_CONNECTION, NULL);
        }
        for (size_t i = 0; i < t.n; i++) {
            err = set(&v, &d, &t.e[i], quota.s);
            if (err != VA_SUCCESS)
                vtool_fail(&v, err, NULL);
        }
        vpw_table_free(&t);
        vdomain_free(&d);
        vtool_exit(&v, VA_SUCCESS);
    }
    err = vadmin_parse_email(argv[optind], &user, &domain, &v.conf);
    if (err != VA_SUCCESS)
        vtool_fail(&v, VA_ILLEGAL_USERNAME, NULL);
    err = vadmin_find(&v, user.s, domain.s, &d, &pw);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    err = set(&v, &d, &pw, quota.s);
    vpw_free(&pw);
    vdomain_free(&d);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    bstr_free(&arg);
    bstr_free(&quota);
    bstr_free(&user);
    bstr_free(&domain);
    vtool_exit(&v, VA_SUCCESS);
}
