/* The state directory: its choice, its checks, the paths in it. */
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "tsrun.h"

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

/* The first word of path into out ("" when absent or unusable). */
bool statedir_read_word(const char *path, char *out, size_t outlen)
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

int statedir_open(const char *path, int flags, mode_t mode)
{
    return open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
}
