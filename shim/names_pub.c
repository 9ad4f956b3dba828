/* The process-wide name map: loaded when the file changes, published by
 * pointer swap, read without locks (names.h).
 *
 * IMPORTANT: no lock anywhere. A signal handler may call connect() (which
 * asks names_addr_state and names_backend_stopped) or getaddrinfo() while
 * the thread it interrupted is inside this file; a thread may be cancelled
 * or the process may fork at any instruction. So:
 *
 *   - the maps live in PUB_SLOTS static slots. `pub_cur` names the current
 *     one. A slot is FREE, BUSY (one thread builds or frees it), LIVE
 *     (published; its fields never change) or RETIRED (replaced; freed
 *     once no reader holds it).
 *   - a reader increments the slot's reader count, then checks that the
 *     slot is still current (else it steps back and retries). A reclaimer
 *     frees a RETIRED slot only when it saw the count at 0 after the slot
 *     stopped being current; a reader that increments later fails its
 *     check before touching the map. (seq_cst on both sides: the Dekker
 *     pattern.)
 *   - reloads need no mutual exclusion: each builds into a slot it won by
 *     compare-and-swap and swaps it in. A claim (a timestamp) only keeps
 *     two threads from doing the same work; a reload never waits for it,
 *     and a claim older than PUB_CLAIM_STALE_MS is ignored (its owner was
 *     killed by a cancellation or left behind by fork()). While a claim is
 *     held, readers use the current map (stale by one reload at most);
 *     with no map yet, they load one themselves.
 *   - a reload disables cancellation (open and close are cancellation
 *     points), so a cancelled thread never leaves a BUSY slot behind.
 *   - fork(): the child has one thread. Its handler sets each reader count
 *     to what this thread holds (thread-local, initial-exec: no allocation
 *     on access) and frees nobody's BUSY slots but its own, so slots held
 *     by threads that do not exist in the child are not leaked.
 *   - no slot free (PUB_SLOTS - 1 old maps all still held by readers): the
 *     reload is skipped and the current map stays.
 *
 * Sharing: a version-2 file is mapped read-only (MAP_PRIVATE, never
 * written), so its pages are the page cache's, shared by every process;
 * only the pages a lookup touches are faulted in. A version-1 text file is
 * read and turned into a private image (names_text.h).
 *
 * Staleness: stat() runs at most once per NAMES_RECHECK_MS per process
 * (CLOCK_MONOTONIC_COARSE, a vDSO read), so resolving non-tailnet names costs
 * no syscall in a tight loop. A changed (dev, ino, size, mtime) reloads. */
#include "names.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "file_id.h"
#include "log.h"
#include "names_text.h"
#include "pages.h"

#define PUB_SLOTS 8
#define PUB_CLAIM_STALE_MS 2000u
#define PUB_ACQUIRE_TRIES 64

enum { SLOT_FREE = 0, SLOT_BUSY, SLOT_LIVE, SLOT_RETIRED };

struct pub_slot {
    atomic_int state;
    atomic_uint readers;
    /* Written while BUSY by its owner, read-only once LIVE. */
    struct names_map map;
    struct file_id id;
    char host[NAMES_MAX_NAME]; /* first label of gethostname() */
    bool have_map;             /* false: the file is absent or unusable ("no names") */
};

static struct pub_slot pub_slot[PUB_SLOTS];
static atomic_int pub_cur = -1;
static atomic_uint pub_due;   /* coarse ms of the next stat(); wraps */
static atomic_uint pub_claim; /* coarse ms a reload started; 0 = none */
static atomic_int pub_atfork_done;

#define TLS _Thread_local __attribute__((tls_model("initial-exec")))
static TLS unsigned char tls_held[PUB_SLOTS]; /* reader counts this thread holds */
static TLS unsigned char tls_busy[PUB_SLOTS]; /* BUSY slots this thread owns */

static unsigned coarse_ms(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (unsigned)((unsigned long long)ts.tv_sec * 1000u + (unsigned)ts.tv_nsec / 1000000u);
#endif
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned)((unsigned long long)ts.tv_sec * 1000u + (unsigned)ts.tv_nsec / 1000000u);
}

/* a is at or after b, modulo 2^32 ms (49 days). */
static bool ms_reached(unsigned a, unsigned b)
{
    return (int)(a - b) >= 0;
}

