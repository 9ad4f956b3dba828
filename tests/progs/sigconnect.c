/* sigconnect [--lookups N] [--handlers N] [--interval-us N] NAME ADDR PORT
 *
 * Issue 12, kind 4: a SIGALRM handler calls connect() to ADDR:PORT every
 * interval (500 us) while the main thread loops getaddrinfo(NAME). Each
 * handler opens a TCP socket, connects and closes it; after N handlers the
 * timer stops, so the main thread always gets to finish. Prints
 * "lookups L found F handlers H" and exits 0 when it completes (a hook that
 * waits on a lock the interrupted thread holds hangs it instead). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static struct sockaddr_storage dest;
static socklen_t dest_len;
static volatile sig_atomic_t handlers, max_handlers = 300;

static void stop_timer(void)
{
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
}

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    if (++handlers >= max_handlers)
        stop_timer();
    int fd = socket(dest.ss_family, SOCK_STREAM, 0);
    if (fd >= 0) {
        (void)connect(fd, (struct sockaddr *)&dest, dest_len);
        close(fd);
    }
    errno = saved;
}

int main(int argc, char **argv)
{
    long lookups = 2000, interval = 500;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--lookups") == 0)
            lookups = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--handlers") == 0)
            max_handlers = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--interval-us") == 0)
            interval = atol(argv[i + 1]);
        else
            break;
    }
    if (argc - i != 3) {
        fprintf(stderr, "usage: sigconnect [--lookups N] [--handlers N] [--interval-us N] "
                        "NAME ADDR PORT\n");
        return 64;
    }
    const char *name = argv[i], *addr = argv[i + 1];
    int port = atoi(argv[i + 2]);
    struct sockaddr_in *in = (struct sockaddr_in *)&dest;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&dest;
    if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        dest_len = sizeof *in;
    } else if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        dest_len = sizeof *in6;
    } else {
        fprintf(stderr, "sigconnect: bad address %s\n", addr);
        return 64;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, interval}, {0, interval}};
    setitimer(ITIMER_REAL, &it, NULL);
    long found = 0;
    for (long n = 0; n < lookups; n++) {
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(name, "80", &hints, &res) == 0) {
            found++;
            freeaddrinfo(res);
        }
    }
    stop_timer();
    printf("lookups %ld found %ld handlers %d\n", lookups, found, (int)handlers);
    return 0;
}
