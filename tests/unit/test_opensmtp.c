/* SPDX-License-Identifier: ISC */
/*
 * test_opensmtp - the POP-before-SMTP directory: names only from real
 * addresses (no path tricks), record/fresh/expire with mtimes set by
 * utimensat (time simulated, never slept), the built-in expiry's stamp
 * and flock, and the import of vpopmail's old open-smtp lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "opensmtp.h"

#define NOW ((time_t)1800000000)

static const char *
dir(const char *sub)
{
    static char p[512];

    snprintf(p, sizeof p, "%s/%s", harness_tmpdir(), sub);
    mkdir(p, 0755);
    return p;
}

static const char *
file(const char *d, const char *name)
{
    static char p[600];

    snprintf(p, sizeof p, "%s/%s", d, name);
    return p;
}

static void
set_mtime(const char *d, const char *name, time_t t)
{
    struct timespec ts[2] = {{t, 0}, {t, 0}};

    CHECK(utimensat(AT_FDCWD, file(d, name), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

static time_t
mtime(const char *d, const char *name)
{
    struct stat st;

    if (lstat(file(d, name), &st) == -1)
        return (time_t)-1;
    return st.st_mtime;
}

static size_t
entries(const char *d)
{
    char cmd[700];
    FILE *f;
    size_t n = 0;
    int c;

    snprintf(cmd, sizeof cmd, "ls -A '%s'", d);
    f = popen(cmd, "r");
    while (f && (c = getc(f)) != EOF)
        n += c == '\n';
    if (f)
        pclose(f);
    return n;
}

static void
t_names(void)
{
    static const struct {
        const char *in, *out; /* out NULL: refused */
    } t[] = {
        {"192.0.2.1", "192.0.2.1"},
        {"127.0.0.2", "127.0.0.2"},
        {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        {"2001:db8::1", "2001:db8::1"},
        {"::1", "::1"},
        {"::ffff:192.0.2.7", "192.0.2.7"},
        {"::FFFF:192.0.2.7", "192.0.2.7"},
        {"::ffff:c000:207", "192.0.2.7"},
        {"", NULL},
        {"../x", NULL},
        {"../../etc/passwd", NULL},
        {"1.2.3.4/..", NULL},
        {"1.2.3.4/../x", NULL},
        {"/1.2.3.4", NULL},
        {".", NULL},
        {"..", NULL},
        {".expire", NULL},
        {"1.2.3", NULL},
        {"1.2.3.256", NULL},
        {"01.2.3.4", NULL},
        {" 1.2.3.4", NULL},
        {"1.2.3.4 ", NULL},
        {"1.2.3.4\n", NULL},
        {"fe80::1%eth0", NULL},
        {"unknown", NULL},
        {"1.2.3.4:allow", NULL},
    };
    char out[OPENSMTP_NAME];

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int r = opensmtp_name(t[i].in, strlen(t[i].in), out);

        if (t[i].out) {
            CHECK_INT(r, 0);
            CHECK_STR(out, t[i].out);
        } else if (!CHECK_INT(r, -1)) {
            fprintf(stderr, "  accepted %s\n", t[i].in);
        } else {
            CHECK_INT(errno, EINVAL);
        }
    }
    /* an embedded NUL is refused, not cut short */
    CHECK_INT(opensmtp_name("1.2.3.4\0/../x", 13, out), -1);
    CHECK_INT(opensmtp_name("1.2.3.4\0", 8, out), -1);
    CHECK_INT(opensmtp_name(NULL, 0, out), -1);
    /* the longest name fits */
    CHECK_INT(opensmtp_name("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 39, out),
              0);
    CHECK_STR(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
}

static void
t_record_fresh(void)
{
    const char *d = dir("rf");
    unsigned long secs = 99;
    struct stat st;

    CHECK_INT(opensmtp_fresh(d, "192.0.2.1", 10800, NOW, &secs), 0);
    CHECK_INT(opensmtp_record(d, "192.0.2.1", NOW - 100), 0);
    CHECK_INT(mtime(d, "192.0.2.1"), NOW - 100);
    CHECK(lstat(file(d, "192.0.2.1"), &st) == 0 && S_ISREG(st.st_mode) &&
          st.st_size == 0 && (st.st_mode & 07777) == 0644);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.1", 10800, NOW, &secs), 1);
    CHECK_INT(secs, 100);
    /* the mapped form finds the same file, a neighbour does not */
    CHECK_INT(opensmtp_fresh(d, "::ffff:192.0.2.1", 10800, NOW, &secs), 1);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.10", 10800, NOW, &secs), 0);
    /* the age bound: fresh just inside, stale at the age */
    set_mtime(d, "192.0.2.1", NOW - 10799);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.1", 10800, NOW, &secs), 1);
    CHECK_INT(secs, 10799);
    set_mtime(d, "192.0.2.1", NOW - 10800);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.1", 10800, NOW, &secs), 0);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.1", 20000, NOW, &secs), 1);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.1", 0, NOW, &secs), 0);
    /* a touch makes it fresh again, and does not grow it */
    CHECK_INT(opensmtp_record(d, "192.0.2.1", NOW), 0);
    CHECK_INT(mtime(d, "192.0.2.1"), NOW);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.1", 10800, NOW, &secs), 1);
    CHECK_INT(secs, 0);
    /* the future: a minute of clock skew, not more */
    set_mtime(d, "192.0.2.1", NOW + 60);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.1", 10800, NOW, &secs), 1);
    CHECK_INT(secs, 0);
    set_mtime(d, "192.0.2.1", NOW + 61);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.1", 10800, NOW, &secs), 0);
    /* IPv6 */
    CHECK_INT(opensmtp_record(d, "2001:DB8::0:1", NOW), 0);
    CHECK_INT(mtime(d, "2001:db8::1"), NOW);
    CHECK_INT(opensmtp_fresh(d, "2001:db8:0::1", 10800, NOW, &secs), 1);
    /* mapped addresses are recorded as IPv4 */
    CHECK_INT(opensmtp_record(d, "::ffff:198.51.100.9", NOW), 0);
    CHECK_INT(mtime(d, "198.51.100.9"), NOW);
    /* a missing directory: not fresh, and no record */
    CHECK_INT(opensmtp_fresh(file(d, "nodir"), "192.0.2.1", 10800, NOW, &secs),
              0);
    CHECK_INT(opensmtp_record(file(d, "nodir"), "192.0.2.1", NOW), -1);
}

