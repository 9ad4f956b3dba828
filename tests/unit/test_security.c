/* Security properties of the shim's pure code (issue 6):
 *   - a property test over 10^5 seeded random addresses: route_is_tunnelled()
 *     is true only for the tailnet ranges or a TSRUN_ROUTES entry (never
 *     loopback/unspecified through a route), checked against an independent
 *     bit-by-bit reference;
 *   - oversized names and values are rejected without overflow (run it under
 *     `make asan` to make an overflow fatal). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "names.h"
#include "names_text.h"
#include "route.h"
#include "socks5.h"

/* ---------------------------------------------------------------- property */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic for a given seed, no libc state. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static bool bit(const uint8_t *a, unsigned i)
{
    return (a[i / 8] >> (7 - i % 8)) & 1;
}

static bool ref_in(const uint8_t a[16], const uint8_t p[16], unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        if (bit(a, i) != bit(p, i))
            return false;
    return true;
}

struct ref_route {
    uint8_t addr[16];
    unsigned len;
};

static const uint8_t mapped_prefix[12] = {[10] = 0xff, [11] = 0xff};

static bool ref_tunnelled(const uint8_t a[16], const struct ref_route *r, unsigned n, bool all,
                          bool have_extra)
{
    static const uint8_t ts4[16] = {[10] = 0xff, [11] = 0xff, [12] = 100, [13] = 64};
    static const uint8_t ts6[16] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
    static const uint8_t zero[16], lo6[16] = {[15] = 1};
    if (ref_in(a, ts4, 106) || ref_in(a, ts6, 48))
        return true;
    if (!have_extra)
        return false;
    bool mapped = memcmp(a, mapped_prefix, 12) == 0;
    if (mapped ? a[12] == 127 : memcmp(a, lo6, 16) == 0)
        return false; /* loopback */
    if (mapped ? memcmp(a + 12, zero, 4) == 0 : memcmp(a, zero, 16) == 0)
        return false; /* unspecified */
    if (all)
        return true;
    for (unsigned i = 0; i < n; i++)
        if (ref_in(a, r[i].addr, r[i].len))
            return true;
    return false;
}

/* A random address: uniform, or near one of the interesting prefixes
 * (tailnet ranges, the table's routes, loopback), v4 or v6. */
static void random_addr(uint8_t a[16], const struct ref_route *r, unsigned n)
{
    uint64_t x = rnd(), y = rnd();
    memcpy(a, &x, 8);
    memcpy(a + 8, &y, 8);
    unsigned kind = (unsigned)(rnd() % 8);
    const uint8_t *base = NULL;
    unsigned keep = 0;
    static const uint8_t ts4[16] = {[10] = 0xff, [11] = 0xff, [12] = 100, [13] = 64};
    static const uint8_t ts6[16] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
    static const uint8_t lo4[16] = {[10] = 0xff, [11] = 0xff, [12] = 127};
    switch (kind) {
    case 0: base = ts4, keep = 96 + (unsigned)(rnd() % 12); break; /* edges of /10 too */
    case 1: base = ts6, keep = 40 + (unsigned)(rnd() % 10); break;
    case 2:
    case 3:
        if (n > 0) {
            const struct ref_route *p = &r[rnd() % n];
            base = p->addr;
            keep = p->len > 2 ? p->len - (unsigned)(rnd() % 3) : p->len;
        }
        break;
    case 4: base = lo4, keep = 104; break;
    case 5: memcpy(a, mapped_prefix, 12); break; /* uniform IPv4 */
    default: break;                              /* uniform IPv6 */
    }
    if (base != NULL)
        for (unsigned i = 0; i < keep; i++) {
            uint8_t m = (uint8_t)(0x80 >> (i % 8));
            a[i / 8] = (uint8_t)((a[i / 8] & ~m) | (base[i / 8] & m));
        }
}

static socklen_t to_sockaddr(const uint8_t a[16], struct sockaddr_storage *ss, bool as_v4)
{
    memset(ss, 0, sizeof *ss);
    if (as_v4 && memcmp(a, mapped_prefix, 12) == 0) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(80);
        memcpy(&in->sin_addr, a + 12, 4);
        return sizeof *in;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(80);
    memcpy(&in6->sin6_addr, a, 16);
    return sizeof *in6;
}

