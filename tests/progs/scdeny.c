/* scdeny: runs a command where the kernel refuses tsrun's intercepts, to
 * test its fallbacks honestly (the same errors a sandbox gives):
 *
 *   scdeny [--ptrace] [--listener] [--listener-einval] [--getfd] [--vm]
 *          [--no-pidfd] -- CMD ARGS...
 *
 * --ptrace:   ptrace() fails with EPERM (a seccomp profile, Yama scope 3);
 * --listener: seccomp() with SECCOMP_FILTER_FLAG_NEW_LISTENER fails with
 *             EBUSY (another notifier in place: LXD, sysbox);
 * --listener-einval: the same flag fails with EINVAL (gVisor);
 * --getfd:    pidfd_getfd() fails with EPERM (Docker 20.10's default
 *             profile without CAP_SYS_PTRACE);
 * --vm:       process_vm_readv()/process_vm_writev() fail with EPERM (the
 *             same profile);
 * --no-pidfd: pidfd_open() and pidfd_getfd() fail with ENOSYS (gVisor
 *             release 20221219, Debian 12's runsc).
 * The Docker and gVisor errors are what tests/progs/ctrprobe measured
 * there (tests/e2e/test_containers.sh).
 * Sets no-new-privs, installs the filter (inherited by CMD and all it
 * starts), then execvp()s CMD. Exit 127 if that fails, 2 on bad usage. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "scdeny: add this architecture's AUDIT_ARCH"
#endif

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
/* seccomp()'s flags, its second argument (low word, little endian). */
#define ARG1_LO (offsetof(struct seccomp_data, args) + sizeof(__u64))

#define MAXF 64

struct prog {
    struct sock_filter f[MAXF];
    unsigned short n;
};

static void add(struct prog *p, struct sock_filter ins)
{
    if (p->n < MAXF)
        p->f[p->n++] = ins;
}

/* Syscall nr fails with err. */
static void deny(struct prog *p, unsigned nr, unsigned err)
{
    add(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1));
    add(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err));
}

int main(int argc, char **argv)
{
    int deny_ptrace = 0, listener_err = 0, deny_getfd = 0, deny_vm = 0, no_pidfd = 0, i = 1;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--ptrace"))
            deny_ptrace = 1;
        else if (!strcmp(argv[i], "--listener"))
            listener_err = EBUSY;
        else if (!strcmp(argv[i], "--listener-einval"))
            listener_err = EINVAL;
        else if (!strcmp(argv[i], "--getfd"))
            deny_getfd = 1;
        else if (!strcmp(argv[i], "--vm"))
            deny_vm = 1;
        else if (!strcmp(argv[i], "--no-pidfd"))
            no_pidfd = 1;
        else
            break;
    }
    if (i >= argc || strcmp(argv[i], "--") || i + 1 >= argc) {
        fprintf(stderr, "usage: scdeny [--ptrace] [--listener] [--listener-einval] [--getfd] "
                        "[--vm] [--no-pidfd] -- CMD ARGS...\n");
        return 2;
    }
    struct prog p = {.n = 0};
    add(&p, (struct sock_filter)LOAD(arch));
    add(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0));
    add(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    add(&p, (struct sock_filter)LOAD(nr));
    if (deny_ptrace)
        deny(&p, __NR_ptrace, EPERM);
    if (no_pidfd) {
        deny(&p, __NR_pidfd_open, ENOSYS);
        deny(&p, __NR_pidfd_getfd, ENOSYS);
    } else if (deny_getfd) {
        deny(&p, __NR_pidfd_getfd, EPERM);
    }
    if (deny_vm) {
        deny(&p, __NR_process_vm_readv, EPERM);
        deny(&p, __NR_process_vm_writev, EPERM);
    }
    if (listener_err) {
        add(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_seccomp, 0, 3));
        add(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG1_LO));
        add(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
                                             SECCOMP_FILTER_FLAG_NEW_LISTENER, 0, 1));
        add(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
                                             SECCOMP_RET_ERRNO | (unsigned)listener_err));
    }
    add(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    struct sock_fprog prog = {.len = p.n, .filter = p.f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        perror("scdeny: seccomp");
        return 127;
    }
    execvp(argv[i + 1], argv + i + 1);
    fprintf(stderr, "scdeny: %s: %s\n", argv[i + 1], strerror(errno));
    return 127;
}
