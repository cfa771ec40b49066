/* SPDX-License-Identifier: ISC */
/*
 * tls - TLS over OpenSSL 3 (see tls.h): the one file that includes its
 * headers.
 *
 * Connections run on non-blocking fds and wait with poll() between
 * OpenSSL's WANT_READ/WANT_WRITE, so every operation is bounded by the
 * caller's timeout and deadline.  Each operation starts with an empty
 * OpenSSL error queue and ends with what went wrong turned into one
 * printable line.  Session tickets are sealed with keys from a file
 * every process of a listener shares (RFC 5077), so a client's next
 * connection, served by a new process, can resume.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "atomicfile.h"
#include "deadline.h"
#include "fmt.h"
#include "iob.h"
#include "tls.h"

#define TKEY_LEN 80 /* name 16, HMAC 32, AES 32 */
#define TKEYS_MAX 64

struct tkey {
    long long time;
    unsigned char k[TKEY_LEN];
};

struct tls_ctx {
    SSL_CTX *ctx;
    bool server;
    struct tkey *keys; /* oldest first; the last one seals */
    size_t nkeys;
};

struct tls_conn {
    SSL *ssl;
    int rfd, wfd;
    char err[256];
};

/* ---- error text ------------------------------------------------------- */

/* errq_cat - OpenSSL's error queue as "text; text", made printable. */
static void
errq_cat(struct bstr *err, const char *what)
{
    unsigned long e;
    bool any = false;

    if (err == NULL) {
        ERR_clear_error();
        return;
    }
    if (what && bstr_cats(err, what) == -1)
        return;
    while ((e = ERR_get_error()) != 0) {
        char buf[256];

        ERR_error_string_n(e, buf, sizeof buf);
        for (char *p = buf; *p; p++)
            if ((unsigned char)*p < 32 || (unsigned char)*p > 126)
                *p = '?';
        if (bstr_cats(err, any ? "; " : (what ? ": " : "")) == -1 ||
            bstr_cats(err, buf) == -1)
            return;
        any = true;
    }
}

static void
set_err(struct bstr *err, const char *a, const char *b)
{
    /* an error text that does not fit in memory is left short */
    if (err && bstr_cats(err, a) == 0 && b && bstr_cats(err, b) == -1)
        return;
}

/* file_ok - can the file be read?  Else say which and why. */
static bool
file_ok(const char *path, struct bstr *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd == -1) {
        int e = errno;

        set_err(err, path, ": ");
        set_err(err, strerror(e), NULL);
        errno = e;
        return false;
    }
    close(fd);
    return true;
}

static int
proto(enum tls_version v)
{
    switch (v) {
    case TLS_V1_0:
        return TLS1_VERSION;
    case TLS_V1_1:
        return TLS1_1_VERSION;
    case TLS_V1_2:
        return TLS1_2_VERSION;
    case TLS_V1_3:
        return TLS1_3_VERSION;
    default:
        return 0;
    }
}

/* ---- ticket keys -------------------------------------------------------- */

/*
 * keys_read - the lines "TIME HEX" of path into *keys.  Returns the
 * number of keys, or -1 with errno and err naming the bad line.
 */
static ssize_t
keys_read(const char *path, struct tkey **keys, struct bstr *err)
{
    FILE *f = fopen(path, "re");
    char line[512];
    size_t n = 0, lineno = 0;
    struct tkey *k;

    *keys = NULL;
    if (f == NULL) {
        int e = errno;

        set_err(err, path, ": ");
        set_err(err, strerror(e), NULL);
        errno = e;
        return -1;
    }
    k = calloc(TKEYS_MAX, sizeof *k);
    if (k == NULL) {
        fclose(f);
        errno = ENOMEM;
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char *p = line, *end;
        long long t;
        size_t i;

        lineno++;
        if (line[0] == '\n' || line[0] == '#')
            continue;
        errno = 0;
        t = strtoll(p, &end, 10);
        if (errno || end == p || *end != ' ' || n == TKEYS_MAX)
            goto bad;
        p = end + 1;
        for (i = 0; i < TKEY_LEN; i++) {
            int hi = scan_xdigit(p[2 * i]);
            int lo = hi < 0 ? -1 : scan_xdigit(p[2 * i + 1]);

            if (lo < 0)
                goto bad;
            k[n].k[i] = (unsigned char)(hi << 4 | lo);
        }
        p += 2 * TKEY_LEN;
        if (*p != '\n' && *p != '\0')
            goto bad;
        k[n++].time = t;
        continue;
    bad:
        if (err) {
            char num[32];

            snprintf(num, sizeof num, ":%zu", lineno);
            set_err(err, path, num);
            set_err(err, ": not a ticket key line (TIME, a space, 160 hex "
                         "digits)",
                    n == TKEYS_MAX ? " or too many keys" : NULL);
        }
        OPENSSL_cleanse(k, TKEYS_MAX * sizeof *k);
        free(k);
        fclose(f);
        errno = EINVAL;
        return -1;
    }
    fclose(f);
    *keys = k;
    return (ssize_t)n;
}

