/* The ptrace supervisor (see ptracer.h).
 *
 * IMPORTANT: only this (the main) thread issues ptrace requests: the kernel
 * ties a tracee to the tracing thread. A tunnelled connect leaves its
 * thread stopped at the seccomp stop while a thread of ours dials on the
 * app's socket (pidfd_getfd); the result comes back through a pipe, read
 * when the doorbell (below) wakes this thread's waitpid, and only then is
 * the syscall skipped (number -1) with the answer as its return value. A
 * stopped thread cannot restart its connect, so a signal storm still gives
 * one tunnel per connect; signals that arrive meanwhile are delivered after.
 * Facts: ptrace(2) (SEIZE, group-stop, PTRACE_LISTEN), seccomp(2)
 * (SECCOMP_RET_TRACE: "the tracer may skip the system call by changing the
 * system call number to -1"), arm64 NT_ARM_SYSTEM_CALL (elf.h). */
#include "ptracer.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/elf.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inject.h"
#include "ptwait.h"
#include "seccomp.h"
#include "trap.h"
#include "trapdns.h"
#include "tsrun.h"

#if defined(__x86_64__)
typedef struct user_regs_struct regs_t;
#define REG_NR(r) ((r).orig_rax)
#define REG_ARGS(r)                                                                                \
    {                                                                                              \
        (r).rdi, (r).rsi, (r).rdx, (r).r10, (r).r8, (r).r9                                         \
    }
#elif defined(__aarch64__)
#include <asm/ptrace.h>
typedef struct user_pt_regs regs_t;
#define REG_NR(r) ((r).regs[8])
#define REG_ARGS(r)                                                                                \
    {                                                                                              \
        (r).regs[0], (r).regs[1], (r).regs[2], (r).regs[3], (r).regs[4], (r).regs[5]               \
    }
#else
#error "ptrace intercept: add this architecture's registers (syscall number, arguments, return)"
#endif

#define PT_OPTIONS                                                                                 \
    (PTRACE_O_TRACESECCOMP | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |      \
     PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL)

/* --- spawning --- */

struct handover {
    int err;           /* 0 or -errno from the filter */
    int fd;            /* a descriptor of the child's, for the pidfd_getfd check */
    unsigned char nnp; /* no-new-privs was set */
};

/* Can we take a descriptor out of pid (pidfd_getfd)? 0 or -errno. */
static int check_getfd(pid_t pid, int fd)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0)
        return -errno;
    int got = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
    int rc = got < 0 ? -errno : 0;
    if (got >= 0)
        close(got);
    close(pfd);
    return rc;
}

static ssize_t read_full(int fd, void *buf, size_t n)
{
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

static int wake_setup(void);
static void doorbell_stop(void);

/* exec: false -> probe only (the child exits instead of exec'ing).
 * fail_closed: see PTRACER_NO_GETFD. */
static int spawn(char *const argv[], char **env, bool exec, bool fail_closed,
                 struct ptracer_child *out)
{
    int sv[2];
    memset(out, 0, sizeof *out);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    /* Until ptracer_supervise sets it to SIG_DFL (a SIGCHLD pending
     * meanwhile is harmless: its waitpid sees every stop anyway). */
    pthread_sigmask(SIG_BLOCK, &chld, &old);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        close(sv[0]);
        close(sv[1]);
        return -e;
    }
    if (pid == 0) {
        close(sv[0]);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        bool nnp = false;
        struct handover h = {.fd = sv[1]};
        h.err = seccomp_install_trace(&nnp);
        h.nnp = nnp;
        char go = 0;
        if (write(sv[1], &h, sizeof h) != (ssize_t)sizeof h || h.err < 0 ||
            read_full(sv[1], &go, 1) != 1 || go != 'g' || !exec)
            _exit(0);
        close(sv[1]);
        _exit(inject_exec(argv, env));
    }
    close(sv[1]);
    struct handover h = {.err = -EPROTO};
    int rc = read_full(sv[0], &h, sizeof h) == (ssize_t)sizeof h ? h.err : -EPROTO;
    if (rc == 0 && ptrace(PTRACE_SEIZE, pid, 0, (void *)(uintptr_t)PT_OPTIONS) < 0)
        rc = -errno;
    if (rc == 0) {
        int gf = check_getfd(pid, h.fd);
        if (gf < 0)
            rc = !trap_getfd_refused(gf) ? gf : fail_closed ? 0 : PTRACER_NO_GETFD;
    }
    /* The doorbell (below) before the command runs: without it no result
     * could wake the tracer, and a failure here leaves nothing to kill. */
    if (rc == 0 && exec)
        rc = wake_setup();
    if (rc == 0 && exec && write(sv[0], "g", 1) != 1)
        rc = -EPIPE;
    close(sv[0]); /* without "g" the child exits at once */
    if (rc != 0 || !exec) {
        doorbell_stop();
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
            ;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return rc;
    }
    out->pid = pid;
    out->no_new_privs = h.nnp;
    return 0;
}

