/* SPDX-License-Identifier: ISC */
/*
 * policy - who may send what through qmail-smtpd: relay control
 * (rcpthosts, morercpthosts.cdb, RELAYCLIENT) and badmailfrom, with
 * qmail's semantics.
 *
 * A recipient domain is ours when it is listed exactly, or when one of
 * its ".suffix" forms is (".example.com" covers every subdomain); the
 * same keys are looked up in morercpthosts.cdb.  A domain literal naming
 * one of this host's addresses stands for localiphost.  For untrusted
 * clients it refuses sender-specified routing: '@', '%' or '!' in a
 * local part (the percent hack, "a@b"@c, bang paths) never relays.
 * Lists are hashed once per session, so a lookup costs the same with
 * ten domains or a hundred thousand.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "addr.h"
#include "ctl.h"
#include "fnv.h"
#include "smtpd.h"

static bool
slot_is(const char *item, const char *s, size_t len)
{
    return strnlen(item, len + 1) == len && memcmp(item, s, len) == 0;
}

/*
 * smtpd_set_build - hash every item of a ctl list (NUL-terminated items,
 * as ctl_readlist makes them).  The set points into list, which must
 * outlive it.  Returns 0, or -1 with errno ENOMEM.
 */
int
smtpd_set_build(struct smtpd_set *set, const struct bstr *list)
{
    size_t n = 0, cap = 16;

    set->slot = NULL;
    set->mask = 0;
    for (const char *p = ctl_list_next(list, NULL); p;
         p = ctl_list_next(list, p))
        n++;
    if (n == 0)
        return 0;
    while (cap < n * 2) {
        if (cap > SIZE_MAX / 4 / sizeof *set->slot) {
            errno = ENOMEM;
            return -1;
        }
        cap *= 2;
    }
    set->slot = calloc(cap, sizeof *set->slot);
    if (!set->slot)
        return -1;
    set->mask = cap - 1;
    for (const char *p = ctl_list_next(list, NULL); p;
         p = ctl_list_next(list, p)) {
        size_t len = strlen(p);
        size_t h = (size_t)fnv1a(p, len) & set->mask;

        while (set->slot[h] && !slot_is(set->slot[h], p, len))
            h = (h + 1) & set->mask;
        set->slot[h] = p;
    }
    return 0;
}

/* smtpd_set_has - true when s[0..len) is an item of the set. */
bool
smtpd_set_has(const struct smtpd_set *set, const char *s, size_t len)
{
    size_t h;

    if (!set->slot)
        return false;
    h = (size_t)fnv1a(s, len) & set->mask;
    while (set->slot[h]) {
        if (slot_is(set->slot[h], s, len))
            return true;
        h = (h + 1) & set->mask;
    }
    return false;
}

void
smtpd_set_free(struct smtpd_set *set)
{
    free(set->slot);
    set->slot = NULL;
    set->mask = 0;
}

/*
 * smtpd_policy_init - prepare the lookups from the settings (lowercasing
 * the lists in cf, part of loading them).  morepath: the
 * morercpthosts.cdb to consult, or NULL.  Returns 0, or -1 with errno
 * set (ENOMEM, or the error opening morepath: a control failure).
 */
int
smtpd_policy_init(struct smtpd_policy *p, struct smtpd_config *cf,
                  const char *morepath)
{
    memset(p, 0, sizeof *p);
    p->morercpthosts.fd = -1;
    bstr_lower(&cf->rcpthosts);
    bstr_lower(&cf->badmailfrom);
    bstr_lower(&cf->norcptcheck);
    if (smtpd_set_build(&p->rcpthosts, &cf->rcpthosts) == -1 ||
        smtpd_set_build(&p->badmailfrom, &cf->badmailfrom) == -1 ||
        smtpd_set_build(&p->norcptcheck, &cf->norcptcheck) == -1)
        return -1;
    p->overquota_bounce = cf->overquota.s && strcmp(cf->overquota.s,
                                                    "bounce") == 0;
    p->mbox.why = (struct bstr)BSTR_INIT;
    p->relaycontrol = cf->rcpthosts_present;
    p->localiphost = cf->localiphost.s ? cf->localiphost.s : "";
    if (p->relaycontrol && morepath) {
        if (cdbmap_open(&p->morercpthosts, morepath) == 0)
            p->more = true;
        else if (errno != ENOENT)
            return -1;
    }
    return bstr_ready(&p->key, ADDR_DOMAIN_MAX + 2);
}

/* smtpd_policy_free - release what smtpd_policy_init made. */
void
smtpd_policy_free(struct smtpd_policy *p)
{
    smtpd_set_free(&p->rcpthosts);
    smtpd_set_free(&p->badmailfrom);
    smtpd_set_free(&p->norcptcheck);
    rcptmap_result_free(&p->mbox);
    if (p->more)
        cdbmap_close(&p->morercpthosts);
    p->more = false;
    bstr_free(&p->key);
    bstr_free(&p->val);
}

/*
 * smtpd_policy_badmailfrom - true when the sender is listed, exactly or
 * by an "@domain" line; case does not matter.
 */
