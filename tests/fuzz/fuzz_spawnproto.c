/* SPDX-License-Identifier: ISC */
/*
 * fuzz_spawnproto - both directions between qmail-send and its spawners.
 * Byte 0 picks a chunk size; the rest is fed, in chunks of that size,
 * to the request parser (what qmail-lspawn and qmail-rspawn read) and
 * to the report parser (what qmail-send reads), request after request
 * and report after report.  Properties: *used never passes the input
 * and the parser consumes all of it or stops at the first bad record;
 * every request has a slot up to 65535 and 1..SPAWN_RCPTS_MAX non-empty
 * recipients, every report a final K/Z/D and at most SPAWN_RCPTS_MAX
 * r/h/s codes; and each one re-encoded with the writers parses back to
 * the same fields (texts cut at SPAWN_TEXT_MAX); and the input itself
 * as the writers' texts and sender reads back as writers() says.  Any
 * broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bstr.h"
#include "spawnproto.h"

static void
must(int cond)
{
    if (!cond)
        abort();
}

static int
same(const struct bstr *a, const char *s, size_t n)
{
    return a->len == n && (n == 0 || !memcmp(a->s, s, n));
}

/* count - the number of NUL-ended strings in b, each non-empty if want. */
static size_t
count(const struct bstr *b, int nonempty)
{
    size_t k = 0, start = 0;

    for (size_t i = 0; i < b->len; i++)
        if (b->s[i] == '\0') {
            must(!nonempty || i > start);
            k++;
            start = i + 1;
        }
    must(start == b->len);
    return k;
}

/* req_again - encode q with spawnproto_request, parse it, compare. */
static void
req_again(const struct spawn_request *q)
{
    struct bstr out = BSTR_INIT;
    struct spawn_reqparser p;
    size_t used;

    spawnproto_req_init(&p);
    if (spawnproto_request(&out, q->slot, q->msgid,
                           q->sender.s ? q->sender.s : "", q->sender.len,
                           &q->rcpts, q->nrcpt) == 0) {
        must(spawnproto_req_push(&p, out.s, out.len, &used) ==
             SPAWNPROTO_REQUEST);
        must(used == out.len);
        must(p.req.slot == q->slot && p.req.msgid == q->msgid);
        must(same(&p.req.sender, q->sender.s, q->sender.len));
        must(p.req.nrcpt == q->nrcpt);
        must(same(&p.req.rcpts, q->rcpts.s, q->rcpts.len));
    }
    spawnproto_req_free(&p);
    bstr_free(&out);
}

/*
 * feed - push in, in chunks of chunk bytes, to a parser of either
 * direction; check() looks at each complete request or report.
 */
static void
feed(int (*push)(void *, const char *, size_t, size_t *),
     void (*check)(void *), void *p, const char *in, size_t n, size_t chunk)
{
    size_t off = 0;

    while (off < n) {
        size_t len = n - off < chunk ? n - off : chunk, used;
        int ev = push(p, in + off, len, &used);

        must(used <= len);
        off += used;
        if (ev == SPAWNPROTO_BAD || ev == SPAWNPROTO_NOMEM)
            break;
        if (ev == SPAWNPROTO_MORE) {
            must(used == len);
            continue;
        }
        must(ev == SPAWNPROTO_REQUEST || ev == SPAWNPROTO_REPORT);
        check(p);
    }
}

static int
req_push(void *p, const char *buf, size_t len, size_t *used)
{
    return spawnproto_req_push(p, buf, len, used);
}

static void
req_check(void *v)
{
    struct spawn_reqparser *p = v;

    must(p->req.slot <= 65535);
    must(p->req.nrcpt >= 1 && p->req.nrcpt <= SPAWN_RCPTS_MAX);
    must(count(&p->req.rcpts, 1) == p->req.nrcpt);
    must(p->req.sender.len <= SPAWN_RECORD_MAX);
    must(p->req.sender.len == 0 ||
         !memchr(p->req.sender.s, '\0', p->req.sender.len));
    req_again(&p->req);
}

/* cut - the length a writer keeps of a text. */
static size_t
cut(size_t len)
{
    return len > SPAWN_TEXT_MAX ? SPAWN_TEXT_MAX : len;
}

