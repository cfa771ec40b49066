/* SPDX-License-Identifier: ISC */
/*
 * result - the table of delivery results, their formatter and their
 * parser (see result.h).
 *
 * A text is qmail-1.03's where qmail had the case (qmail-local's,
 * qmail-remote's), word for word and with its "(#x.y.z)"; the rest
 * follow the same style.  The parser reads what the formatter and
 * qmail-remote wrote, from a queue's bounce file, which may also hold
 * texts of older versions and of other programs: it trusts nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "result.h"

#define T OUTCOME_TEMP
#define P OUTCOME_PERM

static const struct result table[RS_COUNT] = {
    [RS_NOMEM] = {RS_NOMEM, "nomem", T, "4.3.0", RESULT_NOMEM_TEXT},
    [RS_HOME_STAT] = {RS_HOME_STAT, "home", T, "4.3.0",
                      "Unable to stat home directory: %s. (#4.3.0)"},
    [RS_HOME_WRITABLE] = {RS_HOME_WRITABLE, "home", T, "4.7.0",
                          "Uh-oh: home directory is writable. (#4.7.0)"},
    [RS_HOME_STICKY] = {RS_HOME_STICKY, "sticky", T, "4.2.1",
                        "Home directory is sticky: user is editing his "
                        ".qmail file. (#4.2.1)"},
    [RS_OPEN] = {RS_OPEN, "open", T, "4.3.0",
                 "Unable to open %s: %s. (#4.3.0)"},
    [RS_READ] = {RS_READ, "read", T, "4.3.0",
                 "Unable to read %s: %s. (#4.3.0)"},
    [RS_CHDIR] = {RS_CHDIR, "chdir", T, "4.3.0",
                  "Unable to switch to %s: %s. (#4.3.0)"},
    [RS_DOTQMAIL_WRITABLE] = {RS_DOTQMAIL_WRITABLE, "dotqmail", T, "4.7.0",
                              "Uh-oh: .qmail file is writable. (#4.7.0)"},
    [RS_DOTQMAIL_TOOBIG] = {RS_DOTQMAIL_TOOBIG, "dotqmail", T, "4.2.1",
                            "Uh-oh: %s is too big. (#4.2.1)"},
    [RS_DOTQMAIL_BLANK] = {RS_DOTQMAIL_BLANK, "dotqmail", T, "4.2.1",
                           "Uh-oh: first line of .qmail file is blank. "
                           "(#4.2.1)"},
    [RS_DOTQMAIL_XBIT] = {RS_DOTQMAIL_XBIT, "dotqmail", T, "4.7.0",
                          "Uh-oh: %s. (#4.7.0)"},
    [RS_DOTQMAIL_LINE] = {RS_DOTQMAIL_LINE, "dotqmail", T, "4.2.1",
                          "Uh-oh: %s line %s: %s. (#4.2.1)"},
    [RS_NOMAILBOX] = {RS_NOMAILBOX, "nomailbox", P, "5.1.1",
                      "Sorry, no mailbox here by that name. (#5.1.1)"},

    [RS_REWIND] = {RS_REWIND, "rewind", T, "4.3.0",
                   "Unable to rewind message. (#4.3.0)"},
    [RS_READ_MSG] = {RS_READ_MSG, "readmsg", T, "4.3.0",
                     "Unable to read message: %s. (#4.3.0)"},
    [RS_LOOP] = {RS_LOOP, "loop", P, "5.4.6",
                 "This message is looping: it already has my Delivered-To "
                 "line. (#5.4.6)"},
    [RS_MAILDIR_OPEN] = {RS_MAILDIR_OPEN, "maildir", T, "4.2.1",
                         "Unable to open maildir %s: %s. (#4.2.1)"},
    /* a full disk or quota: qmail's mailbox-full code */
    [RS_MAILDIR_FULL] = {RS_MAILDIR_FULL, "maildir", T, "4.2.2",
                         "Unable to write to maildir %s: %s. (#4.2.2)"},
    [RS_MAILDIR_WRITE] = {RS_MAILDIR_WRITE, "maildir", T, "4.3.0",
                          "Unable to write to maildir %s: %s. (#4.3.0)"},
    [RS_MBOX_OPEN] = {RS_MBOX_OPEN, "mbox", T, "4.2.1",
                      "Unable to open %s: %s. (#4.2.1)"},
    [RS_MBOX_DOTLOCK] = {RS_MBOX_DOTLOCK, "mbox", T, "4.3.0",
                         "Lock file %s.lock has been there for %s seconds "
                         "straight. (#4.3.0)"},
    [RS_MBOX_LOCK] = {RS_MBOX_LOCK, "mbox", T, "4.3.0",
                      "Unable to lock %s: %s. (#4.3.0)"},
    [RS_MBOX_LOCKED] = {RS_MBOX_LOCKED, "mbox", T, "4.3.0",
                        "File has been locked for 30 seconds straight. "
                        "(#4.3.0)"},
    [RS_MBOX_WRITE] = {RS_MBOX_WRITE, "mbox", T, "4.3.0",
                       "Unable to write %s: %s. (#4.3.0)"},
    [RS_FORK] = {RS_FORK, "fork", T, "4.3.0", "Unable to fork: %s. (#4.3.0)"},
    [RS_RUN_SH] = {RS_RUN_SH, "exec", T, "4.3.0",
                   "Unable to run /bin/sh: %s. (#4.3.0)"},
    [RS_WAIT] = {RS_WAIT, "wait", T, "4.3.0",
                 "Unable to wait for program: %s. (#4.3.0)"},
    [RS_CRASHED] = {RS_CRASHED, "crashed", T, "4.3.0",
                    "Aack, child crashed. (#4.3.0)"},

    [RS_MESS_OPEN] = {RS_MESS_OPEN, "mess", T, "4.3.0",
                      "Unable to open message %s: %s. (#4.3.0)"},
    [RS_MESS_SETUP] = {RS_MESS_SETUP, "mess", T, "4.3.0",
                       "Unable to set up message: %s. (#4.3.0)"},
    [RS_LSPAWN_NOMEM] = {RS_LSPAWN_NOMEM, "nomem", T, "4.3.0",
                         "Out of memory in qmail-lspawn. (#4.3.0)"},
    /* the user database's own words (users.h), then the code */
    [RS_USERS] = {RS_USERS, "users", T, "4.3.0", "%s (#4.3.0)"},
    [RS_ROOT] = {RS_ROOT, "root", P, "5.7.1",
                 "Not allowed to perform deliveries as root. (#5.7.1)"},
    [RS_SETUSER] = {RS_SETUSER, "setuser", T, "4.3.0",
                    "Unable to switch to user %s: %s. (#4.3.0)"},
    [RS_RUN] = {RS_RUN, "exec", T, "4.3.0", "Unable to run %s: %s. (#4.3.0)"},
    [RS_LOCAL_CRASHED] = {RS_LOCAL_CRASHED, "crashed", T, "4.3.0",
                          "qmail-local crashed (signal %s). (#4.3.0)"},
    [RS_LSPAWN_ONE] = {RS_LSPAWN_ONE, "request", T, "4.3.0",
                       "qmail-lspawn takes one recipient per delivery. "
                       "(#4.3.0)"},
    [RS_LSPAWN_BUSY] = {RS_LSPAWN_BUSY, "busy", T, "4.3.0",
                        "Too many deliveries at once in qmail-lspawn. "
                        "(#4.3.0)"},
    [RS_LSPAWN_PIPE] = {RS_LSPAWN_PIPE, "pipe", T, "4.3.0",
                        "Unable to create a pipe in qmail-lspawn. (#4.3.0)"},
    [RS_LSPAWN_FORK] = {RS_LSPAWN_FORK, "fork", T, "4.3.0",
                        "Unable to fork in qmail-lspawn. (#4.3.0)"},

    /* qmail-1.03's report for wrong arguments, after its 'D' */
    [RS_MISUSED] = {RS_MISUSED, "usage", P, "5.3.5",
                    "I (qmail-remote) was invoked improperly. (#5.3.5)"},
    [RS_CTL_READ] = {RS_CTL_READ, "control", T, "4.3.0",
                     "Unable to read control file %s: %s. (#4.3.0)"},
    [RS_CTLS_READ] = {RS_CTLS_READ, "control", T, "4.3.0",
                      "Unable to read control files. (#4.3.0)"},
    [RS_HOME_CHDIR] = {RS_HOME_CHDIR, "chdir", T, "4.3.0",
                       "Unable to switch to home directory. (#4.3.0)"},
    [RS_DNS_SETUP] = {RS_DNS_SETUP, "dns", T, "4.3.0",
                      "Unable to set up DNS: %s. (#4.3.0)"},
    [RS_OSERR] = {RS_OSERR, "oserr", T, "4.3.0",
                  "System resources temporarily unavailable. (#4.3.0)"},
    [RS_OUTGOINGIP_BAD] = {RS_OUTGOINGIP_BAD, "control", T, "4.3.0",
                           "control/outgoingip: %s is not an IP address. "
                           "(#4.3.0)"},
    [RS_OUTGOINGIP_TWO] = {RS_OUTGOINGIP_TWO, "control", T, "4.3.0",
                           "control/outgoingip: more than one IPv%s "
                           "address. (#4.3.0)"},
    [RS_AUTH_MODE] = {RS_AUTH_MODE, "control", T, "4.3.0",
                      "Sorry, %s holds passwords and others may read it "
                      "(chmod 600 it). (#4.3.0)"},
    [RS_AUTH_LINE] = {RS_AUTH_LINE, "control", T, "4.3.0",
                      "%s: line %s is not host:user:password. (#4.3.0)"},
    [RS_ROUTES_LINE] = {RS_ROUTES_LINE, "control", T, "4.3.0",
                        "control/smtproutes: line %s is not a route. "
                        "(#4.3.0)"},
    [RS_IPME_BAD] = {RS_IPME_BAD, "control", T, "4.3.0",
                     "control/moreipme or control/notipme: %s is not an IP "
                     "address. (#4.3.0)"},
    [RS_TLSDEST_LINE] = {RS_TLSDEST_LINE, "control", T, "4.3.0",
                         "control/tlsdestinations: line %s is not a "
                         "policy. (#4.3.0)"},

    [RS_HOST_NONE] = {RS_HOST_NONE, "nohost", P, "5.1.2",
                      "Sorry, I couldn't find any host named %s. (#5.1.2)"},
    /* not a case qmail-1.03 knew: RFC 7505 §4.2's code */
    [RS_HOST_NULLMX] = {RS_HOST_NULLMX, "nullmx", P, "5.1.10",
                        "Sorry, %s accepts no mail: its MX is \".\" (null "
                        "MX). (#5.1.10)"},
    [RS_HOST_TEMP] = {RS_HOST_TEMP, "dns", T, "4.1.2",
                      "Sorry, I couldn't find any host by that name. "
                      "(#4.1.2)"},
    /* two lines, as qmail-1.03 wrote it */
    [RS_MX_LOOP] = {RS_MX_LOOP, "mxloop", P, "5.4.6",
                    "Sorry. Although I'm listed as a best-preference MX or A "
                    "for that host,\nit isn't in my control/locals file, so "
                    "I don't treat it as local. (#5.4.6)"},
    [RS_NOCONN] = {RS_NOCONN, "noconn", T, "4.4.1",
                   "Sorry, I wasn't able to establish an SMTP connection. "
                   "(#4.4.1)"},
    [RS_UNBOUND] = {RS_UNBOUND, "noconn", T, "4.4.1",
                    "Sorry, I wasn't able to establish an SMTP connection. "
                    "(#4.4.1)\nUnable to connect from %s "
                    "(control/outgoingip): %s."},
    /* the middle argument: "Possible duplicate! " or nothing */
    [RS_SENT_BAD] = {RS_SENT_BAD, "died", T, "4.4.2",
                     "Connected to %s but it sent %s. %s(#4.4.2)"},
    [RS_DIED] = {RS_DIED, "died", T, "4.4.2",
                 "Connected to %s but connection died. %s(#4.4.2)"},
    [RS_TLS_FAILED] = {RS_TLS_FAILED, "tls", T, "4.7.5",
                       "Sorry, TLS with %s failed: %s; %s. (#4.7.5)"},
    [RS_AUTH_NOTLS] = {RS_AUTH_NOTLS, "auth", T, "4.7.0",
                       "Sorry, control/smtproutes-auth has a login for %s, "
                       "and I send passwords only over TLS, which it did "
                       "not give. (#4.7.0)"},
    [RS_AUTH_NOMECH] = {RS_AUTH_NOMECH, "auth", T, "4.7.0",
                        "Sorry, %s offers neither AUTH PLAIN nor AUTH LOGIN, "
                        "and control/smtproutes-auth has a login for it. "
                        "(#4.7.0)"},
    [RS_AUTH_REFUSED] = {RS_AUTH_REFUSED, "auth", T, "4.7.0",
                         "Connected to %s but my login as %s was refused. "
                         "(#4.7.0)"},

    [RS_NOREAD] = {RS_NOREAD, "readmsg", T, "4.3.0",
                   "Unable to read message. (#4.3.0)"},
    [RS_SENDER_CTL] = {RS_SENDER_CTL, "badsender", P, "5.1.7",
                       "Sorry, the envelope sender contains control "
                       "characters. (#5.1.7)"},
    [RS_RCPT_CTL] = {RS_RCPT_CTL, "badrcpt", P, "5.1.3",
                     "Sorry, the recipient address contains control "
                     "characters. (#5.1.3)"},
    [RS_NORCPT_LEFT] = {RS_NORCPT_LEFT, "badrcpt", P, "5.1.3",
                        "Sorry, no recipient could be given to the remote "
                        "host. (#5.1.3)"},
    [RS_SENDER_UTF8] = {RS_SENDER_UTF8, "utf8", P, "5.6.7",
                        "Sorry, %s does not take UTF-8 addresses "
                        "(SMTPUTF8), and the sender is one. (#5.6.7)"},
    [RS_RCPT_UTF8] = {RS_RCPT_UTF8, "utf8", P, "5.6.7",
                      "Sorry, %s does not take UTF-8 addresses (SMTPUTF8). "
                      "(#5.6.7)"},
    [RS_TOOBIG] = {RS_TOOBIG, "toobig", P, "5.3.4",
                   "Sorry, the message is %s bytes, more than %s accepts "
                   "(%s bytes). (#5.3.4)"},

    /* qmail-1.03's lines naming who said what; the server's reply
     * (RESULT_SAID) follows and decides the code */
    [RS_R_GREETING] = {RS_R_GREETING, "greeting", T, NULL,
                       "Connected to %s but greeting failed."},
    [RS_R_HELO] = {RS_R_HELO, "helo", T, NULL,
                   "Connected to %s but my name was rejected."},
    [RS_R_SENDER] = {RS_R_SENDER, "sender", T, NULL,
                     "Connected to %s but sender was rejected."},
    [RS_R_RCPT] = {RS_R_RCPT, "rcpt", T, NULL, "%s does not like recipient."},
    [RS_R_GIVEUP] = {RS_R_GIVEUP, "giveup", P, NULL, "Giving up on %s."},
    [RS_R_DATA] = {RS_R_DATA, "data", T, NULL, "%s failed on DATA command."},
    [RS_R_AFTERDATA] = {RS_R_AFTERDATA, "data", T, NULL,
                        "%s failed after I sent the message."},
    [RS_R_ACCEPTED] = {RS_R_ACCEPTED, "accepted", OUTCOME_OK, NULL,
                       "%s accepted message."},
    /* after qmail's lines: how the message went (or would have) */
    [RS_NOTE_PLAIN] = {RS_NOTE_PLAIN, "tls", OUTCOME_OK, NULL,
                       "TLS: none, STARTTLS with %s failed: %s; sent without "
                       "TLS."},
    [RS_NOTE_TLS] = {RS_NOTE_TLS, "tls", OUTCOME_OK, NULL,
                     "TLS: %s with %s (%s bits), certificate %s."},

    [RS_REMOTE_START] = {RS_REMOTE_START, "rspawn", T, "4.3.0",
                         "Unable to start qmail-remote. (#4.3.0)"},
    [RS_REMOTE_CRASHED] = {RS_REMOTE_CRASHED, "rspawn", T, "4.3.0",
                           "qmail-remote crashed (signal %s). (#4.3.0)"},
    [RS_REMOTE_FAILED] = {RS_REMOTE_FAILED, "rspawn", T, "4.3.0",
                          "qmail-remote failed (exit code %s). (#4.3.0)"},
    [RS_REMOTE_NOREPORT] = {RS_REMOTE_NOREPORT, "rspawn", T, "4.3.0",
                            "qmail-remote ended without a report. "
                            "(#4.3.0)"},
    [RS_REMOTE_GARBLED] = {RS_REMOTE_GARBLED, "rspawn", T, "4.3.0",
                           "qmail-remote garbled its report. (#4.3.0)"},
    [RS_NORCPTS] = {RS_NORCPTS, "rspawn", T, "4.3.0",
                    "No recipients. (#4.3.0)"},

    [RS_EXPIRED] = {RS_EXPIRED, "expired", P, "5.4.7",
                    "The queue administrator expired this message. "
                    "(#5.4.7)"},
};

