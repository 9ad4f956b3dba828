/* "Is this a tailnet name, and what are its addresses?"
 *
 * The name map is a text file written by tsrun (see docs/name-map.md). The
 * shim re-reads it when its mtime/size/inode change, with plain libc calls.
 *
 * Two layers:
 *   - pure code over a byte buffer (names_parse, names_map_*), used by the
 *     unit tests and fuzzers;
 *   - the process-wide cached map (names_lookup, names_reverse, ...), which
 *     stat()s TSRUN_NAMES at most once per NAMES_RECHECK_MS and reloads it
 *     when its identity changed. */
#ifndef TSSHIM_NAMES_H
#define TSSHIM_NAMES_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAMES_MAX_ADDRS 8
#define NAMES_MAX_NAME 254
#define NAMES_MAX_BACKEND 32 /* a BackendState name, plus NUL */ /* DNS name without trailing dot, plus NUL */
#define NAMES_MAX_NODES 4096
#define NAMES_MAX_FILE 1048576 /* 1 MiB */
#define NAMES_MAX_LINE 1024
/* Staleness bound of the cached map: a replaced file is noticed by the first
 * lookup after this many milliseconds. */
#define NAMES_RECHECK_MS 100

enum names_state { NAMES_UNKNOWN = 0, NAMES_ONLINE, NAMES_OFFLINE };

struct names_addr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t bytes[16]; /* 4 used for AF_INET */
};

struct names_entry {
    char fqdn[NAMES_MAX_NAME];
    enum names_state state;
    unsigned naddrs;
    struct names_addr addr[NAMES_MAX_ADDRS];
};

enum names_verdict {
    NAMES_NOT_TAILNET = 0, /* hand to libc */
    NAMES_FOUND,           /* *entry filled */
    NAMES_MISSING,         /* a tailnet name absent from the map: EAI_NONAME, never libc */
};

/* Looks a host name up in the current map (reloading it if changed). */
enum names_verdict names_lookup(const char *name, struct names_entry *entry);

/* Reverse: the entry owning this address (v4: 4 bytes, v6: 16 bytes). */
bool names_lookup_addr(int family, const void *addr, struct names_entry *entry);

/* True when the current map says tailscaled's backend is not Running
 * (NeedsLogin, Stopped, ...); the state's name goes to state. A map without
 * a backend line, or no map, says nothing: false. */
bool names_backend_stopped(char state[NAMES_MAX_BACKEND]);

/* Online state of the peer owning this address, NAMES_UNKNOWN if none.
 * AF_INET6 v4-mapped addresses (::ffff:a.b.c.d) are looked up as AF_INET. */
enum names_state names_addr_state(int family, const void *addr);

/* --- additions for the reverse hooks --- */

/* Reverse with a verdict: NAMES_FOUND (*entry filled), NAMES_MISSING (a
 * Tailscale address, 100.64.0.0/10 or fd7a:115c:a1e0::/48, that the map does
 * not know: answer "not found" or numerically, never ask DNS for its PTR), or
 * NAMES_NOT_TAILNET (hand to libc). v4-mapped v6 is looked up as v4. */
enum names_verdict names_reverse(int family, const void *addr,
                                 struct names_entry *entry);

/* Pure: is the address in 100.64.0.0/10 or fd7a:115c:a1e0::/48? */
bool names_is_tailscale_addr(int family, const void *addr);

/* Pure, no map needed: true when the name can never be a tailnet name
 * (NULL, empty, an IPv4/IPv6 literal, "localhost"), so the hooks skip the
 * map entirely. */
bool names_trivially_not_tailnet(const char *name);

/* Pure: the first label of fqdn into out (NAMES_MAX_NAME bytes). */
void names_short(const char *fqdn, char *out);

/* Pure: lays a hostent out in buf (name, optional alias, addresses of one
 * family). Returns 0, -ERANGE when buf is too small, or -ENOENT when none of
 * addrs has family af. */
int names_hostent(const char *name, const char *alias, int af,
                  const struct names_addr *addrs, unsigned naddrs,
                  struct hostent *ret, char *buf, size_t buflen);

/* --- pure layer (unit tests, fuzzers) --- */

struct names_map; /* immutable once parsed */

/* Parses a whole map file. Returns 0 and *out (free with names_map_free), or
 * -EINVAL (garbage, wrong header, truncated: no or wrong "end N", a bad
 * suffix line), -E2BIG (over NAMES_MAX_FILE / NAMES_MAX_NODES /
 * NAMES_MAX_LINE) or -ENOMEM, with a one-line reason in err. A malformed
 * node line is skipped (it still counts toward "end N"); on success err
 * says how many were skipped, or is "". */
int names_parse(const char *buf, size_t len, struct names_map **out,
                char *err, size_t errlen);
void names_map_free(struct names_map *map);

/* Matching against one map; map may be NULL ("no names": only *.ts.net is a
 * tailnet name then). */
enum names_verdict names_map_lookup(const struct names_map *map,
                                    const char *name, struct names_entry *entry);
bool names_map_lookup_addr(const struct names_map *map, int family,
                           const void *addr, struct names_entry *entry);
unsigned names_map_count(const struct names_map *map);
const char *names_map_suffix(const struct names_map *map); /* "" if none */
const char *names_map_backend(const struct names_map *map); /* "" if none */

#endif
