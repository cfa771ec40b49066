/* SPDX-License-Identifier: ISC */
/*
 * vdomain - a virtual domain's line in users/cdb (see vdomain.h).
 */
#include <errno.h>
#include <string.h>

#include "assign.h"
#include "cdbmap.h"
#include "vassign.h"
#include "vdomain.h"

/*
 * vdomain_lower - the domain d in lower case into out, if it is a
 * domain name vpopmail could hold (vdomain_name_ok after lowering).
 * 0, or -1 with errno (EINVAL: not a domain name).
 */
int
vdomain_lower(const char *d, size_t len, struct bstr *out)
{
    if (bstr_copyb(out, d, len) == -1)
        return -1;
    for (size_t i = 0; i < out->len; i++)
        if (out->s[i] >= 'A' && out->s[i] <= 'Z')
            out->s[i] = (char)(out->s[i] - 'A' + 'a');
    if (!vdomain_name_ok(out->s, out->len)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/*
 * vdomain_find - the virtual domain named domain (any case).  Returns 1
 * found (d filled; vdomain_free it), 0 not a virtual domain (or not a
 * domain name at all), -1 with errno (users/cdb unreadable or damaged).
 */
int
vdomain_find(const char *domain, size_t len, struct vdomain *d)
{
    struct bstr key = BSTR_INIT, val = BSTR_INIT;
    struct local_user u;
    int r, e;

    *d = (struct vdomain){BSTR_INIT, BSTR_INIT, BSTR_INIT, 0, 0};
    local_user_init(&u);
    if (vdomain_lower(domain, len, &d->name) == -1) {
        if (errno == EINVAL) {
            vdomain_free(d);
            return 0;
        }
        return -1;
    }
    if (bstr_catf(&key, "!%s-", d->name.s) == -1)
        goto fail;
    r = cdbmap_find(VDOMAIN_USERS_CDB, key.s, key.len, &val);
    if (r == -1 && errno == ENOENT)
        r = 0;
    if (r == -1)
        goto fail;
    if (r == 0) {
        bstr_free(&key);
        bstr_free(&val);
        vdomain_free(d);
        return 0;
    }
    if (assign_value_parse(val.s, val.len, &u) == -1 || u.home.len == 0 ||
        u.user.len == 0) {
        errno = errno ? errno : EINVAL;
        goto fail;
    }
    if (bstr_copy(&d->real, &u.user) == -1 || bstr_copy(&d->dir, &u.home) == -1)
        goto fail;
    d->uid = (uid_t)u.uid;
    d->gid = (gid_t)u.gid;
    local_user_free(&u);
    bstr_free(&key);
    bstr_free(&val);
    return 1;
fail:
    e = errno ? errno : EIO;
    local_user_free(&u);
    bstr_free(&key);
    bstr_free(&val);
    vdomain_free(d);
    errno = e;
    return -1;
}

/* vdomain_is_alias - does d stand for another domain (vaddaliasdomain)? */
bool
vdomain_is_alias(const struct vdomain *d)
{
    return d->real.len != d->name.len ||
           memcmp(d->real.s, d->name.s, d->name.len) != 0;
}

void
vdomain_free(struct vdomain *d)
{
    bstr_free(&d->name);
    bstr_free(&d->real);
    bstr_free(&d->dir);
}
