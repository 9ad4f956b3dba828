#include "names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define NAMES_HEADER "tsrun-names 1"
#define NAMES_TS_NET ".ts.net"
#define NAMES_LABEL_MAX 63
#define NAMES_NAME_LEN_MAX (NAMES_MAX_NAME - 1) /* 253 */

/* One node of the map, plus the lengths the matcher needs. */
struct names_node {
    struct names_entry e;
    uint8_t fqdn_len;
    uint8_t short_len;
};

/* Slot values: 0 = empty. Name slots hold (node + 1) | NAME_SLOT_SHORT for a
 * short-name key; address slots hold ((node + 1) << 3) | address index. */
#define NAME_SLOT_SHORT 0x80000000u

struct names_map {
    size_t bytes; /* its size, as given to pages_alloc() */
    char backend[NAMES_MAX_BACKEND]; /* "" when the file does not say */
    char suffix[NAMES_MAX_NAME];
    size_t suffix_len;
    unsigned count;
    uint32_t name_mask, addr_mask;
    uint32_t *name_slot;
    uint32_t *addr_slot;
    struct names_node node[]; /* count nodes, then the two slot tables */
};

/* ------------------------------------------------------------ pure helpers */

/* The map and the file buffer live in anonymous mappings, never on the
 * application's heap. A process may fork while another thread is inside
 * malloc, and the child may then resolve a name: that works only with an
 * allocator that is fork-safe, which glibc's and musl's are but gcc 12's
 * ASan allocator and older tcmallocs are not. Pages come zeroed, like
 * calloc(), and a reload happens only when the file changes.
 *
 * The block ends at most 15 bytes before a PROT_NONE guard page, so an
 * overrun faults at once: ASan does not watch mmap'ed memory, and the
 * fuzzer should still catch what it caught on the heap. */
#define PAGES_ALIGN 16

/* Bytes of whole pages before the guard; *lead = where the block starts. */
static size_t pages_data(size_t size, size_t page, size_t *lead)
{
    size_t body = (size + PAGES_ALIGN - 1) & ~(size_t)(PAGES_ALIGN - 1);
    size_t data = (body + page - 1) & ~(page - 1);
    *lead = data - body;
    return data;
}

static void *pages_alloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), lead;
    size_t data = pages_data(size, page, &lead);
    char *base = mmap(NULL, data + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    if (mprotect(base + data, page, PROT_NONE) < 0) {
        munmap(base, data + page);
        return NULL;
    }
    return base + lead;
}

static void pages_free(void *p, size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), lead;
    size_t data = pages_data(size, page, &lead);
    munmap((char *)p - lead, data + page);
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

/* FNV-1a over the lower-cased bytes. */
static uint32_t hash_bytes(const void *p, size_t n, bool fold)
{
    const unsigned char *s = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= fold ? (unsigned char)lower((char)s[i]) : s[i];
        h *= 16777619u;
    }
    return h;
}

bool names_is_tailscale_addr(int family, const void *addr)
{
    const uint8_t *a = addr;
    if (addr == NULL)
        return false;
    if (family == AF_INET) /* 100.64.0.0/10 */
        return a[0] == 100 && (a[1] & 0xc0) == 64;
    if (family == AF_INET6) {
        static const uint8_t ula[6] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, ula, sizeof ula) == 0)
            return true;
        return memcmp(a, mapped, sizeof mapped) == 0 &&
               names_is_tailscale_addr(AF_INET, a + 12);
    }
    return false;
}

bool names_trivially_not_tailnet(const char *name)
{
    if (name == NULL || *name == '\0')
        return true;
    bool numeric = true;
    const char *p;
    for (p = name; *p != '\0'; p++) {
        if (*p == ':')
            return true; /* an IPv6 literal, or no host name at all */
        if ((*p < '0' || *p > '9') && *p != '.')
            numeric = false;
    }
    if (numeric)
        return true; /* IPv4 literal in any inet_aton form */
    size_t len = (size_t)(p - name);
    while (len > 0 && name[len - 1] == '.')
        len--;
    static const char lh[] = "localhost";
    size_t lhl = sizeof lh - 1;
    if (len == lhl && ieq(name, lh, lhl))
        return true;
    return len > lhl && name[len - lhl - 1] == '.' &&
           ieq(name + len - lhl, lh, lhl);
}

