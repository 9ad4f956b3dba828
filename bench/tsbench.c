/* tsbench: what each path to a tailnet peer costs, measured side by side.
 *
 *   tsbench --bed                  driven by bench/run inside its namespaces
 *   tsbench --url http://100.x.y.z:PORT/FILE [--socks5 127.0.0.1:1055]
 *           [--shim PATH] [--names MAP] [--reps N] [--conns N] [--out DIR]
 *           [--no-direct]          a real tailnet: shim vs native (vs direct
 *                                  when the host routes 100.x, i.e. TUN mode)
 *   tsbench worker ...             one measurement in a child process
 *
 * Every measurement runs in a child process ("worker") so that the shim can
 * be preloaded into one and not the other, and so a worker can sit in another
 * network namespace. Paths are interleaved (A B C A B C ...) so machine drift
 * hits all of them alike; ratios come from one run. Every loop is bounded in
 * count and in time, and every worker has an alarm(). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hookcost.h"
#include "tcp_pair.h"

extern char **environ;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tsbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ------------------------------------------------------------------ workers
 * Each prints its result on stdout: one number per line. */

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    *(uint64_t *)ud += sz * n;
    return sz * n;
}

static CURL *easy(const char *url, const char *proxy, uint64_t *got, long timeout_s)
{
    CURL *h = curl_easy_init();
    if (!h)
        die("curl_easy_init");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, got);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    /* "" disables the environment's proxies; the path decides. */
    curl_easy_setopt(h, CURLOPT_PROXY, proxy ? proxy : "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "");
    return h;
}

/* worker bulk URL PROXY|- BYTES: one download, prints MB/s (10^6 B/s). */
static int worker_bulk(const char *url, const char *proxy, uint64_t want)
{
    uint64_t got = 0;
    CURL *h = easy(url, proxy, &got, 90);
    double t0 = now_s();
    CURLcode rc = curl_easy_perform(h);
    double dt = now_s() - t0;
    curl_easy_cleanup(h);
    if (rc != CURLE_OK || (want && got != want)) {
        fprintf(stderr, "bulk %s: %s (%llu of %llu bytes)\n", url, curl_easy_strerror(rc),
                (unsigned long long)got, (unsigned long long)want);
        return 1;
    }
    printf("%.3f\n", (double)got / 1e6 / dt);
    return 0;
}

/* worker lat URL PROXY|- N HEAD: N sequential new connections, one small
 * request each; prints "connect_us first_byte_us" per connection. */
static int worker_lat(const char *url, const char *proxy, int n, int head)
{
    uint64_t got = 0;
    CURL *h = easy(url, proxy, &got, 10);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    if (head)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    double t_end = now_s() + 60;
    for (int i = 0; i < n && now_s() < t_end; i++) {
        CURLcode rc = curl_easy_perform(h);
        if (rc != CURLE_OK) {
            fprintf(stderr, "lat %s: %s\n", url, curl_easy_strerror(rc));
            curl_easy_cleanup(h);
            return 1;
        }
        curl_off_t c = 0, t = 0;
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &c);
        curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &t);
        printf("%lld %lld\n", (long long)c, (long long)t);
    }
    curl_easy_cleanup(h);
    return 0;
}

/* worker connect N: socket()+connect()+close() to a loopback listener N
 * times, single-threaded (the handshake completes inside connect() on
 * loopback, so the accept() that follows never blocks); SO_LINGER 0: RST,
 * no TIME_WAIT to exhaust ports. Prints ns/op (accept/close included, the
 * same in both modes). */
static int worker_connect(int n)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 64) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl))
        die("listener: %s", strerror(errno));
    struct linger lg = {1, 0};
    double t_end = now_s() + 20, t0 = now_s();
    int i;
    for (i = 0; i < n && (i & 1023 || now_s() < t_end); i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa))
            die("connect: %s", strerror(errno));
        int afd = accept(lfd, NULL, NULL);
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
        if (afd >= 0)
            close(afd);
    }
    double dt = now_s() - t0;
    printf("%.1f\n", dt * 1e9 / i);
    return 0;
}

/* worker connect-refused N: connect() of one socket to a closed loopback
 * port (ECONNREFUSED at once), N times: close to a bare syscall, so the
 * hook's own CPU cost is not hidden under the TCP handshake. ns/op. */
static int worker_connect_refused(int n)
{
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    double t_end = now_s() + 20, t0 = now_s();
    int i;
    for (i = 0; i < n && (i & 1023 || now_s() < t_end); i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 || errno != ECONNREFUSED)
            die("connect to the closed port 9: %s", strerror(errno));
        close(fd);
    }
    double dt = now_s() - t0;
    printf("%.1f\n", dt * 1e9 / i);
    return 0;
}

void tcp_pair(int fds[2])
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 1) ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl))
        die("listener: %s", strerror(errno));
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&sa, sizeof sa))
        die("connect: %s", strerror(errno));
    fds[1] = accept(lfd, NULL, NULL);
    if (fds[1] < 0)
        die("accept: %s", strerror(errno));
    close(lfd);
}

/* worker rw N: write() 64 bytes on one end of a loopback TCP pair, read()
 * them on the other, and back (recv()/send()), N times: the hot loop of any
 * non-tailnet program once read/recv are hooked. ns per round trip. */
static int worker_rw(int n)
{
    int fds[2];
    char buf[64] = {0};
    tcp_pair(fds);
    double t_end = now_s() + 20, t0 = now_s();
    int i;
    for (i = 0; i < n && (i & 1023 || now_s() < t_end); i++) {
        if (write(fds[0], buf, sizeof buf) != (ssize_t)sizeof buf ||
            read(fds[1], buf, sizeof buf) != (ssize_t)sizeof buf ||
            send(fds[1], buf, sizeof buf, 0) != (ssize_t)sizeof buf ||
            recv(fds[0], buf, sizeof buf, 0) != (ssize_t)sizeof buf)
            die("rw: %s", strerror(errno));
    }
    double dt = now_s() - t0;
    printf("%.1f\n", dt * 1e9 / i);
    return 0;
}

/* worker poll N: poll() over both ends of a loopback TCP pair (one
 * writable, one readable with a byte pending), timeout 0, N times: an event
 * loop's idle tick once poll is hooked. ns per call. */
static int worker_poll(int n)
{
    int fds[2];
    tcp_pair(fds);
    if (write(fds[0], "x", 1) != 1)
        die("poll: %s", strerror(errno));
    struct pollfd p[2] = {{.fd = fds[0], .events = POLLOUT}, {.fd = fds[1], .events = POLLIN}};
    double t_end = now_s() + 20, t0 = now_s();
    int i;
    for (i = 0; i < n && (i & 1023 || now_s() < t_end); i++)
        if (poll(p, 2, 0) != 2)
            die("poll: %s", strerror(errno));
    double dt = now_s() - t0;
    printf("%.1f\n", dt * 1e9 / i);
    return 0;
}

/* worker gai NAME N: getaddrinfo(NAME, "80") N times; prints ns/op, then
 * 1 if it resolved, 0 if not. */
static int worker_gai(const char *name, int n)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    double t_end = now_s() + 10, t0 = now_s();
    int i, ok = 0;
    for (i = 0; i < n && now_s() < t_end; i++) {
        if (getaddrinfo(name, "80", &hints, &res) == 0) {
            ok = 1;
            freeaddrinfo(res);
        }
    }
    double dt = now_s() - t0;
    printf("%.1f\n%d\n", dt * 1e9 / i, ok);
    return 0;
}

