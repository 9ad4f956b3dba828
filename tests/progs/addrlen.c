/* addrlen: one connect/send with a chosen sockaddr length, for the address
 * length kind (common/route.h).
 *
 *   addrlen MODE PROTO HOST PORT LEN [FAMILY]
 *
 * MODE connect|sendto|sendmsg|sendmmsg|rawmmsg|fastopen (sendto with
 * MSG_FASTOPEN; rawmmsg: the sendmmsg system call itself, which musl's
 * sendmmsg() on 64-bit machines is not: it loops over sendmsg()),
 * PROTO tcp|udp, HOST numeric (its family fills the sockaddr), LEN the
 * length passed, FAMILY 4|6 the socket's family (default: the address's).
 * Prints "result=ok" (TCP: after one byte echoed, "recv=x") or
 * "errno=NAME". A SIGALRM after 3 s turns a hang into errno=EINTR. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errname(int e)
{
    switch (e) {
#define E(x)                                                                                       \
    case x:                                                                                        \
        return #x
        E(ECONNREFUSED);
        E(ETIMEDOUT);
        E(EHOSTUNREACH);
        E(ENETUNREACH);
        E(EINVAL);
        E(EAFNOSUPPORT);
        E(EINTR);
        E(EADDRNOTAVAIL);
        E(EINPROGRESS);
        E(ENOTCONN);
        E(EDESTADDRREQ);
        E(EOPNOTSUPP);
        E(EPIPE);
        E(EISCONN);
        E(EALREADY);
#undef E
    }
    static char buf[32];
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

static void on_alarm(int sig)
{
    (void)sig;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: addrlen MODE PROTO HOST PORT LEN [FAMILY]\n");
        return 2;
    }
    const char *mode = argv[1];
    bool udp = strcmp(argv[2], "udp") == 0;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    int port = atoi(argv[4]);
    if (inet_pton(AF_INET, argv[3], &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, argv[3], &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
    } else {
        fprintf(stderr, "addrlen: bad host %s\n", argv[3]);
        return 2;
    }
    socklen_t len = (socklen_t)strtoul(argv[5], NULL, 10);
    int family = ss.ss_family;
    if (argc > 6)
        family = atoi(argv[6]) == 6 ? AF_INET6 : AF_INET;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    alarm(3);

    int fd = socket(family, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
    if (fd < 0) {
        printf("socket errno=%s\n", errname(errno));
        return 1;
    }
    char x = 'x';
    struct iovec iov = {&x, 1};
    struct msghdr msg = {.msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
    struct mmsghdr mm = {.msg_hdr = msg};
    long rc;
    bool sent = false;
    if (strcmp(mode, "connect") == 0) {
        rc = connect(fd, (struct sockaddr *)&ss, len);
    } else if (strcmp(mode, "sendto") == 0) {
        rc = sendto(fd, &x, 1, 0, (struct sockaddr *)&ss, len);
        sent = true;
    } else if (strcmp(mode, "fastopen") == 0) {
        rc = sendto(fd, &x, 1, MSG_FASTOPEN, (struct sockaddr *)&ss, len);
        sent = true;
    } else if (strcmp(mode, "sendmsg") == 0) {
        rc = sendmsg(fd, &msg, 0);
        sent = true;
    } else if (strcmp(mode, "sendmmsg") == 0) {
        rc = sendmmsg(fd, &mm, 1, 0);
        sent = true;
    } else if (strcmp(mode, "rawmmsg") == 0) {
        rc = syscall(SYS_sendmmsg, fd, &mm, 1, 0);
        sent = true;
    } else {
        fprintf(stderr, "addrlen: bad mode %s\n", mode);
        return 2;
    }
    if (rc < 0) {
        printf("errno=%s\n", errname(errno));
        return 0;
    }
    if (!udp) {
        char got = 0;
        if (!sent && write(fd, &x, 1) != 1) {
            printf("result=ok write errno=%s\n", errname(errno));
            return 0;
        }
        ssize_t n = read(fd, &got, 1);
        printf("result=ok recv=%s\n", n == 1 ? (got == 'x' ? "x" : "?") : errname(errno));
        return 0;
    }
    printf("result=ok\n");
    return 0;
}
