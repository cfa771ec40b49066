/* SPDX-License-Identifier: ISC */
/*
 * qenv - the envelope push parser (see qenv.h).
 *
 * States: expecting 'F'; inside the sender; expecting 'T' or the final
 * NUL; inside a recipient; done.  Once done or failed, the parser keeps
 * returning the same verdict.
 */
#include "qenv.h"

enum { S_F, S_SENDER, S_T, S_RCPT, S_DONE, S_BAD, S_LONG };

void
qenv_init(struct qenv *p, size_t max)
{
    struct bstr empty = BSTR_INIT;

    p->state = S_F;
    p->max = max;
    p->item = empty;
}

void
qenv_free(struct qenv *p)
{
    bstr_free(&p->item);
}

/*
 * qenv_push - consume input up to the next event; *used says how much.
 * After QENV_SENDER or QENV_RCPT, p->item holds the address until the
 * next call.
 */
int
qenv_push(struct qenv *p, const char *buf, size_t len, size_t *used)
{
    size_t i = 0;

    *used = 0;
    while (i < len) {
        char c = buf[i++];

        switch (p->state) {
        case S_F:
            if (c != 'F') {
                p->state = S_BAD;
                *used = i;
                return QENV_FORMAT;
            }
            bstr_truncate(&p->item, 0);
            p->state = S_SENDER;
            break;
        case S_T:
            if (c == '\0') {
                p->state = S_DONE;
                *used = i;
                return QENV_END;
            }
            if (c != 'T') {
                p->state = S_BAD;
                *used = i;
                return QENV_FORMAT;
            }
            bstr_truncate(&p->item, 0);
            p->state = S_RCPT;
            break;
        case S_SENDER:
        case S_RCPT:
            if (c == '\0') {
                int ev = p->state == S_SENDER ? QENV_SENDER : QENV_RCPT;
                p->state = S_T;
                *used = i;
                return ev;
            }
            if (p->item.len >= p->max) {
                p->state = S_LONG;
                *used = i;
                return QENV_TOOLONG;
            }
            if (bstr_catc(&p->item, c) == -1) {
                *used = i - 1;
                return QENV_NOMEM;
            }
            break;
        case S_DONE:
            *used = i - 1;
            return QENV_END;
        case S_LONG:
            *used = i - 1;
            return QENV_TOOLONG;
        default:
            *used = i - 1;
            return QENV_FORMAT;
        }
    }
    *used = i;
    if (p->state == S_DONE)
        return QENV_END;
    if (p->state == S_BAD)
        return QENV_FORMAT;
    if (p->state == S_LONG)
        return QENV_TOOLONG;
    return QENV_MORE;
}