static int worker_main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[2], "bulk"))
        return worker_bulk(argv[3], strcmp(argv[4], "-") ? argv[4] : NULL,
                           argc > 5 ? strtoull(argv[5], NULL, 10) : 0);
    if (argc >= 7 && !strcmp(argv[2], "lat"))
        return worker_lat(argv[3], strcmp(argv[4], "-") ? argv[4] : NULL, atoi(argv[5]),
                          atoi(argv[6]));
    if (argc >= 4 && !strcmp(argv[2], "connect"))
        return worker_connect(atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[2], "connect-refused"))
        return worker_connect_refused(atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[2], "rw"))
        return worker_rw(atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[2], "poll"))
        return worker_poll(atoi(argv[3]));
    if (argc >= 5 && !strcmp(argv[2], "gai"))
        return worker_gai(argv[3], atoi(argv[4]));
    if (argc >= 6 && !strcmp(argv[2], "hookcost"))
        return worker_hookcost(argv[3], atoi(argv[4]), atoi(argv[5]));
    die("unknown worker");
    return 2;
}

/* ------------------------------------------------------------------ samples */

struct series {
    char wl[32], path[32], metric[32], unit[16];
    double *v;
    int n, cap;
};
static struct series *S;
static int nS;
static const char *outdir;

static struct series *ser(const char *wl, const char *path, const char *metric, const char *unit)
{
    for (int i = 0; i < nS; i++)
        if (!strcmp(S[i].wl, wl) && !strcmp(S[i].path, path) && !strcmp(S[i].metric, metric))
            return &S[i];
    S = realloc(S, sizeof *S * (size_t)(nS + 1));
    struct series *s = &S[nS++];
    memset(s, 0, sizeof *s);
    snprintf(s->wl, sizeof s->wl, "%s", wl);
    snprintf(s->path, sizeof s->path, "%s", path);
    snprintf(s->metric, sizeof s->metric, "%s", metric);
    snprintf(s->unit, sizeof s->unit, "%s", unit);
    return s;
}

static struct series *find(const char *wl, const char *path, const char *metric)
{
    for (int i = 0; i < nS; i++)
        if (!strcmp(S[i].wl, wl) && !strcmp(S[i].path, path) && !strcmp(S[i].metric, metric))
            return S[i].n ? &S[i] : NULL;
    return NULL;
}

static void add(struct series *s, double v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = realloc(s->v, sizeof *s->v * (size_t)s->cap);
    }
    s->v[s->n++] = v;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile q of s (linear interpolation); NAN when empty. */
static double qt(const struct series *s, double q)
{
    if (!s || !s->n)
        return NAN;
    double *c = malloc(sizeof *c * (size_t)s->n);
    memcpy(c, s->v, sizeof *c * (size_t)s->n);
    qsort(c, (size_t)s->n, sizeof *c, dcmp);
    double pos = q * (s->n - 1), r;
    int lo = (int)pos;
    r = lo + 1 < s->n ? c[lo] + (pos - lo) * (c[lo + 1] - c[lo]) : c[lo];
    free(c);
    return r;
}
static double med(const struct series *s)
{
    return qt(s, 0.5);
}

/* ------------------------------------------------------------------ spawning */

struct path {
    const char *name;
    const char *netns;  /* NULL: ours */
    char base[256];     /* http://host:port */
    const char *proxy;  /* libcurl proxy or NULL */
    const char *socks5; /* shim's TSRUN_SOCKS5; NULL: no preload */
    int pipeline;       /* TSRUN_SOCKS5_PIPELINE */
    bool proxychains;
    bool tun; /* over the wireguard tunnel (slow: fewer reps) */
    bool ok;
};

static const char *self_exe, *shim_so, *names_path, *pc_bin, *pc_conf;

/* LD_PRELOAD and the variables the shim reads (shim/config.h). */
static bool shim_var(const char *kv)
{
    static const char *const keys[] = {
        "LD_PRELOAD=",  "TSRUN_SOCKS5=", "TSRUN_SOCKS5_PIPELINE=", "TSRUN_ROUTES=",
        "TSRUN_NAMES=", "TSRUN_DEBUG=",  "TSRUN_QUIET=",           "TSRUN_CONNECT_TIMEOUT_MS="};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strncmp(kv, keys[i], strlen(keys[i])))
            return true;
    return false;
}

/* Builds the child's environment: ours minus LD_PRELOAD/TSRUN_*, plus the
 * shim's variables when socks5 is set. */
static char **child_env(const char *socks5, int pipeline, bool preload_only)
{
    static char buf[6][PATH_MAX + 64];
    int n = 0;
    while (environ[n])
        n++;
    char **e = calloc((size_t)n + 8, sizeof *e);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!shim_var(environ[i]))
            e[k++] = environ[i];
    if (socks5 || preload_only) {
        snprintf(buf[0], sizeof buf[0], "LD_PRELOAD=%s", shim_so);
        e[k++] = buf[0];
    }
    if (socks5) {
        snprintf(buf[1], sizeof buf[1], "TSRUN_SOCKS5=%s", socks5);
        snprintf(buf[2], sizeof buf[2], "TSRUN_SOCKS5_PIPELINE=%d", pipeline);
        snprintf(buf[3], sizeof buf[3], "TSRUN_QUIET=1");
        e[k++] = buf[1];
        e[k++] = buf[2];
        e[k++] = buf[3];
        if (names_path) {
            snprintf(buf[4], sizeof buf[4], "TSRUN_NAMES=%s", names_path);
            e[k++] = buf[4];
        }
    }
    e[k] = NULL;
    return e;
}

/* Runs argv (in netns when set) with env; its stdout goes to *out (malloc'd).
 * The child gets an alarm of timeout_s seconds. Returns the exit status. */
static int run_child(char *const argv[], char **env, const char *netns, int timeout_s, char **out)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC))
        die("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        dup2(p[1], 1);
        if (netns) {
            int fd = open(netns, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || setns(fd, CLONE_NEWNET)) {
                perror("setns");
                _exit(126);
            }
        }
        alarm((unsigned)timeout_s); /* survives execve */
        execve(argv[0], argv, env);
        perror(argv[0]);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0, cap = 4096;
    char *b = malloc(cap);
    ssize_t r;
    while ((r = read(p[0], b + len, cap - len - 1)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        len += (size_t)r;
        if (cap - len < 2048)
            b = realloc(b, cap *= 2);
    }
    b[len] = 0;
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    *out = b;
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}

/* Runs one worker on path p: tsbench worker ARGS... */
static int run_worker(const struct path *p, int timeout_s, char **out, ...)
{
    char *argv[16];
    int k = 0;
    if (p && p->proxychains) {
        argv[k++] = (char *)pc_bin;
        argv[k++] = "-q";
        argv[k++] = "-f";
        argv[k++] = (char *)pc_conf;
    }
    argv[k++] = (char *)self_exe;
    argv[k++] = "worker";
    va_list ap;
    va_start(ap, out);
    const char *a;
    while ((a = va_arg(ap, const char *)) && k < 15)
        argv[k++] = (char *)a;
    va_end(ap);
    argv[k] = NULL;
    char **env = child_env(p ? p->socks5 : NULL, p ? p->pipeline : 1, false);
    int rc = run_child(argv, env, p ? p->netns : NULL, timeout_s, out);
    free(env);
    return rc;
}

static double deadline;
static bool time_left(double need_s)
{
    return now_s() + need_s < deadline;
}

/* TSB_ONLY (bed mode): the sections to run, comma-separated, of overhead,
 * exec, gai, tsrun, latency, parallel, bulk (e.g. "parallel,bulk" to check
 * the fake tailscaled's relay); unset or empty: all of them. */
static bool section(const char *name)
{
    const char *only = getenv("TSB_ONLY");
    if (!only || !*only)
        return true;
    size_t n = strlen(name);
    for (const char *p = only; (p = strstr(p, name)); p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || !p[n]))
            return true;
    return false;
}

/* ------------------------------------------------------------------ workloads */

