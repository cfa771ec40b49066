/* SPDX-License-Identifier: ISC */
/*
 * grow - room for more elements in a malloc'd array that doubles.
 *
 * The one place where "cap ? cap * 2 : first; check the multiplication;
 * realloc" is written.  Every size is checked against SIZE_MAX before it
 * is used; on failure the array and its capacity are left as they were
 * (still valid, still owned by the caller) and errno is ENOMEM.  Nothing
 * here exits or logs.
 */
#ifndef GROW_H
#define GROW_H

#include <stddef.h>

#ifndef WUR
#define WUR __attribute__((warn_unused_result))
#endif

int grow(void *vp, size_t *cap, size_t need, size_t elsize, size_t first)
    WUR;

#endif
