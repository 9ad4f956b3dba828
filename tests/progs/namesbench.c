/* namesbench [--nodes N] [--text] MAPFILE
 *
 * Issue 12, kind 8 figures. Writes a map of N peers (default 10,000) to
 * MAPFILE with the launcher's writer (common/namemap_format.c), or as
 * version-1 text with --text, then -- run it with the shim preloaded and
 * TSRUN_NAMES=MAPFILE -- measures through getaddrinfo():
 *   first_lookup_us   the first tailnet lookup of the process (loads the map)
 *   private_kb        Private_Clean + Private_Dirty growth of
 *                     /proc/self/smaps_rollup across that first lookup
 *   lookup_ns         mean of 100,000 further getaddrinfo() calls of
 *                     different names (includes libc's numeric getaddrinfo
 *                     and malloc for the result)
 *   find_ns           mean of 1,000,000 nm_find_name() calls over the file
 *                     mapped read-only (the shim's lookup core alone)
 * --holder first starts a child that maps the whole file and touches every
 * page (as any other process using the map would), so pages this process
 * maps count as Shared_* rather than Private_*: without it, the file's
 * page-cache pages that the kernel maps in around a fault (fault-around,
 * large folios) count as Private_Clean although nothing was copied.
 * Prints "KEY VALUE" lines. Exit 0, or 1 on a failed lookup. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "namemap_format.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static long private_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long sum = 0, v;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Private_Clean: %ld kB", &v) == 1 ||
            sscanf(line, "Private_Dirty: %ld kB", &v) == 1)
            sum += v;
    if (f != NULL)
        fclose(f);
    return sum;
}

static void name_of(int i, char *out, size_t n)
{
    snprintf(out, n, "node-%05d.big.ts.net", i);
}

static int write_map(const char *path, int n, int text)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    if (text) {
        fprintf(f, "tsrun-names 1\nbackend Running\nsuffix big.ts.net\n");
        for (int i = 0; i < n; i++) {
            char name[64];
            name_of(i, name, sizeof name);
            fprintf(f, "node %s peer online 100.%d.%d.%d fd7a:115c:a1e0::%x\n", name,
                    64 + i / 65536, i / 256 % 256, i % 256, i + 1);
        }
        fprintf(f, "end %d\n", n);
    } else {
        struct nm_node_in *nodes = calloc((size_t)n, sizeof *nodes);
        char(*names)[64] = calloc((size_t)n, 64);
        for (int i = 0; i < n; i++) {
            name_of(i, names[i], 64);
            nodes[i].fqdn = names[i];
            nodes[i].fqdn_len = strlen(names[i]);
            nodes[i].role = NM_ROLE_PEER;
            nodes[i].state = NAMES_ONLINE;
            nodes[i].naddrs = 2;
            nodes[i].addr[0].family = AF_INET;
            uint8_t v4[4] = {100, (uint8_t)(64 + i / 65536), (uint8_t)(i / 256), (uint8_t)i};
            memcpy(nodes[i].addr[0].bytes, v4, 4);
            nodes[i].addr[1].family = AF_INET6;
            char v6[64];
            snprintf(v6, sizeof v6, "fd7a:115c:a1e0::%x", i + 1);
            inet_pton(AF_INET6, v6, nodes[i].addr[1].bytes);
        }
        struct nm_meta meta = {.backend = "Running", .suffix = "big.ts.net", .version = "bench"};
        size_t size = nm_image_size(nodes, (size_t)n, &meta);
        void *img = NULL;
        if (size == 0 || posix_memalign(&img, 8, size) != 0 ||
            nm_image_build(nodes, (size_t)n, &meta, img, size) < 0)
            return -1;
        fwrite(img, 1, size, f);
        free(img);
        free(nodes);
        free(names);
    }
    /* As the launcher does: fsync, so the cached pages are clean. */
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
        return -1;
    return rename(tmp, path);
}

/* A child mapping every page of path until the returned pipe closes. */
static pid_t start_holder(const char *path, int *release)
{
    int go[2], ready[2];
    if (pipe(go) < 0 || pipe(ready) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(go[1]);
        close(ready[0]);
        int fd = open(path, O_RDONLY);
        struct stat st;
        fstat(fd, &st);
        volatile const char *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        long sum = 0;
        for (off_t o = 0; o < st.st_size; o += 4096)
            sum += m[o];
        char c = (char)sum;
        if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
            _exit(1);
        _exit(0);
    }
    close(go[0]);
    close(ready[1]);
    char c;
    if (read(ready[0], &c, 1) != 1)
        return -1;
    close(ready[0]);
    *release = go[1];
    return pid;
}

static int gai(const char *name)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(name, "80", &hints, &res);
    if (rc == 0)
        freeaddrinfo(res);
    return rc;
}

int main(int argc, char **argv)
{
    int n = 10000, text = 0, holder = 0, release = -1, i = 1;
    for (; i < argc - 1; i++) {
        if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc - 1)
            n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--text") == 0)
            text = 1;
        else if (strcmp(argv[i], "--holder") == 0)
            holder = 1;
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: namesbench [--nodes N] [--text] MAPFILE\n");
        return 64;
    }
    const char *path = argv[i];
    if (write_map(path, n, text) < 0) {
        perror("namesbench: write");
        return 1;
    }
    pid_t held = holder ? start_holder(path, &release) : 0;
    if (held < 0)
        return 1;
    char name[64];
    gai("localhost"); /* libc's own first-call setup, outside the figure */
    long before = private_kb();
    name_of(n / 2, name, sizeof name);
    double t0 = now_ns();
    int rc = gai(name);
    double t1 = now_ns();
    long after = private_kb();
    if (getenv("NAMESBENCH_SMAPS") != NULL) { /* where the growth went */
        char cmd[64];
        snprintf(cmd, sizeof cmd, "cat /proc/%d/smaps >&2", (int)getpid());
        if (system(cmd) != 0)
            return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "namesbench: %s: %s (is the shim preloaded?)\n", name, gai_strerror(rc));
        return 1;
    }
    if (held > 0) {
        close(release);
        waitpid(held, NULL, 0);
    }
    printf("nodes %d\nformat %s\nholder %d\nfirst_lookup_us %.0f\nprivate_kb %ld\n", n,
           text ? "v1-text" : "v2-image", holder, (t1 - t0) / 1e3, after - before);
    enum { LOOKUPS = 100000, FINDS = 1000000 };
    t0 = now_ns();
    for (int k = 0; k < LOOKUPS; k++) {
        name_of(k % n, name, sizeof name);
        if (gai(name) != 0)
            return 1;
    }
    t1 = now_ns();
    printf("lookup_ns %.0f\n", (t1 - t0) / LOOKUPS);
    if (!text) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        fstat(fd, &st);
        void *mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        struct nm_view v;
        const char *why;
        if (mem == MAP_FAILED || nm_open(mem, (size_t)st.st_size, &v, &why) < 0)
            return 1;
        long found = 0;
        t0 = now_ns();
        for (int k = 0; k < FINDS; k++) {
            name_of(k % n, name, sizeof name);
            found += nm_find_name(&v, name, 10, NULL) >= 0; /* the short name */
        }
        t1 = now_ns();
        if (found != FINDS)
            return 1;
        printf("find_ns %.0f\n", (t1 - t0) / FINDS);
    }
    return 0;
}
