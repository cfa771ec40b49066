/* SPDX-License-Identifier: ISC */
/*
 * test_header - the header push parser (src/lib/header.c) with every
 * input split at every chunk boundary and fed byte by byte, and the
 * address-list parser (src/lib/headeraddr.c): every address form,
 * groups, comments, quoted strings, literals, routes, old-style lists,
 * folding of long lists, and the reasons it refuses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "header.h"
#include "headeraddr.h"

/* ---- the push parser ------------------------------------------------- */

/*
 * transcript - feed in[0..n) in pieces (a cut at `cut`, or one byte at
 * a time when bytewise) and describe the events: "F<name>text|" for a
 * field, "M:text|" for a From line, then "EB|", "ED|" or "EF|" and the
 * body (the bytes the parser kept of the first body line, then the rest).
 * Errors give "ERR<errno>".
 */
static void
transcript(const char *in, size_t n, size_t max, size_t cut, bool bytewise,
           struct bstr *t)
{
    struct header h;
    size_t pos = 0;
    int ev;

    bstr_truncate(t, 0);
    header_init(&h, max);
    for (;;) {
        size_t used = 0, len;

        if (pos < n) {
            len = bytewise ? 1 : (pos < cut ? cut - pos : n - pos);
            ev = header_feed(&h, in + pos, len, &used);
            if (ev == HEADER_MORE && used != len) {
                CHECK(!"MORE must consume everything");
                break;
            }
            pos += used;
        } else {
            ev = header_eof(&h);
        }
        if (ev == -1) {
            if (bstr_catf(t, "ERR%d", errno) == -1)
                break;
            break;
        }
        if (ev == HEADER_FIELD) {
            if (bstr_catf(t, "F<%.*s>", (int)h.namelen, h.field.s) == -1 ||
                bstr_catb(t, h.field.s, h.field.len) == -1 ||
                bstr_catc(t, '|') == -1)
                break;
            CHECK(h.value <= h.field.len && h.field.s[h.value - 1] == ':');
        } else if (ev == HEADER_MBOX) {
            if (bstr_cats(t, "M:") == -1 ||
                bstr_catb(t, h.field.s, h.field.len) == -1 ||
                bstr_catc(t, '|') == -1)
                break;
        } else if (ev == HEADER_END) {
            const char *k = h.end == HEADER_END_BLANK  ? "EB|"
                            : h.end == HEADER_END_BODY ? "ED|"
                                                       : "EF|";
            if (bstr_cats(t, k) == -1)
                break;
            if (h.end == HEADER_END_BODY &&
                bstr_catb(t, h.field.s, h.field.len) == -1)
                break;
            if (bstr_catb(t, in + pos, n - pos) == -1)
                break;
            /* the parser refuses to go on past the end */
            CHECK_INT(header_feed(&h, "x", 1, &used), -1);
            break;
        }
    }
    header_free(&h);
}

struct hcase {
    const char *in;
    size_t len; /* 0: strlen */
    const char *want;
    size_t wantlen; /* 0: strlen */
    size_t max;     /* 0: 1 MiB */
};

