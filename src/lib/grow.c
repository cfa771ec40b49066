/* SPDX-License-Identifier: ISC */
/*
 * grow - room for more elements in a doubling array (see grow.h).
 *
 * The array pointer is read and written with memcpy rather than through
 * a (void **) cast: the caller's pointer has its own type (struct x *),
 * and memcpy keeps that access within the aliasing rules.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"

/*
 * grow - make room for at least need elements of elsize bytes in the
 * array whose pointer is at vp (a "struct x **" passed as void *), with
 * *cap elements allocated now.  When need > *cap the capacity becomes
 * first (if *cap is 0) doubled as often as it takes to reach need, but
 * never more elements than SIZE_MAX / elsize.  need <= *cap changes
 * nothing (need 0 allocates nothing).
 * Returns 0 with *cap >= need, or -1 with errno ENOMEM (need * elsize
 * does not fit in a size_t, elsize is 0, or realloc failed), the array
 * pointer and *cap unchanged.
 */
int
grow(void *vp, size_t *cap, size_t need, size_t elsize, size_t first)
{
    void *old, *p;
    size_t max, ncap;

    if (need <= *cap)
        return 0;
    if (elsize == 0) {
        errno = ENOMEM;
        return -1;
    }
    max = SIZE_MAX / elsize;
    if (need > max) {
        errno = ENOMEM;
        return -1;
    }
    ncap = *cap ? *cap : first;
    if (ncap == 0)
        ncap = 1;
    if (ncap > max)
        ncap = max;
    while (ncap < need)
        ncap = ncap > max / 2 ? max : ncap * 2;
    memcpy(&old, vp, sizeof old);
    p = realloc(old, ncap * elsize);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(vp, &p, sizeof p);
    *cap = ncap;
    return 0;
}
