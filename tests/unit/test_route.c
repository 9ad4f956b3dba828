/* Which destinations are tunnelled (shim/route.c): range edges, v4-mapped,
 * loopback, TSRUN_ROUTES parsing. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "route.h"

/* A sockaddr for "1.2.3.4" (AF_INET) or "fd7a::1" / "::ffff:1.2.3.4" (AF_INET6). */
static socklen_t sa_of(const char *text, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        return sizeof *in;
    }
    cr_assert_eq(inet_pton(AF_INET6, text, &in6->sin6_addr), 1, "bad address %s", text);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    return sizeof *in6;
}

static bool tunnelled(const char *text, const struct route_table *extra)
{
    struct sockaddr_storage ss;
    socklen_t len = sa_of(text, 80, &ss);
    return route_is_tunnelled((struct sockaddr *)&ss, len, extra);
}

static struct route_table table_of(const char *list)
{
    struct route_table t;
    const char *bad = NULL;
    cr_assert_eq(route_parse_list(list, &t, &bad), 0, "parse \"%s\" failed at %s", list,
                 bad ? bad : "?");
    return t;
}

/* ------------------------------------------------------------ built-in ranges */

Test(route_builtin, cgnat_edges)
{
    cr_assert(!tunnelled("100.63.255.255", NULL));
    cr_assert(tunnelled("100.64.0.0", NULL));
    cr_assert(tunnelled("100.64.0.1", NULL));
    cr_assert(tunnelled("100.88.12.5", NULL));
    cr_assert(tunnelled("100.127.255.255", NULL));
    cr_assert(!tunnelled("100.128.0.0", NULL));
    cr_assert(!tunnelled("101.64.0.1", NULL));
    cr_assert(!tunnelled("0.0.0.0", NULL));
    cr_assert(!tunnelled("255.255.255.255", NULL));
}

Test(route_builtin, tailnet_v6_edges)
{
    cr_assert(tunnelled("fd7a:115c:a1e0::", NULL));
    cr_assert(tunnelled("fd7a:115c:a1e0::d401:c05", NULL));
    cr_assert(tunnelled("fd7a:115c:a1e0:ffff:ffff:ffff:ffff:ffff", NULL));
    cr_assert(!tunnelled("fd7a:115c:a1df:ffff:ffff:ffff:ffff:ffff", NULL));
    cr_assert(!tunnelled("fd7a:115c:a1e1::", NULL));
    cr_assert(tunnelled("fd7a:115c:a1e0::1", NULL));
    cr_assert(!tunnelled("fd00::1", NULL));
    cr_assert(!tunnelled("2001:db8::1", NULL));
}

Test(route_builtin, v4_mapped_on_inet6)
{
    cr_assert(tunnelled("::ffff:100.64.0.0", NULL));
    cr_assert(tunnelled("::ffff:100.88.12.5", NULL));
    cr_assert(tunnelled("::ffff:100.127.255.255", NULL));
    cr_assert(!tunnelled("::ffff:100.63.255.255", NULL));
    cr_assert(!tunnelled("::ffff:100.128.0.0", NULL));
    /* Not mapped: v4-compatible (deprecated) and NAT64 forms stay untouched. */
    cr_assert(!tunnelled("::100.88.12.5", NULL));
    cr_assert(!tunnelled("64:ff9b::100.88.12.5", NULL));
}

Test(route_builtin, loopback_and_others_never)
{
    struct route_table all = table_of("all");
    const char *never[] = {"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1", "0.0.0.0",
                           "::",        "::ffff:0.0.0.0"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        cr_assert(!tunnelled(never[i], NULL), "%s without routes", never[i]);
        cr_assert(!tunnelled(never[i], &all), "%s with all", never[i]);
    }
}

Test(route_builtin, other_families_and_short_lengths)
{
    struct sockaddr_storage ss;
    socklen_t len = sa_of("100.88.12.5", 80, &ss);
    cr_assert(!route_is_tunnelled((struct sockaddr *)&ss, len - 1, NULL));
    cr_assert(!route_is_tunnelled(NULL, len, NULL));
    sa_of("fd7a:115c:a1e0::1", 80, &ss);
    /* Below SIN6_LEN_RFC2133 (24): the kernel refuses it with EINVAL. */
    cr_assert(!route_is_tunnelled((struct sockaddr *)&ss, ROUTE_SIN6_LEN_MIN - 1, NULL));
    cr_assert(route_is_tunnelled((struct sockaddr *)&ss, ROUTE_SIN6_LEN_MIN, NULL));
    ss.ss_family = AF_UNIX;
    cr_assert(!route_is_tunnelled((struct sockaddr *)&ss, sizeof ss, NULL));
    ss.ss_family = AF_UNSPEC;
    cr_assert(!route_is_tunnelled((struct sockaddr *)&ss, sizeof ss, NULL));
}

