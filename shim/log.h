/* Diagnostics: always stderr, one write() per line, never stdout. */
#ifndef TSSHIM_LOG_H
#define TSSHIM_LOG_H

#include <stdbool.h>
#include <sys/socket.h>

/* TSRUN_DEBUG=1: one line per decision. */
bool log_debug_enabled(void);

/* "tsshim[PID]: <message>\n" on fd 2, formatted on the stack. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A hint for the user: printed at most once per process, never when quiet
 * (TSRUN_QUIET=1 or `quiet = 1` in /etc/tsrun/tsrun.conf). */
void log_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_line() only when debugging is on. */
#define log_debug(...)                                                       \
    do {                                                                     \
        if (log_debug_enabled())                                             \
            log_line(__VA_ARGS__);                                           \
    } while (0)

/* Formats "1.2.3.4:80" / "[fd7a::1]:80" into buf (at least 64 bytes). */
const char *log_sockaddr(const struct sockaddr *sa, socklen_t len, char *buf,
                         size_t size);

/* Milliseconds on CLOCK_MONOTONIC. */
long long log_now_ms(void);

#endif