int ptracer_spawn(char *const argv[], char **env, bool fail_closed, struct ptracer_child *out)
{
    return spawn(argv, env, true, fail_closed, out);
}

int ptracer_probe(void)
{
    struct ptracer_child c;
    return spawn(NULL, NULL, false, false, &c);
}

const char *ptracer_strerror(int err)
{
    if (err == PTRACER_NO_GETFD)
        return "ptrace works but pidfd_getfd does not, so no tunnel can be built on the "
               "program's socket";
    switch (-err) {
    case EPERM:
    case EACCES:
        return "ptrace or pidfd_getfd is not permitted here (Yama ptrace_scope, a seccomp "
               "profile, or no CAP_SYS_PTRACE): EPERM";
    case ENOSYS:
        return "no pidfd_getfd here (Linux < 5.6, or a sandbox without it): ENOSYS";
    case EINVAL:
        return "the kernel refuses the tracing filter: EINVAL";
    default:
        return strerror(-err);
    }
}

/* --- registers --- */

static int regs_get(pid_t tid, regs_t *r)
{
    struct iovec v = {.iov_base = r, .iov_len = sizeof *r};
    return ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &v) < 0 ? -errno : 0;
}

/* Skips the syscall the tracee stopped in; it returns rc (0 or -errno). */
static int regs_answer(pid_t tid, regs_t *r, int rc)
{
#if defined(__x86_64__)
    r->orig_rax = (unsigned long long)-1;
    r->rax = (unsigned long long)(long long)rc;
#else
    int nr = -1;
    struct iovec s = {.iov_base = &nr, .iov_len = sizeof nr};
    if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_ARM_SYSTEM_CALL, &s) < 0)
        return -errno;
    r->regs[0] = (uint64_t)(int64_t)rc;
#endif
    struct iovec v = {.iov_base = r, .iov_len = sizeof *r};
    return ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &v) < 0 ? -errno : 0;
}

static void resume(pid_t tid, int sig)
{
    /* ESRCH: it died meanwhile (SIGKILL wakes a stopped tracee). */
    ptrace(PTRACE_CONT, tid, 0, (void *)(uintptr_t)sig);
}

/* Answers a stopped syscall. IMPORTANT: if the registers cannot be set, the
 * syscall must not run as asked (it may be a connect to the tailnet going
 * to the kernel's routes): the thread's process is killed instead. */
static void finish(pid_t tid, regs_t *r, int rc)
{
    int e = regs_answer(tid, r, rc);
    if (e < 0 && e != -ESRCH) {
        tsr_error("ptrace: cannot answer tid %d's syscall (%s): killing it", (int)tid,
                  strerror(-e));
        kill(tid, SIGKILL);
    }
    resume(tid, 0);
}

/* The registers of a stopped tracee. IMPORTANT: one we cannot read cannot
 * be answered and must neither run its syscall nor stay stopped forever:
 * it is killed (ESRCH: it is gone already). 0 or -errno. */
static int regs_read(pid_t tid, regs_t *r)
{
    int e = regs_get(tid, r);
    if (e < 0 && e != -ESRCH) {
        tsr_error("ptrace: cannot read tid %d's registers (%s): killing it", (int)tid,
                  strerror(-e));
        kill(tid, SIGKILL);
    }
    return e;
}

/* --- tunnelled connects and waiting DNS recvfroms in flight --- */

/* A stopped thread waiting for its tunnel (or a DNS answer). gen tells a
 * slot's successive uses apart, so a result for a thread that died (and
 * whose tid came back) is dropped. Only the main thread touches the table;
 * live[] mirrors each slot's gen (0: free) for workers that must notice
 * that their thread is gone (a waiting recvfrom). */
#define PENDING_MAX 4096

static struct {
    pid_t tid; /* 0: free */
    unsigned gen;
} pending[PENDING_MAX];
static atomic_uint live[PENDING_MAX];
static size_t npending;
static const struct unotify_cfg *g_cfg;
static int g_results[2] = {-1, -1}; /* workers write struct result, we read */
static pid_t g_child;               /* the command */
static void ring_doorbell(void);

struct work {
    struct trap_job *job;
    unsigned slot, gen;
    int d; /* DNS recvfrom: our duplicate of the app's socket */
};

struct result {
    unsigned slot, gen;
    int rc;
};