/* rep_again - encode r with the report writers, parse it, compare. */
static void
rep_again(const struct spawn_report *r)
{
    struct bstr out = BSTR_INIT, want = BSTR_INIT;
    struct spawn_repparser p;
    size_t used, off = 0;
    int ok;

    spawnproto_rep_init(&p);
    ok = spawnproto_report_start(&out, r->slot) == 0;
    for (size_t i = 0; ok && i < r->codes.len; i++) {
        const char *t = r->texts.s + off;
        size_t tl = strlen(t);

        ok = spawnproto_report_rcpt(&out, r->codes.s[i], t, tl) == 0 &&
             bstr_catb(&want, t, cut(tl)) == 0 && bstr_catc(&want, '\0') == 0;
        off += tl + 1;
    }
    ok = ok && spawnproto_report_end(&out, r->final,
                                     r->text.s ? r->text.s : "",
                                     r->text.len) == 0;
    if (ok) {
        must(spawnproto_rep_push(&p, out.s, out.len, &used) ==
             SPAWNPROTO_REPORT);
        must(used == out.len);
        must(p.rep.slot == r->slot && p.rep.final == r->final);
        must(same(&p.rep.codes, r->codes.s, r->codes.len));
        must(same(&p.rep.texts, want.s, want.len));
        must(same(&p.rep.text, r->text.s, cut(r->text.len)));
    }
    spawnproto_rep_free(&p);
    bstr_free(&out);
    bstr_free(&want);
}

static int
rep_push(void *p, const char *buf, size_t len, size_t *used)
{
    return spawnproto_rep_push(p, buf, len, used);
}

static void
rep_check(void *v)
{
    struct spawn_repparser *p = v;

    must(p->rep.slot <= 65535);
    must(strchr("KZD", p->rep.final) && p->rep.final != '\0');
    must(p->rep.codes.len <= SPAWN_RCPTS_MAX);
    for (size_t i = 0; i < p->rep.codes.len; i++)
        must(strchr("rhs", p->rep.codes.s[i]) && p->rep.codes.s[i]);
    must(count(&p->rep.texts, 0) == p->rep.codes.len);
    must(p->rep.text.len == 0 ||
         !memchr(p->rep.text.s, '\0', p->rep.text.len));
    rep_again(&p->rep);
}

/*
 * writers - the input as texts and addresses for the writers: a report
 * whose recipient and final texts are the input reads back as the input
 * cut at its first NUL and at SPAWN_TEXT_MAX; a request whose sender is
 * the input is written only if it holds no NUL, and then reads back
 * whole when it fits a record, or is refused by the reader (never
 * misread) when it does not.
 */
static void
writers(const char *in, size_t n)
{
    struct bstr out = BSTR_INIT, rc = BSTR_INIT;
    struct spawn_repparser rp;
    struct spawn_reqparser qp;
    const char *nul = n ? memchr(in, '\0', n) : NULL;
    size_t keep = cut(nul ? (size_t)(nul - in) : n), used;
    int ev;

    spawnproto_rep_init(&rp);
    if (spawnproto_report_start(&out, 7) == 0 &&
        spawnproto_report_rcpt(&out, 'h', in, n) == 0 &&
        spawnproto_report_end(&out, 'D', in, n) == 0) {
        must(spawnproto_rep_push(&rp, out.s, out.len, &used) ==
             SPAWNPROTO_REPORT);
        must(used == out.len && rp.rep.final == 'D');
        must(same(&rp.rep.codes, "h", 1));
        must(rp.rep.texts.len == keep + 1 &&
             (keep == 0 || !memcmp(rp.rep.texts.s, in, keep)));
        must(same(&rp.rep.text, in, keep));
    }
    spawnproto_rep_free(&rp);

    bstr_truncate(&out, 0);
    spawnproto_req_init(&qp);
    if (bstr_catb(&rc, "r@x", 4) == 0) {
        int r = spawnproto_request(&out, 1, 2, in, n, &rc, 1);

        must(!nul || r == -1);
        if (r == 0) {
            ev = spawnproto_req_push(&qp, out.s, out.len, &used);
            if (n <= SPAWN_RECORD_MAX) {
                must(ev == SPAWNPROTO_REQUEST && used == out.len);
                must(same(&qp.req.sender, in, n));
            } else {
                must(ev == SPAWNPROTO_BAD);
            }
        }
    }
    spawnproto_req_free(&qp);
    bstr_free(&rc);
    bstr_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct spawn_reqparser q;
    struct spawn_repparser r;
    size_t chunk;

    if (size < 1)
        return 0;
    chunk = (size_t)(data[0] % 64) + 1;
    spawnproto_req_init(&q);
    feed(req_push, req_check, &q, (const char *)data + 1, size - 1, chunk);
    spawnproto_req_free(&q);
    spawnproto_rep_init(&r);
    feed(rep_push, rep_check, &r, (const char *)data + 1, size - 1, chunk);
    spawnproto_rep_free(&r);
    writers((const char *)data + 1, size - 1);
    return 0;
}
