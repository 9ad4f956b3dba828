/* tailscaled's lifecycle: struct daemon, shared by the modules that find,
 * start (singleton), log in, wait for, supervise and stop it, one job a
 * file (statedir, proc, query, start, login, ready, ensure, supervise; the
 * module headers list their internal functions). The daemon_* functions
 * below are what the commands use; each section names its file. */
#ifndef TSRUN_DAEMON_H
#define TSRUN_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "status.h"

#define DAEMON_SYSTEM_SOCKET "/var/run/tailscale/tailscaled.sock"
/* Where a running tailscaled is looked for before tsrun starts its own:
 * the Linux default (paths.DefaultTailscaledSocket), its /run spelling,
 * containerboot's TS_SOCKET default and the Fly.io recipe's socket.
 * TSRUN_SYSTEM_SOCKETS (colon-separated) replaces the list. */
#define DAEMON_USUAL_SOCKETS                                                                       \
    DAEMON_SYSTEM_SOCKET ":/run/tailscale/tailscaled.sock:/tmp/tailscaled.sock:/tmp/ts.sock"
#define DAEMON_WATCH_MASK 10ULL        /* NotifyInitialState | NotifyInitialNetMap */
#define DAEMON_READY_TTL_S 5           /* unsupervised: trust a Running check this long */
#define DAEMON_MAX_EXTRA 64            /* words in TS_EXTRA_ARGS / TS_TAILSCALED_EXTRA_ARGS */
#define DAEMON_STATUS_TIMEOUT_MS 3000L /* one LocalAPI status call */

enum daemon_mode { DAEMON_MODE_USERSPACE, DAEMON_MODE_TUN, DAEMON_MODE_EXTERNAL };

struct daemon {
    /* options (set by the caller before daemon_init) */
    const char *socket_opt; /* --socket / TSRUN_SOCKET: an external tailscaled */
    const char *socks5_opt; /* --socks5: an external SOCKS5 server */
    const char *state_dir_opt;
    int socks5_port;      /* explicit port (0: let tailscaled pick) */
    bool socks5_port_set; /* else: recorded, 1055, fallback (port.h) */
    bool ephemeral, accept_routes;
    bool accept_dns; /* TS_ACCEPT_DNS (default false) */
    int http_port;   /* TS_OUTBOUND_HTTP_PROXY_LISTEN's port; 0: the SOCKS5 port */
    bool tun_kernel; /* start tailscaled with a real TUN (tun.h), not userspace */
    int timeout_s;

    /* derived */
    enum daemon_mode mode;
    char state_dir[PATH_MAX], sock[PATH_MAX], pid_path[PATH_MAX], sup_pid_path[PATH_MAX];
    char log_path[PATH_MAX], sup_log_path[PATH_MAX], socks5_path[PATH_MAX], names_path[PATH_MAX];
    char lock_path[PATH_MAX], state_path[PATH_MAX], ready_path[PATH_MAX];
    char port_path[PATH_MAX], http_path[PATH_MAX];
    char tailscaled[PATH_MAX], tailscale[PATH_MAX];
    char socks5[80];     /* "127.0.0.1:PORT", "" when unknown */
    char http_proxy[80]; /* its outbound HTTP proxy "127.0.0.1:PORT", "" when none */

    struct tsr_status st; /* the last status read */
    bool have_st;
    char err[PATH_MAX + 256]; /* why the last status call failed, as a sentence */
    bool from_ready;          /* warm path: trusted the ready file, no status */
    bool started;             /* this ensure started tailscaled (not as a child) */
    bool ready_exit_node;     /* ... which recorded an exit node in use */
    char ready_routes[1024];  /* ... and the peers' PrimaryRoutes */

    /* supervisor only */
    pid_t child;  /* tailscaled as our direct child */
    int death_wr; /* write end of TS_PARENT_DEATH_FD */
};

/* ---- statedir.c */

/* Pure: the state directory from --state-dir, TSRUN_STATE_DIR, the uid
 * (0: /var/lib/tsrun), XDG_STATE_HOME (absolute only) or HOME (any may be
 * NULL). 0, -ENAMETOOLONG, or -ENOENT when nothing gives one. */
int daemon_pick_state_dir(const char *opt, const char *env_dir, uid_t uid, const char *xdg,
                          const char *home, char *out, size_t outlen);

/* The state directory (created 0700, refused when unsafe: statedir.h), the
 * paths in it, the mode. 0, TSR_EXIT_INTERNAL (state directory) or
 * TSR_EXIT_USAGE (socket path too long), after saying why. */
int daemon_init(struct daemon *d);

/* ---- start.c */

