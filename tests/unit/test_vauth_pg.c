/* SPDX-License-Identifier: ISC */
/*
 * test_vauth_pg - the pure parts of the PostgreSQL account store: table
 * names as vpopmail's vpgsql makes them, identifier quoting, the text of
 * every statement in both layouts (with and without pw_clear_passwd),
 * the parameters that carry every value (none is ever in the text),
 * int4 round trips of vpopmail's uid and gid, what each SQLSTATE means
 * to a caller (temporary unless the data itself is refused), and the
 * timeout taken from the connection string.  No database here: the e2e
 * test test_vpop_pgsql runs a real one.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "vauth_pg.h"

static void
t_table_name(void)
{
    static const struct {
        const char *in, *want;
    } tab[] = {
        {"example.com", "example_com"},
        {"Mail-Host.Example.ORG", "mail_host_example_org"},
        {"x1.de", "x1_de"},
        {"a-b.c", "a_b_c"}, /* vpopmail's: a.b.c would share it */
    };
    struct bstr b = BSTR_INIT;

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        CHECK_INT(vauth_pg_table_name(tab[i].in, strlen(tab[i].in), &b), 0);
        CHECK_BSTR(b, tab[i].want);
    }
    errno = 0;
    CHECK_INT(vauth_pg_table_name("", 0, &b), -1);
    CHECK_INT(errno, EINVAL);
    CHECK_INT(vauth_pg_table_name("a\0b", 3, &b), -1);
    bstr_free(&b);
}

static void
t_quote_ident(void)
{
    static const struct {
        const char *in, *want;
    } tab[] = {
        {"vpopmail", "\"vpopmail\""},
        {"example_com", "\"example_com\""},
        {"a\"b", "\"a\"\"b\""},
        {"\"; DROP TABLE vpopmail; --", "\"\"\"; DROP TABLE vpopmail; --\""},
        {"Mixed", "\"Mixed\""},
    };
    struct bstr b = BSTR_INIT;

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        CHECK_INT(vauth_pg_quote_ident(tab[i].in, strlen(tab[i].in), &b), 0);
        CHECK_BSTR(b, tab[i].want);
    }
    CHECK_INT(vauth_pg_quote_ident("", 0, &b), -1);
    CHECK_INT(vauth_pg_quote_ident("a\0b", 3, &b), -1);
    bstr_free(&b);
}

static struct vauth_pg_table
table(enum vauth_pg_layout l, const char *ident, bool clear)
{
    struct vauth_pg_table t = {l, BSTR_INIT, clear};

    if (bstr_copys(&t.ident, ident) == -1)
        t.ident.len = 0;
    return t;
}

static void
t_sql_many(void)
{
    static const struct {
        enum vauth_pg_op op;
        bool clear;
        const char *want;
    } tab[] = {
        {VAUTH_PG_GETPW, true,
         "SELECT * FROM \"vpopmail\" WHERE pw_name = $1 AND pw_domain = $2 "
         "LIMIT 1"},
        {VAUTH_PG_GETALL, true,
         "SELECT * FROM \"vpopmail\" WHERE pw_domain = $1 ORDER BY pw_name "
         "COLLATE \"C\""},
        {VAUTH_PG_DELETE, true,
         "DELETE FROM \"vpopmail\" WHERE pw_name = $1 AND pw_domain = $2"},
        {VAUTH_PG_WIPE, true, "DELETE FROM \"vpopmail\" WHERE pw_domain = $1"},
        {VAUTH_PG_INSERT, true,
         "INSERT INTO \"vpopmail\" (pw_name, pw_passwd, pw_uid, pw_gid, "
         "pw_gecos, pw_dir, pw_shell, pw_clear_passwd, pw_domain) SELECT "
         "$1::text, $2::text, $3::int4, $4::int4, $5::text, $6::text, "
         "$7::text, $8::text, $9::text WHERE NOT EXISTS (SELECT 1 FROM "
         "\"vpopmail\" WHERE pw_name = $1::text AND pw_domain = $9::text)"},
        {VAUTH_PG_INSERT, false,
         "INSERT INTO \"vpopmail\" (pw_name, pw_passwd, pw_uid, pw_gid, "
         "pw_gecos, pw_dir, pw_shell, pw_domain) SELECT $1::text, $2::text, "
         "$3::int4, $4::int4, $5::text, $6::text, $7::text, $8::text WHERE "
         "NOT EXISTS (SELECT 1 FROM \"vpopmail\" WHERE pw_name = $1::text "
         "AND pw_domain = $8::text)"},
        {VAUTH_PG_UPDATE, true,
         "UPDATE \"vpopmail\" SET pw_passwd = $2, pw_uid = $3::int4, pw_gid "
         "= $4::int4, pw_gecos = $5, pw_dir = $6, pw_shell = $7, "
         "pw_clear_passwd = $8 WHERE pw_name = $1 AND pw_domain = $9"},
        {VAUTH_PG_UPDATE, false,
         "UPDATE \"vpopmail\" SET pw_passwd = $2, pw_uid = $3::int4, pw_gid "
         "= $4::int4, pw_gecos = $5, pw_dir = $6, pw_shell = $7 WHERE "
         "pw_name = $1 AND pw_domain = $8"},
    };
    struct bstr sql = BSTR_INIT;

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        struct vauth_pg_table t =
            table(VAUTH_PG_MANY, "\"vpopmail\"", tab[i].clear);

        CHECK_INT(vauth_pg_sql(tab[i].op, &t, &sql), 0);
        CHECK_BSTR(sql, tab[i].want);
        bstr_free(&t.ident);
    }
    bstr_free(&sql);
}

