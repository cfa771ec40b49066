/* SPDX-License-Identifier: ISC */
/*
 * pop3d_wire - what qmail-pop3d puts on the wire for a message: the
 * RETR/TOP encoder, the UIDL of a Maildir name, and the listing order.
 *
 * Pure: no I/O.  The encoder is a push parser that keeps a few flags
 * between calls, so a message of any size streams through a fixed
 * buffer, and its output for a message given in any split is the same.
 * Unlike qmail-1.03's blast() it adds no empty line before the final
 * dot: the client gets the message's bytes, not one more line.
 */
#include "pop3d.h"

#include <string.h>

/* pop3d_enc_init - start encoding one message; top: stop after `lines` body
 * lines. */
void
pop3d_enc_init(struct pop3d_enc *e, bool top, unsigned long lines)
{
    memset(e, 0, sizeof *e);
    e->bol = true;
    e->inheaders = true;
    e->top = top;
    e->left = lines;
}

/*
 * line_end - a LF was just copied: decide whether TOP has sent enough.
 * The header ends at its first empty line ("" or a lone CR before the
 * LF); that line is sent, then `left` more lines.
 */
static void
line_end(struct pop3d_enc *e)
{
    bool empty = e->linelen == 0 || (e->linelen == 1 && e->lastcr);

    if (e->inheaders) {
        if (empty) {
            e->inheaders = false;
            if (e->top && e->left == 0)
                e->done = true;
        }
    } else if (e->top) {
        if (e->left <= 1)
            e->done = true;
        else
            e->left--;
    }
    e->bol = true;
    e->lastcr = false;
    e->linelen = 0;
}

/*
 * pop3d_enc_push - encode n bytes of the message onto out.  Bytes after
 * the TOP limit are ignored (e->done says the caller may stop reading).
 * 0, or -1 with errno (ENOMEM).
 */
int
pop3d_enc_push(struct pop3d_enc *e, const char *p, size_t n, struct bstr *out)
{
    char *w;

    if (e->done || n == 0)
        return 0;
    /* each byte becomes at most two */
    if (n > ((size_t)-1) / 2 - 1 || bstr_readyplus(out, 2 * n + 1) == -1)
        return -1;
    w = out->s + out->len;
    for (size_t i = 0; i < n && !e->done; i++) {
        char ch = p[i];

        if (ch == '\n') {
            if (!e->lastcr)
                *w++ = '\r';
            *w++ = '\n';
            line_end(e);
            continue;
        }
        if (e->bol && ch == '.')
            *w++ = '.'; /* RFC 1939 §3: byte-stuff a leading dot */
        *w++ = ch;
        e->bol = false;
        e->lastcr = ch == '\r';
        e->linelen++;
    }
    out->len = (size_t)(w - out->s);
    out->s[out->len] = '\0';
    return 0;
}

/*
 * pop3d_enc_end - finish the message: end a last line that had no LF,
 * then the terminating ".\r\n".  0, or -1 with errno.
 */
int
pop3d_enc_end(struct pop3d_enc *e, struct bstr *out)
{
    if (!e->bol && !e->done) {
        if (bstr_cats(out, e->lastcr ? "\n" : "\r\n") == -1)
            return -1;
        e->bol = true;
    }
    e->done = true;
    return bstr_cats(out, ".\r\n");
}

/*
 * pop3d_uidl - the unique-id of a listed name ("new/X" or "cur/X:2,FL"):
 * the name after the directory, up to its first ':', as qmail-pop3d
 * gives it, so a message keeps its id when it moves from new/ to cur/ and
 * gains flags.  Returns the start, *len its length.
 */
const char *
pop3d_uidl(const char *name, size_t *len)
{
    const char *colon;

    if (strncmp(name, "new/", 4) == 0 || strncmp(name, "cur/", 4) == 0)
        name += 4;
    colon = strchr(name, ':');
    *len = colon ? (size_t)(colon - name) : strlen(name);
    return name;
}

/*
 * pop3d_name_ok - may a file name of new/ or cur/ be listed?  No
 * dot-names (maildir(5)), and no byte that would break a LIST or UIDL
 * line (space, control bytes, DEL): no deliverer writes those, and a
 * name with CR LF must not be able to forge protocol lines.
 */
bool
pop3d_name_ok(const char *name)
{
    if (name[0] == '.' || name[0] == '\0')
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

/*
 * pop3d_msg_cmp - the listing order: oldest mtime first (as qmail's
 * maildir_scan), then by unique name, so equal times still give the same
 * numbering in every session; then new/ before cur/.
 */
int
pop3d_msg_cmp(const struct pop3d_msg *a, const struct pop3d_msg *b,
              const char *names)
{
    const char *na = names + a->off, *nb = names + b->off;
    int c;

    if (a->mtime != b->mtime)
        return a->mtime < b->mtime ? -1 : 1;
    c = strcmp(na + 4, nb + 4);
    if (c)
        return c;
    return strcmp(na, nb);
}
