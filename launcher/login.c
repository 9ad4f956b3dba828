/* Logging in: the auth key, `tailscale up`, resuming a Stopped node,
 * the hostname pref. */
#include "login.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "hostname.h"
#include "inject.h"
#include "localapi.h"
#include "proc.h"
#include "query.h"
#include "tsrun.h"

extern char **environ;

bool login_wanted(const struct daemon *d)
{
    return daemon_state_is(d, "NeedsLogin") || daemon_state_is(d, "NoState");
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
        /* A copy: login_take_key() zeroes the environment's bytes. */
        if (strlen(v) >= sizeof key_buf) {
            key_err = "TS_AUTHKEY is too long";
            return NULL;
        }
        snprintf(key_buf, sizeof key_buf, "%s", v);
        key = key_buf;
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

void login_take_key(void)
{
    const char *v = getenv("TS_AUTHKEY");
    if (!v || !*v)
        v = getenv("TS_AUTH_KEY");
    int fd = -1;
    if (v && !strncmp(v, "file:" LOGIN_KEY_FD_PREFIX, 5 + strlen(LOGIN_KEY_FD_PREFIX))) {
        char *end;
        long n = strtol(v + 5 + strlen(LOGIN_KEY_FD_PREFIX), &end, 10);
        fd = !*end && n > 2 && n < INT_MAX ? (int)n : -1;
    }
    (void)auth_key();
    if (fd >= 0)
        close(fd);
    if (!environ)
        return;
    char **w = environ;
    for (char **r = environ; *r; r++) {
        if (inject_is_secret(*r)) {
            explicit_bzero(*r, strlen(*r));
            continue;
        }
        *w++ = *r;
    }
    *w = NULL;
}

int login_key_pipe(void)
{
    const char *key = auth_key();
    int p[2];
    if (!key)
        return -ENOENT;
    size_t kl = strlen(key);
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    /* Far below the pipe's capacity: the writes cannot block. */
    if (write(p[1], key, kl) != (ssize_t)kl || write(p[1], "\n", 1) != 1) {
        int e = errno ? errno : EIO;
        close(p[0]);
        close(p[1]);
        return -e;
    }
    close(p[1]);
    return p[0];
}

/* containerboot's TS_AUTH_ONCE=false: "forcibly log in every time the
 * container starts", i.e. run `tailscale up` with the key whenever tsrun
 * starts tailscaled, even over a saved login. Only when set to false
 * explicitly: tsrun's default is containerboot's true (log in only when
 * the node is not logged in), which a single-use key needs. */
bool login_every_start(void)
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
int login_check_key(void)
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
int login_resume_stopped(struct daemon *d)
{
    const char *prefs = d->accept_routes ? "{\"WantRunning\":true,\"WantRunningSet\":true,"
                                           "\"RouteAll\":true,\"RouteAllSet\":true}"
                                         : "{\"WantRunning\":true,\"WantRunningSet\":true}";
    struct localapi_resp r;
    tsr_debug("node is Stopped: setting WantRunning%s", d->accept_routes ? " and RouteAll" : "");
    int rc = localapi_patch(d->sock, "/localapi/v0/prefs", prefs, DAEMON_STATUS_TIMEOUT_MS, &r);
    if (rc < 0) {
        tsr_error("cannot start the stopped node: LocalAPI at %s: %s", d->sock,
                  r.err[0] ? r.err : strerror(-rc));
        return TSR_EXIT_DAEMON;
    }
    if (r.code != 200) {
        query_describe_http_error(d, &r);
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
int login_apply_hostname(struct daemon *d)
{
    char host[HOSTNAME_NAME_MAX + 2], body[HOSTNAME_NAME_MAX + 64];
    const char *want = getenv("TS_HOSTNAME");
    if (!want || !*want || !d->have_st || hostname_pick(host, sizeof host, NULL, 0) < 0 ||
        !strcmp(d->st.self.host_name, host))
        return 0;
    snprintf(body, sizeof body, "{\"Hostname\":\"%s\",\"HostnameSet\":true}", host);
    struct localapi_resp r;
    int rc = localapi_patch(d->sock, "/localapi/v0/prefs", body, DAEMON_STATUS_TIMEOUT_MS, &r);
    if (rc < 0 || r.code != 200) {
        tsr_warn("cannot set the hostname %s: %s", host,
                 rc < 0 ? (r.err[0] ? r.err : strerror(-rc)) : "LocalAPI refused it");
        if (rc == 0)
            localapi_resp_free(&r);
        return TSR_EXIT_DAEMON;
    }
    localapi_resp_free(&r);
    tsr_debug("hostname set to %s (was %s)", host, d->st.self.host_name);
    return daemon_fetch_status(d, DAEMON_STATUS_TIMEOUT_MS) == 0 ? 0 : TSR_EXIT_DAEMON;
}

/* Runs `tailscale up`, watching its output and the backend state. */
int login_run(struct daemon *d, long long deadline)
{
    int rc = 0, outp[2] = {-1, -1}, keyp[2] = {-1, -1};
    char **env = NULL;
    pid_t pid = -1;
    bool shown = false;
    long long started = tsr_now_ms();
    char host[HOSTNAME_NAME_MAX + 2], why[256];
    char a_sock[PATH_MAX + 16], a_key[64], a_host[HOSTNAME_NAME_MAX + 16], a_tags[512],
        a_timeout[32];
    char out[4096] = "", url[512] = "";
    size_t outlen = 0;
    const char *key = auth_key(), *tags = getenv("TSRUN_TAGS");
    bool have_key = key != NULL;

    if (login_check_key() != 0)
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
        proc_exec_child(d->tailscale, argv, env, outp[1], 2, keyp[0]);
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
            if (daemon_fetch_status(d, DAEMON_STATUS_TIMEOUT_MS) == 0) {
                if (daemon_state_is(d, "NeedsMachineAuth"))
                    machine = true;
                if (daemon_state_is(d, "Running"))
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
            say_progress("logging in", started);
            shown = true;
        }
        if (tsr_now_ms() > deadline) {
            say_progress_done(shown);
            shown = false;
            tsr_error("timed out waiting for login");
            say_log_tail(d->log_path, 10);
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
        say_progress_done(shown);
        shown = false;
        tsr_error("login failed: %s", *last ? last : "tailscale up failed");
        rc = strstr(out, "timeout") ? TSR_EXIT_TIMEOUT : TSR_EXIT_LOGIN;
        say_log_tail(d->log_path, 5);
    }
out:
    say_progress_done(shown);
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
