/* The asynchronous-connect table (shim/pending.c) and tunnel_start()/
 * tunnel_settle() against an in-process loopback "proxy": many connects with
 * random close timing leave the fd count and the table where they started,
 * replies are consumed to the byte, and a forked child shares the table. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "pending.h"
#include "tunnel.h"

static int proxy_listener(struct config *cfg)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    cr_assert_eq(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(ls, 1024), 0);
    getsockname(ls, (struct sockaddr *)&a, &al);
    memset(cfg, 0, sizeof *cfg);
    cfg->enabled = true;
    cfg->socks5.sin6_family = AF_INET6;
    cfg->socks5.sin6_port = a.sin_port;
    cfg->socks5.sin6_addr.s6_addr[10] = 0xff;
    cfg->socks5.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&cfg->socks5.sin6_addr.s6_addr[12], &a.sin_addr, 4);
    cfg->socks5_is_v4 = true;
    cfg->connect_timeout_ms = 5000;
    cfg->pipeline = true;
    return ls;
}

static const uint8_t peer16[16] = {[10] = 0xff, [11] = 0xff, 100, 88, 12, 5};

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Accepts the server side and reads the 13-byte request. */
static int serve(int ls)
{
    int s = accept(ls, NULL, NULL);
    cr_assert_geq(s, 0);
    uint8_t req[13];
    cr_assert_eq(recv(s, req, sizeof req, MSG_WAITALL), 13);
    return s;
}

/* Bytes have arrived on fd (bounded; the test fails on timeout). */
static void wait_in(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 5000), 1);
}

static int settle_now(int fd)
{
    bool busy;
    struct pending *p = pending_acquire(fd, &busy);
    if (p == NULL)
        return busy ? -EBUSY : 1;
    int rc = tunnel_settle(fd, p);
    if (rc == -EAGAIN)
        pending_release(p);
    else
        pending_remove(p);
    return rc;
}

static const uint8_t ok_reply[] = {5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0};

Test(pending, reply_then_data_byte_exact)
{
    struct config cfg;
    int ls = proxy_listener(&cfg);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    cr_assert_eq(tunnel_start(fd, AF_INET, peer16, 80, &cfg), -EINPROGRESS);
    cr_assert(pending_has(fd));
    int s = serve(ls);
    cr_assert_eq(settle_now(fd), -EAGAIN, "nothing has arrived");
    /* Half the reply, then the rest with the app's data behind it. */
    cr_assert_eq(send(s, ok_reply, 5, 0), 5);
    wait_in(fd);
    cr_assert_eq(settle_now(fd), -EAGAIN);
    uint8_t rest[7 + 3];
    memcpy(rest, ok_reply + 5, 7);
    memcpy(rest + 7, "abc", 3);
    cr_assert_eq(send(s, rest, sizeof rest, 0), (ssize_t)sizeof rest);
    wait_in(fd);
    cr_assert_eq(settle_now(fd), 0);
    cr_assert(!pending_has(fd));
    char buf[8];
    cr_assert_eq(recv(fd, buf, sizeof buf, 0), 3);
    cr_assert_eq(memcmp(buf, "abc", 3), 0);
    close(s);
    close(fd);
    close(ls);
}

Test(pending, failure_is_reported_once_and_disconnects)
{
    struct config cfg;
    int ls = proxy_listener(&cfg);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    cr_assert_eq(tunnel_start(fd, AF_INET, peer16, 81, &cfg), -EINPROGRESS);
    int s = serve(ls);
    static const uint8_t refused[] = {5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0};
    cr_assert_eq(send(s, refused, sizeof refused, 0), (ssize_t)sizeof refused);
    wait_in(fd);
    cr_assert_eq(settle_now(fd), -ECONNREFUSED);
    cr_assert_eq(settle_now(fd), 1, "the entry is gone after the report");
    struct sockaddr_storage peer;
    socklen_t pl = sizeof peer;
    cr_assert_eq(getpeername(fd, (struct sockaddr *)&peer, &pl), -1);
    cr_assert_eq(errno, ENOTCONN);
    close(s);
    close(fd);
    close(ls);
}

Test(pending, forked_child_shares_the_table)
{
    struct config cfg;
    int ls = proxy_listener(&cfg);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    cr_assert_eq(tunnel_start(fd, AF_INET, peer16, 80, &cfg), -EINPROGRESS);
    int s = serve(ls);
    uint8_t both[sizeof ok_reply + 2];
    memcpy(both, ok_reply, sizeof ok_reply);
    memcpy(both + sizeof ok_reply, "xy", 2);
    cr_assert_eq(send(s, both, sizeof both, 0), (ssize_t)sizeof both);
    wait_in(fd);
    pid_t pid = fork();
    if (pid == 0)
        _exit(settle_now(fd) == 0 ? 0 : 1);
    int st;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    cr_assert(!pending_has(fd), "the child consumed the reply for both");
    char buf[4];
    cr_assert_eq(recv(fd, buf, sizeof buf, 0), 2);
    cr_assert_eq(memcmp(buf, "xy", 2), 0);
    close(s);
    close(fd);
    close(ls);
}

Test(pending, many_connects_random_close_leave_nothing_behind, .timeout = 120)
{
    struct config cfg;
    int ls = proxy_listener(&cfg);
    unsigned live0 = pending_live();
    int fds0 = open_fds();
    srand(1);
    enum { N = 100000, KEEP = 64 };
    int kept[KEEP], server[KEEP], nk = 0;
    for (int i = 0; i < N; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        cr_assert_geq(fd, 0);
        int rc = tunnel_start(fd, AF_INET, peer16, 80, &cfg);
        cr_assert_eq(rc, -EINPROGRESS, "connect %d: %d", i, rc);
        int s = serve(ls);
        switch (rand() % 4) {
        case 0: /* closed before any reply */
            close(fd);
            close(s);
            break;
        case 1: /* replied, settled, closed */
            send(s, ok_reply, sizeof ok_reply, 0);
            while (settle_now(fd) == -EAGAIN)
                ;
            close(fd);
            close(s);
            break;
        case 2: /* proxy closes: failure, reported, closed */
            close(s);
            while (settle_now(fd) == -EAGAIN)
                ;
            close(fd);
            break;
        default: /* left pending for a while */
            if (nk == KEEP) {
                int k = rand() % KEEP;
                close(kept[k]);
                close(server[k]);
                kept[k] = fd;
                server[k] = s;
            } else {
                kept[nk] = fd;
                server[nk++] = s;
            }
        }
    }
    for (int k = 0; k < nk; k++) {
        close(kept[k]);
        close(server[k]);
    }
    pending_sweep();
    cr_assert_eq(pending_live(), live0, "table drained: %u live", pending_live());
    cr_assert_eq(open_fds(), fds0);
    close(ls);
}
