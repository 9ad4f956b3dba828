/* The name map file the shim reads (docs/name-map.md): version 2, the
 * binary image of common/namemap_format.h, which the shim maps in place. */
#ifndef TSRUN_NAMEMAP_H
#define TSRUN_NAMEMAP_H

#include <stddef.h>
#include <time.h>

#include "status.h"

/* Pure: the whole image for st, generated at `now`. Nodes without a
 * DNSName, without addresses, or whose name or addresses the format cannot
 * carry are left out; self first, then peers in st's (sorted) order.
 * *out is malloc'd (8-byte aligned). 0, -ENOMEM, or -E2BIG (more than
 * NAMES_MAX_NODES nodes). */
int namemap_format(const struct tsr_status *st, time_t now, char **out, size_t *len);

/* Writes the map atomically (temp file + fsync + rename, mode 0644) unless
 * the file already holds the same map (only the generation time would
 * change): the warm path then costs no fsync. *changed (may be NULL) says
 * whether the file was rewritten. 0 or -errno. */
int namemap_write(const char *path, const struct tsr_status *st, time_t now, int *changed);

#endif
