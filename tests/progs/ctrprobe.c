/* ctrprobe: what a container runtime's seccomp profile lets tsrun's
 * intercepts do, one line per fact (test_containers.sh):
 *
 *   pidfd_open=OK|ERRNO        a pidfd for a child
 *   pidfd_getfd=OK|ERRNO       take one of the child's descriptors
 *   process_vm_readv=OK|ERRNO  read the child's memory
 *   proc_mem=OK|ERRNO          read it through /proc/PID/mem
 *   ptrace=OK|ERRNO            PTRACE_SEIZE the child
 *   listener=OK|ERRNO          seccomp() with SECCOMP_FILTER_FLAG_NEW_LISTENER
 *   listener_killable=OK|ERRNO the same with ..._WAIT_KILLABLE_RECV (Linux 5.19)
 *   addfd=OK|ERRNO             SECCOMP_IOCTL_NOTIF_ADDFD into a trapped child
 *   unshare_net=OK|ERRNO       unshare(CLONE_NEWNET) in a child
 *   ret_trace=OK|ERRNO|NOSTOP  a traced child's SECCOMP_RET_TRACE filter
 *                              stops it with PTRACE_EVENT_SECCOMP (what
 *                              --intercept=ptrace needs besides pidfd_getfd)
 *
 * ERRNO is the name (EPERM, ENOSYS, ...). The seccomp facts are measured in
 * children (the filter stays with them). Exit 0 unless the probe itself
 * could not run (1). */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "ctrprobe: add this architecture's AUDIT_ARCH"
#endif

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

static const char *ename(int e)
{
    switch (e) {
    case EPERM:
        return "EPERM";
    case EACCES:
        return "EACCES";
    case ENOSYS:
        return "ENOSYS";
    case EINVAL:
        return "EINVAL";
    case EBUSY:
        return "EBUSY";
    case ESRCH:
        return "ESRCH";
    case EFAULT:
        return "EFAULT";
    case ENOENT:
        return "ENOENT";
    default:
        return "EOTHER";
    }
}

static void say(const char *what, long rc, int err)
{
    if (rc >= 0)
        printf("%s=OK\n", what);
    else
        printf("%s=%s\n", what, ename(err));
    fflush(stdout);
}

static volatile unsigned long g_marker = 0x5453525554534152UL;

/* The facts about a sleeping child: pidfds, its memory, ptrace. */
static int probe_child(void)
{
    int pipefd[2];
    if (pipe(pipefd) < 0)
        return -1;
    pid_t c = fork();
    if (c < 0)
        return -1;
    if (c == 0) {
        close(pipefd[1]);
        char b;
        while (read(pipefd[0], &b, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(pipefd[0]);
    long pfd = syscall(SYS_pidfd_open, c, 0);
    say("pidfd_open", pfd, errno);
    if (pfd >= 0) {
        long got = syscall(SYS_pidfd_getfd, (int)pfd, 0, 0);
        say("pidfd_getfd", got, errno);
        if (got >= 0)
            close((int)got);
        close((int)pfd);
    } else {
        printf("pidfd_getfd=ENOPIDFD\n");
    }
    unsigned long v = 0;
    struct iovec l = {.iov_base = &v, .iov_len = sizeof v};
    struct iovec r = {.iov_base = (void *)&g_marker, .iov_len = sizeof v};
    long n = process_vm_readv(c, &l, 1, &r, 1, 0);
    say("process_vm_readv", n == (long)sizeof v && v == g_marker ? 0 : -1, n < 0 ? errno : EFAULT);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)c);
    v = 0;
    int m = open(path, O_RDONLY | O_CLOEXEC);
    n = m < 0 ? -1 : pread(m, &v, sizeof v, (off_t)(unsigned long)&g_marker);
    say("proc_mem", n == (long)sizeof v && v == g_marker ? 0 : -1, n < 0 ? errno : EFAULT);
    if (m >= 0)
        close(m);
    long pt = ptrace(PTRACE_SEIZE, c, 0, 0);
    say("ptrace", pt, errno);
    if (pt == 0)
        ptrace(PTRACE_DETACH, c, 0, 0);
    close(pipefd[1]);
    waitpid(c, NULL, 0);
    return 0;
}

#define GETPPID_FILTER_LEN 7

/* A filter whose action for getppid() (this architecture only) is
 * `action`, every other call allowed, built in f. */
static struct sock_fprog getppid_filter(struct sock_filter *f, unsigned action)
{
    const struct sock_filter prog[GETPPID_FILTER_LEN] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    memcpy(f, prog, sizeof prog);
    return (struct sock_fprog){.len = GETPPID_FILTER_LEN, .filter = f};
}

/* In a child: a listener filter trapping getppid(); with addfd, a
 * grandchild calls it and the child installs a descriptor into it. */
static void listener_child(int out, unsigned long flags, int addfd)
{
    struct sock_filter f[GETPPID_FILTER_LEN];
    struct sock_fprog prog = getppid_filter(f, SECCOMP_RET_USER_NOTIF);
    int res[2] = {0, 0};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        res[0] = errno ? errno : EINVAL;
        goto done;
    }
    long lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                       SECCOMP_FILTER_FLAG_NEW_LISTENER | flags, &prog);
    if (lfd < 0) {
        res[0] = errno;
        goto done;
    }
    if (!addfd)
        goto done;
    pid_t g = fork();
    if (g == 0)
        _exit(syscall(SYS_getppid) == 0 ? 0 : 1);
    if (g < 0) {
        res[1] = errno;
        goto done;
    }
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl((int)lfd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
        res[1] = errno;
        kill(g, SIGKILL);
        waitpid(g, NULL, 0);
        goto done;
    }
    struct seccomp_notif_addfd a;
    memset(&a, 0, sizeof a);
    a.id = req.id;
    a.srcfd = out;
    if (ioctl((int)lfd, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0)
        res[1] = errno;
    struct seccomp_notif_resp resp;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    ioctl((int)lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    waitpid(g, NULL, 0);
done:
    if (write(out, res, sizeof res) != (ssize_t)sizeof res)
        _exit(1);
    _exit(0);
}

/* listener (and addfd) facts, measured in a child. */
static int probe_listener(const char *name, unsigned long flags, int addfd)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t c = fork();
    if (c < 0)
        return -1;
    if (c == 0) {
        close(p[0]);
        listener_child(p[1], flags, addfd);
    }
    close(p[1]);
    int res[2] = {EFAULT, EFAULT};
    ssize_t n = read(p[0], res, sizeof res);
    close(p[0]);
    waitpid(c, NULL, 0);
    if (n != (ssize_t)sizeof res)
        res[0] = EFAULT;
    say(name, res[0] ? -1 : 0, res[0]);
    if (addfd && !res[0])
        say("addfd", res[1] ? -1 : 0, res[1]);
    return 0;
}

