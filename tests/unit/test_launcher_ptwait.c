/* The ptrace supervisor's adaptive spin window (launcher/ptwait.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptwait.h"

Test(ptwait, an_event_within_the_window_keeps_it)
{
    cr_assert_eq(ptwait_adapt(20000, 5000), 20000);
    cr_assert_eq(ptwait_adapt(20000, 20000), 20000);
    cr_assert_eq(ptwait_adapt(0, 0), 0);
}

Test(ptwait, an_event_soon_after_the_window_grows_it_up_to_the_cap)
{
    cr_assert_eq(ptwait_adapt(0, 30000), PTWAIT_START_NS);
    cr_assert_eq(ptwait_adapt(PTWAIT_START_NS, 30000), 2 * PTWAIT_START_NS);
    cr_assert_eq(ptwait_adapt(PTWAIT_MAX_NS * 4 / 5, PTWAIT_MAX_NS * 9 / 10), PTWAIT_MAX_NS);
    cr_assert_eq(ptwait_adapt(PTWAIT_MAX_NS - 1, PTWAIT_MAX_NS - 1), PTWAIT_MAX_NS - 1);
}

/* A stop taken while blocked, with tracer and program on different CPUs,
 * pays two cross-CPU wake-ups: 70-100 us on this project's VM (ptwait.h).
 * That must reopen a closed window, or the spin never comes back and every
 * trapped call keeps paying both (it did under a 50 us cap). */
Test(ptwait, a_blocked_round_trip_of_two_wakeups_reopens_the_window)
{
    cr_assert_eq(ptwait_adapt(0, 70000), PTWAIT_START_NS);
    cr_assert_eq(ptwait_adapt(0, 95000), PTWAIT_START_NS);
    long w = 0;
    for (int i = 0; i < 8; i++) /* blocked each time until it catches it */
        w = ptwait_adapt(w, w >= 30000 ? 30000 : 90000);
    cr_assert_geq(w, 30000);
}

Test(ptwait, a_late_event_shrinks_it_to_nothing)
{
    cr_assert_eq(ptwait_adapt(PTWAIT_MAX_NS, 10 * PTWAIT_MAX_NS), PTWAIT_MAX_NS / 2);
    cr_assert_eq(ptwait_adapt(PTWAIT_START_NS, PTWAIT_MAX_NS), 0);
    cr_assert_eq(ptwait_adapt(0, 1000000000L), 0);
    long w = PTWAIT_MAX_NS;
    for (int i = 0; i < 8; i++)
        w = ptwait_adapt(w, 1000000000L);
    cr_assert_eq(w, 0);
}

/* ptwait_next is waitpid(-1, .., __WALL): it reports an exit, spinning or
 * not, and ECHILD when there is no child. */
Test(ptwait, next_reports_a_child_exit_and_echild)
{
    struct ptwait w;
    ptwait_init(&w);
    for (long win = 0; win <= PTWAIT_MAX_NS; win += PTWAIT_MAX_NS) {
        w.window_ns = win;
        pid_t p = fork();
        cr_assert_geq(p, 0);
        if (p == 0)
            _exit(7);
        int st = 0;
        pid_t t;
        do
            t = ptwait_next(&w, &st);
        while (t < 0 && errno == EINTR);
        cr_assert_eq(t, p);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    }
    int st;
    errno = 0;
    cr_assert_eq(ptwait_next(&w, &st), -1);
    cr_assert_eq(errno, ECHILD);
}
