/* SPDX-License-Identifier: ISC */
/*
 * spawnproto - encoding and parsing qmail-send <-> spawner records
 * (see spawnproto.h for the protocol).
 */
#include <string.h>

#include "fmt.h"
#include "spawnproto.h"

static int
rec(struct bstr *out, const char *p, size_t n)
{
    if (memchr(p, '\0', n))
        return -1;
    if (bstr_catb(out, p, n) == -1 || bstr_catc(out, '\0') == -1)
        return -1;
    return 0;
}

/* spawnproto_request - append one request; rcpts holds nrcpt NUL-ended. */
int
spawnproto_request(struct bstr *out, unsigned slot, unsigned long long msgid,
                   const char *sender, size_t slen, const struct bstr *rcpts,
                   size_t nrcpt)
{
    size_t off = 0;

    if (nrcpt == 0 || nrcpt > SPAWN_RCPTS_MAX)
        return -1;
    if (bstr_catu(out, slot) == -1 || bstr_catc(out, '\0') == -1 ||
        bstr_catu(out, msgid) == -1 || bstr_catc(out, '\0') == -1 ||
        rec(out, sender, slen) == -1)
        return -1;
    for (size_t i = 0; i < nrcpt; i++) {
        size_t n;

        if (off >= rcpts->len)
            return -1;
        n = strlen(rcpts->s + off);
        if (n == 0)
            return -1;
        if (rec(out, rcpts->s + off, n) == -1)
            return -1;
        off += n + 1;
    }
    return bstr_catc(out, '\0');
}

int
spawnproto_report_start(struct bstr *out, unsigned slot)
{
    if (bstr_catu(out, slot) == -1)
        return -1;
    return bstr_catc(out, '\0');
}

/* coded - a record "<code><text>", text cut at SPAWN_TEXT_MAX and at NUL. */
static int
coded(struct bstr *out, char code, const char *text, size_t len)
{
    const char *nul = len ? memchr(text, '\0', len) : NULL;

    if (nul)
        len = (size_t)(nul - text);
    if (len > SPAWN_TEXT_MAX)
        len = SPAWN_TEXT_MAX;
    if (bstr_catc(out, code) == -1 || bstr_catb(out, text, len) == -1)
        return -1;
    return bstr_catc(out, '\0');
}

int
spawnproto_report_rcpt(struct bstr *out, char code, const char *text,
                       size_t len)
{
    if (code != 'r' && code != 'h' && code != 's')
        return -1;
    return coded(out, code, text, len);
}

int
spawnproto_report_end(struct bstr *out, char code, const char *text,
                      size_t len)
{
    if (code != 'K' && code != 'Z' && code != 'D')
        return -1;
    return coded(out, code, text, len);
}

static bool
decimal(const struct bstr *b, unsigned long long *v)
{
    return b->len > 0 && b->len <= 20 && scan_ull(b->s, b->len, v) == b->len;
}

void
spawnproto_req_init(struct spawn_reqparser *p)
{
    memset(p, 0, sizeof *p);
    nulrec_init(&p->nr, SPAWN_RECORD_MAX);
}

void
spawnproto_req_free(struct spawn_reqparser *p)
{
    nulrec_free(&p->nr);
    bstr_free(&p->req.sender);
    bstr_free(&p->req.rcpts);
}

/*
 * spawnproto_req_push - feed request bytes; SPAWNPROTO_REQUEST when one is
 * complete in p->req (valid until the next push).  *used says how much
 * input was consumed.
 */
