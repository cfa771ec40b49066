/* SPDX-License-Identifier: ISC */
/*
 * tcpserver - accept TCP connections and run a program for each one,
 * with ucspi-tcp's options, environment, rules and log lines.
 *
 *   tcpserver [-146pPhHrRoOdDqQvUX] [-c limit] [-C perip] [-x rules.cdb]
 *       [-B banner] [-g gid] [-u uid] [-b backlog] [-l localname]
 *       [-t timeout] [-W uses] host port program [arg...]
 *
 * The parent binds, drops privileges, then only accepts, counts and
 * forks: DNS, ident and the rules cdb are the child's business (conn.c),
 * so a slow client or resolver never stalls the listener.  SIGCHLD and
 * SIGTERM arrive through a signalfd polled beside the listening socket,
 * so there is no handler and no race between reaping and accepting.
 * At the -c limit it stops accepting: new clients wait in the listen
 * queue (as with ucspi-tcp) and are taken as children end, so the queue
 * is as long as the kernel allows unless -b says otherwise (see
 * default_backlog).  Exit codes: 100 usage, 111 cannot resolve, bind, listen or drop
 * privileges; 0 after SIGTERM (children keep running, as with ucspi).
 *
 * With -W (qmail-ng), a program that speaks the worker protocol
 * (worker.h) is started once per worker instead of once per connection
 * and gets the connections as passed sockets (pool.c); the child's steps
 * (conn.c) then run in the worker, the log lines stay the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "conntab.h"
#include "ctl.h"
#include "datetime.h"
#include "fmt.h"
#include "ipaddr.h"
#include "log.h"
#include "outcome.h"
#include "pool.h"
#include "priv.h"
#include "writeall.h"

#define ACCEPT_BATCH 64   /* accepts per poll wake-up before reaping again */
#define BACKOFF_MS 100    /* pause after EMFILE, ENOBUFS, fork failure */
#define BACKLOG_MIN 128   /* the least listen queue without -b */
#define BACKLOG_MAX 65535 /* the most listen(2) takes from -b */
#define SOMAXCONN_FILE "/proc/sys/net/core/somaxconn"
#define SOMAXCONN_UNKNOWN 4096 /* Linux's somaxconn since 5.4 */

struct server {
    struct conn_conf cf;
    unsigned long limit;   /* -c */
    unsigned long perip;   /* -C, 0: none */
    unsigned long backlog; /* -b, 0: default_backlog */
    unsigned long uses;    /* -W, 0: a child per connection */
    int family;            /* -4 / -6, 0: either */
    bool print_port;       /* -1 */
    bool set_uid, set_gid;
    uid_t uid;
    gid_t gid;
    const char *host, *port;
    int lfd, sfd;
    sigset_t origmask;
    struct conntab tab;
    struct pool pool;
    struct pollfd *pfd;    /* 2 + limit entries */
    long long backoff_until;
    long long last_warn;
};

static void __attribute__((noreturn))
usage(void)
{
    log_line("usage: tcpserver [ -146UXpPhHrRoOdDqQv ] [ -c limit ] "
             "[ -C perip ] [ -x rules.cdb ] [ -B banner ] [ -g gid ] "
             "[ -u uid ] [ -b backlog ] [ -l localname ] [ -t timeout ] "
             "[ -W uses ] host port program");
    exit(EXIT_PERM);
}

static unsigned long
number(const char *s, unsigned long min, unsigned long max)
{
    unsigned long u;
    size_t len = strlen(s);

    if (len == 0 || scan_ulong(s, len, &u) != len || u < min || u > max)
        usage();
    return u;
}

