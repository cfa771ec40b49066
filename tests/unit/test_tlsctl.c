/* SPDX-License-Identifier: ISC */
/*
 * test_tlsctl - the server context from control files, as qmail-smtpd
 * and qmail-popup make it: protocol names, a missing certificate named
 * in the error, a damaged ticket key file that costs resumption only
 * (one warning line), an unknown protocol that means TLSv1.2 (a warning),
 * the optional files picked up when present.  A self-signed certificate
 * is made at the start by the openssl command in a fresh directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tlsctl.h"

static char dir[512];
static bool have_cert;

static void
setup(void)
{
    char cmd[1400];

    if (have_cert)
        return;
    snprintf(dir, sizeof dir, "%s/control", harness_tmpdir());
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && cd '%s' && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -keyout k.pem -subj /CN=pop.example.test -days 2 "
             "-out c.pem >log 2>&1 && cat k.pem c.pem > servercert.pem",
             dir, dir);
    have_cert = system(cmd) == 0;
}

static void
test_minversion(void)
{
    CHECK_INT(tlsctl_minversion("TLSv1"), TLS_V1_0);
    CHECK_INT(tlsctl_minversion("TLSv1.0"), TLS_V1_0);
    CHECK_INT(tlsctl_minversion("TLSv1.1"), TLS_V1_1);
    CHECK_INT(tlsctl_minversion("TLSv1.2"), TLS_V1_2);
    CHECK_INT(tlsctl_minversion("TLSv1.3"), TLS_V1_3);
    CHECK_INT(tlsctl_minversion("tlsv1.3"), 0);
    CHECK_INT(tlsctl_minversion("SSLv3"), 0);
    CHECK_INT(tlsctl_minversion(""), 0);
    CHECK_INT(tlsctl_minversion(NULL), 0);
}

static void
test_missing_certificate(void)
{
    struct tlsctl_conf c = {harness_tmpdir(), NULL, NULL, NULL};
    struct bstr warn = BSTR_INIT, err = BSTR_INIT;
    struct tls_ctx *t = tlsctl_server(&c, &warn, &err);

    CHECK(t == NULL);
    CHECK(err.len && strstr(err.s, "servercert.pem") != NULL);
    CHECK_INT(warn.len, 0);
    bstr_free(&warn);
    bstr_free(&err);
}

static void
test_certificate_and_warnings(void)
{
    struct tlsctl_conf c = {dir, "HIGH:!aNULL", NULL, "TLSv1.2"};
    struct bstr warn = BSTR_INIT, err = BSTR_INIT, path = BSTR_INIT;
    struct tls_ctx *t;
    FILE *f;

    setup();
    if (!CHECK(have_cert))
        return;
    t = tlsctl_server(&c, &warn, &err);
    CHECK(t != NULL);
    CHECK_INT(warn.len, 0);
    tls_ctx_free(t);
    /* an unknown protocol: TLSv1.2, said once */
    c.minproto = "TLSv9";
    t = tlsctl_server(&c, &warn, &err);
    CHECK(t != NULL);
    CHECK_BSTR(warn, "control/tlsserverminprotocol: unknown TLSv9, using TLSv1.2\n");
    tls_ctx_free(t);
    /* a damaged ticket key file: a context all the same, one warning */
    bstr_truncate(&warn, 0);
    c.minproto = NULL;
    CHECK_INT(bstr_catf(&path, "%s/tlsticketkeys", dir), 0);
    f = fopen(path.s, "w");
    if (CHECK(f != NULL)) {
        fputs("1 nothex\n", f);
        fclose(f);
    }
    t = tlsctl_server(&c, &warn, &err);
    CHECK(t != NULL);
    CHECK(strncmp(warn.s ? warn.s : "", "control/tlsticketkeys: ", 23) == 0);
    CHECK(warn.len && strstr(warn.s, "; sessions are not resumed\n") != NULL);
    tls_ctx_free(t);
    remove(path.s);
    /* a cipher list OpenSSL does not know: no context, a reason */
    c.ciphers = "NO-SUCH-CIPHER";
    bstr_truncate(&err, 0);
    t = tlsctl_server(&c, &warn, &err);
    CHECK(t == NULL);
    CHECK(err.len > 0);
    bstr_free(&warn);
    bstr_free(&err);
    bstr_free(&path);
}

static const struct test_case cases[] = {
    {"minversion", test_minversion},
    {"missing_certificate", test_missing_certificate},
    {"certificate_and_warnings", test_certificate_and_warnings},
};

TEST_MAIN(cases)