static int slot_take(pid_t tid, unsigned *gen)
{
    for (unsigned i = 0; i < PENDING_MAX; i++) {
        if (pending[i].tid)
            continue;
        pending[i].tid = tid;
        if (++pending[i].gen == 0)
            pending[i].gen = 1; /* 0 means free in live[] */
        *gen = pending[i].gen;
        atomic_store(&live[i], *gen);
        npending++;
        return (int)i;
    }
    return -EAGAIN;
}

static void slot_free(unsigned i)
{
    pending[i].tid = 0;
    atomic_store(&live[i], 0);
    npending--;
}

/* tid exited: whatever it waited for is answered to nobody. */
static void slots_drop(pid_t tid)
{
    for (unsigned i = 0; npending && i < PENDING_MAX; i++)
        if (pending[i].tid == tid)
            slot_free(i);
}

static void post_result(const struct work *w, int rc)
{
    struct result r = {.slot = w->slot, .gen = w->gen, .rc = rc};
    ssize_t n;
    do
        n = write(g_results[1], &r, sizeof r);
    while (n < 0 && errno == EINTR);
    ring_doorbell();
}

static void *tunnel_job(void *arg)
{
    struct work *w = arg;
    int rc = trap_tunnel_getfd(w->job);
    if (rc == TRAP_GETFD_REFUSED)
        rc = -ENETUNREACH; /* no tunnel here (PTRACER_NO_GETFD); never a direct connection */
    tsr_debug("ptrace: tid %d fd %d connect port %u -> tunnel: %s", (int)w->job->tid, w->job->fd,
              w->job->port, rc == 0 ? "ok" : strerror(-rc));
    post_result(w, rc);
    free(w->job);
    free(w);
    return NULL;
}

static bool work_live(void *arg)
{
    const struct work *w = arg;
    return atomic_load(&live[w->slot]) == w->gen;
}

/* A blocking recvfrom with nothing queued: its thread stays stopped while
 * this one waits (trapdns_recv_wait); a byte count fits rc. */
static void *dns_wait_job(void *arg)
{
    struct work *w = arg;
    int64_t r = trapdns_recv_wait(w->job, w->d, work_live, w);
    if (r != TRAPDNS_GONE)
        post_result(w, (int)r);
    close(w->d);
    free(w->job);
    free(w);
    return NULL;
}

/* Leaves tid stopped while fn(w) runs on a thread of its own and posts the
 * answer. 0, or -EAGAIN (nothing started; the caller still owns j). */
static int run_stopped(pid_t tid, struct trap_job *j, int d, void *(*fn)(void *))
{
    unsigned gen = 0;
    int slot = slot_take(tid, &gen);
    struct work *w = slot < 0 ? NULL : malloc(sizeof *w);
    if (w) {
        *w = (struct work){.job = j, .slot = (unsigned)slot, .gen = gen, .d = d};
        if (trap_spawn(fn, w) == 0)
            return 0;
        free(w);
    }
    if (slot >= 0)
        slot_free((unsigned)slot);
    return -EAGAIN;
}

static void on_result(const struct result *res)
{
    if (res->slot >= PENDING_MAX || pending[res->slot].gen != res->gen || !pending[res->slot].tid)
        return;
    pid_t tid = pending[res->slot].tid;
    slot_free(res->slot);
    regs_t r;
    if (regs_read(tid, &r) == 0)
        finish(tid, &r, res->rc);
}

/* --- stops --- */

/* A DNS job on a duplicate of the app's socket (trapdns.h), answered here
 * (the tracee continues, or gets 0/-errno or a byte count) or, for a
 * blocking recvfrom with nothing queued, by a worker; takes j. Without a
 * duplicate (pidfd_getfd was checked at spawn: the socket is gone) a
 * connect or recvfrom continues, a tailnet query fails. */
static void on_dns(pid_t tid, regs_t *r, struct trap_job *j)
{
    int d = trap_app_fd(j->tid, j->fd);
    int64_t rc = TRAP_CONTINUE;
    bool answer = true; /* false: rc is TRAP_CONTINUE, not a value */
    if (d < 0) {
        answer = j->kind == TRAP_JOB_DNS_SENDTO;
        rc = -ENETUNREACH;
        goto out;
    }
    switch (j->kind) {
    case TRAP_JOB_DNS_UDP:
    case TRAP_JOB_DNS_TCP:
        rc = trapdns_connect(j, d);
        break;
    case TRAP_JOB_DNS_SENDTO:
        rc = trapdns_sendto(j, d);
        break;
    case TRAP_JOB_DNS_RECVFROM:
        rc = trapdns_recv_try(j, d);
        if (rc == -EAGAIN && trapdns_recv_blocks(j, d)) {
            if (run_stopped(tid, j, d, dns_wait_job) == 0)
                return; /* stays stopped until its answer comes back */
            rc = -ENOBUFS;
        }
        break;
    case TRAP_JOB_TUNNEL:
        rc = -EINVAL; /* not a DNS job: never given here */
        break;
    }
    close(d);
out:
    free(j);
    if (answer)
        finish(tid, r, (int)rc);
    else
        resume(tid, 0);
}

