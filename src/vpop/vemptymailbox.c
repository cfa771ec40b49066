/* SPDX-License-Identifier: ISC */
/*
 * vemptymailbox - empty a full mailbox safely: what the guides do with
 * "cd .../Maildir; rm -rf new/(all) cur; mkdir cur; chown -R ...", without
 * removing directories (a delivery racing the rm lost its new/), without
 * following links, without leaving root-owned directories behind, and
 * with the quota state brought up to date.  Each message file in new/
 * and cur/ of the account's Maildir (and, with -a, of every Maildir++
 * folder) is removed; tmp/ keeps deliveries in progress; maildirsize
 * goes, so the next delivery counts afresh; the account's over-quota
 * flag is cleared.  -n lists what would go.  See vemptymailbox(8).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rcptmap.h"
#include "vtool.h"

struct tally {
    unsigned long files;
    unsigned long long bytes;
    bool dry;
    bool bad;
};

static void
usage(void)
{
    printf("vemptymailbox: usage: [options] email_address\n"
           "options: -v (print version number)\n"
           "         -a (empty every folder, not only the inbox)\n"
           "         -n (count what would be removed, remove nothing)\n");
}

/* sweep - the plain files of dir/sub removed (or counted). */
static void
sweep(const char *dir, const char *sub, struct tally *t)
{
    struct bstr p = BSTR_INIT;
    DIR *d;
    struct dirent *de;

    if (bstr_catf(&p, "%s/%s", dir, sub) == -1) {
        t->bad = true;
        return;
    }
    d = opendir(p.s);
    if (!d) {
        if (errno != ENOENT) {
            printf("%s: %s\n", p.s, strerror(errno));
            t->bad = true;
        }
        bstr_free(&p);
        return;
    }
    while ((de = readdir(d))) {
        struct stat st;

        if (de->d_name[0] == '.')
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
            !S_ISREG(st.st_mode))
            continue;
        if (!t->dry && unlinkat(dirfd(d), de->d_name, 0) == -1) {
            if (errno != ENOENT) {
                printf("%s/%s: %s\n", p.s, de->d_name, strerror(errno));
                t->bad = true;
            }
            continue;
        }
        t->files++;
        t->bytes += (unsigned long long)st.st_size;
    }
    closedir(d);
    bstr_free(&p);
}

/* folders - every Maildir++ folder (.NAME directories) of maildir. */
static void
folders(const char *maildir, struct tally *t)
{
    DIR *d = opendir(maildir);
    struct dirent *de;
    struct bstr p = BSTR_INIT;

    while (d && (de = readdir(d))) {
        struct stat st;

        if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
            strcmp(de->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
            !S_ISDIR(st.st_mode))
            continue;
        bstr_truncate(&p, 0);
        if (bstr_catf(&p, "%s/%s", maildir, de->d_name) == -1)
            break;
        sweep(p.s, "new", t);
        sweep(p.s, "cur", t);
    }
    if (d)
        closedir(d);
    bstr_free(&p);
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vdomain d;
    struct vpw pw;
    struct bstr user = BSTR_INIT, domain = BSTR_INIT, md = BSTR_INIT,
                p = BSTR_INIT;
    struct tally t = {0};
    bool all = false;
    int c, err;

    while ((c = getopt(argc, argv, "van")) != -1) {
        if (c == 'v') {
            if (vtool_version() == -1)
                return 111;
        } else if (c == 'a') {
            all = true;
        } else if (c == 'n') {
            t.dry = true;
        } else {
            usage();
            return 255;
        }
    }
    if (optind >= argc) {
        usage();
        return 255;
    }
    vtool_start("vemptymailbox", &v);
    err = vadmin_parse_email(argv[optind], &user, &domain, &v.conf);
    if (err != VA_SUCCESS)
        vtool_fail(&v, VA_ILLEGAL_USERNAME, NULL);
    err = vadmin_find(&v, user.s, domain.s, &d, &pw);
    if (err != VA_SUCCESS)
        vtool_fail(&v, err, NULL);
    if (bstr_catf(&md, "%s/Maildir", pw.dir) == -1)
        vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
    sweep(md.s, "new", &t);
    sweep(md.s, "cur", &t);
    if (all)
        folders(md.s, &t);
    if (!t.dry) {
        if (bstr_catf(&p, "%s/maildirsize", md.s) == 0 && unlink(p.s) == -1 &&
            errno != ENOENT) {
            printf("%s: %s\n", p.s, strerror(errno));
            t.bad = true;
        }
        if (rcptmap_overquota_set(v.conf.qmailhome.s, pw.name, d.name.s,
                                  false) == -1 &&
            errno != ENOENT) {
            printf("%s/%s@%s: %s\n", RCPTMAP_OVERQUOTA_DIR, pw.name,
                   d.name.s, strerror(errno));
            t.bad = true;
        }
    }
    printf("%s %s@%s: %lu messages, %llu bytes\n",
           t.dry ? "would empty" : "emptied", pw.name, d.name.s, t.files,
           t.bytes);
    vpw_free(&pw);
    vdomain_free(&d);
    bstr_free(&user);
    bstr_free(&domain);
    bstr_free(&md);
    bstr_free(&p);
    vtool_exit(&v, t.bad ? 111 : 0);
}
