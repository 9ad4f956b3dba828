/* Readiness: waiting for Running, and the ready file (the warm path). */
#include "ready.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "localapi.h"
#include "proc.h"
#include "query.h"
#include "start.h"
#include "tsrun.h"

int ready_wait(struct daemon *d, long long deadline, bool logged_in)
{
    long long start = tsr_now_ms();
    bool shown = false;
    /* The last status (run_login's poll, or the start-up wait, moments ago)
     * already says Running: no second fetch (~0.1 s with 10,000 peers). */
    if (d->have_st && daemon_state_is(d, "Running"))
        return 0;
    for (;;) {
        int rc = daemon_fetch_status(d, DAEMON_STATUS_TIMEOUT_MS);
        if (rc == 0 && daemon_state_is(d, "Running"))
            break;
        if (rc == 0 && daemon_state_is(d, "NeedsMachineAuth")) {
            say_progress_done(shown);
            tsr_error("this machine needs approval by a tailnet admin "
                      "(https://login.tailscale.com/admin/machines)");
            return TSR_EXIT_LOGIN;
        }
        if (rc == 0 && logged_in && daemon_state_is(d, "NeedsLogin")) {
            say_progress_done(shown);
            tsr_error("login did not take: backend is NeedsLogin");
            return TSR_EXIT_LOGIN;
        }
        if (tsr_now_ms() > deadline) {
            say_progress_done(shown);
            tsr_error("timed out waiting for tailscaled to be Running (state: %s)",
                      d->have_st ? d->st.backend_state : "unreachable");
            say_log_tail(d->log_path, 10);
            return TSR_EXIT_TIMEOUT;
        }
        if (tsr_now_ms() - start > 1000) {
            char what[96];
            snprintf(what, sizeof what, "waiting for Running, now %s",
                     d->have_st ? d->st.backend_state : "unreachable");
            say_progress(what, start);
            shown = true;
        }
        tsr_sleep_ms(50);
    }
    say_progress_done(shown);
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

void ready_write(struct daemon *d)
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

bool ready_fast(struct daemon *d)
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
    if (access(d->names_path, R_OK) < 0 || (external ? !d->socks5[0] : !start_read_addrs(d)) ||
        localapi_ping(d->sock) < 0)
        goto out;
    ok = true;
    d->from_ready = true;
out:
    free(text);
    return ok;
}