static const struct hcase hcases[] = {
    {"Subject: hi\n\nbody\n", 0, "F<Subject>Subject: hi\n|EB|body\n", 0, 0},
    {"Subject: a\n b\n\tc\nTo: x\n\nB", 0,
     "F<Subject>Subject: a\n b\n\tc\n|F<To>To: x\n|EB|B", 0, 0},
    {"To: x\n", 0, "F<To>To: x\n|EF|", 0, 0},
    {"To: x", 0, "F<To>To: x\n|EF|", 0, 0},
    {"A: b\n c", 0, "F<A>A: b\n c\n|EF|", 0, 0},
    {"A:\n\n", 0, "F<A>A:\n|EB|", 0, 0},
    {"To: x\nnot a header\nmore\n", 0, "F<To>To: x\n|ED|not a header\nmore\n",
     0, 0},
    {"From joe@x Mon Jan  1 00:00:00 2024\nTo: y\n\nb", 0,
     "M:From joe@x Mon Jan  1 00:00:00 2024\n|F<To>To: y\n|EB|b", 0, 0},
    {"From joe\n folded\nTo: y\n\n", 0,
     "M:From joe\n folded\n|F<To>To: y\n|EB|", 0, 0},
    {"From: me\n\n", 0, "F<From>From: me\n|EB|", 0, 0},
    {"From\tx: y\n", 0, "ED|From\tx: y\n", 0, 0},
    {"Subject : x\n\n", 0, "F<Subject>Subject : x\n|EB|", 0, 0},
    {"Subject\t \t: x\n\n", 0, "F<Subject>Subject\t \t: x\n|EB|", 0, 0},
    {"Foo Bar: x\n\n", 0, "ED|Foo Bar: x\n\n", 0, 0},
    {": x\n", 0, "ED|: x\n", 0, 0},
    {" x: y\n", 0, "ED| x: y\n", 0, 0},
    {"\nbody", 0, "EB|body", 0, 0},
    {"", 0, "EF|", 0, 0},
    {"S\xc3\xbc" "bject: x\n", 0, "ED|S\xc3\xbc" "bject: x\n", 0, 0},
    {"Sub\x01ject: x\n", 0, "ED|Sub\x01ject: x\n", 0, 0},
    {"X: a\0b\n\nc", 9, "F<X>X: a\0b\n|EB|c", 16, 0},
    {"abc", 0, "ED|abc", 0, 0},
    {"X-Long-Name-With-Dashes.and_dots!: v\n\n", 0,
     "F<X-Long-Name-With-Dashes.and_dots!>X-Long-Name-With-Dashes.and_dots!: "
     "v\n|EB|",
     0, 0},
    {"A: b\r\n\r\n", 0, "F<A>A: b\r\n|ED|\r\n", 0, 0},
    /* the cap: exactly max bytes of header is fine, one more is not */
    {"A: 12345\n\nbody", 0, "F<A>A: 12345\n|EB|body", 0, 10},
    {"A: 123456\n\nbody", 0, "F<A>A: 123456\n|ERR90", 0, 10},
    {"A: 123456789\n\n", 0, "ERR90", 0, 10},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 0, "ERR90", 0, 10},
};

static void
t_header_every_split(void)
{
    struct bstr t = BSTR_INIT;

    for (size_t i = 0; i < sizeof hcases / sizeof hcases[0]; i++) {
        const struct hcase *c = &hcases[i];
        size_t n = c->len ? c->len : strlen(c->in);
        size_t max = c->max ? c->max : 1024 * 1024;
        size_t wl = c->wantlen ? c->wantlen : strlen(c->want);
        for (size_t cut = 0; cut <= n + 1; cut++) {
            transcript(c->in, n, max, cut, cut == n + 1, &t);
            if (!harness_check_mem(t.s, t.len, c->want, wl, c->in, __FILE__,
                                   __LINE__)) {
                fprintf(stderr, "  case %zu, cut %zu\n", i, cut);
                break;
            }
        }
    }
    bstr_free(&t);
}

static void
t_header_name_is(void)
{
    struct header h;
    size_t used;

    header_init(&h, 1000);
    CHECK_INT(header_feed(&h, "cC : x\nY", 8, &used), HEADER_FIELD);
    CHECK(header_name_is(&h, "Cc"));
    CHECK(!header_name_is(&h, "C"));
    CHECK(!header_name_is(&h, "Cc "));
    CHECK_INT(used, 7);
    header_free(&h);
}

/* ---- address lists ----------------------------------------------------- */

static int
record(void *ctx, struct headeraddr *a)
{
    struct bstr *b = ctx;

    if (a->group && bstr_cats(b, "g:") == -1)
        return -1;
    if (a->null)
        return bstr_cats(b, "<>;");
    if (bstr_catb(b, a->local.s, a->local.len) == -1 ||
        bstr_catc(b, '|') == -1 ||
        bstr_catb(b, a->domain.s, a->domain.len) == -1 ||
        bstr_catc(b, ';') == -1)
        return -1;
    return 0;
}

struct acase {
    const char *in;
    const char *out;   /* rendered; NULL: refused */
    const char *addrs; /* local|domain; ... or the reason's start */
};

