/* SPDX-License-Identifier: ISC */
/*
 * tcprules - compile tcp.smtp rules into the cdb that tcpserver -x reads.
 *
 *   tcprules rules.cdb rules.tmp < rules.txt
 *
 * Every line is parsed before the new map replaces the old one: a bad
 * line is reported (all of them, with their numbers), the temporary file
 * is removed and rules.cdb stays as it was.  The new map is written to
 * rules.tmp, fsynced and renamed over rules.cdb, so a tcpserver opening
 * it concurrently sees the old map or the new one, never a mix.
 * Exit codes: 0 done, 100 usage or syntax error, 111 read/write error.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "bstr.h"
#include "cdbmap.h"
#include "iob.h"
#include "log.h"
#include "outcome.h"
#include "rules.h"

#define REPORT_MAX 50 /* bad lines reported before the rest are counted */

static struct cdbmap_make mk;
static const char *tmpname;

static void __attribute__((noreturn))
die_write(void)
{
    int e = errno;

    cdbmap_make_abort(&mk);
    errno = e;
    log_die_sys(EXIT_TEMP, "unable to write to %s", tmpname);
}

static void __attribute__((noreturn))
die_nomem(void)
{
    cdbmap_make_abort(&mk);
    log_die(EXIT_TEMP, "out of memory");
}

/* add_keys - every cdb key of one parsed line, with its value. */
static void
add_keys(const struct rules_line *r, struct bstr *key)
{
    size_t n = rules_nkeys(r);

    for (size_t i = 0; i < n; i++) {
        if (rules_key(r, i, key) == -1)
            die_nomem();
        if (cdbmap_make_add(&mk, key->s, key->len, r->data.s, r->data.len) ==
            -1)
            die_write();
    }
}

int
main(int argc, char **argv)
{
    static char inbuf[65536];
    struct iob in;
    struct bstr line = BSTR_INIT, key = BSTR_INIT;
    struct rules_line rule = RULES_LINE_INIT;
    unsigned long lineno = 0, bad = 0;

    log_init("tcprules");
    if (argc != 3)
        log_die(EXIT_PERM, "usage: tcprules rules.cdb rules.tmp");
    tmpname = argv[2];
    if (cdbmap_make_start(&mk, argv[1], argv[2]) == -1)
        log_die_sys(EXIT_TEMP, "unable to create %s", argv[2]);
    iob_init(&in, 0, inbuf, sizeof inbuf, NULL, NULL);

    for (;;) {
        const char *why;
        int got = iob_getline(&in, &line, RULES_LINE_MAX + 2);
        int parsed;
        size_t len;

        if (got == -1) {
            int e = errno;
            cdbmap_make_abort(&mk);
            errno = e;
            log_die_sys(EXIT_TEMP, "unable to read input");
        }
        if (got == IOB_EOF && line.len == 0)
            break;
        lineno++;
        len = line.len;
        if (len && line.s[len - 1] == '\n')
            len--;
        if (got == IOB_LONG || len > RULES_LINE_MAX) {
            why = "line too long";
            parsed = -1;
        } else {
            parsed = rules_parse(&rule, line.s, len, &why);
            if (parsed == -1 && errno == ENOMEM)
                die_nomem();
        }
        if (parsed == -1) {
            /* keep going, so that every bad line is reported at once */
            if (++bad <= REPORT_MAX)
                log_line("fatal: unable to parse this line: %.*s "
                         "(line %lu: %s)",
                         (int)(len > 200 ? 200 : len), line.s, lineno, why);
        } else if (parsed == 1 && !bad) {
            add_keys(&rule, &key);
        }
        if (got == IOB_EOF)
            break;
    }
    if (bad) {
        cdbmap_make_abort(&mk);
        if (bad > REPORT_MAX)
            log_line("fatal: %lu more bad lines not shown", bad - REPORT_MAX);
        log_die(EXIT_PERM, "%lu bad line%s; %s left unchanged", bad,
                bad == 1 ? "" : "s", argv[1]);
    }
    if (cdbmap_make_finish(&mk) == -1)
        log_die_sys(EXIT_TEMP, "unable to write %s or move it to %s",
                    argv[2], argv[1]);
    rules_line_free(&rule);
    bstr_free(&line);
    bstr_free(&key);
    return 0;
}