static void bulk(struct path *ps, int np, uint64_t bytes, int reps, int tun_reps,
                 const char *url_override)
{
    char url[512], nb[32];
    snprintf(nb, sizeof nb, "%llu", (unsigned long long)bytes);
    for (int r = 0; r < reps; r++) {
        for (int j = 0; j < np; j++) {
            struct path *p = &ps[(j + r) % np]; /* rotate: no path always first */
            if (!p->ok || (p->tun && r >= tun_reps))
                continue;
            if (!time_left(p->tun ? 30 : 10)) {
                fprintf(stderr, "tsbench: bulk %s rep %d skipped: time budget\n", p->name, r);
                continue;
            }
            if (url_override)
                snprintf(url, sizeof url, "%s", url_override);
            else
                snprintf(url, sizeof url, "%s/bytes/%s", p->base, nb);
            char *out;
            int rc = run_worker(p, 100, &out, "bulk", url, p->proxy ? p->proxy : "-",
                                url_override ? "0" : nb, (char *)NULL);
            if (rc == 0)
                add(ser("bulk", p->name, "throughput", "MB/s"), atof(out));
            else
                fprintf(stderr, "tsbench: bulk %s failed (%d)\n", p->name, rc);
            fprintf(stderr, "  bulk %-12s rep %d: %s", p->name, r, rc ? "failed\n" : out);
            free(out);
        }
    }
}

static void latency(struct path *ps, int np, int conns, int batches, const char *url_override)
{
    char url[512], nb[16];
    int per = (conns + batches - 1) / batches;
    snprintf(nb, sizeof nb, "%d", per);
    for (int b = 0; b < batches; b++) {
        for (int j = 0; j < np; j++) {
            struct path *p = &ps[(j + b) % np];
            if (!p->ok)
                continue;
            if (!time_left(8)) {
                fprintf(stderr, "tsbench: latency %s batch %d skipped: time budget\n", p->name, b);
                continue;
            }
            if (url_override)
                snprintf(url, sizeof url, "%s", url_override);
            else
                snprintf(url, sizeof url, "%s/bytes/64", p->base);
            char *out;
            int rc = run_worker(p, 70, &out, "lat", url, p->proxy ? p->proxy : "-", nb,
                                url_override ? "1" : "0", (char *)NULL);
            struct series *c = ser("conn", p->name, "connect", "us");
            struct series *t = ser("conn", p->name, "first_byte", "us");
            c = ser("conn", p->name, "connect", "us"); /* t's realloc may have moved S */
            char *s = out, *e;
            for (;;) {
                double cv = strtod(s, &e);
                if (e == s)
                    break;
                s = e;
                double tv = strtod(s, &e);
                if (e == s)
                    break;
                s = e;
                add(c, cv);
                add(t, tv);
            }
            if (rc)
                fprintf(stderr, "tsbench: latency %s failed (%d)\n", p->name, rc);
            free(out);
        }
    }
}

/* connect()+close() ×n, rw round trips ×rw_n and poll() ×poll_n per mode,
 * batches interleaved plain/preload. */
static void connect_overhead(int n, int rw_n, int poll_n, int batches)
{
    char nb[16], rb[16], pb[16];
    snprintf(nb, sizeof nb, "%d", n / batches);
    snprintf(rb, sizeof rb, "%d", rw_n / batches);
    snprintf(pb, sizeof pb, "%d", poll_n / batches);
    struct path plain = {.name = "plain"},
                pre = {.name = "shim", .socks5 = "127.0.0.1:1055", .pipeline = 1};
    for (int b = 0; b < batches && time_left(6); b++) {
        for (int m = 0; m < 2; m++) {
            struct path *p = (b & 1) ^ m ? &pre : &plain;
            char *out;
            if (run_worker(p, 30, &out, "connect", nb, (char *)NULL) == 0)
                add(ser("connect", p == &pre ? "preload" : "plain", "per_op", "ns"), atof(out));
            free(out);
            if (run_worker(p, 30, &out, "connect-refused", nb, (char *)NULL) == 0)
                add(ser("connect refused", p == &pre ? "preload" : "plain", "per_op", "ns"),
                    atof(out));
            free(out);
            if (run_worker(p, 30, &out, "rw", rb, (char *)NULL) == 0)
                add(ser("rw", p == &pre ? "preload" : "plain", "per_op", "ns"), atof(out));
            free(out);
            if (run_worker(p, 30, &out, "poll", pb, (char *)NULL) == 0)
                add(ser("poll", p == &pre ? "preload" : "plain", "per_op", "ns"), atof(out));
            free(out);
        }
    }
}

/* The hooks' cost measured inside one process (bench/hookcost.c): runs
 * workers, each the median ratio of `chunks` alternating chunk pairs,
 * preloaded and plain (the control) alternately. */
static void hook_overhead(int runs, int chunks)
{
    struct path plain = {.name = "plain"},
                pre = {.name = "shim", .socks5 = "127.0.0.1:1055", .pipeline = 1};
    const char *loops[2] = {"rw", "poll"}, *per[2] = {"100", "1000"};
    char nc[16];
    snprintf(nc, sizeof nc, "%d", chunks);
    for (int r = 0; r < runs && time_left(6); r++)
        for (int m = 0; m < 2; m++) {
            struct path *p = (r & 1) ^ m ? &pre : &plain;
            for (int k = 0; k < 2; k++) {
                char *out, wl[32];
                snprintf(wl, sizeof wl, "hookcost %s", loops[k]);
                if (run_worker(p, 30, &out, "hookcost", loops[k], nc, per[k], (char *)NULL) == 0)
                    add(ser(wl, p == &pre ? "preload" : "plain", "ratio", "x"), atof(out));
                free(out);
            }
        }
}

/* ------------------------------------------------------------------ parallel
 * Many connects at once to a peer whose dial takes TSB_DIAL_DELAY_MS (the
 * fake tailscaled's FAKE_TS_DIAL_DELAY rule for TSB_ASYNC_PORT), through the
 * shim (LD_PRELOAD), the app's own SOCKS5 client where it has one (native),
 * and the wireguard-go tunnel (tun: no added delay, no sch_netem here). */

struct async_path {
    const char *name;
    const char *netns;  /* tun: the bench client netns */
    const char *socks5; /* shim: TSRUN_SOCKS5 */
    const char *proxy;  /* native: curl --socks5-hostname */
    const char *host;   /* where the URL points */
    bool ok;
};

/* Runs argv on path p (preloaded when p->socks5); returns the exit status,
 * *secs the wall time, *out the stdout (malloc'd). */
static int run_async(const struct async_path *p, char *const argv[], int timeout_s, double *secs,
                     char **out)
{
    char **env = child_env(p->socks5, 1, false);
    double t0 = now_s();
    int rc = run_child(argv, env, p->netns, timeout_s, out);
    *secs = now_s() - t0;
    free(env);
    return rc;
}

/* "total_ms=.. max_lag_ms=.. ok=.. errors=.." (tests/clients) -> series. */
static void add_lag_line(const char *wl, const char *path, const char *line, int want_ok)
{
    const char *t = strstr(line, "total_ms="), *l = strstr(line, "max_lag_ms="),
               *o = strstr(line, " ok=");
    if (!t || !l || !o || atoi(o + 4) != want_ok) {
        fprintf(stderr, "tsbench: %s %s: %s", wl, path, *line ? line : "(no output)\n");
        return;
    }
    add(ser(wl, path, "total", "ms"), atof(t + 9));
    add(ser(wl, path, "lag", "ms"), atof(l + 11));
}

static struct async_path *par_paths; /* the parallel rows' paths, for the table */
static int par_np, par_delay_ms;

/* IMPORTANT: every path runs the same client command, warm-ups included:
 * one connection, then `bursts` unmeasured bursts of the measured size
 * (tests/clients --warmup-bursts), then the measured burst. */
