/* SPDX-License-Identifier: ISC */
/*
 * replay - run a libFuzzer entry point over saved inputs, without
 * libFuzzer: `fuzz_x DIR-or-FILE...`.  Built with gcc by `make check`,
 * so every input in tests/fuzz/corpus (crashes found earlier included)
 * stays a regression test.  An input that crashes kills the process and
 * the runner reports it.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t passed;

static int
run_file(const char *path)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY);

    if (fd == -1 || fstat(fd, &st) == -1) {
        perror(path);
        return -1;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return -1;
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    /* an exact-size copy, so ASan sees reads past the end */
    uint8_t *exact = malloc(got ? got : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, got);
    free(buf);
    LLVMFuzzerTestOneInput(exact, got);
    free(exact);
    printf("ok   %s\n", path);
    passed++;
    return 0;
}

static int
cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
    size_t failed = 0;

    LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) == -1)
            continue; /* no corpus yet */
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *de;
            char **names = NULL;
            size_t n = 0, cap = 0;

            if (!d)
                continue;
            while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                    continue;
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    names = realloc(names, cap * sizeof *names);
                    if (!names)
                        return 2;
                }
                names[n] = malloc(strlen(argv[i]) + strlen(de->d_name) + 2);
                if (!names[n])
                    return 2;
                sprintf(names[n], "%s/%s", argv[i], de->d_name);
                n++;
            }
            closedir(d);
            qsort(names, n, sizeof *names, cmp);
            for (size_t k = 0; k < n; k++) {
                if (run_file(names[k]) == -1)
                    failed++;
                free(names[k]);
            }
            free(names);
        } else if (run_file(argv[i]) == -1) {
            failed++;
        }
    }
    printf("%zu passed, %zu failed\n", passed + 1, failed);
    return failed ? 1 : 0;
}