static int
ticket_cb(SSL *s, unsigned char name[16], unsigned char *iv,
          EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    struct tls_ctx *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(s));
    const struct tkey *k = NULL;
    OSSL_PARAM params[3];
    size_t i;

    if (t == NULL || t->nkeys == 0)
        return 0;
    if (enc) {
        k = &t->keys[t->nkeys - 1];
        memcpy(name, k->k, 16);
        if (RAND_bytes(iv, 16) != 1)
            return -1;
    } else {
        for (i = t->nkeys; i-- > 0;)
            if (memcmp(name, t->keys[i].k, 16) == 0) {
                k = &t->keys[i];
                break;
            }
        if (k == NULL)
            return 0; /* not ours (any more): a full handshake */
    }
    params[0] = OSSL_PARAM_construct_octet_string(
        OSSL_MAC_PARAM_KEY, (void *)(k->k + 16), 32);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    if (EVP_MAC_CTX_set_params(hctx, params) != 1)
        return -1;
    if (enc)
        return EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->k + 48,
                                  iv) == 1
                   ? 1
                   : -1;
    if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->k + 48, iv) != 1)
        return -1;
    /* an older key: accept, and issue a ticket under the newest */
    return k == &t->keys[t->nkeys - 1] ? 1 : 2;
}

/* key_cat - one key's line, "TIME HEX\n" */
static int
key_cat(struct bstr *out, const struct tkey *k)
{
    char hex[2 * TKEY_LEN];

    for (size_t j = 0; j < TKEY_LEN; j++)
        fmt_hex(hex + 2 * j, k->k[j], 2);
    return bstr_catf(out, "%lld ", k->time) == -1 ||
                   bstr_catb(out, hex, sizeof hex) == -1 ||
                   bstr_catc(out, '\n') == -1
               ? -1
               : 0;
}

/*
 * tls_ticketkeys_rotate - add a key to path, dropping those older than
 * keep seconds (the newest one stays until the new one is in).
 */
int
tls_ticketkeys_rotate(const char *path, long keep, struct bstr *err)
{
    struct tkey *keys = NULL, fresh;
    ssize_t n = 0;
    struct stat st;
    bool have = stat(path, &st) == 0;
    long long now = (long long)time(NULL);
    struct bstr out = BSTR_INIT;
    int e;

    if (have && (n = keys_read(path, &keys, err)) == -1)
        return -1;
    if (RAND_bytes(fresh.k, TKEY_LEN) != 1) {
        errq_cat(err, "no random bytes");
        free(keys);
        errno = EIO;
        return -1;
    }
    fresh.time = now;
    for (ssize_t i = 0; i < n; i++)
        if (keys[i].time + keep >= now && key_cat(&out, &keys[i]) == -1)
            goto nomem; /* older ones: the new key takes over from them */
    if (key_cat(&out, &fresh) == -1)
        goto nomem;
    /* keep the admin's owner and mode (readable by qmail-smtpd) */
    if (atomicfile_write(path, out.s, out.len,
                         have ? st.st_mode & 07777 : 0640,
                         have ? st.st_uid : ATOMICFILE_KEEP,
                         have ? st.st_gid : ATOMICFILE_KEEP) == -1)
        goto sys;
    OPENSSL_cleanse(out.s, out.len);
    OPENSSL_cleanse(&fresh, sizeof fresh);
    bstr_free(&out);
    if (keys) {
        OPENSSL_cleanse(keys, TKEYS_MAX * sizeof *keys);
        free(keys);
    }
    return 0;
nomem:
    errno = ENOMEM;
sys:
    e = errno;
    set_err(err, path, ": ");
    set_err(err, strerror(e), NULL);
    if (out.s)
        OPENSSL_cleanse(out.s, out.len);
    bstr_free(&out);
    if (keys) {
        OPENSSL_cleanse(keys, TKEYS_MAX * sizeof *keys);
        free(keys);
    }
    OPENSSL_cleanse(&fresh, sizeof fresh);
    errno = e;
    return -1;
}

/* ---- contexts ----------------------------------------------------------- */

