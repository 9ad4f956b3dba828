/* shim/names.c: the name-map parser and the matcher (pure code). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "names_text.h"

#define GOOD                                                                   \
    "tsrun-names 1\n"                                                          \
    "# generated 2026-11-23T20:00:00Z from tailscaled 1.102.3\n"               \
    "suffix tail1a2b3.ts.net\n"                                                \
    "node sandbox-1.tail1a2b3.ts.net self online 100.101.7.42 "                \
    "fd7a:115c:a1e0::6f01:72a\n"                                               \
    "node db.tail1a2b3.ts.net peer online 100.88.12.5 fd7a:115c:a1e0::d401:c05\n" \
    "node old.tail1a2b3.ts.net peer offline 100.77.1.2\n"                      \
    "end 3\n"

static char err[256];

static struct names_map *parse_ok(const char *text)
{
    struct names_map *m = NULL;
    int rc = names_parse(text, strlen(text), &m, err, sizeof err);
    cr_assert_eq(rc, 0, "parse failed: %s", err);
    cr_assert_not_null(m);
    return m;
}

static int parse_rc(const char *text, size_t len)
{
    struct names_map *m = (void *)1;
    int rc = names_parse(text, len, &m, err, sizeof err);
    if (rc == 0)
        names_map_free(m);
    else
        cr_assert_null(m);
    return rc;
}

static void v4(const char *s, uint8_t out[16])
{
    memset(out, 0, 16);
    cr_assert_eq(inet_pton(AF_INET, s, out), 1);
}

static void v6(const char *s, uint8_t out[16])
{
    cr_assert_eq(inet_pton(AF_INET6, s, out), 1);
}

/* ------------------------------------------------------------ parsing */

Test(names_parse, good_file)
{
    struct names_map *m = parse_ok(GOOD);
    struct names_entry e;
    cr_assert_eq(names_map_count(m), 3);
    cr_assert_str_eq(names_map_suffix(m), "tail1a2b3.ts.net");
    cr_assert_eq(names_map_lookup(m, "db.tail1a2b3.ts.net", &e), NAMES_FOUND);
    cr_assert_str_eq(e.fqdn, "db.tail1a2b3.ts.net");
    cr_assert_eq(e.state, NAMES_ONLINE);
    cr_assert_eq(e.naddrs, 2);
    uint8_t a[16];
    v4("100.88.12.5", a);
    cr_assert_eq(e.addr[0].family, AF_INET);
    cr_assert_arr_eq(e.addr[0].bytes, a, 4);
    v6("fd7a:115c:a1e0::d401:c05", a);
    cr_assert_eq(e.addr[1].family, AF_INET6);
    cr_assert_arr_eq(e.addr[1].bytes, a, 16);
    cr_assert_eq(names_map_lookup(m, "old", &e), NAMES_FOUND);
    cr_assert_eq(e.state, NAMES_OFFLINE);
    cr_assert_eq(e.naddrs, 1);
    names_map_free(m);
}

Test(names_parse, empty_and_null)
{
    cr_assert_eq(parse_rc("", 0), -EINVAL);
    cr_assert_eq(parse_rc(NULL, 0), -EINVAL);
    cr_assert_eq(parse_rc("\n", 1), -EINVAL);
}

Test(names_parse, header_only_and_zero_nodes)
{
    cr_assert_eq(parse_rc("tsrun-names 1\n", 14), -EINVAL);
    struct names_map *m = parse_ok("tsrun-names 1\nend 0\n");
    cr_assert_eq(names_map_count(m), 0);
    cr_assert_eq(names_map_lookup(m, "db", NULL), NAMES_NOT_TAILNET);
    cr_assert_eq(names_map_lookup(m, "db.ts.net", NULL), NAMES_MISSING);
    names_map_free(m);
}

