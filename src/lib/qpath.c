/* SPDX-License-Identifier: ISC */
/*
 * qpath - queue file names (see qpath.h).
 */
#include <stdio.h>
#include <string.h>

#include "fmt.h"
#include "qpath.h"

/* qpath_is_split - whether dir has the 0..SPLIT-1 subdirectories. */
bool
qpath_is_split(const char *dir)
{
    return strcmp(dir, "mess") == 0 || strcmp(dir, "info") == 0 ||
           strcmp(dir, "local") == 0 || strcmp(dir, "remote") == 0;
}

/* qpath_fmt - "dir/S/N" or "dir/N" (NUL-terminated); returns the length. */
size_t
qpath_fmt(char out[QPATH_MAX], const char *dir, unsigned long long id)
{
    int n;

    if (qpath_is_split(dir))
        n = snprintf(out, QPATH_MAX, "%s/%llu/%llu", dir, id % QPATH_SPLIT,
                     id);
    else
        n = snprintf(out, QPATH_MAX, "%s/%llu", dir, id);
    return n < 0 ? 0 : (size_t)n;
}

/* qpath_scan_id - true if name is all digits (a message number). */
bool
qpath_scan_id(const char *name, unsigned long long *id)
{
    size_t len = strlen(name);

    return len > 0 && scan_ull(name, len, id) == len;
}
