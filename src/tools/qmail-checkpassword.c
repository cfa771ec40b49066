/* SPDX-License-Identifier: ISC */
/*
 * qmail-checkpassword - a checkpassword program (the interface of
 * qmail-popup and the qmail AUTH patch) for the system's accounts or for
 * a password file:
 *
 *   qmail-checkpassword [-f file] prog [arg ...]
 *
 * It reads up to 512 bytes from fd 3: "user\0password\0" (a third field,
 * checkpassword's timestamp, is ignored) or, for CRAM-MD5,
 * "user\0<challenge>\0digest\0".  If the login is good it runs prog;
 * if not it exits 1; on trouble (a file it cannot read, no memory) 111;
 * on a usage error 2.  Wrong passwords are not logged here: the caller
 * logs who tried.
 *
 * -f file: lines "user:hash" (more ':' fields are ignored, as in
 * Dovecot's passwd-file; '#' starts a comment line).  hash is a crypt(3)
 * string ($y$ yescrypt, $6$ SHA-512, ...) or {PLAIN}password, the only
 * kind that can answer CRAM-MD5.  Only USER is set for prog.
 * Without -f: the system's accounts (getpwnam, shadow), never CRAM-MD5;
 * USER, HOME and SHELL are set, the directory is HOME, and when run as
 * root prog runs as the user.
 */
#include <crypt.h>
#include <errno.h>
#include <pwd.h>
#include <shadow.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"
#include "readfile.h"
#include "tls.h"

#define IN_MAX 512

static void __attribute__((noreturn))
refuse(void)
{
    _exit(1);
}

/* equal - constant-time comparison of two strings of known length */
static bool
equal(const char *a, size_t an, const char *b, size_t bn)
{
    unsigned char d = an != bn;
    size_t n = an < bn ? an : bn;

    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static bool
crypt_ok(const char *pass, const char *hash)
{
    static struct crypt_data cd;
    const char *h;

    if (hash[0] == '\0' || hash[0] == '!' || hash[0] == '*')
        return false; /* no password, or a locked account */
    memset(&cd, 0, sizeof cd);
    /* crypt_rn, not crypt_r: the same, NULL on failure, and not
     * intercepted by GCC 12's AddressSanitizer, whose crypt_r wrapper
     * calls a null pointer when libcrypt is libxcrypt (make check SAN=1) */
    h = crypt_rn(pass, hash, &cd, (int)sizeof cd);
    if (h == NULL || h[0] == '*')
        return false;
    return equal(h, strlen(h), hash, strlen(hash));
}

static bool
cram_ok(const char *secret, size_t slen, const char *chal, const char *digest)
{
    unsigned char mac[16];
    char hex[33];

    if (tls_hmac_md5(secret, slen, chal, strlen(chal), mac) == -1)
        log_die(111, "unable to compute HMAC-MD5");
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    explicit_bzero(mac, sizeof mac);
    return equal(hex, 32, digest, strlen(digest));
}

static bool
name_ok(const char *u)
{
    if (*u == '\0' || strlen(u) > 255)
        return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p < 32 || *p == 127 || *p == '/' || *p == ':')
            return false;
    return true;
}

