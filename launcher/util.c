/* Small file and time helpers shared by the launcher modules (messages: say.c). */
#include "tsrun.h"

#include <errno.h>
#include <libgen.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

long long tsr_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tsr_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

int tsr_fmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    return 0;
}

int tsr_mkdir_p(const char *path, mode_t mode)
{
    char tmp[4096];
    if (tsr_fmt(tmp, sizeof tmp, "%s", path) < 0)
        return -ENAMETOOLONG;
    size_t len = strlen(tmp);
    while (len > 1 && tmp[len - 1] == '/')
        tmp[--len] = '\0';
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0) {
        if (errno != EEXIST)
            return -errno;
        struct stat sb;
        if (stat(tmp, &sb) < 0)
            return -errno;
        if (!S_ISDIR(sb.st_mode))
            return -ENOTDIR;
    }
    return 0;
}

int tsr_read_file(const char *path, char **out, size_t *len)
{
    int rc = 0;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = -ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

static int write_replace(const char *path, const char *data, size_t len, mode_t mode, bool sync);

int tsr_write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
    return write_replace(path, data, len, mode, true);
}

int tsr_write_cache(const char *path, const char *data, size_t len, mode_t mode)
{
    return write_replace(path, data, len, mode, false);
}

/* Temp file beside path (a stale one from a dead process of the same pid is
 * removed; O_EXCL|O_NOFOLLOW refuse anything planted there), mode set with
 * fchmod so the umask does not decide, then rename. With sync: fsync the
 * file before and the directory after the rename. 0 or -errno. */
static int write_replace(const char *path, const char *data, size_t len, mode_t mode, bool sync)
{
    int rc = 0, fd = -1;
    char tmp[4096], dir[4096];
    if (tsr_fmt(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
        return -ENAMETOOLONG;
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, mode) < 0 || (sync && fsync(fd) < 0)) {
        rc = -errno;
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = -errno;
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = -errno;
        goto out;
    }
    if (sync) {
        snprintf(dir, sizeof dir, "%s", path);
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int tsr_split_fields(const char *s, char ***out)
{
    size_t n = 0, cap = 4;
    char **v = calloc(cap + 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    for (const char *p = s ? s : ""; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\v' || *p == '\f')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, " \t\n\r\v\f");
        if (n == cap) {
            char **nv = realloc(v, (cap * 2 + 1) * sizeof *v);
            if (!nv)
                goto nomem;
            v = nv;
            cap *= 2;
        }
        if (!(v[n] = strndup(p, len)))
            goto nomem;
        v[++n] = NULL;
        p += len;
    }
    *out = v;
    return (int)n;
nomem:
    tsr_free_fields(v);
    return -ENOMEM;
}

void tsr_free_fields(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}
