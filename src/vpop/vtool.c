/* SPDX-License-Identifier: ISC */
/*
 * vtool - the tools' shared start, exits, prompts (see vtool.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"
#include "vtool.h"

#define EXIT_TEMP 111

/* home - the cwd becomes $QMAIL_HOME; umask 077 as vpopmail's. */
static void
home(const char *prog)
{
    log_init(prog);
    umask(077);
    if (chdir(priv_home()) == -1) {
        printf("Error: unable to chdir to %s: %s\n", priv_home(),
               strerror(errno));
        exit(EXIT_TEMP);
    }
}

/*
 * vtool_start - a tool that changes things: cwd $QMAIL_HOME, settings
 * read, store open, a crashed tool's domain change finished.  Exits 111
 * (temporary: try again) when any of that fails.
 */
void
vtool_start(const char *prog, struct vadmin *v)
{
    const char *bad = NULL;

    home(prog);
    if (vadmin_open(v, &bad) == -1) {
        printf("Error: unable to read %s: %s\n", bad ? bad : "settings",
               strerror(errno));
        exit(EXIT_TEMP);
    }
}

/* vtool_start_ro - a tool that only looks: the settings alone. */
void
vtool_start_ro(const char *prog, struct vconf *c)
{
    const char *bad = NULL;

    home(prog);
    if (vconf_load(c, &bad) == -1) {
        printf("Error: unable to read %s: %s\n", bad ? bad : "settings",
               strerror(errno));
        exit(EXIT_TEMP);
    }
}

/* vtool_detail - our words for what went wrong underneath, on stderr. */
void
vtool_detail(const struct vadmin *v)
{
    if (v && v->err.len)
        fprintf(stderr, "%s: %.*s\n", log_prog(), (int)v->err.len, v->err.s);
}

/* vtool_exit - vpopmail's vexit: the status is err's low byte. */
void
vtool_exit(struct vadmin *v, int err)
{
    fflush(stdout);
    if (v)
        vadmin_close(v);
    exit(err & 0xff);
}

/* vtool_fail - "Error: TEXT" (after prefix, if any), the details, exit. */
void
vtool_fail(struct vadmin *v, int err, const char *prefix)
{
    printf("Error: %s%s\n", prefix ? prefix : "", verror(err));
    fflush(stdout);
    vtool_detail(v);
    vtool_exit(v, err);
}

/* prompt_once - a line from the terminal without echo. */
static int
prompt_once(int fd, const char *text, struct bstr *out)
{
    struct termios old, quiet;
    bool tty = tcgetattr(fd, &old) == 0;
    char c;
    ssize_t n;

    bstr_truncate(out, 0);
    if (write(fd, text, strlen(text)) == -1)
        return -1;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        if (tcsetattr(fd, TCSAFLUSH, &quiet) == -1)
            return -1;
    }
    while ((n = read(fd, &c, 1)) == 1 && c != '\n')
        if (out->len < VTOOL_PASS_MAX + 1 && bstr_catc(out, c) == -1)
            break;
    if (tty) {
        (void)tcsetattr(fd, TCSAFLUSH, &old);
        if (write(fd, "\n", 1) == -1)
            return -1;
    }
    if (out->len && out->s[out->len - 1] == '\r')
        bstr_truncate(out, out->len - 1);
    return n == -1 ? -1 : 0;
}

/*
 * vtool_getpass - a password typed at the terminal, with vpopmail's
 * prompts ("Please enter password for WHO: ", "enter password again: ")
 * until both agree.  Without a terminal: empty.  0, or -1.
 */
int
vtool_getpass(const char *who, bool twice, struct bstr *out)
{
    struct bstr again = BSTR_INIT, p = BSTR_INIT;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), r = -1;

    bstr_truncate(out, 0);
    if (fd == -1)
        return bstr_copys(out, "");
    if (bstr_catf(&p, "Please enter password for %s: ", who) == -1)
        goto out;
    for (;;) {
        if (prompt_once(fd, p.s, out) == -1)
            goto out;
        if (!twice)
            break;
        if (prompt_once(fd, "enter password again: ", &again) == -1)
            goto out;
        if (again.len == out->len &&
            (out->len == 0 || memcmp(again.s, out->s, out->len) == 0))
            break;
        printf("Passwords do not match, try again\n");
        fflush(stdout);
    }
    r = out->s ? 0 : bstr_copys(out, "");
out:
    if (again.s)
        explicit_bzero(again.s, again.len);
    bstr_free(&again);
    bstr_free(&p);
    close(fd);
    return r;
}

/*
 * vtool_random - len characters from vpopmail's set (a-z A-Z 0-9 and
 * .@!#%*), drawn from getrandom rather than rand().  0, or -1.
 */
int
vtool_random(size_t len, struct bstr *out)
{
    static const char set[] = "abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789.@!#%*";
    const size_t n = sizeof set - 1; /* 68 */

    bstr_truncate(out, 0);
    while (out->len < len) {
        unsigned char b;

        if (getrandom(&b, 1, 0) != 1)
            return -1;
        if (b >= 256 - 256 % n)
            continue; /* no bias */
        if (bstr_catc(out, set[b % n]) == -1)
            return -1;
    }
    return 0;
}

/* number - the decimal digits of s[0..n) (all of them), or -1. */
static long long
number(const char *s, size_t n)
{
    long long v = 0;

    if (n == 0 || n > 18)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/*
 * vtool_quota_format - vsetuserquota's quota syntax in the Maildir++
 * form vpasswd holds: "NOQUOTA"; else comma-separated parts, a count
 * ending in 'C', a size with an optional K or M (and a trailing B and S
 * dropped): "10M" -> "10485760S", "1000C,10MB" -> "10485760S,1000C".
 * 0, or -1 with errno EINVAL (not a quota: vpopmail 5.4 would have
 * written "0S", a quota nothing fits in).
 */
int
vtool_quota_format(const char *in, struct bstr *out)
{
    long long size = -1, count = -1;
    const char *p = in;

    bstr_truncate(out, 0);
    if (strcmp(in, "NOQUOTA") == 0)
        return bstr_copys(out, "NOQUOTA");
    while (*p) {
        size_t n = strcspn(p, ",");
        long long mult = 1, v;
        size_t k = n;

        if (n > 0 && p[n - 1] == 'C') {
            v = number(p, n - 1);
            if (v < 0 || count >= 0)
                goto bad;
            count = v;
        } else {
            if (k && (p[k - 1] == 'S' || p[k - 1] == 's'))
                k--;
            if (k && (p[k - 1] == 'B' || p[k - 1] == 'b'))
                k--;
            if (k && (p[k - 1] == 'M' || p[k - 1] == 'm')) {
                mult = 1048576;
                k--;
            } else if (k && (p[k - 1] == 'K' || p[k - 1] == 'k')) {
                mult = 1024;
                k--;
            }
            v = number(p, k);
            if (v < 0 || size >= 0 || v > (1LL << 62) / mult)
                goto bad;
            size = v * mult;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    if ((size <= 0 && count <= 0))
        goto bad;
    if (size > 0 && bstr_catf(out, "%lldS", size) == -1)
        return -1;
    if (count > 0 &&
        bstr_catf(out, "%s%lldC", size > 0 ? "," : "", count) == -1)
        return -1;
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/* vtool_version - -v: vpopmail's line with our version; goes on. */
int
vtool_version(void)
{
    return printf("version: qmail-ng vpop 5.4-compatible\n") < 0 ? -1 : 0;
}
