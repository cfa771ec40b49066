/* SPDX-License-Identifier: ISC */
/*
 * fuzz_result - result_parse on any text, as a bounce file may hold it
 * (a remote server's reply is in there word for word).  The code it
 * finds is "" or a class 2, 4 or 5 code of digits and two dots, short
 * enough for its buffer; the remote reply lies inside the text, starts
 * after RESULT_SAID at the start of a line, and every line of it but
 * the first starts with three digits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *t = (const char *)data;
    struct result_view v;
    size_t n, dots = 0;

    result_parse(t, size, &v);
    n = strnlen(v.esc, sizeof v.esc);
    if (n == sizeof v.esc)
        abort();
    if (n) {
        if (v.esc[0] != '2' && v.esc[0] != '4' && v.esc[0] != '5')
            abort();
        for (size_t i = 0; i < n; i++) {
            if (v.esc[i] == '.')
                dots++;
            else if (v.esc[i] < '0' || v.esc[i] > '9')
                abort();
        }
        if (dots != 2)
            abort();
    }
    if (!v.said) {
        if (v.saidlen)
            abort();
        return 0;
    }
    if (v.said < t + sizeof RESULT_SAID - 1 || v.said + v.saidlen > t + size)
        abort();
    if (memcmp(v.said - (sizeof RESULT_SAID - 1), RESULT_SAID,
               sizeof RESULT_SAID - 1) != 0)
        abort();
    for (size_t i = 0; i < v.saidlen; i++)
        if (v.said[i] == '\n' &&
            (i + 3 >= v.saidlen || v.said[i + 1] < '0' || v.said[i + 1] > '9'))
            abort();
    return 0;
}
