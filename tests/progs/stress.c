/* stress [-t THREADS] [-n ITERATIONS] NAMES_FILE PEER_FQDN PEER_V4 ECHO_PORT
 *
 * Concurrency stress for the shim (issue 6). THREADS workers each loop
 * ITERATIONS times over:
 *   - a tunnelled connect to PEER_V4:ECHO_PORT, one echo round trip;
 *   - a non-tunnelled connect to a loopback listener this program runs;
 *   - getaddrinfo(PEER_FQDN), which must answer PEER_V4 from the name map;
 * while one more thread replaces NAMES_FILE (write a temp file + rename) in
 * a loop, and the main thread fork()s half way: the child does one lookup
 * and one tunnelled connect and exits with their verdict.
 * Prints "stress: N ops, F failures" and exits 0 only when F == 0. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *names_path, *peer_fqdn, *peer_v4;
static int echo_port, iterations = 20;
static unsigned short local_port;
static char *names_text;
static size_t names_len;
static atomic_int ops, failures, workers_left;
static atomic_bool stop_rewriter;

static void failed(const char *what, int err)
{
    atomic_fetch_add(&failures, 1);
    fprintf(stderr, "stress: %s: %s\n", what, strerror(err));
}

static int connect_to(const char *ip, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* One echo round trip; 0 or an errno. */
static int echo_once(int fd)
{
    char buf[8];
    size_t got = 0;
    if (send(fd, "stress\n", 7, MSG_NOSIGNAL) != 7)
        return errno;
    while (got < 7) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            return ETIMEDOUT;
        ssize_t n = recv(fd, buf + got, sizeof buf - got, 0);
        if (n <= 0)
            return n == 0 ? ECONNRESET : errno;
        got += (size_t)n;
    }
    return memcmp(buf, "stress\n", 7) == 0 ? 0 : EPROTO;
}

static int tunnelled(void)
{
    int fd = connect_to(peer_v4, echo_port);
    if (fd < 0)
        return -fd;
    int e = echo_once(fd);
    close(fd);
    return e;
}

static int lookup(void)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(peer_fqdn, "80", &hints, &res);
    if (rc != 0)
        return rc == EAI_SYSTEM ? errno : ENOENT;
    char ip[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof ip);
    freeaddrinfo(res);
    return strcmp(ip, peer_v4) == 0 ? 0 : EPROTO;
}

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < iterations; i++) {
        int e;
        if ((e = tunnelled()) != 0)
            failed("tunnelled connect", e);
        int fd = connect_to("127.0.0.1", local_port);
        if (fd < 0)
            failed("loopback connect", -fd);
        else
            close(fd);
        if ((e = lookup()) != 0)
            failed("getaddrinfo", e);
        atomic_fetch_add(&ops, 3);
    }
    atomic_fetch_sub(&workers_left, 1);
    return NULL;
}

static void *listener(void *arg)
{
    int ls = *(int *)arg;
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c >= 0)
            close(c);
    }
    return NULL;
}

static void *rewriter(void *arg)
{
    char tmp[4096];
    unsigned gen = 0;
    (void)arg;
    snprintf(tmp, sizeof tmp, "%s.stress.tmp", names_path);
    while (!atomic_load(&stop_rewriter)) {
        FILE *f = fopen(tmp, "w");
        if (f == NULL) {
            failed("rewrite names", errno);
            return NULL;
        }
        /* The same map with a changing comment: size and inode change. */
        const char *nl = memchr(names_text, '\n', names_len);
        size_t head = nl != NULL ? (size_t)(nl - names_text) + 1 : names_len;
        fwrite(names_text, 1, head, f);
        fprintf(f, "# stress generation %u%*s\n", gen, (int)(gen % 7), "");
        fwrite(names_text + head, 1, names_len - head, f);
        fclose(f);
        if (rename(tmp, names_path) < 0)
            failed("rename names", errno);
        gen++;
        usleep(2000);
    }
    return NULL;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = buf != NULL ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    int nthreads = 8, opt;
    while ((opt = getopt(argc, argv, "t:n:")) != -1) {
        if (opt == 't')
            nthreads = atoi(optarg);
        else if (opt == 'n')
            iterations = atoi(optarg);
        else
            goto usage;
    }
    if (argc - optind != 4 || nthreads < 1 || nthreads > 256)
        goto usage;
    names_path = argv[optind];
    peer_fqdn = argv[optind + 1];
    peer_v4 = argv[optind + 2];
    echo_port = atoi(argv[optind + 3]);
    if ((names_text = slurp(names_path, &names_len)) == NULL) {
        perror("stress: names file");
        return 2;
    }

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t slen = sizeof sa;
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 256) < 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &slen) < 0) {
        perror("stress: listener");
        return 2;
    }
    local_port = ntohs(sa.sin_port);

    pthread_t lt, rt, *wt = calloc((size_t)nthreads, sizeof *wt);
    pthread_create(&lt, NULL, listener, &ls);
    pthread_detach(lt);
    pthread_create(&rt, NULL, rewriter, NULL);
    atomic_store(&workers_left, nthreads);
    for (int i = 0; i < nthreads; i++)
        pthread_create(&wt[i], NULL, worker, NULL);

    /* fork() while the workers and the rewriter are busy. */
    while (atomic_load(&ops) < nthreads * iterations * 3 / 2 && atomic_load(&workers_left) > 0)
        usleep(1000);
    pid_t pid = fork();
    if (pid == 0) {
        int e1 = lookup(), e2 = tunnelled();
        _exit(e1 != 0 ? 10 : e2 != 0 ? 11 : 0);
    }
    int status = 0;
    if (pid < 0)
        failed("fork", errno);
    else if (waitpid(pid, &status, 0) < 0)
        failed("waitpid", errno);
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        atomic_fetch_add(&failures, 1);
        fprintf(stderr, "stress: forked child: status %#x (10: lookup, 11: connect)\n", status);
    }

    for (int i = 0; i < nthreads; i++)
        pthread_join(wt[i], NULL);
    atomic_store(&stop_rewriter, true);
    pthread_join(rt, NULL);
    free(wt);
    free(names_text);
    printf("stress: %d ops, %d failures (fork child %s)\n", atomic_load(&ops),
           atomic_load(&failures), status == 0 ? "ok" : "failed");
    return atomic_load(&failures) == 0 ? 0 : 1;
usage:
    fprintf(stderr, "usage: stress [-t THREADS] [-n ITERATIONS] NAMES_FILE PEER_FQDN PEER_V4 ECHO_PORT\n");
    return 2;
}
