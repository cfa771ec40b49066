/* SPDX-License-Identifier: ISC */
/*
 * pop3cmd - split a POP3 command line into verb and argument, and read
 * the decimal numbers of LIST, RETR, DELE, TOP and UIDL.
 *
 * Guarantees: never reads outside [line, line+len), never allocates,
 * never fails; a verb is recognised only when the whole first word
 * matches (so "RETRX" or "RE\0TR" is POP3_UNKNOWN); numbers refuse signs,
 * spaces before the digits and values that do not fit an unsigned long.
 */
#include "pop3cmd.h"

#include <limits.h>
#include <string.h>

static const struct {
    enum pop3_verb verb;
    const char *name;
} verbs[] = {
    {POP3_USER, "USER"}, {POP3_PASS, "PASS"}, {POP3_APOP, "APOP"},
    {POP3_AUTH, "AUTH"}, {POP3_STLS, "STLS"}, {POP3_CAPA, "CAPA"},
    {POP3_QUIT, "QUIT"}, {POP3_NOOP, "NOOP"}, {POP3_STAT, "STAT"},
    {POP3_LIST, "LIST"}, {POP3_RETR, "RETR"}, {POP3_DELE, "DELE"},
    {POP3_RSET, "RSET"}, {POP3_TOP, "TOP"},   {POP3_UIDL, "UIDL"},
    {POP3_LAST, "LAST"},
};

static bool
is_ctl(unsigned char ch)
{
    return ch < 0x20 || ch == 0x7f;
}

static unsigned char
upper(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') ? (unsigned char)(ch - 'a' + 'A') : ch;
}

static enum pop3_verb
lookup(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        const char *name = verbs[i].name;
        size_t k = strlen(name);
        size_t j;

        if (k != n)
            continue;
        for (j = 0; j < n; j++)
            if (upper((unsigned char)w[j]) != (unsigned char)name[j])
                break;
        if (j == n)
            return verbs[i].verb;
    }
    return POP3_UNKNOWN;
}

/*
 * pop3cmd_parse - one line (without its LF) into c.  A CR left at the end
 * by a caller that removed only the LF is dropped too.  c->arg always
 * points into line (or at "" when there is no argument) and is not
 * NUL-terminated: use c->arglen.
 */
void
pop3cmd_parse(const char *line, size_t len, struct pop3cmd *c)
{
    size_t i, verblen;

    c->verb = POP3_UNKNOWN;
    c->arg = "";
    c->arglen = 0;
    c->ctl = false;
    if (line == NULL)
        return;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    for (i = 0; i < len; i++)
        if (is_ctl((unsigned char)line[i]))
            c->ctl = true;
    for (i = 0; i < len && line[i] != ' '; i++)
        ;
    verblen = i;
    while (i < len && line[i] == ' ')
        i++;
    if (i < len) {
        c->arg = line + i;
        c->arglen = len - i;
    }
    c->verb = lookup(line, verblen);
}

/*
 * pop3cmd_number - read a decimal number at the start of s.  Returns 1
 * with *n and, when rest/restlen are given, the text after the number
 * and the spaces that follow it; 0 when s does not start with a digit or
 * the number does not fit an unsigned long.
 */
int
pop3cmd_number(const char *s, size_t len, unsigned long *n, const char **rest,
               size_t *restlen)
{
    unsigned long v = 0;
    size_t i = 0;

    if (s == NULL)
        return 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');

        if (v > (ULONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
        i++;
    }
    if (i == 0)
        return 0;
    while (i < len && s[i] == ' ')
        i++;
    *n = v;
    if (rest != NULL)
        *rest = s + i;
    if (restlen != NULL)
        *restlen = len - i;
    return 1;
}

/* pop3cmd_verb_name - the verb's name in capitals, "?" for POP3_UNKNOWN. */
const char *
pop3cmd_verb_name(enum pop3_verb v)
{
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (verbs[i].verb == v)
            return verbs[i].name;
    return "?";
}
