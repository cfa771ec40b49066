/* SPDX-License-Identifier: ISC */
/* tlsctl - a server context from the control files (see tlsctl.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "tlsctl.h"

/* tlsctl_minversion - a protocol name as tls.h's version, 0 unknown. */
enum tls_version
tlsctl_minversion(const char *name)
{
    static const struct {
        const char *name;
        enum tls_version v;
    } names[] = {{"TLSv1", TLS_V1_0},   {"TLSv1.0", TLS_V1_0},
                 {"TLSv1.1", TLS_V1_1}, {"TLSv1.2", TLS_V1_2},
                 {"TLSv1.3", TLS_V1_3}};

    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0)
            return names[i].v;
    return 0;
}

/* path - DIR/NAME into out: 0 or -1 */
static int
path(struct bstr *out, const char *dir, const char *name)
{
    bstr_truncate(out, 0);
    return bstr_catf(out, "%s/%s", dir, name);
}

/* tlsctl_server - the context from the files: it, or NULL (tlsctl.h). */
struct tls_ctx *
tlsctl_server(const struct tlsctl_conf *c, struct bstr *warn, struct bstr *err)
{
    struct bstr cert = BSTR_INIT, cert2 = BSTR_INIT, dh = BSTR_INIT,
                keys = BSTR_INIT;
    struct tls_server_conf sc;
    struct tls_ctx *t = NULL;

    memset(&sc, 0, sizeof sc);
    if (path(&cert, c->dir, "servercert.pem") == -1 ||
        path(&cert2, c->dir, "servercert2.pem") == -1 ||
        path(&dh, c->dir, "dh2048.pem") == -1 ||
        path(&keys, c->dir, "tlsticketkeys") == -1) {
        (void)!bstr_copys(err, "out of memory");
        goto out;
    }
    sc.certfile[0] = cert.s;
    sc.certfile[1] = access(cert2.s, F_OK) == 0 ? cert2.s : NULL;
    sc.dhfile = access(dh.s, F_OK) == 0 ? dh.s : NULL;
    sc.ticketkeys = access(keys.s, F_OK) == 0 ? keys.s : NULL;
    sc.ciphers = c->ciphers && *c->ciphers ? c->ciphers : NULL;
    sc.ciphersuites = c->suites && *c->suites ? c->suites : NULL;
    sc.minver = tlsctl_minversion(c->minproto);
    if (c->minproto && *c->minproto && sc.minver == 0)
        (void)!bstr_catf(warn, "control/tlsserverminprotocol: unknown %s, "
                               "using TLSv1.2\n", c->minproto);
    t = tls_server_new(&sc, err);
    if (t == NULL && sc.ticketkeys) {
        /* a bad key file costs resumption, not TLS */
        (void)!bstr_catf(warn, "control/tlsticketkeys: %s; sessions are not "
                               "resumed\n", err->len ? err->s : strerror(errno));
        bstr_truncate(err, 0);
        sc.ticketkeys = NULL;
        t = tls_server_new(&sc, err);
    }
out:
    bstr_free(&cert);
    bstr_free(&cert2);
    bstr_free(&dh);
    bstr_free(&keys);
    return t;
}
