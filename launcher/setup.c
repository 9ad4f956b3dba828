/* The global options and Tailscale's containerboot variables -> struct
 * daemon (setup.h). */
#include "setup.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "port.h"
#include "tsrun.h"

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
int setup_tun(const struct cli *c, struct daemon *d, enum tun_want *want_out)
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
        tsr_note("--tun=auto: %s: %s",
                 d->tun_kernel ? "kernel (TUN) networking" : "userspace networking", why);
    return 0;
}

int setup_daemon(const struct cli *c, struct daemon *d)
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
