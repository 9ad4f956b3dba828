/* tailscaled lifecycle.
 *
 * IMPORTANT (singleton): everything that may start or log in a daemon runs
 * under flock(state_dir/lock): check -> clean stale files -> start -> wait
 * for the socket -> log in -> wait for Running. Twenty concurrent cold
 * `tsrun`s serialise there; the first starts tailscaled, the others find it
 * Running when they get the lock. The warm path takes no lock at all: one
 * status call that says Running is enough. */
#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hostname.h"
#include "inject.h"
#include "localapi.h"
#include "namemap.h"
#include "port.h"
#include "tsrun.h"
#include "tun.h"

extern char **environ;

#define STATUS_TIMEOUT_MS 3000L
#define START_MIN_MS 5000LL /* the least --timeout leaves tailscaled to start */
#define STOP_WAIT_MS 5000
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 60000LL
#define NOSTATE_SETTLE_MS 3000LL
#define PORT_SETTLE_MS 2000LL /* how long a recorded port may still be held */

int daemon_pick_state_dir(const char *opt, const char *env_dir, uid_t uid, const char *xdg,
                          const char *home, char *out, size_t outlen)
{
    if (opt && *opt)
        return tsr_fmt(out, outlen, "%s", opt);
    if (env_dir && *env_dir)
        return tsr_fmt(out, outlen, "%s", env_dir);
    if (uid == 0)
        return tsr_fmt(out, outlen, "/var/lib/tsrun");
    if (xdg && *xdg == '/')
        return tsr_fmt(out, outlen, "%s/tsrun", xdg);
    if (home && *home)
        return tsr_fmt(out, outlen, "%s/.local/state/tsrun", home);
    return -ENOENT;
}

static int join(char *out, const char *dir, const char *name)
{
    return tsr_fmt(out, PATH_MAX, "%s/%s", dir, name);
}

/* IMPORTANT: the state directory holds what every tunnelled process trusts
 * (the SOCKS5 address, the name map) and tailscaled's node key. One that
 * another user owns or can write (a shared /tmp, someone's XDG_STATE_HOME),
 * or that is a symlink to elsewhere, would let that user swap the recorded
 * SOCKS5 address and read the traffic: refuse it, with the fix. */
static int check_state_dir(const char *dir)
{
    struct stat sb;
    if (lstat(dir, &sb) < 0) {
        tsr_error("state directory %s: %s", dir, strerror(errno));
        return TSR_EXIT_INTERNAL;
    }
    if (S_ISLNK(sb.st_mode)) {
        char real[PATH_MAX];
        tsr_error("state directory %s is a symlink%s%s: tsrun does not follow one (whoever can "
                  "change it can redirect tsrun); set TSRUN_STATE_DIR to the real directory",
                  dir, realpath(dir, real) ? " to " : "", realpath(dir, real) ? real : "");
        return TSR_EXIT_INTERNAL;
    }
    if (!S_ISDIR(sb.st_mode)) {
        tsr_error("state directory %s is not a directory", dir);
        return TSR_EXIT_INTERNAL;
    }
    if (sb.st_uid != geteuid()) {
        tsr_error("state directory %s belongs to uid %ld, not to you (uid %ld): that user could "
                  "swap its SOCKS5 address and read your traffic; use a directory of your own "
                  "(TSRUN_STATE_DIR=DIR, created by you, mode 0700)",
                  dir, (long)sb.st_uid, (long)geteuid());
        return TSR_EXIT_INTERNAL;
    }
    if (sb.st_mode & (S_IWGRP | S_IWOTH)) {
        tsr_error("state directory %s is writable by %s: others could swap its files; "
                  "chmod go-w %s (or 0700)",
                  dir, sb.st_mode & S_IWOTH ? "every user" : "its group", dir);
        return TSR_EXIT_INTERNAL;
    }
    return 0;
}

int daemon_init(struct daemon *d)
{
    int rc = daemon_pick_state_dir(d->state_dir_opt, getenv("TSRUN_STATE_DIR"), geteuid(),
                                   getenv("XDG_STATE_HOME"), getenv("HOME"), d->state_dir,
                                   sizeof d->state_dir);
    if (rc < 0) {
        tsr_error("cannot pick a state directory: set TSRUN_STATE_DIR");
        return TSR_EXIT_INTERNAL;
    }
    rc = tsr_mkdir_p(d->state_dir, 0700);
    if (rc < 0) {
        tsr_error("state directory %s: %s", d->state_dir, strerror(-rc));
        return TSR_EXIT_INTERNAL;
    }
    rc = check_state_dir(d->state_dir);
    if (rc)
        return rc;
    char abs[PATH_MAX];
    if (d->state_dir[0] != '/' && realpath(d->state_dir, abs))
        snprintf(d->state_dir, sizeof d->state_dir, "%s", abs); /* daemons run in "/" */
    if (join(d->sock, d->state_dir, "tailscaled.sock") ||
        join(d->pid_path, d->state_dir, "tailscaled.pid") ||
        join(d->sup_pid_path, d->state_dir, "supervisor.pid") ||
        join(d->log_path, d->state_dir, "tailscaled.log") ||
        join(d->sup_log_path, d->state_dir, "supervisor.log") ||
        join(d->socks5_path, d->state_dir, "socks5") ||
        join(d->names_path, d->state_dir, "names") || join(d->lock_path, d->state_dir, "lock") ||
        join(d->state_path, d->state_dir, "tailscaled.state") ||
        join(d->ready_path, d->state_dir, "ready") || join(d->port_path, d->state_dir, "port") ||
        join(d->http_path, d->state_dir, "http_proxy")) {
        tsr_error("state directory path too long: %s", d->state_dir);
        return TSR_EXIT_INTERNAL;
    }
    if (d->ephemeral)
        strcpy(d->state_path, "mem:");
    d->mode = DAEMON_MODE_USERSPACE;
    if (d->socket_opt && *d->socket_opt) {
        if (tsr_fmt(d->sock, sizeof d->sock, "%s", d->socket_opt) < 0) {
            tsr_error("socket path too long");
            return TSR_EXIT_USAGE;
        }
        d->mode = DAEMON_MODE_EXTERNAL;
    } else if (d->socks5_opt && *d->socks5_opt) {
        snprintf(d->sock, sizeof d->sock, "%s", DAEMON_SYSTEM_SOCKET);
        d->mode = DAEMON_MODE_EXTERNAL;
    }
    if (d->mode == DAEMON_MODE_EXTERNAL) {
        /* Its own map and ready file: never mixed with our daemon's. */
        join(d->names_path, d->state_dir, "names.external");
        join(d->ready_path, d->state_dir, "ready.external");
    }
    if (d->socks5_opt && *d->socks5_opt)
        snprintf(d->socks5, sizeof d->socks5, "%s", d->socks5_opt);
    if (d->mode == DAEMON_MODE_EXTERNAL && d->http_port > 0)
        snprintf(d->http_proxy, sizeof d->http_proxy, "127.0.0.1:%d", d->http_port);
    d->child = -1;
    d->death_wr = -1;
    return 0;
}

static bool find_in_path(const char *name, char *out)
{
    return inject_resolve(name, out, PATH_MAX) == 0;
}

int daemon_find_binaries(struct daemon *d)
{
    const char *ed = getenv("TSRUN_TAILSCALED"), *ec = getenv("TSRUN_TAILSCALE");
    bool ok1 = ed && *ed ? tsr_fmt(d->tailscaled, PATH_MAX, "%s", ed) == 0 && access(ed, X_OK) == 0
                         : find_in_path("tailscaled", d->tailscaled);
    bool ok2 = ec && *ec ? tsr_fmt(d->tailscale, PATH_MAX, "%s", ec) == 0 && access(ec, X_OK) == 0
                         : find_in_path("tailscale", d->tailscale);
    if (ok1 && ok2)
        return 0;
    const char *bad = !ok1 ? ed : ec;
    if (bad && *bad && access(bad, F_OK) == 0) {
        tsr_error("%s is not executable (chmod +x)", bad);
        return TSR_EXIT_NO_TAILSCALE;
    }
    tsr_error("%s not found (PATH or TSRUN_TAILSCALED/TSRUN_TAILSCALE); install Tailscale: "
              "curl -fsSL https://tailscale.com/install.sh | sh, or unpack the static tarball "
              "from https://pkgs.tailscale.com/stable/ and put tailscale and tailscaled in PATH",
              !ok1 ? (ed && *ed ? ed : "tailscaled") : (ec && *ec ? ec : "tailscale"));
    return TSR_EXIT_NO_TAILSCALE;
}

