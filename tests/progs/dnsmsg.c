/* dnsmsg: DNS queries (type A) sent with sendmsg()/sendmmsg() on an
 * unconnected UDP socket, the way no libc resolver asks but a static
 * program may; for tsrun's seccomp/ptrace modes (issue 14: no tailnet name
 * may reach the real nameserver).
 *
 *   dnsmsg sendmsg NS NAME       one query, its bytes gathered from two iovecs
 *   dnsmsg cmsg NS NAME          the same with an IP_TTL/IPV6_HOPLIMIT control message
 *   dnsmsg recvmsg NS NAME       sendmsg, the reply read with recvmsg (not recvfrom)
 *   dnsmsg sendmmsg NS NAME...   one entry per NAME (up to 8), sent the way
 *                                a caller must: again from the first unsent
 *                                entry until all are sent
 *   dnsmsg badiov NS NAME        msg_iov points to unmapped memory
 *   dnsmsg badbase NS NAME       the second iovec's base is unmapped
 *   dnsmsg badctl NS NAME        msg_control points to unmapped memory
 *
 * NS is a numeric address (its family is the socket's; port 53). Query i
 * has id i+1. Prints each send call's result ("sent=N" for sendmsg, N the
 * byte count, or "all" when it is the query's length; for sendmmsg
 * "sent=N" entries, then "len=L" per entry, msg_len or "all"; "errno=NAME" on
 * failure), then one line per reply, in id order:
 * "reply id=I src=ADDR:PORT rcode=R a=A.B.C.D|-". Replies are read with
 * recvfrom (source wanted; recvmsg in mode recvmsg) until every query sent
 * has one or 2 s pass. A
 * SIGALRM after 5 s ends a hang. Both calls are made as system calls, not
 * through libc (whose wrappers may loop or copy on 64-bit musl). Built static with musl-gcc
 * (tests/e2e/sclib.sh) and with the project's compiler (the Makefile). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAXQ 8
#define QMAX 300

static const char *errname(int e)
{
    switch (e) {
    case EFAULT:
        return "EFAULT";
    case ENETUNREACH:
        return "ENETUNREACH";
    case EINVAL:
        return "EINVAL";
    case EAGAIN:
        return "EAGAIN";
    case EINTR:
        return "EINTR";
    case ECONNREFUSED:
        return "ECONNREFUSED";
    }
    static char buf[32];
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

/* A query for NAME, type A, class IN, recursion desired. Its length. */
static size_t build_query(uint8_t *q, uint16_t id, const char *name)
{
    size_t n = 0;
    uint8_t h[12] = {(uint8_t)(id >> 8), (uint8_t)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(q, h, sizeof h);
    n = sizeof h;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || n + l + 6 > QMAX)
            break;
        q[n++] = (uint8_t)l;
        /* Byte by byte: gcc -O1 -fsanitize=address misjudges a memcpy's
         * bounds here (-Warray-bounds, make asan). */
        for (size_t k = 0; k < l; k++)
            q[n++] = (uint8_t)*p++;
        if (*p == '.')
            p++;
    }
    q[n++] = 0;
    q[n++] = 0;
    q[n++] = 1; /* A */
    q[n++] = 0;
    q[n++] = 1; /* IN */
    return n;
}

/* Skips a (possibly compressed) name at r[off]: the offset after it, or 0. */
static size_t skip_name(const uint8_t *r, size_t len, size_t off)
{
    while (off < len) {
        uint8_t l = r[off];
        if (l == 0)
            return off + 1;
        if ((l & 0xC0) == 0xC0)
            return off + 2 <= len ? off + 2 : 0;
        off += 1 + (size_t)l;
    }
    return 0;
}

/* "rcode=R a=A.B.C.D" (the first A record) or "a=-". */
static void describe(const uint8_t *r, size_t len, char *out, size_t n)
{
    char a[INET_ADDRSTRLEN] = "-";
    unsigned rcode = len >= 4 ? r[3] & 0x0F : 99;
    unsigned an = len >= 12 ? (unsigned)(r[6] << 8 | r[7]) : 0;
    size_t off = len >= 12 ? skip_name(r, len, 12) : 0;
    if (off)
        off += 4;
    for (unsigned i = 0; i < an && off && off <= len; i++) {
        off = skip_name(r, len, off);
        if (!off || off + 10 > len)
            break;
        unsigned type = (unsigned)(r[off] << 8 | r[off + 1]);
        size_t rdlen = (size_t)(r[off + 8] << 8 | r[off + 9]);
        off += 10;
        if (off + rdlen > len)
            break;
        if (type == 1 && rdlen == 4) {
            inet_ntop(AF_INET, r + off, a, sizeof a);
            break;
        }
        off += rdlen;
    }
    snprintf(out, n, "rcode=%u a=%s", rcode, a);
}

