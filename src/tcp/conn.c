/* SPDX-License-Identifier: ISC */
/*
 * conn - one connection in tcpserver's child (see conn.h).
 *
 * The environment it leaves for the program is ucspi-tcp's: PROTO=TCP,
 * TCPLOCALIP, TCPLOCALPORT, TCPREMOTEIP, TCPREMOTEPORT always;
 * TCPLOCALHOST, TCPREMOTEHOST and TCPREMOTEINFO when known and removed
 * otherwise, so a value inherited from tcpserver's own environment can
 * never pass for a fact about the client.  A matching rule's VAR=value
 * assignments come last and may override any of them.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdbmap.h"
#include "conn.h"
#include "fmt.h"
#include "ident.h"
#include "ipaddr.h"
#include "log.h"
#include "outcome.h"
#include "rules.h"
#include "writeall.h"

/* The child's die paths: each closes the connection by exiting. */
static void __attribute__((noreturn))
drop(const struct conn_conf *cf, const char *what)
{
    if (cf->verbosity >= CONN_ERRORS)
        log_line("warning: dropping connection, %s: %s", what,
                 strerror(errno));
    _exit(EXIT_TEMP);
}

static void __attribute__((noreturn))
drop_rules(const struct conn_conf *cf)
{
    if (cf->verbosity >= CONN_ERRORS)
        log_line("warning: dropping connection, unable to read %s: %s",
                 cf->rules, strerror(errno));
    _exit(EXIT_TEMP);
}

/*
 * conn_host_clean - make a name from DNS fit for TCPREMOTEHOST and rule
 * keys: lower case, no trailing dot, only letters, digits, '-', '_' and
 * single dots, at most 253 bytes.  Returns false when it cannot be.
 */
bool
conn_host_clean(struct bstr *name)
{
    size_t label = 0;

    if (name->len && name->s[name->len - 1] == '.')
        bstr_truncate(name, name->len - 1);
    if (name->len == 0 || name->len > RULES_HOST_MAX)
        return false;
    bstr_lower(name);
    for (size_t i = 0; i < name->len; i++) {
        char c = name->s[i];

        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_') {
            label++;
        } else {
            return false;
        }
    }
    return label > 0;
}

/*
 * conn_name_of - the host name of an address from reverse DNS (or
 * /etc/hosts), cleaned.  Returns 1 with name set, 0 when there is no
 * usable name, -1 on a local failure.
 */
int
conn_name_of(const struct sockaddr *sa, socklen_t salen, struct bstr *name)
{
    char host[NI_MAXHOST];
    int r = getnameinfo(sa, salen, host, sizeof host, NULL, 0, NI_NAMEREQD);

    if (r != 0) {
        if (r == EAI_MEMORY) {
            errno = ENOMEM;
            return -1;
        }
        return 0;
    }
    if (bstr_copys(name, host) == -1)
        return -1;
    return conn_host_clean(name) ? 1 : 0;
}

/* Does name resolve back to ip?  (tcpserver -p) */
static bool
confirmed(const char *name, const struct ipaddr *ip)
{
    struct addrinfo hints, *res = NULL;
    bool ok = false;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(name, NULL, &hints, &res) != 0)
        return false;
    for (struct addrinfo *a = res; a && !ok; a = a->ai_next) {
        struct ipaddr x;

        if (ipaddr_from_sockaddr(&x, NULL, a->ai_addr, a->ai_addrlen) == 0)
            ok = ipaddr_equal(&x, ip);
    }
    freeaddrinfo(res);
    return ok;
}

/*
 * conn_setenv_rules - apply the "+VAR=value" records of a rule's cdb
 * value to the environment, in order.  Returns 0, or -1 with errno.
 */
int
conn_setenv_rules(const char *data, size_t len)
{
    struct bstr name = BSTR_INIT;
    struct rules_rec rec;
    size_t pos = 0;
    int r = 0;

    while (r == 0 && rules_rec_next(data, len, &pos, &rec)) {
        if (rec.type != '+' || rec.namelen == 0)
            continue;
        if (bstr_copyb(&name, rec.name, rec.namelen) == -1 ||
            setenv(name.s, rec.value, 1) == -1)
            r = -1;
    }
    bstr_free(&name);
    return r;
}

static int
get(void *ctx, const char *key, size_t klen, struct bstr *val)
{
    return cdbmap_get(ctx, key, klen, val);
}

static void
env(const struct conn_conf *cf, const char *name, const char *value)
{
    if (value ? setenv(name, value, 1) : unsetenv(name))
        drop(cf, "out of memory");
}

static void
envu(const struct conn_conf *cf, const char *name, unsigned long u)
{
    char buf[FMT_ULONG];

    buf[fmt_ull(buf, u)] = '\0';
    env(cf, name, buf);
}

static void
put_all(const struct conn_conf *cf, int fd, const char *s, size_t n)
{
    if (write_all(fd, s, n) == -1)
        drop(cf, "unable to print banner");
}

/*
 * conn_setup - make the accepted socket fd from peer the process's fds 0
 * and 1 and put what is known of the client in the environment, the
 * matching rule's variables last.  Returns true when the client may be
 * served, false when a rule denies it (with -B, the banner is written
 * first).  Exits 111 when it cannot find out enough to decide (in a
 * worker, tcpserver sees that as the session's end, as it would a
 * child's).
 */
