/* SPDX-License-Identifier: ISC */
/*
 * test_local_users - qmail-getpw's rules against a passwd database of our
 * own (uid 0, uppercase names, missing or foreign homes, trouble that
 * must mean "later"), the alias user in both modes, and users/cdb taking
 * precedence.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "users.h"

struct fake {
    const char *name; /* what getpwnam is asked */
    const char *pw_name; /* what it answers (a case-blind service) */
    uid_t uid;
    const char *dir;
    int err; /* getpwnam fails with this errno */
};

static const struct fake accounts[] = {
    {"joe", "joe", 507, "/home/joe", 0},
    {"root", "root", 0, "/root", 0},
    {"mixed", "Mixed", 600, "/home/mixed", 0},
    {"nohome", "nohome", 601, "/home/nohome", 0},
    {"nfs", "nfs", 602, "/nfs/home", 0},
    {"notown", "notown", 603, "/home/notown", 0},
    {"a", "a", 604, "/home/a", 0},
    {"a-b", "a-b", 605, "/home/a-b", 0},
    {"relhome", "relhome", 606, "home/rel", 0},
    {"broken", NULL, 0, NULL, EIO},
    {"abcdefghijklmnopqrstuvwxyz01234", "abcdefghijklmnopqrstuvwxyz01234",
     607, "/home/long31", 0},
    {"abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345",
     608, "/home/long32", 0},
    {"alias", "alias", 7790, "/elsewhere/alias", 0},
};

static const struct {
    const char *path;
    uid_t uid;
    int err;
} homes[] = {
    {"/home/joe", 507, 0},      {"/root", 0, 0},
    {"/home/mixed", 600, 0},    {"/home/nohome", 0, ENOENT},
    {"/nfs/home", 0, EIO},      {"/home/notown", 1, 0},
    {"/home/a", 604, 0},        {"/home/a-b", 605, 0},
    {"home/rel", 606, 0},       {"/home/long31", 607, 0},
    {"/home/long32", 608, 0},
};

static bool no_alias;
static struct passwd pwbuf;

static struct passwd *
fake_getpwnam(const char *name)
{
    for (size_t i = 0; i < sizeof accounts / sizeof accounts[0]; i++) {
        const struct fake *f = &accounts[i];

        if (strcmp(f->name, name) != 0)
            continue;
        if (no_alias && strcmp(name, "alias") == 0)
            break;
        if (f->err) {
            errno = f->err;
            return NULL;
        }
        memset(&pwbuf, 0, sizeof pwbuf);
        pwbuf.pw_name = (char *)f->pw_name;
        pwbuf.pw_uid = f->uid;
        pwbuf.pw_gid = 100;
        pwbuf.pw_dir = (char *)f->dir;
        return &pwbuf;
    }
    errno = 0;
    return NULL;
}

static int
fake_stat(const char *path, struct stat *st)
{
    for (size_t i = 0; i < sizeof homes / sizeof homes[0]; i++)
        if (strcmp(homes[i].path, path) == 0) {
            if (homes[i].err) {
                errno = homes[i].err;
                return -1;
            }
            memset(st, 0, sizeof *st);
            st->st_uid = homes[i].uid;
            return 0;
        }
    errno = ENOENT;
    return -1;
}

static const struct users_ops fake_ops = {fake_getpwnam, fake_stat};

/* local -> result and "user uid home dash ext" */
static const struct {
    const char *local;
    int r;
    const char *want;
} pw_cases[] = {
    {"joe", 1, "joe 507 /home/joe  "},
    {"JOE", 1, "joe 507 /home/joe  "},
    {"joe-", 1, "joe 507 /home/joe - "},
    {"joe-foo", 1, "joe 507 /home/joe - foo"},
    {"Joe-Foo-Bar", 1, "joe 507 /home/joe - Foo-Bar"},
    {"joebob", 0, NULL},
    {"jo", 0, NULL},
    {"root", 0, NULL},
    {"root-x", 0, NULL},
    {"mixed", 0, NULL},
    {"nohome", 0, NULL},
    {"nfs", -1, NULL},
    {"notown-x", 0, NULL},
    {"a-b-c", 1, "a-b 605 /home/a-b - c"},
    {"a-c", 1, "a 604 /home/a - c"},
    {"a-b", 1, "a-b 605 /home/a-b  "},
    {"relhome", 0, NULL},
    {"broken", -1, NULL},
    {"broken-ext", -1, NULL},
    {"abcdefghijklmnopqrstuvwxyz01234-x", 1,
     "abcdefghijklmnopqrstuvwxyz01234 607 /home/long31 - x"},
    {"abcdefghijklmnopqrstuvwxyz012345", 0, NULL},
    {"", 0, NULL},
    {"-", 0, NULL},
};