static const struct acase acases[] = {
    {"a@b", "a@b", "a|b;"},
    {"a@b, c@d", "a@b, c@d", "a|b;c|d;"},
    {"a@b,c@d", "a@b, c@d", "a|b;c|d;"},
    {"  a@b  ,  ,c@d,", "a@b, c@d", "a|b;c|d;"},
    {"Joe Smith <joe@x.y>", "Joe Smith <joe@x.y>", "joe|x.y;"},
    {"\"Smith, Joe\" <joe@x>", "\"Smith, Joe\" <joe@x>", "joe|x;"},
    {"joe@x (Joe Smith)", "joe@x (Joe Smith)", "joe|x;"},
    {"(pre) joe@x", "(pre) joe@x", "joe|x;"},
    {"joe(c1)@x(c2)", "joe@x (c1) (c2)", "joe|x;"},
    {"Joe (work) <joe@x> (home)", "Joe (work) <joe@x> (home)", "joe|x;"},
    {"<@r1.example,@r2.example:joe@x>", "<joe@x>", "joe|x;"},
    {"<@r1:>", "<>", "<>;"},
    {"<>", "<>", "<>;"},
    {"Nobody <>", "Nobody <>", "<>;"},
    {"undisclosed-recipients:;", "undisclosed-recipients: ;", ""},
    {"grp: a@b, c@d;, e@f", "grp: a@b, c@d;, e@f", "g:a|b;g:c|d;e|f;"},
    {"A Group:a@b;", "A Group: a@b;", "g:a|b;"},
    {"djb fred", "djb, fred", "djb|;fred|;"},
    {"a@b c@d", "a@b, c@d", "a|b;c|d;"},
    {"a@b (x) c@d", "a@b (x), c@d", "a|b;c|d;"},
    {"\"john doe\"@x", "\"john doe\"@x", "john doe|x;"},
    {"john.\"doe\"@x", "john.doe@x", "john.doe|x;"},
    {"john . doe @ x . y", "john.doe@x.y", "john.doe|x.y;"},
    {"a@[1.2.3.4]", "a@[1.2.3.4]", "a|[1.2.3.4];"},
    {"a@[ 1.2.3.4 ]", "a@[1.2.3.4]", "a|[1.2.3.4];"},
    {"a@[1\\]]", NULL, "a backslash in a domain literal"},
    {"a@[]", "a@[]", "a|[];"},
    {"a@b.", "a@b", "a|b;"},
    {"a@", "a", "a|;"},
    {"a@.", "a", "a|;"},
    {"a.", "a", "a|;"},
    {"J. Smith <j@x>", "J. Smith <j@x>", "j|x;"},
    {"a@b; c@d", "a@b, c@d", "a|b;c|d;"},
    {"J\xc3\xb6rg <j@x>", "J\xc3\xb6rg <j@x>", "j|x;"},
    {"j\xc3\xb6rg@x", "j\xc3\xb6rg@x", "j\xc3\xb6rg|x;"},
    {"=?UTF-8?B?w7Y=?= <j@x>", "=?UTF-8?B?w7Y=?= <j@x>", "j|x;"},
    {"a@b,\n c@d", "a@b, c@d", "a|b;c|d;"},
    {"a@b,\r\n\tc@d", "a@b, c@d", "a|b;c|d;"},
    {"\"a\n b\" <x@y>", "\"a b\" <x@y>", "x|y;"},
    {"a\\@b@c", "\"a@b\"@c", "a@b|c;"},
    {"\"a\\\"b\"@c", "\"a\\\"b\"@c", "a\"b|c;"},
    {"a@b (x (y) z)", "a@b (x (y) z)", "a|b;"},
    {"a@b (x \\) y)", "a@b (x \\) y)", "a|b;"},
    {"", "", ""},
    {"   ", "", ""},
    {"(nobody)", "(nobody)", ""},
    {"<a@b> c@d", "<a@b>, c@d", "a|b;c|d;"},
    {"<a@b> (c) <c@d>", "<a@b> (c), <c@d>", "a|b;c|d;"},
    {"a@b <c@d>", "a@b <c@d>", "c|d;"},
    {"a@b c <d@e>", "a@b c <d@e>", "d|e;"},
    {"\"\"@x", NULL, "an empty local part"},
    {"a@b@c", NULL, "more than one"},
    {"\"unterminated", NULL, "a quoted string without"},
    {"(unterminated", NULL, "a comment without"},
    {"a@b (x (y)", NULL, "a comment without"},
    {"a@[1.2", NULL, "a domain literal without"},
    {"a@[1[2]", NULL, "\"[\" inside"},
    {"a)b", NULL, "\")\" without"},
    {"a]b", NULL, "\"]\" without"},
    {"<a@b", NULL, "\"<\" without"},
    {"a@b>", NULL, "\">\" without"},
    {"<<a@b>>", NULL, "\"<\" inside"},
    {"g: a@b", NULL, "a group without"},
    {"g: h: a;;", NULL, "a group inside"},
    {"a@b\x01", NULL, "a control character"},
    {"a\rb@c", NULL, "a control character"},
    {"a@b\x7f", NULL, "a control character"},
    {"\"a\x01\"@b", NULL, "a control character"},
    {"a\\", NULL, "a backslash"},
    {"a@b..c", NULL, "a bad domain"},
    {"a@.b", NULL, "a bad domain"},
    {"a@b.c..", NULL, "a bad domain"},
    {"a@\"b\"", NULL, "a bad domain"},
    {"a@[1]x", "a@[1], x", "a|[1];x|;"},
    {"a@b.[1]", NULL, "a bad domain"},
    {"a@b\\@c", NULL, "a bad domain"},
    {"a@b\\.c", NULL, "a bad domain"},
    {"@b", NULL, "an empty local part"},
    {".@b", NULL, "an empty local part"},
    {"<a:b@c>", NULL, "a special character"},
    {"<a,b@c>", NULL, "a special character"},
    {"<@r1,@r2 joe@x>", NULL, "a source route"},
    {"<a@b>: x", NULL, "\":\" after"},
    {"[1.2.3.4]@x", NULL, "a domain literal in"},
    {"a@b:", NULL, "a special character in a group"},
    {".", NULL, "an empty address"},
    {"a@b, \"x", NULL, "a quoted string without"},
    {"a@b\nBcc: c@d", NULL, "a control character"},
    {"a@b\r\nBcc: c@d", NULL, "a control character"},
    {"a@b,\n", "a@b", "a|b;"},
};

