/* SPDX-License-Identifier: ISC */
/*
 * vscram - SCRAM keys beside the hashes (see vscram.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "cdbmap.h"
#include "lock.h"
#include "tls.h"
#include "vauth_pg.h"
#include "vpass.h"
#include "vscram.h"

#define VSCRAM_MAX (64u << 20) /* bytes of vscram.cdb we copy */

static void
wipe(struct bstr *b)
{
    if (b->s)
        explicit_bzero(b->s, b->cap);
    bstr_free(b);
}

/* path - DIR/name into p.  0, or -1 (no memory). */
static int
path(struct bstr *p, const char *dir, const char *name)
{
    bstr_truncate(p, 0);
    return bstr_catf(p, "%s/%s", dir, name);
}

/* own - mode 600 and, as root, the domain's owner (as vstore does). */
static int
own(int fd, uid_t uid, gid_t gid)
{
    if (fchmod(fd, 0600) == -1)
        return -1;
    if (geteuid() == 0 && fchown(fd, uid, gid) == -1)
        return -1;
    return 0;
}

/*
 * vscram_record - append the record of keys k made with hash.  0, or -1
 * with errno (EINVAL: a hash that is empty or holds a space, ':' or a
 * control byte).
 */
int
vscram_record(struct bstr *out, const struct scram_keys *k, const char *hash)
{
    if (hash[0] == '\0') {
        errno = EINVAL;
        return -1;
    }
    for (const char *p = hash; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == ':') {
            errno = EINVAL;
            return -1;
        }
    if (scram_keys_format(k, out) == -1 || bstr_catc(out, ' ') == -1 ||
        bstr_cats(out, hash) == -1)
        return -1;
    return 0;
}

/*
 * vscram_parse - a record back into its keys and hash.  0, or -1 with
 * errno EINVAL (damaged) or ENOMEM.
 */
int
vscram_parse(const char *v, size_t n, struct scram_keys *k, struct bstr *hash)
{
    const char *sp = memchr(v, ' ', n);

    if (sp == NULL || sp + 1 == v + n ||
        memchr(sp + 1, ' ', (size_t)(v + n - sp - 1)) || memchr(v, '\0', n)) {
        errno = EINVAL;
        return -1;
    }
    if (scram_keys_parse(v, (size_t)(sp - v), k) == -1)
        return -1;
    if (bstr_copyb(hash, sp + 1, (size_t)(v + n - sp - 1)) == -1) {
        explicit_bzero(k, sizeof *k);
        return -1;
    }
    return 0;
}

/*
 * vscram_get - the keys of account name in DIR, if made with hash (the
 * account's present one).  1 found (k filled), 0 none, stale or
 * damaged, -1 with errno (the file exists but cannot be read).
 */
int
vscram_get(const char *dir, const char *name, const char *hash,
           struct scram_keys *k)
{
    struct bstr p = BSTR_INIT, v = BSTR_INIT, h = BSTR_INIT;
    int r;

    memset(k, 0, sizeof *k);
    if (path(&p, dir, VSCRAM_FILE) == -1)
        return -1;
    r = cdbmap_find(p.s, name, strlen(name), &v);
    if (r == -1 && errno == ENOENT)
        r = 0;
    if (r == 1) {
        if (vscram_parse(v.s, v.len, k, &h) == -1)
            r = errno == ENOMEM ? -1 : 0;
        else if (!scram_equal(h.s, h.len, hash, strlen(hash)))
            r = 0;
        if (r != 1)
            explicit_bzero(k, sizeof *k);
    }
    bstr_free(&p);
    wipe(&v);
    wipe(&h);
    return r;
}

/* copy_others - every record of the old file but name's into mk. */
static int
copy_others(const char *file, const char *name, struct cdbmap_make *mk)
{
    struct cdbmap m;
    struct stat st;
    unsigned pos;
    size_t nl = strlen(name);
    int r;

    if (cdbmap_open(&m, file) == -1)
        return errno == ENOENT ? 0 : -1;
    if (fstat(m.fd, &st) == -1 || st.st_size > (off_t)VSCRAM_MAX) {
        cdbmap_close(&m);
        errno = EFBIG;
        return -1;
    }
    cdb_seqinit(&pos, &m.cdb);
    while ((r = cdb_seqnext(&pos, &m.cdb)) > 0) {
        const void *key = cdb_getkey(&m.cdb), *val = cdb_getdata(&m.cdb);
        unsigned kl = cdb_keylen(&m.cdb), vl = cdb_datalen(&m.cdb);

        if (key == NULL || val == NULL) {
            r = -1;
            break;
        }
        if (kl == nl && memcmp(key, name, nl) == 0)
            continue;
        if (cdbmap_make_add(mk, key, kl, val, vl) == -1) {
            r = -1;
            break;
        }
    }
    if (r < 0 && errno == 0)
        errno = EINVAL; /* a damaged file */
    cdbmap_close(&m);
    return r < 0 ? -1 : 0;
}

