/* The shim's per-call cost on non-tailnet sockets, measured inside one
 * process.
 *
 * Timing the same loop in a preloaded and a plain process compares two
 * processes: their layouts, caches and CPUs differ, and on this VM that
 * moves a 4 µs loop by ±2 % from run to run, more than the 9 instructions
 * the hooks add (callgrind). Here one process, on one socket pair, runs
 * chunks of the loop alternately through the entry points the program
 * itself resolves (RTLD_DEFAULT: with LD_PRELOAD, the shim's wrappers come
 * before libc's in the global scope; the executable defines none of these)
 * and through libc's own (dlsym on libc's handle), so the ratio is the
 * wrappers' cost and nothing else. Without the preload both sets are libc's:
 * that run is the control, and its ratio is the method's own error.
 * Both sets are called through pointers, as a PLT call is an indirect jump. */
#include "hookcost.h"
#include "tcp_pair.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <gnu/lib-names.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct io_fns {
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*recv)(int, void *, size_t, int);
    int (*poll)(struct pollfd *, nfds_t, int);
};

static void fail(const char *what)
{
    fprintf(stderr, "tsbench: hookcost: %s: %s\n", what, errno ? strerror(errno) : dlerror());
    exit(1);
}

static void *sym(void *handle, const char *name)
{
    void *p = dlsym(handle, name);
    if (!p)
        fail(name);
    return p;
}

static void resolve(void *handle, struct io_fns *f)
{
    f->read = sym(handle, "read");
    f->write = sym(handle, "write");
    f->send = sym(handle, "send");
    f->recv = sym(handle, "recv");
    f->poll = sym(handle, "poll");
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One chunk of the rw loop (tsbench worker rw's round trip: write/read one
 * way, send/recv back, 64 bytes) or of the poll loop (both ends ready,
 * timeout 0). ns for the chunk. */
static double chunk(const struct io_fns *f, int poll_loop, const int fds[2], int per)
{
    char buf[64] = {0};
    struct pollfd p[2] = {{.fd = fds[0], .events = POLLOUT}, {.fd = fds[1], .events = POLLIN}};
    double t0 = now_ns();
    for (int i = 0; i < per; i++) {
        if (poll_loop) {
            if (f->poll(p, 2, 0) != 2)
                fail("poll");
        } else if (f->write(fds[0], buf, sizeof buf) != (ssize_t)sizeof buf ||
                   f->read(fds[1], buf, sizeof buf) != (ssize_t)sizeof buf ||
                   f->send(fds[1], buf, sizeof buf, 0) != (ssize_t)sizeof buf ||
                   f->recv(fds[0], buf, sizeof buf, 0) != (ssize_t)sizeof buf) {
            fail("rw");
        }
    }
    return now_ns() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int worker_hookcost(const char *loop, int chunks, int per)
{
    int poll_loop = !strcmp(loop, "poll");
    if ((!poll_loop && strcmp(loop, "rw")) || chunks < 1 || per < 1) {
        fprintf(stderr, "tsbench: hookcost rw|poll CHUNKS PER\n");
        return 2;
    }
    void *libc = dlopen(LIBC_SO, RTLD_NOW | RTLD_NOLOAD);
    if (!libc)
        fail(LIBC_SO);
    struct io_fns wrapped, own;
    resolve(RTLD_DEFAULT, &wrapped);
    resolve(libc, &own);

    int fds[2];
    tcp_pair(fds);
    if (poll_loop && write(fds[0], "x", 1) != 1)
        fail("write");
    double *r = malloc(sizeof *r * (size_t)chunks);
    if (!r)
        fail("malloc");
    chunk(&wrapped, poll_loop, fds, per); /* warm both paths' code and data */
    chunk(&own, poll_loop, fds, per);
    for (int c = 0; c < chunks; c++) {
        double tw, to;
        if (c & 1) {
            to = chunk(&own, poll_loop, fds, per);
            tw = chunk(&wrapped, poll_loop, fds, per);
        } else {
            tw = chunk(&wrapped, poll_loop, fds, per);
            to = chunk(&own, poll_loop, fds, per);
        }
        r[c] = tw / to;
    }
    qsort(r, (size_t)chunks, sizeof *r, cmp_double);
    printf("%.5f %.5f %.5f\n", r[chunks / 2], r[chunks / 4], r[chunks * 3 / 4]);
    free(r);
    return 0;
}
