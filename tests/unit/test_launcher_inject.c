/* LD_PRELOAD chaining, environment building, shell quoting, shim lookup. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject.h"

static const char *env_get(char **env, const char *key)
{
    size_t n = strlen(key);
    const char *found = NULL;
    int count = 0;
    for (size_t i = 0; env[i]; i++) {
        if (!strncmp(env[i], key, n) && env[i][n] == '=') {
            found = env[i] + n + 1;
            count++;
        }
    }
    cr_assert_leq(count, 1, "%s appears %d times", key, count);
    return found;
}

Test(inject, preload_chain)
{
    char out[256];
    cr_assert_eq(inject_preload_chain(NULL, "/l/libtsshim.so", out, sizeof out), 0);
    cr_assert_str_eq(out, "/l/libtsshim.so");
    cr_assert_eq(inject_preload_chain("", "/l/libtsshim.so", out, sizeof out), 0);
    cr_assert_str_eq(out, "/l/libtsshim.so");
    cr_assert_eq(inject_preload_chain("/x/libasan.so", "/l/libtsshim.so", out, sizeof out), 0);
    cr_assert_str_eq(out, "/l/libtsshim.so:/x/libasan.so");
    cr_assert_eq(inject_preload_chain("/a.so /b.so", "/l/s.so", out, sizeof out), 0);
    cr_assert_str_eq(out, "/l/s.so:/a.so /b.so");
    /* Already there (first, middle, space separated): unchanged. */
    cr_assert_eq(inject_preload_chain("/l/s.so:/a.so", "/l/s.so", out, sizeof out), 0);
    cr_assert_str_eq(out, "/l/s.so:/a.so");
    cr_assert_eq(inject_preload_chain("/a.so:/l/s.so", "/l/s.so", out, sizeof out), 0);
    cr_assert_str_eq(out, "/a.so:/l/s.so");
    cr_assert_eq(inject_preload_chain("/a.so /l/s.so", "/l/s.so", out, sizeof out), 0);
    cr_assert_str_eq(out, "/a.so /l/s.so");
    /* A longer name that merely starts with the shim is another library. */
    cr_assert_eq(inject_preload_chain("/l/s.so.1", "/l/s.so", out, sizeof out), 0);
    cr_assert_str_eq(out, "/l/s.so:/l/s.so.1");
    char tiny[8];
    cr_assert_eq(inject_preload_chain("/a.so", "/l/s.so", tiny, sizeof tiny), -ENAMETOOLONG);
}

Test(inject, build_env)
{
    char *envp[] = {"PATH=/usr/bin",
                    "LD_PRELOAD=/x/other.so",
                    "TSRUN_SOCKS5=1.2.3.4:9",
                    "TSRUN_DEBUG=1",
                    "HOME=/root",
                    "ALL_PROXY=http://old",
                    NULL};
    struct inject_opts o = {.shim = "/b/libtsshim.so",
                            .socks5 = "127.0.0.1:41641",
                            .names = "/s/names",
                            .routes = "10.20.0.0/16"};
    char **env = NULL;
    cr_assert_eq(inject_build_env(envp, &o, &env), 0);
    cr_assert_str_eq(env_get(env, "LD_PRELOAD"), "/b/libtsshim.so:/x/other.so");
    cr_assert_str_eq(env_get(env, "TSRUN_SOCKS5"), "127.0.0.1:41641");
    cr_assert_str_eq(env_get(env, "TSRUN_NAMES"), "/s/names");
    cr_assert_str_eq(env_get(env, "TSRUN_ROUTES"), "10.20.0.0/16");
    cr_assert_str_eq(env_get(env, "TSRUN_DEBUG"), "1", "passed through");
    cr_assert_str_eq(env_get(env, "PATH"), "/usr/bin");
    cr_assert_str_eq(env_get(env, "ALL_PROXY"), "http://old", "proxy env untouched unless asked");
    cr_assert_null(env_get(env, "HTTPS_PROXY"));
    inject_free_env(env);
}

/* Pipelining only where tsrun knows the server is its own tailscaled, and
 * never over the user's own choice. */
