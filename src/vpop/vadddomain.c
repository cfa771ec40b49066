/* SPDX-License-Identifier: ISC */
/*
 * vadddomain - add a virtual domain with its postmaster account, as
 * vpopmail's vadddomain does (same options, output and exit codes; see
 * vadddomain(8)).  The change is atomic (vadmin.h).
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtool.h"

static void
usage(void)
{
    printf("vadddomain: usage: vadddomain [options] virtual_domain "
           "[postmaster password]\n"
           "options: -v prints the version\n"
           "         -q quota_in_bytes (sets the quota for postmaster "
           "account)\n"
           "         -b (bounces all mail that doesn't match a user, "
           "default)\n"
           "         -e email_address (forwards all non matching user to "
           "this address [*])\n"
           "         -u user (sets the uid/gid based on a user in "
           "/etc/passwd)\n"
           "         -d dir (sets the dir to use for this domain)\n"
           "         -i uid (sets the uid to use for this domain)\n"
           "         -g gid (sets the gid to use for this domain)\n"
           "         -O optimize adding, for bulk adds set this for all\n"
           "            except the last one\n"
           "         -r[len] (generate a len (default 8) char random "
           "postmaster password)\n"
           "\n"
           " [*] omit @-sign to deliver directly into user's Maildir: '-e "
           "postmaster'\n");
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vadmin_domain o = {0};
    struct vadmin_user u = {.apop = 1};
    struct bstr pass = BSTR_INIT, quota = BSTR_INIT, catchall = BSTR_INIT,
                dir = BSTR_INIT, domain = BSTR_INIT;
    const char *user = NULL, *q = NULL, *e = NULL, *d = NULL;
    long rlen = -1;
    bool uid_given = false, gid_given = false;
    int c, err;

    while ((c = getopt(argc, argv, "q:be:u:vi:g:d:Or::")) != -1) {
        switch (c) {
        case 'v':
            if (vtool_version() == -1)
                return 111;
            break;
        case 'q':
            q = optarg;
            break;
        case 'b':
            break; /* bouncing is the default */
        case 'e':
            e = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'i':
            o.uid = (uid_t)strtoul(optarg, NULL, 10);
            uid_given = true;
            break;
        case 'g':
            o.gid = (gid_t)strtoul(optarg, NULL, 10);
            gid_given = true;
            break;
        case 'd':
            d = optarg;
            break;
        case 'O':
            break; /* qmail-send rereads once per domain, cheaply */
        case 'r':
            rlen = optarg ? strtol(optarg, NULL, 10) : VTOOL_RANDOM_LEN;
            break;
        default:
            goto parsed;
        }
    }
parsed:
    if (user) {
        struct passwd *pw = getpwnam(user);

        if (!pw) {
            printf("Error: user %s not found in /etc/passwd\n", user);
            return 255;
        }
        o.uid = pw->pw_uid;
        o.gid = pw->pw_gid;
        uid_given = gid_given = true;
        if (!d)
            d = pw->pw_dir;
    }
    if (optind >= argc) {
        usage();
        return 0;
    }
    vtool_start("vadddomain", &v);
    if (uid_given || gid_given) {
        o.ids = true;
        if (!uid_given)
            o.uid = v.conf.uid;
        if (!gid_given)
            o.gid = v.conf.gid;
    }
    if (bstr_copys(&domain, argv[optind++]) == -1)
        vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
    for (size_t i = 0; i < domain.len; i++)
        if (domain.s[i] >= 'A' && domain.s[i] <= 'Z')
            domain.s[i] = (char)(domain.s[i] - 'A' + 'a');
    {
        struct vdomain found;
        int r = vdomain_find(domain.s, domain.len, &found);

        if (r == 1) {
            vdomain_free(&found);
            vtool_fail(&v, VA_DOMAIN_ALREADY_EXISTS, NULL);
        }
    }
    if (optind < argc) {
        if (bstr_copys(&pass, argv[optind++]) == -1)
            vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
    } else if (rlen >= 0) {
        if (rlen > VTOOL_PASS_MAX)
            vtool_fail(&v, VA_PASSWD_TOO_LONG, NULL);
        if (vtool_random((size_t)rlen, &pass) == -1)
            vtool_fail(&v, VA_CRYPT_FAILED, NULL);
    } else if (vtool_getpass("postmaster", true, &pass) == -1) {
        vtool_fail(&v, VA_CRYPT_FAILED, NULL);
    }
    if (pass.len > VTOOL_PASS_MAX)
        vtool_fail(&v, VA_PASSWD_TOO_LONG, NULL);
    if (q) {
        if (strlen(q) > VTOOL_QUOTA_MAX)
            vtool_fail(&v, VA_QUOTA_TOO_LONG, NULL);
        if (vtool_quota_format(q, &quota) == -1) {
            printf("Error: %s\n", "quota is not a quota (try 10M, 1000C "
                                  "or NOQUOTA)");
            vtool_exit(&v, VA_QUOTA_TOO_LONG);
        }
    }
    o.base = d;
    if (e) {
        /* an address, or the name of a mailbox of the new domain */
        if (strchr(e, '@') ||
            (bstr_catf(&dir, "%s/domains/%s/%s", d ? d : v.conf.home.s,
                       domain.s, e) == 0 &&
             strchr(e, '/') == NULL)) {
            if (bstr_copys(&catchall, strchr(e, '@') ? e : dir.s) == -1)
                vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
            o.catchall = catchall.s;
        } else {
            vtool_fail(&v, VA_INVALID_EMAIL_CHAR, NULL);
        }
        for (const char *p = e; *p; p++)
            if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '\'' ||
                *p == '"' || *p == '\\')
                vtool_fail(&v, VA_INVALID_EMAIL_CHAR, NULL);
    }
    u.clear = pass.s;
    u.gecos = "Postmaster";
    u.quota = q ? quota.s : NULL;
    err = vadmin_domain_add(&v, domain.s, &o, &u);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    if (rlen >= 0)
        printf("Random password: %s\n", pass.s);
    if (pass.s)
        explicit_bzero(pass.s, pass.len);
    bstr_free(&pass);
    bstr_free(&quota);
    bstr_free(&catchall);
    bstr_free(&dir);
    bstr_free(&domain);
    vtool_exit(&v, VA_SUCCESS);
}
