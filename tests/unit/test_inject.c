/* SPDX-License-Identifier: ISC */
/*
 * test_inject - qmail-inject's header rewriting (src/inject): whole
 * messages through the CRLF filter, the header parser and the field
 * rules, split at every chunk boundary; the fields added (Date in the
 * local zone, Message-ID, From, Cc, Resent-*, Mail-Followup-To); the
 * envelope (Return-Path, -f, QMAILSUSER/QMAILSHOST, VERP, -a -A -h -H,
 * duplicates); defaulthost/defaultdomain/plusdomain; settings from
 * control files and the environment; names and subjects in RFC 2047;
 * sendmail's command line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "header.h"
#include "inject.h"

/* ---- a fake environment ------------------------------------------------ */

static const char *fakeenv; /* "NAME=value;NAME=value" */

static const char *
fake_getenv(const char *name)
{
    static char pool[16][256];
    static size_t next;
    size_t n = strlen(name);

    for (const char *p = fakeenv; p && *p;) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            char *val = pool[next++ % 16];

            snprintf(val, 256, "%.*s", (int)(len - n - 1), p + n + 1);
            return val;
        }
        p += len + (end != NULL);
    }
    return NULL;
}

/* base_conf - the settings every message case starts from. */
static void
base_conf(struct inject_conf *cf, const char *env)
{
    const char *why;

    inject_conf_init(cf);
    fakeenv = env;
    if (!CHECK_INT(inject_conf_env(cf, fake_getenv, &why), 0))
        return;
    CHECK(bstr_copys(&cf->defaulthost, "host") == 0);
    CHECK(bstr_copys(&cf->defaultdomain, "dom.example") == 0);
    CHECK(bstr_copys(&cf->plusdomain, "plus.example") == 0);
    CHECK(bstr_copys(&cf->idhost, "id.example") == 0);
}

/* ---- rewriting --------------------------------------------------------- */

struct rwcase {
    const char *defaulthost;
    const char *local, *domain;
    bool null;
    const char *want;
};

static const struct rwcase rwcases[] = {
    {"host", "joe", "", false, "joe@host.dom.example"},
    {"host", "joe", "box", false, "joe@box.dom.example"},
    {"host", "joe", "a.b", false, "joe@a.b"},
    {"host", "eric", "mammoth.cs+", false, "eric@mammoth.cs.plus.example"},
    {"host", "joe", "box+", false, "joe@box.plus.example"},
    {"host", "joe", "+", false, "joe@plus.example"},
    {"host", "joe+", "", false, "joe+@host.dom.example"},
    {"host", "joe", "[1.2.3.4]", false, "joe@[1.2.3.4]"},
    {"host", "joe", "[]", false, "joe@[]"},
    {"host", "", "", true, ""},
    {"host+", "joe", "", false, "joe@host.plus.example"},
    {"mail.example", "joe", "", false, "joe@mail.example"},
    {"[10.0.0.1]", "joe", "", false, "joe@[10.0.0.1]"},
};

static void
t_rewrite(void)
{
    struct inject_conf cf;
    struct headeraddr a;
    struct bstr out = BSTR_INIT;

    memset(&a, 0, sizeof a);
    base_conf(&cf, "USER=me");
    for (size_t i = 0; i < sizeof rwcases / sizeof rwcases[0]; i++) {
        const struct rwcase *c = &rwcases[i];

        CHECK(bstr_copys(&cf.defaulthost, c->defaulthost) == 0);
        CHECK(bstr_copys(&a.local, c->local) == 0);
        CHECK(bstr_copys(&a.domain, c->domain) == 0);
        a.null = c->null;
        CHECK_INT(inject_rewrite(&cf, &a), 0);
        bstr_truncate(&out, 0);
        CHECK(headeraddr_queue(&out, &a) == 0);
        if (!CHECK_BSTR(out, c->want))
            fprintf(stderr, "  case %zu\n", i);
    }
    headeraddr_free(&a);
    bstr_free(&out);
    inject_conf_free(&cf);
}

/* ---- whole messages ------------------------------------------------------ */

struct msg {
    struct bstr out;    /* the message as qmail-inject -n prints it */
    struct bstr rcpts;  /* comma-separated */
    struct bstr sender;
    const char *why;    /* NULL: no error */
    char whybuf[INJECT_WHY_MAX];
};

static void
msg_free(struct msg *m)
{
    bstr_free(&m->out);
    bstr_free(&m->rcpts);
    bstr_free(&m->sender);
}

static int
fail_with(struct msg *m, struct inject *ij)
{
    snprintf(m->whybuf, sizeof m->whybuf, "%s", ij->why);
    m->why = m->whybuf;
    inject_free(ij);
    return -1;
}

/*
 * run_msg - what qmail-inject does with in[0..n), the input arriving in
 * two reads split at cut: returns 0 with m filled, or -1 with m->why.
 */
static int
run_msg(const struct inject_conf *cf, const char *in, size_t n, size_t cut,
        enum inject_rcpt how, const char *const *args, const char *farg,
        struct msg *m)
{
    struct inject_stamp st = {1700000000, 4242, 0xdeadbeefUL};
    struct inject ij;
    struct inject_crlf crlf = {false};
    struct header h;
    struct bstr head = BSTR_INIT, list = BSTR_INIT;
    char *norm = malloc(n + 2);
    size_t len = 0, pos = 0, cnt;
    int ev;

