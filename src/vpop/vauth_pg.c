/* SPDX-License-Identifier: ISC */
/*
 * vauth_pg - the account store in PostgreSQL (see vauth_pg.h): the
 * connection and its deadlines, which of vpopmail's layouts a database
 * holds, and one function per vauth operation.  The statements' text is
 * built by vauth_pg_sql from constants and a quoted table name; every
 * value goes as a parameter.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "datetime.h"
#include "fmt.h"
#include "iob.h"
#include "pglazy.h"
#include "vauth_pg.h"

/* The connection of one struct vauth (a->pg). */
struct vpg {
    PGconn *conn;
    pid_t pid;       /* the process that connected: a child reconnects */
    int timeout;     /* seconds, for connecting and for each statement */
    bool many;       /* the "vpopmail" table with pw_domain was seen */
    bool many_clear; /* ...and it has pw_clear_passwd */
    unsigned nstmt;  /* statements sent in this operation */
    bool broke;      /* the connection broke in this operation */
};

/* vpopmail's columns, wider where today's data needs it (a SHA-512
 * crypt hash is over 100 bytes; vpopmail's pw_passwd is 40). */
#define COLS_TAIL                                                              \
    "pw_passwd varchar(255), pw_uid int4, pw_gid int4, "                       \
    "pw_gecos varchar(255), pw_dir varchar(255), pw_shell varchar(255), "      \
    "pw_clear_passwd varchar(255)"

/* ---- the pure parts ------------------------------------------------ */

/*
 * vauth_pg_table_name - vpopmail's table for domain without many
 * domains (vauth_munch_domain): lower case, '.' and '-' made '_'.
 * 0, or -1 with errno (EINVAL: empty or holding a NUL).
 */
int
vauth_pg_table_name(const char *domain, size_t len, struct bstr *out)
{
    if (len == 0 || memchr(domain, '\0', len)) {
        errno = EINVAL;
        return -1;
    }
    if (bstr_copyb(out, domain, len) == -1)
        return -1;
    for (size_t i = 0; i < out->len; i++) {
        char c = out->s[i];

        if (c >= 'A' && c <= 'Z')
            out->s[i] = (char)(c - 'A' + 'a');
        else if (c == '.' || c == '-')
            out->s[i] = '_';
    }
    return 0;
}

/*
 * vauth_pg_quote_ident - name as an SQL identifier: in double quotes,
 * a double quote doubled (so case and any byte but NUL are kept).
 * 0, or -1 with errno (EINVAL: empty or holding a NUL).
 */
int
vauth_pg_quote_ident(const char *name, size_t len, struct bstr *out)
{
    if (len == 0 || memchr(name, '\0', len)) {
        errno = EINVAL;
        return -1;
    }
    bstr_truncate(out, 0);
    if (bstr_catc(out, '"') == -1)
        return -1;
    for (size_t i = 0; i < len; i++)
        if ((name[i] == '"' && bstr_catc(out, '"') == -1) ||
            bstr_catc(out, name[i]) == -1)
            return -1;
    return bstr_catc(out, '"');
}

/*
 * vauth_pg_sql - the text of op's statement on table t, with $n where
 * vauth_pg_params puts the values (the order is in vauth_pg.h).
 * The INSERT's values are cast (a parameter in a SELECT list has no
 * type of its own).  Reads ask for every column (SELECT *) and find them by
 * name, so a table with or without pw_clear_passwd, in any column order, is
 * read alike.  Accounts are listed in byte order of their names (COLLATE "C"),
 * as vpasswd keeps them.  0, or -1 (ENOMEM).
 */
int
vauth_pg_sql(enum vauth_pg_op op, const struct vauth_pg_table *t,
             struct bstr *sql)
{
    bool many = t->layout == VAUTH_PG_MANY;
    const char *id = t->ident.s;
    int dn = t->clear ? 9 : 8; /* the domain's $n after the account's */

    bstr_truncate(sql, 0);
    switch (op) {
    case VAUTH_PG_GETPW:
        return bstr_catf(sql, "SELECT * FROM %s WHERE pw_name = $1%s LIMIT 1",
                         id, many ? " AND pw_domain = $2" : "");
    case VAUTH_PG_GETALL:
        return bstr_catf(sql,
                         "SELECT * FROM %s%s ORDER BY pw_name COLLATE \"C\"",
                         id, many ? " WHERE pw_domain = $1" : "");
    case VAUTH_PG_DELETE:
        return bstr_catf(sql, "DELETE FROM %s WHERE pw_name = $1%s", id,
                         many ? " AND pw_domain = $2" : "");
    case VAUTH_PG_WIPE:
        return bstr_catf(sql, "DELETE FROM %s%s", id,
                         many ? " WHERE pw_domain = $1" : "");
    case VAUTH_PG_INSERT:
        if (bstr_catf(sql,
                      "INSERT INTO %s (pw_name, pw_passwd, pw_uid, pw_gid, "
                      "pw_gecos, pw_dir, pw_shell%s%s) SELECT $1::text, "
                      "$2::text, $3::int4, $4::int4, $5::text, $6::text, "
                      "$7::text",
                      id, t->clear ? ", pw_clear_passwd" : "",
                      many ? ", pw_domain" : "") == -1 ||
            (t->clear && bstr_cats(sql, ", $8::text") == -1) ||
            (many && bstr_catf(sql, ", $%d::text", dn) == -1) ||
            bstr_catf(sql,
                      " WHERE NOT EXISTS (SELECT 1 FROM %s WHERE "
                      "pw_name = $1::text",
                      id) == -1 ||
            (many && bstr_catf(sql, " AND pw_domain = $%d::text", dn) == -1) ||
            bstr_cats(sql, ")") == -1)
            return -1;
        return 0;
    case VAUTH_PG_UPDATE:
        if (bstr_catf(sql,
                      "UPDATE %s SET pw_passwd = $2, pw_uid = $3::int4, "
                      "pw_gid = $4::int4, pw_gecos = $5, pw_dir = $6, "
                      "pw_shell = $7%s WHERE pw_name = $1",
                      id, t->clear ? ", pw_clear_passwd = $8" : "") == -1 ||
            (many && bstr_catf(sql, " AND pw_domain = $%d", dn) == -1))
            return -1;
        return 0;
    }
    errno = EINVAL;
    return -1;
}

/*
 * vauth_pg_int4 - v as the text of an int4 column: vpopmail's int
 * fields, so 2^31 and above are stored as the negative number of the
 * same 32 bits (vauth_pg_scan_int4 turns it back).  0, or -1 with errno
 * EINVAL (v does not fit 32 bits).
 */