static struct tls_ctx *
ctx_new(bool server, enum tls_version minver, enum tls_version maxver,
        const char *ciphers, const char *suites, struct bstr *err)
{
    struct tls_ctx *t = calloc(1, sizeof *t);

    if (t == NULL)
        return NULL;
    ERR_clear_error();
    t->server = server;
    t->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (t->ctx == NULL)
        goto ssl;
    SSL_CTX_set_app_data(t->ctx, t);
    if (SSL_CTX_set_min_proto_version(t->ctx,
                                      proto(minver ? minver : TLS_V1_2)) != 1 ||
        SSL_CTX_set_max_proto_version(t->ctx, proto(maxver)) != 1)
        goto ssl;
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_COMPRESSION |
                                    SSL_OP_NO_RENEGOTIATION |
                                    SSL_OP_IGNORE_UNEXPECTED_EOF |
                                    (server ? SSL_OP_CIPHER_SERVER_PREFERENCE
                                            : 0));
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (ciphers && SSL_CTX_set_cipher_list(t->ctx, ciphers) != 1) {
        errq_cat(err, "bad cipher list");
        goto fail;
    }
    if (suites && SSL_CTX_set_ciphersuites(t->ctx, suites) != 1) {
        errq_cat(err, "bad TLS 1.3 cipher suites");
        goto fail;
    }
    return t;
ssl:
    errq_cat(err, "OpenSSL");
fail:
    tls_ctx_free(t);
    errno = EPROTO;
    return NULL;
}

/* use_cert - a PEM file holding a private key and its chain. */
static int
use_cert(SSL_CTX *ctx, const char *file, struct bstr *err)
{
    if (!file_ok(file, err))
        return -1;
    if (SSL_CTX_use_certificate_chain_file(ctx, file) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        set_err(err, file, NULL);
        errq_cat(err, "");
        errno = EPROTO;
        return -1;
    }
    return 0;
}

struct tls_ctx *
tls_server_new(const struct tls_server_conf *c, struct bstr *err)
{
    struct tls_ctx *t = ctx_new(true, c->minver, c->maxver, c->ciphers,
                                c->ciphersuites, err);

    if (t == NULL)
        return NULL;
    for (int i = 0; i < 2; i++)
        if (c->certfile[i] && use_cert(t->ctx, c->certfile[i], err) == -1)
            goto fail;
    if (c->dhfile) {
        BIO *b;
        EVP_PKEY *dh = NULL;

        if (!file_ok(c->dhfile, err))
            goto fail;
        b = BIO_new_file(c->dhfile, "r");
        if (b)
            dh = PEM_read_bio_Parameters(b, NULL);
        BIO_free(b);
        if (dh == NULL || SSL_CTX_set0_tmp_dh_pkey(t->ctx, dh) != 1) {
            EVP_PKEY_free(dh);
            set_err(err, c->dhfile, NULL);
            errq_cat(err, "");
            goto fail;
        }
    } else {
        SSL_CTX_set_dh_auto(t->ctx, 1);
    }
    SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_SERVER);
    (void)SSL_CTX_set_session_id_context(t->ctx, (const unsigned char *)"qng",
                                         3);
    if (c->ticketkeys) {
        ssize_t n = keys_read(c->ticketkeys, &t->keys, err);

        if (n == -1)
            goto fail;
        t->nkeys = (size_t)n;
        if (n > 0 &&
            SSL_CTX_set_tlsext_ticket_key_evp_cb(t->ctx, ticket_cb) != 1) {
            errq_cat(err, "ticket keys");
            goto fail;
        }
    }
    return t;
fail:
    tls_ctx_free(t);
    errno = errno ? errno : EPROTO;
    return NULL;
}

struct tls_ctx *
tls_client_new(const struct tls_client_conf *c, struct bstr *err)
{
    struct tls_ctx *t = ctx_new(false, c->minver, c->maxver, c->ciphers,
                                c->ciphersuites, err);

    if (t == NULL)
        return NULL;
    if (c->cafile) {
        if (!file_ok(c->cafile, err))
            goto fail;
        if (SSL_CTX_load_verify_locations(t->ctx, c->cafile, NULL) != 1) {
            set_err(err, c->cafile, NULL);
            errq_cat(err, "");
            goto fail;
        }
    } else if (SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
        errq_cat(err, "system CAs");
        goto fail;
    }
    /* opportunistic: the handshake goes on, tls_verify judges after */
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
    if (c->certfile && use_cert(t->ctx, c->certfile, err) == -1)
        goto fail;
    return t;
fail:
    tls_ctx_free(t);
    errno = errno ? errno : EPROTO;
    return NULL;
}

