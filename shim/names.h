/* "Is this a tailnet name, and what are its addresses?"
 *
 * The name map is a text file written by tsrun (see docs/name-map.md). The
 * shim re-reads it when its mtime/size/inode change, with plain libc calls. */
#ifndef TSSHIM_NAMES_H
#define TSSHIM_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAMES_MAX_ADDRS 8
#define NAMES_MAX_NAME 254 /* DNS name without trailing dot, plus NUL */

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

/* Online state of the peer owning this address, NAMES_UNKNOWN if none. */
enum names_state names_addr_state(int family, const void *addr);

#endif
