/* SPDX-License-Identifier: ISC */
/*
 * test_bounce - what the delivery programs write comes back out of a
 * bounce right: every result text with a code of its own, formatted by
 * src/lib/result.c and put in a report paragraph as qmail-send does,
 * gives that code as the DSN's Status (class from the report), and a
 * remote refusal gives the server's own code, its reply as the
 * Diagnostic-Code and the address talked to as Remote-MTA.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "result.h"
#include "send.h"

static struct send_conf conf;

static void
conf_init(void)
{
    memset(&conf, 0, sizeof conf);
    CHECK(bstr_copys(&conf.me, "mx.test") == 0);
    CHECK(bstr_copys(&conf.bouncefrom, "MAILER-DAEMON") == 0);
    CHECK(bstr_copys(&conf.bouncehost, "mx.test") == 0);
    CHECK(bstr_copys(&conf.doublebounceto, "postmaster") == 0);
    CHECK(bstr_copys(&conf.doublebouncehost, "mx.test") == 0);
}

static void
conf_done(void)
{
    bstr_free(&conf.me);
    bstr_free(&conf.bouncefrom);
    bstr_free(&conf.bouncehost);
    bstr_free(&conf.doublebounceto);
    bstr_free(&conf.doublebouncehost);
}

/* dsn - the bounce's delivery-status part for one failed recipient
 * whose text is t, from qmail-send's paragraph of it. */
static bool
dsn(const struct bstr *t, bool delay, struct bstr *head)
{
    struct bstr rep = BSTR_INIT, tail = BSTR_INIT;
    bool ok = bounce_paragraph(&rep, "a@b.test", t->s, t->len) == 0 &&
              bounce_compose(head, &tail, &conf, "s@x.test", &rep, 1, 1, 7,
                             delay) == 0;

    bstr_free(&rep);
    bstr_free(&tail);
    return ok;
}

static void
t_every_code_round_trips(void)
{
    static const char *const args[] = {"192.0.2.1", "B", "C", "D"};
    struct bstr t = BSTR_INIT, head = BSTR_INIT;

    conf_init();
    for (int r = 0; r < RS_COUNT; r++) {
        const struct result *o = result_get((enum result_reason)r);
        char want[64];

        if (!o->esc)
            continue; /* a line the server's reply decides */
        bstr_truncate(&t, 0);
        if (!CHECK(result_line(&t, o->reason, args, result_nargs(o->reason)) ==
                   0) ||
            !CHECK(dsn(&t, false, &head)))
            continue;
        /* a bounce is a permanent failure, whatever the text's class */
        snprintf(want, sizeof want, "Action: failed\nStatus: 5%s\n",
                 o->esc + 1);
        if (!CHECK(strstr(head.s, want) != NULL))
            printf("    %s: %s", o->name, t.s);
        CHECK(strstr(head.s, "Diagnostic-Code: x-qmail-ng; ") != NULL);
        /* and a deferral notice says 4.x.x */
        if (CHECK(dsn(&t, true, &head))) {
            snprintf(want, sizeof want, "Action: delayed\nStatus: 4%s\n",
                     o->esc + 1);
            CHECK(strstr(head.s, want) != NULL);
        }
    }
    bstr_free(&t);
    bstr_free(&head);
    conf_done();
}

static void
t_remote_refusal(void)
{
    struct bstr t = BSTR_INIT, head = BSTR_INIT;
    static const char reply[] = "550-5.1.1 first line\n"
                                "550 5.1.1 <x@example>: no such user\n";

    conf_init();
    /* the text qmail-remote writes for a refused recipient, with the
     * tail a batch report adds */
    CHECK(result_line(&t, RS_R_RCPT, RESULT_ARGS("192.0.2.7")) == 0);
    CHECK(result_said(&t, reply, sizeof reply - 1) == 0);
    CHECK(result_line(&t, RS_R_GIVEUP, RESULT_ARGS("192.0.2.7")) == 0);
    CHECK(dsn(&t, false, &head));
    CHECK(strstr(head.s, "Status: 5.1.1\nRemote-MTA: dns; [192.0.2.7]\n"
                         "Diagnostic-Code: smtp; 550-5.1.1 first line 550 "
                         "5.1.1 <x@example>: no such user\n") != NULL);

    /* a connection that died after DATA: our code, the server's silence */
    bstr_truncate(&t, 0);
    CHECK(result_line(&t, RS_DIED,
                      RESULT_ARGS("192.0.2.7", RESULT_DUPLICATE)) == 0);
    CHECK(dsn(&t, false, &head));
    CHECK(strstr(head.s, "Status: 5.4.2\nDiagnostic-Code: x-qmail-ng; "
                         "Connected to 192.0.2.7 but connection died. "
                         "Possible duplicate! (#4.4.2)\n") != NULL);

    /* hostile: the server's reply tries to start a paragraph, a header
     * and a code of its own; none of it escapes its line */
    bstr_truncate(&t, 0);
    CHECK(result_line(&t, RS_R_SENDER, RESULT_ARGS("192.0.2.7")) == 0);
    CHECK(result_said(&t, "553 5.7.1 x\n\nFinal-Recipient: rfc822; evil\r\n",
                      43) == 0);
    CHECK(dsn(&t, false, &head));
    CHECK(strstr(head.s, "Final-Recipient: rfc822; evil\n") == NULL);
    CHECK(strstr(head.s, "Status: 5.7.1\n") != NULL);
    bstr_free(&t);
    bstr_free(&head);
    conf_done();
}

static const struct test_case tests[] = {
    {"every result's code comes back as the Status", t_every_code_round_trips},
    {"a remote refusal: its code, its reply, its address", t_remote_refusal},
};

TEST_MAIN(tests)
