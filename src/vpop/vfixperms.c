/* SPDX-License-Identifier: ISC */
/*
 * vfixperms - give virtual domains the owners and modes vpopmail leaves
 * (directories 700, files 600, the domain's uid and gid), what the
 * seeds' "chown -R vpopmail.vchkpw; chmod 700 dirs, 600 files" loop
 * does, without its dangers: links are never followed or changed, only
 * directories and plain files are touched, file names with spaces or
 * newlines are no trouble.  ~vpopmail/domains itself becomes 711 (so
 * qmail-smtpd can see when a domain changed; vadddomain(8)).  With no
 * argument, every virtual domain of users/assign.  See vfixperms(8).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readfile.h"
#include "vassign.h"
#include "vfs.h"
#include "vtool.h"

static void
usage(void)
{
    printf("vfixperms: usage: [options] [domain ...]\n"
           "options: -v (print version number)\n");
}

/* fix - one domain's tree; 0, or 1 on trouble (said). */
static int
fix(struct vadmin *v, const struct vdomain *d)
{
    struct vfs_fix fx;

    if (vfs_fixtree(d->dir.s, d->uid, d->gid, v->conf.root, &fx) == -1) {
        printf("%s: %s: %s\n", d->name.s, d->dir.s, strerror(errno));
        return 1;
    }
    printf("%s: %lu directories, %lu files, %lu changed, %lu links and "
           "others left alone\n",
           d->name.s, fx.dirs, fx.files, fx.changed, fx.skipped);
    if (fx.failed) {
        printf("%s: %lu could not be changed: %s\n", d->name.s, fx.failed,
               strerror(fx.first_errno));
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct vadmin v;
    struct vdomain d;
    struct bstr text = BSTR_INIT, name = BSTR_INIT, domains = BSTR_INIT;
    int c, bad = 0;

    while ((c = getopt(argc, argv, "v")) != -1) {
        if (c != 'v') {
            usage();
            return 255;
        }
        if (vtool_version() == -1)
            return 111;
    }
    vtool_start("vfixperms", &v);
    if (vconf_domains_dir(&v.conf, &domains) == 0 &&
        chmod(domains.s, 0711) == -1 && errno != ENOENT) {
        printf("%s: %s\n", domains.s, strerror(errno));
        bad = 1;
    }
    if (optind < argc) {
        for (int i = optind; i < argc; i++) {
            int r = vdomain_find(argv[i], strlen(argv[i]), &d);

            if (r != 1) {
                printf("%s: %s\n", argv[i],
                       verror(r == 0 ? VA_DOMAIN_DOES_NOT_EXIST
                                     : VA_CANNOT_READ_ASSIGN));
                bad = 1;
                continue;
            }
            if (!vdomain_is_alias(&d))
                bad |= fix(&v, &d);
            vdomain_free(&d);
        }
    } else {
        struct vassign_line l;
        size_t pos = 0;

        if (readfile_path("users/assign", &text, 1u << 30) == -1) {
            printf("Error: %s\n", verror(VA_CANNOT_READ_ASSIGN));
            vtool_exit(&v, VA_CANNOT_READ_ASSIGN);
        }
        while (vassign_next(text.s ? text.s : "", text.len, &pos, &l) == 1) {
            if (l.domainlen != l.reallen ||
                memcmp(l.domain, l.real, l.reallen) != 0)
                continue; /* an alias has no tree of its own */
            if (bstr_copyb(&name, l.domain, l.domainlen) == -1)
                vtool_fail(&v, VA_MEMORY_ALLOC_ERR, NULL);
            if (vdomain_find(name.s, name.len, &d) != 1) {
                printf("%s: in users/assign but not in users/cdb (run "
                       "qmail-newu)\n",
                       name.s);
                bad = 1;
                continue;
            }
            bad |= fix(&v, &d);
            vdomain_free(&d);
        }
    }
    bstr_free(&text);
    bstr_free(&name);
    bstr_free(&domains);
    vtool_exit(&v, bad ? 111 : 0);
}