static void on_seccomp(pid_t tid)
{
    regs_t r;
    if (regs_read(tid, &r) < 0)
        return;
    struct trap_call c = {.tid = tid, .nr = (long)REG_NR(r)};
    uint64_t args[6] = REG_ARGS(r);
    memcpy(c.args, args, sizeof c.args);
    struct trap_job *j = NULL;
    int rc = trap_decide(&c, &j);
    if (rc == TRAP_DNS) {
        on_dns(tid, &r, j);
        return;
    }
    if (rc == TRAP_CONTINUE || rc == TRAP_GONE) {
        resume(tid, 0);
        return;
    }
    if (rc == TRAP_TUNNEL) {
        rc = run_stopped(tid, j, -1, tunnel_job);
        if (rc == 0)
            return; /* stays stopped until its result comes back */
        free(j);
    }
    finish(tid, &r, rc);
}

/* After an exec under no-new-privs: a setuid/setcap program is reported
 * (it already runs, without its privileges; ptrace would withhold them
 * from a non-root tracer anyway). */
static void report_exec(pid_t tid)
{
    char exe[64], shown[PATH_MAX];
    snprintf(exe, sizeof exe, "/proc/%d/exe", (int)tid);
    ssize_t n = readlink(exe, shown, sizeof shown - 1);
    if (n < 0)
        return;
    shown[n] = '\0';
    trap_report_exec(exe, shown);
}

static bool is_stop_signal(int sig)
{
    return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static void on_wait(pid_t tid, int st)
{
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
        slots_drop(tid);
        return;
    }
    if (!WIFSTOPPED(st))
        return;
    int sig = WSTOPSIG(st);
    switch ((unsigned)st >> 16) {
    case PTRACE_EVENT_SECCOMP:
        on_seccomp(tid);
        break;
    case PTRACE_EVENT_STOP:
        /* SEIZE reports group-stops (a stop signal) and the first stop of
         * an auto-attached child (SIGTRAP) this way. A group-stop stays a
         * stop until SIGCONT: LISTEN, not CONT. */
        if (is_stop_signal(sig))
            ptrace(PTRACE_LISTEN, tid, 0, 0);
        else
            resume(tid, 0);
        break;
    case 0:
        resume(tid, sig); /* a signal-delivery-stop: the signal goes on */
        break;
    case PTRACE_EVENT_EXEC:
        if (g_cfg->no_new_privs)
            report_exec(tid);
        resume(tid, 0);
        break;
    default:
        resume(tid, 0); /* clone, fork, vfork, vfork-done */
        break;
    }
}

/* --- the doorbell: how a worker's result wakes this thread --- */

/* IMPORTANT: this thread sleeps in a blocking waitpid(-1, __WALL), so the
 * common stop costs waitpid -> registers -> decision -> CONT and nothing
 * else (no SIGCHLD handler, no self-pipe, no poll). A result (rare: a
 * tunnelled connect, a waiting DNS recvfrom) must therefore arrive as a wait
 * event: the worker writes the result, then a byte to the doorbell, a child
 * of ours that we trace; it reads the byte and raises DOORBELL_SIG, which
 * stops it (a signal-delivery-stop). That stop stays until waitpid collects
 * it, so a result posted just before this thread blocks still wakes it (a
 * signal to this thread could land between "no result queued" and waitpid
 * and be lost). On the doorbell's stop we drain every result and let it go
 * on with the signal suppressed. It dies with tsrun (EXITKILL). */
#define DOORBELL_SIG SIGURG /* default action: ignore; never forwarded */

static int g_bell[2] = {-1, -1}; /* workers write a byte; the doorbell reads */
static pid_t g_doorbell = -1;

static _Noreturn void doorbell_main(int rfd)
{
    /* Only DOORBELL_SIG stops it; everything else (a signal for tsrun,
     * forwarded by an inherited handler) stays blocked. */
    sigset_t m;
    sigfillset(&m);
    sigdelset(&m, DOORBELL_SIG);
    pthread_sigmask(SIG_SETMASK, &m, NULL);
    char buf[256];
    for (;;) {
        ssize_t n = read(rfd, buf, sizeof buf);
        if (n == 0)
            _exit(0); /* every writer is gone: tsrun is */
        if (n > 0)
            raise(DOORBELL_SIG);
    }
}

