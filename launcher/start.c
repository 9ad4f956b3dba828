/* Starting tailscaled: binaries, port, spawn, wait for its socket and
 * SOCKS5 listener, the address files. */
#include "start.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "inject.h"
#include "localapi.h"
#include "port.h"
#include "proc.h"
#include "statedir.h"
#include "tsrun.h"
#include "tun.h"

extern char **environ;

#define PORT_SETTLE_MS 2000LL /* how long a recorded port may still be held */

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
    log_fd = statedir_open(d->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
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
        proc_exec_child(d->tailscaled, argv, env, log_fd, errp[1], as_child ? deathp[0] : -1);
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
bool start_socks5_from_log(const char *log_path, char *out, size_t outlen)
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

bool start_read_addrs(struct daemon *d)
{
    statedir_read_word(d->http_path, d->http_proxy, sizeof d->http_proxy);
    return statedir_read_word(d->socks5_path, d->socks5, sizeof d->socks5);
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

void start_clean_stale(struct daemon *d)
{
    pid_t pid = daemon_read_pid(d->pid_path);
    if (pid > 0 && daemon_pid_is_tailscaled(pid, d->sock)) {
        tsr_debug("tailscaled pid %ld does not answer; stopping it", (long)pid);
        proc_stop(pid, pid == d->child);
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
int start_tailscaled(struct daemon *d, bool as_child, long long deadline)
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
    rc = proc_write_pid(d->pid_path, pid);
    if (rc < 0) {
        tsr_error("cannot write %s: %s", d->pid_path, strerror(-rc));
        goto fail;
    }
    bool have_socks = false, have_sock = false;
    long long start = tsr_now_ms();
    while (!(have_socks && have_sock)) {
        if (!have_socks)
            have_socks = start_socks5_from_log(d->log_path, d->socks5, sizeof d->socks5);
        if (!have_sock)
            have_sock = localapi_ping(d->sock) == 0;
        if (have_socks && have_sock)
            break;
        bool dead = as_child ? waitpid(pid, NULL, WNOHANG) == pid : !proc_alive(pid);
        if (dead || tsr_now_ms() > deadline) {
            if (dead)
                tsr_error("tailscaled exited during startup");
            else
                tsr_error("tailscaled did not open its socket and SOCKS5 port within %lld s "
                          "(--timeout)",
                          (deadline - start + 999) / 1000);
            say_log_tail(d->log_path, 15);
            if (!dead)
                proc_stop(pid, as_child);
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
    proc_stop(pid, as_child);
    if (as_child)
        d->child = -1;
    unlink(d->pid_path);
    return TSR_EXIT_INTERNAL;
}