/* "HTTP 500 from SOCK: <first line of the body>", printable and short. */
static void describe_http_error(struct daemon *d, const struct localapi_resp *r)
{
    char line[121];
    size_t n = 0;
    for (const char *p = r->body; *p && *p != '\n' && *p != '\r' && n < sizeof line - 1; p++)
        line[n++] = *p >= 0x20 && *p < 0x7f ? *p : '?';
    line[n] = '\0';
    snprintf(d->err, sizeof d->err, "LocalAPI answered HTTP %ld from %s%s%s%s", r->code, d->sock,
             n ? ": " : "", line,
             r->body[n] && r->body[n] != '\n' && r->body[n] != '\r' ? "..." : "");
}

static void feed_status(const char *data, size_t len, void *ctx)
{
    status_reader_feed(ctx, data, len);
}

/* One GET of the status: its body to sr as it arrives when sr is not NULL,
 * else whole in *r. 0 with a 200 reply, or -errno with d->err set. */
static int get_status(struct daemon *d, long timeout_ms, struct status_reader *sr,
                      struct localapi_resp *r)
{
    int rc =
        sr ? localapi_get_stream(d->sock, "/localapi/v0/status", timeout_ms, feed_status, sr, r)
           : localapi_get(d->sock, "/localapi/v0/status", timeout_ms, r);
    if (rc == -ETIMEDOUT)
        snprintf(d->err, sizeof d->err, "LocalAPI at %s did not answer within %ld s", d->sock,
                 (timeout_ms + 999) / 1000);
    else if (rc == -ECONNREFUSED || rc == -ENOMEM || rc == -ENOSYS)
        snprintf(d->err, sizeof d->err, "cannot reach tailscaled at %s: %s", d->sock,
                 strerror(-rc));
    else if (rc < 0)
        snprintf(d->err, sizeof d->err, "LocalAPI at %s %s", d->sock, r->err);
    if (rc < 0)
        return rc;
    if (r->code != 200) {
        describe_http_error(d, r);
        tsr_debug("status: HTTP %ld: %.200s", r->code, r->body);
        localapi_resp_free(r);
        return -EPROTO;
    }
    return 0;
}

int daemon_fetch_status(struct daemon *d, long timeout_ms)
{
    struct localapi_resp r;
    struct tsr_status st;
    char err[160] = "";
    d->err[0] = '\0';
    /* Streamed into the reader: a big tailnet's status never sits in memory
     * whole, nor as one tree (status.h). Text the reader leaves alone
     * (malformed or unusual) is fetched again whole for jansson's verdict. */
    struct status_reader *sr = status_reader_new();
    int rc = sr ? get_status(d, timeout_ms, sr, &r) : -ENOMEM;
    if (!sr)
        snprintf(d->err, sizeof d->err, "cannot reach tailscaled at %s: %s", d->sock,
                 strerror(ENOMEM));
    if (rc == 0) {
        localapi_resp_free(&r);
        rc = status_reader_finish(sr, &st, err, sizeof err);
    }
    status_reader_free(sr);
    if (rc == -EAGAIN) {
        tsr_debug("status: an unusual reply; parsing it whole");
        rc = get_status(d, timeout_ms, NULL, &r);
        if (rc == 0) {
            rc = status_parse(r.body, r.len, &st, err, sizeof err);
            localapi_resp_free(&r);
        }
    }
    if (rc < 0 && !err[0])
        return rc; /* d->err says why */
    if (rc < 0) {
        if (d->have_st) /* as before: an unusable status leaves none */
            status_free(&d->st);
        d->have_st = false;
        const char *why = strncmp(err, "status: ", 8) == 0 ? err + 8 : err;
        if (strncmp(why, "bad JSON ", 9) == 0)
            snprintf(d->err, sizeof d->err,
                     "LocalAPI sent a status that is not valid JSON (%s) from %s", why + 9,
                     d->sock);
        else
            snprintf(d->err, sizeof d->err, "LocalAPI at %s sent an unusable status (%s)", d->sock,
                     why);
        tsr_debug("%s", err);
        return rc;
    }
    if (d->have_st)
        status_free(&d->st);
    d->st = st;
    d->have_st = true;
    tsr_debug("status: %s, %zu peers", d->st.backend_state, d->st.npeers);
    return 0;
}

static bool state_is(const struct daemon *d, const char *s)
{
    return d->have_st && strcmp(d->st.backend_state, s) == 0;
}

/* ---------------------------------------------------------------- pids */

pid_t daemon_read_pid(const char *path)
{
    char *text = NULL;
    int rc = tsr_read_file(path, &text, NULL);
    if (rc < 0)
        return rc;
    char *end;
    long v = strtol(text, &end, 10);
    bool bad = v <= 0 || v > INT_MAX || (*end && *end != '\n');
    free(text);
    return bad ? -EINVAL : (pid_t)v;
}

static int write_pid(const char *path, pid_t pid)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);
    return tsr_write_atomic(path, buf, (size_t)n, 0644);
}

/* Alive and not a zombie. */
static bool pid_alive(pid_t pid)
{
    char path[64], *text = NULL;
    if (pid <= 0)
        return false;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (tsr_read_file(path, &text, NULL) < 0)
        return false;
    const char *p = strrchr(text, ')');
    bool alive = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
    free(text);
    return alive;
}

static bool cmdline_has(pid_t pid, const char *arg)
{
    char path[64], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    if (tsr_read_file(path, &text, &len) < 0)
        return false;
    bool found = false;
    for (size_t i = 0; i < len; i += strlen(text + i) + 1) {
        if (strcmp(text + i, arg) == 0) {
            found = true;
            break;
        }
    }
    free(text);
    return found;
}

bool daemon_pid_is_tailscaled(pid_t pid, const char *sock)
{
    char arg[PATH_MAX + 16];
    if (!pid_alive(pid) || tsr_fmt(arg, sizeof arg, "--socket=%s", sock) < 0)
        return false;
    return cmdline_has(pid, arg);
}

/* The supervisor is this very binary running `up`. */
bool daemon_pid_is_supervisor(pid_t pid)
{
    char a[PATH_MAX], b[PATH_MAX], path[64];
    if (!pid_alive(pid))
        return false;
    snprintf(path, sizeof path, "/proc/%ld/exe", (long)pid);
    ssize_t n1 = readlink(path, a, sizeof a - 1), n2 = readlink("/proc/self/exe", b, sizeof b - 1);
    if (n1 <= 0 || n2 <= 0)
        return false;
    a[n1] = b[n2] = '\0';
    /* A rebuilt or upgraded tsrun leaves the old one " (deleted)". */
    const char *del = " (deleted)";
    size_t dl = strlen(del);
    if ((size_t)n1 > dl && strcmp(a + n1 - dl, del) == 0)
        a[n1 - dl] = '\0';
    if ((size_t)n2 > dl && strcmp(b + n2 - dl, del) == 0)
        b[n2 - dl] = '\0';
    return strcmp(a, b) == 0 && cmdline_has(pid, "up");
}

/* SIGTERM, bounded wait, SIGKILL. tailscaled runs in a session of its own
 * (setsid in spawn_tailscaled): its whole process group is signalled, so a
 * daemon that started children of its own leaves no orphans behind. */
