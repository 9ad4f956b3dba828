/* The supervisor's view of the name map (docs/name-map.md): the seccomp
 * and ptrace supervisors ask it whether a peer is offline, what a tailnet
 * name resolves to and whether tailscaled is Running, as the shim asks
 * shim/names_pub.c. Read with the common nm_* readers only.
 *
 * Two sources, one set of lookups:
 *   - a file (the map the launcher's supervisor keeps fresh, replaced by
 *     rename): mapped read-only; every lookup stat()s the path (under
 *     half a microsecond here, against a trapped syscall's several: the
 *     supervisor asks only for tunnelled connects and DNS queries) and maps it again when
 *     (dev, ino, size, mtime) changed, so a lookup made after the file was
 *     replaced sees the new map. A missing or unusable file is "no map" (no
 *     names, every address unknown) until a good one appears.
 *   - a fixed image built once from a status snapshot (namemap_format),
 *     where there is no map file to read.
 *
 * Thread-safe: the supervisor's thread, its tunnel jobs and the DNS stub's
 * threads call it concurrently. A map stays mapped while anyone holds it
 * (reference counts under one mutex); a replaced one is unmapped by its
 * last holder. Errors: 0/-errno as below; lookups never fail, they answer
 * "unknown" / "not found". */
#ifndef TSRUN_MAPVIEW_H
#define TSRUN_MAPVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "namemap_format.h"
#include "status.h"

/* Uses the map file at path from now on (replacing any earlier source).
 * The file may be absent now. 0, -EINVAL (empty path), -ENOMEM. */
int mapview_open_file(const char *path);

/* Uses a fixed image of st (start-time status) from now on, without its
 * backend state (a snapshot is never read again, so it never says "not
 * Running"). 0, -ENOMEM, -E2BIG (namemap_format's errors). */
int mapview_open_status(const struct tsr_status *st);

/* Drops the source (and unmaps once nobody holds it): lookups answer
 * "no map". For tests. */
void mapview_close(void);

/* A held map: view is valid until mapview_put. NULL when there is no
 * map (no source, file absent or unusable). */
struct mapview_ref;
struct mapview_ref *mapview_get(const struct nm_view **view);
void mapview_put(struct mapview_ref *r); /* NULL is fine */

/* The state of a tailnet address: a16 in route_addr16's IPv6 form (IPv4 as
 * ::ffff:a.b.c.d). NAMES_UNKNOWN without a map or when it is not there. */
enum names_state mapview_addr_state(const uint8_t a16[16]);

/* The node called name (name[0..len), short or FQDN, any case, no
 * trailing dot). 0 and *e filled, or -ENOENT (not there, or no map). */
int mapview_find_name(const char *name, size_t len, struct names_entry *e);

/* True when the map records a BackendState other than "Running" (copied to
 * state): connects are refused at once, as the shim does. */
bool mapview_backend_stopped(char state[NAMES_MAX_BACKEND]);

#endif
