/* SPDX-License-Identifier: ISC */
/*
 * test_vstore - a domain's vpasswd and vpasswd.cdb on disk: a first
 * account in an empty domain, the files' bytes (vpopmail's line, the cdb
 * record of the name and the rest of the line) and modes, lookups
 * through the cdb, a crash between the two renames (a cdb older than
 * vpasswd: lookups see the old state, the next lock rebuilds it), a
 * vpasswd with a bad line, and no temporary file left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cdbmap.h"
#include "harness.h"
#include "readfile.h"
#include "vstore.h"
#include "writeall.h"

static char dir[512];

static struct vpw
account(const char *line)
{
    struct vpw pw;

    if (vpw_parse(line, strlen(line), &pw) == -1)
        memset(&pw, 0, sizeof pw);
    return pw;
}

static void
file_is(const char *name, const char *want)
{
    struct bstr p = BSTR_INIT, b = BSTR_INIT;
    struct stat st;

    CHECK(bstr_catf(&p, "%s/%s", dir, name) == 0);
    CHECK_INT(readfile_path(p.s, &b, 1 << 20), 1);
    CHECK_BSTR(b, want);
    CHECK(stat(p.s, &st) == 0 && (st.st_mode & 0777) == 0600);
    bstr_free(&p);
    bstr_free(&b);
}

static void
t_first_account(void)
{
    struct vstore vs;
    struct vpw_table t;
    struct vpw pw;
    struct bstr p = BSTR_INIT, val = BSTR_INIT;
    size_t bad;

    CHECK(snprintf(dir, sizeof dir, "%s/dom.test", harness_tmpdir()) > 0);
    CHECK(mkdir(dir, 0700) == 0);
    if (!CHECK_INT(vstore_lock(&vs, dir, getuid(), getgid()), 0))
        return;
    CHECK_INT(vstore_load(&vs, &t, &bad), 0);
    CHECK_INT(t.n, 0);
    pw = account("postmaster:$6$s$h:1:0:Postmaster:/v/dom.test/postmaster:"
                 "NOQUOTA");
    CHECK_INT(vpw_table_add(&t, &pw), 0);
    pw = account("joe:$6$t$i:1:0:joe:/v/dom.test/joe:50000000S");
    CHECK_INT(vpw_table_add(&t, &pw), 0);
    CHECK_INT(vstore_save(&vs, &t), 0);
    vpw_table_free(&t);
    vstore_unlock(&vs);
    file_is("vpasswd", "joe:$6$t$i:1:0:joe:/v/dom.test/joe:50000000S\n"
                       "postmaster:$6$s$h:1:0:Postmaster:/v/dom.test/"
                       "postmaster:NOQUOTA\n");
    /* the cdb record as vpopmail's vauth_getpw reads it */
    CHECK(bstr_catf(&p, "%s/vpasswd.cdb", dir) == 0);
    CHECK_INT(cdbmap_find(p.s, "joe", 3, &val), 1);
    CHECK_BSTR(val, "$6$t$i:1:0:joe:/v/dom.test/joe:50000000S");
    if (CHECK_INT(vstore_lookup(dir, "postmaster", &pw), 1)) {
        CHECK_STR(pw.gecos, "Postmaster");
        CHECK_STR(pw.quota, "NOQUOTA");
        vpw_free(&pw);
    }
    CHECK_INT(vstore_lookup(dir, "nobody", &pw), 0);
    bstr_free(&p);
    bstr_free(&val);
}

static void
t_crash_between_renames(void)
{
    static const char next[] = "ann::1:0:ann:/v/dom.test/ann:NOQUOTA\n";
    struct bstr p = BSTR_INIT;
    struct timespec later[2] = {{0, UTIME_OMIT}, {0, 0}};
    struct vstore vs;
    struct vpw pw;
    int fd;

    /* a new vpasswd renamed into place, and then the crash */
    CHECK(bstr_catf(&p, "%s/vpasswd", dir) == 0);
    fd = open(p.s, O_WRONLY | O_TRUNC);
    CHECK(fd != -1 && write_all(fd, next, sizeof next - 1) == 0);
    later[1].tv_sec = time(NULL) + 10;
    CHECK(futimens(fd, later) == 0);
    close(fd);
    CHECK_INT(vstore_lookup(dir, "ann", &pw), 0);   /* the old state */
    CHECK_INT(vstore_lookup(dir, "joe", &pw), 1);
    vpw_free(&pw);
    if (CHECK_INT(vstore_lock(&vs, dir, getuid(), getgid()), 0))
        vstore_unlock(&vs);
    CHECK_INT(vstore_lookup(dir, "ann", &pw), 1);   /* the new one */
    vpw_free(&pw);
    CHECK_INT(vstore_lookup(dir, "joe", &pw), 0);
    bstr_free(&p);
}

static void
t_bad_line(void)
{
    static const char text[] = "ann::1:0:ann:/d:NOQUOTA\nbob::x:0:b:/d:Q\n";
    struct bstr p = BSTR_INIT;
    struct timespec later[2] = {{0, UTIME_OMIT}, {0, 0}};
    struct vstore vs;
    struct vpw_table t;
    size_t bad = 0;
    int fd;

    CHECK(bstr_catf(&p, "%s/vpasswd", dir) == 0);
    fd = open(p.s, O_WRONLY | O_TRUNC);
    CHECK(fd != -1 && write_all(fd, text, sizeof text - 1) == 0);
    later[1].tv_sec = time(NULL) + 20;
    CHECK(futimens(fd, later) == 0);
    close(fd);
    CHECK_INT(vstore_lock(&vs, dir, getuid(), getgid()), -1);
    CHECK_INT(errno, EINVAL);
    vs.dir = dir;
    CHECK_INT(vstore_load(&vs, &t, &bad), -1);
    CHECK_INT(bad, 2);
    bstr_free(&p);
}

static void
t_no_temporary_left(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!CHECK(d != NULL))
        return;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' || strcmp(de->d_name, ".vpasswd.lock") == 0)
            if (!CHECK(!strcmp(de->d_name, "vpasswd") ||
                       !strcmp(de->d_name, "vpasswd.cdb") ||
                       !strcmp(de->d_name, ".vpasswd.lock")))
                CHECK_STR(de->d_name, "(a file left behind)");
    closedir(d);
}

static const struct test_case cases[] = {
    {"a first account: vpasswd, vpasswd.cdb, lookups", t_first_account},
    {"a crash between the renames", t_crash_between_renames},
    {"a bad line in vpasswd", t_bad_line},
    {"no temporary file left", t_no_temporary_left},
};

TEST_MAIN(cases)
