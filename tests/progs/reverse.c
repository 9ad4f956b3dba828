/* reverse [--numerichost] [--namereqd] [--nofqdn] [--numericserv] [--dgram]
 *         [--hostlen N] [--noserv] ADDRESS [PORT]
 *
 * Calls getnameinfo() on ADDRESS (v4 or v6) and PORT (default 0) and prints
 * "host H", "serv S" and "status EAI_..."; exit 0 on success, 2 otherwise. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *eai_name(int rc)
{
    switch (rc) {
    case 0: return "0";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_FAMILY: return "EAI_FAMILY";
    case EAI_OVERFLOW: return "EAI_OVERFLOW";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_BADFLAGS: return "EAI_BADFLAGS";
    default: return "EAI_OTHER";
    }
}

int main(int argc, char **argv)
{
    int i, flags = 0, noserv = 0;
    long hostlen = NI_MAXHOST;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--numerichost") == 0) flags |= NI_NUMERICHOST;
        else if (strcmp(argv[i], "--namereqd") == 0) flags |= NI_NAMEREQD;
        else if (strcmp(argv[i], "--nofqdn") == 0) flags |= NI_NOFQDN;
        else if (strcmp(argv[i], "--numericserv") == 0) flags |= NI_NUMERICSERV;
        else if (strcmp(argv[i], "--dgram") == 0) flags |= NI_DGRAM;
        else if (strcmp(argv[i], "--noserv") == 0) noserv = 1;
        else if (strcmp(argv[i], "--hostlen") == 0 && i + 1 < argc) hostlen = atol(argv[++i]);
        else {
            fprintf(stderr, "reverse: unknown option %s\n", argv[i]);
            return 64;
        }
    }
    if (i >= argc || argc - i > 2 || hostlen < 0 || hostlen > NI_MAXHOST) {
        fprintf(stderr, "usage: reverse [flags] ADDRESS [PORT]\n");
        return 64;
    }
    struct sockaddr_storage ss;
    socklen_t len;
    unsigned port = i + 1 < argc ? (unsigned)atoi(argv[i + 1]) : 0;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (void *)&ss;
    struct sockaddr_in6 *s6 = (void *)&ss;
    if (inet_pton(AF_INET, argv[i], &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        len = sizeof *s4;
    } else if (inet_pton(AF_INET6, argv[i], &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        len = sizeof *s6;
    } else {
        fprintf(stderr, "reverse: not an address: %s\n", argv[i]);
        return 64;
    }
    char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
    int rc = getnameinfo((void *)&ss, len, hostlen > 0 ? host : NULL, (socklen_t)hostlen,
                         noserv ? NULL : serv, noserv ? 0 : sizeof serv, flags);
    if (rc == 0) {
        printf("host %s\n", host);
        if (!noserv)
            printf("serv %s\n", serv);
    }
    printf("status %s\n", eai_name(rc));
    return rc == 0 ? 0 : 2;
}