static void
t_sql_split(void)
{
    static const struct {
        enum vauth_pg_op op;
        bool clear;
        const char *want;
    } tab[] = {
        {VAUTH_PG_GETPW, false,
         "SELECT * FROM \"example_com\" WHERE pw_name = $1 LIMIT 1"},
        {VAUTH_PG_GETALL, false,
         "SELECT * FROM \"example_com\" ORDER BY pw_name COLLATE \"C\""},
        {VAUTH_PG_DELETE, false,
         "DELETE FROM \"example_com\" WHERE pw_name = $1"},
        {VAUTH_PG_WIPE, false, "DELETE FROM \"example_com\""},
        {VAUTH_PG_INSERT, false,
         "INSERT INTO \"example_com\" (pw_name, pw_passwd, pw_uid, pw_gid, "
         "pw_gecos, pw_dir, pw_shell) SELECT $1::text, $2::text, $3::int4, "
         "$4::int4, $5::text, $6::text, $7::text WHERE NOT EXISTS (SELECT 1 "
         "FROM \"example_com\" WHERE pw_name = $1::text)"},
        {VAUTH_PG_INSERT, true,
         "INSERT INTO \"example_com\" (pw_name, pw_passwd, pw_uid, pw_gid, "
         "pw_gecos, pw_dir, pw_shell, pw_clear_passwd) SELECT $1::text, "
         "$2::text, $3::int4, $4::int4, $5::text, $6::text, $7::text, "
         "$8::text WHERE NOT EXISTS (SELECT 1 FROM \"example_com\" WHERE "
         "pw_name = $1::text)"},
        {VAUTH_PG_UPDATE, true,
         "UPDATE \"example_com\" SET pw_passwd = $2, pw_uid = $3::int4, "
         "pw_gid = $4::int4, pw_gecos = $5, pw_dir = $6, pw_shell = $7, "
         "pw_clear_passwd = $8 WHERE pw_name = $1"},
    };
    struct bstr sql = BSTR_INIT;

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        struct vauth_pg_table t =
            table(VAUTH_PG_SPLIT, "\"example_com\"", tab[i].clear);

        CHECK_INT(vauth_pg_sql(tab[i].op, &t, &sql), 0);
        CHECK_BSTR(sql, tab[i].want);
        bstr_free(&t.ident);
    }
    bstr_free(&sql);
}

/* hostile values travel as parameters, byte for byte */
static void
t_params(void)
{
    char name[] = "o'brien\\\"; DROP TABLE vpopmail; --";
    char pass[] = "$6$salt$hash", gecos[] = "Joe 'quoted'", dir[] = "/d/x";
    char quota[] = "NOQUOTA", clear[] = "sec:ret";
    struct vpw pw = {name, pass, 1, 0x80000000UL, gecos, dir, quota, clear};
    struct vauth_pg_table many = table(VAUTH_PG_MANY, "\"vpopmail\"", true);
    struct vauth_pg_table split = table(VAUTH_PG_SPLIT, "\"d_com\"", false);
    struct vauth_pg_params p;

    CHECK_INT(vauth_pg_params(VAUTH_PG_INSERT, &many, "d.com", NULL, &pw, &p),
              0);
    CHECK_INT(p.n, 9);
    CHECK(p.v[0] == name && p.v[1] == pass && p.v[4] == gecos &&
          p.v[5] == dir && p.v[6] == quota && p.v[7] == clear);
    CHECK_STR(p.v[2], "1");
    CHECK_STR(p.v[3], "-2147483648");
    CHECK_STR(p.v[8], "d.com");

    pw.clear = NULL; /* no clear-text field: SQL NULL */
    CHECK_INT(vauth_pg_params(VAUTH_PG_UPDATE, &many, "d.com", NULL, &pw, &p),
              0);
    CHECK_INT(p.n, 9);
    CHECK(p.v[7] == NULL);

    CHECK_INT(vauth_pg_params(VAUTH_PG_INSERT, &split, "d.com", NULL, &pw, &p),
              0);
    CHECK_INT(p.n, 7);

    CHECK_INT(vauth_pg_params(VAUTH_PG_GETPW, &many, "d.com", name, NULL, &p),
              0);
    CHECK_INT(p.n, 2);
    CHECK(p.v[0] == name);
    CHECK_STR(p.v[1], "d.com");
    CHECK_INT(vauth_pg_params(VAUTH_PG_GETPW, &split, "d.com", name, NULL, &p),
              0);
    CHECK_INT(p.n, 1);
    CHECK_INT(vauth_pg_params(VAUTH_PG_GETALL, &split, "d.com", NULL, NULL, &p),
              0);
    CHECK_INT(p.n, 0);
    CHECK_INT(vauth_pg_params(VAUTH_PG_WIPE, &many, "d.com", NULL, NULL, &p),
              0);
    CHECK_INT(p.n, 1);

    pw.uid = (unsigned long)UINT32_MAX + 1; /* no int4 holds it */
    errno = 0;
    CHECK_INT(vauth_pg_params(VAUTH_PG_INSERT, &many, "d.com", NULL, &pw, &p),
              -1);
    CHECK_INT(errno, EINVAL);
    bstr_free(&many.ident);
    bstr_free(&split.ident);
}