static void stop_pid(pid_t pid, bool is_child)
{
    if (pid <= 0)
        return;
    pid_t pg = getpgid(pid);
    bool group = pg > 1 && pg != getpgrp();
    kill(group ? -pg : pid, SIGTERM);
    long long deadline = tsr_now_ms() + STOP_WAIT_MS;
    while (tsr_now_ms() < deadline) {
        if (is_child) {
            if (waitpid(pid, NULL, WNOHANG) == pid)
                goto sweep;
        } else if (!pid_alive(pid)) {
            goto sweep;
        }
        tsr_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    if (is_child)
        waitpid(pid, NULL, 0);
sweep:
    if (group)
        kill(-pg, SIGKILL); /* whatever of the group ignored SIGTERM */
}

void daemon_log_tail(const char *path, int n)
{
    char *text = NULL;
    size_t len = 0;
    int rc = tsr_read_file(path, &text, &len);
    if (rc < 0 || len == 0) {
        if (rc < 0)
            fprintf(stderr, "tsrun: cannot read %s: %s\n", path, strerror(-rc));
        else
            fprintf(stderr, "tsrun: %s is empty (no output at all)\n", path);
        free(text);
        return;
    }
    size_t i = len;
    if (i && text[i - 1] == '\n')
        i--;
    int lines = 0;
    while (i > 0 && lines < n) {
        i--;
        if (text[i] == '\n')
            lines++;
    }
    if (text[i] == '\n')
        i++;
    fprintf(stderr, "tsrun: last lines of %s:\n", path);
    for (char *p = text + i; *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        fprintf(stderr, "    %s\n", p);
        if (!nl)
            break;
        p = nl + 1;
    }
    free(text);
}

/* ---------------------------------------------------------------- start */

/* Every inherited descriptor above 2 gets FD_CLOEXEC, except keep: a
 * long-lived daemon must not hold the caller's pipes open. */
static void cloexec_from_3(int keep)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return;
    int self = dirfd(dir);
    struct dirent *e;
    while ((e = readdir(dir))) {
        int fd = atoi(e->d_name);
        if (fd > 2 && fd != keep && fd != self)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    closedir(dir);
}

static void child_exec(const char *bin, char **argv, char **env, int out_fd, int err_pipe, int keep)
{
    cloexec_from_3(keep);
    if (keep >= 0)
        fcntl(keep, F_SETFD, 0); /* TS_PARENT_DEATH_FD: inherited by tailscaled */
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0 && devnull != 0) {
        dup2(devnull, 0);
        close(devnull);
    }
    if (out_fd >= 0) {
        dup2(out_fd, 1);
        dup2(out_fd, 2);
        if (out_fd > 2)
            close(out_fd);
    }
    signal(SIGPIPE, SIG_DFL);
    execve(bin, argv, env);
    int e = errno;
    ssize_t w = write(err_pipe, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* Starts tailscaled with output to the log. as_child: our direct child with
 * TS_PARENT_DEATH_FD (it dies with the supervisor); otherwise double-forked
 * into its own session so it outlives this short-lived process. */
static int spawn_tailscaled(struct daemon *d, int port, bool as_child, pid_t *pid_out)
{
    int rc = 0, log_fd = -1, errp[2] = {-1, -1}, pidp[2] = {-1, -1}, deathp[2] = {-1, -1};
    char **env = NULL;
    char a_socks[64], a_http[80], a_sock[PATH_MAX + 16], a_state[PATH_MAX + 16], death_env[48];
    /* Kernel mode keeps the SOCKS5 and HTTP listeners (the same start-up
     * and warm paths); the status's TUN=true makes tsrun inject nothing. */
    char *a_tun = d->tun_kernel ? "--tun=" TUN_IFACE : "--tun=userspace-networking";
    snprintf(a_socks, sizeof a_socks, "--socks5-server=127.0.0.1:%d", port);
    snprintf(a_sock, sizeof a_sock, "--socket=%s", d->sock);
    snprintf(a_state, sizeof a_state, "--state=%s", d->state_path);
    char *argv[8 + DAEMON_MAX_EXTRA] = {d->tailscaled, a_tun, a_socks, a_sock, a_state, NULL};
    char **extra = NULL;
    int ac = 5;
    /* IMPORTANT: the same address for SOCKS5 and the outbound HTTP proxy
     * makes tailscaled serve both on one listener, told apart by the first
     * byte (cmd/tailscaled proxymux, not with port 0): Go programs get
     * HTTP_PROXY=http://ADDR on the very port the shim uses. */
    if (port > 0 || d->http_port > 0) {
        snprintf(a_http, sizeof a_http, "--outbound-http-proxy-listen=127.0.0.1:%d",
                 d->http_port > 0 ? d->http_port : port);
        argv[ac++] = a_http;
    }
    /* TS_TAILSCALED_EXTRA_ARGS: containerboot appends strings.Fields of it. */
    int nx = tsr_split_fields(getenv("TS_TAILSCALED_EXTRA_ARGS"), &extra);
    if (nx < 0 || nx > DAEMON_MAX_EXTRA) {
        rc = nx < 0 ? nx : -E2BIG;
        goto out;
    }
    for (int i = 0; i < nx; i++)
        argv[ac++] = extra[i];
    argv[ac] = NULL;

    char old[PATH_MAX + 4];
    snprintf(old, sizeof old, "%s.1", d->log_path);
    rename(d->log_path, old);
    log_fd = open(d->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        rc = -errno;
        goto out;
    }
    env = inject_clean_env(environ);
    if (!env || pipe2(errp, O_CLOEXEC) < 0 || pipe2(pidp, O_CLOEXEC) < 0) {
        rc = env ? -errno : -ENOMEM;
        goto out;
    }
    if (as_child) {
        if (d->death_wr >= 0) { /* the previous child's */
            close(d->death_wr);
            d->death_wr = -1;
        }
        if (pipe2(deathp, O_CLOEXEC) < 0) {
            rc = -errno;
            goto out;
        }
        snprintf(death_env, sizeof death_env, "TS_PARENT_DEATH_FD=%d", deathp[0]);
        size_t n = 0;
        while (env[n])
            n++;
        char **ne = realloc(env, (n + 2) * sizeof *ne);
        if (!ne) {
            rc = -ENOMEM;
            goto out;
        }
        env = ne;
        env[n] = strdup(death_env);
        env[n + 1] = NULL;
        if (!env[n]) {
            rc = -ENOMEM;
            goto out;
        }
    }
    tsr_debug("starting %s %s %s %s %s %s", argv[0], argv[1], argv[2], argv[3], argv[4],
              argv[5] ? argv[5] : "");
    pid_t pid = fork();
    if (pid < 0) {
        rc = -errno;
        goto out;
    }
    if (pid == 0) {
        setsid();
        if (chdir("/") < 0)
            _exit(127);
        if (!as_child) {
            pid_t g = fork();
            if (g != 0) {
                ssize_t w = write(pidp[1], &g, sizeof g);
                (void)w;
                _exit(g < 0 ? 1 : 0);
            }
        }
        child_exec(d->tailscaled, argv, env, log_fd, errp[1], as_child ? deathp[0] : -1);
    }
    close(errp[1]);
    errp[1] = -1;
    close(pidp[1]);
    pidp[1] = -1;
    if (!as_child) {
        pid_t g = -1;
        waitpid(pid, NULL, 0);
        if (read(pidp[0], &g, sizeof g) != (ssize_t)sizeof g || g <= 0) {
            rc = -ECHILD;
            goto out;
        }
        pid = g;
    }
    int e = 0;
    ssize_t got;
    do {
        got = read(errp[0], &e, sizeof e); /* EOF: execve succeeded */
    } while (got < 0 && errno == EINTR);
    if (got == (ssize_t)sizeof e) {
        if (as_child)
            waitpid(pid, NULL, 0);
        rc = -e;
        goto out;
    }
    if (as_child) {
        d->child = pid;
        d->death_wr = deathp[1];
        deathp[1] = -1;
    }
    *pid_out = pid;
out:
    if (log_fd >= 0)
        close(log_fd);
    for (int i = 0; i < 2; i++) {
        if (errp[i] >= 0)
            close(errp[i]);
        if (pidp[i] >= 0)
            close(pidp[i]);
        if (deathp[i] >= 0)
            close(deathp[i]);
    }
    inject_free_env(env);
    tsr_free_fields(extra);
    return rc;
}

/* The address of the last "SOCKS5 listening on ADDR" line in the log. */
static bool socks5_from_log(const char *log_path, char *out, size_t outlen)
{
    char *text = NULL;
    bool found = false;
    if (tsr_read_file(log_path, &text, NULL) < 0)
        return false;
    const char *key = "SOCKS5 listening on ", *p = text, *hit = NULL;
    while ((p = strstr(p, key))) {
        hit = p + strlen(key);
        p = hit;
    }
    if (hit) {
        size_t n = strcspn(hit, " \r\n");
        if (n > 0 && n < outlen && strchr(hit, '\n')) {
            memcpy(out, hit, n);
            out[n] = '\0';
            found = true;
        }
    }
    free(text);
    return found;
}

/* The first word of path into out ("" when absent or unusable). */
static bool read_word(const char *path, char *out, size_t outlen)
{
    char *text = NULL;
    out[0] = '\0';
    if (tsr_read_file(path, &text, NULL) < 0)
        return false;
    size_t n = strcspn(text, " \r\n");
    bool ok = n > 0 && n < outlen;
    if (ok) {
        memcpy(out, text, n);
        out[n] = '\0';
    }
    free(text);
    return ok;
}

static bool read_socks5_file(struct daemon *d)
{
    read_word(d->http_path, d->http_proxy, sizeof d->http_proxy);
    return read_word(d->socks5_path, d->socks5, sizeof d->socks5);
}

/* The port to give tailscaled (port.h has the order), or -EADDRINUSE after
 * saying why. A warning names a fallback the first time it is chosen. */
static int pick_port(struct daemon *d)
{
    if (d->socks5_port_set) {
        if (d->socks5_port > 0 && !port_free(d->socks5_port)) {
            tsr_error("127.0.0.1:%d (the SOCKS5 port asked for) is in use by another program; "
                      "pick another with --socks5-port/TSRUN_SOCKS5_PORT or stop that program",
                      d->socks5_port);
            return -EADDRINUSE;
        }
        return d->socks5_port;
    }
    int rec = port_read(d->port_path), fb = port_fallback(d->state_dir, geteuid());
    /* A daemon stopped a moment ago may still hold it: wait a little. */
    for (long long until = tsr_now_ms() + PORT_SETTLE_MS; rec > 0; tsr_sleep_ms(50)) {
        if (port_free(rec))
            return rec;
        if (tsr_now_ms() >= until)
            break;
    }
    if (rec > 0)
        tsr_warn("127.0.0.1:%d (the SOCKS5 port recorded in %s) is now in use by another "
                 "program; choosing again",
                 rec, d->port_path);
    if (port_free(PORT_DEFAULT))
        return PORT_DEFAULT;
    if (port_free(fb)) {
        tsr_warn("127.0.0.1:%d is in use by another program: tailscaled's SOCKS5 and HTTP proxy "
                 "listen on 127.0.0.1:%d instead (this state directory's fixed fallback, recorded "
                 "in %s; `tsrun env`, `tsrun status` and install-preload use it)",
                 PORT_DEFAULT, fb, d->port_path);
        return fb;
    }
    tsr_error("127.0.0.1:%d and the fallback 127.0.0.1:%d are both in use by other programs; "
              "choose a port with --socks5-port N (TSRUN_SOCKS5_PORT)",
              PORT_DEFAULT, fb);
    return -EADDRINUSE;
}

static void clean_stale(struct daemon *d)
{
    pid_t pid = daemon_read_pid(d->pid_path);
    if (pid > 0 && daemon_pid_is_tailscaled(pid, d->sock)) {
        tsr_debug("tailscaled pid %ld does not answer; stopping it", (long)pid);
        stop_pid(pid, pid == d->child);
    } else if (pid > 0) {
        tsr_debug("stale pid file (pid %ld is gone)", (long)pid);
    }
    if (pid > 0 && pid == d->child) {
        waitpid(pid, NULL, WNOHANG);
        d->child = -1;
    }
    unlink(d->pid_path);
    unlink(d->socks5_path);
    unlink(d->http_path);
    unlink(d->ready_path);
    if (localapi_ping(d->sock) < 0)
        unlink(d->sock); /* a dead daemon's socket file */
}

/* Starts tailscaled and waits until deadline for its socket and SOCKS5. */
static int start_daemon(struct daemon *d, bool as_child, long long deadline)
{
    pid_t pid = -1;
    char line[96];
    int port = pick_port(d);
    if (port < 0)
        return TSR_EXIT_DAEMON;
    int rc = spawn_tailscaled(d, port, as_child, &pid);
    if (rc < 0) {
        tsr_error("cannot start %s: %s (log %s)", d->tailscaled, strerror(-rc), d->log_path);
        return TSR_EXIT_DAEMON;
    }
    rc = write_pid(d->pid_path, pid);
    if (rc < 0) {
        tsr_error("cannot write %s: %s", d->pid_path, strerror(-rc));
        goto fail;
    }
    bool have_socks = false, have_sock = false;
    long long start = tsr_now_ms();
    while (!(have_socks && have_sock)) {
        if (!have_socks)
            have_socks = socks5_from_log(d->log_path, d->socks5, sizeof d->socks5);
        if (!have_sock)
            have_sock = localapi_ping(d->sock) == 0;
        if (have_socks && have_sock)
            break;
        bool dead = as_child ? waitpid(pid, NULL, WNOHANG) == pid : !pid_alive(pid);
        if (dead || tsr_now_ms() > deadline) {
            if (dead)
                tsr_error("tailscaled exited during startup");
            else
                tsr_error("tailscaled did not open its socket and SOCKS5 port within %lld s "
                          "(--timeout)",
                          (deadline - start + 999) / 1000);
            daemon_log_tail(d->log_path, 15);
            if (!dead)
                stop_pid(pid, as_child);
            if (as_child)
                d->child = -1;
            unlink(d->pid_path);
            return TSR_EXIT_DAEMON;
        }
        tsr_sleep_ms(10);
    }
    d->http_proxy[0] = '\0';
    if (port > 0 || d->http_port > 0) {
        if (d->http_port > 0)
            snprintf(d->http_proxy, sizeof d->http_proxy, "127.0.0.1:%d", d->http_port);
        else
            snprintf(d->http_proxy, sizeof d->http_proxy, "%s", d->socks5);
        int n = snprintf(line, sizeof line, "%s\n", d->http_proxy);
        rc = tsr_write_atomic(d->http_path, line, (size_t)n, 0644);
        if (rc == 0 && port > 0)
            rc = port_write(d->port_path, port);
        if (rc < 0) {
            tsr_error("cannot write %s: %s", d->http_path, strerror(-rc));
            goto fail;
        }
    }
    int n = snprintf(line, sizeof line, "%s\n", d->socks5);
    rc = tsr_write_atomic(d->socks5_path, line, (size_t)n, 0644);
    if (rc < 0) {
        tsr_error("cannot write %s: %s", d->socks5_path, strerror(-rc));
        goto fail;
    }
    tsr_debug("tailscaled pid %ld, SOCKS5 %s", (long)pid, d->socks5);
    return 0;
fail:
    stop_pid(pid, as_child);
    if (as_child)
        d->child = -1;
    unlink(d->pid_path);
    return TSR_EXIT_INTERNAL;
}

/* ---------------------------------------------------------------- login */

static bool wants_login(const struct daemon *d)
{
    return state_is(d, "NeedsLogin") || state_is(d, "NoState");
}

static void progress(const char *what, long long start)
{
    if (!isatty(2))
        return;
    fprintf(stderr, "\rtsrun: %s (%llds) ", what, (tsr_now_ms() - start) / 1000);
}

static void progress_done(bool shown)
{
    if (shown && isatty(2))
        fprintf(stderr, "\r\033[K");
}

static char key_buf[4096];
static const char *key_err;

/* TS_AUTHKEY or TS_AUTH_KEY (containerboot's names), read once. A value
 * "file:PATH" names a file holding the key (whitespace trimmed), the same
 * convention as `tailscale up --auth-key=file:PATH` and containerboot.
 * NULL when unset, or with key_err set when the file cannot be used. */
static const char *auth_key(void)
{
    static bool done;
    static const char *key;
    if (done)
        return key;
    done = true;
    const char *v = getenv("TS_AUTHKEY");
    if (!v || !*v)
        v = getenv("TS_AUTH_KEY");
    if (!v || !*v)
        return NULL;
    if (strncmp(v, "file:", 5) != 0) {
        key = v;
        return key;
    }
    char *text = NULL;
    size_t len = 0;
    int rc = tsr_read_file(v + 5, &text, &len);
    if (rc < 0) {
        static char why[PATH_MAX + 64];
        snprintf(why, sizeof why, "cannot read the auth key file %s: %s", v + 5, strerror(-rc));
        key_err = why;
        return NULL;
    }
    char *b = text, *e = text + len;
    while (b < e && strchr(" \t\r\n", *b))
        b++;
    while (e > b && strchr(" \t\r\n", e[-1]))
        e--;
    if (e == b || (size_t)(e - b) >= sizeof key_buf) {
        key_err = e == b ? "the auth key file named by TS_AUTHKEY=file:... is empty"
                         : "the auth key file named by TS_AUTHKEY=file:... is too long";
        free(text);
        return NULL;
    }
    memcpy(key_buf, b, (size_t)(e - b));
    key_buf[e - b] = '\0';
    free(text);
    key = key_buf;
    return key;
}

/* containerboot's TS_AUTH_ONCE=false: "forcibly log in every time the
 * container starts", i.e. run `tailscale up` with the key whenever tsrun
 * starts tailscaled, even over a saved login. Only when set to false
 * explicitly: tsrun's default is containerboot's true (log in only when
 * the node is not logged in), which a single-use key needs. */
static bool auth_every_start(void)
{
    const char *v = getenv("TS_AUTH_ONCE");
    static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
    bool off = false;
    for (size_t i = 0; v && i < sizeof f / sizeof *f; i++)
        off |= !strcmp(v, f[i]);
    return off && auth_key() != NULL;
}

/* An OAuth client secret needs tags (tailscale up refuses it without
 * --advertise-tags): say so before starting or calling anything. */
static int check_key(void)
{
    const char *key = auth_key(), *tags = getenv("TSRUN_TAGS"), *extra = getenv("TS_EXTRA_ARGS");
    if (!(tags && *tags) && extra && strstr(extra, "--advertise-tags"))
        tags = "TS_EXTRA_ARGS";
    if (key_err) {
        tsr_error("%s", key_err);
        return TSR_EXIT_LOGIN;
    }
    if (key && strncmp(key, "tskey-client-", 13) == 0 && !(tags && *tags)) {
        tsr_error("TS_AUTHKEY is an OAuth client secret (tskey-client-...): tailscale requires "
                  "tags for it; set TSRUN_TAGS=tag:NAME[,tag:NAME] (or "
                  "TS_EXTRA_ARGS=--advertise-tags=...)");
        return TSR_EXIT_LOGIN;
    }
    return 0;
}

/* IMPORTANT: a Stopped node is logged in, with whatever prefs its user
 * chose since (an exit node, say). Only WantRunning changes here, plus
 * RouteAll for --accept-routes: `tailscale up` would refuse on such a node
 * unless every non-default setting were named again, and --reset would
 * throw the user's choices away. */
static int resume_stopped(struct daemon *d)
{
    const char *prefs = d->accept_routes ? "{\"WantRunning\":true,\"WantRunningSet\":true,"
                                           "\"RouteAll\":true,\"RouteAllSet\":true}"
                                         : "{\"WantRunning\":true,\"WantRunningSet\":true}";
    struct localapi_resp r;
    tsr_debug("node is Stopped: setting WantRunning%s", d->accept_routes ? " and RouteAll" : "");
    int rc = localapi_patch(d->sock, "/localapi/v0/prefs", prefs, STATUS_TIMEOUT_MS, &r);
    if (rc < 0) {
        tsr_error("cannot start the stopped node: LocalAPI at %s: %s", d->sock,
                  r.err[0] ? r.err : strerror(-rc));
        return TSR_EXIT_DAEMON;
    }
    if (r.code != 200) {
        describe_http_error(d, &r);
        tsr_error("cannot start the stopped node: %s", d->err);
        localapi_resp_free(&r);
        return TSR_EXIT_LOGIN;
    }
    localapi_resp_free(&r);
    return 0;
}

/* TS_HOSTNAME on a node that is already logged in: `tailscale up` would
 * only apply it with every other non-default flag named again, so only
 * the Hostname pref changes (EditPrefs), like `tailscale set --hostname`.
 * Nothing when TS_HOSTNAME is unset or already in effect. 0 or a TSR_EXIT_*
 * code after one warning line (the node keeps running either way). */
static int apply_hostname(struct daemon *d)
{
    char host[HOSTNAME_NAME_MAX + 2], body[HOSTNAME_NAME_MAX + 64];
    const char *want = getenv("TS_HOSTNAME");
    if (!want || !*want || !d->have_st || hostname_pick(host, sizeof host, NULL, 0) < 0 ||
        !strcmp(d->st.self.host_name, host))
        return 0;
    snprintf(body, sizeof body, "{\"Hostname\":\"%s\",\"HostnameSet\":true}", host);
    struct localapi_resp r;
    int rc = localapi_patch(d->sock, "/localapi/v0/prefs", body, STATUS_TIMEOUT_MS, &r);
    if (rc < 0 || r.code != 200) {
        tsr_warn("cannot set the hostname %s: %s", host,
                 rc < 0 ? (r.err[0] ? r.err : strerror(-rc)) : "LocalAPI refused it");
        if (rc == 0)
            localapi_resp_free(&r);
        return TSR_EXIT_DAEMON;
    }
    localapi_resp_free(&r);
    tsr_debug("hostname set to %s (was %s)", host, d->st.self.host_name);
    return daemon_fetch_status(d, STATUS_TIMEOUT_MS) == 0 ? 0 : TSR_EXIT_DAEMON;
}

/* Runs `tailscale up`, watching its output and the backend state. */
static int run_login(struct daemon *d, long long deadline)
{
    int rc = 0, outp[2] = {-1, -1}, keyp[2] = {-1, -1};
    char **env = NULL;
    pid_t pid = -1;
    bool shown = false;
    long long started = tsr_now_ms();
    char host[HOSTNAME_NAME_MAX + 2], why[256];
    char a_sock[PATH_MAX + 16], a_key[64], a_host[HOSTNAME_NAME_MAX + 16], a_tags[512], a_timeout[32];
    char out[4096] = "", url[512] = "";
    size_t outlen = 0;
    const char *key = auth_key(), *tags = getenv("TSRUN_TAGS");
    bool have_key = key != NULL;

    if (check_key() != 0)
        return TSR_EXIT_LOGIN;
    if (hostname_pick(host, sizeof host, why, sizeof why) < 0) {
        tsr_error("TS_HOSTNAME=%s: tailscale up would refuse it: %s", getenv("TS_HOSTNAME"), why);
        return TSR_EXIT_USAGE;
    }
    char *argv[16 + DAEMON_MAX_EXTRA], **extra = NULL;
    int ac = 0;
    int nx = tsr_split_fields(getenv("TS_EXTRA_ARGS"), &extra);
    if (nx < 0 || nx > DAEMON_MAX_EXTRA) {
        tsr_error("TS_EXTRA_ARGS: %s", nx < 0 ? strerror(-nx) : "too many arguments");
        tsr_free_fields(extra);
        return TSR_EXIT_USAGE;
    }
    argv[ac++] = d->tailscale;
    snprintf(a_sock, sizeof a_sock, "--socket=%s", d->sock);
    argv[ac++] = a_sock;
    argv[ac++] = "up";
    if (have_key) {
        /* IMPORTANT: the key never touches disk nor the command line (which
         * every local user can read): it waits in a pipe that the CLI reads
         * as `--auth-key=file:/dev/fd/N` (cmd/tailscale/cli/up.go reads a
         * "file:" value with os.ReadFile and trims it). A key is far below
         * the pipe's capacity, so the write cannot block; the write end is
         * closed before the CLI starts, so its read ends at EOF. */
        size_t kl = strlen(key);
        if (pipe2(keyp, O_CLOEXEC) < 0 || keyp[0] <= 2 || kl > sizeof key_buf ||
            write(keyp[1], key, kl) != (ssize_t)kl || write(keyp[1], "\n", 1) != 1) {
            tsr_error("cannot hand the auth key to tailscale: %s", strerror(errno ? errno : EIO));
            rc = TSR_EXIT_INTERNAL;
            goto out;
        }
        close(keyp[1]);
        keyp[1] = -1;
        snprintf(a_key, sizeof a_key, "--auth-key=file:/dev/fd/%d", keyp[0]);
        argv[ac++] = a_key;
    }
    snprintf(a_host, sizeof a_host, "--hostname=%s", host);
    argv[ac++] = a_host;
    /* containerboot's TS_ACCEPT_DNS, default false (tsrun answers names
     * itself; a sandbox's resolv.conf is not tailscaled's to change). */
    argv[ac++] = d->accept_dns ? "--accept-dns=true" : "--accept-dns=false";
    if (d->accept_routes)
        argv[ac++] = "--accept-routes";
    if (tags && *tags) {
        snprintf(a_tags, sizeof a_tags, "--advertise-tags=%s", tags);
        argv[ac++] = a_tags;
    }
    long long left = (deadline - tsr_now_ms()) / 1000;
    snprintf(a_timeout, sizeof a_timeout, "--timeout=%llds", left > 1 ? left : 1);
    argv[ac++] = a_timeout;
    for (int i = 0; i < nx; i++) /* last: the user's flags win (Go's flag: last one set) */
        argv[ac++] = extra[i];
    argv[ac] = NULL;
    tsr_debug("logging in: %s up --hostname=%s%s", d->tailscale, host,
              have_key ? " (auth key)" : "");

    env = inject_clean_env(environ);
    if (!env || pipe2(outp, O_CLOEXEC) < 0) {
        rc = TSR_EXIT_INTERNAL;
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        rc = TSR_EXIT_INTERNAL;
        goto out;
    }
    if (pid == 0) {
        child_exec(d->tailscale, argv, env, outp[1], 2, keyp[0]);
    }
    close(outp[1]);
    outp[1] = -1;
    if (keyp[0] >= 0) {
        close(keyp[0]);
        keyp[0] = -1;
    }

    bool eof = false, machine = false, url_shown = false;
    long long next_status = started + 500;
    int wstatus = 0;
    for (;;) {
        struct pollfd pfd = {outp[0], POLLIN, 0};
        if (!eof && poll(&pfd, 1, 100) > 0) {
            ssize_t n = read(outp[0], out + outlen, sizeof out - 1 - outlen);
            if (n <= 0) {
                eof = true;
            } else {
                outlen += (size_t)n;
                out[outlen] = '\0';
            }
        } else if (eof) {
            tsr_sleep_ms(20);
        }
        const char *u = strstr(out, "https://");
        if (u && !url_shown && !strstr(out, "approve your machine")) {
            size_t n = strcspn(u, " \t\r\n");
            if (n < sizeof url && u[n]) {
                memcpy(url, u, n);
                url[n] = '\0';
                url_shown = true;
                tsr_error("to log in, visit: %s", url);
            }
        }
        if (strstr(out, "approve your machine"))
            machine = true;
        if (url_shown && !have_key && !(isatty(0) && isatty(2))) {
            tsr_error("not logged in: set TS_AUTHKEY (or open the URL above, then run `tsrun up`)");
            rc = TSR_EXIT_NEEDS_LOGIN;
            goto out;
        }
        if (outlen >= sizeof out - 1) { /* keep the tail */
            memmove(out, out + sizeof out / 2, outlen - sizeof out / 2 + 1);
            outlen -= sizeof out / 2;
        }
        pid_t w = waitpid(pid, &wstatus, WNOHANG);
        if (w == pid) {
            pid = -1;
            break;
        }
        if (tsr_now_ms() >= next_status) {
            next_status = tsr_now_ms() + 500;
            if (daemon_fetch_status(d, STATUS_TIMEOUT_MS) == 0) {
                if (state_is(d, "NeedsMachineAuth"))
                    machine = true;
                if (state_is(d, "Running"))
                    goto out;
            }
        }
        if (machine) {
            tsr_error("this machine needs approval by a tailnet admin "
                      "(https://login.tailscale.com/admin/machines), or use a pre-authorized key");
            rc = TSR_EXIT_LOGIN;
            goto out;
        }
        if (tsr_now_ms() - started > 2000) {
            progress("logging in", started);
            shown = true;
        }
        if (tsr_now_ms() > deadline) {
            progress_done(shown);
            shown = false;
            tsr_error("timed out waiting for login");
            daemon_log_tail(d->log_path, 10);
            rc = TSR_EXIT_TIMEOUT;
            goto out;
        }
    }
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        /* The last non-empty line of its output says why. */
        while (outlen && (out[outlen - 1] == '\n' || out[outlen - 1] == ' '))
            out[--outlen] = '\0';
        char *last = strrchr(out, '\n');
        last = last ? last + 1 : out;
        if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 127 && !*last)
            last = "could not run tailscale";
        progress_done(shown);
        shown = false;
        tsr_error("login failed: %s", *last ? last : "tailscale up failed");
        rc = strstr(out, "timeout") ? TSR_EXIT_TIMEOUT : TSR_EXIT_LOGIN;
        daemon_log_tail(d->log_path, 5);
    }
out:
    progress_done(shown);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    for (int i = 0; i < 2; i++)
        if (keyp[i] >= 0)
            close(keyp[i]);
    tsr_free_fields(extra);
    if (outp[0] >= 0)
        close(outp[0]);
    if (outp[1] >= 0)
        close(outp[1]);
    inject_free_env(env);
    return rc;
}