int
vauth_pg_int4(unsigned long v, char buf[16])
{
    size_t n;

    if (v > UINT32_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (v > INT32_MAX) {
        buf[0] = '-';
        n = 1 + fmt_ull(buf + 1, (unsigned long long)UINT32_MAX + 1 - v);
    } else {
        n = fmt_ull(buf, v);
    }
    buf[n] = '\0';
    return 0;
}

/*
 * vauth_pg_scan_int4 - an int4 column's text as vpw's number: NULL,
 * empty or not a number is 0 (vpopmail's atoi), a negative number the
 * unsigned number of the same 32 bits.
 */
unsigned long
vauth_pg_scan_int4(const char *s)
{
    unsigned long v = 0;
    bool neg = false;
    size_t n;

    if (!s)
        return 0;
    if (*s == '-') {
        neg = true;
        s++;
    }
    n = strlen(s);
    if (n == 0 || scan_ulong(s, n, &v) != n ||
        v > (neg ? 0x80000000UL : INT32_MAX))
        return 0;
    return neg && v ? (unsigned long)(UINT32_MAX - v + 1) : v;
}

/*
 * vauth_pg_errno - what an SQLSTATE means to the store's callers.
 * EEXIST: a unique key taken; EINVAL: data the table cannot hold (too
 * long, not in the database's encoding, not a number: class 22, a NOT
 * NULL or CHECK constraint); ENOENT: no such table (42P01); ETIMEDOUT:
 * statement_timeout; EAGAIN: no SQLSTATE (the connection), a server that
 * is starting, stopping, overloaded or out of resources, a deadlock or
 * serialization failure (classes 08 40 53 55 57 58 XX); EIO: anything
 * else (permissions, a schema that is not vpopmail's), which is
 * temporary too: the admin can fix it without mail bouncing.
 */
int
vauth_pg_errno(const char *sqlstate)
{
    static const char *const busy[] = {"08", "40", "53", "55",
                                       "57", "58", "XX"};

    if (!sqlstate || strlen(sqlstate) != 5)
        return EAGAIN;
    if (strcmp(sqlstate, "23505") == 0)
        return EEXIST;
    if (strcmp(sqlstate, "57014") == 0)
        return ETIMEDOUT;
    if (strcmp(sqlstate, "42P01") == 0)
        return ENOENT;
    if (strncmp(sqlstate, "22", 2) == 0 || strcmp(sqlstate, "23502") == 0 ||
        strcmp(sqlstate, "23514") == 0)
        return EINVAL;
    for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++)
        if (strncmp(sqlstate, busy[i], 2) == 0)
            return EAGAIN;
    return EIO;
}

/*
 * vauth_pg_timeout - the seconds a connection and each statement may
 * take: connect_timeout of the connection string when it is a positive
 * number (at least 2, as libpq reads it), else VAUTH_PG_TIMEOUT.  A
 * string libpq cannot parse gets the default (connecting reports it).
 */
int
vauth_pg_timeout(const char *conninfo)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    int t = VAUTH_PG_TIMEOUT;

    if (!opts)
        return t;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        unsigned long v;
        size_t n;

        if (strcmp(o->keyword, "connect_timeout") != 0 || !o->val)
            continue;
        n = strlen(o->val);
        if (n && scan_ulong(o->val, n, &v) == n && v > 0 && v <= 3600)
            t = v < 2 ? 2 : (int)v;
    }
    PQconninfoFree(opts);
    return t;
}

/*
 * vauth_pg_params - the values of op's statement (see vauth_pg_sql), in
 * p (pointing into pw and domain, which must outlive p).  name is the
 * account for GETPW and DELETE; INSERT and UPDATE take pw's.  0, or -1
 * with errno EINVAL (uid or gid over 32 bits).
 */
int
vauth_pg_params(enum vauth_pg_op op, const struct vauth_pg_table *t,
                const char *domain, const char *name, const struct vpw *pw,
                struct vauth_pg_params *p)
{
    memset(p, 0, sizeof *p);
    switch (op) {
    case VAUTH_PG_GETPW:
    case VAUTH_PG_DELETE:
        p->v[p->n++] = name;
        break;
    case VAUTH_PG_GETALL:
    case VAUTH_PG_WIPE:
        break;
    case VAUTH_PG_INSERT:
    case VAUTH_PG_UPDATE:
        if (vauth_pg_int4(pw->uid, p->num[0]) == -1 ||
            vauth_pg_int4(pw->gid, p->num[1]) == -1)
            return -1;
        p->v[p->n++] = pw->name;
        p->v[p->n++] = pw->passwd;
        p->v[p->n++] = p->num[0];
        p->v[p->n++] = p->num[1];
        p->v[p->n++] = pw->gecos;
        p->v[p->n++] = pw->dir;
        p->v[p->n++] = pw->quota;
        if (t->clear)
            p->v[p->n++] = pw->clear; /* NULL: SQL's NULL, no such field */
        break;
    }
    if (t->layout == VAUTH_PG_MANY)
        p->v[p->n++] = domain;
    return 0;
}

/* ---- the connection ------------------------------------------------ */

/* seterr - a->err = "what: detail" (detail's first line), errno e. */
static int
seterr(struct vauth *a, int e, const char *what, const char *detail)
{
    size_t n = detail ? strcspn(detail, "\n") : 0;

    bstr_truncate(&a->err, 0);
    if (bstr_cats(&a->err, what) == -1 ||
        (n && (bstr_cats(&a->err, ": ") == -1 ||
               bstr_catb(&a->err, detail, n) == -1)))
        bstr_truncate(&a->err, 0);
    errno = e;
    return -1;
}

/*
 * drop - forget the connection.  A child of the process that connected
 * closes its copy of the socket without a word: PQfinish would end the
 * parent's session too.
 */
static void
drop(struct vpg *pg)
{
    if (!pg->conn)
        return;
    if (pg->pid != getpid() && PQsocket(pg->conn) >= 0)
        close(PQsocket(pg->conn));
    PQfinish(pg->conn);
    pg->conn = NULL;
    pg->many = false;
    pg->many_clear = false;
}

/* wait_sock - until fd is ready for events, or the deadline.  0 or -1. */
static int
wait_sock(int fd, short events, long long deadline)
{
    int ms;

    if (fd < 0) {
        errno = EBADF;
        return -1;
    }
    if (iob_limit(-1, deadline, &ms) == -1)
        return -1;
    return iob_poll(fd, events, ms);
}

/* quiet - a notice processor that drops the server's notices. */
static void
quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGresult *run(struct vauth *a, const char *sql,
                     const struct vauth_pg_params *p, char state[6]);

/*
 * connect_db - a->pg connected and ready: reused when it is up, else
 * made within the deadline (libpq's own connect_timeout is not used by
 * PQconnectPoll).  *fresh says it was made now.  0, or -1 (EAGAIN,
 * ETIMEDOUT, ENOMEM; a->err says why).
 */
