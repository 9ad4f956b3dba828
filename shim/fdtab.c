#include "fdtab.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

/* IMPORTANT: no close() hook and no lock. Each slot is a seqlock keyed by the
 * socket's (st_dev, st_ino): a closed fd whose number is reused by another
 * socket simply stops matching, so an entry can never describe the wrong
 * socket. Writers never wait (a busy slot is skipped) and readers retry a
 * bounded number of times, so a fork() or a signal in the middle of an update
 * cannot deadlock anyone. */

#define FDTAB_SLOTS 256
#define FDTAB_WORDS 4 /* a sockaddr_in6 (28 bytes) in 64-bit words */

struct slot {
    _Atomic uint32_t seq; /* odd while being written */
    _Atomic uint64_t dev, ino;
    _Atomic uint64_t addr[FDTAB_WORDS];
};

static struct slot table[FDTAB_SLOTS];

static bool socket_identity(int fd, uint64_t *dev, uint64_t *ino)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return false;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return true;
}

void fdtab_remember(int fd, const struct sockaddr *dest, socklen_t len)
{
    uint64_t dev, ino, words[FDTAB_WORDS] = {0};
    if (fd < 0 || len > sizeof words || !socket_identity(fd, &dev, &ino))
        return;
    memcpy(words, dest, len);

    struct slot *s = &table[fd % FDTAB_SLOTS];
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((seq & 1) != 0 ||
        !atomic_compare_exchange_strong_explicit(&s->seq, &seq, seq + 1,
                                                 memory_order_acquire,
                                                 memory_order_relaxed))
        return;
    atomic_store_explicit(&s->dev, dev, memory_order_relaxed);
    atomic_store_explicit(&s->ino, ino, memory_order_relaxed);
    for (int i = 0; i < FDTAB_WORDS; i++)
        atomic_store_explicit(&s->addr[i], words[i], memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

bool fdtab_lookup(int fd, struct sockaddr_storage *dest, socklen_t *len)
{
    uint64_t dev, ino, words[FDTAB_WORDS];
    if (fd < 0 || !socket_identity(fd, &dev, &ino))
        return false;

    struct slot *s = &table[fd % FDTAB_SLOTS];
    for (int attempt = 0; attempt < 4; attempt++) {
        uint32_t before = atomic_load_explicit(&s->seq, memory_order_acquire);
        if ((before & 1) != 0)
            continue;
        uint64_t sdev = atomic_load_explicit(&s->dev, memory_order_relaxed);
        uint64_t sino = atomic_load_explicit(&s->ino, memory_order_relaxed);
        for (int i = 0; i < FDTAB_WORDS; i++)
            words[i] = atomic_load_explicit(&s->addr[i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != before)
            continue;
        if (before == 0 || sdev != dev || sino != ino)
            return false;
        memset(dest, 0, sizeof *dest);
        memcpy(dest, words, sizeof words);
        *len = dest->ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                          : sizeof(struct sockaddr_in6);
        return true;
    }
    return false;
}