Test(names_parse, wrong_header)
{
    const char *bad[] = {
        "tsrun-names 2\nend 0\n", "tsrun-names 1 \nend 0\n", "TSRUN-NAMES 1\nend 0\n",
        "# comment first\ntsrun-names 1\nend 0\n", "\ntsrun-names 1\nend 0\n",
        "tsrun-names\nend 0\n", "{\"json\": true}\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(parse_rc(bad[i], strlen(bad[i])), -EINVAL, "%s", bad[i]);
}

Test(names_parse, truncated_anywhere)
{
    /* Every proper prefix of a good file is invalid: "end N" comes last and
     * counts the node lines. */
    size_t len = strlen(GOOD);
    for (size_t i = 0; i < len - 1; i++)
        cr_assert_neq(parse_rc(GOOD, i), 0, "prefix of %zu bytes parsed", i);
    cr_assert_eq(parse_rc(GOOD, len - 1), 0); /* only the final newline lost */
    cr_assert_eq(parse_rc(GOOD, len), 0);
}

Test(names_parse, wrong_count)
{
    const char *t = "tsrun-names 1\nnode a.x.ts.net peer online 100.64.0.1\nend 2\n";
    cr_assert_eq(parse_rc(t, strlen(t)), -EINVAL);
    t = "tsrun-names 1\nnode a.x.ts.net peer online 100.64.0.1\nend 0\n";
    cr_assert_eq(parse_rc(t, strlen(t)), -EINVAL);
    t = "tsrun-names 1\nnode a.x.ts.net peer online 100.64.0.1\nend -1\n";
    cr_assert_eq(parse_rc(t, strlen(t)), -EINVAL);
    t = "tsrun-names 1\nnode a.x.ts.net peer online 100.64.0.1\nend 1x\n";
    cr_assert_eq(parse_rc(t, strlen(t)), -EINVAL);
    t = "tsrun-names 1\nnode a.x.ts.net peer online 100.64.0.1\nend\n";
    cr_assert_eq(parse_rc(t, strlen(t)), -EINVAL);
}

Test(names_parse, data_after_end)
{
    const char *t = "tsrun-names 1\nend 0\nnode a.x.ts.net peer online 100.64.0.1\n";
    cr_assert_eq(parse_rc(t, strlen(t)), -EINVAL);
    t = "tsrun-names 1\nend 0\nend 0\n";
    cr_assert_eq(parse_rc(t, strlen(t)), -EINVAL);
    t = "tsrun-names 1\nend 0\n# comment\n";
    cr_assert_eq(parse_rc(t, strlen(t)), -EINVAL);
    t = "tsrun-names 1\nend 0\n\n \t\n";
    cr_assert_eq(parse_rc(t, strlen(t)), 0, "blank lines after end are fine");
    char exact[32];
    memcpy(exact, "tsrun-names 1\nend 0\n   ", 23); /* no NUL after the spaces */
    memset(exact + 23, 'x', sizeof exact - 23);
    cr_assert_eq(parse_rc(exact, 23), 0);
}

Test(names_parse, comments_blank_lines_unknown_keywords)
{
    struct names_map *m = parse_ok("tsrun-names 1\n"
                                   "# a comment\n"
                                   "\n"
                                   "   \n"
                                   "future-keyword with some args\n"
                                   "node a.x.ts.net peer online 100.64.0.1\n"
                                   "#node b.x.ts.net peer online 100.64.0.2\n"
                                   "end 1\n");
    cr_assert_eq(names_map_count(m), 1);
    cr_assert_eq(names_map_lookup(m, "a", NULL), NAMES_FOUND);
    cr_assert_eq(names_map_lookup(m, "b", NULL), NAMES_NOT_TAILNET);
    names_map_free(m);
}

Test(names_parse, oversized_lines)
{
    char *t = malloc(4096);
    /* A 1024-byte comment line is fine, 1025 is not. */
    for (int extra = 0; extra < 2; extra++) {
        size_t n = (size_t)sprintf(t, "tsrun-names 1\n#");
        memset(t + n, 'x', 1023 + (size_t)extra);
        n += 1023 + (size_t)extra;
        n += (size_t)sprintf(t + n, "\nend 0\n");
        cr_assert_eq(parse_rc(t, n), extra ? -E2BIG : 0, "extra=%d", extra);
    }
    /* An over-long line at the very end (no newline). */
    size_t n = (size_t)sprintf(t, "tsrun-names 1\nend 0\n");
    cr_assert_eq(parse_rc(t, n), 0);
    free(t);
}

Test(names_parse, oversized_file_and_node_count)
{
    size_t cap = NAMES_MAX_TEXT + 2;
    char *t = malloc(cap);
    memset(t, '#', cap);
    cr_assert_eq(parse_rc(t, NAMES_MAX_TEXT + 1), -E2BIG);
    /* 10,000 nodes parse (issue 12 kind 8: 4,097 used to be refused);
     * NAMES_MAX_NODES + 1 do not. */
    static const unsigned counts[] = {10000, NAMES_MAX_NODES + 1};
    for (int over = 0; over < 2; over++) {
        size_t n = (size_t)sprintf(t, "tsrun-names 1\nsuffix big.ts.net\n");
        unsigned count = counts[over];
        for (unsigned i = 0; i < count; i++)
            n += (size_t)sprintf(t + n, "node n%u.big.ts.net peer online 100.%u.%u.%u\n",
                                 i, 64 + i / 65536, (i / 256) % 256, i % 256);
        n += (size_t)sprintf(t + n, "end %u\n", count);
        cr_assert_lt(n, cap);
        struct names_map *m = NULL;
        int rc = names_parse(t, n, &m, err, sizeof err);
        if (over) {
            cr_assert_eq(rc, -E2BIG, "%s", err);
            continue;
        }
        cr_assert_eq(rc, 0, "%s", err);
        cr_assert_eq(names_map_count(m), 10000);
        struct names_entry e;
        cr_assert_eq(names_map_lookup(m, "n9999", &e), NAMES_FOUND);
        cr_assert_str_eq(e.fqdn, "n9999.big.ts.net");
        cr_assert_eq(names_map_lookup(m, "n4097", &e), NAMES_FOUND);
        cr_assert_eq(names_map_lookup(m, "N17.BIG.TS.NET.", &e), NAMES_FOUND);
        cr_assert_str_eq(e.fqdn, "n17.big.ts.net");
        uint8_t a[16];
        v4("100.64.39.15", a); /* 9999 = 39 * 256 + 15 */
        cr_assert(names_map_lookup_addr(m, AF_INET, a, &e));
        cr_assert_str_eq(e.fqdn, "n9999.big.ts.net");
        cr_assert_eq(names_map_lookup(m, "n10000", NULL), NAMES_NOT_TAILNET);
        names_map_free(m);
    }
    free(t);
}

Test(names_parse, duplicate_names_first_wins)
{
    struct names_map *m = parse_ok("tsrun-names 1\n"
                                   "node db.x.ts.net peer online 100.64.0.1\n"
                                   "node DB.x.ts.net peer offline 100.64.0.2\n"
                                   "node db.other.ts.net peer online 100.64.0.3\n"
                                   "end 3\n");
    struct names_entry e;
    cr_assert_eq(names_map_lookup(m, "db.x.ts.net", &e), NAMES_FOUND);
    cr_assert_eq(e.state, NAMES_ONLINE);
    cr_assert_eq(e.addr[0].bytes[3], 1);
    cr_assert_eq(names_map_lookup(m, "db", &e), NAMES_FOUND);
    cr_assert_eq(e.addr[0].bytes[3], 1);
    cr_assert_eq(names_map_lookup(m, "db.other.ts.net", &e), NAMES_FOUND);
    cr_assert_eq(e.addr[0].bytes[3], 3);
    /* The shadowed node's own address still maps back to it. */
    uint8_t a[16];
    v4("100.64.0.2", a);
    cr_assert(names_map_lookup_addr(m, AF_INET, a, &e));
    cr_assert_eq(e.state, NAMES_OFFLINE);
    names_map_free(m);
}

Test(names_parse, ipv6_only_node_and_many_addrs)
{
    struct names_map *m = parse_ok(
        "tsrun-names 1\n"
        "node six.x.ts.net peer online fd7a:115c:a1e0:efe3::1\n"
        "node eight.x.ts.net peer online 100.64.0.1 100.64.0.2 100.64.0.3 100.64.0.4 "
        "fd7a:115c:a1e0::1 fd7a:115c:a1e0::2 fd7a:115c:a1e0::3 fd7a:115c:a1e0::4\n"
        "end 2\n");
    struct names_entry e;
    cr_assert_eq(names_map_lookup(m, "six", &e), NAMES_FOUND);
    cr_assert_eq(e.naddrs, 1);
    cr_assert_eq(e.addr[0].family, AF_INET6);
    cr_assert_eq(names_map_lookup(m, "eight", &e), NAMES_FOUND);
    cr_assert_eq(e.naddrs, 8);
    uint8_t a[16];
    v6("fd7a:115c:a1e0::4", a);
    cr_assert(names_map_lookup_addr(m, AF_INET6, a, &e));
    cr_assert_str_eq(e.fqdn, "eight.x.ts.net");
    names_map_free(m);
}

Test(names_parse, more_than_eight_addrs_skips_that_node)
{
    const char *t = "tsrun-names 1\n"
                    "node nine.x.ts.net peer online 100.64.0.1 100.64.0.2 100.64.0.3 "
                    "100.64.0.4 100.64.0.5 100.64.0.6 100.64.0.7 100.64.0.8 100.64.0.9\n"
                    "node ok.x.ts.net peer online 100.64.1.1\n"
                    "end 2\n";
    struct names_map *m = parse_ok(t);
    cr_assert(strstr(err, "skipped 1 malformed node line(s); first: line 2: node line has "
                          "more than 8 addresses") != NULL, "%s", err);
    cr_assert_eq(names_map_count(m), 1);
    cr_assert_eq(names_map_lookup(m, "nine", NULL), NAMES_NOT_TAILNET);
    cr_assert_eq(names_map_lookup(m, "nine.x.ts.net", NULL), NAMES_MISSING);
    cr_assert_eq(names_map_lookup(m, "ok", NULL), NAMES_FOUND);
    uint8_t a[16];
    v4("100.64.0.1", a);
    cr_assert_not(names_map_lookup_addr(m, AF_INET, a, NULL));
    names_map_free(m);
    /* The skipped line still counts: "end 1" is a wrong count. */
    const char *u = "tsrun-names 1\n"
                    "node nine.x.ts.net peer online 100.64.0.1 100.64.0.2 100.64.0.3 "
                    "100.64.0.4 100.64.0.5 100.64.0.6 100.64.0.7 100.64.0.8 100.64.0.9\n"
                    "end 0\n";
    cr_assert_eq(parse_rc(u, strlen(u)), -EINVAL);
}

Test(names_parse, malformed_node_lines_after_the_good_ones)
{
    /* Found by fuzzing: skipped lines after the last kept one. */
    struct names_map *m = parse_ok("tsrun-names 1\n"
                                   "node a.x.ts.net peer online 100.64.0.1\n"
                                   "node b.x.ts.net peer online 100.64.0.300\n"
                                   "node c.x.ts.net peer sleeping 100.64.0.3\n"
                                   "end 3\n");
    cr_assert_eq(names_map_count(m), 1);
    cr_assert(strstr(err, "skipped 2 malformed") != NULL, "%s", err);
    names_map_free(m);
}

Test(names_parse, good_file_reports_nothing_skipped)
{
    struct names_map *m = parse_ok(GOOD);
    cr_assert_str_eq(err, "");
    names_map_free(m);
}

Test(names_parse, bad_node_lines_are_skipped)
{
    const char *bad[] = {
        "node db.x.ts.net peer online\n",                /* no address */
        "node db.x.ts.net peer online db.x.ts.net\n",    /* name as address */
        "node db.x.ts.net peer online 100.64.0.256\n",   /* bad v4 */
        "node db.x.ts.net peer online fd7a::1::2\n",     /* bad v6 */
        "node db.x.ts.net friend online 100.64.0.1\n",   /* bad role */
        "node db.x.ts.net peer maybe 100.64.0.1\n",      /* bad state */
        "node db..x.ts.net peer online 100.64.0.1\n",    /* empty label */
        "node .db.x.ts.net peer online 100.64.0.1\n",    /* empty label */
        "node db/x peer online 100.64.0.1\n",            /* bad char */
        "node db.x.ts.net\n",                            /* short line */
        "node db.x.ts.net peer online 100.64.0.1 ::ffff:zz\n", /* one bad of two */
    };
    char t[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* The bad line is skipped, the good one after it kept. */
        int n = snprintf(t, sizeof t,
                         "tsrun-names 1\n%snode web.x.ts.net peer online 100.64.0.7\nend 2\n",
                         bad[i]);
        struct names_map *m = NULL;
        cr_assert_eq(names_parse(t, (size_t)n, &m, err, sizeof err), 0, "%s: %s", bad[i], err);
        cr_assert(strstr(err, "skipped 1 malformed node line(s); first: line 2: ") != NULL,
                  "%s: %s", bad[i], err);
        cr_assert_eq(names_map_count(m), 1, "%s", bad[i]);
        cr_assert_eq(names_map_lookup(m, "db", NULL), NAMES_NOT_TAILNET, "%s", bad[i]);
        cr_assert_eq(names_map_lookup(m, "web", NULL), NAMES_FOUND, "%s", bad[i]);
        names_map_free(m);
    }
}

Test(names_parse, bad_suffix_lines_invalidate)
{
    const char *bad[] = {
        "suffix\n",                   /* no suffix */
        "suffix a..b\n",              /* bad suffix */
        "suffix a.ts.net b.ts.net\n", /* two words */
        "suffix a.ts.net\nsuffix b.ts.net\n",
    };
    char t[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = snprintf(t, sizeof t, "tsrun-names 1\n%send 0\n", bad[i]);
        cr_assert_eq(parse_rc(t, (size_t)n), -EINVAL, "accepted: %s", bad[i]);
    }
}

Test(names_parse, long_label_and_name)
{
    char t[1024], name[300];
    memset(name, 'a', 63);
    strcpy(name + 63, ".x.ts.net");
    int n = snprintf(t, sizeof t, "tsrun-names 1\nnode %s peer online 100.64.0.1\nend 1\n", name);
    cr_assert_eq(parse_rc(t, (size_t)n), 0, "%s", err);
    memset(name, 'a', 64);
    strcpy(name + 64, ".x.ts.net");
    n = snprintf(t, sizeof t, "tsrun-names 1\nnode %s peer online 100.64.0.1\nend 1\n", name);
    struct names_map *m = parse_ok(t);
    cr_assert_eq(names_map_count(m), 0, "64-byte label skipped");
    names_map_free(m);
    /* 254 bytes: over the DNS limit. */
    name[0] = '\0';
    while (strlen(name) < 254 - 8)
        strcat(name, "abcdefg.");
    strcat(name, "x.ts.net");
    name[254] = '\0';
    n = snprintf(t, sizeof t, "tsrun-names 1\nnode %s peer online 100.64.0.1\nend 1\n", name);
    m = parse_ok(t);
    cr_assert_eq(names_map_count(m), 0, "254-byte name skipped");
    names_map_free(m);
    /* 253 bytes: fine. */
    name[253] = '\0';
    if (name[252] == '.')
        name[252] = 'a';
    n = snprintf(t, sizeof t, "tsrun-names 1\nnode %s peer online 100.64.0.1\nend 1\n", name);
    m = parse_ok(t);
    cr_assert_eq(names_map_count(m), 1, "253-byte name kept");
    cr_assert_eq(names_map_lookup(m, name, NULL), NAMES_FOUND);
    names_map_free(m);
}

Test(names_parse, garbage)
{
    unsigned char buf[2048];
    unsigned seed = 12345;
    for (int round = 0; round < 200; round++) {
        size_t n = 0;
        n += (size_t)sprintf((char *)buf, "%s", round % 2 ? "tsrun-names 1\n" : "");
        for (; n < sizeof buf; n++) {
            seed = seed * 1103515245u + 12345u;
            buf[n] = (unsigned char)(seed >> 16);
        }
        struct names_map *m = NULL;
        int rc = names_parse((const char *)buf, n, &m, err, sizeof err);
        cr_assert_neq(rc, 0);
        cr_assert_null(m);
    }
    const char nul[] = "tsrun-names 1\nend 0\0\n";
    cr_assert_eq(parse_rc(nul, sizeof nul - 1), -EINVAL);
}

Test(names_parse, crlf_is_not_the_header)
{
    const char *t = "tsrun-names 1\r\nend 0\r\n";
    cr_assert_eq(parse_rc(t, strlen(t)), -EINVAL);
}

Test(names_parse, fqdn_trailing_dot_and_case_normalised)
{
    struct names_map *m = parse_ok("tsrun-names 1\nsuffix Tail.TS.net.\n"
                                   "node Web.Tail.TS.net. peer online 100.64.0.9\nend 1\n");
    struct names_entry e;
    cr_assert_str_eq(names_map_suffix(m), "tail.ts.net");
    cr_assert_eq(names_map_lookup(m, "WEB", &e), NAMES_FOUND);
    cr_assert_str_eq(e.fqdn, "web.tail.ts.net");
    names_map_free(m);
}

/* ------------------------------------------------------------ matching */

Test(names_match, exact_short_case_trailing_dot)
{
    struct names_map *m = parse_ok(GOOD);
    const char *found[] = {"db", "DB", "Db.", "db.tail1a2b3.ts.net", "DB.TAIL1A2B3.TS.NET",
                           "db.tail1a2b3.ts.net.", "sandbox-1", "old.tail1a2b3.ts.net"};
    for (size_t i = 0; i < sizeof found / sizeof found[0]; i++) {
        struct names_entry e;
        cr_assert_eq(names_map_lookup(m, found[i], &e), NAMES_FOUND, "%s", found[i]);
    }
    names_map_free(m);
}

Test(names_match, suffix_edges)
{
    struct names_map *m = parse_ok(GOOD);
    struct {
        const char *name;
        enum names_verdict v;
    } cases[] = {
        {"web.tail1a2b3.ts.net", NAMES_MISSING},
        {"WEB.TAIL1A2B3.TS.NET.", NAMES_MISSING},
        {"a.b.tail1a2b3.ts.net", NAMES_MISSING},
        {"tail1a2b3.ts.net", NAMES_MISSING},        /* the tailnet apex */
        {"other.tailffff.ts.net", NAMES_MISSING},   /* any *.ts.net */
        {"x.ts.net", NAMES_MISSING},
        {"X.TS.NET", NAMES_MISSING},
        {"x.ts.net.", NAMES_MISSING},
        {"x..ts.net", NAMES_MISSING},
        {".ts.net", NAMES_MISSING},
        {"x.ts.net..", NAMES_MISSING},
        {"db..", NAMES_MISSING},                    /* malformed tailnet name */
        {"ts.net", NAMES_NOT_TAILNET},              /* the public apex */
        {"ts.net.", NAMES_NOT_TAILNET},
        {"evil-ts.net", NAMES_NOT_TAILNET},
        {"xts.net", NAMES_NOT_TAILNET},
        {"ts.net.attacker.com", NAMES_NOT_TAILNET},
        {"db.tail1a2b3.ts.net.attacker.com", NAMES_NOT_TAILNET},
        {"evil-tail1a2b3.ts.net", NAMES_MISSING},   /* still under ts.net */
        {"ts.network", NAMES_NOT_TAILNET},
        {"example.com", NAMES_NOT_TAILNET},
        {"dbx", NAMES_NOT_TAILNET},
        {"d", NAMES_NOT_TAILNET},
        {"db.tail1a2b3", NAMES_NOT_TAILNET},
        {"db.example.com", NAMES_NOT_TAILNET},
        {"localhost", NAMES_NOT_TAILNET},
        {"", NAMES_NOT_TAILNET},
        {".", NAMES_NOT_TAILNET},
        {"100.88.12.5", NAMES_NOT_TAILNET},
        {"fd7a:115c:a1e0::d401:c05", NAMES_NOT_TAILNET},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_eq(names_map_lookup(m, cases[i].name, NULL), cases[i].v, "%s",
                     cases[i].name);
    names_map_free(m);
}

Test(names_match, custom_suffix)
{
    struct names_map *m = parse_ok("tsrun-names 1\nsuffix corp.example\n"
                                   "node db.corp.example peer online 100.64.0.1\nend 1\n");
    cr_assert_eq(names_map_lookup(m, "db.corp.example", NULL), NAMES_FOUND);
    cr_assert_eq(names_map_lookup(m, "db", NULL), NAMES_FOUND);
    cr_assert_eq(names_map_lookup(m, "web.corp.example", NULL), NAMES_MISSING);
    cr_assert_eq(names_map_lookup(m, "corp.example", NULL), NAMES_MISSING);
    cr_assert_eq(names_map_lookup(m, "evilcorp.example", NULL), NAMES_NOT_TAILNET);
    cr_assert_eq(names_map_lookup(m, "corp.example.com", NULL), NAMES_NOT_TAILNET);
    cr_assert_eq(names_map_lookup(m, "example", NULL), NAMES_NOT_TAILNET);
    names_map_free(m);
}

Test(names_match, no_map_still_guards_ts_net)
{
    cr_assert_eq(names_map_lookup(NULL, "db.tail1a2b3.ts.net", NULL), NAMES_MISSING);
    cr_assert_eq(names_map_lookup(NULL, "db", NULL), NAMES_NOT_TAILNET);
    cr_assert_eq(names_map_lookup(NULL, "example.com", NULL), NAMES_NOT_TAILNET);
    uint8_t a[16];
    v4("100.88.12.5", a);
    cr_assert_not(names_map_lookup_addr(NULL, AF_INET, a, NULL));
}

Test(names_match, long_names)
{
    struct names_map *m = parse_ok(GOOD);
    char name[400];
    /* 300 bytes under ts.net: a tailnet name, absent. */
    memset(name, 'a', sizeof name);
    for (size_t i = 50; i < 290; i += 50)
        name[i] = '.';
    strcpy(name + 293, ".ts.net");
    cr_assert_eq(strlen(name), 300);
    cr_assert_eq(names_map_lookup(m, name, NULL), NAMES_MISSING);
    /* 300 bytes elsewhere: not ours. */
    strcpy(name + 293, ".ex.com");
    cr_assert_eq(names_map_lookup(m, name, NULL), NAMES_NOT_TAILNET);
    /* 255 bytes that start like a map name. */
    memset(name, 'b', 255);
    memcpy(name, "db.", 3);
    name[255] = '\0';
    cr_assert_eq(names_map_lookup(m, name, NULL), NAMES_NOT_TAILNET);
    /* A map name padded with 250 trailing dots. */
    strcpy(name, "db.tail1a2b3.ts.net");
    size_t l = strlen(name);
    memset(name + l, '.', 250);
    name[l + 250] = '\0';
    cr_assert_eq(names_map_lookup(m, name, NULL), NAMES_MISSING);
    names_map_free(m);
}

Test(names_match, reverse)
{
    struct names_map *m = parse_ok(GOOD);
    struct names_entry e;
    uint8_t a[16];
    v4("100.88.12.5", a);
    cr_assert(names_map_lookup_addr(m, AF_INET, a, &e));
    cr_assert_str_eq(e.fqdn, "db.tail1a2b3.ts.net");
    v6("fd7a:115c:a1e0::d401:c05", a);
    cr_assert(names_map_lookup_addr(m, AF_INET6, a, &e));
    cr_assert_str_eq(e.fqdn, "db.tail1a2b3.ts.net");
    v6("::ffff:100.77.1.2", a);
    cr_assert(names_map_lookup_addr(m, AF_INET6, a, &e));
    cr_assert_str_eq(e.fqdn, "old.tail1a2b3.ts.net");
    cr_assert_eq(e.state, NAMES_OFFLINE);
    v4("100.99.99.99", a);
    cr_assert_not(names_map_lookup_addr(m, AF_INET, a, &e));
    cr_assert_not(names_map_lookup_addr(m, AF_UNIX, a, &e));
    names_map_free(m);
}

/* ------------------------------------------------------------ helpers */

Test(names_helpers, trivially_not_tailnet)
{
    const char *yes[] = {NULL, "", "127.0.0.1", "100.88.12.5", "1", "127.1",
                         "::1", "fd7a::1", "[::1]", "localhost", "LOCALHOST.",
                         "a.localhost", "x.y.localhost"};
    const char *no[] = {"db", "db.tail1a2b3.ts.net", "0x64.1.2.3", "a1", "localhostx",
                        "notlocalhost", "localhost.example"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        cr_assert(names_trivially_not_tailnet(yes[i]), "%s", yes[i] ? yes[i] : "NULL");
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        cr_assert_not(names_trivially_not_tailnet(no[i]), "%s", no[i]);
}

Test(names_helpers, tailscale_ranges)
{
    uint8_t a[16];
    struct {
        const char *s;
        bool want;
    } c[] = {
        {"100.64.0.0", true},  {"100.127.255.255", true}, {"100.88.12.5", true},
        {"100.63.255.255", false}, {"100.128.0.0", false}, {"10.0.0.1", false},
        {"fd7a:115c:a1e0::1", true}, {"fd7a:115c:a1e1::1", false}, {"::ffff:100.64.1.1", true},
        {"::ffff:10.0.0.1", false}, {"::1", false},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int af = strchr(c[i].s, ':') ? AF_INET6 : AF_INET;
        memset(a, 0, sizeof a);
        cr_assert_eq(inet_pton(af, c[i].s, a), 1);
        cr_assert_eq(names_is_tailscale_addr(af, a), c[i].want, "%s", c[i].s);
    }
}

Test(names_helpers, short_name)
{
    char out[NAMES_MAX_NAME];
    names_short("db.tail1a2b3.ts.net", out);
    cr_assert_str_eq(out, "db");
    names_short("single", out);
    cr_assert_str_eq(out, "single");
}

Test(names_helpers, hostent_layout_and_erange)
{
    struct names_addr addrs[3] = {{.family = AF_INET, .bytes = {100, 88, 12, 5}},
                                  {.family = AF_INET6, .bytes = {0xfd, 0x7a}},
                                  {.family = AF_INET, .bytes = {100, 88, 12, 6}}};
    char buf[512];
    struct hostent h;
    cr_assert_eq(names_hostent("db.x.ts.net", "db", AF_INET, addrs, 3, &h, buf + 1,
                               sizeof buf - 1), 0);
    cr_assert_str_eq(h.h_name, "db.x.ts.net");
    cr_assert_str_eq(h.h_aliases[0], "db");
    cr_assert_null(h.h_aliases[1]);
    cr_assert_eq(h.h_addrtype, AF_INET);
    cr_assert_eq(h.h_length, 4);
    cr_assert_eq((unsigned char)h.h_addr_list[0][3], 5);
    cr_assert_eq((unsigned char)h.h_addr_list[1][3], 6);
    cr_assert_null(h.h_addr_list[2]);
    cr_assert_eq((uintptr_t)h.h_addr_list % sizeof(char *), 0);

    cr_assert_eq(names_hostent("db.x.ts.net", NULL, AF_INET6, addrs, 3, &h, buf,
                               sizeof buf), 0);
    cr_assert_null(h.h_aliases[0]);
    cr_assert_eq(h.h_length, 16);
    cr_assert_null(h.h_addr_list[1]);

    cr_assert_eq(names_hostent("db", NULL, AF_INET6, addrs, 1, &h, buf, sizeof buf),
                 -ENOENT);
    /* Every size below the minimum is ERANGE, the minimum works. */
    size_t min = 0;
    for (size_t n = 0; n < sizeof buf; n++) {
        int rc = names_hostent("db.x.ts.net", "db", AF_INET, addrs, 3, &h, buf, n);
        if (rc == 0) {
            min = n;
            break;
        }
        cr_assert_eq(rc, -ERANGE);
    }
    cr_assert_gt(min, 0);
}

/* ------------------------------------------------------------ backend state */

Test(names_parse, backend_state)
{
    struct names_map *m = parse_ok("tsrun-names 1\nbackend NeedsLogin\nend 0\n");
    cr_assert_str_eq(names_map_backend(m), "NeedsLogin");
    names_map_free(m);

    /* Absent: the map says nothing (the shim assumes Running). */
    m = parse_ok("tsrun-names 1\nend 0\n");
    cr_assert_str_eq(names_map_backend(m), "");
    names_map_free(m);

    /* Malformed or oversized: ignored like an unknown keyword. */
    m = parse_ok("tsrun-names 1\nbackend Needs-Login\nend 0\n");
    cr_assert_str_eq(names_map_backend(m), "");
    names_map_free(m);
    m = parse_ok("tsrun-names 1\nbackend AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nend 0\n");
    cr_assert_str_eq(names_map_backend(m), "");
    names_map_free(m);
}

/* --- version 2 images (common/namemap_format.c) --- */

static size_t build_image(void **out)
{
    struct nm_node_in n[2] = {
        {.fqdn = "db.t.ts.net", .fqdn_len = 11, .role = NM_ROLE_PEER, .state = NAMES_ONLINE,
         .naddrs = 1, .addr = {{.family = AF_INET, .bytes = {100, 64, 0, 1}}}},
        {.fqdn = "web.t.ts.net.", .fqdn_len = 13, .role = NM_ROLE_PEER, .state = NAMES_OFFLINE,
         .naddrs = 1, .addr = {{.family = AF_INET, .bytes = {100, 64, 0, 2}}}},
    };
    struct nm_meta meta = {.backend = "Running", .suffix = "t.ts.net", .version = "1.2.3"};
    size_t size = nm_image_size(n, 2, &meta);
    cr_assert_gt(size, 0);
    cr_assert_eq(posix_memalign(out, 8, size), 0);
    cr_assert_eq(nm_image_build(n, 2, &meta, *out, size), 2);
    return size;
}

Test(names_image, round_trip_and_truncation)
{
    void *img;
    size_t size = build_image(&img);
    struct names_map *m = NULL;
    struct names_entry e;
    cr_assert_eq(names_parse(img, size, &m, err, sizeof err), 0, "%s", err);
    cr_assert_eq(names_map_lookup(m, "web", &e), NAMES_FOUND);
    cr_assert_eq(e.state, NAMES_OFFLINE);
    cr_assert_eq(names_map_lookup(m, "x.t.ts.net", &e), NAMES_MISSING);
    names_map_free(m);
    /* Every shorter length is refused whole (truncated file). */
    for (size_t len = 0; len < size; len += 7) {
        m = NULL;
        cr_assert_lt(names_parse(img, len, &m, err, sizeof err), 0, "len %zu", len);
        cr_assert_null(m);
    }
    free(img);
}

/* Any single corrupted byte: no crash, no read outside the image (the image
 * sits right before a guard page), answers may only shrink. */
Test(names_image, corrupted_bytes_are_bounded)
{
    void *img;
    size_t size = build_image(&img);
    uint8_t *b = img;
    static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    for (size_t i = 0; i < size; i++) {
        uint8_t keep = b[i];
        for (size_t v = 0; v < sizeof vals; v++) {
            b[i] = vals[v];
            struct names_map *m = NULL;
            struct names_entry e;
            if (names_parse(img, size, &m, err, sizeof err) == 0) {
                (void)names_map_lookup(m, "db", &e);
                (void)names_map_lookup(m, "web.t.ts.net", &e);
                uint8_t a[4] = {100, 64, 0, 2};
                (void)names_map_lookup_addr(m, AF_INET, a, &e);
                names_map_free(m);
            }
        }
        b[i] = keep;
    }
    free(img);
}