Test(inject, build_env_pipeline_only_when_asked_and_not_overriding)
{
    char *plain[] = {"PATH=/usr/bin", NULL};
    char *chosen[] = {"TSRUN_SOCKS5_PIPELINE=0", NULL};
    struct inject_opts o = {.socks5 = "127.0.0.1:41641", .pipeline = true};
    char **env = NULL;
    cr_assert_eq(inject_build_env(plain, &o, &env), 0);
    cr_assert_str_eq(env_get(env, "TSRUN_SOCKS5_PIPELINE"), "1");
    inject_free_env(env);
    cr_assert_eq(inject_build_env(chosen, &o, &env), 0);
    cr_assert_str_eq(env_get(env, "TSRUN_SOCKS5_PIPELINE"), "0", "the user's value stays");
    inject_free_env(env);
    o.pipeline = false;
    cr_assert_eq(inject_build_env(plain, &o, &env), 0);
    cr_assert_null(env_get(env, "TSRUN_SOCKS5_PIPELINE"), "an external server gets the default");
    inject_free_env(env);
}

Test(inject, build_env_static_proxy_vars)
{
    char *envp[] = {"http_proxy=http://corp:3128", "TSRUN_ROUTES=all", NULL};
    struct inject_opts o = {.shim = "/b/s.so", .socks5 = "127.0.0.1:1055", .proxy_env = true};
    char **env = NULL;
    cr_assert_eq(inject_build_env(envp, &o, &env), 0);
    const char *vars[] = {"ALL_PROXY", "HTTPS_PROXY", "HTTP_PROXY",
                          "all_proxy", "https_proxy", "http_proxy"};
    for (size_t i = 0; i < 6; i++)
        cr_assert_str_eq(env_get(env, vars[i]), "socks5h://127.0.0.1:1055", "%s", vars[i]);
    cr_assert_str_eq(env_get(env, "NO_PROXY"), INJECT_NO_PROXY);
    cr_assert_str_eq(env_get(env, "LD_PRELOAD"), "/b/s.so");
    cr_assert_str_eq(env_get(env, "TSRUN_ROUTES"), "all", "the user's own value stays");
    cr_assert_null(env_get(env, "TSRUN_NAMES"));
    inject_free_env(env);
}

Test(inject, build_env_http_proxy_for_go)
{
    char *envp[] = {"NO_PROXY=.corp", "HTTPS_PROXY=http://corp:3128", NULL};
    struct inject_opts o = {
        .socks5 = "127.0.0.1:1055", .http_proxy = "127.0.0.1:1055", .proxy_env = true};
    char **env = NULL;
    cr_assert_eq(inject_build_env(envp, &o, &env), 0);
    cr_assert_str_eq(env_get(env, "ALL_PROXY"), "socks5h://127.0.0.1:1055");
    cr_assert_str_eq(env_get(env, "all_proxy"), "socks5h://127.0.0.1:1055");
    const char *vars[] = {"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"};
    for (size_t i = 0; i < 4; i++)
        cr_assert_str_eq(env_get(env, vars[i]), "http://127.0.0.1:1055", "%s", vars[i]);
    cr_assert_str_eq(env_get(env, "NO_PROXY"), INJECT_NO_PROXY ",.corp", "the caller's list kept");
    cr_assert_str_eq(env_get(env, "no_proxy"), INJECT_NO_PROXY ",.corp");
    inject_free_env(env);
}

Test(inject, build_env_empty)
{
    char *envp[] = {NULL};
    struct inject_opts o = {0};
    char **env = NULL;
    cr_assert_eq(inject_build_env(envp, &o, &env), 0);
    cr_assert_not_null(env);
    inject_free_env(env);
}

