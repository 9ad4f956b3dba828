/* Which pending signals interrupt a call the supervisor answers (launcher/sigdue.c). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>

#include "sigdue.h"

/* A /proc/TID/status text with these masks (hex, bit N-1 for signal N). */
static const char *status(unsigned long long pnd, unsigned long long shd, unsigned long long blk,
                          unsigned long long ign, unsigned long long cgt)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "Name:\tprog\nState:\tS (sleeping)\nSigQ:\t1/63704\nSigPnd:\t%016llx\n"
             "ShdPnd:\t%016llx\nSigBlk:\t%016llx\nSigIgn:\t%016llx\nSigCgt:\t%016llx\n"
             "CapInh:\t0000000000000000\n",
             pnd, shd, blk, ign, cgt);
    return buf;
}

#define B(sig) (1ULL << ((sig)-1))

Test(sigdue, caught_pending_signals_are_due)
{
    cr_assert_not(sigdue_from_status(status(0, 0, 0, 0, B(SIGALRM))), "nothing pending");
    cr_assert(sigdue_from_status(status(B(SIGALRM), 0, 0, 0, B(SIGALRM))), "thread-directed");
    cr_assert(sigdue_from_status(status(0, B(SIGALRM), 0, 0, B(SIGALRM))), "process-directed");
    cr_assert_not(sigdue_from_status(status(B(SIGALRM), 0, B(SIGALRM), 0, B(SIGALRM))),
                  "blocked by the thread");
    cr_assert(sigdue_from_status(status(B(SIGCHLD), 0, 0, 0, B(SIGCHLD))),
              "a caught SIGCHLD runs its handler");
}

Test(sigdue, default_actions)
{
    cr_assert(sigdue_from_status(status(0, B(SIGTERM), 0, 0, 0)), "fatal by default");
    cr_assert(sigdue_from_status(status(0, 1ULL << 40, 0, 0, 0)), "a real-time signal: fatal");
    cr_assert_not(sigdue_from_status(status(0, B(SIGTERM), 0, B(SIGTERM), 0)), "ignored");
    cr_assert_not(sigdue_from_status(status(0, B(SIGCHLD) | B(SIGWINCH) | B(SIGURG), 0, 0, 0)),
                  "ignored by default");
    cr_assert_not(sigdue_from_status(status(0, B(SIGTSTP) | B(SIGCONT), 0, 0, 0)),
                  "stop and continue: the call goes on afterwards");
}

Test(sigdue, missing_fields_say_no)
{
    cr_assert_not(sigdue_from_status("Name:\tprog\nSigPnd:\t0000000000004000\n"));
    cr_assert_not(sigdue_from_status(""));
}

Test(sigdue, this_thread)
{
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &old);
    cr_assert_not(sigdue(gettid()));
    raise(SIGUSR1); /* pending, but blocked */
    cr_assert_not(sigdue(gettid()));
    cr_assert_not(sigdue(999999999), "no such thread");
}
