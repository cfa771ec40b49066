/* SPDX-License-Identifier: ISC */
/*
 * auth - the AUTH exchange (see auth.h).
 *
 * smtpd_auth_start takes what follows "AUTH ": the mechanism, then an
 * optional initial response ("=" is an empty one, RFC 4954 4).  Each
 * call returns OC_AUTH_MORE with the base64 text of the next 334 in
 * prompt, OC_OK once user and password are whole, or the reason the
 * exchange ends: OC_AUTH_MECH, OC_AUTH_INPUT (bad base64, a NUL where
 * the checkpassword interface cannot carry one, a PLAIN login for
 * somebody else), OC_AUTH_CANCEL ("*"), OC_AUTH_LONG.
 *
 * SCRAM-SHA-256 (only when a->scram) runs in steps: 0 waits for the
 * client-first, 1 for the program's server-first, 2 for the
 * client-final, 3 for the program's server-final, 4 for the client's
 * empty line; 5 is done.  The client's messages are checked against RFC
 * 5802's grammar here (a malformed one is 501 without bothering the
 * program; channel binding, which we do not offer, 504), the program's
 * against the same grammar and the client's nonce; the program checks
 * everything again.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "base64.h"
#include "scram.h"

static const struct {
    const char *name;
    enum smtpd_auth_mech mech;
} mechs[] = {
    {"LOGIN", AUTH_MECH_LOGIN},
    {"CRAM-MD5", AUTH_MECH_CRAM},
    {"PLAIN", AUTH_MECH_PLAIN},
    {SCRAM_MECH, AUTH_MECH_SCRAM},
};

const char *
smtpd_auth_name(enum smtpd_auth_mech m)
{
    for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
        if (mechs[i].mech == m)
            return mechs[i].name;
    return "none";
}

/* smtpd_auth_reset - forget the exchange, the secrets wiped first. */
void
smtpd_auth_reset(struct smtpd_auth *a)
{
    if (a->pass.s)
        explicit_bzero(a->pass.s, a->pass.cap);
    if (a->tmp.s)
        explicit_bzero(a->tmp.s, a->tmp.cap);
    bstr_truncate(&a->user, 0);
    bstr_truncate(&a->pass, 0);
    bstr_truncate(&a->chal, 0);
    bstr_truncate(&a->tmp, 0);
    a->mech = AUTH_MECH_NONE;
    a->step = 0;
}

void
smtpd_auth_free(struct smtpd_auth *a)
{
    smtpd_auth_reset(a);
    bstr_free(&a->user);
    bstr_free(&a->pass);
    bstr_free(&a->chal);
    bstr_free(&a->tmp);
}

/* decode - one client line of base64 into a->tmp (may hold NULs) */
static enum reason
decode(struct smtpd_auth *a, const char *line, size_t len)
{
    if (len > SMTPD_AUTH_LINE_MAX)
        return OC_AUTH_LONG;
    if (len == 1 && line[0] == '*')
        return OC_AUTH_CANCEL;
    bstr_truncate(&a->tmp, 0);
    if (base64_decode(&a->tmp, line, len) == -1)
        return errno == ENOMEM ? OC_NOMEM : OC_AUTH_INPUT;
    return OC_OK;
}

static enum reason
set_nulfree(struct bstr *to, const struct bstr *from)
{
    if (from->len && memchr(from->s, '\0', from->len))
        return OC_AUTH_INPUT;
    if (bstr_copyb(to, from->s ? from->s : "", from->len) == -1)
        return OC_NOMEM;
    return OC_OK;
}

/* PLAIN: [authzid] NUL authcid NUL passwd (RFC 4616 2). */
static enum reason
plain(struct smtpd_auth *a)
{
    const char *p = a->tmp.s ? a->tmp.s : "";
    size_t n = a->tmp.len;
    const char *n1 = memchr(p, '\0', n), *n2;
    size_t zlen, clen;

    if (n1 == NULL)
        return OC_AUTH_INPUT;
    n2 = memchr(n1 + 1, '\0', n - (size_t)(n1 + 1 - p));
    if (n2 == NULL || memchr(n2 + 1, '\0', n - (size_t)(n2 + 1 - p)))
        return OC_AUTH_INPUT;
    zlen = (size_t)(n1 - p);
    clen = (size_t)(n2 - n1 - 1);
    /* acting for another user is not offered: authzid empty or the same */
    if (clen == 0 || (zlen && (zlen != clen || memcmp(p, n1 + 1, clen))))
        return OC_AUTH_INPUT;
    if (bstr_copyb(&a->user, n1 + 1, clen) == -1 ||
        bstr_copyb(&a->pass, n2 + 1, n - (size_t)(n2 + 1 - p)) == -1)
        return OC_NOMEM;
    return OC_OK;
}

