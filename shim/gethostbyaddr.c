/* What the shim does when the program calls gethostbyaddr() or
 * gethostbyaddr_r().
 *
 * A tailnet address in the name map answers with its MagicDNS FQDN (the
 * short name as alias, the queried address as the one address); a
 * Tailscale address the map does not know is HOST_NOT_FOUND, so no PTR
 * query for a tailnet address reaches DNS. Every other address goes to libc
 * untouched. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "export.h"
#include "libc.h"
#include "log.h"
#include "names.h"

#ifndef NETDB_INTERNAL /* musl lacks it; glibc's value */
#define NETDB_INTERNAL (-1)
#endif

#define HBA_TLS_BUF 1024

static _Thread_local struct {
    struct hostent h;
    char buf[HBA_TLS_BUF];
} hba_tls;

enum { HBA_LIBC = -1 };

/* The _r convention (as gethostbyname_r), or HBA_LIBC when not ours. */
static int hba(const void *addr, socklen_t len, int type, struct hostent *ret,
               char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
    struct names_entry e;
    struct names_addr a = {.family = type};
    char alias[NAMES_MAX_NAME];

    if (addr == NULL || !((type == AF_INET && len == 4) || (type == AF_INET6 && len == 16)))
        return HBA_LIBC;
    enum names_verdict v = names_reverse(type, addr, &e);
    if (v == NAMES_NOT_TAILNET)
        return HBA_LIBC;
    *result = NULL;
    if (v == NAMES_MISSING) {
        log_debug("gethostbyaddr: Tailscale address not in the name map: "
                  "HOST_NOT_FOUND (not asking DNS)");
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    memcpy(a.bytes, addr, len);
    names_short(e.fqdn, alias);
    int rc = names_hostent(e.fqdn, strcmp(alias, e.fqdn) != 0 ? alias : NULL, type,
                           &a, 1, ret, buf, buflen);
    if (rc == -ERANGE) {
        *h_errnop = NETDB_INTERNAL;
        errno = ERANGE;
        return ERANGE;
    }
    log_debug("gethostbyaddr: tailnet address of %s", e.fqdn);
    *result = ret;
    *h_errnop = 0;
    return 0;
}

TSSHIM_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len,
                                            int type)
{
    struct hostent *result = NULL;
    int err = 0;
    int rc = hba(addr, len, type, &hba_tls.h, hba_tls.buf, sizeof hba_tls.buf,
                 &result, &err);
    if (rc == HBA_LIBC)
        return libc_gethostbyaddr(addr, len, type);
    if (result == NULL)
        h_errno = err;
    return result;
}

TSSHIM_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type,
                                  struct hostent *ret, char *buf, size_t buflen,
                                  struct hostent **result, int *h_errnop)
{
    int rc = hba(addr, len, type, ret, buf, buflen, result, h_errnop);
    if (rc != HBA_LIBC)
        return rc;
    return libc_gethostbyaddr_r(addr, len, type, ret, buf, buflen, result, h_errnop);
}
