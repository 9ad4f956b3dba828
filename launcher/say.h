/* Everything the launcher tells its user on stderr goes through here: one
 * line per call, prefixed "tsrun: " (what print_first_reason() in
 * supervise.c and the tests look for), written with one write(2) so that
 * concurrent tsruns never interleave inside a line. Lines are cut at
 * SAY_LINE_MAX bytes (the newline kept). stdout belongs to the commands'
 * own reports (`status`, `env`, `doctor`), never to these.
 * Depends on nothing but libc. */
#ifndef TSRUN_SAY_H
#define TSRUN_SAY_H

#include <stdbool.h>

#define SAY_LINE_MAX 2048 /* bytes per line, prefix and newline included */

extern int tsr_verbose; /* -v or TSRUN_DEBUG: tsr_debug() lines are shown */

/* "tsrun: MSG": something failed; the caller returns an exit code. */
void tsr_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "tsrun: warning: MSG": tsrun goes on, maybe not as asked. */
void tsr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "tsrun: debug: MSG", only with tsr_verbose. */
void tsr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "tsrun: MSG": a one-line note (what was chosen, what was done). */
void tsr_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* line as it is, plus a newline (a reason quoted from a log that already
 * carries its "tsrun: " prefix). */
void say_line(const char *line);

/* "tsrun: last lines of PATH:" and its last n lines, indented four spaces
 * (or one line saying it cannot be read or is empty). */
void say_log_tail(const char *path, int n);

/* On a terminal only: "\rtsrun: WHAT (Ns) " rewritten in place, N the whole
 * seconds since start (tsr_now_ms() milliseconds). say_progress_done(shown)
 * clears it when shown; nothing off a terminal. */
void say_progress(const char *what, long long start_ms);
void say_progress_done(bool shown);

/* "YYYY-mm-dd HH:MM:SS tsrun[PID]: MSG", local time: the supervisor's log
 * lines (supervisor.log). */
void say_stamp(const char *msg);

#endif
