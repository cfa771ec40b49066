/* SPDX-License-Identifier: ISC */
/*
 * fuzz_pop3cmd - POP3 command lines as qmail-popup and qmail-pop3d read
 * them from the network, and message files as qmail-pop3d sends them.
 * Each input line is parsed: the argument must lie inside the line, a
 * known verb's name must parse back to it, and the control flag must
 * match the bytes.  Its argument is read as a number (and the rest as a
 * second one): when that succeeds the value must equal the digits' and
 * the rest must lie inside the argument.  The whole input is encoded as
 * RETR and TOP would send it: every LF out must follow a CR, and no line
 * but the last may be a lone dot.  Any broken property aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3cmd.h"
#include "pop3d.h"

static void
must(int cond)
{
    if (!cond)
        abort();
}

static void
one_line(const char *line, size_t len)
{
    struct pop3cmd c;
    bool ctl = false;
    size_t stripped = len && line[len - 1] == '\r' ? len - 1 : len;

    for (size_t i = 0; i < stripped; i++)
        ctl |= (unsigned char)line[i] < 0x20 || line[i] == 0x7f;
    pop3cmd_parse(line, len, &c);
    must(c.ctl == ctl);
    must(c.arglen == 0 ||
         (c.arg > line && c.arg + c.arglen <= line + stripped));
    must(c.arglen == 0 || c.arg[0] != ' ');
    if (c.verb != POP3_UNKNOWN) {
        const char *name = pop3cmd_verb_name(c.verb);
        size_t n = strlen(name);
        must(len >= n && strncasecmp(line, name, n) == 0);
        must(n == stripped || line[n] == ' ');
    }

    unsigned long u, v;
    const char *rest, *more;
    size_t restlen, morelen;
    if (pop3cmd_number(c.arg, c.arglen, &u, &rest, &restlen)) {
        unsigned long want = 0;
        size_t i = 0;
        while (i < c.arglen && c.arg[i] >= '0' && c.arg[i] <= '9')
            want = want * 10 + (unsigned long)(c.arg[i++] - '0');
        must(i > 0 && u == want);
        must(rest >= c.arg + i && rest + restlen == c.arg + c.arglen);
        if (pop3cmd_number(rest, restlen, &v, &more, &morelen))
            must(more > rest && more + morelen == rest + restlen);
    }
}

static void
one_message(const char *p, size_t n, bool top, unsigned long lines)
{
    struct pop3d_enc e;
    struct bstr out = BSTR_INIT;

    pop3d_enc_init(&e, top, lines);
    /* in two pieces: the split must not matter to the invariants */
    must(pop3d_enc_push(&e, p, n / 2, &out) == 0);
    must(pop3d_enc_push(&e, p + n / 2, n - n / 2, &out) == 0);
    must(pop3d_enc_end(&e, &out) == 0);
    must(out.len >= 3 && memcmp(out.s + out.len - 3, ".\r\n", 3) == 0);
    for (size_t i = 0; i < out.len; i++)
        if (out.s[i] == '\n')
            must(i > 0 && out.s[i - 1] == '\r');
    must(out.len == 3 || !memmem(out.s, out.len - 3, "\r\n.\r\n", 5));
    must(out.len == 3 || memcmp(out.s, ".\r\n", 3) != 0);
    must(out.len <= 2 * n + 5);
    bstr_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    size_t start = 0;

    for (size_t i = 0; i <= size; i++)
        if (i == size || t[i] == '\n') {
            one_line(t + start, i - start);
            start = i + 1;
        }
    one_message(t, size, false, 0);
    one_message(t, size, true, 0);
    one_message(t, size, true, size ? (unsigned long)data[0] % 8 : 1);
    return 0;
}
