/* threads: N threads x M tunnelled connects to an echo server, interleaved
 * with non-tunnelled loopback connects to a listener of our own.
 *
 *   threads N M HOST PORT
 *
 * Every connection sends a unique line and must get exactly it back. Counts
 * /proc/self/fd before and after. Prints
 *   tunnelled_ok=X loopback_ok=Y failures=Z fds_before=A fds_after=B
 * (plus the first few failures on stderr) and exits 0 only if all went well
 * and no fd leaked. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_storage dest;
static socklen_t dest_len;
static struct sockaddr_in loop_addr;
static int per_thread, listener;
static atomic_int tunnelled_ok, loopback_ok, failures, stop;

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

static void fail(const char *what, int id, int k, int err)
{
    if (atomic_fetch_add(&failures, 1) < 10)
        fprintf(stderr, "threads: thread %d iteration %d: %s: %s\n", id, k, what, strerror(err));
}

/* Sends line, expects it back verbatim. Returns 0 or an errno. */
static int echo_roundtrip(int fd, const char *line)
{
    size_t len = strlen(line), have = 0;
    char buf[128];
    if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
        return errno ? errno : EIO;
    while (have < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, 10000);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return ETIMEDOUT;
        ssize_t n = recv(fd, buf + have, len - have, 0);
        if (n <= 0)
            return n == 0 ? ECONNRESET : errno;
        have += (size_t)n;
    }
    return memcmp(buf, line, len) == 0 ? 0 : EBADMSG;
}

/* The loopback listener: echoes one line per connection. */
static void *loop_server(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        int c = accept(listener, NULL, NULL);
        if (c < 0)
            continue;
        char buf[128];
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n > 0)
            send(c, buf, (size_t)n, MSG_NOSIGNAL);
        close(c);
    }
    return NULL;
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    char line[64];
    for (int k = 0; k < per_thread; k++) {
        int fd = socket(dest.ss_family, SOCK_STREAM, 0);
        snprintf(line, sizeof line, "t%d-i%d-%08x\n", id, k, (unsigned)(id * 7919 + k));
        if (connect(fd, (struct sockaddr *)&dest, dest_len) < 0)
            fail("tunnelled connect", id, k, errno);
        else {
            int e = echo_roundtrip(fd, line);
            if (e)
                fail("tunnelled echo", id, k, e);
            else
                atomic_fetch_add(&tunnelled_ok, 1);
        }
        close(fd);
        if (k % 5 == 0) {
            fd = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(fd, (struct sockaddr *)&loop_addr, sizeof loop_addr) < 0)
                fail("loopback connect", id, k, errno);
            else {
                int e = echo_roundtrip(fd, line);
                if (e)
                    fail("loopback echo", id, k, e);
                else
                    atomic_fetch_add(&loopback_ok, 1);
            }
            close(fd);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: threads N M HOST PORT\n");
        return 2;
    }
    int n = atoi(argv[1]);
    per_thread = atoi(argv[2]);
    int port = atoi(argv[4]);
    memset(&dest, 0, sizeof dest);
    struct sockaddr_in *in = (struct sockaddr_in *)&dest;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&dest;
    if (inet_pton(AF_INET, argv[3], &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        dest_len = sizeof *in;
    } else if (inet_pton(AF_INET6, argv[3], &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        dest_len = sizeof *in6;
    } else {
        return 2;
    }
    int fds_before = count_fds();

    listener = socket(AF_INET, SOCK_STREAM, 0);
    loop_addr.sin_family = AF_INET;
    loop_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof loop_addr;
    if (bind(listener, (struct sockaddr *)&loop_addr, sizeof loop_addr) < 0 ||
        listen(listener, 512) < 0 || getsockname(listener, (struct sockaddr *)&loop_addr, &al) < 0) {
        perror("threads: listen");
        return 1;
    }
    pthread_t srv, *t = calloc((size_t)n, sizeof *t);
    pthread_create(&srv, NULL, loop_server, NULL);
    for (int i = 0; i < n; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(long)i) != 0) {
            perror("threads: pthread_create");
            return 1;
        }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    atomic_store(&stop, 1);
    /* Wake the accept() with one last connection, then close everything. */
    int w = socket(AF_INET, SOCK_STREAM, 0);
    connect(w, (struct sockaddr *)&loop_addr, sizeof loop_addr);
    close(w);
    pthread_join(srv, NULL);
    close(listener);
    int fds_after = count_fds();
    int want_loop = n * ((per_thread + 4) / 5);
    printf("tunnelled_ok=%d loopback_ok=%d failures=%d fds_before=%d fds_after=%d\n",
           atomic_load(&tunnelled_ok), atomic_load(&loopback_ok), atomic_load(&failures),
           fds_before, fds_after);
    free(t);
    return atomic_load(&failures) == 0 && atomic_load(&tunnelled_ok) == n * per_thread &&
                   atomic_load(&loopback_ok) == want_loop && fds_before == fds_after
               ? 0
               : 1;
}
