/* SPDX-License-Identifier: ISC */
/*
 * body - line ends as the queue stores them.  Queue files hold LF line
 * ends and qmail-remote sends each LF as CRLF, so a CRLF that a program
 * wrote (PHP's mail() headers often end in "\r\n") would leave as
 * CR CR LF.  qmail-inject therefore turns CRLF into LF everywhere; a CR
 * alone is left alone.  A CR at the end of one chunk is held back until
 * the next chunk shows whether an LF follows.
 */
#include "inject.h"

/*
 * inject_crlf - copy p[0..n) to out with each CRLF made LF; out has room
 * for n + 1 bytes (a CR held back from the last call may come first).
 * Returns the bytes written.
 */
size_t
inject_crlf(struct inject_crlf *st, const char *p, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];

        if (st->cr) {
            st->cr = false;
            if (c == '\n') {
                out[o++] = '\n';
                continue;
            }
            out[o++] = '\r';
        }
        if (c == '\r')
            st->cr = true;
        else
            out[o++] = c;
    }
    return o;
}

/* inject_crlf_end - the input is over: a CR held back, if any (0 or 1). */
size_t
inject_crlf_end(struct inject_crlf *st, char *out)
{
    if (!st->cr)
        return 0;
    st->cr = false;
    out[0] = '\r';
    return 1;
}
