/* SOCKS5 client messages (shim/socks5.c) and the errno table
 * (socks5_reply_errno in common/socks5_errno.c): exact bytes, every reply shape. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "socks5.h"
#include "socks5_errno.h"
#include "tunnel.h"

static void addr16_of(const char *text, uint8_t out[16])
{
    struct in_addr v4;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return;
    }
    cr_assert_eq(inet_pton(AF_INET6, text, out), 1, "bad test address %s", text);
}

static void assert_bytes(const uint8_t *got, size_t gotlen, const uint8_t *want,
                         size_t wantlen)
{
    cr_assert_eq(gotlen, wantlen, "length %zu, want %zu", gotlen, wantlen);
    for (size_t i = 0; i < wantlen; i++)
        cr_assert_eq(got[i], want[i], "byte %zu: 0x%02x, want 0x%02x", i, got[i], want[i]);
}

/* ------------------------------------------------------------ encoding */

Test(socks5_encode, ipv4_exact_bytes)
{
    uint8_t a[16], out[SOCKS5_REQUEST_MAX];
    addr16_of("100.88.12.5", a);
    size_t n = socks5_encode_connect(out, a, 80);
    static const uint8_t want[] = {0x05, 0x01, 0x00,                   /* greeting */
                                   0x05, 0x01, 0x00, 0x01,             /* CONNECT, ATYP 1 */
                                   100,  88,   12,   5,    0x00, 0x50}; /* addr, port 80 */
    assert_bytes(out, n, want, sizeof want);
    cr_assert_eq(n, 13);
}

Test(socks5_encode, ipv6_exact_bytes)
{
    uint8_t a[16], out[SOCKS5_REQUEST_MAX];
    addr16_of("fd7a:115c:a1e0::d401:c05", a);
    size_t n = socks5_encode_connect(out, a, 0x1cec);
    static const uint8_t want[] = {0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x04, /* ATYP 4 */
                                   0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0xd4, 0x01, 0x0c, 0x05,
                                   0x1c, 0xec};
    assert_bytes(out, n, want, sizeof want);
    cr_assert_eq(n, SOCKS5_REQUEST_MAX);
}

Test(socks5_encode, v4_mapped_goes_out_as_atyp1)
{
    uint8_t a[16], out[SOCKS5_REQUEST_MAX];
    addr16_of("::ffff:100.101.7.42", a);
    size_t n = socks5_encode_connect(out, a, 65535);
    static const uint8_t want[] = {0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x01,
                                   100,  101,  7,    42,   0xff, 0xff};
    assert_bytes(out, n, want, sizeof want);
}

Test(socks5_encode, almost_mapped_stays_ipv6)
{
    /* ::fffe:... and ::ffff:0:... are not v4-mapped: ATYP 4, all 16 bytes. */
    uint8_t a[16], out[SOCKS5_REQUEST_MAX];
    addr16_of("::fffe:6458:c05", a);
    cr_assert_eq(socks5_encode_connect(out, a, 1), 25);
    cr_assert_eq(out[6], SOCKS5_ATYP_IPV6);
    cr_assert_eq(memcmp(out + 7, a, 16), 0);
    cr_assert_eq(out[23], 0);
    cr_assert_eq(out[24], 1);
}

Test(socks5_encode, port_zero_and_big_endian)
{
    uint8_t a[16], out[SOCKS5_REQUEST_MAX];
    addr16_of("100.64.0.0", a);
    size_t n = socks5_encode_connect(out, a, 0);
    cr_assert_eq(out[n - 2], 0);
    cr_assert_eq(out[n - 1], 0);
    n = socks5_encode_connect(out, a, 0x0102);
    cr_assert_eq(out[n - 2], 1);
    cr_assert_eq(out[n - 1], 2);
}

/* ------------------------------------------------------------ replies */

static struct socks5_reply parse(const uint8_t *buf, size_t len, size_t *need)
{
    struct socks5_reply r;
    memset(&r, 0xaa, sizeof r); /* the parser must set every field */
    *need = socks5_parse_reply(buf, len, &r);
    return r;
}

