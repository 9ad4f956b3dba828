/* Name map writer: what the launcher writes is what the shim reads (one
 * format, common/namemap_format.h), and atomic replacement. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "namemap.h"
#include "names.h"
#include "tsrun.h"

static const char fixture[] =
    "{\"Version\":\"1.102.3\",\"BackendState\":\"Running\","
    "\"CurrentTailnet\":{\"Name\":\"example.com\",\"MagicDNSSuffix\":\"tail1a2b3.ts.net\"},"
    "\"Self\":{\"DNSName\":\"sandbox-1.tail1a2b3.ts.net.\",\"Online\":true,"
    "\"TailscaleIPs\":[\"100.101.7.42\",\"fd7a:115c:a1e0::6f01:72a\"]},"
    "\"Peer\":{"
    "\"nodekey:2\":{\"DNSName\":\"old.tail1a2b3.ts.net.\",\"TailscaleIPs\":[\"100.77.1.2\"],"
    "\"Online\":false},"
    "\"nodekey:1\":{\"DNSName\":\"DB.tail1a2b3.ts.net.\",\"Online\":true,"
    "\"TailscaleIPs\":[\"100.88.12.5\",\"fd7a:115c:a1e0::d401:c05\"]},"
    "\"nodekey:3\":{\"DNSName\":\"\",\"HostName\":\"nameless\",\"TailscaleIPs\":[\"100.70.0.1\"]},"
    "\"nodekey:4\":{\"DNSName\":\"noips.tail1a2b3.ts.net.\",\"TailscaleIPs\":null}}}";

#define T0 1795464000 /* 2026-11-23T20:00:00Z */

static void load(struct tsr_status *st)
{
    char err[256];
    cr_assert_eq(status_parse(fixture, strlen(fixture), st, err, sizeof err), 0, "%s", err);
}

/* The launcher writes, the shim reads: every field round-trips. */
static struct names_map *shim_read(const char *img, size_t len)
{
    struct names_map *m = NULL;
    char err[160];
    cr_assert_eq(names_parse(img, len, &m, err, sizeof err), 0, "%s", err);
    return m;
}

static void assert_addr(const struct names_addr *a, int family, const char *text)
{
    uint8_t want[16] = {0};
    cr_assert_eq(a->family, family);
    cr_assert_eq(inet_pton(family, text, want), 1);
    cr_assert_eq(memcmp(a->bytes, want, family == AF_INET ? 4 : 16), 0, "%s", text);
}

Test(namemap, launcher_writes_shim_reads)
{
    struct tsr_status st;
    char *img = NULL;
    size_t len = 0;
    struct names_entry e;
    load(&st);
    cr_assert_eq(namemap_format(&st, T0, &img, &len), 0);
    cr_assert_eq(memcmp(img, "tsrun-names 2\n", 14), 0, "head -n1 names the version");
    struct names_map *m = shim_read(img, len);
    cr_assert_eq(names_map_count(m), 3, "nameless and address-less peers left out");
    cr_assert_str_eq(names_map_backend(m), "Running");
    cr_assert_str_eq(names_map_suffix(m), "tail1a2b3.ts.net");
    cr_assert_eq(names_map_lookup(m, "sandbox-1", &e), NAMES_FOUND);
    cr_assert_str_eq(e.fqdn, "sandbox-1.tail1a2b3.ts.net");
    cr_assert_eq(e.state, NAMES_ONLINE);
    cr_assert_eq(e.naddrs, 2);
    assert_addr(&e.addr[0], AF_INET, "100.101.7.42");
    assert_addr(&e.addr[1], AF_INET6, "fd7a:115c:a1e0::6f01:72a");
    cr_assert_eq(names_map_lookup(m, "DB.tail1a2b3.ts.net.", &e), NAMES_FOUND);
    cr_assert_str_eq(e.fqdn, "db.tail1a2b3.ts.net");
    assert_addr(&e.addr[1], AF_INET6, "fd7a:115c:a1e0::d401:c05");
    cr_assert_eq(names_map_lookup(m, "old", &e), NAMES_FOUND);
    cr_assert_eq(e.state, NAMES_OFFLINE);
    cr_assert_eq(e.naddrs, 1);
    cr_assert_eq(names_map_lookup(m, "noips.tail1a2b3.ts.net", &e), NAMES_MISSING);
    uint8_t a[4] = {100, 77, 1, 2};
    cr_assert(names_map_lookup_addr(m, AF_INET, a, &e));
    cr_assert_str_eq(e.fqdn, "old.tail1a2b3.ts.net");
    names_map_free(m);
    free(img);
    status_free(&st);
}

