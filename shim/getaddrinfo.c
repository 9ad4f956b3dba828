/* What the shim does when the program calls getaddrinfo().
 *
 * Tailnet names (see names.h) resolve to their real tailnet addresses from
 * the name map; a tailnet name the map lacks gets EAI_NONAME and never
 * reaches the system resolver. Every other name goes to libc untouched. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "export.h"
#include "libc.h"
#include "log.h"
#include "names.h"

#ifndef EAI_NODATA
#define EAI_NODATA EAI_NONAME
#endif

/* Flags we interpret ourselves and never pass to the real call. */
#define GAI_OWN_FLAGS (AI_CANONNAME | AI_ADDRCONFIG | AI_V4MAPPED | AI_ALL)

/* The addresses to return, in order, as numeric strings. */
struct gai_plan {
    unsigned n;
    struct {
        int family;
        char text[INET6_ADDRSTRLEN + 8];
    } addr[2 * NAMES_MAX_ADDRS];
};

/* IMPORTANT: AF_UNSPEC lists IPv4 first, then IPv6: the tunnel carries both
 * whatever the local interfaces are, and IPv4 works in every sandbox.
 * AI_ADDRCONFIG is ignored for tailnet names: a sandbox has no 100.x or
 * fd7a: interface (the addresses are reached through tailscaled), and
 * honouring it would hide every tailnet address. AF_INET6 with AI_V4MAPPED
 * adds ::ffff:a.b.c.d when the node has no IPv6 address (or with AI_ALL). */
static int gai_plan(const struct names_entry *e, int family, int flags,
                    struct gai_plan *p)
{
    unsigned n6 = 0;
    p->n = 0;
    for (unsigned pass = 0; pass < 2; pass++) {
        int want = pass == 0 ? AF_INET : AF_INET6;
        if (family != AF_UNSPEC && family != want)
            continue;
        for (unsigned i = 0; i < e->naddrs; i++) {
            if (e->addr[i].family != want)
                continue;
            p->addr[p->n].family = want;
            inet_ntop(want, e->addr[i].bytes, p->addr[p->n].text,
                      sizeof p->addr[p->n].text);
            p->n++;
            n6 += want == AF_INET6;
        }
    }
    if (family == AF_INET6 && (flags & AI_V4MAPPED) &&
        (n6 == 0 || (flags & AI_ALL))) {
        for (unsigned i = 0; i < e->naddrs; i++) {
            char v4[INET_ADDRSTRLEN];
            if (e->addr[i].family != AF_INET)
                continue;
            inet_ntop(AF_INET, e->addr[i].bytes, v4, sizeof v4);
            p->addr[p->n].family = AF_INET6;
            snprintf(p->addr[p->n].text, sizeof p->addr[p->n].text, "::ffff:%s", v4);
            p->n++;
        }
    }
    return p->n > 0 ? 0 : EAI_NODATA;
}

static void gai_hints(const struct addrinfo *hints, int family,
                      struct addrinfo *h)
{
    memset(h, 0, sizeof *h);
    if (hints != NULL) {
        h->ai_flags = hints->ai_flags & ~GAI_OWN_FLAGS;
        h->ai_socktype = hints->ai_socktype;
        h->ai_protocol = hints->ai_protocol;
    }
    h->ai_flags |= AI_NUMERICHOST;
    h->ai_family = family;
}

#ifdef __GLIBC__
/* IMPORTANT (glibc): freeaddrinfo() walks the list and frees every node and
 * its ai_canonname on its own (free(p->ai_canonname); free(p)), so results
 * of several real getaddrinfo() calls can be chained, and a strdup()ed
 * canonical name on the first node is freed correctly. */
static int gai_build(const struct names_entry *e, const char *service,
                     const struct addrinfo *hints, const struct gai_plan *p,
                     struct addrinfo **res)
{
    struct addrinfo *head = NULL, **tail = &head, h;
    int rc = 0;
    for (unsigned i = 0; i < p->n; i++) {
        struct addrinfo *part = NULL;
        gai_hints(hints, p->addr[i].family, &h);
        rc = libc_getaddrinfo(p->addr[i].text, service, &h, &part);
        if (rc != 0)
            goto out;
        *tail = part;
        while (*tail != NULL)
            tail = &(*tail)->ai_next;
    }
    if (head != NULL && hints != NULL && (hints->ai_flags & AI_CANONNAME)) {
        free(head->ai_canonname);
        head->ai_canonname = strdup(e->fqdn);
        if (head->ai_canonname == NULL)
            rc = EAI_MEMORY;
    }
out:
    if (rc != 0) {
        if (head != NULL)
            freeaddrinfo(head);
        return rc;
    }
    *res = head;
    return 0;
}

#else /* musl */

/* IMPORTANT (musl >= 1.1.20): getaddrinfo() makes the whole result ONE
 * calloc() block, an array of struct aibuf followed by the canonical name;
 * freeaddrinfo(p) finds the block from the last node's "slot" and frees it
 * when the block's "ref" count drops to 0. So results of two calls can NOT
 * be chained (one block would leak, or be freed twice), and a foreign
 * ai_canonname would never be freed. We therefore lay the result out the
 * way musl does, one block, with the node contents taken from the real
 * getaddrinfo() on each numeric address (so services, socktypes and
 * protocols are libc's own), and musl's freeaddrinfo() frees it whole.
 * The layout is private to musl, so it is checked once against a real
 * result (gai_musl_layout_ok); if it ever differs we fall back to returning
 * only the first address, straight from libc. */
struct gai_musl_aibuf {
    struct addrinfo ai;
    union {
        struct sockaddr_in sin;
        struct sockaddr_in6 sin6;
    } sa;
    volatile int lock[1];
    short slot, ref;
};

