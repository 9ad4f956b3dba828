/* Name map writer: exact text (docs/name-map.md) and atomic replacement. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "namemap.h"
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

static const char expected[] =
    "tsrun-names 1\n"
    "# generated 2026-11-23T20:00:00Z from tailscaled 1.102.3\n"
    "backend Running\n"
    "suffix tail1a2b3.ts.net\n"
    "node sandbox-1.tail1a2b3.ts.net self online 100.101.7.42 "
    "fd7a:115c:a1e0::6f01:72a\n"
    "node db.tail1a2b3.ts.net peer online 100.88.12.5 fd7a:115c:a1e0::d401:c05\n"
    "node old.tail1a2b3.ts.net peer offline 100.77.1.2\n"
    "end 3\n";

#define T0 1795464000 /* 2026-11-23T20:00:00Z */

static void load(struct tsr_status *st)
{
    char err[256];
    cr_assert_eq(status_parse(fixture, strlen(fixture), st, err, sizeof err), 0, "%s", err);
}

Test(namemap, exact_text)
{
    struct tsr_status st;
    char *text = NULL;
    size_t len = 0;
    load(&st);
    cr_assert_eq(namemap_format(&st, T0, &text, &len), 0);
    cr_assert_str_eq(text, expected);
    cr_assert_eq(len, strlen(expected));
    free(text);
    status_free(&st);
}

Test(namemap, empty_status)
{
    const char *j = "{\"BackendState\":\"NeedsLogin\",\"Peer\":null}";
    struct tsr_status st;
    char err[64], *text;
    cr_assert_eq(status_parse(j, strlen(j), &st, err, sizeof err), 0);
    cr_assert_eq(namemap_format(&st, T0, &text, NULL), 0);
    cr_assert_str_eq(
        text, "tsrun-names 1\n# generated 2026-11-23T20:00:00Z from tailscaled unknown\n"
              "backend NeedsLogin\nend 0\n");
    free(text);
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
    cr_assert_eq(tsr_read_file(path, &text, NULL), 0);
    cr_assert_str_eq(text, expected);
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
    cr_assert_eq(tsr_read_file(path, &text, NULL), 0);
    cr_assert(strstr(text, "node db.tail1a2b3.ts.net peer offline"));
    cr_assert(strstr(text, "2026-11-23T20:02:00Z"));
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