Test(inject, clean_env_for_tailscaled)
{
    char *envp[] = {"LD_PRELOAD=/b/s.so",
                    "TSRUN_SOCKS5=x",
                    "TSRUN_NAMES=y",
                    "PATH=/bin",
                    "TS_AUTHKEY=k",
                    "BED_PEER_NETNS=/proc/1/ns/net",
                    NULL};
    char **env = inject_clean_env(envp);
    cr_assert_not_null(env);
    cr_assert_null(env_get(env, "LD_PRELOAD"));
    cr_assert_null(env_get(env, "TSRUN_SOCKS5"));
    cr_assert_null(env_get(env, "TSRUN_NAMES"));
    cr_assert_str_eq(env_get(env, "PATH"), "/bin");
    cr_assert_str_eq(env_get(env, "BED_PEER_NETNS"), "/proc/1/ns/net");
    inject_free_env(env);
}

Test(inject, shell_quote)
{
    const struct {
        const char *in, *want;
    } t[] = {
        {"plain", "'plain'"},
        {"", "''"},
        {"it's", "'it'\\''s'"},
        {"$(rm -rf /) `x` \"q\" \\", "'$(rm -rf /) `x` \"q\" \\'"},
        {"/a b/c.so:/d", "'/a b/c.so:/d'"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char *q = inject_shell_quote(t[i].in);
        cr_assert_str_eq(q, t[i].want);
        free(q);
    }
}

static const char *present;

static bool fake_exists(const char *p)
{
    return present && !strcmp(p, present);
}

Test(inject, pick_shim)
{
    char out[256];
    present = "/opt/b/libtsshim.so";
    cr_assert_eq(inject_pick_shim(NULL, "/opt/b", fake_exists, out, sizeof out), 0);
    cr_assert_str_eq(out, "/opt/b/libtsshim.so");
    present = "/usr/local/bin/../lib/tsrun/libtsshim.so";
    cr_assert_eq(inject_pick_shim("", "/usr/local/bin", fake_exists, out, sizeof out), 0);
    cr_assert_str_eq(out, "/usr/local/bin/../lib/tsrun/libtsshim.so");
    present = "/custom/s.so";
    cr_assert_eq(inject_pick_shim("/custom/s.so", "/usr/local/bin", fake_exists, out, sizeof out),
                 0);
    cr_assert_str_eq(out, "/custom/s.so");
    cr_assert_eq(inject_pick_shim("/missing.so", "/custom", fake_exists, out, sizeof out), -ENOENT,
                 "TSRUN_SHIM wins even when missing: no silent fallback");
    present = NULL;
    cr_assert_eq(inject_pick_shim(NULL, "/x", fake_exists, out, sizeof out), -ENOENT);
}

Test(inject, resolve)
{
    char out[4096];
    setenv("PATH", "/nonexistent:/bin:/usr/bin", 1);
    cr_assert_eq(inject_resolve("sh", out, sizeof out), 0);
    cr_assert(strstr(out, "/sh"));
    cr_assert_eq(inject_resolve("no-such-program-tsrun", out, sizeof out), -ENOENT);
    cr_assert_eq(inject_resolve("/etc/passwd", out, sizeof out), -EACCES);
    cr_assert_eq(inject_resolve("/nonexistent/x", out, sizeof out), -ENOENT);
    cr_assert_eq(inject_resolve("", out, sizeof out), -ENOENT);
}

Test(inject, musl_shim_next_to_shim)
{
    char dir[] = "/tmp/test-inject.XXXXXX", path[128], out[256], cmd[160];
    cr_assert_not_null(mkdtemp(dir));
    unsetenv("TSRUN_SHIM_MUSL");
    snprintf(path, sizeof path, "%s/libtsshim.so", dir);
    cr_assert_eq(inject_find_musl_shim(path, out, sizeof out), -ENOENT);
    snprintf(cmd, sizeof cmd, "mkdir '%s/musl' && touch '%s/musl/libtsshim.so'", dir, dir);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(inject_find_musl_shim(path, out, sizeof out), 0);
    snprintf(path, sizeof path, "%s/musl/libtsshim.so", dir);
    cr_assert_str_eq(out, path);
    setenv("TSRUN_SHIM_MUSL", "/nonexistent/m.so", 1);
    cr_assert_eq(inject_find_musl_shim(path, out, sizeof out), -ENOENT);
    unsetenv("TSRUN_SHIM_MUSL");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
