/* SPDX-License-Identifier: ISC */
/*
 * showctl - the control file table and its printer (see showctl.h).
 * Defaults are qmail-1.03's (qmail-control(5)).
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bstr.h"
#include "ctl.h"
#include "showctl.h"

const struct showctl_entry showctl_table[] = {
    {"me", 'v', NULL, "this host's name; the default for most others"},
    {"defaulthost", 'v', "@me", "host added to addresses without one (inject)"},
    {"defaultdomain", 'v', "@me", "domain added to host names without a dot"},
    {"plusdomain", 'v', "@me", "domain added to host names ending in +"},
    {"idhost", 'v', "@me", "host name used in Message-IDs"},
    {"locals", 'l', "@me", "domains delivered locally"},
    {"rcpthosts", 'l', NULL,
     "domains SMTP accepts mail for (absent: any, an open relay!)"},
    {"morercpthosts", 'c', NULL,
     "more rcpthosts, one per line: the source of morercpthosts.cdb (the v* "
     "tools write both past 50 domains)"},
    {"morercpthosts.cdb", 'c', NULL, "more rcpthosts, compiled"},
    {"norcptcheck", 'l', NULL,
     "domains whose unknown recipients RCPT accepts, as qmail did (*: all)"},
    {"overquota", 'v', "defer",
     "what a full mailbox gets: defer = 452 at RCPT and a deferral, bounce "
     "= 552 and a bounce"},
    {"quotawarnpercent", 'n', "90",
     "quota use, in percent, that sends the mailbox a warning (0: never)"},
    {"virtualdomains", 'l', NULL, "virtual domains and users"},
    {"percenthack", 'l', NULL, "domains where user%host@domain is rewritten"},
    {"smtproutes", 'l', NULL, "artificial SMTP routes"},
    {"smtpgreeting", 'v', "@me", "SMTP greeting text"},
    {"helohost", 'v', "@me", "name sent in HELO by qmail-remote"},
    {"localiphost", 'v', "@me", "name replacing this host's [IP] literals"},
    {"databytes", 'n', "0", "largest message SMTP accepts (0: no limit)"},
    {"timeoutsmtpd", 'n', "1200", "seconds qmail-smtpd waits per read/write"},
    {"timeoutsmtpdcmd", 'n', "300", "seconds for a whole SMTP command line"},
    {"timeoutsmtpddata", 'n', "600", "seconds of grace for a message's data"},
    {"mindatarate", 'n', "500",
     "bytes per second a message must average after that (0: any)"},
    {"timeoutremote", 'n', "1200", "seconds qmail-remote waits per read/write"},
    {"timeoutconnect", 'n', "60", "seconds qmail-remote waits to connect"},
    {"queuelifetime", 'n', "604800", "seconds a message may stay queued"},
    {"bouncefrom", 'v', "MAILER-DAEMON", "sender name of bounces"},
    {"bouncehost", 'v', "@me", "sender host of bounces"},
    {"doublebounceto", 'v', "postmaster", "recipient of double bounces"},
    {"doublebouncehost", 'v', "@me", "host of doublebounceto"},
    {"concurrencylocal", 'n', "10", "simultaneous local deliveries"},
    {"concurrencyremote", 'n', "20", "simultaneous remote deliveries"},
    {"badmailfrom", 'l', NULL, "envelope senders refused by SMTP"},
    {"envnoathost", 'v', "@me", "domain for recipients without @"},
    {"spawnlimit", 'n', "120", "hard maximum of the two concurrencies"},
    {"retryschedule", 'l', "local:10, remote:20",
     "steps of the quadratic retry schedule"},
    {"warnafter", 'n', "0", "seconds before a deferral notice (0: never)"},
    {"queueextra", 'v', "", "extra recipient of every message (archive)"},
    {"concurrencyperdomain", 'n', "20",
     "simultaneous SMTP connections to one domain"},
    {"outgoingip", 'l', NULL, "source addresses of qmail-remote (v4, v6)"},
    {"moreipme", 'l', NULL, "more addresses that are this host"},
    {"notipme", 'l', NULL, "addresses that are not this host after all"},
    {"dnsservers", 'l', NULL,
     "DNS servers (absent: those of /etc/resolv.conf)"},
    {"bouncemaxbytes", 'v', "the header and 10240 bytes of body",
     "how much of the original a bounce quotes"},
    {"defaultdelivery", 'v', "./Maildir/",
     "delivery of a user without .qmail (read by rc)"},
    {"opensmtpage", 'n', "10800",
     "seconds a POP3/IMAP login lets its IP relay (POP-before-SMTP; 0: off)"},
    {"concurrencyincoming", 'n', "100",
     "SMTP connections at once (read by supervise/qmail-smtpd/run)"},
    {"servercert.pem", 'c', NULL,
     "TLS key and certificate chain of qmail-smtpd (absent: no STARTTLS)"},
    {"servercert2.pem", 'c', NULL, "a second one, of the other key type"},
    {"dh2048.pem", 'c', NULL, "DH parameters (absent: built-in groups)"},
    {"tlsserverciphers", 'v', "", "TLS 1.2 cipher list (empty: OpenSSL's)"},
    {"tlsserverciphersuites", 'v', "",
     "TLS 1.3 cipher suites (empty: OpenSSL's)"},
    {"tlsserverminprotocol", 'v', "TLSv1.2", "oldest TLS version accepted"},
    {"tlsticketkeys", 'c', NULL,
     "session ticket keys shared by qmail-smtpd processes (qmail-tlskeys)"},
    {"authplaintext", 'n', "0", "1: AUTH offered before STARTTLS too"},
    {"tlsdestinations", 'l', "*:may",
     "TLS level per destination of qmail-remote (none, may, encrypt, "
     "verify)"},
    {"tlshosts", 'c', NULL,
     "NAME.pem: verify host NAME against these CAs (qmail-remote)"},
    {"notlshosts", 'c', NULL, "NAME: no STARTTLS to host NAME (qmail-remote)"},
    {"clientcert.pem", 'c', NULL,
     "qmail-remote's TLS client key and certificate"},
    {"smtproutes-auth", 'c', NULL,
     "host:user:password logins for smarthosts, mode 600 (not shown)"},
    {"vpopmailhome", 'v', "~vpopmail",
     "~vpopmail: where the virtual domains' domains/ and etc/ are"},
    {"vpopbackend", 'v', "cdb",
     "account store of the virtual domains: cdb = vpasswd files, pgsql = "
     "PostgreSQL"},
    {"vpoppgsql", 'c', NULL,
     "libpq connection string for vpopbackend pgsql (not shown: it may hold "
     "a password)"},
    {"vpopclearpasswd", 'n', "0",
     "1: vpasswd keeps clear-text passwords (for CRAM-MD5)"},
    /* DNS blocklists (src/smtpd/dnsbl.c) */
    {"dnsbl", 'l', NULL,
     "DNS blocklists of client IPs: zone[=filter][*weight] (Postfix syntax)"},
    {"rhsbl", 'l', NULL,
     "domain blocklists for HELO and sender domains, same syntax"},
    {"dnsblthreshold", 'v', "1", "score at which dnsbl/rhsbl refuse"},
    {"dnsbltimeout", 'n', "10", "seconds the blocklist lookups may take"},
    /* spamcontrol's checks (src/smtpd/checks.c) */
    {"badhelo", 'l', NULL,
     "HELO/EHLO names refused at MAIL (wildmat patterns, ! exempts)"},
    {"badrcptto", 'l', NULL,
     "envelope recipients refused by SMTP (address, @domain, patterns)"},
    {"helocheck", 'l', NULL,
     "HELO sanity checks: me, bareip, syntax (one a line)"},
    {"mfdnscheck", 'n', "0",
     "1: a sender's domain needs an MX, A or AAAA record"},
    {"maxrcpt", 'n', "0", "recipients per message (0: 1000)"},
    {"maxerrors", 'n', "20",
     "error replies before the session ends (0: no limit)"},
    {"tarpitcount", 'n', "0", "recipients before each RCPT reply waits (0: off)"},
    {"tarpiterrors", 'n', "0",
     "errors before RCPT replies wait longer each (0: off)"},
    {"tarpitdelay", 'v', "5", "seconds a tarpitted RCPT reply waits"},
    {"greetdelay", 'v', "0",
     "seconds to wait for a client that talks first (0: off)"},
    /* rate limits and send quotas (src/smtpd/ratelimit.c) */
    {"ratelimits", 'l', NULL,
     "qmail-smtpd's rate limits and send quotas (ip:conn/min:60, "
     "user:msgs/hour:500, ...; absent: none)"},
    /* greylisting (src/smtpd/greylist.c) */
    {"greylist", 'n', "0",
     "seconds before a greylisted triplet's retry passes (0: off)"},
    {"greylistwindow", 'n', "172800",
     "seconds after the first try in which the retry must come"},
    {"greylistmaxage", 'n', "3024000",
     "seconds a passed triplet stays good without being used"},
    {"greylistclients", 'n', "5",
     "passes after which a client network skips greylisting (0: never)"},
    {"ratelimitremote", 'l', NULL,
     "domain:M:S: at most M remote deliveries to a domain per S seconds"},
    {NULL, 0, NULL, NULL},
};