static int wait_running(struct daemon *d, long long deadline, bool logged_in)
{
    long long start = tsr_now_ms();
    bool shown = false;
    /* The last status (run_login's poll, or the start-up wait, moments ago)
     * already says Running: no second fetch (~0.1 s with 10,000 peers). */
    if (d->have_st && state_is(d, "Running"))
        return 0;
    for (;;) {
        int rc = daemon_fetch_status(d, STATUS_TIMEOUT_MS);
        if (rc == 0 && state_is(d, "Running"))
            break;
        if (rc == 0 && state_is(d, "NeedsMachineAuth")) {
            progress_done(shown);
            tsr_error("this machine needs approval by a tailnet admin "
                      "(https://login.tailscale.com/admin/machines)");
            return TSR_EXIT_LOGIN;
        }
        if (rc == 0 && logged_in && state_is(d, "NeedsLogin")) {
            progress_done(shown);
            tsr_error("login did not take: backend is NeedsLogin");
            return TSR_EXIT_LOGIN;
        }
        if (tsr_now_ms() > deadline) {
            progress_done(shown);
            tsr_error("timed out waiting for tailscaled to be Running (state: %s)",
                      d->have_st ? d->st.backend_state : "unreachable");
            daemon_log_tail(d->log_path, 10);
            return TSR_EXIT_TIMEOUT;
        }
        if (tsr_now_ms() - start > 1000) {
            char what[96];
            snprintf(what, sizeof what, "waiting for Running, now %s",
                     d->have_st ? d->st.backend_state : "unreachable");
            progress(what, start);
            shown = true;
        }
        tsr_sleep_ms(50);
    }
    progress_done(shown);
    return 0;
}

