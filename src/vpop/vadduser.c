/* SPDX-License-Identifier: ISC */
/*
 * vadduser - add an account (mailbox) to a virtual domain, as vpopmail's
 * vadduser does (options, output, exit codes: vadduser(8)).  The
 * account's directory and Maildir are made first, then the account is
 * written to the store in one atomic step, then the domain's recipient
 * map is rebuilt (vadmin.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtool.h"

static void
usage(void)
{
    printf("vadduser: usage: [options] email_address [passwd]\n"
           "options: -v (print the version)\n"
           "         -q quota_in_bytes (sets the users quota, use NOQUOTA "
           "for unlimited)\n"
           "         -c comment (sets the gecos comment field)\n"
           "         -e standard_encrypted_password\n"
           "         -n no_password\n"
           "         -r[len] (generate a len (default 8) char random "
           "password)\n");
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vadmin_user u = {.apop = 1};
    struct bstr user = BSTR_INIT, domain = BSTR_INIT, pass = BSTR_INIT,
                quota = BSTR_INIT, email = BSTR_INIT;
    const char *q = NULL, *gecos = NULL, *crypted = NULL;
    bool nopass = false;
    long rlen = -1;
    int c, err;

    while ((c = getopt(argc, argv, "svc:nq:e:r::")) != -1) {
        switch (c) {
        case 'v':
            if (vtool_version() == -1)
                return 111;
            break;
        case 's':
            fprintf(stderr, "Warning: The -s option has been temporarily "
                            "disabled.\n");
            break;
        case 'c':
            gecos = optarg;
            break;
        case 'n':
            nopass = true;
            break;
        case 'q':
            q = optarg;
            break;
        case 'e':
            crypted = optarg;
            break;
        case 'r':
            rlen = optarg ? strtol(optarg, NULL, 10) : VTOOL_RANDOM_LEN;
            break;
        default:
            usage();
            return 255;
        }
    }
    if (optind >= argc) {
        usage();
        return 255;
    }
    vtool_start("vadduser", &v);
    err = vadmin_parse_email(argv[optind++], &user, &domain, &v.conf);
    if (err == VA_DOMAIN_DOES_NOT_EXIST) {
        printf("You did not use a full email address for the user name\n"
               "Only full email addresses should be used\n");
        vtool_exit(&v, 255);
    }
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    if (gecos) {
        if (strchr(gecos, ':'))
            vtool_fail(&v, VA_BAD_CHAR, NULL);
        if (strlen(gecos) > VTOOL_GECOS_MAX)
            vtool_fail(&v, VA_GECOS_TOO_LONG, NULL);
        for (const char *p = gecos; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                vtool_fail(&v, VA_BAD_CHAR, NULL);
    }
    {
        struct vdomain d;
        struct vpw pw;
        int r = vadmin_find(&v, user.s, domain.s, &d, &pw);

        if (r == VA_DOMAIN_DOES_NOT_EXIST)
            vtool_fail(&v, VA_DOMAIN_DOES_NOT_EXIST, NULL);
        if (r == VA_SUCCESS) {
            vpw_free(&pw);
            vdomain_free(&d);
            printf("Error: User already exists\n");
            vtool_exit(&v, 255);
        }
        if (r != VA_USER_DOES_NOT_EXIST)
            vtool_fail(&v, r, NULL);
    }
    if (!nopass && !crypted) {
        if (optind < argc) {
            if (bstr_copys(&pass, argv[optind++]) == -1)
                vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
        } else if (rlen >= 0) {
            if (rlen > VTOOL_PASS_MAX)
                vtool_fail(&v, VA_PASSWD_TOO_LONG, NULL);
            if (vtool_random((size_t)rlen, &pass) == -1)
                vtool_fail(&v, VA_CRYPT_FAILED, NULL);
        } else {
            if (bstr_catf(&email, "%s@%s", user.s, domain.s) == -1 ||
                vtool_getpass(email.s, true, &pass) == -1)
                vtool_fail(&v, VA_CRYPT_FAILED, NULL);
        }
        if (pass.len == 0) {
            printf("Error: No password entered\n");
            usage();
            vtool_exit(&v, 255);
        }
        if (pass.len > VTOOL_PASS_MAX)
            vtool_fail(&v, VA_PASSWD_TOO_LONG, NULL);
    }
    if (q) {
        if (strlen(q) > VTOOL_QUOTA_MAX)
            vtool_fail(&v, VA_QUOTA_TOO_LONG, NULL);
        if (vtool_quota_format(q, &quota) == -1) {
            printf("Error in vsetuserquota()\n");
            vtool_exit(&v, 255);
        }
    }
    u.gecos = gecos;
    u.quota = q ? quota.s : NULL;
    u.clear = nopass || crypted ? NULL : pass.s;
    u.crypted = crypted;
    err = vadmin_user_add(&v, user.s, domain.s, &u);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    if (rlen >= 0 && !nopass && !crypted)
        printf("Random password: %s\n", pass.s);
    if (pass.s)
        explicit_bzero(pass.s, pass.len);
    bstr_free(&pass);
    bstr_free(&user);
    bstr_free(&domain);
    bstr_free(&quota);
    bstr_free(&email);
    vtool_exit(&v, VA_SUCCESS);
}
