/* The decisions both supervisors share (launcher/trap.c), asked about this
 * very process (its memory and fds stand in for a tracee's), and the
 * tracing filter's fail-closed default: without a tracer, a trapped call
 * fails with ENOSYS and never reaches the kernel's routes. No packet is
 * sent: trap_decide only reads. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dnssock.h"
#include "dnsstub.h"
#include "mapview.h"
#include "namemap.h"
#include "seccomp.h"
#include "trap.h"

static struct unotify_cfg cfg;
static char map_path[64];

/* The name map the supervisor reads: db (100.88.12.5) online, old
 * (100.99.0.9) online or not, tailscaled in state `backend`. */
static void write_map(bool old_online, const char *backend)
{
    struct status_node peers[2] = {
        {.dns_name = "db.t.ts.net", .ips = {"100.88.12.5"}, .nips = 1, .online = true},
        {.dns_name = "old.t.ts.net", .ips = {"100.99.0.9"}, .nips = 1, .online = old_online},
    };
    struct tsr_status st = {.backend_state = (char *)backend,
                            .suffix = "t.ts.net",
                            .self = {.dns_name = "me.t.ts.net", .ips = {"100.101.7.42"}, .nips = 1},
                            .peers = peers,
                            .npeers = 2};
    cr_assert_eq(namemap_write(map_path, &st, 0, NULL), 0);
}

static void setup(void)
{
    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(unotify_parse_proxy("127.0.0.1:1055", &cfg), 0);
    cfg.timeout_ms = 1000;
    snprintf(map_path, sizeof map_path, "/tmp/trap-names-%d", (int)getpid());
    write_map(false, "Running");
    cr_assert_eq(mapview_open_file(map_path), 0);
    trap_init(&cfg, "test");
}

static void teardown(void)
{
    mapview_close();
    unlink(map_path);
}

