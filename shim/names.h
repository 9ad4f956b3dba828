/* "Is this a tailnet name, and what are its addresses?"
 *
 * The name map is written by tsrun (docs/name-map.md). Its format, and the
 * lookups over it, live in common/namemap_format.h; the shim's side is:
 *
 *   names.c         pure matching over one map: which names are tailnet
 *                   names at all, and the verdict for a name or address
 *                   (unit tests and fuzzers call these);
 *   names_text.c    the version-1 text map, turned into an image;
 *   names_pub.c     the process-wide map: noticed when the file changes,
 *                   published by pointer swap, read without locks;
 *   names_hostent.c the hostent builder the gethostby* hooks share. */
#ifndef TSSHIM_NAMES_H
#define TSSHIM_NAMES_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "namemap_format.h"

/* Staleness bound of the process-wide map: a replaced file is noticed by
 * the first lookup after this many milliseconds. */
#define NAMES_RECHECK_MS 100

enum names_verdict {
    NAMES_NOT_TAILNET = 0, /* hand to libc */
    NAMES_FOUND,           /* *entry filled */
    NAMES_MISSING,         /* a tailnet name absent from the map: EAI_NONAME, never libc */
};

/* One loaded map: a checked view over an image, and the memory behind it. */
struct names_map {
    struct nm_view view;
    void *mem;      /* the image: anonymous pages, or the file mapped read-only */
    size_t mem_len; /* bytes of mem */
    bool anon;      /* mem came from pages_alloc (else mmap of the file) */
};

/* ------------------------------------------------ process-wide (names_pub.c)
 *
 * IMPORTANT: every function here is async-signal-safe and takes no lock:
 * connect() calls names_addr_state() and names_backend_stopped(), and a
 * signal handler may call connect() or getaddrinfo() while the thread it
 * interrupted is inside any of them. They may open/mmap/close the map file
 * (at most once per NAMES_RECHECK_MS per process); errno is preserved. */

/* Looks a host name up in the current map. */
enum names_verdict names_lookup(const char *name, struct names_entry *entry);

/* Reverse with a verdict: NAMES_FOUND (*entry filled), NAMES_MISSING (a
 * Tailscale address, 100.64.0.0/10 or fd7a:115c:a1e0::/48, that the map does
 * not know: answer "not found" or numerically, never ask DNS for its PTR), or
 * NAMES_NOT_TAILNET (hand to libc). v4-mapped v6 is looked up as v4. */
enum names_verdict names_reverse(int family, const void *addr, struct names_entry *entry);

/* names_reverse() == NAMES_FOUND. */
bool names_lookup_addr(int family, const void *addr, struct names_entry *entry);

/* Online state of the peer owning this address, NAMES_UNKNOWN if none.
 * AF_INET6 v4-mapped addresses (::ffff:a.b.c.d) are looked up as AF_INET. */
enum names_state names_addr_state(int family, const void *addr);

/* True when the current map says tailscaled's backend is not Running
 * (NeedsLogin, Stopped, ...); the state's name goes to state. A map without
 * a backend, or no map, says nothing: false. */
bool names_backend_stopped(char state[NAMES_MAX_BACKEND]);

/* ------------------------------------------------------- pure (names.c) */

/* Is the address in 100.64.0.0/10 or fd7a:115c:a1e0::/48 (v4-mapped too)? */
bool names_is_tailscale_addr(int family, const void *addr);

/* True when the name can never be a tailnet name (NULL, empty, an IPv4/IPv6
 * literal, "localhost"), so the hooks skip the map entirely. */
bool names_trivially_not_tailnet(const char *name);

/* Loads a map from a buffer: a version-2 image (copied) or a version-1
 * text. Returns 0 and *out (free with names_map_free), or -EINVAL, -E2BIG
 * or -ENOMEM with a one-line reason in err (see names_text_image and
 * nm_open); on success err is "" or says how many node lines were skipped.
 * The map lives in anonymous pages, never on the heap. */
int names_parse(const char *buf, size_t len, struct names_map **out, char *err, size_t errlen);
void names_map_free(struct names_map *map);

/* Fills *m over an image already in memory (mem_len bytes; anon says how
 * it is freed). 0 or -EINVAL with *why (nm_open). Nothing is copied. */
int names_map_open(struct names_map *m, void *mem, size_t mem_len, bool anon, const char **why);

/* Matching against one map; map may be NULL ("no names": only *.ts.net is a
 * tailnet name then). */
enum names_verdict names_map_lookup(const struct names_map *map, const char *name,
                                    struct names_entry *entry);
bool names_map_lookup_addr(const struct names_map *map, int family, const void *addr,
                           struct names_entry *entry);
unsigned names_map_count(const struct names_map *map);
const char *names_map_suffix(const struct names_map *map);  /* "" if none */
const char *names_map_backend(const struct names_map *map); /* "" if none */

/* ----------------------------------------------- builders (names_hostent.c) */

/* The first label of fqdn into out (NAMES_MAX_NAME bytes). */
void names_short(const char *fqdn, char *out);

/* Lays a hostent out in buf (name, optional alias, addresses of one
 * family). Returns 0, -ERANGE when buf is too small, or -ENOENT when none of
 * addrs has family af. */
int names_hostent(const char *name, const char *alias, int af, const struct names_addr *addrs,
                  unsigned naddrs, struct hostent *ret, char *buf, size_t buflen);

#endif
