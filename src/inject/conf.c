/* SPDX-License-Identifier: ISC */
/*
 * conf - qmail-inject's settings: control files, then the environment
 * (qmail-inject(8)).  Each of defaulthost, defaultdomain, plusdomain and
 * idhost defaults to control/me, or when that is absent to its own name
 * ("defaulthost", ...), as qmail's control_rldef did; an empty file
 * counts as absent.  A variable QMAILDEFAULTHOST etc. overrides the file.
 * Every value that will end up in a header is checked here, once.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "inject.h"

/* inject_conf_init - empty settings, ready for inject_conf_env/_load. */
void
inject_conf_init(struct inject_conf *cf)
{
    memset(cf, 0, sizeof *cf);
}

/* inject_text_ok - s holds no control character but tabs (a name). */
bool
inject_text_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c < 32 && c != '\t') || c == 127)
            return false;
    }
    return true;
}

/*
 * inject_host_ok - s[0..len) is a host name qmail-inject can put after
 * "@": atoms separated by single dots, or a [domain literal].
 */
bool
inject_host_ok(const char *s, size_t len)
{
    struct bstr probe = BSTR_INIT;
    struct headeraddr a;
    const char *why;
    bool ok;

    memset(&a, 0, sizeof a);
    if (len == 0 || memchr(s, '\0', len) || bstr_copys(&probe, "x@") == -1 ||
        bstr_catb(&probe, s, len) == -1) {
        bstr_free(&probe);
        return false;
    }
    ok = headeraddr_one(probe.s, probe.len, &a, &why) == 0 && !a.angle &&
         a.domain.len == len && memcmp(a.domain.s, s, len) == 0;
    bstr_free(&probe);
    headeraddr_free(&a);
    return ok;
}

static const char *
first(inject_getenv get, const char *const *names, const char **which)
{
    for (; *names; names++) {
        const char *v = get(*names);

        if (v && *v) {
            *which = *names;
            return v;
        }
    }
    return NULL;
}

/*
 * inject_conf_env - QMAILINJECT and the names for From: and the
 * envelope sender.  Returns 0, or -1 with errno EINVAL and *why saying
 * which variable is unusable.
 */
