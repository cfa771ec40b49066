/* SPDX-License-Identifier: ISC */
/*
 * popup_sent - how many bytes have been written to a TCP socket, by
 * anyone holding it: what the peer acknowledged plus what still waits in
 * the send queue (Linux's TCP_INFO tcpi_bytes_acked and SIOCOUTQ).  The
 * count is exact and only grows while the connection is open, so its
 * change while the checkpassword chain ran says whether the chain spoke
 * to the client.  Linux headers stay in this file.
 */
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <linux/tcp.h>

#include "popup.h"

/*
 * popup_sent - the bytes written to fd so far into *n.  0, or -1 when fd
 * is not a TCP socket or the kernel cannot tell (then nothing is known).
 */
int
popup_sent(int fd, unsigned long long *n)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    int outq = 0;

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
        len < offsetof(struct tcp_info, tcpi_bytes_acked) +
                  sizeof ti.tcpi_bytes_acked ||
        ioctl(fd, SIOCOUTQ, &outq) == -1 || outq < 0)
        return -1;
    *n = (unsigned long long)ti.tcpi_bytes_acked + (unsigned long long)outq;
    return 0;
}
