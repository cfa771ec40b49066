/* SPDX-License-Identifier: ISC */
/*
 * conf - qmail-send's settings, read at start and on SIGHUP.  Defaults
 * are qmail-1.03's; retryschedule and warnafter are qmail-ng's,
 * bouncemaxbytes the one qmail patches (indimail, qmail-toaster) named
 * (qmail-control(5)), ratelimitremote qmail-ng's (sendrate.c).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "ctl.h"
#include "fmt.h"
#include "send.h"

#define OFF(f) offsetof(struct send_conf, f)

struct flags {
    bool locals;
};

static const struct ctl_setting settings[] = {
    {"me", CTL_LINE, NULL, 0, 0, OFF(me), CTL_NOFLAG},
    {"locals", CTL_LIST, NULL, 0, 0, OFF(locals), CTL_NOFLAG},
    {"percenthack", CTL_LIST, NULL, 0, 0, OFF(percenthack), CTL_NOFLAG},
    {"virtualdomains", CTL_LIST, NULL, 0, 0, OFF(virtualdomains), CTL_NOFLAG},
    {"envnoathost", CTL_LINE, "@me", 0, 0, OFF(envnoathost), CTL_NOFLAG},
    {"bouncefrom", CTL_LINE, "MAILER-DAEMON", 0, 0, OFF(bouncefrom),
     CTL_NOFLAG},
    {"bouncehost", CTL_LINE, "@me", 0, 0, OFF(bouncehost), CTL_NOFLAG},
    {"doublebounceto", CTL_LINE, "postmaster", 0, 0, OFF(doublebounceto),
     CTL_NOFLAG},
    {"doublebouncehost", CTL_LINE, "@me", 0, 0, OFF(doublebouncehost),
     CTL_NOFLAG},
    {"concurrencylocal", CTL_ULONG, "10", 1, 65535,
     OFF(concurrency[CHAN_LOCAL]), CTL_NOFLAG},
    {"concurrencyremote", CTL_ULONG, "20", 1, 65535,
     OFF(concurrency[CHAN_REMOTE]), CTL_NOFLAG},
    {"spawnlimit", CTL_ULONG, "120", 1, 65535, OFF(spawnlimit), CTL_NOFLAG},
    {"concurrencyperdomain", CTL_ULONG, "20", 1, 1000, OFF(perdomain),
     CTL_NOFLAG},
    {"queuelifetime", CTL_ULONG, "604800", 0, ULONG_MAX, OFF(queuelifetime),
     CTL_NOFLAG},
    {"warnafter", CTL_ULONG, "0", 0, ULONG_MAX, OFF(warnafter), CTL_NOFLAG},
    {"retryschedule", CTL_LIST, NULL, 0, 0, OFF(retryschedule), CTL_NOFLAG},
    {"bouncemaxbytes", CTL_ULONG, "0", 0, ULONG_MAX, OFF(bouncemaxbytes),
     OFF(bouncemaxbytes_set)},
    /* qmail-ng: remote deliveries per destination domain and window */
    {"ratelimitremote", CTL_LIST, NULL, 0, 0, OFF(ratelimitremote),
     CTL_NOFLAG},
};

/* skip_from - "local:N" / "remote:N" lines of retryschedule. */
static int
skip_from(struct send_conf *c)
{
    c->skip[CHAN_LOCAL] = 10; /* qmail's chanskip */
    c->skip[CHAN_REMOTE] = 20;
    for (const char *it = ctl_list_next(&c->retryschedule, NULL); it;
         it = ctl_list_next(&c->retryschedule, it)) {
        const char *colon = strchr(it, ':');
        unsigned long u;
        int chan;

        if (!colon)
            return -1;
        if ((size_t)(colon - it) == 5 && strncmp(it, "local", 5) == 0)
            chan = CHAN_LOCAL;
        else if ((size_t)(colon - it) == 6 && strncmp(it, "remote", 6) == 0)
            chan = CHAN_REMOTE;
        else
            return -1;
        if (scan_ulong(colon + 1, strlen(colon + 1), &u) != strlen(colon + 1) ||
            u == 0 || u > 100000)
            return -1;
        c->skip[chan] = u;
    }
    return 0;
}

/*
 * conf_load - read every setting into c (fresh; call conf_free first
 * when reloading).  Returns 0, or -1 with errno and *bad naming the file.
 */
int
conf_load(struct send_conf *c, const char **bad)
{
    memset(c, 0, sizeof *c);
    if (ctl_load(settings, sizeof settings / sizeof settings[0], c, bad) ==
        -1)
        return -1;
    if (c->locals.len == 0) {
        /* qmail: without control/locals, me is the local domain */
        struct bstr l = BSTR_INIT;
        int present = ctl_readlist("control/locals", &l);

        bstr_free(&l);
        if (present == 0 && (bstr_copy(&c->locals, &c->me) == -1 ||
                             bstr_catc(&c->locals, '\0') == -1))
            return -1;
    }
    *bad = "retryschedule";
    if (skip_from(c) == -1) {
        errno = EINVAL;
        return -1;
    }
    for (int i = 0; i < NCHAN; i++)
        if (c->concurrency[i] > c->spawnlimit)
            c->concurrency[i] = c->spawnlimit;
    *bad = "ratelimitremote";
    if (sendrate_parse(&c->rates, &c->ratelimitremote) == -1)
        return -1;
    *bad = "virtualdomains";
    if (route_init(&c->route, &c->locals, &c->percenthack,
                   &c->virtualdomains, c->envnoathost.s) == -1)
        return -1;
    *bad = NULL;
    return 0;
}

void
conf_free(struct send_conf *c)
{
    route_free(&c->route);
    bstr_free(&c->me);
    bstr_free(&c->locals);
    bstr_free(&c->percenthack);
    bstr_free(&c->virtualdomains);
    bstr_free(&c->envnoathost);
    bstr_free(&c->bouncefrom);
    bstr_free(&c->bouncehost);
    bstr_free(&c->doublebounceto);
    bstr_free(&c->doublebouncehost);
    bstr_free(&c->retryschedule);
    sendrate_rules_free(&c->rates);
    bstr_free(&c->ratelimitremote);
}
