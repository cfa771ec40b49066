/* SPDX-License-Identifier: ISC */
/* test_vis - envelope bytes made safe to show to an admin. */
#include <string.h>

#include "harness.h"
#include "vis.h"

struct vcase {
    const char *in;
    size_t len;
    const char *want;
};

#define V(lit, want) {lit, sizeof lit - 1, want}

static const struct vcase cases[] = {
    V("user@example.com", "user@example.com"),
    V("", ""),
    /* ESC sequences and line breaks never reach a terminal or a log */
    V("a\033[2Jb", "a\\033[2Jb"),
    V("x@y\n@4000 new msg 1", "x@y\\012@4000 new msg 1"),
    V("cr\rlf", "cr\\015lf"),
    V("nul\0x", "nul\\000x"),
    V("del\177", "del\\177"),
    V("tab\t", "tab\\011"),
    /* the backslash itself, so that the escaping can be undone */
    V("a\\b", "a\\134b"),
    /* valid UTF-8 passes, C1 controls in UTF-8 do not */
    V("j\xc3\xb6rg@b\xc3\xbc" "cher.de", "j\xc3\xb6rg@b\xc3\xbc" "cher.de"),
    V("\xe2\x82\xac" "@x", "\xe2\x82\xac" "@x"),
    V("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"),
    V("csi\xc2\x9b" "2J", "csi\\302\\2332J"),
    V("nel\xc2\x85", "nel\\302\\205"),
    V("nbsp\xc2\xa0", "nbsp\xc2\xa0"),
    /* bytes that are not UTF-8: raw C1, overlong forms, surrogates,
     * truncated sequences, beyond U+10FFFF */
    V("\x9b" "2J", "\\2332J"),
    V("\xc0\xaf", "\\300\\257"),
    V("\xe0\x80\xaf", "\\340\\200\\257"),
    V("\xed\xa0\x80", "\\355\\240\\200"),
    V("\xe2\x82", "\\342\\202"),
    V("\xf4\x90\x80\x80", "\\364\\220\\200\\200"),
    V("\xff", "\\377"),
};

static void
t_table(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bstr out = BSTR_INIT;
        bool same = strlen(cases[i].want) == cases[i].len &&
                    memcmp(cases[i].want, cases[i].in, cases[i].len) == 0;

        CHECK(vis_cat(&out, cases[i].in, cases[i].len) == 0);
        CHECK_BSTR(out, cases[i].want);
        CHECK_INT(vis_clean(cases[i].in, cases[i].len), same);
        bstr_free(&out);
    }
}

static void
t_appends(void)
{
    struct bstr out = BSTR_INIT;

    CHECK(bstr_cats(&out, "to <") == 0);
    CHECK(vis_cat(&out, "a\nb", 3) == 0);
    CHECK(bstr_cats(&out, ">") == 0);
    CHECK_BSTR(out, "to <a\\012b>");
    bstr_free(&out);
}

/* every byte value alone comes out as printable ASCII */
static void
t_all_bytes(void)
{
    char in[256];
    struct bstr out = BSTR_INIT;

    for (int i = 0; i < 256; i++)
        in[i] = (char)i;
    CHECK(vis_cat(&out, in, sizeof in) == 0);
    for (size_t i = 0; i < out.len; i++)
        CHECK((unsigned char)out.s[i] >= 0x20 &&
              (unsigned char)out.s[i] < 0x7f);
    bstr_free(&out);
}

static void
t_mask(void)
{
    char a[] = "x\033[2J\n\xc2\x9b" "1\xc3\xa9\\\xff\x7f";

    vis_mask(a, sizeof a - 1, '?');
    CHECK_STR(a, "x?[2J???1\xc3\xa9\\??");
}

static const struct test_case tcases[] = {
    {"mask", t_mask},
    {"table", t_table},
    {"appends", t_appends},
    {"all_bytes", t_all_bytes},
};

TEST_MAIN(tcases)
