/* SPDX-License-Identifier: ISC */
/*
 * ident - RFC 1413 queries and replies (see ident.h).
 *
 * The query names the port pair as the client sees it: its own port
 * (our TCPREMOTEPORT) first, then ours.  A reply looks like
 *   "6193 , 25 : USERID : UNIX : joe\r\n"
 * and everything after the third colon, less leading blanks and the line
 * end, is the user id (it may itself hold colons).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "deadline.h"
#include "fmt.h"
#include "ident.h"
#include "writeall.h"

static bool
blank(char c)
{
    return c == ' ' || c == '\t';
}

/* One port number with blanks around it, spanning s[0..len). */
static bool
port_is(const char *s, size_t len, unsigned want)
{
    unsigned long u;
    size_t n;

    while (len && blank(*s)) {
        s++;
        len--;
    }
    while (len && blank(s[len - 1]))
        len--;
    n = scan_ulong(s, len, &u);
    return n == len && n > 0 && u == want;
}

/* A field between colons, blanks trimmed, equal to word (any case)? */
static bool
field_is(const char *s, size_t len, const char *word)
{
    size_t wl = strlen(word);

    while (len && blank(*s)) {
        s++;
        len--;
    }
    while (len && blank(s[len - 1]))
        len--;
    return len == wl && strncasecmp(s, word, wl) == 0;
}

/*
 * ident_parse - the user id in one reply line for ports rport (the
 * client's) and lport (ours).  Returns 1 with user set, or 0 when the
 * reply is an ERROR, malformed, for other ports, empty or too long.
 */
int
ident_parse(const char *resp, size_t len, unsigned rport, unsigned lport,
            struct bstr *user)
{
    const char *colon[3], *comma, *u;
    const char *nl = memchr(resp, '\n', len);
    const char *end = nl ? nl : resp + len;
    const char *p = resp;
    size_t ulen;

    for (int i = 0; i < 3; i++) {
        colon[i] = memchr(p, ':', (size_t)(end - p));
        if (!colon[i])
            return 0;
        p = colon[i] + 1;
    }
    comma = memchr(resp, ',', (size_t)(colon[0] - resp));
    if (!comma || !port_is(resp, (size_t)(comma - resp), rport) ||
        !port_is(comma + 1, (size_t)(colon[0] - comma - 1), lport))
        return 0;
    if (!field_is(colon[0] + 1, (size_t)(colon[1] - colon[0] - 1), "USERID"))
        return 0;
    u = colon[2] + 1;
    while (u < end && blank(*u))
        u++;
    ulen = (size_t)(end - u);
    while (ulen && (u[ulen - 1] == '\r' || blank(u[ulen - 1])))
        ulen--;
    if (ulen == 0 || ulen > IDENT_USER_MAX)
        return 0;
    if (bstr_copyb(user, u, ulen) == -1)
        return 0;
    for (size_t i = 0; i < user->len; i++)
        if ((unsigned char)user->s[i] < 0x20 || user->s[i] == 0x7f)
            user->s[i] = '?';
    return 1;
}

static void
set_port(struct sockaddr_storage *ss, unsigned port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((unsigned short)port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port =
            htons((unsigned short)port);
}

static unsigned
get_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

/*
 * ident_query - ask the client's identd who owns the connection from
 * remote to local, within timeout seconds.  Returns 1 with user set, 0
 * when there is no usable answer (refused, timed out, ERROR reply), -1
 * with errno set on a local failure (no socket, no memory).
 */
int
ident_query(const struct sockaddr *local, socklen_t llen,
            const struct sockaddr *remote, socklen_t rlen, unsigned timeout,
            struct bstr *user)
{
    struct sockaddr_storage from, to;
    char q[2 * FMT_ULONG + 8], resp[IDENT_LINE_MAX];
    long long deadline = deadline_in((long long)timeout * 1000);
    unsigned rport, lport;
    size_t qlen, got = 0;
    int fd, r = 0;

    if ((local->sa_family != AF_INET && local->sa_family != AF_INET6) ||
        local->sa_family != remote->sa_family || llen > sizeof from ||
        rlen > sizeof to) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    memset(&from, 0, sizeof from);
    memset(&to, 0, sizeof to);
    memcpy(&from, local, llen);
    memcpy(&to, remote, rlen);
    lport = get_port(local);
    rport = get_port(remote);
    set_port(&from, 0);
    set_port(&to, IDENT_PORT);

    fd = socket(local->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    if (fd == -1)
        return -1;
    /* from the address the client reached, so its identd sees our pair */
    if (bind(fd, (struct sockaddr *)&from, llen) == -1)
        goto done;
    if (deadline_connect(fd, (struct sockaddr *)&to, rlen, deadline) == -1)
        goto done;
    qlen = fmt_ull(q, rport);
    memcpy(q + qlen, " , ", 3);
    qlen += 3;
    qlen += fmt_ull(q + qlen, lport);
    memcpy(q + qlen, "\r\n", 2);
    qlen += 2;
    if (write_all_until(fd, q, qlen, deadline) == -1)
        goto done;
    /* one line: a reply without '\n' ends at end of file or a full buffer */
    while (got < sizeof resp) {
        ssize_t n = deadline_read(fd, resp + got, sizeof resp - got, deadline);

        if (n == -1 && errno == ETIMEDOUT)
            goto done;
        if (n <= 0)
            break; /* end of file or a reset: what came may still do */
        got += (size_t)n;
        if (memchr(resp + got - (size_t)n, '\n', (size_t)n))
            break;
    }
    r = ident_parse(resp, got, rport, lport, user);
done:
    close(fd);
    return r;
}