bool
conn_setup(const struct conn_conf *cf, int fd, const struct sockaddr *peer,
           socklen_t peerlen)
{
    struct sockaddr_storage lss, rss;
    socklen_t llen = sizeof lss, rlen;
    struct ipaddr lip, rip;
    unsigned lport, rport;
    char lipt[IPADDR_FMT], ript[IPADDR_FMT];
    struct bstr lhost = BSTR_INIT, rhost = BSTR_INIT, rinfo = BSTR_INIT;
    const char *lh = cf->localhost, *rh = NULL, *ri = NULL;
    long me = (long)getpid();
    bool deny = false;

    if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
        drop(cf, "unable to set up the socket");
    if (fd > 1)
        close(fd);
    if (getsockname(0, (struct sockaddr *)&lss, &llen) == -1 ||
        ipaddr_from_sockaddr(&lip, &lport, (struct sockaddr *)&lss, llen) ==
            -1 ||
        ipaddr_from_sockaddr(&rip, &rport, peer, peerlen) == -1)
        drop(cf, "unable to get the socket addresses");
    /* IPv4 clients of an IPv6 socket are reported as IPv4 */
    ipaddr_unmap(&lip);
    ipaddr_unmap(&rip);
    ipaddr_fmt(lipt, &lip);
    ipaddr_fmt(ript, &rip);
    if (cf->verbosity >= CONN_VERBOSE)
        log_line("pid %ld from %s", me, ript);

    if (cf->killopts && lss.ss_family == AF_INET)
        (void)setsockopt(0, IPPROTO_IP, IP_OPTIONS, NULL, 0);
    if (cf->nodelay) {
        int one = 1;
        (void)setsockopt(0, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }

    if (!cf->localhost_fixed) {
        struct sockaddr_storage ss;
        socklen_t n = ipaddr_to_sockaddr(&lip, 0, &ss);
        int r = conn_name_of((struct sockaddr *)&ss, n, &lhost);
        if (r == -1)
            drop(cf, "out of memory");
        lh = r ? lhost.s : NULL;
    }
    if (cf->lookup_host) {
        struct sockaddr_storage ss;
        socklen_t n = ipaddr_to_sockaddr(&rip, 0, &ss);
        int r = conn_name_of((struct sockaddr *)&ss, n, &rhost);
        if (r == -1)
            drop(cf, "out of memory");
        if (r == 1 && (!cf->paranoid || confirmed(rhost.s, &rip)))
            rh = rhost.s;
    }
    if (cf->ident) {
        int r;

        rlen = peerlen <= sizeof rss ? peerlen : sizeof rss;
        memcpy(&rss, peer, rlen);
        r = ident_query((struct sockaddr *)&lss, llen,
                        (struct sockaddr *)&rss, rlen, cf->ident_timeout,
                        &rinfo);
        if (r == 1)
            ri = rinfo.s;
    }

    env(cf, "PROTO", "TCP");
    env(cf, "TCPLOCALIP", lipt);
    envu(cf, "TCPLOCALPORT", lport);
    env(cf, "TCPLOCALHOST", lh);
    env(cf, "TCPREMOTEIP", ript);
    envu(cf, "TCPREMOTEPORT", rport);
    env(cf, "TCPREMOTEHOST", rh);
    env(cf, "TCPREMOTEINFO", ri);

    if (cf->rules) {
        struct cdbmap map;

        if (cdbmap_open(&map, cf->rules) == -1) {
            if (errno != ENOENT || !cf->rules_optional)
                drop_rules(cf);
        } else {
            struct rules_client c = {rip, rh, ri};
            struct bstr key = BSTR_INIT, val = BSTR_INIT;
            int r = rules_lookup(&c, get, &map, &key, &val);

            if (r == -1)
                drop_rules(cf);
            cdbmap_close(&map);
            if (r == 1) {
                deny = rules_denies(val.s, val.len);
                if (!deny && conn_setenv_rules(val.s, val.len) == -1)
                    drop(cf, "out of memory");
            }
            bstr_free(&key);
            bstr_free(&val);
        }
    }

    if (cf->verbosity >= CONN_VERBOSE)
        log_line("%s %ld %s:%s:%u %s:%s:%s:%u", deny ? "deny" : "ok", me,
                 lh ? lh : "", lipt, lport, rh ? rh : "", ript, ri ? ri : "",
                 rport);
    bstr_free(&lhost);
    bstr_free(&rhost);
    bstr_free(&rinfo);
    if (deny)
        return false;
    if (cf->banner)
        put_all(cf, 1, cf->banner, strlen(cf->banner));
    return true;
}

/*
 * conn_run - serve one accepted socket fd from peer: never returns.
 * Exits 111 when it cannot find out enough to decide, 100 when a rule
 * denies the client; otherwise becomes the program.
 */
void
conn_run(const struct conn_conf *cf, int fd, const struct sockaddr *peer,
         socklen_t peerlen)
{
    if (!conn_setup(cf, fd, peer, peerlen))
        _exit(EXIT_PERM);
    execvp(cf->argv[0], cf->argv);
    if (cf->verbosity >= CONN_ERRORS)
        log_line("fatal: unable to run %s: %s", cf->argv[0], strerror(errno));
    _exit(EXIT_TEMP);
}
