/* The status JSON reader, on real-shaped LocalAPI replies. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

static const char running[] =
    "{\n"
    "  \"Version\": \"1.102.3-t1234abcd-gdeadbeef\",\n"
    "  \"TUN\": false,\n"
    "  \"BackendState\": \"Running\",\n"
    "  \"HaveNodeKey\": true,\n"
    "  \"AuthURL\": \"\",\n"
    "  \"TailscaleIPs\": [\"100.101.7.42\", \"fd7a:115c:a1e0::6f01:72a\"],\n"
    "  \"Self\": {\"ID\": \"nHx3Qk7CNTRL\", \"HostName\": \"sandbox-1\",\n"
    "    \"DNSName\": \"Sandbox-1.tail1a2b3.ts.net.\", \"OS\": \"linux\",\n"
    "    \"TailscaleIPs\": [\"100.101.7.42\", \"fd7a:115c:a1e0::6f01:72a\"],\n"
    "    \"Addrs\": null, \"Online\": true, \"ExitNode\": false},\n"
    "  \"Health\": [\"some warning\"],\n"
    "  \"MagicDNSSuffix\": \"tail1a2b3.ts.net\",\n"
    "  \"CurrentTailnet\": {\"Name\": \"example.com\", \"MagicDNSSuffix\": \"tail1a2b3.ts.net\", "
    "\"MagicDNSEnabled\": true},\n"
    "  \"CertDomains\": null, \"ExtraRecords\": null,\n"
    "  \"Peer\": {\n"
    "    \"nodekey:9a0b\": {\"HostName\": \"db\", \"DNSName\": \"db.tail1a2b3.ts.net.\", \"OS\": "
    "\"linux\",\n"
    "      \"TailscaleIPs\": [\"100.88.12.5\", \"fd7a:115c:a1e0::d401:c05\"],\n"
    "      \"AllowedIPs\": [\"100.88.12.5/32\", \"10.20.0.0/16\"], \"PrimaryRoutes\": "
    "[\"10.20.0.0/16\", "
    "\"10.30.0.0/24\"],\n"
    "      \"Online\": true, \"ExitNode\": false, \"LastSeen\": \"0001-01-01T00:00:00Z\"},\n"
    "    \"nodekey:5e6f\": {\"HostName\": \"OLD-PC\", \"DNSName\": \"old.tail1a2b3.ts.net.\", "
    "\"OS\": \"windows\",\n"
    "      \"TailscaleIPs\": [\"100.77.1.2\"], \"Online\": false},\n"
    "    \"nodekey:1234\": {\"HostName\": \"app\", \"DNSName\": \"app.tail1a2b3.ts.net.\",\n"
    "      \"TailscaleIPs\": [\"100.70.0.9\", \"not-an-ip\"], \"Online\": true}\n"
    "  },\n"
    "  \"User\": {\"8812\": {\"ID\": 8812, \"LoginName\": \"ci@example.com\"}},\n"
    "  \"ClientVersion\": null\n"
    "}\n";

Test(status, running_fixture)
{
    struct tsr_status st;
    char err[256] = "";
    cr_assert_eq(status_parse(running, strlen(running), &st, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(st.backend_state, "Running");
    cr_assert_str_eq(st.version, "1.102.3-t1234abcd-gdeadbeef");
    cr_assert_not(st.tun);
    cr_assert_str_eq(st.suffix, "tail1a2b3.ts.net");
    cr_assert_str_eq(st.tailnet, "example.com");
    cr_assert_str_eq(st.self.dns_name, "sandbox-1.tail1a2b3.ts.net", "lower case, no trailing dot");
    cr_assert_eq(st.self.nips, 2);
    cr_assert_str_eq(st.self.ips[1], "fd7a:115c:a1e0::6f01:72a");
    cr_assert_eq(st.nhealth, 1);
    cr_assert_eq(st.npeers, 3);
    /* Sorted by name: app, db, old. */
    cr_assert_str_eq(st.peers[0].dns_name, "app.tail1a2b3.ts.net");
    cr_assert_eq(st.peers[0].nips, 1, "a non-IP entry is dropped");
    cr_assert_str_eq(st.peers[1].dns_name, "db.tail1a2b3.ts.net");
    cr_assert(st.peers[1].online);
    cr_assert_str_eq(st.peers[1].routes, "10.20.0.0/16,10.30.0.0/24");
    cr_assert_str_eq(st.peers[2].host_name, "OLD-PC");
    cr_assert_not(st.peers[2].online);
    cr_assert_str_eq(st.peers[2].routes, "");
    cr_assert_not(st.exit_node_in_use);
    char *r = status_routes(&st);
    cr_assert_str_eq(r, "10.20.0.0/16,10.30.0.0/24");
    free(r);
    status_free(&st);
}

