/* SPDX-License-Identifier: ISC */
/*
 * qmail-rate - show and reset qmail-smtpd's rate-limit counters
 * ($QMAIL_HOME/users/ratelimit/rate.db, src/lib/ratestore.h), while the
 * smtpd processes keep counting: every read and reset is an atomic
 * operation on the shared map, as theirs are.
 *
 *   qmail-rate [show [CLASS [NAME]]]   one line per key, sorted:
 *       KEY COUNTER=N ...              (the counters not at 0)
 *   qmail-rate reset CLASS NAME        that key's counters to 0
 *   qmail-rate reset -a                every key's
 *
 * CLASS is ip, net, user or domain; an ip or net NAME is an address
 * (for net, any address of the /24 or /64, or the network as shown).
 * The counts are those the limits see: with control/ratelimits' default
 * sliding windows, the last window's weighted part included.
 * Exit codes: 0 done, 1 no such key, 100 usage, 111 trouble.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bstr.h"
#include "ctl.h"
#include "log.h"
#include "outcome.h"
#include "priv.h"
#include "ratestore.h"

#define EXIT_NOKEY 1

static const char *const classes[] = {"ip", "net", "user", "domain"};

static void __attribute__((noreturn))
usage(void)
{
    fprintf(stderr, "qmail-rate: usage: qmail-rate [show [CLASS [NAME]]] | "
                    "reset CLASS NAME | reset -a\n"
                    "  (CLASS: ip, net, user, domain)\n");
    exit(EXIT_PERM);
}

static bool
is_class(const char *c)
{
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(c, classes[i]) == 0)
            return true;
    return false;
}

/* make_key - the store's key for CLASS NAME, as qmail-smtpd makes it */
static void
make_key(struct bstr *k, const char *cls, const char *name)
{
    if (!is_class(cls))
        usage();
    if (strcmp(cls, "ip") == 0 || strcmp(cls, "net") == 0) {
        char ip[64];
        size_t n = strcspn(name, "/");

        if (n >= sizeof ip)
            log_die(EXIT_PERM, "not an address: %s", name);
        memcpy(ip, name, n);
        ip[n] = '\0';
        if (ratestore_ipkey(k, ip, strcmp(cls, "net") == 0) == -1) {
            if (errno == ENOMEM)
                log_die(EXIT_TEMP, "out of memory");
            log_die(EXIT_PERM, "not an address: %s", name);
        }
        return;
    }
    if (ratestore_namekey(k, cls, name, strlen(name)) == -1)
        log_die(EXIT_TEMP, "out of memory");
}

/* sliding - control/ratelimits' window (sliding unless it says fixed) */
static bool
sliding(void)
{
    struct bstr list = BSTR_INIT;
    bool s = true;

    if (ctl_readlist("control/ratelimits", &list) == -1)
        log_die_sys(EXIT_TEMP, "unable to read control/ratelimits");
    for (const char *l = ctl_list_next(&list, NULL); l;
         l = ctl_list_next(&list, l))
        (void)ratestore_window_line(l, strlen(l), &s);
    bstr_free(&list);
    return s;
}

struct line {
    char *text;
};

static int
line_cmp(const void *a, const void *b)
{
    return strcmp(((const struct line *)a)->text,
                  ((const struct line *)b)->text);
}

/* fmt_slot - "KEY c=n ..." of slot i into out; false when it is not a
 * live key (or, with nonzero, when every counter is 0) */
static bool
fmt_slot(struct ratestore *rs, uint32_t i, bool slide, time_t now,
         bool nonzero, struct bstr *out)
{
    char key[RATESTORE_KEY_MAX];
    size_t len;
    bool any = false;

    if (ratestore_key(rs, i, key, &len) != 1)
        return false;
    bstr_truncate(out, 0);
    if (bstr_catb(out, key, len) == -1)
        log_die(EXIT_TEMP, "out of memory");
    for (unsigned c = 0; c < RATE_COUNTERS; c++) {
        uint64_t n = ratestore_count(rs, i, c, slide, now);

        if (n == 0)
            continue;
        any = true;
        if (bstr_catf(out, " %s=%llu", ratestore_counter_name(c),
                      (unsigned long long)n) == -1)
            log_die(EXIT_TEMP, "out of memory");
    }
    return any || !nonzero;
}

