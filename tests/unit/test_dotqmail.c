/* SPDX-License-Identifier: ISC */
/*
 * test_dotqmail - the .qmail parser (one table of files and what they
 * mean or why they are refused), the safe extension, and the order in
 * which .qmail files are tried for an extension.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotqmail.h"
#include "harness.h"

/*
 * Expected instructions as one string: "K:arg|K:arg" with K one of
 * P (program), F (forward), M (mbox), D (maildir).
 */
struct parse_case {
    const char *name;
    const char *text;
    size_t len; /* 0: strlen(text) */
    bool forwardonly;
    const char *want;       /* NULL when refused */
    enum dq_error err;
    unsigned errline;
};

static const struct parse_case parse_cases[] = {
    {"maildir", "./Maildir/\n", 0, false, "D:./Maildir/", DQ_E_NONE, 0},
    {"mbox", "./Mailbox\n", 0, false, "M:./Mailbox", DQ_E_NONE, 0},
    {"absolute mbox", "/var/mail/joe", 0, false, "M:/var/mail/joe",
     DQ_E_NONE, 0},
    {"program", "|preline procmail\n", 0, false, "P:preline procmail",
     DQ_E_NONE, 0},
    {"program keeps its leading space", "| vacation joe\n", 0, false,
     "P: vacation joe", DQ_E_NONE, 0},
    {"ampersand forward", "&me@new.job.com\n", 0, false,
     "F:me@new.job.com", DQ_E_NONE, 0},
    {"bare forward", "fred@example.com\n", 0, false, "F:fred@example.com",
     DQ_E_NONE, 0},
    {"forward without domain", "&joe\n", 0, false, "F:joe", DQ_E_NONE, 0},
    {"comments and blank lines", "# hi\n./Maildir/\n\n#x\n&a@b\n", 0,
     false, "D:./Maildir/|F:a@b", DQ_E_NONE, 0},
    {"only a comment", "# nothing\n", 0, false, "", DQ_E_NONE, 0},
    {"trailing blanks dropped", "./Maildir/ \t\n|cmd  \n&x@y\t\n", 0, false,
     "D:./Maildir/|P:cmd|F:x@y", DQ_E_NONE, 0},
    {"crlf file", "./Maildir/\r\n&x@y\r\n", 0, false, "D:./Maildir/|F:x@y",
     DQ_E_NONE, 0},
    {"no final newline", "&a@b\n&c@d", 0, false, "F:a@b|F:c@d", DQ_E_NONE,
     0},
    {"order kept", "|one\n./mbox\n&f@g\n./Md/\n|two\n", 0, false,
     "P:one|M:./mbox|F:f@g|D:./Md/|P:two", DQ_E_NONE, 0},
    {"utf-8 forward", "&j\xc3\xb6rg@b\xc3\xbc.example\n", 0, false,
     "F:j\xc3\xb6rg@b\xc3\xbc.example", DQ_E_NONE, 0},
    {"plus lines other than list ignored", "+foo\n&a@b\n", 0, false, "F:a@b",
     DQ_E_NONE, 0},
    {"forward only file may forward", "&a@b\nc@d\n", 0, true, "F:a@b|F:c@d",
     DQ_E_NONE, 0},
    {"comment may hold anything", "#\x01\x7f\xff\n&a@b\n", 0, false, "F:a@b",
     DQ_E_NONE, 0},
    /* refused, with qmail's reasons */
    {"first line blank", "\n./Maildir/\n", 0, false, NULL, DQ_E_FIRSTBLANK,
     1},
    {"first line only blanks", "  \t\n./Maildir/\n", 0, false, NULL,
     DQ_E_FIRSTBLANK, 1},
    {"x bit and program", "&a@b\n|prog\n", 0, true, NULL, DQ_E_PROG_XBIT, 2},
    {"x bit and maildir", "./Maildir/\n", 0, true, NULL, DQ_E_FILE_XBIT, 1},
    {"x bit and mbox", "# c\n/tmp/box\n", 0, true, NULL, DQ_E_FILE_XBIT, 2},
    {"+list then program", "+list\n|prog\n", 0, false, NULL, DQ_E_PROG_XBIT,
     2},
    {"+list then file", "&a@b\n+list\n./x\n", 0, false, NULL,
     DQ_E_FILE_XBIT, 3},
    /* refused: malformed lines */
    {"nul byte", "./Maildir/\n&a\0b@c\n", 19, false, NULL, DQ_E_NUL, 2},
    {"control character", "&a@b\n|echo \x1b[2J\n", 0, false, NULL,
     DQ_E_CONTROL, 2},
    {"bare cr inside", "./Mail\rdir/\n", 0, false, NULL, DQ_E_CONTROL, 1},
    {"delete character", "&a\x7f@b\n", 0, false, NULL, DQ_E_CONTROL, 1},
    {"leading space", "./Maildir/\n  &a@b\n", 0, false, NULL, DQ_E_SPACE,
     2},
    {"leading tab", "\t./Maildir/\n", 0, false, NULL, DQ_E_SPACE, 1},
    {"empty program", "|\n", 0, false, NULL, DQ_E_EMPTYPROG, 1},
    {"blank program", "./x\n|   \t\n", 0, false, NULL, DQ_E_EMPTYPROG, 2},
    {"empty forward", "&\n", 0, false, NULL, DQ_E_EMPTYADDR, 1},
    {"space after ampersand", "& me@new.job.com\n", 0, false, NULL,
     DQ_E_BADADDR, 1},
    {"angle brackets", "&<me@new.job.com>\n", 0, false, NULL, DQ_E_BADADDR,
     1},
    {"comment after address", "&me@new.job.com (New Address)\n", 0, false,
     NULL, DQ_E_BADADDR, 1},
    {"two addresses on a line", "a@b, c@d\n", 0, false, NULL, DQ_E_BADADDR,
     1},
    {"no local part", "&@example.com\n", 0, false, NULL, DQ_E_BADADDR, 1},
    {"no domain", "&joe@\n", 0, false, NULL, DQ_E_BADADDR, 1},
    /* a newline always ends a line: no address can hide one */
    {"newline inside quotes", "&\"a\nb\"@c\n", 0, false, "F:\"a|F:b\"@c",
     DQ_E_NONE, 0},
};

