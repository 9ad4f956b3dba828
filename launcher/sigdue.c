/* See sigdue.h. */
#include "sigdue.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsrun.h"

/* The hex mask after "\nKEY:\t" in text, or false. */
static bool mask(const char *text, const char *key, uint64_t *out)
{
    char k[16];
    snprintf(k, sizeof k, "\n%s:", key);
    const char *p = strstr(text, k);
    if (!p)
        return false;
    char *end;
    *out = strtoull(p + strlen(k), &end, 16);
    return end != p + strlen(k);
}

static uint64_t bit(int sig)
{
    return (uint64_t)1 << (sig - 1);
}

bool sigdue_from_status(const char *status)
{
    uint64_t pnd, shd, blk, ign, cgt;
    if (!mask(status, "SigPnd", &pnd) || !mask(status, "ShdPnd", &shd) ||
        !mask(status, "SigBlk", &blk) || !mask(status, "SigIgn", &ign) ||
        !mask(status, "SigCgt", &cgt))
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
    bool due = sigdue_from_status(text); /* its Sig* lines are never the first */
    free(text);
    return due;
}
