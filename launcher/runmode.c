#include "runmode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsstub.h"
#include "mapview.h"
#include "ptracer.h"
#include "seccomp.h"
#include "settings.h"
#include "tsrun.h"
#include "unotify.h"

int runmode_choose(enum cli_intercept req, const struct elf_info *ei, enum runmode *out,
                   const char **why)
{
    *why = "";
    switch (req) {
    case CLI_INTERCEPT_SHIM:
        *out = RUNMODE_SHIM;
        return 0;
    case CLI_INTERCEPT_ENV:
        *out = RUNMODE_ENV;
        *why = "--intercept=env";
        return 0;
    case CLI_INTERCEPT_SECCOMP:
        *out = RUNMODE_SECCOMP;
        *why = "--intercept=seccomp";
        return 0;
    case CLI_INTERCEPT_PTRACE:
        *out = RUNMODE_PTRACE;
        *why = "--intercept=ptrace";
        return 0;
    case CLI_INTERCEPT_AUTO:
        break;
    }
    if (elf_bypasses_preload(ei)) {
        *out = RUNMODE_SECCOMP;
        *why = ei->is_go ? "a Go program (its connects are raw syscalls)" : "statically linked";
        return 0;
    }
    *out = RUNMODE_SHIM;
    return 0;
}

/* The supervisors' configuration, built once (auto may try seccomp and
 * then ptrace; the DNS stub starts once). 0 or RUNMODE_BAD_CONFIG after one
 * line. */
static struct unotify_cfg cfg; /* lives as long as the supervisor */

static int cfg_once(const char *socks5, const char *routes, const char *names,
                    const struct tsr_status *st)
{
    static int built; /* 0: not yet, 1: ok, -1: bad */
    if (built)
        return built < 0 ? RUNMODE_BAD_CONFIG : 0;
    built = -1;
    memset(&cfg, 0, sizeof cfg);
    if (!socks5 || unotify_parse_proxy(socks5, &cfg) < 0) {
        tsr_error("seccomp intercept: SOCKS5 address %s is not IP:PORT",
                  socks5 ? socks5 : "(none)");
        return RUNMODE_BAD_CONFIG;
    }
    if (routes && *routes && route_parse_list(routes, &cfg.routes, NULL) < 0) {
        tsr_error("seccomp intercept: bad routes %s", routes);
        return RUNMODE_BAD_CONFIG;
    }
    cfg.timeout_ms = UNOTIFY_DEFAULT_TIMEOUT_MS;
    /* The shim's parser: main.c's check_settings() already refused a bad
     * value, so anything unparsable here is "unset" (the default). */
    const char *t = getenv(settings_name(SETTINGS_CONNECT_TIMEOUT_MS));
    int ms;
    if (t && *t && settings_parse_int(t, 1, SETTINGS_TIMEOUT_MAX_MS, &ms) == 0)
        cfg.timeout_ms = ms;
    const char *a = getenv("TSRUN_SECCOMP_ADDFD");
    cfg.force_addfd = a && !strcmp(a, "1");
    /* Offline peers, tailscaled's state and tailnet names: from the map
     * the launcher keeps fresh, read again when it is replaced; only where
     * there is none, from the status fetched at start. */
    bool have_names = false;
    if (names && *names)
        have_names = mapview_open_file(names) == 0;
    else if (st)
        have_names = mapview_open_status(st) == 0;
    /* Names for resolvers that ask DNS themselves (Go's pure resolver). */
    if (have_names && dnsstub_start(&cfg.stub, &cfg.stublen) == 0) {
        cfg.dns = true;
        cfg.dns_tcp = dnsstub_start_tcp(&cfg.stub_tcp, &cfg.stub_tcplen) == 0;
    }
    built = 1;
    return 0;
}

int runmode_seccomp(char *const argv[], char **env, const char *socks5, const char *routes,
                    const char *names, const struct tsr_status *st, const char *say)
{
    int rc = cfg_once(socks5, routes, names, st);
    if (rc != 0)
        return rc;
    struct seccomp_child ch;
    rc = seccomp_spawn(argv, env, &ch);
    if (rc < 0)
        return rc;
    cfg.no_new_privs = ch.no_new_privs;
    if (say)
        tsr_warn("%s", say);
    tsr_debug("seccomp: pid %d runs %s under the filter (%s%s)", (int)ch.pid, argv[0],
              ch.killable ? "WAIT_KILLABLE_RECV" : "signals may restart a connect",
              ch.no_new_privs ? ", no-new-privs" : "");
    int status = unotify_supervise(ch.listener, ch.pid, &cfg);
    unotify_exit_like(status);
}

int runmode_ptrace(char *const argv[], char **env, const char *socks5, const char *routes,
                   const char *names, const struct tsr_status *st, const char *say,
                   bool fail_closed)
{
    int rc = cfg_once(socks5, routes, names, st);
    if (rc != 0)
        return rc;
    struct ptracer_child ch;
    rc = ptracer_spawn(argv, env, fail_closed, &ch);
    if (rc != 0)
        return rc;
    cfg.no_new_privs = ch.no_new_privs;
    if (say)
        tsr_warn("%s", say);
    tsr_debug("ptrace: pid %d runs %s under the tracing filter%s", (int)ch.pid, argv[0],
              ch.no_new_privs ? " (no-new-privs)" : "");
    int status = ptracer_supervise(ch.pid, &cfg);
    unotify_exit_like(status);
}
