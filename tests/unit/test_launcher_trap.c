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
    struct trap_call c = {.tid = getpid(), .nr = __NR_sendto};
    c.args[0] = (uint64_t)udp;
    c.args[4] = (uint64_t)(uintptr_t)&peer;
    c.args[5] = sizeof peer;
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
    cr_assert_eq(decide_connect(tcp, &ns, &j), TRAP_CONTINUE);
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
    struct trap_call s = {.tid = getpid(), .nr = __NR_sendto};
    s.args[0] = (uint64_t)udp;
    s.args[1] = (uint64_t)(uintptr_t)q;
    s.args[2] = sizeof q;
    s.args[4] = (uint64_t)(uintptr_t)&ns;
    s.args[5] = sizeof ns;
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
    r.args[5] = 0; /* recv(): no source asked */
    cr_assert_eq(trap_decide(&r, &j), TRAP_CONTINUE);
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