/* tailscaled + tailscale via TSRUN_TAILSCALED/TSRUN_TAILSCALE or PATH, into
 * d->tailscaled and d->tailscale. 0, or TSR_EXIT_NO_TAILSCALE after saying
 * how to install them. */
int daemon_find_binaries(struct daemon *d);

/* ---- query.c */

/* One LocalAPI status call (timeout_ms milliseconds) into d->st. 0, or
 * -errno: -ECONNREFUSED, -ENOENT or -ENOSYS when nothing usable listens
 * (`status` says "not running"), -ETIMEDOUT no answer in time, -EPROTO an
 * HTTP error, -EINVAL an unusable status (d->st then dropped), another
 * -errno from the transfer; d->err says what went wrong as a sentence.
 * Prints nothing but debug lines. */
int daemon_fetch_status(struct daemon *d, long timeout_ms);

/* A TUN-mode tailscaled that is Running at one of the usual sockets
 * (DAEMON_USUAL_SOCKETS, or TSRUN_SYSTEM_SOCKETS): true with d->sock, d->st
 * and d->mode = TUN set; the tailnet is routable, tsrun injects nothing. */
bool daemon_find_tun(struct daemon *d);

/* ---- ensure.c */

enum daemon_ensure_flags {
    DAEMON_AS_CHILD = 1u << 0,    /* supervisor: tailscaled becomes our child */
    DAEMON_NEED_STATUS = 1u << 1, /* no ready-file shortcut: d->st is filled */
};

/* Makes sure tailscaled answers and is Running, starting it (under the
 * lock) and logging in when needed; flags: enum daemon_ensure_flags. On 0,
 * d->socks5 (and d->http_proxy when there is one) is known and either
 * d->st holds the status (d->have_st) or the ready file stood in for it
 * (d->from_ready, d->ready_exit_node, d->ready_routes); d->started says
 * this call started tailscaled as a detached daemon; d->mode may turn TUN.
 * Else a TSR_EXIT_* code after saying why. Warmest path: no LocalAPI call;
 * warm path: one status call, no lock. */
int daemon_ensure(struct daemon *d, unsigned flags);

/* Rewrites the name map from d->st when it changed (a warning when it
 * cannot). 0, -ENODATA without a status, or -errno. */
int daemon_write_names(struct daemon *d);

/* ---- supervise.c */

/* Foreground supervisor (`tsrun up`): ensure, watch the IPN bus, rewrite
 * the map and ready file on changes, restart tailscaled with backoff
 * (0.5 s doubling to 30 s) until SIGTERM/SIGINT/SIGHUP. notify_fd >= 0 gets
 * one byte, the first ensure's exit code, for `up --background`. Returns
 * 0 after a stop signal, or the TSR_EXIT_* code that ended it. */
int daemon_supervise(struct daemon *d, int notify_fd);

/* `tsrun up --background`: forks the supervisor (output to
 * supervisor.log), waits for its first result; on failure the reason first,
 * in one line. 0 or a TSR_EXIT_* code. */
int daemon_up_background(struct daemon *d);

/* After a `tsrun COMMAND` / `tsrun env` that started tailscaled itself:
 * starts a detached `tsrun up` supervisor (this binary, same state dir and
 * port options, output to supervisor.log, the auth key over a pipe, never
 * in its environment) unless one runs, so the name map stays fresh (and
 * tailscaled comes back) while the command runs; `tsrun down` stops both.
 * TSRUN_NO_SUPERVISOR=1 opts out. Best effort: 0 or -errno, nothing
 * printed. */
int daemon_spawn_supervisor(const struct daemon *d);

/* `tsrun down`: the supervisor and tsrun's own tailscaled, never another.
 * 0, or TSR_EXIT_USAGE for an external tailscaled. */
int daemon_down(struct daemon *d);

/* ---- ready.c */

/* Pure: parses the ready file ("STATE\nexit_node 0|1\nroutes LIST\n...").
 * 0 and the fields, or -EINVAL. */
int daemon_parse_ready(const char *text, char *state, size_t statelen, bool *exit_node,
                       char *routes, size_t routeslen);

/* ---- proc.c */

/* Reads a pid file: the pid (> 0), or -errno (-EINVAL: not a pid). */
pid_t daemon_read_pid(const char *path);

/* pid is alive and its /proc/PID/cmdline holds the argument "--socket=SOCK". */
bool daemon_pid_is_tailscaled(pid_t pid, const char *sock);

/* pid is alive, /proc/PID/exe is this tsrun binary (an upgraded one
 * " (deleted)" too) and it runs `up`. */
bool daemon_pid_is_supervisor(pid_t pid);

#endif