#undef T
#undef P

/* result_get - the table's row for r. */
const struct result *
result_get(enum result_reason r)
{
    if ((unsigned)r >= RS_COUNT)
        r = RS_NOMEM; /* never happens; temporary is the safe answer */
    return &table[r];
}

/* result_exit - the exit code that goes with r: 100 or 111. */
int
result_exit(enum result_reason r)
{
    return result_get(r)->kind == OUTCOME_PERM ? EXIT_PERM : EXIT_TEMP;
}

/* result_nargs - how many arguments r's text takes. */
size_t
result_nargs(enum result_reason r)
{
    return bstr_fill_nargs(result_get(r)->text);
}

/*
 * result_cat - append r's text with args in the places of its "%s".
 * Returns 0, or -1: ENOMEM, or EINVAL when nargs is not the number the
 * text takes (out is then unchanged).
 */
int
result_cat(struct bstr *out, enum result_reason r, const char *const *args,
           size_t nargs)
{
    return bstr_cat_fill(out, result_get(r)->text, args, nargs);
}

/*
 * result_line - append r's text and a newline (qmail-remote's reports
 * and the spawners' are lines).  0, or -1 with out unchanged.
 */
int
result_line(struct bstr *out, enum result_reason r, const char *const *args,
            size_t nargs)
{
    size_t len0 = out->len;

    if (result_cat(out, r, args, nargs) == -1)
        return -1;
    if (bstr_catc(out, '\n') == -1) {
        bstr_truncate(out, len0);
        return -1;
    }
    return 0;
}

