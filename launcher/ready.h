/* Readiness: Running or not, and the ready file that lets a warm `tsrun`
 * skip the LocalAPI. daemon_parse_ready (declared in daemon.h) lives in
 * ready.c too. The file, state_dir/ready (ready.external for an external
 * tailscaled), holds "STATE\nexit_node 0|1\nroutes LIST\nsocket SOCK\n". */
#ifndef TSRUN_READY_H
#define TSRUN_READY_H

#include <stdbool.h>

struct daemon;

/* Polls the status every 50 ms until Running or deadline (tsr_now_ms()
 * milliseconds); a progress line on a terminal after 1 s. 0, or
 * TSR_EXIT_LOGIN (NeedsMachineAuth; NeedsLogin after logged_in) or
 * TSR_EXIT_TIMEOUT after saying why. */
int ready_wait(struct daemon *d, long long deadline, bool logged_in);

/* Records d->st (Running or not) in the ready file; nothing without a
 * status or in TUN mode. Best effort. */
void ready_write(struct daemon *d);

/* The warm path without any LocalAPI call: a ready file that says Running
 * for d->sock, younger than DAEMON_READY_TTL_S or kept by a live
 * supervisor, a readable name map, a known SOCKS5 address and a socket
 * that accepts. true with d->from_ready, d->ready_exit_node and
 * d->ready_routes set. */
bool ready_fast(struct daemon *d);

#endif
