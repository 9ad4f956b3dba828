/* See dnsstub.h. Wire format: RFC 1035 §4 (header, question, answer RRs). */
#include "dnsstub.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "mapview.h"
#include "route.h"
#include "socks5_dial.h"
#include "trap.h"

#define DNS_HEADER 12
#define DNS_TYPE_A 1
#define DNS_TYPE_PTR 12
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1
#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_RD 0x0100
#define DNS_FLAG_RA 0x0080
#define DNS_RCODE_NXDOMAIN 3
#define DNS_TTL 60
#define DNS_MSG_MAX 1232
#define DNS_FORWARD_TIMEOUT_MS 5000

/* Reads the question name (no compression in questions) as a lower-case
 * dotted string without the trailing dot. Returns the offset after QCLASS,
 * or -EINVAL. */
static int read_question(const uint8_t *q, size_t len, char *name, size_t nlen, int *qtype)
{
    size_t pos = DNS_HEADER, out = 0;
    for (;;) {
        if (pos >= len)
            return -EINVAL;
        uint8_t n = q[pos++];
        if (n == 0)
            break;
        if (n & 0xC0 || pos + n > len || out + n + 1 >= nlen)
            return -EINVAL;
        if (out)
            name[out++] = '.';
        for (uint8_t i = 0; i < n; i++)
            name[out++] = (char)tolower(q[pos + i]);
        pos += n;
    }
    name[out] = '\0';
    if (pos + 4 > len)
        return -EINVAL;
    *qtype = q[pos] << 8 | q[pos + 1];
    return (int)pos + 4;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0 && (a == b || s[a - b - 1] == '.');
}

/* PTR names of 100.64.0.0/10 and fd7a:115c:a1e0::/48. */
static bool tailnet_ptr(const char *name)
{
    if (ends_with(name, "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa"))
        return true;
    /* The zone's own name has no second octet (and l below would wrap). */
    if (!ends_with(name, "100.in-addr.arpa") || strlen(name) == strlen("100.in-addr.arpa"))
        return false;
    /* "d.c.b.100.in-addr.arpa": b is the second octet. */
    size_t l = strlen(name) - strlen("100.in-addr.arpa") - 1;
    size_t start = l;
    while (start > 0 && name[start - 1] != '.')
        start--;
    int b = atoi(name + start);
    return l > start && b >= 64 && b <= 127;
}

