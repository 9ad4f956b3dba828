/* See sigdue.h. */
#include "sigdue.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "tsrun.h"

static uint64_t bit(int sig)
{
    return (uint64_t)1 << (sig - 1);
}

bool sigdue_from_status(const char *status)
{
    uint64_t pnd, shd, blk, ign, cgt;
    if (proc_status_hex(status, "SigPnd", &pnd) < 0 ||
        proc_status_hex(status, "ShdPnd", &shd) < 0 ||
        proc_status_hex(status, "SigBlk", &blk) < 0 ||
        proc_status_hex(status, "SigIgn", &ign) < 0 || proc_status_hex(status, "SigCgt", &cgt) < 0)
        return false;
    uint64_t quiet = bit(SIGCHLD) | bit(SIGCONT) | bit(SIGURG) | bit(SIGWINCH) | bit(SIGSTOP) |
                     bit(SIGTSTP) | bit(SIGTTIN) | bit(SIGTTOU);
    uint64_t due = (pnd | shd) & ~blk & ~ign;
    return (due & (cgt | ~quiet)) != 0;
}

bool sigdue(pid_t tid)
{
    char path[64], *text = NULL;
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    if (tsr_read_file(path, &text, NULL) < 0)
        return false;
    bool due = sigdue_from_status(text);
    free(text);
    return due;
}