/*
 * vscram_put - set (k and hash) or remove (k NULL) the keys of account
 * name in DIR, waiting at most wait seconds for .vpasswd.lock (0: one
 * try).  0, or -1 with errno (ETIMEDOUT: another tool holds the lock).
 */
int
vscram_put(const char *dir, uid_t uid, gid_t gid, const char *name,
           const struct scram_keys *k, const char *hash, unsigned wait)
{
    struct bstr lk = BSTR_INIT, fin = BSTR_INIT, tmp = BSTR_INIT,
                rec = BSTR_INIT;
    struct cdbmap_make mk;
    int fd = -1, e = 0;

    if (name[0] == '\0') {
        errno = EINVAL;
        return -1;
    }
    if ((k && vscram_record(&rec, k, hash) == -1) ||
        path(&lk, dir, ".vpasswd.lock") == -1 ||
        path(&fin, dir, VSCRAM_FILE) == -1 || path(&tmp, dir, VSCRAM_TMP) == -1)
        goto fail;
    fd = open(lk.s, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1 || own(fd, uid, gid) == -1 || lock_ex_wait(fd, wait) == -1)
        goto fail;
    if (cdbmap_make_start(&mk, fin.s, tmp.s) == -1)
        goto fail;
    if (own(mk.fd, uid, gid) == -1 || copy_others(fin.s, name, &mk) == -1 ||
        (k && cdbmap_make_add(&mk, name, strlen(name), rec.s, rec.len) == -1)) {
        e = errno;
        cdbmap_make_abort(&mk);
        errno = e;
        goto fail;
    }
    if (cdbmap_make_finish(&mk) == -1 || atomicfile_syncdir(dir) == -1)
        goto fail;
    goto out;
fail:
    e = errno ? errno : EIO;
out:
    if (fd != -1)
        close(fd); /* releases the lock */
    wipe(&rec);
    bstr_free(&lk);
    bstr_free(&fin);
    bstr_free(&tmp);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/*
 * vscram_load - the keys of account name of d where the account store
 * keeps them (vscram_get's file, or PostgreSQL's table), if made with
 * hash.  1 found, 0 none, stale or damaged, -1 with errno (trouble,
 * a->err saying it for the database).
 */
int
vscram_load(struct vauth *a, const struct vdomain *d, const char *name,
            const char *hash, struct scram_keys *k)
{
    struct bstr v = BSTR_INIT, h = BSTR_INIT;
    int r;

    if (a->conf->backend != VCONF_PGSQL)
        return vscram_get(d->dir.s, name, hash, k);
    memset(k, 0, sizeof *k);
    r = vauth_pg_scram_get(a, d, name, &v, &h);
    if (r == 1 && (scram_keys_parse(v.s ? v.s : "", v.len, k) == -1 ||
                   !scram_equal(h.s, h.len, hash, strlen(hash)))) {
        explicit_bzero(k, sizeof *k);
        r = 0;
    }
    wipe(&v);
    wipe(&h);
    return r;
}

/*
 * vscram_store - set (k and hash) or forget (k NULL) the keys of account
 * name of d where the account store keeps them; wait as vscram_put's
 * (the database has its own deadlines).  0, or -1 with errno.
 */
int
vscram_store(struct vauth *a, const struct vdomain *d, const char *name,
             const struct scram_keys *k, const char *hash, unsigned wait)
{
    struct bstr v = BSTR_INIT;
    int r;

    if (a->conf->backend != VCONF_PGSQL)
        return vscram_put(d->dir.s, d->uid, d->gid, name, k, hash, wait);
    if (k && scram_keys_format(k, &v) == -1)
        return -1;
    r = vauth_pg_scram_put(a, d, name, k ? v.s : NULL, k ? hash : NULL);
    wipe(&v);
    return r;
}

static int
unhex(const char *s, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                       : -1;

        if (v < 0)
            return -1;
        out[i / 2] = (unsigned char)(i % 2 ? out[i / 2] << 4 | v : v);
    }
    return 0;
}

