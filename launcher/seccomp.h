/* Seccomp user-notify intercept: the filter a command runs under, and the
 * listener its supervisor (tsrun) answers. Linux >= 5.9 (ADDFD); uses
 * WAIT_KILLABLE_RECV (>= 5.19) when the kernel has it. */
#ifndef TSRUN_SECCOMP_H
#define TSRUN_SECCOMP_H

#include <stdbool.h>
#include <sys/types.h>

struct seccomp_child {
    pid_t pid;         /* the command (already exec'ing when listener >= 0) */
    int listener;      /* SECCOMP_FILTER_FLAG_NEW_LISTENER fd, CLOEXEC */
    bool killable;     /* WAIT_KILLABLE_RECV accepted */
    bool no_new_privs; /* PR_SET_NO_NEW_PRIVS was needed (no CAP_SYS_ADMIN) */
};

/* Forks; the child sets no-new-privs unless it holds CAP_SYS_ADMIN,
 * installs the filter (connect, getpeername, sendto with an address,
 * recvfrom asking for the source, sendmsg, sendmmsg and execve/execveat go
 * to the listener; other architectures' socket calls fail with ENOSYS;
 * everything else is allowed), hands the listener over SCM_RIGHTS (from a
 * CLONE_FILES helper, as the child's own sendmsg is filtered) and
 * execvpe()s argv with env (exit 127/126 with one line when that fails).
 * Returns 0 with *out filled, or -errno when no listener could be had
 * (EBUSY: another notifier already filters this process, e.g. tsrun inside
 * tsrun; EINVAL: gVisor; ENOSYS: kernel < 5.0; EACCES: no-new-privs
 * refused): the child has exited then and nothing ran. */
int seccomp_spawn(char *const argv[], char **env, struct seccomp_child *out);

/* In a child about to exec: the same filter with SECCOMP_RET_TRACE instead
 * of the listener (connect, getpeername, addressed sendto, sendmsg,
 * sendmmsg and recvfrom asking for the source stop in a ptrace
 * tracer; execs are allowed), after no-new-privs unless CAP_SYS_ADMIN
 * (*nnp says which). Without a tracer the trapped calls fail with ENOSYS.
 * 0 or -errno. */
int seccomp_install_trace(bool *nnp);

/* Does this process (and its sandbox) permit a listener? Forks a probe
 * child that tries. 0 or the -errno seccomp_spawn would meet. */
int seccomp_probe(void);

/* One line for a seccomp_spawn error: why there is no listener. */
const char *seccomp_strerror(int err);

#endif
