/* SPDX-License-Identifier: ISC */
/*
 * scram - SCRAM-SHA-256's messages and keys (see scram.h).
 *
 * RFC 5802 section 3 in brief, with H = SHA-256 and HMAC = HMAC-SHA-256:
 *
 *   SaltedPassword  = Hi(password, salt, i)      (PBKDF2, one block)
 *   ClientKey       = HMAC(SaltedPassword, "Client Key")
 *   StoredKey       = H(ClientKey)
 *   ServerKey       = HMAC(SaltedPassword, "Server Key")
 *   AuthMessage     = client-first-bare "," server-first ","
 *                     client-final-without-proof
 *   ClientSignature = HMAC(StoredKey, AuthMessage)
 *   ClientProof     = ClientKey XOR ClientSignature
 *   ServerSignature = HMAC(ServerKey, AuthMessage)
 *
 * The server keeps StoredKey and ServerKey only: it recovers ClientKey
 * from the proof and checks that its hash is StoredKey.
 */
#include <errno.h>
#include <string.h>

#include "base64.h"
#include "scram.h"
#include "tls.h"

/* scram_equal - constant-time comparison (the lengths are not secret). */
bool
scram_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = alen != blen;
    size_t n = alen < blen ? alen : blen;

    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

static void
wipe(struct bstr *b)
{
    if (b->s)
        explicit_bzero(b->s, b->cap);
    bstr_truncate(b, 0);
}

/* utf8_ok - well-formed UTF-8: no overlong forms, surrogates or values
 * past U+10FFFF. */
static bool
utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        unsigned long cp, min;
        size_t k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i - 1 < k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* printable - RFC 5802's printable: %x21-2B / %x2D-7E, at least one. */
static bool
printable(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
            return false;
    return true;
}

/* value_ok - 1*value-char: UTF-8 without NUL (',' ends it already). */
static bool
value_ok(const char *s, size_t n)
{
    return n > 0 && !memchr(s, '\0', n) && utf8_ok(s, n);
}

static bool
is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

struct attr {
    char name;
    const char *v;
    size_t n;
};

/*
 * next_attr - the attribute at *pos: a letter, '=', then the bytes up to
 * the next ',' or the end.  Returns 1 (and *pos moves past its ','), 0
 * at the end, -1 when it is no attribute or a ',' ends the message.
 */
static int
next_attr(const char *m, size_t len, size_t *pos, struct attr *a)
{
    size_t p = *pos, e;

    if (p >= len)
        return 0;
    if (len - p < 2 || !is_alpha(m[p]) || m[p + 1] != '=')
        return -1;
    e = p + 2;
    while (e < len && m[e] != ',')
        e++;
    a->name = m[p];
    a->v = m + p + 2;
    a->n = e - p - 2;
    if (e < len && ++e == len)
        return -1;
    *pos = e;
    return 1;
}

/* extensions - the rest of a message: attr=value items, ignored. */
static int
extensions(const char *m, size_t len, size_t pos)
{
    struct attr a;
    int r;

    while ((r = next_attr(m, len, &pos, &a)) == 1)
        if (!value_ok(a.v, a.n))
            return -1;
    return r;
}

/*
 * unescape - a saslname into out: "=2C" is ',', "=3D" is '=', any other
 * '=' is an error, and so are control bytes, bad UTF-8 and an empty or
 * over-long name.
 */
static int
unescape(struct bstr *out, const char *s, size_t n)
{
    bstr_truncate(out, 0);
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c == '=') {
            if (n - i < 3)
                return -1;
            if (s[i + 1] == '2' && (s[i + 2] == 'C' || s[i + 2] == 'c'))
                c = ',';
            else if (s[i + 1] == '3' && (s[i + 2] == 'D' || s[i + 2] == 'd'))
                c = '=';
            else
                return -1;
            i += 2;
        } else if ((unsigned char)c < 0x20 || c == 0x7f || c == ',') {
            return -1;
        }
        if (bstr_catc(out, c) == -1)
            return -2;
    }
    if (out->len > SCRAM_NAME_MAX || !utf8_ok(out->s, out->len))
        return -1;
    return 0;
}

