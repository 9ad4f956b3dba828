/* The sockets whose tailnet DNS queries went to the stub (launcher/dnssock.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnssock.h"

static struct sockaddr_storage v4(const char *ip, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &in->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *ip, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, ip, &in6->sin6_addr);
    return ss;
}

Test(dnssock, remembers_the_nameserver_bytes_per_inode)
{
    cr_assert(dnssock_empty());
    struct sockaddr_storage ns = v6("::ffff:127.0.0.1", 53), got;
    socklen_t len = 0;
    cr_assert_not(dnssock_lookup(42, &got, &len));
    dnssock_remember(42, &ns, sizeof(struct sockaddr_in6));
    cr_assert_not(dnssock_empty());
    cr_assert(dnssock_lookup(42, &got, &len));
    cr_assert_eq(len, sizeof(struct sockaddr_in6));
    cr_assert_eq(memcmp(&got, &ns, len), 0, "the bytes musl compares with memcmp");
    /* The same socket asking another nameserver: updated, not duplicated. */
    struct sockaddr_storage ns2 = v4("10.0.0.2", 53);
    dnssock_remember(42, &ns2, sizeof(struct sockaddr_in));
    cr_assert(dnssock_lookup(42, &got, &len));
    cr_assert_eq(len, sizeof(struct sockaddr_in));
    cr_assert_eq(memcmp(&got, &ns2, len), 0);
    cr_assert_not(dnssock_lookup(43, &got, &len));
}

Test(dnssock, oldest_entry_goes_first)
{
    struct sockaddr_storage ns = v4("127.0.0.53", 53), got;
    socklen_t len;
    for (ino_t i = 1; i <= DNSSOCK_MAX + 1; i++)
        dnssock_remember(1000 + i, &ns, sizeof(struct sockaddr_in));
    cr_assert_not(dnssock_lookup(1001, &got, &len));
    cr_assert(dnssock_lookup(1002, &got, &len));
    cr_assert(dnssock_lookup(1000 + DNSSOCK_MAX + 1, &got, &len));
}

Test(dnssock, from_stub_compares_address_and_port_across_families)
{
    struct sockaddr_storage stub = v4("127.0.0.1", 40001);
    struct sockaddr_storage a = v4("127.0.0.1", 40001), b = v6("::ffff:127.0.0.1", 40001),
                            c = v4("127.0.0.1", 53), d = v4("127.0.0.2", 40001),
                            e = v6("::1", 40001);
    cr_assert(dnssock_from_stub((struct sockaddr *)&a, sizeof(struct sockaddr_in), &stub));
    cr_assert(dnssock_from_stub((struct sockaddr *)&b, sizeof(struct sockaddr_in6), &stub));
    cr_assert_not(dnssock_from_stub((struct sockaddr *)&c, sizeof(struct sockaddr_in), &stub));
    cr_assert_not(dnssock_from_stub((struct sockaddr *)&d, sizeof(struct sockaddr_in), &stub));
    cr_assert_not(dnssock_from_stub((struct sockaddr *)&e, sizeof(struct sockaddr_in6), &stub));
    cr_assert_not(dnssock_from_stub((struct sockaddr *)&a, 4, &stub), "a short length");
}

static ino_t ino_of(int fd)
{
    struct stat sb;
    cr_assert_eq(fstat(fd, &sb), 0);
    return sb.st_ino;
}

static bool is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/* A socket tsrun installed over the program's fd (no pidfd_getfd): its copy
 * is served while that fd still names the socket, and closed once the
 * program has closed it (found when the next copy is kept). */
Test(dnssock, kept_copy_lives_as_long_as_the_program_fd)
{
    struct sockaddr_storage ns = v4("127.0.0.11", 53);
    int app = socket(AF_INET, SOCK_DGRAM, 0), app2 = socket(AF_INET, SOCK_DGRAM, 0);
    int mine = dup(app), mine2 = dup(app2);
    ino_t ino = ino_of(app), ino2 = ino_of(app2);
    cr_assert_eq(dnssock_dup_kept(ino), -ENOENT, "nothing kept yet");
    dnssock_remember(ino, &ns, sizeof(struct sockaddr_in));
    dnssock_keep(ino, mine, getpid(), app);
    int d = dnssock_dup_kept(ino);
    cr_assert_geq(d, 0);
    cr_assert_eq(ino_of(d), ino, "a duplicate of the same socket");
    cr_assert_neq(fcntl(d, F_GETFD) & FD_CLOEXEC, 0, "close-on-exec");
    close(d);
    close(app); /* the program is done with it */
    dnssock_remember(ino2, &ns, sizeof(struct sockaddr_in));
    dnssock_keep(ino2, mine2, getpid(), app2);
    cr_assert_eq(dnssock_dup_kept(ino), -ENOENT, "the first copy was dropped");
    cr_assert_not(is_open(mine), "and closed");
    cr_assert(is_open(mine2));
    struct sockaddr_storage got;
    socklen_t len;
    cr_assert(dnssock_lookup(ino, &got, &len), "its nameserver is still known");
}

Test(dnssock, a_copy_of_an_unknown_socket_is_closed_at_once)
{
    int app = socket(AF_INET, SOCK_DGRAM, 0), mine = dup(app);
    dnssock_keep(ino_of(app), mine, getpid(), app);
    cr_assert_not(is_open(mine));
    cr_assert_eq(dnssock_dup_kept(ino_of(app)), -ENOENT);
}

Test(dnssock, at_most_keep_max_copies_the_oldest_goes)
{
    struct sockaddr_storage ns = v4("127.0.0.11", 53);
    int app[DNSSOCK_KEEP_MAX + 1], mine[DNSSOCK_KEEP_MAX + 1];
    for (int i = 0; i <= DNSSOCK_KEEP_MAX; i++) {
        app[i] = socket(AF_INET, SOCK_DGRAM, 0);
        mine[i] = dup(app[i]);
        dnssock_remember(ino_of(app[i]), &ns, sizeof(struct sockaddr_in));
        dnssock_keep(ino_of(app[i]), mine[i], getpid(), app[i]);
    }
    cr_assert_not(is_open(mine[0]), "the oldest copy, though still installed");
    for (int i = 1; i <= DNSSOCK_KEEP_MAX; i++)
        cr_assert(is_open(mine[i]), "copy %d", i);
}

Test(dnssock, forgetting_an_entry_closes_its_copy)
{
    struct sockaddr_storage ns = v4("127.0.0.11", 53);
    int app = socket(AF_INET, SOCK_DGRAM, 0), mine = dup(app);
    dnssock_remember(ino_of(app), &ns, sizeof(struct sockaddr_in));
    dnssock_keep(ino_of(app), mine, getpid(), app);
    for (ino_t i = 1; i <= DNSSOCK_MAX; i++)
        dnssock_remember(1000000000 + i, &ns, sizeof(struct sockaddr_in));
    cr_assert_not(is_open(mine));
}
