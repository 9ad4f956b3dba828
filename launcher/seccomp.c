/* The filter and the hand-over of its listener (see seccomp.h).
 *
 * IMPORTANT: the filter must be installed by the process that then execs the
 * command, and the listener must reach tsrun before the command's first
 * connect would block forever: it goes right after installing and before
 * exec. sendmsg is filtered (its msg_name may address the tailnet), so the
 * filtered child cannot send it itself: a helper cloned before the filter
 * with CLONE_FILES (same fd table, no filter) sends it over SCM_RIGHTS once
 * the child has written the listener's number down a pipe, and is reaped
 * before exec (the command never sees it). */
#include "seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"
#include "tsrun.h"

#if defined(__x86_64__)
#define SC_ARCH AUDIT_ARCH_X86_64
#define SC_X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define SC_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp intercept: add this architecture's AUDIT_ARCH"
#endif

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5) /* Linux 5.19, uapi seccomp.h */
#endif

#define SC_LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define SC_NOTIFY BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF)
#define SC_ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define SC_ENOSYS BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS)

/* sendto's 5th argument (dest_addr), low and high words (little endian). */
#define SC_ARG4_LO (offsetof(struct seccomp_data, args) + 4 * sizeof(__u64))
#define SC_ARG4_HI (SC_ARG4_LO + sizeof(__u32))

static struct sock_filter filter[] = {
    /* Another architecture's syscall numbers (i386 int 0x80 on x86_64)
     * could connect unseen: fail them closed. */
    SC_LOAD(arch),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SC_ARCH, 1, 0),
    SC_ENOSYS,
    SC_LOAD(nr),
#ifdef SC_X32_BIT
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SC_X32_BIT, 0, 1),
    SC_ENOSYS,
#endif
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_connect, 0, 1),
    SC_NOTIFY,
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpeername, 0, 1),
    SC_NOTIFY,
    /* sendmsg/sendmmsg: the address is inside struct msghdr, which a filter
     * cannot read; tsrun reads it (every call is a notification). */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 0, 1),
    SC_NOTIFY,
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmmsg, 0, 1),
    SC_NOTIFY,
    /* execs: tsrun reports setuid/setcap programs that no-new-privs
     * disarms (one notification per exec, answered CONTINUE). */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 0, 1),
    SC_NOTIFY,
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 0, 1),
    SC_NOTIFY,
    /* sendto with a destination (UDP, TCP fast open); without one it is a
     * send on a connected socket and stays in the kernel. */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendto, 0, 5),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG4_LO),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG4_HI),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    SC_NOTIFY,
    /* recvfrom asking for the source (src_addr != NULL): a DNS answer from
     * tsrun's stub is reported as from the nameserver (launcher/dnssock.h).
     * recv() and reads pass NULL and stay in the kernel. Reloads nr. */
    SC_LOAD(nr),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_recvfrom, 0, 5),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG4_LO),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SC_ARG4_HI),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    SC_NOTIFY,
    SC_ALLOW,
};

static int sc_seccomp(unsigned op, unsigned flags, void *arg)
{
    return (int)syscall(SYS_seccomp, op, flags, arg);
}

/* CAP_SYS_ADMIN in the effective set lets a filter go in without
 * no-new-privs (so setuid programs keep working under root). */
static bool have_sys_admin(void)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &h, d) < 0)
        return false;
    return (d[CAP_SYS_ADMIN / 32].effective >> (CAP_SYS_ADMIN % 32)) & 1u;
}

