/* tailscaled lifecycle: find, start (singleton), log in, wait, supervise, stop. */
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

/* Pure: the state directory from TSRUN_STATE_DIR / uid / XDG_STATE_HOME /
 * HOME (any may be NULL). 0 or -ENAMETOOLONG/-ENOENT. */
int daemon_pick_state_dir(const char *opt, const char *env_dir, uid_t uid, const char *xdg,
                          const char *home, char *out, size_t outlen);

/* Paths, state dir (0700), mode. Returns a TSR_EXIT_* code (0 = fine). */
int daemon_init(struct daemon *d);

/* tailscaled + tailscale via TSRUN_TAILSCALED/TSRUN_TAILSCALE or PATH;
 * prints how to install them when missing. TSR_EXIT_* code. */
int daemon_find_binaries(struct daemon *d);

/* One LocalAPI status call into d->st. 0 or -errno (-ECONNREFUSED: nothing
 * listens; anything else: it answered, but not with a status); d->err says
 * what went wrong. */
int daemon_fetch_status(struct daemon *d, long timeout_ms);

#define DAEMON_AS_CHILD 1u    /* supervisor: tailscaled becomes our child */
#define DAEMON_NEED_STATUS 2u /* always make the status call (fills d->st) */

/* Makes sure tailscaled answers and is Running (starting it under the lock
 * and logging in when needed); d->st and d->socks5 are filled. The warm
 * path is one status call. Prints the error; returns a TSR_EXIT_* code. */
int daemon_ensure(struct daemon *d, unsigned flags);

/* A TUN-mode tailscaled that is Running at one of the usual sockets
 * (DAEMON_USUAL_SOCKETS): true with d->sock, d->st and d->mode = TUN set;
 * the tailnet is routable, tsrun injects nothing. */
bool daemon_find_tun(struct daemon *d);

/* Rewrites the name map from d->st when it changed. 0 or -errno. */
int daemon_write_names(struct daemon *d);

/* Foreground supervisor (`tsrun up`); notify_fd >= 0 gets one byte (the
 * first ensure's exit code) for `up --background`. Returns the exit code. */
int daemon_supervise(struct daemon *d, int notify_fd);

/* `tsrun up --background`: fork the supervisor, wait for its first result. */
int daemon_up_background(struct daemon *d);

/* After a `tsrun COMMAND` / `tsrun env` that started tailscaled itself:
 * starts a detached `tsrun up` supervisor (this binary, same state dir and
 * port options, output to supervisor.log) unless one runs, so the name map
 * stays fresh (and tailscaled comes back) while the command runs;
 * `tsrun down` stops both. TSRUN_NO_SUPERVISOR=1 opts out. Best effort:
 * 0 or -errno, nothing printed. */
int daemon_spawn_supervisor(const struct daemon *d);

/* `tsrun down`. TSR_EXIT_* code. */
int daemon_down(struct daemon *d);

/* Pure: parses the ready file ("STATE\nexit_node 0|1\nroutes LIST\n").
 * 0 and the fields, or -EINVAL. */
int daemon_parse_ready(const char *text, char *state, size_t statelen, bool *exit_node,
                       char *routes, size_t routeslen);

/* Reads a pid file: the pid, or -errno. */
pid_t daemon_read_pid(const char *path);

/* /proc/PID/cmdline holds the argument "--socket=SOCK". */
bool daemon_pid_is_tailscaled(pid_t pid, const char *sock);

/* /proc/PID/exe is this tsrun binary and it runs `up`. */
bool daemon_pid_is_supervisor(pid_t pid);

#endif
