/* What the cost probes share (tests/progs/ptfloor.c, sccost.c): a
 * monotonic clock in ns and a connected loopback TCP pair. Header-only
 * (static inline), so each probe still builds as a single .c file: by the
 * Makefile's one-file rule, and by bench/scrows with musl-gcc -static. */
#ifndef TSRUN_PROBEUTIL_H
#define TSRUN_PROBEUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* CLOCK_MONOTONIC, in ns. */
static inline double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A TCP listener on 127.0.0.1 (a free port; backlog as given) and a client
 * socket connected to it (*client; the server side stays in the backlog,
 * never accepted). *a: the listener's address. The listener's fd, or -1
 * with errno set (nothing left open). */
static inline int loopback_pair(int backlog, struct sockaddr_in *a, int *client)
{
    socklen_t al = sizeof *a;
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || c < 0 || bind(l, (struct sockaddr *)a, sizeof *a) < 0 || listen(l, backlog) < 0 ||
        getsockname(l, (struct sockaddr *)a, &al) < 0 ||
        connect(c, (struct sockaddr *)a, sizeof *a) < 0) {
        if (l >= 0)
            close(l);
        if (c >= 0)
            close(c);
        return -1;
    }
    *client = c;
    return l;
}

#endif
