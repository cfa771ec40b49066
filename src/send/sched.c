/* SPDX-License-Identifier: ISC */
/*
 * sched - a binary min-heap of due times: O(log n) push and pop.
 * Entries that became stale (the message was requeued or finished) are
 * not searched for and removed; their generation no longer matches the
 * message's and the main loop drops them when they surface.
 */
#include <errno.h>
#include <stdlib.h>

#include "grow.h"
#include "send.h"

static int
before(const struct sched_item *a, const struct sched_item *b)
{
    if (a->when != b->when)
        return a->when < b->when;
    return a->id < b->id;
}

int
sched_push(struct sched *h, const struct sched_item *it)
{
    size_t i;

    if (grow(&h->v, &h->cap, h->n + 1, sizeof *h->v, 1024) == -1)
        return -1;
    i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;

        if (!before(it, &h->v[p]))
            break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = *it;
    return 0;
}

const struct sched_item *
sched_peek(const struct sched *h)
{
    return h->n ? &h->v[0] : NULL;
}

void
sched_pop(struct sched *h)
{
    struct sched_item last;
    size_t i = 0;

    if (!h->n)
        return;
    last = h->v[--h->n];
    for (;;) {
        size_t c = 2 * i + 1;

        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
}

void
sched_free(struct sched *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
