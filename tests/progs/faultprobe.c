/* faultprobe [-n] [-e] [-R] HOST PORT
 *
 * One TCP connect() to a numeric HOST:PORT, measured from the application's
 * side, for the fault-injection tests. Prints one line:
 *
 *   connect=OK|ENAME ms=N fds=BEFORE/AFTER flags=same|changed [io=...]
 *
 *   -n  non-blocking socket: EINPROGRESS, then poll() + SO_ERROR (30 s cap)
 *   -e  after a successful connect: send "ping\n", expect it echoed (io=echo|ENAME|eof|short)
 *   -R  after a successful connect: read until EOF or an error (io=eof|ENAME)
 *
 * fds counts /proc/self/fd before socket() and after close(): a leak in the
 * code under test shows as AFTER > BEFORE. flags compares F_GETFL/F_GETFD
 * taken before connect() with those after it. Exit 0 when it could measure,
 * 2 on a usage or setup error. Builds with glibc and musl. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e)
{
    static char buf[16];
    switch (e) {
    case 0: return "OK";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNRESET: return "ECONNRESET";
    case ECONNABORTED: return "ECONNABORTED";
    case ENETUNREACH: return "ENETUNREACH";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINPROGRESS: return "EINPROGRESS";
    case EALREADY: return "EALREADY";
    case EISCONN: return "EISCONN";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPIPE: return "EPIPE";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENOTCONN: return "ENOTCONN";
    case EPROTO: return "EPROTO";
    }
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own fd */
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, int ms)
{
    struct pollfd p = {.fd = fd, .events = ev};
    int rc;
    while ((rc = poll(&p, 1, ms)) < 0 && errno == EINTR)
        ;
    return rc;
}

static const char *do_echo(int fd)
{
    static const char msg[] = "ping\n";
    char buf[16];
    size_t got = 0;
    if (send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof msg - 1))
        return ename(errno);
    while (got < sizeof msg - 1) {
        if (wait_fd(fd, POLLIN, 5000) <= 0)
            return "timeout";
        ssize_t n = recv(fd, buf + got, sizeof buf - got, 0);
        if (n == 0)
            return "eof";
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            return ename(errno);
        }
        got += (size_t)n;
    }
    return memcmp(buf, msg, sizeof msg - 1) == 0 ? "echo" : "short";
}

static const char *do_drain(int fd)
{
    char buf[512];
    for (;;) {
        if (wait_fd(fd, POLLIN, 5000) <= 0)
            return "timeout";
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            return "eof";
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return ename(errno);
    }
}

int main(int argc, char **argv)
{
    int nonblock = 0, echo = 0, drain = 0, opt;
    while ((opt = getopt(argc, argv, "neR")) != -1) {
        switch (opt) {
        case 'n': nonblock = 1; break;
        case 'e': echo = 1; break;
        case 'R': drain = 1; break;
        default: goto usage;
        }
    }
    if (argc - optind != 2)
        goto usage;

    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    int port = atoi(argv[optind + 1]);
    if (inet_pton(AF_INET, argv[optind], &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((unsigned short)port);
        len = sizeof *in;
    } else if (inet_pton(AF_INET6, argv[optind], &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)port);
        len = sizeof *in6;
    } else {
        goto usage;
    }

    int before = count_fds();
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) {
        perror("faultprobe: socket");
        return 2;
    }
    int fl0 = fcntl(fd, F_GETFL), fd0 = fcntl(fd, F_GETFD);
    long long t0 = now_ms();
    int err = 0;
    if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
        err = errno;
        if (nonblock && err == EINPROGRESS) {
            if (wait_fd(fd, POLLOUT, 30000) <= 0) {
                err = ETIMEDOUT;
            } else {
                socklen_t elen = sizeof err;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
                    err = errno;
            }
        }
    }
    long long ms = now_ms() - t0;
    int fl1 = fcntl(fd, F_GETFL), fd1 = fcntl(fd, F_GETFD);
    const char *io = NULL;
    if (err == 0 && echo)
        io = do_echo(fd);
    else if (err == 0 && drain)
        io = do_drain(fd);
    close(fd);
    int after = count_fds();
    printf("connect=%s ms=%lld fds=%d/%d flags=%s", ename(err), ms, before, after,
           fl0 == fl1 && fd0 == fd1 ? "same" : "changed");
    if (fl0 != fl1 || fd0 != fd1)
        printf("(fl %#x->%#x fd %#x->%#x)", fl0, fl1, fd0, fd1);
    if (io != NULL)
        printf(" io=%s", io);
    printf("\n");
    return 0;
usage:
    fprintf(stderr, "usage: faultprobe [-n] [-e] [-R] HOST PORT\n");
    return 2;
}
