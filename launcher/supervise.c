/* Supervising: `tsrun up` (foreground and --background), the supervisor a
 * cold `tsrun COMMAND` leaves behind, and `tsrun down`. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "localapi.h"
#include "login.h"
#include "proc.h"
#include "query.h"
#include "ready.h"
#include "statedir.h"
#include "tsrun.h"

extern char **environ;

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define STABLE_MS 60000LL

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
        tsr_note("backend state %s", status_state_name(n.state));
    if (n.err[0])
        tsr_note("tailscaled: %s", n.err);
    if (n.refresh && daemon_fetch_status(d, DAEMON_STATUS_TIMEOUT_MS) == 0) {
        daemon_write_names(d);
        ready_write(d);
    }
    return stop_requested != 0;
}

static void sleep_interruptible(int ms)
{
    long long end = tsr_now_ms() + ms;
    while (!stop_requested && tsr_now_ms() < end)
        tsr_sleep_ms(20);
}

int daemon_supervise(struct daemon *d, int notify_fd)
{
    int rc = 0, lock_fd = -1;
    char msg[PATH_MAX + 256];
    pid_t other = daemon_read_pid(d->sup_pid_path);
    if (other > 0 && other != getpid() && daemon_pid_is_supervisor(other)) {
        rc = daemon_ensure(d, 0);
        if (rc == 0 && daemon_fetch_status(d, DAEMON_STATUS_TIMEOUT_MS) == 0)
            login_apply_hostname(d);
        if (rc == 0) {
            daemon_write_names(d);
            tsr_note("already supervised by pid %ld; tailscaled is Running", (long)other);
        }
        goto out;
    }
    proc_write_pid(d->sup_pid_path, getpid());
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
            login_apply_hostname(d); /* every `tsrun up`, not only the first login */
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
            say_stamp(msg);
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
                say_stamp(msg);
                d->child = -1;
                if (d->death_wr >= 0) {
                    close(d->death_wr);
                    d->death_wr = -1;
                }
            } else {
                snprintf(msg, sizeof msg, "watch-ipn-bus ended (%s); checking tailscaled",
                         wrc ? strerror(-wrc) : "closed");
                say_stamp(msg);
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
        lock_fd = statedir_open(d->lock_path, O_RDWR | O_CREAT, 0600);
        if (lock_fd >= 0)
            flock(lock_fd, LOCK_EX);
        say_stamp("stopping tailscaled");
        proc_stop(d->child, true);
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
        if (!strncmp(p, "tsrun: ", 7) && strncmp(p, "tsrun: last lines of", 20) != 0 &&
            strncmp(p, "tsrun: backend state", 20) != 0 && strncmp(p, "tsrun: warning:", 15) != 0 &&
            strncmp(p, "tsrun: tailscaled: ", 19) != 0) {
            say_line(p);
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
        int fd = statedir_open(d->sup_log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
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
        say_log_tail(d->sup_log_path, 10);
        return TSR_EXIT_DAEMON;
    }
    if (b != 0) {
        /* The reason first, in one line; the details stay in the log. */
        if (print_first_reason(d->sup_log_path, offset))
            tsr_note("details: %s", d->sup_log_path);
        else
            say_log_tail(d->sup_log_path, 6);
        return b;
    }
    return 0;
}

/* Until the supervisor just started as pid sup has recorded itself (or is
 * gone), bounded by SUPERVISOR_START_MS: a `tsrun down` right after this
 * tsrun returns must find it, or it would come up afterwards and start
 * tailscaled again. */
#define SUPERVISOR_START_MS 3000

static void await_supervisor(const struct daemon *d, pid_t sup)
{
    long long end = tsr_now_ms() + SUPERVISOR_START_MS;
    while (sup > 0 && proc_alive(sup) && tsr_now_ms() < end) {
        if (daemon_read_pid(d->sup_pid_path) == sup && daemon_pid_is_supervisor(sup))
            return;
        tsr_sleep_ms(5);
    }
    if (sup > 0 && proc_alive(sup))
        tsr_debug("the supervisor (pid %ld) has not recorded itself after %d ms", (long)sup,
                  SUPERVISOR_START_MS);
}

int daemon_spawn_supervisor(const struct daemon *d)
{
    const char *off = getenv("TSRUN_NO_SUPERVISOR");
    if ((off && *off && strcmp(off, "0") != 0) || d->mode != DAEMON_MODE_USERSPACE)
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
    /* The key (gone from our environment: login_take_key) goes over a
     * pipe, for a re-login after a restart of an ephemeral node; the
     * supervisor reads it at start and closes the pipe. */
    char a_key[48];
    int key_fd = login_key_pipe();
    snprintf(a_key, sizeof a_key, "TS_AUTHKEY=file:" LOGIN_KEY_FD_PREFIX "%d", key_fd);
    /* Built before fork: nothing allocates in the child. Our environment
     * minus TSRUN_SOCKS5_PORT (the options above say it all), plus the key. */
    size_t ne = 0;
    while (environ && environ[ne])
        ne++;
    char **env = calloc(ne + 2, sizeof *env);
    int log_fd = env ? statedir_open(d->sup_log_path, O_WRONLY | O_CREAT | O_APPEND, 0600)
                     : (errno = ENOMEM, -1);
    if (log_fd < 0) {
        int e = errno;
        free(env);
        if (key_fd >= 0)
            close(key_fd);
        return -e;
    }
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "TSRUN_SOCKS5_PORT=", 18) != 0)
            env[k++] = environ[i];
    if (key_fd >= 0)
        env[k++] = a_key;
    env[k] = NULL;
    /* The middle process tells us the supervisor's pid (closed on exec). */
    int gp[2];
    if (pipe2(gp, O_CLOEXEC) < 0)
        gp[0] = gp[1] = -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(log_fd);
        free(env);
        if (key_fd >= 0)
            close(key_fd);
        if (gp[0] >= 0) {
            close(gp[0]);
            close(gp[1]);
        }
        return -e;
    }
    if (pid == 0) {
        setsid();
        pid_t g = fork();
        if (g != 0) { /* the command's process never becomes its parent */
            if (g > 0 && gp[1] >= 0) {
                ssize_t w = write(gp[1], &g, sizeof g);
                (void)w;
            }
            _exit(0);
        }
        if (chdir("/") < 0)
            _exit(127);
        proc_exec_child(exe, argv, env, log_fd, -1, key_fd);
    }
    close(log_fd);
    free(env);
    if (key_fd >= 0)
        close(key_fd);
    pid_t sup = -1;
    if (gp[0] >= 0) {
        close(gp[1]);
        if (read(gp[0], &sup, sizeof sup) != (ssize_t)sizeof sup)
            sup = -1;
        close(gp[0]);
    }
    waitpid(pid, NULL, 0);
    await_supervisor(d, sup);
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
        proc_stop(sup, false);
        stopped++;
    }
    unlink(d->sup_pid_path);
    /* Under the lock: never in the middle of someone's start or login. */
    int lock_fd = statedir_open(d->lock_path, O_RDWR | O_CREAT, 0600);
    if (lock_fd >= 0)
        flock(lock_fd, LOCK_EX);
    pid_t pid = daemon_read_pid(d->pid_path);
    if (pid > 0 && daemon_pid_is_tailscaled(pid, d->sock)) {
        proc_stop(pid, false);
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
        tsr_note("nothing to stop (no tailscaled started by tsrun in %s)", d->state_dir);
    else
        tsr_note("stopped");
    return 0;
}
