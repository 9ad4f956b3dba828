/* asyncprobe MODE IP PORT: one asynchronous (O_NONBLOCK) connect through the
 * shim, then the calls an event loop makes, printing what each returned as
 * "key=value" lines for tests/e2e/test_async.sh. The server is expected to
 * echo what it is sent ("ping"). Modes:
 *   gate      poll(POLLOUT) waits for the tunnel; connect again; SO_ERROR;
 *             getpeername; echo
 *   select    the same wait with select()
 *   readfirst the epoll way: SO_ERROR at once, write (again after EPOLLOUT
 *             while EAGAIN), epoll_wait, read twice
 *   block     clear O_NONBLOCK while pending, then a blocking read
 *   waitall   recv(MSG_WAITALL) on the (now blocking) socket
 *   peek      recv(MSG_PEEK) then recv
 *   fionread  ioctl(FIONREAD) before and after the data
 *   dup       dup the pending fd, close the original, use the dup
 *   fork      the child reads the pending fd; then the parent
 *   threads   8 threads read the same pending fd
 *   exec      execve() a cat-like reader of the pending fd (no SOCKS bytes)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static struct sockaddr_storage dest;
static socklen_t destlen;

static const char *err_name(int e)
{
    switch (e) {
    case 0: return "0";
    case EINPROGRESS: return "EINPROGRESS";
    case EALREADY: return "EALREADY";
    case EISCONN: return "EISCONN";
    case EAGAIN: return "EAGAIN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ENOTCONN: return "ENOTCONN";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    default: return strerror(e);
    }
}

static int do_connect(int fd)
{
    return connect(fd, (struct sockaddr *)&dest, destlen) == 0 ? 0 : errno;
}

static void show_read(const char *key, ssize_t n, const char *buf)
{
    if (n < 0)
        printf("%s=%s\n", key, err_name(errno));
    else
        printf("%s=[%.*s]\n", key, (int)n, buf);
}

static int so_error(int fd)
{
    int e = -1;
    socklen_t l = sizeof e;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
    return e;
}

static void wait_in(int fd)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    epoll_wait(ep, &out, 1, 10000);
    close(ep);
}

/* Sends the way an epoll loop does: on EAGAIN, wait for EPOLLOUT and try
 * again (bounded). *first: the first try's errno, or 0. */
static ssize_t loop_send(int fd, const char *buf, size_t n, int *first)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLOUT}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    ssize_t r = -1;
    for (long i = 0; i < 10000000; i++) {
        r = send(fd, buf, n, MSG_NOSIGNAL);
        if (i == 0)
            *first = r < 0 ? errno : 0;
        if (r >= 0 || errno != EAGAIN)
            break;
        epoll_wait(ep, &out, 1, 10000);
    }
    close(ep);
    return r;
}

/* Reads until 4 bytes or an error, the way a loop would: epoll, then read. */
static ssize_t loop_read(int fd, char *buf, size_t n)
{
    for (int i = 0; i < 100; i++) {
        ssize_t r = read(fd, buf, n);
        if (r >= 0 || errno != EAGAIN)
            return r;
        wait_in(fd);
    }
    errno = EAGAIN;
    return -1;
}