/* In a traced child: a filter returning SECCOMP_RET_TRACE for getppid(),
 * then a stop for the tracer, then the call. */
static void traced_child(void)
{
    struct sock_filter f[GETPPID_FILTER_LEN];
    struct sock_fprog prog = getppid_filter(f, SECCOMP_RET_TRACE);
    if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0)
        _exit(100 + (errno & 0x7f) % 100);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
        _exit(3);
    raise(SIGSTOP);
    syscall(SYS_getppid);
    _exit(0);
}

/* ret_trace: does the tracer see PTRACE_EVENT_SECCOMP? */
static int probe_ret_trace(void)
{
    pid_t c = fork();
    if (c < 0)
        return -1;
    if (c == 0)
        traced_child();
    int st = 0;
    const char *res = "NOSTOP";
    if (waitpid(c, &st, 0) == c && WIFSTOPPED(st) &&
        ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL) == 0 &&
        ptrace(PTRACE_CONT, c, 0, 0) == 0 && waitpid(c, &st, 0) == c && WIFSTOPPED(st)) {
        if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8)))
            res = "OK";
        ptrace(PTRACE_CONT, c, 0, 0);
    } else if (WIFEXITED(st) && WEXITSTATUS(st) >= 100) {
        res = "EPERM"; /* PTRACE_TRACEME refused */
    }
    kill(c, SIGKILL);
    while (waitpid(c, &st, 0) == c && !WIFEXITED(st) && !WIFSIGNALED(st))
        ;
    printf("ret_trace=%s\n", res);
    fflush(stdout);
    return 0;
}

static int probe_unshare(void)
{
    pid_t c = fork();
    if (c < 0)
        return -1;
    if (c == 0)
        _exit(unshare(CLONE_NEWNET) == 0 ? 0 : errno);
    int st = 0;
    waitpid(c, &st, 0);
    int e = WIFEXITED(st) ? WEXITSTATUS(st) : EFAULT;
    say("unshare_net", e ? -1 : 0, e);
    return 0;
}

int main(void)
{
    if (probe_child() < 0 || probe_listener("listener", 0, 1) < 0 ||
        probe_listener("listener_killable", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 0) < 0 ||
        probe_unshare() < 0 || probe_ret_trace() < 0) {
        perror("ctrprobe");
        return 1;
    }
    return 0;
}