static void addr_text(const struct sockaddr_storage *ss, char *out, size_t n)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        port = ntohs(in->sin_port);
        snprintf(out, n, "%s:%u", a, port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
        port = ntohs(in6->sin6_port);
        snprintf(out, n, "[%s]:%u", a, port);
    }
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* Reads up to `want` replies (2 s without one ends it); prints them in id order. */
static void read_replies(int fd, int want, int use_recvmsg)
{
    char lines[MAXQ][160];
    int have[MAXQ] = {0};
    for (int got = 0; got < want;) {
        uint8_t r[1500];
        struct sockaddr_storage src;
        socklen_t sl = sizeof src;
        memset(&src, 0, sizeof src);
        ssize_t n;
        if (use_recvmsg) {
            struct iovec v = {r, sizeof r};
            struct msghdr m = {.msg_name = &src, .msg_namelen = sl, .msg_iov = &v, .msg_iovlen = 1};
            n = recvmsg(fd, &m, 0);
        } else {
            n = recvfrom(fd, r, sizeof r, 0, (struct sockaddr *)&src, &sl);
        }
        if (n < 0) {
            printf("recv errno=%s\n", errname(errno));
            break;
        }
        unsigned id = n >= 2 ? (unsigned)(r[0] << 8 | r[1]) : 0;
        if (id < 1 || id > MAXQ || have[id - 1])
            continue;
        char s[80], d[64];
        addr_text(&src, s, sizeof s);
        describe(r, (size_t)n, d, sizeof d);
        snprintf(lines[id - 1], sizeof lines[0], "reply id=%u src=%s %s", id, s, d);
        have[id - 1] = 1;
        got++;
    }
    for (int i = 0; i < MAXQ; i++)
        if (have[i])
            printf("%s\n", lines[i]);
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc - 3 > MAXQ) {
        fprintf(stderr,
                "usage: dnsmsg sendmsg|cmsg|recvmsg|sendmmsg|badiov|badbase|badctl NS NAME...\n");
        return 2;
    }
    const char *mode = argv[1];
    struct sockaddr_storage ns;
    socklen_t nslen;
    memset(&ns, 0, sizeof ns);
    struct sockaddr_in *in = (struct sockaddr_in *)&ns;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ns;
    if (inet_pton(AF_INET, argv[2], &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(53);
        nslen = sizeof *in;
    } else if (inet_pton(AF_INET6, argv[2], &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(53);
        nslen = sizeof *in6;
    } else {
        fprintf(stderr, "dnsmsg: bad nameserver %s\n", argv[2]);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(5);

    int fd = socket(ns.ss_family, SOCK_DGRAM, 0);
    struct timeval tv = {.tv_sec = 2};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
        printf("socket errno=%s\n", errname(errno));
        return 1;
    }
    int nq = argc - 3;
    static uint8_t q[MAXQ][QMAX];
    size_t qlen[MAXQ];
    struct iovec iov[MAXQ][2];
    struct mmsghdr mm[MAXQ];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < nq; i++) {
        qlen[i] = build_query(q[i], (uint16_t)(i + 1), argv[3 + i]);
        /* The header and the question in two pieces: the bytes are gathered. */
        iov[i][0] = (struct iovec){q[i], 12};
        iov[i][1] = (struct iovec){q[i] + 12, qlen[i] - 12};
        mm[i].msg_hdr.msg_name = &ns;
        mm[i].msg_hdr.msg_namelen = nslen;
        mm[i].msg_hdr.msg_iov = iov[i];
        mm[i].msg_hdr.msg_iovlen = 2;
    }
    /* Unmapped memory for the bad pointers. */
    void *hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (hole == MAP_FAILED) {
        printf("mmap errno=%s\n", errname(errno));
        return 1;
    }
    int sent = 0;
    if (strcmp(mode, "sendmmsg") == 0) {
        while (sent < nq) {
            /* The system call itself: musl's sendmmsg() on 64-bit
             * machines is a loop of sendmsg() calls (src/network/sendmmsg.c). */
            int r = (int)syscall(SYS_sendmmsg, fd, mm + sent, (unsigned)(nq - sent), 0);
            if (r <= 0) {
                printf("errno=%s\n", r < 0 ? errname(errno) : "none-sent");
                break;
            }
            printf("sent=%d", r);
            for (int i = sent; i < sent + r; i++)
                if (mm[i].msg_len == qlen[i])
                    printf(" len=all");
                else
                    printf(" len=%u", mm[i].msg_len);
            printf("\n");
            sent += r;
        }
    } else {
        struct msghdr *m = &mm[0].msg_hdr;
        union {
            struct cmsghdr align;
            char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        if (strcmp(mode, "cmsg") == 0) {
            memset(&ctl, 0, sizeof ctl);
            m->msg_control = ctl.buf;
            m->msg_controllen = sizeof ctl.buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(m);
            c->cmsg_level = ns.ss_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
            c->cmsg_type = ns.ss_family == AF_INET ? IP_TTL : IPV6_HOPLIMIT;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            int ttl = 7;
            memcpy(CMSG_DATA(c), &ttl, sizeof ttl);
        } else if (strcmp(mode, "badiov") == 0) {
            m->msg_iov = hole;
        } else if (strcmp(mode, "badbase") == 0) {
            iov[0][1].iov_base = hole;
        } else if (strcmp(mode, "badctl") == 0) {
            m->msg_control = hole;
            m->msg_controllen = CMSG_SPACE(sizeof(int));
        } else if (strcmp(mode, "sendmsg") != 0 && strcmp(mode, "recvmsg") != 0) {
            fprintf(stderr, "dnsmsg: bad mode %s\n", mode);
            return 2;
        }
        /* The system call itself: musl's sendmsg() copies msg_control
         * first, and would fault on badctl itself. */
        ssize_t r = syscall(SYS_sendmsg, fd, m, 0);
        if (r < 0) {
            printf("errno=%s\n", errname(errno));
        } else {
            if ((size_t)r == qlen[0])
                printf("sent=all\n");
            else
                printf("sent=%zd\n", r);
            sent = 1;
        }
    }
    read_replies(fd, sent, strcmp(mode, "recvmsg") == 0);
    return 0;
}
