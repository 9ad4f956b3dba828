/* `tsrun up --tun=auto|userspace|kernel` (and containerboot's TS_USERSPACE):
 * which networking the tailscaled that tsrun starts uses. */
#ifndef TSRUN_TUN_H
#define TSRUN_TUN_H

#include <stdbool.h>
#include <stddef.h>

/* Kernel (TUN) mode needs both: the device tailscaled opens and the
 * capability it needs to create the interface and its routes. */
#define TUN_DEV_PATH "/dev/net/tun" /* TSRUN_DEV_NET_TUN overrides (tests) */
#define TUN_IFACE "tailscale0"      /* tailscaled's default --tun name */

enum tun_want {
    TUN_USERSPACE = 0, /* --tun=userspace-networking: the default */
    TUN_KERNEL,        /* --tun=tailscale0; refused when impossible */
    TUN_AUTO,          /* kernel when possible, else userspace */
};

/* Pure: "auto", "userspace", "kernel" -> *out. 0 or -EINVAL. */
int tun_parse(const char *s, enum tun_want *out);

/* Pure: the decision. dev_err is 0 when the device opened, else the errno
 * of the attempt; cap says whether CAP_NET_ADMIN is in the effective set.
 * Sets *kernel and a one-clause reason in why ("/dev/net/tun and
 * CAP_NET_ADMIN are both here", "no CAP_NET_ADMIN", ...). 0, or -EPERM
 * when want is TUN_KERNEL and kernel mode is impossible (why names what is
 * missing; *kernel false). dev names the device path in the reasons. */
int tun_decide(enum tun_want want, const char *dev, int dev_err, bool cap, bool *kernel, char *why,
               size_t whylen);

/* The probes: opens the device (TSRUN_DEV_NET_TUN, else /dev/net/tun)
 * read-write and closes it: 0 or the errno; reads CapEff from
 * /proc/self/status; then tun_decide(). Nothing is probed for
 * TUN_USERSPACE. */
int tun_probe(enum tun_want want, bool *kernel, char *why, size_t whylen);

#endif