void names_short(const char *fqdn, char *out)
{
    size_t n = strcspn(fqdn, ".");
    if (n >= NAMES_MAX_NAME)
        n = NAMES_MAX_NAME - 1;
    memcpy(out, fqdn, n);
    out[n] = '\0';
}

/* A host name as the map carries it: labels of [a-z0-9_-], 1..63 bytes,
 * no empty label, at most 253 bytes. Lower-cases in place. */
static bool valid_dns_name(char *s, size_t len)
{
    size_t label = 0;
    if (len == 0 || len > NAMES_NAME_LEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i] = lower(s[i]);
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                   c == '_') {
            if (++label > NAMES_LABEL_MAX)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

/* ------------------------------------------------------------ the parser */

struct tokens {
    char *tok[3 + NAMES_MAX_ADDRS + 2];
    unsigned n; /* may exceed the array: counts every token */
};

/* Splits a NUL-terminated line on spaces and tabs. */
static void tokenize(char *line, struct tokens *t)
{
    t->n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return;
        if (t->n < sizeof t->tok / sizeof t->tok[0])
            t->tok[t->n] = p;
        t->n++;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
}

static bool parse_addr(const char *s, struct names_addr *a)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, s, a->bytes) == 1) {
        a->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, a->bytes) == 1) {
        a->family = AF_INET6;
        return true;
    }
    return false;
}

static bool parse_count(const char *s, unsigned long *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Parses one "node" line's tokens into n. */
static int parse_node(const struct tokens *t, struct names_node *n,
                      const char **why)
{
    if (t->n < 5) {
        *why = "node line needs FQDN ROLE STATE ADDR...";
        return -EINVAL;
    }
    if (t->n - 4 > NAMES_MAX_ADDRS) {
        *why = "node line has more than 8 addresses";
        return -EINVAL;
    }
    char *fqdn = t->tok[1];
    size_t len = strlen(fqdn);
    if (len > 0 && fqdn[len - 1] == '.')
        fqdn[--len] = '\0';
    if (!valid_dns_name(fqdn, len)) {
        *why = "node name is not a valid DNS name";
        return -EINVAL;
    }
    if (strcmp(t->tok[2], "self") != 0 && strcmp(t->tok[2], "peer") != 0) {
        *why = "node role is neither self nor peer";
        return -EINVAL;
    }
    memset(n, 0, sizeof *n);
    if (strcmp(t->tok[3], "online") == 0) {
        n->e.state = NAMES_ONLINE;
    } else if (strcmp(t->tok[3], "offline") == 0) {
        n->e.state = NAMES_OFFLINE;
    } else {
        *why = "node state is neither online nor offline";
        return -EINVAL;
    }
    memcpy(n->e.fqdn, fqdn, len + 1);
    n->fqdn_len = (uint8_t)len;
    n->short_len = (uint8_t)strcspn(fqdn, ".");
    for (unsigned i = 4; i < t->n; i++) {
        if (!parse_addr(t->tok[i], &n->e.addr[n->e.naddrs])) {
            *why = "node address is not a numeric IPv4/IPv6 address";
            return -EINVAL;
        }
        n->e.naddrs++;
    }
    return 0;
}

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t p = 16;
    while (p < n)
        p <<= 1;
    return p;
}

static const struct names_node *slot_node(const struct names_map *m,
                                          uint32_t v, bool *is_short)
{
    *is_short = (v & NAME_SLOT_SHORT) != 0;
    return &m->node[(v & ~NAME_SLOT_SHORT) - 1];
}

