/* namedial NAME PORT: resolves NAME with getaddrinfo (any family, TCP),
 * prints "addrs=A B ..." in the order returned, then connects to each
 * address in turn until one answers, sends one byte to the echo service
 * there and prints "ok remote=ADDR" once it comes back. Exits 0, 2 when
 * the name does not resolve ("status=EAI_..."), 1 when no address works
 * ("fail errno=N"). Built static with musl-gcc by tests/e2e/test_seccomp.sh
 * (musl's own resolver, which asks the nameservers of /etc/resolv.conf). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void text(const struct sockaddr *sa, char *out, size_t n)
{
    const void *a = sa->sa_family == AF_INET
                        ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                        : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    inet_ntop(sa->sa_family, a, out, (socklen_t)n);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: namedial NAME PORT\n");
        return 64;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int rc = getaddrinfo(argv[1], argv[2], &hints, &res);
    if (rc != 0) {
        printf("status=%s\n", rc == EAI_NONAME ? "EAI_NONAME" : gai_strerror(rc));
        return 2;
    }
    char a[INET6_ADDRSTRLEN];
    printf("addrs=");
    for (ai = res; ai; ai = ai->ai_next) {
        text(ai->ai_addr, a, sizeof a);
        printf("%s%s", a, ai->ai_next ? " " : "\n");
    }
    int err = 0;
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char c = 'x';
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 || write(fd, &c, 1) != 1 ||
            read(fd, &c, 1) != 1 || c != 'x') {
            err = errno;
            if (fd >= 0)
                close(fd);
            continue;
        }
        text(ai->ai_addr, a, sizeof a);
        printf("ok remote=%s\n", a);
        close(fd);
        freeaddrinfo(res);
        return 0;
    }
    printf("fail errno=%d\n", err);
    freeaddrinfo(res);
    return 1;
}
