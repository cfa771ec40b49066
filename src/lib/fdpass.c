/* SPDX-License-Identifier: ISC */
/*
 * fdpass - packets with descriptors (see fdpass.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdpass.h"

union ctlbuf {
    struct cmsghdr h;
    char buf[CMSG_SPACE(FDPASS_MAX * sizeof(int))];
};

/*
 * fdpass_send - len bytes of buf as one packet on sock, with nfds (at
 * most FDPASS_MAX) descriptors.  Never raises SIGPIPE.  Returns 0, or -1
 * with errno (EPIPE, ECONNREFUSED: the peer is gone).
 */
int
fdpass_send(int sock, const void *buf, size_t len, const int *fds,
            size_t nfds)
{
    union ctlbuf ctl;
    struct iovec iov = {(void *)buf, len};
    struct msghdr m = {0};

    if (nfds > FDPASS_MAX) {
        errno = EINVAL;
        return -1;
    }
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (nfds) {
        struct cmsghdr *c;

        memset(&ctl, 0, sizeof ctl);
        m.msg_control = ctl.buf;
        m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    for (;;) {
        if (sendmsg(sock, &m, MSG_NOSIGNAL) != -1)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

static void
close_all(int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] != -1) {
            close(fds[i]);
            fds[i] = -1;
        }
}

/*
 * fdpass_recv - wait for one packet on sock: at most cap bytes into buf,
 * and exactly nfds descriptors into fds (all -1 when the packet carried
 * none; the caller decides whether that is acceptable).  Returns the
 * packet's length (0: the peer closed), or -1 with errno (EPROTO: wrong
 * control data or a different number of descriptors).
 */
ssize_t
fdpass_recv(int sock, void *buf, size_t cap, int *fds, size_t nfds)
{
    union ctlbuf ctl;
    struct iovec iov = {buf, cap};
    struct msghdr m = {0};
    struct cmsghdr *c;
    size_t got = 0;
    ssize_t n;

    for (size_t i = 0; i < nfds; i++)
        fds[i] = -1;
    if (nfds > FDPASS_MAX) {
        errno = EINVAL;
        return -1;
    }
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl.buf;
    m.msg_controllen = sizeof ctl.buf;
    do {
        n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    } while (n == -1 && errno == EINTR);
    if (n <= 0)
        return n;
    for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        size_t k;
        int tmp[FDPASS_MAX];

        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0))
            goto bad;
        k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if (k > FDPASS_MAX)
            goto bad;
        memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
        for (size_t i = 0; i < k; i++) {
            if (got < nfds)
                fds[got] = tmp[i];
            else
                close(tmp[i]);
            got++;
        }
    }
    if ((m.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || (got && got != nfds))
        goto bad;
    return n;
bad:
    close_all(fds, nfds);
    errno = EPROTO;
    return -1;
}