int
spawnproto_req_push(struct spawn_reqparser *p, const char *buf, size_t len,
                    size_t *used)
{
    size_t off = 0;

    *used = 0;
    while (off < len) {
        size_t u;
        int ev = nulrec_push(&p->nr, buf + off, len - off, &u);
        const struct bstr *r = &p->nr.rec;
        unsigned long long v;

        off += u;
        *used = off;
        if (ev == NULREC_MORE)
            return SPAWNPROTO_MORE;
        if (ev == NULREC_NOMEM)
            return SPAWNPROTO_NOMEM;
        if (ev == NULREC_TOOLONG)
            return SPAWNPROTO_BAD;
        switch (p->field) {
        case 0:
            if (!decimal(r, &v) || v > 65535)
                return SPAWNPROTO_BAD;
            p->req.slot = (unsigned)v;
            bstr_truncate(&p->req.sender, 0);
            bstr_truncate(&p->req.rcpts, 0);
            p->req.nrcpt = 0;
            p->field = 1;
            break;
        case 1:
            if (!decimal(r, &v))
                return SPAWNPROTO_BAD;
            p->req.msgid = v;
            p->field = 2;
            break;
        case 2:
            if (bstr_copyb(&p->req.sender, r->s, r->len) == -1)
                return SPAWNPROTO_NOMEM;
            p->field = 3;
            break;
        default:
            if (r->len == 0) {
                p->field = 0;
                if (p->req.nrcpt == 0)
                    return SPAWNPROTO_BAD;
                return SPAWNPROTO_REQUEST;
            }
            if (p->req.nrcpt >= SPAWN_RCPTS_MAX)
                return SPAWNPROTO_BAD;
            if (bstr_catb(&p->req.rcpts, r->s, r->len) == -1 ||
                bstr_catc(&p->req.rcpts, '\0') == -1)
                return SPAWNPROTO_NOMEM;
            p->req.nrcpt++;
            break;
        }
    }
    return SPAWNPROTO_MORE;
}

void
spawnproto_rep_init(struct spawn_repparser *p)
{
    memset(p, 0, sizeof *p);
    nulrec_init(&p->nr, SPAWN_RECORD_MAX);
}

void
spawnproto_rep_free(struct spawn_repparser *p)
{
    nulrec_free(&p->nr);
    bstr_free(&p->rep.codes);
    bstr_free(&p->rep.texts);
    bstr_free(&p->rep.text);
}

/*
 * spawnproto_rep_push - feed report bytes; SPAWNPROTO_REPORT when one is
 * complete in p->rep (valid until the next push).
 */
int
spawnproto_rep_push(struct spawn_repparser *p, const char *buf, size_t len,
                    size_t *used)
{
    size_t off = 0;

    *used = 0;
    while (off < len) {
        size_t u;
        int ev = nulrec_push(&p->nr, buf + off, len - off, &u);
        const struct bstr *r = &p->nr.rec;
        unsigned long long v;

        off += u;
        *used = off;
        if (ev == NULREC_MORE)
            return SPAWNPROTO_MORE;
        if (ev == NULREC_NOMEM)
            return SPAWNPROTO_NOMEM;
        if (ev == NULREC_TOOLONG)
            return SPAWNPROTO_BAD;
        if (p->field == 0) {
            if (!decimal(r, &v) || v > 65535)
                return SPAWNPROTO_BAD;
            p->rep.slot = (unsigned)v;
            bstr_truncate(&p->rep.codes, 0);
            bstr_truncate(&p->rep.texts, 0);
            bstr_truncate(&p->rep.text, 0);
            p->field = 1;
            continue;
        }
        if (r->len == 0)
            return SPAWNPROTO_BAD;
        switch (r->s[0]) {
        case 'r':
        case 'h':
        case 's':
            if (p->rep.codes.len >= SPAWN_RCPTS_MAX)
                return SPAWNPROTO_BAD;
            if (bstr_catc(&p->rep.codes, r->s[0]) == -1 ||
                bstr_catb(&p->rep.texts, r->s + 1, r->len - 1) == -1 ||
                bstr_catc(&p->rep.texts, '\0') == -1)
                return SPAWNPROTO_NOMEM;
            break;
        case 'K':
        case 'Z':
        case 'D':
            p->rep.final = r->s[0];
            if (bstr_copyb(&p->rep.text, r->s + 1, r->len - 1) == -1)
                return SPAWNPROTO_NOMEM;
            p->field = 0;
            return SPAWNPROTO_REPORT;
        default:
            return SPAWNPROTO_BAD;
        }
    }
    return SPAWNPROTO_MORE;
}
