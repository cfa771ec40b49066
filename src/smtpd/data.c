/* SPDX-License-Identifier: ISC */
/*
 * data - the DATA/BDAT reader as a push parser (see smtpd.h).
 *
 * It guarantees: DATA ends only at CRLF "." CRLF (RFC 5321 §4.5.2); a
 * bare LF or a bare CR is never a line end, so "\n.\n", "\r.\r" and
 * their mixtures cannot end the data early (SMTP smuggling); a leading
 * dot is removed from every line that has one (dot-stuffing); CRLF is
 * stored as LF, the queue's line end.
 *
 * In DATA, a bare LF or bare CR stops the parser at once (event
 * SMTPD_DATA_BARE), as qmail-1.03 answers its smtplf 451 at once and
 * hangs up: the client and we no longer agree on where the data ends, so
 * nothing it sends after that can be trusted to be data or commands.
 * In BDAT the chunk sizes keep the session in step (RFC 3030), so a bare
 * LF or CR only marks the message as refused and the chunk is read on.
 *
 * The other problems are counted and never stop the parsing, since the
 * client's stream must be read to its end to keep the session in step:
 * NUL bytes, lines over SMTPD_LINE_MAX, more than the size cap, more
 * than SMTPD_HOPS_MAX Received:/Delivered-To: header lines.
 */
#include <string.h>

#include "smtpd.h"

enum {
    S_BOL,   /* at the start of a line */
    S_MID,   /* inside a line */
    S_CR,    /* after a CR: a line end if LF follows */
    S_DOT,   /* after a "." at the start of a line (DATA only) */
    S_DOTCR, /* after "." CR at the start of a line (DATA only) */
    S_STOP,  /* DATA after a bare LF or CR: nothing more is read */
};

static void
flag(struct smtpd_data *d, enum reason r)
{
    if (d->err == OC_OK)
        d->err = r;
}

/*
 * smtpd_data_init - start a message.  dot: DATA (dot-stuffed, ends at
 * CRLF.CRLF), else BDAT (raw chunks).  max: size cap in stored bytes,
 * 0 for none.
 */
void
smtpd_data_init(struct smtpd_data *d, bool dot, unsigned long long max)
{
    memset(d, 0, sizeof *d);
    d->dot = dot;
    d->st = S_BOL;
    d->inheader = true;
    d->max = max;
    d->err = OC_OK;
}

/*
 * Bytes of one line's content (no CR, no LF).  The problem found is the
 * one at the earliest byte (NUL, then line length, then size when they
 * fall on the same byte), and the bytes before it are still output, so
 * the verdict and the output never depend on how the input was cut.
 */
