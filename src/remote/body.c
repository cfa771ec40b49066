/* SPDX-License-Identifier: ISC */
/*
 * body - line ends and dot-stuffing for DATA (see body.h).
 */
#include <errno.h>
#include <unistd.h>

#include "body.h"

#define BODY_SCAN_BUF 65536

/* body_init - an encoder at the start of a message. */
void
body_init(struct body_enc *e)
{
    e->bol = true;
    e->cr = false;
    e->eightbit = false;
    e->size = 0;
}

static int
emit(struct body_enc *e, struct bstr *out, const char *p, size_t n)
{
    e->size += n;
    return out ? bstr_catb(out, p, n) : 0;
}

static int
newline(struct body_enc *e, struct bstr *out)
{
    e->bol = true;
    return emit(e, out, "\r\n", 2);
}

/*
 * body_push - encode len bytes of message, appending the wire form to
 * out (NULL: count only).  Runs of ordinary bytes are copied in one go.
 * Returns 0, or -1 (ENOMEM).
 */
int
body_push(struct body_enc *e, const char *in, size_t len, struct bstr *out)
{
    size_t i = 0;

    while (i < len) {
        char c = in[i];
        size_t run;

        if (e->cr) {
            e->cr = false;
            if (newline(e, out) == -1)
                return -1;
            if (c == '\n') {
                i++; /* CR LF in the file is one line end */
                continue;
            }
        }
        if (c == '\r') {
            e->cr = true;
            i++;
            continue;
        }
        if (c == '\n') {
            if (newline(e, out) == -1)
                return -1;
            i++;
            continue;
        }
        if (e->bol && c == '.' && out && bstr_catc(out, '.') == -1)
            return -1; /* the stuffing dot is not counted in size */
        e->bol = false;
        for (run = i; run < len && in[run] != '\r' && in[run] != '\n'; run++)
            if ((unsigned char)in[run] >= 0x80)
                e->eightbit = true;
        if (emit(e, out, in + i, run - i) == -1)
            return -1;
        i = run;
    }
    return 0;
}

/*
 * body_end - finish: a pending CR's line end, a line end if the message
 * lacked its last one, then ".\r\n" (out NULL: count only).
 */
int
body_end(struct body_enc *e, struct bstr *out)
{
    if (e->cr) {
        e->cr = false;
        if (newline(e, out) == -1)
            return -1;
    }
    if (!e->bol && newline(e, out) == -1)
        return -1;
    return out ? bstr_catb(out, ".\r\n", 3) : 0;
}

/*
 * body_scan - read fd from its current offset to the end and say how big
 * the message is on the wire and whether it has 8-bit bytes.  Returns 0,
 * or -1 with errno (a read error).
 */
int
body_scan(int fd, unsigned long long *size, bool *eightbit)
{
    char buf[BODY_SCAN_BUF];
    struct body_enc e;

    body_init(&e);
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            return -1;
        if (r == 0)
            break;
        if (body_push(&e, buf, (size_t)r, NULL) == -1)
            return -1;
    }
    if (body_end(&e, NULL) == -1)
        return -1;
    *size = e.size;
    *eightbit = e.eightbit;
    return 0;
}