static void
options(struct server *sv, int argc, char **argv)
{
    const char *uidenv, *gidenv;
    int c;

    sv->cf.lookup_host = true;
    sv->cf.ident = true;
    sv->cf.ident_timeout = 26;
    sv->cf.killopts = true;
    sv->cf.verbosity = CONN_ERRORS;
    sv->limit = 40;
    sv->backlog = 0;
    opterr = 0;
    while ((c = getopt(argc, argv,
                       "+146pPhHrRoOdDqQvUXc:C:x:B:g:u:b:l:t:W:")) != -1) {
        switch (c) {
        case '1': sv->print_port = true; break;
        case '4': sv->family = AF_INET; break;
        case '6': sv->family = AF_INET6; break;
        case 'p': sv->cf.paranoid = true; break;
        case 'P': sv->cf.paranoid = false; break;
        case 'h': sv->cf.lookup_host = true; break;
        case 'H': sv->cf.lookup_host = false; break;
        case 'r': sv->cf.ident = true; break;
        case 'R': sv->cf.ident = false; break;
        case 'o': sv->cf.killopts = false; break;
        case 'O': sv->cf.killopts = true; break;
        case 'd': sv->cf.nodelay = false; break;
        case 'D': sv->cf.nodelay = true; break;
        case 'q': sv->cf.verbosity = CONN_QUIET; break;
        case 'Q': sv->cf.verbosity = CONN_ERRORS; break;
        case 'v': sv->cf.verbosity = CONN_VERBOSE; break;
        case 'X': sv->cf.rules_optional = true; break;
        case 'x': sv->cf.rules = optarg; break;
        case 'B': sv->cf.banner = optarg; break;
        case 'c': sv->limit = number(optarg, 1, CONNTAB_MAX); break;
        case 'C': sv->perip = number(optarg, 0, CONNTAB_MAX); break;
        case 'b': sv->backlog = number(optarg, 1, BACKLOG_MAX); break;
        case 'W': sv->uses = number(optarg, 0, ULONG_MAX); break;
        case 't': sv->cf.ident_timeout = (unsigned)number(optarg, 0, 3600);
            break;
        case 'l':
            sv->cf.localhost_fixed = true;
            sv->cf.localhost = optarg;
            break;
        case 'u':
            sv->uid = (uid_t)number(optarg, 0, (uid_t)-2);
            sv->set_uid = true;
            break;
        case 'g':
            sv->gid = (gid_t)number(optarg, 0, (gid_t)-2);
            sv->set_gid = true;
            break;
        case 'U':
            /* as envuidgid leaves them; unset means "no change" */
            uidenv = getenv("UID");
            gidenv = getenv("GID");
            if (uidenv) {
                sv->uid = (uid_t)number(uidenv, 0, (uid_t)-2);
                sv->set_uid = true;
            }
            if (gidenv) {
                sv->gid = (gid_t)number(gidenv, 0, (gid_t)-2);
                sv->set_gid = true;
            }
            break;
        default:
            usage();
        }
    }
    if (argc - optind < 3)
        usage();
    sv->host = argv[optind];
    sv->port = argv[optind + 1];
    sv->cf.argv = argv + optind + 2;
}

/* resolve - host and port to a socket address, or die 100/111. */
static socklen_t
resolve(struct server *sv, struct sockaddr_storage *ss)
{
    struct ipaddr ip;
    unsigned long port;
    size_t plen = strlen(sv->port);
    socklen_t len;

    if (plen && scan_ulong(sv->port, plen, &port) == plen) {
        if (port > 65535)
            log_die(EXIT_PERM, "port out of range: %s", sv->port);
    } else {
        struct servent *se = getservbyname(sv->port, "tcp");
        if (!se)
            log_die(EXIT_TEMP, "unable to figure out port number for %s",
                    sv->port);
        port = ntohs((unsigned short)se->s_port);
    }

    if (strcmp(sv->host, "0") == 0) {
        memset(&ip, 0, sizeof ip);
        ip.family = sv->family == AF_INET6 ? AF_INET6 : AF_INET;
    } else if (ipaddr_scan(sv->host, strlen(sv->host), &ip)) {
        if (sv->family && ip.family != sv->family)
            log_die(EXIT_PERM, "%s is not an IPv%c address", sv->host,
                    sv->family == AF_INET ? '4' : '6');
    } else {
        struct addrinfo hints, *res = NULL;
        int r;

        memset(&hints, 0, sizeof hints);
        hints.ai_family = sv->family ? sv->family : AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        r = getaddrinfo(sv->host, NULL, &hints, &res);
        if (r != 0 || !res)
            log_die(EXIT_TEMP, "unable to figure out IP address for %s: %s",
                    sv->host, gai_strerror(r));
        if (res->ai_addrlen > sizeof *ss)
            log_die(EXIT_TEMP, "address of %s is too long", sv->host);
        /* keeps a scope id ("fe80::1%eth0") that struct ipaddr cannot */
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        len = (socklen_t)res->ai_addrlen;
        freeaddrinfo(res);
        if (ss->ss_family == AF_INET)
            ((struct sockaddr_in *)ss)->sin_port = htons((unsigned short)port);
        else
            ((struct sockaddr_in6 *)ss)->sin6_port =
                htons((unsigned short)port);
        return len;
    }
    return ipaddr_to_sockaddr(&ip, (unsigned)port, ss);
}

