/* tsrun: arguments -> command. The only file with main(). */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "doctor.h"
#include "elfinfo.h"
#include "hostname.h"
#include "inject.h"
#include "localapi.h"
#include "namemap.h"
#include "port.h"
#include "preload.h"
#include "ptracer.h"
#include "runmode.h"
#include "seccomp.h"
#include "settings.h"
#include "tsrun.h"
#include "tun.h"

extern char **environ;

static const char *mode_name(enum daemon_mode m)
{
    return m == DAEMON_MODE_TUN ? "tun" : m == DAEMON_MODE_EXTERNAL ? "external" : "userspace";
}

/* strconv.ParseBool, how containerboot reads its boolean variables.
 * 0/1 for false/true, def when unset or empty, -1 when malformed. */
static int env_bool(const char *name, int def)
{
    const char *v = getenv(name);
    static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"}, *const f[] = {
                                                                                "0",     "f",
                                                                                "F",     "FALSE",
                                                                                "false", "False"};
    if (!v || !*v)
        return def;
    for (size_t i = 0; i < 6; i++) {
        if (!strcmp(v, t[i]))
            return 1;
        if (!strcmp(v, f[i]))
            return 0;
    }
    tsr_error("%s=%s: expected true or false", name, v);
    return -1;
}

/* Tailscale's containerboot variables, same meaning (cmd/containerboot,
 * documented in README.md's table); the TSRUN_* names win over them. */
static int setup_containerboot(struct daemon *d)
{
    const char *v;
    if (!d->socket_opt || !*d->socket_opt)
        d->socket_opt = getenv("TS_SOCKET");
    if (!getenv("TSRUN_STATE_DIR") && (v = getenv("TS_STATE_DIR")) && *v && !d->state_dir_opt)
        d->state_dir_opt = v;
    if (!d->socks5_port_set && (v = getenv("TS_SOCKS5_SERVER")) && *v) {
        if (port_parse_loopback_addr(v, &d->socks5_port) < 0) {
            tsr_error("TS_SOCKS5_SERVER=%s: tsrun listens on loopback only: use "
                      "127.0.0.1:PORT or localhost:PORT",
                      v);
            return TSR_EXIT_USAGE;
        }
        d->socks5_port_set = true;
    }
    if ((v = getenv("TS_OUTBOUND_HTTP_PROXY_LISTEN")) && *v &&
        port_parse_loopback_addr(v, &d->http_port) < 0) {
        tsr_error("TS_OUTBOUND_HTTP_PROXY_LISTEN=%s: tsrun listens on loopback only: use "
                  "127.0.0.1:PORT or localhost:PORT",
                  v);
        return TSR_EXIT_USAGE;
    }
    /* An existing tailscaled at TS_SOCKET: TS_SOCKS5_SERVER and
     * TS_OUTBOUND_HTTP_PROXY_LISTEN name its listeners. */
    static char ext_socks5[32];
    if (d->socket_opt && *d->socket_opt && !d->socks5_opt && d->socks5_port_set &&
        d->socks5_port > 0 && getenv("TS_SOCKS5_SERVER")) {
        snprintf(ext_socks5, sizeof ext_socks5, "127.0.0.1:%d", d->socks5_port);
        d->socks5_opt = ext_socks5;
    }
    int dns = env_bool("TS_ACCEPT_DNS", 0), user = env_bool("TS_USERSPACE", 1);
    if (dns < 0 || user < 0 || env_bool("TS_AUTH_ONCE", 1) < 0)
        return TSR_EXIT_USAGE;
    d->accept_dns = dns == 1;
    /* TS_HOSTNAME: refused as `tailscale up --hostname` would refuse it,
     * before anything starts (never cut into something else). */
    char why[256];
    if ((v = getenv("TS_HOSTNAME")) && *v && hostname_check(v, why, sizeof why) < 0) {
        tsr_error("TS_HOSTNAME=%s: tailscale up would refuse it: %s", v, why);
        return TSR_EXIT_USAGE;
    }
    return 0;
}