static void *reader(void *arg)
{
    int fd = (int)(long)arg;
    char buf[64];
    ssize_t total = 0, r;
    for (int i = 0; i < 200; i++) {
        r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0) {
            /* Another thread may have taken "pi" and this one "ng": any
             * byte outside "ping" is a leak. */
            for (ssize_t k = 0; k < r; k++)
                if (strchr("ping", buf[k]) == NULL || buf[k] == 0)
                    printf("thread_saw=%02x\n", (unsigned char)buf[k]);
            total += r;
        }
        if (r == 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 20);
    }
    return (void *)total;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: asyncprobe MODE IP PORT\n");
        return 2;
    }
    const char *mode = argv[1];
    char buf[64];
    ssize_t n;
    setvbuf(stdout, NULL, _IONBF, 0);
    if (!strcmp(mode, "execd")) {
        /* The new image: fd argv[2] must carry only the app's bytes. */
        int in = atoi(argv[2]);
        show_read("exec_read", loop_read(in, buf, sizeof buf), buf);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&dest;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&dest;
    if (inet_pton(AF_INET, argv[2], &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)atoi(argv[3]));
        destlen = sizeof *a4;
    } else if (inet_pton(AF_INET6, argv[2], &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)atoi(argv[3]));
        destlen = sizeof *a6;
    } else {
        return 2;
    }
    int fd = socket(dest.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    printf("connect=%s\n", err_name(do_connect(fd)));

    if (!strcmp(mode, "gate") || !strcmp(mode, "select")) {
        printf("again=%s\n", err_name(do_connect(fd)));
        if (!strcmp(mode, "gate")) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int rc = poll(&p, 1, 20000);
            printf("poll=%d out=%d err=%d\n", rc, !!(p.revents & POLLOUT),
                   !!(p.revents & POLLERR));
        } else {
            fd_set w;
            FD_ZERO(&w);
            FD_SET(fd, &w);
            struct timeval tv = {20, 0};
            int rc = select(fd + 1, NULL, &w, NULL, &tv);
            printf("select=%d writable=%d\n", rc, FD_ISSET(fd, &w));
        }
        int e = so_error(fd);
        printf("so_error=%s\n", err_name(e));
        printf("so_error2=%s\n", err_name(so_error(fd)));
        if (e != 0) {
            n = read(fd, buf, sizeof buf);
            show_read("read_after_failure", n, buf);
            return 0;
        }
        printf("again2=%s\n", err_name(do_connect(fd)));
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        char host[64] = "?";
        if (getpeername(fd, (struct sockaddr *)&peer, &pl) == 0)
            inet_ntop(peer.ss_family,
                      peer.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&peer)->sin_addr
                                                : (void *)&((struct sockaddr_in6 *)&peer)->sin6_addr,
                      host, sizeof host);
        printf("peer=%s\n", host);
        send(fd, "ping", 4, MSG_NOSIGNAL);
        show_read("echo", loop_read(fd, buf, sizeof buf), buf);
    } else if (!strcmp(mode, "readfirst")) {
        printf("so_error=%s\n", err_name(so_error(fd)));
        int first;
        n = loop_send(fd, "ping", 4, &first);
        printf("send0=%s\n", err_name(first));
        if (n < 0)
            printf("send=%s\n", err_name(errno));
        n = read(fd, buf, sizeof buf);
        show_read("read0", n, buf); /* EAGAIN: the reply is not here yet */
        if (n < 0) /* (after an EAGAIN send, the echo may be back already) */
            show_read("read1", loop_read(fd, buf, sizeof buf), buf);
        show_read("read2", read(fd, buf, sizeof buf), buf);
    } else if (!strcmp(mode, "block") || !strcmp(mode, "waitall")) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        send(fd, "ping", 4, MSG_NOSIGNAL);
        n = !strcmp(mode, "block") ? read(fd, buf, sizeof buf)
                                   : recv(fd, buf, 4, MSG_WAITALL);
        show_read("read", n, buf);
    } else if (!strcmp(mode, "peek")) {
        send(fd, "ping", 4, MSG_NOSIGNAL);
        for (int i = 0; i < 100; i++) {
            n = recv(fd, buf, sizeof buf, MSG_PEEK);
            if (n >= 0 || errno != EAGAIN)
                break;
            wait_in(fd);
        }
        show_read("peek", n, buf);
        show_read("read", recv(fd, buf, sizeof buf, 0), buf);
    } else if (!strcmp(mode, "fionread")) {
        int q = -1;
        ioctl(fd, FIONREAD, &q);
        printf("queued_before=%d\n", q);
        send(fd, "ping", 4, MSG_NOSIGNAL);
        /* Wait until the echo is there, by peeking (which consumes the
         * reply first), then count. */
        for (int i = 0; i < 100; i++) {
            n = recv(fd, buf, 4, MSG_PEEK | MSG_WAITALL);
            if (n == 4 || (n < 0 && errno != EAGAIN))
                break;
            wait_in(fd);
        }
        q = -1;
        ioctl(fd, FIONREAD, &q);
        printf("queued_after=%d\n", q);
    } else if (!strcmp(mode, "dup")) {
        int d = dup(fd);
        close(fd);
        send(d, "ping", 4, MSG_NOSIGNAL);
        show_read("read", loop_read(d, buf, sizeof buf), buf);
    } else if (!strcmp(mode, "fork")) {
        send(fd, "ping", 4, MSG_NOSIGNAL);
        pid_t pid = fork();
        if (pid == 0) {
            show_read("child_read", loop_read(fd, buf, sizeof buf), buf);
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        send(fd, "pong", 4, MSG_NOSIGNAL);
        show_read("parent_read", loop_read(fd, buf, sizeof buf), buf);
    } else if (!strcmp(mode, "threads")) {
        send(fd, "ping", 4, MSG_NOSIGNAL);
        pthread_t t[8];
        for (int i = 0; i < 8; i++)
            pthread_create(&t[i], NULL, reader, (void *)(long)fd);
        long total = 0;
        for (int i = 0; i < 8; i++) {
            void *r;
            pthread_join(t[i], &r);
            total += (long)r;
        }
        printf("threads_total=%ld\n", total);
    } else if (!strcmp(mode, "exec")) {
        send(fd, "ping", 4, MSG_NOSIGNAL);
        char fdtext[16];
        snprintf(fdtext, sizeof fdtext, "%d", fd);
        char *args[] = {argv[0], "execd", fdtext, "0", NULL};
        execv("/proc/self/exe", args);
        perror("execv");
        return 1;
    } else {
        return 2;
    }
    return 0;
}