static void parallel_rows(struct async_path *ps, int np, const char *clients, int port, int reps,
                          int bursts, const char *blackhole, const char *blackhole_tun_host)
{
    char js[PATH_MAX], py[PATH_MAX], url[128], wb[16];
    snprintf(js, sizeof js, "%s/loop_lag.js", clients);
    snprintf(py, sizeof py, "%s/asyncio_lag.py", clients);
    snprintf(wb, sizeof wb, "%d", bursts);
    for (int r = 0; r < reps && time_left(40); r++) {
        for (int j = 0; j < np; j++) {
            struct async_path *p = &ps[(j + r) % np];
            if (!p->ok)
                continue;
            snprintf(url, sizeof url, "http://%s:%d/", p->host, port);
            double dt;
            char *out;
            if (!p->proxy) { /* node and asyncio have no SOCKS5 client of their own */
                static const char *const ns[] = {"20", "100"};
                for (int k = 0; k < 2; k++) {
                    char wl[32];
                    snprintf(wl, sizeof wl, "node %s", ns[k]);
                    char *a[] = {"/usr/bin/env",    "node", js,  "--n", (char *)ns[k],
                                 "--warmup-bursts", wb,     url, NULL};
                    run_async(p, a, 60, &dt, &out);
                    add_lag_line(wl, p->name, out, atoi(ns[k]));
                    free(out);
                }
                char *a[] = {"/usr/bin/env",    "python3", py,  "--n", "50",
                             "--warmup-bursts", wb,        url, NULL};
                run_async(p, a, 60, &dt, &out);
                add_lag_line("asyncio 50", p->name, out, 50);
                free(out);
            }
            /* curl --parallel over 20 URLs: one argv, 20 × "-o /dev/null URL". */
            char *a[80], urls[20][160];
            int k = 0;
            a[k++] = "/usr/bin/env";
            a[k++] = "curl";
            a[k++] = "-sS";
            a[k++] = "--parallel";
            a[k++] = "--parallel-immediate";
            a[k++] = "--parallel-max";
            a[k++] = "20";
            /* --noproxy '*' would also turn --socks5-hostname off. */
            a[k++] = p->proxy ? "--socks5-hostname" : "--noproxy";
            a[k++] = p->proxy ? (char *)p->proxy : "*";
            for (int u = 0; u < 20; u++) {
                snprintf(urls[u], sizeof urls[u], "%s%d", url, u);
                a[k++] = "-o";
                a[k++] = "/dev/null";
                a[k++] = urls[u];
            }
            a[k] = NULL;
            int rc = run_async(p, a, 60, &dt, &out);
            if (rc == 0)
                add(ser("curl parallel 20", p->name, "total", "ms"), dt * 1000);
            else
                fprintf(stderr, "tsbench: curl --parallel %s: exit %d\n", p->name, rc);
            free(out);
        }
    }
    /* curl -m 3 against a proxy that accepts and never answers (tun: a
     * tunnelled address nobody answers); once per path. */
    for (int j = 0; j < np && blackhole; j++) {
        struct async_path *p = &ps[j];
        if (!p->ok || !time_left(15))
            continue;
        struct async_path bp = *p;
        if (p->socks5)
            bp.socks5 = blackhole;
        if (p->proxy)
            bp.proxy = blackhole;
        if (p->netns && !blackhole_tun_host)
            continue;
        snprintf(url, sizeof url, "http://%s:%d/", p->netns ? blackhole_tun_host : p->host, port);
        char *a[] = {"/usr/bin/env", "curl",      "-sS", "-m", "3", "--noproxy", "*",
                     "-o",           "/dev/null", url,   NULL};
        if (bp.proxy) {
            a[5] = "--socks5-hostname";
            a[6] = (char *)bp.proxy;
        }
        double dt;
        char *out;
        int rc = run_async(&bp, a, 30, &dt, &out);
        add(ser("curl -m 3 blackhole", p->name, "exit", "code"), rc);
        add(ser("curl -m 3 blackhole", p->name, "elapsed", "s"), dt);
        free(out);
    }
}

