/* Byte exactness of the asynchronous connect (issue 11): a SOCKS5 reply and
 * the app's data arrive in random pieces on a pending socket, while random
 * read-side calls run between the pieces. The app must never see a SOCKS
 * byte and must see every data byte, in order; a failure reply must turn
 * into one errno. Without pipelining (TSRUN_SOCKS5_PIPELINE=0) the CONNECT
 * request must reach the server whole, once, and never before the method
 * reply. Input: byte 0 picks the reply (success with an IPv4, IPv6 or domain
 * bound address, or a failure; bit 7: no pipelining); then pairs (piece
 * length, call) drive the run; the rest is the app's data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "async.h"
#include "fuzz.h"
#include "log.h"
#include "pending.h"

static size_t build_reply(uint8_t kind, uint8_t *out, bool *ok)
{
    static const uint8_t v4[] = {5, 0, 5, 0, 0, 1, 100, 88, 12, 5, 0, 80};
    static const uint8_t v6[] = {5, 0, 5, 0, 0, 4, 0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0,
                                 0, 0, 0, 0, 0xd4, 1, 0x0c, 5, 0, 80};
    static const uint8_t dom[] = {5, 0, 5, 0, 0, 3, 2, 'd', 'b', 0, 80};
    static const uint8_t fail[] = {5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0};
    const uint8_t *r[] = {v4, v6, dom, fail};
    size_t n[] = {sizeof v4, sizeof v6, sizeof dom, sizeof fail};
    unsigned k = kind % 4;
    *ok = k != 3;
    memcpy(out, r[k], n[k]);
    return n[k];
}

static const uint8_t *expect; /* the app's data, for peeks */

/* One read-side call as the app would make it; appends what it returned. */
static int app_read(int fd, uint8_t op, uint8_t *got, size_t *have, size_t cap)
{
    int rc = async_before_read(fd, true);
    if (rc < 0)
        return rc;
    if (*have >= cap)
        return 0;
    size_t want = 1 + op % 7;
    if (want > cap - *have)
        want = cap - *have;
    ssize_t n;
    if (op & 0x80) {
        int q = 0;
        ioctl(fd, FIONREAD, &q);
        n = recv(fd, got + *have, want, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0 && (size_t)q < (size_t)n)
            abort(); /* FIONREAD counts fewer app bytes than are there */
        if (n > 0 && memcmp(got + *have, expect + *have, (size_t)n) != 0)
            abort(); /* a peek showed a SOCKS byte */
        n = 0; /* a peek consumes nothing */
    } else {
        n = recv(fd, got + *have, want, MSG_DONTWAIT);
    }
    if (n > 0)
        *have += (size_t)n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t reply[64];
    bool ok;
    size_t rlen = build_reply(data[0], reply, &ok);
    size_t steps = data[1] % 16;
    if (size < 2 + 2 * steps)
        return 0;
    const uint8_t *plan = data + 2, *payload = data + 2 + 2 * steps;
    size_t plen = size - 2 - 2 * steps;
    expect = payload;
    if (plen > 512)
        plen = 512;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return 0;
    struct pending *p = pending_add(sv[0], pending_socket_ino(sv[0]), log_now_ms(),
                                    log_now_ms() + 60000);
    if (p == NULL)
        abort();
    static const uint8_t request[] = {5, 1, 0, 1, 100, 88, 12, 5, 0, 80};
    bool lockstep = (data[0] & 0x80) != 0;
    if (lockstep) { /* tunnel_start without pipelining: greeting sent */
        p->hold_writes = true;
        p->unsent = sizeof request;
        memcpy(p->request + sizeof p->request - sizeof request, request, sizeof request);
    }
    pending_release(p);

    uint8_t stream[64 + 512], got[512];
    memcpy(stream, reply, rlen);
    memcpy(stream + rlen, payload, plen);
    size_t total = rlen + plen, sent = 0, have = 0;
    int err = 0;
    bool requested = false;
    for (size_t i = 0; i <= steps; i++) {
        size_t piece = i == steps ? total - sent : plan[2 * i] % 16;
        if (piece > total - sent)
            piece = total - sent;
        if (piece > 0 && write(sv[1], stream + sent, piece) != (ssize_t)piece)
            abort();
        sent += piece;
        int rc = app_read(sv[0], i == steps ? 0 : plan[2 * i + 1], got, &have, plen);
        uint8_t req[32];
        ssize_t q = recv(sv[1], req, sizeof req, MSG_DONTWAIT);
        if (q > 0 && (!lockstep || sent < 2 || requested || q != sizeof request ||
                      memcmp(req, request, sizeof request) != 0))
            abort(); /* a request before the method reply, twice, or torn */
        requested |= q > 0;
        if (rc < 0 && rc != -EAGAIN) {
            if (ok || err != 0)
                abort(); /* a success reply failed, or a failure came twice */
            err = -rc;
            break;
        }
    }
    if (ok) {
        while (have < plen) {
            size_t before = have;
            if (app_read(sv[0], 6, got, &have, plen) < 0 || have == before)
                abort(); /* everything was sent: it must all be readable */
        }
        if (memcmp(got, payload, plen) != 0)
            abort(); /* a SOCKS byte leaked in, or data was lost or reordered */
        if (pending_has(sv[0]))
            abort();
    } else if (err == 0) {
        /* The whole failure reply was sent: the next call reports it. */
        if (app_read(sv[0], 0, got, &have, plen) != -ECONNREFUSED || have != 0)
            abort();
    }
    if (lockstep && (ok || err != 0)) { /* the reply was read: so was the request sent */
        uint8_t req[32];
        ssize_t q = recv(sv[1], req, sizeof req, MSG_DONTWAIT);
        if (q > 0 && (requested || q != sizeof request))
            abort();
        if (!requested && q <= 0)
            abort();
    }
    /* Whatever happened, the entry must not outlive the socket. */
    struct pending *left = pending_acquire(sv[0], NULL);
    if (left != NULL)
        pending_remove(left);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