static void
emit_run(struct smtpd_data *d, const char *p, size_t n, char *out,
         size_t *outlen)
{
    enum reason r = OC_OK;
    size_t cut = n; /* bytes before the first problem */
    const char *z;

    if (d->err != OC_OK) {
        d->bytes += n;
        return;
    }
    if ((z = memchr(p, '\0', n))) {
        cut = (size_t)(z - p);
        r = OC_NUL;
    }
    if (d->linelen + n > SMTPD_LINE_MAX && SMTPD_LINE_MAX - d->linelen < cut) {
        cut = SMTPD_LINE_MAX - d->linelen;
        r = OC_LONGLINE;
    }
    if (d->max && d->bytes + n > d->max && d->max - d->bytes < cut) {
        cut = (size_t)(d->max - d->bytes);
        r = OC_TOOBIG;
    }
    if (d->inheader && d->hdrlen < sizeof d->hdr) {
        size_t k = sizeof d->hdr - d->hdrlen;

        if (k > n)
            k = n;
        for (size_t i = 0; i < k; i++) {
            char c = p[i];
            d->hdr[d->hdrlen++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
    }
    memcpy(out + *outlen, p, cut);
    *outlen += cut;
    d->linelen += n;
    d->bytes += n;
    if (r != OC_OK)
        flag(d, r);
}

static bool
is_hop(const struct smtpd_data *d)
{
    return (d->hdrlen >= 9 && memcmp(d->hdr, "received:", 9) == 0) ||
           (d->hdrlen >= 13 && memcmp(d->hdr, "delivered-to:", 13) == 0);
}

/* A CRLF line end, stored as LF. */
static void
emit_eol(struct smtpd_data *d, char *out, size_t *outlen)
{
    d->bytes++;
    if (d->err != OC_OK)
        return;
    if (d->inheader) {
        if (d->linelen == 0)
            d->inheader = false; /* the empty line ends the header */
        else if (is_hop(d) && ++d->hops > SMTPD_HOPS_MAX)
            flag(d, OC_HOPS);
    }
    d->linelen = 0;
    d->hdrlen = 0;
    if (d->max && d->bytes > d->max)
        flag(d, OC_TOOBIG);
    if (d->err == OC_OK)
        out[(*outlen)++] = '\n';
}

/*
 * bare - a bare LF or CR was found: in DATA the end (the byte that
 * showed it is consumed), in BDAT one more reason to refuse.
 */
static bool
bare(struct smtpd_data *d)
{
    if (!d->dot) {
        flag(d, OC_BARENL);
        return false;
    }
    d->err = OC_BARENL; /* the reason the session ends, whatever came before */
    d->st = S_STOP;
    return true;
}

/*
 * smtpd_data_feed - push in[0..n).  Message bytes are appended to out,
 * which must have room for n bytes (the output never outgrows the
 * input); *outlen says how many.  Returns SMTPD_DATA_END when the
 * CRLF.CRLF that ends DATA was consumed (*used bytes of in were read;
 * the rest belongs to the next command); SMTPD_DATA_BARE (DATA only)
 * when a bare LF or bare CR was found, *used counting the byte that
 * showed it, err OC_BARENL, and nothing more to be fed (another feed
 * returns SMTPD_DATA_BARE again with *used 0); else SMTPD_DATA_MORE with
 * all of in consumed.
 */
enum smtpd_data_ev
smtpd_data_feed(struct smtpd_data *d, const char *in, size_t n, size_t *used,
                char *out, size_t *outlen)
{
    size_t i = 0;

    *outlen = 0;
    if (d->st == S_STOP) {
        *used = 0;
        return SMTPD_DATA_BARE;
    }
    while (i < n) {
        unsigned char c = (unsigned char)in[i];
        size_t j;

        switch (d->st) {
        case S_DOT:
            if (c == '\r') {
                d->st = S_DOTCR;
                i++;
                continue;
            }
            d->st = S_MID; /* the dot was stuffing: dropped */
            continue;
        case S_DOTCR:
            if (c == '\n') {
                d->st = S_BOL;
                *used = i + 1;
                return SMTPD_DATA_END;
            }
            if (bare(d)) { /* "." then a bare CR */
                *used = i + 1;
                return SMTPD_DATA_BARE;
            }
            d->st = S_MID;
            continue;
        case S_CR:
            if (c == '\n') {
                emit_eol(d, out, outlen);
                d->st = S_BOL;
                i++;
                continue;
            }
            if (bare(d)) { /* the CR was bare */
                *used = i + 1;
                return SMTPD_DATA_BARE;
            }
            d->st = S_MID;
            continue;
        case S_BOL:
            if (d->dot && c == '.') {
                d->st = S_DOT;
                i++;
                continue;
            }
            d->st = S_MID;
            /* fall through */
        default:
            if (c == '\r') {
                d->st = S_CR;
                i++;
                continue;
            }
            if (c == '\n') {
                /* A bare LF is never a line end, so no "." after it
                 * can end DATA. */
                if (bare(d)) {
                    *used = i + 1;
                    return SMTPD_DATA_BARE;
                }
                i++;
                continue;
            }
            for (j = i + 1; j < n && in[j] != '\r' && in[j] != '\n'; j++)
                ;
            emit_run(d, in + i, j - i, out, outlen);
            i = j;
        }
    }
    *used = n;
    return SMTPD_DATA_MORE;
}

/*
 * smtpd_data_finish - the last BDAT chunk was fed: a CR left pending is
 * bare.  Returns the message's verdict, OC_OK or the first problem.
 */
enum reason
smtpd_data_finish(struct smtpd_data *d)
{
    if (d->st == S_CR || d->st == S_DOTCR)
        flag(d, OC_BARENL);
    d->st = S_BOL;
    return d->err;
}
