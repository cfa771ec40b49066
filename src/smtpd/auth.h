/* SPDX-License-Identifier: ISC */
/*
 * auth - the SMTP AUTH exchange (RFC 4954) as a pure state machine: a
 * command's argument and the client's lines in, the next 334 prompt or a
 * verdict out.  Mechanisms PLAIN (RFC 4616), LOGIN (the qmail AUTH
 * patch's prompts) and CRAM-MD5 (RFC 2195).  It never reads, writes,
 * logs or checks a password: once the credentials are whole,
 * smtpd_auth_data gives what a checkpassword program reads on fd 3.
 */
#ifndef SMTPD_AUTH_H
#define SMTPD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "bstr.h"
#include "outcome.h"

#define SMTPD_AUTH_LINE_MAX 12288 /* RFC 4954 4: an exchange line */

enum smtpd_auth_mech {
    AUTH_MECH_NONE,
    AUTH_MECH_LOGIN,
    AUTH_MECH_CRAM,
    AUTH_MECH_PLAIN,
};

struct smtpd_auth {
    enum smtpd_auth_mech mech;
    unsigned step;
    struct bstr user;  /* the login, NUL-free */
    struct bstr pass;  /* the password, or CRAM-MD5's hex digest */
    struct bstr chal;  /* CRAM-MD5's challenge */
    struct bstr tmp;
};

/* the EHLO keyword's mechanisms, in the seeds' order */
#define SMTPD_AUTH_MECHS "LOGIN CRAM-MD5 PLAIN"

enum reason smtpd_auth_start(struct smtpd_auth *a, const char *arg,
                             size_t len, const char *host,
                             unsigned long rnd, time_t now,
                             struct bstr *prompt);
enum reason smtpd_auth_step(struct smtpd_auth *a, const char *line,
                            size_t len, struct bstr *prompt);
int smtpd_auth_data(const struct smtpd_auth *a, struct bstr *out) WUR;
const char *smtpd_auth_name(enum smtpd_auth_mech m);
void smtpd_auth_reset(struct smtpd_auth *a);
void smtpd_auth_free(struct smtpd_auth *a);

#endif
