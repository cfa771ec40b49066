/* SPDX-License-Identifier: ISC */
/*
 * test_tls - src/lib/tls over a socketpair, the server in a forked
 * child; certificates made at the start by the openssl command in a
 * fresh temporary directory (a CA, a good, an expired, a self-signed
 * certificate, and a key that belongs to none).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tls.h"

static char dir[] = "/tmp/qng-tls-XXXXXX";
static bool made;

static const char script[] =
    "set -e; cd %s; exec >log 2>&1\n"
    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key\n"
    "openssl req -x509 -new -key ca.key -subj /CN=ca -days 30 "
    "-addext basicConstraints=critical,CA:TRUE -out ca.pem\n"
    "mkdir db; : >db/index; echo 1000 >db/serial\n"
    "printf '[ca]\\ndefault_ca=t\\n[t]\\ndatabase=db/index\\nnew_certs_dir=db\\n"
    "serial=db/serial\\nunique_subject=no\\ndefault_md=sha256\\npolicy=p\\ncopy_extensions=copy\\n"
    "[p]\\ncommonName=supplied\\n' >ca.cnf\n"
    "for n in good old; do\n"
    "  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $n.key\n"
    "  openssl req -new -key $n.key -subj /CN=mx.example.test "
    "-addext subjectAltName=DNS:mx.example.test -out $n.csr\n"
    "done\n"
    "openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in good.csr "
    "-out good.crt -days 30\n"
    "openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in old.csr "
    "-out old.crt -startdate 20200101000000Z -enddate 20200102000000Z\n"
    "cat good.key good.crt ca.pem >good.pem; cat old.key old.crt ca.pem >old.pem\n"
    "openssl req -x509 -new -key good.key -subj /CN=mx.example.test "
    "-addext subjectAltName=DNS:mx.example.test -days 30 -out self.crt\n"
    "cat good.key self.crt >self.pem\n"
    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.key\n"
    "cat other.key good.crt >mismatch.pem\n";

static const char *
path(const char *name)
{
    static char buf[4][128];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

static bool
setup(void)
{
    char cmd[4096];

    if (made)
        return true;
    /* as every program that uses tls: a peer gone is an error, not a
     * signal (the client's alert after a failed handshake meets a closed
     * socket) */
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir))
        return false;
    snprintf(cmd, sizeof cmd, script, dir);
    made = system(cmd) == 0;
    if (!made)
        printf("    openssl failed; see %s/log\n", dir);
    return made;
}

/* the server: handshake, then echo what it reads until end of file; with
 * mode 1 it says nothing at all (for the timeout), 2 sends garbage */
static pid_t
server(int fd, int other, const char *cert, int mode)
{
    pid_t pid = fork();

    if (pid != 0)
        return pid;
    close(other); /* the client's end: its close must reach us */
    if (mode == 2) {
        const char junk[] = "220 this is not TLS\r\n";
        char hello[4096];

        /* as a plain-text server would: take the ClientHello, answer
         * text, and stay until the client hangs up (exiting first would
         * let the client's write meet a closed socket: EPIPE, not the
         * protocol error this case is about) */
        if (read(fd, hello, sizeof hello) <= 0)
            _exit(0);
        for (int i = 0; i < 50; i++)
            if (write(fd, junk, sizeof junk - 1) < 0)
                break;
        while (read(fd, hello, sizeof hello) > 0) {
        }
        _exit(0);
    }
    if (mode == 1) {
        sleep(3);
        _exit(0);
    }
    {
        struct tls_server_conf c = {{cert, NULL}, NULL, NULL, NULL, 0, 0, NULL};
        struct tls_ctx *t = tls_server_new(&c, NULL);
        struct tls_conn *k = t ? tls_conn_new(t, fd, fd, NULL) : NULL;
        char buf[16384];
        ssize_t n;

        if (!k || tls_handshake(k, 5000, 0, NULL) == -1)
            _exit(1);
        while ((n = tls_read(k, fd, buf, sizeof buf, 5000)) > 0)
            if (tls_write(k, fd, buf, (size_t)n, 5000) != n)
                _exit(1);
        tls_shutdown(k, 1000);
        _exit(n == 0 ? 0 : 1);
    }
}