static void
describe(const struct dotqmail *d, struct bstr *out)
{
    static const char kinds[] = "PFMD";

    bstr_truncate(out, 0);
    for (size_t i = 0; i < d->n; i++) {
        if (i && bstr_catc(out, '|') == -1)
            abort();
        if (bstr_catc(out, kinds[d->v[i].kind]) == -1 ||
            bstr_catc(out, ':') == -1 ||
            bstr_cats(out, dotqmail_arg(d, i)) == -1)
            abort();
    }
    if (bstr_catc(out, '\0') == -1)
        abort();
    out->len--;
}

static void
t_parse_table(void)
{
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        struct dotqmail d;
        struct dq_err err;
        struct bstr got = BSTR_INIT;
        size_t len = c->len ? c->len : strlen(c->text);
        int r;

        dotqmail_init(&d);
        r = dotqmail_parse(&d, c->text, len, c->forwardonly, &err);
        if (c->want) {
            if (!CHECK_INT(r, 0))
                printf("    case: %s (err %d line %u)\n", c->name, err.code,
                       err.line);
            describe(&d, &got);
            if (!CHECK_STR(got.s, c->want))
                printf("    case: %s\n", c->name);
        } else {
            bool ok = CHECK_INT(r, -1) && CHECK_INT(errno, EINVAL) &&
                      CHECK_INT(err.code, c->err) &&
                      CHECK_INT(err.line, c->errline);
            if (!ok)
                printf("    case: %s\n", c->name);
        }
        bstr_free(&got);
        dotqmail_free(&d);
    }
}

static void
t_long_lines(void)
{
    struct dotqmail d;
    struct dq_err err;
    char *text = malloc(DOTQMAIL_LINE_MAX + 3);

    CHECK(text != NULL);
    /* a program line exactly at the limit is fine */
    text[0] = '|';
    memset(text + 1, 'x', DOTQMAIL_LINE_MAX - 1);
    text[DOTQMAIL_LINE_MAX] = '\n';
    dotqmail_init(&d);
    CHECK_INT(dotqmail_parse(&d, text, DOTQMAIL_LINE_MAX + 1, false, &err),
              0);
    CHECK_INT(d.n, 1);
    CHECK_INT(d.v[0].len, DOTQMAIL_LINE_MAX - 1);
    dotqmail_free(&d);
    /* one more byte is refused */
    memset(text + 1, 'x', DOTQMAIL_LINE_MAX);
    text[DOTQMAIL_LINE_MAX + 1] = '\n';
    dotqmail_init(&d);
    CHECK_INT(dotqmail_parse(&d, text, DOTQMAIL_LINE_MAX + 2, false, &err),
              -1);
    CHECK_INT(err.code, DQ_E_LONG);
    CHECK_INT(err.line, 1);
    dotqmail_free(&d);
    /* a forward address past the queue's limit */
    text[0] = '&';
    memset(text + 1, 'a', DOTQMAIL_ADDR_MAX + 1);
    text[DOTQMAIL_ADDR_MAX + 2] = '\n';
    dotqmail_init(&d);
    CHECK_INT(dotqmail_parse(&d, text, DOTQMAIL_ADDR_MAX + 3, false, &err),
              -1);
    CHECK_INT(err.code, DQ_E_BADADDR);
    dotqmail_free(&d);
    free(text);
}

static void
t_big_forward_list(void)
{
    struct dotqmail d;
    struct dq_err err;
    struct bstr text = BSTR_INIT;

    for (int i = 0; i < 5000; i++)
        CHECK(bstr_catf(&text, "&member%d@list.example\n", i) == 0);
    dotqmail_init(&d);
    CHECK_INT(dotqmail_parse(&d, text.s, text.len, true, &err), 0);
    CHECK_INT(d.n, 5000);
    CHECK_STR(dotqmail_arg(&d, 4999), "member4999@list.example");
    CHECK_INT(d.v[4999].line, 5000);
    dotqmail_free(&d);
    bstr_free(&text);
}

