/* SPDX-License-Identifier: ISC */
/*
 * vmoduser - change an account's flags, quota, comment or password, or
 * those of every account of a domain, as vpopmail's vmoduser
 * (vmoduser(8)): the flag options OR their bits into the vpasswd gid
 * field (-x clears them first).  Each account is one atomic step of
 * the store; the domain's recipient map follows (-b, bounce all mail,
 * takes a name out of it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"
#include "vtool.h"

static void
usage(void)
{
    printf("vmoduser: usage: [options] email_addr or domain (for each user "
           "in domain)\n"
           "options: -v ( display the vpopmail version number )\n"
           "         -n ( don't rebuild the vpasswd.cdb file )\n"
           "         -q quota ( set quota )\n"
           "         -c comment (set the comment/gecos field )\n"
           "         -e encrypted_passwd (set the password field )\n"
           "         -C clear_text_passwd (set the password field )\n"
           "the following options are bit flags in the gid int field\n"
           "         -x ( clear all flags )\n"
           "         -d ( don't allow user to change password )\n"
           "         -p ( disable POP access )\n"
           "         -s ( disable SMTP AUTH access )\n"
           "         -w ( disable webmail [IMAP from localhost*] access )\n"
           "            ( * full list of webmail server IPs in vchkpw.c )\n"
           "         -i ( disable non-webmail IMAP access )\n"
           "         -b ( bounce all mail )\n"
           "         -o ( user is not subject to domain limits )\n"
           "         -r ( disable roaming user/pop-before-smtp )\n"
           "         -a ( grant qmailadmin administrator privileges )\n"
           "         -S ( grant system administrator privileges - access all "
           "domains )\n"
           "         -E ( grant expert privileges - edit .qmail files )\n"
           "         -f ( disable spamassassin)\n"
           "         -F ( delete spam)\n"
           "         -m ( disable maildrop)\n"
           "  [The following flags aren't used directly by vpopmail but are]\n"
           "  [included for other programs that share the user database.]\n"
           "         -u ( set no dialup flag )\n"
           "         -0 ( set V_USER0 flag )\n"
           "         -1 ( set V_USER1 flag )\n"
           "         -2 ( set V_USER2 flag )\n"
           "         -3 ( set V_USER3 flag )\n");
}

struct change {
    bool clear_flags, quota_set;
    unsigned long flags;
    const char *quota, *gecos, *crypted, *clear;
};

/* flag_bit - vpopmail's bit for a flag option, or 0. */
static unsigned long
flag_bit(int c)
{
    static const struct {
        char opt;
        unsigned long bit;
        bool root;
    } tab[] = {
        {'d', 0x01, false},    {'p', 0x02, false},    {'w', 0x04, false},
        {'i', 0x08, false},    {'b', 0x10, false},    {'r', 0x20, false},
        {'u', 0x40, false},    {'0', 0x80, false},    {'1', 0x100, false},
        {'2', 0x200, false},   {'3', 0x400, false},   {'s', 0x800, false},
        {'a', 0x1000, false},  {'o', 0x2000, false},  {'f', 0x4000, false},
        {'F', 0x8000, false},  {'S', 0x10000, true},  {'E', 0x20000, true},
        {'m', 0x40000, false},
    };

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (tab[i].opt == c)
            return tab[i].root && getuid() != 0 ? 0 : tab[i].bit;
    return 0;
}

/* replace - an owned string field of a vpw. */
static int
replace(char **field, const char *s)
{
    char *n = strdup(s);

    if (!n)
        return -1;
    free(*field);
    *field = n;
    return 0;
}

