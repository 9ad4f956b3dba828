/* The SOCKS5 port: parsing, the fixed fallback, the free check, the record.
 * See port.h for the order. */
#include "port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tsrun.h"

int port_parse(const char *s, int *out)
{
    long v = 0;
    if (!s || !*s || strlen(s) > 5)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (v > 65535)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

int port_parse_loopback_addr(const char *s, int *out)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon)
        return -EINVAL;
    size_t hl = (size_t)(colon - s);
    bool loop =
        (hl == 9 && !strncmp(s, "127.0.0.1", 9)) || (hl == 9 && !strncmp(s, "localhost", 9));
    if (!loop)
        return -EINVAL;
    return port_parse(colon + 1, out);
}

int port_fallback(const char *state_dir, uid_t uid)
{
    /* FNV-1a over the uid and the path: stable across runs and builds. */
    unsigned long h = 2166136261u;
    char u[24];
    snprintf(u, sizeof u, "%lu:", (unsigned long)uid);
    for (const char *p = u; *p; p++)
        h = ((h ^ (unsigned char)*p) * 16777619u) & 0xffffffffu;
    for (const char *p = state_dir; p && *p; p++)
        h = ((h ^ (unsigned char)*p) * 16777619u) & 0xffffffffu;
    return PORT_FALLBACK_BASE + (int)(h % PORT_FALLBACK_SPAN);
}

bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return true; /* cannot tell: let tailscaled try */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

int port_read(const char *path)
{
    char *text = NULL;
    int rc = tsr_read_file(path, &text, NULL), port = 0;
    if (rc < 0)
        return rc;
    text[strcspn(text, "\n")] = '\0';
    rc = port_parse(text, &port);
    free(text);
    return rc < 0 ? rc : port > 0 ? port : -EINVAL;
}

int port_write(const char *path, int port)
{
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d\n", port);
    return tsr_write_atomic(path, buf, (size_t)n, 0644);
}