/* ---------------------------------------------------------------- ready file
 * IMPORTANT: the warm path's shortcut. Whoever sees the backend Running
 * (a status call, or the supervisor's IPN bus watch) records it here with
 * what TSRUN_ROUTES needs. A later `tsrun` trusts it without any LocalAPI
 * call when the socket accepts and either a live supervisor keeps it
 * current or it is younger than DAEMON_READY_TTL_S. */

int daemon_parse_ready(const char *text, char *state, size_t statelen, bool *exit_node,
                       char *routes, size_t routeslen)
{
    const char *nl = strchr(text, '\n');
    if (!nl || nl == text || (size_t)(nl - text) >= statelen)
        return -EINVAL;
    memcpy(state, text, (size_t)(nl - text));
    state[nl - text] = '\0';
    const char *e = strstr(nl, "\nexit_node "), *r = strstr(nl, "\nroutes ");
    if (!e || !r)
        return -EINVAL;
    *exit_node = e[11] == '1';
    r += 8;
    size_t n = strcspn(r, "\n");
    if (n >= routeslen || !r[n])
        return -EINVAL;
    memcpy(routes, r, n);
    routes[n] = '\0';
    return 0;
}

static void write_ready(struct daemon *d)
{
    if (!d->have_st || d->mode == DAEMON_MODE_TUN || d->st.tun)
        return;
    char *routes = status_routes(&d->st);
    char buf[2048 + PATH_MAX];
    int n =
        snprintf(buf, sizeof buf, "%s\nexit_node %d\nroutes %s\nsocket %s\n", d->st.backend_state,
                 d->st.exit_node_in_use ? 1 : 0, routes ? routes : "", d->sock);
    free(routes);
    if (n > 0 && (size_t)n < sizeof buf)
        tsr_write_cache(d->ready_path, buf, (size_t)n, 0644);
}