static pthread_once_t gai_musl_once = PTHREAD_ONCE_INIT;
static int gai_musl_ok;

static void gai_musl_probe(void)
{
    struct addrinfo h = {.ai_flags = AI_NUMERICHOST | AI_CANONNAME,
                         .ai_family = AF_INET};
    struct addrinfo *r = NULL;
    const size_t sz = sizeof(struct gai_musl_aibuf);
    if (libc_getaddrinfo("127.0.0.1", NULL, &h, &r) != 0 || r == NULL)
        return;
    /* musl answers a numeric host with socktype 0 with two nodes (TCP, UDP). */
    struct addrinfo *r1 = r->ai_next;
    const struct gai_musl_aibuf *b = (const void *)r;
    bool ok = r1 != NULL && r1->ai_next == NULL &&
              (const char *)r1 - (const char *)r == (ptrdiff_t)sz &&
              r->ai_addr == (const void *)&b[0].sa &&
              r1->ai_addr == (const void *)&b[1].sa &&
              r->ai_canonname == (const char *)r + 2 * sz &&
              r1->ai_canonname == r->ai_canonname &&
              strcmp(r->ai_canonname, "127.0.0.1") == 0 && b[0].slot == 0 &&
              b[1].slot == 1 && b[0].ref == 2;
    freeaddrinfo(r);
    gai_musl_ok = ok;
    if (!ok)
        log_debug("getaddrinfo: unknown musl result layout; tailnet names "
                  "resolve to their first address only");
}

#define GAI_MAX_NODES (2 * NAMES_MAX_ADDRS * 3)

static int gai_build(const struct names_entry *e, const char *service,
                     const struct addrinfo *hints, const struct gai_plan *p,
                     struct addrinfo **res)
{
    struct addrinfo h, *part, *it;
    int rc;

    pthread_once(&gai_musl_once, gai_musl_probe);
    if (!gai_musl_ok) {
        gai_hints(hints, p->addr[0].family, &h);
        return libc_getaddrinfo(p->addr[0].text, service, &h, res);
    }

    struct {
        int family, socktype, protocol;
        socklen_t addrlen;
        struct sockaddr_in6 sa;
    } node[GAI_MAX_NODES];
    size_t n = 0;
    for (unsigned i = 0; i < p->n; i++) {
        gai_hints(hints, p->addr[i].family, &h);
        part = NULL;
        rc = libc_getaddrinfo(p->addr[i].text, service, &h, &part);
        if (rc != 0)
            return rc;
        for (it = part; it != NULL && n < GAI_MAX_NODES; it = it->ai_next, n++) {
            node[n].family = it->ai_family;
            node[n].socktype = it->ai_socktype;
            node[n].protocol = it->ai_protocol;
            node[n].addrlen = it->ai_addrlen <= sizeof node[n].sa
                                  ? it->ai_addrlen : (socklen_t)sizeof node[n].sa;
            memcpy(&node[n].sa, it->ai_addr, node[n].addrlen);
        }
        freeaddrinfo(part);
    }
    if (n == 0)
        return EAI_NONAME;

    size_t canon_len = hints != NULL && (hints->ai_flags & AI_CANONNAME)
                           ? strlen(e->fqdn) : 0;
    struct gai_musl_aibuf *out = calloc(1, n * sizeof *out + canon_len + 1);
    if (out == NULL)
        return EAI_MEMORY;
    char *canon = NULL;
    if (canon_len > 0) {
        canon = (char *)&out[n];
        memcpy(canon, e->fqdn, canon_len + 1);
    }
    for (size_t k = 0; k < n; k++) {
        out[k].slot = (short)k;
        out[k].ai.ai_family = node[k].family;
        out[k].ai.ai_socktype = node[k].socktype;
        out[k].ai.ai_protocol = node[k].protocol;
        out[k].ai.ai_addrlen = node[k].addrlen;
        out[k].ai.ai_addr = (void *)&out[k].sa;
        out[k].ai.ai_canonname = canon;
        memcpy(&out[k].sa, &node[k].sa, node[k].addrlen);
        if (k > 0)
            out[k - 1].ai.ai_next = &out[k].ai;
    }
    out[0].ref = (short)n;
    *res = &out[0].ai;
    return 0;
}
#endif

TSSHIM_EXPORT int getaddrinfo(const char *node, const char *service,
                              const struct addrinfo *hints,
                              struct addrinfo **res)
{
    struct names_entry e;
    struct gai_plan plan;
    int family = hints != NULL ? hints->ai_family : AF_UNSPEC;
    int flags = hints != NULL ? hints->ai_flags : 0;

    /* The fast path: no name, a numeric host, or a name that can never be
     * a tailnet name costs a few compares and no map access. */
    if (node == NULL || (flags & AI_NUMERICHOST) || res == NULL ||
        names_trivially_not_tailnet(node))
        return libc_getaddrinfo(node, service, hints, res);

    switch (names_lookup(node, &e)) {
    case NAMES_NOT_TAILNET:
        return libc_getaddrinfo(node, service, hints, res);
    case NAMES_MISSING:
        log_debug("getaddrinfo(%.80s): tailnet name not in the name map: "
                  "EAI_NONAME (not asking DNS)", node);
        return EAI_NONAME;
    case NAMES_FOUND:
        break;
    }
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        return EAI_FAMILY;
    int rc = gai_plan(&e, family, flags, &plan);
    if (rc == 0)
        rc = gai_build(&e, service, hints, &plan, res);
    log_debug("getaddrinfo(%.80s): tailnet name %s, %u address(es): %s", node,
              e.fqdn, plan.n, rc == 0 ? "ok" : gai_strerror(rc));
    return rc;
}