Test(route_addr16, normalises_and_reports_port)
{
    struct sockaddr_storage ss;
    uint8_t a[16];
    uint16_t port = 0;
    socklen_t len = sa_of("100.88.12.5", 8080, &ss);
    cr_assert(route_addr16((struct sockaddr *)&ss, len, a, &port));
    static const uint8_t want4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 100, 88, 12, 5};
    cr_assert_eq(memcmp(a, want4, 16), 0);
    cr_assert_eq(port, 8080);
    len = sa_of("fd7a:115c:a1e0::d401:c05", 22, &ss);
    cr_assert(route_addr16((struct sockaddr *)&ss, len, a, NULL));
    cr_assert_eq(a[0], 0xfd);
    cr_assert_eq(a[15], 0x05);
}

/* ------------------------------------------------------------ TSRUN_ROUTES */

Test(route_parse, v4_cidr)
{
    struct route_table t = table_of("10.20.0.0/16");
    cr_assert_eq(t.count, 1);
    cr_assert(!t.all);
    cr_assert(tunnelled("10.20.0.7", &t));
    cr_assert(tunnelled("10.20.255.255", &t));
    cr_assert(!tunnelled("10.21.0.0", &t));
    cr_assert(!tunnelled("10.19.255.255", &t));
    cr_assert(tunnelled("::ffff:10.20.0.7", &t), "v4-mapped on an AF_INET6 socket");
    cr_assert(!tunnelled("10.20.0.7", NULL));
}

Test(route_parse, odd_prefixes_and_host_routes)
{
    struct route_table t = table_of("192.168.1.128/25,172.16.0.1,0.0.0.0/0");
    cr_assert_eq(t.count, 3);
    cr_assert(tunnelled("192.168.1.200", &t));
    cr_assert(tunnelled("8.8.8.8", &t), "0.0.0.0/0 covers every IPv4 address");
    cr_assert(!tunnelled("127.0.0.1", &t), "but never loopback");
    cr_assert(!tunnelled("2001:db8::1", &t), "an IPv4 /0 covers no IPv6 address");
    t = table_of("172.16.0.1");
    cr_assert(tunnelled("172.16.0.1", &t));
    cr_assert(!tunnelled("172.16.0.2", &t));
    t = table_of("10.1.2.3/32,10.0.0.0/9");
    cr_assert(tunnelled("10.1.2.3", &t));
    cr_assert(tunnelled("10.127.0.0", &t));
    cr_assert(!tunnelled("10.128.0.0", &t));
}

Test(route_parse, v6_cidrs)
{
    struct route_table t = table_of("fd00:1::/32, 2001:db8::/126,2001:db8:1::5");
    cr_assert_eq(t.count, 3);
    cr_assert(tunnelled("fd00:1:ffff::1", &t));
    cr_assert(!tunnelled("fd00:2::1", &t));
    cr_assert(tunnelled("2001:db8::3", &t));
    cr_assert(!tunnelled("2001:db8::4", &t));
    cr_assert(tunnelled("2001:db8:1::5", &t));
    cr_assert(!tunnelled("2001:db8:1::6", &t));
    cr_assert(!tunnelled("fd00:1::", NULL));
    t = table_of("::/0");
    cr_assert(tunnelled("2001:db8::1", &t));
    cr_assert(!tunnelled("::1", &t));
}

Test(route_parse, all)
{
    struct route_table t = table_of("all");
    cr_assert(t.all);
    cr_assert_eq(t.count, 0);
    cr_assert(tunnelled("8.8.8.8", &t));
    cr_assert(tunnelled("2001:db8::1", &t));
    cr_assert(tunnelled("::ffff:8.8.8.8", &t));
    t = table_of("10.0.0.0/8,all");
    cr_assert(t.all);
    cr_assert_eq(t.count, 1);
}

Test(route_parse, separators_and_empty)
{
    struct route_table t = table_of("");
    cr_assert_eq(t.count, 0);
    cr_assert(!t.all);
    t = table_of(" , ,10.0.0.0/8,, 11.0.0.0/8 ,");
    cr_assert_eq(t.count, 2);
    cr_assert(tunnelled("11.1.1.1", &t));
}

static void assert_bad(const char *list, const char *bad_at)
{
    struct route_table t;
    const char *bad = NULL;
    cr_assert_eq(route_parse_list(list, &t, &bad), -EINVAL, "\"%s\" accepted", list);
    cr_assert_not_null(bad, "\"%s\": no bad item", list);
    cr_assert_eq(strncmp(bad, bad_at, strlen(bad_at)), 0, "\"%s\": bad at \"%s\", want \"%s\"",
                 list, bad, bad_at);
    /* bad may be NULL too. */
    cr_assert_eq(route_parse_list(list, &t, NULL), -EINVAL);
}