/* Forks and seizes the doorbell. 0 or -errno. */
static int doorbell_start(void)
{
    /* No forwarding handler may run in it before it blocks them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    int fe = errno;
    if (pid != 0)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return -fe;
    if (pid == 0) {
        int rfd = g_bell[0];
        /* Keep nothing of tsrun's open but the doorbell's end. */
        if (dup2(rfd, 3) == 3) {
            rfd = 3;
            /* Without close_range (Linux < 5.9, a seccomp profile), one
             * by one: the workers' pidfd_getfd copies of the program's
             * sockets must not live on here. */
            if (syscall(SYS_close_range, 4, ~0U, 0) < 0) {
                struct rlimit rl;
                rlim_t top = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
                for (rlim_t fd = 4; fd < top && fd < (1u << 20); fd++)
                    close((int)fd);
            }
        }
        doorbell_main(rfd);
    }
    if (ptrace(PTRACE_SEIZE, pid, 0, (void *)(uintptr_t)PTRACE_O_EXITKILL) < 0) {
        int e = errno;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
            ;
        return -e;
    }
    g_doorbell = pid;
    return 0;
}

static void ring_doorbell(void)
{
    ssize_t n;
    do
        n = write(g_bell[1], "r", 1); /* full (EAGAIN): a ring is pending */
    while (n < 0 && errno == EINTR);
}

/* The doorbell stopped (or died): every result posted so far is answered. */
static void on_doorbell(int st)
{
    struct result r;
    while (read(g_results[0], &r, sizeof r) == (ssize_t)sizeof r)
        on_result(&r);
    if (WIFSTOPPED(st)) {
        resume(g_doorbell, 0); /* the signal is suppressed */
        return;
    }
    /* Killed by someone: ring again with a new one. Without one no result
     * could ever wake us: the command must not hang on a tunnel. */
    g_doorbell = -1;
    int rc = doorbell_start();
    if (rc < 0) {
        tsr_error("ptrace: cannot restart the doorbell (%s): killing the command", strerror(-rc));
        kill(g_child, SIGKILL);
        return;
    }
    /* The new doorbell may have read a byte and raised its signal before
     * it was seized (ignored then, not a stop): a result posted before the
     * seize is answered here, every later one rings the traced doorbell. */
    while (read(g_results[0], &r, sizeof r) == (ssize_t)sizeof r)
        on_result(&r);
}

/* The result and doorbell pipes and the doorbell itself, from spawn()
 * before the command is let go. 0 or -errno. */
static int wake_setup(void)
{
    if (pipe2(g_bell, O_CLOEXEC) < 0 || fcntl(g_bell[1], F_SETFL, O_NONBLOCK) < 0 ||
        pipe2(g_results, O_CLOEXEC) < 0 || fcntl(g_results[0], F_SETFL, O_NONBLOCK) < 0)
        return -errno;
    return doorbell_start();
}

static void doorbell_stop(void)
{
    if (g_doorbell > 0) {
        kill(g_doorbell, SIGKILL);
        while (waitpid(g_doorbell, NULL, __WALL) < 0 && errno == EINTR)
            ;
        g_doorbell = -1;
    }
}

int ptracer_supervise(pid_t child, const struct unotify_cfg *cfg)
{
    g_cfg = cfg;
    g_child = child;
    trap_init(cfg, "ptrace");
    unotify_forward_signals(child);
    /* No SIGCHLD handler: a tracee's stop must cost this thread no signal.
     * At SIG_DFL (and unblocked) the kernel drops SIGCHLD when it is sent. */
    signal(SIGCHLD, SIG_DFL);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_UNBLOCK, &chld, NULL); /* blocked since the fork */
    int status = 0;
    struct ptwait pw;
    ptwait_init(&pw);
    for (;;) {
        int st;
        pid_t t = ptwait_next(&pw, &st);
        if (t < 0) {
            if (errno == EINTR)
                continue; /* a forwarded signal */
            /* ECHILD cannot happen while the doorbell lives: never report
             * a success we did not see. */
            tsr_error("ptrace: waitpid: %s", strerror(errno));
            status = W_EXITCODE(1, 0);
            break;
        }
        if (t == g_doorbell) {
            on_doorbell(st);
            continue;
        }
        if (t == child && (WIFEXITED(st) || WIFSIGNALED(st))) {
            status = st;
            break;
        }
        on_wait(t, st);
    }
    doorbell_stop();
    return status;
}