static void
t_hostile(void)
{
    const char *d = dir("hostile");
    const char *bad[] = {"../x", "../../etc/x", "1.2.3.4/..", "", "/tmp/x",
                         "..", ".expire", "a\nb", "1.2.3.4/../../y"};
    unsigned long secs;
    char longip[2000];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_INT(opensmtp_record(d, bad[i], NOW), -1);
        CHECK_INT(errno, EINVAL);
        CHECK_INT(opensmtp_fresh(d, bad[i], 10800, NOW, &secs), -1);
    }
    memset(longip, '1', sizeof longip - 1);
    longip[sizeof longip - 1] = '\0';
    CHECK_INT(opensmtp_record(d, longip, NOW), -1);
    CHECK_INT(opensmtp_record(d, NULL, NOW), -1);
    CHECK_INT(entries(d), 0);
    CHECK(access(file(harness_tmpdir(), "x"), F_OK) == -1);
    /* a symlink or a directory under an address's name grants nothing
     * and is not followed */
    CHECK(symlink("/etc/passwd", file(d, "192.0.2.5")) == 0);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.5", 10800, NOW, &secs), 0);
    CHECK_INT(opensmtp_record(d, "192.0.2.5", NOW), -1);
    CHECK(mkdir(file(d, "192.0.2.6"), 0755) == 0);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.6", 10800, NOW, &secs), 0);
    CHECK_INT(opensmtp_record(d, "192.0.2.6", NOW), -1);
    /* a fifo: refused without blocking */
    CHECK(mkfifo(file(d, "192.0.2.7"), 0644) == 0);
    CHECK_INT(opensmtp_record(d, "192.0.2.7", NOW), -1);
    CHECK_INT(opensmtp_fresh(d, "192.0.2.7", 10800, NOW, &secs), 0);
}