/* In the child: 0 and the listener, or -errno. */
static int install(int *listener, bool *killable, bool *nnp)
{
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    *nnp = !have_sys_admin();
    if (*nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    unsigned flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
    /* Once tsrun holds a notification, a signal must not abort and restart
     * the connect: the tunnel would be dialled twice. Kernels before 5.19
     * answer EINVAL to the flag: try again without it. */
    int fd =
        sc_seccomp(SECCOMP_SET_MODE_FILTER, flags | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
    if (fd >= 0) {
        *killable = true;
        *listener = fd;
        return 0;
    }
    if (errno != EINVAL)
        return -errno;
    *killable = false;
    fd = sc_seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (fd < 0)
        return -errno;
    *listener = fd;
    return 0;
}

int seccomp_install_trace(bool *nnp)
{
    enum { N = sizeof filter / sizeof filter[0] };
    struct sock_filter f[N];
    memcpy(f, filter, sizeof f);
    for (size_t i = 0; i < N; i++) {
        if (f[i].code != (BPF_RET | BPF_K) || f[i].k != SECCOMP_RET_USER_NOTIF)
            continue;
        /* The execs were only trapped for the setuid report: allowed here. */
        bool exec = i > 0 && f[i - 1].code == (BPF_JMP | BPF_JEQ | BPF_K) &&
                    (f[i - 1].k == __NR_execve || f[i - 1].k == __NR_execveat);
        f[i].k = exec ? SECCOMP_RET_ALLOW : SECCOMP_RET_TRACE;
    }
    struct sock_fprog prog = {.len = N, .filter = f};
    *nnp = !have_sys_admin();
    if (*nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    return sc_seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -errno : 0;
}

struct handover {
    int err; /* 0 or -errno */
    unsigned char killable, nnp;
};

static int send_result(int sock, const struct handover *h, int fd)
{
    struct iovec iov = {.iov_base = (void *)h, .iov_len = sizeof *h};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        m.msg_control = u.buf;
        m.msg_controllen = sizeof u.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_result(int sock, struct handover *h, int *fd)
{
    struct iovec iov = {.iov_base = h, .iov_len = sizeof *h};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr m = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    *fd = -1;
    ssize_t n;
    do
        n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n != (ssize_t)sizeof *h)
        return -EPROTO;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            memcpy(fd, CMSG_DATA(c), sizeof *fd);
    return 0;
}

/* The child's helper (see the banner): waits for the listener's number,
 * sends it to tsrun, exits 0 when it did. */
struct handover_msg {
    struct handover h;
    int fd;
};

struct helper_arg {
    int go, sock;
};

static char helper_stack[16384] __attribute__((aligned(16)));

static int helper_main(void *arg)
{
    const struct helper_arg *a = arg;
    struct handover_msg m;
    ssize_t n;
    do
        n = read(a->go, &m, sizeof m);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof m)
        _exit(1);
    _exit(send_result(a->sock, &m.h, m.h.err < 0 ? -1 : m.fd) < 0 ? 1 : 0);
}

/* exec: false -> probe only (exit after reporting). */
static int spawn(char *const argv[], char **env, bool exec, struct seccomp_child *out)
{
    int sv[2];
    memset(out, 0, sizeof *out);
    out->listener = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return -e;
    }
    if (pid == 0) {
        close(sv[0]);
        struct handover h = {0};
        int fd = -1, go[2];
        bool killable = false, nnp = false;
        pid_t helper = -1;
        if (pipe2(go, O_CLOEXEC) == 0) {
            struct helper_arg a = {.go = go[0], .sock = sv[1]};
            helper =
                clone(helper_main, helper_stack + sizeof helper_stack, CLONE_FILES | SIGCHLD, &a);
        }
        if (helper < 0) {
            h.err = -errno;
            send_result(sv[1], &h, -1); /* nothing filtered yet */
            _exit(0);
        }
        h.err = install(&fd, &killable, &nnp);
        h.killable = killable;
        h.nnp = nnp;
        struct handover_msg msg = {.h = h, .fd = fd};
        bool sent = write(go[1], &msg, sizeof msg) == (ssize_t)sizeof msg;
        int st = 0;
        while (waitpid(helper, &st, 0) < 0 && errno == EINTR)
            ;
        if (!sent || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || h.err < 0 || !exec)
            _exit(0);
        close(fd);
        close(go[0]);
        close(go[1]);
        close(sv[1]);
        _exit(inject_exec(argv, env));
    }
    close(sv[1]);
    struct handover h = {.err = -EPROTO};
    int fd = -1, rc = recv_result(sv[0], &h, &fd);
    close(sv[0]);
    if (rc == 0)
        rc = h.err;
    if (rc == 0 && fd < 0)
        rc = -EPROTO;
    if (rc < 0 || !exec) {
        if (fd >= 0)
            close(fd);
        /* The child exits at once without exec'ing anything. */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return rc;
    }
    out->pid = pid;
    out->listener = fd;
    out->killable = h.killable;
    out->no_new_privs = h.nnp;
    return 0;
}

int seccomp_spawn(char *const argv[], char **env, struct seccomp_child *out)
{
    return spawn(argv, env, true, out);
}

int seccomp_probe(void)
{
    struct seccomp_child c;
    return spawn(NULL, NULL, false, &c);
}

const char *seccomp_strerror(int err)
{
    switch (-err) {
    case EBUSY:
        return "another seccomp notifier already supervises this process (tsrun inside tsrun, "
               "LXD/sysbox syscall interception): EBUSY";
    case EINVAL:
        return "the kernel refuses seccomp listeners (gVisor, or a kernel older than 5.0): EINVAL";
    case ENOSYS:
        return "no seccomp() system call here: ENOSYS";
    case EACCES:
    case EPERM:
        return "seccomp filters are not permitted here (no-new-privs refused): EACCES";
    case EFAULT:
        return "seccomp() rejected the filter: EFAULT";
    default:
        return strerror(-err);
    }
}
