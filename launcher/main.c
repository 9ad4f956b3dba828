/* tsrun: arguments -> command. The only file with main(). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "doctor.h"
#include "elfinfo.h"
#include "inject.h"
#include "login.h"
#include "preload.h"
#include "ptracer.h"
#include "runmode.h"
#include "report.h"
#include "seccomp.h"
#include "session.h"
#include "settings.h"
#include "setup.h"
#include "start.h"
#include "tsrun.h"
#include "tun.h"

extern char **environ;

/* The shim's TSRUN_* values, checked with the shim's own parsers: what it
 * would only fall back from, tsrun refuses before anything starts. */
static int check_settings(void)
{
    char err[256];
    if (inject_check_settings(environ, err, sizeof err) == 0)
        return 0;
    tsr_error("%s", err);
    return TSR_EXIT_USAGE;
}

/* tsrun's own cost so far, apart from the children it waited for (the
 * `tailscale up` CLI): GNU time's figures for `tsrun CMD` mix both, and
 * bench/bigtail reads this line. */
static void debug_rusage(void)
{
    struct rusage self, kids;
    if (!tsr_verbose || getrusage(RUSAGE_SELF, &self) < 0 || getrusage(RUSAGE_CHILDREN, &kids) < 0)
        return;
    tsr_debug("rusage: self %ld.%03ld s user %ld.%03ld s sys %ld KB max RSS; "
              "children %ld.%03ld s user %ld KB max RSS",
              (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec / 1000,
              (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec / 1000, self.ru_maxrss,
              (long)kids.ru_utime.tv_sec, (long)kids.ru_utime.tv_usec / 1000, kids.ru_maxrss);
}

static int cmd_run(const struct cli *c)
{
    struct daemon d;
    struct session s = {0};
    char shim[PATH_MAX], path[PATH_MAX];
    char **env = NULL;
    int rc = check_settings();
    if (rc)
        return rc;
    rc = setup_daemon(c, &d);
    if (!rc)
        rc = setup_tun(c, &d, NULL);
    if (rc)
        return rc;
    /* Before anything starts: a missing shim is a broken install. */
    bool have_shim = inject_find_shim(shim, sizeof shim) == 0;
    rc = session_ensure(&d, &s);
    if (rc)
        goto out;
    if (s.mode == DAEMON_MODE_TUN) {
        tsr_debug("tailscaled runs in TUN mode: the tailnet is routable; running %s unchanged",
                  c->argv[0]);
        struct inject_opts none = {0}; /* only the auth key goes */
        if (inject_build_env(environ, &none, &env) < 0) {
            tsr_error("cannot build the environment");
            rc = TSR_EXIT_INTERNAL;
            goto out;
        }
        rc = inject_exec(c->argv, env);
        goto out;
    }
    if (!have_shim) {
        tsr_error("shim libtsshim.so not found (%s); build it with `make` or set TSRUN_SHIM", shim);
        rc = TSR_EXIT_INTERNAL;
        goto out;
    }
    bool proxy_env = false, preload = true;
    struct elf_info ei = {0};
    bool inspected =
        inject_resolve(c->argv[0], path, sizeof path) == 0 && elf_inspect_path(path, &ei) == 0;
    enum runmode mode;
    const char *why;
    if (!inspected)
        memset(&ei, 0, sizeof ei);
    if (runmode_choose(c->intercept, &ei, &mode, &why) < 0) {
        tsr_error("%s", why);
        rc = TSR_EXIT_USAGE;
        goto out;
    }
    if (mode == RUNMODE_ENV)
        proxy_env = !c->no_proxy_env;
    if (inspected) {
        if (elf_bypasses_preload(&ei) && mode != RUNMODE_SECCOMP && mode != RUNMODE_PTRACE) {
            /* LD_PRELOAD stays: dynamic programs it starts still use it. */
            proxy_env = !c->no_proxy_env;
            tsr_warn("%s is %s: the shim cannot work there%s", path,
                     ei.is_go ? "a Go program (its connects are raw syscalls)"
                              : "statically linked",
                     proxy_env ? "; exporting HTTP(S)_PROXY (tailscaled's HTTP proxy) and "
                                 "ALL_PROXY (its SOCKS5) for proxy-aware tools"
                               : "");
        }
        if (ei.is_elf && !elf_bypasses_preload(&ei) && elf_is_musl(&ei)) {
            /* A glibc-built shim cannot load into a musl process. */
            char musl[PATH_MAX];
            if (inject_find_musl_shim(shim, musl, sizeof musl) == 0) {
                snprintf(shim, sizeof shim, "%s", musl);
                tsr_debug("%s uses musl: preloading %s", path, shim);
            } else {
                preload = false;
                proxy_env = !c->no_proxy_env;
                tsr_warn(
                    "%s is linked against musl and there is no musl build of the shim (make musl, "
                    "or TSRUN_SHIM_MUSL)%s",
                    path, proxy_env ? "; exporting HTTP(S)_PROXY and ALL_PROXY" : "");
            }
        }
        /* Under seccomp or ptrace mode the supervisor says what no-new-privs
         * does to it instead (trap_report_exec). */
        if ((ei.setuid || ei.setgid || ei.file_caps) && mode != RUNMODE_SECCOMP &&
            mode != RUNMODE_PTRACE)
            tsr_warn("%s is %s: the loader ignores LD_PRELOAD there, its connections are not "
                     "tunnelled",
                     path,
                     ei.file_caps ? "setcap"
                     : ei.setuid  ? "setuid"
                                  : "setgid");
    }
    struct inject_opts o = {
        .shim = preload ? shim : NULL,
        .socks5 = s.socks5,
        .names = s.names[0] ? s.names : NULL,
        .routes = s.routes,
        .proxy_env = proxy_env,
        .pipeline = s.pipeline,
        .http_proxy = s.http_proxy,
    };
    if (inject_build_env(environ, &o, &env) < 0) {
        tsr_error("cannot build the environment");
        rc = TSR_EXIT_INTERNAL;
        goto out;
    }
    if (mode == RUNMODE_SECCOMP || mode == RUNMODE_PTRACE) {
        /* The supervisor reads the name map as the shim does; without one
         * it needs the status (the warm path has none). */
        const char *names = s.names[0] ? s.names : NULL;
        if (!names && !d.have_st)
            daemon_fetch_status(&d, 3000);
        const struct tsr_status *st = d.have_st ? &d.st : NULL;
        /* The ranges the shim would tunnel for it: tsrun's own (an exit
         * node, --accept-routes), else the user's TSRUN_ROUTES, which
         * inject_build_env passes on then. */
        const char *routes = s.routes && *s.routes ? s.routes : getenv("TSRUN_ROUTES");
        /* Each returns only when its intercept cannot be had: nothing ran. */
        int sr = 0, pr = 0;
        /* One line says which intercept and why, once it is in place. */
        char say[640] = "";
        if (c->intercept == CLI_INTERCEPT_AUTO)
            snprintf(say, sizeof say,
                     "%s is %s: tunnelling its connects with seccomp user notifications",
                     c->argv[0], why);
        if (mode == RUNMODE_SECCOMP) {
            sr = runmode_seccomp(c->argv, env, s.socks5, routes, names, st, say[0] ? say : NULL);
            if (sr == RUNMODE_BAD_CONFIG || c->intercept == CLI_INTERCEPT_SECCOMP) {
                if (sr != RUNMODE_BAD_CONFIG)
                    tsr_error("--intercept=seccomp: no seccomp listener: %s; try "
                              "--intercept=ptrace or --intercept=env",
                              seccomp_strerror(sr));
                rc = TSR_EXIT_INTERNAL;
                goto out;
            }
            snprintf(say, sizeof say,
                     "hint: %s is %s, and there is no seccomp listener (%s): tunnelling its "
                     "connects with ptrace instead",
                     c->argv[0], why, seccomp_strerror(sr));
        }
        pr = runmode_ptrace(c->argv, env, s.socks5, routes, names, st, say[0] ? say : NULL, false);
        if (pr == RUNMODE_BAD_CONFIG || c->intercept == CLI_INTERCEPT_PTRACE) {
            if (pr != RUNMODE_BAD_CONFIG)
                tsr_error("--intercept=ptrace: cannot trace %s: %s; use --intercept=seccomp "
                          "where seccomp listeners work, else --intercept=env",
                          c->argv[0], ptracer_strerror(pr));
            rc = pr == RUNMODE_BAD_CONFIG ? TSR_EXIT_INTERNAL : TSR_EXIT_USAGE;
            goto out;
        }
        /* From here on no tunnel can be built for it: the proxy variables
         * for proxy-aware clients, and, where ptrace works without
         * pidfd_getfd (Debian's gVisor), its connects to the tailnet
         * refused under ptrace rather than sent by the kernel's routes. */
        o.proxy_env = !c->no_proxy_env;
        inject_free_env(env);
        env = NULL;
        if (inject_build_env(environ, &o, &env) < 0) {
            tsr_error("cannot build the environment");
            rc = TSR_EXIT_INTERNAL;
            goto out;
        }
        const char *proxies = o.proxy_env ? "; ALL_PROXY/HTTPS_PROXY/HTTP_PROXY are set for "
                                            "proxy-aware clients"
                                          : "";
        if (pr == PTRACER_NO_GETFD) {
            snprintf(say, sizeof say,
                     "hint: %s is %s, and there is no seccomp listener (%s) and no pidfd_getfd: "
                     "no tunnel can be built here, so its connects to the tailnet are refused "
                     "(ENETUNREACH) under ptrace%s",
                     c->argv[0], why, seccomp_strerror(sr), proxies);
            pr = runmode_ptrace(c->argv, env, s.socks5, routes, names, st, say, true);
            if (pr == RUNMODE_BAD_CONFIG) {
                rc = TSR_EXIT_INTERNAL;
                goto out;
            }
        }
        tsr_warn("hint: %s is %s, and there is no seccomp listener (%s) and no ptrace (%s): "
                 "falling back to the shim; its raw connects are not seen by tsrun and reach "
                 "the tailnet only if the kernel has a route there%s",
                 c->argv[0], why, seccomp_strerror(sr), ptracer_strerror(pr), proxies);
    }
    tsr_debug("exec %s with LD_PRELOAD=%s TSRUN_SOCKS5=%s", c->argv[0], shim, s.socks5);
    debug_rusage();
    rc = inject_exec(c->argv, env);
out:
    inject_free_env(env);
    session_free(&s);
    if (d.have_st)
        status_free(&d.st);
    return rc;
}

static void print_export(const char *key, const char *val)
{
    char *q = inject_shell_quote(val);
    if (q)
        printf("export %s=%s\n", key, q);
    free(q);
}

static int cmd_env(const struct cli *c)
{
    struct daemon d;
    struct session s = {0};
    char shim[PATH_MAX], preload[8192];
    int rc = check_settings();
    if (rc)
        return rc;
    rc = setup_daemon(c, &d);
    if (!rc)
        rc = setup_tun(c, &d, NULL);
    if (rc)
        return rc;
    rc = session_ensure(&d, &s);
    if (rc)
        goto out;
    if (s.mode == DAEMON_MODE_TUN) {
        printf("# tailscaled runs in TUN mode: the tailnet is routable, nothing to export\n");
        goto out;
    }
    if (inject_find_shim(shim, sizeof shim) < 0) {
        tsr_error("shim not found (%s); build it with `make` or set TSRUN_SHIM", shim);
        rc = TSR_EXIT_INTERNAL;
        goto out;
    }
    if (inject_preload_chain(getenv("LD_PRELOAD"), shim, preload, sizeof preload) < 0) {
        tsr_error("LD_PRELOAD too long");
        rc = TSR_EXIT_INTERNAL;
        goto out;
    }
    print_export("LD_PRELOAD", preload);
    print_export("TSRUN_SOCKS5", s.socks5);
    if (s.names[0])
        print_export("TSRUN_NAMES", s.names);
    if (s.routes && *s.routes)
        print_export("TSRUN_ROUTES", s.routes);
    if (s.pipeline && !getenv("TSRUN_SOCKS5_PIPELINE"))
        print_export("TSRUN_SOCKS5_PIPELINE", "1");
    if (fflush(stdout) != 0)
        rc = TSR_EXIT_INTERNAL;
out:
    session_free(&s);
    if (d.have_st)
        status_free(&d.st);
    return rc;
}

static int cmd_status(const struct cli *c)
{
    struct daemon d;
    int rc = setup_daemon(c, &d);
    return rc ? rc : report_status(&d, c->json);
}

static int cmd_up(const struct cli *c)
{
    struct daemon d;
    int rc = setup_daemon(c, &d);
    if (rc)
        return rc;
    if (d.mode != DAEMON_MODE_USERSPACE) {
        tsr_error("`up` manages a tailscaled of its own; drop --socket/--socks5/TSRUN_SOCKET");
        return TSR_EXIT_USAGE;
    }
    enum tun_want want;
    rc = setup_tun(c, &d, &want);
    if (rc)
        return rc;
    /* tsrun's tailscaled already runs in the other mode than the one asked
     * for: say so rather than keep it silently (auto takes either). */
    struct daemon probe = d;
    probe.have_st = false;
    if (want != TUN_AUTO && daemon_fetch_status(&probe, 3000) == 0) {
        bool tun = probe.st.tun;
        status_free(&probe.st);
        if (tun != (want == TUN_KERNEL)) {
            tsr_error("tsrun's tailscaled at %s already runs with %s networking; `tsrun down` "
                      "first to start it with %s",
                      d.sock, tun ? "kernel (TUN)" : "userspace",
                      want == TUN_KERNEL ? "--tun=kernel" : "--tun=userspace");
            return TSR_EXIT_USAGE;
        }
    }
    rc = daemon_find_binaries(&d);
    if (rc)
        return rc;
    if (!c->background)
        return daemon_supervise(&d, -1);
    pid_t before = daemon_read_pid(d.sup_pid_path);
    rc = daemon_up_background(&d);
    if (rc == 0 && daemon_read_pid(d.sup_pid_path) != before) {
        struct session s;
        start_read_addrs(&d); /* what the new supervisor recorded */
        session_observe(&d, &s);
        tsr_note("tailscaled Running; SOCKS5 %s; supervisor pid %ld (log %s)",
                 s.socks5[0] ? s.socks5 : "?", (long)daemon_read_pid(d.sup_pid_path),
                 d.sup_log_path);
    }
    return rc;
}

static int cmd_down(const struct cli *c)
{
    struct daemon d;
    int rc = setup_daemon(c, &d);
    if (rc)
        return rc;
    return daemon_down(&d);
}

static int cmd_doctor(const struct cli *c)
{
    struct daemon d;
    int rc = setup_daemon(c, &d);
    if (rc)
        return rc;
    rc = doctor_run(&d, c->argc, c->argv);
    if (d.have_st)
        status_free(&d.st);
    return rc;
}

int main(int argc, char **argv)
{
    struct cli c;
    char err[256];
    login_take_key(); /* before anything else: the key lives in memory only */
    const char *dbg = getenv("TSRUN_DEBUG");
    int level = 0;
    /* The shim's parser: a bad value is refused later by check_settings(). */
    tsr_verbose = dbg && *dbg && settings_parse_level(dbg, &level) == 0 && level > 0;
    if (cli_parse(argc, argv, &c, err, sizeof err) < 0) {
        tsr_error("%s", err);
        return TSR_EXIT_USAGE;
    }
    if (c.verbose)
        tsr_verbose = 1;
    if (c.help || c.cmd == CLI_HELP) {
        fputs(cli_usage(c.help_topic), stdout);
        return 0;
    }
    switch (c.cmd) {
    case CLI_VERSION:
        printf("tsrun %s\n", TSRUN_VERSION);
        return 0;
    case CLI_RUN:
        return cmd_run(&c);
    case CLI_UP:
        return cmd_up(&c);
    case CLI_DOWN:
        return cmd_down(&c);
    case CLI_STATUS:
        return cmd_status(&c);
    case CLI_ENV:
        return cmd_env(&c);
    case CLI_DOCTOR:
        return cmd_doctor(&c);
    case CLI_INSTALL_PRELOAD:
    case CLI_UNINSTALL_PRELOAD:
        return preload_main(&c, setup_daemon);
    case CLI_HELP:
        break;
    }
    return 0;
}
