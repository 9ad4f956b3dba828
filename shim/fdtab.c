#include "fdtab.h"
#include "tsan_sync.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* IMPORTANT: no close() hook and no lock. Each slot is a seqlock keyed by the
 * socket's inode (unique among live sockets; st_dev is sockfs's for all), so
 * every fd that refers to the socket -- dup'd, inherited, moved with dup2 --
 * finds the same entry, and a closed fd whose number is reused by another
 * socket simply stops matching. Writers never wait (a busy slot is skipped)
 * and readers retry a bounded number of times, so a fork() or a signal in the
 * middle of an update cannot deadlock anyone.
 *
 * Slots are found by hashing the inode, then probing FDTAB_PROBE neighbours.
 * A slot is reused when empty, when its socket is gone (the fd that recorded
 * it, in the process that recorded it, is another file now), or, only when
 * neither exists, the oldest of the window: more than FDTAB_SLOTS tunnelled
 * sockets open at once in one window is the one case where an old socket's
 * getpeername() falls back to the proxy address. */

#define FDTAB_SLOTS 4096
#define FDTAB_PROBE 32
#define FDTAB_WORDS 4 /* a sockaddr_in6 (28 bytes) in 64-bit words */

struct slot {
    _Atomic uint32_t seq; /* odd while being written */
    _Atomic uint64_t ino;
    _Atomic uint64_t stamp; /* insertion order, for the last-resort choice */
    _Atomic int pid, fd;    /* who recorded it, as which fd */
    _Atomic uint64_t addr[FDTAB_WORDS];
};

static struct slot table[FDTAB_SLOTS];
static _Atomic uint64_t clock_;

static uint64_t socket_ino(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
        return 0;
    return (uint64_t)st.st_ino;
}

/* Is the fd number another thread recorded no longer that socket? fstat
 * on a number that may have been closed and reused is the point: the inode
 * decides. IMPORTANT: TSan would report the probe as a race with whichever
 * thread created the number's current file; it is not one. */
static bool recorded_fd_gone(int fd, uint64_t ino)
{
    tsan_ignore_begin();
    bool gone = socket_ino(fd) != ino;
    tsan_ignore_end();
    return gone;
}

static unsigned home(uint64_t ino)
{
    return (unsigned)((ino * 0x9E3779B97F4A7C15ull) >> 52) % FDTAB_SLOTS;
}

/* The slot to (re)write for ino: its own, an empty one, a dead one, or the
 * oldest of the window, in that order of preference. */
static struct slot *pick(uint64_t ino)
{
    struct slot *empty = NULL, *dead = NULL, *oldest = NULL;
    uint64_t oldest_stamp = UINT64_MAX;
    int pid = (int)getpid();
    for (unsigned k = 0; k < FDTAB_PROBE; k++) {
        struct slot *s = &table[(home(ino) + k) % FDTAB_SLOTS];
        uint64_t sino = atomic_load_explicit(&s->ino, memory_order_relaxed);
        if (sino == ino)
            return s;
        if (sino == 0) {
            if (empty == NULL)
                empty = s;
            continue;
        }
        if (dead == NULL && empty == NULL &&
            atomic_load_explicit(&s->pid, memory_order_relaxed) == pid &&
            recorded_fd_gone(atomic_load_explicit(&s->fd, memory_order_relaxed), sino))
            dead = s;
        uint64_t st = atomic_load_explicit(&s->stamp, memory_order_relaxed);
        if (st < oldest_stamp) {
            oldest_stamp = st;
            oldest = s;
        }
    }
    return empty != NULL ? empty : dead != NULL ? dead : oldest;
}

void fdtab_remember(int fd, const struct sockaddr *dest, socklen_t len)
{
    uint64_t ino = socket_ino(fd), words[FDTAB_WORDS] = {0};
    if (ino == 0 || len > sizeof words)
        return;
    memcpy(words, dest, len);

    struct slot *s = pick(ino);
    uint32_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((seq & 1) != 0 || !atomic_compare_exchange_strong_explicit(
                              &s->seq, &seq, seq + 1, memory_order_acquire, memory_order_relaxed))
        return;
    atomic_store_explicit(&s->ino, ino, memory_order_relaxed);
    atomic_store_explicit(&s->stamp, atomic_fetch_add(&clock_, 1) + 1, memory_order_relaxed);
    atomic_store_explicit(&s->pid, (int)getpid(), memory_order_relaxed);
    atomic_store_explicit(&s->fd, fd, memory_order_relaxed);
    for (int i = 0; i < FDTAB_WORDS; i++)
        atomic_store_explicit(&s->addr[i], words[i], memory_order_relaxed);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
}

/* Reads slot s consistently: true with its address when it holds ino. */
static bool read_slot(struct slot *s, uint64_t ino, uint64_t words[FDTAB_WORDS])
{
    for (int attempt = 0; attempt < 4; attempt++) {
        uint32_t before = atomic_load_explicit(&s->seq, memory_order_acquire);
        if ((before & 1) != 0)
            continue;
        uint64_t sino = atomic_load_explicit(&s->ino, memory_order_relaxed);
        for (int i = 0; i < FDTAB_WORDS; i++)
            words[i] = atomic_load_explicit(&s->addr[i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&s->seq, memory_order_relaxed) != before)
            continue;
        return sino == ino;
    }
    return false;
}

bool fdtab_lookup(int fd, struct sockaddr_storage *dest, socklen_t *len)
{
    uint64_t ino = socket_ino(fd), words[FDTAB_WORDS];
    if (ino == 0)
        return false;
    for (unsigned k = 0; k < FDTAB_PROBE; k++) {
        if (!read_slot(&table[(home(ino) + k) % FDTAB_SLOTS], ino, words))
            continue;
        memset(dest, 0, sizeof *dest);
        memcpy(dest, words, sizeof words);
        *len =
            dest->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        return true;
    }
    return false;
}
