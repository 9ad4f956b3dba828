/* TUN or userspace networking for the tailscaled tsrun starts. */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"
#include "tsrun.h"

#define TUN_CAP_NET_ADMIN_BIT 12 /* linux/capability.h CAP_NET_ADMIN */

int tun_parse(const char *s, enum tun_want *out)
{
    if (!s)
        return -EINVAL;
    if (!strcmp(s, "userspace"))
        *out = TUN_USERSPACE;
    else if (!strcmp(s, "kernel"))
        *out = TUN_KERNEL;
    else if (!strcmp(s, "auto"))
        *out = TUN_AUTO;
    else
        return -EINVAL;
    return 0;
}

int tun_decide(enum tun_want want, const char *dev, int dev_err, bool cap, bool *kernel, char *why,
               size_t whylen)
{
    *kernel = false;
    if (want == TUN_USERSPACE) {
        snprintf(why, whylen, "userspace networking asked for");
        return 0;
    }
    if (dev_err == 0 && cap) {
        *kernel = true;
        snprintf(why, whylen, "%s and CAP_NET_ADMIN are both here", dev);
        return 0;
    }
    if (dev_err && !cap)
        snprintf(why, whylen, "%s cannot be opened (%s) and there is no CAP_NET_ADMIN", dev,
                 strerror(dev_err));
    else if (dev_err)
        snprintf(why, whylen, "%s cannot be opened (%s)", dev, strerror(dev_err));
    else
        snprintf(why, whylen, "no CAP_NET_ADMIN (tailscaled cannot create %s)", TUN_IFACE);
    return want == TUN_KERNEL ? -EPERM : 0;
}

int tun_probe(enum tun_want want, bool *kernel, char *why, size_t whylen)
{
    const char *dev = getenv("TSRUN_DEV_NET_TUN");
    if (!dev || !*dev)
        dev = TUN_DEV_PATH;
    int dev_err = 0;
    bool cap = false;
    if (want != TUN_USERSPACE) {
        int fd = open(dev, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            dev_err = errno ? errno : EIO;
        else
            close(fd);
        char *st = NULL;
        uint64_t eff = 0;
        if (tsr_read_file("/proc/self/status", &st, NULL) == 0 &&
            doctor_parse_capeff(st, &eff) == 0)
            cap = (eff >> TUN_CAP_NET_ADMIN_BIT) & 1;
        free(st);
    }
    return tun_decide(want, dev, dev_err, cap, kernel, why, whylen);
}
