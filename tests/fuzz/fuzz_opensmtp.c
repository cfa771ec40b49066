/* SPDX-License-Identifier: ISC */
/*
 * fuzz_opensmtp - the POP-before-SMTP names and vpopmail's open-smtp
 * lines: opensmtp_name and opensmtp_parse on any bytes.  An accepted
 * name is never empty, never starts with '.', holds only hex digits,
 * '.' and ':' (so never a '/'), is its own canonical form, and fits
 * OPENSMTP_NAME; an accepted line's name obeys the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "opensmtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_name(const char *name)
{
    char again[OPENSMTP_NAME];
    size_t n = strlen(name);

    if (n == 0 || n >= OPENSMTP_NAME || name[0] == '.')
        abort();
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef.:", name[i]))
            abort();
    if (opensmtp_name(name, n, again) != 0 || strcmp(again, name) != 0)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char name[OPENSMTP_NAME];
    unsigned long long when;

    memset(name, 'x', sizeof name);
    if (opensmtp_name(s, size, name) == 0)
        check_name(name);
    memset(name, 'x', sizeof name);
    if (opensmtp_parse(s, size, name, &when) == 0)
        check_name(name);
    return 0;
}