/* read_secret - 1 read, 0 no file, -1 with errno (EINVAL: damaged). */
static int
read_secret(const char *file, unsigned char out[VSCRAM_SECRET_LEN])
{
    char buf[2 * VSCRAM_SECRET_LEN + 2];
    size_t n = 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY), e;

    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    while (n < sizeof buf) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);

        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            e = errno;
            close(fd);
            explicit_bzero(buf, sizeof buf);
            errno = e;
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > 2 * VSCRAM_SECRET_LEN && buf[2 * VSCRAM_SECRET_LEN] == '\n')
        n--;
    e = n != 2 * VSCRAM_SECRET_LEN || unhex(buf, out, VSCRAM_SECRET_LEN);
    explicit_bzero(buf, sizeof buf);
    if (e) {
        errno = EINVAL;
        return -1;
    }
    return 1;
}

/* make_secret - a new secret, linked into place unless one won the race. */
static int
make_secret(const char *dir, const char *file, uid_t uid, gid_t gid)
{
    unsigned char raw[VSCRAM_SECRET_LEN];
    char hex[2 * VSCRAM_SECRET_LEN + 1];
    struct bstr tmp = BSTR_INIT;
    int fd = -1, e = 0;

    if (mkdir(dir, 0755) == 0) {
        if (geteuid() == 0 && chown(dir, uid, gid) == -1)
            return -1;
    } else if (errno != EEXIST) {
        return -1;
    }
    if (vpass_random(raw, sizeof raw) == -1 ||
        bstr_catf(&tmp, "%s.%ld", file, (long)getpid()) == -1)
        goto fail;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    hex[2 * VSCRAM_SECRET_LEN] = '\n';
    fd =
        open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd == -1 || own(fd, uid, gid) == -1 ||
        write(fd, hex, sizeof hex) != (ssize_t)sizeof hex || fsync(fd) == -1)
        goto fail;
    if (close(fd) == -1) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (link(tmp.s, file) == -1 && errno != EEXIST)
        goto fail;
    goto out;
fail:
    e = errno ? errno : EIO;
out:
    if (fd != -1)
        close(fd);
    if (tmp.s)
        unlink(tmp.s);
    explicit_bzero(raw, sizeof raw);
    explicit_bzero(hex, sizeof hex);
    bstr_free(&tmp);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

/*
 * vscram_secret - the server secret from HOME/etc/vscram.secret (64 hex
 * digits), made when absent (owned by uid/gid when run as root).  0, or
 * -1 with errno (EINVAL: the file is damaged).
 */
int
vscram_secret(const char *home, uid_t uid, gid_t gid,
              unsigned char out[VSCRAM_SECRET_LEN])
{
    struct bstr dir = BSTR_INIT, file = BSTR_INIT;
    int r;

    if (path(&dir, home, "etc") == -1 ||
        path(&file, home, VSCRAM_SECRET) == -1) {
        bstr_free(&dir);
        return -1;
    }
    r = read_secret(file.s, out);
    if (r == 0 && make_secret(dir.s, file.s, uid, gid) == 0) {
        r = read_secret(file.s, out);
        if (r == 0) {
            errno = ENOENT;
            r = -1;
        }
    } else if (r == 0) {
        r = -1;
    }
    bstr_free(&dir);
    bstr_free(&file);
    return r == 1 ? 0 : -1;
}

/*
 * vscram_fake - made-up keys for a login that has none: the salt, and
 * keys nobody can answer, derived from the secret and the login, so a
 * second try sees the same salt.  0, or -1 with errno.
 */
int
vscram_fake(const unsigned char secret[VSCRAM_SECRET_LEN], const char *login,
            size_t len, struct scram_keys *k)
{
    static const char *const what[] = {"salt", "stored", "server"};
    unsigned char *out[] = {NULL, k->stored, k->server};
    unsigned char salt[SCRAM_KEY_LEN];
    struct bstr m = BSTR_INIT;
    int r = 0;

    memset(k, 0, sizeof *k);
    out[0] = salt;
    for (size_t i = 0; i < 3 && r == 0; i++) {
        bstr_truncate(&m, 0);
        if (bstr_cats(&m, what[i]) == -1 || bstr_catc(&m, '\0') == -1 ||
            bstr_catb(&m, login, len) == -1 ||
            tls_hmac_sha256(secret, VSCRAM_SECRET_LEN, m.s, m.len, out[i]) ==
                -1)
            r = -1;
    }
    k->iter = SCRAM_ITER_DEFAULT;
    k->saltlen = SCRAM_SALT_LEN;
    memcpy(k->salt, salt, SCRAM_SALT_LEN);
    explicit_bzero(salt, sizeof salt);
    bstr_free(&m);
    return r;
}
