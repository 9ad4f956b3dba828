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

/* --- the streaming reader, fed in pieces --- */

static int read_chunked(const char *j, size_t len, size_t chunk, struct tsr_status *st, char *err,
                        size_t errlen)
{
    struct status_reader *r = status_reader_new();
    cr_assert_not_null(r);
    for (size_t off = 0; off < len; off += chunk)
        cr_assert_eq(status_reader_feed(r, j + off, len - off < chunk ? len - off : chunk), 0);
    int rc = status_reader_finish(r, st, err, errlen);
    status_reader_free(r);
    return rc;
}

static void assert_same_status(const struct tsr_status *a, const struct tsr_status *b)
{
    cr_assert_str_eq(a->version, b->version);
    cr_assert_str_eq(a->backend_state, b->backend_state);
    cr_assert_str_eq(a->suffix, b->suffix);
    cr_assert_str_eq(a->tailnet, b->tailnet);
    cr_assert_eq(a->tun, b->tun);
    cr_assert_eq(a->exit_node_in_use, b->exit_node_in_use);
    cr_assert_eq(a->nhealth, b->nhealth);
    cr_assert_str_eq(a->self.dns_name, b->self.dns_name);
    cr_assert_eq(a->npeers, b->npeers);
    for (size_t i = 0; i < a->npeers; i++) {
        const struct status_node *x = &a->peers[i], *y = &b->peers[i];
        cr_assert_str_eq(x->dns_name, y->dns_name);
        cr_assert_str_eq(x->host_name, y->host_name);
        cr_assert_str_eq(x->os, y->os);
        cr_assert_str_eq(x->routes, y->routes);
        cr_assert_eq(x->online, y->online);
        cr_assert_eq(x->nips, y->nips);
        for (int k = 0; k < x->nips; k++)
            cr_assert_str_eq(x->ips[k], y->ips[k]);
    }
}

Test(status, reader_in_any_pieces_reads_what_the_whole_parse_reads)
{
    static const char tail_peer_null[] =
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"DNSName\":\"a.x\",\"TailscaleIPs\":"
        "[\"100.64.0.1\"]}} ,\"User\":{\"1\":{\"ID\":1}},\"Version\":\"v\"}";
    const char *docs[] = {running, tail_peer_null, "{\"BackendState\":\"Stopped\"}",
                          "{\"BackendState\":\"NeedsLogin\",\"Peer\":null}"};
    for (size_t d = 0; d < sizeof docs / sizeof *docs; d++) {
        struct tsr_status whole, part;
        char err[256] = "";
        size_t len = strlen(docs[d]);
        cr_assert_eq(status_parse(docs[d], len, &whole, err, sizeof err), 0, "%s", err);
        for (size_t chunk = 1; chunk <= len; chunk = chunk * 3 + 1) {
            /* 0, not -EAGAIN: the reader itself read it, in pieces. */
            cr_assert_eq(read_chunked(docs[d], len, chunk, &part, err, sizeof err), 0,
                         "doc %zu chunk %zu: %s", d, chunk, err);
            assert_same_status(&whole, &part);
            status_free(&part);
        }
        status_free(&whole);
    }
}

Test(status, reader_many_peers_in_pieces)
{
    enum { N = 2000 };
    char *j = malloc((size_t)N * 200 + 256), err[256] = "";
    size_t len = (size_t)sprintf(j, "{\"BackendState\":\"Running\",\"Peer\":{");
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(j + len,
                               "%s\"k%d\":{\"DNSName\":\"n%d.ts.net.\",\"Online\":%s,"
                               "\"TailscaleIPs\":[\"100.64.%d.%d\",\"fd7a:115c:a1e0::%x\"]}",
                               i ? "," : "", i, i, i % 2 ? "true" : "false", i / 256, i % 256, i);
    len += (size_t)sprintf(j + len, "}}");
    struct tsr_status whole, part;
    cr_assert_eq(status_parse(j, len, &whole, err, sizeof err), 0, "%s", err);
    cr_assert_eq(whole.npeers, N);
    static const size_t chunks[] = {7, 1000, 16384};
    for (size_t c = 0; c < 3; c++) {
        cr_assert_eq(read_chunked(j, len, chunks[c], &part, err, sizeof err), 0, "%s", err);
        assert_same_status(&whole, &part);
        status_free(&part);
    }
    status_free(&whole);
    free(j);
}

