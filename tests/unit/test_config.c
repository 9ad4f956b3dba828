/* The shim's configuration (shim/config.c) from a lookup table and from the
 * root-owned file's text, plus the proxy address per socket family
 * (tunnel_proxy_addr in shim/tunnel.c). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "tunnel.h"

struct kv {
    const char *key, *value;
};

/* Lookup over a NULL-terminated kv array. */
static const char *kv_lookup(const char *key, void *ctx)
{
    for (const struct kv *p = ctx; p->key != NULL; p++)
        if (strcmp(p->key, key) == 0)
            return p->value;
    return NULL;
}

static char err[256];

static int parse1(const char *key, const char *value, struct config *cfg)
{
    struct kv kv[] = {{key, value}, {NULL, NULL}};
    err[0] = '\0';
    return config_parse(kv_lookup, kv, cfg, err, sizeof err);
}

static const char *proxy_text(const struct config *cfg)
{
    static char buf[80];
    return config_socks5_text(cfg, buf, sizeof buf);
}

static void assert_good(const char *key, const char *value, struct config *cfg)
{
    int rc = parse1(key, value, cfg);
    cr_assert_eq(rc, 0, "%s=%s rejected: %s", key, value, err);
    cr_assert(cfg->enabled);
}

/* A bad value is reported, and never turns interception off. */
static void assert_bad(const char *key, const char *value, const char *msg_part)
{
    struct config cfg;
    int rc = parse1(key, value, &cfg);
    cr_assert_eq(rc, -EINVAL, "%s=%s accepted", key, value);
    cr_assert(cfg.enabled, "%s=%s turned the shim off", key, value);
    cr_assert_neq(strstr(err, msg_part), NULL, "%s=%s: message \"%s\" lacks \"%s\"", key, value,
                  err, msg_part);
    cr_assert_null(strchr(err, '\n'), "one line: %s", err);
}

/* ------------------------------------------------------------ defaults */

Test(config_parse, defaults)
{
    struct kv none[] = {{NULL, NULL}};
    struct config cfg;
    cr_assert_eq(config_parse(kv_lookup, none, &cfg, err, sizeof err), 0);
    cr_assert(cfg.enabled);
    cr_assert(cfg.socks5_is_v4);
    cr_assert_str_eq(proxy_text(&cfg), "127.0.0.1:1055");
    cr_assert_eq(cfg.connect_timeout_ms, 7000);
    cr_assert_eq(CONFIG_DEFAULT_CONNECT_TIMEOUT_MS, 7000);
    cr_assert_gt(cfg.connect_timeout_ms, 5000, "above tailscaled's 5 s dial cap");
    cr_assert_eq(cfg.debug, 0);
    cr_assert(!cfg.quiet);
    cr_assert(!cfg.pipeline, "off by default: microsocks drops pipelined bytes");
    cr_assert_str_eq(cfg.names_path, "");
    cr_assert_str_eq(cfg.log_path, "");
    cr_assert_eq(cfg.refuse_errno, 0);
    cr_assert_eq(cfg.routes.count, 0);
    cr_assert(!cfg.routes.all);
}

/* ------------------------------------------------------------ TSRUN_SOCKS5 */

Test(config_socks5, good)
{
    struct config cfg;
    assert_good("TSRUN_SOCKS5", "127.0.0.1:1081", &cfg);
    cr_assert_str_eq(proxy_text(&cfg), "127.0.0.1:1081");
    cr_assert(cfg.socks5_is_v4);
    cr_assert_eq(cfg.socks5.sin6_family, AF_INET6);
    cr_assert(IN6_IS_ADDR_V4MAPPED(&cfg.socks5.sin6_addr));
    assert_good("TSRUN_SOCKS5", "[::1]:1055", &cfg);
    cr_assert(!cfg.socks5_is_v4);
    cr_assert(IN6_IS_ADDR_LOOPBACK(&cfg.socks5.sin6_addr));
    cr_assert_str_eq(proxy_text(&cfg), "[::1]:1055");
    assert_good("TSRUN_SOCKS5", "[fd7a:115c:a1e0::1]:65535", &cfg);
    cr_assert_str_eq(proxy_text(&cfg), "[fd7a:115c:a1e0::1]:65535");
    assert_good("TSRUN_SOCKS5", "localhost:1", &cfg);
    cr_assert_str_eq(proxy_text(&cfg), "127.0.0.1:1");
    assert_good("TSRUN_SOCKS5", "[::ffff:127.0.0.2]:9", &cfg);
    cr_assert(IN6_IS_ADDR_V4MAPPED(&cfg.socks5.sin6_addr));
}