/*
 * default_backlog - the listen queue without -b: the kernel's maximum
 * (net.core.somaxconn; 4096 when it cannot be read), and never less than
 * the -c limit or BACKLOG_MIN (the kernel cuts what is over its maximum).
 * ucspi-tcp's 20 is too short for today's bursts: while the accept queue
 * is full, a client whose handshake completes anyway (SYN cookies, on by
 * default in Linux) has its last ACK dropped and waits for a greeting
 * that never comes; a client that fits in the queue is only served late.
 */
static unsigned long
default_backlog(unsigned long limit)
{
    unsigned long max = SOMAXCONN_UNKNOWN, b;

    if (ctl_readulong(SOMAXCONN_FILE, &max) != 1 || max == 0)
        max = SOMAXCONN_UNKNOWN;
    b = max;
    if (b < limit)
        b = limit;
    if (b < BACKLOG_MIN)
        b = BACKLOG_MIN;
    return b < BACKLOG_MAX ? b : BACKLOG_MAX;
}

/* bind_listen - the listening socket, non-blocking; dies 111. */
static void
bind_listen(struct server *sv)
{
    struct sockaddr_storage ss;
    socklen_t len = resolve(sv, &ss);
    int one = 1, zero = 0;

    sv->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                     0);
    if (sv->lfd == -1)
        log_die_sys(EXIT_TEMP, "unable to create socket");
    if (setsockopt(sv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
        log_die_sys(EXIT_TEMP, "unable to set SO_REUSEADDR");
    /* "::" serves IPv4 clients too, as ::ffff:a.b.c.d */
    if (ss.ss_family == AF_INET6)
        (void)setsockopt(sv->lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
                         sizeof zero);
    if (bind(sv->lfd, (struct sockaddr *)&ss, len) == -1)
        log_die_sys(EXIT_TEMP, "unable to bind to %s port %s", sv->host,
                    sv->port);
    if (sv->backlog == 0)
        sv->backlog = default_backlog(sv->limit);
    if (listen(sv->lfd, (int)sv->backlog) == -1)
        log_die_sys(EXIT_TEMP, "unable to listen");
}

/* The bound address, for -1 and the one startup TCPLOCALHOST lookup. */
static void
local_address(struct server *sv, struct ipaddr *ip, unsigned *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(sv->lfd, (struct sockaddr *)&ss, &len) == -1 ||
        ipaddr_from_sockaddr(ip, port, (struct sockaddr *)&ss, len) == -1)
        log_die_sys(EXIT_TEMP, "unable to get local address");
    ipaddr_unmap(ip);
}

static bool
wildcard(const struct ipaddr *ip)
{
    static const unsigned char zero[16];

    return memcmp(ip->b, zero, ipaddr_bits(ip) / 8) == 0;
}

static void
status(const struct server *sv)
{
    if (sv->cf.verbosity >= CONN_VERBOSE)
        log_line("status: %zu/%lu", sv->tab.n, sv->limit);
}

/* Rate-limited warning for conditions that repeat on every accept. */
static void
warn_sys(struct server *sv, const char *what)
{
    long long now = datetime_mono_ms();

    if (sv->cf.verbosity >= CONN_ERRORS && now - sv->last_warn >= 1000) {
        sv->last_warn = now;
        log_line("warning: %s: %s", what, strerror(errno));
    }
}

static void
reap(struct server *sv)
{
    int st;
    pid_t pid;

    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        pool_forget(&sv->pool, pid);
        if (!conntab_remove(&sv->tab, pid, NULL))
            continue;
        if (sv->cf.verbosity >= CONN_VERBOSE)
            log_line("end %ld status %d", (long)pid, st);
        status(sv);
    }
}

