/* SPDX-License-Identifier: ISC */
/*
 * report - a message's results as qmail-remote writes them.
 *
 * Classic (qmail-1.03's interface, byte for byte): one record per
 * recipient, "r" when the server accepted it at RCPT, "h"/"s" when it
 * refused it, then the message's "K", "Z" or "D"; an "r" recipient
 * shares the message's fate when that is not K.  As in qmail-1.03, the
 * recipients after the last one with a result of its own (the
 * connection failed or the sender was refused before RCPT) get no
 * record: "fewer recipient reports", and they share the message's fate.
 * One never asked for before such a record gets "h" or "s" like the
 * message, with its text.
 *
 * Batch (spawnproto.h, for qmail-rspawn): a record for every recipient
 * after the slot, and every code is final: "r" only when the message
 * was accepted, an accepted recipient of a failed message "h" or "s"
 * like the message.  A recipient whose text is the message's is sent
 * with an empty text (qmail-send then uses the final one), which keeps
 * reports for many recipients small.  A recipient's own text is sent
 * whole, with the tail that qmail-1.03's qmail-rspawn used to add (see
 * remote_rcpt), so qmail-send logs and bounces read as with qmail-1.03.
 */
#include <string.h>

#include "remote.h"
#include "spawnproto.h"

/* fate - the code a recipient takes from the message's final code. */
static char
fate(char final)
{
    return final == 'D' ? 'h' : final == 'K' ? 'r' : 's';
}

/* str - a bstr's bytes, never NULL. */
static const char *
str(const struct bstr *b)
{
    return b->s ? b->s : "";
}

/* final_text - the message's text (REMOTE_NOMEM when it was lost). */
static struct bstr
final_text(const struct remote_msg *m)
{
    struct bstr t = m->text;

    if (m->nomem) {
        t.s = (char *)REMOTE_NOMEM;
        t.len = sizeof REMOTE_NOMEM - 1;
        t.cap = 0;
    }
    return t;
}

/* remote_report_classic - append m's classic output.  0, or -1. */
int
remote_report_classic(const struct remote_msg *m, struct bstr *out)
{
    const struct bstr ft = final_text(m);
    size_t upto = m->n;

    while (upto > 0 && !m->r[upto - 1].code)
        upto--;
    for (size_t i = 0; i < upto; i++) {
        const struct remote_rcpt *r = &m->r[i];
        const struct bstr *t = &r->text;
        size_t len = t->len - (r->tail <= t->len ? r->tail : t->len);
        char code = r->code;

        if (!code) {
            code = fate(m->final) == 'r' ? 's' : fate(m->final);
            t = &ft;
            len = ft.len;
        } else if (code != 'r' && len == 0) {
            t = &ft;
            len = ft.len;
        }
        if (spawnproto_report_rcpt(out, code, code == 'r' ? "" : str(t),
                                   code == 'r' ? 0 : len) == -1)
            return -1;
    }
    return spawnproto_report_end(out, m->final, str(&ft), ft.len);
}

/* remote_report_batch - append m's report for slot.  0, or -1. */
int
remote_report_batch(const struct remote_msg *m, unsigned slot,
                    struct bstr *out)
{
    const struct bstr ft = final_text(m);

    if (spawnproto_report_start(out, slot) == -1)
        return -1;
    for (size_t i = 0; i < m->n; i++) {
        const struct remote_rcpt *r = &m->r[i];
        bool own = r->code == 'h' || r->code == 's';
        char code = r->code;

        if (r->code == 'r')
            code = fate(m->final);
        else if (!own) /* never asked for: never claim a delivery */
            code = m->final == 'D' ? 'h' : 's';
        if (spawnproto_report_rcpt(out, code, own ? str(&r->text) : "",
                                   own ? r->text.len : 0) == -1)
            return -1;
    }
    return spawnproto_report_end(out, m->final, str(&ft), ft.len);
}
