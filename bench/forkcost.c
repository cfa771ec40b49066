/* SPDX-License-Identifier: ISC */
/*
 * forkcost - the price of creating a process on this machine, for
 * bench/lspawncost.py's table: N times fork + _exit, fork + exec of a
 * program, and vfork + exec of it, each waited for, from a process of
 * about qmail-lspawn's size.  Prints wall and CPU (self + children)
 * microseconds per iteration, and the fastest iteration's wall time (on
 * a busy machine, the closest to the price on an idle one).  Not part of the build:
 *     cc -O2 -o /tmp/forkcost bench/forkcost.c && /tmp/forkcost 2000 /bin/true
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu(void)
{
    struct rusage s, c;

    getrusage(RUSAGE_SELF, &s);
    getrusage(RUSAGE_CHILDREN, &c);
    return s.ru_utime.tv_sec + s.ru_utime.tv_usec / 1e6 + s.ru_stime.tv_sec +
           s.ru_stime.tv_usec / 1e6 + c.ru_utime.tv_sec +
           c.ru_utime.tv_usec / 1e6 + c.ru_stime.tv_sec +
           c.ru_stime.tv_usec / 1e6;
}

/* one - one child of the given kind, waited for; -1 if that failed */
static int
one(int kind, const char *prog)
{
    char *argv[] = {(char *)prog, NULL};
    int status;
    pid_t pid = kind == 2 ? vfork() : fork();

    if (pid == -1)
        return -1;
    if (pid == 0) {
        if (kind != 0)
            execv(prog, argv);
        _exit(kind == 0 ? 0 : 127);
    }
    /* any exit but 127 (exec failed): qmail-local without arguments
     * says its usage and exits 100, after the loader did its work */
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) == 127)
        return -1;
    return 0;
}

int
main(int argc, char **argv)
{
    static const char *names[] = {"fork+_exit", "fork+exec", "vfork+exec"};
    long n = argc > 1 ? atol(argv[1]) : 1000;
    const char *prog = argc > 2 ? argv[2] : "/bin/true";

    if (n < 1 || n > 1000000) {
        fprintf(stderr, "usage: forkcost [iterations] [program]\n");
        return 100;
    }
    for (int kind = 0; kind < 3; kind++) {
        double t0 = now(), c0 = cpu(), best = 1e9;

        for (long i = 0; i < n; i++) {
            double t = now();

            if (one(kind, prog) == -1) {
                fprintf(stderr, "forkcost: %s failed\n", names[kind]);
                return 111;
            }
            t = now() - t;
            if (t < best)
                best = t;
        }
        /* the fastest child is the price with nothing else running */
        printf("%-12s %8.0f us wall %8.0f us CPU per child, fastest %6.0f us "
               "(%s)\n",
               names[kind], (now() - t0) / n * 1e6, (cpu() - c0) / n * 1e6,
               best * 1e6, kind ? prog : "-");
    }
    return 0;
}