static void
t_expire(void)
{
    const char *d = dir("expire");
    size_t removed = 99;
    char name[64];
    int fd;

    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "10.0.0.%d", i);
        CHECK_INT(opensmtp_record(d, name, NOW - i * 400), 0);
    }
    /* things that are not ours stay, whatever their age */
    fd = open(file(d, "README"), O_CREAT | O_WRONLY, 0644);
    close(fd);
    set_mtime(d, "README", NOW - 100000);
    fd = open(file(d, "010.0.0.1"), O_CREAT | O_WRONLY, 0644);
    close(fd);
    set_mtime(d, "010.0.0.1", NOW - 100000);
    CHECK(mkdir(file(d, "10.1.1.1"), 0755) == 0);
    set_mtime(d, "10.1.1.1", NOW - 100000);
    CHECK(symlink("10.0.0.0", file(d, "10.1.1.2")) == 0);
    set_mtime(d, "10.1.1.2", NOW - 100000);
    /* in the future beyond the skew: removed, it would never be fresh */
    CHECK_INT(opensmtp_record(d, "10.2.2.2", NOW + 7200), 0);

    CHECK_INT(opensmtp_expire(d, 10800, NOW, &removed), 0);
    /* 0..26 are younger than 10800 (26 * 400 = 10400), 27..49 not */
    CHECK_INT(removed, 23 + 1);
    CHECK(mtime(d, "10.0.0.26") == NOW - 26 * 400);
    CHECK(mtime(d, "10.0.0.27") == (time_t)-1);
    CHECK(mtime(d, "10.2.2.2") == (time_t)-1);
    CHECK(mtime(d, "README") != (time_t)-1);
    CHECK(mtime(d, "010.0.0.1") != (time_t)-1);
    CHECK(mtime(d, "10.1.1.1") != (time_t)-1);
    CHECK(mtime(d, "10.1.1.2") != (time_t)-1);
    /* again: nothing more */
    CHECK_INT(opensmtp_expire(d, 10800, NOW, &removed), 0);
    CHECK_INT(removed, 0);
    /* age 0 (off): every address file goes */
    CHECK_INT(opensmtp_expire(d, 0, NOW, &removed), 0);
    CHECK_INT(removed, 27);
    CHECK_INT(entries(d), 4);
    CHECK_INT(opensmtp_expire(file(d, "nodir"), 0, NOW, &removed), -1);
}

static void
t_expire_due(void)
{
    const char *d = dir("due");
    size_t removed;
    int fd;

    CHECK_INT(opensmtp_record(d, "10.0.0.1", NOW - 20000), 0);
    CHECK_INT(opensmtp_record(d, "10.0.0.2", NOW), 0);
    /* no stamp yet: a pass, and the stamp is made */
    CHECK_INT(opensmtp_expire_due(d, 10800, NOW, false, &removed), 1);
    CHECK_INT(removed, 1);
    CHECK_INT(mtime(d, OPENSMTP_STAMP), NOW);
    /* within ten minutes: no pass */
    CHECK_INT(opensmtp_record(d, "10.0.0.3", NOW - 20000), 0);
    CHECK_INT(opensmtp_expire_due(d, 10800, NOW + 599, false, &removed), 0);
    CHECK(mtime(d, "10.0.0.3") != (time_t)-1);
    /* force (clearopensmtp): a pass now */
    CHECK_INT(opensmtp_expire_due(d, 10800, NOW + 1, true, &removed), 1);
    CHECK_INT(removed, 1);
    CHECK_INT(mtime(d, OPENSMTP_STAMP), NOW + 1);
    /* ten minutes later: due */
    CHECK_INT(opensmtp_record(d, "10.0.0.4", NOW - 20000), 0);
    CHECK_INT(opensmtp_expire_due(d, 10800, NOW + 601, false, &removed), 1);
    CHECK_INT(removed, 1);
    /* a stamp in the future (clock set back) does not stop expiry */
    set_mtime(d, OPENSMTP_STAMP, NOW + 100000);
    CHECK_INT(opensmtp_record(d, "10.0.0.5", NOW - 20000), 0);
    CHECK_INT(opensmtp_expire_due(d, 10800, NOW + 700, false, &removed), 1);
    CHECK_INT(removed, 1);
    /* another process holds the stamp: skipped at once, never waited */
    set_mtime(d, OPENSMTP_STAMP, NOW - 100000);
    fd = open(file(d, OPENSMTP_STAMP), O_RDWR);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    CHECK_INT(opensmtp_record(d, "10.0.0.6", NOW - 20000), 0);
    CHECK_INT(opensmtp_expire_due(d, 10800, NOW, false, &removed), 0);
    CHECK_INT(opensmtp_expire_due(d, 10800, NOW, true, &removed), 0);
    CHECK(mtime(d, "10.0.0.6") != (time_t)-1);
    close(fd);
    CHECK_INT(opensmtp_expire_due(d, 10800, NOW, false, &removed), 1);
    CHECK_INT(removed, 1);
    /* the fresh one stayed all along */
    CHECK_INT(mtime(d, "10.0.0.2"), NOW);
    /* a stamp that is a symlink is not followed */
    CHECK(unlink(file(d, OPENSMTP_STAMP)) == 0);
    CHECK(symlink("/etc/passwd", file(d, OPENSMTP_STAMP)) == 0);
    CHECK_INT(opensmtp_expire_due(d, 10800, NOW, true, &removed), -1);
}

