/* resolve [-4|-6|-u] [--canon] [--passive] [--addrconfig] [--v4mapped] [--all]
 *         [--numeric] [--socktype stream|dgram|raw|N] [--protocol N]
 *         [--repeat N] [--threads N] [--split] [--leakcheck N] NAME|- [SERVICE|-]
 *
 * Calls getaddrinfo() and prints one line per result:
 *   FAMILY SOCKTYPE PROTOCOL ADDRESS PORT [canon=NAME]
 * then "status NAME" (0 / EAI_NONAME / ...), and exits 0 on success, 2 on a
 * getaddrinfo error, 64 on bad usage. "-" passes NULL. --repeat resolves N
 * times (printing only the last result); --threads N runs --repeat in N
 * threads at once and checks every answer equals the first. --split frees
 * every result node by node (cut off, then freeaddrinfo), which musl allows.
 * --leakcheck N resolves N more times after the run and prints
 * "rss_growth_kb K" (the resident-set growth: a leaked or mis-sized result
 * shows up here even where valgrind cannot follow the libc's malloc, e.g.
 * musl). Built for glibc
 * and (as build/musl/progs/resolve) for musl. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *eai_name(int rc)
{
    switch (rc) {
    case 0: return "0";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_SOCKTYPE: return "EAI_SOCKTYPE";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_MEMORY: return "EAI_MEMORY";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    case EAI_OVERFLOW: return "EAI_OVERFLOW";
#ifdef EAI_NODATA
    case EAI_NODATA: return "EAI_NODATA";
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
#endif
    default: return "EAI_OTHER";
    }
}

static const char *fam_name(int f)
{
    return f == AF_INET ? "inet" : f == AF_INET6 ? "inet6" : "other";
}

static const char *type_name(int t)
{
    return t == SOCK_STREAM ? "stream" : t == SOCK_DGRAM ? "dgram" : t == SOCK_RAW ? "raw" : "other";
}

/* Formats the whole answer into buf, one line per result. */
static void format(const struct addrinfo *res, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const struct addrinfo *ai = res; ai != NULL && n < size; ai = ai->ai_next) {
        char ip[INET6_ADDRSTRLEN] = "?";
        unsigned port = 0;
        if (ai->ai_family == AF_INET) {
            const struct sockaddr_in *s = (const void *)ai->ai_addr;
            inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
            port = ntohs(s->sin_port);
        } else if (ai->ai_family == AF_INET6) {
            const struct sockaddr_in6 *s = (const void *)ai->ai_addr;
            inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
            port = ntohs(s->sin6_port);
        }
        n += (size_t)snprintf(buf + n, size - n, "%s %s %d %s %u%s%s\n", fam_name(ai->ai_family),
                              type_name(ai->ai_socktype), ai->ai_protocol, ip, port,
                              ai->ai_canonname ? " canon=" : "",
                              ai->ai_canonname ? ai->ai_canonname : "");
    }
}

struct job {
    const char *name, *service;
    struct addrinfo hints;
    long repeat;
    int split;
    int rc;
    char out[8192];
    int mismatch;
};

/* freeaddrinfo() the whole list, or node by node (cut, then free). */
static void release(struct addrinfo *res, int split)
{
    while (split && res != NULL) {
        struct addrinfo *next = res->ai_next;
        res->ai_next = NULL;
        freeaddrinfo(res);
        res = next;
    }
    if (res != NULL)
        freeaddrinfo(res);
}

static long rss_kb(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *run(void *arg)
{
    struct job *j = arg;
    char first[8192] = "", cur[8192];
    for (long i = 0; i < j->repeat; i++) {
        struct addrinfo *res = NULL;
        j->rc = getaddrinfo(j->name, j->service, &j->hints, &res);
        format(j->rc == 0 ? res : NULL, cur, sizeof cur);
        release(res, j->split);
        if (i == 0)
            memcpy(first, cur, sizeof first);
        else if (strcmp(first, cur) != 0)
            j->mismatch++;
    }
    memcpy(j->out, cur, sizeof cur);
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: resolve [-4|-6|-u] [--canon] [--passive] [--addrconfig] "
                    "[--v4mapped] [--all] [--numeric] [--socktype T] [--protocol N] "
                    "[--repeat N] [--threads N] [--split] [--leakcheck N] NAME|- [SERVICE|-]\n");
    return 64;
}

