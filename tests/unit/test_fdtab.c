/* getpeername bookkeeping (shim/fdtab.c) on real sockets: a reused fd number
 * never answers with the previous socket's destination. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdtab.h"

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &in.sin_addr);
    return in;
}

static struct sockaddr_in6 v6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    inet_pton(AF_INET6, ip, &in6.sin6_addr);
    return in6;
}

Test(fdtab, remember_lookup_v4)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in dest = v4("100.88.12.5", 80);
    fdtab_remember(fd, (struct sockaddr *)&dest, sizeof dest);
    struct sockaddr_storage got;
    socklen_t len = 0;
    cr_assert(fdtab_lookup(fd, &got, &len));
    cr_assert_eq(len, sizeof(struct sockaddr_in));
    cr_assert_eq(memcmp(&got, &dest, sizeof dest), 0);
    close(fd);
}

Test(fdtab, remember_lookup_v6)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in6 dest = v6("fd7a:115c:a1e0::d401:c05", 22);
    dest.sin6_flowinfo = 0;
    dest.sin6_scope_id = 0;
    fdtab_remember(fd, (struct sockaddr *)&dest, sizeof dest);
    struct sockaddr_storage got;
    socklen_t len = 0;
    cr_assert(fdtab_lookup(fd, &got, &len));
    cr_assert_eq(len, sizeof(struct sockaddr_in6));
    cr_assert_eq(memcmp(&got, &dest, sizeof dest), 0);
    close(fd);
}

Test(fdtab, unknown_fd_and_bad_fds)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage got;
    socklen_t len;
    cr_assert(!fdtab_lookup(fd, &got, &len), "never remembered");
    cr_assert(!fdtab_lookup(-1, &got, &len));
    cr_assert(!fdtab_lookup(100000, &got, &len), "not open");
    struct sockaddr_in dest = v4("100.88.12.5", 80);
    fdtab_remember(-1, (struct sockaddr *)&dest, sizeof dest); /* no crash */
    fdtab_remember(100000, (struct sockaddr *)&dest, sizeof dest);
    close(fd);
}

Test(fdtab, too_long_address_is_ignored)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage big = {.ss_family = AF_INET6};
    fdtab_remember(fd, (struct sockaddr *)&big, sizeof big);
    struct sockaddr_storage got;
    socklen_t len;
    cr_assert(!fdtab_lookup(fd, &got, &len));
    close(fd);
}

Test(fdtab, reused_fd_number_gives_no_stale_answer)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in dest = v4("100.88.12.5", 80);
    fdtab_remember(fd, (struct sockaddr *)&dest, sizeof dest);
    close(fd);
    /* The lowest free number: the same fd, a different socket. */
    int again = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(again, fd, "expected the fd number to be reused");
    struct sockaddr_storage got;
    socklen_t len;
    cr_assert(!fdtab_lookup(again, &got, &len), "stale destination for a new socket");
    close(again);

    /* dup2 of another socket onto the number: no stale answer either. */
    int a = socket(AF_INET6, SOCK_STREAM, 0), b = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 d6 = v6("fd7a:115c:a1e0::1", 443);
    fdtab_remember(a, (struct sockaddr *)&d6, sizeof d6);
    cr_assert(fdtab_lookup(a, &got, &len));
    cr_assert_eq(dup2(b, a), a);
    cr_assert(!fdtab_lookup(a, &got, &len), "dup2'd fd still matched");
    close(a);
    close(b);
}

Test(fdtab, dup_of_same_socket_is_the_same_socket)
{
    /* A dup() shares the socket, so both numbers describe the same peer;
     * only the slot of the remembered number holds it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in dest = v4("100.64.0.1", 8080);
    fdtab_remember(fd, (struct sockaddr *)&dest, sizeof dest);
    int d = dup(fd);
    struct sockaddr_storage got;
    socklen_t len;
    cr_assert(fdtab_lookup(fd, &got, &len));
    close(fd);
    /* fd's number is free but d still is the socket: a new socket on fd's
     * number must not match. */
    int n = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(n, fd);
    cr_assert(!fdtab_lookup(n, &got, &len));
    close(n);
    close(d);
}

