#include "pending.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tsan_sync.h"

/* NULL until the first asynchronous connect of this process (or of a parent
 * it was forked from: the pointer and the shared pages are inherited). */
_Atomic(struct pending_table *) pending_table_ptr;

unsigned pending_live(void)
{
    struct pending_table *t = atomic_load_explicit(&pending_table_ptr, memory_order_acquire);
    return t == NULL ? 0 : atomic_load_explicit(&t->live, memory_order_relaxed);
}

/* mmap() is async-signal-safe; two threads racing here keep one mapping. */
static struct pending_table *table_get(void)
{
    struct pending_table *t = atomic_load_explicit(&pending_table_ptr, memory_order_acquire);
    if (t != NULL)
        return t;
    void *m = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    struct pending_table *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&pending_table_ptr, &expected,
                                                 (struct pending_table *)m, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        munmap(m, sizeof *t);
        return expected;
    }
    return (struct pending_table *)m;
}

static bool try_lock(struct pending *p)
{
    uint32_t unlocked = 0;
    if (!atomic_compare_exchange_strong_explicit(&p->lock, &unlocked, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        return false;
    tsan_acquire(&p->lock);
    return true;
}

void pending_release(struct pending *p)
{
    tsan_release(&p->lock);
    atomic_store_explicit(&p->lock, 0, memory_order_release);
}

uint64_t pending_socket_ino(int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
        return 0;
    return (uint64_t)st.st_ino;
}

static struct pending *claim(struct pending_table *t, int fd, uint64_t ino, long long start_ms,
                             long long deadline_ms)
{
    for (unsigned i = 0; i < PENDING_SLOTS; i++) {
        struct pending *p = &t->slot[i];
        if (atomic_load_explicit(&p->ino, memory_order_relaxed) != 0 || !try_lock(p))
            continue;
        if (atomic_load_explicit(&p->ino, memory_order_relaxed) != 0) {
            pending_release(p);
            continue;
        }
        p->err = 0;
        p->pid = (int)getpid();
        p->fd = fd;
        p->have = 0;
        p->hold_writes = false;
        p->unsent = 0;
        p->start_ms = start_ms;
        atomic_store_explicit(&p->deadline_ms, deadline_ms, memory_order_relaxed);
        atomic_store_explicit(&p->state, PENDING_WAIT, memory_order_relaxed);
        atomic_fetch_add_explicit(&t->live, 1, memory_order_relaxed);
        atomic_store_explicit(&p->ino, ino, memory_order_release);
        return p;
    }
    return NULL;
}

struct pending *pending_add(int fd, uint64_t ino, long long start_ms, long long deadline_ms)
{
    struct pending_table *t = table_get();
    if (t == NULL || ino == 0)
        return NULL;
    struct pending *p = claim(t, fd, ino, start_ms, deadline_ms);
    if (p == NULL) {
        pending_sweep();
        p = claim(t, fd, ino, start_ms, deadline_ms);
    }
    return p;
}

struct pending *pending_acquire(int fd, bool *busy)
{
    if (busy != NULL)
        *busy = false;
    struct pending_table *t = atomic_load_explicit(&pending_table_ptr, memory_order_acquire);
    if (t == NULL || atomic_load_explicit(&t->live, memory_order_relaxed) == 0)
        return NULL;
    uint64_t ino = pending_socket_ino(fd);
    if (ino == 0)
        return NULL;
    for (unsigned i = 0; i < PENDING_SLOTS; i++) {
        struct pending *p = &t->slot[i];
        if (atomic_load_explicit(&p->ino, memory_order_relaxed) != ino)
            continue;
        if (!try_lock(p)) {
            if (busy != NULL)
                *busy = true;
            return NULL;
        }
        /* Re-check under the lock: the entry may have been freed meanwhile. */
        if (atomic_load_explicit(&p->ino, memory_order_acquire) == ino)
            return p;
        pending_release(p);
        return NULL;
    }
    return NULL;
}

bool pending_has(int fd)
{
    struct pending_table *t = atomic_load_explicit(&pending_table_ptr, memory_order_acquire);
    if (t == NULL || atomic_load_explicit(&t->live, memory_order_relaxed) == 0)
        return false;
    uint64_t ino = pending_socket_ino(fd);
    if (ino == 0)
        return false;
    for (unsigned i = 0; i < PENDING_SLOTS; i++)
        if (atomic_load_explicit(&t->slot[i].ino, memory_order_relaxed) == ino)
            return true;
    return false;
}

void pending_remove(struct pending *p)
{
    struct pending_table *t = atomic_load_explicit(&pending_table_ptr, memory_order_acquire);
    atomic_store_explicit(&p->state, PENDING_FREE, memory_order_relaxed);
    atomic_store_explicit(&p->ino, 0, memory_order_release);
    atomic_fetch_sub_explicit(&t->live, 1, memory_order_relaxed);
    pending_release(p);
}

long long pending_next_deadline(void)
{
    struct pending_table *t = atomic_load_explicit(&pending_table_ptr, memory_order_acquire);
    long long next = -1;
    if (t == NULL)
        return -1;
    for (unsigned i = 0; i < PENDING_SLOTS; i++) {
        struct pending *p = &t->slot[i];
        if (atomic_load_explicit(&p->ino, memory_order_acquire) == 0 ||
            atomic_load_explicit(&p->state, memory_order_relaxed) != PENDING_WAIT)
            continue;
        long long d = atomic_load_explicit(&p->deadline_ms, memory_order_relaxed);
        if (next < 0 || d < next)
            next = d;
    }
    return next;
}

void pending_each_inherited(void (*fn)(int fd))
{
    struct pending_table *t = atomic_load_explicit(&pending_table_ptr, memory_order_acquire);
    if (t == NULL)
        return;
    int pid = (int)getpid();
    for (unsigned i = 0; i < PENDING_SLOTS; i++) {
        struct pending *p = &t->slot[i];
        uint64_t ino = atomic_load_explicit(&p->ino, memory_order_acquire);
        if (ino == 0)
            continue;
        /* Holders never block while they hold an entry, so this is short;
         * bounded all the same, for an execve() from a signal handler that
         * interrupted the holder in this very thread. */
        unsigned tries = 0;
        while (!try_lock(p) && ++tries < 1000)
            sched_yield();
        if (tries == 1000)
            continue;
        /* Read who registered it under the lock: the slot may be freed and
         * claimed again meanwhile. */
        int fd = -1;
        if (atomic_load_explicit(&p->ino, memory_order_relaxed) == ino && p->pid == pid)
            fd = p->fd;
        pending_release(p);
        int fl = fd < 0 ? -1 : fcntl(fd, F_GETFD);
        if (fl >= 0 && (fl & FD_CLOEXEC) == 0 && pending_socket_ino(fd) == ino)
            fn(fd);
    }
}

void pending_sweep(void)
{
    struct pending_table *t = atomic_load_explicit(&pending_table_ptr, memory_order_acquire);
    if (t == NULL)
        return;
    int pid = (int)getpid();
    for (unsigned i = 0; i < PENDING_SLOTS; i++) {
        struct pending *p = &t->slot[i];
        uint64_t ino = atomic_load_explicit(&p->ino, memory_order_acquire);
        if (ino == 0 || !try_lock(p))
            continue;
        /* Only this process's own fd table can tell that the socket is gone;
         * a socket still open under a dup'd number alone is indistinguishable
         * (README: limits). */
        if (atomic_load_explicit(&p->ino, memory_order_relaxed) == ino && p->pid == pid &&
            pending_socket_ino(p->fd) != ino)
            pending_remove(p);
        else
            pending_release(p);
    }
}