static struct sockaddr_in v4(const char *ip, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

/* sendto(fd, buf, len, 0, to, tolen) as the filter hands it over. */
static struct trap_call sendto_call(int fd, const void *buf, size_t len, const void *to,
                                    socklen_t tolen)
{
    struct trap_call c = {.tid = getpid(), .nr = __NR_sendto};
    c.args[0] = (uint64_t)fd;
    c.args[1] = (uint64_t)(uintptr_t)buf;
    c.args[2] = len;
    c.args[4] = (uint64_t)(uintptr_t)to;
    c.args[5] = tolen;
    return c;
}

static int decide_connect(int fd, const struct sockaddr_in *a, struct trap_job **j)
{
    struct trap_call c = {.tid = getpid(), .nr = __NR_connect};
    c.args[0] = (uint64_t)fd;
    c.args[1] = (uint64_t)(uintptr_t)a;
    c.args[2] = sizeof *a;
    return trap_decide(&c, j);
}

Test(trap, connect_decisions, .init = setup, .fini = teardown)
{
    int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert(tcp >= 0 && udp >= 0);
    struct trap_job *j = NULL;
    struct sockaddr_in peer = v4("100.88.12.5", 22), lo = v4("127.0.0.1", 80),
                       off = v4("100.99.0.9", 22);
    /* Tunnelled TCP: a job with the destination in the IPv6 form. */
    cr_assert_eq(decide_connect(tcp, &peer, &j), TRAP_TUNNEL);
    cr_assert_not_null(j);
    cr_assert_eq(j->fd, tcp);
    cr_assert_eq(j->family, AF_INET);
    cr_assert_eq(j->port, 22);
    cr_assert_eq(j->dest16[10], 0xff);
    cr_assert_eq(j->dest16[12], 100);
    cr_assert_eq(j->dest16[15], 5);
    free(j);
    /* UDP to the tailnet never leaves; outside it, the kernel decides. */
    cr_assert_eq(decide_connect(udp, &peer, &j), -ENETUNREACH);
    cr_assert_eq(decide_connect(tcp, &lo, &j), TRAP_CONTINUE);
    cr_assert_eq(decide_connect(udp, &lo, &j), TRAP_CONTINUE);
    /* A peer offline in the name map is refused at once. */
    cr_assert_eq(decide_connect(tcp, &off, &j), -EHOSTUNREACH);
    /* Not a socket. */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(decide_connect(p[0], &peer, &j), -ENOTSOCK);
    /* A bad pointer: the kernel answers EFAULT itself. */
    struct trap_call c = {.tid = getpid(), .nr = __NR_connect, .args = {(uint64_t)tcp, 8, 16}};
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    close(p[0]);
    close(p[1]);
    close(tcp);
    close(udp);
}

Test(trap, sendto_and_getpeername, .init = setup, .fini = teardown)
{
    int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = socket(AF_INET, SOCK_DGRAM, 0);
    struct trap_job *j = NULL;
    struct sockaddr_in peer = v4("100.88.12.5", 53);
    struct trap_call c = sendto_call(udp, NULL, 0, &peer, sizeof peer);
    cr_assert_eq(trap_decide(&c, &j), -ENETUNREACH);
    c.args[0] = (uint64_t)tcp;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    c.args[3] = MSG_FASTOPEN; /* would open a connection past the tunnel */
    cr_assert_eq(trap_decide(&c, &j), -EOPNOTSUPP);
    /* getpeername of a socket never tunnelled: the kernel answers. */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    struct trap_call g = {.tid = getpid(), .nr = __NR_getpeername};
    g.args[0] = (uint64_t)tcp;
    g.args[1] = (uint64_t)(uintptr_t)&ss;
    g.args[2] = (uint64_t)(uintptr_t)&sl;
    cr_assert_eq(trap_decide(&g, &j), TRAP_CONTINUE);
    /* Other syscalls are not trap.c's business. */
    struct trap_call o = {.tid = getpid(), .nr = __NR_getpid};
    cr_assert_eq(trap_decide(&o, &j), TRAP_CONTINUE);
    close(tcp);
    close(udp);
}

/* sendmsg/sendmmsg: the address inside struct msghdr, as sendto's. */
Test(trap, sendmsg_decisions, .init = setup, .fini = teardown)
{
    int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = socket(AF_INET, SOCK_DGRAM, 0);
    struct trap_job *j = NULL;
    struct sockaddr_in peer = v4("100.88.12.5", 7), lo = v4("127.0.0.1", 9);
    char x = 'x';
    struct iovec iov = {.iov_base = &x, .iov_len = 1};
    struct mmsghdr m[2] = {
        {.msg_hdr = {.msg_name = &lo, .msg_namelen = sizeof lo, .msg_iov = &iov, .msg_iovlen = 1}},
        {.msg_hdr =
             {.msg_name = &peer, .msg_namelen = sizeof peer, .msg_iov = &iov, .msg_iovlen = 1}},
    };
    struct trap_call c = {.tid = getpid(), .nr = __NR_sendmsg};
    c.args[0] = (uint64_t)udp;
    c.args[1] = (uint64_t)(uintptr_t)&m[1].msg_hdr;
    cr_assert_eq(trap_decide(&c, &j), -ENETUNREACH);
    c.args[1] = (uint64_t)(uintptr_t)&m[0].msg_hdr;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    c.args[0] = (uint64_t)tcp;
    c.args[1] = (uint64_t)(uintptr_t)&m[1].msg_hdr;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    c.args[2] = MSG_FASTOPEN;
    cr_assert_eq(trap_decide(&c, &j), -EOPNOTSUPP);
    /* sendmmsg: one tunnelled entry fails the whole call. */
    struct trap_call mm = {.tid = getpid(), .nr = __NR_sendmmsg};
    mm.args[0] = (uint64_t)udp;
    mm.args[1] = (uint64_t)(uintptr_t)m;
    mm.args[2] = 1;
    cr_assert_eq(trap_decide(&mm, &j), TRAP_CONTINUE);
    mm.args[2] = 2;
    cr_assert_eq(trap_decide(&mm, &j), -ENETUNREACH);
    close(tcp);
    close(udp);
}

/* With the stub running (cfg.dns), DNS to port 53 is a job: a UDP connect,
 * a TCP one only with cfg.dns_tcp; a recvfrom with a source address only on
 * a socket a tailnet query went out on (dnssock). A sendto of a query the
 * stub would not answer (no stub started here) continues. */
Test(trap, dns_decisions, .init = setup, .fini = teardown)
{
    int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = socket(AF_INET6, SOCK_DGRAM, 0);
    struct trap_job *j = NULL;
    struct sockaddr_in ns = v4("127.0.0.53", 53);
    cfg.dns = true;
    cr_assert_eq(decide_connect(udp, &ns, &j), TRAP_DNS);
    cr_assert_eq(j->kind, TRAP_JOB_DNS_UDP);
    cr_assert_eq(j->family, AF_INET6);
    cr_assert_eq(j->len, sizeof ns);
    cr_assert_eq(memcmp(&j->dest, &ns, sizeof ns), 0);
    free(j);
    /* No TCP listener in the stub: a TCP socket connected to the nameserver
     * would carry tailnet queries unseen, so it is refused. */
    cr_assert_eq(decide_connect(tcp, &ns, &j), -ENETUNREACH);
    cr_assert_null(j);
    cfg.dns_tcp = true;
    cr_assert_eq(decide_connect(tcp, &ns, &j), TRAP_DNS);
    cr_assert_eq(j->kind, TRAP_JOB_DNS_TCP);
    free(j);
    struct sockaddr_in other = v4("127.0.0.53", 5353);
    cr_assert_eq(decide_connect(udp, &other, &j), TRAP_CONTINUE);
    cfg.dns = false;
    cr_assert_eq(decide_connect(udp, &ns, &j), TRAP_CONTINUE);
    cfg.dns = true;
    /* sendto of a query: the stub is not running, so nothing is tailnet. */
    uint8_t q[17] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1};
    struct trap_call s = sendto_call(udp, q, sizeof q, &ns, sizeof ns);
    cr_assert_eq(trap_decide(&s, &j), TRAP_CONTINUE);
    /* recvfrom: only on a remembered socket, and only asking the source. */
    char buf[64];
    struct sockaddr_storage src;
    socklen_t sl = sizeof src;
    struct trap_call r = {.tid = getpid(), .nr = __NR_recvfrom};
    r.args[0] = (uint64_t)udp;
    r.args[1] = (uint64_t)(uintptr_t)buf;
    r.args[2] = sizeof buf;
    r.args[4] = (uint64_t)(uintptr_t)&src;
    r.args[5] = (uint64_t)(uintptr_t)&sl;
    cr_assert_eq(trap_decide(&r, &j), TRAP_CONTINUE);
    struct stat sb;
    cr_assert_eq(fstat(udp, &sb), 0);
    dnssock_remember(sb.st_ino, &ns, sizeof ns);
    cr_assert_eq(trap_decide(&r, &j), TRAP_DNS);
    cr_assert_eq(j->kind, TRAP_JOB_DNS_RECVFROM);
    cr_assert_eq(j->ulen, sizeof src);
    cr_assert_eq(j->buflen, sizeof buf);
    cr_assert_eq(j->len, sizeof ns);
    free(j);
    r.args[3] = MSG_ERRQUEUE;
    cr_assert_eq(trap_decide(&r, &j), TRAP_CONTINUE);
    r.args[3] = 0;
    r.args[4] = 0; /* no source buffer: the kernel ignores addrlen */
    cr_assert_eq(trap_decide(&r, &j), TRAP_CONTINUE);
    r.args[4] = (uint64_t)(uintptr_t)&src;
    r.args[5] = 0; /* recv(): no source asked */
    cr_assert_eq(trap_decide(&r, &j), TRAP_CONTINUE);
    close(tcp);
    close(udp);
}

