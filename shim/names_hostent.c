/* The hostent builder the gethostbyname and gethostbyaddr hooks share
 * (names.h). Pure: lays everything out in the caller's buffer. */
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "names.h"

void names_short(const char *fqdn, char *out)
{
    size_t n = strcspn(fqdn, ".");
    if (n >= NAMES_MAX_NAME)
        n = NAMES_MAX_NAME - 1;
    memcpy(out, fqdn, n);
    out[n] = '\0';
}

int names_hostent(const char *name, const char *alias, int af, const struct names_addr *addrs,
                  unsigned naddrs, struct hostent *ret, char *buf, size_t buflen)
{
    size_t alen = af == AF_INET ? 4 : 16, n = 0;
    for (unsigned i = 0; i < naddrs; i++)
        n += addrs[i].family == af;
    if (n == 0 || (af != AF_INET && af != AF_INET6))
        return -ENOENT;

    size_t nlen = strlen(name) + 1, alias_len = alias != NULL ? strlen(alias) + 1 : 0;
    size_t pad = (sizeof(char *) - (uintptr_t)buf % sizeof(char *)) % sizeof(char *);
    size_t ptrs = (alias != NULL ? 2 : 1) + n + 1;
    size_t need = pad + ptrs * sizeof(char *) + n * alen + nlen + alias_len;
    if (buf == NULL || buflen < need)
        return -ERANGE;

    char **aliases = (char **)(void *)(buf + pad);
    char **list = aliases + (alias != NULL ? 2 : 1);
    char *p = (char *)(list + n + 1);
    size_t k = 0;
    for (unsigned i = 0; i < naddrs; i++) {
        if (addrs[i].family != af)
            continue;
        memcpy(p, addrs[i].bytes, alen);
        list[k++] = p;
        p += alen;
    }
    list[k] = NULL;
    memcpy(p, name, nlen);
    ret->h_name = p;
    p += nlen;
    if (alias != NULL) {
        memcpy(p, alias, alias_len);
        aliases[0] = p;
        aliases[1] = NULL;
    } else {
        aliases[0] = NULL;
    }
    ret->h_aliases = aliases;
    ret->h_addrtype = af;
    ret->h_length = (int)alen;
    ret->h_addr_list = list;
    return 0;
}
