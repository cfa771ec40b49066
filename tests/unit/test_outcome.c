/* SPDX-License-Identifier: ISC */
/* test_outcome - the reply table is complete and consistent. */
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

static const struct test_case tests[] = {
    {"every reason has code, text and matching (#x.y.z)", t_table_complete},
    {"qmail-queue exit codes", t_qq_codes},
};

TEST_MAIN(tests)