/* A query for NAME, type A, class IN, into q: its length. */
static size_t query_a(uint8_t *q, const char *name)
{
    size_t n = 12;
    memset(q, 0, 12);
    q[1] = 7; /* id */
    q[2] = 1; /* RD */
    q[5] = 1; /* one question */
    for (const char *p = name; *p;) {
        size_t l = strcspn(p, ".");
        q[n++] = (uint8_t)l;
        memcpy(q + n, p, l);
        n += l;
        p += l + (p[l] == '.');
    }
    const uint8_t tail[5] = {0, 0, 1, 0, 1};
    memcpy(q + n, tail, sizeof tail);
    return n + sizeof tail;
}

/* A query with two questions, for A then B (type A, class IN): its length. */
static size_t query_two(uint8_t *q, const char *a, const char *b)
{
    uint8_t qb[80];
    size_t la = query_a(q, a), lb = query_a(qb, b);
    memcpy(q + la, qb + 12, lb - 12);
    q[5] = 2;
    return la + (lb - 12);
}

/* sendmsg/sendmmsg of a DNS query to port 53 (the stub running): a tailnet
 * query on a UDP socket is a DNS_SENDTO job, its bytes gathered from the
 * iovecs; anything else continues. sendmmsg redirects a tailnet entry 0
 * alone (answer 1, msg_len written) and fails a tailnet entry after it. A
 * pointer the kernel cannot read leaves the call to it (EFAULT). */
