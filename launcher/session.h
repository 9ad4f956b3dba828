/* The one value `tsrun COMMAND`, `tsrun env` and `tsrun status` need about
 * the tailscaled in use, so that none of them pieces it together from
 * struct daemon's side effects. */
#ifndef TSRUN_SESSION_H
#define TSRUN_SESSION_H

#include <limits.h>
#include <stdbool.h>

#include "daemon.h"

struct session {
    enum daemon_mode mode; /* USERSPACE: ours, inject the shim; TUN: the tailnet
                              is routable, inject nothing; EXTERNAL: someone
                              else's tailscaled (--socket/--socks5) */
    char socks5[80];       /* its SOCKS5 listener "IP:PORT"; "" when unknown */
    char http_proxy[80];   /* its outbound HTTP proxy "IP:PORT"; "" when none */
    char names[PATH_MAX];  /* the name map (TSRUN_NAMES); "" when there is none */
    char *routes;          /* TSRUN_ROUTES: "all" with an exit node in use, the
                              peers' routes with --accept-routes, else NULL;
                              malloc'd */
    bool pipeline;         /* our own userspace tailscaled: its SOCKS5 server
                              takes a pipelined request (TSRUN_SOCKS5_PIPELINE) */
};

/* daemon_ensure(d, 0), then: a supervisor when this call started
 * tailscaled (it keeps the map fresh while COMMAND runs), TUN mode when
 * tsrun's own tailscaled runs with a real TUN, the name map rewritten from
 * the status when there is one (not in TUN mode), and *s filled. d->st
 * stays for the caller (the seccomp supervisor wants the peers). 0 or a
 * TSR_EXIT_* code after saying why; *s is always safe to session_free(). */
int session_ensure(struct daemon *d, struct session *s);

/* What `status` shows, without starting anything: *s from d as it is
 * (the recorded addresses, the map's path even when not written yet). */
void session_observe(const struct daemon *d, struct session *s);

void session_free(struct session *s);

#endif
