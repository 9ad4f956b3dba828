/* getpeername(): a tunnelled socket reports the tailnet destination the app
 * asked for, not the proxy it is really connected to. */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "export.h"
#include "fdtab.h"
#include "libc.h"
#include "route.h"

static bool is_proxy(const struct sockaddr *sa, socklen_t len,
                     const struct config *cfg)
{
    uint8_t a[16], p[16];
    uint16_t port;
    static const uint8_t v6_loopback[16] = {[15] = 1};
    if (!route_addr16(sa, len, a, &port) || port != ntohs(cfg->socks5.sin6_port))
        return false;
    memcpy(p, &cfg->socks5.sin6_addr, 16);
    /* A v6-only socket reaches an IPv4 loopback proxy at [::1]. */
    return memcmp(a, p, 16) == 0 ||
           (cfg->socks5_is_v4 && p[12] == 127 && memcmp(a, v6_loopback, 16) == 0);
}

TSSHIM_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
    struct sockaddr_storage real, dest;
    socklen_t reallen = sizeof real, destlen;

    if (addr == NULL || len == NULL)
        return libc_getpeername(fd, addr, len);
    if (libc_getpeername(fd, (struct sockaddr *)&real, &reallen) < 0)
        return -1;
    const struct config *cfg = config_get();
    const struct sockaddr *answer = (struct sockaddr *)&real;
    socklen_t answerlen = reallen;
    if (cfg->enabled && is_proxy(answer, reallen, cfg) &&
        fdtab_lookup(fd, &dest, &destlen)) {
        answer = (struct sockaddr *)&dest;
        answerlen = destlen;
    }
    /* Truncate like the kernel, reporting the full length. */
    memcpy(addr, answer, *len < answerlen ? *len : answerlen);
    *len = answerlen;
    return 0;
}