static void
t_too_big(void)
{
    struct dotqmail d;
    struct dq_err err;

    dotqmail_init(&d);
    CHECK_INT(dotqmail_parse(&d, "", DOTQMAIL_FILE_MAX + 1, false, &err), -1);
    CHECK_INT(err.code, DQ_E_TOOBIG);
    dotqmail_free(&d);
}

static void
t_empty_text(void)
{
    struct dotqmail d;
    struct dq_err err;

    /* an empty file is the caller's business (defaultdelivery) */
    dotqmail_init(&d);
    CHECK_INT(dotqmail_parse(&d, "", 0, false, &err), 0);
    CHECK_INT(d.n, 0);
    dotqmail_free(&d);
}

static const struct {
    const char *in, *out;
} safe_cases[] = {
    {"", ""},
    {"foo", "foo"},
    {"Foo-BAR", "foo-bar"},
    {"a.b", "a:b"},
    {"../../etc/passwd", "::/::/etc/passwd"},
    {"..", "::"},
    {"x.default", "x:default"},
    {"\xc3\x84", "\xc3\x84"}, /* bytes above ASCII are left alone */
};

static void
t_safeext(void)
{
    struct bstr out = BSTR_INIT;

    for (size_t i = 0; i < sizeof safe_cases / sizeof safe_cases[0]; i++) {
        CHECK(dotqmail_safeext(&out, safe_cases[i].in,
                               strlen(safe_cases[i].in)) == 0);
        CHECK(bstr_catc(&out, '\0') == 0);
        if (!CHECK_STR(out.s, safe_cases[i].out))
            printf("    input: %s\n", safe_cases[i].in);
    }
    bstr_free(&out);
}

/* The candidates, with $DEFAULT after '=' for -default files. */
static const struct {
    const char *dash, *ext, *want;
} search_cases[] = {
    {"", "", ".qmail .qmaildefault="},
    {"-", "", ".qmail- .qmail-default="},
    {"-", "a", ".qmail-a .qmail-default=a"},
    {"-", "a-", ".qmail-a- .qmail-a-default= .qmail-default=a-"},
    {"-", "a-b", ".qmail-a-b .qmail-a-default=b .qmail-default=a-b"},
    {"-", "foo-bar", ".qmail-foo-bar .qmail-foo-default=bar "
                     ".qmail-default=foo-bar"},
    {"-", "a-b-c", ".qmail-a-b-c .qmail-a-b-default=c .qmail-a-default=b-c "
                   ".qmail-default=a-b-c"},
    {"-", "list-default", ".qmail-list-default=default "
                          ".qmail-list-default=default "
                          ".qmail-default=list-default"},
    {"-", "--", ".qmail--- .qmail---default= .qmail--default=- "
                ".qmail-default=--"},
    {"-/", "x-y", ".qmail-/x-y .qmail-/x-default=y .qmail-/default=x-y"},
};

static void
t_search_order(void)
{
    for (size_t i = 0; i < sizeof search_cases / sizeof search_cases[0];
         i++) {
        struct dq_search s;
        struct bstr name = BSTR_INIT, got = BSTR_INIT;
        const char *ext = search_cases[i].ext;
        size_t defpos;
        int r;

        dotqmail_search_init(&s, search_cases[i].dash, ext, strlen(ext));
        while ((r = dotqmail_search_next(&s, &name, &defpos)) == 1) {
            if (got.len)
                CHECK(bstr_catc(&got, ' ') == 0);
            CHECK(bstr_catb(&got, name.s, name.len) == 0);
            if (defpos != (size_t)-1)
                CHECK(bstr_catc(&got, '=') == 0 &&
                      bstr_cats(&got, ext + defpos) == 0);
        }
        CHECK_INT(r, 0);
        CHECK(bstr_catc(&got, '\0') == 0);
        if (!CHECK_STR(got.s, search_cases[i].want))
            printf("    dash \"%s\" ext \"%s\"\n", search_cases[i].dash, ext);
        bstr_free(&name);
        bstr_free(&got);
    }
}

static void
t_addr_ok(void)
{
    static const struct {
        const char *a;
        bool ok;
    } cases[] = {
        {"a@b", true},        {"joe", true},       {"a@b@c", true},
        {"-x@y", true},       {"\"q\"@x", true},   {"", false},
        {"a b@c", false},     {"a@b\n", false},    {"<a@b>", false},
        {"a@b,c@d", false},   {"(x)a@b", false},   {"@b", false},
        {"a@", false},        {"a\t@b", false},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!CHECK(dotqmail_addr_ok(cases[i].a, strlen(cases[i].a)) ==
                   cases[i].ok))
            printf("    address: %s\n", cases[i].a);
}

static const struct test_case cases[] = {
    {"parse table", t_parse_table},
    {"long lines", t_long_lines},
    {"big forward list", t_big_forward_list},
    {"too big", t_too_big},
    {"empty text", t_empty_text},
    {"safe extension", t_safeext},
    {"search order", t_search_order},
    {"forward address check", t_addr_ok},
};

TEST_MAIN(cases)
