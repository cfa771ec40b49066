/* SPDX-License-Identifier: ISC */
/*
 * msgmap - message number -> struct msg, open addressing with linear
 * probing and backward-shift deletion (no tombstones, so a queue that
 * churns for months never degrades).  Grows at load 1/2.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "send.h"

static size_t
slot_of(uint64_t id, size_t mask)
{
    uint64_t h = id * 0x9e3779b97f4a7c15ULL;

    return (size_t)(h >> 17) & mask;
}

int
msgmap_init(struct msgmap *m)
{
    m->mask = 1023;
    m->n = 0;
    m->slot = calloc(m->mask + 1, sizeof *m->slot);
    return m->slot ? 0 : -1;
}

void
msgmap_free(struct msgmap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->n = 0;
}

/* msgmap_get - the record of id, or NULL. */
struct msg *
msgmap_get(struct msgmap *m, uint64_t id)
{
    for (size_t i = slot_of(id, m->mask); m->slot[i].id;
         i = (i + 1) & m->mask)
        if (m->slot[i].id == id)
            return &m->slot[i];
    return NULL;
}

static int
grow(struct msgmap *m)
{
    size_t cap = (m->mask + 1) * 2;
    struct msg *old = m->slot;
    struct msg *s = calloc(cap, sizeof *s);

    if (!s)
        return -1;
    for (size_t j = 0; j <= m->mask; j++) {
        size_t i;

        if (!old[j].id)
            continue;
        for (i = slot_of(old[j].id, cap - 1); s[i].id; i = (i + 1) & (cap - 1))
            ;
        s[i] = old[j];
    }
    free(old);
    m->slot = s;
    m->mask = cap - 1;
    return 0;
}

/*
 * msgmap_add - a zeroed record for id (the existing one if present), or
 * NULL when out of memory.  Pointers into the map are valid until the
 * next add or delete.
 */
struct msg *
msgmap_add(struct msgmap *m, uint64_t id)
{
    struct msg *x = msgmap_get(m, id);
    size_t i;

    if (x)
        return x;
    if ((m->n + 1) * 2 > m->mask + 1 && grow(m) == -1)
        return NULL;
    for (i = slot_of(id, m->mask); m->slot[i].id; i = (i + 1) & m->mask)
        ;
    memset(&m->slot[i], 0, sizeof m->slot[i]);
    m->slot[i].id = id;
    m->n++;
    return &m->slot[i];
}

void
msgmap_del(struct msgmap *m, uint64_t id)
{
    size_t i = slot_of(id, m->mask), j;

    while (m->slot[i].id && m->slot[i].id != id)
        i = (i + 1) & m->mask;
    if (!m->slot[i].id)
        return;
    m->slot[i].id = 0;
    m->n--;
    /* backward shift: move later entries of the cluster into the hole */
    for (j = (i + 1) & m->mask; m->slot[j].id; j = (j + 1) & m->mask) {
        size_t home = slot_of(m->slot[j].id, m->mask);

        /* the entry at j may fill the hole at i when i lies on its probe
         * path, that is cyclically in [home, j) */
        bool on_path = home <= j ? (home <= i && i < j) : (i >= home || i < j);

        if (on_path) {
            m->slot[i] = m->slot[j];
            m->slot[j].id = 0;
            i = j;
        }
    }
}
