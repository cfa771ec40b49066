/* SPDX-License-Identifier: ISC */
/*
 * vuserinfo - show an account, or every account of a domain (-D), in
 * vpopmail's vuserinfo format (vuserinfo(8)).  Only reads.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "quota.h"
#include "readfile.h"
#include "vtool.h"

enum { F_NAME = 1, F_PASS = 2, F_CLEAR = 4, F_UID = 8, F_GID = 16,
       F_COMMENT = 32, F_DIR = 64, F_QUOTA = 128, F_USAGE = 256,
       F_LAST = 512 };

static void
usage(void)
{
    printf("vuserinfo: usage: [options] email_address\n"
           "options: -v (print version number)\n"
           "         -a (display all fields, this is the default)\n"
           "         -n (display name field)\n"
           "         -p (display crypted password)\n"
           "         -u (display uid field)\n"
           "         -g (display gid field)\n"
           "         -c (display comment field)\n"
           "         -d (display directory)\n"
           "         -q (display quota field)\n"
           "         -Q (display quota usage)\n"
           "         -C (display clear text password)\n"
           "         -D domainname (show all users on this domain)\n");
}

/* percent - the mailbox's use of its quota, from its maildirsize. */
static unsigned
percent(const struct vpw *pw)
{
    struct bstr p = BSTR_INIT, t = BSTR_INIT;
    struct mdquota q, fq;
    struct mdusage u = {0, 0};
    size_t lines;
    unsigned r = 0;

    if (mdq_parse(pw->quota, strlen(pw->quota), &q) == -1)
        return 0;
    if (bstr_catf(&p, "%s/Maildir/maildirsize", pw->dir) == 0 &&
        readfile_path(p.s, &t, 1 << 20) == 1 &&
        mdsize_parse(t.s, t.len, &fq, &u, &lines) == 0)
        r = mdq_percent(&q, &u);
    bstr_free(&p);
    bstr_free(&t);
    return r;
}

static void
limit(const struct vpw *pw, unsigned long bit, const char *text)
{
    if (pw->gid & bit)
        printf("        %s\n", text);
}

static void
show(const struct vpw *pw, unsigned f)
{
    static const struct {
        unsigned long bit;
        const char *text;
    } lim[] = {
        {0x01, "password can not be changed by user"},
        {0x02, "pop access closed"},
        {0x04, "webmail access closed"},
        {0x08, "imap access closed"},
        {0x800, "smtp access is closed"},
        {0x20, "user not allowed to relay mail"},
        {0x4000, "spamassassin processing disabled"},
        {0x8000, "delete spam"},
        {0x40000, "maildrop processing disabled"},
        {0x40, "no dialup flag has been set"},
        {0x10, "mail will be bounced back to sender"},
        {0x1000, "has qmailadmin administrator access"},
        {0x10000, "has system administrator access"},
        {0x20000, "has expert access"},
        {0x80, "user flag 0 is set"},
        {0x100, "user flag 1 is set"},
        {0x200, "user flag 2 is set"},
        {0x400, "user flag 3 is set"},
        {0x2000, "user is not subject to domain limits"},
    };
    bool noquota = strcmp(pw->quota, "NOQUOTA") == 0;

    if (f == 0) {
        printf("name:   %s\n", pw->name);
        printf("passwd: %s\n", pw->passwd);
        printf("clear passwd: %s\n", pw->clear ? pw->clear : "");
        printf("comment/gecos: %s\n", pw->gecos);
        printf("uid:    %lu\n", pw->uid);
        printf("gid:    %lu\n", pw->gid);
        printf("flags:  %lu\n", pw->gid);
        printf("gecos: %s\n", pw->gecos);
        if (pw->gid == 0) {
            printf("limits: No user limits set.\n");
        } else {
            printf("limits:\n");
            for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++)
                limit(pw, lim[i].bit, lim[i].text);
        }
        printf("dir:       %s\n", pw->dir);
        printf("quota:     %s\n", pw->quota);
        if (noquota)
            printf("usage:     %s\n", pw->quota);
        else
            printf("usage:     %u%%\n", percent(pw));
        return;
    }
    if (f & F_NAME)
        printf("%s\n", pw->name);
    if (f & F_PASS)
        printf("%s\n", pw->passwd);
    if (f & F_CLEAR)
        printf("%s\n", pw->clear ? pw->clear : "");
    if (f & F_UID)
        printf("%lu\n", pw->uid);
    if (f & F_GID)
        printf("%lu\n", pw->gid);
    if (f & F_COMMENT)
        printf("%s\n", pw->gecos);
    if (f & F_DIR)
        printf("%s\n", pw->dir);
    if (f & F_QUOTA)
        printf("%s\n", pw->quota);
    if (f & F_USAGE) {
        if (noquota)
            printf("%s\n", pw->quota);
        else
            printf("%u%%\n", percent(pw));
    }
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vdomain d;
    struct vpw pw;
    struct bstr user = BSTR_INIT, domain = BSTR_INIT;
    const char *D = NULL;
    unsigned f = 0;
    int c, err;

    while ((c = getopt(argc, argv, "anpugcdqQvlD:C")) != -1) {
        switch (c) {
        case 'D': D = optarg; break;
        case 'v':
            if (vtool_version() == -1)
                return 111;
            break;
        case 'n': f |= F_NAME; break;
        case 'p': f |= F_PASS; break;
        case 'u': f |= F_UID; break;
        case 'g': f |= F_GID; break;
        case 'c': f |= F_COMMENT; break;
        case 'C': f |= F_CLEAR; break;
        case 'd': f |= F_DIR; break;
        case 'q': f |= F_QUOTA; break;
        case 'Q': f |= F_USAGE; break;
        case 'l': f |= F_LAST; break;
        case 'a': f = 0; break;
        default:
            usage();
            return 255;
        }
    }
    if (optind >= argc && !D) {
        usage();
        return 255;
    }
    vtool_start("vuserinfo", &v);
    if (D) {
        struct vpw_table t = {0};

        err = vdomain_find(D, strlen(D), &d);
        if (err == 1 && vdomain_is_alias(&d)) {
            struct vdomain r;

            err = vdomain_find(d.real.s, d.real.len, &r);
            vdomain_free(&d);
            d = r;
        }
        if (err != 1)
            vtool_fail(&v, err == 0 ? VA_DOMAIN_DOES_NOT_EXIST
                                    : VA_CANNOT_READ_ASSIGN,
                       NULL);
        if (vauth_getall(&v.auth, &d, &t) == -1) {
            fprintf(stderr, "vuserinfo: %s\n", v.auth.err.s);
            vtool_fail(&v, VA_NO_AUTH_CONNECTION, NULL);
        }
        for (size_t i = 0; i < t.n; i++) {
            printf("------------------------------------------\n");
            show(&t.e[i], f);
        }
        vpw_table_free(&t);
        vdomain_free(&d);
        vtool_exit(&v, VA_SUCCESS);
    }
    err = vadmin_parse_email(argv[optind], &user, &domain, &v.conf);
    if (err != VA_SUCCESS)
        vtool_fail(&v, VA_ILLEGAL_USERNAME, NULL);
    err = vadmin_find(&v, user.s, domain.s, &d, &pw);
    if (err == VA_USER_DOES_NOT_EXIST || err == VA_DOMAIN_DOES_NOT_EXIST) {
        printf("no such user %s@%s\n", user.s, domain.s);
        vtool_exit(&v, 255);
    }
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    show(&pw, f);
    vpw_free(&pw);
    vdomain_free(&d);
    bstr_free(&user);
    bstr_free(&domain);
    vtool_exit(&v, VA_SUCCESS);
}
