/* Command-line parsing (pure, so the unit tests drive it). */
#ifndef TSRUN_CLI_H
#define TSRUN_CLI_H

#include <stdbool.h>
#include <stddef.h>

enum cli_cmd {
    CLI_RUN,
    CLI_UP,
    CLI_DOWN,
    CLI_STATUS,
    CLI_ENV,
    CLI_DOCTOR,
    CLI_INSTALL_PRELOAD,   /* global mode (root): preload.h */
    CLI_UNINSTALL_PRELOAD, /* ... and its undo */
    CLI_HELP,
    CLI_VERSION
};

/* --intercept: how COMMAND's connects reach the tunnel. */
enum cli_intercept {
    CLI_INTERCEPT_AUTO = 0, /* shim for dynamic programs, seccomp (ptrace, env) for static/Go */
    CLI_INTERCEPT_SHIM,     /* LD_PRELOAD only */
    CLI_INTERCEPT_SECCOMP,  /* seccomp user notifications, tsrun supervises */
    CLI_INTERCEPT_PTRACE,   /* SECCOMP_RET_TRACE filter, tsrun traces the tree */
    CLI_INTERCEPT_ENV,      /* shim + ALL_PROXY/HTTP(S)_PROXY (proxy-aware tools) */
};

struct cli {
    enum cli_cmd cmd;
    const char *socket; /* --socket PATH */
    const char *socks5; /* --socks5 ADDR */
    const char *state_dir;
    int socks5_port;              /* --socks5-port N (0: let tailscaled pick) */
    bool socks5_port_set;         /* --socks5-port was given */
    int timeout_s;                /* --timeout SECONDS (default 60) */
    enum cli_intercept intercept; /* --intercept MODE (default auto) */
    bool ephemeral, accept_routes, no_proxy_env, verbose;
    bool background;        /* up --background */
    const char *tun;        /* up --tun auto|userspace|kernel (NULL: not given) */
    bool json;              /* status --json */
    struct cli_preload {    /* install-preload / uninstall-preload (--root only) */
        const char *root;   /* --root DIR: DIR/etc/... instead of /etc */
        const char *socks5; /* --socks5 ADDR after the subcommand (wins over the global one) */
        const char *names, *routes, *shim; /* --names PATH, --routes LIST, --shim PATH */
    } preload;
    bool help;              /* --help after a subcommand */
    const char *help_topic; /* subcommand name for help */
    char **argv;            /* COMMAND [ARGS...] (run, doctor) */
    int argc;
};

#define CLI_DEFAULT_TIMEOUT 60

/* Pure apart from reading nothing: fills c from argv (argv[0] is tsrun).
 * Environment defaults (TSRUN_SOCKET, TSRUN_SOCKS5_PORT) are applied by the
 * caller before or after as it likes. 0, or -EINVAL with a one-line reason. */
int cli_parse(int argc, char **argv, struct cli *c, char *err, size_t errlen);

/* Usage text for a subcommand name (NULL or unknown: the overview). */
const char *cli_usage(const char *topic);

#endif
