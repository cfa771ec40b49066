/* SPDX-License-Identifier: ISC */
/*
 * scram - SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash) as pure
 * functions: the four messages parsed and built, the keys computed, the
 * proof checked in constant time.  No I/O, no randomness (the caller
 * brings its nonce), no logging, never exits.
 *
 * What it accepts is RFC 5802 section 7's syntax, strictly: the GS2
 * header "n,," or "y,," (a client that could bind to the channel but
 * thinks we cannot; we offer no -PLUS variant, so that is no downgrade),
 * an authzid only when it names the user itself, the username's "=2C"
 * and "=3D" escapes and no other '=', UTF-8 without control bytes, a
 * printable nonce, strict base64, and optional extensions of the
 * attr=value form.  It refuses channel binding ("p=", ENOTSUP), the
 * reserved mandatory extension "m=" (ENOTSUP), iteration counts below
 * 4096 (RFC 7677 section 4) and anything longer than SCRAM_MSG_MAX.
 * Passwords are used as their bytes: no SASLprep (RFC 4013), which
 * leaves ASCII passwords unchanged.
 */
#ifndef SCRAM_H
#define SCRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"

#define SCRAM_MECH "SCRAM-SHA-256"
#define SCRAM_KEY_LEN 32          /* SHA-256 */
#define SCRAM_SALT_MAX 64         /* bytes of salt kept or accepted */
#define SCRAM_SALT_LEN 16         /* bytes of salt in new keys */
#define SCRAM_ITER_MIN 4096       /* RFC 7677 4 */
#define SCRAM_ITER_MAX 10000000UL /* bounds what a key record can cost */
#define SCRAM_ITER_DEFAULT 4096
#define SCRAM_MSG_MAX 2048  /* bytes of one message */
#define SCRAM_NAME_MAX 255  /* bytes of the username, unescaped */
#define SCRAM_NONCE_MAX 256 /* bytes of one side's nonce */

/* A user's verifier, as PostgreSQL stores it (scram_keys_format). */
struct scram_keys {
    unsigned long iter;
    unsigned char salt[SCRAM_SALT_MAX];
    size_t saltlen;
    unsigned char stored[SCRAM_KEY_LEN]; /* H(ClientKey) */
    unsigned char server[SCRAM_KEY_LEN]; /* ServerKey */
};

/* A parsed client-first-message. */
struct scram_first {
    bool cbind_y;      /* "y,,": the client could have bound */
    struct bstr user;  /* the username, unescaped (no NUL inside) */
    struct bstr gs2;   /* the GS2 header as sent ("n,,") */
    struct bstr bare;  /* client-first-message-bare */
    struct bstr nonce; /* c-nonce */
};

/* A parsed client-final-message. */
struct scram_final {
    struct bstr cbind;  /* c=, decoded */
    struct bstr nonce;  /* r= */
    struct bstr proof;  /* p=, decoded */
    size_t noproof_len; /* bytes of client-final-message-without-proof */
};

/* The server's side of one exchange. */
struct scram_server {
    struct scram_first first;
    struct scram_keys keys;
    struct bstr sfirst; /* server-first-message, as sent */
    struct bstr nonce;  /* c-nonce s-nonce */
    struct bstr tmp;
    unsigned step; /* 0 start, 1 first parsed, 2 challenged, 3 done */
};

/* The client's side (tests, fuzzing, a future smarthost AUTH). */
struct scram_client {
    struct bstr bare;  /* client-first-message-bare */
    struct bstr nonce; /* c-nonce */
    struct bstr tmp;
    unsigned char sig[SCRAM_KEY_LEN]; /* the ServerSignature to expect */
    unsigned step;
};

bool scram_equal(const void *a, size_t alen, const void *b, size_t blen);
int scram_saslname_escape(struct bstr *out, const char *s, size_t n) WUR;

int scram_keys_make(const char *pass, size_t passlen, const unsigned char *salt,
                    size_t saltlen, unsigned long iter,
                    struct scram_keys *k) WUR;
int scram_keys_format(const struct scram_keys *k, struct bstr *out) WUR;
int scram_keys_parse(const char *s, size_t len, struct scram_keys *k) WUR;

int scram_parse_first(const char *msg, size_t len, struct scram_first *f) WUR;
void scram_first_free(struct scram_first *f);
int scram_parse_server_first(const char *msg, size_t len, struct bstr *nonce,
                             struct bstr *salt, unsigned long *iter) WUR;
int scram_parse_final(const char *msg, size_t len, struct scram_final *f) WUR;
void scram_final_free(struct scram_final *f);
int scram_parse_server_final(const char *msg, size_t len, struct bstr *v,
                             struct bstr *err) WUR;

int scram_server_start(struct scram_server *s, const char *msg, size_t len) WUR;
int scram_server_challenge(struct scram_server *s, const struct scram_keys *k,
                           const char *snonce, size_t n, struct bstr *out) WUR;
int scram_server_finish(struct scram_server *s, const char *msg, size_t len,
                        struct bstr *out) WUR;
void scram_server_free(struct scram_server *s);

int scram_client_start(struct scram_client *c, const char *user, size_t ulen,
                       const char *cnonce, size_t n, struct bstr *out) WUR;
int scram_client_final(struct scram_client *c, const char *pass, size_t passlen,
                       const char *sfirst, size_t len, struct bstr *out) WUR;
int scram_client_verify(struct scram_client *c, const char *sfinal,
                        size_t len) WUR;
void scram_client_free(struct scram_client *c);

#endif