/* One random TSRUN_ROUTES list (text) and its reference form. */
static unsigned random_routes(char *text, size_t size, struct ref_route *r, bool *all)
{
    unsigned n = (unsigned)(rnd() % 6);
    size_t off = 0;
    *all = rnd() % 16 == 0;
    text[0] = '\0';
    for (unsigned i = 0; i < n; i++) {
        uint8_t a[16];
        char ip[INET6_ADDRSTRLEN];
        uint64_t x = rnd(), y = rnd();
        memcpy(a, &x, 8);
        memcpy(a + 8, &y, 8);
        if (rnd() % 2) {
            unsigned len = (unsigned)(rnd() % 33);
            memcpy(a, mapped_prefix, 12);
            inet_ntop(AF_INET, a + 12, ip, sizeof ip);
            off += (size_t)snprintf(text + off, size - off, "%s%s/%u", i ? "," : "", ip, len);
            r[i].len = 96 + len;
        } else {
            unsigned len = (unsigned)(rnd() % 129);
            inet_ntop(AF_INET6, a, ip, sizeof ip);
            off += (size_t)snprintf(text + off, size - off, "%s%s/%u", i ? "," : "", ip, len);
            r[i].len = len;
        }
        memcpy(r[i].addr, a, 16);
    }
    if (*all)
        snprintf(text + off, size - off, "%sall", n ? "," : "");
    return n;
}

Test(security, random_addresses_never_tunnelled_outside_tailnet_or_routes)
{
    const char *seed_env = getenv("TSRUN_TEST_SEED");
    uint64_t seed = seed_env != NULL ? strtoull(seed_env, NULL, 0) : 0x7452554eULL;
    rng_state = seed ? seed : 1;
    unsigned tunnelled = 0, total = 0;
    for (int table = 0; table < 100; table++) {
        char text[1024];
        struct ref_route r[8];
        bool all;
        unsigned n = random_routes(text, sizeof text, r, &all);
        struct route_table t;
        const char *bad = NULL;
        cr_assert_eq(route_parse_list(text, &t, &bad), 0, "seed %#llx: \"%s\" at %s",
                     (unsigned long long)seed, text, bad ? bad : "?");
        for (int i = 0; i < 1000; i++) {
            uint8_t a[16];
            struct sockaddr_storage ss;
            random_addr(a, r, n);
            bool as_v4 = rnd() % 2;
            socklen_t len = to_sockaddr(a, &ss, as_v4);
            /* No table at all: only the tailnet ranges. */
            bool want_none = ref_tunnelled(a, r, 0, false, false);
            cr_assert_eq(route_is_tunnelled((struct sockaddr *)&ss, len, NULL), want_none);
            bool want = ref_tunnelled(a, r, n, all, true); /* a table, maybe empty */
            bool got = route_is_tunnelled((struct sockaddr *)&ss, len, &t);
            if (got != want) {
                char ip[INET6_ADDRSTRLEN];
                inet_ntop(AF_INET6, a, ip, sizeof ip);
                cr_assert_fail("seed %#llx routes \"%s\": %s tunnelled=%d, expected %d",
                               (unsigned long long)seed, text, ip, got, want);
            }
            tunnelled += got;
            total++;
        }
    }
    cr_assert_eq(total, 100000);
    /* The generator must hit both outcomes often, or the property is vacuous. */
    cr_assert_gt(tunnelled, total / 10);
    cr_assert_lt(tunnelled, total * 9 / 10);
}

/* ---------------------------------------------------------------- oversized */

struct kv {
    const char *key, *value;
};

static const char *kv_lookup(const char *key, void *ctx)
{
    for (const struct kv *p = ctx; p->key != NULL; p++)
        if (strcmp(p->key, key) == 0)
            return p->value;
    return NULL;
}