static void
describe(const struct local_user *u, struct bstr *out)
{
    bstr_truncate(out, 0);
    if (bstr_catf(out, "%s %lu %s %s %s", u->user.s, u->uid, u->home.s,
                  u->dash.s ? u->dash.s : "", u->ext.s ? u->ext.s : "") == -1)
        bstr_truncate(out, 0);
}

static void
t_passwd_rules(void)
{
    struct bstr got = BSTR_INIT;

    for (size_t i = 0; i < sizeof pw_cases / sizeof pw_cases[0]; i++) {
        struct local_user u;
        const char *l = pw_cases[i].local;
        int r;

        local_user_init(&u);
        r = users_passwd(&fake_ops, l, strlen(l), &u);
        if (!CHECK_INT(r, pw_cases[i].r))
            printf("    local: %s\n", l);
        if (r == 1 && pw_cases[i].want) {
            describe(&u, &got);
            if (!CHECK_STR(got.s, pw_cases[i].want))
                printf("    local: %s\n", l);
        }
        local_user_free(&u);
    }
    bstr_free(&got);
}

static void
t_alias(void)
{
    struct users_conf c = {&fake_ops, NULL, "/q/alias", false, 42, 43};
    struct local_user u;
    struct bstr got = BSTR_INIT;
    const char *why;

    /* single-user: the instance's ids, $QMAIL_HOME/alias */
    local_user_init(&u);
    CHECK_INT(users_find(&c, "postmaster", 10, &u, &why), 1);
    describe(&u, &got);
    CHECK_STR(got.s, "alias 42 /q/alias - postmaster");
    CHECK_INT(u.gid, 43);
    local_user_free(&u);
    /* root mode: alias's ids from passwd, the home still ours */
    c.rootmode = true;
    local_user_init(&u);
    CHECK_INT(users_find(&c, "joebob", 6, &u, &why), 1);
    describe(&u, &got);
    CHECK_STR(got.s, "alias 7790 /q/alias - joebob");
    local_user_free(&u);
    /* a real user wins over alias */
    local_user_init(&u);
    CHECK_INT(users_find(&c, "joe-x", 5, &u, &why), 1);
    CHECK_STR(u.user.s, "joe");
    local_user_free(&u);
    /* root mode without an alias account: try later */
    no_alias = true;
    local_user_init(&u);
    CHECK_INT(users_find(&c, "nobody-here", 11, &u, &why), -1);
    CHECK_STR(why, "Unable to find alias user!");
    local_user_free(&u);
    no_alias = false;
    /* passwd trouble is never "no such user" */
    local_user_init(&u);
    CHECK_INT(users_find(&c, "nfs", 3, &u, &why), -1);
    CHECK(why != NULL);
    local_user_free(&u);
    bstr_free(&got);
}

static void
t_cdb_first(void)
{
    static const char text[] = "=joe:other:9:9:/other:::\n.\n";
    struct bstr cdb = BSTR_INIT, errs = BSTR_INIT;
    struct users_conf c = {&fake_ops, NULL, "/q/alias", true, 1, 1};
    struct local_user u;
    const char *why;
    size_t n;

    CHECK(bstr_catf(&cdb, "%s/users.cdb", harness_tmpdir()) == 0);
    CHECK_INT(assign_compile(text, sizeof text - 1, cdb.s, NULL, &errs, &n),
              0);
    c.cdb = cdb.s;
    local_user_init(&u);
    CHECK_INT(users_find(&c, "joe", 3, &u, &why), 1);
    CHECK_STR(u.user.s, "other");
    local_user_free(&u);
    local_user_init(&u);
    CHECK_INT(users_find(&c, "joe-x", 5, &u, &why), 1);
    CHECK_STR(u.user.s, "joe"); /* not in the map: passwd */
    local_user_free(&u);
    /* a map that cannot be read: later, never "no such user" */
    c.cdb = harness_tmpdir(); /* a directory */
    local_user_init(&u);
    CHECK_INT(users_find(&c, "joe", 3, &u, &why), -1);
    CHECK(strstr(why, "users/cdb") != NULL);
    local_user_free(&u);
    bstr_free(&cdb);
    bstr_free(&errs);
}

static const struct test_case cases[] = {
    {"passwd rules", t_passwd_rules},
    {"alias user", t_alias},
    {"users/cdb first", t_cdb_first},
};

TEST_MAIN(cases)
