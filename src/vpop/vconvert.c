/* SPDX-License-Identifier: ISC */
/*
 * vconvert - move a domain's accounts between the two stores, as
 * vpopmail's vconvert moves them between its cdb files and SQL:
 *
 *   vconvert -c -m [domain ...]   vpasswd (cdb) into PostgreSQL
 *   vconvert -m -c [domain ...]   PostgreSQL into vpasswd and vpasswd.cdb
 *
 * The first option names the store read, the second the one written;
 * without domains, every virtual domain of users/assign (an alias
 * domain is said and skipped: it has no accounts of its own).  Each
 * domain is one atomic change: one transaction that makes the domain's
 * rows exactly the accounts of vpasswd, or vpasswd and vpasswd.cdb
 * replaced under vpopmail's lock; a domain that fails is left as it
 * was.  It works whatever control/vpopbackend says (convert first,
 * switch after); the database is control/vpoppgsql.
 *
 * Exit 0 when every domain was converted, 100 on a usage error or when a
 * domain cannot be (unknown, no vpasswd, an account the other store
 * cannot hold), 111 when something may work later (database down,
 * files unreadable).  Per domain, one line on stdout; the reasons on
 * stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "readfile.h"
#include "vassign.h"
#include "vauth.h"
#include "vauth_pg.h"
#include "vstore.h"
#include "vtool.h"

#define EXIT_PERM 100
#define EXIT_TEMP 111
#define ASSIGN_MAX (64 << 20)

enum store { STORE_NONE, STORE_CDB, STORE_SQL };

/* What one run converts, and with which stores. */
struct vconvert {
    enum store from, to;
    bool debug;
    struct vconf cdbconf, pgconf; /* shallow copies of conf */
    struct vauth cdb, pg;
    int status; /* the worst exit code so far */
};

static void
usage(void)
{
    printf("vconvert: usage\n"
           " The first option sets which format to convert FROM,\n"
           " the second option sets which format to convert TO.\n"
           " -c = cdb format (vpasswd, vpasswd.cdb)\n"
           " -m = sql format (PostgreSQL, control/vpoppgsql)\n"
           " -v = version\n"
           " -d = debug info\n");
}

/* failed - the domain's line ends in failure; temp or not. */
static void
failed(struct vconvert *cv, const char *why, const char *detail, bool temp)
{
    printf("domain conversion failed\n");
    fflush(stdout);
    fprintf(stderr, "%s: %s%s%s\n", log_prog(), why, detail ? ": " : "",
            detail ? detail : "");
    if (temp)
        cv->status = EXIT_TEMP;
    else if (cv->status == 0)
        cv->status = EXIT_PERM;
}

/* to_sql - d's vpasswd becomes d's rows in PostgreSQL. */
static void
to_sql(struct vconvert *cv, const struct vdomain *d)
{
    struct vpw_table t;
    struct bstr p = BSTR_INIT;

    if (bstr_catf(&p, "%s/vpasswd", d->dir.s) == -1) {
        failed(cv, "no memory", NULL, true);
        return;
    }
    if (access(p.s, F_OK) == -1) { /* vpopmail's: nothing to convert */
        failed(cv, "unable to read", p.s, errno != ENOENT);
        bstr_free(&p);
        return;
    }
    bstr_free(&p);
    if (vauth_getall(&cv->cdb, d, &t) == -1) {
        failed(cv, cv->cdb.err.s, NULL, errno != EINVAL);
        return;
    }
    for (size_t i = 0; cv->debug && i < t.n; i++)
        printf("%s ", t.e[i].name);
    if (vauth_pg_replace(&cv->pg, d, &t) == -1)
        failed(cv, cv->pg.err.s, NULL, errno != EINVAL && errno != EEXIST);
    else
        printf("done\n");
    vpw_table_free(&t);
}

/* to_cdb - d's rows in PostgreSQL become vpasswd and vpasswd.cdb. */
static void
to_cdb(struct vconvert *cv, const struct vdomain *d)
{
    struct vpw_table t;
    struct vstore vs;
    int e;

    if (vauth_getall(&cv->pg, d, &t) == -1) {
        failed(cv, cv->pg.err.s, NULL, true);
        return;
    }
    for (size_t i = 0; cv->debug && i < t.n; i++)
        printf("%s ", t.e[i].name);
    if (vstore_lock(&vs, d->dir.s, d->uid, d->gid) == -1) {
        vpw_table_free(&t);
        failed(cv, "unable to lock vpasswd in", d->dir.s, true);
        return;
    }
    e = vstore_save(&vs, &t) == -1 ? errno : 0;
    vstore_unlock(&vs);
    vpw_table_free(&t);
    if (e == EINVAL)
        failed(cv, "an account cannot be a vpasswd line in", d->dir.s, false);
    else if (e)
        failed(cv, "unable to write vpasswd in", d->dir.s, true);
    else
        printf("done\n");
}

