/* How the ptrace supervisor (ptracer.c) waits for its next tracee event: a
 * short, adaptive spin in waitpid(WNOHANG) before a blocking waitpid.
 *
 * IMPORTANT: why spin. A trapped syscall stops the tracee, which wakes the
 * tracer; the tracer's PTRACE_CONT wakes the tracee. The scheduler keeps
 * the two on different CPUs whenever one is idle, and in a VM waking an idle
 * CPU is an interrupt sent through the hypervisor: on this project's 2-CPU
 * Firecracker VM (README, ptrace mode; tests/progs/ptfloor), a tracer doing
 * nothing but waitpid + PTRACE_CONT cost 60-250 us per stop with the two on
 * different CPUs and 4-5 us on one. While the tracer spins, the tracee's stop needs no
 * wake-up of the tracer, which halves the round trip. The spin is bounded
 * and adapts as the kernel's cpuidle haltpoll does: the window grows while
 * the next event comes within PTWAIT_MAX_NS and shrinks to nothing when it
 * does not, so a program that traps rarely gets no spin (and no CPU spent on
 * it). With one CPU allowed there is no spin (the tracee would wait for it).
 *
 * IMPORTANT: why PTWAIT_MAX_NS is 100 us. The cap must exceed the round
 * trip of a stop taken WITHOUT the spin, or the window never reopens: with
 * the two on different CPUs that round trip pays two cross-CPU wake-ups
 * (~20-45 us each on this VM, whether the woken CPU was halted or busy)
 * and came to 70-100 us, so under a 50 us cap a window that once shrank to
 * nothing stayed there and every call cost 70-100 us; with the spin it is
 * one wake-up, 25-35 us. Measured with tests/progs/ptfloor under tsrun on
 * the idle VM (README, ptrace mode). The price: a program whose trapped
 * calls come 50-100 us apart now keeps the tracer spinning between them.
 * Only the affinity mask is read: in a container limited by a CPU quota
 * (cgroup cpu.max) that still shows several CPUs, the spin's CPU time is
 * charged to the same quota as the command's.
 */
#ifndef TSRUN_PTWAIT_H
#define TSRUN_PTWAIT_H

#include <stdbool.h>
#include <sys/types.h>

#define PTWAIT_START_NS 10000L /* the first window, and the smallest kept */
#define PTWAIT_MAX_NS 100000L  /* the largest window; a gap above it shrinks */

struct ptwait {
    long window_ns; /* the current spin window; 0: block at once */
    bool enabled;   /* more than one CPU may run this thread */
};

/* Fills w (no spin yet; enabled from sched_getaffinity). */
void ptwait_init(struct ptwait *w);

/* As waitpid(-1, status, __WALL): a pid, or -1 with errno (EINTR, ECHILD).
 * Spins up to w->window_ns first, then blocks; adapts the window. */
pid_t ptwait_next(struct ptwait *w, int *status);

/* The policy, pure: the window after an event came gap_ns (>= 0) after the
 * wait began with window window_ns. Caught within the window: unchanged;
 * later but within PTWAIT_MAX_NS: doubled (at least PTWAIT_START_NS, at most
 * PTWAIT_MAX_NS); later still: halved, and 0 below PTWAIT_START_NS. */
long ptwait_adapt(long window_ns, long gap_ns);

#endif