/* Finds a name key (already without trailing dot); returns the node or NULL. */
static const struct names_node *find_name(const struct names_map *m,
                                          const char *name, size_t len)
{
    if (m == NULL || m->count == 0 || len == 0 || len > NAMES_NAME_LEN_MAX)
        return NULL;
    for (uint32_t i = hash_bytes(name, len, true) & m->name_mask;;
         i = (i + 1) & m->name_mask) {
        uint32_t v = m->name_slot[i];
        if (v == 0)
            return NULL;
        bool is_short;
        const struct names_node *n = slot_node(m, v, &is_short);
        size_t klen = is_short ? n->short_len : n->fqdn_len;
        if (klen == len && ieq(n->e.fqdn, name, len))
            return n;
    }
}

static void insert_name(struct names_map *m, uint32_t idx, bool is_short)
{
    const struct names_node *n = &m->node[idx];
    size_t len = is_short ? n->short_len : n->fqdn_len;
    if (find_name(m, n->e.fqdn, len) != NULL)
        return; /* duplicate: the first node line wins */
    uint32_t i = hash_bytes(n->e.fqdn, len, true) & m->name_mask;
    while (m->name_slot[i] != 0)
        i = (i + 1) & m->name_mask;
    m->name_slot[i] = (idx + 1) | (is_short ? NAME_SLOT_SHORT : 0);
}

static uint32_t hash_addr(int family, const uint8_t *bytes)
{
    return hash_bytes(bytes, family == AF_INET ? 4 : 16, false) ^ (uint32_t)family;
}

static const struct names_node *find_addr(const struct names_map *m, int family,
                                          const uint8_t *bytes)
{
    if (m == NULL || m->count == 0)
        return NULL;
    size_t alen = family == AF_INET ? 4 : 16;
    for (uint32_t i = hash_addr(family, bytes) & m->addr_mask;;
         i = (i + 1) & m->addr_mask) {
        uint32_t v = m->addr_slot[i];
        if (v == 0)
            return NULL;
        const struct names_node *n = &m->node[(v >> 3) - 1];
        const struct names_addr *a = &n->e.addr[v & 7];
        if (a->family == family && memcmp(a->bytes, bytes, alen) == 0)
            return n;
    }
}

static void insert_addr(struct names_map *m, uint32_t idx, unsigned ai)
{
    const struct names_addr *a = &m->node[idx].e.addr[ai];
    if (find_addr(m, a->family, a->bytes) != NULL)
        return; /* first node wins */
    uint32_t i = hash_addr(a->family, a->bytes) & m->addr_mask;
    while (m->addr_slot[i] != 0)
        i = (i + 1) & m->addr_mask;
    m->addr_slot[i] = ((idx + 1) << 3) | ai;
}

/* What one pass over the file found. */
struct parse_result {
    unsigned nodes;     /* node lines, the count "end N" must match */
    unsigned stored;    /* well-formed node lines, kept */
    unsigned skipped;   /* malformed node lines, skipped */
    unsigned skip_line; /* the first skipped one, for the debug line */
    const char *skip_why;
};

/* One pass over the file. With m == NULL it validates and counts; with m it
 * fills m->node[] and m->suffix. Returns 0 or -errno with *why and *lineno.
 *
 * IMPORTANT: structural damage (header, "end N", line length, NUL bytes, the
 * suffix) invalidates the whole file: it means a truncated or foreign file.
 * A malformed node line (bad name, role, state or address, more than 8
 * addresses) only skips that node: it still counts toward "end N", so
 * truncation is still caught, and one odd peer cannot take every tailnet
 * name away. */
static int parse_pass(const char *buf, size_t len, struct names_map *m,
                      struct parse_result *r, const char **why, unsigned *lineno)
{
    char line[NAMES_MAX_LINE + 1];
    bool have_suffix = false, ended = false;
    size_t pos = 0;
    struct tokens t;

    memset(r, 0, sizeof *r);

