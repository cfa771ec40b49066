/* SPDX-License-Identifier: ISC */
/*
 * qscan - queue directory scans (see qscan.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "qpath.h"
#include "qscan.h"

static int
push(struct qscan_ids *ids, unsigned long long id)
{
    if (grow(&ids->v, &ids->cap, ids->n + 1, sizeof *ids->v, 1024) == -1)
        return -1;
    ids->v[ids->n++] = id;
    return 0;
}

/* qscan_dir - append the message numbers named in dir: 0, or -1. */
int
qscan_dir(const char *dir, struct qscan_ids *ids)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return -1;
    for (;;) {
        unsigned long long id;

        errno = 0;
        de = readdir(d);
        if (!de)
            break;
        if (qpath_scan_id(de->d_name, &id) && push(ids, id) == -1) {
            closedir(d);
            return -1;
        }
    }
    if (errno) {
        int e = errno;
        closedir(d);
        errno = e;
        return -1;
    }
    closedir(d);
    return 0;
}

/* qscan_split - the same over dir/0 .. dir/SPLIT-1. */
int
qscan_split(const char *dir, struct qscan_ids *ids)
{
    char path[QPATH_MAX];

    for (unsigned i = 0; i < QPATH_SPLIT; i++) {
        snprintf(path, sizeof path, "%s/%u", dir, i);
        if (qscan_dir(path, ids) == -1)
            return -1;
    }
    return 0;
}

static int
cmp(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a;
    unsigned long long y = *(const unsigned long long *)b;

    return x < y ? -1 : x > y;
}

/* qscan_sort_unique - sort and drop duplicates. */
void
qscan_sort_unique(struct qscan_ids *ids)
{
    size_t out = 0;

    if (ids->n == 0)
        return;
    qsort(ids->v, ids->n, sizeof *ids->v, cmp);
    for (size_t i = 0; i < ids->n; i++)
        if (out == 0 || ids->v[out - 1] != ids->v[i])
            ids->v[out++] = ids->v[i];
    ids->n = out;
}

void
qscan_free(struct qscan_ids *ids)
{
    free(ids->v);
    ids->v = NULL;
    ids->n = ids->cap = 0;
}

/*
 * qscan_count - committed messages and those still in todo/.  A message
 * being preprocessed is in both todo/ and info/; it counts once.
 */
int
qscan_count(struct qscan_counts *c)
{
    struct qscan_ids ids = {0};
    size_t todo;

    if (qscan_dir("todo", &ids) == -1)
        goto fail;
    todo = ids.n;
    if (qscan_split("info", &ids) == -1)
        goto fail;
    qscan_sort_unique(&ids);
    c->messages = ids.n;
    c->todo = todo;
    qscan_free(&ids);
    return 0;
fail:
    qscan_free(&ids);
    return -1;
}