static const uint8_t ok_v4[] = {0x05, 0x00, 0x05, 0x00, 0x00, 0x01, 100, 101, 7, 42, 0x9c, 0x40};
static const uint8_t ok_v6[] = {0x05, 0x00, 0x05, 0x00, 0x00, 0x04, 0xfd, 0x7a, 0x11,
                                0x5c, 0xa1, 0xe0, 0,    0,    0,    0,    0,    0,
                                0x6f, 0x01, 0x07, 0x2a, 0x12, 0x34};
static const uint8_t ok_name[] = {0x05, 0x00, 0x05, 0x00, 0x00, 0x03, 0x02, 'd', 'b', 0x00, 0x50};

Test(socks5_parse, success_atyp1)
{
    size_t need;
    struct socks5_reply r = parse(ok_v4, sizeof ok_v4, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_OK);
    cr_assert_eq(r.rep, 0);
    cr_assert_eq(r.atyp, SOCKS5_ATYP_IPV4);
    cr_assert_eq(r.length, 12);
}

Test(socks5_parse, success_atyp4)
{
    size_t need;
    struct socks5_reply r = parse(ok_v6, sizeof ok_v6, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_OK);
    cr_assert_eq(r.atyp, SOCKS5_ATYP_IPV6);
    cr_assert_eq(r.length, 24);
}

Test(socks5_parse, success_atyp3)
{
    size_t need;
    struct socks5_reply r = parse(ok_name, sizeof ok_name, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_OK);
    cr_assert_eq(r.atyp, SOCKS5_ATYP_DOMAIN);
    cr_assert_eq(r.length, 11);
}

Test(socks5_parse, success_atyp3_longest_name_fits_reply_max)
{
    uint8_t buf[SOCKS5_REPLY_MAX] = {0x05, 0x00, 0x05, 0x00, 0x00, 0x03, 255};
    size_t need;
    struct socks5_reply r = parse(buf, 7, &need);
    cr_assert_eq(need, SOCKS5_REPLY_MAX);
    r = parse(buf, SOCKS5_REPLY_MAX, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_OK);
    cr_assert_eq(r.length, SOCKS5_REPLY_MAX);
}

Test(socks5_parse, app_bytes_after_reply_are_not_counted)
{
    uint8_t buf[sizeof ok_v4 + 5];
    memcpy(buf, ok_v4, sizeof ok_v4);
    memcpy(buf + sizeof ok_v4, "HELLO", 5);
    size_t need;
    struct socks5_reply r = parse(buf, sizeof buf, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_OK);
    cr_assert_eq(r.length, 12);
}

/* Every prefix of a complete reply asks for more, and for the right amount. */
static void check_truncations(const uint8_t *buf, size_t full, const size_t *want_need)
{
    for (size_t len = 0; len < full; len++) {
        size_t need;
        parse(buf, len, &need);
        cr_assert_eq(need, want_need[len], "len %zu: need %zu, want %zu", len, need,
                     want_need[len]);
        cr_assert_gt(need, len, "len %zu: need must exceed what we have", len);
    }
}

Test(socks5_parse, truncated_atyp1_every_length)
{
    size_t want[12];
    for (size_t i = 0; i < 12; i++)
        want[i] = i < 2 ? 2 : i < 6 ? 6 : 12;
    check_truncations(ok_v4, sizeof ok_v4, want);
}

Test(socks5_parse, truncated_atyp4_every_length)
{
    size_t want[24];
    for (size_t i = 0; i < 24; i++)
        want[i] = i < 2 ? 2 : i < 6 ? 6 : 24;
    check_truncations(ok_v6, sizeof ok_v6, want);
}

Test(socks5_parse, truncated_atyp3_every_length)
{
    size_t want[11];
    for (size_t i = 0; i < 11; i++)
        want[i] = i < 2 ? 2 : i < 6 ? 6 : i < 7 ? 7 : 11;
    check_truncations(ok_name, sizeof ok_name, want);
}

Test(socks5_parse, atyp3_empty_name)
{
    static const uint8_t buf[] = {0x05, 0x00, 0x05, 0x00, 0x00, 0x03, 0x00, 0x00, 0x50};
    size_t need;
    struct socks5_reply r = parse(buf, sizeof buf, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_OK);
    cr_assert_eq(r.length, 9);
}