/* ------------------------------------------------------------ readers */

/* The current slot, held; -1 when nothing was ever loaded. */
static int pub_acquire(void)
{
    for (int tries = 0; tries < PUB_ACQUIRE_TRIES; tries++) {
        int k = atomic_load(&pub_cur);
        if (k < 0)
            return -1;
        atomic_fetch_add(&pub_slot[k].readers, 1);
        if (atomic_load(&pub_cur) == k) {
            tls_held[k]++;
            return k;
        }
        atomic_fetch_sub(&pub_slot[k].readers, 1);
    }
    return -1; /* the map changed PUB_ACQUIRE_TRIES times meanwhile */
}

static void pub_release(int k)
{
    if (k < 0)
        return;
    tls_held[k]--;
    atomic_fetch_sub(&pub_slot[k].readers, 1);
}

static const struct names_map *slot_map(int k)
{
    return k >= 0 && pub_slot[k].have_map ? &pub_slot[k].map : NULL;
}

/* ------------------------------------------------------------ fork */

static void pub_atfork_child(void)
{
    for (int i = 0; i < PUB_SLOTS; i++) {
        atomic_store(&pub_slot[i].readers, tls_held[i]);
        /* Another thread's half-built or half-freed slot: its memory may
         * leak, the slot does not. */
        if (atomic_load(&pub_slot[i].state) == SLOT_BUSY && !tls_busy[i]) {
            pub_slot[i].have_map = false;
            atomic_store(&pub_slot[i].state, SLOT_FREE);
        }
    }
    atomic_store(&pub_claim, 0);
}

/* Registered on the first reload, not in a constructor (the shim runs none). */
static void pub_register_atfork(void)
{
    int zero = 0;
    if (atomic_compare_exchange_strong(&pub_atfork_done, &zero, 1))
        pthread_atfork(NULL, NULL, pub_atfork_child);
}

/* ------------------------------------------------------------ loading */

/* IMPORTANT: not strerror(): it may translate through gettext (locks,
 * malloc), and a reload can run inside a signal handler. */
static const char *errno_name(int e)
{
    switch (e) {
    case ENOENT:
        return "no such file (ENOENT)";
    case EACCES:
        return "permission denied (EACCES)";
    case ENOTDIR:
        return "not a directory (ENOTDIR)";
    case ELOOP:
        return "too many symlinks (ELOOP)";
    case EMFILE:
        return "too many open files (EMFILE)";
    case ENFILE:
        return "too many open files (ENFILE)";
    case ENOMEM:
        return "out of memory (ENOMEM)";
    case EIO:
        return "I/O error (EIO)";
    case ENODEV:
        return "cannot be mapped (ENODEV)";
    default:
        return "error";
    }
}

static void slot_unload(struct pub_slot *s)
{
    if (s->have_map) {
        if (s->map.anon)
            pages_free(s->map.mem, s->map.mem_len);
        else
            munmap(s->map.mem, s->map.mem_len);
    }
    s->have_map = false;
}