Test(status, reader_leaves_the_unusual_to_the_whole_parse)
{
    static const char *const odd[] = {
        /* duplicate Peer after the map, before it, an escaped key, a non-object peer */
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{}},\"Peer\":null}",
        "{\"BackendState\":\"Running\",\"Peer\":null,\"Peer\":{\"a\":{}}}",
        "{\"BackendState\":\"Running\",\"P\\u0065er\":{\"a\":{}}}",
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":1}}",
        /* malformed or cut short */
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{}}",
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"DNSName\":tru}}}",
        "{\"BackendState\":\"Running\"} x",
        "[1]",
        "",
    };
    static const int whole_rc[] = {0, 0, 0, 0, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL};
    static const size_t whole_peers[] = {0, 1, 1, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        struct tsr_status st;
        char err[256] = "";
        cr_assert_eq(read_chunked(odd[i], strlen(odd[i]), 5, &st, err, sizeof err), -EAGAIN, "%s",
                     odd[i]);
        cr_assert_eq(st.npeers, 0);
        cr_assert_eq(status_parse(odd[i], strlen(odd[i]), &st, err, sizeof err), whole_rc[i], "%s",
                     odd[i]);
        cr_assert_eq(st.npeers, whole_peers[i], "%s", odd[i]);
        status_free(&st);
    }
}

/* A peer as tailscaled writes it, with members tsrun does not read around
 * the ones it does: only those reach jansson, yet the result is the tree's. */
static const char tricky_peer[] =
    "{\"BackendState\":\"Running\",\"Peer\":{\"nodekey:1\": {"
    "\"ID\": \"n}{\\\"x\", \"NodeID\": -12.5e3, \"Extra\": {\"DNSName\": \"evil.x.\", "
    "\"HostName\": [\"}\", {\"OS\": \"no\"}]},"
    " \"DNSName\" : \"first.x.\", \"HostName\": \"plain\", \"AllowedIPs\": [[], {}, null],"
    " \"OS\": \"linux\", \"DNSName\": \"Second.X.\", \"Host\\u004eame\": \"escaped\","
    " \"Online\": true, \"Active\": false, \"TailscaleIPs\": [\"100.64.0.7\"],"
    " \"PrimaryRoutes\": [\"10.1.0.0/16\"], \"ExitNode\": true, \"LastSeen\": null }}}";

Test(status, reader_picks_only_the_members_it_reads)
{
    size_t len = strlen(tricky_peer);
    for (size_t chunk = 1; chunk <= len; chunk = chunk * 2 + 1) {
        struct tsr_status st;
        char err[256] = "";
        cr_assert_eq(read_chunked(tricky_peer, len, chunk, &st, err, sizeof err), 0,
                     "chunk %zu: %s", chunk, err);
        cr_assert_eq(st.npeers, 1);
        const struct status_node *n = &st.peers[0];
        cr_assert_str_eq(n->dns_name, "second.x", "the last DNSName, not a nested one");
        cr_assert_str_eq(n->host_name, "escaped", "an escaped key decodes as jansson's");
        cr_assert_str_eq(n->os, "linux");
        cr_assert(n->online);
        cr_assert(st.exit_node_in_use);
        cr_assert_eq(n->nips, 1);
        cr_assert_str_eq(n->ips[0], "100.64.0.7");
        cr_assert_str_eq(n->routes, "10.1.0.0/16");
        status_free(&st);
    }
}

/* Strings dense with escapes (Go writes <, > and & as \u003c...), an
 * escaped backslash right before the closing quote, and an escaped quote:
 * every chunking reads what the whole parse reads. */
