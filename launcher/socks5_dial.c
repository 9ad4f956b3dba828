#include "socks5_dial.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "socks5.h"
#include "socks5_errno.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline: 0, -ETIMEDOUT or -errno. */
static int wait_for(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -errno;
    }
}

static int connect_proxy(int fd, const struct sockaddr *proxy, socklen_t len, long long deadline)
{
    if (connect(fd, proxy, len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -errno;
    /* Non-blocking (or interrupted): the outcome arrives as writability. */
    int rc = wait_for(fd, POLLOUT, deadline);
    if (rc < 0)
        return rc;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        return -errno;
    return -err;
}

static int send_all(int fd, const uint8_t *p, size_t n, long long deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_for(fd, POLLOUT, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        return w < 0 ? -errno : -EPIPE;
    }
    return 0;
}

int socks5_dial(int fd, const struct sockaddr *proxy, socklen_t proxylen, const uint8_t dest16[16],
                uint16_t port, int timeout_ms)
{
    long long start = now_ms(), deadline = start + timeout_ms;
    uint8_t req[SOCKS5_REQUEST_MAX], buf[SOCKS5_REPLY_MAX];
    size_t reqlen = socks5_encode_connect(req, dest16, port), have = 0;
    struct socks5_reply reply;

    int rc = connect_proxy(fd, proxy, proxylen, deadline);
    if (rc < 0)
        return rc == -ETIMEDOUT ? rc : -ECONNREFUSED;
    /* Greeting, its reply, then CONNECT: no pipelining, so any SOCKS5
     * server works (the extra loopback round trip costs ~20 us). */
    bool sent_connect = false;
    rc = send_all(fd, req, SOCKS5_GREETING_LEN, deadline);
    while (rc == 0) {
        size_t need = socks5_parse_reply(buf, have, &reply);
        if (need == 0)
            break;
        if (!sent_connect && have >= 2) {
            rc = send_all(fd, req + SOCKS5_GREETING_LEN, reqlen - SOCKS5_GREETING_LEN, deadline);
            sent_connect = true;
            continue;
        }
        size_t want = sent_connect ? need : 2;
        ssize_t r = recv(fd, buf + have, want - have, MSG_DONTWAIT);
        if (r > 0) {
            have += (size_t)r;
        } else if (r == 0) {
            rc = -ECONNREFUSED; /* the proxy hung up mid-handshake */
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            rc = wait_for(fd, POLLIN, deadline);
        } else if (errno != EINTR) {
            rc = errno == ECONNRESET || errno == EPIPE ? -ECONNREFUSED : -errno;
        }
    }
    if (rc == -EPIPE || rc == -ECONNRESET)
        rc = -ECONNREFUSED;
    if (rc < 0)
        return rc;
    return -socks5_reply_errno(&reply, now_ms() - start);
}
