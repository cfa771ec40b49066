/* SPDX-License-Identifier: ISC */
/*
 * outcome - the table of reasons, codes and texts (see outcome.h).
 *
 * Texts are qmail-1.03's where qmail had the reply (its users' scripts
 * and documentation quote them); the rest follow the same style.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "outcome.h"

static const struct outcome table[OC_COUNT] = {
    [OC_OK] = {OC_OK, "ok", 250, "2.0.0", "ok"},
    [OC_MAIL_OK] = {OC_MAIL_OK, "ok", 250, "2.1.0", "ok"},
    [OC_RCPT_OK] = {OC_RCPT_OK, "ok", 250, "2.1.5", "ok"},
    [OC_RSET] = {OC_RSET, "ok", 250, "2.0.0", "flushed"},
    [OC_VRFY] = {OC_VRFY, "ok", 252, "2.1.5",
                "send some mail, i'll try my best"},
    /* qmail-1.03's pointer texts, word for word: clients and people
     * search for them, and both point to the same place */
    [OC_HELP] = {OC_HELP, "ok", 214, "2.0.0",
                "qmail home page: http://pobox.com/~djb/qmail.html"},
    [OC_DATA_GO] = {OC_DATA_GO, "ok", 354, NULL, "go ahead"},
    /* The next three carry the greeting as their text (qmail-smtpd). */
    [OC_GREET] = {OC_GREET, "ok", 220, NULL, ""},
    [OC_HELO] = {OC_HELO, "ok", 250, NULL, ""},
    [OC_QUIT] = {OC_QUIT, "ok", 221, "2.0.0", ""},
    /* the qmail TLS patch's text */
    [OC_TLS_GO] = {OC_TLS_GO, "ok", 220, "2.0.0", "ready for tls"},
    /* the qmail SMTP AUTH patch's text; a 334 carries its challenge */
    [OC_AUTH_OK] = {OC_AUTH_OK, "ok", 235, "2.0.0", "ok, go ahead (#2.0.0)"},
    [OC_AUTH_MORE] = {OC_AUTH_MORE, "ok", 334, NULL, ""},

    [OC_SYNTAX] = {OC_SYNTAX, "syntax", 555, "5.5.4", "syntax error (#5.5.4)"},
    [OC_UNIMPL] = {OC_UNIMPL, "unimplemented", 502, "5.5.1",
                  "unimplemented (#5.5.1)"},
    [OC_BADCMD] = {OC_BADCMD, "badcmd", 500, "5.5.2",
                  "command contains a NUL or a bare CR/LF (#5.5.2)"},
    [OC_LONGCMD] = {OC_LONGCMD, "longcmd", 500, "5.5.2",
                   "command line too long (#5.5.2)"},
    [OC_WANTMAIL] = {OC_WANTMAIL, "sequence", 503, "5.5.1",
                    "MAIL first (#5.5.1)"},
    [OC_WANTRCPT] = {OC_WANTRCPT, "sequence", 503, "5.5.1",
                    "RCPT first (#5.5.1)"},
    [OC_NESTEDMAIL] = {OC_NESTEDMAIL, "sequence", 503, "5.5.1",
                      "nested MAIL command (#5.5.1)"},
    [OC_BADPARAM] = {OC_BADPARAM, "param", 555, "5.5.4",
                    "unsupported or malformed parameter (#5.5.4)"},
    [OC_NEEDUTF8] = {OC_NEEDUTF8, "needutf8", 553, "5.6.7",
                    "sorry, a non-ASCII address needs SMTPUTF8 (#5.6.7)"},
    [OC_BADUTF8] = {OC_BADUTF8, "badutf8", 553, "5.6.7",
                   "sorry, that address is not valid UTF-8 (#5.6.7)"},
    [OC_BDAT_MIX] = {OC_BDAT_MIX, "sequence", 503, "5.5.1",
                    "DATA cannot follow BDAT in one transaction (#5.5.1)"},
    [OC_TOOMANYERR] = {OC_TOOMANYERR, "errors", 421, "4.7.0",
                      "too many errors, closing connection (#4.7.0)"},
    [OC_TOOMANYRCPT] = {OC_TOOMANYRCPT, "rcptlimit", 452, "4.5.3",
                       "sorry, too many recipients (#4.5.3)"},

    /* STARTTLS: the TLS patch's texts with RFC 3207's codes */
    [OC_TLS_ARG] = {OC_TLS_ARG, "tlsarg", 501, "5.5.4",
                   "Syntax error (no parameters allowed) (#5.5.4)"},
    [OC_TLS_TEMP] = {OC_TLS_TEMP, "tlstemp", 454, "4.7.0",
                    "TLS not available due to temporary reason (#4.7.0)"},
    [OC_TLS_NEEDED] = {OC_TLS_NEEDED, "needtls", 530, "5.7.0",
                      "Must issue a STARTTLS command first (#5.7.0)"},
    /* AUTH: the AUTH patch's texts where it had one, RFC 4954's codes
     * (535 with 5.7.8, not the patch's 5.7.0) and texts elsewhere */
    [OC_AUTH_UNAVAIL] = {OC_AUTH_UNAVAIL, "authunavail", 503, "5.3.3",
                        "auth not available (#5.3.3)"},
    [OC_AUTH_TWICE] = {OC_AUTH_TWICE, "authtwice", 503, "5.5.0",
                      "you're already authenticated (#5.5.0)"},
    [OC_AUTH_INTXN] = {OC_AUTH_INTXN, "authtxn", 503, "5.5.0",
                      "no auth during mail transaction (#5.5.0)"},
    [OC_AUTH_MECH] = {OC_AUTH_MECH, "authmech", 504, "5.5.1",
                     "auth type unimplemented (#5.5.1)"},
    [OC_AUTH_INPUT] = {OC_AUTH_INPUT, "authinput", 501, "5.5.4",
                      "malformed auth input (#5.5.4)"},
    [OC_AUTH_CANCEL] = {OC_AUTH_CANCEL, "authcancel", 501, "5.0.0",
                       "auth exchange cancelled (#5.0.0)"},
    [OC_AUTH_LONG] = {OC_AUTH_LONG, "authlong", 500, "5.5.6",
                     "authentication exchange line is too long (#5.5.6)"},
    [OC_AUTH_NEEDTLS] = {OC_AUTH_NEEDTLS, "authneedtls", 538, "5.7.11",
                        "encryption required for requested authentication "
                        "mechanism (#5.7.11)"},
    [OC_AUTH_FAILED] = {OC_AUTH_FAILED, "authfailed", 535, "5.7.8",
                       "authorization failed (#5.7.8)"},
    [OC_AUTH_TEMP] = {OC_AUTH_TEMP, "authtemp", 454, "4.7.0",
                     "temporary authentication failure (#4.7.0)"},
    [OC_AUTH_NEEDED] = {OC_AUTH_NEEDED, "authrequired", 530, "5.7.0",
                       "authentication required (#5.7.0)"},
    [OC_AUTH_TOOMANY] = {OC_AUTH_TOOMANY, "authlimit", 421, "4.7.0",
                        "too many authentication failures, closing "
                        "connection (#4.7.0)"},

    [OC_BADMAILFROM] = {OC_BADMAILFROM, "badmailfrom", 553, "5.7.1",
                       "sorry, your envelope sender is in my badmailfrom "
                       "list (#5.7.1)"},
    [OC_NOGATEWAY] = {OC_NOGATEWAY, "rcpthosts", 553, "5.7.1",
                     "sorry, that domain isn't in my list of allowed "
                     "rcpthosts (#5.7.1)"},
    [OC_ROUTING] = {OC_ROUTING, "routing", 553, "5.7.1",
                   "sorry, sender-specified routing isn't allowed here "
                   "(#5.7.1)"},
    /* RCPT checks against a virtual domain's recipient map: qmail-local's
     * and vdelivermail's words for the bounce they replace */
    [OC_NOMAILBOX] = {OC_NOMAILBOX, "nomailbox", 550, "5.1.1",
                     "sorry, no mailbox here by that name (#5.1.1)"},
    [OC_MBOXFULL_TEMP] = {OC_MBOXFULL_TEMP, "mailboxfull", 452, "4.2.2",
                         "sorry, that mailbox is full, try again later "
                         "(#4.2.2)"},
    [OC_MBOXFULL] = {OC_MBOXFULL, "mailboxfull", 552, "5.2.2",
                    "sorry, that mailbox is full (#5.2.2)"},
    [OC_TOOBIG] = {OC_TOOBIG, "databytes", 552, "5.3.4",
                  "sorry, that message size exceeds my databytes limit "
                  "(#5.3.4)"},
    [OC_HOPS] = {OC_HOPS, "hops", 554, "5.4.6",
                "too many hops, this message is looping (#5.4.6)"},

    /* qmail's straynewline text; "(#4.6.0)" as on every other refusal */
    [OC_BARENL] = {OC_BARENL, "barelf", 451, "4.6.0",
                  "See http://pobox.com/~djb/docs/smtplf.html. (#4.6.0)"},
    [OC_NUL] = {OC_NUL, "nul", 554, "5.6.0",
               "sorry, NUL characters are not accepted in messages "
               "(#5.6.0)"},
    [OC_LONGLINE] = {OC_LONGLINE, "longline", 554, "5.6.0",
                    "sorry, a line of that message is too long (#5.6.0)"},

    [OC_TIMEOUT] = {OC_TIMEOUT, "timeout", 451, "4.4.2", "timeout (#4.4.2)"},
    /* deadlines of a whole command line and of a whole message: the
     * client hears qmail's timeout, the log says which */
    [OC_SLOWCMD] = {OC_SLOWCMD, "slowcmd", 451, "4.4.2", "timeout (#4.4.2)"},
    [OC_SLOWDATA] = {OC_SLOWDATA, "slowdata", 451, "4.4.2",
                    "timeout (#4.4.2)"},
    [OC_NOMEM] = {OC_NOMEM, "nomem", 421, "4.3.0", "out of memory (#4.3.0)"},
    [OC_CONTROL] = {OC_CONTROL, "control", 421, "4.3.0",
                   "unable to read controls (#4.3.0)"},
    [OC_TEMPFAIL] = {OC_TEMPFAIL, "tempfail", 451, "4.3.0",
                    "temporary local problem, try again later (#4.3.0)"},
    [OC_ROOT] = {OC_ROOT, "root", 421, "4.3.0",
                "sorry, this service is misconfigured to run as root "
                "(#4.3.0)"},

    [OC_QQ_ADDR] = {OC_QQ_ADDR, "qq", 554, "5.1.3",
                   "envelope address too long for qq (#5.1.3)"},
    [OC_QQ_PERM] = {OC_QQ_PERM, "qq", 554, "5.3.0",
                   "mail server permanently rejected message (#5.3.0)"},
    [OC_QQ_NOMEM] = {OC_QQ_NOMEM, "qq", 451, "4.3.0",
                    "qq out of memory (#4.3.0)"},
    [OC_QQ_TIMEOUT] = {OC_QQ_TIMEOUT, "qq", 451, "4.3.0",
                      "qq timeout (#4.3.0)"},
    [OC_QQ_WRITE] = {OC_QQ_WRITE, "qq", 451, "4.3.0",
                    "qq write error or disk full (#4.3.0)"},
    [OC_QQ_READ] = {OC_QQ_READ, "qq", 451, "4.3.0", "qq read error (#4.3.0)"},
    [OC_QQ_CONFIG] = {OC_QQ_CONFIG, "qq", 451, "4.3.0",
                     "qq unable to read configuration (#4.3.0)"},
    [OC_QQ_NETWORK] = {OC_QQ_NETWORK, "qq", 451, "4.3.0",
                      "qq trouble making network connection (#4.3.0)"},
    [OC_QQ_HOME] = {OC_QQ_HOME, "qq", 451, "4.3.0",
                   "qq trouble in home directory (#4.3.0)"},
    [OC_QQ_QUEUE] = {OC_QQ_QUEUE, "qq", 451, "4.3.0",
                    "qq trouble creating files in queue (#4.3.0)"},
    [OC_QQ_TEMPREFUSED] = {OC_QQ_TEMPREFUSED, "qq", 451, "4.3.0",
                          "mail server temporarily rejected message "
                          "(#4.3.0)"},
    [OC_QQ_CONNTIMEOUT] = {OC_QQ_CONNTIMEOUT, "qq", 451, "4.4.1",
                          "connection to mail server timed out (#4.4.1)"},
    [OC_QQ_CONNREJECTED] = {OC_QQ_CONNREJECTED, "qq", 451, "4.4.1",
                           "connection to mail server rejected (#4.4.1)"},
    [OC_QQ_COMM] = {OC_QQ_COMM, "qq", 451, "4.4.2",
                   "communication with mail server failed (#4.4.2)"},
    [OC_QQ_BUG] = {OC_QQ_BUG, "qq", 451, "4.3.0", "qq internal bug (#4.3.0)"},
    [OC_QQ_EXEC] = {OC_QQ_EXEC, "qq", 451, "4.3.0",
                   "unable to exec qq (#4.3.0)"},
    [OC_QQ_PERMOTHER] = {OC_QQ_PERMOTHER, "qq", 554, "5.3.0",
                        "qq permanent problem (#5.3.0)"},
    [OC_QQ_TEMPOTHER] = {OC_QQ_TEMPOTHER, "qq", 451, "4.3.0",
                        "qq temporary problem (#4.3.0)"},
    /* DNS blocklists (src/smtpd/dnsbl.c) */
    /* a listing is the admin's policy, so permanent: 550 (RFC 5321's
     * "command rejected for policy reasons") for the client's IP and
     * HELO, 553 as badmailfrom for the sender; %s is the zone that
     * listed it (src/smtpd/dnsbl.c formats these with outcome_cat) */
    [OC_DNSBL] = {OC_DNSBL, "dnsbl", 550, "5.7.1",
                 "sorry, your IP address is listed in %s (#5.7.1)"},
    [OC_RHSBL_HELO] = {OC_RHSBL_HELO, "rhsblhelo", 550, "5.7.1",
                      "sorry, your HELO domain is listed in %s (#5.7.1)"},
    [OC_RHSBL_FROM] = {OC_RHSBL_FROM, "rhsblfrom", 553, "5.7.1",
                      "sorry, your envelope sender domain is listed in %s "
                      "(#5.7.1)"},
    /* one session asking about sender after sender: the lookups end and
     * the next MAIL is refused for now, never waved through unchecked */
    [OC_DNSBL_BUDGET] = {OC_DNSBL_BUDGET, "dnsblbudget", 451, "4.7.1",
                        "sorry, too many different senders in one session, "
                        "try again later (#4.7.1)"},
    /* spamcontrol's checks (src/smtpd/checks.c) */
    /* spamcontrol's texts where it had the check */
    [OC_BADHELO] = {OC_BADHELO, "badhelo", 553, "5.7.1",
                    "sorry, your HELO/EHLO greeting is in my badhelo list "
                    "(#5.7.1)"},
    [OC_HELO_ME] = {OC_HELO_ME, "helome", 553, "5.7.1",
                    "sorry, your HELO/EHLO greeting names my own host "
                    "(#5.7.1)"},
    [OC_HELO_BAREIP] = {OC_HELO_BAREIP, "helobareip", 553, "5.5.2",
                        "sorry, an address in HELO/EHLO must be in "
                        "brackets (#5.5.2)"},
    [OC_HELO_SYNTAX] = {OC_HELO_SYNTAX, "helosyntax", 553, "5.5.2",
                        "sorry, your HELO/EHLO greeting is not a valid "
                        "host name (#5.5.2)"},
    [OC_BADRCPTTO] = {OC_BADRCPTTO, "badrcptto", 553, "5.7.1",
                      "sorry, your envelope recipient is in my badrcptto "
                      "list (#5.7.1)"},
    [OC_MFDNS] = {OC_MFDNS, "badmailfromunknown", 553, "5.7.1",
                  "sorry, your envelope sender must exist (#5.7.1)"},
    [OC_MAXRCPT] = {OC_MAXRCPT, "maxrcpt", 452, "4.5.3",
                    "sorry, too many recipients (#4.5.3)"},
    [OC_PREGREET] = {OC_PREGREET, "pregreet", 554, "5.5.0",
                     "sorry, SMTP protocol violation: you talked before "
                     "my greeting (#5.5.0)"},
    /* rate limits and send quotas (src/smtpd/ratelimit.c) */
    [OC_RATE_CONN] = {OC_RATE_CONN, "rateconn", 421, "4.7.0",
                     "too many connections from your address, try again "
                     "later (#4.7.0)"},
    [OC_RATE_MSGS] = {OC_RATE_MSGS, "ratemsgs", 451, "4.7.1",
                     "too many messages from your address, try again "
                     "later (#4.7.1)"},
    [OC_RATE_RCPTS] = {OC_RATE_RCPTS, "ratercpts", 451, "4.7.1",
                      "too many recipients from your address, try again "
                      "later (#4.7.1)"},
    [OC_QUOTA_MSGS] = {OC_QUOTA_MSGS, "quotamsgs", 451, "4.7.1",
                      "sending quota exceeded: too many messages, try "
                      "again later (#4.7.1)"},
    [OC_QUOTA_RCPTS] = {OC_QUOTA_RCPTS, "quotarcpts", 451, "4.7.1",
                       "sending quota exceeded: too many recipients, try "
                       "again later (#4.7.1)"},
    /* greylisting (src/smtpd/greylist.c) */
    /* postgrey's behaviour, in qmail's words; RFC 3463 4.7.1: a policy
     * refusal, temporary */
    [OC_GREYLIST] = {OC_GREYLIST, "greylist", 451, "4.7.1",
                    "greylisted, please try again later (#4.7.1)"},
    [OC_GREYLIST_EARLY] = {OC_GREYLIST_EARLY, "greylistearly", 451, "4.7.1",
                          "greylisted, please try again later (#4.7.1)"},
    [OC_GREYLIST_LATE] = {OC_GREYLIST_LATE, "greylistlate", 451, "4.7.1",
                         "greylisted, please try again later (#4.7.1)"},
};