/*
 * result_set - out becomes r's text; when that fails (out of memory) out
 * is left empty, which callers take as "out of memory".  0 or -1.
 */
int
result_set(struct bstr *out, enum result_reason r, const char *const *args,
           size_t nargs)
{
    bstr_truncate(out, 0);
    return result_cat(out, r, args, nargs);
}

/* result_num - u in decimal, in buf (NUL-terminated), for an argument. */
const char *
result_num(char buf[FMT_ULONG], unsigned long long u)
{
    buf[fmt_ull(buf, u)] = '\0';
    return buf;
}

/* result_said - append RESULT_SAID and the remote server's reply lines
 * (qmail-remote's way of quoting it).  Nothing for an empty reply.
 * 0, or -1 with out unchanged. */
int
result_said(struct bstr *out, const char *reply, size_t len)
{
    size_t len0 = out->len;

    if (len == 0)
        return 0;
    if (bstr_cats(out, RESULT_SAID) == -1 || bstr_catb(out, reply, len) == -1) {
        bstr_truncate(out, len0);
        return -1;
    }
    return 0;
}

/* ---- reading a result back ------------------------------------------ */

/*
 * is_esc - is [p, p+n) an RFC 3463 code: class 2, 4 or 5, then subject
 * and detail of 1 to 3 digits each, dot-separated?
 */