void
tls_ctx_free(struct tls_ctx *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    if (t->keys) {
        OPENSSL_cleanse(t->keys, TKEYS_MAX * sizeof *t->keys);
        free(t->keys);
    }
    free(t);
}

/* ---- connections -------------------------------------------------------- */

static int
nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static bool
is_ip_literal(const char *h)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

struct tls_conn *
tls_conn_new(struct tls_ctx *t, int rfd, int wfd, const char *host)
{
    struct tls_conn *c = calloc(1, sizeof *c);

    if (c == NULL)
        return NULL;
    c->rfd = rfd;
    c->wfd = wfd;
    c->ssl = SSL_new(t->ctx);
    if (c->ssl == NULL || SSL_set_rfd(c->ssl, rfd) != 1 ||
        SSL_set_wfd(c->ssl, wfd) != 1 || nonblock(rfd) == -1 ||
        nonblock(wfd) == -1)
        goto fail;
    if (t->server) {
        SSL_set_accept_state(c->ssl);
    } else {
        SSL_set_connect_state(c->ssl);
        if (host && *host) {
            if (!is_ip_literal(host) &&
                SSL_set_tlsext_host_name(c->ssl, host) != 1)
                goto fail;
            if (SSL_set1_host(c->ssl, host) != 1)
                goto fail;
        }
    }
    return c;
fail:
    ERR_clear_error();
    tls_conn_free(c);
    errno = ENOMEM;
    return NULL;
}

void
tls_conn_free(struct tls_conn *c)
{
    if (c == NULL)
        return;
    SSL_free(c->ssl);
    free(c);
}

/* wait_for - poll the fd OpenSSL wants, at most ms (-1: no limit). */
static int
wait_for(struct tls_conn *c, int want, int ms)
{
    if (want == SSL_ERROR_WANT_WRITE)
        return iob_poll(c->wfd, POLLOUT, ms);
    return iob_poll(c->rfd, POLLIN, ms);
}

/* remember the failure as text, errno EPROTO (or the system's) */
static void
conn_fail(struct tls_conn *c, int e, const char *what)
{
    struct bstr b = BSTR_INIT;
    int se = errno;

    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        snprintf(c->err, sizeof c->err, "%s: %s", what,
                 se ? strerror(se) : "connection closed");
        errno = se ? se : ECONNRESET;
        return;
    }
    errq_cat(&b, what);
    snprintf(c->err, sizeof c->err, "%s", b.len ? b.s : what);
    bstr_free(&b);
    errno = EPROTO;
}

int
tls_handshake(struct tls_conn *c, int timeout_ms, long long deadline,
              struct bstr *err)
{
    ERR_clear_error();
    for (;;) {
        int r = SSL_do_handshake(c->ssl), e, ms;

        if (r == 1)
            return 0;
        e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (iob_limit(timeout_ms, deadline, &ms) == -1 ||
                wait_for(c, e, ms) == -1) {
                snprintf(c->err, sizeof c->err, "handshake: %s",
                         strerror(errno));
                break;
            }
            continue;
        }
        conn_fail(c, e, "handshake");
        break;
    }
    {
        int se = errno;

        set_err(err, c->err, NULL);
        errno = se;
    }
    return -1;
}

/*
 * io - one SSL_read or SSL_write, waiting (at most timeout_ms in all,
 * as iob's ops must) for whatever the record layer needs first: a TLS
 * 1.3 read may have to write, a write may have to read.  0 at the peer's
 * close_notify or end of file.
 */
static ssize_t
io(struct tls_conn *c, void *buf, size_t n, int timeout_ms, bool out)
{
    long long deadline = deadline_in(timeout_ms);

    if (n > INT_MAX)
        n = INT_MAX;
    ERR_clear_error();
    for (;;) {
        int r = out ? SSL_write(c->ssl, buf, (int)n)
                    : SSL_read(c->ssl, buf, (int)n),
            e;

        if (r > 0)
            return r;
        e = SSL_get_error(c->ssl, r);
        if (!out && e == SSL_ERROR_ZERO_RETURN)
            return 0;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            int ms;

            if (deadline_ms(deadline, &ms) == -1 ||
                wait_for(c, e, ms) == -1)
                return -1;
            continue;
        }
        if (!out && e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 &&
            errno == 0)
            return 0;
        conn_fail(c, e, out ? "write" : "read");
        return -1;
    }
}

ssize_t
tls_read(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
    (void)fd;
    return io(ctx, buf, n, timeout_ms, false);
}

ssize_t
tls_write(void *ctx, int fd, void *buf, size_t n, int timeout_ms)
{
    (void)fd;
    return io(ctx, buf, n, timeout_ms, true);
}

const char *
tls_lasterror(const struct tls_conn *c)
{
    return c->err[0] ? c->err : "no error";
}