    *lineno = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t ll = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
        ++*lineno;
        if (ended) {
            size_t sp = 0;
            while (sp < ll && (buf[pos + sp] == ' ' || buf[pos + sp] == '\t'))
                sp++;
            if (sp == ll) { /* blank lines may follow */
                pos += ll + (nl != NULL);
                continue;
            }
            *why = "data after the end line";
            return -EINVAL;
        }
        if (ll > NAMES_MAX_LINE) {
            *why = "line longer than 1024 bytes";
            return -E2BIG;
        }
        memcpy(line, buf + pos, ll);
        line[ll] = '\0';
        pos += ll + (nl != NULL);
        if (memchr(line, '\0', ll) != NULL) {
            *why = "NUL byte";
            return -EINVAL;
        }
        if (*lineno == 1) {
            if (strcmp(line, NAMES_HEADER) != 0) {
                *why = "first line is not \"" NAMES_HEADER "\"";
                return -EINVAL;
            }
            continue;
        }
        if (line[0] == '#')
            continue;
        tokenize(line, &t);
        if (t.n == 0)
            continue;
        if (strcmp(t.tok[0], "node") == 0) {
            if (r->nodes >= NAMES_MAX_NODES) {
                *why = "more than 4096 nodes";
                return -E2BIG;
            }
            r->nodes++;
            /* Parsed aside: a line that turns out malformed must not touch
             * m->node[], which has room for the well-formed ones only. */
            struct names_node n = {0};
            const char *bad = NULL;
            if (parse_node(&t, &n, &bad) < 0) {
                if (r->skipped++ == 0) {
                    r->skip_line = *lineno;
                    r->skip_why = bad;
                }
                continue;
            }
            if (m != NULL)
                m->node[r->stored] = n;
            r->stored++;
        } else if (strcmp(t.tok[0], "suffix") == 0) {
            if (have_suffix) {
                *why = "more than one suffix line";
                return -EINVAL;
            }
            size_t sl = t.n == 2 ? strlen(t.tok[1]) : 0;
            if (sl > 0 && t.tok[1][sl - 1] == '.')
                t.tok[1][--sl] = '\0';
            if (t.n != 2 || !valid_dns_name(t.tok[1], sl)) {
                *why = "suffix is not a valid DNS name";
                return -EINVAL;
            }
            have_suffix = true;
            if (m != NULL) {
                memcpy(m->suffix, t.tok[1], sl + 1);
                m->suffix_len = sl;
            }
        } else if (strcmp(t.tok[0], "backend") == 0) {
            /* tailscaled's BackendState; a malformed one is ignored like an
             * unknown keyword: the reader then assumes Running. */
            size_t bl = t.n == 2 ? strlen(t.tok[1]) : 0;
            if (m != NULL && bl > 0 && bl < sizeof m->backend &&
                strspn(t.tok[1], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == bl)
                memcpy(m->backend, t.tok[1], bl + 1);
        } else if (strcmp(t.tok[0], "end") == 0) {
            unsigned long want;
            if (t.n != 2 || !parse_count(t.tok[1], &want)) {
                *why = "malformed end line";
                return -EINVAL;
            }
            if (want != r->nodes) {
                *why = "end count differs from the node lines (truncated?)";
                return -EINVAL;
            }
            ended = true;
        }
        /* Unknown keywords: skipped (forward compatibility). */
    }
    if (*lineno == 0) {
        *why = "empty file";
        return -EINVAL;
    }
    if (!ended) {
        *why = "no end line (truncated)";
        return -EINVAL;
    }
    return 0;
}