static void
t_addr_table(void)
{
    struct bstr out = BSTR_INIT, got = BSTR_INIT;

    for (size_t i = 0; i < sizeof acases / sizeof acases[0]; i++) {
        const struct acase *c = &acases[i];
        const char *why = NULL;
        int r;

        bstr_truncate(&out, 0);
        bstr_truncate(&got, 0);
        r = headeraddr_list(c->in, strlen(c->in), record, &got, &out, 4,
                            &why);
        if (c->out) {
            if (!CHECK_INT(r, 0)) {
                fprintf(stderr, "  input %s: %s\n", c->in, why ? why : "?");
                continue;
            }
            if (!CHECK_BSTR(out, c->out) || !CHECK_BSTR(got, c->addrs))
                fprintf(stderr, "  input %s\n", c->in);
            /* rendering is stable: the output parses to itself */
            bstr_truncate(&got, 0);
            bstr_truncate(&out, 0);
            CHECK_INT(headeraddr_list(c->out, strlen(c->out), NULL, NULL,
                                      &out, 4, &why),
                      0);
            CHECK_BSTR(out, c->out);
        } else {
            if (!CHECK_INT(r, -1) || !CHECK_INT(errno, EINVAL) ||
                !CHECK(why && strncmp(why, c->addrs, strlen(c->addrs)) == 0))
                fprintf(stderr, "  input %s: %s\n", c->in, why ? why : "-");
        }
    }
    bstr_free(&out);
    bstr_free(&got);
}