static struct tls_conn *
client(struct tls_ctx **t, int *sv, const char *cert, int mode)
{
    struct tls_client_conf cc = {NULL, NULL, NULL, NULL, 0, 0};
    struct tls_conn *k;

    cc.cafile = path("ca.pem");
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        return NULL;
    if (server(sv[1], sv[0], cert, mode) == -1)
        return NULL;
    close(sv[1]);
    *t = tls_client_new(&cc, NULL);
    k = *t ? tls_conn_new(*t, sv[0], sv[0], "mx.example.test") : NULL;
    return k;
}

static void
finish(struct tls_ctx *t, struct tls_conn *k, int fd)
{
    int st;

    tls_conn_free(k);
    tls_ctx_free(t);
    close(fd);
    while (wait(&st) > 0)
        ;
}

static void
t_handshake_data_verify(void)
{
    struct tls_ctx *t;
    int sv[2];
    struct tls_conn *k;
    struct bstr err = BSTR_INIT;
    static char big[100000], back[100000];
    size_t got = 0;

    if (!CHECK(setup()))
        return;
    k = client(&t, sv, path("good.pem"), 0);
    if (!CHECK(k != NULL))
        return;
    CHECK(tls_handshake(k, 5000, 0, &err) == 0);
    CHECK_STR(tls_protocol(k), "TLSv1.3");
    CHECK(tls_cipher_bits(k) >= 128);
    CHECK_INT(tls_verify(k, "mx.example.test", &err), 1);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    for (size_t off = 0; off < sizeof big;) {
        ssize_t n = tls_write(k, 0, big + off, sizeof big - off, 5000);

        if (!CHECK(n > 0))
            break;
        off += (size_t)n;
        while (got < off) {
            ssize_t r = tls_read(k, 0, back + got, sizeof back - got, 5000);

            if (!CHECK(r > 0))
                break;
            got += (size_t)r;
        }
    }
    CHECK(got == sizeof big && memcmp(big, back, sizeof big) == 0);
    /* our end of file: the server's close_notify reads as 0 */
    shutdown(sv[0], SHUT_WR);
    CHECK_INT(tls_read(k, 0, back, 10, 5000), 0);
    finish(t, k, sv[0]);
    bstr_free(&err);
}

static void
t_verify_failures(void)
{
    static const struct {
        const char *cert, *host, *want;
    } cases[] = {
        {"good.pem", "other.example.test", "certificate does not match"},
        {"old.pem", "mx.example.test", "certificate has expired"},
        {"self.pem", "mx.example.test", "self-signed certificate"},
    };

    if (!CHECK(setup()))
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tls_ctx *t;
        struct tls_client_conf cc = {NULL, NULL, NULL, NULL, 0, 0};
        int sv[2];
        struct tls_conn *k;
        struct bstr err = BSTR_INIT;

        cc.cafile = path("ca.pem");
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        server(sv[1], sv[0], path(cases[i].cert), 0);
        close(sv[1]);
        t = tls_client_new(&cc, NULL);
        k = tls_conn_new(t, sv[0], sv[0], cases[i].host);
        CHECK(tls_handshake(k, 5000, 0, NULL) == 0); /* opportunistic */
        if (!CHECK_INT(tls_verify(k, cases[i].host, &err), 0) ||
            !CHECK(err.s && strstr(err.s, cases[i].want)))
            printf("    %s: %s\n", cases[i].cert, err.s ? err.s : "");
        bstr_free(&err);
        finish(t, k, sv[0]);
    }
}

static void
t_failures(void)
{
    struct tls_ctx *t;
    int sv[2];
    struct tls_conn *k;
    struct bstr err = BSTR_INIT;
    char buf[10];
    struct tls_server_conf c = {{NULL, NULL}, NULL, NULL, NULL, 0, 0, NULL};

    if (!CHECK(setup()))
        return;
    /* a server that never answers: the handshake times out */
    k = client(&t, sv, path("good.pem"), 1);
    CHECK(tls_handshake(k, 200, 0, &err) == -1 && errno == ETIMEDOUT);
    finish(t, k, sv[0]);
    /* plain text where a ServerHello belongs: EPROTO with words */
    bstr_truncate(&err, 0);
    k = client(&t, sv, path("good.pem"), 2);
    CHECK(tls_handshake(k, 5000, 0, &err) == -1 && errno == EPROTO);
    CHECK(err.len > 0 && strstr(err.s, "handshake"));
    for (size_t i = 0; i < err.len; i++)
        CHECK(err.s[i] >= 32 && err.s[i] < 127);
    CHECK(tls_read(k, 0, buf, sizeof buf, 100) <= 0); /* no data after it */
    finish(t, k, sv[0]);
    /* files */
    bstr_truncate(&err, 0);
    c.certfile[0] = path("missing.pem");
    CHECK(tls_server_new(&c, &err) == NULL);
    CHECK(err.s && strstr(err.s, "missing.pem") &&
          strstr(err.s, "No such file"));
    bstr_truncate(&err, 0);
    c.certfile[0] = path("mismatch.pem");
    CHECK(tls_server_new(&c, &err) == NULL);
    CHECK(err.s && strstr(err.s, "mismatch.pem"));
    bstr_truncate(&err, 0);
    c.certfile[0] = path("good.pem");
    c.ciphers = "NO-SUCH-CIPHER";
    CHECK(tls_server_new(&c, &err) == NULL);
    CHECK(err.s && strstr(err.s, "cipher"));
    bstr_free(&err);
}

