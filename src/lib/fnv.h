/* SPDX-License-Identifier: ISC */
/*
 * fnv - the 64-bit FNV-1a hash (Fowler, Noll and Vo's published offset
 * basis and prime), for in-memory hash tables and the rate store's keys.
 * Not a defence against chosen collisions by itself: tables that hash
 * what clients send bound their chains or seed the basis.
 */
#ifndef FNV_H
#define FNV_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_BASIS 0xcbf29ce484222325ULL

/* fnv1a_more - h (FNV1A_BASIS, a seeded basis, or an earlier result)
 * carried on over n bytes at p */
uint64_t fnv1a_more(uint64_t h, const void *p, size_t n);

/* fnv1a - the hash of n bytes at p */
uint64_t fnv1a(const void *p, size_t n);

/* fnv1a_lower - the hash of n bytes at p with ASCII A-Z as a-z, so names
 * that differ only in case hash alike */
uint64_t fnv1a_lower(const void *p, size_t n);

#endif