int names_parse(const char *buf, size_t len, struct names_map **out, char *err,
                size_t errlen)
{
    const char *why = NULL;
    unsigned lineno = 0, count;
    struct parse_result r;
    int rc;

    *out = NULL;
    if (len > NAMES_MAX_FILE) {
        snprintf(err, errlen, "larger than %d bytes", NAMES_MAX_FILE);
        return -E2BIG;
    }
    if (buf == NULL)
        len = 0;
    rc = parse_pass(buf, len, NULL, &r, &why, &lineno);
    if (rc < 0)
        goto fail;
    count = r.stored;

    uint32_t nslots = pow2_at_least(4 * count);                  /* <= 2 keys/node */
    uint32_t aslots = pow2_at_least(2 * NAMES_MAX_ADDRS * count); /* <= 8 keys/node */
    size_t size = sizeof(struct names_map) + count * sizeof(struct names_node);
    size = (size + sizeof(uint32_t) - 1) & ~(sizeof(uint32_t) - 1);
    size_t bytes = size + (nslots + aslots) * sizeof(uint32_t);
    struct names_map *m = pages_alloc(bytes);
    if (m == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    m->bytes = bytes;
    m->name_slot = (uint32_t *)(void *)((char *)m + size);
    m->addr_slot = m->name_slot + nslots;
    m->name_mask = nslots - 1;
    m->addr_mask = aslots - 1;
    rc = parse_pass(buf, len, m, &r, &why, &lineno);
    if (rc < 0 || r.stored != count) { /* cannot happen: same bytes, same pass */
        names_map_free(m);
        rc = -EINVAL;
        goto fail;
    }
    m->count = count;
    if (r.skipped > 0)
        snprintf(err, errlen, "skipped %u malformed node line(s); first: line %u: %s",
                 r.skipped, r.skip_line, r.skip_why);
    else if (errlen > 0)
        err[0] = '\0';
    for (uint32_t i = 0; i < count; i++) {
        insert_name(m, i, false);
        insert_name(m, i, true);
        for (unsigned a = 0; a < m->node[i].e.naddrs; a++)
            insert_addr(m, i, a);
    }
    *out = m;
    return 0;

fail:
    if (lineno > 0)
        snprintf(err, errlen, "line %u: %s", lineno, why);
    else
        snprintf(err, errlen, "%s", why);
    return rc;
}

void names_map_free(struct names_map *map)
{
    if (map != NULL)
        pages_free(map, map->bytes);
}

unsigned names_map_count(const struct names_map *map)
{
    return map != NULL ? map->count : 0;
}

const char *names_map_backend(const struct names_map *map)
{
    return map != NULL ? map->backend : "";
}

const char *names_map_suffix(const struct names_map *map)
{
    return map != NULL ? map->suffix : "";
}

/* name[0..len) ends with "." + sfx, or equals sfx when exact_ok. */
static bool under(const char *name, size_t len, const char *sfx, size_t slen,
                  bool exact_ok)
{
    if (slen == 0)
        return false;
    if (len == slen)
        return exact_ok && ieq(name, sfx, slen);
    return len > slen && name[len - slen - 1] == '.' &&
           ieq(name + len - slen, sfx, slen);
}

enum names_verdict names_map_lookup(const struct names_map *map,
                                    const char *name, struct names_entry *entry)
{
    if (names_trivially_not_tailnet(name))
        return NAMES_NOT_TAILNET;
    size_t len = strlen(name), dots = 0;
    while (len > 0 && name[len - 1] == '.') {
        len--;
        dots++;
    }
    if (len == 0)
        return NAMES_NOT_TAILNET;
    const struct names_node *n = find_name(map, name, len);
    if (n != NULL) {
        /* "db." is db; "db.." is a malformed tailnet name: refuse it rather
         * than let libc guess. */
        if (dots > 1)
            return NAMES_MISSING;
        if (entry != NULL)
            *entry = n->e;
        return NAMES_FOUND;
    }
    /* IMPORTANT: the tailnet zones are matched on a label boundary, so
     * "evil-ts.net" and "ts.net.attacker.com" are not tailnet names, while
     * "a.ts.net", "x..ts.net" and 300-byte names under them are (they get
     * EAI_NONAME, never a DNS query). The bare "ts.net" is public. */
    if (map != NULL && under(name, len, map->suffix, map->suffix_len, true))
        return NAMES_MISSING;
    if (len >= sizeof NAMES_TS_NET - 1 &&
        ieq(name + len - (sizeof NAMES_TS_NET - 1), NAMES_TS_NET,
            sizeof NAMES_TS_NET - 1))
        return NAMES_MISSING;
    return NAMES_NOT_TAILNET;
}

/* v4-mapped v6 → v4; returns the family to look up and the bytes. */
static int unmap(int family, const void *addr, const uint8_t **bytes)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    *bytes = addr;
    if (family == AF_INET6 && memcmp(addr, mapped, sizeof mapped) == 0) {
        *bytes += 12;
        return AF_INET;
    }
    return family;
}

