/* The SOCKS5 / HTTP proxy port of the tailscaled tsrun starts.
 *
 * IMPORTANT (a stable port): shells set up with `eval "$(tsrun env)"`,
 * processes started before a restart and /etc/tsrun/tsrun.conf all hold
 * the address, so it must not move. The order tried, first free wins:
 *   1. the port recorded in STATE_DIR/port by an earlier start;
 *   2. PORT_DEFAULT (1055, what Tailscale's own docs and every sandbox
 *      recipe use);
 *   3. port_fallback(): a fixed port derived from the state directory, so
 *      a second tsrun (another user, another state dir) lands on the same
 *      port every time too.
 * An explicit port (--socks5-port, TSRUN_SOCKS5_PORT, TS_SOCKS5_SERVER) is
 * used as given; 0 there means "let tailscaled pick" (moves on restart). */
#ifndef TSRUN_PORT_H
#define TSRUN_PORT_H

#include <stdbool.h>
#include <sys/types.h>

#define PORT_DEFAULT 1055
#define PORT_FALLBACK_BASE 20000 /* fallbacks: BASE .. BASE+SPAN-1 */
#define PORT_FALLBACK_SPAN 10000

/* Pure: a decimal port 0..65535 and nothing else (no sign, no spaces, no
 * trailing text). 0 or -EINVAL. */
int port_parse(const char *s, int *out);

/* Pure: "[127.0.0.1|localhost]:PORT" (TS_SOCKS5_SERVER's loopback forms)
 * -> PORT. 0, or -EINVAL for another host or a bad port. */
int port_parse_loopback_addr(const char *s, int *out);

/* Pure: the fixed fallback for a state directory and uid. */
int port_fallback(const char *state_dir, uid_t uid);

/* Whether 127.0.0.1:port can be bound now (with SO_REUSEADDR, like Go's
 * listeners, so TIME_WAIT leftovers do not count as taken). */
bool port_free(int port);

/* The port recorded at path ("PORT\n"), or -errno / -EINVAL. */
int port_read(const char *path);

/* Records port at path (atomic, 0644). 0 or -errno. */
int port_write(const char *path, int port);

#endif