static int
connect_db(struct vauth *a, bool *fresh)
{
    struct vpg *pg = a->pg;
    const char *conninfo = a->conf->pgconn.s ? a->conf->pgconn.s : "";
    char tbuf[FMT_ULONG + 1], ms[FMT_ULONG + 3];
    const char *kw[] = {"connect_timeout", "fallback_application_name",
                        "dbname", NULL};
    const char *val[] = {tbuf, "qmail-ng", conninfo, NULL};
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    struct vauth_pg_params p = {0};
    long long deadline;
    PGresult *r;
    char state[6];

    *fresh = false;
    /* kept only when idle: no call ever leaves a transaction open */
    if (pg->conn && pg->pid == getpid() &&
        PQstatus(pg->conn) == CONNECTION_OK &&
        PQtransactionStatus(pg->conn) == PQTRANS_IDLE)
        return 0;
    drop(pg);
    {
        const char *why;

        /* without the library the store is unreachable, as when down */
        if (pglazy_load(&why) == -1)
            return seterr(a, EAGAIN, "unable to load libpq (install libpq5)",
                          why);
    }
    pg->timeout = vauth_pg_timeout(conninfo);
    tbuf[fmt_ull(tbuf, (unsigned long long)pg->timeout)] = '\0';
    /* connect_timeout before dbname: the string's own value wins */
    pg->conn = PQconnectStartParams(kw, val, 1);
    if (!pg->conn)
        return seterr(a, ENOMEM, "no memory for a PostgreSQL connection", NULL);
    pg->pid = getpid();
    /* libpq prints the server's notices on stderr: nothing here logs */
    PQsetNoticeProcessor(pg->conn, quiet, NULL);
    deadline = datetime_mono_ms() + (long long)pg->timeout * 1000;
    if (PQstatus(pg->conn) == CONNECTION_BAD)
        st = PGRES_POLLING_FAILED;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            seterr(a, EAGAIN, "unable to connect to PostgreSQL",
                   PQerrorMessage(pg->conn));
            drop(pg);
            return -1;
        }
        if (wait_sock(PQsocket(pg->conn),
                      st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                      deadline) == -1) {
            seterr(a, errno == ETIMEDOUT ? ETIMEDOUT : EAGAIN,
                   errno == ETIMEDOUT ? "timed out connecting to PostgreSQL"
                                      : "unable to connect to PostgreSQL",
                   NULL);
            drop(pg);
            return -1;
        }
        st = PQconnectPoll(pg->conn);
    }
    if (PQsetnonblocking(pg->conn, 1) == -1) {
        seterr(a, EAGAIN, "unable to use the PostgreSQL connection",
               PQerrorMessage(pg->conn));
        drop(pg);
        return -1;
    }
    /* the server gives up first, with words, before our poll does */
    ms[fmt_ull(ms, (unsigned long long)pg->timeout * 1000)] = '\0';
    p.n = 1;
    p.v[0] = ms;
    r = run(a, "SELECT set_config('statement_timeout', $1, false)", &p, state);
    if (!r)
        return -1;
    PQclear(r);
    *fresh = true;
    return 0;
}

/*
 * run - one statement with its parameters, within the deadline.  Returns
 * the result (TUPLES_OK or COMMAND_OK; PQclear it), or NULL with errno
 * (vauth_pg_errno's), state the SQLSTATE ("" when none) and a->err.  A
 * connection that broke or timed out is dropped: the next use makes a
 * new one.
 */
static PGresult *
run(struct vauth *a, const char *sql, const struct vauth_pg_params *p,
    char state[6])
{
    struct vpg *pg = a->pg;
    PGconn *c = pg->conn;
    PGresult *res = NULL, *r;
    long long deadline =
        datetime_mono_ms() + ((long long)pg->timeout + 2) * 1000;
    int f, e;

    state[0] = '\0';
    pg->nstmt++;
    if (!PQsendQueryParams(c, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL,
                           NULL, 0))
        goto broke;
    while ((f = PQflush(c)) == 1) {
        if (wait_sock(PQsocket(c), POLLIN | POLLOUT, deadline) == -1)
            goto waited;
        if (!PQconsumeInput(c))
            goto broke;
    }
    if (f == -1)
        goto broke;
    for (;;) {
        while (PQisBusy(c)) {
            if (wait_sock(PQsocket(c), POLLIN, deadline) == -1)
                goto waited;
            if (!PQconsumeInput(c))
                goto broke;
        }
        r = PQgetResult(c);
        if (!r)
            break;
        if (!res || (PQresultStatus(r) == PGRES_FATAL_ERROR &&
                     PQresultStatus(res) != PGRES_FATAL_ERROR)) {
            PQclear(res);
            res = r;
        } else {
            PQclear(r);
        }
    }
    if (!res || PQstatus(c) == CONNECTION_BAD)
        goto broke;
    if (PQresultStatus(res) == PGRES_TUPLES_OK ||
        PQresultStatus(res) == PGRES_COMMAND_OK)
        return res;
    {
        const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

        if (s && strlen(s) == 5)
            memcpy(state, s, 6);
        e = vauth_pg_errno(state[0] ? state : NULL);
        seterr(a, e, "PostgreSQL refused a statement",
               msg ? msg : PQresultErrorMessage(res));
        PQclear(res);
        if (e == EAGAIN && PQtransactionStatus(c) == PQTRANS_UNKNOWN) {
            pg->broke = true;
            drop(pg);
        }
        errno = e;
        return NULL;
    }
waited:
    e = errno;
    PQclear(res);
    seterr(a, e == ETIMEDOUT ? ETIMEDOUT : EAGAIN,
           e == ETIMEDOUT ? "PostgreSQL did not answer in time"
                          : "lost the PostgreSQL connection",
           NULL);
    drop(pg); /* not "broke": a server that is slow gets no second try */
    errno = e == ETIMEDOUT ? ETIMEDOUT : EAGAIN;
    return NULL;
broke:
    PQclear(res);
    seterr(a, EAGAIN, "lost the PostgreSQL connection", PQerrorMessage(c));
    pg->broke = true;
    drop(pg);
    errno = EAGAIN;
    return NULL;
}