static bool ready_fast(struct daemon *d)
{
    char *text = NULL, state[32];
    struct stat sb;
    bool ok = false;
    if (tsr_read_file(d->ready_path, &text, NULL) < 0)
        return false;
    if (daemon_parse_ready(text, state, sizeof state, &d->ready_exit_node, d->ready_routes,
                           sizeof d->ready_routes) < 0 ||
        strcmp(state, "Running") != 0 || stat(d->ready_path, &sb) < 0)
        goto out;
    const char *sock = strstr(text, "\nsocket ");
    if (!sock || strncmp(sock + 8, d->sock, strlen(d->sock)) != 0 ||
        sock[8 + strlen(d->sock)] != '\n')
        goto out;
    bool external = d->mode == DAEMON_MODE_EXTERNAL;
    if (time(NULL) - sb.st_mtime > DAEMON_READY_TTL_S) {
        pid_t sup = external ? -1 : daemon_read_pid(d->sup_pid_path);
        if (sup <= 0 || !daemon_pid_is_supervisor(sup))
            goto out;
    }
    if (access(d->names_path, R_OK) < 0 || (external ? !d->socks5[0] : !read_socks5_file(d)) ||
        localapi_ping(d->sock) < 0)
        goto out;
    ok = true;
    d->from_ready = true;
out:
    free(text);
    return ok;
}

/* ---------------------------------------------------------------- ensure */

static int ensure_external(struct daemon *d, unsigned flags)
{
    if (!(flags & DAEMON_NEED_STATUS) && ready_fast(d))
        return 0;
    int rc = daemon_fetch_status(d, STATUS_TIMEOUT_MS);
    if (rc < 0) {
        if (d->socks5[0] && !(d->socket_opt && *d->socket_opt)) {
            tsr_debug("no LocalAPI at %s: no name map; using SOCKS5 %s", d->sock, d->socks5);
            return 0;
        }
        tsr_error("%s", d->err);
        return TSR_EXIT_DAEMON;
    }
    if (d->st.tun) {
        d->mode = DAEMON_MODE_TUN;
    } else if (!d->socks5[0]) {
        tsr_error(
            "tailscaled at %s runs in userspace mode: give its SOCKS5 address with --socks5 ADDR",
            d->sock);
        return TSR_EXIT_USAGE;
    }
    if (!state_is(d, "Running")) {
        tsr_error(
            "tailscaled at %s is %s, not Running (tsrun does not log in a daemon it did not start)",
            d->sock, d->st.backend_state);
        return state_is(d, "NeedsLogin") ? TSR_EXIT_NEEDS_LOGIN : TSR_EXIT_DAEMON;
    }
    write_ready(d);
    return 0;
}