static char *filled(size_t n, char c)
{
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static int parse1(const char *key, const char *value, struct config *cfg, char *err, size_t errlen)
{
    struct kv kv[] = {{key, value}, {NULL, NULL}};
    return config_parse(kv_lookup, kv, cfg, err, errlen);
}

Test(security, oversized_config_values_rejected)
{
    static struct config cfg;
    char err[128];
    char *big = filled(100000, '1');
    char *path = filled(PATH_MAX + 10, 'p');
    path[0] = '/';

    cr_assert_eq(parse1("TSRUN_SOCKS5", big, &cfg, err, sizeof err), -EINVAL);
    cr_assert_lt(strlen(err), sizeof err);
    cr_assert_eq(parse1("TSRUN_ROUTES", big, &cfg, err, sizeof err), -EINVAL);
    cr_assert_eq(parse1("TSRUN_CONNECT_TIMEOUT_MS", big, &cfg, err, sizeof err), -EINVAL);
    cr_assert_eq(parse1("TSRUN_DEBUG", big, &cfg, err, sizeof err), -EINVAL);
    cr_assert_eq(parse1("TSRUN_NAMES", path, &cfg, err, sizeof err), -EINVAL);
    path[PATH_MAX - 1] = '\0'; /* the longest path that fits */
    cr_assert_eq(parse1("TSRUN_NAMES", path, &cfg, err, sizeof err), 0);
    cr_assert_eq(strlen(cfg.names_path), PATH_MAX - 1);

    /* A bracketed host longer than any IPv6 literal. */
    char v6[400];
    snprintf(v6, sizeof v6, "[%.300s]:1055", big);
    cr_assert_eq(parse1("TSRUN_SOCKS5", v6, &cfg, err, sizeof err), -EINVAL);
    /* An item longer than any CIDR, and more routes than ROUTE_MAX. */
    struct route_table t;
    const char *bad = NULL;
    cr_assert_eq(route_parse_list(big, &t, &bad), -EINVAL);
    cr_assert_eq(bad, big);
    char many[ROUTE_MAX * 16 + 32] = "";
    size_t off = 0;
    for (int i = 0; i <= ROUTE_MAX; i++)
        off += (size_t)snprintf(many + off, sizeof many - off, "10.%d.0.0/16,", i);
    cr_assert_eq(route_parse_list(many, &t, &bad), -EINVAL);
    cr_assert_str_eq(bad, "10.64.0.0/16,");

    /* The root file: over its 4 KiB cap, and a huge key. */
    cr_assert_eq(config_parse_file_text(big, &cfg, err, sizeof err), -EINVAL);
    char *line = filled(3000, 'k');
    cr_assert_eq(config_parse_file_text(line, &cfg, err, sizeof err), -EINVAL);
    line[2000] = '=';
    cr_assert_eq(config_parse_file_text(line, &cfg, err, sizeof err), -EINVAL);
    free(line);
    free(big);
    free(path);
}

static int parse_map(const char *text, struct names_map **m)
{
    char err[128];
    return names_parse(text, strlen(text), m, err, sizeof err);
}

Test(security, oversized_names_rejected)
{
    struct names_map *m = NULL;
    struct names_entry e;
    char *label = filled(300, 'a');
    char text[4096];

    /* A node name longer than a DNS name: that line is skipped. */
    snprintf(text, sizeof text,
             "tsrun-names 1\nnode %s.x.ts.net peer online 100.64.0.1\n"
             "node ok.x.ts.net peer online 100.64.0.2\nend 2\n", label);
    cr_assert_eq(parse_map(text, &m), 0);
    cr_assert_eq(names_map_count(m), 1);
    cr_assert_eq(names_map_lookup(m, "ok.x.ts.net", &e), NAMES_FOUND);
    /* Looking up an over-long name is an answer, not an overflow. */
    char *huge = filled(100000, 'b');
    memcpy(huge + 100000 - 8, ".ts.net", 7);
    cr_assert_neq(names_map_lookup(m, huge, &e), NAMES_FOUND);
    cr_assert_neq(names_map_lookup(m, label, &e), NAMES_FOUND);
    names_map_free(m);
    m = NULL;

    /* Nine addresses (max eight): skipped. */
    cr_assert_eq(parse_map("tsrun-names 1\nnode n.x.ts.net peer online 100.64.0.1 100.64.0.2 "
                           "100.64.0.3 100.64.0.4 100.64.0.5 100.64.0.6 100.64.0.7 100.64.0.8 "
                           "100.64.0.9\nend 1\n", &m), 0);
    cr_assert_eq(names_map_count(m), 0);
    names_map_free(m);
    m = NULL;

    /* A line over NAMES_MAX_LINE, a suffix over a DNS name, a file over
     * NAMES_MAX_TEXT: the whole map is refused. */
    char *longline = filled(NAMES_MAX_LINE + 10, 'c');
    snprintf(text, sizeof text, "tsrun-names 1\n# %s\nend 0\n", longline);
    cr_assert_lt(parse_map(text, &m), 0);
    cr_assert_null(m);
    snprintf(text, sizeof text, "tsrun-names 1\nsuffix %s.ts.net\nend 0\n", label);
    cr_assert_lt(parse_map(text, &m), 0);
    cr_assert_null(m);
    char err[64];
    cr_assert_eq(names_parse(huge, NAMES_MAX_TEXT + 1, &m, err, sizeof err), -E2BIG);
    cr_assert_null(m);

    /* names_hostent into a buffer too small for the answer. */
    struct hostent he;
    char small[16];
    struct names_addr a = {.family = AF_INET, .bytes = {100, 64, 0, 1}};
    cr_assert_eq(names_hostent(label, NULL, AF_INET, &a, 1, &he, small, sizeof small), -ERANGE);
    free(longline);
    free(huge);
    free(label);
}

Test(security, socks5_reply_never_claims_past_its_max)
{
    /* The longest legal reply (a 255-byte domain) fits SOCKS5_REPLY_MAX. */
    uint8_t buf[SOCKS5_REPLY_MAX + 8] = {5, 0, 5, 0, 0, 3, 255};
    struct socks5_reply r;
    cr_assert_eq(socks5_parse_reply(buf, 7, &r), SOCKS5_REPLY_MAX);
    cr_assert_eq(socks5_parse_reply(buf, sizeof buf, &r), 0);
    cr_assert_eq(r.error, SOCKS5_OK);
    cr_assert_eq(r.length, SOCKS5_REPLY_MAX);
}