static int
show_all(struct ratestore *rs, const char *cls, bool slide, time_t now)
{
    struct line *lines = calloc(rs->nslots, sizeof *lines);
    struct bstr out = BSTR_INIT;
    size_t n = 0, clen = cls ? strlen(cls) : 0;

    if (!lines)
        log_die(EXIT_TEMP, "out of memory");
    for (uint32_t i = 0; i < rs->nslots; i++) {
        if (!fmt_slot(rs, i, slide, now, true, &out))
            continue;
        if (cls && (strncmp(out.s, cls, clen) != 0 || out.s[clen] != ':'))
            continue;
        if (!(lines[n++].text = strdup(out.s)))
            log_die(EXIT_TEMP, "out of memory");
    }
    qsort(lines, n, sizeof *lines, line_cmp);
    for (size_t i = 0; i < n; i++) {
        printf("%s\n", lines[i].text);
        free(lines[i].text);
    }
    free(lines);
    bstr_free(&out);
    return 0;
}

int
main(int argc, char **argv)
{
    struct ratestore rs;
    struct bstr key = BSTR_INIT, out = BSTR_INIT;
    const char *cmd = argc > 1 ? argv[1] : "show";
    time_t now = time(NULL);
    bool reset = strcmp(cmd, "reset") == 0;
    bool slide;
    uint32_t idx;
    int r;

    log_init("qmail-rate");
    if (!reset && strcmp(cmd, "show") != 0)
        usage();
    if (argc > 4 || (reset && argc != 4 && !(argc == 3 &&
                                             strcmp(argv[2], "-a") == 0)))
        usage();
    if (argc == 3 && !reset && !is_class(argv[2]))
        usage();
    if (argc == 4)
        make_key(&key, argv[2], argv[3]);
    if (chdir(priv_home()) == -1)
        log_die_sys(EXIT_TEMP, "unable to chdir to %s", priv_home());
    slide = sliding();
    if (ratestore_open(&rs, RATESTORE_PATH, RATESTORE_SLOTS, false) == -1) {
        if (errno == ENOENT) { /* nothing was ever counted */
            if (argc == 4) {
                fprintf(stderr, "qmail-rate: no counters for %s\n", key.s);
                return EXIT_NOKEY;
            }
            return 0;
        }
        if (errno == EINVAL)
            log_die(EXIT_TEMP, "%s/%s is not a valid store (qmail-smtpd "
                               "replaces it at its next use)",
                    priv_home(), RATESTORE_PATH);
        log_die_sys(EXIT_TEMP, "unable to open %s/%s", priv_home(),
                    RATESTORE_PATH);
    }
    if (argc < 4) {
        if (reset) {
            for (uint32_t i = 0; i < rs.nslots; i++)
                ratestore_reset(&rs, i);
            printf("reset all\n");
        } else {
            show_all(&rs, argc == 3 ? argv[2] : NULL, slide, now);
        }
    } else {
        r = ratestore_find(&rs, key.s, key.len, now, false, &idx);
        if (r != 1) {
            fprintf(stderr, "qmail-rate: no counters for %s\n", key.s);
            return EXIT_NOKEY;
        }
        if (reset) {
            ratestore_reset(&rs, idx);
            printf("reset %s\n", key.s);
        } else if (fmt_slot(&rs, idx, slide, now, false, &out)) {
            printf("%s\n", out.s);
        }
    }
    ratestore_close(&rs);
    bstr_free(&key);
    bstr_free(&out);
    if (fflush(stdout) == EOF || ferror(stdout))
        log_die_sys(EXIT_TEMP, "unable to write output");
    return 0;
}
