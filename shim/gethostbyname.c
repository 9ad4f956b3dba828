/* What the shim does when the program calls gethostbyname(),
 * gethostbyname2(), gethostbyname_r() or gethostbyname2_r().
 *
 * Tailnet names answer from the name map (h_name = the MagicDNS FQDN, the
 * short name as the one alias, the node's addresses of the family asked
 * for); a tailnet name the map lacks is HOST_NOT_FOUND and never reaches
 * DNS. Everything else goes to libc untouched. */
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

/* Room for the largest answer: two names, 8 addresses, pointers. */
#define HBN_TLS_BUF 1024

/* The thread's storage for the non-reentrant calls, as libc keeps its own. */
static _Thread_local struct {
    struct hostent h;
    char buf[HBN_TLS_BUF];
} hbn_tls;

enum { HBN_LIBC = -1 };

/* Answers a tailnet name in the _r convention, or returns HBN_LIBC when the
 * name is not ours. Matches glibc and musl: not found is 0 with *result
 * NULL and *h_errnop set; a short buffer is ERANGE. */
static int hbn(const char *name, int af, struct hostent *ret, char *buf,
               size_t buflen, struct hostent **result, int *h_errnop)
{
    struct names_entry e;
    char alias[NAMES_MAX_NAME];

    if ((af != AF_INET && af != AF_INET6) || names_trivially_not_tailnet(name))
        return HBN_LIBC;
    enum names_verdict v = names_lookup(name, &e);
    if (v == NAMES_NOT_TAILNET)
        return HBN_LIBC;
    *result = NULL;
    if (v == NAMES_MISSING) {
        log_debug("gethostbyname(%.80s): tailnet name not in the name map: "
                  "HOST_NOT_FOUND (not asking DNS)", name);
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    names_short(e.fqdn, alias);
    int rc = names_hostent(e.fqdn, strcmp(alias, e.fqdn) != 0 ? alias : NULL, af,
                           e.addr, e.naddrs, ret, buf, buflen);
    if (rc == -ENOENT) {
        *h_errnop = NO_DATA;
        return 0;
    }
    if (rc == -ERANGE) {
        *h_errnop = NETDB_INTERNAL;
        errno = ERANGE;
        return ERANGE;
    }
    log_debug("gethostbyname(%.80s): tailnet name %s", name, e.fqdn);
    *result = ret;
    *h_errnop = 0;
    return 0;
}

static struct hostent *hbn_static(const char *name, int af, bool *ours)
{
    struct hostent *result = NULL;
    int err = 0;
    int rc = hbn(name, af, &hbn_tls.h, hbn_tls.buf, sizeof hbn_tls.buf, &result, &err);
    *ours = rc != HBN_LIBC;
    if (*ours && result == NULL)
        h_errno = err;
    return result;
}

TSSHIM_EXPORT struct hostent *gethostbyname(const char *name)
{
    bool ours;
    struct hostent *h = hbn_static(name, AF_INET, &ours);
    return ours ? h : libc_gethostbyname(name);
}

TSSHIM_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    bool ours;
    struct hostent *h = hbn_static(name, af, &ours);
    return ours ? h : libc_gethostbyname2(name, af);
}

TSSHIM_EXPORT int gethostbyname_r(const char *name, struct hostent *ret,
                                  char *buf, size_t buflen,
                                  struct hostent **result, int *h_errnop)
{
    int rc = hbn(name, AF_INET, ret, buf, buflen, result, h_errnop);
    if (rc != HBN_LIBC)
        return rc;
    return libc_gethostbyname_r(name, ret, buf, buflen, result, h_errnop);
}

TSSHIM_EXPORT int gethostbyname2_r(const char *name, int af,
                                   struct hostent *ret, char *buf,
                                   size_t buflen, struct hostent **result,
                                   int *h_errnop)
{
    int rc = hbn(name, af, ret, buf, buflen, result, h_errnop);
    if (rc != HBN_LIBC)
        return rc;
    return libc_gethostbyname2_r(name, af, ret, buf, buflen, result, h_errnop);
}
