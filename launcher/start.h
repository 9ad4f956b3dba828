/* Starting tailscaled. daemon_find_binaries (declared in daemon.h) lives in
 * start.c too. Every function here runs under the state directory's lock
 * (ensure.c) except start_read_addrs. */
#ifndef TSRUN_START_H
#define TSRUN_START_H

#include <stdbool.h>
#include <stddef.h>

struct daemon;

/* tailscaled with --tun=userspace-networking (or tailscale0 when
 * d->tun_kernel), SOCKS5 and the outbound HTTP proxy on 127.0.0.1 (the port
 * from --socks5-port, the recorded port, 1055 or the fallback: port.h),
 * output to d->log_path (the previous log kept as .1), no auth key and no
 * shim in its environment. as_child: our child, with TS_PARENT_DEATH_FD
 * (d->child, d->death_wr); else double-forked into a session of its own.
 * Writes the pid file, waits until deadline (tsr_now_ms() milliseconds)
 * for its socket and its "SOCKS5 listening on" log line, then writes the
 * http_proxy, port and socks5 files and fills d->socks5 and d->http_proxy.
 * 0, or a TSR_EXIT_* code after saying why (the daemon is stopped and its
 * pid file removed then). */
int start_tailscaled(struct daemon *d, bool as_child, long long deadline);

/* Stops a recorded tailscaled of ours that no longer answers and removes
 * the files that described it (pid, socks5, http_proxy, ready, a dead
 * socket). */
void start_clean_stale(struct daemon *d);

/* d->socks5 and d->http_proxy from the state directory's files: true when
 * the SOCKS5 address is known (http_proxy may stay ""). */
bool start_read_addrs(struct daemon *d);

/* The address of the last complete "SOCKS5 listening on ADDR" line of
 * tailscaled's log into out: false when there is none or it does not fit. */
bool start_socks5_from_log(const char *log_path, char *out, size_t outlen);

#endif
