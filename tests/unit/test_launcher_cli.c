/* tsrun argument parsing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* argv must outlive the parse: c->argv points into it. */
static char *argv_store[32];

#define PARSE(c, ...) parse_list((c), (char *[]){"tsrun", __VA_ARGS__, NULL})

static int parse_list(struct cli *c, char **list)
{
    int n = 0;
    char err[256] = "";
    while (list[n] && n < 31) {
        argv_store[n] = list[n];
        n++;
    }
    argv_store[n] = NULL;
    return cli_parse(n, argv_store, c, err, sizeof err);
}

Test(cli, command_with_args)
{
    struct cli c;
    char *argv[] = {"tsrun", "git", "ls-remote", "http://100.101.7.42:7420/x.git", NULL};
    char err[256];
    cr_assert_eq(cli_parse(4, argv, &c, err, sizeof err), 0);
    cr_assert_eq(c.cmd, CLI_RUN);
    cr_assert_eq(c.argc, 3);
    cr_assert_str_eq(c.argv[0], "git");
    cr_assert_str_eq(c.argv[2], "http://100.101.7.42:7420/x.git");
    cr_assert_eq(c.timeout_s, CLI_DEFAULT_TIMEOUT);
}

Test(cli, options_before_command_and_command_options_untouched)
{
    struct cli c;
    char *argv[] = {"tsrun",       "--accept-routes",
                    "--timeout=5", "--socks5-port",
                    "1055",        "-v",
                    "curl",        "-s",
                    "--socks5",    "x",
                    NULL};
    char err[256];
    cr_assert_eq(cli_parse(10, argv, &c, err, sizeof err), 0, "%s", err);
    cr_assert(c.accept_routes);
    cr_assert(c.verbose);
    cr_assert_eq(c.timeout_s, 5);
    cr_assert_eq(c.socks5_port, 1055);
    cr_assert_null(c.socks5);
    cr_assert_eq(c.cmd, CLI_RUN);
    cr_assert_eq(c.argc, 4);
    cr_assert_str_eq(c.argv[2], "--socks5");
}

Test(cli, double_dash_runs_a_program_called_up)
{
    struct cli c;
    cr_assert_eq(PARSE(&c, "--", "up", "x"), 0);
    cr_assert_eq(c.cmd, CLI_RUN);
    cr_assert_str_eq(c.argv[0], "up");
    cr_assert_eq(c.argc, 2);
}

Test(cli, subcommands)
{
    struct cli c;
    cr_assert_eq(PARSE(&c, "up"), 0);
    cr_assert_eq(c.cmd, CLI_UP);
    cr_assert_not(c.background);
    cr_assert_eq(PARSE(&c, "up", "--background"), 0);
    cr_assert(c.background);
    cr_assert_eq(PARSE(&c, "--ephemeral", "up", "--timeout", "9"), 0);
    cr_assert(c.ephemeral);
    cr_assert_eq(c.timeout_s, 9);
    cr_assert_eq(PARSE(&c, "down"), 0);
    cr_assert_eq(c.cmd, CLI_DOWN);
    cr_assert_eq(PARSE(&c, "status", "--json"), 0);
    cr_assert_eq(c.cmd, CLI_STATUS);
    cr_assert(c.json);
    cr_assert_eq(PARSE(&c, "env"), 0);
    cr_assert_eq(c.cmd, CLI_ENV);
    cr_assert_eq(PARSE(&c, "doctor", "curl", "-s"), 0);
    cr_assert_eq(c.cmd, CLI_DOCTOR);
    cr_assert_eq(c.argc, 2);
    cr_assert_str_eq(c.argv[0], "curl");
    cr_assert_eq(PARSE(&c, "doctor"), 0);
    cr_assert_eq(c.argc, 0);
}

Test(cli, help_and_version)
{
    struct cli c;
    cr_assert_eq(PARSE(&c, "--help"), 0);
    cr_assert_eq(c.cmd, CLI_HELP);
    cr_assert_eq(PARSE(&c, "-h", "curl"), 0);
    cr_assert_eq(c.cmd, CLI_HELP);
    cr_assert_eq(PARSE(&c, "--version"), 0);
    cr_assert_eq(c.cmd, CLI_VERSION);
    cr_assert_eq(PARSE(&c, "status", "--help"), 0);
    cr_assert(c.help);
    cr_assert_str_eq(c.help_topic, "status");
    cr_assert(strstr(cli_usage("status"), "--json"));
    cr_assert(strstr(cli_usage("up"), "--background"));
    cr_assert(strstr(cli_usage(NULL), "doctor"));
    cr_assert_eq(PARSE(&c, "help", "env"), 0);
    cr_assert_str_eq(c.help_topic, "env");
}

