/* SPDX-License-Identifier: ISC */
/*
 * wenv - a tcpserver -W worker for the e2e tests (test_tcpserver_workers):
 * for each client it writes its environment, one NAME=value per line,
 * then "PID=<pid>" and ".", then reads one line: "done N" ends the
 * session with code N and asks for the next client, "exit N" ends the
 * process with N, "open" leaves a file open (to check that nothing of
 * one session reaches the next), EOF is "done 0".  Without -W it serves
 * the one client on fds 0/1 the same way.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

extern char **environ;

static int
session(void)
{
    char line[256];
    size_t n = 0;
    FILE *out = fdopen(dup(1), "w");

    if (!out)
        return 111;
    for (char **e = environ; *e; e++)
        fprintf(out, "%s\n", *e);
    fprintf(out, "PID=%ld\n.\n", (long)getpid());
    fclose(out);
    while (n < sizeof line - 1) {
        ssize_t r = read(0, line + n, 1);

        if (r <= 0 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    if (strncmp(line, "exit ", 5) == 0)
        _exit(atoi(line + 5));
    if (strncmp(line, "open", 4) == 0) {
        int fd = open("/dev/null", O_RDONLY); /* no CLOEXEC: leaks on purpose */
        (void)fd;
        return 0;
    }
    if (strncmp(line, "done ", 5) == 0)
        return atoi(line + 5);
    return 0;
}

int
main(void)
{
    static struct worker w; /* reachable until exit: its copies live as long */
    int r = worker_init(&w);

    if (r == 0)
        return session();
    if (r == -1) {
        perror("wenv: worker_init");
        return 111;
    }
    while ((r = worker_next(&w)) == 1) {
        int code = session();

        if (!worker_done(&w, code))
            return code;
    }
    return r == 0 ? 0 : 111;
}
