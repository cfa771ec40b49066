/* SPDX-License-Identifier: ISC */
/*
 * verror - vpopmail's error texts (see verror.h).
 */
#include "verror.h"

static const struct {
    int err;
    const char *text;
} texts[] = {
    {VA_SUCCESS, "Success"},
    {VA_ILLEGAL_USERNAME, "Illegal username"},
    {VA_USERNAME_EXISTS, "Username exists"},
    {VA_BAD_DIR, "Unable to chdir to vpopmail directory"},
    {VA_BAD_U_DIR, "Unable to chdir to vpopmail/users directory"},
    {VA_BAD_D_DIR, "Unable to chdir to vpopmail/domains directory"},
    {VA_BAD_V_DIR, "Unable to chdir to vpopmail/domains/domain directory"},
    {VA_EXIST_U_DIR, "User's directory already exists?"},
    {VA_BAD_U_DIR2, "Unable to chdir to user's directory"},
    {VA_SUBDIR_CREATION, "Creation of user's subdirectories failed?"},
    {VA_USER_DOES_NOT_EXIST, "User does not exist"},
    {VA_DOMAIN_DOES_NOT_EXIST, "Domain does not exist"},
    {VA_INVALID_DOMAIN_NAME, "Invalid domain name"},
    {VA_DOMAIN_ALREADY_EXISTS, "Domain already exists"},
    {VA_COULD_NOT_MAKE_DOMAIN_DIR, "Could not make domain dir"},
    {VA_COULD_NOT_OPEN_QMAIL_DEFAULT, "Could not open qmail default"},
    {VA_CAN_NOT_MAKE_DOMAINS_DIR, "Can not make domains directory"},
    {VA_COULD_NOT_UPDATE_FILE, "Could not update file"},
    {VA_CRYPT_FAILED, "Crypt failed"},
    {VA_COULD_NOT_OPEN_DOT_QMAIL, "Could not open dot qmail file"},
    {VA_BAD_CHAR, "bad character"},
    {VA_BAD_UID, "running as invalid uid"},
    {VA_NO_AUTH_CONNECTION, "no authentication database connection"},
    {VA_MEMORY_ALLOC_ERR, "memory allocation error"},
    {VA_USER_NAME_TOO_LONG, "user name too long"},
    {VA_DOMAIN_NAME_TOO_LONG, "domain name too long"},
    {VA_PASSWD_TOO_LONG, "password too long"},
    {VA_GECOS_TOO_LONG, "gecos too long"},
    {VA_QUOTA_TOO_LONG, "quota too long"},
    {VA_DIR_TOO_LONG, "dir too long"},
    {VA_CLEAR_PASSWD_TOO_LONG, "clear password too long"},
    {VA_ALIAS_LINE_TOO_LONG, "alias line too long"},
    {VA_NULL_POINTER, "null pointer"},
    {VA_INVALID_EMAIL_CHAR, "invalid email character"},
    {VA_PARSE_ERROR, "error parsing data"},
    {VA_CANNOT_READ_LIMITS, "can't read domain limits"},
    {VA_CANNOT_READ_ASSIGN, "can't read users/assign file"},
};

/* verror - vpopmail's text for err ("Unknown error" for another). */
const char *
verror(int err)
{
    for (unsigned i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].err == err)
            return texts[i].text;
    return "Unknown error";
}