    m->why = NULL;
    bstr_truncate(&m->out, 0);
    bstr_truncate(&m->rcpts, 0);
    bstr_truncate(&m->sender, 0);
    if (!norm)
        return -1;
    len = inject_crlf(&crlf, in, cut, norm);
    len += inject_crlf(&crlf, in + cut, n - cut, norm + len);
    len += inject_crlf_end(&crlf, norm + len);
    inject_init(&ij, cf);
    if (farg && inject_sender_arg(&ij, farg) == -1) {
        free(norm);
        return fail_with(m, &ij);
    }
    for (; args && *args; args++)
        if (inject_rcpt_arg(&ij, *args) == -1) {
            free(norm);
            return fail_with(m, &ij);
        }
    header_init(&h, INJECT_HEADER_MAX);
    for (;;) {
        size_t used = 0;

        if (pos < len) {
            size_t stop = pos < cut && cut < len ? cut : len;

            ev = header_feed(&h, norm + pos, stop - pos, &used);
            pos += used;
        } else {
            ev = header_eof(&h);
        }
        if (ev == HEADER_END || ev == -1)
            break;
        if (ev != HEADER_MORE &&
            inject_field(&ij, h.field.s, h.field.len, h.namelen, h.value,
                         ev == HEADER_MBOX) == -1) {
            free(norm);
            header_free(&h);
            return fail_with(m, &ij);
        }
    }
    CHECK(ev == HEADER_END);
    CHECK_INT(inject_finish(&ij, &st, true, &head), 0);
    CHECK_INT(inject_recipients(&ij, how, &list, &cnt), 0);
    CHECK(bstr_catb(&m->out, head.s, head.len) == 0);
    if (h.end != HEADER_END_EOF)
        CHECK(bstr_catc(&m->out, '\n') == 0);
    if (h.end == HEADER_END_BODY)
        CHECK(bstr_catb(&m->out, h.field.s, h.field.len) == 0);
    CHECK(bstr_catb(&m->out, norm + pos, len - pos) == 0);
    if (h.end != HEADER_END_EOF && m->out.s[m->out.len - 1] != '\n')
        CHECK(bstr_catc(&m->out, '\n') == 0);
    for (size_t i = 0, k = 0; i < list.len; i += strlen(list.s + i) + 1, k++)
        CHECK(bstr_cats(&m->rcpts, k ? "," : "") == 0 &&
              bstr_cats(&m->rcpts, list.s + i) == 0);
    CHECK(bstr_copyb(&m->sender, ij.sender.s ? ij.sender.s : "",
                     ij.sender.len) == 0);
    free(norm);
    header_free(&h);
    bstr_free(&head);
    bstr_free(&list);
    inject_free(&ij);
    return 0;
}

#define DATE "Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
#define MSGID "Message-ID: <20231114221320.4242.deadbeef.qmail@id.example>\n"
#define FROM_ME "From: me@host.dom.example\n"
#define RP_ME "Return-Path: <me@host.dom.example>\n"
#define STAMPS_ME RP_ME DATE MSGID FROM_ME

struct mcase {
    const char *name;
    const char *env; /* the fake environment */
    const char *mft; /* list addresses, "," separated; NULL: none */
    const char *in;
    enum inject_rcpt how;
    const char *args[3];
    const char *farg;
    const char *out;    /* NULL: refused */
    const char *rcpts;  /* or the refusal's text (a substring) */
    const char *sender;
};