/* scram_saslname_escape - append s as a saslname (',' and '='). */
int
scram_saslname_escape(struct bstr *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = s[i] == ','   ? bstr_cats(out, "=2C")
                : s[i] == '=' ? bstr_cats(out, "=3D")
                              : bstr_catc(out, s[i]);

        if (r == -1)
            return -1;
    }
    return 0;
}

/* b64 - strict base64 of a nonempty value into out (replacing it). */
static int
b64(struct bstr *out, const char *v, size_t n)
{
    bstr_truncate(out, 0);
    if (n == 0) {
        errno = EINVAL;
        return -1;
    }
    return base64_decode(out, v, n);
}

/* posit_number - %x31-39 *DIGIT, at most SCRAM_ITER_MAX. */
static int
posit_number(const char *s, size_t n, unsigned long *out)
{
    unsigned long v = 0;

    if (n == 0 || s[0] < '1' || s[0] > '9')
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > SCRAM_ITER_MAX)
            return -1;
    }
    *out = v;
    return 0;
}

/* fail - -1 with errno e (ENOMEM wins: it is not the message's fault). */
static int
fail(int e)
{
    errno = errno == ENOMEM ? ENOMEM : e;
    return -1;
}

/* ---- keys ------------------------------------------------------------ */

/* derive - ClientKey, StoredKey and ServerKey from SaltedPassword. */
static int
derive(const unsigned char sp[SCRAM_KEY_LEN], unsigned char ck[SCRAM_KEY_LEN],
       struct scram_keys *k)
{
    if (tls_hmac_sha256(sp, SCRAM_KEY_LEN, "Client Key", 10, ck) == -1 ||
        tls_sha256(ck, SCRAM_KEY_LEN, k->stored) == -1 ||
        tls_hmac_sha256(sp, SCRAM_KEY_LEN, "Server Key", 10, k->server) == -1)
        return -1;
    return 0;
}

/*
 * scram_keys_make - a user's verifier from the password: iter from
 * SCRAM_ITER_MIN to SCRAM_ITER_MAX, salt 1 to SCRAM_SALT_MAX bytes.
 * 0, or -1 with errno (EINVAL for the limits, EIO).
 */
int
scram_keys_make(const char *pass, size_t passlen, const unsigned char *salt,
                size_t saltlen, unsigned long iter, struct scram_keys *k)
{
    unsigned char sp[SCRAM_KEY_LEN], ck[SCRAM_KEY_LEN];
    int r;

    if (iter < SCRAM_ITER_MIN || iter > SCRAM_ITER_MAX || saltlen == 0 ||
        saltlen > SCRAM_SALT_MAX) {
        errno = EINVAL;
        return -1;
    }
    memset(k, 0, sizeof *k);
    k->iter = iter;
    k->saltlen = saltlen;
    memcpy(k->salt, salt, saltlen);
    r = tls_pbkdf2_sha256(pass, passlen, salt, saltlen, iter, sp);
    if (r == 0)
        r = derive(sp, ck, k);
    explicit_bzero(sp, sizeof sp);
    explicit_bzero(ck, sizeof ck);
    return r;
}

/*
 * scram_keys_format - append PostgreSQL's text of the verifier:
 * SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY (base64).  0 or -1.
 */
int
scram_keys_format(const struct scram_keys *k, struct bstr *out)
{
    if (bstr_catf(out, SCRAM_MECH "$%lu:", k->iter) == -1 ||
        base64_encode(out, k->salt, k->saltlen) == -1 ||
        bstr_catc(out, '$') == -1 ||
        base64_encode(out, k->stored, SCRAM_KEY_LEN) == -1 ||
        bstr_catc(out, ':') == -1 ||
        base64_encode(out, k->server, SCRAM_KEY_LEN) == -1)
        return -1;
    return 0;
}

/*
 * scram_keys_parse - the verifier's text back (exactly the format above,
 * an iteration count from SCRAM_ITER_MIN up).  0, or -1 with errno
 * EINVAL.
 */