/* Reads a version-1 text file (size bytes) into a private image. */
static int load_text(int fd, size_t size, struct names_map *m, char *err, size_t errlen)
{
    size_t want = size + 1, got = 0; /* +1: notice growth */
    const char *why = NULL;
    void *img = NULL;
    size_t img_len = 0;
    char *buf = pages_alloc(want);
    int rc = -ENOMEM;
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    while (got < want) {
        ssize_t r = pread(fd, buf + got, want - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            snprintf(err, errlen, "read: %s (errno %d)", errno_name(errno), errno);
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    rc = -EINVAL;
    if (got == want) {
        snprintf(err, errlen, "file grew while being read (not replaced atomically?)");
        goto out;
    }
    rc = names_text_image(buf, got, &img, &img_len, err, errlen);
    if (rc < 0)
        goto out;
    rc = names_map_open(m, img, img_len, true, &why);
    if (rc < 0) {
        pages_free(img, img_len);
        snprintf(err, errlen, "%s", why);
    }
out:
    pages_free(buf, want);
    return rc;
}

/* Opens path into s (have_map, map, id). No fd survives this function.
 *
 * IMPORTANT: a version-2 file stays mapped while it is current, so it must
 * be replaced by rename(), never truncated in place (a read past a
 * truncated end is SIGBUS); tsrun always renames. */
static void slot_load(struct pub_slot *s, const char *path, char *err, size_t errlen)
{
    struct stat st;
    char magic[sizeof NM_MAGIC_V2 - 1];
    const char *why = NULL;
    s->have_map = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s (errno %d)", errno_name(errno), errno);
        s->id.present = false;
        return;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "fstat: %s (errno %d)", errno_name(errno), errno);
        goto out;
    }
    file_id_of(&st, &s->id);
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        goto out;
    }
    if (st.st_size > (off_t)NM_MAX_FILE) {
        snprintf(err, errlen, "larger than %u bytes", NM_MAX_FILE);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    if (size >= sizeof magic && pread(fd, magic, sizeof magic, 0) == (ssize_t)sizeof magic &&
        memcmp(magic, NM_MAGIC_V2, sizeof magic) == 0) {
        void *mem = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (mem == MAP_FAILED) {
            snprintf(err, errlen, "mmap: %s (errno %d)", errno_name(errno), errno);
            goto out;
        }
        /* Lookups touch a few scattered pages: no read-ahead. */
        (void)madvise(mem, size, MADV_RANDOM);
        if (names_map_open(&s->map, mem, size, false, &why) < 0) {
            munmap(mem, size);
            snprintf(err, errlen, "%s", why);
            goto out;
        }
        s->have_map = true;
        err[0] = '\0';
    } else if (size > NAMES_MAX_TEXT) {
        snprintf(err, errlen, "larger than %u bytes", NAMES_MAX_TEXT);
    } else {
        s->have_map = load_text(fd, size, &s->map, err, errlen) == 0;
    }
out:
    close(fd);
}

/* Frees RETIRED slots nobody reads. */
static void pub_reclaim(void)
{
    for (int i = 0; i < PUB_SLOTS; i++) {
        struct pub_slot *s = &pub_slot[i];
        int want = SLOT_RETIRED;
        if (atomic_load(&s->state) != SLOT_RETIRED || atomic_load(&s->readers) != 0)
            continue;
        if (!atomic_compare_exchange_strong(&s->state, &want, SLOT_BUSY))
            continue;
        tls_busy[i] = 1;
        slot_unload(s);
        tls_busy[i] = 0;
        atomic_store(&s->state, SLOT_FREE);
    }
}

/* A FREE slot, now BUSY and owned by this thread; -1 if none. */
static int pub_take_free(void)
{
    for (int i = 0; i < PUB_SLOTS; i++) {
        int want = SLOT_FREE;
        if (atomic_compare_exchange_strong(&pub_slot[i].state, &want, SLOT_BUSY)) {
            tls_busy[i] = 1;
            return i;
        }
    }
    return -1;
}

static void pub_publish(int j)
{
    atomic_store(&pub_slot[j].state, SLOT_LIVE);
    tls_busy[j] = 0;
    int old = atomic_exchange(&pub_cur, j);
    if (old >= 0)
        atomic_store(&pub_slot[old].state, SLOT_RETIRED);
}

static void reload(const char *path, int k)
{
    char host[NAMES_MAX_NAME] = "", short_host[NAMES_MAX_NAME] = "";
    char err[160] = "";
    struct stat st;
    struct file_id id = {0};

    pub_register_atfork();
    pub_reclaim();
    if (gethostname(host, sizeof host - 1) == 0)
        names_short(host, short_host);
    if (stat(path, &st) == 0)
        file_id_of(&st, &id);
    if (k >= 0 && file_id_eq(&id, &pub_slot[k].id) && strcmp(short_host, pub_slot[k].host) == 0)
        return;

    int j = pub_take_free();
    if (j < 0) {
        log_debug("names: every map slot is still read; keeping the current map");
        return;
    }
    struct pub_slot *s = &pub_slot[j];
    memcpy(s->host, short_host, sizeof s->host);
    s->id = id;
    if (id.present)
        slot_load(s, path, err, sizeof err);
    else
        snprintf(err, sizeof err, "%s (errno %d)", errno_name(errno), errno);
    bool have = s->have_map;
    unsigned count = have ? s->map.view.nodes : 0;
    pub_publish(j);
    pub_reclaim();
    if (have)
        log_debug("names: loaded %s: %u nodes%s%s", path, count, err[0] != '\0' ? "; " : "", err);
    else
        log_debug("names: %s: %s; no tailnet names from it (*.ts.net stays off DNS)", path, err);
}

