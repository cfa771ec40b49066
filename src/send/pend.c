/* SPDX-License-Identifier: ISC */
/*
 * pend - what each of qmail-send's background fsyncs (fsyncq.h) was for,
 * and the step it unblocks once it ends: a preprocessed message's files
 * (P_PRE, all of them synced: todo/N may go), a failure appended to
 * bounce/N (P_BOUNCE: now the done mark), done marks (P_MARK: the
 * recipients are finished).  No step runs before its fsync has
 * succeeded; after an error the step is not taken and the work is done
 * again later (preprocessing, or the delivery).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "send.h"

/* pre_synced - one of a preprocessed message's files is synced */
static void
pre_synced(struct pend *pd, int err)
{
    struct send_state *st = pd->st;

    if (err)
        pd->err = err;
    if (--pd->left > 0)
        return;
    if (pd->err) {
        /* todo/N stays and is preprocessed again later */
        slog("warning: unable to sync preprocessed msg %llu: %s, will "
             "try again",
             (unsigned long long)pd->id, strerror(pd->err));
        msgmap_del(&st->msgs, pd->id);
    } else if (msgmap_get(&st->msgs, pd->id)) {
        cleanq_request(st, 't', pd->id);
    }
    free(pd);
}

/* pend_done - the fsync for tag (a struct pend) ended with err (0: on
 * disk): take the next step.  fsyncq_collect's callback. */
void
pend_done(void *tag, int err)
{
    struct pend *pd = tag;

    if (pd->kind == P_PRE)
        pre_synced(pd, err);
    else
        report_synced(pd, err);
}

/* pend_done_now - the last file of a P_PRE was synced in the main loop
 * (no memory to queue it), with the error in pd->err. */
void
pend_done_now(struct pend *pd)
{
    pd->left = 1;
    pend_done(pd, pd->err);
}
