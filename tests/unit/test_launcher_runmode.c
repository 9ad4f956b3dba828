/* --intercept parsing, the auto choice, the supervisor's proxy parser and
 * the shared SOCKS5 reply -> errno table. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "cli.h"
#include "runmode.h"
#include "socks5_errno.h"
#include "unotify.h"

static int parse(struct cli *c, int argc, char **argv)
{
    char err[256];
    return cli_parse(argc, argv, c, err, sizeof err);
}

Test(runmode, cli_intercept)
{
    struct cli c;
    char *a1[] = {"tsrun", "--intercept=seccomp", "prog", NULL};
    cr_assert_eq(parse(&c, 3, a1), 0);
    cr_assert_eq(c.intercept, CLI_INTERCEPT_SECCOMP);
    cr_assert_str_eq(c.argv[0], "prog");
    char *a2[] = {"tsrun", "--intercept", "env", "prog", NULL};
    cr_assert_eq(parse(&c, 4, a2), 0);
    cr_assert_eq(c.intercept, CLI_INTERCEPT_ENV);
    char *a3[] = {"tsrun", "prog", NULL};
    cr_assert_eq(parse(&c, 2, a3), 0);
    cr_assert_eq(c.intercept, CLI_INTERCEPT_AUTO);
    char *a4[] = {"tsrun", "--intercept=magic", "prog", NULL};
    cr_assert_eq(parse(&c, 3, a4), -EINVAL);
    char *a5[] = {"tsrun", "--intercept", NULL};
    cr_assert_eq(parse(&c, 2, a5), -EINVAL);
}

Test(runmode, auto_choice)
{
    struct elf_info ei = {0};
    enum runmode m;
    const char *why;
    /* Unreadable or a script: the shim, silently. */
    cr_assert_eq(runmode_choose(CLI_INTERCEPT_AUTO, &ei, &m, &why), 0);
    cr_assert_eq(m, RUNMODE_SHIM);
    cr_assert_str_eq(why, "");
    ei.is_elf = true;
    cr_assert_eq(runmode_choose(CLI_INTERCEPT_AUTO, &ei, &m, &why), 0);
    cr_assert_eq(m, RUNMODE_SHIM);
    ei.is_go = true; /* a cgo (dynamic) Go program */
    cr_assert_eq(runmode_choose(CLI_INTERCEPT_AUTO, &ei, &m, &why), 0);
    cr_assert_eq(m, RUNMODE_SECCOMP);
    cr_assert(strstr(why, "Go"));
    ei.is_go = false;
    ei.is_static = true;
    cr_assert_eq(runmode_choose(CLI_INTERCEPT_AUTO, &ei, &m, &why), 0);
    cr_assert_eq(m, RUNMODE_SECCOMP);
    cr_assert(strstr(why, "statically"));
    /* Explicit modes win over the program's kind. */
    cr_assert_eq(runmode_choose(CLI_INTERCEPT_SHIM, &ei, &m, &why), 0);
    cr_assert_eq(m, RUNMODE_SHIM);
    cr_assert_eq(runmode_choose(CLI_INTERCEPT_ENV, &ei, &m, &why), 0);
    cr_assert_eq(m, RUNMODE_ENV);
    cr_assert_eq(runmode_choose(CLI_INTERCEPT_PTRACE, &ei, &m, &why), 0);
    cr_assert_eq(m, RUNMODE_PTRACE);
}

Test(runmode, proxy_parse)
{
    struct unotify_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(unotify_parse_proxy("127.0.0.1:1055", &cfg), 0);
    const struct sockaddr_in *in = (const struct sockaddr_in *)&cfg.proxy;
    cr_assert_eq(in->sin_family, AF_INET);
    cr_assert_eq(ntohs(in->sin_port), 1055);
    cr_assert_eq(cfg.proxylen, sizeof *in);
    cr_assert_eq(unotify_parse_proxy("[::1]:9", &cfg), 0);
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&cfg.proxy;
    cr_assert_eq(in6->sin6_family, AF_INET6);
    cr_assert_eq(ntohs(in6->sin6_port), 9);
    cr_assert_eq(unotify_parse_proxy("localhost:1055", &cfg), -EINVAL);
    cr_assert_eq(unotify_parse_proxy("127.0.0.1", &cfg), -EINVAL);
    cr_assert_eq(unotify_parse_proxy("127.0.0.1:0", &cfg), -EINVAL);
    cr_assert_eq(unotify_parse_proxy("127.0.0.1:70000", &cfg), -EINVAL);
    cr_assert_eq(unotify_parse_proxy("::1:80", &cfg), -EINVAL);
}

Test(runmode, reply_errno_table)
{
    struct socks5_reply r = {.error = SOCKS5_OK};
    cr_assert_eq(socks5_reply_errno(&r, 0), 0);
    r.error = SOCKS5_ERR_NO_METHOD;
    cr_assert_eq(socks5_reply_errno(&r, 0), ECONNREFUSED);
    r.error = SOCKS5_ERR_REPLY;
    r.rep = SOCKS5_REP_GENERAL_FAILURE;
    cr_assert_eq(socks5_reply_errno(&r, 10), ECONNREFUSED);
    cr_assert_eq(socks5_reply_errno(&r, SOCKS5_SLOW_FAILURE_MS), ETIMEDOUT);
    r.rep = SOCKS5_REP_HOST_UNREACHABLE;
    cr_assert_eq(socks5_reply_errno(&r, 0), EHOSTUNREACH);
    r.rep = SOCKS5_REP_CONNECTION_REFUSED;
    cr_assert_eq(socks5_reply_errno(&r, 0), ECONNREFUSED);
    r.rep = SOCKS5_REP_TTL_EXPIRED;
    cr_assert_eq(socks5_reply_errno(&r, 0), ETIMEDOUT);
    r.rep = 0x42;
    cr_assert_eq(socks5_reply_errno(&r, 0), ECONNREFUSED);
}