int dnsstub_answer(const struct nm_view *v, const uint8_t *q, size_t qlen, uint8_t *out,
                   size_t outlen)
{
    char name[256];
    int qtype;
    if (qlen < DNS_HEADER || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
        return -EINVAL;
    int end = read_question(q, qlen, name, sizeof name, &qtype);
    if (end < 0)
        return end;
    struct names_entry e;
    bool found = v && nm_find_name(v, name, strlen(name), &e) >= 0;
    bool nx = false;
    if (!found) {
        bool under = (v && v->suffix[0] && ends_with(name, v->suffix)) ||
                     ends_with(name, "ts.net") || (qtype == DNS_TYPE_PTR && tailnet_ptr(name));
        if (!under)
            return 0;
        nx = true;
    }
    if ((size_t)end > outlen)
        return -EINVAL;
    memcpy(out, q, (size_t)end);
    uint16_t flags = DNS_FLAG_QR | DNS_FLAG_RA | (uint16_t)((q[2] << 8 | q[3]) & DNS_FLAG_RD);
    if (nx)
        flags |= DNS_RCODE_NXDOMAIN;
    out[2] = (uint8_t)(flags >> 8);
    out[3] = (uint8_t)flags;
    memset(out + 6, 0, 6); /* AN, NS, AR counts */
    size_t pos = (size_t)end;
    unsigned an = 0;
    int fam = qtype == DNS_TYPE_A ? AF_INET : qtype == DNS_TYPE_AAAA ? AF_INET6 : 0;
    size_t alen = fam == AF_INET ? 4 : 16;
    for (unsigned i = 0; found && i < e.naddrs; i++) {
        const uint8_t *addr = e.addr[i].bytes;
        if (!fam || e.addr[i].family != fam)
            continue;
        if (pos + 12 + alen > outlen)
            break;
        uint8_t rr[12] = {0xC0, DNS_HEADER, 0, (uint8_t)qtype, 0, DNS_CLASS_IN,
                          0,    0,          0, DNS_TTL,        0, (uint8_t)alen};
        memcpy(out + pos, rr, sizeof rr);
        memcpy(out + pos + sizeof rr, addr, alen);
        pos += sizeof rr + alen;
        an++;
    }
    out[6] = (uint8_t)(an >> 8);
    out[7] = (uint8_t)an;
    return (int)pos;
}

/* --- the server --- */

#define ROUTE_SLOTS 256

struct redirect {
    struct sockaddr_storage from, ns;
    socklen_t nslen;
    bool tcp;
};

static struct redirect redirects[ROUTE_SLOTS];
static size_t nredirects, redirect_next;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int stub_fd = -1;
static bool started; /* dnsstub_start succeeded */

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    /* Both come zeroed (calloc, = {0}) and filled by the kernel
     * (recvfrom/getpeername), which the analyzer does not model. */
    // NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult)
    return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

static void remember(const struct sockaddr_storage *from, const struct sockaddr_storage *ns,
                     socklen_t nslen, bool tcp)
{
    pthread_mutex_lock(&lock);
    struct redirect *r = &redirects[redirect_next];
    redirect_next = (redirect_next + 1) % ROUTE_SLOTS;
    if (nredirects < ROUTE_SLOTS)
        nredirects++;
    r->from = *from;
    r->ns = *ns;
    r->nslen = nslen;
    r->tcp = tcp;
    pthread_mutex_unlock(&lock);
}

void dnsstub_remember(const struct sockaddr_storage *from, const struct sockaddr_storage *ns,
                      socklen_t nslen)
{
    remember(from, ns, nslen, false);
}

void dnsstub_remember_tcp(const struct sockaddr_storage *from, const struct sockaddr_storage *ns,
                          socklen_t nslen)
{
    remember(from, ns, nslen, true);
}

static bool lookup_ns(const struct sockaddr_storage *from, struct sockaddr_storage *ns,
                      socklen_t *nslen, bool tcp)
{
    bool found = false;
    pthread_mutex_lock(&lock);
    /* Newest first: a port reused by a later socket names its nameserver. */
    for (size_t k = 0; k < nredirects && !found; k++) {
        size_t i = (redirect_next + ROUTE_SLOTS - 1 - k) % ROUTE_SLOTS;
        if (redirects[i].tcp == tcp && same_addr(&redirects[i].from, from)) {
            *ns = redirects[i].ns;
            *nslen = redirects[i].nslen;
            found = true;
        }
    }
    pthread_mutex_unlock(&lock);
    return found;
}

/* dnsstub_answer from the name map as it is now (mapview.h). */
static int answer(const uint8_t *q, size_t qlen, uint8_t *out, size_t outlen)
{
    const struct nm_view *v;
    struct mapview_ref *r = mapview_get(&v);
    int a = dnsstub_answer(v, q, qlen, out, outlen);
    mapview_put(r);
    return a;
}

struct fwd {
    struct sockaddr_storage from, ns;
    socklen_t fromlen, nslen;
    size_t len;
    uint8_t msg[DNS_MSG_MAX];
};

/* Is ns in a range tsrun tunnels (the supervisors' configuration, trap.h;
 * none before trap_init)? */
static bool ns_tunnelled(const struct sockaddr_storage *ns, socklen_t nslen)
{
    const struct unotify_cfg *cfg = trap_cfg();
    return cfg && route_is_tunnelled((const struct sockaddr *)ns, nslen, &cfg->routes);
}

static ssize_t ask_via_proxy(const struct fwd *f, uint8_t *reply, size_t cap);

/* One forwarded query: to the program's nameserver, the reply back. */
static void *forward(void *arg)
{
    struct fwd *f = arg;
    uint8_t reply[4096];
    if (ns_tunnelled(&f->ns, f->nslen)) {
        ssize_t n = ask_via_proxy(f, reply, sizeof reply);
        if (n > 0)
            sendto(stub_fd, reply, (size_t)n, 0, (struct sockaddr *)&f->from, f->fromlen);
        free(f);
        return NULL;
    }
    int s = socket(f->ns.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s >= 0 && sendto(s, f->msg, f->len, 0, (struct sockaddr *)&f->ns, f->nslen) >= 0) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, DNS_FORWARD_TIMEOUT_MS) == 1) {
            ssize_t n = recv(s, reply, sizeof reply, 0);
            if (n > 0)
                sendto(stub_fd, reply, (size_t)n, 0, (struct sockaddr *)&f->from, f->fromlen);
        }
    }
    if (s >= 0)
        close(s);
    free(f);
    return NULL;
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        struct fwd *f = calloc(1, sizeof *f);
        if (!f)
            return NULL;
        f->fromlen = sizeof f->from;
        ssize_t n =
            recvfrom(stub_fd, f->msg, sizeof f->msg, 0, (struct sockaddr *)&f->from, &f->fromlen);
        if (n <= 0) {
            free(f);
            continue;
        }
        f->len = (size_t)n;
        uint8_t out[DNS_MSG_MAX];
        int a = answer(f->msg, f->len, out, sizeof out);
        if (a > 0) {
            sendto(stub_fd, out, (size_t)a, 0, (struct sockaddr *)&f->from, f->fromlen);
            free(f);
            continue;
        }
        if (a < 0 || !lookup_ns(&f->from, &f->ns, &f->nslen, false) || trap_spawn(forward, f) < 0)
            free(f); /* the program retries or times out, as with a lost datagram */
    }
    return NULL;
}

