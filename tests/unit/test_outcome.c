/* SPDX-License-Identifier: ISC */
/* test_outcome - the reply table is complete and consistent. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "outcome.h"

static void
t_table_complete(void)
{
    for (int r = 0; r < OC_COUNT; r++) {
        const struct outcome *o = outcome_get((enum reason)r);

        CHECK_INT(o->reason, r);
        CHECK(o->text != NULL && o->name != NULL);
        CHECK(o->smtp >= 200 && o->smtp < 600);
        if (o->smtp >= 400) {
            char tag[16];

            /* every rejection names its enhanced code, class matching */
            CHECK(o->esc != NULL);
            if (o->esc) {
                CHECK_INT(o->esc[0] - '0', o->smtp / 100);
                snprintf(tag, sizeof tag, "(#%s)", o->esc);
                CHECK(strstr(o->text, tag) != NULL);
            }
        }
    }
}

static void
t_qq_codes(void)
{
    CHECK_INT(outcome_from_qq(0), OC_OK);
    CHECK_INT(outcome_from_qq(53), OC_QQ_WRITE);
    CHECK_STR(outcome_get(OC_QQ_WRITE)->text,
              "qq write error or disk full (#4.3.0)");
    CHECK_INT(outcome_qq_kind(11), OUTCOME_PERM);
    CHECK_INT(outcome_qq_kind(31), OUTCOME_PERM);
    CHECK_INT(outcome_qq_kind(39), OUTCOME_PERM);
    CHECK_INT(outcome_qq_kind(41), OUTCOME_TEMP);
    CHECK_INT(outcome_qq_kind(91), OUTCOME_TEMP);
    CHECK_INT(outcome_qq_kind(255), OUTCOME_TEMP);
    CHECK_STR(outcome_get(OC_NOGATEWAY)->text,
              "sorry, that domain isn't in my list of allowed rcpthosts "
              "(#5.7.1)");
}

/* qmail-1.03's texts where it had the reply (its qmail-smtpd.c), and one
 * voice for the pointers: every URL in the table is under qmail's
 * http://pobox.com/~djb/, as qmail-1.03 wrote them. */
static void
t_qmail_texts(void)
{
    CHECK_STR(outcome_get(OC_HELP)->text,
              "qmail home page: http://pobox.com/~djb/qmail.html");
    CHECK_INT(outcome_get(OC_HELP)->smtp, 214);
    /* qmail's straynewline reply, plus the (#x.y.z) every refusal has */
    CHECK_STR(outcome_get(OC_BARENL)->text,
              "See http://pobox.com/~djb/docs/smtplf.html. (#4.6.0)");
    CHECK_INT(outcome_get(OC_BARENL)->smtp, 451);
    CHECK_STR(outcome_get(OC_TIMEOUT)->text, "timeout (#4.4.2)");
    CHECK_STR(outcome_get(OC_VRFY)->text, "send some mail, i'll try my best");
    CHECK_STR(outcome_get(OC_UNIMPL)->text, "unimplemented (#5.5.1)");
    CHECK_STR(outcome_get(OC_SYNTAX)->text, "syntax error (#5.5.4)");
    for (int r = 0; r < OC_COUNT; r++) {
        const char *t = outcome_get((enum reason)r)->text;
        const char *u = strstr(t, "://");

        if (u && !CHECK(strncmp(u - 4, "http://pobox.com/~djb/", 22) == 0))
            printf("    %s\n", t);
        if (!CHECK(strstr(t, "https://") == NULL && strstr(t, "cr.yp.to") == NULL))
            printf("    %s\n", t);
    }
}

/* one answer to "may trying again help?" for local and remote delivery:
 * lack of resources and network trouble yes, a plain "no" stays no */
static void
t_errno_temp(void)
{
    static const int temp[] = {EAGAIN, EINTR, EIO, ENOMEM, ENOBUFS, ENFILE,
                               EMFILE, ETXTBSY, EBUSY, EDEADLK, ENOLCK,
                               ENOSPC, EDQUOT, ESTALE, ETIMEDOUT, EHOSTDOWN,
                               EHOSTUNREACH, ENETDOWN, ENETUNREACH,
                               ENETRESET, ECONNREFUSED, ECONNRESET,
                               ECONNABORTED};
    static const int perm[] = {0, ENOENT, ENOTDIR, EACCES, EPERM, ENOEXEC,
                               EISDIR, ELOOP, ENAMETOOLONG, EINVAL, E2BIG};

    for (size_t i = 0; i < sizeof temp / sizeof temp[0]; i++)
        if (!CHECK(outcome_errno_temp(temp[i])))
            printf("    %s\n", strerror(temp[i]));
    for (size_t i = 0; i < sizeof perm / sizeof perm[0]; i++)
        if (!CHECK(!outcome_errno_temp(perm[i])))
            printf("    %s\n", strerror(perm[i]));
}

/* texts with an argument: only the blocklists' (smtpd_reply would send
 * any other's "%s" as it is); outcome_cat fills them in, and refuses the
 * wrong number of arguments without touching out */
static void
t_formatted_texts(void)
{
    struct bstr b = BSTR_INIT;

    for (int r = 0; r < OC_COUNT; r++) {
        bool dnsbl = r == OC_DNSBL || r == OC_RHSBL_HELO || r == OC_RHSBL_FROM;

        if (!CHECK_INT(outcome_nargs((enum reason)r), dnsbl ? 1 : 0))
            printf("    %s\n", outcome_get((enum reason)r)->text);
    }
    CHECK_INT(outcome_cat(&b, OC_DNSBL, OUTCOME_ARGS("zen.example")), 0);
    CHECK_BSTR(b, "sorry, your IP address is listed in zen.example (#5.7.1)");
    bstr_truncate(&b, 0);
    CHECK_INT(outcome_cat(&b, OC_RHSBL_FROM, OUTCOME_ARGS("%s.example")), 0);
    CHECK_BSTR(b, "sorry, your envelope sender domain is listed in "
                  "%s.example (#5.7.1)");
    errno = 0;
    CHECK_INT(outcome_cat(&b, OC_RHSBL_HELO, NULL, 0), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(outcome_cat(&b, OC_SYNTAX, OUTCOME_ARGS("x")), -1);
    CHECK_BSTR(b, "sorry, your envelope sender domain is listed in "
                  "%s.example (#5.7.1)");
    bstr_truncate(&b, 0);
    CHECK_INT(outcome_cat(&b, OC_SYNTAX, NULL, 0), 0);
    CHECK_BSTR(b, "syntax error (#5.5.4)");
    bstr_free(&b);
}

static const struct test_case tests[] = {
    {"errno: temporary or not, decided once", t_errno_temp},
    {"every reason has code, text and matching (#x.y.z)", t_table_complete},
    {"qmail-queue exit codes", t_qq_codes},
    {"qmail-1.03's texts, one voice for the pointers", t_qmail_texts},
    {"texts with arguments", t_formatted_texts},
};

TEST_MAIN(tests)
