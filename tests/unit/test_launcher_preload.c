/* /etc/ld.so.preload editing and /etc/tsrun/tsrun.conf text (pure). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "preload.h"

#define SHIM "/usr/local/lib/tsrun/libtsshim.so"
#define MARK PRELOAD_MARKER "\n"

static char *add(const char *text, int want_rc)
{
    char *out = NULL;
    int rc = preload_list_add(text, SHIM, &out);
    cr_assert_eq(rc, want_rc, "add(%s): rc %d, want %d", text ? text : "NULL", rc, want_rc);
    return out;
}

static char *rem(const char *text, int want_rc, bool want_remove)
{
    char *out = NULL;
    bool remove_file = !want_remove;
    int rc = preload_list_remove(text, SHIM, &out, &remove_file);
    cr_assert_eq(rc, want_rc, "remove(%s): rc %d, want %d", text, rc, want_rc);
    cr_assert_eq(remove_file, want_remove, "remove(%s): remove_file %d", text, remove_file);
    return out;
}

Test(preload, add_creates_file_with_marker)
{
    char *out = add(NULL, 1);
    cr_assert_str_eq(out, MARK SHIM "\n");
    free(out);
}

Test(preload, add_to_empty_file)
{
    char *out = add("", 1);
    cr_assert_str_eq(out, SHIM "\n");
    free(out);
}

Test(preload, add_keeps_other_libs_and_comments_in_order)
{
    const char *in = "# site preloads\n/usr/lib/libfoo.so  /usr/lib/libbar.so # trailing\n\n/lib/libz.so";
    char *out = add(in, 1);
    cr_assert_str_eq(out, "# site preloads\n/usr/lib/libfoo.so  /usr/lib/libbar.so # trailing\n\n"
                          "/lib/libz.so\n" SHIM "\n");
    free(out);
}

Test(preload, add_is_idempotent)
{
    char *once = add("/usr/lib/libfoo.so\n", 1);
    char *twice = add(once, 0);
    cr_assert_str_eq(twice, once);
    free(once);
    free(twice);
}

Test(preload, add_no_duplicate_in_any_position_or_separator)
{
    const char *cases[] = {
        SHIM "\n/usr/lib/libfoo.so\n",
        "/usr/lib/libfoo.so:" SHIM ":/lib/x.so\n",
        ("/usr/lib/libfoo.so\t" SHIM),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = add(cases[i], 0);
        cr_assert_str_eq(out, cases[i]);
        free(out);
    }
}

Test(preload, add_ignores_path_in_a_comment)
{
    char *out = add("# " SHIM "\n", 1);
    cr_assert_str_eq(out, "# " SHIM "\n" SHIM "\n");
    free(out);
}

Test(preload, add_replaces_a_stale_shim_path)
{
    char *out = add("/usr/lib/libfoo.so /opt/old/libtsshim.so\n/lib/x.so\n", 1);
    cr_assert_str_eq(out, "/usr/lib/libfoo.so\n/lib/x.so\n" SHIM "\n");
    free(out);
}

Test(preload, add_not_fooled_by_similar_names)
{
    char *out = add("/usr/lib/mylibtsshim.so /usr/lib/libtsshim.so.1\n", 1);
    cr_assert_str_eq(out, "/usr/lib/mylibtsshim.so /usr/lib/libtsshim.so.1\n" SHIM "\n");
    free(out);
}

Test(preload, add_rejects_unlistable_paths)
{
    char *out = NULL;
    cr_assert_eq(preload_list_add("", "relative/libtsshim.so", &out), -EINVAL);
    cr_assert_eq(preload_list_add("", "/a b/libtsshim.so", &out), -EINVAL);
    cr_assert_eq(preload_list_add("", "/a:b/libtsshim.so", &out), -EINVAL);
    cr_assert_eq(preload_list_add("", "/a#b/libtsshim.so", &out), -EINVAL);
    cr_assert_null(out);
}

Test(preload, remove_own_line)
{
    char *out = rem("/usr/lib/libfoo.so\n" SHIM "\n/lib/x.so\n", 1, false);
    cr_assert_str_eq(out, "/usr/lib/libfoo.so\n/lib/x.so\n");
    free(out);
}

Test(preload, remove_from_a_shared_line_keeps_the_comment)
{
    char *out = rem("/usr/lib/libfoo.so:" SHIM " /lib/x.so # keep me\n", 1, false);
    cr_assert_str_eq(out, "/usr/lib/libfoo.so /lib/x.so # keep me\n");
    free(out);
    out = rem(SHIM " # why\n", 1, false);
    cr_assert_str_eq(out, "# why\n");
    free(out);
}

Test(preload, remove_absent_is_a_no_op)
{
    const char *in = "# nothing of ours\n/usr/lib/libfoo.so\n";
    char *out = rem(in, 0, false);
    cr_assert_str_eq(out, in);
    free(out);
}

Test(preload, remove_every_copy_and_stale_paths)
{
    char *out = rem(SHIM "\n/opt/old/libtsshim.so\n/usr/lib/libfoo.so " SHIM "\n", 1, false);
    cr_assert_str_eq(out, "/usr/lib/libfoo.so\n");
    free(out);
}

Test(preload, remove_last_entry_leaves_empty_file_it_did_not_create)
{
    char *out = rem(SHIM "\n", 1, false);
    cr_assert_str_eq(out, "");
    free(out);
}

Test(preload, remove_deletes_the_file_it_created)
{
    char *created = add(NULL, 1);
    char *out = rem(created, 1, true);
    cr_assert_str_eq(out, MARK);
    free(created);
    free(out);
}

Test(preload, created_file_with_other_entries_stays)
{
    char *created = add(NULL, 1);
    size_t n = strlen(created);
    char *more = malloc(n + 32);
    memcpy(more, created, n);
    strcpy(more + n, "/usr/lib/libfoo.so\n");
    char *out = rem(more, 1, false);
    cr_assert_str_eq(out, MARK "/usr/lib/libfoo.so\n");
    free(created);
    free(more);
    free(out);
}

Test(preload, add_then_remove_round_trip)
{
    const char *in = "# a\n/usr/lib/libfoo.so # b\n/lib/x.so\n";
    char *added = add(in, 1);
    cr_assert(preload_list_has(added, SHIM));
    char *back = rem(added, 1, false);
    cr_assert_str_eq(back, in);
    cr_assert_not(preload_list_has(back, SHIM));
    free(added);
    free(back);
}

Test(preload, has)
{
    cr_assert(preload_list_has("a:" SHIM, SHIM));
    cr_assert_not(preload_list_has("#" SHIM, SHIM));
    cr_assert_not(preload_list_has(SHIM "x", SHIM));
    cr_assert_not(preload_list_has(NULL, SHIM));
}

Test(preload, socks5_valid)
{
    cr_assert(preload_socks5_valid("127.0.0.1:1055"));
    cr_assert(preload_socks5_valid("[::1]:1055"));
    cr_assert_not(preload_socks5_valid("localhost:1055"));
    cr_assert_not(preload_socks5_valid("127.0.0.1"));
    cr_assert_not(preload_socks5_valid("127.0.0.1:0"));
    cr_assert_not(preload_socks5_valid("127.0.0.1:65536"));
    cr_assert_not(preload_socks5_valid("127.0.0.1:+80"));
    cr_assert_not(preload_socks5_valid("::1:1055"));
    cr_assert_not(preload_socks5_valid(""));
}

/* The text install-preload writes is what the shim's parser accepts. */
Test(preload, conf_text_parses_in_the_shim)
{
    struct preload_conf c = {.socks5 = "127.0.0.1:4321", .names = "/var/lib/tsrun/names",
                             .routes = "10.20.0.0/16"};
    char *text = NULL, err[256] = "", buf[64];
    cr_assert_eq(preload_conf_text(&c, &text), 0);
    struct config cfg;
    cr_assert_eq(config_parse_file_text(text, &cfg, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(config_socks5_text(&cfg, buf, sizeof buf), "127.0.0.1:4321");
    cr_assert_str_eq(cfg.names_path, "/var/lib/tsrun/names");
    cr_assert(cfg.enabled);
    cr_assert_not(cfg.quiet, "the hint line stays on in global mode");
    cr_assert_not_null(strstr(text, "routes = 10.20.0.0/16\n"));
    free(text);
}

Test(preload, conf_text_optional_keys_and_v6)
{
    struct preload_conf c = {.socks5 = "[::1]:1055"};
    char *text = NULL, err[256] = "", buf[64];
    cr_assert_eq(preload_conf_text(&c, &text), 0);
    cr_assert_null(strstr(text, "names ="));
    cr_assert_null(strstr(text, "routes ="));
    struct config cfg;
    cr_assert_eq(config_parse_file_text(text, &cfg, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(config_socks5_text(&cfg, buf, sizeof buf), "[::1]:1055");
    cr_assert_str_eq(cfg.names_path, "");
    free(text);
}

Test(preload, conf_text_rejects_bad_values)
{
    char *text = NULL;
    struct preload_conf bad[] = {
        {.socks5 = "nope"},
        {.socks5 = "127.0.0.1:1055", .names = "relative/names"},
        {.socks5 = "127.0.0.1:1055", .names = "/a\nsocks5 = 1.2.3.4:1"},
        {.socks5 = "127.0.0.1:1055", .routes = "all\nnames = /x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(preload_conf_text(&bad[i], &text), -EINVAL, "case %zu", i);
    cr_assert_null(text);
}