/* outcome_get - the table entry for r (never NULL for a valid r). */
const struct outcome *
outcome_get(enum reason r)
{
    if ((unsigned)r >= OC_COUNT)
        r = OC_TEMPFAIL;
    return &table[r];
}

/* outcome_nargs - how many arguments ("%s") r's text takes. */
size_t
outcome_nargs(enum reason r)
{
    return bstr_fill_nargs(outcome_get(r)->text);
}

/*
 * outcome_cat - append r's text with args in the places of its "%s" (as
 * result_cat does for delivery results).  Returns 0, or -1: ENOMEM, or
 * EINVAL when nargs is not the number the text takes (out is then
 * unchanged).
 */
int
outcome_cat(struct bstr *out, enum reason r, const char *const *args,
            size_t nargs)
{
    return bstr_cat_fill(out, outcome_get(r)->text, args, nargs);
}

/*
 * outcome_errno_temp - may trying again later help after a system call
 * failed with e?  True for lack of resources (memory, descriptors, disk
 * space, quota), interruptions, I/O trouble, locks held by others and
 * network trouble (home directories and programs may live on NFS); the
 * rest (no such file, permission denied, not a directory, ...) say "no"
 * and stay no.  Mail accepted is never lost, so a code that could go
 * either way is on the list.
 */