Test(trap, dns_sendmsg_decisions, .init = setup, .fini = teardown)
{
    struct sockaddr_storage st;
    socklen_t stl;
    cr_assert_eq(dnsstub_start(&st, &stl), 0);
    cfg.dns = true;
    int tcp = socket(AF_INET, SOCK_STREAM, 0), udp = socket(AF_INET, SOCK_DGRAM, 0);
    struct trap_job *j = NULL;
    uint8_t tq[64], oq[64];
    size_t tl = query_a(tq, "db.t.ts.net"), ol = query_a(oq, "example.org");
    struct sockaddr_storage ns = {0};
    struct sockaddr_in ns4 = v4("127.0.0.53", 53);
    memcpy(&ns, &ns4, sizeof ns4);
    struct iovec tv[2] = {{tq, 12}, {tq + 12, tl - 12}}, ov = {oq, ol};
    struct mmsghdr m[2] = {
        {.msg_hdr = {.msg_name = &ns, .msg_namelen = sizeof ns4, .msg_iov = tv, .msg_iovlen = 2}},
        {.msg_hdr = {.msg_name = &ns, .msg_namelen = sizeof ns4, .msg_iov = &ov, .msg_iovlen = 1}},
    };
    struct trap_call c = {.tid = getpid(), .nr = __NR_sendmsg};
    c.args[0] = (uint64_t)udp;
    c.args[1] = (uint64_t)(uintptr_t)&m[0].msg_hdr;
    cr_assert_eq(trap_decide(&c, &j), TRAP_DNS);
    cr_assert_eq(j->kind, TRAP_JOB_DNS_SENDTO);
    cr_assert_eq(j->qlen, tl);
    cr_assert_eq(memcmp(j->q, tq, tl), 0);
    cr_assert_eq(j->sent, (int64_t)tl);
    cr_assert_eq(j->msglen_at, 0);
    cr_assert_eq(j->len, sizeof ns4);
    cr_assert_eq(memcmp(&j->dest, &ns4, sizeof ns4), 0);
    free(j);
    /* Another name, or a TCP socket: the kernel's. */
    c.args[1] = (uint64_t)(uintptr_t)&m[1].msg_hdr;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    c.args[0] = (uint64_t)tcp;
    c.args[1] = (uint64_t)(uintptr_t)&m[0].msg_hdr;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    c.args[0] = (uint64_t)udp;
    /* A msg_namelen over 128: the kernel truncates it (and sends). */
    m[0].msg_hdr.msg_namelen = 200;
    cr_assert_eq(trap_decide(&c, &j), TRAP_DNS);
    cr_assert_eq(j->len, sizeof ns);
    free(j);
    m[0].msg_hdr.msg_namelen = sizeof ns4;
    /* A readable control message is dropped; unreadable, the kernel says EFAULT. */
    uint8_t ctl[32] = {0};
    m[0].msg_hdr.msg_control = ctl;
    m[0].msg_hdr.msg_controllen = sizeof ctl;
    cr_assert_eq(trap_decide(&c, &j), TRAP_DNS);
    free(j);
    m[0].msg_hdr.msg_control = (void *)8;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    m[0].msg_hdr.msg_control = NULL;
    m[0].msg_hdr.msg_controllen = 0;
    /* Bad iovec pointers, and more iovecs than the kernel takes. */
    m[0].msg_hdr.msg_iov = (void *)8;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    m[0].msg_hdr.msg_iov = tv;
    tv[1].iov_base = (void *)8;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    tv[1].iov_base = tq + 12;
    m[0].msg_hdr.msg_iovlen = 1025;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    m[0].msg_hdr.msg_iovlen = 2;
    /* sendmmsg [tailnet, other]: entry 0 alone. */
    struct trap_call mm = {.tid = getpid(), .nr = __NR_sendmmsg};
    mm.args[0] = (uint64_t)udp;
    mm.args[1] = (uint64_t)(uintptr_t)m;
    mm.args[2] = 2;
    cr_assert_eq(trap_decide(&mm, &j), TRAP_DNS);
    cr_assert_eq(j->sent, 1);
    cr_assert_eq(j->msglen_at, (uint64_t)(uintptr_t)&m[0].msg_len);
    cr_assert_eq(j->qlen, tl);
    free(j);
    /* [other, tailnet]: nothing can be sent; [other]: the kernel's. */
    mm.args[1] = (uint64_t)(uintptr_t)&m[1];
    mm.args[2] = 1;
    cr_assert_eq(trap_decide(&mm, &j), TRAP_CONTINUE);
    struct mmsghdr r[2] = {m[1], m[0]};
    mm.args[1] = (uint64_t)(uintptr_t)r;
    mm.args[2] = 2;
    cr_assert_eq(trap_decide(&mm, &j), -ENETUNREACH);
    cr_assert_null(j);
    /* Too large to redirect (a tailnet question, then padding): it fails
     * (EMSGSIZE), by sendmsg and by sendto, rather than reach the
     * nameserver; another name that large continues. */
    static uint8_t big[TRAP_DNS_QUERY_MAX + 300], obig[TRAP_DNS_QUERY_MAX + 300];
    memcpy(big, tq, tl);
    memcpy(obig, oq, ol);
    struct iovec bv[2] = {{big, 100}, {big + 100, sizeof big - 100}};
    struct msghdr bm = {.msg_name = &ns, .msg_namelen = sizeof ns4, .msg_iov = bv, .msg_iovlen = 2};
    c.args[1] = (uint64_t)(uintptr_t)&bm;
    cr_assert_eq(trap_decide(&c, &j), -EMSGSIZE);
    cr_assert_null(j);
    bv[0].iov_base = obig;
    bv[1].iov_base = obig + 100;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    struct trap_call s = sendto_call(udp, big, sizeof big, &ns4, sizeof ns4);
    cr_assert_eq(trap_decide(&s, &j), -EMSGSIZE);
    s.args[1] = (uint64_t)(uintptr_t)obig;
    cr_assert_eq(trap_decide(&s, &j), TRAP_CONTINUE);
    /* Another name's control messages are the kernel's business, even
     * more of them than tsrun would read. */
    struct msghdr om = {.msg_name = &ns,
                        .msg_namelen = sizeof ns4,
                        .msg_iov = &ov,
                        .msg_iovlen = 1,
                        .msg_control = ctl,
                        .msg_controllen = (size_t)1 << 20};
    c.args[1] = (uint64_t)(uintptr_t)&om;
    cr_assert_eq(trap_decide(&c, &j), TRAP_CONTINUE);
    /* Two questions, the first about the tailnet: not for the nameserver;
     * nor the second, after another name's. */
    uint8_t q2[160];
    s.args[1] = (uint64_t)(uintptr_t)q2;
    s.args[2] = query_two(q2, "db.t.ts.net", "db.t.ts.net");
    cr_assert_eq(trap_decide(&s, &j), TRAP_DNS);
    free(j);
    s.args[2] = query_two(q2, "example.org", "db.t.ts.net");
    cr_assert_eq(trap_decide(&s, &j), TRAP_DNS);
    free(j);
    /* ... or in a "response". */
    uint8_t qr[64];
    memcpy(qr, tq, tl);
    qr[2] |= 0x80;
    s.args[1] = (uint64_t)(uintptr_t)qr;
    s.args[2] = tl;
    cr_assert_eq(trap_decide(&s, &j), TRAP_DNS);
    free(j);
    /* A corked datagram (MSG_MORE), whatever its bytes, and a TCP fast open
     * to port 53: not judged whole, refused. */
    s.args[1] = (uint64_t)(uintptr_t)tq;
    s.args[2] = 5;
    s.args[3] = MSG_MORE;
    cr_assert_eq(trap_decide(&s, &j), -EOPNOTSUPP);
    c.args[1] = (uint64_t)(uintptr_t)&m[1].msg_hdr;
    c.args[2] = MSG_MORE;
    cr_assert_eq(trap_decide(&c, &j), -EOPNOTSUPP);
    c.args[2] = 0;
    s.args[0] = (uint64_t)tcp;
    s.args[2] = tl;
    s.args[3] = MSG_FASTOPEN;
    cr_assert_eq(trap_decide(&s, &j), -EOPNOTSUPP);
    s.args[3] = 0;
    cr_assert_eq(trap_decide(&s, &j), TRAP_CONTINUE, "TCP without fast open: connect decides");
    s.args[0] = (uint64_t)udp;
    close(tcp);
    close(udp);
}

