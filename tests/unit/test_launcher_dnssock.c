/* The sockets whose tailnet DNS queries went to the stub (launcher/dnssock.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

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