/* The networking of the tailscaled tsrun would start (`up`, COMMAND, env):
 * `up --tun`, else containerboot's TS_USERSPACE (false: kernel), else
 * userspace. Kernel mode that cannot work here is refused in one line,
 * before anything starts; auto says in one line which it picked and why.
 * Nothing for an external tailscaled. 0 or TSR_EXIT_USAGE. */
static int setup_tun(const struct cli *c, struct daemon *d, enum tun_want *want_out)
{
    enum tun_want want = env_bool("TS_USERSPACE", 1) == 0 ? TUN_KERNEL : TUN_USERSPACE;
    char from[32] = "TS_USERSPACE=false", why[PATH_MAX + 128];
    if (c->tun && tun_parse(c->tun, &want) == 0)
        snprintf(from, sizeof from, "--tun=%s", c->tun);
    /* Said out loud (not the default): `up` checks it against a running daemon. */
    const char *u = getenv("TS_USERSPACE");
    if (want_out)
        *want_out = c->tun || (u && *u) ? want : TUN_AUTO;
    d->tun_kernel = false;
    if (d->mode != DAEMON_MODE_USERSPACE || want == TUN_USERSPACE)
        return 0;
    if (tun_probe(want, &d->tun_kernel, why, sizeof why) < 0) {
        tsr_error("%s: kernel (TUN) networking is impossible here: %s; use %s", from, why,
                  c->tun ? "--tun=userspace (or --tun=auto)" : "TS_USERSPACE=true");
        return TSR_EXIT_USAGE;
    }
    if (want == TUN_AUTO)
        fprintf(stderr, "tsrun: --tun=auto: %s: %s\n",
                d->tun_kernel ? "kernel (TUN) networking" : "userspace networking", why);
    return 0;
}

static int setup(const struct cli *c, struct daemon *d)
{
    memset(d, 0, sizeof *d);
    d->socket_opt = c->socket ? c->socket : getenv("TSRUN_SOCKET");
    d->socks5_opt = c->socks5;
    d->state_dir_opt = c->state_dir;
    d->socks5_port = c->socks5_port;
    d->socks5_port_set = c->socks5_port_set;
    const char *p = getenv("TSRUN_SOCKS5_PORT");
    if (!c->socks5_port_set && p && *p) {
        if (port_parse(p, &d->socks5_port) < 0) {
            tsr_error("TSRUN_SOCKS5_PORT=%s is not a port number (0..65535, digits only); "
                      "unset it for the default, %d",
                      p, PORT_DEFAULT);
            return TSR_EXIT_USAGE;
        }
        d->socks5_port_set = true;
    }
    d->ephemeral = c->ephemeral;
    d->accept_routes = c->accept_routes;
    d->timeout_s = c->timeout_s;
    int rc = setup_containerboot(d);
    return rc ? rc : daemon_init(d);
}

/* TSRUN_ROUTES for the command: "all" with an exit node, peers' routes
 * with --accept-routes, else nothing (the shim's tailnet ranges). */
