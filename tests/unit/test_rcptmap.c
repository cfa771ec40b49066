/* SPDX-License-Identifier: ISC */
/*
 * test_rcptmap - the RCPT-time recipient map: a domain's names, prefixes
 * and user-ext addresses found as qmail-local and vdelivermail would
 * deliver them, unknown names refused, postmaster always taken, a
 * catch-all domain, an alias domain, a map made stale by a change to the
 * domain's directory, over-quota flags fresh and old, and every kind of
 * trouble answered with "no opinion" rather than a refusal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rcptmap.h"

static char home[512], ddir[600];

static void
setup(void)
{
    char p[700];

    CHECK(snprintf(home, sizeof home, "%s/qmail", harness_tmpdir()) > 0);
    CHECK(snprintf(ddir, sizeof ddir, "%s/dom.test", harness_tmpdir()) > 0);
    mkdir(home, 0755);
    CHECK(snprintf(p, sizeof p, "%s/users", home) > 0);
    mkdir(p, 0755);
    CHECK(snprintf(p, sizeof p, "%s/users/rcptmap", home) > 0);
    mkdir(p, 0755);
    CHECK(snprintf(p, sizeof p, "%s/users/overquota", home) > 0);
    mkdir(p, 0755);
    mkdir(ddir, 0700);
}

/* build - the map of dom.test: joe and ann mailboxes, sales alias,
 * list- prefix, a.b dotted name. */
static void
build(const char *domain, bool accept, const char *real)
{
    struct rcptmap_make m;

    CHECK_INT(rcptmap_make_start(&m, home, domain), 0);
    if (strcmp(domain, real) == 0) {
        CHECK_INT(rcptmap_make_add(&m, "joe", 3, RCPTMAP_MAILBOX), 0);
        CHECK_INT(rcptmap_make_add(&m, "ann", 3, RCPTMAP_MAILBOX), 0);
        CHECK_INT(rcptmap_make_add(&m, "sales", 5, RCPTMAP_ALIAS), 0);
        CHECK_INT(rcptmap_make_add(&m, "list-", 5, RCPTMAP_PREFIX), 0);
        CHECK_INT(rcptmap_make_add(&m, "a.b", 3, RCPTMAP_MAILBOX), 0);
    }
    CHECK_INT(rcptmap_make_meta(&m, accept, real, ddir), 0);
    CHECK_INT(rcptmap_make_finish(&m), 0);
}

static enum rcptmap_verdict
check(const char *local, const char *domain)
{
    struct rcptmap_result res = {.why = BSTR_INIT};
    enum rcptmap_verdict v;

    CHECK_INT(rcptmap_check(home, local, strlen(local), domain,
                            strlen(domain), time(NULL), &res),
              0);
    v = res.verdict;
    rcptmap_result_free(&res);
    return v;
}

static void
t_names(void)
{
    static const struct {
        const char *local;
        enum rcptmap_verdict v;
    } tab[] = {
        {"joe", RCPTMAP_OK},
        {"JOE", RCPTMAP_OK},          /* names are lower case */
        {"ann", RCPTMAP_OK},
        {"sales", RCPTMAP_OK},        /* .qmail-sales */
        {"a.b", RCPTMAP_OK},
        {"list-", RCPTMAP_OK},        /* .qmail-list-default takes list- */
        {"list-owner", RCPTMAP_OK},
        {"list-x-y", RCPTMAP_OK},
        {"joe-news", RCPTMAP_OK},     /* vpopmail's user-ext rule */
        {"joe-a-b", RCPTMAP_OK},
        {"sales-x", RCPTMAP_UNKNOWN}, /* an alias has no extensions */
        {"nobody", RCPTMAP_UNKNOWN},
        {"jo", RCPTMAP_UNKNOWN},
        {"joex", RCPTMAP_UNKNOWN},
        {"-joe", RCPTMAP_UNKNOWN},
        {"../joe", RCPTMAP_UNKNOWN},
        {"", RCPTMAP_UNKNOWN},
        {"postmaster", RCPTMAP_OK},   /* RFC 5321 4.5.1, even if deleted */
        {"PostMaster", RCPTMAP_OK},
    };

    setup();
    build("dom.test", false, "dom.test");
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!CHECK_INT(check(tab[i].local, "dom.test"), tab[i].v))
            fprintf(stderr, "  local part: %s\n", tab[i].local);
    CHECK_INT(check("joe", "DOM.Test"), RCPTMAP_OK);
    CHECK_INT(check("joe", "other.test"), RCPTMAP_NOMAP);
    CHECK_INT(check("joe", ".dom.test"), RCPTMAP_NOMAP);
    CHECK_INT(check("joe", "x/../dom.test"), RCPTMAP_NOMAP);
}

static void
t_nul_local(void)
{
    struct rcptmap_result res = {.why = BSTR_INIT};

    setup();
    build("dom.test", false, "dom.test");
    CHECK_INT(rcptmap_check(home, "joe\0x", 5, "dom.test", 8, time(NULL),
                            &res),
              0);
    CHECK_INT(res.verdict, RCPTMAP_UNKNOWN);
    CHECK_INT(rcptmap_check(home, "joe", 3, "dom.test\0x", 10, time(NULL),
                            &res),
              0);
    CHECK_INT(res.verdict, RCPTMAP_NOMAP);
    rcptmap_result_free(&res);
}

