/* SPDX-License-Identifier: ISC */
/*
 * tlspolicy - control/tlsdestinations and control/smtproutes-auth (see
 * tlspolicy.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "secret.h"
#include "routes.h"
#include "tlspolicy.h"

static const char *const level_names[] = {"none", "may", "encrypt", "verify"};

const char *
tls_level_name(enum tls_level l)
{
    return (unsigned)l < 4 ? level_names[l] : "?";
}

/* dest_char - what a destination may hold: smtproutes' names, brackets. */
static bool
dest_char(unsigned char c)
{
    return routes_host_char(c) || c == '[' || c == ']';
}

/* scan_level - a level name filling s[0..len); "" is may. */
static bool
scan_level(const char *s, size_t len, enum tls_level *l)
{
    if (len == 0) {
        *l = TLS_LEVEL_MAY;
        return true;
    }
    for (unsigned i = 0; i < 4; i++)
        if (strlen(level_names[i]) == len &&
            strncasecmp(s, level_names[i], len) == 0) {
            *l = (enum tls_level)i;
            return true;
        }
    return false;
}

/*
 * tlspolicy_parse_line - one tlsdestinations line into e (free its dest).
 * Returns 0, or -1 with errno EINVAL (not a policy line) or ENOMEM.
 */
int
tlspolicy_parse_line(const char *line, size_t len, struct tlspolicy_entry *e)
{
    const char *colon = memchr(line, ':', len);
    size_t dlen = colon ? (size_t)(colon - line) : len;
    bool minus = len && line[0] == '-';

    memset(e, 0, sizeof *e);
    if (memchr(line, '\0', len) || (!colon && !minus) || (colon && minus)) {
        errno = EINVAL;
        return -1;
    }
    if (minus) {
        line++;
        dlen--;
        e->level = TLS_LEVEL_NONE;
    } else if (!scan_level(colon + 1, len - dlen - 1, &e->level)) {
        errno = EINVAL;
        return -1;
    }
    if (dlen == 1 && line[0] == '*')
        dlen = 0; /* the default */
    for (size_t i = 0; i < dlen; i++)
        if (!dest_char((unsigned char)line[i])) {
            errno = EINVAL;
            return -1;
        }
    if (minus && dlen == 0) {
        errno = EINVAL; /* "-" or "-*": say "*:none" */
        return -1;
    }
    e->dest = routes_lowdup(line, dlen);
    if (!e->dest) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/*
 * tlspolicy_load - every line of list (a ctl list) into p.  Returns 0;
 * -1 with errno EINVAL and *badline the 1-based number of the first bad
 * line, or ENOMEM.
 */
int
tlspolicy_load(struct tlspolicy *p, const struct bstr *list, size_t *badline)
{
    size_t n = 0;

    p->e = NULL;
    p->n = 0;
    *badline = 0;
    for (const char *l = ctl_list_next(list, NULL); l;
         l = ctl_list_next(list, l))
        n++;
    if (n == 0)
        return 0;
    p->e = calloc(n, sizeof *p->e);
    if (!p->e)
        return -1;
    for (const char *l = ctl_list_next(list, NULL); l;
         l = ctl_list_next(list, l)) {
        if (tlspolicy_parse_line(l, strlen(l), &p->e[p->n]) == -1) {
            int e = errno;

            *badline = p->n + 1;
            tlspolicy_free(p);
            errno = e;
            return -1;
        }
        p->n++;
    }
    return 0;
}

static const struct tlspolicy_entry *
find_key(const struct tlspolicy *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcasecmp(p->e[i].dest, key) == 0)
            return &p->e[i];
    return NULL;
}

/*
 * tlspolicy_find - the level for domain: its exact line, its longest
 * suffix ".b.c", the default line, else may.
 */