static void
t_int4(void)
{
    static const struct {
        unsigned long v;
        const char *text;
    } tab[] = {
        {0, "0"},
        {1, "1"},
        {0x800, "2048"},
        {INT32_MAX, "2147483647"},
        {0x80000000UL, "-2147483648"},
        {UINT32_MAX, "-1"},
    };
    char buf[16];

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        CHECK_INT(vauth_pg_int4(tab[i].v, buf), 0);
        CHECK_STR(buf, tab[i].text);
        CHECK_INT(vauth_pg_scan_int4(buf), tab[i].v);
    }
    CHECK_INT(vauth_pg_scan_int4(NULL), 0);
    CHECK_INT(vauth_pg_scan_int4(""), 0);
    CHECK_INT(vauth_pg_scan_int4("x"), 0);
    CHECK_INT(vauth_pg_scan_int4("-"), 0);
    CHECK_INT(vauth_pg_scan_int4("2147483648"), 0); /* not an int4 */
    CHECK_INT(vauth_pg_scan_int4("-2147483649"), 0);
    CHECK_INT(vauth_pg_scan_int4("-0"), 0);
}

static void
t_errno(void)
{
    static const struct {
        const char *state;
        int e;
    } tab[] = {
        {NULL, EAGAIN},                       /* no SQLSTATE: the connection */
        {"", EAGAIN},      {"08006", EAGAIN}, /* connection failure */
        {"57P01", EAGAIN},                    /* admin shutdown */
        {"57P03", EAGAIN}, /* cannot connect now (starting) */
        {"53300", EAGAIN}, /* too many connections */
        {"40P01", EAGAIN}, /* deadlock */
        {"55P03", EAGAIN}, /* lock not available */
        {"XX000", EAGAIN}, {"57014", ETIMEDOUT}, /* statement_timeout */
        {"23505", EEXIST}, {"22001", EINVAL},    /* value too long */
        {"22021", EINVAL}, /* not in the database's encoding */
        {"23502", EINVAL}, {"42P01", ENOENT},
        {"42501", EIO}, /* permission denied: temporary too */
        {"42703", EIO},
    };

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!CHECK_INT(vauth_pg_errno(tab[i].state), tab[i].e))
            CHECK_STR(tab[i].state ? tab[i].state : "(null)", "");
}

static void
t_timeout(void)
{
    static const struct {
        const char *conninfo;
        int want;
    } tab[] = {
        {"", VAUTH_PG_TIMEOUT},
        {"dbname=vpopmail", VAUTH_PG_TIMEOUT},
        {"host=/tmp dbname=v connect_timeout=3", 3},
        {"connect_timeout=1", 2},
        {"connect_timeout=0", VAUTH_PG_TIMEOUT},
        {"connect_timeout=-5", VAUTH_PG_TIMEOUT},
        {"connect_timeout=abc", VAUTH_PG_TIMEOUT},
        {"postgresql://u@h/db?connect_timeout=5", 5},
        {"host='unterminated", VAUTH_PG_TIMEOUT},
    };

    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!CHECK_INT(vauth_pg_timeout(tab[i].conninfo), tab[i].want))
            CHECK_STR(tab[i].conninfo, "");
}

static const struct test_case cases[] = {
    {"table names as vpopmail makes them", t_table_name},
    {"identifiers quoted", t_quote_ident},
    {"statements, many domains", t_sql_many},
    {"statements, one table per domain", t_sql_split},
    {"values only as parameters", t_params},
    {"uid and gid as int4", t_int4},
    {"SQLSTATE to errno: temporary unless the data is refused", t_errno},
    {"timeouts from the connection string", t_timeout},
};

TEST_MAIN(cases)
