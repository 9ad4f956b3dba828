#include "localaddr.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libc.h"

/* The rtnetlink ABI (linux/netlink.h, linux/rtnetlink.h), spelled out
 * here because musl-gcc has no kernel headers. Stable kernel ABI. */
#define LA_NETLINK_ROUTE 0
#define LA_RTM_NEWROUTE 24
#define LA_RTM_GETROUTE 26
#define LA_NLM_F_REQUEST 1
#define LA_RTA_DST 1
#define LA_RTN_LOCAL 2
#define LA_SEQ 0x7473 /* "ts" */

struct la_nlmsghdr {
    uint32_t len;
    uint16_t type, flags;
    uint32_t seq, pid;
};
struct la_rtmsg {
    unsigned char family, dst_len, src_len, tos, table, protocol, scope, type;
    uint32_t flags;
};
struct la_rtattr {
    uint16_t len, type;
};
struct la_sockaddr_nl {
    sa_family_t family;
    unsigned short pad;
    uint32_t pid, groups;
};

bool localaddr_is_local(const uint8_t a16[16])
{
    static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    bool v4 = memcmp(a16, v4_mapped, sizeof v4_mapped) == 0;
    size_t alen = v4 ? 4 : 16;
    struct {
        struct la_nlmsghdr nh;
        struct la_rtmsg rt;
        struct la_rtattr rta;
        uint8_t addr[16];
    } req;
    union {
        struct {
            struct la_nlmsghdr nh;
            struct la_rtmsg rt;
        } head;
        char bytes[1024];
    } reply;
    struct la_sockaddr_nl kernel = {.family = AF_NETLINK};
    bool local = false;
    int saved = errno, fd = -1;

    _Static_assert(sizeof req.nh == 16 && sizeof req.rt == 12 && sizeof req.rta == 4,
                   "netlink header sizes");
    memset(&req, 0, sizeof req);
    req.nh.len = (uint32_t)(sizeof req.nh + sizeof req.rt + sizeof req.rta + alen);
    req.nh.type = LA_RTM_GETROUTE;
    req.nh.flags = LA_NLM_F_REQUEST;
    req.nh.seq = LA_SEQ;
    req.rt.family = v4 ? AF_INET : AF_INET6;
    req.rt.dst_len = (unsigned char)(alen * 8);
    req.rta.type = LA_RTA_DST;
    req.rta.len = (uint16_t)(sizeof req.rta + alen);
    memcpy(req.addr, v4 ? a16 + 12 : a16, alen);

    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, LA_NETLINK_ROUTE);
    if (fd < 0)
        goto out;
    if (libc_sendto(fd, &req, req.nh.len, 0, (const struct sockaddr *)&kernel, sizeof kernel) !=
        (ssize_t)req.nh.len)
        goto out;
    ssize_t n;
    do
        n = libc_recvfrom(fd, &reply, sizeof reply, MSG_DONTWAIT, NULL, NULL);
    while (n < 0 && errno == EINTR);
    /* RTM_NEWROUTE: the route the kernel would use; NLMSG_ERROR (no route)
     * or anything short is "not local". */
    if (n >= (ssize_t)sizeof reply.head && reply.head.nh.len >= sizeof reply.head &&
        reply.head.nh.type == LA_RTM_NEWROUTE && reply.head.nh.seq == LA_SEQ)
        local = reply.head.rt.type == LA_RTN_LOCAL;
out:
    if (fd >= 0)
        close(fd);
    errno = saved;
    return local;
}