struct tls_policy
tlspolicy_find(const struct tlspolicy *p, const char *domain)
{
    struct tls_policy r = {TLS_LEVEL_MAY, "default"};
    const struct tlspolicy_entry *e = NULL;

    if (*domain)
        e = find_key(p, domain);
    for (const char *s = domain; !e && *s; s++)
        if (*s == '.' && s[1])
            e = find_key(p, s);
    if (!e)
        e = find_key(p, "");
    if (e) {
        r.level = e->level;
        r.source = "control/tlsdestinations";
    }
    return r;
}

void
tlspolicy_free(struct tlspolicy *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->e[i].dest);
    free(p->e);
    p->e = NULL;
    p->n = 0;
}

/* ---- smtproutes-auth ----------------------------------------------- */

static void
authroute_free(struct authroute *r)
{
    secret_free(r->pass);
    free(r->host);
    free(r->user);
    memset(r, 0, sizeof *r);
}

/*
 * parse_auth - "host:user:password" in line[0..len) (no newline).  The
 * host may be a bracketed literal holding colons.
 */
static int
parse_auth(const char *line, size_t len, struct authroute *r)
{
    const char *c1, *c2;
    size_t hlen;

    memset(r, 0, sizeof *r);
    if (memchr(line, '\0', len) || memchr(line, '\r', len))
        goto bad;
    if (len && line[0] == '[') {
        const char *end = memchr(line, ']', len);

        if (!end || (size_t)(end - line) + 1 >= len || end[1] != ':')
            goto bad;
        c1 = end + 1;
    } else if (!(c1 = memchr(line, ':', len))) {
        goto bad;
    }
    hlen = (size_t)(c1 - line);
    for (size_t i = 0; i < hlen; i++)
        if (!dest_char((unsigned char)line[i]) && line[i] != ':')
            goto bad;
    c2 = memchr(c1 + 1, ':', len - hlen - 1);
    if (hlen == 0 || !c2 || c2 == c1 + 1)
        goto bad;
    r->host = routes_lowdup(line, hlen);
    r->user = strndup(c1 + 1, (size_t)(c2 - c1 - 1));
    r->pass = strndup(c2 + 1, len - (size_t)(c2 + 1 - line));
    if (!r->host || !r->user || !r->pass) {
        authroute_free(r);
        errno = ENOMEM;
        return -1;
    }
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/*
 * authroutes_load - the file's text (lines ended by LF; empty lines and
 * lines starting with '#' skipped; a CR before the LF is dropped) into
 * a.  Returns 0; -1 with errno EINVAL and *badline, or ENOMEM.
 */
int
authroutes_load(struct authroutes *a, const char *text, size_t len,
                size_t *badline)
{
    size_t line = 0;
    int e;

    a->e = NULL;
    a->n = 0;
    *badline = 0;
    while (len) {
        const char *nl = memchr(text, '\n', len);
        size_t l = nl ? (size_t)(nl - text) : len;
        size_t step = nl ? l + 1 : l;
        struct authroute *ne;

        line++;
        if (l && text[l - 1] == '\r')
            l--;
        if (l == 0 || text[0] == '#')
            goto next;
        ne = realloc(a->e, (a->n + 1) * sizeof *a->e);
        if (!ne)
            goto fail;
        a->e = ne;
        if (parse_auth(text, l, &a->e[a->n]) == -1) {
            if (errno == EINVAL)
                *badline = line;
            goto fail;
        }
        a->n++;
    next:
        text += step;
        len -= step;
    }
    return 0;
fail:
    e = errno;
    authroutes_free(a);
    errno = e;
    return -1;
}

/* authroutes_find - the login for host (a name or literal), or NULL. */
const struct authroute *
authroutes_find(const struct authroutes *a, const char *host)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcasecmp(a->e[i].host, host) == 0)
            return &a->e[i];
    return NULL;
}

void
authroutes_free(struct authroutes *a)
{
    for (size_t i = 0; i < a->n; i++)
        authroute_free(&a->e[i]);
    free(a->e);
    a->e = NULL;
    a->n = 0;
}
