/* daemon_ensure: tailscaled answers and is Running, whatever it takes.
 *
 * IMPORTANT (singleton): everything that may start or log in a daemon runs
 * under flock(state_dir/lock): check -> clean stale files -> start -> wait
 * for the socket -> log in -> wait for Running. Twenty concurrent cold
 * `tsrun`s serialise there; the first starts tailscaled, the others find it
 * Running when they get the lock. The warm path takes no lock at all: one
 * status call that says Running is enough. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "login.h"
#include "namemap.h"
#include "query.h"
#include "ready.h"
#include "start.h"
#include "statedir.h"
#include "tsrun.h"

#define START_MIN_MS 5000LL /* the least --timeout leaves tailscaled to start */
#define NOSTATE_SETTLE_MS 3000LL

static int ensure_external(struct daemon *d, unsigned flags)
{
    if (!(flags & DAEMON_NEED_STATUS) && ready_fast(d))
        return 0;
    int rc = daemon_fetch_status(d, DAEMON_STATUS_TIMEOUT_MS);
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
    if (!daemon_state_is(d, "Running")) {
        tsr_error(
            "tailscaled at %s is %s, not Running (tsrun does not log in a daemon it did not start)",
            d->sock, d->st.backend_state);
        return daemon_state_is(d, "NeedsLogin") ? TSR_EXIT_NEEDS_LOGIN : TSR_EXIT_DAEMON;
    }
    ready_write(d);
    return 0;
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
    if (start_read_addrs(d) && daemon_fetch_status(d, DAEMON_STATUS_TIMEOUT_MS) == 0 &&
        daemon_state_is(d, "Running")) {
        if (d->st.tun)
            d->mode = DAEMON_MODE_TUN;
        ready_write(d);
        return 0;
    }

    long long deadline = tsr_now_ms() + (long long)d->timeout_s * 1000;
    if (login_check_key() != 0)
        return TSR_EXIT_LOGIN;
    lock_fd = statedir_open(d->lock_path, O_RDWR | O_CREAT, 0600);
    if (lock_fd < 0 && errno == ELOOP) {
        tsr_error("%s is a symlink: tsrun does not follow one in its state directory (whoever "
                  "made it could redirect tsrun); remove it",
                  d->lock_path);
        return TSR_EXIT_INTERNAL;
    }
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

    bool up = daemon_fetch_status(d, DAEMON_STATUS_TIMEOUT_MS) == 0, started = false;
    if (up && !start_read_addrs(d)) {
        /* Answering but the address file is gone: take it from the log. */
        if (!start_socks5_from_log(d->log_path, d->socks5, sizeof d->socks5)) {
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
        start_clean_stale(d);
        /* --timeout bounds the start too, with a floor a real daemon needs. */
        long long start_deadline = tsr_now_ms() + START_MIN_MS;
        if (start_deadline < deadline)
            start_deadline = deadline;
        rc = start_tailscaled(d, flags & DAEMON_AS_CHILD, start_deadline);
        if (rc)
            goto out;
        started = true;
        d->started = !(flags & DAEMON_AS_CHILD);
        while ((rc = daemon_fetch_status(d, DAEMON_STATUS_TIMEOUT_MS)) < 0 &&
               tsr_now_ms() < start_deadline)
            tsr_sleep_ms(20);
        if (rc < 0) {
            if (rc == -ECONNREFUSED)
                tsr_error("tailscaled does not answer on %s", d->sock);
            else
                tsr_error("%s", d->err);
            say_log_tail(d->log_path, 10);
            rc = TSR_EXIT_DAEMON;
            goto out;
        }
    }
    /* NoState is also the first moment of a daemon with a saved login:
     * give it a moment to say Starting/Running before logging in again. */
    long long settle = tsr_now_ms() + NOSTATE_SETTLE_MS;
    while (daemon_state_is(d, "NoState") && tsr_now_ms() < settle && tsr_now_ms() < deadline) {
        tsr_sleep_ms(50);
        daemon_fetch_status(d, DAEMON_STATUS_TIMEOUT_MS);
    }
    bool logged_in = false;
    if (daemon_state_is(d, "Stopped")) {
        rc = login_resume_stopped(d);
        if (rc)
            goto out;
    } else if (login_wanted(d) || (started && login_every_start())) {
        if (!d->tailscale[0] && (rc = daemon_find_binaries(d)))
            goto out;
        rc = login_run(d, deadline);
        if (rc)
            goto out;
        logged_in = true;
    }
    rc = ready_wait(d, deadline, logged_in);
    if (rc == 0)
        ready_write(d);
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
