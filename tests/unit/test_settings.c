/* One parser for every TSRUN_* value (common/settings.c): the same table of
 * values goes to the shim (config_parse) and to the launcher
 * (inject_check_settings); both must accept and refuse exactly the same. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "inject.h"
#include "settings.h"

struct row {
    const char *key, *value;
    bool ok;
};

static const struct row table[] = {
    {"TSRUN_DEBUG", "1", true},
    {"TSRUN_DEBUG", "9", true},
    {"TSRUN_DEBUG", "true", true},
    {"TSRUN_DEBUG", "false", true},
    {"TSRUN_DEBUG", "yes", true},
    {"TSRUN_DEBUG", "OFF", true},
    {"TSRUN_DEBUG", "", true},
    {"TSRUN_DEBUG", "10", false},
    {"TSRUN_DEBUG", "maybe", false},
    {"TSRUN_DEBUG", "-1", false},
    {"TSRUN_QUIET", "1", true},
    {"TSRUN_QUIET", "on", true},
    {"TSRUN_QUIET", "2", false},
    {"TSRUN_QUIET", "y", false},
    {"TSRUN_SOCKS5_PIPELINE", "0", true},
    {"TSRUN_SOCKS5_PIPELINE", "No", true},
    {"TSRUN_SOCKS5_PIPELINE", "2", false},
    {"TSRUN_CONNECT_TIMEOUT_MS", "1", true},
    {"TSRUN_CONNECT_TIMEOUT_MS", "600000", true},
    {"TSRUN_CONNECT_TIMEOUT_MS", "0", false},
    {"TSRUN_CONNECT_TIMEOUT_MS", "600001", false},
    {"TSRUN_CONNECT_TIMEOUT_MS", "5s", false},
    {"TSRUN_CONNECT_TIMEOUT_MS", " 5", false},
    {"TSRUN_SOCKS5", "127.0.0.1:1055", true},
    {"TSRUN_SOCKS5", "[::1]:1", true},
    {"TSRUN_SOCKS5", "localhost:1055", true},
    {"TSRUN_SOCKS5", "nonsense", false},
    {"TSRUN_SOCKS5", "127.0.0.1:0", false},
    {"TSRUN_SOCKS5", "::1:1055", false},
    {"TSRUN_ROUTES", "all", true},
    {"TSRUN_ROUTES", "10.20.0.0/16, fd00::/8", true},
    {"TSRUN_ROUTES", "garbage", false},
    {"TSRUN_ROUTES", "10.0.0.0/33", false},
    {"TSRUN_NAMES", "/run/names", true},
    {"TSRUN_LOG", "/tmp/shim.log", true},
    {"TSRUN_LOG", "shim.log", false},
};

static const char *one_lookup(const char *key, void *ctx)
{
    const struct row *r = ctx;
    return strcmp(key, r->key) == 0 ? r->value : NULL;
}

Test(settings, shim_and_launcher_agree_on_every_value)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct row *r = &table[i];
        struct config cfg;
        char err[512], env[256];
        bool shim_ok = config_parse(one_lookup, (void *)r, &cfg, err, sizeof err) == 0;
        snprintf(env, sizeof env, "%s=%s", r->key, r->value);
        char *envp[] = {"PATH=/bin", env, NULL};
        bool launcher_ok = inject_check_settings(envp, err, sizeof err) == 0;
        cr_expect_eq(shim_ok, r->ok, "shim: %s", env);
        cr_expect_eq(launcher_ok, r->ok, "launcher: %s", env);
        cr_expect(cfg.enabled, "shim turned itself off for %s", env);
        if (!launcher_ok)
            cr_expect_neq(strstr(err, r->key), NULL, "%s: %s", env, err);
    }
}

Test(settings, every_key_has_a_name_and_an_expectation)
{
    for (int k = 0; k < SETTINGS_NKEYS; k++) {
        cr_assert_eq(settings_key_of(settings_name(k)), k);
        cr_assert_gt(strlen(settings_expected(k)), 3);
        cr_assert_eq(settings_check(k, ""), 0, "empty = unset for %s", settings_name(k));
    }
    cr_assert_eq(settings_key_of("TSRUN_STATE_DIR"), -ENOENT,
                 "launcher-only keys are not the shim's");
}

Test(settings, launcher_ignores_its_own_keys)
{
    char *envp[] = {"TSRUN_STATE_DIR=whatever", "TSRUN_SOCKS5_PORT=x", "TSRUN_TAGS=", NULL};
    char err[128];
    cr_assert_eq(inject_check_settings(envp, err, sizeof err), 0);
}

Test(settings, bool_words)
{
    bool b;
    const char *yes[] = {"1", "true", "True", "YES", "on"}, *no[] = {"0", "false", "no", "Off"};
    for (size_t i = 0; i < 5; i++)
        cr_assert(settings_parse_bool(yes[i], &b) == 0 && b, "%s", yes[i]);
    for (size_t i = 0; i < 4; i++)
        cr_assert(settings_parse_bool(no[i], &b) == 0 && !b, "%s", no[i]);
    cr_assert_eq(settings_parse_bool("", &b), -EINVAL);
    cr_assert_eq(settings_parse_bool("2", &b), -EINVAL);
    cr_assert_eq(settings_parse_bool("t", &b), -EINVAL);
}

Test(settings, ports)
{
    int p;
    cr_assert_eq(settings_parse_port("1", &p), 0);
    cr_assert_eq(settings_parse_port("65535", &p), 0);
    cr_assert_eq(p, 65535);
    cr_assert_eq(settings_parse_port("0", &p), -EINVAL);
    cr_assert_eq(settings_parse_port("65536", &p), -EINVAL);
    cr_assert_eq(settings_parse_port("-1", &p), -EINVAL);
    cr_assert_eq(settings_parse_port("80x", &p), -EINVAL);
}