bool dnsstub_is_tailnet(const uint8_t *q, size_t qlen)
{
    enum { QUESTIONS_MAX = 16 };
    uint8_t out[DNS_MSG_MAX], one[DNS_MSG_MAX];
    if (!started || qlen < DNS_HEADER)
        return false;
    if (qlen > sizeof one)
        qlen = sizeof one;
    /* Each question on its own, as a query (QR clear, one question): any
     * about the tailnet keeps the message from the nameserver, whatever its
     * header says (a "response", several questions). */
    unsigned qd = (unsigned)q[4] << 8 | q[5];
    size_t off = DNS_HEADER;
    for (unsigned i = 0; i < qd && i < QUESTIONS_MAX && off < qlen; i++) {
        memcpy(one, q, DNS_HEADER);
        one[2] &= 0x7f;
        one[4] = 0;
        one[5] = 1;
        memcpy(one + DNS_HEADER, q + off, qlen - off);
        size_t len = DNS_HEADER + (qlen - off);
        if (answer(one, len, out, sizeof out) > 0)
            return true;
        char name[256];
        int qtype, end = read_question(one, len, name, sizeof name, &qtype);
        if (end < 0)
            return false;
        off += (size_t)end - DNS_HEADER;
    }
    return false;
}

/* A socket of `type` bound to 127.0.0.1 on a free port (listening, for
 * TCP), its address in *addr and *len: the fd, or -errno. */
static int bind_loopback(int type, struct sockaddr_storage *addr, socklen_t *len)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof in;
    int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    if (bind(s, (struct sockaddr *)&in, sizeof in) < 0 ||
        (type == SOCK_STREAM && listen(s, 128) < 0) ||
        getsockname(s, (struct sockaddr *)&in, &l) < 0) {
        int e = errno;
        close(s);
        return -e;
    }
    memset(addr, 0, sizeof *addr);
    memcpy(addr, &in, sizeof in);
    *len = sizeof in;
    return s;
}

int dnsstub_start(struct sockaddr_storage *addr, socklen_t *len)
{
    int s = bind_loopback(SOCK_DGRAM, addr, len);
    if (s < 0)
        return s;
    stub_fd = s; /* before the thread that serves it */
    int rc = trap_spawn(serve, NULL);
    if (rc < 0) {
        close(stub_fd);
        stub_fd = -1;
        return rc;
    }
    started = true;
    return 0;
}

/* --- DNS over TCP --- */

#define DNS_TCP_MSG_MAX 65535

static int tcp_listen_fd = -1;

/* Reads exactly n bytes within the socket's SO_RCVTIMEO. 0, or -errno
 * (-ECONNRESET for an early end). */