static int spawn_wait(char *const argv[], char **env)
{
    pid_t pid;
    int st;
    if (posix_spawn(&pid, argv[0], NULL, NULL, argv, env))
        return -1;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* posix_spawn+wait of argv ×n; returns µs per run, or NAN. */
static double spawn_batch(char *const argv[], char **env, int n)
{
    double t0 = now_s(), t_end = t0 + 20;
    int i;
    for (i = 0; i < n && now_s() < t_end; i++)
        if (spawn_wait(argv, env) != 0)
            return NAN;
    return (now_s() - t0) * 1e6 / i;
}

/* The same environment with LD_PRELOAD=so (NULL: none). */
static char **env_preload(const char *so)
{
    static char buf[4][PATH_MAX + 16];
    static int nb;
    char **e = child_env(NULL, 1, false);
    if (so) {
        int k = 0;
        while (e[k])
            k++;
        char *b = buf[nb++ & 3];
        snprintf(b, PATH_MAX + 16, "LD_PRELOAD=%s", so);
        e[k] = b; /* child_env leaves room */
        e[k + 1] = NULL;
    }
    return e;
}

/* /bin/true without a preload, with the shim, and for scale with an empty
 * .so (the floor of any LD_PRELOAD) and with proxychains' library.
 * IMPORTANT: interleaved per exec, not per batch (A B C D, B C D A, ...):
 * on a shared 2-core machine a batch-sized hiccup would land on one mode;
 * one spawn each is short enough that drift hits all modes alike. Samples
 * are µs per spawn+wait. */
static void exec_overhead(int n, const char *empty_so, const char *pc_so)
{
    char *argv[] = {"/bin/true", NULL};
    const char *names[4] = {"plain", "preload", "empty-so", "proxychains-so"};
    const char *sos[4] = {NULL, shim_so, empty_so, pc_so};
    char **envs4[4];
    int nm = 0;
    for (int m = 0; m < 4; m++) {
        if (m >= 2 && (!sos[m] || access(sos[m], R_OK)))
            break;
        envs4[nm] = env_preload(sos[m]);
        spawn_batch(argv, envs4[nm], 10); /* warm the page cache */
        nm++;
    }
    double t_end = now_s() + 30;
    for (int i = 0; i < n && time_left(5) && now_s() < t_end; i++)
        for (int j = 0; j < nm; j++) {
            int m = (i + j) % nm;
            double t0 = now_s();
            if (spawn_wait(argv, envs4[m]) == 0) /* ser(): S may move, no cached pointers */
                add(ser("exec", names[m], "per_exec", "us"), (now_s() - t0) * 1e6);
        }
    for (int m = 0; m < nm; m++)
        free(envs4[m]);
}

/* `tsrun --socks5 GW true` against the bed's warm (external, userspace)
 * daemon (TSRUN_SOCKET) vs `true`. */
static void tsrun_overhead(const char *tsrun, const char *gw, int n, int batches)
{
    char *a_true[] = {"/bin/true", NULL};
    char *a_ts[] = {(char *)tsrun, "--socks5", (char *)gw, "true", NULL};
    char **env = child_env(NULL, 1, false);
    if (spawn_wait(a_ts, env) != 0 || spawn_wait(a_ts, env) != 0) { /* warm */
        fprintf(stderr, "tsbench: `%s true` failed: tsrun row n/a\n", tsrun);
        free(env);
        return;
    }
    for (int b = 0; b < batches && time_left(6); b++)
        for (int m = 0; m < 2; m++) {
            bool ts = (b & 1) ^ m;
            double v = spawn_batch(ts ? a_ts : a_true, env, n / batches);
            if (!isnan(v))
                add(ser("tsrun", ts ? "tsrun true" : "true", "per_run", "us"), v);
        }
    free(env);
}

static void gai_overhead(const char *names[3], const char *labels[3], int n, int batches)
{
    char nb[16];
    snprintf(nb, sizeof nb, "%d", n);
    struct path plain = {.name = "plain"},
                pre = {.name = "shim", .socks5 = "127.0.0.1:1055", .pipeline = 1};
    for (int b = 0; b < batches && time_left(6); b++)
        for (int k = 0; k < 3; k++)
            for (int m = 0; m < 2; m++) {
                struct path *p = (b & 1) ^ m ? &pre : &plain;
                char *out, wl[32];
                snprintf(wl, sizeof wl, "gai %s", labels[k]);
                if (run_worker(p, 20, &out, "gai", names[k], nb, (char *)NULL) == 0) {
                    char *e;
                    double v = strtod(out, &e);
                    add(ser(wl, p == &pre ? "preload" : "plain", "per_call", "ns"), v);
                    add(ser(wl, p == &pre ? "preload" : "plain", "resolved", "bool"),
                        strtod(e, NULL));
                }
                free(out);
            }
}

/* ------------------------------------------------------------------ report */

static FILE *md;

static void cell(char *b, size_t n, double v)
{
    if (isnan(v))
        snprintf(b, n, "n/a");
    else if (fabs(v) >= 100)
        snprintf(b, n, "%.0f", v);
    else if (fabs(v) >= 10)
        snprintf(b, n, "%.1f", v);
    else
        snprintf(b, n, "%.2f", v);
}

static double ratio(double a, double b)
{
    return (isnan(a) || isnan(b) || b == 0) ? NAN : a / b;
}

static void rcell(char *b, size_t n, double r)
{
    if (isnan(r))
        snprintf(b, n, "–");
    else
        snprintf(b, n, "%.3f", r);
}

/* Which path is this path's "direct" and "native" reference. */
static const char *ref_direct(const char *p)
{
    return strstr(p, "tun") ? "tun" : "direct";
}
static const char *ref_native(const char *p)
{
    return strstr(p, "tun") ? "native-tun" : "native";
}

static void table_bulk(struct path *ps, int np, uint64_t bytes)
{
    if (bytes)
        fprintf(
            md,
            "\n### Bulk download (%llu MiB per transfer, MB/s = 10^6 B/s, higher is better)\n\n",
            (unsigned long long)(bytes >> 20));
    else
        fprintf(md, "\n### Bulk download (GET of --url, MB/s = 10^6 B/s, higher is better)\n\n");
    fprintf(md,
            "| path | median MB/s | p25–p75 | n | × direct (or tun) | × native (same path) |\n");
    fprintf(md, "|---|---:|---|---:|---:|---:|\n");
    for (int i = 0; i < np; i++) {
        struct series *s = find("bulk", ps[i].name, "throughput");
        char m[32], a[32], b[32], r1[32], r2[32];
        cell(m, sizeof m, med(s));
        cell(a, sizeof a, qt(s, .25));
        cell(b, sizeof b, qt(s, .75));
        rcell(r1, sizeof r1,
              ratio(med(s), med(find("bulk", ref_direct(ps[i].name), "throughput"))));
        rcell(r2, sizeof r2,
              ratio(med(s), med(find("bulk", ref_native(ps[i].name), "throughput"))));
        if (!s)
            fprintf(md, "| %s | n/a | | 0 | | |\n", ps[i].name);
        else
            fprintf(md, "| %s | %s | %s–%s | %d | %s | %s |\n", ps[i].name, m, a, b, s->n, r1, r2);
    }
}

static void table_conn(struct path *ps, int np, int conns)
{
    fprintf(md, "\n### %d sequential new connections, one small GET each (µs, lower is better)\n\n",
            conns);
    fprintf(md, "| path | connect p50 | connect p99 | first byte p50 | first byte p25–p75 | first "
                "byte p99 | n |"
                " × direct (or tun) | × native (same path) |\n");
    fprintf(md, "|---|---:|---:|---:|---|---:|---:|---:|---:|\n");
    for (int i = 0; i < np; i++) {
        struct series *c = find("conn", ps[i].name, "connect"),
                      *t = find("conn", ps[i].name, "first_byte");
        if (!t) {
            fprintf(md, "| %s | n/a | | | | | 0 | | |\n", ps[i].name);
            continue;
        }
        char c50[32], c99[32], t50[32], t25[32], t75[32], t99[32], r1[32], r2[32];
        cell(c50, sizeof c50, med(c));
        cell(c99, sizeof c99, qt(c, .99));
        cell(t50, sizeof t50, med(t));
        cell(t25, sizeof t25, qt(t, .25));
        cell(t75, sizeof t75, qt(t, .75));
        cell(t99, sizeof t99, qt(t, .99));
        rcell(r1, sizeof r1,
              ratio(med(t), med(find("conn", ref_direct(ps[i].name), "first_byte"))));
        rcell(r2, sizeof r2,
              ratio(med(t), med(find("conn", ref_native(ps[i].name), "first_byte"))));
        fprintf(md, "| %s | %s | %s | %s | %s–%s | %s | %d | %s | %s |\n", ps[i].name, c50, c99,
                t50, t25, t75, t99, t->n, r1, r2);
    }
    fprintf(md,
            "\n`connect` is libcurl's CURLINFO_CONNECT_TIME_T: with a proxy it ends when the TCP "
            "connection"
            " to the proxy is up (native) or when curl's poll() sees the socket writable (shim:"
            " connect() returns EINPROGRESS and the gate waits for the SOCKS5 reply), so compare"
            " paths on `first byte`"
            " (CURLINFO_STARTTRANSFER_TIME_T), which includes every handshake. Ratios use first "
            "byte p50.\n");
}

/* Paired overhead: the i-th preload batch against the i-th plain one. */
static double overhead(const char *wl, const char *a, const char *b, const char *metric, double *lo,
                       double *hi)
{
    struct series *x = find(wl, a, metric), *y = find(wl, b, metric);
    *lo = *hi = NAN;
    if (!x || !y)
        return NAN;
    struct series r = {0};
    int n = x->n < y->n ? x->n : y->n;
    for (int i = 0; i < n; i++)
        add(&r, y->v[i] / x->v[i] - 1);
    double m = med(&r);
    *lo = qt(&r, .25);
    *hi = qt(&r, .75);
    free(r.v);
    return m;
}

static void overhead_row(const char *label, const char *wl, const char *a, const char *b,
                         const char *metric, const char *unit)
{
    struct series *x = find(wl, a, metric), *y = find(wl, b, metric);
    char m1[32], m2[32], s1[80], s2[80], l1[32], h1[32], l2[32], h2[32];
    double lo, hi, o = overhead(wl, a, b, metric, &lo, &hi);
    struct series *ra = find(wl, a, "resolved");
    if (ra && med(ra) < 0.5)
        o = NAN; /* fails without the shim: no overhead to speak of */
    cell(m1, sizeof m1, med(x));
    cell(m2, sizeof m2, med(y));
    cell(l1, sizeof l1, qt(x, .25));
    cell(h1, sizeof h1, qt(x, .75));
    cell(l2, sizeof l2, qt(y, .25));
    cell(h2, sizeof h2, qt(y, .75));
    snprintf(s1, sizeof s1, "%s–%s", l1, h1);
    snprintf(s2, sizeof s2, "%s–%s", l2, h2);
    if (isnan(o))
        fprintf(md, "| %s | %s %s | %s | %s %s | %s | n/a | |\n", label, m1, unit, s1, m2, unit,
                s2);
    else
        fprintf(md, "| %s | %s %s | %s | %s %s | %s | %+.1f %% | %+.1f…%+.1f %% |\n", label, m1,
                unit, s1, m2, unit, s2, o * 100, lo * 100, hi * 100);
}

static void target(const char *what, double v, const char *fmt, double limit, int ge)
{
    char b[64];
    if (isnan(v)) {
        fprintf(md, "| %s | n/a | MISS (not measured) |\n", what);
        return;
    }
    snprintf(b, sizeof b, fmt, v);
    bool pass = ge ? v >= limit : v <= limit;
    fprintf(md, "| %s | %s | %s |\n", what, b, pass ? "PASS" : "MISS");
}

/* Median of a_i / b_i over the i-th samples of two series (adjacent in
 * time: same rep), or over the medians of consecutive slices of `per`
 * samples (same latency batch). */
static double paired_q(const struct series *a, const struct series *b, int per, double q)
{
    if (!a || !b)
        return NAN;
    struct series r = {0}, x = {0}, y = {0};
    int n = (a->n < b->n ? a->n : b->n) / per;
    for (int i = 0; i < n; i++) {
        x.v = a->v + i * per, x.n = per;
        y.v = b->v + i * per, y.n = per;
        add(&r, med(&x) / med(&y));
    }
    double m = qt(&r, q);
    free(r.v);
    return m;
}
static double paired(const struct series *a, const struct series *b, int per)
{
    return paired_q(a, b, per, 0.5);
}

/* A ratio target with the p25–p75 of its pairs, so noise is visible. */
static void ratio_target(const char *what, const struct series *a, const struct series *b, int per,
                         double limit, int ge)
{
    double m = paired(a, b, per);
    if (isnan(m)) {
        fprintf(md, "| %s | n/a | MISS (not measured) |\n", what);
        return;
    }
    bool pass = ge ? m >= limit : m <= limit;
    fprintf(md, "| %s | %.3f (pairs p25–p75 %.3f–%.3f, n=%d) | %s |\n", what, m,
            paired_q(a, b, per, .25), paired_q(a, b, per, .75), (a->n < b->n ? a->n : b->n) / per,
            pass ? "PASS" : "MISS");
}

/* The in-process hook cost (hook_overhead): the preloaded workers' median
 * ratio, with the plain workers' (both sets are libc's: the method's own
 * error) beside it. */
static void hook_target(const char *what, const char *loop)
{
    char wl[32];
    snprintf(wl, sizeof wl, "hookcost %s", loop);
    struct series *pre = find(wl, "preload", "ratio"), *ctl = find(wl, "plain", "ratio");
    if (!pre || !ctl) {
        fprintf(md, "| %s | n/a | MISS (not measured) |\n", what);
        return;
    }
    double m = (med(pre) - 1) * 100;
    fprintf(md,
            "| %s | %+.2f %% (one process, wrappers vs libc's own; runs p25–p75 %+.2f…%+.2f, n=%d;"
            " control without the shim %+.2f %%) | %s |\n",
            what, m, (qt(pre, .25) - 1) * 100, (qt(pre, .75) - 1) * 100, pre->n,
            (med(ctl) - 1) * 100, m <= 1 ? "PASS" : "MISS");
}

static void table_parallel(struct async_path *ps, int np, int delay_ms)
{
    fprintf(md,
            "\n### Parallel connects, the peer's dial taking %d ms (fake tailscaled; tun: no added"
            " delay) — median total ms / worst timer lag ms\n\n",
            delay_ms);
    fprintf(md, "| workload |");
    for (int j = 0; j < np; j++)
        fprintf(md, " %s |", ps[j].name);
    fprintf(md, " shim ÷ native | issue 11 goal (shim) |\n|---|");
    for (int j = 0; j <= np; j++)
        fprintf(md, "---:|");
    fprintf(md, "---|\n");
    static const char *const wls[] = {"node 20", "node 100", "asyncio 50"};
    static const char *const goals[] = {"≤ 150 / ≤ 10", "≤ 300 / ≤ 50", "≤ 150 / ≤ 10"};
    for (int w = 0; w < 3; w++) {
        fprintf(md, "| %s concurrent (total / lag) |", wls[w]);
        for (int j = 0; j < np; j++) {
            struct series *t = find(wls[w], ps[j].name, "total"),
                          *l = find(wls[w], ps[j].name, "lag");
            if (!t || !l)
                fprintf(md, " n/a |");
            else
                fprintf(md, " %.0f / %.0f (n=%d) |", med(t), med(l), t->n);
        }
        fprintf(md, " – | %s |\n", goals[w]);
    }
    fprintf(md, "| curl --parallel --parallel-immediate, 20 URLs (total) |");
    for (int j = 0; j < np; j++) {
        struct series *t = find("curl parallel 20", ps[j].name, "total");
        if (!t)
            fprintf(md, " n/a |");
        else
            fprintf(md, " %.0f (n=%d) |", med(t), t->n);
    }
    double rr = paired(find("curl parallel 20", "shim", "total"),
                       find("curl parallel 20", "native", "total"), 1);
    char rb[32];
    rcell(rb, sizeof rb, rr);
    fprintf(md, " %s | ≤ 1.2× native |\n", rb);
    fprintf(md, "| curl -m 3, the proxy accepts and never answers (exit, s) |");
    for (int j = 0; j < np; j++) {
        struct series *e = find("curl -m 3 blackhole", ps[j].name, "exit"),
                      *t = find("curl -m 3 blackhole", ps[j].name, "elapsed");
        if (!e || !t)
            fprintf(md, " n/a |");
        else
            fprintf(md, " exit %.0f after %.2f s |", med(e), med(t));
    }
    fprintf(md, " – | exit 28 after ≤ 3.3 s |\n");
    fprintf(md, "\nnative: the app's own SOCKS5 client (curl `--socks5-hostname`; node and asyncio "
                "have none). tun: the wireguard-go path in the bench client netns, straight to "
                "the peer (blackhole: a tunnelled address the peer drops). Lag: the worst "
                "lateness of a 1 ms timer while the connects run (tests/clients).\n");
}

static void write_outputs(struct path *ps, int np, uint64_t bytes, int conns, int per, bool bed)
{
    char fn[PATH_MAX];
    snprintf(fn, sizeof fn, "%s/results.csv", outdir);
    FILE *csv = fopen(fn, "w");
    if (!csv)
        die("%s: %s", fn, strerror(errno));
    fprintf(csv, "workload,path,metric,unit,index,value\n");
    for (int i = 0; i < nS; i++)
        for (int j = 0; j < S[i].n; j++)
            fprintf(csv, "%s,%s,%s,%s,%d,%.3f\n", S[i].wl, S[i].path, S[i].metric, S[i].unit, j,
                    S[i].v[j]);
    fclose(csv);

    snprintf(fn, sizeof fn, "%s/table.md", outdir);
    md = fopen(fn, "w");
    if (!md)
        die("%s: %s", fn, strerror(errno));
    fprintf(md, "## Performance\n");
    table_bulk(ps, np, bytes);
    table_conn(ps, np, conns);
    if (bed && par_np)
        table_parallel(par_paths, par_np, par_delay_ms);
    if (bed) {
        fprintf(md, "\n### The shim's own cost on non-tailnet work (median of batches (exec: of "
                    "single runs);"
                    " overhead = median of the ratios of adjacent pairs, p25…p75)\n\n");
        fprintf(md, "| workload | without shim | p25–p75 | with LD_PRELOAD | p25–p75 | overhead | "
                    "spread |\n");
        fprintf(md, "|---|---:|---|---:|---|---:|---|\n");
        overhead_row("socket+connect()+close(), 127.0.0.1 listener", "connect", "plain", "preload",
                     "per_op", "ns");
        overhead_row("… socket+connect()+close(), closed 127.0.0.1 port (ECONNREFUSED: the hook's "
                     "CPU cost, less TCP)",
                     "connect refused", "plain", "preload", "per_op", "ns");
        overhead_row("write/read + send/recv 64 B round trip, loopback TCP pair", "rw", "plain",
                     "preload", "per_op", "ns");
        overhead_row("poll() of a loopback TCP pair (2 fds ready, timeout 0)", "poll", "plain",
                     "preload", "per_op", "ns");
        overhead_row("posix_spawn+wait of /bin/true", "exec", "plain", "preload", "per_exec", "µs");
        overhead_row("… for scale: an empty preloaded .so (any LD_PRELOAD's floor)", "exec",
                     "plain", "empty-so", "per_exec", "µs");
        overhead_row("… for scale: proxychains' libproxychains.so.4 preloaded", "exec", "plain",
                     "proxychains-so", "per_exec", "µs");
        const char *gl[] = {"gai tailnet", "gai hosts", "gai localhost"};
        const char *gt[] = {"getaddrinfo(tailnet name, db.tail1a2b3.ts.net)",
                            "getaddrinfo(/etc/hosts name)", "getaddrinfo(localhost)"};
        for (int k = 0; k < 3; k++)
            overhead_row(gt[k], gl[k], "plain", "preload", "per_call", "ns");
        overhead_row("`tsrun true` (warm daemon) vs `true`", "tsrun", "true", "tsrun true",
                     "per_run", "µs");
        struct series *r0 = find("gai tailnet", "plain", "resolved"),
                      *r1 = find("gai tailnet", "preload", "resolved");
        fprintf(md,
                "\nThe tailnet name resolves %s without the shim and %s with it (from TSRUN_NAMES);"
                " without the shim the row is the cost of a failed lookup (DNS to a closed "
                "loopback port).\n",
                r0 && med(r0) > 0.5 ? "too" : "not at all",
                r1 && med(r1) > 0.5 ? "locally" : "NOT");
    }

    fprintf(md, "\n### Targets (ratios from this run)\n\n");
    fprintf(
        md,
        "Ratios are medians of paired ratios: rep i of one path against rep i of the other (bulk),"
        " batch i against batch i (latency, %d connections a batch), so drift cancels.\n\n",
        per);
    fprintf(md, "| target | measured | verdict |\n|---|---:|---|\n");
    ratio_target("shim/native bulk throughput ≥ 0.99", find("bulk", "shim", "throughput"),
                 find("bulk", "native", "throughput"), 1, 0.99, 1);
    if (bed) {
        double st =
            paired(find("bulk", "shim-tun", "throughput"), find("bulk", "tun", "throughput"), 1);
        double sl =
            paired(find("conn", "shim-tun", "first_byte"), find("conn", "tun", "first_byte"), per);
        char b[128];
        if (isnan(st) && isnan(sl))
            snprintf(b, sizeof b, "n/a");
        else
            snprintf(b, sizeof b, "throughput ×%.3f, first byte p50 ×%.3f", st, sl);
        fprintf(md, "| shim-over-tun / tun (the SOCKS hop's cost; reported) | %s | %s |\n", b,
                isnan(st) && isnan(sl) ? "n/a" : "reported");
    }
    ratio_target("shim/native per-connection latency (first byte p50) ≤ 1.05",
                 find("conn", "shim", "first_byte"), find("conn", "native", "first_byte"), per,
                 1.05, 0);
    if (bed) {
        ratio_target("shim/proxychains per-connection latency (first byte p50) ≤ 0.9",
                     find("conn", "shim", "first_byte"), find("conn", "proxychains", "first_byte"),
                     per, 0.9, 0);
        double lo, hi;
        double co = overhead("connect", "plain", "preload", "per_op", &lo, &hi);
        target("non-tailnet connect() overhead ≤ 2 %", co * 100, "%+.2f %%", 2, 0);
        hook_target("non-tailnet read/write loop overhead ≤ 1 %", "rw");
        hook_target("non-tailnet poll loop overhead ≤ 1 %", "poll");
        double ro = overhead("rw", "plain", "preload", "per_op", &lo, &hi);
        fprintf(md,
                "| … read/write loop, preloaded process vs plain process (reported) | %+.2f %% "
                "(p25–p75 %+.1f…%+.1f) | reported |\n",
                ro * 100, lo * 100, hi * 100);
        double po = overhead("poll", "plain", "preload", "per_op", &lo, &hi);
        fprintf(md,
                "| … poll loop, preloaded process vs plain process (reported) | %+.2f %% "
                "(p25–p75 %+.1f…%+.1f) | reported |\n",
                po * 100, lo * 100, hi * 100);
        double eo = overhead("exec", "plain", "preload", "per_exec", &lo, &hi);
        target("preload start-up overhead ≤ 3 %", eo * 100, "%+.2f %%", 3, 0);
        double tt =
            med(find("tsrun", "tsrun true", "per_run")) - med(find("tsrun", "true", "per_run"));
        target("warm `tsrun true` adds ≤ 5 ms", tt / 1000, "%+.2f ms", 5, 0);
    }
    fclose(md);

    /* For gnuplot: path, bulk MB/s median, p25, p75, first byte p50 (ms), p25, p75. */
    snprintf(fn, sizeof fn, "%s/chart.dat", outdir);
    FILE *d = fopen(fn, "w");
    if (!d)
        die("%s: %s", fn, strerror(errno));
    for (int i = 0; i < np; i++) {
        struct series *s = find("bulk", ps[i].name, "throughput"),
                      *t = find("conn", ps[i].name, "first_byte");
        if (!s && !t)
            continue;
        fprintf(d, "\"%s\" %.3f %.3f %.3f %.4f %.4f %.4f\n", ps[i].name, s ? med(s) : 0,
                s ? qt(s, .25) : 0, s ? qt(s, .75) : 0, t ? med(t) / 1000 : 0,
                t ? qt(t, .25) / 1000 : 0, t ? qt(t, .75) / 1000 : 0);
    }
    fclose(d);
}

/* ------------------------------------------------------------------ main */

static const char *envs(const char *k, const char *def)
{
    const char *v = getenv(k);
    return v && *v ? v : def;
}

/* True when we are in the host's netns: the one bench/run started in
 * (TSB_HOST_NS), or init's when that is readable. */
static bool in_host_netns(void)
{
    char a[64] = "", b[64] = "";
    const char *host = getenv("TSB_HOST_NS");
    if (readlink("/proc/self/ns/net", b, sizeof b - 1) < 0 || !host)
        return true;
    if (!strcmp(host, b))
        return true;
    return readlink("/proc/1/ns/net", a, sizeof a - 1) > 0 && !strcmp(a, b);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: tsbench --bed   (run by bench/run inside its namespaces)\n"
            "       tsbench --url http://100.x.y.z:PORT/FILE [--socks5 127.0.0.1:1055]\n"
            "               [--shim PATH] [--names MAP] [--reps N] [--conns N] [--out DIR] "
            "[--no-direct]\n"
            "  --shim   libtsshim.so (default: next to tsbench)\n"
            "  --names  the shim's name map (TSRUN_NAMES) when the URL has a tailnet name\n"
            "  --reps   bulk downloads per path (3); --conns new connections per path (500)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "worker")) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        setvbuf(stdout, NULL, _IOLBF, 0);
        return worker_main(argc, argv);
    }
    static char exe[PATH_MAX], shim_buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        die("readlink /proc/self/exe");
    exe[n] = 0;
    self_exe = exe;
    /* Default shim: next to tsbench (build/libtsshim.so). */
    snprintf(shim_buf, sizeof shim_buf, "%s", exe);
    char *sl = strrchr(shim_buf, '/');
    snprintf(sl + 1, sizeof shim_buf - (size_t)(sl + 1 - shim_buf), "libtsshim.so");
    shim_so = shim_buf;

    const char *url = NULL, *socks5 = "127.0.0.1:1055";
    bool bed = false, try_direct = true;
    int reps = 3, conns = 500;
    outdir = ".";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--bed"))
            bed = true;
        else if (!strcmp(a, "--no-direct"))
            try_direct = false;
        else if (!v)
            usage();
        else if (!strcmp(a, "--url"))
            url = v, i++;
        else if (!strcmp(a, "--socks5"))
            socks5 = v, i++;
        else if (!strcmp(a, "--shim"))
            shim_so = v, i++;
        else if (!strcmp(a, "--names"))
            names_path = v, i++;
        else if (!strcmp(a, "--reps"))
            reps = atoi(v), i++;
        else if (!strcmp(a, "--conns"))
            conns = atoi(v), i++;
        else if (!strcmp(a, "--out"))
            outdir = v, i++;
        else
            usage();
    }
    if (bed == !!url)
        usage();
    if (access(shim_so, R_OK))
        die("%s: %s (build it with make, or pass --shim)", shim_so, strerror(errno));
    if (reps < 1 || reps > 50 || conns < 1 || conns > 10000)
        die("--reps 1..50, --conns 1..10000");
    curl_global_init(CURL_GLOBAL_DEFAULT);

    static char gw_proxy[128], tun_proxy[128];
    struct path ps[8];
    int np = 0;
    uint64_t bytes = 0;
    int batches = 10; /* latency batches */
    memset(ps, 0, sizeof ps);

    if (bed) {
        /* IMPORTANT: the bed mode sends traffic to 100.x and to the veth
         * addresses; those exist only in bench/run's namespaces. */
        if (!getenv("BED_INSIDE") || !getenv("TSB_NS_CLI") || in_host_netns())
            die("--bed runs only inside bench/run's namespaces (use `make bench`)");
        deadline = now_s() + atof(envs("TSB_BUDGET_S", "230"));
        outdir = envs("TSB_OUT", ".");
        names_path = getenv("TSB_NAMES");
        bytes = strtoull(envs("TSB_BULK_MB", "256"), NULL, 10) << 20;
        reps = atoi(envs("TSB_BULK_REPS", "21"));
        int tun_reps = atoi(envs("TSB_TUN_REPS", "3"));
        conns = atoi(envs("TSB_CONNS", "500"));
        const char *peer = envs("TSB_PEER", "100.88.12.5"), *cli = getenv("TSB_NS_CLI");
        const char *gw = envs("TSB_GW", "127.0.0.1:1055"), *tsocks = getenv("TSB_TUN_SOCKS");
        bool tun = atoi(envs("TSB_TUN", "0")) == 1;
        pc_bin = getenv("TSB_PROXYCHAINS");
        pc_conf = getenv("TSB_PROXYCHAINS_CONF");
        snprintf(gw_proxy, sizeof gw_proxy, "socks5h://%s", gw);
        snprintf(tun_proxy, sizeof tun_proxy, "socks5h://%s", tsocks ? tsocks : "-");
        struct path *p;
        p = &ps[np++], *p = (struct path){.name = "direct", .netns = cli, .ok = true};
        snprintf(p->base, sizeof p->base, "http://%s", envs("TSB_DIRECT_HOST", "169.254.77.2"));
        p = &ps[np++], *p = (struct path){.name = "shim", .socks5 = gw, .pipeline = 1, .ok = true};
        snprintf(p->base, sizeof p->base, "http://%s", peer);
        p = &ps[np++], *p = (struct path){.name = "native", .proxy = gw_proxy, .ok = true};
        snprintf(p->base, sizeof p->base, "http://%s", peer);
        p = &ps[np++], *p = (struct path){.name = "proxychains",
                                          .proxychains = true,
                                          .ok = pc_bin && pc_conf && !access(pc_bin, X_OK)};
        snprintf(p->base, sizeof p->base, "http://%s", peer);
        p = &ps[np++], *p = (struct path){.name = "tun", .netns = cli, .tun = true, .ok = tun};
        snprintf(p->base, sizeof p->base, "http://%s", peer);
        p = &ps[np++], *p = (struct path){.name = "shim-tun",
                                          .netns = cli,
                                          .socks5 = tsocks,
                                          .pipeline = 0,
                                          .tun = true,
                                          .ok = tun && tsocks};
        snprintf(p->base, sizeof p->base, "http://%s", peer);
        p = &ps[np++], *p = (struct path){.name = "native-tun",
                                          .netns = cli,
                                          .proxy = tun_proxy,
                                          .tun = true,
                                          .ok = tun && tsocks};
        snprintf(p->base, sizeof p->base, "http://%s", peer);

        /* Priority order: the shim's own cost, then per-connection latency,
         * then bulk (the tunnel's reps are the slowest and come last). */
        if (section("overhead")) {
            fprintf(stderr, "tsbench: connect overhead\n");
            connect_overhead(atoi(envs("TSB_CONNECT_N", "100000")),
                             atoi(envs("TSB_RW_N", "400000")), atoi(envs("TSB_POLL_N", "2000000")),
                             40);
            hook_overhead(atoi(envs("TSB_HOOKCOST_RUNS", "10")), 200);
        }
        if (section("exec")) {
            fprintf(stderr, "tsbench: exec overhead\n");
            exec_overhead(atoi(envs("TSB_EXEC_N", "1000")), getenv("TSB_EMPTY_SO"),
                          getenv("TSB_PROXYCHAINS_SO"));
        }
        if (section("gai")) {
            fprintf(stderr, "tsbench: getaddrinfo\n");
            const char *names[3] = {envs("TSB_TAILNET_NAME", "db.tail1a2b3.ts.net"),
                                    envs("TSB_HOSTS_NAME", "bench-hosts.example"), "localhost"};
            const char *labels[3] = {"tailnet", "hosts", "localhost"};
            gai_overhead(names, labels, atoi(envs("TSB_GAI_N", "500")), 20);
        }
        const char *tsrun = getenv("TSB_TSRUN");
        if (tsrun && !access(tsrun, X_OK) && section("tsrun")) {
            fprintf(stderr, "tsbench: tsrun true\n");
            tsrun_overhead(tsrun, gw, atoi(envs("TSB_TSRUN_N", "100")), 10);
        }
        if (section("latency")) {
            fprintf(stderr, "tsbench: latency\n");
            latency(ps, np, conns, batches, NULL);
        }
        const char *clients = getenv("TSB_CLIENTS");
        int aport = atoi(envs("TSB_ASYNC_PORT", "0"));
        static struct async_path aps[3];
        aps[0] = (struct async_path){.name = "shim", .socks5 = gw, .host = peer, .ok = true};
        aps[1] = (struct async_path){.name = "native", .proxy = gw, .host = peer, .ok = true};
        aps[2] = (struct async_path){.name = "tun", .netns = cli, .host = peer, .ok = tun};
        if (clients && aport > 0 && section("parallel")) {
            fprintf(stderr, "tsbench: parallel connects\n");
            par_paths = aps, par_np = 3;
            par_delay_ms = atoi(envs("TSB_DIAL_DELAY_MS", "100"));
            parallel_rows(aps, 3, clients, aport, atoi(envs("TSB_PARALLEL_REPS", "5")),
                          atoi(envs("TSB_PARALLEL_WARMUP", "1")), getenv("TSB_BLACKHOLE"),
                          getenv("TSB_BLACKHOLE_TUN_HOST"));
        }
        if (section("bulk")) {
            fprintf(stderr, "tsbench: bulk\n");
            bulk(ps, np, bytes, reps, tun_reps, NULL);
        }
    } else {
        /* A real tailnet: shim vs native through the local SOCKS5 of a real
         * tailscaled, and direct when the host routes 100.x (TUN mode). */
        deadline = now_s() + 600;
        snprintf(gw_proxy, sizeof gw_proxy, "socks5h://%s", socks5);
        if (try_direct) {
            char *out;
            struct path probe = {.name = "direct"};
            try_direct = run_worker(&probe, 8, &out, "lat", url, "-", "1", "1", (char *)NULL) == 0;
            free(out);
            if (!try_direct)
                fprintf(stderr, "tsbench: %s not reachable without the proxy: no direct row\n",
                        url);
        }
        ps[np++] = (struct path){.name = "direct", .ok = try_direct};
        ps[np++] = (struct path){.name = "shim", .socks5 = socks5, .pipeline = 1, .ok = true};
        ps[np++] = (struct path){.name = "native", .proxy = gw_proxy, .ok = true};
        latency(ps, np, conns, batches, url);
        bulk(ps, np, 0, reps, 0, url);
    }
    write_outputs(ps, np, bytes, conns, (conns + batches - 1) / batches, bed);
    if (!bed) {
        char fn[PATH_MAX];
        snprintf(fn, sizeof fn, "%s/table.md", outdir);
        FILE *f = fopen(fn, "r");
        int c;
        while (f && (c = fgetc(f)) != EOF)
            putchar(c);
        if (f)
            fclose(f);
    }
    return 0;
}
