/* SPDX-License-Identifier: ISC */
/*
 * vlogin - what vchkpw decides, as functions the tests call directly:
 * the checkpassword input split into its fields, the login into user
 * and domain, the service a login is for, and the verdict on a password
 * for an account, as vpopmail 5.4's vchkpw decides them.
 *
 * The service: TCPLOCALPORT 25, 465 and 587 are SMTP, 110 and 995 POP3,
 * 143 and 993 IMAP; on another port the program to run says it ("true"
 * in its name: SMTP AUTH, "imap": IMAP, none at all: SMTP, since only a
 * caller that wants a bare verdict runs none; else POP3).  A caller that
 * names the service (Dovecot's SERVICE) is believed first.  POP3 and IMAP
 * from 127.0.0.1 are webmail, as vpopmail counts them.  Each service has
 * its account flag (NO_SMTP, NO_POP, NO_IMAP, NO_WEBMAIL).
 *
 * Nothing here exits, logs or reads files except the default domain's.
 */
#ifndef VLOGIN_H
#define VLOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "bstr.h"
#include "vconf.h"
#include "vpw.h"

#define VLOGIN_IN_MAX 512 /* bytes on fd 3 (checkpassword's limit) */
#define VLOGIN_DEFAULTDOMAIN "etc/defaultdomain" /* under ~vpopmail */

enum vlogin_service { VLOGIN_SMTP, VLOGIN_POP3, VLOGIN_IMAP, VLOGIN_WEBMAIL };

/* The fields of the checkpassword input (pointers into its buffer). */
struct vlogin_input {
    const char *user;
    const char *pass;  /* the password, or a challenge (CRAM-MD5) */
    const char *third; /* timestamp, digest or challenge; NULL: none */
};

enum vlogin_verdict { VLOGIN_OK, VLOGIN_NO, VLOGIN_TEMP };

int vlogin_fields(const char *buf, size_t n, struct vlogin_input *in) WUR;
int vlogin_split(const char *login, size_t len, struct bstr *user,
                 struct bstr *domain) WUR;
int vlogin_default_domain(const struct vconf *c, struct bstr *out) WUR;
enum vlogin_service vlogin_service(const char *localport, const char *prog,
                                   const char *remoteip);
int vlogin_service_named(const char *name, const char *remoteip,
                         enum vlogin_service *s);
int vlogin_quota_rule(const char *quota, struct bstr *out) WUR;
const char *vlogin_service_name(enum vlogin_service s);
bool vlogin_allowed(const struct vpw *pw, enum vlogin_service s);
enum vlogin_verdict vlogin_check(const struct vpw *pw,
                                 const struct vlogin_input *in,
                                 enum vlogin_service s, const char **mech,
                                 const char **why);

#endif