/* A callback may rewrite addresses; the rendering shows its changes. */
static int
upper_domain(void *ctx, struct headeraddr *a)
{
    (void)ctx;
    if (a->null)
        return 0;
    if (a->domain.len == 0)
        return bstr_cats(&a->domain, "DEFAULT");
    for (size_t i = 0; i < a->domain.len; i++)
        if (a->domain.s[i] >= 'a' && a->domain.s[i] <= 'z')
            a->domain.s[i] = (char)(a->domain.s[i] - 32);
    if (bstr_equals(&a->local, "refuse")) {
        a->why = "refused by the callback";
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static void
t_addr_rewrite(void)
{
    struct bstr out = BSTR_INIT;
    const char *why;

    CHECK_INT(headeraddr_list("Joe <joe@x.y>, fred, g: a@b;", 28,
                              upper_domain, NULL, &out, 0, &why),
              0);
    CHECK_BSTR(out, "Joe <joe@X.Y>, fred@DEFAULT, g: a@B;");
    bstr_truncate(&out, 0);
    CHECK_INT(headeraddr_list("a@b, refuse@c", 13, upper_domain, NULL, &out,
                              0, &why),
              -1);
    CHECK_STR(why, "refused by the callback");
    bstr_free(&out);
}

static void
t_addr_fold(void)
{
    struct bstr in = BSTR_INIT, out = BSTR_INIT, got = BSTR_INIT;
    const char *why;
    size_t col = 0, maxcol = 0, lines = 1;

    for (int i = 0; i < 40; i++)
        CHECK(bstr_catf(&in, "%suser%02d@example.test", i ? "," : "", i) ==
              0);
    CHECK_INT(headeraddr_list(in.s, in.len, record, &got, &out, 4, &why), 0);
    col = 4;
    for (size_t i = 0; i < out.len; i++) {
        if (out.s[i] == '\n') {
            lines++;
            CHECK(out.s[i - 1] == ',');
            CHECK(i + 2 < out.len && out.s[i + 1] == ' ' &&
                  out.s[i + 2] == ' ');
            col = 0;
            continue;
        }
        if (++col > maxcol)
            maxcol = col;
    }
    CHECK(maxcol <= 78);
    CHECK(lines > 10);
    /* the folded form reads back to the same addresses */
    bstr_truncate(&in, 0);
    CHECK_INT(headeraddr_list(out.s, out.len, record, &in, NULL, 0, &why), 0);
    CHECK_INT(in.len, got.len);
    CHECK(in.len == got.len && memcmp(in.s, got.s, in.len) == 0);
    bstr_free(&in);
    bstr_free(&out);
    bstr_free(&got);
}

static size_t
count_byte(const struct bstr *b, char c)
{
    size_t n = 0;

    for (size_t i = 0; i < b->len; i++)
        n += b->s[i] == c;
    return n;
}

/* A million words cost memory, not stack: old-style lists are a loop. */
static void
t_addr_huge(void)
{
    size_t n = 2000000;
    char *s = malloc(n);
    struct bstr out = BSTR_INIT;
    const char *why;
    clock_t t0;

    if (!CHECK(s != NULL))
        return;
    for (size_t i = 0; i < n; i += 2) {
        s[i] = 'a';
        s[i + 1] = ' ';
    }
    t0 = clock();
    CHECK_INT(headeraddr_list(s, n, NULL, NULL, &out, 0, &why), 0);
    CHECK_INT(count_byte(&out, 'a'), n / 2);
    CHECK_INT(count_byte(&out, ','), n / 2 - 1);
    /* words and bracketed addresses mixed: "a <b@c> a <b@c> ..." */
    for (size_t i = 0; i + 8 <= n; i += 8)
        memcpy(s + i, "a <b@c> ", 8);
    CHECK_INT(headeraddr_list(s, n, NULL, NULL, &out, 0, &why), 0);
    /* linear: a quadratic parser would take minutes here */
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 10.0);
    for (size_t i = 0; i < n; i++)
        s[i] = '(';
    CHECK_INT(headeraddr_list(s, n, NULL, NULL, &out, 0, &why), -1);
    free(s);
    s = calloc(1, HEADERADDR_MAX + 1);
    if (!CHECK(s != NULL))
        return;
    CHECK_INT(headeraddr_list(s, HEADERADDR_MAX + 1, NULL, NULL, &out, 0,
                              &why),
              -1);
    CHECK_INT(errno, EMSGSIZE);
    free(s);
    bstr_free(&out);
}

struct onecase {
    const char *in;
    int r;
    const char *local, *domain;
    bool null;
};

static const struct onecase ones[] = {
    {"a@b", 0, "a", "b", false},
    {"<a@b>", 0, "a", "b", false},
    {"Joe Smith <a@b>", 0, "a", "b", false},
    {"joe", 0, "joe", "", false},
    {"<>", 0, "", "", true},
    {"\"a b\"@c", 0, "a b", "c", false},
    {"a@b, c@d", -1, NULL, NULL, false},
    {"a b", -1, NULL, NULL, false},
    {"g: a@b;", -1, NULL, NULL, false},
    {"", -1, NULL, NULL, false},
    {"(comment)", -1, NULL, NULL, false},
    {"a@b\nBcc: c@d", -1, NULL, NULL, false},
    {"a@b\n", 0, "a", "b", false},
};

static void
t_addr_one(void)
{
    struct headeraddr a;

    memset(&a, 0, sizeof a);
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++) {
        const struct onecase *c = &ones[i];
        const char *why;
        int r = headeraddr_one(c->in, strlen(c->in), &a, &why);

        if (!CHECK_INT(r, c->r)) {
            fprintf(stderr, "  input %s\n", c->in);
            continue;
        }
        if (r == 0) {
            CHECK_BSTR(a.local, c->local);
            CHECK_BSTR(a.domain, c->domain);
            CHECK_INT(a.null, c->null);
        }
    }
    headeraddr_free(&a);
}

