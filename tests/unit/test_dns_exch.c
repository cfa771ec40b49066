/* SPDX-License-Identifier: ISC */
/*
 * test_dns_exch - the TCP half of the exchange against its deadline,
 * with a stand-in server on 127.0.0.1 (a forked child that answers every
 * UDP query "truncated", so the lookup goes on over TCP): a TCP port
 * that is closed, a listener whose backlog is full (the connect never
 * finishes), one that takes the connection and never answers, and one
 * that answers a byte at a time.  Each must end in DNS_TEMP within the
 * timeout, with d->err saying which.  Nothing leaves the loopback.
 */
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datetime.h"
#include "deadline.h"
#include "dns.h"
#include "harness.h"

struct fake {
    int udp, tcp; /* tcp: -1 for a closed port */
    unsigned port;
    pid_t pid;
};

static bool
has(const struct bstr *b, const char *s)
{
    return b->s && strstr(b->s, s) != NULL;
}

/* bind UDP and (with listen_tcp) TCP to the same free port on 127.0.0.1 */
static bool
fake_open(struct fake *f, bool listen_tcp, int backlog)
{
    for (int tries = 0; tries < 20; tries++) {
        struct sockaddr_in sin = {.sin_family = AF_INET};
        socklen_t len = sizeof sin;

        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        f->tcp = -1;
        if (f->udp == -1 ||
            bind(f->udp, (struct sockaddr *)&sin, sizeof sin) == -1 ||
            getsockname(f->udp, (struct sockaddr *)&sin, &len) == -1)
            return false;
        f->port = ntohs(sin.sin_port);
        if (!listen_tcp)
            return true;
        f->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (f->tcp != -1 &&
            bind(f->tcp, (struct sockaddr *)&sin, sizeof sin) == 0 &&
            listen(f->tcp, backlog) == 0)
            return true;
        if (f->tcp != -1)
            close(f->tcp);
        close(f->udp); /* the TCP port was taken: another one */
    }
    return false;
}

/*
 * The child: every UDP query comes back as its own question with QR,
 * TC and NOERROR, for 5 s at most; with trickle, each TCP connection
 * gets a length prefix promising 100 bytes and then one byte every
 * 100 ms.
 */
static void
fake_serve(struct fake *f, bool trickle)
{
    long long end = deadline_in(5000);

    while (!deadline_passed(end)) {
        struct pollfd p[2] = {{f->udp, POLLIN, 0}, {f->tcp, POLLIN, 0}};
        unsigned char q[512];
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n;

        if (poll(p, trickle ? 2 : 1, 100) <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            n = recvfrom(f->udp, q, sizeof q, 0, (struct sockaddr *)&from,
                         &flen);
            if (n >= 12) {
                q[2] |= 0x80 | 0x02; /* a response, truncated */
                q[3] = 0;
                if (sendto(f->udp, q, (size_t)n, 0, (struct sockaddr *)&from,
                           flen) == -1)
                    _exit(1);
            }
        }
        if (trickle && (p[1].revents & POLLIN)) {
            int c = accept(f->tcp, NULL, NULL);

            if (c == -1)
                continue;
            if (write(c, "\0d", 2) != 2)
                _exit(1);
            for (int i = 0; i < 30 && !deadline_passed(end); i++) {
                if (write(c, "x", 1) != 1)
                    break;
                usleep(100000);
            }
            close(c);
        }
    }
    _exit(0);
}

static bool
fake_start(struct fake *f, bool listen_tcp, int backlog, bool trickle)
{
    if (!fake_open(f, listen_tcp, backlog))
        return false;
    f->pid = fork();
    if (f->pid == -1)
        return false;
    if (f->pid == 0)
        fake_serve(f, trickle);
    return true;
}

static void
fake_stop(struct fake *f)
{
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    close(f->udp);
    if (f->tcp != -1)
        close(f->tcp);
}

/* dns_mx of "example.test" against f alone, timeout ms, one round. */
static int
ask(struct dns *d, const struct fake *f, unsigned ms, long long *took)
{
    char line[64];
    struct dns_mxlist mx;
    long long t0;
    int r;

    snprintf(line, sizeof line, "127.0.0.1:%u\n", f->port);
    if (dns_init(d, NULL) == -1)
        return 99;
    d->nsrv = 0;
    if (dns_servers_parse(d, line, strlen(line), false) == -1)
        return 98;
    d->timeout_ms = ms;
    d->rounds = 1;
    t0 = datetime_mono_ms();
    r = dns_mx(d, "example.test", &mx);
    *took = datetime_mono_ms() - t0;
    if (r == DNS_OK)
        dns_mxlist_free(&mx);
    return r;
}

static void
t_tcp_refused(void)
{
    struct fake f;
    struct dns d;
    long long took;

    CHECK(fake_start(&f, false, 0, false));
    CHECK_INT(ask(&d, &f, 2000, &took), DNS_TEMP);
    CHECK(has(&d.err, "truncated UDP answer, and TCP failed"));
    CHECK(has(&d.err, "unable to connect over TCP"));
    CHECK(took < 1500);
    dns_free(&d);
    fake_stop(&f);
}

/* backlog 0 and nobody accepting: fill it, then the lookup's connect
 * hangs until the exchange's deadline */
static void
t_tcp_connect_times_out(void)
{
    struct fake f;
    struct dns d;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    int fill[8];
    size_t nfill = 0;
    long long took;

    CHECK(fake_start(&f, true, 0, false));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((unsigned short)f.port);
    for (; nfill < 8; nfill++) {
        fill[nfill] =
            socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (deadline_connect(fill[nfill], (struct sockaddr *)&sin, sizeof sin,
                             deadline_in(200)) == -1) {
            nfill++;
            break;
        }
    }
    CHECK_INT(ask(&d, &f, 400, &took), DNS_TEMP);
    CHECK(has(&d.err, "timed out connecting over TCP"));
    CHECK(took >= 350);
    CHECK(took < 2000);
    dns_free(&d);
    for (size_t i = 0; i < nfill; i++)
        close(fill[i]);
    fake_stop(&f);
}

/* connected, the query taken (by the kernel), and never an answer */
static void
t_tcp_silent(void)
{
    struct fake f;
    struct dns d;
    long long took;

    CHECK(fake_start(&f, true, 5, false));
    CHECK_INT(ask(&d, &f, 300, &took), DNS_TEMP);
    CHECK(has(&d.err, "no TCP answer within 300 ms"));
    CHECK(took >= 250);
    CHECK(took < 2000);
    dns_free(&d);
    fake_stop(&f);
}

/* a byte every 100 ms: one deadline for the whole answer, however
 * often a byte arrives */
static void
t_tcp_trickle(void)
{
    struct fake f;
    struct dns d;
    long long took;

    CHECK(fake_start(&f, true, 5, true));
    CHECK_INT(ask(&d, &f, 500, &took), DNS_TEMP);
    CHECK(has(&d.err, "no TCP answer within 500 ms"));
    CHECK(took >= 450);
    CHECK(took < 2500);
    dns_free(&d);
    fake_stop(&f);
}

static const struct test_case cases[] = {
    {"tcp_refused", t_tcp_refused},
    {"tcp_connect_times_out", t_tcp_connect_times_out},
    {"tcp_silent", t_tcp_silent},
    {"tcp_trickle", t_tcp_trickle},
};

TEST_MAIN(cases)