void
tls_shutdown(struct tls_conn *c, int timeout_ms)
{
    ERR_clear_error();
    for (int i = 0; i < 4; i++) {
        int r = SSL_shutdown(c->ssl), e;

        if (r >= 0)
            break; /* close_notify sent; the peer's is not waited for */
        e = SSL_get_error(c->ssl, r);
        if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ||
            wait_for(c, e, timeout_ms) == -1)
            break;
    }
    ERR_clear_error();
}

const char *
tls_protocol(const struct tls_conn *c)
{
    return SSL_get_version(c->ssl);
}

const char *
tls_cipher(const struct tls_conn *c)
{
    const char *n = SSL_get_cipher_name(c->ssl);

    return n ? n : "none";
}

int
tls_cipher_bits(const struct tls_conn *c)
{
    return SSL_get_cipher_bits(c->ssl, NULL);
}

bool
tls_resumed(const struct tls_conn *c)
{
    return SSL_session_reused(c->ssl) == 1;
}

int
tls_verify(struct tls_conn *c, const char *host, struct bstr *err)
{
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    long v = SSL_get_verify_result(c->ssl);

    if (peer == NULL) {
        set_err(err, "no certificate", NULL);
        return 0;
    }
    X509_free(peer);
    if (v == X509_V_OK)
        return 1;
    if (v == X509_V_ERR_HOSTNAME_MISMATCH) {
        set_err(err, "certificate does not match ", host ? host : "");
        return 0;
    }
    set_err(err, X509_verify_cert_error_string(v), NULL);
    return 0;
}

int
tls_hmac_md5(const void *key, size_t keylen, const void *msg, size_t msglen,
             unsigned char out[16])
{
    unsigned int n = 16;

    if (keylen > INT_MAX ||
        HMAC(EVP_md5(), key, (int)keylen, msg, msglen, out, &n) == NULL ||
        n != 16) {
        ERR_clear_error();
        errno = EIO;
        return -1;
    }
    return 0;
}

int
tls_md5_2(const void *a, size_t alen, const void *b, size_t blen,
          unsigned char out[16])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 16;
    int ok;

    ok = md && EVP_DigestInit_ex(md, EVP_md5(), NULL) == 1 &&
         EVP_DigestUpdate(md, a, alen) == 1 &&
         EVP_DigestUpdate(md, b, blen) == 1 &&
         EVP_DigestFinal_ex(md, out, &n) == 1 && n == 16;
    EVP_MD_CTX_free(md);
    if (!ok) {
        ERR_clear_error();
        errno = EIO;
        return -1;
    }
    return 0;
}

int
tls_random(void *buf, size_t n)
{
    if (n > INT_MAX || RAND_bytes(buf, (int)n) != 1) {
        ERR_clear_error();
        errno = EIO;
        return -1;
    }
    return 0;
}

/* tls_sha256 - the SHA-256 digest of msg (see tls.h). */
int
tls_sha256(const void *msg, size_t msglen, unsigned char out[32])
{
    unsigned int n = 32;

    if (EVP_Digest(msg, msglen, out, &n, EVP_sha256(), NULL) != 1 ||
        n != 32) {
        ERR_clear_error();
        errno = EIO;
        return -1;
    }
    return 0;
}

/* tls_hmac_sha256 - HMAC-SHA-256 of msg keyed with key (see tls.h). */
int
tls_hmac_sha256(const void *key, size_t keylen, const void *msg,
                size_t msglen, unsigned char out[32])
{
    unsigned int n = 32;

    if (keylen > INT_MAX ||
        HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &n) == NULL ||
        n != 32) {
        ERR_clear_error();
        errno = EIO;
        return -1;
    }
    return 0;
}

/*
 * tls_pbkdf2_sha256 - PBKDF2 with HMAC-SHA-256, one block of 32 bytes
 * (SCRAM's Hi(), RFC 5802 2.2).  The cap on iter bounds the time a
 * damaged key record can cost.
 */
int
tls_pbkdf2_sha256(const void *pass, size_t passlen, const void *salt,
                  size_t saltlen, unsigned long iter, unsigned char out[32])
{
    if (passlen > INT_MAX || saltlen > INT_MAX || iter == 0 ||
        iter > 100000000UL) {
        errno = EINVAL;
        return -1;
    }
    if (PKCS5_PBKDF2_HMAC(passlen ? pass : "", (int)passlen, salt,
                          (int)saltlen, (int)iter, EVP_sha256(), 32,
                          out) != 1) {
        ERR_clear_error();
        errno = EIO;
        return -1;
    }
    return 0;
}
