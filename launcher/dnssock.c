/* See dnssock.h. */
#include "dnssock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "route.h"

struct dnssock {
    ino_t ino;
    socklen_t nslen;
    struct sockaddr_storage ns;
};

static struct dnssock socks[DNSSOCK_MAX];
static size_t nsocks, sock_next;
static atomic_bool any;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void dnssock_remember(ino_t ino, const void *ns, socklen_t nslen)
{
    if (nslen > sizeof socks[0].ns)
        nslen = sizeof socks[0].ns;
    pthread_mutex_lock(&lock);
    struct dnssock *s = NULL;
    for (size_t i = 0; i < nsocks && !s; i++)
        if (socks[i].ino == ino)
            s = &socks[i];
    if (!s) {
        s = &socks[sock_next];
        sock_next = (sock_next + 1) % DNSSOCK_MAX;
        if (nsocks < DNSSOCK_MAX)
            nsocks++;
    }
    s->ino = ino;
    s->nslen = nslen;
    memset(&s->ns, 0, sizeof s->ns);
    memcpy(&s->ns, ns, nslen);
    atomic_store(&any, true);
    pthread_mutex_unlock(&lock);
}

bool dnssock_lookup(ino_t ino, struct sockaddr_storage *ns, socklen_t *nslen)
{
    bool found = false;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nsocks && !found; i++)
        if (socks[i].ino == ino) {
            *ns = socks[i].ns;
            *nslen = socks[i].nslen;
            found = true;
        }
    pthread_mutex_unlock(&lock);
    return found;
}

bool dnssock_empty(void)
{
    return !atomic_load(&any);
}

bool dnssock_from_stub(const struct sockaddr *src, socklen_t srclen,
                       const struct sockaddr_storage *stub)
{
    uint8_t a[16], b[16];
    uint16_t pa, pb;
    if (!route_addr16(src, srclen, a, &pa) ||
        !route_addr16((const struct sockaddr *)stub, sizeof *stub, b, &pb))
        return false;
    return pa == pb && memcmp(a, b, 16) == 0;
}
