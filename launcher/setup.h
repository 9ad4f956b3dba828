/* From the command line and the environment to a struct daemon ready for
 * daemon_init's callers: --socket/TSRUN_SOCKET/TS_SOCKET, --socks5,
 * --state-dir/TSRUN_STATE_DIR/TS_STATE_DIR, --socks5-port/TSRUN_SOCKS5_PORT/
 * TS_SOCKS5_SERVER, TS_OUTBOUND_HTTP_PROXY_LISTEN, TS_ACCEPT_DNS,
 * TS_USERSPACE, TS_AUTH_ONCE, TS_HOSTNAME (README.md has the table). A
 * malformed value is refused in one line before anything starts. */
#ifndef TSRUN_SETUP_H
#define TSRUN_SETUP_H

#include "cli.h"
#include "daemon.h"
#include "tun.h"

/* memset(d), the options, the variables, then daemon_init(d). 0, or a
 * TSR_EXIT_* code after saying why (TSR_EXIT_USAGE for a bad value). */
int setup_daemon(const struct cli *c, struct daemon *d);

/* The networking of the tailscaled tsrun would start (`up`, COMMAND, env):
 * `up --tun`, else TS_USERSPACE (false: kernel), else userspace; sets
 * d->tun_kernel. Kernel mode that cannot work here is refused in one line,
 * before anything starts; auto says in one line which it picked and why.
 * want_out (may be NULL): what was asked for out loud, TUN_AUTO when
 * nothing was. Nothing for an external tailscaled. 0 or TSR_EXIT_USAGE. */
int setup_tun(const struct cli *c, struct daemon *d, enum tun_want *want_out);

#endif
