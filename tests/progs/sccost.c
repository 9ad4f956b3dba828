/* sccost N: the cost of the syscalls seccomp mode traps, outside the tailnet.
 *
 * Prints two lines (mean per call, over N calls, after 100 warm-up calls):
 *   getpeername_ns=X   getpeername() on a connected loopback socket
 *   connect_ns=Y       socket() + connect() to a loopback listener + close()
 *   recvfrom_ns=Z      send() + recvfrom() asking for the source, one loopback
 *                      UDP datagram (recvfrom with src_addr is trapped)
 *   sendmsg_ns=W       sendmsg() without an address + recv(), the same socket
 *                      (sendmsg is trapped: the filter cannot see msg_name)
 * Run it plainly and under `tsrun --intercept=seccomp`: the difference is
 * what the filter and the supervisor add (bench figures for issue 14).
 * Builds with glibc and musl (-static). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "probeutil.h"

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    struct sockaddr_in a;
    int c, l = loopback_pair(4096, &a, &c);
    if (l < 0) {
        perror("loopback pair");
        return 2;
    }
    struct sockaddr_in p;
    double t0 = 0;
    for (int i = -100; i < n; i++) {
        if (i == 0)
            t0 = now_ns();
        socklen_t pl = sizeof p;
        if (getpeername(c, (struct sockaddr *)&p, &pl) < 0) {
            perror("getpeername");
            return 2;
        }
    }
    printf("getpeername_ns=%.0f\n", (now_ns() - t0) / n);
    for (int i = -100; i < n; i++) {
        if (i == 0)
            t0 = now_ns();
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
            perror("connect");
            return 2;
        }
        close(s);
        int acc = accept(l, NULL, NULL); /* keep the backlog from filling */
        if (acc >= 0)
            close(acc);
    }
    printf("connect_ns=%.0f\n", (now_ns() - t0) / n);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t ual = sizeof ua;
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    if (u < 0 || bind(u, (struct sockaddr *)&ua, sizeof ua) < 0 ||
        getsockname(u, (struct sockaddr *)&ua, &ual) < 0 ||
        connect(u, (struct sockaddr *)&ua, sizeof ua) < 0) {
        perror("udp");
        return 2;
    }
    char b = 'x';
    for (int i = -100; i < n; i++) {
        if (i == 0)
            t0 = now_ns();
        socklen_t pl = sizeof p;
        if (send(u, &b, 1, 0) != 1 || recvfrom(u, &b, 1, 0, (struct sockaddr *)&p, &pl) != 1) {
            perror("recvfrom");
            return 2;
        }
    }
    printf("recvfrom_ns=%.0f\n", (now_ns() - t0) / n);
    struct iovec iov = {.iov_base = &b, .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    for (int i = -100; i < n; i++) {
        if (i == 0)
            t0 = now_ns();
        if (sendmsg(u, &m, 0) != 1 || recv(u, &b, 1, 0) != 1) {
            perror("sendmsg");
            return 2;
        }
    }
    printf("sendmsg_ns=%.0f\n", (now_ns() - t0) / n);
    return 0;
}