struct catcase {
    const char *local, *domain, *cat, *queue;
};

static const struct catcase cats[] = {
    {"joe", "x", "joe@x", "joe@x"},
    {"a b", "x", "\"a b\"@x", "a b@x"},
    {"a\"b\\c", "x", "\"a\\\"b\\\\c\"@x", "a\"b\\c@x"},
    {".a", "x", "\".a\"@x", ".a@x"},
    {"a.", "x", "\"a.\"@x", "a.@x"},
    {"a..b", "x", "\"a..b\"@x", "a..b@x"},
    {"a.b", "x", "a.b@x", "a.b@x"},
    {"a@b", "x", "\"a@b\"@x", "a@b@x"},
    {"j\xc3\xb6rg", "x", "j\xc3\xb6rg@x", "j\xc3\xb6rg@x"},
    {"joe", "", "joe", "joe"},
    {"!#$%&'*+-/=?^_`{|}~", "x", "!#$%&'*+-/=?^_`{|}~@x",
     "!#$%&'*+-/=?^_`{|}~@x"},
};

static void
t_addr_cat(void)
{
    struct headeraddr a;
    struct bstr out = BSTR_INIT;

    memset(&a, 0, sizeof a);
    for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++) {
        CHECK(bstr_copys(&a.local, cats[i].local) == 0);
        CHECK(bstr_copys(&a.domain, cats[i].domain) == 0);
        bstr_truncate(&out, 0);
        CHECK(headeraddr_cat(&out, &a) == 0);
        CHECK_BSTR(out, cats[i].cat);
        bstr_truncate(&out, 0);
        CHECK(headeraddr_queue(&out, &a) == 0);
        CHECK_BSTR(out, cats[i].queue);
    }
    a.null = true;
    bstr_truncate(&out, 0);
    CHECK(headeraddr_cat(&out, &a) == 0 && headeraddr_queue(&out, &a) == 0);
    CHECK_INT(out.len, 0);
    headeraddr_free(&a);
    bstr_free(&out);
}

static const struct test_case cases[] = {
    {"header: every case, every split", t_header_every_split},
    {"header: name_is", t_header_name_is},
    {"headeraddr: forms and refusals", t_addr_table},
    {"headeraddr: callback rewrites", t_addr_rewrite},
    {"headeraddr: folding long lists", t_addr_fold},
    {"headeraddr: huge lists", t_addr_huge},
    {"headeraddr: one address", t_addr_one},
    {"headeraddr: quoting", t_addr_cat},
};

TEST_MAIN(cases)