int
scram_keys_parse(const char *s, size_t len, struct scram_keys *k)
{
    static const char pre[] = SCRAM_MECH "$";
    struct bstr b = BSTR_INIT;
    const char *p, *end = s + len, *colon, *dollar, *colon2;
    int ok = 0;

    errno = 0; /* fail() tells ENOMEM from a bad message */

    memset(k, 0, sizeof *k);
    if (len < sizeof pre || memcmp(s, pre, sizeof pre - 1) != 0)
        goto bad;
    p = s + sizeof pre - 1;
    colon = memchr(p, ':', (size_t)(end - p));
    if (!colon || posit_number(p, (size_t)(colon - p), &k->iter) == -1 ||
        k->iter < SCRAM_ITER_MIN)
        goto bad;
    p = colon + 1;
    dollar = memchr(p, '$', (size_t)(end - p));
    if (!dollar || b64(&b, p, (size_t)(dollar - p)) == -1 ||
        b.len > SCRAM_SALT_MAX)
        goto bad;
    memcpy(k->salt, b.s, b.len);
    k->saltlen = b.len;
    p = dollar + 1;
    colon2 = memchr(p, ':', (size_t)(end - p));
    if (!colon2 || b64(&b, p, (size_t)(colon2 - p)) == -1 ||
        b.len != SCRAM_KEY_LEN)
        goto bad;
    memcpy(k->stored, b.s, SCRAM_KEY_LEN);
    p = colon2 + 1;
    if (b64(&b, p, (size_t)(end - p)) == -1 || b.len != SCRAM_KEY_LEN)
        goto bad;
    memcpy(k->server, b.s, SCRAM_KEY_LEN);
    ok = 1;
bad:
    wipe(&b);
    bstr_free(&b);
    if (ok)
        return 0;
    memset(k, 0, sizeof *k);
    return fail(EINVAL);
}

/* ---- parsing ----------------------------------------------------------- */