Test(socks5_parse, each_rep_code_full_reply)
{
    for (unsigned rep = 1; rep <= 0xff; rep++) {
        uint8_t buf[12] = {0x05, 0x00, 0x05, (uint8_t)rep, 0x00, 0x01};
        size_t need;
        struct socks5_reply r = parse(buf, sizeof buf, &need);
        cr_assert_eq(need, 0, "rep 0x%02x", rep);
        cr_assert_eq(r.error, SOCKS5_ERR_REPLY, "rep 0x%02x", rep);
        cr_assert_eq(r.rep, rep);
        /* Decided as soon as REP is known; the rest is not consumed. */
        cr_assert_eq(r.length, 6, "rep 0x%02x", rep);
    }
}

Test(socks5_parse, failure_decided_before_bound_address)
{
    /* A failure with an unknown ATYP is still the failure. */
    static const uint8_t buf[] = {0x05, 0x00, 0x05, 0x04, 0x00, 0x09};
    size_t need;
    struct socks5_reply r = parse(buf, sizeof buf, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_ERR_REPLY);
    cr_assert_eq(r.rep, SOCKS5_REP_HOST_UNREACHABLE);
}

Test(socks5_parse, legacy_four_byte_error)
{
    /* tailscaled < 1.72: "05 01 00 01" then EOF. */
    static const uint8_t buf[] = {0x05, 0x00, 0x05, 0x01, 0x00, 0x01};
    size_t need;
    struct socks5_reply r = parse(buf, sizeof buf, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_ERR_REPLY);
    cr_assert_eq(r.rep, SOCKS5_REP_GENERAL_FAILURE);
    cr_assert_eq(r.length, 6);
}

Test(socks5_parse, wrong_version_in_method_reply)
{
    static const uint8_t buf[] = {0x04, 0x00};
    size_t need;
    struct socks5_reply r = parse(buf, sizeof buf, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_ERR_VERSION);
    /* Decided on the first two bytes: an HTTP server's "HT" too. */
    r = parse((const uint8_t *)"HTTP/1.1 400", 12, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_ERR_VERSION);
}

Test(socks5_parse, wrong_version_in_connect_reply)
{
    static const uint8_t buf[] = {0x05, 0x00, 0x04, 0x00, 0x00, 0x01, 1, 2, 3, 4, 0, 80};
    size_t need;
    struct socks5_reply r = parse(buf, sizeof buf, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_ERR_VERSION);
    cr_assert_eq(r.length, 6);
}

Test(socks5_parse, no_acceptable_method)
{
    static const uint8_t buf[] = {0x05, 0xff};
    size_t need;
    struct socks5_reply r = parse(buf, sizeof buf, &need);
    cr_assert_eq(need, 0);
    cr_assert_eq(r.error, SOCKS5_ERR_NO_METHOD);
    cr_assert_eq(r.length, 2);
}

Test(socks5_parse, unknown_method)
{
    static const uint8_t m2[] = {0x05, 0x02}, m1[] = {0x05, 0x01}, m80[] = {0x05, 0x80};
    size_t need;
    cr_assert_eq(parse(m2, 2, &need).error, SOCKS5_ERR_METHOD);
    cr_assert_eq(need, 0);
    cr_assert_eq(parse(m1, 2, &need).error, SOCKS5_ERR_METHOD);
    cr_assert_eq(parse(m80, 2, &need).error, SOCKS5_ERR_METHOD);
}

Test(socks5_parse, unknown_atyp_on_success)
{
    for (unsigned atyp = 0; atyp <= 0xff; atyp++) {
        if (atyp == 1 || atyp == 3 || atyp == 4)
            continue;
        uint8_t buf[24] = {0x05, 0x00, 0x05, 0x00, 0x00, (uint8_t)atyp};
        size_t need;
        struct socks5_reply r = parse(buf, sizeof buf, &need);
        cr_assert_eq(need, 0, "atyp %u", atyp);
        cr_assert_eq(r.error, SOCKS5_ERR_ATYP, "atyp %u", atyp);
    }
}