bool
outcome_errno_temp(int e)
{
    switch (e) {
    case EAGAIN: /* and EWOULDBLOCK, the same number on Linux */
    case EINTR:
    case EIO:
    case ENOMEM:
    case ENOBUFS:
    case ENFILE:
    case EMFILE:
    case ETXTBSY:
    case EBUSY:
    case EDEADLK:
    case ENOLCK:
    case ENOSPC:
    case EDQUOT:
    case ESTALE:
    case ETIMEDOUT:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENETDOWN:
    case ENETUNREACH:
    case ENETRESET:
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
        return true;
    default:
        return false;
    }
}

enum outcome_kind
outcome_kind(enum reason r)
{
    unsigned code = outcome_get(r)->smtp;

    if (code < 400)
        return OUTCOME_OK;
    return code < 500 ? OUTCOME_TEMP : OUTCOME_PERM;
}

/*
 * outcome_from_qq - what a qmail-queue exit code means (qmail-queue(8)).
 * Unknown codes 11-40 are permanent, every other unknown code temporary.
 */
enum reason
outcome_from_qq(int exitcode)
{
    switch (exitcode) {
    case QQ_OK:
        return OC_OK;
    case QQ_ADDR_TOO_LONG:
        return OC_QQ_ADDR;
    case QQ_PERM_REFUSED:
        return OC_QQ_PERM;
    case QQ_NOMEM:
        return OC_QQ_NOMEM;
    case QQ_TIMEOUT:
        return OC_QQ_TIMEOUT;
    case QQ_WRITE:
        return OC_QQ_WRITE;
    case QQ_READ:
        return OC_QQ_READ;
    case QQ_CONFIG:
        return OC_QQ_CONFIG;
    case QQ_NETWORK:
        return OC_QQ_NETWORK;
    case QQ_HOME:
        return OC_QQ_HOME;
    case QQ_QUEUEDIR:
    case QQ_PID:
    case QQ_MESS:
    case QQ_INTD:
    case QQ_TODO:
        return OC_QQ_QUEUE;
    case QQ_TEMP_REFUSED:
        return OC_QQ_TEMPREFUSED;
    case QQ_CONN_TIMEOUT:
        return OC_QQ_CONNTIMEOUT;
    case QQ_CONN_REJECTED:
        return OC_QQ_CONNREJECTED;
    case QQ_COMM_FAILED:
        return OC_QQ_COMM;
    case QQ_BUG:
    case QQ_ENVELOPE:
        return OC_QQ_BUG;
    case QQ_EXEC:
        return OC_QQ_EXEC;
    default:
        if (exitcode >= 11 && exitcode <= 40)
            return OC_QQ_PERMOTHER;
        return OC_QQ_TEMPOTHER;
    }
}

enum outcome_kind
outcome_qq_kind(int exitcode)
{
    return outcome_kind(outcome_from_qq(exitcode));
}