/* convert - one domain named on the command line or in users/assign. */
static void
convert(struct vconvert *cv, const char *name)
{
    struct vdomain d;
    int r;

    r = vdomain_find(name, strlen(name), &d);
    if (r == 1 && vdomain_is_alias(&d)) {
        printf("%s is an alias of %s.\n", d.name.s, d.real.s);
        vdomain_free(&d);
        return;
    }
    printf("converting %s... ", r == 1 ? d.name.s : name);
    fflush(stdout);
    if (r == -1)
        failed(cv, "unable to read", "users/cdb", true);
    else if (r == 0)
        failed(cv, "no such virtual domain", name, false);
    else if (cv->from == STORE_CDB)
        to_sql(cv, &d);
    else
        to_cdb(cv, &d);
    fflush(stdout);
    if (r == 1)
        vdomain_free(&d);
}

/*
 * all_domains - every "+DOMAIN-:..." line of users/assign, in order.
 * 0, or -1 (the file could not be read).
 */
static int
all_domains(struct vconvert *cv)
{
    struct bstr text = BSTR_INIT, name = BSTR_INIT;
    const char *s, *end;

    if (readfile_path("users/assign", &text, ASSIGN_MAX) == -1)
        return -1;
    s = text.s ? text.s : "";
    end = s + text.len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
        const char *colon = memchr(s, ':', n);

        if (n >= 3 && s[0] == '+' && colon && colon - s >= 3 &&
            colon[-1] == '-' &&
            vdomain_name_ok(s + 1, (size_t)(colon - s - 2)) &&
            bstr_copyb(&name, s + 1, (size_t)(colon - s - 2)) == 0)
            convert(cv, name.s);
        s += n + (nl ? 1 : 0);
    }
    bstr_free(&text);
    bstr_free(&name);
    return 0;
}

int
main(int argc, char **argv)
{
    struct vconvert cv = {.from = STORE_NONE, .to = STORE_NONE};
    struct vconf conf;
    int c;

    while ((c = getopt(argc, argv, "cmvd")) != -1) {
        enum store s = c == 'c' ? STORE_CDB : STORE_SQL;

        switch (c) {
        case 'c':
        case 'm':
            if (cv.from == STORE_NONE)
                cv.from = s;
            else
                cv.to = s;
            break;
        case 'v':
            if (vtool_version() == -1)
                return EXIT_TEMP;
            break;
        case 'd':
            cv.debug = true;
            break;
        default:
            usage();
            return EXIT_PERM;
        }
    }
    if (cv.from == STORE_NONE || cv.to == STORE_NONE || cv.from == cv.to) {
        usage();
        return EXIT_PERM;
    }
    vtool_start_ro("vconvert", &conf);
    if (conf.backend != VCONF_PGSQL) { /* converting before the switch */
        int r = ctl_readline("control/vpoppgsql", &conf.pgconn);

        if (r != 1) {
            printf("Error: unable to read control/vpoppgsql: %s\n",
                   r == 0 ? "no such file" : strerror(errno));
            return r == 0 ? EXIT_PERM : EXIT_TEMP;
        }
    }
    cv.cdbconf = conf;
    cv.cdbconf.backend = VCONF_CDB;
    cv.pgconf = conf;
    cv.pgconf.backend = VCONF_PGSQL;
    if (vauth_init(&cv.cdb, &cv.cdbconf) == -1 ||
        vauth_init(&cv.pg, &cv.pgconf) == -1) {
        printf("Error: no memory\n");
        return EXIT_TEMP;
    }
    if (optind == argc) {
        if (all_domains(&cv) == -1) {
            printf("Error: unable to read users/assign: %s\n", strerror(errno));
            cv.status = EXIT_TEMP;
        }
    } else {
        for (; optind < argc; optind++)
            convert(&cv, argv[optind]);
    }
    vauth_close(&cv.cdb);
    vauth_close(&cv.pg);
    vconf_free(&conf);
    return cv.status;
}
