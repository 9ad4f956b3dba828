/* tsrun [OPTIONS] [--] COMMAND [ARGS...] | tsrun [OPTIONS] SUBCOMMAND [...]
 * Global options come first; the first other word picks a subcommand or is
 * the COMMAND (a program called "up" runs as `tsrun -- up`). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_main[] =
    "usage: tsrun [OPTIONS] [--] COMMAND [ARGS...]\n"
    "       tsrun [OPTIONS] up [--background] [--tun=MODE] | down | status [--json] | env\n"
    "       tsrun [OPTIONS] doctor [COMMAND]\n"
    "       tsrun [OPTIONS] install-preload [...] | uninstall-preload [...]   (root)\n"
    "\n"
    "Runs COMMAND with its connections to tailnet addresses tunnelled through a\n"
    "userspace-networking tailscaled (started, logged in and kept Running by tsrun).\n"
    "\n"
    "commands:\n"
    "  COMMAND [ARGS...]   run COMMAND with the shim (exit status is COMMAND's)\n"
    "  up [--background]   start tailscaled, log in, supervise it (foreground);\n"
    "     [--tun=MODE]     MODE userspace (default), kernel (a real TUN, tsrun\n"
    "                      injects nothing) or auto (kernel when possible)\n"
    "  down                stop the tailscaled (and supervisor) tsrun started\n"
    "  status [--json]     backend state, addresses, peers, name map\n"
    "  env                 print `export` lines: eval \"$(tsrun env)\"\n"
    "  doctor [COMMAND]    preflight checks, each OK/WARN/FAIL with a fix\n"
    "\n"
    "options:\n"
    "  --socket PATH       use the external tailscaled at PATH (env TSRUN_SOCKET)\n"
    "  --socks5 ADDR       use this SOCKS5 server (HOST:PORT) instead of our own\n"
    "  --socks5-port N     SOCKS5 port of the tailscaled we start (default 1055; "
    "TSRUN_SOCKS5_PORT)\n"
    "  --state-dir DIR     state directory (env TSRUN_STATE_DIR)\n"
    "  --ephemeral         start tailscaled with --state=mem: (ephemeral node)\n"
    "  --accept-routes     accept subnet routes; tunnel peers' routes too\n"
    "  --timeout SECONDS   how long to wait for Running (default 60)\n"
    "  --no-proxy-env      no ALL_PROXY/HTTP(S)_PROXY for static binaries\n"
    "  --intercept MODE    auto (default): the shim for dynamic programs, seccomp\n"
    "                      for static and Go ones (else ptrace, else proxy\n"
    "                      variables); or shim, seccomp, ptrace, env\n"
    "  -v, --verbose       debug lines on stderr (also TSRUN_DEBUG=1)\n"
    "  -h, --help          this text (`tsrun SUBCOMMAND --help` for one command)\n"
    "  --version           print the version\n"
    "\n"
    "environment: TS_AUTHKEY, TSRUN_TAGS, TS_HOSTNAME (checked like tailscale up\n"
    "--hostname), TS_USERSPACE, TSRUN_STATE_DIR, TSRUN_SOCKET,\n"
    "TSRUN_TAILSCALED, TSRUN_TAILSCALE, TSRUN_SHIM, TSRUN_DEBUG. See tsrun(1).\n"
    "\n"
    "global mode (root):\n"
    "  install-preload     shim in /etc/ld.so.preload + /etc/tsrun/tsrun.conf\n"
    "  uninstall-preload   undo it (see `tsrun install-preload --help`)\n";

static const char usage_preload[] =
    "usage: tsrun [OPTIONS] install-preload [--root DIR] [--socks5 ADDR] [--names PATH]\n"
    "                                       [--routes LIST] [--shim PATH]\n"
    "       tsrun [OPTIONS] uninstall-preload [--root DIR]\n"
    "\n"
    "Global mode (root only): install-preload adds the shim's absolute path to\n"
    "/etc/ld.so.preload, so every dynamically linked program reaches the tailnet\n"
    "without `tsrun COMMAND`, and writes /etc/tsrun/tsrun.conf (root, 0644): the\n"
    "SOCKS5 address, the name map and the routes the shim uses when no TSRUN_*\n"
    "variable is set (the only config honoured in setuid programs). Other\n"
    "entries of /etc/ld.so.preload and their order are kept; both files are\n"
    "replaced atomically; running it twice changes nothing.\n"
    "uninstall-preload removes the entry (and the file when tsrun created it\n"
    "and nothing else is left) and the config.\n"
    "\n"
    "Values come from the running tsrun (its SOCKS5 port, name map, routes with\n"
    "--accept-routes or an exit node), else 127.0.0.1:1055: start tailscaled with\n"
    "a fixed port, `tsrun --socks5-port 1055 up --background`, so the address\n"
    "survives restarts. In TUN mode nothing is installed (nothing is needed).\n"
    "\n"
    "  --root DIR      operate on DIR/etc/... instead of /etc (env TSRUN_SYSROOT)\n"
    "  --socks5 ADDR   SOCKS5 address to write (IP:PORT or [IPv6]:PORT)\n"
    "  --names PATH    name map path to write (default: the state dir's map)\n"
    "  --routes LIST   TSRUN_ROUTES value to write (CIDR list or \"all\")\n"
    "  --shim PATH     the shim to list (default: the one `tsrun COMMAND` uses)\n";

static const char usage_up[] =
    "usage: tsrun [OPTIONS] up [--background] [--tun=auto|userspace|kernel]\n"
    "\n"
    "Starts tailscaled if needed (userspace networking unless --tun), logs in\n"
    "with TS_AUTHKEY when the node is not logged in, waits for Running, then\n"
    "stays in the foreground as its supervisor: restarts tailscaled if it dies\n"
    "and rewrites the name map on every netmap change. Stop it with Ctrl-C or\n"
    "`tsrun down`.\n"
    "\n"
    "  --background   run the supervisor in the background; return once Running\n"
    "  --tun MODE     userspace (the default; TS_USERSPACE=true): tailscaled with\n"
    "                 --tun=userspace-networking, commands get the shim.\n"
    "                 kernel (TS_USERSPACE=false): a real TUN (tailscale0), commands\n"
    "                 run unchanged; needs /dev/net/tun and CAP_NET_ADMIN, else\n"
    "                 refused (exit 2) before anything starts.\n"
    "                 auto: kernel when both are there, else userspace (one line\n"
    "                 says which and why). --tun wins over TS_USERSPACE.\n"
    "  --timeout S    how long to wait for Running (default 60)\n";

static const char usage_down[] =
    "usage: tsrun [OPTIONS] down\n"
    "\n"
    "Stops the supervisor and the tailscaled that tsrun started (checked by pid\n"
    "file and command line); never a tailscaled that tsrun did not start.\n";

static const char usage_status[] =
    "usage: tsrun [OPTIONS] status [--json]\n"
    "\n"
    "Backend state, this node's name and addresses, the SOCKS5 address, the mode\n"
    "(userspace, tun, external), peers and the name map's age. Does not start\n"
    "anything. Exit status 0 when Running, 1 otherwise.\n"
    "\n"
    "  --json   one JSON object for scripts\n";

static const char usage_env[] =
    "usage: tsrun [OPTIONS] env\n"
    "\n"
    "Makes sure tailscaled is Running, then prints shell-quoted `export` lines\n"
    "(LD_PRELOAD, TSRUN_SOCKS5, TSRUN_NAMES, ...) so that\n"
    "    eval \"$(tsrun env)\"\n"
    "tunnels every later command of the current shell.\n";

static const char usage_doctor[] =
    "usage: tsrun [OPTIONS] doctor [COMMAND]\n"
    "\n"
    "Preflight checks: OS/arch, libc, PID 1, /dev/net/tun, CAP_NET_ADMIN,\n"
    "NoNewPrivs, tailscaled/tailscale and versions, LocalAPI socket, SOCKS5,\n"
    "backend state and, given COMMAND, whether the shim can work in it (static\n"
    "or setuid binaries). One OK/WARN/FAIL line each with the fix; exit status 0\n"
    "when nothing FAILed.\n";

const char *cli_usage(const char *topic)
{
    if (!topic)
        return usage_main;
    if (!strcmp(topic, "up"))
        return usage_up;
    if (!strcmp(topic, "down"))
        return usage_down;
    if (!strcmp(topic, "status"))
        return usage_status;
    if (!strcmp(topic, "env"))
        return usage_env;
    if (!strcmp(topic, "doctor"))
        return usage_doctor;
    if (!strcmp(topic, "install-preload") || !strcmp(topic, "uninstall-preload"))
        return usage_preload;
    return usage_main;
}

/* "--name=value" or "--name value". Returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *matched)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    *matched = false;
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=') {
        *matched = true;
        return a + n + 1;
    }
    if (a[n] != '\0')
        return NULL;
    *matched = true;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/* One option of install-preload (--root, --socks5, --names, --routes,
 * --shim; "--opt VALUE" or "--opt=VALUE") or uninstall-preload (--root).
 * 0, or -EINVAL with the reason in err. */
