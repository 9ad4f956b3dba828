#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Pushed by the config loader (log_configure); path before has_path. */
static atomic_int log_level;
static atomic_bool log_quiet;
static atomic_bool log_has_path;
static char log_path[PATH_MAX];

void log_configure(int debug, bool quiet, const char *path)
{
    atomic_store(&log_level, debug);
    atomic_store(&log_quiet, quiet);
    if (path != NULL && path[0] == '/' && strlen(path) < sizeof log_path) {
        strcpy(log_path, path);
        atomic_store_explicit(&log_has_path, true, memory_order_release);
    }
}

bool log_debug_enabled(void)
{
    return atomic_load_explicit(&log_level, memory_order_relaxed) > 0;
}

/* Rule 2 of log.h: is fd 2 somewhere a person reads? */
static bool stderr_is_for_people(void)
{
    struct stat st;
    if (fstat(STDERR_FILENO, &st) < 0)
        return false;
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
        return true;
    if (!S_ISREG(st.st_mode))
        return false;
    int fl = fcntl(STDERR_FILENO, F_GETFL);
    return fl >= 0 && (fl & O_ACCMODE) == O_WRONLY;
}

static void write_all(int fd, const char *buf, size_t len)
{
    /* One write so lines from threads and processes do not interleave; a
     * failed or short write is not worth disturbing the app for. */
    ssize_t w;
    do
        w = write(fd, buf, len);
    while (w < 0 && errno == EINTR);
}

void log_line(const char *fmt, ...)
{
    char buf[512];
    int saved = errno;
    int n = snprintf(buf, sizeof buf, "tsshim[%ld]: ", (long)getpid());
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof buf - 2)
        len = sizeof buf - 2;
    buf[len++] = '\n';
    if (atomic_load_explicit(&log_has_path, memory_order_acquire)) {
        int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd >= 0) {
            write_all(fd, buf, len);
            close(fd);
        }
    } else if (stderr_is_for_people()) {
        write_all(STDERR_FILENO, buf, len);
    }
    errno = saved;
}

void log_hint(const char *fmt, ...)
{
    static atomic_bool hinted;
    char msg[384];
    if (atomic_load(&log_quiet) || atomic_exchange(&hinted, true))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_line("%s (TSRUN_QUIET=1 hides this hint)", msg);
}

const char *log_sockaddr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    if (sa != NULL && len >= sizeof(sa_family_t) && sa->sa_family == AF_INET &&
        len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        snprintf(buf, size, "%s:%u", ip, ntohs(in->sin_port));
    } else if (sa != NULL && sa->sa_family == AF_INET6 &&
               len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, size, "(family %d, length %u)",
                 sa != NULL && len >= sizeof(sa_family_t) ? sa->sa_family : -1, (unsigned)len);
    }
    return buf;
}

long long log_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