static char *routes_for(const struct daemon *d)
{
    if (d->from_ready) {
        if (d->ready_exit_node)
            return strdup("all");
        return d->accept_routes ? strdup(d->ready_routes) : NULL;
    }
    if (!d->have_st)
        return NULL;
    if (d->st.exit_node_in_use)
        return strdup("all");
    if (d->accept_routes)
        return status_routes(&d->st);
    return NULL;
}

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
    char shim[PATH_MAX], path[PATH_MAX];
    char **env = NULL, *routes = NULL;
    int rc = check_settings();
    if (rc)
        return rc;
    rc = setup(c, &d);
    if (!rc)
        rc = setup_tun(c, &d, NULL);
    if (rc)
        return rc;
    /* Before anything starts: a missing shim is a broken install. */
    bool have_shim = inject_find_shim(shim, sizeof shim) == 0;
    rc = daemon_ensure(&d, 0);
    if (rc)
        goto out;
    if (d.started)
        daemon_spawn_supervisor(&d); /* keeps the map fresh while COMMAND runs */
    if (d.have_st && d.st.tun)
        d.mode = DAEMON_MODE_TUN; /* ours, started in kernel mode */
    if (d.mode == DAEMON_MODE_TUN) {
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
    if (d.have_st)
        daemon_write_names(&d);
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
        if (ei.setuid || ei.setgid || ei.file_caps)
            tsr_warn("%s is %s: the loader ignores LD_PRELOAD there, its connections are not "
                     "tunnelled",
                     path,
                     ei.file_caps ? "setcap"
                     : ei.setuid  ? "setuid"
                                  : "setgid");
    }
    routes = routes_for(&d);
    struct inject_opts o = {
        .shim = preload ? shim : NULL,
        .socks5 = d.socks5,
        .names = d.have_st || d.from_ready ? d.names_path : NULL,
        .routes = routes,
        .proxy_env = proxy_env,
        .pipeline = d.mode == DAEMON_MODE_USERSPACE,
        .http_proxy = d.http_proxy,
    };
    if (inject_build_env(environ, &o, &env) < 0) {
        tsr_error("cannot build the environment");
        rc = TSR_EXIT_INTERNAL;
        goto out;
    }
    if (mode == RUNMODE_SECCOMP || mode == RUNMODE_PTRACE) {
        /* The supervisor refuses offline peers at once, as the shim does
         * from the name map: it needs the status (the warm path has none). */
        if (!d.have_st)
            daemon_fetch_status(&d, 3000);
        const struct tsr_status *st = d.have_st ? &d.st : NULL;
        /* Each returns only when its intercept cannot be had: nothing ran. */
        int sr = 0, pr = 0;
        /* One line says which intercept and why, once it is in place. */
        char say[640] = "";
        if (c->intercept == CLI_INTERCEPT_AUTO)
            snprintf(say, sizeof say,
                     "%s is %s: tunnelling its connects with seccomp user notifications",
                     c->argv[0], why);
        if (mode == RUNMODE_SECCOMP) {
            sr = runmode_seccomp(c->argv, env, d.socks5, routes, st, say[0] ? say : NULL);
            if (sr == -EINVAL || c->intercept == CLI_INTERCEPT_SECCOMP) {
                if (sr != -EINVAL)
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
        pr = runmode_ptrace(c->argv, env, d.socks5, routes, st, say[0] ? say : NULL);
        if (pr == -EINVAL || c->intercept == CLI_INTERCEPT_PTRACE) {
            if (pr != -EINVAL)
                tsr_error("--intercept=ptrace: cannot trace %s: %s; use --intercept=seccomp "
                          "where seccomp listeners work, else --intercept=env",
                          c->argv[0], ptracer_strerror(pr));
            rc = pr == -EINVAL ? TSR_EXIT_INTERNAL : TSR_EXIT_USAGE;
            goto out;
        }
        o.proxy_env = !c->no_proxy_env;
        tsr_warn("hint: %s is %s, and there is no seccomp listener (%s) and no ptrace (%s): "
                 "falling back to the shim%s",
                 c->argv[0], why, seccomp_strerror(sr), ptracer_strerror(pr),
                 o.proxy_env ? " and ALL_PROXY/HTTPS_PROXY/HTTP_PROXY=socks5h://..." : "");
        inject_free_env(env);
        env = NULL;
        if (inject_build_env(environ, &o, &env) < 0) {
            tsr_error("cannot build the environment");
            rc = TSR_EXIT_INTERNAL;
            goto out;
        }
    }
    tsr_debug("exec %s with LD_PRELOAD=%s TSRUN_SOCKS5=%s", c->argv[0], shim, d.socks5);
    debug_rusage();
    rc = inject_exec(c->argv, env);
out:
    inject_free_env(env);
    free(routes);
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
    char shim[PATH_MAX], preload[8192];
    char *routes = NULL;
    int rc = check_settings();
    if (rc)
        return rc;
    rc = setup(c, &d);
    if (!rc)
        rc = setup_tun(c, &d, NULL);
    if (rc)
        return rc;
    rc = daemon_ensure(&d, 0);
    if (rc)
        goto out;
    if (d.started)
        daemon_spawn_supervisor(&d); /* keeps the map fresh while COMMAND runs */
    if (d.have_st && d.st.tun)
        d.mode = DAEMON_MODE_TUN; /* ours, started in kernel mode */
    if (d.mode == DAEMON_MODE_TUN) {
        printf("# tailscaled runs in TUN mode: the tailnet is routable, nothing to export\n");
        goto out;
    }
    if (d.have_st)
        daemon_write_names(&d);
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
    print_export("TSRUN_SOCKS5", d.socks5);
    if (d.have_st || d.from_ready)
        print_export("TSRUN_NAMES", d.names_path);
    routes = routes_for(&d);
    if (routes && *routes)
        print_export("TSRUN_ROUTES", routes);
    if (d.mode == DAEMON_MODE_USERSPACE && !getenv("TSRUN_SOCKS5_PIPELINE"))
        print_export("TSRUN_SOCKS5_PIPELINE", "1");
    if (fflush(stdout) != 0)
        rc = TSR_EXIT_INTERNAL;
out:
    free(routes);
    if (d.have_st)
        status_free(&d.st);
    return rc;
}

static long map_age(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) < 0)
        return -1;
    long age = (long)(time(NULL) - sb.st_mtime);
    return age < 0 ? 0 : age;
}

