/* SPDX-License-Identifier: ISC */
/*
 * vauth_pg - the account store in PostgreSQL (vconf's backend "pgsql"),
 * for fleets where many MX and POP hosts share one store.  The tables
 * are vpopmail 5.4's (vpgsql), so an existing vpopmail database is used
 * as it is:
 *
 *   many domains (vpopmail's default): one table "vpopmail" (pw_name,
 *   pw_domain, pw_passwd, pw_uid, pw_gid, pw_gecos, pw_dir, pw_shell =
 *   the quota, and pw_clear_passwd when vpopmail kept clear passwords);
 *   one table per domain otherwise, named after the domain in lower case
 *   with '.' and '-' made '_' ("example_com"), without pw_domain.
 *
 * Which one a database holds is read from the database itself: a table
 * "vpopmail" with a pw_domain column means many domains; else the
 * domain's own table; a database with neither gets the "vpopmail" table
 * at its first account, or the domain's own table when other domains
 * already have theirs.  valias, lastauth, dir_control and vpopmail_scram
 * rows of a domain go with it when those tables exist.
 *
 * vpopmail's valias table (alias, domain, valias_line: vpopmail built
 * with --enable-valias keeps aliases there instead of .qmail files) is
 * read and changed by vauth_pg_valias_*, for the tools that need it.
 *
 * SCRAM-SHA-256 keys (vscram's verifier text and the crypt hash they were
 * made with) live in a table of ours, vpopmail_scram (pw_name, pw_domain,
 * scram, hash), made at the first keys, so that every host of a fleet
 * sees the keys any of them made; an account's keys go with it.
 *
 * The connection (control/vpoppgsql, a libpq connection string) is made
 * at the first use and kept for the life of the process, made again
 * after it broke.  Every step has a deadline: connect_timeout from the
 * connection string, else VAUTH_PG_TIMEOUT seconds, bounds the connection
 * and each statement (statement_timeout on the server, a poll on the
 * client).  Trouble is temporary (-1 with errno EAGAIN, ETIMEDOUT or EIO,
 * words in a->err), never "no such user".  Only parameters carry data
 * into a statement (PQexecParams); a table name is a quoted identifier
 * made from a checked domain name.  Each change is one transaction.
 * Nothing here exits or logs.
 */
#ifndef VAUTH_PG_H
#define VAUTH_PG_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "vauth.h"

#define VAUTH_PG_TIMEOUT 10             /* seconds, when the string has none */
#define VAUTH_PG_TABLE "vpopmail"       /* vpopmail's PGSQL_DEFAULT_TABLE */
#define VAUTH_PG_SCRAM "vpopmail_scram" /* ours: SCRAM-SHA-256 keys */
#define VAUTH_PG_PARAMS 10

/* The two layouts of vpgsql (MANY_DOMAINS or not). */
enum vauth_pg_layout { VAUTH_PG_MANY, VAUTH_PG_SPLIT };

/* What a statement works on: the table and its optional columns. */
struct vauth_pg_table {
    enum vauth_pg_layout layout;
    struct bstr ident; /* the table's name as a quoted identifier */
    bool clear;        /* it has pw_clear_passwd */
};

/* One statement's parameters (text): pointers to the caller's strings and num.
 */
struct vauth_pg_params {
    int n;
    const char *v[VAUTH_PG_PARAMS];
    char num[2][16]; /* uid and gid as int4 text */
};

enum vauth_pg_op {
    VAUTH_PG_GETPW,  /* $1 name [, $2 domain] */
    VAUTH_PG_GETALL, /* [$1 domain] */
    VAUTH_PG_INSERT, /* $1 name ... $7 quota [, clear] [, domain] */
    VAUTH_PG_UPDATE, /* the same */
    VAUTH_PG_DELETE, /* $1 name [, $2 domain] */
    VAUTH_PG_WIPE,   /* [$1 domain]: every account of the domain */
};

/* The pure parts, for the unit tests. */
int vauth_pg_table_name(const char *domain, size_t len, struct bstr *out) WUR;
int vauth_pg_quote_ident(const char *name, size_t len, struct bstr *out) WUR;
int vauth_pg_sql(enum vauth_pg_op op, const struct vauth_pg_table *t,
                 struct bstr *sql) WUR;
int vauth_pg_params(enum vauth_pg_op op, const struct vauth_pg_table *t,
                    const char *domain, const char *name, const struct vpw *pw,
                    struct vauth_pg_params *p) WUR;
int vauth_pg_int4(unsigned long v, char buf[16]) WUR;
unsigned long vauth_pg_scan_int4(const char *s);
int vauth_pg_errno(const char *sqlstate);
int vauth_pg_timeout(const char *conninfo);

/* The backend behind vauth.c (see vauth.h for the contracts). */
int vauth_pg_getpw(struct vauth *a, const struct vdomain *d, const char *name,
                   struct vpw *pw) WUR;
int vauth_pg_getall(struct vauth *a, const struct vdomain *d,
                    struct vpw_table *t) WUR;
int vauth_pg_adduser(struct vauth *a, const struct vdomain *d,
                     const struct vpw *pw) WUR;
int vauth_pg_setpw(struct vauth *a, const struct vdomain *d,
                   const struct vpw *pw) WUR;
int vauth_pg_deluser(struct vauth *a, const struct vdomain *d,
                     const char *name) WUR;
int vauth_pg_deldomain(struct vauth *a, const struct vdomain *d) WUR;
int vauth_pg_replace(struct vauth *a, const struct vdomain *d,
                     const struct vpw_table *t) WUR;
int vauth_pg_scram_get(struct vauth *a, const struct vdomain *d,
                       const char *name, struct bstr *verifier,
                       struct bstr *hash) WUR;
int vauth_pg_scram_put(struct vauth *a, const struct vdomain *d,
                       const char *name, const char *verifier,
                       const char *hash) WUR;
int vauth_pg_valias_get(struct vauth *a, const struct vdomain *d,
                        const char *alias, struct bstr *lines) WUR;
int vauth_pg_valias_names(struct vauth *a, const struct vdomain *d,
                          struct bstr *names) WUR;
int vauth_pg_valias_add(struct vauth *a, const struct vdomain *d,
                        const char *alias, const char *line) WUR;
int vauth_pg_valias_del(struct vauth *a, const struct vdomain *d,
                        const char *alias, const char *line) WUR;
void vauth_pg_close(struct vauth *a);

#endif