/* A worker's session ended (or the worker went away: reap logs that). */
static void
worker_event(struct server *sv, int fd)
{
    pid_t pid;
    int code;

    if (pool_event(&sv->pool, fd, &pid, &code) != 1)
        return;
    if (!conntab_remove(&sv->tab, pid, NULL))
        return;
    /* the wait status an exit with that code gives, as for a child */
    if (sv->cf.verbosity >= CONN_VERBOSE)
        log_line("end %ld status %d", (long)pid, code << 8);
    status(sv);
}

static int serve(struct server *sv, int fd, const struct sockaddr_storage *ss,
                 socklen_t sslen);

/*
 * Connections handed to workers that died before taking them: counted
 * under the dead worker, never served.  They go to another worker.
 */
static void
orphans(struct server *sv)
{
    struct sockaddr_storage peer;
    socklen_t len;
    pid_t pid;
    int fd;

    while ((fd = pool_orphan(&sv->pool, &pid, &peer, &len)) != -1) {
        conntab_remove(&sv->tab, pid, NULL);
        if (serve(sv, fd, &peer, len) == -1)
            return; /* serve closed it: the client sees the connection end */
    }
}

static void
signals(struct server *sv)
{
    struct signalfd_siginfo si;
    bool child = false;
    ssize_t r;

    while ((r = read(sv->sfd, &si, sizeof si)) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM) {
            close(sv->lfd);
            exit(EXIT_OK);
        }
        if (si.ssi_signo == SIGCHLD)
            child = true;
    }
    /* signalfd merges SIGCHLDs: always reap everything that is ready */
    if (child || r == -1)
        reap(sv);
}

/* A child for the connection on fd (conn.c), as ucspi-tcp does it. */
static pid_t
fork_child(struct server *sv, int fd, const struct sockaddr_storage *ss,
           socklen_t sslen)
{
    pid_t pid = fork();

    if (pid == 0) {
        close(sv->lfd);
        close(sv->sfd);
        sigprocmask(SIG_SETMASK, &sv->origmask, NULL);
        conn_run(&sv->cf, fd, (const struct sockaddr *)ss, sslen);
    }
    return pid;
}

/*
 * One accepted connection: count it, refuse it, or give it to a worker
 * (-W) or a child.
 * Returns -1 when accepting should pause (fork failed), else 0.
 */
static int
serve(struct server *sv, int fd, const struct sockaddr_storage *ss,
      socklen_t sslen)
{
    struct ipaddr ip;
    unsigned char key[16];
    pid_t pid;

    if (ipaddr_from_sockaddr(&ip, NULL, (const struct sockaddr *)ss, sslen) ==
        -1) {
        close(fd);
        return 0;
    }
    ipaddr_unmap(&ip);
    ipaddr_key16(&ip, key);
    if (sv->perip && conntab_count(&sv->tab, key) >= sv->perip) {
        if (sv->cf.verbosity >= CONN_ERRORS) {
            char text[IPADDR_FMT];
            ipaddr_fmt(text, &ip);
            log_line("deny - %s per-IP limit %lu reached, connection closed",
                     text, sv->perip);
        }
        close(fd);
        return 0;
    }
    pid = pool_take(&sv->pool, fd, (const struct sockaddr *)ss, sslen);
    if (pid == 0)
        pid = fork_child(sv, fd, ss, sslen);
    if (pid == -1) {
        warn_sys(sv, sv->pool.uses && !sv->pool.off
                         ? "unable to start a worker" : "unable to fork");
        sv->backoff_until = datetime_mono_ms() + BACKOFF_MS;
        close(fd);
        return -1;
    }
    close(fd);
    if (conntab_add(&sv->tab, pid, key) == -1)
        log_die_sys(EXIT_TEMP, "internal error: child table");
    status(sv);
    return 0;
}

static void
accept_some(struct server *sv)
{
    for (int i = 0; i < ACCEPT_BATCH && sv->tab.n < sv->limit; i++) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        int fd = accept4(sv->lfd, (struct sockaddr *)&ss, &sslen,
                         SOCK_CLOEXEC);

        if (fd != -1) {
            if (serve(sv, fd, &ss, sslen) == -1)
                return;
            continue;
        }
        switch (errno) {
        case EAGAIN:
            return;
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case EPERM:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
        case ETIMEDOUT:
            continue; /* that client's trouble, not ours */
        default:
            /* EMFILE, ENFILE, ENOBUFS, ENOMEM: pause instead of spinning */
            warn_sys(sv, "unable to accept");
            sv->backoff_until = datetime_mono_ms() + BACKOFF_MS;
            return;
        }
    }
}

