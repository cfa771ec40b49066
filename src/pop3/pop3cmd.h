/* SPDX-License-Identifier: ISC */
/*
 * pop3cmd - the POP3 command line parser that qmail-popup (AUTHORIZATION
 * state) and qmail-pop3d (TRANSACTION state) share.
 *
 * Pure: no I/O, no allocation, never fails.  A line is split as qmail's
 * command reader splits it: the verb up to the first space, then the
 * argument is everything after the run of spaces that follows (PASS keeps
 * the rest whole, spaces included).  Control bytes (NUL included) never
 * appear in a command (RFC 1939 §3, RFC 2449 §4); the parser only flags
 * them and leaves the refusal to the caller.
 */
#ifndef POP3CMD_H
#define POP3CMD_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 2449 §4: a command line is at most 255 octets with CRLF */
#define POP3CMD_MAX 255

enum pop3_verb {
    POP3_UNKNOWN,
    POP3_USER,
    POP3_PASS,
    POP3_APOP,
    POP3_AUTH,
    POP3_STLS,
    POP3_CAPA,
    POP3_QUIT,
    POP3_NOOP,
    POP3_STAT,
    POP3_LIST,
    POP3_RETR,
    POP3_DELE,
    POP3_RSET,
    POP3_TOP,
    POP3_UIDL,
    POP3_LAST
};

struct pop3cmd {
    enum pop3_verb verb;
    const char *arg; /* points into the line: the text after the verb and its
                        spaces ("" when none) */
    size_t arglen;
    bool ctl; /* the line held a NUL or another control byte (not allowed in a
                 command) */
};

/* pop3cmd_parse - one line (its CRLF or LF already removed) into c; verbs are
 * case-insensitive (RFC 1939 §3); the argument is the rest after the first
 * space(s), as qmail's command reader gives it (PASS takes the whole rest,
 * spaces included).  Never fails: unknown -> POP3_UNKNOWN. */
void pop3cmd_parse(const char *line, size_t len, struct pop3cmd *c);

/* pop3cmd_number - a message number or line count: decimal digits only, no
 * sign, no overflow; 1 parsed (*n, *rest after trailing spaces), 0 not a
 * number. */
int pop3cmd_number(const char *s, size_t len, unsigned long *n,
                   const char **rest, size_t *restlen);

/* pop3cmd_verb_name - "USER" for POP3_USER, for logs */
const char *pop3cmd_verb_name(enum pop3_verb v);

#endif
