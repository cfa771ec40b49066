/* SPDX-License-Identifier: ISC */
/*
 * conf - qmail-remote's settings and the per-destination state built from
 * them (see remote.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "readfile.h"
#include "remote.h"
#include "resolve.h"

#define OFF(f) offsetof(struct remote_conf, f)

/* Every control file qmail-remote reads, once, at start. */
static const struct ctl_setting settings[] = {
    {"me", CTL_LINE, NULL, 0, 0, OFF(me), CTL_NOFLAG},
    {"helohost", CTL_LINE, "@me", 0, 0, OFF(helohost), CTL_NOFLAG},
    {"timeoutconnect", CTL_ULONG, "60", 1, 86400, OFF(timeoutconnect),
     CTL_NOFLAG},
    {"timeoutremote", CTL_ULONG, "1200", 1, 86400, OFF(timeoutremote),
     CTL_NOFLAG},
    {"outgoingip", CTL_LIST, NULL, 0, 0, OFF(outgoingip), CTL_NOFLAG},
    {"smtproutes", CTL_LIST, NULL, 0, 0, OFF(smtproutes), CTL_NOFLAG},
    {"moreipme", CTL_LIST, NULL, 0, 0, OFF(moreipme), CTL_NOFLAG},
    {"notipme", CTL_LIST, NULL, 0, 0, OFF(notipme), CTL_NOFLAG},
    {"tlsdestinations", CTL_LIST, NULL, 0, 0, OFF(tlsdestinations),
     CTL_NOFLAG},
};

/*
 * remote_conf_load - read the settings (cwd: $QMAIL_HOME).  Returns 0,
 * or -1 with errno and *badfile naming the file.
 */
int
remote_conf_load(struct remote_conf *c, const char **badfile)
{
    memset(c, 0, sizeof *c);
    return ctl_load(settings, sizeof settings / sizeof settings[0], c,
                    badfile);
}

void
remote_conf_free(struct remote_conf *c)
{
    bstr_free(&c->me);
    bstr_free(&c->helohost);
    bstr_free(&c->outgoingip);
    bstr_free(&c->smtproutes);
    bstr_free(&c->moreipme);
    bstr_free(&c->notipme);
    bstr_free(&c->tlsdestinations);
}

/* outgoing - control/outgoingip: one IPv4 and one IPv6 address at most. */
static int
outgoing(struct remote *rm, struct bstr *why)
{
    const struct bstr *l = &rm->c->outgoingip;

    for (const char *p = ctl_list_next(l, NULL); p; p = ctl_list_next(l, p)) {
        struct ipaddr ip;

        if (!ipaddr_scan(p, strlen(p), &ip)) {
            if (result_line(why, RS_OUTGOINGIP_BAD, RESULT_ARGS(p)) == -1)
                bstr_truncate(why, 0);
            return -1;
        }
        ipaddr_unmap(&ip);
        if (ip.family == AF_INET ? rm->has_src4 : rm->has_src6) {
            if (result_line(why, RS_OUTGOINGIP_TWO,
                            RESULT_ARGS(ip.family == AF_INET ? "4" : "6")) ==
                -1)
                bstr_truncate(why, 0);
            return -1;
        }
        if (ip.family == AF_INET) {
            rm->src4 = ip;
            rm->has_src4 = true;
        } else {
            rm->src6 = ip;
            rm->has_src6 = true;
        }
    }
    return 0;
}

/*
 * load_auth - control/smtproutes-auth, when it exists.  It holds
 * passwords, so its mode is 600 and its owner qmailr: a file others can
 * read is refused (the admin should know), as is one this uid cannot.
 */
