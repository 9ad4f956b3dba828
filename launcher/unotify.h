/* The seccomp supervisor: tsrun answers the command tree's connect,
 * getpeername, addressed sendto/sendmsg/sendmmsg and (for DNS answers from
 * its stub) recvfrom while the command runs. */
#ifndef TSRUN_UNOTIFY_H
#define TSRUN_UNOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "route.h"

#define UNOTIFY_DEFAULT_TIMEOUT_MS 7000 /* the shim's TSRUN_CONNECT_TIMEOUT_MS default */

struct unotify_cfg {
    struct sockaddr_storage proxy; /* tailscaled's SOCKS5 (IPv4 or IPv6) */
    socklen_t proxylen;
    struct route_table routes;    /* extra tunnelled ranges (TSRUN_ROUTES) */
    int timeout_ms;               /* per tunnelled connect */
    bool no_new_privs;            /* the tree runs with it: report setuid/setcap execs */
    bool dns;                     /* UDP connects to port 53 go to the stub: */
    struct sockaddr_storage stub; /* launcher/dnsstub.c's address */
    socklen_t stublen;
    bool dns_tcp;                     /* TCP connects to port 53 go to the stub's */
    struct sockaddr_storage stub_tcp; /* TCP listener (dnsstub_start_tcp) */
    socklen_t stub_tcplen;
    bool force_addfd; /* never pidfd_getfd (TSRUN_SECCOMP_ADDFD=1: Docker's path, for tests) */
};

/* Pure: fills cfg->proxy from "IP:PORT" or "[IPv6]:PORT". 0 or -EINVAL. */
int unotify_parse_proxy(const char *text, struct unotify_cfg *cfg);

/* Runs until the command (child) exits: answers notifications on listener
 * (tunnelled TCP connects go through the proxy on the app's own socket via
 * pidfd_getfd, or on a new socket installed with SECCOMP_IOCTL_NOTIF_ADDFD
 * where pidfd_getfd is refused; UDP/raw to tunnelled ranges, by connect,
 * sendto, sendmsg or sendmmsg -> ENETUNREACH, TCP fast open there ->
 * EOPNOTSUPP;
 * everything else continues in the kernel) and forwards signals sent to
 * tsrun by other processes (not the terminal's, which the command gets
 * itself). Returns the child's wait status; closes listener. */
int unotify_supervise(int listener, pid_t child, const struct unotify_cfg *cfg);

/* Signals another process sends tsrun (HUP INT QUIT TERM USR1 USR2 ALRM
 * WINCH) go on to child from now on; SIGPIPE is ignored. */
void unotify_forward_signals(pid_t child);

/* Ends tsrun the way the command ended (exit code, or the same signal). */
_Noreturn void unotify_exit_like(int status);

#endif