Test(cli, socket_socks5_state_dir)
{
    struct cli c;
    cr_assert_eq(PARSE(&c, "--socket", "/run/ts.sock", "--socks5=127.0.0.1:1055", "--state-dir",
                       "/tmp/s", "true"),
                 0);
    cr_assert_str_eq(c.socket, "/run/ts.sock");
    cr_assert_str_eq(c.socks5, "127.0.0.1:1055");
    cr_assert_str_eq(c.state_dir, "/tmp/s");
}

Test(cli, errors)
{
    struct cli c;
    char *argv0[] = {"tsrun", NULL};
    char err[256] = "";
    cr_assert_eq(cli_parse(1, argv0, &c, err, sizeof err), -EINVAL);
    cr_assert(strstr(err, "no COMMAND"));
    cr_assert_eq(PARSE(&c, "--bogus", "x"), -EINVAL);
    cr_assert_eq(PARSE(&c, "--timeout", "0", "x"), -EINVAL);
    cr_assert_eq(PARSE(&c, "--timeout", "ten", "x"), -EINVAL);
    cr_assert_eq(PARSE(&c, "--socks5-port", "70000", "x"), -EINVAL);
    cr_assert_eq(PARSE(&c, "--socket"), -EINVAL);
    cr_assert_eq(PARSE(&c, "--"), -EINVAL);
    cr_assert_eq(PARSE(&c, "status", "--bogus"), -EINVAL);
    cr_assert_eq(PARSE(&c, "down", "now"), -EINVAL);
}

Test(cli, install_preload_is_a_subcommand_with_its_options)
{
    struct cli c;
    cr_assert_eq(PARSE(&c, "--socks5-port", "1055", "install-preload", "--root", "/r",
                       "--socks5=127.0.0.1:9", "--names", "/n", "--routes=all", "--shim", "/s.so"),
                 0);
    cr_assert_eq(c.cmd, CLI_INSTALL_PRELOAD);
    cr_assert_str_eq(c.preload.root, "/r");
    cr_assert_str_eq(c.preload.socks5, "127.0.0.1:9");
    cr_assert_null(c.socks5, "the subcommand's --socks5 is not the global one");
    cr_assert_str_eq(c.preload.names, "/n");
    cr_assert_str_eq(c.preload.routes, "all");
    cr_assert_str_eq(c.preload.shim, "/s.so");
    cr_assert_eq(c.socks5_port, 1055);
}

Test(cli, uninstall_preload_takes_only_root)
{
    struct cli c;
    cr_assert_eq(PARSE(&c, "uninstall-preload", "--root=/r"), 0);
    cr_assert_eq(c.cmd, CLI_UNINSTALL_PRELOAD);
    cr_assert_str_eq(c.preload.root, "/r");
    cr_assert_eq(PARSE(&c, "uninstall-preload", "--names", "/n"), -EINVAL);
    cr_assert_eq(PARSE(&c, "install-preload", "--root"), -EINVAL, "a value is required");
    cr_assert_eq(PARSE(&c, "install-preload", "--bogus"), -EINVAL);
}

Test(cli, install_preload_help_and_a_program_of_that_name)
{
    struct cli c;
    cr_assert_eq(PARSE(&c, "install-preload", "--help"), 0);
    cr_assert(c.help);
    cr_assert_str_eq(c.help_topic, "install-preload");
    cr_assert_not_null(strstr(cli_usage(c.help_topic), "--root DIR"));
    cr_assert_not_null(strstr(cli_usage("uninstall-preload"), "uninstall-preload [--root DIR]"));
    cr_assert_not_null(strstr(cli_usage(NULL), "install-preload"), "listed in the overview");
    cr_assert_eq(PARSE(&c, "--", "install-preload", "--root", "/r"), 0);
    cr_assert_eq(c.cmd, CLI_RUN, "after --: a program called install-preload");
    cr_assert_str_eq(c.argv[0], "install-preload");
}
