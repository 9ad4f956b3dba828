/* Process control: pid files, /proc checks, stopping, exec'ing children. */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "tsrun.h"

#define STOP_WAIT_MS 5000 /* SIGTERM -> SIGKILL */

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

const char *proc_status_field(const char *status, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (!strncmp(p, key, n) && p[n] == ':')
            return p + n + 1;
    }
    return NULL;
}

int proc_status_hex(const char *status, const char *key, uint64_t *out)
{
    const char *v = proc_status_field(status, key);
    if (!v)
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 16);
    if (errno || end == v)
        return -EINVAL;
    *out = x;
    return 0;
}

int proc_write_pid(const char *path, pid_t pid)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)pid);
    return tsr_write_atomic(path, buf, (size_t)n, 0644);
}

/* Alive and not a zombie. */
bool proc_alive(pid_t pid)
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
    if (!proc_alive(pid) || tsr_fmt(arg, sizeof arg, "--socket=%s", sock) < 0)
        return false;
    return cmdline_has(pid, arg);
}

/* The supervisor is this very binary running `up`. */
bool daemon_pid_is_supervisor(pid_t pid)
{
    char a[PATH_MAX], b[PATH_MAX], path[64];
    if (!proc_alive(pid))
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
void proc_stop(pid_t pid, bool is_child)
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
        } else if (!proc_alive(pid)) {
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

void proc_exec_child(const char *bin, char **argv, char **env, int out_fd, int err_pipe, int keep)
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