Test(config_socks5, bad)
{
    const char *bad[] = {"nonsense",      "127.0.0.1",       "127.0.0.1:",
                         "127.0.0.1:0",   "127.0.0.1:65536", "127.0.0.1:-1",
                         "127.0.0.1:80x", ":1055",           "::1:1055",
                         "[::1]1055",     "[::1]:",          "[::1:1055",
                         "[]:1055",       "tailscaled:1055", "127.0.0.1:99999999999999999999",
                         "1.2.3.4.5:80",  "[127.0.0.1]x:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_bad("TSRUN_SOCKS5", bad[i], "TSRUN_SOCKS5=");
    assert_bad("TSRUN_SOCKS5", "127.0.0.1:0", "expected IP:PORT or [IPv6]:PORT");
}

Test(config_socks5, bad_value_refuses_tunnelled_connects)
{
    struct config cfg;
    cr_assert_eq(parse1("TSRUN_SOCKS5", "nonsense", &cfg), -EINVAL);
    cr_assert(cfg.enabled);
    cr_assert_eq(cfg.refuse_errno, ECONNREFUSED);
    cr_assert_neq(strstr(err, "refused (ECONNREFUSED)"), NULL, "%s", err);
    cr_assert_eq(parse1("TSRUN_SOCKS5", "", &cfg), 0, "empty = unset");
    cr_assert_eq(cfg.refuse_errno, 0);
    cr_assert_str_eq(proxy_text(&cfg), "127.0.0.1:1055");
}

Test(config_socks5, port_edges_direct)
{
    struct sockaddr_in6 a;
    bool v4;
    cr_assert_eq(config_parse_socks5("127.0.0.1:1", &a, &v4), 0);
    cr_assert_eq(ntohs(a.sin6_port), 1);
    cr_assert_eq(config_parse_socks5("127.0.0.1:65535", &a, &v4), 0);
    cr_assert_eq(ntohs(a.sin6_port), 65535);
    cr_assert_eq(config_parse_socks5("127.0.0.1:0", &a, &v4), -EINVAL);
    cr_assert_eq(config_parse_socks5("127.0.0.1:65536", &a, &v4), -EINVAL);
    cr_assert_eq(config_parse_socks5(NULL, &a, &v4), -EINVAL);
}

/* ------------------------------------------------------------ other keys */

Test(config_keys, routes)
{
    struct config cfg;
    assert_good("TSRUN_ROUTES", "10.20.0.0/16,fd00::/8", &cfg);
    cr_assert_eq(cfg.routes.count, 2);
    assert_good("TSRUN_ROUTES", "all", &cfg);
    cr_assert(cfg.routes.all);
    assert_bad("TSRUN_ROUTES", "10.20.0.0/16,bogus", "TSRUN_ROUTES=10.20.0.0/16,bogus");
    assert_bad("TSRUN_ROUTES", "10.0.0.0/33", "TSRUN_ROUTES");
    /* Fail closed: a list nobody can read means every destination. */
    cr_assert_eq(parse1("TSRUN_ROUTES", "garbage", &cfg), -EINVAL);
    cr_assert(cfg.routes.all);
    cr_assert_neq(strstr(err, "as \"all\""), NULL, "%s", err);
}

Test(config_keys, connect_timeout)
{
    struct config cfg;
    assert_good("TSRUN_CONNECT_TIMEOUT_MS", "1", &cfg);
    cr_assert_eq(cfg.connect_timeout_ms, 1);
    assert_good("TSRUN_CONNECT_TIMEOUT_MS", "600000", &cfg);
    cr_assert_eq(cfg.connect_timeout_ms, 600000);
    const char *bad[] = {
        "0", "-5", "600001", " 5", "+5", "abc", "100ms", "1e3", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_bad("TSRUN_CONNECT_TIMEOUT_MS", bad[i], "TSRUN_CONNECT_TIMEOUT_MS=");
        parse1("TSRUN_CONNECT_TIMEOUT_MS", bad[i], &cfg);
        cr_assert_eq(cfg.connect_timeout_ms, CONFIG_DEFAULT_CONNECT_TIMEOUT_MS);
        cr_assert_neq(strstr(err, "using 7000"), NULL, "%s", err);
    }
}

Test(config_keys, debug)
{
    struct config cfg;
    assert_good("TSRUN_DEBUG", "1", &cfg);
    cr_assert_eq(cfg.debug, 1);
    assert_good("TSRUN_DEBUG", "9", &cfg);
    cr_assert_eq(cfg.debug, 9);
    assert_good("TSRUN_DEBUG", "", &cfg);
    cr_assert_eq(cfg.debug, 0);
    assert_good("TSRUN_DEBUG", "0", &cfg);
    cr_assert_eq(cfg.debug, 0);
    assert_bad("TSRUN_DEBUG", "10", "TSRUN_DEBUG=10");
    assert_bad("TSRUN_DEBUG", "maybe", "expected 0..9");
    const char *on[] = {"true", "TRUE", "yes", "on", "On"};
    for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
        assert_good("TSRUN_DEBUG", on[i], &cfg);
        cr_assert_eq(cfg.debug, 1, "%s", on[i]);
    }
    assert_good("TSRUN_DEBUG", "off", &cfg);
    cr_assert_eq(cfg.debug, 0);
}

