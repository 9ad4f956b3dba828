/* Process control: pid files, what a pid is (/proc), stopping, and the
 * child side of every fork that execs a helper. daemon_read_pid and
 * daemon_pid_is_* (declared in daemon.h) live in proc.c too. */
#ifndef TSRUN_PROC_H
#define TSRUN_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* "PID\n" into path (atomically, mode 0644). 0 or -errno. */
int proc_write_pid(const char *path, pid_t pid);

/* Pure, on the text of /proc/PID/status (proc(5)): the value after "KEY:"
 * at the start of a line (not trimmed), or NULL. */
const char *proc_status_field(const char *status, const char *key);

/* The same field read as a hex mask (CapEff, SigPnd, ...). 0 or -EINVAL
 * (missing, or not hex). */
int proc_status_hex(const char *status, const char *key, uint64_t *out);

/* pid exists and is not a zombie (/proc/PID/stat). */
bool proc_alive(pid_t pid);

/* SIGTERM to pid's process group when that is not ours (tailscaled runs in
 * a session of its own), else to pid; up to 5 s for pid to go (waitpid when
 * is_child, else /proc polled every 10 ms), then SIGKILL to pid; the group
 * gets a final SIGKILL. pid <= 0: nothing. */
void proc_stop(pid_t pid, bool is_child);

/* In a forked child: every fd above 2 but keep gets FD_CLOEXEC (keep is
 * inherited, -1 for none), stdin is /dev/null, stdout and stderr go to
 * out_fd (-1: unchanged), SIGPIPE default, then execve(bin, argv, env).
 * On failure the errno is written to err_pipe (an int) and the child
 * _exit(127)s. Never returns. */
void proc_exec_child(const char *bin, char **argv, char **env, int out_fd, int err_pipe, int keep)
    __attribute__((noreturn));

#endif