static bool
is_hex32(const char *p, size_t n)
{
    if (n != 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    return true;
}

/* CRAM-MD5: "user SP digest", the digest 32 lowercase hex (RFC 2195). */
static enum reason
cram(struct smtpd_auth *a)
{
    const char *p = a->tmp.s ? a->tmp.s : "";
    size_t n = a->tmp.len;
    const char *sp;

    if (n == 0 || memchr(p, '\0', n))
        return OC_AUTH_INPUT;
    sp = memrchr(p, ' ', n);
    if (sp == NULL || sp == p ||
        !is_hex32(sp + 1, n - (size_t)(sp + 1 - p)))
        return OC_AUTH_INPUT;
    if (bstr_copyb(&a->user, p, (size_t)(sp - p)) == -1 ||
        bstr_copyb(&a->pass, sp + 1, 32) == -1)
        return OC_NOMEM;
    return OC_OK;
}

static enum reason
prompt_b64(struct bstr *prompt, const char *text, size_t n)
{
    bstr_truncate(prompt, 0);
    return base64_encode(prompt, text, n) == -1 ? OC_NOMEM : OC_AUTH_MORE;
}

/* extends - does nonce n (len) start with the client's nonce and go on? */
static bool
extends(const struct smtpd_auth *a, const char *n, size_t len)
{
    return len > a->chal.len && memcmp(n, a->chal.s, a->chal.len) == 0;
}

/* scram_first - the client-first-message (step 0). */
static enum reason
scram_first(struct smtpd_auth *a, const char *p, size_t n)
{
    struct scram_first f = {false, BSTR_INIT, BSTR_INIT, BSTR_INIT, BSTR_INIT};
    enum reason r = OC_OK;

    if (scram_parse_first(p, n, &f) == -1)
        r = errno == ENOMEM                         ? OC_NOMEM
            : errno == ENOTSUP && n && p[0] == 'p' ? OC_AUTH_MECH
                                                   : OC_AUTH_INPUT;
    else if (bstr_copy(&a->user, &f.user) == -1 ||
             bstr_copy(&a->chal, &f.nonce) == -1 ||
             bstr_copyb(&a->pass, p, n) == -1)
        r = OC_NOMEM;
    else
        a->step = 1;
    scram_first_free(&f);
    return r;
}

/* scram_final - the client-final-message (step 2). */
static enum reason
scram_final(struct smtpd_auth *a, const char *p, size_t n)
{
    struct scram_final f = {BSTR_INIT, BSTR_INIT, BSTR_INIT, 0};
    enum reason r = OC_OK;

    if (scram_parse_final(p, n, &f) == -1)
        r = errno == ENOMEM ? OC_NOMEM : OC_AUTH_INPUT;
    else if (!extends(a, f.nonce.s, f.nonce.len))
        r = OC_AUTH_INPUT;
    else if (bstr_copyb(&a->pass, p, n) == -1)
        r = OC_NOMEM;
    else
        a->step = 3;
    scram_final_free(&f);
    return r;
}

static enum reason
scram(struct smtpd_auth *a)
{
    const char *p = a->tmp.s ? a->tmp.s : "";

    switch (a->step) {
    case 0:
        return scram_first(a, p, a->tmp.len);
    case 2:
        return scram_final(a, p, a->tmp.len);
    case 4:
        /* the answer to the server-final is empty (RFC 4422 5) */
        if (a->tmp.len)
            return OC_AUTH_INPUT;
        a->step = 5;
        return OC_OK;
    default:
        return OC_AUTH_INPUT;
    }
}

/* smtpd_auth_helper - does the exchange wait for the checkpassword
 * program's next message (SCRAM's server-first or server-final)? */
bool
smtpd_auth_helper(const struct smtpd_auth *a)
{
    return a->mech == AUTH_MECH_SCRAM && (a->step == 1 || a->step == 3);
}

/*
 * smtpd_auth_reply - the checkpassword program's message msg (its NUL
 * removed).  Returns OC_AUTH_MORE with the next 334's text in prompt,
 * OC_AUTH_FAILED when the program said "e=..." (it refuses), OC_AUTH_TEMP
 * when the message is not SCRAM's next one (a broken program), OC_NOMEM.
 */
enum reason
smtpd_auth_reply(struct smtpd_auth *a, const char *msg, size_t len,
                 struct bstr *prompt)
{
    struct bstr x = BSTR_INIT, y = BSTR_INIT;
    unsigned long iter;
    bool ok;

    if (!smtpd_auth_helper(a))
        return OC_AUTH_TEMP;
    if (len >= 2 && msg[0] == 'e' && msg[1] == '=')
        return OC_AUTH_FAILED;
    errno = 0;
    if (a->step == 1)
        ok = scram_parse_server_first(msg, len, &x, &y, &iter) == 0 &&
             extends(a, x.s, x.len);
    else
        ok = scram_parse_server_final(msg, len, &x, &y) == 0 && x.len;
    bstr_free(&x);
    bstr_free(&y);
    if (!ok)
        return errno == ENOMEM ? OC_NOMEM : OC_AUTH_TEMP;
    a->step++;
    return prompt_b64(prompt, msg, len);
}

/*
 * smtpd_auth_step - the client's next line (CRLF removed).
 */
enum reason
smtpd_auth_step(struct smtpd_auth *a, const char *line, size_t len,
                struct bstr *prompt)
{
    enum reason r = decode(a, line, len);

    if (r != OC_OK)
        return r;
    switch (a->mech) {
    case AUTH_MECH_PLAIN:
        return plain(a);
    case AUTH_MECH_CRAM:
        return cram(a);
    case AUTH_MECH_SCRAM:
        return scram(a);
    case AUTH_MECH_LOGIN:
        if (a->step == 0) {
            r = set_nulfree(&a->user, &a->tmp);
            if (r != OC_OK)
                return r;
            if (a->user.len == 0)
                return OC_AUTH_INPUT;
            a->step = 1;
            return prompt_b64(prompt, "Password:", 9);
        }
        return set_nulfree(&a->pass, &a->tmp);
    default:
        return OC_AUTH_INPUT;
    }
}

/*
 * smtpd_auth_start - "AUTH mech [initial-response]".  rnd and now make
 * CRAM-MD5's challenge unique: <rnd.now@host>.
 */
enum reason
smtpd_auth_start(struct smtpd_auth *a, const char *arg, size_t len,
                 const char *host, unsigned long rnd, time_t now,
                 struct bstr *prompt)
{
    size_t m = 0, i;
    const char *init = NULL;
    size_t initlen = 0;

    smtpd_auth_reset(a);
    while (m < len && arg[m] != ' ')
        m++;
    for (i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
        if (strlen(mechs[i].name) == m &&
            strncasecmp(arg, mechs[i].name, m) == 0)
            break;
    if (m == 0)
        return OC_AUTH_INPUT; /* no mechanism: RFC 4954's 501 */
    if (i == sizeof mechs / sizeof mechs[0] ||
        (mechs[i].mech == AUTH_MECH_SCRAM && !a->scram))
        return OC_AUTH_MECH;
    a->mech = mechs[i].mech;
    if (m < len) {
        init = arg + m + 1;
        initlen = len - m - 1;
        if (initlen == 0 || memchr(init, ' ', initlen))
            return OC_AUTH_INPUT;
        if (initlen == 1 && init[0] == '=')
            initlen = 0; /* an empty initial response */
    }
    switch (a->mech) {
    case AUTH_MECH_PLAIN:
        if (init == NULL)
            return prompt_b64(prompt, "", 0);
        return smtpd_auth_step(a, init, initlen, prompt);
    case AUTH_MECH_LOGIN:
        if (init == NULL)
            return prompt_b64(prompt, "Username:", 9);
        return smtpd_auth_step(a, init, initlen, prompt);
    case AUTH_MECH_SCRAM:
        if (init == NULL)
            return prompt_b64(prompt, "", 0);
        return smtpd_auth_step(a, init, initlen, prompt);
    case AUTH_MECH_CRAM:
        if (init)
            return OC_AUTH_INPUT; /* RFC 2195: the server speaks first */
        bstr_truncate(&a->chal, 0);
        if (bstr_catf(&a->chal, "<%lu.%lld@%s>", rnd, (long long)now,
                      host && *host ? host : "localhost") == -1)
            return OC_NOMEM;
        return prompt_b64(prompt, a->chal.s, a->chal.len);
    default:
        return OC_AUTH_MECH;
    }
}

/*
 * smtpd_auth_data - the checkpassword interface's fd 3 bytes:
 * "user\0password\0", for CRAM-MD5 "user\0challenge\0digest\0"; for
 * SCRAM the client's message the program is due (checkpw_send ends it).
 * Returns 0 or -1 (no memory).
 */
int
smtpd_auth_data(const struct smtpd_auth *a, struct bstr *out)
{
    bstr_truncate(out, 0);
    if (a->mech == AUTH_MECH_SCRAM)
        return bstr_catb(out, a->pass.s ? a->pass.s : "", a->pass.len);
    if (bstr_catb(out, a->user.s ? a->user.s : "", a->user.len) == -1 ||
        bstr_catc(out, '\0') == -1)
        return -1;
    if (a->mech == AUTH_MECH_CRAM &&
        (bstr_catb(out, a->chal.s, a->chal.len) == -1 ||
         bstr_catc(out, '\0') == -1))
        return -1;
    if (bstr_catb(out, a->pass.s ? a->pass.s : "", a->pass.len) == -1 ||
        bstr_catc(out, '\0') == -1)
        return -1;
    return 0;
}