/* Make sure fds 0, 1 and 2 are open, so no socket lands on them. */
static void
std_fds(void)
{
    int fd;

    do {
        fd = open("/dev/null", O_RDWR);
    } while (fd >= 0 && fd <= 2);
    if (fd > 2)
        close(fd);
}

static void
print_port(unsigned port)
{
    char buf[FMT_ULONG + 1];
    size_t n = fmt_ull(buf, port);

    buf[n++] = '\n';
    if (write_all(1, buf, n) == -1)
        log_die_sys(EXIT_TEMP, "unable to print the port");
}

int
main(int argc, char **argv)
{
    static struct server sv;
    static struct bstr lhost;
    struct ipaddr lip;
    unsigned lport;
    sigset_t set;
    int null;

    log_init("tcpserver");
    std_fds();
    options(&sv, argc, argv);
    if (conntab_init(&sv.tab, sv.limit) == -1)
        log_die_sys(EXIT_TEMP, "unable to set up the child table");

    bind_listen(&sv);
    if ((sv.set_uid || sv.set_gid) &&
        priv_drop(sv.set_uid ? sv.uid : getuid(),
                  sv.set_gid ? sv.gid : getgid()) == -1)
        log_die_sys(EXIT_TEMP, "unable to drop privileges");
    local_address(&sv, &lip, &lport);
    if (sv.print_port)
        print_port(lport);
    /* the program's stdin and stdout are its socket, never ours */
    null = open("/dev/null", O_RDWR);
    if (null == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1)
        log_die_sys(EXIT_TEMP, "unable to open /dev/null");
    if (null > 2)
        close(null);

    /* bound to one address: its name never changes, look it up once */
    if (!sv.cf.localhost_fixed && !wildcard(&lip)) {
        struct sockaddr_storage ss;
        socklen_t n = ipaddr_to_sockaddr(&lip, 0, &ss);
        int r = conn_name_of((struct sockaddr *)&ss, n, &lhost);

        sv.cf.localhost_fixed = r != -1;
        sv.cf.localhost = r == 1 ? lhost.s : NULL;
    }

    /* children must be reapable even if our parent ignored SIGCHLD */
    signal(SIGCHLD, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, &sv.origmask) == -1)
        log_die_sys(EXIT_TEMP, "unable to block signals");
    sv.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sv.sfd == -1)
        log_die_sys(EXIT_TEMP, "unable to create signalfd");
    if (pool_init(&sv.pool, sv.uses, &sv.cf, &sv.origmask) == -1)
        log_die_sys(EXIT_TEMP, "unable to set up the workers");
    sv.pfd = calloc(2 + sv.limit, sizeof *sv.pfd);
    if (!sv.pfd)
        log_die_sys(EXIT_TEMP, "unable to set up the workers");
    status(&sv);

    for (;;) {
        struct pollfd *p = sv.pfd;
        long long wait = -1, now = datetime_mono_ms();
        nfds_t n = 2, k;
        bool listening = false;

        p[0] = (struct pollfd){sv.sfd, POLLIN, 0};
        p[1] = (struct pollfd){sv.lfd, 0, 0};
        if (sv.backoff_until > now)
            wait = sv.backoff_until - now;
        else if (sv.tab.n < sv.limit)
            listening = true; /* at the limit the backlog holds clients */
        if (listening)
            p[1].events = POLLIN;
        n += pool_pollfds(&sv.pool, p + 2);
        if (poll(p, n, (int)wait) == -1) {
            if (errno == EINTR)
                continue;
            log_die_sys(EXIT_TEMP, "unable to poll");
        }
        for (k = 2; k < n; k++)
            if (p[k].revents)
                worker_event(&sv, p[k].fd);
        if (p[0].revents)
            signals(&sv);
        orphans(&sv);
        pool_compact(&sv.pool);
        if (listening && p[1].revents)
            accept_some(&sv);
    }
}
