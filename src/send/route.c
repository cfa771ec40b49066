/* SPDX-License-Identifier: ISC */
/*
 * route - qmail-send's routing of recipients (see route.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ctl.h"
#include "fnv.h"
#include "route.h"

static bool
eq_nocase(const char *a, const char *b, size_t n)
{
    return strncasecmp(a, b, n) == 0 && a[n] == '\0';
}

/* map_add - key (lowercased) with value; the first of duplicates wins. */
static int
map_add(struct route_map *m, const char *key, size_t klen, const char *val,
        size_t vlen)
{
    size_t i;
    char *e;

    if (m->n + 1 > (m->mask + 1) / 2) {
        size_t cap = m->mask ? (m->mask + 1) * 2 : 64;
        char **slot = calloc(cap, sizeof *slot);

        if (!slot)
            return -1;
        for (size_t j = 0; m->key && j <= m->mask; j++) {
            if (!m->key[j])
                continue;
            i = (size_t)fnv1a_lower(m->key[j], strlen(m->key[j])) & (cap - 1);
            while (slot[i])
                i = (i + 1) & (cap - 1);
            slot[i] = m->key[j];
        }
        free(m->key);
        m->key = slot;
        m->mask = cap - 1;
    }
    for (i = (size_t)fnv1a_lower(key, klen) & m->mask; m->key[i];
         i = (i + 1) & m->mask)
        if (eq_nocase(key, m->key[i], klen))
            return 0;
    e = malloc(klen + vlen + 2);
    if (!e)
        return -1;
    for (size_t j = 0; j < klen; j++)
        e[j] = (key[j] >= 'A' && key[j] <= 'Z') ? (char)(key[j] + 32) : key[j];
    e[klen] = '\0';
    memcpy(e + klen + 1, val, vlen);
    e[klen + 1 + vlen] = '\0';
    m->key[i] = e;
    m->n++;
    return 0;
}

/* map_get - the value for key, or NULL. */
static const char *
map_get(const struct route_map *m, const char *key, size_t klen)
{
    if (!m->key)
        return NULL;
    for (size_t i = (size_t)fnv1a_lower(key, klen) & m->mask; m->key[i];
         i = (i + 1) & m->mask)
        if (eq_nocase(key, m->key[i], klen))
            return m->key[i] + klen + 1;
    return NULL;
}

static void
map_free(struct route_map *m)
{
    for (size_t i = 0; m->key && i <= m->mask; i++)
        free(m->key[i]);
    free(m->key);
    m->key = NULL;
    m->mask = m->n = 0;
}

/*
 * route_init - build the tables from control lists (NUL-separated items,
 * as ctl_readlist gives them).  Returns 0, or -1 with errno (EINVAL: a
 * virtualdomains line without ':').
 */
int
route_init(struct route *r, const struct bstr *locals,
           const struct bstr *percenthack, const struct bstr *virtualdomains,
           const char *envnoathost)
{
    const char *it;

    memset(r, 0, sizeof *r);
    for (it = ctl_list_next(locals, NULL); it; it = ctl_list_next(locals, it))
        if (map_add(&r->locals, it, strlen(it), "", 0) == -1)
            goto fail;
    for (it = ctl_list_next(percenthack, NULL); it;
         it = ctl_list_next(percenthack, it))
        if (map_add(&r->percent, it, strlen(it), "", 0) == -1)
            goto fail;
    for (it = ctl_list_next(virtualdomains, NULL); it;
         it = ctl_list_next(virtualdomains, it)) {
        const char *colon = strchr(it, ':');

        if (!colon) {
            errno = EINVAL;
            goto fail;
        }
        if (colon == it) {
            if (!r->virt_default) {
                r->virt_default = true;
                if (bstr_copys(&r->virt_default_prefix, colon + 1) == -1)
                    goto fail;
            }
            continue;
        }
        if (map_add(&r->virt, it, (size_t)(colon - it), colon + 1,
                    strlen(colon + 1)) == -1)
            goto fail;
    }
    if (bstr_copys(&r->envnoathost, envnoathost) == -1)
        goto fail;
    return 0;
fail:
    route_free(r);
    return -1;
}

void
route_free(struct route *r)
{
    map_free(&r->locals);
    map_free(&r->percent);
    map_free(&r->virt);
    bstr_free(&r->virt_default_prefix);
    bstr_free(&r->envnoathost);
}

/* virtual_prefix - the virtualdomains prefix for user@domain, or NULL. */
static const char *
virtual_prefix(const struct route *r, const char *a, size_t len, size_t at)
{
    const char *dom = a + at + 1;
    size_t dlen = len - at - 1;
    const char *p;

    if ((p = map_get(&r->virt, a, len)))
        return p;
    if ((p = map_get(&r->virt, dom, dlen)))
        return p;
    for (size_t i = 0; i < dlen; i++)
        if (dom[i] == '.' && (p = map_get(&r->virt, dom + i, dlen - i)))
            return p;
    if (r->virt_default)
        return r->virt_default_prefix.s;
    return NULL;
}

/*
 * route_addr - route one recipient; out receives the address to deliver
 * to (for local deliveries the one qmail-lspawn looks up).
 */
enum route_chan
route_addr(const struct route *r, const char *addr, size_t len,
           struct bstr *out)
{
    size_t at;
    const char *prefix;

    bstr_truncate(out, 0);
    if (bstr_catb(out, addr, len) == -1)
        return ROUTE_REMOTE; /* caller checks out->len */
    at = addr_at(out->s, out->len);
    if (at == out->len) {
        if (bstr_catc(out, '@') == -1 ||
            bstr_catb(out, r->envnoathost.s, r->envnoathost.len) == -1)
            return ROUTE_REMOTE;
        at = addr_at(out->s, out->len);
    }
    /* the percent hack: user%host@listed-domain -> user@host */
    for (unsigned guard = 0; guard < 100; guard++) {
        size_t pct;

        if (!map_get(&r->percent, out->s + at + 1, out->len - at - 1))
            break;
        for (pct = at; pct > 0 && out->s[pct - 1] != '%'; pct--)
            ;
        if (pct == 0)
            break;
        out->s[pct - 1] = '@';
        bstr_truncate(out, at);
        at = pct - 1;
    }
    if (map_get(&r->locals, out->s + at + 1, out->len - at - 1))
        return ROUTE_LOCAL;
    prefix = virtual_prefix(r, out->s, out->len, at);
    if (prefix && *prefix) {
        struct bstr tmp = BSTR_INIT;

        if (bstr_cats(&tmp, prefix) == -1 || bstr_catc(&tmp, '-') == -1 ||
            bstr_catb(&tmp, out->s, out->len) == -1 ||
            bstr_copy(out, &tmp) == -1) {
            bstr_free(&tmp);
            bstr_truncate(out, 0);
            return ROUTE_REMOTE;
        }
        bstr_free(&tmp);
        return ROUTE_LOCAL;
    }
    return ROUTE_REMOTE;
}