static void
t_catchall(void)
{
    setup();
    build("dom.test", true, "dom.test");
    CHECK_INT(check("anyone", "dom.test"), RCPTMAP_ACCEPT);
}

static void
t_alias_domain(void)
{
    setup();
    build("dom.test", false, "dom.test");
    build("alias.test", false, "dom.test");
    CHECK_INT(check("joe", "alias.test"), RCPTMAP_OK);
    CHECK_INT(check("nobody", "alias.test"), RCPTMAP_UNKNOWN);
    build("dom.test", true, "dom.test");
    CHECK_INT(check("nobody", "alias.test"), RCPTMAP_ACCEPT);
}

static void
t_stale(void)
{
    char p[700];
    struct timespec moved[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = 12345}};
    int fd;

    setup();
    build("dom.test", false, "dom.test");
    CHECK_INT(check("nobody", "dom.test"), RCPTMAP_UNKNOWN);
    /* an admin adds .qmail-nobody by hand: the directory's mtime moves */
    CHECK(snprintf(p, sizeof p, "%s/.qmail-nobody", ddir) > 0);
    fd = open(p, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    close(fd);
    /* the kernel's clock may not have ticked since the build: move the
     * directory's mtime as a later edit would */
    CHECK_INT(utimensat(AT_FDCWD, ddir, moved, 0), 0);
    CHECK_INT(check("nobody", "dom.test"), RCPTMAP_STALE);
    build("dom.test", false, "dom.test");
    CHECK_INT(check("nobody", "dom.test"), RCPTMAP_UNKNOWN);
    unlink(p);
    rmdir(ddir);
    CHECK_INT(check("joe", "dom.test"), RCPTMAP_STALE); /* domain gone */
}

static void
t_overquota(void)
{
    char p[700];
    struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};

    setup();
    build("dom.test", false, "dom.test");
    CHECK_INT(rcptmap_overquota_set(home, "joe", "dom.test", true), 0);
    CHECK_INT(check("joe", "dom.test"), RCPTMAP_OVERQUOTA);
    CHECK_INT(check("joe-news", "dom.test"), RCPTMAP_OVERQUOTA);
    CHECK_INT(check("ann", "dom.test"), RCPTMAP_OK);
    /* a flag older than RCPTMAP_OVERQUOTA_AGE is not trusted */
    CHECK(snprintf(p, sizeof p, "%s/users/overquota/joe@dom.test", home) > 0);
    CHECK_INT(utimensat(AT_FDCWD, p, old, 0), 0);
    CHECK_INT(check("joe", "dom.test"), RCPTMAP_OK);
    CHECK_INT(rcptmap_overquota_set(home, "joe", "dom.test", true), 0);
    CHECK_INT(check("joe", "dom.test"), RCPTMAP_OVERQUOTA);
    CHECK_INT(rcptmap_overquota_set(home, "joe", "dom.test", false), 0);
    CHECK_INT(check("joe", "dom.test"), RCPTMAP_OK);
    CHECK_INT(rcptmap_overquota_set(home, "joe", "dom.test", false), 0);
    errno = 0;
    CHECK_INT(rcptmap_overquota_set(home, "../joe", "dom.test", true), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(rcptmap_overquota_set(home, "joe", "a/b", true), -1);
    CHECK_INT(rcptmap_overquota_set(home, "a@b", "dom.test", true), -1);
}

static void
t_damaged(void)
{
    char p[700];
    int fd;

    setup();
    CHECK(snprintf(p, sizeof p, "%s/users/rcptmap/bad.test", home) > 0);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "garbage", 7) == 7);
    close(fd);
    CHECK_INT(check("joe", "bad.test"), RCPTMAP_ERROR);
    /* unreadable (as qmaild would find a map the admin chmod'ed 600) */
    if (geteuid() != 0) {
        build("dom.test", false, "dom.test");
        CHECK(snprintf(p, sizeof p, "%s/users/rcptmap/dom.test", home) > 0);
        CHECK_INT(chmod(p, 0), 0);
        CHECK_INT(check("nobody", "dom.test"), RCPTMAP_ERROR);
        CHECK_INT(chmod(p, 0644), 0);
    }
}

static void
t_remove(void)
{
    char p[700];
    struct stat st;

    setup();
    build("dom.test", false, "dom.test");
    CHECK_INT(rcptmap_remove(home, "dom.test"), 0);
    CHECK_INT(check("nobody", "dom.test"), RCPTMAP_NOMAP);
    CHECK_INT(rcptmap_remove(home, "dom.test"), 0);
    CHECK_INT(rcptmap_remove(home, "../x"), -1);
    /* no temporary file is left behind by a build */
    build("dom.test", false, "dom.test");
    CHECK(snprintf(p, sizeof p, "%s/users/rcptmap/.dom.test.tmp.%ld", home,
                   (long)getpid()) > 0);
    CHECK(stat(p, &st) == -1 && errno == ENOENT);
    CHECK(snprintf(p, sizeof p, "%s/users/rcptmap/dom.test", home) > 0);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0644);
}

static const struct test_case cases[] = {
    {"names", t_names},           {"nul_local", t_nul_local},
    {"catchall", t_catchall},     {"alias_domain", t_alias_domain},
    {"stale", t_stale},           {"overquota", t_overquota},
    {"damaged", t_damaged},       {"remove", t_remove},
};

TEST_MAIN(cases)
