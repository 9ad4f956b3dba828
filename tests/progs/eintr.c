/* eintr: a tunnelled connect() while SIGALRM fires every INTERVAL µs.
 *
 *   eintr [--restart] [--nonblock] [--interval-us N] HOST PORT
 *
 * Installs a SIGALRM handler (SA_RESTART with --restart), arms a repeating
 * setitimer, connects (a slow proxy keeps the handshake going for a while),
 * disarms, then sends "ping" and reads the echo. Prints:
 *   result=ok|errno=ENAME signals=N elapsed_ms=N echo=ok|fail|skipped */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int signals;

static void on_alarm(int sig)
{
    (void)sig;
    atomic_fetch_add(&signals, 1);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    int restart = 0, nonblock = 0, interval_us = 2000, i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (!strcmp(argv[i], "--restart"))
            restart = 1;
        else if (!strcmp(argv[i], "--nonblock"))
            nonblock = 1;
        else if (!strcmp(argv[i], "--interval-us") && i + 1 < argc)
            interval_us = atoi(argv[++i]);
        else
            break;
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: eintr [--restart] [--nonblock] [--interval-us N] HOST PORT\n");
        return 2;
    }
    struct sockaddr_in dest = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[i + 1]))};
    if (inet_pton(AF_INET, argv[i], &dest.sin_addr) != 1)
        return 2;

    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (nonblock)
        fcntl(fd, F_SETFL, O_NONBLOCK);
    struct itimerval it = {{0, interval_us}, {0, interval_us}}, off = {{0, 0}, {0, 0}};
    long long t0 = now_ms();
    setitimer(ITIMER_REAL, &it, NULL);
    int rc = connect(fd, (struct sockaddr *)&dest, sizeof dest);
    int err = rc < 0 ? errno : 0;
    if (err == EINPROGRESS) {
        /* Asynchronous: the handshake goes on in poll(), under the storm. */
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        while (poll(&p, 1, 5000) < 0 && errno == EINTR)
            ;
        socklen_t l = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
    }
    setitimer(ITIMER_REAL, &off, NULL);
    long long elapsed = now_ms() - t0;
    const char *echo = "skipped";
    if (err == 0) {
        char buf[8] = {0};
        size_t have = 0;
        echo = "fail";
        if (send(fd, "ping", 4, MSG_NOSIGNAL) == 4) {
            while (have < 4) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, 5000) <= 0)
                    break;
                ssize_t n = recv(fd, buf + have, 4 - have, MSG_DONTWAIT);
                if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
                    break;
                if (n > 0)
                    have += (size_t)n;
            }
            if (have == 4 && memcmp(buf, "ping", 4) == 0)
                echo = "ok";
        }
    }
    if (err == 0)
        printf("result=ok");
    else
        printf("errno=%s", err == EINTR ? "EINTR" : err == ETIMEDOUT ? "ETIMEDOUT"
                           : err == ECONNREFUSED ? "ECONNREFUSED" : strerror(err));
    printf(" signals=%d elapsed_ms=%lld echo=%s\n", atomic_load(&signals), elapsed, echo);
    close(fd);
    return 0;
}