static json_t *ips_json(const struct status_node *n)
{
    json_t *a = json_array();
    for (int i = 0; i < n->nips; i++)
        json_array_append_new(a, json_string(n->ips[i]));
    return a;
}

static json_t *routes_json(const char *routes)
{
    json_t *a = json_array();
    for (const char *p = routes ? routes : ""; *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(a, json_stringn(p, n));
        p += n;
        if (*p)
            p++;
    }
    return a;
}

static int status_json(struct daemon *d, bool up, bool bad, pid_t pid, pid_t sup)
{
    json_t *o = json_object();
    json_object_set_new(o, "running", json_boolean(up && !strcmp(d->st.backend_state, "Running")));
    const char *state = bad ? "Unusable" : "NotRunning";
    json_object_set_new(o, "backend_state", json_string(up ? d->st.backend_state : state));
    json_object_set_new(o, "mode", json_string(mode_name(d->mode)));
    json_object_set_new(o, "socket", json_string(d->sock));
    json_object_set_new(o, "socks5", d->socks5[0] ? json_string(d->socks5) : json_null());
    json_object_set_new(o, "http_proxy",
                        d->http_proxy[0] ? json_string(d->http_proxy) : json_null());
    json_object_set_new(o, "state_dir", json_string(d->state_dir));
    json_object_set_new(o, "tailscaled_pid", pid > 0 ? json_integer(pid) : json_null());
    json_object_set_new(o, "supervisor_pid", sup > 0 ? json_integer(sup) : json_null());
    long age = map_age(d->names_path);
    json_t *names = json_object();
    json_object_set_new(names, "path", json_string(d->names_path));
    json_object_set_new(names, "age_seconds", age >= 0 ? json_integer(age) : json_null());
    json_object_set_new(o, "names", names);
    json_object_set_new(o, "error", bad ? json_string(d->err) : json_null());
    if (up) {
        json_object_set_new(o, "version", json_string(d->st.version));
        json_object_set_new(o, "tun", json_boolean(d->st.tun));
        json_object_set_new(o, "tailnet", json_string(d->st.tailnet));
        json_object_set_new(o, "suffix", json_string(d->st.suffix));
        json_object_set_new(o, "auth_url", json_string(d->st.auth_url));
        json_object_set_new(o, "exit_node_in_use", json_boolean(d->st.exit_node_in_use));
        json_t *self = json_object();
        json_object_set_new(self, "name", json_string(d->st.self.dns_name));
        json_object_set_new(self, "host_name", json_string(d->st.self.host_name));
        json_object_set_new(self, "ips", ips_json(&d->st.self));
        json_object_set_new(o, "self", self);
        json_t *peers = json_array();
        for (size_t i = 0; i < d->st.npeers; i++) {
            const struct status_node *n = &d->st.peers[i];
            json_t *p = json_object();
            json_object_set_new(p, "name", json_string(n->dns_name));
            json_object_set_new(p, "host_name", json_string(n->host_name));
            json_object_set_new(p, "os", json_string(n->os));
            json_object_set_new(p, "ips", ips_json(n));
            json_object_set_new(p, "online", json_boolean(n->online));
            json_object_set_new(p, "exit_node", json_boolean(n->exit_node));
            json_object_set_new(p, "routes", routes_json(n->routes));
            json_array_append_new(peers, p);
        }
        json_object_set_new(o, "peers", peers);
        json_t *health = json_array();
        for (size_t i = 0; i < d->st.nhealth; i++)
            json_array_append_new(health, json_string(d->st.health[i]));
        json_object_set_new(o, "health", health);
    }
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return TSR_EXIT_INTERNAL;
    printf("%s\n", s);
    free(s);
    return 0;
}