/* IMPORTANT: the ptrace filter without a tracer fails closed (ENOSYS):
 * nothing trapped reaches the kernel, and execs are not trapped. */
Test(trap, trace_filter_without_tracer_fails_closed)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        bool nnp;
        if (seccomp_install_trace(&nnp) < 0)
            _exit(10);
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0)
            _exit(11);
        struct sockaddr_in a = v4("127.0.0.1", 1);
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0 || errno != ENOSYS)
            _exit(12);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getpeername(s, (struct sockaddr *)&ss, &sl) == 0 || errno != ENOSYS)
            _exit(13);
        int u = socket(AF_INET, SOCK_DGRAM, 0);
        if (sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a) >= 0 || errno != ENOSYS)
            _exit(14);
        /* Without an address sendto stays in the kernel (not connected). */
        if (sendto(u, "x", 1, 0, NULL, 0) >= 0 || errno == ENOSYS)
            _exit(15);
        char *argv[] = {"true", NULL};
        execvp("true", argv);
        _exit(16);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st));
    cr_assert_eq(WEXITSTATUS(st), 0, "child step %d failed", WEXITSTATUS(st));
}

/* decide_connect's answer, the job dropped. Every decision checks the map
 * file: the first one after a rename sees the new map. */
static int decide(int fd, const struct sockaddr_in *a)
{
    struct trap_job *j = NULL;
    int rc = decide_connect(fd, a, &j);
    free(j);
    return rc;
}

Test(trap, connect_follows_the_replaced_name_map, .init = setup, .fini = teardown)
{
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in off = v4("100.99.0.9", 22), peer = v4("100.88.12.5", 22);
    cr_assert_eq(decide(tcp, &off), -EHOSTUNREACH);
    write_map(true, "Running"); /* the peer came online */
    cr_assert_eq(decide(tcp, &off), TRAP_TUNNEL);
    write_map(true, "Stopped"); /* tsrun down / tailscale down */
    cr_assert_eq(decide(tcp, &peer), -ECONNREFUSED);
    write_map(true, "Running");
    cr_assert_eq(decide(tcp, &peer), TRAP_TUNNEL);
    close(tcp);
}