Test(config_keys, quiet)
{
    struct config cfg;
    assert_good("TSRUN_QUIET", "1", &cfg);
    cr_assert(cfg.quiet);
    assert_good("TSRUN_QUIET", "0", &cfg);
    cr_assert(!cfg.quiet);
    assert_good("TSRUN_QUIET", "", &cfg);
    cr_assert(!cfg.quiet);
    assert_bad("TSRUN_QUIET", "2", "TSRUN_QUIET=2");
    assert_bad("TSRUN_QUIET", "sure", "expected 1/0, true/false, yes/no or on/off");
    assert_good("TSRUN_QUIET", "true", &cfg);
    cr_assert(cfg.quiet);
    assert_good("TSRUN_QUIET", "no", &cfg);
    cr_assert(!cfg.quiet);
}

Test(config_keys, pipeline)
{
    struct config cfg;
    assert_good("TSRUN_SOCKS5_PIPELINE", "0", &cfg);
    cr_assert(!cfg.pipeline);
    assert_good("TSRUN_SOCKS5_PIPELINE", "1", &cfg);
    cr_assert(cfg.pipeline);
    assert_good("TSRUN_SOCKS5_PIPELINE", "", &cfg);
    cr_assert(!cfg.pipeline);
    assert_good("TSRUN_SOCKS5_PIPELINE", "yes", &cfg);
    cr_assert(cfg.pipeline);
    assert_bad("TSRUN_SOCKS5_PIPELINE", "2", "TSRUN_SOCKS5_PIPELINE=2");
    cr_assert_eq(parse1("TSRUN_SOCKS5_PIPELINE", "2", &cfg), -EINVAL);
    cr_assert(!cfg.pipeline, "a bad value falls back to the interoperable 0");
}

Test(config_keys, log_path)
{
    struct config cfg;
    assert_good("TSRUN_LOG", "/tmp/tsshim.log", &cfg);
    cr_assert_str_eq(cfg.log_path, "/tmp/tsshim.log");
    assert_bad("TSRUN_LOG", "relative.log", "TSRUN_LOG=relative.log");
    parse1("TSRUN_LOG", "relative.log", &cfg);
    cr_assert_str_eq(cfg.log_path, "");
}

Test(config_keys, names)
{
    struct config cfg;
    assert_good("TSRUN_NAMES", "/run/tsrun/names", &cfg);
    cr_assert_str_eq(cfg.names_path, "/run/tsrun/names");
    static char longpath[PATH_MAX + 10];
    memset(longpath, 'a', sizeof longpath - 1);
    assert_bad("TSRUN_NAMES", longpath, "TSRUN_NAMES=");
    memset(longpath, 0, sizeof longpath);
    memset(longpath, 'b', PATH_MAX - 1);
    assert_good("TSRUN_NAMES", longpath, &cfg);
}

