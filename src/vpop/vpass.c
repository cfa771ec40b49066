/* SPDX-License-Identifier: ISC */
/*
 * vpass - vpopmail passwords (see vpass.h).
 *
 * crypt_rn and crypt_gensalt_rn, not crypt_r: they return NULL on
 * failure instead of a "*0" string, and GCC 12's AddressSanitizer
 * intercepts crypt_r with a wrapper that calls a null pointer under
 * libxcrypt (make check SAN=1).  struct crypt_data is 32 KiB: it lives on
 * the heap, wiped before it is freed, since it holds the password's
 * intermediate state.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ctl.h"
#include "secret.h"
#include "tls.h"
#include "vpass.h"

/* vpass_random - n bytes from the kernel's generator.  0, or -1. */
int
vpass_random(void *buf, size_t n)
{
    unsigned char *p = buf;

    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);

        if (r == -1 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static bool
des_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '/';
}

/*
 * vpass_hash_known - is hash one of the kinds vpass.h lists (and so one
 * that vpass_check tries)?
 */
bool
vpass_hash_known(const char *hash)
{
    static const char *const pre[] = {"$y$",  "$6$",  "$5$", "$2b$",
                                      "$2y$", "$2a$", "$1$"};
    size_t n = strlen(hash);

    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
        if (strncmp(hash, pre[i], strlen(pre[i])) == 0)
            return n > strlen(pre[i]);
    if (n != 13)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!des_char(hash[i]))
            return false;
    return true;
}

/* equal - constant-time comparison of two strings */
static bool
equal(const char *a, const char *b)
{
    return scram_equal(a, strlen(a), b, strlen(b));
}

/*
 * vpass_hash - a new yescrypt hash of pass into out (replaced).  0, or
 * -1 with errno (EINVAL: an empty password; libcrypt's errors).
 */
int
vpass_hash(const char *pass, struct bstr *out)
{
    struct crypt_data *cd;
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    const char *h;
    int r = -1, e = 0;

    if (pass[0] == '\0') {
        errno = EINVAL;
        return -1;
    }
    /* NULL random bytes: libxcrypt takes them from the kernel */
    if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof setting) == NULL)
        return -1;
    cd = calloc(1, sizeof *cd);
    if (cd == NULL)
        return -1;
    h = crypt_rn(pass, setting, cd, (int)sizeof *cd);
    if (h == NULL || h[0] == '*')
        e = errno ? errno : EINVAL;
    else if (bstr_copys(out, h) == -1)
        e = ENOMEM;
    else
        r = 0;
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    if (r == -1)
        errno = e;
    return r;
}

/*
 * vpass_check - does pass match hash?  1 yes, 0 no (also for an empty,
 * locked or unknown hash, and an empty password), -1 with errno ENOMEM.
 */
int
vpass_check(const char *pass, const char *hash)
{
    struct crypt_data *cd;
    const char *h;
    int r;

    if (pass[0] == '\0' || !vpass_hash_known(hash))
        return 0;
    cd = calloc(1, sizeof *cd);
    if (cd == NULL)
        return -1;
    errno = 0;
    h = crypt_rn(pass, hash, cd, (int)sizeof *cd);
    if (h == NULL)
        r = errno == ENOMEM ? -1 : 0; /* a damaged hash matches nothing */
    else
        r = h[0] != '*' && equal(h, hash);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    if (r == -1)
        errno = ENOMEM;
    return r;
}

/* digest_is - does digest (lowercase hex) spell mac's 16 bytes?  Both
 * are wiped-afterwards secrets: compared in constant time. */
static bool
digest_is(unsigned char mac[16], const char *digest)
{
    static const char hexd[] = "0123456789abcdef";
    char hex[33];
    bool ok;

    for (int i = 0; i < 16; i++) {
        hex[2 * i] = hexd[mac[i] >> 4];
        hex[2 * i + 1] = hexd[mac[i] & 15];
    }
    hex[32] = '\0';
    ok = equal(hex, digest);
    explicit_bzero(mac, 16);
    explicit_bzero(hex, sizeof hex);
    return ok;
}

/*
 * vpass_cram_ok - is digest (32 lowercase hex digits) HMAC-MD5 of chal
 * keyed with the clear text (RFC 2195)?  False for an empty clear text.
 */
bool
vpass_cram_ok(const char *clear, const char *chal, const char *digest)
{
    unsigned char mac[16];

    if (clear[0] == '\0' ||
        tls_hmac_md5(clear, strlen(clear), chal, strlen(chal), mac) == -1)
        return false;
    return digest_is(mac, digest);
}

/*
 * vpass_apop_ok - is digest (32 lowercase hex digits) MD5 of the
 * greeting's timestamp followed by the clear text (APOP, RFC 1939 §7)?
 * False for an empty clear text.
 */
bool
vpass_apop_ok(const char *clear, const char *timestamp, const char *digest)
{
    unsigned char mac[16];

    if (clear[0] == '\0' || tls_md5_2(timestamp, strlen(timestamp), clear,
                                      strlen(clear), mac) == -1)
        return false;
    return digest_is(mac, digest);
}

/*
 * vpass_keepclear - does control/vpopclearpasswd say 1 (keep the clear
 * text in vpasswd)?  1 yes, 0 no (or no file), -1 with errno (the file
 * cannot be read).
 */
int
vpass_keepclear(void)
{
    struct bstr v = BSTR_INIT;
    int r = ctl_readline(VPASS_CLEAR_CONTROL, &v);

    if (r == 1)
        r = bstr_equals(&v, "1") ? 1 : 0;
    bstr_free(&v);
    return r;
}

/*
 * vpass_set - give pw the password pass: a new hash, and the clear text
 * when keepclear (else none).  0, or -1 with errno (EINVAL: an empty
 * password, or one with a control byte when it is to be kept).
 */
int
vpass_set(struct vpw *pw, const char *pass, bool keepclear)
{
    struct bstr h = BSTR_INIT;
    char *clear = NULL;

    if (keepclear) {
        for (const char *p = pass; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                errno = EINVAL;
                return -1;
            }
        if (strlen(pass) > VPW_FIELD_MAX) {
            errno = EINVAL;
            return -1;
        }
        clear = strdup(pass);
        if (clear == NULL)
            return -1;
    }
    if (vpass_hash(pass, &h) == -1) {
        int e = errno;

        secret_free(clear);
        bstr_free(&h);
        errno = e;
        return -1;
    }
    free(pw->passwd);
    pw->passwd = h.s; /* the bstr's storage, NUL-terminated */
    secret_free(pw->clear);
    pw->clear = clear;
    return 0;
}

/*
 * vpass_scram_keys - SCRAM-SHA-256 keys of pass with a new random salt
 * and SCRAM_ITER_DEFAULT iterations.  0, or -1 with errno.
 */
int
vpass_scram_keys(const char *pass, size_t len, struct scram_keys *k)
{
    unsigned char salt[SCRAM_SALT_LEN];
    int r;

    if (vpass_random(salt, sizeof salt) == -1)
        return -1;
    r = scram_keys_make(pass, len, salt, sizeof salt, SCRAM_ITER_DEFAULT, k);
    explicit_bzero(salt, sizeof salt);
    return r;
}