const struct showctl_entry *
showctl_find(const char *name)
{
    for (const struct showctl_entry *e = showctl_table; e->name; e++)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

static int
cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * resolve_default - the default text with "@x" resolved to control/x's
 * value and "~user" to user's home directory (vconf's rule for
 * vpopmailhome: without that user, /home/user).
 */
static int
resolve_default(const char *def, struct bstr *out)
{
    struct bstr path = BSTR_INIT;
    int r;

    if (def && def[0] == '~') {
        struct passwd *pw = getpwnam(def + 1);

        if (pw && pw->pw_dir && *pw->pw_dir)
            return bstr_copys(out, pw->pw_dir);
        bstr_truncate(out, 0);
        return bstr_catf(out, "/home/%s", def + 1);
    }
    if (!def || def[0] != '@')
        return bstr_copys(out, def ? def : "");
    if (bstr_catf(&path, "control/%s", def + 1) == -1)
        return -1;
    r = ctl_readline(path.s, out);
    bstr_free(&path);
    if (r == 0)
        return bstr_copys(out, "(unset)");
    return r == -1 ? -1 : 0;
}

/* showctl_print - every known file, its value and where it came from. */
int
showctl_print(FILE *out)
{
    struct bstr path = BSTR_INIT, val = BSTR_INIT;
    DIR *d;
    struct dirent *de;
    char **unknown = NULL;
    size_t nunknown = 0;
    int rc = -1;

    for (const struct showctl_entry *e = showctl_table; e->name; e++) {
        struct stat st;
        int r;

        if (bstr_copys(&path, "control/") == -1 ||
            bstr_cats(&path, e->name) == -1)
            goto out;
        if (e->kind == 'c') {
            r = stat(path.s, &st);
            if (r == 0)
                fprintf(out, "%s: present, %lld bytes. %s.\n", e->name,
                        (long long)st.st_size, e->meaning);
            else if (errno == ENOENT)
                fprintf(out, "%s: (absent) %s.\n", e->name, e->meaning);
            else
                goto out;
            continue;
        }
        if (e->kind == 'l') {
            r = ctl_readlist(path.s, &val);
            if (r == -1)
                goto out;
            if (r == 0) {
                if (e->def && resolve_default(e->def, &val) == 0)
                    fprintf(out, "%s: (default) %s. %s.\n", e->name, val.s,
                            e->meaning);
                else
                    fprintf(out, "%s: (absent) %s.\n", e->name, e->meaning);
                continue;
            }
            fprintf(out, "%s: %s.\n", e->name, e->meaning);
            for (const char *it = ctl_list_next(&val, NULL); it;
                 it = ctl_list_next(&val, it))
                fprintf(out, "  %s\n", it);
            continue;
        }
        r = ctl_readline(path.s, &val);
        if (r == -1)
            goto out;
        if (r == 1) {
            fprintf(out, "%s: %s (%s)\n", e->name, val.s, e->meaning);
        } else if (e->def) {
            if (resolve_default(e->def, &val) == -1)
                goto out;
            fprintf(out, "%s: (default) %s (%s)\n", e->name, val.s,
                    e->meaning);
        } else {
            fprintf(out, "%s: (absent!) %s\n", e->name, e->meaning);
        }
    }

    d = opendir("control");
    if (!d)
        goto out;
    while ((de = readdir(d))) {
        char **nu;

        if (de->d_name[0] == '.' || showctl_find(de->d_name))
            continue;
        nu = realloc(unknown, (nunknown + 1) * sizeof *unknown);
        if (!nu) {
            closedir(d);
            goto out;
        }
        unknown = nu;
        unknown[nunknown] = strdup(de->d_name);
        if (!unknown[nunknown]) {
            closedir(d);
            goto out;
        }
        nunknown++;
    }
    closedir(d);
    if (nunknown)
        qsort(unknown, nunknown, sizeof *unknown, cmpstr);
    for (size_t i = 0; i < nunknown; i++)
        fprintf(out, "%s: not a control file qmail-ng reads (a typo?)\n",
                unknown[i]);
    rc = 0;
out:
    for (size_t i = 0; i < nunknown; i++)
        free(unknown[i]);
    free(unknown);
    bstr_free(&path);
    bstr_free(&val);
    return rc;
}
