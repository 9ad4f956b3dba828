/* hostent [-4|-6] [--r BUFLEN] [--threads N] NAME
 * hostent --addr [--r BUFLEN] ADDRESS
 *
 * Calls gethostbyname() (no family), gethostbyname2() (-4/-6),
 * gethostbyname_r()/gethostbyname2_r() (--r), or gethostbyaddr[_r]()
 * (--addr), and prints:
 *   name NAME / alias NAME... / addr ADDRESS... / status rc=N h_errno=NAME
 * Exit: 0 found, 2 not found, 3 ERANGE, 4 other error, 64 usage.
 * --threads N: N threads each resolve 1000 times through the non-reentrant
 * call and check their per-thread result never changes under them. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef NETDB_INTERNAL
#define NETDB_INTERNAL (-1)
#endif

static const char *herr_name(int e)
{
    switch (e) {
    case 0: return "0";
    case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
    case TRY_AGAIN: return "TRY_AGAIN";
    case NO_RECOVERY: return "NO_RECOVERY";
    case NO_DATA: return "NO_DATA";
    case NETDB_INTERNAL: return "NETDB_INTERNAL";
    default: return "OTHER";
    }
}

static void print(const struct hostent *h)
{
    char ip[INET6_ADDRSTRLEN];
    printf("name %s\n", h->h_name);
    for (char **a = h->h_aliases; a != NULL && *a != NULL; a++)
        printf("alias %s\n", *a);
    for (char **a = h->h_addr_list; *a != NULL; a++)
        printf("addr %s\n", inet_ntop(h->h_addrtype, *a, ip, sizeof ip));
}

static int af = AF_UNSPEC;
static const char *target;

static void *hammer(void *arg)
{
    long bad = 0;
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        struct hostent *h = af == AF_UNSPEC ? gethostbyname(target) : gethostbyname2(target, af);
        if (h == NULL || h->h_addr_list[0] == NULL)
            bad++;
        else if (strcmp(h->h_name, target) != 0 && strncmp(h->h_name, target, strlen(target)) != 0)
            bad++;
    }
    return (void *)bad;
}

int main(int argc, char **argv)
{
    int i, by_addr = 0, threads = 0;
    long buflen = -1;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-4") == 0) af = AF_INET;
        else if (strcmp(argv[i], "-6") == 0) af = AF_INET6;
        else if (strcmp(argv[i], "--af") == 0 && i + 1 < argc) af = atoi(argv[++i]);
        else if (strcmp(argv[i], "--addr") == 0) by_addr = 1;
        else if (strcmp(argv[i], "--r") == 0 && i + 1 < argc) buflen = atol(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else break;
    }
    if (i + 1 != argc) {
        fprintf(stderr, "usage: hostent [-4|-6|--af N] [--r BUFLEN] [--threads N] NAME\n"
                        "       hostent --addr [--r BUFLEN] ADDRESS\n");
        return 64;
    }
    target = argv[i];
    if (threads > 0) {
        pthread_t t[64];
        long bad = 0;
        if (threads > 64)
            threads = 64;
        for (int k = 0; k < threads; k++)
            pthread_create(&t[k], NULL, hammer, NULL);
        for (int k = 0; k < threads; k++) {
            void *r;
            pthread_join(t[k], &r);
            bad += (long)r;
        }
        printf("bad %ld\n", bad);
        return bad == 0 ? 0 : 4;
    }

    struct hostent he, *h = NULL;
    int rc = 0, herr = 0;
    char *buf = NULL;
    unsigned char addr[16];
    socklen_t alen = 0;
    int type = AF_INET;
    if (by_addr) {
        if (inet_pton(AF_INET, target, addr) == 1) {
            alen = 4;
        } else if (inet_pton(AF_INET6, target, addr) == 1) {
            alen = 16;
            type = AF_INET6;
        } else {
            fprintf(stderr, "hostent: not an address: %s\n", target);
            return 64;
        }
    }
    if (buflen >= 0) {
        buf = malloc(buflen > 0 ? (size_t)buflen : 1);
        if (by_addr)
            rc = gethostbyaddr_r(addr, alen, type, &he, buf, (size_t)buflen, &h, &herr);
        else if (af == AF_UNSPEC)
            rc = gethostbyname_r(target, &he, buf, (size_t)buflen, &h, &herr);
        else
            rc = gethostbyname2_r(target, af, &he, buf, (size_t)buflen, &h, &herr);
    } else {
        if (by_addr)
            h = gethostbyaddr(addr, alen, type);
        else if (af == AF_UNSPEC)
            h = gethostbyname(target);
        else
            h = gethostbyname2(target, af);
        herr = h == NULL ? h_errno : 0;
    }
    if (h != NULL)
        print(h);
    printf("status rc=%d h_errno=%s\n", rc, herr_name(herr));
    free(buf);
    if (rc == ERANGE)
        return 3;
    if (rc != 0)
        return 4;
    return h != NULL ? 0 : 2;
}