static bool
is_cram(const char *chal, const char *third)
{
    size_t n = strlen(chal);

    if (third == NULL || n < 3 || chal[0] != '<' || chal[n - 1] != '>' ||
        strlen(third) != 32)
        return false;
    for (const char *p = third; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* file_check - the login against a password file: true or false */
static bool
file_check(const char *file, const char *user, const char *pass,
           const char *chal, const char *digest)
{
    struct bstr f = BSTR_INIT;
    size_t ulen = strlen(user);
    bool ok = false;

    if (readfile_path(file, &f, 64u << 20) != 1)
        log_die_sys(111, "unable to read %s", file);
    for (size_t i = 0; i < f.len;) {
        char *line = f.s + i, *nl = memchr(line, '\n', f.len - i), *hash,
             *end;
        size_t n = nl ? (size_t)(nl - line) : f.len - i;

        i += n + 1;
        if (n == 0 || line[0] == '#' || n <= ulen || line[ulen] != ':' ||
            memcmp(line, user, ulen) != 0)
            continue;
        if (memchr(line, '\0', n))
            break; /* a damaged line: its hash would end early */
        line[n] = '\0';
        hash = line + ulen + 1;
        if ((end = strchr(hash, ':')))
            *end = '\0';
        if (strncmp(hash, "{PLAIN}", 7) == 0) {
            const char *secret = hash + 7;

            ok = chal ? cram_ok(secret, strlen(secret), chal, digest)
                      : equal(secret, strlen(secret), pass, strlen(pass));
        } else {
            ok = !chal && crypt_ok(pass, hash);
        }
        break; /* the first line for the user decides */
    }
    if (f.s)
        explicit_bzero(f.s, f.len);
    bstr_free(&f);
    return ok;
}

int
main(int argc, char **argv)
{
    static char in[IN_MAX + 1];
    const char *file = NULL, *fields[4] = {NULL, NULL, NULL, NULL};
    size_t n = 0, k = 0;
    const char *user, *pass, *chal = NULL, *digest = NULL;
    int opt;

    log_init("qmail-checkpassword");
    while ((opt = getopt(argc, argv, "+f:")) != -1) {
        if (opt != 'f') {
            fprintf(stderr, "usage: qmail-checkpassword [-f file] prog "
                            "[arg ...]\n");
            _exit(2);
        }
        file = optarg;
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: qmail-checkpassword [-f file] prog [arg ...]\n");
        _exit(2);
    }
    for (;;) {
        ssize_t r = read(3, in + n, sizeof in - 1 - n);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1)
            log_die_sys(111, "unable to read fd 3");
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == sizeof in - 1) {
            char extra;

            if (read(3, &extra, 1) > 0)
                refuse(); /* over 512 bytes: no login of ours */
            break;
        }
    }
    close(3);
    for (size_t i = 0; i < n && k < 4; i++) {
        if (i == 0 || in[i - 1] == '\0')
            fields[k++] = in + i;
    }
    /* every field NUL-terminated; at least user and password */
    if (n == 0 || in[n - 1] != '\0' || k < 2 || k > 3)
        refuse();
    user = fields[0];
    pass = fields[1];
    if (is_cram(fields[1], fields[2])) {
        chal = fields[1];
        digest = fields[2];
    }
    if (!name_ok(user))
        refuse();
    if (file) {
        if (!file_check(file, user, pass, chal, digest))
            refuse();
        if (setenv("USER", user, 1) == -1)
            log_die(111, "out of memory");
        explicit_bzero(in, sizeof in);
    } else {
        struct passwd *pw = getpwnam(user);
        struct spwd *sp;
        const char *hash;

        if (pw == NULL || chal)
            refuse();
        sp = getspnam(user);
        hash = sp ? sp->sp_pwdp : pw->pw_passwd;
        if (!crypt_ok(pass, hash))
            refuse();
        explicit_bzero(in, sizeof in); /* the name is pw's from here on */
        if (setenv("USER", pw->pw_name, 1) == -1 ||
            setenv("HOME", pw->pw_dir, 1) == -1 ||
            setenv("SHELL", pw->pw_shell, 1) == -1)
            log_die(111, "out of memory");
        if (chdir(pw->pw_dir) == -1)
            log_die_sys(111, "unable to chdir to %s", pw->pw_dir);
        if (geteuid() == 0 && pw->pw_uid != 0 &&
            priv_drop(pw->pw_uid, pw->pw_gid) == -1)
            log_die_sys(111, "unable to switch to %s", pw->pw_name);
    }
    execvp(argv[optind], argv + optind);
    log_die_sys(111, "unable to run %s", argv[optind]);
}
