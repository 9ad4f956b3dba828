/* Tunnels whose SOCKS5 reply has not been read yet (asynchronous connect).
 *
 * A non-blocking connect() to the tailnet sends the SOCKS5 request and
 * returns EINPROGRESS; the reply arrives only after tailscaled has dialled
 * the peer (tailscale net/socks5/socks5.go handleTCP writes it after its
 * dial). Until then the socket has an entry here, and the read-side hooks,
 * the poll/select gates and getsockopt(SO_ERROR) consume the reply through
 * tunnel_settle() before the application sees a byte.
 *
 * IMPORTANT: entries live in one anonymous MAP_SHARED mapping, created on the
 * first asynchronous connect, so a forked child and its parent agree on
 * which replies are already consumed (both hold the same socket). Entries are
 * keyed by the socket's inode, so a dup'd fd finds its entry and a reused fd
 * number never finds a stale one. Every change to an entry happens under the
 * entry's own try-lock; nothing here ever waits for a lock, so a signal
 * handler, a cancelled thread or a fork cannot deadlock on it. */
#ifndef TSSHIM_PENDING_H
#define TSSHIM_PENDING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "socks5.h"

#define PENDING_SLOTS 256

enum pending_state {
    PENDING_FREE = 0,
    PENDING_WAIT,  /* request sent, reply (or part of it) outstanding */
    PENDING_FAILED /* reply said no, or the deadline passed: report err once */
};

struct pending {
    _Atomic uint64_t ino;          /* socket inode; 0 = free slot */
    _Atomic uint32_t lock;         /* 1 while one thread works on the entry */
    _Atomic uint32_t state;        /* enum pending_state */
    int err;                       /* PENDING_FAILED: the errno to report */
    int pid, fd;                   /* who connected, as which fd (for the sweep) */
    long long start_ms;            /* connect() time, CLOCK_MONOTONIC */
    _Atomic long long deadline_ms; /* start + TSRUN_CONNECT_TIMEOUT_MS */
    uint16_t have;                 /* reply bytes read so far into buf */
    bool hold_writes;              /* the server may drop bytes that come with the
                                      request (TSRUN_SOCKS5_PIPELINE=0): app writes
                                      wait for the reply */
    uint8_t unsent;                /* the last `unsent` bytes of request[] are still
                                      to send: the CONNECT goes out once the method
                                      reply is in (hold_writes) */
    uint8_t request[SOCKS5_REQUEST_MAX - SOCKS5_GREETING_LEN];
    uint8_t buf[SOCKS5_REPLY_MAX]; /* method reply + CONNECT reply */
    struct sockaddr_storage dest;  /* what the app asked for (logs) */
};

/* The shared table (one MAP_SHARED mapping). Visible here so that
 * pending_any() below is two loads and no call. */
struct pending_table {
    _Atomic unsigned live; /* entries not FREE */
    struct pending slot[PENDING_SLOTS];
};
/* NULL until the first asynchronous connect (shim/pending.c). */
extern _Atomic(struct pending_table *) pending_table_ptr;

/* The fast path every hook takes first: false when no reply is outstanding
 * anywhere in this process (one relaxed load while none ever was, two once
 * the table exists). Inline, so that an ordinary program's read() pays the
 * load and a branch, not a call. */
static inline bool pending_any(void)
{
    struct pending_table *t = atomic_load_explicit(&pending_table_ptr, memory_order_relaxed);
    return __builtin_expect(t != NULL, 0) &&
           atomic_load_explicit(&t->live, memory_order_relaxed) != 0;
}

/* Registers fd's socket (inode ino; times in CLOCK_MONOTONIC ms) and returns
 * its entry locked, in state PENDING_WAIT, or NULL when the table cannot be
 * created or is full even after a sweep: the caller then connects
 * synchronously. */
struct pending *pending_add(int fd, uint64_t ino, long long start_ms, long long deadline_ms);

/* The entry of the socket open as fd, locked by the caller, or NULL when
 * there is none. *busy (may be NULL) is set when an entry exists but another
 * thread holds it. Costs one fstat() while any entry exists. */
struct pending *pending_acquire(int fd, bool *busy);

/* True when fd's socket has an entry (not locked; the answer may be stale
 * by the time the caller acts on it). */
bool pending_has(int fd);

/* Unlocks an entry acquired above. */
void pending_release(struct pending *p);

/* Frees a locked entry (reply consumed or failure reported) and unlocks it. */
void pending_remove(struct pending *p);

/* The earliest deadline of all waiting entries, or -1 (for gate timeouts). */
long long pending_next_deadline(void);

/* Number of live entries (tests). */
unsigned pending_live(void);

/* Frees entries whose connecting fd in this process no longer refers to
 * their socket (the app closed it while the reply was outstanding). */
void pending_sweep(void);

/* Calls fn(fd) for every entry this process registered whose fd still
 * refers to its socket and is not close-on-exec (before execve). */
void pending_each_inherited(void (*fn)(int fd));

/* The inode of fd when it is a socket, else 0 (one fstat). */
uint64_t pending_socket_ino(int fd);

#endif