/* apply - the change to one account (pw, owned), written. */
static int
apply(struct vadmin *v, const struct vdomain *d, struct vpw *pw,
      const struct change *ch)
{
    if (ch->clear_flags)
        pw->gid = 0;
    pw->gid |= ch->flags;
    if ((ch->quota_set && replace(&pw->quota, ch->quota) == -1) ||
        (ch->gecos && replace(&pw->gecos, ch->gecos) == -1) ||
        (ch->crypted && !ch->clear && replace(&pw->passwd, ch->crypted) == -1))
        return VA_MEMORY_ALLOC_ERR;
    if (ch->crypted && !ch->clear) {
        /* the old password's clear text must not outlive its hash (it
         * would still log in with CRAM-MD5) */
        secret_free(pw->clear);
        pw->clear = NULL;
    }
    if (ch->clear)
        return vadmin_user_password(v, d, pw, ch->clear, ch->quota_set);
    return vadmin_user_set(v, d, pw, ch->quota_set);
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vdomain d;
    struct vpw pw;
    struct change ch = {0};
    struct bstr user = BSTR_INIT, domain = BSTR_INIT, quota = BSTR_INIT;
    int c, err;

    opterr = 1;
    while ((c = getopt(argc, argv, "D:avunxc:q:dpswibro0123he:C:fFSEm")) !=
           -1) {
        switch (c) {
        case 'v':
            if (vtool_version() == -1)
                return 111;
            break;
        case 'h':
            usage();
            return 0;
        case 'n':
            break;
        case 'x':
            ch.clear_flags = true;
            break;
        case 'c':
            ch.gecos = optarg;
            break;
        case 'q':
            ch.quota = optarg;
            ch.quota_set = true;
            break;
        case 'e':
            ch.crypted = optarg;
            break;
        case 'C':
            ch.clear = optarg;
            break;
        case 'D':
            printf("Error: -D (move the directory) is not supported: move "
                   "the mail with vdeluser and vadduser\n");
            return 255;
        default:
            ch.flags |= flag_bit(c);
            break; /* an unknown option was reported by getopt: go on */
        }
    }
    if (optind >= argc) {
        usage();
        return 255;
    }
    vtool_start("vmoduser", &v);
    if (ch.gecos && (strchr(ch.gecos, ':') || strlen(ch.gecos) >
                                                  VTOOL_GECOS_MAX))
        vtool_fail(&v, strchr(ch.gecos, ':') ? VA_BAD_CHAR
                                             : VA_GECOS_TOO_LONG,
                   NULL);
    if (ch.quota_set) {
        if (strlen(ch.quota) > VTOOL_QUOTA_MAX)
            vtool_fail(&v, VA_QUOTA_TOO_LONG, NULL);
        if (vtool_quota_format(ch.quota, &quota) == -1) {
            printf("Error: %s: not a quota (10M, 1000C or NOQUOTA)\n",
                   ch.quota);
            vtool_exit(&v, 255);
        }
        ch.quota = quota.s;
    }
    if (ch.clear && strlen(ch.clear) > VTOOL_PASS_MAX)
        vtool_fail(&v, VA_PASSWD_TOO_LONG, NULL);
    if (ch.crypted && strchr(ch.crypted, ':'))
        vtool_fail(&v, VA_BAD_CHAR, NULL);
    if (!strchr(argv[optind], '@')) {
        struct vpw_table t = {0};

        /* vpopmail is silent about an unknown domain here */
        err = vdomain_find(argv[optind], strlen(argv[optind]), &d);
        if (err != 1)
            vtool_exit(&v, err == 0 ? VA_SUCCESS : VA_CANNOT_READ_ASSIGN);
        if (vdomain_is_alias(&d)) {
            /* the accounts, and the map to rebuild, are the real one's */
            struct vdomain r;

            err = vdomain_find(d.real.s, d.real.len, &r);
            if (err != 1)
                vtool_fail(&v, VA_CANNOT_READ_ASSIGN, NULL);
            vdomain_free(&d);
            d = r;
        }
        if (vauth_getall(&v.auth, &d, &t) == -1) {
            fprintf(stderr, "vmoduser: %s\n", v.auth.err.s);
            vtool_fail(&v, VA_NO_AUTH_CONNECTION, NULL);
        }
        for (size_t i = 0; i < t.n; i++) {
            err = apply(&v, &d, &t.e[i], &ch);
            if (err != VA_SUCCESS)
                vtool_fail(&v, err, NULL);
        }
        vpw_table_free(&t);
        vdomain_free(&d);
        vtool_exit(&v, VA_SUCCESS);
    }
    err = vadmin_parse_email(argv[optind], &user, &domain, &v.conf);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    err = vadmin_find(&v, user.s, domain.s, &d, &pw);
    if (err == VA_USER_DOES_NOT_EXIST || err == VA_DOMAIN_DOES_NOT_EXIST) {
        printf("no such user %s@%s\n", user.s, domain.s);
        vtool_exit(&v, 255);
    }
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    err = apply(&v, &d, &pw, &ch);
    vpw_free(&pw);
    vdomain_free(&d);
    bstr_free(&user);
    bstr_free(&domain);
    bstr_free(&quota);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    vtool_exit(&v, VA_SUCCESS);
}
