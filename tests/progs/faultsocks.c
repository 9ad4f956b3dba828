/* faultsocks: a SOCKS5 server that misbehaves on purpose, for the shim's
 * failure paths. Listens on 127.0.0.1:0 (and [::1] with --v6), prints
 * "port=N" on stdout once accepting, serves each client in a thread:
 *
 *   1. reads the 3-byte greeting, sends METHOD (hex, default 0500);
 *      if METHOD is not 0500, closes; --mute never sends it (until the
 *      client goes away);
 *   2. with --drop-pipelined, discards whatever arrived with the greeting
 *      (microsocks does this) and waits for a new request;
 *   3. reads the CONNECT request (sized by its ATYP);
 *   4. with --barrier N, waits until N requests have arrived in all (a
 *      proxy that answers only connects made concurrently); sleeps
 *      --delay-ms, sends REPLY (hex, default 05000001000000000000), one
 *      byte per --trickle-ms if set, followed in the same write by --data
 *      (hex) if set; --hold never replies (until the client goes away);
 *   5. if REPLY starts with 0500, echoes until EOF; otherwise closes.
 *
 * Each request is logged on stderr as "request HEX". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static unsigned char method[64], reply[300];
static size_t method_len, reply_len;
static int delay_ms, hold, mute, drop_pipelined;

static size_t unhex(const char *s, unsigned char *out, size_t max)
{
    size_t n = 0;
    while (s[0] && s[1] && n < max) {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (unsigned char)v;
        s += 2;
    }
    return n;
}

static int read_n(int fd, unsigned char *buf, size_t n)
{
    size_t have = 0;
    while (have < n) {
        ssize_t r = recv(fd, buf + have, n - have, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return 0;
}

static void hexlog(const char *what, const unsigned char *b, size_t n)
{
    char line[1024];
    size_t o = (size_t)snprintf(line, sizeof line, "%s ", what);
    for (size_t i = 0; i < n && o + 3 < sizeof line; i++)
        o += (size_t)snprintf(line + o, sizeof line - o, "%02x", b[i]);
    line[o++] = '\n';
    (void)!write(2, line, o);
}

static int barrier, trickle_ms;
static unsigned char data[256];
static size_t data_len;
static int arrived;
static pthread_mutex_t arrived_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t arrived_cond = PTHREAD_COND_INITIALIZER;

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    unsigned char buf[600];
    if (read_n(fd, buf, 3) < 0)
        goto out;
    if (drop_pipelined) {
        /* Whatever is already queued behind the greeting is lost. */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0)
            (void)!recv(fd, buf + 3, sizeof buf - 3, MSG_DONTWAIT);
    }
    if (mute) {
        while (recv(fd, buf, sizeof buf, 0) > 0)
            ;
        goto out;
    }
    send(fd, method, method_len, MSG_NOSIGNAL);
    if (method_len != 2 || method[0] != 5 || method[1] != 0)
        goto out;
    if (read_n(fd, buf, 4) < 0)
        goto out;
    size_t rest = buf[3] == 1 ? 6 : buf[3] == 4 ? 18 : 0;
    if (buf[3] == 3) {
        if (read_n(fd, buf + 4, 1) < 0)
            goto out;
        rest = (size_t)buf[4] + 2;
        if (read_n(fd, buf + 5, rest) < 0)
            goto out;
        hexlog("request", buf, 5 + rest);
    } else {
        if (rest == 0 || read_n(fd, buf + 4, rest) < 0)
            goto out;
        hexlog("request", buf, 4 + rest);
    }
    if (hold) {
        while (recv(fd, buf, sizeof buf, 0) > 0)
            ;
        goto out;
    }
    pthread_mutex_lock(&arrived_lock);
    arrived++;
    pthread_cond_broadcast(&arrived_cond);
    while (arrived < barrier)
        pthread_cond_wait(&arrived_cond, &arrived_lock);
    pthread_mutex_unlock(&arrived_lock);
    if (delay_ms > 0)
        pause_ms(delay_ms);
    unsigned char out[sizeof reply + sizeof data];
    memcpy(out, reply, reply_len);
    memcpy(out + reply_len, data, data_len);
    if (trickle_ms > 0) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
        for (size_t i = 0; i + 1 < reply_len; i++) {
            send(fd, out + i, 1, MSG_NOSIGNAL);
            pause_ms(trickle_ms);
        }
        send(fd, out + reply_len - 1, 1 + data_len, MSG_NOSIGNAL);
    } else {
        send(fd, out, reply_len + data_len, MSG_NOSIGNAL);
    }
    if (reply_len >= 2 && reply[0] == 5 && reply[1] == 0) {
        ssize_t n;
        while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
            if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
                break;
    }
out:
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    method_len = unhex("0500", method, sizeof method);
    reply_len = unhex("05000001000000000000", reply, sizeof reply);
    int v6 = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--method") && i + 1 < argc)
            method_len = unhex(argv[++i], method, sizeof method);
        else if (!strcmp(argv[i], "--reply") && i + 1 < argc)
            reply_len = unhex(argv[++i], reply, sizeof reply);
        else if (!strcmp(argv[i], "--delay-ms") && i + 1 < argc)
            delay_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--barrier") && i + 1 < argc)
            barrier = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--trickle-ms") && i + 1 < argc)
            trickle_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data_len = unhex(argv[++i], data, sizeof data);
        else if (!strcmp(argv[i], "--hold"))
            hold = 1;
        else if (!strcmp(argv[i], "--mute"))
            mute = 1;
        else if (!strcmp(argv[i], "--drop-pipelined"))
            drop_pipelined = 1;
        else if (!strcmp(argv[i], "--v6"))
            v6 = 1;
        else {
            fprintf(stderr, "usage: faultsocks [--method HEX] [--reply HEX] [--delay-ms N] "
                            "[--barrier N] [--trickle-ms N] [--data HEX] [--hold] [--mute] "
                            "[--drop-pipelined] [--v6]\n");
            return 2;
        }
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 256) < 0) {
        perror("faultsocks: bind");
        return 1;
    }
    getsockname(ls, (struct sockaddr *)&a, &al);
    int ls6 = -1;
    if (v6) {
        /* The same port on [::1]. */
        ls6 = socket(AF_INET6, SOCK_STREAM, 0);
        setsockopt(ls6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = a.sin_port,
                                  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
        if (bind(ls6, (struct sockaddr *)&a6, sizeof a6) < 0 || listen(ls6, 256) < 0) {
            perror("faultsocks: bind [::1]");
            return 1;
        }
    }
    printf("port=%u\n", ntohs(a.sin_port));
    fflush(stdout);
    struct pollfd p[2] = {{.fd = ls, .events = POLLIN}, {.fd = ls6, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0)
            continue;
        for (int k = 0; k < 2; k++) {
            if (!(p[k].revents & POLLIN))
                continue;
            int c = accept(p[k].fd, NULL, NULL);
            if (c < 0)
                continue;
            pthread_t t;
            pthread_create(&t, NULL, serve, (void *)(long)c);
            pthread_detach(t);
        }
    }
}
