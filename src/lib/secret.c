/* SPDX-License-Identifier: ISC */
/* secret - see secret.h. */
#include <stdlib.h>
#include <string.h>

#include "secret.h"

/* secret_free - wipe s's bytes, then free it; NULL is fine. */
void
secret_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}
