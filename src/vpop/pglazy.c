/* SPDX-License-Identifier: ISC */
/*
 * pglazy - libpq loaded at its first use, not at every program start.
 *
 * Linked, libpq and what it brings (GnuTLS, Kerberos, LDAP: some two
 * dozen libraries) cost every v* tool, vdelivermail and vchkpw about
 * 12 ms of CPU per exec (bench vpop, perf stat), though only the
 * PostgreSQL store (control/vpopbackend pgsql) ever calls it.  So each
 * libpq function vauth_pg calls is defined here, with libpq-fe.h's own
 * prototype, and calls the library's, looked up with dlsym after
 * dlopen("libpq.so.5") at the first call.  When the library cannot be
 * loaded, pglazy_load says why (vauth_pg makes that a temporary failure:
 * install libpq5), and a function called anyway fails as libpq's do
 * (NULL, -1, a bad status).
 */
#include <dlfcn.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "pglazy.h"

#define LIBPQ "libpq.so.5"

static void *lib;
static const char *why = "";
static int tried;

/* pglazy_load - libpq loaded: 0, or -1 with *whyp saying why not. */
int
pglazy_load(const char **whyp)
{
    if (!tried) {
        tried = 1;
        lib = dlopen(LIBPQ, RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            const char *e = dlerror();

            why = e ? e : "unable to load " LIBPQ;
        }
    }
    if (whyp)
        *whyp = lib ? "" : why;
    return lib ? 0 : -1;
}

/* sym - the library's function name, or NULL. */
static void *
sym(const char *name)
{
    return pglazy_load(NULL) == -1 ? NULL : dlsym(lib, name);
}

/*
 * FN - a libpq function: RET NAME PARAMS calls the library's with ARGS,
 * or gives FAIL when the library or the symbol is missing.  VFN: the
 * same for a function of no value.
 */
#define FN(ret, name, params, args, fail)                                      \
    ret name params                                                            \
    {                                                                          \
        static ret(*fp) params;                                                \
        if (!fp)                                                               \
            *(void **)&fp = sym(#name);                                        \
        return fp ? fp args : (fail);                                          \
    }
#define VFN(name, params, args)                                                \
    void name params                                                           \
    {                                                                          \
        static void(*fp) params;                                               \
        if (!fp)                                                               \
            *(void **)&fp = sym(#name);                                        \
        if (fp)                                                                \
            fp args;                                                           \
    }

VFN(PQclear, (PGresult *res), (res))
VFN(PQfinish, (PGconn *conn), (conn))
VFN(PQconninfoFree, (PQconninfoOption *o), (o))
FN(char *, PQcmdTuples, (PGresult *res), (res), NULL)
FN(PostgresPollingStatusType, PQconnectPoll, (PGconn *conn), (conn),
   PGRES_POLLING_FAILED)
FN(PGconn *, PQconnectStartParams,
   (const char *const *keywords, const char *const *values,
    int expand_dbname),
   (keywords, values, expand_dbname), NULL)
FN(PQconninfoOption *, PQconninfoParse, (const char *conninfo, char **errmsg),
   (conninfo, errmsg), NULL)
FN(int, PQconsumeInput, (PGconn *conn), (conn), 0)
FN(char *, PQerrorMessage, (const PGconn *conn), (conn), (char *)why)
FN(int, PQflush, (PGconn *conn), (conn), -1)
FN(int, PQfnumber, (const PGresult *res, const char *field_name),
   (res, field_name), -1)
FN(PGresult *, PQgetResult, (PGconn *conn), (conn), NULL)
FN(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num),
   (res, tup_num, field_num), 1)
FN(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num),
   (res, tup_num, field_num), NULL)
FN(int, PQisBusy, (PGconn *conn), (conn), 0)
FN(int, PQntuples, (const PGresult *res), (res), 0)
FN(char *, PQresultErrorField, (const PGresult *res, int fieldcode),
   (res, fieldcode), NULL)
FN(char *, PQresultErrorMessage, (const PGresult *res), (res), (char *)why)
FN(ExecStatusType, PQresultStatus, (const PGresult *res), (res),
   PGRES_FATAL_ERROR)
FN(int, PQsendQueryParams,
   (PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
    const char *const *paramValues, const int *paramLengths,
    const int *paramFormats, int resultFormat),
   (conn, command, nParams, paramTypes, paramValues, paramLengths,
    paramFormats, resultFormat),
   0)
FN(PQnoticeProcessor, PQsetNoticeProcessor,
   (PGconn *conn, PQnoticeProcessor proc, void *arg), (conn, proc, arg), NULL)
FN(int, PQsetnonblocking, (PGconn *conn, int arg), (conn, arg), -1)
FN(int, PQsocket, (const PGconn *conn), (conn), -1)
FN(ConnStatusType, PQstatus, (const PGconn *conn), (conn), CONNECTION_BAD)
FN(PGTransactionStatusType, PQtransactionStatus, (const PGconn *conn),
   (conn), PQTRANS_UNKNOWN)