int main(int argc, char **argv)
{
    struct job j = {.repeat = 1};
    long threads = 1, leakcheck = 0;
    int i;
    j.hints.ai_family = AF_UNSPEC;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-4") == 0) j.hints.ai_family = AF_INET;
        else if (strcmp(a, "-6") == 0) j.hints.ai_family = AF_INET6;
        else if (strcmp(a, "-u") == 0) j.hints.ai_family = AF_UNSPEC;
        else if (strcmp(a, "--canon") == 0) j.hints.ai_flags |= AI_CANONNAME;
        else if (strcmp(a, "--passive") == 0) j.hints.ai_flags |= AI_PASSIVE;
        else if (strcmp(a, "--addrconfig") == 0) j.hints.ai_flags |= AI_ADDRCONFIG;
        else if (strcmp(a, "--v4mapped") == 0) j.hints.ai_flags |= AI_V4MAPPED;
        else if (strcmp(a, "--all") == 0) j.hints.ai_flags |= AI_ALL;
        else if (strcmp(a, "--numeric") == 0) j.hints.ai_flags |= AI_NUMERICHOST;
        else if (strcmp(a, "--socktype") == 0 && i + 1 < argc) {
            const char *t = argv[++i];
            j.hints.ai_socktype = strcmp(t, "stream") == 0 ? SOCK_STREAM
                                  : strcmp(t, "dgram") == 0 ? SOCK_DGRAM
                                  : strcmp(t, "raw") == 0   ? SOCK_RAW
                                                            : atoi(t);
        } else if (strcmp(a, "--protocol") == 0 && i + 1 < argc) {
            j.hints.ai_protocol = atoi(argv[++i]);
        } else if (strcmp(a, "--repeat") == 0 && i + 1 < argc) {
            j.repeat = atol(argv[++i]);
        } else if (strcmp(a, "--split") == 0) {
            j.split = 1;
        } else if (strcmp(a, "--leakcheck") == 0 && i + 1 < argc) {
            leakcheck = atol(argv[++i]);
        } else if (strcmp(a, "--threads") == 0 && i + 1 < argc) {
            threads = atol(argv[++i]);
        } else {
            return usage();
        }
    }
    if (i >= argc || argc - i > 2 || j.repeat < 1 || threads < 1 || threads > 64)
        return usage();
    j.name = strcmp(argv[i], "-") == 0 ? NULL : argv[i];
    j.service = i + 1 < argc && strcmp(argv[i + 1], "-") != 0 ? argv[i + 1] : NULL;

    if (threads == 1) {
        run(&j);
    } else {
        static struct job jobs[64];
        pthread_t tid[64];
        for (long t = 0; t < threads; t++) {
            jobs[t] = j;
            pthread_create(&tid[t], NULL, run, &jobs[t]);
        }
        for (long t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            if (jobs[t].mismatch || strcmp(jobs[t].out, jobs[0].out) != 0 ||
                jobs[t].rc != jobs[0].rc)
                j.mismatch++;
        }
        memcpy(j.out, jobs[0].out, sizeof j.out);
        j.rc = jobs[0].rc;
    }
    if (leakcheck > 0) {
        struct job k = j;
        k.repeat = leakcheck / 10 + 1; /* warm up the allocator */
        run(&k);
        long before = rss_kb();
        k.repeat = leakcheck;
        run(&k);
        printf("rss_growth_kb %ld\n", rss_kb() - before);
    }
    fputs(j.out, stdout);
    printf("status %s\n", eai_name(j.rc));
    if (j.mismatch) {
        printf("mismatch %d\n", j.mismatch);
        return 3;
    }
    return j.rc == 0 ? 0 : 2;
}