/* stmt - run() for a statement whose result is not needed.  0 or -1. */
static int
stmt(struct vauth *a, const char *sql, const struct vauth_pg_params *p,
     char state[6])
{
    PGresult *r = run(a, sql, p, state);

    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* rollback - end a failed transaction, errno and a->err kept. */
static void
rollback(struct vauth *a)
{
    int e = errno;
    struct bstr keep = a->err;
    char state[6];

    if (a->pg->conn && PQtransactionStatus(a->pg->conn) != PQTRANS_IDLE) {
        a->err = (struct bstr)BSTR_INIT;
        if (stmt(a, "ROLLBACK", NULL, state) == -1)
            drop(a->pg);
        bstr_free(&a->err);
        a->err = keep;
    }
    errno = e;
}

/* ---- which table ---------------------------------------------------- */

/*
 * probe - does the table ident exist?  1 yes (*has_domain, *has_clear
 * say which of vpopmail's optional columns it has), 0 no, -1 trouble.
 */
static int
probe(struct vauth *a, const char *ident, bool *has_domain, bool *has_clear)
{
    struct bstr sql = BSTR_INIT;
    PGresult *r;
    char state[6];

    if (bstr_catf(&sql, "SELECT * FROM %s LIMIT 0", ident) == -1)
        return seterr(a, ENOMEM, "no memory", NULL);
    r = run(a, sql.s, NULL, state);
    bstr_free(&sql);
    if (!r)
        return strcmp(state, "42P01") == 0 ? 0 : -1;
    *has_domain = PQfnumber(r, "pw_domain") >= 0;
    *has_clear = PQfnumber(r, "pw_clear_passwd") >= 0;
    if (PQfnumber(r, "pw_name") < 0) {
        PQclear(r);
        return seterr(a, EIO, "not a vpopmail table in PostgreSQL", ident);
    }
    PQclear(r);
    return 1;
}

/* split_db - has the database per-domain tables (pw_shell, no pw_domain)? */
static int
split_db(struct vauth *a)
{
    PGresult *r;
    char state[6];
    int yes;

    r = run(a,
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_attribute s ON "
            "s.attrelid = c.oid AND s.attname = 'pw_shell' AND NOT "
            "s.attisdropped WHERE c.relkind IN ('r', 'p') AND "
            "pg_table_is_visible(c.oid) AND NOT EXISTS (SELECT 1 FROM "
            "pg_attribute d WHERE d.attrelid = c.oid AND d.attname = "
            "'pw_domain' AND NOT d.attisdropped))",
            NULL, state);
    if (!r)
        return -1;
    yes = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return yes;
}

/*
 * find_table - the table that holds d's accounts, into t: "vpopmail"
 * (many domains) when it exists, else d's own table.  1 found, 0 none
 * (t says what the first account would create), -1 trouble.
 */
static int
find_table(struct vauth *a, const struct vdomain *d, bool creating,
           struct vauth_pg_table *t)
{
    struct bstr name = BSTR_INIT;
    bool dom = false, clear = false;
    int r;

    t->layout = VAUTH_PG_MANY;
    t->clear = true;
    if (vauth_pg_quote_ident(VAUTH_PG_TABLE, strlen(VAUTH_PG_TABLE),
                             &t->ident) == -1)
        return seterr(a, ENOMEM, "no memory", NULL);
    if (a->pg->many) {
        t->clear = a->pg->many_clear;
        return 1;
    }
    r = probe(a, t->ident.s, &dom, &clear);
    if (r == -1)
        return -1;
    if (r == 1 && dom) {
        a->pg->many = true;
        a->pg->many_clear = t->clear = clear;
        return 1;
    }
    if (vauth_pg_table_name(d->real.s, d->real.len, &name) == -1 ||
        vauth_pg_quote_ident(name.s, name.len, &t->ident) == -1) {
        bstr_free(&name);
        return seterr(a, errno, "bad domain name", d->real.s);
    }
    bstr_free(&name);
    t->layout = VAUTH_PG_SPLIT;
    r = probe(a, t->ident.s, &dom, &clear);
    if (r == -1)
        return -1;
    if (r == 1 && !dom) {
        t->clear = clear;
        return 1;
    }
    if (r == 1)
        return seterr(a, EIO,
                      "a table of PostgreSQL has an unexpected "
                      "pw_domain column",
                      t->ident.s);
    if (!creating)
        return 0;
    r = split_db(a);
    if (r == -1)
        return -1;
    if (r == 0) { /* vpopmail's default: one table for every domain */
        t->layout = VAUTH_PG_MANY;
        if (vauth_pg_quote_ident(VAUTH_PG_TABLE, strlen(VAUTH_PG_TABLE),
                                 &t->ident) == -1)
            return seterr(a, ENOMEM, "no memory", NULL);
    }
    t->clear = true;
    return 0;
}

/* create_table - t as find_table described it, inside a transaction. */
static int
create_table(struct vauth *a, const struct vauth_pg_table *t)
{
    struct bstr sql = BSTR_INIT;
    char state[6];
    int r;

    if (t->layout == VAUTH_PG_MANY)
        r = bstr_catf(&sql,
                      "CREATE TABLE IF NOT EXISTS %s (pw_name varchar(32) "
                      "NOT NULL, pw_domain varchar(255) NOT NULL, " COLS_TAIL
                      ", PRIMARY KEY (pw_domain, pw_name))",
                      t->ident.s);
    else
        r = bstr_catf(&sql,
                      "CREATE TABLE IF NOT EXISTS %s (pw_name varchar(32) "
                      "NOT NULL, " COLS_TAIL ", PRIMARY KEY (pw_name))",
                      t->ident.s);
    if (r == -1)
        return seterr(a, ENOMEM, "no memory", NULL);
    r = stmt(a, sql.s, NULL, state);
    bstr_free(&sql);
    if (r == -1 && errno != EAGAIN && errno != ETIMEDOUT)
        errno = EAGAIN; /* two hosts creating it at once: try again */
    return r;
}

/* ---- the operations ------------------------------------------------- */

/* lower_copy - name in lower case (vpopmail keeps names so), or NULL. */
static char *
lower_copy(const char *name)
{
    char *s = strdup(name);

    if (s)
        for (char *p = s; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    return s;
}

static char *
dupval(PGresult *r, int row, int col, bool null_is_null)
{
    if (col < 0 || PQgetisnull(r, row, col))
        return null_is_null ? NULL : strdup("");
    return strdup(PQgetvalue(r, row, col));
}

/* row_vpw - row of a vpopmail table as an account.  0, or -1 (ENOMEM). */
static int
row_vpw(PGresult *r, int row, struct vpw *pw)
{
    int c[8];
    static const char *const col[8] = {"pw_name",  "pw_passwd",      "pw_uid",
                                       "pw_gid",   "pw_gecos",       "pw_dir",
                                       "pw_shell", "pw_clear_passwd"};

    memset(pw, 0, sizeof *pw);
    for (size_t i = 0; i < 8; i++)
        c[i] = PQfnumber(r, col[i]);
    pw->name = dupval(r, row, c[0], false);
    pw->passwd = dupval(r, row, c[1], false);
    pw->uid = c[2] < 0 || PQgetisnull(r, row, c[2])
                  ? 0
                  : vauth_pg_scan_int4(PQgetvalue(r, row, c[2]));
    pw->gid = c[3] < 0 || PQgetisnull(r, row, c[3])
                  ? 0
                  : vauth_pg_scan_int4(PQgetvalue(r, row, c[3]));
    pw->gecos = dupval(r, row, c[4], false);
    pw->dir = dupval(r, row, c[5], false);
    pw->quota = dupval(r, row, c[6], false);
    pw->clear = dupval(r, row, c[7], true);
    if (!pw->name || !pw->passwd || !pw->gecos || !pw->dir || !pw->quota ||
        (c[7] >= 0 && !PQgetisnull(r, row, c[7]) && !pw->clear)) {
        vpw_free(pw);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* begin_op - a->pg made if needed, connected; the operation's counters. */
static int
begin_op(struct vauth *a, bool *fresh)
{
    if (!a->pg) {
        a->pg = calloc(1, sizeof *a->pg);
        if (!a->pg)
            return seterr(a, ENOMEM, "no memory", NULL);
    }
    a->pg->nstmt = 0;
    a->pg->broke = false;
    return connect_db(a, fresh);
}

/*
 * retry - should an operation that failed run once more?  Yes when a
 * connection kept from before broke at the operation's first statement
 * (a server restarted since): nothing was done, and a new connection
 * may well work.
 */
static bool
retry(struct vauth *a, bool fresh, int attempt)
{
    return attempt == 0 && !fresh && a->pg && a->pg->broke && a->pg->nstmt == 1;
}

static int
getpw_once(struct vauth *a, const struct vdomain *d, const char *name,
           struct vpw *pw)
{
    struct vauth_pg_table t = {VAUTH_PG_MANY, BSTR_INIT, false};
    struct vauth_pg_params p;
    struct bstr sql = BSTR_INIT;
    PGresult *r = NULL;
    char state[6];
    int found = -1;

    switch (find_table(a, d, false, &t)) {
    case -1:
        goto out;
    case 0:
        seterr(a, EAGAIN, "PostgreSQL has no vpopmail table for this domain",
               d->real.s);
        goto out;
    }
    if (vauth_pg_sql(VAUTH_PG_GETPW, &t, &sql) == -1 ||
        vauth_pg_params(VAUTH_PG_GETPW, &t, d->real.s, name, NULL, &p) == -1) {
        seterr(a, errno, "no memory", NULL);
        goto out;
    }
    r = run(a, sql.s, &p, state);
    if (!r) {
        if (errno == EINVAL)
            found = 0;            /* a name the database cannot even hold */
        else if (errno == ENOENT) /* dropped since we looked */
            seterr(a, EAGAIN, "the table of PostgreSQL went away", t.ident.s);
        if (a->pg)
            a->pg->many = false;
        goto out;
    }
    if (PQntuples(r) == 0)
        found = 0;
    else if (row_vpw(r, 0, pw) == -1)
        seterr(a, ENOMEM, "no memory", NULL);
    else
        found = 1;
out:
    PQclear(r);
    bstr_free(&sql);
    bstr_free(&t.ident);
    return found;
}

/*
 * vauth_pg_getpw - the account name (lower case, checked by vauth.c) of
 * d.  1 found, 0 none, -1 temporary trouble: the database down, slow,
 * or without a table for d (a wrong database must not bounce mail).
 */
int
vauth_pg_getpw(struct vauth *a, const struct vdomain *d, const char *name,
               struct vpw *pw)
{
    bool fresh;
    int r;

    memset(pw, 0, sizeof *pw);
    for (int attempt = 0;; attempt++) {
        if (begin_op(a, &fresh) == -1)
            return -1;
        r = getpw_once(a, d, name, pw);
        if (r != -1 || !retry(a, fresh, attempt))
            return r;
    }
}

static int
getall_once(struct vauth *a, const struct vdomain *d, struct vpw_table *tab)
{
    struct vauth_pg_table t = {VAUTH_PG_MANY, BSTR_INIT, false};
    struct vauth_pg_params p;
    struct bstr sql = BSTR_INIT;
    PGresult *r = NULL;
    char state[6];
    int ret = -1, n;

    switch (find_table(a, d, false, &t)) {
    case -1:
        goto out;
    case 0:
        seterr(a, EAGAIN, "PostgreSQL has no vpopmail table for this domain",
               d->real.s);
        goto out;
    }
    if (vauth_pg_sql(VAUTH_PG_GETALL, &t, &sql) == -1 ||
        vauth_pg_params(VAUTH_PG_GETALL, &t, d->real.s, NULL, NULL, &p) == -1) {
        seterr(a, errno, "no memory", NULL);
        goto out;
    }
    r = run(a, sql.s, &p, state);
    if (!r) {
        if (errno == ENOENT || errno == EINVAL)
            errno = EAGAIN;
        if (a->pg)
            a->pg->many = false;
        goto out;
    }
    n = PQntuples(r);
    if (n > 0) {
        tab->e = calloc((size_t)n, sizeof *tab->e);
        if (!tab->e) {
            seterr(a, ENOMEM, "no memory", NULL);
            goto out;
        }
    }
    for (int i = 0; i < n; i++) {
        if (row_vpw(r, i, &tab->e[i]) == -1) {
            vpw_table_free(tab);
            seterr(a, ENOMEM, "no memory", NULL);
            goto out;
        }
        tab->n++;
    }
    ret = 0;
out:
    PQclear(r);
    bstr_free(&sql);
    bstr_free(&t.ident);
    return ret;
}

/* vauth_pg_getall - every account of d, in byte order of names.  0/-1. */
int
vauth_pg_getall(struct vauth *a, const struct vdomain *d, struct vpw_table *tab)
{
    bool fresh;
    int r;

    tab->e = NULL;
    tab->n = 0;
    for (int attempt = 0;; attempt++) {
        if (begin_op(a, &fresh) == -1)
            return -1;
        r = getall_once(a, d, tab);
        if (r != -1 || !retry(a, fresh, attempt))
            return r;
    }
}

enum change { CH_ADD, CH_SET, CH_DEL, CH_REPLACE };

/* One change, as one transaction. */
struct change_req {
    enum change op;
    const struct vpw *pw;        /* CH_ADD, CH_SET (lower-case name) */
    const char *name;            /* CH_DEL (lower case) */
    const struct vpw_table *tab; /* CH_REPLACE */
};

/* change_stmt - one INSERT, UPDATE or DELETE; its row count in *rows. */
static int
change_stmt(struct vauth *a, enum vauth_pg_op op,
            const struct vauth_pg_table *t, const struct vdomain *d,
            const char *name, const struct vpw *pw, long *rows)
{
    struct vauth_pg_params p;
    struct bstr sql = BSTR_INIT;
    PGresult *r;
    char state[6];

    if (vauth_pg_sql(op, t, &sql) == -1 ||
        vauth_pg_params(op, t, d->real.s, name, pw, &p) == -1) {
        bstr_free(&sql);
        return seterr(a, errno,
                      errno == EINVAL ? "uid or gid out of range" : "no memory",
                      NULL);
    }
    r = run(a, sql.s, &p, state);
    bstr_free(&sql);
    if (!r)
        return -1;
    *rows = strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

/* wipe_extras - a domain's rows in vpopmail's other tables, if any. */
static int
wipe_extras(struct vauth *a, const struct vdomain *d)
{
    static const char *const tab[][2] = {
        {"valias", "DELETE FROM valias WHERE domain = $1"},
        {"lastauth", "DELETE FROM lastauth WHERE domain = $1"},
        {"dir_control", "DELETE FROM dir_control WHERE domain = $1"},
        {"vpopmail_scram", "DELETE FROM vpopmail_scram WHERE pw_domain = $1"},
    };
    struct vauth_pg_params p = {0};
    PGresult *r;
    char state[6];

    r = run(a,
            "SELECT to_regclass('valias') IS NOT NULL, to_regclass('lastauth') "
            "IS NOT NULL, to_regclass('dir_control') IS NOT NULL, "
            "to_regclass('vpopmail_scram') IS NOT NULL",
            NULL, state);
    if (!r)
        return -1;
    p.n = 1;
    p.v[0] = d->real.s;
    for (int i = 0; i < 4; i++) {
        if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, i), "t") != 0)
            continue;
        if (stmt(a, tab[i][1], &p, state) == -1) {
            PQclear(r);
            return -1;
        }
    }
    PQclear(r);
    return 0;
}

/* scram_forget - name's SCRAM keys go with the account, if kept here. */
static int
scram_forget(struct vauth *a, const struct vdomain *d, const char *name)
{
    struct vauth_pg_params p = {0};
    PGresult *r;
    char state[6];
    bool yes;

    r = run(a, "SELECT to_regclass('" VAUTH_PG_SCRAM "') IS NOT NULL", NULL,
            state);
    if (!r)
        return -1;
    yes = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!yes)
        return 0;
    p.n = 2;
    p.v[0] = name;
    p.v[1] = d->real.s;
    return stmt(a,
                "DELETE FROM " VAUTH_PG_SCRAM
                " WHERE pw_name = $1 AND pw_domain = $2",
                &p, state);
}

static int
change_once(struct vauth *a, const struct vdomain *d,
            const struct change_req *q)
{
    struct vauth_pg_table t = {VAUTH_PG_MANY, BSTR_INIT, false};
    char state[6];
    long rows = 0;
    int found, ret = -1;
    bool creating = q->op == CH_ADD || q->op == CH_REPLACE;

    found = find_table(a, d, creating, &t);
    if (found == -1)
        goto out;
    if (found == 0 && !creating) {
        /* nothing to change: no account, or (deldomain) nothing at all */
        if (q->op == CH_DEL && !q->name) {
            ret = 0;
            goto out;
        }
        seterr(a, ENOENT, "no such account", NULL);
        goto out;
    }
    if (stmt(a, "BEGIN", NULL, state) == -1)
        goto out;
    if (found == 0 && create_table(a, &t) == -1)
        goto fail;
    switch (q->op) {
    case CH_ADD:
        if (change_stmt(a, VAUTH_PG_INSERT, &t, d, NULL, q->pw, &rows) == -1)
            goto fail;
        if (rows == 0) {
            seterr(a, EEXIST, "the account exists", q->pw->name);
            goto fail;
        }
        break;
    case CH_SET:
        if (change_stmt(a, VAUTH_PG_UPDATE, &t, d, NULL, q->pw, &rows) == -1)
            goto fail;
        if (rows == 0) {
            seterr(a, ENOENT, "no such account", q->pw->name);
            goto fail;
        }
        break;
    case CH_DEL:
        if (q->name) { /* one account */
            if (change_stmt(a, VAUTH_PG_DELETE, &t, d, q->name, NULL, &rows) ==
                -1)
                goto fail;
            if (rows == 0) {
                seterr(a, ENOENT, "no such account", q->name);
                goto fail;
            }
            if (scram_forget(a, d, q->name) == -1)
                goto fail;
            break;
        }
        /* the whole domain: vpopmail drops a domain's own table */
        if (t.layout == VAUTH_PG_SPLIT) {
            struct bstr sql = BSTR_INIT;
            int r;

            if (bstr_catf(&sql, "DROP TABLE IF EXISTS %s", t.ident.s) == -1) {
                seterr(a, ENOMEM, "no memory", NULL);
                goto fail;
            }
            r = stmt(a, sql.s, NULL, state);
            bstr_free(&sql);
            if (r == -1)
                goto fail;
        } else if (change_stmt(a, VAUTH_PG_WIPE, &t, d, NULL, NULL, &rows) ==
                   -1) {
            goto fail;
        }
        if (wipe_extras(a, d) == -1)
            goto fail;
        break;
    case CH_REPLACE:
        if (change_stmt(a, VAUTH_PG_WIPE, &t, d, NULL, NULL, &rows) == -1)
            goto fail;
        for (size_t i = 0; i < q->tab->n; i++) {
            struct vpw pw = q->tab->e[i];
            char *low = lower_copy(pw.name);
            int r;

            if (!low) {
                seterr(a, ENOMEM, "no memory", NULL);
                goto fail;
            }
            pw.name = low;
            r = change_stmt(a, VAUTH_PG_INSERT, &t, d, NULL, &pw, &rows);
            if (r == 0 && rows == 0)
                r = seterr(a, EEXIST, "the account is listed twice", low);
            free(low);
            if (r == -1)
                goto fail;
        }
        break;
    }
    if (stmt(a, "COMMIT", NULL, state) == -1)
        goto out;
    ret = 0;
    goto out;
fail:
    if (a->pg && !a->pg->conn)
        goto out;
    rollback(a);
    if (errno == ENOENT && q->op != CH_SET && q->op != CH_DEL)
        errno = EAGAIN; /* a table that went away meanwhile */
out:
    if (ret == -1 && a->pg)
        a->pg->many = false; /* look again next time */
    bstr_free(&t.ident);
    return ret;
}

/* change - change_once, again on a new connection if the kept one broke. */
static int
change(struct vauth *a, const struct vdomain *d, const struct change_req *q)
{
    bool fresh;
    int r;

    for (int attempt = 0;; attempt++) {
        if (begin_op(a, &fresh) == -1)
            return -1;
        r = change_once(a, d, q);
        if (r != -1 || !retry(a, fresh, attempt))
            return r;
    }
}

/*
 * checked - pw with its name in lower case, if it can be a vpasswd line
 * (vpw_format's rules, so that vconvert can always write it back).
 * 0, or -1 with errno EINVAL or ENOMEM.
 */
static int
checked(struct vauth *a, const struct vpw *pw, struct vpw *out)
{
    struct bstr line = BSTR_INIT;
    int r;

    *out = *pw;
    out->name = pw->name ? lower_copy(pw->name) : NULL;
    if (!out->name)
        return seterr(a, pw->name ? ENOMEM : EINVAL, "no account name", NULL);
    r = vpw_format(out, &line);
    if (line.s)
        explicit_bzero(line.s, line.len);
    bstr_free(&line);
    if (r == -1) {
        free(out->name);
        out->name = NULL;
        return seterr(
            a, errno,
            errno == EINVAL ? "a field cannot be stored" : "no memory", NULL);
    }
    return 0;
}

/* vauth_pg_adduser - a new account (EEXIST: taken; EINVAL: refused). */
int
vauth_pg_adduser(struct vauth *a, const struct vdomain *d, const struct vpw *pw)
{
    struct change_req q = {CH_ADD, NULL, NULL, NULL};
    struct vpw low;
    int r;

    if (checked(a, pw, &low) == -1)
        return -1;
    q.pw = &low;
    r = change(a, d, &q);
    free(low.name);
    return r;
}

/* vauth_pg_setpw - replace the account pw->name (ENOENT: none). */
int
vauth_pg_setpw(struct vauth *a, const struct vdomain *d, const struct vpw *pw)
{
    struct change_req q = {CH_SET, NULL, NULL, NULL};
    struct vpw low;
    int r;

    if (checked(a, pw, &low) == -1)
        return -1;
    q.pw = &low;
    r = change(a, d, &q);
    free(low.name);
    return r;
}

/* vauth_pg_deluser - remove the account name (ENOENT: none). */
int
vauth_pg_deluser(struct vauth *a, const struct vdomain *d, const char *name)
{
    struct change_req q = {CH_DEL, NULL, NULL, NULL};
    int r;

    if (!name || !*name)
        return seterr(a, ENOENT, "no such account", NULL);
    q.name = lower_copy(name);
    if (!q.name)
        return seterr(a, ENOMEM, "no memory", NULL);
    r = change(a, d, &q);
    free((char *)q.name);
    return r;
}

/*
 * vauth_pg_deldomain - every account of d, and d's rows in valias,
 * lastauth, dir_control and vpopmail_scram, in one transaction (with
 * one table per domain, the domain's table is dropped).  0, or -1.
 */
int
vauth_pg_deldomain(struct vauth *a, const struct vdomain *d)
{
    struct change_req q = {CH_DEL, NULL, NULL, NULL};

    return change(a, d, &q);
}

/*
 * vauth_pg_replace - d's accounts become exactly those of t, in one
 * transaction (vconvert from cdb).  0, or -1 (EINVAL: an account the
 * table cannot hold; nothing changed then).
 */
int
vauth_pg_replace(struct vauth *a, const struct vdomain *d,
                 const struct vpw_table *t)
{
    struct change_req q = {CH_REPLACE, NULL, NULL, t};
    struct bstr line = BSTR_INIT;

    for (size_t i = 0; i < t->n; i++) {
        bstr_truncate(&line, 0);
        if (vpw_format(&t->e[i], &line) == -1) {
            int e = errno;

            bstr_free(&line);
            return seterr(a, e, "an account cannot be stored", t->e[i].name);
        }
    }
    if (line.s)
        explicit_bzero(line.s, line.len);
    bstr_free(&line);
    return change(a, d, &q);
}

/* ---- SCRAM keys ------------------------------------------------------ */

static int
scram_get_once(struct vauth *a, const struct vdomain *d, const char *name,
               struct bstr *verifier, struct bstr *hash)
{
    struct vauth_pg_params p = {0};
    PGresult *r;
    char state[6];
    int found = 0;

    p.n = 2;
    p.v[0] = name;
    p.v[1] = d->real.s;
    r = run(a,
            "SELECT scram, hash FROM " VAUTH_PG_SCRAM
            " WHERE pw_name = $1 AND pw_domain = $2",
            &p, state);
    if (!r) /* no table yet, or a name it cannot hold: no keys */
        return errno == ENOENT || errno == EINVAL ? 0 : -1;
    if (PQntuples(r) > 0) {
        if (bstr_copys(verifier, PQgetvalue(r, 0, 0)) == -1 ||
            bstr_copys(hash, PQgetvalue(r, 0, 1)) == -1)
            found = seterr(a, ENOMEM, "no memory", NULL);
        else
            found = 1;
    }
    PQclear(r);
    return found;
}

/*
 * vauth_pg_scram_get - the SCRAM-SHA-256 keys kept for the account name
 * (lower case) of d, in table vpopmail_scram: verifier (PostgreSQL's
 * text, as vscram keeps it) and the crypt hash they were made with.
 * 1 found, 0 none (no table yet), -1 trouble (a->err).
 */
int
vauth_pg_scram_get(struct vauth *a, const struct vdomain *d, const char *name,
                   struct bstr *verifier, struct bstr *hash)
{
    bool fresh;
    int r;

    for (int attempt = 0;; attempt++) {
        if (begin_op(a, &fresh) == -1)
            return -1;
        r = scram_get_once(a, d, name, verifier, hash);
        if (r != -1 || !retry(a, fresh, attempt))
            return r;
    }
}

static int
scram_put_once(struct vauth *a, const struct vdomain *d, const char *name,
               const char *verifier, const char *hash)
{
    struct vauth_pg_params p = {0};
    char state[6];

    if (!verifier) {
        if (stmt(a, "BEGIN", NULL, state) == -1)
            return -1;
        if (scram_forget(a, d, name) == -1) {
            rollback(a);
            return -1;
        }
        return stmt(a, "COMMIT", NULL, state);
    }
    if (stmt(a, "BEGIN", NULL, state) == -1)
        return -1;
    p.n = 4;
    p.v[0] = name;
    p.v[1] = d->real.s;
    p.v[2] = verifier;
    p.v[3] = hash;
    if (stmt(a,
             "CREATE TABLE IF NOT EXISTS " VAUTH_PG_SCRAM
             " (pw_name varchar(32) NOT NULL, pw_domain varchar(255) NOT "
             "NULL, scram varchar(512) NOT NULL, hash varchar(255) NOT NULL, "
             "PRIMARY KEY (pw_domain, pw_name))",
             NULL, state) == -1 ||
        stmt(a,
             "INSERT INTO " VAUTH_PG_SCRAM
             " (pw_name, pw_domain, scram, hash) VALUES ($1, $2, $3, $4) ON "
             "CONFLICT (pw_domain, pw_name) DO UPDATE SET scram = "
             "EXCLUDED.scram, hash = EXCLUDED.hash",
             &p, state) == -1) {
        if (a->pg && a->pg->conn)
            rollback(a);
        return -1;
    }
    return stmt(a, "COMMIT", NULL, state);
}

/*
 * vauth_pg_scram_put - keep verifier and hash as the SCRAM keys of the
 * account name (lower case) of d, replacing any; verifier NULL forgets
 * them.  The table vpopmail_scram is made at the first keys.  0, or -1
 * (EINVAL: too long for the table; else temporary).
 */
int
vauth_pg_scram_put(struct vauth *a, const struct vdomain *d, const char *name,
                   const char *verifier, const char *hash)
{
    bool fresh;
    int r;

    if (verifier && !hash)
        return seterr(a, EINVAL, "SCRAM keys without their hash", NULL);
    for (int attempt = 0;; attempt++) {
        if (begin_op(a, &fresh) == -1)
            return -1;
        r = scram_put_once(a, d, name, verifier, hash);
        if (r != -1 || !retry(a, fresh, attempt))
            return r;
    }
}

/* ---- valias ----------------------------------------------------------- */

/*
 * with_conn - fn(a, ctx) on a connection, once more on a new one if a
 * kept connection broke at its first statement (see retry).
 */
static int
with_conn(struct vauth *a, int (*fn)(struct vauth *, void *), void *ctx)
{
    bool fresh;
    int r;

    for (int attempt = 0;; attempt++) {
        if (begin_op(a, &fresh) == -1)
            return -1;
        r = fn(a, ctx);
        if (r != -1 || !retry(a, fresh, attempt))
            return r;
    }
}

/* One valias call: the domain, the alias, a line, and where rows go. */
struct valias_req {
    bool add; /* valias_change_once: add, else delete */
    const struct vdomain *d;
    const char *alias; /* lower case; NULL: every alias (names) */
    const char *line;  /* add, del; NULL: every line (del) */
    struct bstr *out;  /* get, names */
};

/* valias_rows - column 0 of every row of sql into q->out, '\n' after each. */
static int
valias_rows(struct vauth *a, const char *sql, struct valias_req *q)
{
    struct vauth_pg_params p = {0};
    PGresult *r;
    char state[6];
    int n;

    p.v[p.n++] = q->d->real.s;
    if (q->alias)
        p.v[p.n++] = q->alias;
    bstr_truncate(q->out, 0);
    r = run(a, sql, &p, state);
    if (!r) /* no valias table: no aliases; a name it cannot hold: none */
        return errno == ENOENT || errno == EINVAL ? 0 : -1;
    n = PQntuples(r);
    for (int i = 0; i < n; i++)
        if (bstr_cats(q->out, PQgetvalue(r, i, 0)) == -1 ||
            bstr_catc(q->out, '\n') == -1) {
            PQclear(r);
            return seterr(a, ENOMEM, "no memory", NULL);
        }
    PQclear(r);
    return n > 0;
}

static int
valias_get_once(struct vauth *a, void *ctx)
{
    return valias_rows(a,
                       "SELECT valias_line FROM valias WHERE domain = $1 AND "
                       "alias = $2 ORDER BY ctid",
                       ctx);
}

/*
 * vauth_pg_valias_get - the lines of alias (lower case) of d in
 * vpopmail's valias table, each followed by '\n', in the order they were
 * added, into lines.  1 found, 0 none (no such alias, no valias table),
 * -1 trouble (a->err).
 */
int
vauth_pg_valias_get(struct vauth *a, const struct vdomain *d, const char *alias,
                    struct bstr *lines)
{
    struct valias_req q = {false, d, alias, NULL, lines};

    return with_conn(a, valias_get_once, &q);
}

static int
valias_names_once(struct vauth *a, void *ctx)
{
    int r = valias_rows(a,
                        "SELECT DISTINCT alias COLLATE \"C\" FROM valias "
                        "WHERE domain = $1 ORDER BY 1",
                        ctx);

    return r == -1 ? -1 : 0;
}

/*
 * vauth_pg_valias_names - every alias of d, sorted, each followed by
 * '\n', into names (empty: none).  0, or -1.
 */
int
vauth_pg_valias_names(struct vauth *a, const struct vdomain *d,
                      struct bstr *names)
{
    struct valias_req q = {false, d, NULL, NULL, names};

    return with_conn(a, valias_names_once, &q);
}

static int
valias_change_once(struct vauth *a, void *ctx)
{
    struct valias_req *q = ctx;
    struct vauth_pg_params p = {0};
    PGresult *r;
    char state[6];
    long rows;

    p.n = q->line ? 3 : 2;
    p.v[0] = q->d->real.s;
    p.v[1] = q->alias;
    p.v[2] = q->line;
    if (q->add) { /* vpopmail's table at the first alias */
        if (stmt(a, "BEGIN", NULL, state) == -1)
            return -1;
        if (stmt(a,
                 "CREATE TABLE IF NOT EXISTS valias (alias varchar(32) NOT "
                 "NULL, domain varchar(255) NOT NULL, valias_line "
                 "varchar(1024) NOT NULL)",
                 NULL, state) == -1 ||
            stmt(a,
                 "CREATE INDEX IF NOT EXISTS valias_idx ON valias (alias, "
                 "domain)",
                 NULL, state) == -1 ||
            stmt(a,
                 "INSERT INTO valias (domain, alias, valias_line) VALUES "
                 "($1, $2, $3)",
                 &p, state) == -1) {
            if (a->pg && a->pg->conn)
                rollback(a);
            return -1;
        }
        return stmt(a, "COMMIT", NULL, state);
    }
    r = run(a,
            q->line ? "DELETE FROM valias WHERE domain = $1 AND alias = $2 "
                      "AND valias_line = $3"
                    : "DELETE FROM valias WHERE domain = $1 AND alias = $2",
            &p, state);
    if (!r)
        return errno == ENOENT ? seterr(a, ENOENT, "no such alias", q->alias)
                               : -1;
    rows = strtol(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    if (rows == 0)
        return seterr(a, ENOENT, "no such alias", q->alias);
    return 0;
}

/* line_ok - a valias line: one line of text, leading blanks dropped. */
static bool
line_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/*
 * vauth_pg_valias_add - one more line for alias (lower case) of d, as
 * vpopmail's valias_insert (leading spaces dropped); the valias table is
 * made at the first alias.  0, or -1 (EINVAL: an empty line or one with
 * control bytes, or too long for the table).
 */
int
vauth_pg_valias_add(struct vauth *a, const struct vdomain *d, const char *alias,
                    const char *line)
{
    struct valias_req q = {true, d, alias, NULL, NULL};

    while (*line == ' ')
        line++;
    if (!*alias || !*line || !line_ok(line) || !line_ok(alias))
        return seterr(a, EINVAL, "not an alias line", line);
    q.line = line;
    return with_conn(a, valias_change_once, &q);
}

/*
 * vauth_pg_valias_del - the line of alias (lower case) of d, or every
 * line when line is NULL.  0, or -1 (ENOENT: no such alias or line).
 */
int
vauth_pg_valias_del(struct vauth *a, const struct vdomain *d, const char *alias,
                    const char *line)
{
    struct valias_req q = {false, d, alias, line, NULL};

    return with_conn(a, valias_change_once, &q);
}

/* vauth_pg_close - end the connection (vauth_close calls it). */
void
vauth_pg_close(struct vauth *a)
{
    if (!a->pg)
        return;
    drop(a->pg);
    free(a->pg);
    a->pg = NULL;
}
