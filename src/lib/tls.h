/* SPDX-License-Identifier: ISC */
/*
 * tls - TLS for qmail-smtpd, qmail-remote and the POP3 server, over
 * OpenSSL 3.  This is the only module that includes OpenSSL headers: the
 * handles below are opaque, and every error comes back as text in a
 * caller's bstr (what OpenSSL's error queue said, made printable), never
 * as a crash or an abort.  Nothing here exits or logs.
 *
 * A context is built once per process from files (each connection is a
 * new process, so a replaced certificate applies to the next one); a
 * connection runs over a read fd and a write fd (0 and 1 under
 * tcpserver), waits with poll() and honours the same timeouts and
 * deadlines as iob: tls_read and tls_write are iob ops.
 */
#ifndef TLS_H
#define TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "bstr.h"

struct tls_ctx;  /* opaque: one SSL_CTX */
struct tls_conn; /* opaque: one SSL on a pair of fds */

enum tls_version { TLS_V1_0 = 10, TLS_V1_1 = 11, TLS_V1_2 = 12, TLS_V1_3 = 13 };

struct tls_server_conf {
    /* PEM files, each holding a private key and its chain (qmail TLS
     * patch's control/servercert.pem); the second may be NULL.  Given an
     * RSA and an ECDSA one, the client's signature algorithms choose. */
    const char *certfile[2];
    const char *dhfile;      /* control/dh2048.pem, or NULL: built-in groups */
    const char *ciphers;     /* TLS <= 1.2 cipher list, NULL: OpenSSL's */
    const char *ciphersuites; /* TLS 1.3 suites, NULL: OpenSSL's */
    enum tls_version minver; /* 0: TLS 1.2 */
    enum tls_version maxver; /* 0: the newest */
    /* RFC 5077 ticket keys shared by every process of a listener (see
     * tls_ticketkeys_*), or NULL: resumption only within one process. */
    const char *ticketkeys;
};

struct tls_client_conf {
    const char *certfile;    /* control/clientcert.pem, or NULL */
    const char *cafile;      /* NULL: the system's CAs */
    const char *ciphers, *ciphersuites;
    enum tls_version minver, maxver;
};

/*
 * tls_server_new, tls_client_new - a context from files.  Return the
 * context, or NULL with the reason in err (a missing file names it).
 */
struct tls_ctx *tls_server_new(const struct tls_server_conf *c,
                               struct bstr *err);
struct tls_ctx *tls_client_new(const struct tls_client_conf *c,
                               struct bstr *err);
void tls_ctx_free(struct tls_ctx *t);

/*
 * tls_conn_new - a connection over rfd/wfd; for a client, host (may be
 * NULL) is sent as SNI and is the name tls_verify checks.  The fds are
 * made non-blocking.  NULL on no memory.
 */
struct tls_conn *tls_conn_new(struct tls_ctx *t, int rfd, int wfd,
                              const char *host);
void tls_conn_free(struct tls_conn *c);

/*
 * tls_handshake - run the handshake, each wait at most timeout_ms (-1:
 * none) and the whole before deadline (datetime_mono_ms() time, 0:
 * none).  Returns 0, or -1 with the reason in err (errno ETIMEDOUT on a
 * timeout, EPROTO for a TLS failure, the system's errno otherwise).
 */
int tls_handshake(struct tls_conn *c, int timeout_ms, long long deadline,
                  struct bstr *err);

/* iob ops (ctx is the struct tls_conn *, fd is ignored): as read/write,
 * 0 at the peer's close_notify or end of file, -1 with errno (ETIMEDOUT,
 * EPROTO) and the text kept for tls_lasterror. */
ssize_t tls_read(void *ctx, int fd, void *buf, size_t n, int timeout_ms);
ssize_t tls_write(void *ctx, int fd, void *buf, size_t n, int timeout_ms);
const char *tls_lasterror(const struct tls_conn *c);

/* tls_shutdown - send close_notify (not waiting for the peer's). */
void tls_shutdown(struct tls_conn *c, int timeout_ms);

/* What was negotiated: "TLSv1.3", "TLS_AES_256_GCM_SHA384", the secret
 * bits of the cipher, whether the session was resumed. */
const char *tls_protocol(const struct tls_conn *c);
const char *tls_cipher(const struct tls_conn *c);
int tls_cipher_bits(const struct tls_conn *c);
bool tls_resumed(const struct tls_conn *c);

/*
 * tls_verify - after the handshake of a client: did the server's chain
 * verify against the context's CAs, and does it name host (RFC 6125:
 * subjectAltName DNS names, one leading wildcard label)?  Returns 1
 * verified, 0 not (the reason in err: "certificate has expired",
 * "self-signed certificate", "certificate does not match HOST"), -1 no
 * memory.
 */
int tls_verify(struct tls_conn *c, const char *host, struct bstr *err);

/*
 * Ticket keys: a file of lines "TIME HEX" (creation time, then 80 bytes
 * of key material in hex: name 16, HMAC 32, AES 32), newest last.  The
 * server issues tickets with the newest key and accepts every key in the
 * file; tls_ticketkeys_rotate (qmail-tlskeys) adds a key and drops the
 * ones older than keep seconds, atomically (temp, fsync, rename).
 * Returns 0, or -1 with errno and the reason in err.
 */
int tls_ticketkeys_rotate(const char *path, long keep, struct bstr *err);

/* hmac_md5 for CRAM-MD5 (RFC 2195): out gets 16 bytes. */
int tls_hmac_md5(const void *key, size_t keylen, const void *msg,
                 size_t msglen, unsigned char out[16]);
/* md5 of the concatenation a . b, for POP3's APOP (RFC 1939 §7): out
 * gets 16 bytes.  0, or -1 with errno (EIO: OpenSSL failed). */
int tls_md5_2(const void *a, size_t alen, const void *b, size_t blen,
              unsigned char out[16]);
/* random bytes for challenges and keys; 0 or -1 */
int tls_random(void *buf, size_t n);

/*
 * SHA-256 (FIPS 180-4), HMAC-SHA-256 (RFC 2104) and PBKDF2-HMAC-SHA-256
 * (RFC 8018 5.2), for SCRAM-SHA-256 (RFC 7677): out gets 32 bytes.
 * PBKDF2 takes 1 to 100000000 iterations (EINVAL beyond).  0, or -1
 * with errno (EIO: OpenSSL failed).
 */
#define TLS_SHA256_LEN 32
int tls_sha256(const void *msg, size_t msglen, unsigned char out[32]);
int tls_hmac_sha256(const void *key, size_t keylen, const void *msg,
                    size_t msglen, unsigned char out[32]);
int tls_pbkdf2_sha256(const void *pass, size_t passlen, const void *salt,
                      size_t saltlen, unsigned long iter,
                      unsigned char out[32]);

#endif