static void print_ips(const struct status_node *n)
{
    for (int i = 0; i < n->nips; i++)
        printf(" %s", n->ips[i]);
    printf("\n");
}

static int cmd_status(const struct cli *c)
{
    struct daemon d;
    int rc = setup(c, &d);
    if (rc)
        return rc;
    int frc = daemon_fetch_status(&d, 3000);
    bool up = frc == 0;
    /* Something answers, but not with a status: say what, not "not running". */
    bool bad = frc < 0 && frc != -ECONNREFUSED && frc != -ENOSYS && frc != -ENOENT;
    if (d.mode == DAEMON_MODE_USERSPACE) {
        char *text = NULL;
        if (tsr_read_file(d.socks5_path, &text, NULL) == 0) {
            size_t n = strcspn(text, " \r\n");
            if (n < sizeof d.socks5) {
                memcpy(d.socks5, text, n);
                d.socks5[n] = '\0';
            }
        }
        free(text);
        text = NULL;
        if (tsr_read_file(d.http_path, &text, NULL) == 0) {
            size_t n = strcspn(text, " \r\n");
            if (n < sizeof d.http_proxy) {
                memcpy(d.http_proxy, text, n);
                d.http_proxy[n] = '\0';
            }
        }
        free(text);
    }
    if (up && d.st.tun)
        d.mode = DAEMON_MODE_TUN;
    if (!up && !bad && d.mode == DAEMON_MODE_USERSPACE && daemon_find_tun(&d))
        up = true; /* a TUN tailscaled at a usual socket: what `tsrun CMD` uses */
    pid_t pid = daemon_read_pid(d.pid_path), sup = daemon_read_pid(d.sup_pid_path);
    if (d.mode == DAEMON_MODE_EXTERNAL || !daemon_pid_is_tailscaled(pid, d.sock))
        pid = -1;
    if (sup > 0 && !daemon_pid_is_supervisor(sup))
        sup = -1;
    if (c->json) {
        rc = status_json(&d, up, bad, pid, sup);
    } else if (bad) {
        printf("state:    unusable: %s\n", d.err);
        printf("mode:     %s\n", mode_name(d.mode));
        printf("socket:   %s\n", d.sock);
    } else if (!up) {
        printf("state:    not running (no tailscaled answers at %s)\n", d.sock);
        printf("mode:     %s\n", mode_name(d.mode));
        printf("start it: tsrun up --background   (or just `tsrun COMMAND`)\n");
    } else {
        printf("state:    %s\n", d.st.backend_state);
        if (*d.st.auth_url)
            printf("login:    %s\n", d.st.auth_url);
        printf("self:     %s", *d.st.self.dns_name ? d.st.self.dns_name : "-");
        print_ips(&d.st.self);
        if (*d.st.tailnet || *d.st.suffix)
            printf("tailnet:  %s (%s)\n", *d.st.tailnet ? d.st.tailnet : "-", d.st.suffix);
        printf("mode:     %s", mode_name(d.mode));
        if (d.mode == DAEMON_MODE_TUN)
            printf(" (tailscaled at %s routes the tailnet; tsrun injects nothing)", d.sock);
        if (pid > 0)
            printf(" (tailscaled pid %ld started by tsrun%s)", (long)pid,
                   sup > 0 ? ", supervised" : "");
        printf("\nversion:  %s\n", d.st.version);
        printf("socket:   %s\n", d.sock);
        printf("socks5:   %s\n", d.socks5[0] ? d.socks5 : "-");
        if (d.http_proxy[0])
            printf("http:     %s (HTTP proxy)\n", d.http_proxy);
        long age = map_age(d.names_path);
        if (d.mode != DAEMON_MODE_TUN) {
            if (age >= 0)
                printf("names:    %s (updated %lds ago)\n", d.names_path, age);
            else
                printf("names:    %s (not written yet)\n", d.names_path);
        }
        for (size_t i = 0; i < d.st.nhealth; i++)
            printf("health:   %s\n", d.st.health[i]);
        printf("peers:    %zu\n", d.st.npeers);
        for (size_t i = 0; i < d.st.npeers; i++) {
            const struct status_node *n = &d.st.peers[i];
            printf("  %-40s %-8s", *n->dns_name ? n->dns_name : n->host_name,
                   n->online ? "online" : "offline");
            for (int k = 0; k < n->nips; k++)
                printf(" %s", n->ips[k]);
            if (n->routes && *n->routes)
                printf("  routes %s", n->routes);
            if (n->exit_node)
                printf("  (exit node)");
            printf("\n");
        }
    }
    if (rc == 0 && bad)
        rc = TSR_EXIT_DAEMON;
    else if (rc == 0 && !(up && !strcmp(d.st.backend_state, "Running")))
        rc = TSR_EXIT_FAIL;
    if (d.have_st)
        status_free(&d.st);
    return rc;
}