static void
t_import(void)
{
    const char *d = dir("import");
    static const struct {
        const char *line;
        int r;
        const char *name; /* the file it makes */
        time_t when;
    } t[] = {
        /* as OVH's guide shows them (a space before the stamp) */
        {"213.41.188.249:allow,RELAYCLIENT=\" \",RBLSMTPD=\" \" 1799999000\n", 1,
         "213.41.188.249", NOW - 1000},
        /* vpopmail writes a tab */
        {"213.41.184.98:allow,RELAYCLIENT=\"\",RBLSMTPD=\"\"\t1799990000", 1,
         "213.41.184.98", NOW - 10000},
        {"10.9.9.9:allow 1799999999\r\n", 1, "10.9.9.9", NOW - 1},
        {"2001:db8::5:allow,RELAYCLIENT=\"\" 1799999900", 1, "2001:db8::5",
         NOW - 100},
        /* a future stamp counts as now */
        {"10.9.9.8:allow,RELAYCLIENT=\"\" 1800005000", 1, "10.9.9.8", NOW},
        /* expired */
        {"213.41.184.135:allow,RELAYCLIENT=\" \",RBLSMTPD=\" \" 1029880909", 0,
         NULL, 0},
        {"10.9.9.7:allow,RELAYCLIENT=\"\" 1799989200", 0, NULL, 0},
        /* malformed */
        {"", -1, NULL, 0},
        {"\n", -1, NULL, 0},
        {"1799999000", -1, NULL, 0},
        {"10.1.1.1:allow,RELAYCLIENT=\"\"", -1, NULL, 0},
        {"10.1.1.1:allow,RELAYCLIENT=\"\" 17999x9000", -1, NULL, 0},
        {"10.1.1.1:allow,RELAYCLIENT=\"\" -1799999000", -1, NULL, 0},
        {"10.1.1.1:deny 1799999000", -1, NULL, 0},
        {"10.1.1.1:allowed 1799999000", -1, NULL, 0},
        {"10.1.1.:allow,RELAYCLIENT=\"\" 1799999000", -1, NULL, 0},
        {"../../x:allow,RELAYCLIENT=\"\" 1799999000", -1, NULL, 0},
        {"10.1.1.1/..:allow 1799999000", -1, NULL, 0},
        {":allow 1799999000", -1, NULL, 0},
        {"10.1.1.1:allow 99999999999999999999999999", -1, NULL, 0},
        {"garbage", -1, NULL, 0},
    };

    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int r = opensmtp_import(d, t[i].line, strlen(t[i].line), 10800, NOW);

        if (!CHECK_INT(r, t[i].r))
            fprintf(stderr, "  line %s\n", t[i].line);
        if (t[i].name)
            CHECK_INT(mtime(d, t[i].name), t[i].when);
    }
    CHECK_INT(opensmtp_import(d, "10.1.1.1:allow\0 1799999000", 25, 10800, NOW),
              -1);
    CHECK_INT(entries(d), 5);
    /* an import never makes a newer record older */
    CHECK_INT(opensmtp_record(d, "10.9.9.6", NOW), 0);
    CHECK_INT(opensmtp_import(d, "10.9.9.6:allow 1799999000", 25, 10800, NOW),
              1);
    CHECK_INT(mtime(d, "10.9.9.6"), NOW);
    CHECK_INT(opensmtp_import(d, "10.9.9.9:allow 1799999999", 25, 10800, NOW),
              1);
    CHECK_INT(mtime(d, "10.9.9.9"), NOW - 1);
    /* a file the import makes gets the old stamp, though it is made now */
    CHECK_INT(opensmtp_import(d, "10.8.8.8:allow 999999000", 24, 10800,
                              (time_t)1000000000),
              1);
    CHECK_INT(mtime(d, "10.8.8.8"), 999999000);
}

static void
t_age(void)
{
    char old[512];
    unsigned long age = 1;
    FILE *f;

    CHECK(getcwd(old, sizeof old) != NULL);
    CHECK(chdir(dir("home")) == 0);
    mkdir("control", 0755);
    CHECK_INT(opensmtp_age(&age), 0);
    CHECK_INT(age, 10800);
    f = fopen("control/opensmtpage", "w");
    fputs("0\n", f);
    fclose(f);
    CHECK_INT(opensmtp_age(&age), 0);
    CHECK_INT(age, 0);
    f = fopen("control/opensmtpage", "w");
    fputs("3600  \n", f);
    fclose(f);
    CHECK_INT(opensmtp_age(&age), 0);
    CHECK_INT(age, 3600);
    f = fopen("control/opensmtpage", "w");
    fputs("3h\n", f);
    fclose(f);
    CHECK_INT(opensmtp_age(&age), -1);
    CHECK_INT(errno, EINVAL);
    CHECK(chdir(old) == 0);
}

static const struct test_case cases[] = {
    {"names", t_names},           {"record_fresh", t_record_fresh},
    {"hostile", t_hostile},       {"expire", t_expire},
    {"expire_due", t_expire_due}, {"import", t_import},
    {"age", t_age},
};

TEST_MAIN(cases)