static void
t_ticketkeys(void)
{
    struct bstr err = BSTR_INIT;
    const char *f = path("keys");
    FILE *fp;
    char line[400];
    int n = 0;
    struct stat st;

    if (!CHECK(setup()))
        return;
    CHECK(tls_ticketkeys_rotate(f, 86400, &err) == 0);
    CHECK(tls_ticketkeys_rotate(f, 86400, &err) == 0);
    CHECK(stat(f, &st) == 0 && (st.st_mode & 0777) == 0640);
    fp = fopen(f, "r");
    while (fp && fgets(line, sizeof line, fp))
        n++, CHECK(strlen(line) == strlen(strchr(line, ' ')) +
                                       (size_t)(strchr(line, ' ') - line) &&
                   strlen(strchr(line, ' ')) == 162);
    if (fp)
        fclose(fp);
    CHECK_INT(n, 2);
    /* keep 0: only the new one stays */
    CHECK(tls_ticketkeys_rotate(f, -1, &err) == 0);
    fp = fopen(f, "r");
    n = 0;
    while (fp && fgets(line, sizeof line, fp))
        n++;
    if (fp)
        fclose(fp);
    CHECK_INT(n, 1);
    /* a damaged file is refused and left alone */
    fp = fopen(f, "a");
    fputs("123 nothex\n", fp);
    fclose(fp);
    CHECK(tls_ticketkeys_rotate(f, 86400, &err) == -1 && errno == EINVAL);
    CHECK(err.s && strstr(err.s, ":2: not a ticket key line"));
    {
        struct tls_server_conf c = {{path("good.pem"), NULL}, NULL, NULL,
                                    NULL, 0, 0, f};

        bstr_truncate(&err, 0);
        CHECK(tls_server_new(&c, &err) == NULL);
    }
    bstr_free(&err);
}

static void
t_hmac_md5(void)
{
    /* RFC 2104 / RFC 2202 test cases 1 and 2 */
    unsigned char key[16], out[16];
    static const unsigned char want1[16] = {
        0x92, 0x94, 0x72, 0x7a, 0x36, 0x38, 0xbb, 0x1c,
        0x13, 0xf4, 0x8e, 0xf8, 0x15, 0x8b, 0xfc, 0x9d};
    static const unsigned char want2[16] = {
        0x75, 0x0c, 0x78, 0x3e, 0x6a, 0xb0, 0xb5, 0x03,
        0xea, 0xa8, 0x6e, 0x31, 0x0a, 0x5d, 0xb7, 0x38};

    memset(key, 0x0b, sizeof key);
    CHECK(tls_hmac_md5(key, 16, "Hi There", 8, out) == 0);
    CHECK(memcmp(out, want1, 16) == 0);
    CHECK(tls_hmac_md5("Jefe", 4, "what do ya want for nothing?", 28, out) ==
          0);
    CHECK(memcmp(out, want2, 16) == 0);
    CHECK(tls_random(key, sizeof key) == 0);
}

static void
t_cleanup(void)
{
    char cmd[200];

    if (made) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    }
}

static const struct test_case tests[] = {
    {"handshake, 100 KB both ways, close_notify, verify", t_handshake_data_verify},
    {"verify: wrong name, expired, self-signed", t_verify_failures},
    {"timeout, garbage, bad files: errors as text", t_failures},
    {"ticket keys: rotate, drop, refuse a damaged file", t_ticketkeys},
    {"HMAC-MD5 (RFC 2202) and random bytes", t_hmac_md5},
    {"cleanup", t_cleanup},
};

TEST_MAIN(tests)