bool names_map_lookup_addr(const struct names_map *map, int family,
                           const void *addr, struct names_entry *entry)
{
    const uint8_t *bytes;
    if (addr == NULL || (family != AF_INET && family != AF_INET6))
        return false;
    family = unmap(family, addr, &bytes);
    const struct names_node *n = find_addr(map, family, bytes);
    if (n == NULL)
        return false;
    if (entry != NULL)
        *entry = n->e;
    return true;
}

int names_hostent(const char *name, const char *alias, int af,
                  const struct names_addr *addrs, unsigned naddrs,
                  struct hostent *ret, char *buf, size_t buflen)
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

/* ------------------------------------------------------------ the cache */

/* IMPORTANT: one mutex guards the cached map; every reader copies what it
 * needs (one names_entry) out while holding it, so a reload can free the old
 * map at once and no reader ever sees a half-swapped one. Lookups already
 * cost microseconds; an uncontended mutex is noise next to that, and a
 * mutex needs no reference counting or deferred frees.
 *
 * Fork: no prepare handler (a fork from a signal handler that interrupted a
 * lookup would deadlock in it). Instead the child handler re-initialises
 * the lock (its holder, if any, does not exist in the child) and, when a
 * lookup was inside the critical section at fork time (names_busy), forces
 * a reload, since that thread may have been mid-swap. The map pointer is
 * only ever replaced by a complete map, then the old one is freed, so the
 * child never holds a dangling pointer. (An fd of a reload in flight at
 * fork time stays open in that child; it is O_CLOEXEC.)
 *
 * Staleness: stat() runs at most once per NAMES_RECHECK_MS per process
 * (CLOCK_MONOTONIC_COARSE, a vDSO read), so resolving non-tailnet names costs
 * no syscall in a tight loop. A changed (dev, ino, size, mtime) reloads. */

struct file_id {
    bool present;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim;
};

static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t names_once = PTHREAD_ONCE_INIT;
static volatile sig_atomic_t names_busy;
static struct names_map *names_cur;
static struct file_id names_id;
static bool names_loaded;     /* names_cur/names_id reflect one stat() */
static long long names_due_ms; /* next stat() not before this */
static char names_host[NAMES_MAX_NAME]; /* first label of gethostname() */

static void names_atfork_child(void)
{
    /* The child has one thread: whoever held the lock is gone. */
    pthread_mutex_init(&names_lock, NULL);
    if (names_busy) {
        names_busy = 0;
        names_loaded = false;
        names_due_ms = 0;
    }
}

static void names_init(void)
{
    pthread_atfork(NULL, NULL, names_atfork_child);
}

static void names_lock_acquire(void)
{
    pthread_once(&names_once, names_init);
    pthread_mutex_lock(&names_lock);
    names_busy = 1;
}

static void names_lock_release(void)
{
    names_busy = 0;
    pthread_mutex_unlock(&names_lock);
}