Test(namemap, empty_status)
{
    const char *j = "{\"BackendState\":\"NeedsLogin\",\"Peer\":null}";
    struct tsr_status st;
    char err[64], *img;
    size_t len;
    cr_assert_eq(status_parse(j, strlen(j), &st, err, sizeof err), 0);
    cr_assert_eq(namemap_format(&st, T0, &img, &len), 0);
    struct names_map *m = shim_read(img, len);
    cr_assert_eq(names_map_count(m), 0);
    cr_assert_str_eq(names_map_backend(m), "NeedsLogin");
    cr_assert_str_eq(names_map_suffix(m), "");
    names_map_free(m);
    free(img);
    status_free(&st);
}

/* 10,000 peers (issue 12, kind 8): written, read back, every one found by
 * name and by address. */
Test(namemap, ten_thousand_peers)
{
    enum { N = 10000 };
    struct tsr_status st;
    char *img = NULL;
    size_t len = 0;
    load(&st);
    struct status_node *p = calloc(N, sizeof *p);
    cr_assert_not_null(p);
    for (int i = 0; i < N; i++) {
        char name[64];
        snprintf(name, sizeof name, "node-%05d.tail1a2b3.ts.net", i);
        p[i].dns_name = strdup(name);
        snprintf(p[i].ips[0], sizeof p[i].ips[0], "100.%d.%d.%d", 64 + i / 65536, i / 256 % 256,
                 i % 256);
        snprintf(p[i].ips[1], sizeof p[i].ips[1], "fd7a:115c:a1e0::%x", i + 1);
        p[i].nips = 2;
        p[i].online = i % 3 != 0;
    }
    struct status_node *old = st.peers;
    size_t old_n = st.npeers;
    st.peers = p;
    st.npeers = N;
    cr_assert_eq(namemap_format(&st, T0, &img, &len), 0);
    struct names_map *m = shim_read(img, len);
    cr_assert_eq(names_map_count(m), N + 1);
    for (int i = 0; i < N; i++) {
        struct names_entry e;
        char shortname[32];
        snprintf(shortname, sizeof shortname, "NODE-%05d", i);
        cr_assert_eq(names_map_lookup(m, shortname, &e), NAMES_FOUND, "%s", shortname);
        cr_assert_str_eq(e.fqdn, p[i].dns_name);
        cr_assert_eq(e.state, i % 3 != 0 ? NAMES_ONLINE : NAMES_OFFLINE);
        assert_addr(&e.addr[0], AF_INET, p[i].ips[0]);
        uint8_t v6[16];
        inet_pton(AF_INET6, p[i].ips[1], v6);
        cr_assert(names_map_lookup_addr(m, AF_INET6, v6, &e));
        cr_assert_str_eq(e.fqdn, p[i].dns_name);
    }
    cr_assert_eq(names_map_lookup(m, "node-10000", NULL), NAMES_NOT_TAILNET);
    cr_assert_eq(names_map_lookup(m, "node-10000.tail1a2b3.ts.net", NULL), NAMES_MISSING);
    names_map_free(m);
    free(img);
    for (int i = 0; i < N; i++)
        free(p[i].dns_name);
    free(p);
    st.peers = old;
    st.npeers = old_n;
    status_free(&st);
}