static bool
is_esc(const char *p, size_t n)
{
    size_t i = 1;

    if (n < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
        return false;
    for (int part = 0; part < 2; part++) {
        size_t start = ++i;

        while (i < n && i - start < 4 && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == start || i - start > 3)
            return false;
        if (part == 0 && (i >= n || p[i] != '.'))
            return false;
    }
    return i == n;
}

/* last_esc - the last "(#x.y.z)" code in [t, t+n). */
static void
last_esc(const char *t, size_t n, char out[16])
{
    for (size_t i = 0; i + 8 <= n; i++) {
        size_t j = i + 2, k;

        if (t[i] != '(' || t[i + 1] != '#')
            continue;
        for (k = j; k < n && k - j < 12 && t[k] != ')'; k++)
            ;
        if (k < n && t[k] == ')' && is_esc(t + j, k - j))
            snprintf(out, 16, "%.*s", (int)(k - j), t + j);
    }
}

/* said_start - where the reply after a line-initial RESULT_SAID starts. */
static const char *
said_start(const char *t, const char *end)
{
    size_t n = sizeof RESULT_SAID - 1;

    for (const char *l = t; l < end; l++)
        if ((l == t || l[-1] == '\n') && (size_t)(end - l) > n &&
            !memcmp(l, RESULT_SAID, n))
            return l + n;
    return NULL;
}

/*
 * reply_end - where the reply starting at r ends within [r, end): before
 * the first line that is none of its lines ("ddd ..." / "ddd-..."), such
 * as the "Giving up on IP." qmail-remote puts after a refused RCPT.
 */
static const char *
reply_end(const char *r, const char *end)
{
    for (const char *l = r; l < end; l++)
        if (*l == '\n' &&
            (end - l < 4 || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
             l[2] > '9' || l[3] < '0' || l[3] > '9'))
            return l;
    return end;
}

/* reply_esc - the RFC 3463 code after the number of the reply line at
 * [r, end), if it has one of the reply's class ("550 5.1.1 ..."). */
static void
reply_esc(const char *r, const char *end, char code[16])
{
    const char *p = r + 4, *q = p;

    if (end - r < 9 || r[3] != ' ' || (r[0] != '4' && r[0] != '5') ||
        *p != r[0])
        return;
    while (q < end && q - p < 12 && ((*q >= '0' && *q <= '9') || *q == '.'))
        q++;
    if ((q == end || *q == ' ' || *q == '\n') && is_esc(p, (size_t)(q - p)))
        snprintf(code, 16, "%.*s", (int)(q - p), p);
}

/*
 * result_parse - what the result text [t, t+n) says: its enhanced code
 * (the remote server's own when its reply has one, else the text's last
 * "(#x.y.z)"), the remote reply's lines (after RESULT_SAID, up to the
 * first line that is not part of a reply), and the address talked to
 * when the text starts with one ("192.0.2.1 does not like ...").
 */
void
result_parse(const char *t, size_t n, struct result_view *v)
{
    const char *end = t + n, *sp;

    memset(v, 0, sizeof *v);
    last_esc(t, n, v->esc);
    v->said = said_start(t, end);
    if (v->said) {
        const char *e = reply_end(v->said, end), *last = e;

        v->saidlen = (size_t)(e - v->said);
        /* the code on the reply's last line (RFC 3463 §2 puts it on
         * every line; the last one ends the reply) */
        while (last > v->said && last[-1] != '\n')
            last--;
        reply_esc(last, e, v->esc);
    }
    sp = memchr(t, ' ', n);
    if (sp && ipaddr_scan(t, (size_t)(sp - t), &v->ip))
        v->has_ip = true;
}