int
inject_conf_env(struct inject_conf *cf, inject_getenv get, const char **why)
{
    static const char *const users[] = {"QMAILUSER", "MAILUSER", "USER",
                                        "LOGNAME", NULL};
    static const char *const hosts[] = {"QMAILHOST", "MAILHOST", NULL};
    static const char *const names[] = {"QMAILNAME", "MAILNAME", "NAME",
                                        NULL};
    static const char *const susers[] = {"QMAILSUSER", NULL};
    static const char *const shosts[] = {"QMAILSHOST", NULL};
    static char msg[128];
    const char *opts = get("QMAILINJECT");
    const char *uvar = NULL, *hvar = NULL, *nvar = NULL, *suvar = NULL,
               *shvar = NULL;

    for (; opts && *opts; opts++) {
        switch (*opts) {
        case 'c':
            cf->namecomment = true;
            break;
        case 's':
            cf->delsender = true;
            break;
        case 'f':
            cf->delfrom = true;
            break;
        case 'i':
            cf->delmsgid = true;
            break;
        case 'r':
            cf->veprcpt = true;
            break;
        case 'm':
            cf->verpmess = true;
            break;
        default:
            break; /* qmail ignores other letters */
        }
    }
    cf->user = first(get, users, &uvar);
    if (!cf->user)
        cf->user = "anonymous";
    cf->host = first(get, hosts, &hvar);
    cf->name = first(get, names, &nvar);
    cf->suser = first(get, susers, &suvar);
    if (!cf->suser) {
        cf->suser = cf->user;
        suvar = uvar;
    }
    cf->shost = first(get, shosts, &shvar);
    if (!cf->shost) {
        cf->shost = cf->host;
        shvar = hvar;
    }
    *why = NULL;
    if (!inject_text_ok(cf->user))
        *why = uvar;
    else if (!inject_text_ok(cf->suser))
        *why = suvar;
    else if (cf->name && !inject_text_ok(cf->name))
        *why = nvar;
    if (*why) {
        snprintf(msg, sizeof msg, "$%s contains a control character", *why);
        *why = msg;
        errno = EINVAL;
        return -1;
    }
    if (cf->host && !inject_host_ok(cf->host, strlen(cf->host)))
        *why = hvar;
    else if (cf->shost && !inject_host_ok(cf->shost, strlen(cf->shost)))
        *why = shvar;
    if (*why) {
        snprintf(msg, sizeof msg, "$%s is not a valid host name", *why);
        *why = msg;
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/*
 * inject_conf_mft - read QMAILMFTFILE, the addresses of mailing lists
 * (one per line) that get a Mail-Followup-To field.  Returns 0 (absent
 * is fine) or -1 with errno.
 */
int
inject_conf_mft(struct inject_conf *cf, const char *path)
{
    int r = ctl_readlist(path, &cf->mft);

    if (r == -1)
        return -1;
    cf->mft_on = r == 1;
    return 0;
}

#define OFF(f) offsetof(struct inject_conf, f)
static const struct ctl_setting settings[] = {
    {"me", CTL_LINE, "", 0, 0, OFF(me), OFF(me_present)},
    {"defaulthost", CTL_LINE, "", 0, 0, OFF(defaulthost), OFF(dh_present)},
    {"defaultdomain", CTL_LINE, "", 0, 0, OFF(defaultdomain),
     OFF(dd_present)},
    {"plusdomain", CTL_LINE, "", 0, 0, OFF(plusdomain), OFF(pd_present)},
    {"idhost", CTL_LINE, "", 0, 0, OFF(idhost), OFF(id_present)},
};

struct derived {
    const char *name; /* the control file, also the last-resort value */
    const char *env;
    size_t off;
};

static const struct derived derived[] = {
    {"defaulthost", "QMAILDEFAULTHOST", OFF(defaulthost)},
    {"defaultdomain", "QMAILDEFAULTDOMAIN", OFF(defaultdomain)},
    {"plusdomain", "QMAILPLUSDOMAIN", OFF(plusdomain)},
    {"idhost", "QMAILIDHOST", OFF(idhost)},
};

/*
 * inject_conf_load - the control files, read relative to the current
 * directory ($QMAIL_HOME), then the variables that override them.
 * Returns 0, or -1 with errno and *bad naming the setting: a file that
 * cannot be read, or a value that is not a host name (EINVAL).
 */
int
inject_conf_load(struct inject_conf *cf, inject_getenv get, const char **bad)
{
    if (ctl_load(settings, sizeof settings / sizeof settings[0], cf, bad) ==
        -1)
        return -1;
    for (size_t i = 0; i < sizeof derived / sizeof derived[0]; i++) {
        struct bstr *v = (struct bstr *)((char *)cf + derived[i].off);
        const char *e = get(derived[i].env);
        int r = 0;

        *bad = derived[i].name;
        if (e && *e)
            r = bstr_copys(v, e);
        else if (v->len == 0 && cf->me.len)
            r = bstr_copy(v, &cf->me);
        else if (v->len == 0)
            r = bstr_copys(v, derived[i].name);
        if (r == -1)
            return -1;
        if (!inject_host_ok(v->s, v->len)) {
            errno = EINVAL;
            return -1;
        }
    }
    *bad = NULL;
    return 0;
}

/* inject_conf_free - release what the settings hold. */
void
inject_conf_free(struct inject_conf *cf)
{
    bstr_free(&cf->me);
    bstr_free(&cf->defaulthost);
    bstr_free(&cf->defaultdomain);
    bstr_free(&cf->plusdomain);
    bstr_free(&cf->idhost);
    bstr_free(&cf->mft);
}
