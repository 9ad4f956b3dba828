/* gaibench N NAME [SERVICE]
 *
 * Times N getaddrinfo(NAME, SERVICE, AF_UNSPEC/SOCK_STREAM) + freeaddrinfo
 * calls and prints "ns_per_call X status Y" (the best of 5 rounds), for the
 * overhead comparison of the shim's name path against libc alone. */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: gaibench N NAME [SERVICE]\n");
        return 64;
    }
    long n = atol(argv[1]);
    const char *service = argc == 4 ? argv[3] : NULL;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    double best = -1;
    int rc = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++) {
            struct addrinfo *res = NULL;
            rc = getaddrinfo(argv[2], service, &hints, &res);
            if (rc == 0)
                freeaddrinfo(res);
        }
        double per = (now_ns() - t0) / (double)n;
        if (best < 0 || per < best)
            best = per;
    }
    printf("ns_per_call %.0f status %d\n", best, rc);
    return rc == 0 ? 0 : 2;
}