Test(status, reader_strings_full_of_escapes)
{
    enum { N = 3000 };
    size_t cap = N * 6 + 512, len = 0;
    char *doc = malloc(cap);
    cr_assert(doc);
    len += (size_t)snprintf(doc, cap, "{\"BackendState\":\"Running\",\"Peer\":{\"k\":{\"Tags\":\"");
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(doc + len, cap - len, "\\u003c");
    len += (size_t)snprintf(doc + len, cap - len,
                            "\\\\\",\"HostName\":\"a\\\"b\\\\\",\"DNSName\":\"e.x.\"}}}");
    for (size_t chunk = 1; chunk <= len; chunk = chunk * 3 + 1) {
        struct tsr_status st;
        char err[256] = "";
        cr_assert_eq(read_chunked(doc, len, chunk, &st, err, sizeof err), 0, "chunk %zu: %s", chunk,
                     err);
        cr_assert_eq(st.npeers, 1);
        cr_assert_str_eq(st.peers[0].host_name, "a\"b\\");
        cr_assert_str_eq(st.peers[0].dns_name, "e.x");
        status_free(&st);
    }
    free(doc);
}

Test(status, reader_does_not_validate_members_it_does_not_read)
{
    /* Bracket-matched and dropped: tsrun never looks at "x". A member it
     * reads is decoded by jansson (broken_peer_map_is_bad_json). */
    static const char doc[] = "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"x\":tru,"
                              "\"DNSName\":\"a.x\"}}}";
    struct tsr_status st;
    char err[256] = "";
    cr_assert_eq(read_chunked(doc, strlen(doc), 3, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(st.npeers, 1);
    cr_assert_str_eq(st.peers[0].dns_name, "a.x");
    status_free(&st);
    /* The shape of a peer object still is checked. */
    static const char *const bad[] = {
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"x\":1,}}}",
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"x\" 1}}}",
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"x\":1 \"y\":2}}}",
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{\"x\":}}}",
        "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{1:2}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(read_chunked(bad[i], strlen(bad[i]), 4, &st, err, sizeof err), -EAGAIN, "%s",
                     bad[i]);
        cr_assert_eq(status_parse(bad[i], strlen(bad[i]), &st, err, sizeof err), -EINVAL, "%s",
                     bad[i]);
        cr_assert(strstr(err, "bad JSON"), "%s: %s", bad[i], err);
    }
}

/* --- watch-ipn-bus Notify lines, scanned without a tree --- */

Test(status, notify_lines)
{
    struct status_notify n;
    cr_assert_eq(status_notify_parse("{\"State\":6}", 11, &n), 0);
    cr_assert(n.refresh && n.has_state && n.state == 6);
    const char *l =
        "{\"Version\":\"1\",\"NetMap\":{\"Peers\":[{\"a\":\"}\"}]},\"ErrMessage\":\"bad "
        "\\\"key\\\"\"} \n";
    cr_assert_eq(status_notify_parse(l, strlen(l), &n), 0);
    cr_assert(n.refresh);
    cr_assert_not(n.has_state);
    cr_assert_str_eq(n.err, "bad \"key\"");
    l = "{\"Engine\":{\"RBytes\":1},\"BrowseToURL\":\"https://x\"}";
    cr_assert_eq(status_notify_parse(l, strlen(l), &n), 0);
    cr_assert_not(n.refresh);
    cr_assert_str_eq(n.err, "");
    l = "{\"PeersChanged\":null}";
    cr_assert_eq(status_notify_parse(l, strlen(l), &n), 0);
    cr_assert(n.refresh, "present, even null, as json_object_get said");
    l = "{\"State\":\"Running\",\"Prefs\":{}}";
    cr_assert_eq(status_notify_parse(l, strlen(l), &n), 0);
    cr_assert(n.refresh);
    cr_assert_not(n.has_state, "a State that is not a number is not printed");
    l = "{\"St\\u0061te\":2}"; /* escaped key: decoded whole */
    cr_assert_eq(status_notify_parse(l, strlen(l), &n), 0);
    cr_assert(n.has_state && n.state == 2);
    cr_assert_eq(status_notify_parse("{}", 2, &n), 0);
    cr_assert_not(n.refresh);
    static const char *const bad[] = {"",
                                      "[]",
                                      "{",
                                      "{\"State\":6",
                                      "{\"State\":6,}",
                                      "{\"State\" 6}",
                                      "{\"State\":6} x",
                                      "{\"State\":tru}",
                                      "{\"ErrMessage\":\"a\\u12\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(status_notify_parse(bad[i], strlen(bad[i]), &n), -EINVAL, "%s", bad[i]);
}
