/* scdeny: runs a command where the kernel refuses tsrun's intercepts, to
 * test its fallbacks honestly (the same errors a sandbox gives):
 *
 *   scdeny [--ptrace] [--listener] -- CMD ARGS...
 *
 * --ptrace:   ptrace() fails with EPERM (a seccomp profile, Yama scope 3);
 * --listener: seccomp() with SECCOMP_FILTER_FLAG_NEW_LISTENER fails with
 *             EBUSY (another notifier in place: LXD, sysbox).
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

int main(int argc, char **argv)
{
    int deny_ptrace = 0, deny_listener = 0, i = 1;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "--ptrace"))
            deny_ptrace = 1;
        else if (!strcmp(argv[i], "--listener"))
            deny_listener = 1;
        else
            break;
    }
    if (i >= argc || strcmp(argv[i], "--") || i + 1 >= argc) {
        fprintf(stderr, "usage: scdeny [--ptrace] [--listener] -- CMD ARGS...\n");
        return 2;
    }
    struct sock_filter f[] = {
        LOAD(arch),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        LOAD(nr),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, deny_ptrace ? __NR_ptrace : ~0u, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, deny_listener ? __NR_seccomp : ~0u, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG1_LO),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_FILTER_FLAG_NEW_LISTENER, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EBUSY),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        perror("scdeny: seccomp");
        return 127;
    }
    execvp(argv[i + 1], argv + i + 1);
    fprintf(stderr, "scdeny: %s: %s\n", argv[i + 1], strerror(errno));
    return 127;
}