static long long coarse_ms(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
#endif
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void file_id_of(const struct stat *st, struct file_id *id)
{
    memset(id, 0, sizeof *id);
    id->present = true;
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = st->st_size;
    id->mtim = st->st_mtim;
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
    if (a->present != b->present)
        return false;
    return !a->present ||
           (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
            a->mtim.tv_sec == b->mtim.tv_sec && a->mtim.tv_nsec == b->mtim.tv_nsec);
}

/* Reads path (a regular file of at most NAMES_MAX_FILE bytes) and parses it.
 * No fd survives this function. */
static struct names_map *names_read(const char *path, struct file_id *id,
                                    char *err, size_t errlen)
{
    struct names_map *map = NULL;
    char *buf = NULL;
    size_t want = 0, got = 0;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        id->present = false;
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "fstat: %s", strerror(errno));
        goto out;
    }
    file_id_of(&st, id);
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file");
        goto out;
    }
    if (st.st_size > NAMES_MAX_FILE) {
        snprintf(err, errlen, "larger than %d bytes", NAMES_MAX_FILE);
        goto out;
    }
    want = (size_t)st.st_size + 1; /* +1: notice growth */
    buf = pages_alloc(want);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "read: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    if (got == want) {
        snprintf(err, errlen, "file grew while being read (not replaced atomically?)");
        goto out;
    }
    names_parse(buf, got, &map, err, errlen);
out:
    if (buf != NULL)
        pages_free(buf, want);
    close(fd);
    return map;
}

/* With names_lock held: make names_cur current. */
static void names_refresh_locked(const char *path)
{
    long long now = coarse_ms();
    if (names_loaded && now < names_due_ms)
        return;
    names_due_ms = now + NAMES_RECHECK_MS;

    char host[NAMES_MAX_NAME] = "";
    if (gethostname(host, sizeof host - 1) == 0)
        names_short(host, names_host);
    else
        names_host[0] = '\0';

    struct stat st;
    struct file_id id = {0};
    if (stat(path, &st) == 0)
        file_id_of(&st, &id);
    if (names_loaded && file_id_eq(&id, &names_id))
        return;

    char err[160] = "";
    struct names_map *map = NULL;
    if (id.present) {
        map = names_read(path, &id, err, sizeof err);
    } else {
        snprintf(err, sizeof err, "%s", strerror(errno));
    }
    struct names_map *old = names_cur;
    names_cur = map;
    names_id = id;
    names_loaded = true;
    names_map_free(old);
    if (map != NULL)
        log_debug("names: loaded %s: %u nodes, suffix \"%s\"%s%s", path, map->count,
                  map->suffix, err[0] != '\0' ? "; " : "", err);
    else
        log_debug("names: %s: %s; no tailnet names from it (*.ts.net stays "
                  "off DNS)", path, err);
}

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
    if (hl == 0 || len != hl || !ieq(name, host, hl))
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
    names_lock_acquire();
    names_refresh_locked(path);
    enum names_verdict v = names_map_lookup(names_cur, name, entry);
    /* IMPORTANT: this machine's own host name stays with libc, as on a real
     * tailnet node where /etc/hosts answers it before MagicDNS: programs
     * that resolve gethostname() to bind() or to name themselves would
     * otherwise get a tailnet address no local interface has. The FQDN
     * still resolves to the tailnet address. */
    if (v == NAMES_FOUND && is_host_name(name, names_host)) {
        v = NAMES_NOT_TAILNET;
        log_debug("names: %.80s is this machine's host name: left to libc", name);
    }
    names_lock_release();
    errno = saved;
    return v;
}

enum names_verdict names_reverse(int family, const void *addr,
                                 struct names_entry *entry)
{
    if (!names_is_tailscale_addr(family, addr))
        return NAMES_NOT_TAILNET;
    const char *path = names_path();
    if (path == NULL)
        return NAMES_NOT_TAILNET;
    int saved = errno;
    names_lock_acquire();
    names_refresh_locked(path);
    bool found = names_map_lookup_addr(names_cur, family, addr, entry);
    names_lock_release();
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
    names_lock_acquire();
    names_refresh_locked(path);
    const char *b = names_map_backend(names_cur);
    bool stopped = b[0] != '\0' && strcmp(b, "Running") != 0;
    if (stopped)
        memcpy(state, b, strlen(b) + 1);
    names_lock_release();
    errno = saved;
    return stopped;
}