static int cmd_up(const struct cli *c)
{
    struct daemon d;
    int rc = setup(c, &d);
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
        char *text = NULL;
        tsr_read_file(d.socks5_path, &text, NULL);
        fprintf(stderr, "tsrun: tailscaled Running; SOCKS5 %s; supervisor pid %ld (log %s)\n",
                text ? strtok(text, "\n") : "?", (long)daemon_read_pid(d.sup_pid_path),
                d.sup_log_path);
        free(text);
    }
    return rc;
}

static int cmd_down(const struct cli *c)
{
    struct daemon d;
    int rc = setup(c, &d);
    if (rc)
        return rc;
    return daemon_down(&d);
}

static int cmd_doctor(const struct cli *c)
{
    struct daemon d;
    int rc = setup(c, &d);
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
        if (preload_command(c.help_topic)) {
            fputs(preload_usage, stdout);
            return 0;
        }
        fputs(cli_usage(c.help_topic), stdout);
        if (!c.help_topic)
            fputs(preload_usage_overview, stdout);
        return 0;
    }
    /* install-preload / uninstall-preload (not after `--`: a program). */
    if (c.cmd == CLI_RUN && preload_command(c.argv[0]) && strcmp(c.argv[-1], "--") != 0) {
        return preload_main(&c, setup);
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
    case CLI_HELP:
        break;
    }
    return 0;
}