Test(route_parse, rejects)
{
    assert_bad("10.0.0.0/33", "10.0.0.0/33");
    assert_bad("fd00::/129", "fd00::/129");
    assert_bad("10.0.0.0/8,10.0.0.0/-1", "10.0.0.0/-1");
    assert_bad("10.0.0.0/", "10.0.0.0/");
    assert_bad("10.0.0.0/8x", "10.0.0.0/8x");
    assert_bad("10.0.0.0/ 8", "10.0.0.0/");
    assert_bad("10.0.0/8", "10.0.0/8");
    assert_bad("10.0.0.256", "10.0.0.256");
    assert_bad("example.com", "example.com");
    assert_bad("ALL", "ALL");
    assert_bad("all2", "all2");
    assert_bad("10.0.0.0/8;11.0.0.0/8", "10.0.0.0/8;");
    assert_bad("fd7a:115c:a1e0::/48/1", "fd7a");
    assert_bad("1111:2222:3333:4444:5555:6666:7777:8888:9999/64", "1111");
}

Test(route_parse, prefix_limits_accepted)
{
    struct route_table t = table_of("10.0.0.0/32,10.0.0.0/0,fd00::/128,fd00::/0");
    cr_assert_eq(t.count, 4);
    cr_assert_eq(t.route[0].prefix_len, 128);
    cr_assert_eq(t.route[1].prefix_len, 96);
    cr_assert_eq(t.route[2].prefix_len, 128);
    cr_assert_eq(t.route[3].prefix_len, 0);
}

Test(route_parse, sixty_four_routes_limit)
{
    char list[64 * 20 + 32];
    size_t n = 0;
    for (int i = 0; i < ROUTE_MAX; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s10.%d.0.0/16", i ? "," : "", i);
    struct route_table t = table_of(list);
    cr_assert_eq(t.count, ROUTE_MAX);
    cr_assert(tunnelled("10.63.1.1", &t));
    cr_assert(!tunnelled("10.64.1.1", &t));
    /* "all" does not use a slot. */
    snprintf(list + n, sizeof list - n, ",all");
    t = table_of(list);
    cr_assert(t.all);
    /* One more is an error naming it. */
    snprintf(list + n, sizeof list - n, ",10.99.0.0/16");
    assert_bad(list, "10.99.0.0/16");
}

Test(route_parse, tailnet_ranges_stay_without_extra)
{
    struct route_table t = table_of("10.0.0.0/8");
    cr_assert(tunnelled("100.88.12.5", &t));
    cr_assert(tunnelled("fd7a:115c:a1e0::1", &t));
}

/* ------------------------------------------------------------ address lengths */

/* Every length Linux accepts (common/route.h: AF_INET 16..128, AF_INET6
 * 24..128) is examined; the rest are the kernel's to refuse. */
Test(route_lengths, kernel_accepted_lengths_are_examined)
{
    struct sockaddr_storage ss;
    const char *v6[] = {"fd7a:115c:a1e0::d401:c05", "::ffff:100.88.12.5"};
    for (size_t i = 0; i < 2; i++) {
        sa_of(v6[i], 80, &ss);
        for (socklen_t len = 0; len <= 200; len++)
            cr_assert_eq(route_is_tunnelled((struct sockaddr *)&ss, len, NULL),
                         len >= 24 && len <= 128, "%s len %u", v6[i], (unsigned)len);
    }
    sa_of("100.88.12.5", 80, &ss);
    for (socklen_t len = 0; len <= 200; len++)
        cr_assert_eq(route_is_tunnelled((struct sockaddr *)&ss, len, NULL), len >= 16 && len <= 128,
                     "v4 len %u", (unsigned)len);
}

Test(route_lengths, rfc2133_length_reads_no_scope_id)
{
    uint8_t a[16];
    uint16_t port = 0;
    struct sockaddr_storage ss;
    sa_of("fd7a:115c:a1e0::d401:c05", 4242, &ss);
    cr_assert(route_addr16((struct sockaddr *)&ss, 24, a, &port));
    cr_assert_eq(port, 4242);
    cr_assert_eq(a[0], 0xfd);
    cr_assert_eq(a[15], 0x05);
}

Test(route_match, all_is_told_apart)
{
    struct route_table t = table_of("10.20.0.0/16,all");
    struct sockaddr_storage ss;
    uint8_t a[16];
    sa_of("100.88.12.5", 80, &ss);
    route_addr16((struct sockaddr *)&ss, sizeof ss, a, NULL);
    cr_assert_eq(route_addr16_match(a, &t), ROUTE_TAILNET);
    sa_of("10.20.0.7", 80, &ss);
    route_addr16((struct sockaddr *)&ss, sizeof(struct sockaddr_in), a, NULL);
    cr_assert_eq(route_addr16_match(a, &t), ROUTE_LISTED);
    sa_of("198.51.100.80", 80, &ss);
    route_addr16((struct sockaddr *)&ss, sizeof(struct sockaddr_in), a, NULL);
    cr_assert_eq(route_addr16_match(a, &t), ROUTE_ALL);
    sa_of("127.0.0.1", 80, &ss);
    route_addr16((struct sockaddr *)&ss, sizeof(struct sockaddr_in), a, NULL);
    cr_assert_eq(route_addr16_match(a, &t), ROUTE_DIRECT);
}
