/* Diagnostics: one write() per line, never stdout, only where a person reads.
 *
 * Where a line goes (the first that applies):
 *   1. TSRUN_LOG=/abs/path: appended there (opened O_APPEND|O_CLOEXEC, written
 *      and closed per line: no descriptor stays open in the program);
 *   2. fd 2 when it is a terminal or other character device, a pipe/FIFO or
 *      a socket, or a regular file opened write-only (what `2>file`,
 *      `2>>file`, nohup and systemd's StandardError=file: give);
 *   3. nowhere. A regular file open read-write on fd 2 is taken for the
 *      program's own data (a daemon that closed stdio and reopened fd 2 on
 *      its database), and so is anything else.
 *
 * IMPORTANT: this module depends on nothing else in the shim. The config
 * pushes its settings in with log_configure(); until then debug is off,
 * hints are on and there is no TSRUN_LOG. A log call inside config loading
 * therefore cannot recurse into it. */
#ifndef TSSHIM_LOG_H
#define TSSHIM_LOG_H

#include <stdbool.h>
#include <sys/socket.h>

/* Sets the level (TSRUN_DEBUG, 0 = off), quiet (TSRUN_QUIET: no hints) and
 * the log file (TSRUN_LOG; NULL or "" = none; copied). Called once, by the
 * config loader, before the config is published. */
void log_configure(int debug, bool quiet, const char *path);

/* TSRUN_DEBUG=1: one line per decision. */
bool log_debug_enabled(void);

/* "tsshim[PID]: <message>\n" where the rules above say, formatted on the stack. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A hint for the user: printed at most once per process, never when quiet
 * (TSRUN_QUIET=1 or `quiet = 1` in /etc/tsrun/tsrun.conf). */
void log_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_line() only when debugging is on. */
#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_debug_enabled())                                                                   \
            log_line(__VA_ARGS__);                                                                 \
    } while (0)

/* Formats "1.2.3.4:80" / "[fd7a::1]:80" into buf (at least 64 bytes); reads
 * only the lengths the kernel accepts (common/route.h). */
const char *log_sockaddr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);

/* Milliseconds on CLOCK_MONOTONIC. */
long long log_now_ms(void);

#endif