static char dir[64];

static void mkdir_tmp(void)
{
    strcpy(dir, "/tmp/test-namemap.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(namemap, atomic_write_and_skip_when_unchanged, .init = mkdir_tmp, .fini = rm_tmp)
{
    struct tsr_status st;
    char path[128], *text = NULL;
    size_t len = 0;
    int changed = -1;
    struct stat a, b;
    load(&st);
    snprintf(path, sizeof path, "%s/names", dir);
    /* An old file is replaced: a new inode, never written in place. */
    FILE *f = fopen(path, "w");
    fputs("tsrun-names 1\nend 0\n", f);
    fclose(f);
    cr_assert_eq(stat(path, &a), 0);
    cr_assert_eq(namemap_write(path, &st, T0, &changed), 0);
    cr_assert_eq(changed, 1);
    cr_assert_eq(stat(path, &b), 0);
    cr_assert_neq(a.st_ino, b.st_ino, "rename, not rewrite");
    cr_assert_eq(b.st_mode & 0777, 0644);
    cr_assert_eq(tsr_read_file(path, &text, &len), 0);
    struct names_map *m = shim_read(text, len);
    cr_assert_eq(names_map_count(m), 3);
    names_map_free(m);
    free(text);
    /* Same nodes a minute later: left alone (no fsync on the warm path). */
    cr_assert_eq(namemap_write(path, &st, T0 + 60, &changed), 0);
    cr_assert_eq(changed, 0);
    cr_assert_eq(stat(path, &a), 0);
    cr_assert_eq(a.st_ino, b.st_ino);
    /* A change rewrites. */
    for (size_t i = 0; i < st.npeers; i++)
        if (!strcmp(st.peers[i].dns_name, "db.tail1a2b3.ts.net"))
            st.peers[i].online = false;
    cr_assert_eq(namemap_write(path, &st, T0 + 120, &changed), 0);
    cr_assert_eq(changed, 1);
    cr_assert_eq(tsr_read_file(path, &text, &len), 0);
    m = shim_read(text, len);
    struct names_entry e;
    cr_assert_eq(names_map_lookup(m, "db", &e), NAMES_FOUND);
    cr_assert_eq(e.state, NAMES_OFFLINE);
    names_map_free(m);
    free(text);
    /* No temp files left behind. */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
    cr_assert_eq(system(cmd), 0);
    status_free(&st);
}

Test(namemap, write_into_missing_dir_fails_cleanly)
{
    struct tsr_status st;
    load(&st);
    cr_assert_eq(namemap_write("/nonexistent-dir-tsrun/names", &st, T0, NULL), -ENOENT);
    status_free(&st);
}

/* Over NAMES_MAX_NODES: the writer refuses the whole map (the old file
 * stays) rather than writing one the shim would refuse. */
Test(namemap, over_the_node_limit_is_refused)
{
    enum { N = NAMES_MAX_NODES + 1 };
    struct tsr_status st;
    char *img = (char *)1;
    load(&st);
    struct status_node *p = calloc(N, sizeof *p), *old = st.peers;
    size_t old_n = st.npeers;
    cr_assert_not_null(p);
    for (int i = 0; i < N; i++) {
        char name[64];
        snprintf(name, sizeof name, "n%d.big.ts.net", i);
        p[i].dns_name = strdup(name);
        snprintf(p[i].ips[0], sizeof p[i].ips[0], "100.%d.%d.%d", 64 + i / 65536, i / 256 % 256,
                 i % 256);
        p[i].nips = 1;
    }
    st.peers = p;
    st.npeers = N;
    cr_assert_eq(namemap_format(&st, T0, &img, NULL), -E2BIG);
    cr_assert_eq(img, (char *)1, "*out untouched");
    for (int i = 0; i < N; i++)
        free(p[i].dns_name);
    free(p);
    st.peers = old;
    st.npeers = old_n;
    status_free(&st);
}
