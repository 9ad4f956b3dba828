/* What the shim does when the program calls getnameinfo().
 *
 * A tailnet address in the name map names its MagicDNS FQDN (the short name
 * with NI_NOFQDN); a Tailscale address the map does not know is answered
 * numerically (EAI_NONAME with NI_NAMEREQD), so no PTR query for a tailnet
 * address ever reaches DNS. Services always come from libc. Every other
 * address goes to libc untouched, as does NI_NUMERICHOST. */
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "export.h"
#include "libc.h"
#include "log.h"
#include "names.h"

/* The address bytes of sa, or NULL for other families / short lengths. */
static const void *gni_addr(const struct sockaddr *sa, socklen_t len, int *family)
{
    if (sa == NULL)
        return NULL;
    *family = sa->sa_family;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
        return &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6))
        return &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    return NULL;
}

TSSHIM_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen,
                              char *host, socklen_t hostlen, char *serv,
                              socklen_t servlen, int flags)
{
    struct names_entry e;
    int family = 0;
    const void *addr;

    if (host == NULL || hostlen == 0 || (flags & NI_NUMERICHOST) ||
        (addr = gni_addr(sa, salen, &family)) == NULL)
        return libc_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);

    switch (names_reverse(family, addr, &e)) {
    case NAMES_NOT_TAILNET:
        return libc_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    case NAMES_MISSING:
        log_debug("getnameinfo: Tailscale address not in the name map: %s",
                  flags & NI_NAMEREQD ? "EAI_NONAME" : "numeric (not asking DNS)");
        if (flags & NI_NAMEREQD)
            return EAI_NONAME;
        return libc_getnameinfo(sa, salen, host, hostlen, serv, servlen,
                                flags | NI_NUMERICHOST);
    case NAMES_FOUND:
        break;
    }
    char name[NAMES_MAX_NAME];
    if (flags & NI_NOFQDN)
        names_short(e.fqdn, name);
    else
        strcpy(name, e.fqdn);
    if (serv != NULL && servlen > 0) {
        int rc = libc_getnameinfo(sa, salen, NULL, 0, serv, servlen,
                                  flags | NI_NUMERICHOST);
        if (rc != 0)
            return rc;
    }
    if (strlen(name) >= (size_t)hostlen)
        return EAI_OVERFLOW;
    strcpy(host, name);
    log_debug("getnameinfo: tailnet address of %s", e.fqdn);
    return 0;
}
