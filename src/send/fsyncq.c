/* SPDX-License-Identifier: ISC */
/*
 * fsyncq - a small pool of fsync threads (see fsyncq.h).  Each item is a
 * descriptor the pool fsyncs and then closes, and an opaque tag handed
 * back to the main loop with the result.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fsyncq.h"

struct item {
    int fd;
    int err;
    void *tag;
    struct item *next;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct item *todo_head, *todo_tail, *done_head;
static unsigned long pending;
static int efd = -1;

static void *
worker(void *arg)
{
    (void)arg;
    for (;;) {
        struct item *it;
        uint64_t one = 1;

        pthread_mutex_lock(&mu);
        while (!todo_head)
            pthread_cond_wait(&cv, &mu);
        it = todo_head;
        todo_head = it->next;
        if (!todo_head)
            todo_tail = NULL;
        pthread_mutex_unlock(&mu);

        it->err = fsync(it->fd) == -1 ? errno : 0;
        if (close(it->fd) == -1 && !it->err)
            it->err = errno;

        pthread_mutex_lock(&mu);
        it->next = done_head;
        done_head = it;
        pthread_mutex_unlock(&mu);
        if (write(efd, &one, sizeof one) == -1) {
            /* the counter cannot overflow here; nothing to do */
        }
    }
    return NULL;
}

/* fsyncq_init - start the threads: 0 or -1. */
int
fsyncq_init(void)
{
    pthread_attr_t at;

    efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd == -1)
        return -1;
    if (pthread_attr_init(&at) != 0)
        return -1;
    pthread_attr_setstacksize(&at, 64 * 1024);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < FSYNCQ_THREADS; i++) {
        pthread_t t;

        if (pthread_create(&t, &at, worker, NULL) != 0) {
            pthread_attr_destroy(&at);
            return -1;
        }
    }
    pthread_attr_destroy(&at);
    return 0;
}

/* fsyncq_fd - readable when completions are waiting. */
int
fsyncq_fd(void)
{
    return efd;
}

/* fsyncq_submit - fsync and close fd in the background: 0 or -1. */
int
fsyncq_submit(int fd, void *tag)
{
    struct item *it = malloc(sizeof *it);

    if (!it)
        return -1;
    it->fd = fd;
    it->tag = tag;
    it->err = 0;
    it->next = NULL;
    pthread_mutex_lock(&mu);
    if (todo_tail)
        todo_tail->next = it;
    else
        todo_head = it;
    todo_tail = it;
    pending++;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    return 0;
}

/*
 * fsyncq_collect - hand every finished item to done(tag, errno or 0).
 * Returns the number handed back.
 */
int
fsyncq_collect(void (*done)(void *tag, int err))
{
    struct item *list;
    uint64_t n;
    int count = 0;

    if (read(efd, &n, sizeof n) == -1 && errno != EAGAIN)
        return 0;
    pthread_mutex_lock(&mu);
    list = done_head;
    done_head = NULL;
    pthread_mutex_unlock(&mu);
    while (list) {
        struct item *it = list;

        list = it->next;
        pthread_mutex_lock(&mu);
        pending--;
        pthread_mutex_unlock(&mu);
        done(it->tag, it->err);
        free(it);
        count++;
    }
    return count;
}

unsigned long
fsyncq_pending(void)
{
    unsigned long p;

    pthread_mutex_lock(&mu);
    p = pending;
    pthread_mutex_unlock(&mu);
    return p;
}