static int preload_opt(int argc, char **argv, int *i, struct cli *c, char *err, size_t errlen)
{
    static const char *const names[] = {"--root", "--socks5", "--names", "--routes", "--shim"};
    const char **slots[] = {&c->preload.root, &c->preload.socks5, &c->preload.names,
                            &c->preload.routes, &c->preload.shim};
    const char *a = argv[*i], *sub = c->help_topic;
    size_t n_opts = c->cmd == CLI_INSTALL_PRELOAD ? sizeof names / sizeof names[0] : 1;
    for (size_t k = 0; k < n_opts; k++) {
        bool m;
        const char *v = opt_value(argc, argv, i, names[k], &m);
        if (!m)
            continue;
        if (!v || !*v) {
            snprintf(err, errlen, "%s wants a value", a);
            return -EINVAL;
        }
        *slots[k] = v;
        return 0;
    }
    snprintf(err, errlen, "%s: unexpected argument %s (see tsrun %s --help)", sub, a, sub);
    return -EINVAL;
}

int cli_parse(int argc, char **argv, struct cli *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->cmd = CLI_HELP;
    c->timeout_s = CLI_DEFAULT_TIMEOUT;
    int i = 1;
    const char *sub = NULL;
    for (; i < argc; i++) {
        const char *a = argv[i], *v;
        bool m;
        if (!strcmp(a, "--")) {
            i++;
            goto command;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        if ((v = opt_value(argc, argv, &i, "--socket", &m)) || m) {
            if (!v || !*v)
                goto need_value;
            c->socket = v;
        } else if ((v = opt_value(argc, argv, &i, "--socks5-port", &m)) || m) {
            if (!v || parse_int(v, 0, 65535, &c->socks5_port) < 0) {
                snprintf(err, errlen, "--socks5-port wants a port number 0..65535");
                return -EINVAL;
            }
            c->socks5_port_set = true;
        } else if ((v = opt_value(argc, argv, &i, "--socks5", &m)) || m) {
            if (!v || !*v)
                goto need_value;
            c->socks5 = v;
        } else if ((v = opt_value(argc, argv, &i, "--state-dir", &m)) || m) {
            if (!v || !*v)
                goto need_value;
            c->state_dir = v;
        } else if ((v = opt_value(argc, argv, &i, "--timeout", &m)) || m) {
            if (!v || parse_int(v, 1, 86400, &c->timeout_s) < 0) {
                snprintf(err, errlen, "--timeout wants seconds (1..86400)");
                return -EINVAL;
            }
        } else if ((v = opt_value(argc, argv, &i, "--intercept", &m)) || m) {
            static const char *const modes[] = {"auto", "shim", "seccomp", "ptrace", "env"};
            size_t k = 0;
            while (v && k < sizeof modes / sizeof modes[0] && strcmp(v, modes[k]) != 0)
                k++;
            if (!v || k == sizeof modes / sizeof modes[0]) {
                snprintf(err, errlen, "--intercept wants auto, shim, seccomp, ptrace or env");
                return -EINVAL;
            }
            c->intercept = (enum cli_intercept)k;
        } else if (!strcmp(a, "--ephemeral")) {
            c->ephemeral = true;
        } else if (!strcmp(a, "--accept-routes")) {
            c->accept_routes = true;
        } else if (!strcmp(a, "--no-proxy-env")) {
            c->no_proxy_env = true;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            c->verbose = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            c->cmd = CLI_HELP;
            return 0;
        } else if (!strcmp(a, "--version")) {
            c->cmd = CLI_VERSION;
            return 0;
        } else {
            snprintf(err, errlen, "unknown option %s (see tsrun --help)", a);
            return -EINVAL;
        }
    }
    if (i >= argc) {
        snprintf(err, errlen, "no COMMAND given (see tsrun --help)");
        return -EINVAL;
    }
    sub = argv[i];
    if (!strcmp(sub, "up")) {
        c->cmd = CLI_UP;
    } else if (!strcmp(sub, "down")) {
        c->cmd = CLI_DOWN;
    } else if (!strcmp(sub, "status")) {
        c->cmd = CLI_STATUS;
    } else if (!strcmp(sub, "env")) {
        c->cmd = CLI_ENV;
    } else if (!strcmp(sub, "doctor")) {
        c->cmd = CLI_DOCTOR;
    } else if (!strcmp(sub, "install-preload")) {
        c->cmd = CLI_INSTALL_PRELOAD;
    } else if (!strcmp(sub, "uninstall-preload")) {
        c->cmd = CLI_UNINSTALL_PRELOAD;
    } else if (!strcmp(sub, "help")) {
        c->cmd = CLI_HELP;
        c->help_topic = i + 1 < argc ? argv[i + 1] : NULL;
        return 0;
    } else if (!strcmp(sub, "version")) {
        c->cmd = CLI_VERSION;
        return 0;
    } else {
        goto command;
    }
    c->help_topic = sub;
    for (i++; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            c->help = true;
            return 0;
        }
        if (c->cmd == CLI_UP && (!strcmp(a, "--background") || !strcmp(a, "-d"))) {
            c->background = true;
        } else if (c->cmd == CLI_UP && !strncmp(a, "--tun", 5) && (!a[5] || a[5] == '=')) {
            bool m;
            const char *v = opt_value(argc, argv, &i, "--tun", &m);
            if (!v || (strcmp(v, "auto") != 0 && strcmp(v, "userspace") != 0 &&
                       strcmp(v, "kernel") != 0)) {
                snprintf(err, errlen, "--tun wants auto, userspace or kernel");
                return -EINVAL;
            }
            c->tun = v;
        } else if (c->cmd == CLI_UP && !strncmp(a, "--timeout", 9)) {
            bool m;
            const char *v = opt_value(argc, argv, &i, "--timeout", &m);
            if (!m || !v || parse_int(v, 1, 86400, &c->timeout_s) < 0) {
                snprintf(err, errlen, "--timeout wants seconds (1..86400)");
                return -EINVAL;
            }
        } else if (c->cmd == CLI_STATUS && !strcmp(a, "--json")) {
            c->json = true;
        } else if (c->cmd == CLI_INSTALL_PRELOAD || c->cmd == CLI_UNINSTALL_PRELOAD) {
            if (preload_opt(argc, argv, &i, c, err, errlen) < 0)
                return -EINVAL;
        } else if (c->cmd == CLI_DOCTOR) {
            if (!strcmp(a, "--") && i + 1 < argc)
                i++;
            c->argv = argv + i;
            c->argc = argc - i;
            return 0;
        } else {
            snprintf(err, errlen, "%s: unexpected argument %s (see tsrun %s --help)", sub, a, sub);
            return -EINVAL;
        }
    }
    return 0;

command:
    if (i >= argc) {
        snprintf(err, errlen, "no COMMAND given after --");
        return -EINVAL;
    }
    c->cmd = CLI_RUN;
    c->argv = argv + i;
    c->argc = argc - i;
    return 0;

need_value:
    snprintf(err, errlen, "%s wants a value", argv[i]);
    return -EINVAL;
}