/* Makes the current map reflect the file (at most once per recheck). */
static void pub_refresh(const char *path)
{
    unsigned now = coarse_ms();
    int k = atomic_load(&pub_cur);
    if (k >= 0 && !ms_reached(now, atomic_load(&pub_due)))
        return;
    unsigned claim = atomic_load(&pub_claim);
    bool stale = claim == 0 || ms_reached(now, claim + PUB_CLAIM_STALE_MS);
    unsigned mine = now != 0 ? now : 1;
    if (!stale || !atomic_compare_exchange_strong(&pub_claim, &claim, mine)) {
        if (k >= 0)
            return; /* another reload is under way: use the current map */
        mine = 0;   /* no map at all: load one alongside */
    }
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    atomic_store(&pub_due, now + NAMES_RECHECK_MS);
    reload(path, k);
    if (mine != 0) {
        unsigned expect = mine;
        atomic_compare_exchange_strong(&pub_claim, &expect, 0);
    }
    pthread_setcancelstate(cancel, NULL);
}

/* ------------------------------------------------------------ the API */

/* Names are looked up only when the shim is on and TSRUN_NAMES is set. */
static const char *names_path(void)
{
    const struct config *cfg = config_get();
    if (!cfg->enabled || cfg->names_path[0] == '\0')
        return NULL;
    return cfg->names_path;
}

/* name is the single label host (any case), with trailing dots at most. */
static bool is_host_name(const char *name, const char *host)
{
    size_t len = strcspn(name, "."), hl = strlen(host);
    if (hl == 0 || len != hl || strncasecmp(name, host, hl) != 0)
        return false;
    return name[len + strspn(name + len, ".")] == '\0';
}

enum names_verdict names_lookup(const char *name, struct names_entry *entry)
{
    if (names_trivially_not_tailnet(name))
        return NAMES_NOT_TAILNET;
    const char *path = names_path();
    if (path == NULL)
        return NAMES_NOT_TAILNET;
    int saved = errno;
    pub_refresh(path);
    int k = pub_acquire();
    enum names_verdict v = names_map_lookup(slot_map(k), name, entry);
    /* IMPORTANT: this machine's own host name stays with libc, as on a real
     * tailnet node where /etc/hosts answers it before MagicDNS: programs
     * that resolve gethostname() to bind() or to name themselves would
     * otherwise get a tailnet address no local interface has. The FQDN
     * still resolves to the tailnet address. */
    bool own = v == NAMES_FOUND && k >= 0 && is_host_name(name, pub_slot[k].host);
    pub_release(k);
    if (own) {
        v = NAMES_NOT_TAILNET;
        log_debug("names: %.80s is this machine's host name: left to libc", name);
    }
    errno = saved;
    return v;
}

enum names_verdict names_reverse(int family, const void *addr, struct names_entry *entry)
{
    if (!names_is_tailscale_addr(family, addr))
        return NAMES_NOT_TAILNET;
    const char *path = names_path();
    if (path == NULL)
        return NAMES_NOT_TAILNET;
    int saved = errno;
    pub_refresh(path);
    int k = pub_acquire();
    bool found = names_map_lookup_addr(slot_map(k), family, addr, entry);
    pub_release(k);
    errno = saved;
    return found ? NAMES_FOUND : NAMES_MISSING;
}

bool names_lookup_addr(int family, const void *addr, struct names_entry *entry)
{
    return names_reverse(family, addr, entry) == NAMES_FOUND;
}

enum names_state names_addr_state(int family, const void *addr)
{
    struct names_entry e;
    if (names_reverse(family, addr, &e) != NAMES_FOUND)
        return NAMES_UNKNOWN;
    return e.state;
}

bool names_backend_stopped(char state[NAMES_MAX_BACKEND])
{
    const char *path = names_path();
    if (path == NULL)
        return false;
    int saved = errno;
    pub_refresh(path);
    int k = pub_acquire();
    const char *b = names_map_backend(slot_map(k));
    bool stopped = b[0] != '\0' && strcmp(b, "Running") != 0;
    if (stopped)
        memcpy(state, b, strlen(b) + 1);
    pub_release(k);
    errno = saved;
    return stopped;
}