bool daemon_find_tun(struct daemon *d)
{
    const char *env = getenv("TSRUN_SYSTEM_SOCKETS");
    char list[4096];
    snprintf(list, sizeof list, "%s", env && *env ? env : DAEMON_USUAL_SOCKETS);
    char *save = NULL;
    for (char *sock = strtok_r(list, ":", &save); sock; sock = strtok_r(NULL, ":", &save)) {
        if (!strcmp(sock, d->sock) || localapi_ping(sock) < 0)
            continue;
        struct daemon probe = *d;
        probe.have_st = false;
        snprintf(probe.sock, sizeof probe.sock, "%s", sock);
        bool tun = daemon_fetch_status(&probe, STATUS_TIMEOUT_MS) == 0 && probe.st.tun &&
                   strcmp(probe.st.backend_state, "Running") == 0;
        if (!tun) {
            if (probe.have_st)
                status_free(&probe.st);
            continue;
        }
        if (d->have_st)
            status_free(&d->st);
        d->st = probe.st;
        d->have_st = true;
        snprintf(d->sock, sizeof d->sock, "%s", sock);
        d->mode = DAEMON_MODE_TUN;
        return true;
    }
    return false;
}

int daemon_ensure(struct daemon *d, unsigned flags)
{
    int rc = 0, lock_fd = -1;
    if (d->mode != DAEMON_MODE_USERSPACE)
        return ensure_external(d, flags);

    /* Warmest path: a fresh ready file, no LocalAPI call at all. */
    if (!(flags & DAEMON_NEED_STATUS) && ready_fast(d))
        return 0;
    /* Warm path: one status call, no lock. */
    if (read_socks5_file(d) && daemon_fetch_status(d, STATUS_TIMEOUT_MS) == 0 &&
        state_is(d, "Running")) {
        if (d->st.tun)
            d->mode = DAEMON_MODE_TUN;
        write_ready(d);
        return 0;
    }

    long long deadline = tsr_now_ms() + (long long)d->timeout_s * 1000;
    if (check_key() != 0)
        return TSR_EXIT_LOGIN;
    lock_fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) {
        tsr_error("lock %s: %s", d->lock_path, strerror(errno));
        return TSR_EXIT_INTERNAL;
    }
    while (flock(lock_fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            tsr_error("lock %s: %s", d->lock_path, strerror(errno));
            rc = TSR_EXIT_INTERNAL;
            goto out;
        }
    }
    tsr_debug("holding %s", d->lock_path);

    bool up = daemon_fetch_status(d, STATUS_TIMEOUT_MS) == 0, started = false;
    if (up && !read_socks5_file(d)) {
        /* Answering but the address file is gone: take it from the log. */
        if (!socks5_from_log(d->log_path, d->socks5, sizeof d->socks5)) {
            tsr_warn("tailscaled answers at %s but its SOCKS5 address is unknown; restarting it",
                     d->sock);
            up = false;
        }
    }
    if (!up) {
        if (!(flags & DAEMON_AS_CHILD) && daemon_find_tun(d)) {
            tsr_debug("tailscaled at %s runs in TUN mode: using it", d->sock);
            goto out;
        }
        rc = daemon_find_binaries(d);
        if (rc)
            goto out;
        clean_stale(d);
        /* --timeout bounds the start too, with a floor a real daemon needs. */
        long long start_deadline = tsr_now_ms() + START_MIN_MS;
        if (start_deadline < deadline)
            start_deadline = deadline;
        rc = start_daemon(d, flags & DAEMON_AS_CHILD, start_deadline);
        if (rc)
            goto out;
        started = true;
        d->started = !(flags & DAEMON_AS_CHILD);
        while ((rc = daemon_fetch_status(d, STATUS_TIMEOUT_MS)) < 0 &&
               tsr_now_ms() < start_deadline)
            tsr_sleep_ms(20);
        if (rc < 0) {
            if (rc == -ECONNREFUSED)
                tsr_error("tailscaled does not answer on %s", d->sock);
            else
                tsr_error("%s", d->err);
            daemon_log_tail(d->log_path, 10);
            rc = TSR_EXIT_DAEMON;
            goto out;
        }
    }
    /* NoState is also the first moment of a daemon with a saved login:
     * give it a moment to say Starting/Running before logging in again. */
    long long settle = tsr_now_ms() + NOSTATE_SETTLE_MS;
    while (state_is(d, "NoState") && tsr_now_ms() < settle && tsr_now_ms() < deadline) {
        tsr_sleep_ms(50);
        daemon_fetch_status(d, STATUS_TIMEOUT_MS);
    }
    bool logged_in = false;
    if (state_is(d, "Stopped")) {
        rc = resume_stopped(d);
        if (rc)
            goto out;
    } else if (wants_login(d) || (started && auth_every_start())) {
        if (!d->tailscale[0] && (rc = daemon_find_binaries(d)))
            goto out;
        rc = run_login(d, deadline);
        if (rc)
            goto out;
        logged_in = true;
    }
    rc = wait_running(d, deadline, logged_in);
    if (rc == 0)
        write_ready(d);
out:
    if (lock_fd >= 0)
        close(lock_fd); /* releases the flock */
    return rc;
}

int daemon_write_names(struct daemon *d)
{
    if (!d->have_st)
        return -ENODATA;
    int changed = 0;
    int rc = namemap_write(d->names_path, &d->st, time(NULL), &changed);
    if (rc < 0)
        tsr_warn("name map %s: %s", d->names_path, strerror(-rc));
    else if (changed)
        tsr_debug("name map %s rewritten (%zu peers)", d->names_path, d->st.npeers);
    return rc;
}

/* ---------------------------------------------------------------- supervise */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static bool watch_should_stop(void *ctx)
{
    (void)ctx;
    return stop_requested != 0;
}

/* One Notify line: a state change, a new netmap or new prefs (an exit node
 * chosen with `tailscale set`) -> fresh status, map and ready file. */
static int on_notify(const char *line, size_t len, void *ctx)
{
    struct daemon *d = ctx;
    struct status_notify n; /* no tree for a NetMap of 10,000 peers (status.h) */
    if (status_notify_parse(line, len, &n) < 0)
        return 0;
    if (n.has_state)
        fprintf(stderr, "tsrun: backend state %s\n", status_state_name(n.state));
    if (n.err[0])
        fprintf(stderr, "tsrun: tailscaled: %s\n", n.err);
    if (n.refresh && daemon_fetch_status(d, STATUS_TIMEOUT_MS) == 0) {
        daemon_write_names(d);
        write_ready(d);
    }
    return stop_requested != 0;
}

static void sleep_interruptible(int ms)
{
    long long end = tsr_now_ms() + ms;
    while (!stop_requested && tsr_now_ms() < end)
        tsr_sleep_ms(20);
}

static void stamp(const char *msg)
{
    time_t now = time(NULL);
    struct tm tm;
    char when[32];
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "%s tsrun[%ld]: %s\n", when, (long)getpid(), msg);
}