Test(status, needs_login_null_peer_no_tailnet)
{
    const char *j =
        "{\"Version\":\"1.102.3\",\"BackendState\":\"NeedsLogin\","
        "\"AuthURL\":\"https://login.tailscale.com/a/abc\",\"TailscaleIPs\":null,"
        "\"Self\":{\"ID\":\"\",\"HostName\":\"sandbox\",\"DNSName\":\"\",\"TailscaleIPs\":null,"
        "\"Online\":false},\"Health\":null,\"MagicDNSSuffix\":\"\",\"Peer\":null,\"User\":null}";
    struct tsr_status st;
    char err[256] = "";
    cr_assert_eq(status_parse(j, strlen(j), &st, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(st.backend_state, "NeedsLogin");
    cr_assert_str_eq(st.auth_url, "https://login.tailscale.com/a/abc");
    cr_assert_str_eq(st.suffix, "");
    cr_assert_str_eq(st.tailnet, "");
    cr_assert_eq(st.npeers, 0);
    cr_assert_null(st.peers);
    cr_assert_eq(st.self.nips, 0);
    cr_assert_str_eq(st.self.dns_name, "");
    status_free(&st);
}

Test(status, no_self_at_all)
{
    const char *j = "{\"BackendState\":\"NoState\"}";
    struct tsr_status st;
    char err[256];
    cr_assert_eq(status_parse(j, strlen(j), &st, err, sizeof err), 0);
    cr_assert_str_eq(st.version, "");
    cr_assert_str_eq(st.self.dns_name, "");
    status_free(&st);
}

Test(status, legacy_suffix_when_no_current_tailnet)
{
    const char *j =
        "{\"BackendState\":\"Starting\",\"MagicDNSSuffix\":\"Tail9.TS.net.\",\"Peer\":{}}";
    struct tsr_status st;
    char err[256];
    cr_assert_eq(status_parse(j, strlen(j), &st, err, sizeof err), 0);
    cr_assert_str_eq(st.suffix, "tail9.ts.net");
    status_free(&st);
}

Test(status, tun_and_exit_node)
{
    const char *j =
        "{\"BackendState\":\"Running\",\"TUN\":true,"
        "\"ExitNodeStatus\":{\"ID\":\"nX\",\"Online\":true,\"TailscaleIPs\":[\"100.64.0.1/32\"]},"
        "\"Peer\":{\"k\":{\"DNSName\":\"exit.t.ts.net.\",\"TailscaleIPs\":[\"100.64.0.1\"],"
        "\"ExitNode\":true,\"Online\":true}}}";
    struct tsr_status st;
    char err[256];
    cr_assert_eq(status_parse(j, strlen(j), &st, err, sizeof err), 0);
    cr_assert(st.tun);
    cr_assert(st.exit_node_in_use);
    cr_assert(st.peers[0].exit_node);
    status_free(&st);
}

Test(status, ipv6_only_and_ip_cap)
{
    const char *j =
        "{\"BackendState\":\"Running\",\"Peer\":{\"k\":{\"DNSName\":\"v6.t.ts.net.\","
        "\"TailscaleIPs\":[\"FD7A:115C:A1E0:EFE3::1\",\"100.64.0.1\",\"100.64.0.2\",\"100.64.0.3\","
        "\"100.64.0.4\",\"100.64.0.5\",\"100.64.0.6\",\"100.64.0.7\",\"100.64.0.8\"]}}}";
    struct tsr_status st;
    char err[256];
    cr_assert_eq(status_parse(j, strlen(j), &st, err, sizeof err), 0);
    cr_assert_eq(st.peers[0].nips, STATUS_MAX_IPS);
    cr_assert_str_eq(st.peers[0].ips[0], "fd7a:115c:a1e0:efe3::1", "canonical form");
    status_free(&st);
}

Test(status, rejects_garbage)
{
    struct tsr_status st;
    char err[256] = "";
    cr_assert_eq(status_parse("not json", 8, &st, err, sizeof err), -EINVAL);
    cr_assert_neq(err[0], '\0');
    cr_assert_eq(status_parse("[1,2]", 5, &st, err, sizeof err), -EINVAL);
    cr_assert_eq(status_parse("{\"Version\":\"x\"}", 15, &st, err, sizeof err), -EINVAL);
    cr_assert(strstr(err, "BackendState"));
    status_free(&st); /* safe after a failure */
}

Test(status, state_numbers)
{
    cr_assert_str_eq(status_state_name(0), "NoState");
    cr_assert_str_eq(status_state_name(2), "NeedsLogin");
    cr_assert_str_eq(status_state_name(3), "NeedsMachineAuth");
    cr_assert_str_eq(status_state_name(6), "Running");
    cr_assert_str_eq(status_state_name(7), "");
    cr_assert_str_eq(status_state_name(-1), "");
}

/* The Peer map is decoded one peer at a time (status.c's fast path); these
 * pin down that it reads exactly what the whole-tree parse reads, and that
 * anything odd still fails or succeeds as jansson says. */

static int parse(const char *j, struct tsr_status *st, char *err, size_t errlen)
{
    return status_parse(j, strlen(j), st, err, errlen);
}

Test(status, many_peers_all_read)
{
    enum { N = 3000 };
    size_t cap = 256 + (size_t)N * 160, len = 0;
    char *j = malloc(cap), err[256] = "";
    cr_assert_not_null(j);
    len += (size_t)sprintf(j + len, "{\"BackendState\":\"Running\",\"Peer\":{");
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(j + len,
                               "%s\n \"nodekey:%d\" : { \"HostName\": \"h}{%d\\\"\", \"DNSName\": "
                               "\"P%05d.ts.net.\", \"TailscaleIPs\": [\"100.64.%d.%d\"] }",
                               i ? "," : "", i, i, N - 1 - i, i / 256, i % 256);
    len += (size_t)sprintf(j + len, "\n},\"Version\":\"v9\"}");
    struct tsr_status st;
    cr_assert_eq(status_parse(j, len, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(st.npeers, N);
    cr_assert_str_eq(st.version, "v9"); /* a field after the Peer map */
    cr_assert_str_eq(st.peers[0].dns_name, "p00000.ts.net");
    cr_assert_str_eq(st.peers[0].host_name, "h}{2999\"");
    cr_assert_str_eq(st.peers[0].ips[0], "100.64.11.183");
    cr_assert_str_eq(st.peers[N - 1].dns_name, "p02999.ts.net");
    status_free(&st);
    free(j);
}

Test(status, peer_map_edge_cases)
{
    struct tsr_status st;
    char err[256] = "";
    /* Empty, null and missing maps. */
    cr_assert_eq(parse("{\"BackendState\":\"Running\",\"Peer\":{}}", &st, err, sizeof err), 0);
    cr_assert_eq(st.npeers, 0);
    status_free(&st);
    cr_assert_eq(parse(" {\"Peer\" : null , \"BackendState\":\"Running\"} ", &st, err, sizeof err),
                 0);
    cr_assert_eq(st.npeers, 0);
    status_free(&st);
    /* A peer that is not an object is skipped, the others kept. */
    cr_assert_eq(
        parse("{\"BackendState\":\"Running\",\"Peer\":{\"a\":5,\"b\":{\"DNSName\":\"b.x\"}}}", &st,
              err, sizeof err),
        0, "%s", err);
    cr_assert_eq(st.npeers, 1);
    cr_assert_str_eq(st.peers[0].dns_name, "b.x");
    status_free(&st);
    /* Two Peer keys: the last wins, as in jansson's tree. */
    cr_assert_eq(parse("{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"DNSName\":\"a.x\"}},"
                       "\"Peer\":{\"b\":{\"DNSName\":\"b.x\"},\"c\":{\"DNSName\":\"c.x\"}}}",
                       &st, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(st.npeers, 2);
    cr_assert_str_eq(st.peers[0].dns_name, "b.x");
    status_free(&st);
    /* An exit node among the peers. */
    cr_assert_eq(parse("{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"ExitNode\":true}}}", &st,
                       err, sizeof err),
                 0);
    cr_assert(st.exit_node_in_use);
    status_free(&st);
}

Test(status, broken_peer_map_is_bad_json)
{
    static const char *const bad[] = {
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"DNSName\":\"a.x\"}",    /* cut short */
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"DNSName\":\"a.x\"},}}", /* trailing , */
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"DNSName\":tru}}}",
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\" {}}}",
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{}}} x",
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{}} \"b\":1}",
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{}},\"Self\":[}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct tsr_status st;
        char err[256] = "";
        cr_assert_eq(parse(bad[i], &st, err, sizeof err), -EINVAL, "%s", bad[i]);
        cr_assert(strstr(err, "bad JSON"), "%s: %s", bad[i], err);
        cr_assert_eq(st.npeers, 0);
        status_free(&st);
    }
}