Test(config_keys, all_together_and_error_names_first_bad_key)
{
    struct kv kv[] = {{"TSRUN_SOCKS5", "[::1]:1081"},
                      {"TSRUN_ROUTES", "10.20.0.0/16"},
                      {"TSRUN_CONNECT_TIMEOUT_MS", "1500"},
                      {"TSRUN_DEBUG", "1"},
                      {"TSRUN_QUIET", "1"},
                      {"TSRUN_SOCKS5_PIPELINE", "0"},
                      {"TSRUN_NAMES", "/x"},
                      {NULL, NULL}};
    struct config cfg;
    cr_assert_eq(config_parse(kv_lookup, kv, &cfg, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(proxy_text(&cfg), "[::1]:1081");
    cr_assert_eq(cfg.routes.count, 1);
    cr_assert_eq(cfg.connect_timeout_ms, 1500);
    cr_assert_eq(cfg.debug, 1);
    cr_assert(cfg.quiet);
    cr_assert(!cfg.pipeline);
    cr_assert_str_eq(cfg.names_path, "/x");
    kv[2].value = "0";
    cr_assert_eq(config_parse(kv_lookup, kv, &cfg, err, sizeof err), -EINVAL);
    cr_assert_neq(strstr(err, "TSRUN_CONNECT_TIMEOUT_MS=0"), NULL, "%s", err);
}

Test(config_keys, long_bad_value_is_truncated_in_message)
{
    static char v[2000];
    memset(v, 'x', sizeof v - 1);
    char small[64];
    struct kv kv[] = {{"TSRUN_SOCKS5", v}, {NULL, NULL}};
    struct config cfg;
    cr_assert_eq(config_parse(kv_lookup, kv, &cfg, small, sizeof small), -EINVAL);
    cr_assert_lt(strlen(small), sizeof small);
    cr_assert_eq(config_parse(kv_lookup, kv, &cfg, err, sizeof err), -EINVAL);
    cr_assert_lt(strlen(err), 200, "value quoted in full: %zu bytes", strlen(err));
}

/* ------------------------------------------------------------ the root file */

Test(config_file, keys_comments_blank_lines)
{
    struct config cfg;
    const char *text = "# tsrun system config\n"
                       "\n"
                       "socks5 = 127.0.0.1:1081\r\n"
                       "  routes=10.20.0.0/16  \n"
                       "\tconnect_timeout_ms = 2500\n"
                       "   # indented comment\n"
                       "debug = 1\n"
                       "quiet = 1\n"
                       "socks5_pipeline = 0\n"
                       "names = /run/tsrun/names\n";
    cr_assert_eq(config_parse_file_text(text, &cfg, err, sizeof err), 0, "%s", err);
    cr_assert(cfg.enabled);
    cr_assert_str_eq(proxy_text(&cfg), "127.0.0.1:1081");
    cr_assert_eq(cfg.routes.count, 1);
    cr_assert_eq(cfg.connect_timeout_ms, 2500);
    cr_assert_eq(cfg.debug, 1);
    cr_assert(cfg.quiet);
    cr_assert(!cfg.pipeline);
    cr_assert_str_eq(cfg.names_path, "/run/tsrun/names");
}

Test(config_file, empty_gives_defaults)
{
    struct config cfg;
    cr_assert_eq(config_parse_file_text("", &cfg, err, sizeof err), 0);
    cr_assert_str_eq(proxy_text(&cfg), "127.0.0.1:1055");
    cr_assert_eq(config_parse_file_text("# only a comment\n\n", &cfg, err, sizeof err), 0);
    cr_assert_eq(cfg.connect_timeout_ms, 7000);
}

Test(config_file, keys_case_insensitive)
{
    struct config cfg;
    cr_assert_eq(config_parse_file_text("SOCKS5 = [::1]:1055\n", &cfg, err, sizeof err), 0, "%s",
                 err);
    cr_assert_str_eq(proxy_text(&cfg), "[::1]:1055");
}

Test(config_file, unknown_key)
{
    struct config cfg;
    cr_assert_eq(config_parse_file_text("# c\nsocks = 127.0.0.1:1\n", &cfg, err, sizeof err),
                 -EINVAL);
    cr_assert_neq(strstr(err, "line 2: unknown key \"socks\""), NULL, "%s", err);
    cr_assert_neq(strstr(err, CONFIG_SYSTEM_FILE), NULL, "%s", err);
}

Test(config_file, bad_line_skipped_others_apply)
{
    struct config cfg;
    cr_assert_eq(config_parse_file_text("socks = 1\ndebug = 2\nquiet\nroutes = 10.0.0.0/8\n", &cfg,
                                        err, sizeof err),
                 -EINVAL);
    cr_assert(cfg.enabled);
    cr_assert_eq(cfg.debug, 2);
    cr_assert_eq(cfg.routes.count, 1);
    cr_assert_neq(strstr(err, "line 1: unknown key"), NULL, "%s", err);
    cr_assert_neq(strstr(err, "line 3: expected key = value"), NULL, "%s", err);
    cr_assert_null(strchr(err, '\n'), "one line: %s", err);
}

Test(config_file, missing_equals)
{
    struct config cfg;
    cr_assert_eq(config_parse_file_text("debug = 1\nquiet 1\n", &cfg, err, sizeof err), -EINVAL);
    cr_assert_neq(strstr(err, "line 2: expected key = value"), NULL, "%s", err);
}

Test(config_file, bad_value_reports_key)
{
    struct config cfg;
    cr_assert_eq(config_parse_file_text("socks5 = 127.0.0.1:0\n", &cfg, err, sizeof err), -EINVAL);
    cr_assert_neq(strstr(err, "TSRUN_SOCKS5=127.0.0.1:0"), NULL, "%s", err);
}

Test(config_file, too_large)
{
    static char text[5000];
    memset(text, '#', sizeof text - 1);
    struct config cfg;
    cr_assert_eq(config_parse_file_text(text, &cfg, err, sizeof err), -EINVAL);
    cr_assert_neq(strstr(err, "larger than"), NULL, "%s", err);
}

Test(config_file, env_only_keys_not_accepted_with_prefix)
{
    /* "tsrun_socks5" would become TSRUN_TSRUN_SOCKS5: unknown. */
    struct config cfg;
    cr_assert_eq(config_parse_file_text("tsrun_socks5 = 127.0.0.1:1\n", &cfg, err, sizeof err),
                 -EINVAL);
}

/* ------------------------------------------------------------ proxy per family */

static struct config cfg_with(const char *socks5)
{
    struct config cfg;
    cr_assert_eq(parse1("TSRUN_SOCKS5", socks5, &cfg), 0, "%s", err);
    return cfg;
}

Test(tunnel_proxy_addr, inet_socket_v4_proxy)
{
    struct config cfg = cfg_with("127.0.0.1:1055");
    struct sockaddr_storage ss;
    socklen_t len;
    cr_assert_eq(tunnel_proxy_addr(&cfg, AF_INET, 0, &ss, &len), 0);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    cr_assert_eq(len, sizeof *in);
    cr_assert_eq(in->sin_family, AF_INET);
    cr_assert_eq(ntohs(in->sin_port), 1055);
    cr_assert_eq(ntohl(in->sin_addr.s_addr), 0x7f000001);
}

Test(tunnel_proxy_addr, inet6_socket_v4_proxy_is_mapped)
{
    struct config cfg = cfg_with("127.0.0.1:1081");
    struct sockaddr_storage ss;
    socklen_t len;
    cr_assert_eq(tunnel_proxy_addr(&cfg, AF_INET6, 0, &ss, &len), 0);
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    cr_assert_eq(len, sizeof *in6);
    cr_assert_eq(in6->sin6_family, AF_INET6);
    cr_assert_eq(ntohs(in6->sin6_port), 1081);
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    cr_assert_str_eq(text, "::ffff:127.0.0.1");
}

Test(tunnel_proxy_addr, v6only_socket_v4_loopback_proxy_uses_ip6_loopback)
{
    struct config cfg = cfg_with("127.0.0.1:1055");
    struct sockaddr_storage ss;
    socklen_t len;
    cr_assert_eq(tunnel_proxy_addr(&cfg, AF_INET6, 1, &ss, &len), 0);
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    cr_assert(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
    cr_assert_eq(ntohs(in6->sin6_port), 1055);
    cr_assert_eq(len, sizeof *in6);
}

Test(tunnel_proxy_addr, v6only_socket_v4_remote_proxy_is_an_error)
{
    struct config cfg = cfg_with("192.0.2.1:1055");
    struct sockaddr_storage ss;
    socklen_t len;
    cr_assert_eq(tunnel_proxy_addr(&cfg, AF_INET6, 1, &ss, &len), -EAFNOSUPPORT);
    cr_assert_eq(tunnel_proxy_addr(&cfg, AF_INET6, 0, &ss, &len), 0);
}

Test(tunnel_proxy_addr, ipv6_proxy)
{
    struct config cfg = cfg_with("[::1]:1055");
    struct sockaddr_storage ss;
    socklen_t len;
    cr_assert_eq(tunnel_proxy_addr(&cfg, AF_INET, 0, &ss, &len), -EAFNOSUPPORT,
                 "an IPv4 socket cannot reach an IPv6 proxy");
    cr_assert_eq(tunnel_proxy_addr(&cfg, AF_INET6, 0, &ss, &len), 0);
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    cr_assert(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
    cr_assert_eq(tunnel_proxy_addr(&cfg, AF_INET6, 1, &ss, &len), 0);
    cr_assert(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
}