static int read_full(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -ECONNRESET;
        got += (size_t)r;
    }
    return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t n)
{
    size_t put = 0;
    while (put < n) {
        ssize_t r = send(fd, buf + put, n - put, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        put += (size_t)r;
    }
    return 0;
}

/* One length-prefixed message: its length (into buf, at most max), or -errno. */
static int read_msg(int fd, uint8_t *buf, size_t max)
{
    uint8_t l[2];
    int rc = read_full(fd, l, 2);
    if (rc < 0)
        return rc;
    size_t n = (size_t)(l[0] << 8 | l[1]);
    if (n > max)
        return -EMSGSIZE;
    rc = read_full(fd, buf, n);
    return rc < 0 ? rc : (int)n;
}

static int write_msg(int fd, const uint8_t *msg, size_t n)
{
    uint8_t l[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    int rc = write_full(fd, l, 2);
    return rc < 0 ? rc : write_full(fd, msg, n);
}

static void set_timeout(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* A TCP connection to ns, bounded by DNS_FORWARD_TIMEOUT_MS: through
 * tailscaled's SOCKS5 port when ns is in a tunnelled range. fd or -errno. */
static int dial_ns(const struct sockaddr_storage *ns, socklen_t nslen)
{
    const struct unotify_cfg *cfg = trap_cfg();
    uint8_t d16[16];
    uint16_t port;
    if (ns_tunnelled(ns, nslen)) {
        int s = socket(cfg->proxy.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int rc = s < 0 ? -errno
                 : !route_addr16((const struct sockaddr *)ns, nslen, d16, &port)
                     ? -EAFNOSUPPORT
                     : socks5_dial(s, (const struct sockaddr *)&cfg->proxy, cfg->proxylen, d16,
                                   port, DNS_FORWARD_TIMEOUT_MS);
        if (rc < 0) {
            if (s >= 0)
                close(s);
            return rc;
        }
        set_timeout(s, DNS_FORWARD_TIMEOUT_MS);
        return s;
    }
    int s = socket(ns->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return -errno;
    int rc = 0;
    if (connect(s, (const struct sockaddr *)ns, nslen) < 0) {
        rc = -errno;
        if (rc == -EINPROGRESS) {
            struct pollfd p = {.fd = s, .events = POLLOUT};
            int e = 0;
            socklen_t el = sizeof e;
            rc = poll(&p, 1, DNS_FORWARD_TIMEOUT_MS) == 1 &&
                         getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) == 0
                     ? -e
                     : -ETIMEDOUT;
        }
    }
    if (rc == 0 && fcntl(s, F_SETFL, 0) < 0)
        rc = -errno;
    if (rc < 0) {
        close(s);
        return rc;
    }
    set_timeout(s, DNS_FORWARD_TIMEOUT_MS);
    return s;
}

/* A nameserver in a tunnelled range (MagicDNS's 100.100.100.100, one behind
 * a subnet route, any one with an exit node's TSRUN_ROUTES=all) is asked
 * the forwarded query over TCP (RFC 1035 4.2.2) through tailscaled's SOCKS5
 * port (dial_ns): a datagram to it would leave by the kernel's routes. The
 * reply's length, or -1 (the program retries or times out). */
static ssize_t ask_via_proxy(const struct fwd *f, uint8_t *reply, size_t cap)
{
    int up = dial_ns(&f->ns, f->nslen);
    if (up < 0)
        return -1;
    int n = write_msg(up, f->msg, f->len) < 0 ? -1 : read_msg(up, reply, cap);
    close(up);
    return n < 0 ? -1 : n;
}

/* One client connection: answer or forward each message until it closes. */
static void *serve_tcp_conn(void *arg)
{
    int c = (int)(intptr_t)arg, up = -1;
    uint8_t *msg = malloc(DNS_TCP_MSG_MAX), *out = malloc(DNS_MSG_MAX);
    struct sockaddr_storage from = {0}, ns = {0};
    socklen_t fl = sizeof from, nslen = 0;
    bool have_ns = false;
    if (!msg || !out || getpeername(c, (struct sockaddr *)&from, &fl) < 0)
        goto out;
    set_timeout(c, DNSSTUB_TCP_IDLE_MS);
    for (;;) {
        int n = read_msg(c, msg, DNS_TCP_MSG_MAX);
        if (n < 0)
            break;
        int a = answer(msg, (size_t)n, out, DNS_MSG_MAX);
        if (a > 0) {
            if (write_msg(c, out, (size_t)a) < 0)
                break;
            continue;
        }
        if (a < 0)
            break; /* not a single-question query: never forwarded */
        if (!have_ns && !(have_ns = lookup_ns(&from, &ns, &nslen, true)))
            break;
        if (up < 0 && (up = dial_ns(&ns, nslen)) < 0)
            break;
        if (write_msg(up, msg, (size_t)n) < 0 || (n = read_msg(up, msg, DNS_TCP_MSG_MAX)) < 0 ||
            write_msg(c, msg, (size_t)n) < 0)
            break;
    }
out:
    if (up >= 0)
        close(up);
    close(c);
    free(msg);
    free(out);
    return NULL;
}

static void *serve_tcp(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept4(tcp_listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                struct pollfd p = {.fd = -1};
                poll(&p, 0, 100); /* out of resources: let some connection end */
            }
            continue;
        }
        if (trap_spawn(serve_tcp_conn, (void *)(intptr_t)c) < 0)
            close(c); /* the client sees the connection close */
    }
    return NULL;
}

int dnsstub_start_tcp(struct sockaddr_storage *addr, socklen_t *len)
{
    if (!started)
        return -EINVAL;
    int s = bind_loopback(SOCK_STREAM, addr, len);
    if (s < 0)
        return s;
    tcp_listen_fd = s; /* before the thread that accepts on it */
    int rc = trap_spawn(serve_tcp, NULL);
    if (rc < 0) {
        close(tcp_listen_fd);
        tcp_listen_fd = -1;
    }
    return rc;
}