Test(socks5_parse, garbage_never_overreads)
{
    /* Every 6-byte prefix of pseudo-random garbage: decides or asks for more. */
    uint8_t buf[SOCKS5_REPLY_MAX];
    unsigned x = 12345;
    for (int round = 0; round < 20000; round++) {
        for (size_t i = 0; i < sizeof buf; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
        }
        if (round % 3 == 0) {
            buf[0] = 5;
            buf[1] = 0;
            buf[2] = 5;
        }
        size_t len = (size_t)(x >> 8) % sizeof buf, need;
        struct socks5_reply r = parse(buf, len, &need);
        if (need != 0) {
            cr_assert_gt(need, len);
            cr_assert_leq(need, SOCKS5_REPLY_MAX);
        } else {
            cr_assert_leq(r.length, len);
        }
    }
}

Test(socks5_names, error_and_rep_names)
{
    cr_assert_str_eq(socks5_error_name(SOCKS5_OK), "ok");
    cr_assert_str_eq(socks5_rep_name(0x05), "connection refused");
    cr_assert_str_eq(socks5_rep_name(0x08), "address type not supported");
    cr_assert_str_eq(socks5_rep_name(0x09), "unassigned reply code");
    cr_assert_str_eq(socks5_rep_name(0xff), "unassigned reply code");
    cr_assert_str_eq(socks5_error_name(SOCKS5_ERR_NO_METHOD), "proxy requires authentication (05 FF)");
}

/* ------------------------------------------------------------ errno table */

static int errno_for_rep(uint8_t rep, long long ms)
{
    struct socks5_reply r = {.error = SOCKS5_ERR_REPLY, .rep = rep, .atyp = 1, .length = 6};
    return socks5_reply_errno(&r, ms);
}

Test(tunnel_errno, table)
{
    cr_assert_eq(errno_for_rep(0x01, 0), ECONNREFUSED);
    cr_assert_eq(errno_for_rep(0x02, 0), EACCES);
    cr_assert_eq(errno_for_rep(0x03, 0), ENETUNREACH);
    cr_assert_eq(errno_for_rep(0x04, 0), EHOSTUNREACH);
    cr_assert_eq(errno_for_rep(0x05, 0), ECONNREFUSED);
    cr_assert_eq(errno_for_rep(0x06, 0), ETIMEDOUT);
    cr_assert_eq(errno_for_rep(0x07, 0), EOPNOTSUPP);
    cr_assert_eq(errno_for_rep(0x08, 0), EAFNOSUPPORT);
    cr_assert_eq(errno_for_rep(0x09, 0), ECONNREFUSED);
    cr_assert_eq(errno_for_rep(0xff, 0), ECONNREFUSED);
}

Test(tunnel_errno, general_failure_4500ms_boundary)
{
    cr_assert_eq(SOCKS5_SLOW_FAILURE_MS, 4500);
    cr_assert_eq(errno_for_rep(0x01, 4499), ECONNREFUSED);
    cr_assert_eq(errno_for_rep(0x01, 4500), ETIMEDOUT);
    cr_assert_eq(errno_for_rep(0x01, 5000), ETIMEDOUT);
    /* Only 0x01 depends on time. */
    cr_assert_eq(errno_for_rep(0x05, 6000), ECONNREFUSED);
    cr_assert_eq(errno_for_rep(0x04, 6000), EHOSTUNREACH);
}

Test(tunnel_errno, protocol_errors_are_refusals)
{
    struct socks5_reply r = {0};
    cr_assert_eq(socks5_reply_errno(&r, 0), 0);
    enum socks5_error errs[] = {SOCKS5_ERR_VERSION, SOCKS5_ERR_NO_METHOD, SOCKS5_ERR_METHOD,
                                SOCKS5_ERR_ATYP};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        r.error = errs[i];
        cr_assert_eq(socks5_reply_errno(&r, 0), ECONNREFUSED, "error %d", errs[i]);
        cr_assert_eq(socks5_reply_errno(&r, 9000), ECONNREFUSED, "error %d late", errs[i]);
    }
}

Test(tunnel_errno, parsed_05ff_maps_to_econnrefused)
{
    static const uint8_t buf[] = {0x05, 0xff};
    struct socks5_reply r;
    cr_assert_eq(socks5_parse_reply(buf, 2, &r), 0);
    cr_assert_eq(socks5_reply_errno(&r, 1), ECONNREFUSED);
}
