/* SPDX-License-Identifier: ISC */
/* test_cdbmap - cdb lookups and the atomic rebuild. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdbmap.h"
#include "harness.h"

static void
t_build_and_find(void)
{
    struct cdbmap_make mk;
    struct bstr v = BSTR_INIT, path = BSTR_INIT;

    CHECK(bstr_catf(&path, "%s/m.cdb", harness_tmpdir()) == 0);
    CHECK(cdbmap_make_start(&mk, path.s, NULL) == 0);
    CHECK(cdbmap_make_add(&mk, "example.com", 11, "1", 1) == 0);
    CHECK(cdbmap_make_add(&mk, "bin\0ary", 7, "v\0al", 4) == 0);
    CHECK(cdbmap_make_finish(&mk) == 0);
    CHECK_INT(cdbmap_find(path.s, "example.com", 11, &v), 1);
    CHECK_BSTR(v, "1");
    CHECK_INT(cdbmap_find(path.s, "bin\0ary", 7, &v), 1);
    CHECK_INT(v.len, 4);
    CHECK_INT(cdbmap_find(path.s, "absent", 6, &v), 0);
    bstr_free(&v);
    bstr_free(&path);
}

static void
t_missing_map(void)
{
    struct bstr v = BSTR_INIT;

    CHECK_INT(cdbmap_find("/nonexistent/x.cdb", "k", 1, &v), -1);
    CHECK_INT(errno, ENOENT);
    bstr_free(&v);
}

static void
t_abort_keeps_old(void)
{
    struct cdbmap_make mk;
    struct bstr v = BSTR_INIT, path = BSTR_INIT, tmp = BSTR_INIT;

    CHECK(bstr_catf(&path, "%s/keep.cdb", harness_tmpdir()) == 0);
    CHECK(bstr_catf(&tmp, "%s/keep.tmp", harness_tmpdir()) == 0);
    CHECK(cdbmap_make_start(&mk, path.s, tmp.s) == 0);
    CHECK(cdbmap_make_add(&mk, "old", 3, "yes", 3) == 0);
    CHECK(cdbmap_make_finish(&mk) == 0);
    CHECK(cdbmap_make_start(&mk, path.s, tmp.s) == 0);
    CHECK(cdbmap_make_add(&mk, "new", 3, "yes", 3) == 0);
    cdbmap_make_abort(&mk);
    CHECK(access(tmp.s, F_OK) == -1);
    CHECK_INT(cdbmap_find(path.s, "old", 3, &v), 1);
    CHECK_INT(cdbmap_find(path.s, "new", 3, &v), 0);
    bstr_free(&v);
    bstr_free(&path);
    bstr_free(&tmp);
}

static void
t_garbage_file(void)
{
    struct bstr v = BSTR_INIT, path = BSTR_INIT;
    FILE *f;

    CHECK(bstr_catf(&path, "%s/garbage.cdb", harness_tmpdir()) == 0);
    f = fopen(path.s, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("not a cdb", f);
        fclose(f);
    }
    /* a short file is not a cdb: an error, never a false "found" */
    CHECK(cdbmap_find(path.s, "k", 1, &v) != 1);
    bstr_free(&v);
    bstr_free(&path);
}

static const struct test_case tests[] = {
    {"build then find", t_build_and_find},
    {"missing map is ENOENT", t_missing_map},
    {"aborted rebuild keeps the old map", t_abort_keeps_old},
    {"garbage file never matches", t_garbage_file},
};

TEST_MAIN(tests)
