/* See dnssock.h. */
#include "dnssock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "route.h"

struct dnssock {
    ino_t ino;
    socklen_t nslen;
    struct sockaddr_storage ns;
    /* dnssock_keep's copy: own, installed over fd in process pid. */
    bool kept;
    int own, fd;
    pid_t pid;
    unsigned long kept_seq; /* the oldest copy goes first */
};

static struct dnssock socks[DNSSOCK_MAX];
static size_t nsocks, sock_next;
static unsigned long kept_seq;
static atomic_bool any;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Under lock. */
static struct dnssock *find(ino_t ino)
{
    for (size_t i = 0; i < nsocks; i++)
        if (socks[i].ino == ino)
            return &socks[i];
    return NULL;
}

/* Under lock: closes e's copy, if it has one. */
static void drop_copy(struct dnssock *e)
{
    if (e->kept)
        close(e->own);
    e->kept = false;
}

/* Does fd in process pid still name e's socket? */
static bool still_installed(const struct dnssock *e)
{
    char path[64];
    struct stat sb;
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)e->pid, e->fd);
    return stat(path, &sb) == 0 && sb.st_ino == e->ino && S_ISSOCK(sb.st_mode);
}

void dnssock_remember(ino_t ino, const void *ns, socklen_t nslen)
{
    if (nslen > sizeof socks[0].ns)
        nslen = sizeof socks[0].ns;
    pthread_mutex_lock(&lock);
    struct dnssock *s = find(ino);
    if (!s) {
        s = &socks[sock_next];
        drop_copy(s); /* the oldest entry is forgotten */
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
    pthread_mutex_lock(&lock);
    const struct dnssock *e = find(ino);
    if (e) {
        *ns = e->ns;
        *nslen = e->nslen;
    }
    pthread_mutex_unlock(&lock);
    return e != NULL;
}

void dnssock_keep(ino_t ino, int s, pid_t pid, int fd)
{
    pthread_mutex_lock(&lock);
    struct dnssock *e = find(ino), *oldest = NULL;
    if (!e) {
        pthread_mutex_unlock(&lock);
        close(s);
        return;
    }
    drop_copy(e); /* a second copy of the same socket replaces the first */
    size_t nkept = 0;
    for (size_t i = 0; i < nsocks; i++) {
        struct dnssock *o = &socks[i];
        if (!o->kept)
            continue;
        if (!still_installed(o)) {
            drop_copy(o);
            continue;
        }
        nkept++;
        if (!oldest || o->kept_seq < oldest->kept_seq)
            oldest = o;
    }
    if (nkept >= DNSSOCK_KEEP_MAX)
        drop_copy(oldest);
    e->kept = true;
    e->own = s;
    e->fd = fd;
    e->pid = pid;
    e->kept_seq = ++kept_seq;
    pthread_mutex_unlock(&lock);
}

int dnssock_dup_kept(ino_t ino)
{
    pthread_mutex_lock(&lock);
    const struct dnssock *e = find(ino);
    int d = e && e->kept ? fcntl(e->own, F_DUPFD_CLOEXEC, 0) : -1;
    int err = e && e->kept ? errno : ENOENT;
    pthread_mutex_unlock(&lock);
    return d >= 0 ? d : -err;
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