static int
load_auth(struct remote *rm, struct bstr *why)
{
    static const char fn[] = "control/smtproutes-auth";
    struct bstr text = BSTR_INIT;
    struct stat st;
    size_t badline;
    char num[FMT_ULONG];
    int r = 0, fd = open(fn, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd == -1 && errno == ENOENT)
        return 0;
    if (fd == -1 || fstat(fd, &st) == -1) {
        if (result_line(why, RS_READ, RESULT_ARGS(fn, strerror(errno))) == -1)
            bstr_truncate(why, 0);
        r = -1;
    } else if (st.st_mode & 077) {
        if (result_line(why, RS_AUTH_MODE, RESULT_ARGS(fn)) == -1)
            bstr_truncate(why, 0);
        r = -1;
    } else if (readfile_fd(fd, &text, 1 << 20) == -1 ||
               authroutes_load(&rm->auth, text.s ? text.s : "", text.len,
                               &badline) == -1) {
        if (errno == EINVAL &&
            result_line(why, RS_AUTH_LINE,
                        RESULT_ARGS(fn, result_num(num, badline))) == -1)
            bstr_truncate(why, 0);
        else if (errno != EINVAL && errno != ENOMEM &&
                 result_line(why, RS_READ,
                             RESULT_ARGS(fn, strerror(errno))) == -1)
            bstr_truncate(why, 0);
        r = -1;
    }
    if (text.s)
        explicit_bzero(text.s, text.len);
    bstr_free(&text);
    if (fd != -1)
        close(fd);
    return r;
}

/*
 * remote_init - the state for delivering to host: routes, our addresses,
 * source addresses, a closed connection.  The resolver and the tcpto
 * path are the caller's to set.  Returns 0, or -1 with the reason (for
 * a Z report, ending in a newline) appended to why, which is left empty
 * when out of memory.
 */
int
remote_init(struct remote *rm, const struct remote_conf *c, const char *host,
            struct bstr *why)
{
    size_t badline;
    char num[FMT_ULONG];
    const char *bad;

    memset(rm, 0, sizeof *rm);
    rm->c = c;
    rm->host = host;
    smtp_init(&rm->s, (unsigned)c->timeoutremote);
    ipme_init(&rm->ipme);
    resolve_none(&rm->res);
    if (routes_load(&rm->routes, &c->smtproutes, &badline) == -1) {
        if (errno == EINVAL &&
            result_line(why, RS_ROUTES_LINE,
                        RESULT_ARGS(result_num(num, badline))) == -1)
            bstr_truncate(why, 0);
        return -1;
    }
    if (ipme_load(&rm->ipme, &c->moreipme, &c->notipme, &bad) == -1) {
        if (errno == EINVAL && bad &&
            result_line(why, RS_IPME_BAD, RESULT_ARGS(bad)) == -1)
            bstr_truncate(why, 0);
        else if (errno != EINVAL && errno != ENOMEM &&
                 result_line(why, RS_OSERR, RESULT_NOARGS) == -1)
            bstr_truncate(why, 0);
        return -1;
    }
    if (outgoing(rm, why) == -1)
        return -1;
    if (tlspolicy_load(&rm->tlsdest, &c->tlsdestinations, &badline) == -1) {
        if (errno == EINVAL &&
            result_line(why, RS_TLSDEST_LINE,
                        RESULT_ARGS(result_num(num, badline))) == -1)
            bstr_truncate(why, 0);
        return -1;
    }
    rm->policy = tlspolicy_find(&rm->tlsdest, host);
    {
        char *cwd = getcwd(NULL, 0);

        if (cwd && bstr_catf(&rm->tlsnote, "%s/control", cwd) == 0)
            rm->ctldir = strdup(rm->tlsnote.s);
        bstr_truncate(&rm->tlsnote, 0);
        free(cwd);
        if (!rm->ctldir)
            return -1; /* out of memory, or a home that is gone */
    }
    return load_auth(rm, why);
}

void
remote_free(struct remote *rm)
{
    smtp_free(&rm->s); /* before the contexts its TLS belongs to */
    tlspolicy_free(&rm->tlsdest);
    authroutes_free(&rm->auth);
    tls_ctx_free(rm->ctx);
    tls_ctx_free(rm->hostctx);
    free(rm->hostca);
    free(rm->ctldir);
    bstr_free(&rm->ctxerr);
    bstr_free(&rm->tlsnote);
    routes_free(&rm->routes);
    ipme_free(&rm->ipme);
}
