/* Would a signal interrupt a thread's blocking system call now? For a call
 * the supervisor answers itself while the thread waits (a blocking DNS
 * recvfrom, trapdns.c): the kernel does not wake that thread for a signal
 * (seccomp's WAIT_KILLABLE_RECV, a ptrace stop), so the supervisor looks. */
#ifndef TSRUN_SIGDUE_H
#define TSRUN_SIGDUE_H

#include <stdbool.h>
#include <sys/types.h>

/* Pure: from the text of /proc/TID/status (proc(5): SigPnd, ShdPnd, SigBlk,
 * SigIgn, SigCgt as hex masks, bit N-1 for signal N). True when a signal is
 * pending for the thread or its process, not blocked by the thread, and
 * either caught by a handler or fatal by default (not ignored, not one
 * whose default is to be ignored or to stop: SIGCHLD, SIGCONT, SIGURG,
 * SIGWINCH, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU). False when a field is
 * missing. */
bool sigdue_from_status(const char *status);

/* The same for thread tid, read from /proc/TID/status; false when it
 * cannot be read (the thread is gone: its caller's validity check says so). */
bool sigdue(pid_t tid);

#endif
