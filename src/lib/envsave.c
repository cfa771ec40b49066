/* SPDX-License-Identifier: ISC */
/*
 * envsave - save and restore the environment (see envsave.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "envsave.h"

extern char **environ;

/*
 * envsave_take - copy every NAME=value of the environment (kept for the
 * life of the process).  Returns 0, or -1 (ENOMEM).
 */
int
envsave_take(char ***saved)
{
    size_t n = 0;
    char **v;

    while (environ && environ[n])
        n++;
    v = calloc(n + 1, sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = strdup(environ[i]))) {
            while (i--)
                free(v[i]);
            free(v);
            return -1;
        }
    *saved = v;
    return 0;
}

/*
 * envsave_restore - make the environment exactly the saved one again.
 * Returns 0, or -1 (ENOMEM).
 */
int
envsave_restore(char **saved)
{
    if (clearenv() != 0) {
        errno = ENOMEM;
        return -1;
    }
    /* putenv keeps our copies; setenv and unsetenv later replace or drop
     * the pointer and never write into them */
    for (size_t i = 0; saved[i]; i++)
        if (putenv(saved[i]) != 0)
            return -1;
    return 0;
}
