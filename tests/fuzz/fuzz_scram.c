/* SPDX-License-Identifier: ISC */
/*
 * fuzz_scram - SCRAM-SHA-256's parsers (src/lib/scram.c) and qmail-smtpd's
 * SCRAM steps (src/smtpd/auth.c) on arbitrary bytes.  The first byte
 * chooses:
 *
 *   0  the server: the rest's first line is a client-first message, the
 *      second a client-final (RFC 7677's keys and server nonce);
 *   1  the client: RFC 7677's client-first, then the rest's first line
 *      as the server-first and the second as the server-final;
 *   2  a verifier text (scram_keys_parse, then format and parse again);
 *   3  qmail-smtpd: "AUTH SCRAM-SHA-256" and base64 lines as in
 *      fuzz_smtpauth, the program's messages made up by a real server.
 *
 * Checks: a parsed username is non-empty, NUL-free and short; a proof
 * is accepted only for RFC 7677's password; a verifier survives its
 * round trip; auth.c's exchange never ends accepted on its own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/smtpd/auth.h" /* scripts/fuzz has only -Isrc/lib */
#include "scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define C_NONCE "rOprNGfwEbeRWgbNEkqO"
#define S_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"

static const unsigned char salt[16] = {0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12,
                                       0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14,
                                       0x12, 0x36, 0xfa, 0x81};

/* keys - RFC 7677's user's keys, made once (PBKDF2 is slow on purpose) */
static const struct scram_keys *
keys(void)
{
    static struct scram_keys k;
    static int made;

    if (!made &&
        scram_keys_make("pencil", 6, salt, sizeof salt, 4096, &k) == -1)
        abort();
    made = 1;
    return &k;
}

/* line - the next line of [*p, end) (without its newline) */
static size_t
line(const char **p, const char *end, const char **start)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);

    *start = *p;
    *p += n + (nl != NULL);
    return n;
}

static void
server(const char *p, const char *end)
{
    struct scram_server s = {0};
    struct bstr out = BSTR_INIT;
    const char *m;
    size_t n = line(&p, end, &m);

    if (scram_server_start(&s, m, n) == 0) {
        if (s.first.user.len == 0 || s.first.user.len > SCRAM_NAME_MAX ||
            memchr(s.first.user.s, '\0', s.first.user.len))
            abort();
        if (scram_server_challenge(&s, keys(), S_NONCE, strlen(S_NONCE),
                                   &out) == -1)
            abort();
        n = line(&p, end, &m);
        /* an answer every time: v= for a good proof, e= otherwise */
        if (scram_server_finish(&s, m, n, &out) == 1
                ? out.len < 3 || out.s[0] != 'v'
                : out.len != 0 && out.s[0] != 'e')
            abort();
    }
    scram_server_free(&s);
    bstr_free(&out);
}

static void
client(const char *p, const char *end)
{
    struct scram_client c = {0};
    struct bstr out = BSTR_INIT;
    const char *m;
    size_t n;

    if (scram_client_start(&c, "user", 4, C_NONCE, strlen(C_NONCE), &out) == -1)
        abort();
    n = line(&p, end, &m);
    if (scram_client_final(&c, "pencil", 6, m, n, &out) == 0) {
        n = line(&p, end, &m);
        if (scram_client_verify(&c, m, n) == 1 && (n < 3 || m[0] != 'v'))
            abort();
    }
    scram_client_free(&c);
    bstr_free(&out);
}

static void
verifier(const char *p, const char *end)
{
    struct scram_keys k, k2;
    struct bstr out = BSTR_INIT;

    if (scram_keys_parse(p, (size_t)(end - p), &k) == 0) {
        if (scram_keys_format(&k, &out) == -1 ||
            scram_keys_parse(out.s, out.len, &k2) == -1 ||
            memcmp(&k, &k2, sizeof k) != 0)
            abort();
    }
    bstr_free(&out);
}

static void
smtpd(const char *p, const char *end)
{
    static struct smtpd_auth a;
    struct scram_server s = {0};
    struct bstr prompt = BSTR_INIT, d = BSTR_INIT, out = BSTR_INIT;
    enum reason r;
    const char *m;
    size_t n;

    a.scram = true;
    n = 0;
    r = smtpd_auth_start(&a, "SCRAM-SHA-256", 13, "fuzz.example", 1, 2,
                         &prompt);
    while (p < end || r == OC_OK) {
        if (r == OC_OK && smtpd_auth_helper(&a)) {
            /* a real server answers what auth.c passes on */
            int f;

            if (smtpd_auth_data(&a, &d) == -1)
                abort();
            if (a.step == 1) {
                if (scram_server_start(&s, d.s, d.len) == -1 ||
                    scram_server_challenge(&s, keys(), S_NONCE, strlen(S_NONCE),
                                           &out) == -1)
                    abort(); /* auth.c let through what the server refuses */
            } else if ((f = scram_server_finish(&s, d.s, d.len, &out)) != 1) {
                if (f == -1)
                    abort();
                r = OC_AUTH_FAILED; /* a wrong proof: the program exits 1 */
                break;
            }
            r = smtpd_auth_reply(&a, out.s, out.len, &prompt);
            continue;
        }
        if (r != OC_AUTH_MORE || p >= end)
            break;
        n = line(&p, end, &m);
        r = smtpd_auth_step(&a, m, n, &prompt);
    }
    (void)n;
    if (r == OC_OK && smtpd_auth_helper(&a))
        abort();
    if (r == OC_OK && a.step == 5 &&
        (a.user.len == 0 || memchr(a.user.s, '\0', a.user.len)))
        abort();
    smtpd_auth_reset(&a);
    scram_server_free(&s);
    bstr_free(&prompt);
    bstr_free(&d);
    bstr_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data + 1, *end = (const char *)data + size;

    if (size == 0)
        return 0;
    switch (data[0] % 4) {
    case 0:
        server(p, end);
        break;
    case 1:
        client(p, end);
        break;
    case 2:
        verifier(p, end);
        break;
    default:
        smtpd(p, end);
    }
    return 0;
}
