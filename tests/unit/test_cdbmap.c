/* SPDX-License-Identifier: ISC */
/* test_cdbmap - cdb lookups and the atomic rebuild. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
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

/* seek_get - one lookup through cdbmap_open_seek. */
static int
seek_get(const char *path, const char *key, size_t klen, struct bstr *v)
{
    struct cdbmap m;
    int r;

    if (cdbmap_open_seek(&m, path) == -1)
        return -2;
    r = cdbmap_get(&m, key, klen, v);
    cdbmap_close(&m);
    return r;
}

/*
 * Both ways of cdbmap_open_seek (a small map read whole, a big one read
 * per lookup) answer as the mapped lookup does, for every key, for
 * absent keys, for an empty value and for a repeated key (the first).
 */
static void
t_seek_matches_mapped(void)
{
    static const unsigned counts[] = {3, 20000}; /* under and over the cap */

    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        struct cdbmap_make mk;
        struct bstr v = BSTR_INIT, w = BSTR_INIT, path = BSTR_INIT;
        struct stat st;
        char k[32], val[32];

        CHECK(bstr_catf(&path, "%s/seek%u.cdb", harness_tmpdir(),
                        counts[c]) == 0);
        CHECK(cdbmap_make_start(&mk, path.s, NULL) == 0);
        for (unsigned i = 0; i < counts[c]; i++) {
            int kl = snprintf(k, sizeof k, "key%u", i);
            int vl = snprintf(val, sizeof val, "value-%u", i * 7);

            CHECK(cdbmap_make_add(&mk, k, (size_t)kl, val, (size_t)vl) == 0);
        }
        CHECK(cdbmap_make_add(&mk, "empty", 5, "", 0) == 0);
        CHECK(cdbmap_make_add(&mk, "key1", 4, "second", 6) == 0);
        CHECK(cdbmap_make_finish(&mk) == 0);
        CHECK(stat(path.s, &st) == 0);
        CHECK_INT(st.st_size > CDBMAP_READ_MAX, c == 1);
        for (unsigned i = 0; i < counts[c]; i += counts[c] / 3 + 1) {
            int kl = snprintf(k, sizeof k, "key%u", i);

            CHECK_INT(seek_get(path.s, k, (size_t)kl, &v), 1);
            CHECK_INT(cdbmap_find(path.s, k, (size_t)kl, &w), 1);
            CHECK(v.len == w.len && memcmp(v.s, w.s, v.len) == 0);
        }
        CHECK_INT(seek_get(path.s, "key1", 4, &v), 1);
        CHECK(v.len == strlen("value-7") && memcmp(v.s, "value-7", 7) == 0);
        CHECK_INT(seek_get(path.s, "empty", 5, &v), 1);
        CHECK_INT(v.len, 0);
        CHECK_INT(seek_get(path.s, "absent", 6, &v), 0);
        CHECK_INT(seek_get(path.s, "", 0, &v), 0);
        bstr_free(&v);
        bstr_free(&w);
        bstr_free(&path);
    }
}

/* A damaged map (cut short, or pointing past its end) never gives a
 * false "found" and never reads out of bounds (make check SAN=1). */
static void
t_seek_damaged(void)
{
    struct cdbmap_make mk;
    struct bstr v = BSTR_INIT, path = BSTR_INIT;
    unsigned char head[2048];
    FILE *f;

    CHECK(bstr_catf(&path, "%s/damaged.cdb", harness_tmpdir()) == 0);
    CHECK(cdbmap_make_start(&mk, path.s, NULL) == 0);
    CHECK(cdbmap_make_add(&mk, "joe", 3, "m", 1) == 0);
    CHECK(cdbmap_make_finish(&mk) == 0);
    CHECK(truncate(path.s, 2048 + 10) == 0); /* the record cut short */
    CHECK(seek_get(path.s, "joe", 3, &v) != 1);
    /* every table entry pointing far past the end of the file */
    memset(head, 0xff, sizeof head);
    f = fopen(path.s, "w");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(head, 1, sizeof head, f) == sizeof head);
        fclose(f);
    }
    CHECK_INT(seek_get(path.s, "joe", 3, &v), -1);
    CHECK_INT(errno, EPROTO);
    CHECK(truncate(path.s, 100) == 0);
    CHECK(seek_get(path.s, "joe", 3, &v) != 1);
    bstr_free(&v);
    bstr_free(&path);
}

static const struct test_case tests[] = {
    {"open_seek answers as the mapped lookup", t_seek_matches_mapped},
    {"open_seek on a damaged map", t_seek_damaged},
    {"build then find", t_build_and_find},
    {"missing map is ENOENT", t_missing_map},
    {"aborted rebuild keeps the old map", t_abort_keeps_old},
    {"garbage file never matches", t_garbage_file},
};

TEST_MAIN(tests)
