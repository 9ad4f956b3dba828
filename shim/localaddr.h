/* "Is this one of the machine's own addresses?" -- for TSRUN_ROUTES=all.
 *
 * On a TUN-mode node with an exit node the local routing table wins over
 * every tailnet route: a connection to the sandbox's own non-loopback
 * address is delivered locally. The shim asks the kernel the same question
 * with one rtnetlink RTM_GETROUTE for the destination (the answer is
 * produced while sendto() runs, so it is read with MSG_DONTWAIT): a route
 * of type RTN_LOCAL means local delivery. getifaddrs() is not used: it
 * allocates and is not async-signal-safe.
 *
 * Cost: socket + sendto + recv + close, one short-lived descriptor (close-
 * on-exec, closed before returning). Only the `all` path pays it. */
#ifndef TSSHIM_LOCALADDR_H
#define TSSHIM_LOCALADDR_H

#include <stdbool.h>
#include <stdint.h>

/* True only when the kernel says a16 (16-byte form, IPv4 v4-mapped) is
 * delivered locally. Every failure (no netlink, a seccomp filter, no
 * answer, a truncated reply) answers false: fail closed, the destination
 * stays tunnelled. Thread- and async-signal-safe; errno is preserved. */
bool localaddr_is_local(const uint8_t a16[16]);

#endif