static const struct mcase mcases[] = {
    {"plain", "USER=me", NULL, "To: joe\nSubject: s\n\nbody\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     STAMPS_ME "To: joe@host.dom.example\nSubject: s\n\nbody\n",
     "joe@host.dom.example", "me@host.dom.example"},
    {"bcc and return-path", "USER=me", NULL,
     "From: Boss <boss@corp.example>\nTo: a@x.example\nCc: b\n"
     "Bcc: secret@y.example\nReturn-Path: <bounce@corp.example>\n"
     "Content-Length: 99\nSubject: x\n\nb",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     "Return-Path: <bounce@corp.example>\n" DATE MSGID
     "From: Boss <boss@corp.example>\nTo: a@x.example\n"
     "Cc: b@host.dom.example\nSubject: x\n\nb\n",
     "a@x.example,b@host.dom.example,secret@y.example", "bounce@corp.example"},
    {"bcc only", "USER=me", NULL,
     "Bcc: a@x.example, b@x.example\nSubject: s\n\n", INJECT_RCPT_DEFAULT,
     {NULL}, NULL,
     STAMPS_ME "Cc: recipient list not shown: ;\nSubject: s\n\n",
     "a@x.example,b@x.example", "me@host.dom.example"},
    {"no header at all", "USER=me", NULL, "", INJECT_RCPT_DEFAULT,
     {"a@x.example", NULL}, NULL,
     STAMPS_ME "Cc: recipient list not shown: ;\n", "a@x.example",
     "me@host.dom.example"},
    {"resent", "USER=me", NULL,
     "Resent-To: r@x.example\nTo: orig@x.example\nFrom: a@b.example\n"
     "Date: old\nMessage-ID: <old@x>\n\nbody\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     RP_ME "Resent-" DATE "Resent-" MSGID "Resent-" FROM_ME
     "Resent-To: r@x.example\nTo: orig@x.example\nFrom: a@b.example\n"
     "Date: old\nMessage-ID: <old@x>\n\nbody\n",
     "r@x.example", "me@host.dom.example"},
    {"resent bcc", "USER=me", NULL,
     "Resent-Bcc: r@x.example\nResent-From: me2@x.example\n"
     "To: orig@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     RP_ME "Resent-" DATE "Resent-" MSGID
     "Resent-Cc: recipient list not shown: ;\n"
     "Resent-From: me2@x.example\nTo: orig@x.example\n\n",
     "r@x.example", "me@host.dom.example"},
    {"QMAILINJECT=fis", "USER=me;QMAILINJECT=fis", NULL,
     "From: someone@else.example\nMessage-ID: <x@y>\n"
     "Return-Path: <rp@x.example>\nTo: a@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL, STAMPS_ME "To: a@x.example\n\n",
     "a@x.example", "me@host.dom.example"},
    {"s skips a bad Return-Path", "USER=me;QMAILINJECT=s", NULL,
     "Return-Path: <a@b@c>\nTo: a@x.example\n\n", INJECT_RCPT_DEFAULT,
     {NULL}, NULL, STAMPS_ME "To: a@x.example\n\n", "a@x.example",
     "me@host.dom.example"},
    {"name", "USER=me;NAME=Joe \"J\" Smith", NULL, "To: a@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     RP_ME DATE MSGID
     "From: \"Joe \\\"J\\\" Smith\" <me@host.dom.example>\n"
     "To: a@x.example\n\n",
     "a@x.example", "me@host.dom.example"},
    {"name as comment", "USER=me;MAILNAME=Joe (J) Smith;QMAILINJECT=c", NULL,
     "To: a@x.example\n\n", INJECT_RCPT_DEFAULT, {NULL}, NULL,
     RP_ME DATE MSGID
     "From: me@host.dom.example (Joe \\(J\\) Smith)\nTo: a@x.example\n\n",
     "a@x.example", "me@host.dom.example"},
    {"utf-8 name", "USER=me;QMAILNAME=J\xc3\xb6rg", NULL,
     "To: a@x.example\n\n", INJECT_RCPT_DEFAULT, {NULL}, NULL,
     RP_ME DATE MSGID "From: =?UTF-8?B?SsO2cmc=?= <me@host.dom.example>\n"
     "To: a@x.example\n\n",
     "a@x.example", "me@host.dom.example"},
    {"mbox line", "USER=me", NULL, "From someone Mon\nTo: a@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     STAMPS_ME "MBOX-Line: From someone Mon\nTo: a@x.example\n\n",
     "a@x.example", "me@host.dom.example"},
    {"body without blank line", "USER=me", NULL,
     "To: a@x.example\nthis is body\nmore", INJECT_RCPT_DEFAULT, {NULL}, NULL,
     STAMPS_ME "To: a@x.example\n\nthis is body\nmore\n", "a@x.example",
     "me@host.dom.example"},
    {"crlf", "USER=me", NULL,
     "To: a@x.example\r\nSubject: x\r\n\r\nline1\r\nline2\rx\r\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     STAMPS_ME "To: a@x.example\nSubject: x\n\nline1\nline2\rx\n",
     "a@x.example", "me@host.dom.example"},
    {"mail-followup-to", "USER=me", "list@lists.example",
     "To: LIST@lists.example\nCc: me2@x.example\n\n", INJECT_RCPT_DEFAULT,
     {NULL}, NULL,
     STAMPS_ME "Mail-Followup-To: LIST@lists.example,\n  me2@x.example\n"
               "To: LIST@lists.example\nCc: me2@x.example\n\n",
     "LIST@lists.example,me2@x.example", "me@host.dom.example"},
    {"mail-followup-to present", "USER=me", "list@lists.example",
     "To: list@lists.example\nMail-Followup-To: x@y.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     STAMPS_ME "To: list@lists.example\nMail-Followup-To: x@y.example\n\n",
     "list@lists.example", "me@host.dom.example"},
    {"mail-followup-to not a list", "USER=me", "list@lists.example",
     "To: other@lists.example\n\n", INJECT_RCPT_DEFAULT, {NULL}, NULL,
     STAMPS_ME "To: other@lists.example\n\n", "other@lists.example",
     "me@host.dom.example"},
    {"verp r", "USER=me;QMAILINJECT=r", NULL, "To: a@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     "Return-Path: <\"me-@host.dom.example-\"@[]>\n" DATE MSGID FROM_ME
     "To: a@x.example\n\n",
     "a@x.example", "me-@host.dom.example-@[]"},
    {"verp m", "USER=me;QMAILINJECT=m", NULL, "To: a@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     "Return-Path: <me-1700000000.4242@host.dom.example>\n" DATE MSGID
     FROM_ME "To: a@x.example\n\n",
     "a@x.example", "me-1700000000.4242@host.dom.example"},
    {"verp r with Return-Path", "USER=me;QMAILINJECT=r", NULL,
     "Return-Path: <rp@x.example>\nTo: a@x.example\n\n", INJECT_RCPT_DEFAULT,
     {NULL}, NULL,
     "Return-Path: <\"rp@x.example-\"@[]>\n" DATE MSGID FROM_ME
     "To: a@x.example\n\n",
     "a@x.example", "rp@x.example-@[]"},
    {"-H, duplicates once", "USER=me", NULL,
     "To: x@y.example\nCc: z@y.example, x@y.example\n\n", INJECT_RCPT_BOTH,
     {"x@y.example", "w@y.example", NULL}, NULL,
     STAMPS_ME "To: x@y.example\nCc: z@y.example, x@y.example\n\n",
     "x@y.example,w@y.example,z@y.example", "me@host.dom.example"},
    {"-a", "USER=me", NULL, "To: t@y.example\n\n", INJECT_RCPT_ARGS,
     {"x@y.example", NULL}, NULL, STAMPS_ME "To: t@y.example\n\n",
     "x@y.example", "me@host.dom.example"},
    {"-A with arguments", "USER=me", NULL, "To: t@y.example\n\n",
     INJECT_RCPT_DEFAULT, {"x", NULL}, NULL, STAMPS_ME "To: t@y.example\n\n",
     "x@host.dom.example", "me@host.dom.example"},
    {"-h", "USER=me", NULL, "To: t@y.example\n\n", INJECT_RCPT_HEADER,
     {"x@y.example", NULL}, NULL, STAMPS_ME "To: t@y.example\n\n",
     "t@y.example", "me@host.dom.example"},
    {"QMAILSUSER QMAILSHOST", "USER=me;QMAILSUSER=bounces;QMAILSHOST=b.example",
     NULL, "To: a@x.example\n\n", INJECT_RCPT_DEFAULT, {NULL}, NULL,
     "Return-Path: <bounces@b.example>\n" DATE MSGID FROM_ME
     "To: a@x.example\n\n",
     "a@x.example", "bounces@b.example"},
    {"QMAILUSER QMAILHOST", "USER=me;QMAILUSER=joe;QMAILHOST=mail.example",
     NULL, "To: a@x.example\n\n", INJECT_RCPT_DEFAULT, {NULL}, NULL,
     "Return-Path: <joe@mail.example>\n" DATE MSGID
     "From: joe@mail.example\nTo: a@x.example\n\n",
     "a@x.example", "joe@mail.example"},
    {"anonymous", "", NULL, "To: a@x.example\n\n", INJECT_RCPT_DEFAULT,
     {NULL}, NULL,
     "Return-Path: <anonymous@host.dom.example>\n" DATE MSGID
     "From: anonymous@host.dom.example\nTo: a@x.example\n\n",
     "a@x.example", "anonymous@host.dom.example"},
    {"quoted user", "LOGNAME=j smith", NULL, "To: a@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     "Return-Path: <\"j smith\"@host.dom.example>\n" DATE MSGID
     "From: \"j smith\"@host.dom.example\nTo: a@x.example\n\n",
     "a@x.example", "j smith@host.dom.example"},
    {"old-style list", "USER=me", NULL, "To: djb fred\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     STAMPS_ME "To: djb@host.dom.example, fred@host.dom.example\n\n",
     "djb@host.dom.example,fred@host.dom.example", "me@host.dom.example"},
    {"group", "USER=me", NULL, "To: undisclosed-recipients:;\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     STAMPS_ME "To: undisclosed-recipients: ;\n\n", "",
     "me@host.dom.example"},
    {"group members", "USER=me", NULL, "To: team: a, b@x.example;\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     STAMPS_ME "To: team: a@host.dom.example, b@x.example;\n\n",
     "a@host.dom.example,b@x.example", "me@host.dom.example"},
    {"folded fields", "USER=me", NULL,
     "To: a@x.example,\n b@x.example\nSubject: one\n two\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     STAMPS_ME "To: a@x.example, b@x.example\nSubject: one\n two\n\n",
     "a@x.example,b@x.example", "me@host.dom.example"},
    {"empty To", "USER=me", NULL, "To:\nBcc: a@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL, STAMPS_ME "To:\n\n", "a@x.example",
     "me@host.dom.example"},
    {"sender fields rewritten", "USER=me", NULL,
     "From: boss\nReply-To: list, other@x.example\nSender: sec\n"
     "To: a@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL,
     RP_ME DATE MSGID "From: boss@host.dom.example\n"
     "Reply-To: list@host.dom.example, other@x.example\n"
     "Sender: sec@host.dom.example\nTo: a@x.example\n\n",
     "a@x.example", "me@host.dom.example"},
    {"-f", "USER=me", NULL, "To: a@x.example\n\n", INJECT_RCPT_DEFAULT,
     {NULL}, "bounce",
     "Return-Path: <bounce@host.dom.example>\n" DATE MSGID FROM_ME
     "To: a@x.example\n\n",
     "a@x.example", "bounce@host.dom.example"},
    {"-f beats Return-Path", "USER=me", NULL,
     "Return-Path: <rp@x.example>\nTo: a@x.example\n\n", INJECT_RCPT_DEFAULT,
     {NULL}, "<s@x.example>",
     "Return-Path: <s@x.example>\n" DATE MSGID FROM_ME "To: a@x.example\n\n",
     "a@x.example", "s@x.example"},
    {"-f ''", "USER=me", NULL, "To: a@x.example\n\n", INJECT_RCPT_DEFAULT,
     {NULL}, "", "Return-Path: <>\n" DATE MSGID FROM_ME "To: a@x.example\n\n",
     "a@x.example", ""},
    {"-f <>", "USER=me", NULL, "To: a@x.example\n\n", INJECT_RCPT_DEFAULT,
     {NULL}, "<>", "Return-Path: <>\n" DATE MSGID FROM_ME "To: a@x.example\n\n",
     "a@x.example", ""},
    {"Return-Path <>", "USER=me;QMAILINJECT=r", NULL,
     "Return-Path: <>\nTo: a@x.example\n\n", INJECT_RCPT_DEFAULT, {NULL},
     NULL, "Return-Path: <>\n" DATE MSGID FROM_ME "To: a@x.example\n\n",
     "a@x.example", ""},
    /* refusals */
    {"a@b@c", "USER=me", NULL, "To: a@b@c\n\n", INJECT_RCPT_DEFAULT, {NULL},
     NULL, NULL,
     "unable to parse this field (more than one \"@\" in an address): "
     "To: a@b@c",
     NULL},
    {"To: <>", "USER=me", NULL, "To: <>\n\n", INJECT_RCPT_DEFAULT, {NULL},
     NULL, NULL, "(<> is not a recipient)", NULL},
    {"bad From", "USER=me", NULL, "From: \"unterminated\nTo: a@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL, NULL, "(a quoted string without",
     NULL},
    {"bad Return-Path", "USER=me", NULL, "Return-Path: <a@b@c>\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL, NULL, "more than one", NULL},
    {"bad -f", "USER=me", NULL, "To: a@x.example\n\n", INJECT_RCPT_DEFAULT,
     {NULL}, "a@b@c", NULL, "unable to parse the sender address", NULL},
    {"-f with a newline", "USER=me", NULL, "To: a@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, "a@b.example\nBcc: x@y", NULL,
     "a control character", NULL},
    {"two in one argument", "USER=me", NULL, "", INJECT_RCPT_DEFAULT,
     {"a@x.example, b@x.example", NULL}, NULL, NULL, "more than one address",
     NULL},
    {"argument <>", "USER=me", NULL, "", INJECT_RCPT_DEFAULT, {"<>", NULL},
     NULL, NULL, "<> is not a recipient", NULL},
    {"argument with a newline", "USER=me", NULL, "", INJECT_RCPT_DEFAULT,
     {"a@x.example\nb@x.example", NULL}, NULL, NULL, "a control character",
     NULL},
    {"argument a@b@c", "USER=me", NULL, "", INJECT_RCPT_DEFAULT,
     {"a@b@c", NULL}, NULL, NULL, "more than one \"@\"", NULL},
    {"not UTF-8", "USER=me", NULL, "To: j\xf6rg@x.example\n\n",
     INJECT_RCPT_DEFAULT, {NULL}, NULL, NULL, "not UTF-8", NULL},
};

static void
t_messages(void)
{
    struct msg m;

    memset(&m, 0, sizeof m);
    for (size_t i = 0; i < sizeof mcases / sizeof mcases[0]; i++) {
        const struct mcase *c = &mcases[i];
        struct inject_conf cf;
        size_t n = strlen(c->in);

        base_conf(&cf, c->env);
        if (c->mft) {
            for (const char *p = c->mft; *p; p++)
                CHECK(bstr_catc(&cf.mft, *p == ',' ? '\0' : *p) == 0);
            CHECK(bstr_catc(&cf.mft, '\0') == 0);
            cf.mft_on = true;
        }
        for (size_t cut = 0; cut <= n; cut++) {
            int r = run_msg(&cf, c->in, n, cut, c->how, c->args, c->farg, &m);
            bool ok;

            if (c->out) {
                ok = CHECK_INT(r, 0) && CHECK_BSTR(m.out, c->out) &&
                     CHECK_BSTR(m.rcpts, c->rcpts) &&
                     CHECK_BSTR(m.sender, c->sender);
                if (!ok && m.why)
                    fprintf(stderr, "  why: %s\n", m.why);
            } else {
                ok = CHECK_INT(r, -1) && CHECK(m.why != NULL) &&
                     CHECK(strstr(m.why, c->rcpts) != NULL);
                if (!ok)
                    fprintf(stderr, "  why: %s\n", m.why ? m.why : "-");
            }
            if (!ok) {
                fprintf(stderr, "  case \"%s\", cut %zu\n", c->name, cut);
                break;
            }
        }
        inject_conf_free(&cf);
    }
    msg_free(&m);
}

static void
t_nul(void)
{
    struct inject_conf cf;
    struct inject ij;

    base_conf(&cf, "USER=me");
    inject_init(&ij, &cf);
    CHECK_INT(inject_field(&ij, "X: a\0b\n", 7, 1, 2, false), -1);
    CHECK(strstr(ij.why, "NUL") != NULL);
    inject_free(&ij);
    inject_conf_free(&cf);
}

/* A To: with thousands of recipients is folded, and all of them count. */
static void
t_many_recipients(void)
{
    struct inject_conf cf;
    struct msg m;
    struct bstr in = BSTR_INIT;
    size_t commas = 0;

    memset(&m, 0, sizeof m);
    base_conf(&cf, "USER=me");
    CHECK(bstr_cats(&in, "To: ") == 0);
    for (int i = 0; i < 5000; i++)
        CHECK(bstr_catf(&in, "%su%d@x.example", i ? ", " : "", i) == 0);
    CHECK(bstr_cats(&in, "\n\nbody\n") == 0);
    CHECK_INT(run_msg(&cf, in.s, in.len, 0, INJECT_RCPT_DEFAULT, NULL, NULL,
                      &m),
              0);
    for (size_t i = 0; i < m.rcpts.len; i++)
        commas += m.rcpts.s[i] == ',';
    CHECK_INT(commas, 4999);
    for (size_t i = 0, col = 0; i < m.out.len; i++, col++) {
        if (m.out.s[i] == '\n')
            col = 0;
        if (!CHECK(col <= 79))
            break;
    }
    bstr_free(&in);
    msg_free(&m);
    inject_conf_free(&cf);
}

/* ---- settings ------------------------------------------------------------ */

struct envcase {
    const char *env;
    int r;
    const char *user, *host, *name, *suser, *shost, *why;
};

static const struct envcase envcases[] = {
    {"", 0, "anonymous", NULL, NULL, "anonymous", NULL, NULL},
    {"LOGNAME=l;USER=u", 0, "u", NULL, NULL, "u", NULL, NULL},
    {"LOGNAME=l;USER=u;MAILUSER=m", 0, "m", NULL, NULL, "m", NULL, NULL},
    {"MAILUSER=m;QMAILUSER=q", 0, "q", NULL, NULL, "q", NULL, NULL},
    {"USER=;LOGNAME=l", 0, "l", NULL, NULL, "l", NULL, NULL},
    {"MAILHOST=m.example;QMAILHOST=q.example", 0, "anonymous", "q.example",
     NULL, "anonymous", "q.example", NULL},
    {"NAME=n;MAILNAME=m", 0, "anonymous", NULL, "m", "anonymous", NULL, NULL},
    {"QMAILNAME=q;NAME=n", 0, "anonymous", NULL, "q", "anonymous", NULL, NULL},
    {"USER=u;QMAILSUSER=s;MAILHOST=h.example;QMAILSHOST=sh.example", 0, "u",
     "h.example", NULL, "s", "sh.example", NULL},
    {"QMAILHOST=bad host", -1, NULL, NULL, NULL, NULL, NULL,
     "$QMAILHOST is not a valid host name"},
    {"QMAILSHOST=a@b", -1, NULL, NULL, NULL, NULL, NULL,
     "$QMAILSHOST is not a valid host name"},
    {"MAILHOST=a..b", -1, NULL, NULL, NULL, NULL, NULL,
     "$MAILHOST is not a valid host name"},
    {"NAME=a\nBcc: x@y", -1, NULL, NULL, NULL, NULL, NULL,
     "$NAME contains a control character"},
    {"USER=a\rb", -1, NULL, NULL, NULL, NULL, NULL,
     "$USER contains a control character"},
};

static void
t_conf_env(void)
{
    for (size_t i = 0; i < sizeof envcases / sizeof envcases[0]; i++) {
        const struct envcase *c = &envcases[i];
        struct inject_conf cf;
        const char *why;
        int r;

        inject_conf_init(&cf);
        fakeenv = c->env;
        r = inject_conf_env(&cf, fake_getenv, &why);
        if (!CHECK_INT(r, c->r)) {
            fprintf(stderr, "  env %s\n", c->env);
            continue;
        }
        if (r == -1) {
            CHECK_STR(why, c->why);
            continue;
        }
        CHECK_STR(cf.user, c->user);
        CHECK_STR(cf.suser, c->suser);
        CHECK(c->host ? cf.host && strcmp(cf.host, c->host) == 0
                      : cf.host == NULL);
        CHECK(c->name ? cf.name && strcmp(cf.name, c->name) == 0
                      : cf.name == NULL);
        CHECK(c->shost ? cf.shost && strcmp(cf.shost, c->shost) == 0
                       : cf.shost == NULL);
    }
    fakeenv = "QMAILINJECT=csfirmx";
    {
        struct inject_conf cf;
        const char *why;

        inject_conf_init(&cf);
        CHECK_INT(inject_conf_env(&cf, fake_getenv, &why), 0);
        CHECK(cf.namecomment && cf.delsender && cf.delfrom && cf.delmsgid &&
              cf.veprcpt && cf.verpmess);
    }
}

/* fake_getenv returns one static buffer; these settings need stable text */
static const char *
env_strings(const char *name)
{
    if (strcmp(name, "QMAILUSER") == 0)
        return "joe";
    if (strcmp(name, "QMAILHOST") == 0)
        return "h.example";
    if (strcmp(name, "QMAILNAME") == 0)
        return "Joe";
    return NULL;
}

static void
t_conf_env_values(void)
{
    struct inject_conf cf;
    const char *why;

    inject_conf_init(&cf);
    CHECK_INT(inject_conf_env(&cf, env_strings, &why), 0);
    CHECK_STR(cf.user, "joe");
    CHECK_STR(cf.host, "h.example");
    CHECK_STR(cf.name, "Joe");
    CHECK_STR(cf.suser, "joe");
    CHECK_STR(cf.shost, "h.example");
}

static void
put(const char *name, const char *content)
{
    FILE *f = fopen(name, "w");

    if (!CHECK(f != NULL))
        return;
    fputs(content, f);
    fclose(f);
}

struct loadcase {
    const char *me, *dh, *dd, *pd, *id; /* file contents; NULL: absent */
    const char *env;
    int r;
    const char *want; /* "dh dd pd id" or the bad setting */
};

static const struct loadcase loadcases[] = {
    {NULL, NULL, NULL, NULL, NULL, "", 0,
     "defaulthost defaultdomain plusdomain idhost"},
    {"me.example\n", NULL, NULL, NULL, NULL, "", 0,
     "me.example me.example me.example me.example"},
    {"me.example\n", "host\n", "dom.example\n", "plus.example\n",
     "id.example\n", "", 0, "host dom.example plus.example id.example"},
    {"me.example\n", "", "  \n", NULL, NULL, "", 0,
     "me.example me.example me.example me.example"},
    {"me.example\n", "host\n", NULL, NULL, NULL,
     "QMAILDEFAULTHOST=envhost;QMAILIDHOST=envid.example", 0,
     "envhost me.example me.example envid.example"},
    {"me.example\n", "host\n", NULL, NULL, NULL,
     "QMAILDEFAULTDOMAIN=d.example;QMAILPLUSDOMAIN=p.example", 0,
     "host d.example p.example me.example"},
    {"me.example\n", "bad host\n", NULL, NULL, NULL, "", -1, "defaulthost"},
    {"me.example\n", NULL, NULL, NULL, NULL, "QMAILIDHOST=a@b", -1, "idhost"},
};

static void
t_conf_load(void)
{
    const char *files[] = {"control/me", "control/defaulthost",
                           "control/defaultdomain", "control/plusdomain",
                           "control/idhost"};

    CHECK(chdir(harness_tmpdir()) == 0);
    mkdir("control", 0755);
    for (size_t i = 0; i < sizeof loadcases / sizeof loadcases[0]; i++) {
        const struct loadcase *c = &loadcases[i];
        const char *vals[] = {c->me, c->dh, c->dd, c->pd, c->id};
        struct inject_conf cf;
        struct bstr got = BSTR_INIT;
        const char *bad;
        int r;

        for (int k = 0; k < 5; k++) {
            unlink(files[k]);
            if (vals[k])
                put(files[k], vals[k]);
        }
        inject_conf_init(&cf);
        fakeenv = c->env;
        r = inject_conf_load(&cf, fake_getenv, &bad);
        if (!CHECK_INT(r, c->r)) {
            fprintf(stderr, "  case %zu\n", i);
        } else if (r == 0) {
            CHECK(bstr_catf(&got, "%s %s %s %s", cf.defaulthost.s,
                            cf.defaultdomain.s, cf.plusdomain.s,
                            cf.idhost.s) == 0);
            CHECK_BSTR(got, c->want);
        } else {
            CHECK_INT(errno, EINVAL);
            CHECK_STR(bad, c->want);
        }
        bstr_free(&got);
        inject_conf_free(&cf);
    }
    for (int k = 0; k < 5; k++)
        unlink(files[k]);
}

static void
t_mft_file(void)
{
    struct inject_conf cf;

    CHECK(chdir(harness_tmpdir()) == 0);
    put("mft", "# lists\nlist@lists.example\n\nother@lists.example\n");
    inject_conf_init(&cf);
    CHECK_INT(inject_conf_mft(&cf, "mft"), 0);
    CHECK(cf.mft_on);
    CHECK_INT(cf.mft.len, strlen("list@lists.example") + 1 +
                              strlen("other@lists.example") + 1);
    inject_conf_free(&cf);
    inject_conf_init(&cf);
    CHECK_INT(inject_conf_mft(&cf, "absent"), 0);
    CHECK(!cf.mft_on);
    inject_conf_free(&cf);
    unlink("mft");
}

/* ---- the fields' text ----------------------------------------------------- */

struct datecase {
    const char *tz;
    const char *want;
};

static const struct datecase datecases[] = {
    {"UTC0", "Tue, 14 Nov 2023 22:13:20 +0000"},
    {"EST5", "Tue, 14 Nov 2023 17:13:20 -0500"},
    {"IST-5:30", "Wed, 15 Nov 2023 03:43:20 +0530"},
    {"<+1245>-12:45", "Wed, 15 Nov 2023 10:58:20 +1245"},
    {"<-03>3", "Tue, 14 Nov 2023 19:13:20 -0300"},
};

static void
t_date(void)
{
    struct bstr b = BSTR_INIT;
    const char *old = getenv("TZ");

    for (size_t i = 0; i < sizeof datecases / sizeof datecases[0]; i++) {
        setenv("TZ", datecases[i].tz, 1);
        tzset();
        bstr_truncate(&b, 0);
        CHECK_INT(inject_date(&b, 1700000000), 0);
        CHECK_BSTR(b, datecases[i].want);
    }
    if (old)
        setenv("TZ", old, 1);
    else
        setenv("TZ", "UTC0", 1);
    tzset();
    bstr_free(&b);
}

static void
t_msgid(void)
{
    struct inject_stamp st = {0, 1, 0x123UL};
    struct bstr b = BSTR_INIT;

    CHECK_INT(inject_msgid(&b, &st, "id.example", 10), 0);
    CHECK_BSTR(b, "<19700101000000.1.00000123.qmail@id.example>");
    bstr_free(&b);
}

struct namecase {
    const char *in;
    const char *phrase, *comment;
};

static const struct namecase namecases[] = {
    {"Joe", "\"Joe\"", "(Joe)"},
    {"a\"b\\c", "\"a\\\"b\\\\c\"", "(a\"b\\\\c)"},
    {"x(y)", "\"x(y)\"", "(x\\(y\\))"},
    {"J\xc3\xb6rg", "=?UTF-8?B?SsO2cmc=?=", "(=?UTF-8?B?SsO2cmc=?=)"},
    {"J\xf6rg", "\"J\xf6rg\"", "(J\xf6rg)"},
    {"", "\"\"", "()"},
};

static void
t_names(void)
{
    struct bstr b = BSTR_INIT;

    for (size_t i = 0; i < sizeof namecases / sizeof namecases[0]; i++) {
        bstr_truncate(&b, 0);
        CHECK_INT(inject_phrase(&b, namecases[i].in), 0);
        CHECK_BSTR(b, namecases[i].phrase);
        bstr_truncate(&b, 0);
        CHECK_INT(inject_comment(&b, namecases[i].in), 0);
        CHECK_BSTR(b, namecases[i].comment);
    }
    bstr_free(&b);
}

static int
b64val(char c)
{
    const char *set =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(set, c);

    return c && p ? (int)(p - set) : -1;
}

/* Long UTF-8 text: encoded-words of at most 75 bytes, whole characters
 * in each, that decode back to the text. */
static void
t_encoded_words(void)
{
    struct bstr in = BSTR_INIT, out = BSTR_INIT, back = BSTR_INIT;
    size_t i = 0;

    for (int k = 0; k < 100; k++)
        CHECK(bstr_cats(&in, k % 3 ? "\xc3\xa4" : "\xe2\x82\xac") == 0);
    CHECK(bstr_cats(&in, " end") == 0);
    CHECK_INT(inject_text(&out, in.s), 0);
    while (i < out.len) {
        const char *w = out.s + i, *end;
        size_t chunk = back.len, len;

        CHECK(strncmp(w, "=?UTF-8?B?", 10) == 0);
        end = strstr(w, "?=");
        if (!CHECK(end != NULL))
            break;
        len = (size_t)(end + 2 - w);
        CHECK(len <= 75);
        for (const char *p = w + 10; p + 4 <= end; p += 4) {
            int v[4];
            unsigned long x;

            for (int k = 0; k < 4; k++)
                v[k] = p[k] == '=' ? 0 : b64val(p[k]);
            x = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
                ((unsigned long)v[2] << 6) | (unsigned long)v[3];
            CHECK(bstr_catc(&back, (char)(x >> 16)) == 0);
            if (p[2] != '=')
                CHECK(bstr_catc(&back, (char)(x >> 8)) == 0);
            if (p[3] != '=')
                CHECK(bstr_catc(&back, (char)x) == 0);
        }
        /* each word starts on a character boundary */
        CHECK(((unsigned char)back.s[chunk] & 0xc0) != 0x80);
        i += len;
        if (i < out.len) {
            CHECK(out.s[i] == '\n' && out.s[i + 1] == ' ');
            i += 2;
        }
    }
    CHECK_INT(back.len, in.len);
    CHECK(back.len == in.len && memcmp(back.s, in.s, in.len) == 0);
    bstr_truncate(&out, 0);
    CHECK_INT(inject_text(&out, "plain ascii"), 0);
    CHECK_BSTR(out, "plain ascii");
    bstr_free(&in);
    bstr_free(&out);
    bstr_free(&back);
}

static void
t_host_ok(void)
{
    CHECK(inject_host_ok("example.com", 11));
    CHECK(inject_host_ok("host", 4));
    CHECK(inject_host_ok("host+", 5));
    CHECK(inject_host_ok("[192.0.2.1]", 11));
    CHECK(!inject_host_ok("", 0));
    CHECK(!inject_host_ok("a b", 3));
    CHECK(!inject_host_ok("a@b", 3));
    CHECK(!inject_host_ok("a..b", 4));
    CHECK(!inject_host_ok(".a", 2));
    CHECK(!inject_host_ok("a\nb", 3));
    CHECK(!inject_host_ok("a\0b", 3));
    CHECK(!inject_host_ok("<a>", 3));
    CHECK(!inject_host_ok("a(b)", 4));
    CHECK(inject_text_ok("Joe\tSmith"));
    CHECK(!inject_text_ok("Joe\nSmith"));
    CHECK(!inject_text_ok("Joe\x7f"));
}

/* ---- the byte stream ------------------------------------------------------- */

static void
t_crlf(void)
{
    const char *in = "a\r\nb\r\r\nc\rd\r\n\r\n\r";
    const char *want = "a\nb\r\nc\rd\n\n\r";
    size_t n = strlen(in);

    for (size_t cut = 0; cut <= n; cut++) {
        struct inject_crlf st = {false};
        char out[64];
        size_t o;

        o = inject_crlf(&st, in, cut, out);
        o += inject_crlf(&st, in + cut, n - cut, out + o);
        o += inject_crlf_end(&st, out + o);
        if (!harness_check_mem(out, o, want, strlen(want), "crlf", __FILE__,
                               __LINE__))
            fprintf(stderr, "  cut %zu\n", cut);
    }
}

/* ---- sendmail's command line ------------------------------------------------ */

struct smcase {
    const char *argv[12];
    int r;
    enum sendmail_mode mode;
    bool header;
    const char *sender, *fullname;
    const char *rcpts; /* space-separated, or the refusal's start */
};

static const struct smcase smcases[] = {
    {{"sendmail", "-t", "-i"}, 0, SM_DELIVER, true, NULL, NULL, ""},
    {{"/usr/sbin/sendmail", "-i", "-FCronDaemon", "-oem", "-oi", "-t"},
     0, SM_DELIVER, true, NULL, "CronDaemon", ""},
    {{"sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "-oi", "-t"},
     0, SM_DELIVER, true, NULL, "CronDaemon", ""},
    {{"sendmail", "-f", "bounce@x", "a@b"}, 0, SM_DELIVER, false, "bounce@x",
     NULL, "a@b"},
    {{"sendmail", "-fbounce@x", "-F", "Joe", "a@b", "c@d"}, 0, SM_DELIVER,
     false, "bounce@x", "Joe", "a@b c@d"},
    {{"sendmail", "-r", "s@x", "a"}, 0, SM_DELIVER, false, "s@x", NULL, "a"},
    {{"sendmail", "-oi", "-odb", "-odi", "-om", "-v", "-N", "never", "a@b"},
     0, SM_DELIVER, false, NULL, NULL, "a@b"},
    {{"sendmail", "-ti", "--", "a@b"}, 0, SM_DELIVER, true, NULL, NULL,
     "a@b"},
    {{"sendmail", "-X", "/var/www/shell.php", "-C", "/etc/x", "-OQueueDirectory=/tmp",
      "a@b"},
     0, SM_DELIVER, false, NULL, NULL, "a@b"},
    {{"sendmail", "-d0.1", "-Am", "-U", "-G", "-h", "3", "a"}, 0, SM_DELIVER,
     false, NULL, NULL, "a"},
    {{"sendmail", "-bm", "a"}, 0, SM_DELIVER, false, NULL, NULL, "a"},
    {{"sendmail", "-bp"}, 0, SM_QREAD, false, NULL, NULL, ""},
    {{"mailq"}, 0, SM_QREAD, false, NULL, NULL, ""},
    {{"/usr/bin/mailq", "-v"}, 0, SM_QREAD, false, NULL, NULL, ""},
    {{"sendmail", "-bs"}, 0, SM_SMTPD, false, NULL, NULL, ""},
    {{"sendmail", "-f", ""}, 0, SM_DELIVER, false, "", NULL, ""},
    {{"sendmail", "a@b"}, 0, SM_DELIVER, false, NULL, NULL, "a@b"},
    {{"sendmail"}, 0, SM_DELIVER, false, NULL, NULL, ""},
    {{"sendmail", "-q"}, -1, SM_DELIVER, false, NULL, NULL, "-q is not"},
    {{"sendmail", "-q30m"}, -1, SM_DELIVER, false, NULL, NULL, "-q is not"},
    {{"sendmail", "-bd"}, -1, SM_DELIVER, false, NULL, NULL, "-bd is not"},
    {{"sendmail", "-bi"}, -1, SM_DELIVER, false, NULL, NULL, "-bi is not"},
    {{"sendmail", "-bv", "a@b"}, -1, SM_DELIVER, false, NULL, NULL,
     "-bv is not"},
    {{"sendmail", "-Z"}, -1, SM_DELIVER, false, NULL, NULL,
     "unknown option -Z"},
    {{"sendmail", "-f"}, -1, SM_DELIVER, false, NULL, NULL,
     "option -f needs"},
    {{"sendmail", "a@b", "-f", "x"}, -1, SM_DELIVER, false, NULL, NULL,
     "-f: options go before"},
    {{"sendmail", "--", "-oi"}, -1, SM_DELIVER, false, NULL, NULL,
     "-oi: options go before"},
    {{"newaliases"}, -1, SM_DELIVER, false, NULL, NULL, "newaliases is not"},
    {{"sendmail", "-I"}, -1, SM_DELIVER, false, NULL, NULL, "-I (newaliases)"},
};

static void
t_sendmail_args(void)
{
    struct sendmail_args a;
    struct bstr r = BSTR_INIT;

    for (size_t i = 0; i < sizeof smcases / sizeof smcases[0]; i++) {
        const struct smcase *c = &smcases[i];
        char *argv[12];
        int argc = 0;

        while (c->argv[argc]) {
            argv[argc] = (char *)c->argv[argc];
            argc++;
        }
        argv[argc] = NULL;
        if (!CHECK_INT(sendmail_args(&a, argc, argv), c->r)) {
            fprintf(stderr, "  case %zu: %s\n", i, a.why);
            continue;
        }
        if (c->r == -1) {
            if (!CHECK(strncmp(a.why, c->rcpts, strlen(c->rcpts)) == 0))
                fprintf(stderr, "  case %zu: %s\n", i, a.why);
            continue;
        }
        CHECK_INT(a.mode, c->mode);
        CHECK_INT(a.header, c->header);
        CHECK(c->sender ? a.sender && strcmp(a.sender, c->sender) == 0
                        : a.sender == NULL);
        CHECK(c->fullname ? a.fullname && strcmp(a.fullname, c->fullname) == 0
                          : a.fullname == NULL);
        bstr_truncate(&r, 0);
        for (int k = 0; k < a.nrcpt; k++)
            CHECK(bstr_cats(&r, k ? " " : "") == 0 &&
                  bstr_cats(&r, a.rcpt[k]) == 0);
        if (!CHECK_BSTR(r, c->rcpts))
            fprintf(stderr, "  case %zu\n", i);
    }
    bstr_free(&r);
}

static const struct test_case cases[] = {
    {"rewrite: defaulthost, plusdomain, defaultdomain", t_rewrite},
    {"messages, every split", t_messages},
    {"a NUL in the header", t_nul},
    {"five thousand recipients", t_many_recipients},
    {"settings: environment", t_conf_env},
    {"settings: environment values", t_conf_env_values},
    {"settings: control files", t_conf_load},
    {"settings: QMAILMFTFILE", t_mft_file},
    {"Date in the local time zone", t_date},
    {"Message-ID", t_msgid},
    {"names: quoted, comment, RFC 2047", t_names},
    {"long UTF-8 text as encoded-words", t_encoded_words},
    {"host names and text", t_host_ok},
    {"CRLF to LF, every split", t_crlf},
    {"sendmail's command line", t_sendmail_args},
};

int
main(void)
{
    /* the expected dates are UTC; t_date sets its own zones */
    setenv("TZ", "UTC0", 1);
    tzset();
    return harness_run(cases, sizeof cases / sizeof cases[0]);
}