bool
smtpd_policy_badmailfrom(const struct smtpd_policy *p, const char *a,
                         size_t len)
{
    char buf[ADDR_MAX + 1];
    size_t at;

    if (!p->badmailfrom.slot || len == 0 || len > ADDR_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        buf[i] = (a[i] >= 'A' && a[i] <= 'Z') ? (char)(a[i] + 32) : a[i];
    if (smtpd_set_has(&p->badmailfrom, buf, len))
        return true;
    at = addr_at(buf, len);
    return at < len && smtpd_set_has(&p->badmailfrom, buf + at, len - at);
}

/*
 * smtpd_ipme - does the literal "[a.b.c.d]" or "[IPv6:...]" name one of
 * this host's addresses?  1 yes, 0 no, -1 the interfaces could not be
 * listed.
 */
int
smtpd_ipme(const char *lit, size_t len)
{
    struct in6_addr a6;
    struct in_addr a4;
    struct ifaddrs *ifs, *i;
    char buf[64];
    bool v6;
    int found = 0;

    if (len < 3 || lit[0] != '[' || lit[len - 1] != ']' ||
        len - 2 >= sizeof buf)
        return 0;
    memcpy(buf, lit + 1, len - 2);
    buf[len - 2] = '\0';
    v6 = strncasecmp(buf, "IPv6:", 5) == 0;
    if (v6 ? inet_pton(AF_INET6, buf + 5, &a6) != 1
           : inet_pton(AF_INET, buf, &a4) != 1)
        return 0;
    if (getifaddrs(&ifs) == -1)
        return -1;
    for (i = ifs; i && !found; i = i->ifa_next) {
        const struct sockaddr *sa = i->ifa_addr;

        if (!sa)
            continue;
        if (!v6 && sa->sa_family == AF_INET)
            found = memcmp(&((const struct sockaddr_in *)(const void *)sa)
                                ->sin_addr,
                           &a4, sizeof a4) == 0;
        else if (v6 && sa->sa_family == AF_INET6)
            found = memcmp(&((const struct sockaddr_in6 *)(const void *)sa)
                                ->sin6_addr,
                           &a6, sizeof a6) == 0;
    }
    freeifaddrs(ifs);
    return found;
}

/* Is the lowercased domain ours: listed, by suffix, or in the cdb? */
static enum reason
domain_ours(struct smtpd_policy *p, const char *d, size_t len)
{
    enum reason r = OC_NOGATEWAY;

    if (smtpd_set_has(&p->rcpthosts, d, len))
        return OC_OK;
    for (size_t i = 0; i < len; i++)
        if (d[i] == '.' && smtpd_set_has(&p->rcpthosts, d + i, len - i))
            return OC_OK;
    if (!p->more)
        return OC_NOGATEWAY;
    for (size_t i = 0; i <= len && r == OC_NOGATEWAY; i++) {
        int f;

        if (i > 0 && (i == len || d[i] != '.'))
            continue;
        f = cdbmap_get(&p->morercpthosts, d + i, len - i, &p->val);
        if (f == 1)
            r = OC_OK;
        else if (f == -1)
            r = OC_TEMPFAIL; /* a map we cannot read is no refusal */
    }
    return r;
}

/*
 * smtpd_policy_rcpt - may this recipient be accepted?  addr is in queue
 * form; a literal naming this host is rewritten to localiphost in place,
 * for every client (qmail does the same).  trusted: RELAYCLIENT is set,
 * so no relay control.  Returns OC_OK, OC_ROUTING, OC_NOGATEWAY, or a
 * temporary reason (OC_TEMPFAIL, OC_NOMEM).
 */
enum reason
smtpd_policy_rcpt(struct smtpd_policy *p, struct bstr *addr, bool trusted)
{
    size_t at = addr_at(addr->s, addr->len);

    if (at < addr->len && addr->s[at + 1] == '[') {
        int me = smtpd_ipme(addr->s + at + 1, addr->len - at - 1);

        if (me == -1)
            return OC_TEMPFAIL;
        if (me == 1) {
            bstr_truncate(addr, at + 1);
            if (bstr_cats(addr, p->localiphost) == -1)
                return OC_NOMEM;
        }
    }
    if (trusted)
        return OC_OK;
    for (size_t i = 0; i < at; i++)
        if (addr->s[i] == '@' || addr->s[i] == '%' || addr->s[i] == '!')
            return OC_ROUTING;
    if (at == addr->len)
        return OC_OK; /* a local name such as "postmaster" */
    if (!p->relaycontrol)
        return OC_OK;
    if (bstr_copyb(&p->key, addr->s + at + 1, addr->len - at - 1) == -1)
        return OC_NOMEM;
    bstr_lower(&p->key);
    return domain_ours(p, p->key.s, p->key.len);
}

/*
 * smtpd_policy_mailbox - can the recipient addr (queue form) take mail,
 * as far as its domain's recipient map knows (rcptmap.h: only virtual
 * domains have one; every other address is taken, as qmail did)?  The
 * domains of control/norcptcheck ("*": all) are not checked.  Returns
 * OC_OK (p->mbox says what was found, for a log line), OC_NOMAILBOX,
 * OC_MBOXFULL_TEMP or OC_MBOXFULL (control/overquota), or OC_NOMEM.
 */
enum reason
smtpd_policy_mailbox(struct smtpd_policy *p, const struct bstr *addr,
                     time_t now)
{
    size_t at = addr_at(addr->s, addr->len);

    p->mbox.verdict = RCPTMAP_NOMAP;
    if (at >= addr->len || smtpd_set_has(&p->norcptcheck, "*", 1))
        return OC_OK;
    if (bstr_copyb(&p->key, addr->s + at + 1, addr->len - at - 1) == -1)
        return OC_NOMEM;
    bstr_lower(&p->key);
    if (smtpd_set_has(&p->norcptcheck, p->key.s, p->key.len))
        return OC_OK;
    if (rcptmap_check(NULL, addr->s, at, p->key.s, p->key.len, now,
                      &p->mbox) == -1)
        return OC_NOMEM;
    switch (p->mbox.verdict) {
    case RCPTMAP_UNKNOWN:
        return OC_NOMAILBOX;
    case RCPTMAP_OVERQUOTA:
        return p->overquota_bounce ? OC_MBOXFULL : OC_MBOXFULL_TEMP;
    default:
        return OC_OK;
    }
}