Test(fdtab, overwrite_same_fd)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("100.64.0.1", 1), b = v4("100.64.0.2", 2);
    fdtab_remember(fd, (struct sockaddr *)&a, sizeof a);
    fdtab_remember(fd, (struct sockaddr *)&b, sizeof b);
    struct sockaddr_storage got;
    socklen_t len;
    cr_assert(fdtab_lookup(fd, &got, &len));
    cr_assert_eq(memcmp(&got, &b, sizeof b), 0);
    close(fd);
}

Test(fdtab, fd_plus_256_keeps_both)
{
    /* fd and fd + 256 shared a slot when the table was indexed by fd
     * number: the earlier socket then reported the proxy (issue 12, kind 2).
     * Keyed by inode, both keep their own destination. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int hi = fcntl(fd, F_DUPFD, fd + 256);
    cr_assert_geq(hi, 0);
    close(hi);
    hi = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(dup2(hi, fd + 256), fd + 256);
    close(hi);
    hi = fd + 256;
    struct sockaddr_in a = v4("100.64.0.1", 1), b = v4("100.64.0.2", 2);
    fdtab_remember(fd, (struct sockaddr *)&a, sizeof a);
    fdtab_remember(hi, (struct sockaddr *)&b, sizeof b);
    struct sockaddr_storage got;
    socklen_t len;
    cr_assert(fdtab_lookup(fd, &got, &len));
    cr_assert_eq(memcmp(&got, &a, sizeof a), 0);
    cr_assert(fdtab_lookup(hi, &got, &len));
    cr_assert_eq(memcmp(&got, &b, sizeof b), 0);
    close(fd);
    close(hi);
}

Test(fdtab, dup2_to_any_number_finds_the_socket)
{
    /* dup2(fd, 100) of a tunnelled socket: the new number reports the
     * tailnet peer too (issue 12, kind 2). */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = v4("100.88.12.5", 80);
    fdtab_remember(fd, (struct sockaddr *)&a, sizeof a);
    cr_assert_eq(dup2(fd, 100), 100);
    close(fd);
    struct sockaddr_storage got;
    socklen_t len;
    cr_assert(fdtab_lookup(100, &got, &len));
    cr_assert_eq(memcmp(&got, &a, sizeof a), 0);
    close(100);
}

Test(fdtab, three_thousand_sockets_at_once)
{
    /* 300 tunnelled sockets answered about 45 times with the proxy's
     * address; ten times that many now all keep their peer. */
    enum { N = 3000 };
    static int fds[N];
    struct rlimit rl = {N + 64, N + 64};
    setrlimit(RLIMIT_NOFILE, &rl);
    for (int i = 0; i < N; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        cr_assert_geq(fds[i], 0, "socket %d", i);
        struct sockaddr_in a = v4("100.64.0.1", (uint16_t)(i + 1));
        fdtab_remember(fds[i], (struct sockaddr *)&a, sizeof a);
    }
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        struct sockaddr_storage got;
        socklen_t len;
        if (!fdtab_lookup(fds[i], &got, &len) ||
            ((struct sockaddr_in *)&got)->sin_port != htons((uint16_t)(i + 1)))
            wrong++;
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
    cr_assert_eq(wrong, 0);
}

Test(fdtab, non_socket_fd)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct sockaddr_in a = v4("100.64.0.1", 1);
    fdtab_remember(p[0], (struct sockaddr *)&a, sizeof a);
    close(p[0]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_storage got;
    socklen_t len;
    cr_assert_eq(fd, p[0]);
    cr_assert(!fdtab_lookup(fd, &got, &len));
    close(fd);
    close(p[1]);
}