static int
msg_ok(const char *msg, size_t len)
{
    if (len == 0 || len > SCRAM_MSG_MAX || memchr(msg, '\0', len)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

void
scram_first_free(struct scram_first *f)
{
    bstr_free(&f->user);
    bstr_free(&f->gs2);
    bstr_free(&f->bare);
    bstr_free(&f->nonce);
}

/*
 * scram_parse_first - a client-first-message into f (whose strings it
 * reuses).  0, or -1 with errno: EINVAL malformed (an authzid naming
 * somebody else too), ENOTSUP channel binding or "m=", ENOMEM.
 */
int
scram_parse_first(const char *msg, size_t len, struct scram_first *f)
{
    struct bstr authz = BSTR_INIT;
    struct attr a;
    size_t pos = 0;
    int r;

    errno = 0; /* fail() tells ENOMEM from a bad message */

    bstr_truncate(&f->user, 0);
    bstr_truncate(&f->gs2, 0);
    bstr_truncate(&f->bare, 0);
    bstr_truncate(&f->nonce, 0);
    f->cbind_y = false;
    if (msg_ok(msg, len) == -1)
        return -1;
    /* gs2-cbind-flag "," */
    if (len >= 2 && (msg[0] == 'n' || msg[0] == 'y') && msg[1] == ',') {
        f->cbind_y = msg[0] == 'y';
        pos = 2;
    } else if (len >= 3 && msg[0] == 'p' && msg[1] == '=') {
        size_t i = 2;

        while (i < len && ((msg[i] >= '0' && msg[i] <= '9') ||
                           is_alpha(msg[i]) || msg[i] == '.' || msg[i] == '-'))
            i++;
        errno = i > 2 && i < len && msg[i] == ',' ? ENOTSUP : EINVAL;
        return -1;
    } else {
        errno = EINVAL;
        return -1;
    }
    /* [authzid] "," */
    if (pos < len && msg[pos] == ',') {
        pos++;
    } else if (len - pos > 2 && msg[pos] == 'a' && msg[pos + 1] == '=') {
        const char *c = memchr(msg + pos + 2, ',', len - pos - 2);

        if (!c)
            goto bad;
        r = unescape(&authz, msg + pos + 2, (size_t)(c - msg - pos - 2));
        if (r < 0)
            goto bad;
        pos = (size_t)(c - msg) + 1;
    } else {
        goto bad;
    }
    if (bstr_copyb(&f->gs2, msg, pos) == -1 ||
        bstr_copyb(&f->bare, msg + pos, len - pos) == -1)
        goto bad;
    /* [reserved-mext ","] username "," nonce ["," extensions] */
    if (next_attr(msg, len, &pos, &a) != 1)
        goto bad;
    if (a.name == 'm') {
        bstr_free(&authz);
        errno = ENOTSUP;
        return -1;
    }
    if (a.name != 'n' || unescape(&f->user, a.v, a.n) < 0)
        goto bad;
    if (next_attr(msg, len, &pos, &a) != 1 || a.name != 'r' ||
        a.n > SCRAM_NONCE_MAX || !printable(a.v, a.n) ||
        bstr_copyb(&f->nonce, a.v, a.n) == -1)
        goto bad;
    if (extensions(msg, len, pos) == -1)
        goto bad;
    /* acting for somebody else is not offered (as with PLAIN) */
    if (authz.len && (authz.len != f->user.len ||
                      memcmp(authz.s, f->user.s, authz.len) != 0))
        goto bad;
    bstr_free(&authz);
    return 0;
bad:
    bstr_free(&authz);
    return fail(EINVAL);
}

/*
 * scram_parse_server_first - a server-first-message: the whole nonce,
 * the salt (decoded) and the iteration count (SCRAM_ITER_MIN up).  0,
 * or -1 with errno EINVAL, ENOTSUP ("m="), ENOMEM.
 */
int
scram_parse_server_first(const char *msg, size_t len, struct bstr *nonce,
                         struct bstr *salt, unsigned long *iter)
{
    struct attr a;
    size_t pos = 0;

    errno = 0; /* fail() tells ENOMEM from a bad message */

    if (msg_ok(msg, len) == -1)
        return -1;
    if (next_attr(msg, len, &pos, &a) != 1)
        return fail(EINVAL);
    if (a.name == 'm') {
        errno = ENOTSUP;
        return -1;
    }
    if (a.name != 'r' || a.n > 2 * SCRAM_NONCE_MAX || !printable(a.v, a.n) ||
        bstr_copyb(nonce, a.v, a.n) == -1)
        return fail(EINVAL);
    if (next_attr(msg, len, &pos, &a) != 1 || a.name != 's' ||
        b64(salt, a.v, a.n) == -1 || salt->len > SCRAM_SALT_MAX)
        return fail(EINVAL);
    if (next_attr(msg, len, &pos, &a) != 1 || a.name != 'i' ||
        posit_number(a.v, a.n, iter) == -1 || *iter < SCRAM_ITER_MIN)
        return fail(EINVAL);
    if (extensions(msg, len, pos) == -1)
        return fail(EINVAL);
    return 0;
}

void
scram_final_free(struct scram_final *f)
{
    bstr_free(&f->cbind);
    bstr_free(&f->nonce);
    wipe(&f->proof);
    bstr_free(&f->proof);
}

/*
 * scram_parse_final - a client-final-message into f: channel binding
 * "c=", nonce "r=", extensions, and the proof "p=" last (32 bytes).  0,
 * or -1 with errno EINVAL or ENOMEM.
 */
int
scram_parse_final(const char *msg, size_t len, struct scram_final *f)
{
    struct attr a;
    size_t pos = 0, cut;

    errno = 0; /* fail() tells ENOMEM from a bad message */

    bstr_truncate(&f->cbind, 0);
    bstr_truncate(&f->nonce, 0);
    bstr_truncate(&f->proof, 0);
    f->noproof_len = 0;
    if (msg_ok(msg, len) == -1)
        return -1;
    /* the proof is the last attribute: after the last ',' */
    cut = len;
    while (cut > 0 && msg[cut - 1] != ',')
        cut--;
    if (cut < 2 || len - cut < 3 || msg[cut] != 'p' || msg[cut + 1] != '=' ||
        b64(&f->proof, msg + cut + 2, len - cut - 2) == -1 ||
        f->proof.len != SCRAM_KEY_LEN)
        return fail(EINVAL);
    f->noproof_len = cut - 1;
    len = cut - 1;
    if (next_attr(msg, len, &pos, &a) != 1 || a.name != 'c' ||
        b64(&f->cbind, a.v, a.n) == -1)
        return fail(EINVAL);
    if (next_attr(msg, len, &pos, &a) != 1 || a.name != 'r' ||
        a.n > 2 * SCRAM_NONCE_MAX || !printable(a.v, a.n) ||
        bstr_copyb(&f->nonce, a.v, a.n) == -1)
        return fail(EINVAL);
    if (extensions(msg, len, pos) == -1)
        return fail(EINVAL);
    return 0;
}

/*
 * scram_parse_server_final - a server-final-message: the verifier "v="
 * (decoded, 32 bytes) into v, or the error "e=" into err (the other one
 * left empty).  0, or -1 with errno EINVAL or ENOMEM.
 */
int
scram_parse_server_final(const char *msg, size_t len, struct bstr *v,
                         struct bstr *err)
{
    struct attr a;
    size_t pos = 0;

    errno = 0; /* fail() tells ENOMEM from a bad message */

    bstr_truncate(v, 0);
    bstr_truncate(err, 0);
    if (msg_ok(msg, len) == -1)
        return -1;
    if (next_attr(msg, len, &pos, &a) != 1)
        return fail(EINVAL);
    if (a.name == 'v') {
        if (b64(v, a.v, a.n) == -1 || v->len != SCRAM_KEY_LEN)
            return fail(EINVAL);
    } else if (a.name == 'e') {
        if (!value_ok(a.v, a.n) || bstr_copyb(err, a.v, a.n) == -1)
            return fail(EINVAL);
    } else {
        return fail(EINVAL);
    }
    if (extensions(msg, len, pos) == -1) {
        bstr_truncate(v, 0);
        bstr_truncate(err, 0);
        return fail(EINVAL);
    }
    return 0;
}

/* ---- the server -------------------------------------------------------- */

/*
 * scram_server_start - the client-first-message (scram_parse_first's
 * errors).  The caller then finds the user's keys, real or made up.
 */
int
scram_server_start(struct scram_server *s, const char *msg, size_t len)
{
    s->step = 0;
    if (scram_parse_first(msg, len, &s->first) == -1)
        return -1;
    s->step = 1;
    return 0;
}

/*
 * scram_server_challenge - the server-first-message into out (replaced),
 * with keys k and the server's nonce snonce (printable, from a good
 * random source).  0, or -1 with errno (EINVAL: out of order, a bad
 * nonce or keys).
 */
int
scram_server_challenge(struct scram_server *s, const struct scram_keys *k,
                       const char *snonce, size_t n, struct bstr *out)
{
    if (s->step != 1 || n > SCRAM_NONCE_MAX || !printable(snonce, n) ||
        k->iter < SCRAM_ITER_MIN || k->iter > SCRAM_ITER_MAX ||
        k->saltlen == 0 || k->saltlen > SCRAM_SALT_MAX) {
        errno = EINVAL;
        return -1;
    }
    s->keys = *k;
    bstr_truncate(&s->nonce, 0);
    bstr_truncate(&s->sfirst, 0);
    if (bstr_copy(&s->nonce, &s->first.nonce) == -1 ||
        bstr_catb(&s->nonce, snonce, n) == -1 ||
        bstr_catf(&s->sfirst, "r=%s,s=", s->nonce.s) == -1 ||
        base64_encode(&s->sfirst, k->salt, k->saltlen) == -1 ||
        bstr_catf(&s->sfirst, ",i=%lu", k->iter) == -1 ||
        bstr_copy(out, &s->sfirst) == -1)
        return -1;
    s->step = 2;
    return 0;
}

/* auth_message - RFC 5802 3's AuthMessage into out. */
static int
auth_message(struct bstr *out, const struct bstr *bare,
             const struct bstr *sfirst, const char *cfinal, size_t noproof)
{
    bstr_truncate(out, 0);
    if (bstr_copy(out, bare) == -1 || bstr_catc(out, ',') == -1 ||
        bstr_catb(out, sfirst->s, sfirst->len) == -1 ||
        bstr_catc(out, ',') == -1 || bstr_catb(out, cfinal, noproof) == -1)
        return -1;
    return 0;
}

/*
 * scram_server_finish - the client-final-message: out gets the
 * server-final-message.  Returns 1 the proof is good (out "v=..."), 0 it
 * is not or the channel binding or nonce differ (out "e=..."), -1 with
 * errno: EINVAL malformed (out "e=invalid-encoding") or out of order,
 * ENOMEM, EIO.
 */
int
scram_server_finish(struct scram_server *s, const char *msg, size_t len,
                    struct bstr *out)
{
    struct scram_final f = {BSTR_INIT, BSTR_INIT, BSTR_INIT, 0};
    unsigned char sig[SCRAM_KEY_LEN], key[SCRAM_KEY_LEN], h[SCRAM_KEY_LEN],
        ssig[SCRAM_KEY_LEN];
    const char *why = NULL;
    int r = -1, e = EINVAL;

    bstr_truncate(out, 0);
    if (s->step != 2) {
        errno = EINVAL;
        return -1;
    }
    s->step = 3;
    if (scram_parse_final(msg, len, &f) == -1) {
        e = errno;
        if (e == EINVAL && bstr_cats(out, "e=invalid-encoding") == -1)
            e = ENOMEM;
        goto out;
    }
    if (!scram_equal(f.cbind.s, f.cbind.len, s->first.gs2.s, s->first.gs2.len))
        why = "e=channel-bindings-dont-match";
    else if (!scram_equal(f.nonce.s, f.nonce.len, s->nonce.s, s->nonce.len))
        why = "e=other-error"; /* not this exchange's: a replay */
    /* the same work whatever the outcome */
    if (auth_message(&s->tmp, &s->first.bare, &s->sfirst, msg, f.noproof_len) ==
            -1 ||
        tls_hmac_sha256(s->keys.stored, SCRAM_KEY_LEN, s->tmp.s, s->tmp.len,
                        sig) == -1 ||
        tls_hmac_sha256(s->keys.server, SCRAM_KEY_LEN, s->tmp.s, s->tmp.len,
                        ssig) == -1) {
        e = errno;
        goto out;
    }
    for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
        key[i] = (unsigned char)(f.proof.s[i] ^ sig[i]);
    if (tls_sha256(key, SCRAM_KEY_LEN, h) == -1) {
        e = errno;
        goto out;
    }
    if (why == NULL &&
        !scram_equal(h, SCRAM_KEY_LEN, s->keys.stored, SCRAM_KEY_LEN))
        why = "e=invalid-proof";
    if (why) {
        r = bstr_cats(out, why) == -1 ? -1 : 0;
        e = ENOMEM;
    } else if (bstr_cats(out, "v=") == -1 ||
               base64_encode(out, ssig, SCRAM_KEY_LEN) == -1) {
        e = ENOMEM;
    } else {
        r = 1;
    }
out:
    explicit_bzero(key, sizeof key);
    explicit_bzero(sig, sizeof sig);
    explicit_bzero(ssig, sizeof ssig);
    explicit_bzero(h, sizeof h);
    scram_final_free(&f);
    wipe(&s->tmp);
    if (r == -1)
        errno = e;
    return r;
}

void
scram_server_free(struct scram_server *s)
{
    scram_first_free(&s->first);
    explicit_bzero(&s->keys, sizeof s->keys);
    bstr_free(&s->sfirst);
    bstr_free(&s->nonce);
    wipe(&s->tmp);
    bstr_free(&s->tmp);
    s->step = 0;
}

/* ---- the client -------------------------------------------------------- */

/*
 * scram_client_start - the client-first-message "n,,n=USER,r=CNONCE"
 * into out (replaced).  0, or -1 with errno (EINVAL: a bad nonce or an
 * empty user).
 */
int
scram_client_start(struct scram_client *c, const char *user, size_t ulen,
                   const char *cnonce, size_t n, struct bstr *out)
{
    c->step = 0;
    if (ulen == 0 || memchr(user, '\0', ulen) || n > SCRAM_NONCE_MAX ||
        !printable(cnonce, n)) {
        errno = EINVAL;
        return -1;
    }
    bstr_truncate(&c->bare, 0);
    if (bstr_cats(&c->bare, "n=") == -1 ||
        scram_saslname_escape(&c->bare, user, ulen) == -1 ||
        bstr_cats(&c->bare, ",r=") == -1 ||
        bstr_catb(&c->bare, cnonce, n) == -1 ||
        bstr_copyb(&c->nonce, cnonce, n) == -1)
        return -1;
    bstr_truncate(out, 0);
    if (bstr_cats(out, "n,,") == -1 ||
        bstr_catb(out, c->bare.s, c->bare.len) == -1)
        return -1;
    c->step = 1;
    return 0;
}

/*
 * scram_client_final - the client-final-message for the server-first
 * sfirst, proving pass; out replaced.  0, or -1 with errno (EINVAL: the
 * server's message is malformed, its nonce does not extend ours, or its
 * count is below SCRAM_ITER_MIN).
 */
int
scram_client_final(struct scram_client *c, const char *pass, size_t passlen,
                   const char *sfirst, size_t len, struct bstr *out)
{
    struct bstr nonce = BSTR_INIT, salt = BSTR_INIT, am = BSTR_INIT;
    struct scram_keys k;
    unsigned char sp[SCRAM_KEY_LEN], ck[SCRAM_KEY_LEN], sig[SCRAM_KEY_LEN];
    unsigned long iter;
    int r = -1, e = EINVAL;

    if (c->step != 1) {
        errno = EINVAL;
        return -1;
    }
    c->step = 3;
    memset(&k, 0, sizeof k);
    if (scram_parse_server_first(sfirst, len, &nonce, &salt, &iter) == -1) {
        e = errno;
        goto out;
    }
    if (nonce.len <= c->nonce.len ||
        memcmp(nonce.s, c->nonce.s, c->nonce.len) != 0)
        goto out;
    e = ENOMEM;
    bstr_truncate(out, 0);
    if (bstr_cats(out, "c=biws,r=") == -1 ||
        bstr_catb(out, nonce.s, nonce.len) == -1 ||
        bstr_copy(&am, &c->bare) == -1 || bstr_catc(&am, ',') == -1 ||
        bstr_catb(&am, sfirst, len) == -1 || bstr_catc(&am, ',') == -1 ||
        bstr_catb(&am, out->s, out->len) == -1)
        goto out;
    if (tls_pbkdf2_sha256(pass, passlen, salt.s, salt.len, iter, sp) == -1 ||
        derive(sp, ck, &k) == -1 ||
        tls_hmac_sha256(k.stored, SCRAM_KEY_LEN, am.s, am.len, sig) == -1 ||
        tls_hmac_sha256(k.server, SCRAM_KEY_LEN, am.s, am.len, c->sig) == -1) {
        e = errno;
        goto out;
    }
    for (size_t i = 0; i < SCRAM_KEY_LEN; i++)
        sig[i] ^= ck[i];
    if (bstr_cats(out, ",p=") == -1 ||
        base64_encode(out, sig, SCRAM_KEY_LEN) == -1)
        goto out;
    c->step = 2;
    r = 0;
out:
    explicit_bzero(sp, sizeof sp);
    explicit_bzero(ck, sizeof ck);
    explicit_bzero(sig, sizeof sig);
    explicit_bzero(&k, sizeof k);
    bstr_free(&nonce);
    bstr_free(&salt);
    bstr_free(&am);
    if (r == -1)
        errno = e;
    return r;
}

/*
 * scram_client_verify - the server-final-message: 1 the server proved it
 * knows our keys, 0 it sent an error or a wrong signature, -1 with errno
 * (EINVAL: malformed or out of order, ENOMEM).
 */
int
scram_client_verify(struct scram_client *c, const char *sfinal, size_t len)
{
    struct bstr v = BSTR_INIT, err = BSTR_INIT;
    int r = -1;

    if (c->step != 2) {
        errno = EINVAL;
        return -1;
    }
    c->step = 3;
    if (scram_parse_server_final(sfinal, len, &v, &err) == 0)
        r = v.len && scram_equal(v.s, v.len, c->sig, SCRAM_KEY_LEN);
    bstr_free(&v);
    bstr_free(&err);
    return r;
}

void
scram_client_free(struct scram_client *c)
{
    bstr_free(&c->bare);
    bstr_free(&c->nonce);
    bstr_free(&c->tmp);
    explicit_bzero(c->sig, sizeof c->sig);
    c->step = 0;
}
