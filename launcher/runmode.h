/* Which intercept a command gets (--intercept), and the seccomp run. */
#ifndef TSRUN_RUNMODE_H
#define TSRUN_RUNMODE_H

#include "cli.h"
#include "elfinfo.h"
#include "status.h"

enum runmode {
    RUNMODE_SHIM,    /* LD_PRELOAD (today's path) */
    RUNMODE_SECCOMP, /* filter + tsrun as supervisor */
    RUNMODE_PTRACE,  /* tracing filter + tsrun as ptrace supervisor */
    RUNMODE_ENV,     /* LD_PRELOAD + proxy variables */
};

/* Pure: the mode for a program (ei from elf_inspect_path; all zero when it
 * could not be read: the shim, as for scripts). auto: static or Go ELF ->
 * seccomp (the caller falls back to ptrace, then proxy variables, when the
 * machine refuses it), else shim. *why: a short reason for the one line
 * tsrun prints. Always 0. */
int runmode_choose(enum cli_intercept req, const struct elf_info *ei, enum runmode *out,
                   const char **why);

/* runmode_seccomp/runmode_ptrace: a bad socks5/routes, already reported in
 * one line. Positive, so that no -errno of a refused listener or tracer
 * (gVisor's listener gives -EINVAL) can be taken for it. */
#define RUNMODE_BAD_CONFIG 1

/* Runs argv under the seccomp supervisor. On success it does not return: tsrun
 * exits as the command did. Returns -errno when no listener could be had
 * (nothing ran; see seccomp_strerror) or RUNMODE_BAD_CONFIG.
 * names (may be NULL): the name map file (session's s.names), read again
 * whenever it is replaced: peers offline there are refused with
 * EHOSTUNREACH, every tunnelled connect with ECONNREFUSED while it records
 * tailscaled as not Running, and the DNS stub answers tailnet names from
 * it. st (may be NULL): used the same way, fixed, only when names is NULL.
 * say (may be NULL): one line printed once the command runs under the
 * filter (which intercept and why; nothing is printed when it fails). */
int runmode_seccomp(char *const argv[], char **env, const char *socks5, const char *routes,
                    const char *names, const struct tsr_status *st, const char *say);

/* The same under the ptrace supervisor (ptracer.h). Returns -errno when
 * the tree cannot be traced (nothing ran; see ptracer_strerror),
 * PTRACER_NO_GETFD (ptrace works, pidfd_getfd does not; only without
 * fail_closed) or RUNMODE_BAD_CONFIG. fail_closed: run without pidfd_getfd,
 * tunnelled connects refused (ptracer.h). names, st, say: as for
 * runmode_seccomp. */
int runmode_ptrace(char *const argv[], char **env, const char *socks5, const char *routes,
                   const char *names, const struct tsr_status *st, const char *say,
                   bool fail_closed);

#endif
