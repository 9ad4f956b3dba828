/* The ptrace supervisor's wait (see ptwait.h). */
#include "ptwait.h"

#include <errno.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* the vDSO: no syscall */
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

void ptwait_init(struct ptwait *w)
{
    cpu_set_t s;
    w->window_ns = 0;
    w->enabled = sched_getaffinity(0, sizeof s, &s) == 0 && CPU_COUNT(&s) > 1;
}

long ptwait_adapt(long window_ns, long gap_ns)
{
    if (gap_ns <= window_ns)
        return window_ns;
    if (gap_ns < PTWAIT_MAX_NS) {
        long w = window_ns < PTWAIT_START_NS ? PTWAIT_START_NS : window_ns * 2;
        return w > PTWAIT_MAX_NS ? PTWAIT_MAX_NS : w;
    }
    window_ns /= 2;
    return window_ns < PTWAIT_START_NS ? 0 : window_ns;
}

pid_t ptwait_next(struct ptwait *w, int *status)
{
    if (!w->enabled)
        return waitpid(-1, status, __WALL);
    long t0 = now_ns();
    pid_t t = 0;
    while (w->window_ns > 0 && now_ns() - t0 < w->window_ns) {
        t = waitpid(-1, status, __WALL | WNOHANG);
        if (t != 0)
            break;     /* an event, or an error for the caller */
        sched_yield(); /* a tracee waiting for this CPU goes first */
    }
    if (t == 0)
        t = waitpid(-1, status, __WALL);
    if (t > 0)
        w->window_ns = ptwait_adapt(w->window_ns, now_ns() - t0);
    return t;
}
