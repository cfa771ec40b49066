/* SPDX-License-Identifier: ISC */
/*
 * vpasswd - set an account's password, as vpopmail's vpasswd
 * (vpasswd(8)): a new yescrypt hash replaces the old one in one atomic
 * step of the store.  An account that may not change its password
 * (vmoduser -d) is refused as vpopmail refuses it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vtool.h"

static void
usage(void)
{
    printf("vpasswd: usage: [options] email_address [password]\n"
           "options: -v (print version number)\n"
           "         -r generate a random password\n");
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vdomain d;
    struct vpw pw;
    struct bstr user = BSTR_INIT, domain = BSTR_INIT, pass = BSTR_INIT,
                email = BSTR_INIT;
    bool rnd = false;
    int c, err;

    while ((c = getopt(argc, argv, "vr")) != -1) {
        if (c == 'v') {
            if (vtool_version() == -1)
                return 111;
        } else if (c == 'r') {
            rnd = true;
        } else {
            usage();
            return 255;
        }
    }
    if (optind >= argc) {
        usage();
        return 255;
    }
    vtool_start("vpasswd", &v);
    err = vadmin_parse_email(argv[optind++], &user, &domain, &v.conf);
    if (err != VA_SUCCESS)
        vtool_fail(&v, VA_ILLEGAL_USERNAME, NULL);
    if (optind < argc) {
        if (bstr_copys(&pass, argv[optind]) == -1)
            vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
    } else if (rnd) {
        if (vtool_random(VTOOL_RANDOM_LEN, &pass) == -1)
            vtool_fail(&v, VA_CRYPT_FAILED, NULL);
    } else if (bstr_catf(&email, "%s@%s", user.s, domain.s) == -1 ||
               vtool_getpass(email.s, true, &pass) == -1) {
        vtool_fail(&v, VA_CRYPT_FAILED, NULL);
    }
    if (pass.len > VTOOL_PASS_MAX)
        vtool_fail(&v, VA_PASSWD_TOO_LONG, NULL);
    if (user.len > 32)
        vtool_fail(&v, VA_USER_NAME_TOO_LONG, NULL);
    err = vadmin_find(&v, user.s, domain.s, &d, &pw);
    /* vpopmail says "Illegal username" for a missing user or domain */
    if (err == VA_USER_DOES_NOT_EXIST || err == VA_DOMAIN_DOES_NOT_EXIST)
        vtool_fail(&v, VA_ILLEGAL_USERNAME, NULL);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    if (pw.gid & VPW_NO_PASSWD_CHNG)
        vtool_fail(&v, VA_ILLEGAL_USERNAME, NULL);
    err = vadmin_user_password(&v, &d, &pw, pass.s ? pass.s : "", false);
    vpw_free(&pw);
    vdomain_free(&d);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    if (rnd)
        printf("Random password: %s\n", pass.s);
    if (pass.s)
        explicit_bzero(pass.s, pass.len);
    bstr_free(&pass);
    bstr_free(&user);
    bstr_free(&domain);
    bstr_free(&email);
    vtool_exit(&v, VA_SUCCESS);
}