int daemon_supervise(struct daemon *d, int notify_fd)
{
    int rc = 0, lock_fd = -1;
    char msg[PATH_MAX + 256];
    pid_t other = daemon_read_pid(d->sup_pid_path);
    if (other > 0 && other != getpid() && daemon_pid_is_supervisor(other)) {
        rc = daemon_ensure(d, 0);
        if (rc == 0 && daemon_fetch_status(d, STATUS_TIMEOUT_MS) == 0)
            apply_hostname(d);
        if (rc == 0) {
            daemon_write_names(d);
            fprintf(stderr, "tsrun: already supervised by pid %ld; tailscaled is Running\n",
                    (long)other);
        }
        goto out;
    }
    write_pid(d->sup_pid_path, getpid());
    struct sigaction sa = {0};
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int backoff = BACKOFF_MIN_MS;
    bool first = true;
    while (!stop_requested) {
        rc = daemon_ensure(d, DAEMON_AS_CHILD | DAEMON_NEED_STATUS);
        if (rc == 0 && first)
            apply_hostname(d); /* every `tsrun up`, not only the first login */
        if (rc == 0)
            daemon_write_names(d); /* before `up --background` returns */
        if (first && notify_fd >= 0 && rc == 0) {
            unsigned char b = (unsigned char)rc;
            ssize_t w = write(notify_fd, &b, 1);
            (void)w;
            close(notify_fd);
            notify_fd = -1;
        }
        if (rc == TSR_EXIT_NEEDS_LOGIN || rc == TSR_EXIT_LOGIN || rc == TSR_EXIT_NO_TAILSCALE ||
            (first && rc)) {
            goto out;
        }
        first = false;
        if (rc == 0) {
            snprintf(msg, sizeof msg, "tailscaled Running (SOCKS5 %s); watching %s", d->socks5,
                     d->sock);
            stamp(msg);
            long long since = tsr_now_ms();
            int wrc = localapi_watch(d->sock, DAEMON_WATCH_MASK, on_notify, watch_should_stop, d);
            unlink(d->ready_path); /* unverified from here on */
            if (stop_requested)
                break;
            int ws = 0;
            if (d->child > 0 && waitpid(d->child, &ws, WNOHANG) == d->child) {
                snprintf(msg, sizeof msg, "tailscaled (pid %ld) exited with %s %d; restarting",
                         (long)d->child, WIFSIGNALED(ws) ? "signal" : "status",
                         WIFSIGNALED(ws) ? WTERMSIG(ws) : WEXITSTATUS(ws));
                stamp(msg);
                d->child = -1;
                if (d->death_wr >= 0) {
                    close(d->death_wr);
                    d->death_wr = -1;
                }
            } else {
                snprintf(msg, sizeof msg, "watch-ipn-bus ended (%s); checking tailscaled",
                         wrc ? strerror(-wrc) : "closed");
                stamp(msg);
            }
            if (tsr_now_ms() - since > STABLE_MS)
                backoff = BACKOFF_MIN_MS;
        }
        sleep_interruptible(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    rc = 0;
out:
    /* A failed first start: the daemon goes before `up --background`
     * hears the result, so nothing of it is left when that returns. */
    if (d->child > 0) {
        /* Under the lock so a concurrent tsrun does not see it half-dead. */
        lock_fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lock_fd >= 0)
            flock(lock_fd, LOCK_EX);
        stamp("stopping tailscaled");
        stop_pid(d->child, true);
        d->child = -1;
        unlink(d->pid_path);
        unlink(d->socks5_path);
        unlink(d->http_path);
        unlink(d->ready_path);
        if (lock_fd >= 0)
            close(lock_fd);
    }
    if (d->death_wr >= 0)
        close(d->death_wr);
    if (daemon_read_pid(d->sup_pid_path) == getpid())
        unlink(d->sup_pid_path);
    if (notify_fd >= 0) {
        unsigned char b = (unsigned char)rc;
        ssize_t w = write(notify_fd, &b, 1);
        (void)w;
        close(notify_fd);
    }
    return rc;
}

/* The first line of path after offset that tsrun itself wrote as an
 * error (not a log excerpt, not a progress line) to stderr; false if none. */
static bool print_first_reason(const char *path, long offset)
{
    char *text = NULL;
    size_t len = 0;
    if (tsr_read_file(path, &text, &len) < 0)
        return false;
    bool found = false;
    for (char *p = text + ((size_t)offset <= len ? (size_t)offset : len); *p && !found;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (!strncmp(p, "tsrun: ", 7) && strncmp(p, "tsrun: last lines of", 20) &&
            strncmp(p, "tsrun: backend state", 20) && strncmp(p, "tsrun: warning:", 15) &&
            strncmp(p, "tsrun: tailscaled: ", 19)) {
            fprintf(stderr, "%s\n", p);
            found = true;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    free(text);
    return found;
}

int daemon_up_background(struct daemon *d)
{
    int p[2];
    struct stat sb;
    long offset = stat(d->sup_log_path, &sb) == 0 ? (long)sb.st_size : 0;
    pid_t other = daemon_read_pid(d->sup_pid_path);
    if (other > 0 && daemon_pid_is_supervisor(other))
        return daemon_supervise(d, -1); /* says "already supervised" */
    if (pipe2(p, O_CLOEXEC) < 0) {
        tsr_error("pipe: %s", strerror(errno));
        return TSR_EXIT_INTERNAL;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        tsr_error("fork: %s", strerror(errno));
        return TSR_EXIT_INTERNAL;
    }
    if (pid == 0) {
        close(p[0]);
        setsid();
        int fd = open(d->sup_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (nul >= 0)
            dup2(nul, 0);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        /* Only the lock and these; nothing else of the caller's stays open. */
        _exit(daemon_supervise(d, p[1]));
    }
    close(p[1]);
    unsigned char b = TSR_EXIT_DAEMON;
    ssize_t n;
    do {
        n = read(p[0], &b, 1);
    } while (n < 0 && errno == EINTR);
    close(p[0]);
    if (n != 1) {
        tsr_error("the supervisor exited early");
        daemon_log_tail(d->sup_log_path, 10);
        return TSR_EXIT_DAEMON;
    }
    if (b != 0) {
        /* The reason first, in one line; the details stay in the log. */
        if (print_first_reason(d->sup_log_path, offset))
            fprintf(stderr, "tsrun: details: %s\n", d->sup_log_path);
        else
            daemon_log_tail(d->sup_log_path, 6);
        return b;
    }
    return 0;
}

int daemon_spawn_supervisor(const struct daemon *d)
{
    const char *off = getenv("TSRUN_NO_SUPERVISOR");
    if ((off && *off && strcmp(off, "0")) || d->mode != DAEMON_MODE_USERSPACE)
        return 0;
    pid_t other = daemon_read_pid(d->sup_pid_path);
    if (other > 0 && daemon_pid_is_supervisor(other))
        return 0;
    char exe[PATH_MAX], a_dir[PATH_MAX + 16], a_port[32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -errno;
    exe[n] = '\0';
    snprintf(a_dir, sizeof a_dir, "--state-dir=%s", d->state_dir);
    snprintf(a_port, sizeof a_port, "--socks5-port=%d", d->socks5_port);
    char *argv[8];
    int ac = 0;
    argv[ac++] = "tsrun";
    argv[ac++] = a_dir;
    if (d->socks5_port_set)
        argv[ac++] = a_port;
    if (d->accept_routes)
        argv[ac++] = "--accept-routes";
    if (d->ephemeral)
        argv[ac++] = "--ephemeral";
    argv[ac++] = "up";
    if (d->tun_kernel)
        argv[ac++] = "--tun=kernel"; /* its restarts keep the TUN */
    argv[ac] = NULL;
    int log_fd = open(d->sup_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0)
        return -errno;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(log_fd);
        return -errno;
    }
    if (pid == 0) {
        setsid();
        if (fork() != 0)
            _exit(0); /* the command's process never becomes its parent */
        if (chdir("/") < 0)
            _exit(127);
        unsetenv("TSRUN_SOCKS5_PORT"); /* the options above say it all */
        child_exec(exe, argv, environ, log_fd, -1, -1);
    }
    close(log_fd);
    waitpid(pid, NULL, 0);
    return 0;
}

/* ---------------------------------------------------------------- down */

int daemon_down(struct daemon *d)
{
    int stopped = 0;
    if (d->mode != DAEMON_MODE_USERSPACE) {
        tsr_error("%s is not a tailscaled started by tsrun; not stopping it", d->sock);
        return TSR_EXIT_USAGE;
    }
    pid_t sup = daemon_read_pid(d->sup_pid_path);
    if (sup > 0 && daemon_pid_is_supervisor(sup)) {
        stop_pid(sup, false);
        stopped++;
    }
    unlink(d->sup_pid_path);
    /* Under the lock: never in the middle of someone's start or login. */
    int lock_fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd >= 0)
        flock(lock_fd, LOCK_EX);
    pid_t pid = daemon_read_pid(d->pid_path);
    if (pid > 0 && daemon_pid_is_tailscaled(pid, d->sock)) {
        stop_pid(pid, false);
        stopped++;
    } else if (pid > 0) {
        tsr_debug("pid %ld in %s is not our tailscaled; leaving it alone", (long)pid, d->pid_path);
    }
    unlink(d->pid_path);
    unlink(d->socks5_path);
    unlink(d->http_path);
    unlink(d->ready_path);
    if (localapi_ping(d->sock) < 0)
        unlink(d->sock);
    if (lock_fd >= 0)
        close(lock_fd);
    if (!stopped)
        fprintf(stderr, "tsrun: nothing to stop (no tailscaled started by tsrun in %s)\n",
                d->state_dir);
    else
        fprintf(stderr, "tsrun: stopped\n");
    return 0;
}
