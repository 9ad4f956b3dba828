/* ptfloor: what a trapped syscall costs under ptrace, and the least any
 * ptrace supervisor can pay for it on this machine (issue 14; the README's
 * ptrace figures).
 *
 *   ptfloor loop N    N getpeername() calls on a connected loopback socket
 *                     (seccomp and ptrace modes trap it; it continues), after
 *                     100 warm-up calls. Prints one line, per call:
 *                       ns=X tracer_cpu_us=Y tracer_vcsw=V tracer_ivcsw=I
 *                     X: wall-clock ns; Y: the parent's (the tracer's) user +
 *                     system CPU, from /proc/PPID/stat (clock ticks: coarse,
 *                     use N >= 5000); V, I: the parent's main thread's
 *                     voluntary / involuntary context switches
 *                     (/proc/PPID/task/PPID/status).
 *                     PTFLOOR_PLACE=same pins the parent and this process to
 *                     CPU 0; =split the parent to CPU 0 and this one to CPU 1
 *                     (unset: the scheduler places them).
 *                     PTFLOOR_WORK_US=W: W microseconds of busy work (reading
 *                     the clock) before each call, as a program that does
 *                     something between its trapped calls; X still counts
 *                     them (subtract W for the cost of the call).
 *   ptfloor trace N   the floor: forks a child that installs a filter
 *                     returning SECCOMP_RET_TRACE for getpeername and execs
 *                     `ptfloor loop N`; this process seizes it and answers
 *                     each stop with nothing but waitpid + PTRACE_CONT.
 *
 * Run `ptfloor loop N` under `tsrun --intercept=ptrace` and compare it with
 * `ptfloor trace N` (the same placement). Exit status 2 on a setup error. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probeutil.h"

struct pstat {
    double ticks; /* utime + stime */
    long vcsw, ivcsw;
};

static void pstat_read(pid_t p, struct pstat *s)
{
    char path[64], buf[1024];
    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
    FILE *f = fopen(path, "re");
    if (f) {
        char *q = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
        unsigned long ut = 0, st = 0;
        /* After "(comm) ": state ... utime (field 14), stime (15). */
        if (q &&
            sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            s->ticks = (double)(ut + st);
        fclose(f);
    }
    snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)p, (int)p);
    f = fopen(path, "re");
    if (f) {
        while (fgets(buf, sizeof buf, f)) {
            sscanf(buf, "voluntary_ctxt_switches: %ld", &s->vcsw);
            sscanf(buf, "nonvoluntary_ctxt_switches: %ld", &s->ivcsw);
        }
        fclose(f);
    }
}

static int place(const char *how)
{
    if (!how || !*how)
        return 0;
    cpu_set_t parent, self;
    CPU_ZERO(&parent);
    CPU_SET(0, &parent);
    CPU_ZERO(&self);
    CPU_SET(strcmp(how, "split") == 0 ? 1 : 0, &self);
    if (sched_setaffinity(getppid(), sizeof parent, &parent) < 0 ||
        sched_setaffinity(0, sizeof self, &self) < 0) {
        perror("ptfloor: sched_setaffinity");
        return -1;
    }
    return 0;
}

static int loop(int n)
{
    struct sockaddr_in a;
    int c;
    if (loopback_pair(4, &a, &c) < 0) {
        perror("ptfloor: loopback socket");
        return 2;
    }
    if (place(getenv("PTFLOOR_PLACE")) < 0)
        return 2;
    const char *w = getenv("PTFLOOR_WORK_US");
    double work_ns = w ? atof(w) * 1e3 : 0;
    pid_t pp = getppid();
    struct pstat s0, s1;
    struct sockaddr_in p;
    double t0 = 0;
    for (int i = -100; i < n; i++) {
        if (i == 0) {
            pstat_read(pp, &s0);
            t0 = now_ns();
        }
        socklen_t pl = sizeof p;
        for (double w0 = now_ns(); work_ns > 0 && now_ns() - w0 < work_ns;)
            ;
        if (getpeername(c, (struct sockaddr *)&p, &pl) < 0) {
            perror("ptfloor: getpeername");
            return 2;
        }
    }
    double t = (now_ns() - t0) / n;
    pstat_read(pp, &s1);
    long hz = sysconf(_SC_CLK_TCK);
    printf("ns=%.0f tracer_cpu_us=%.2f tracer_vcsw=%.2f tracer_ivcsw=%.2f\n", t,
           (s1.ticks - s0.ticks) * 1e6 / (double)hz / n, (double)(s1.vcsw - s0.vcsw) / n,
           (double)(s1.ivcsw - s0.ivcsw) / n);
    return 0;
}

static int install_filter(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpeername, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        return -errno;
    return 0;
}

static int trace(const char *self, const char *n)
{
    int go[2];
    if (pipe(go) < 0)
        return 2;
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        char b;
        close(go[1]);
        if (install_filter() < 0 || read(go[0], &b, 1) != 1)
            _exit(2);
        execl(self, self, "loop", n, (char *)NULL);
        _exit(127);
    }
    close(go[0]);
    long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
    if (ptrace(PTRACE_SEIZE, pid, 0, (void *)opts) < 0) {
        perror("ptfloor: PTRACE_SEIZE");
        return 2;
    }
    if (write(go[1], "g", 1) != 1)
        return 2;
    close(go[1]);
    for (;;) {
        int st;
        pid_t t = waitpid(-1, &st, __WALL);
        if (t < 0 && errno == EINTR)
            continue;
        if (t < 0)
            return 2;
        if (WIFEXITED(st))
            return WEXITSTATUS(st);
        if (WIFSIGNALED(st))
            return 128 + WTERMSIG(st);
        /* A signal-delivery-stop passes its signal on; event stops none. */
        int sig = ((unsigned)st >> 16) == 0 ? WSTOPSIG(st) : 0;
        ptrace(PTRACE_CONT, t, 0, (void *)(intptr_t)sig);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "loop") == 0)
        return loop(atoi(argv[2]));
    if (argc == 3 && strcmp(argv[1], "trace") == 0)
        return trace("/proc/self/exe", argv[2]);
    fprintf(stderr, "usage: ptfloor loop N | ptfloor trace N\n");
    return 2;
}
