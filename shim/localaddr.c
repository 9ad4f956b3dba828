#include "localaddr.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libc.h"

#define LOCALADDR_SEQ 0x7473 /* "ts" */

bool localaddr_is_local(const uint8_t a16[16])
{
    static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    bool v4 = memcmp(a16, v4_mapped, sizeof v4_mapped) == 0;
    size_t alen = v4 ? 4 : 16;
    struct {
        struct nlmsghdr nh;
        struct rtmsg rt;
        char attrs[RTA_SPACE(16)];
    } req;
    union {
        struct nlmsghdr nh;
        char bytes[1024];
    } reply;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    bool local = false;
    int saved = errno, fd = -1;

    memset(&req, 0, sizeof req);
    req.nh.nlmsg_len = (uint32_t)(NLMSG_LENGTH(sizeof req.rt) + RTA_LENGTH(alen));
    req.nh.nlmsg_type = RTM_GETROUTE;
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    req.nh.nlmsg_seq = LOCALADDR_SEQ;
    req.rt.rtm_family = v4 ? AF_INET : AF_INET6;
    req.rt.rtm_dst_len = (unsigned char)(alen * 8);
    struct rtattr *rta = (struct rtattr *)((char *)&req + NLMSG_LENGTH(sizeof req.rt));
    rta->rta_type = RTA_DST;
    rta->rta_len = (unsigned short)RTA_LENGTH(alen);
    memcpy(RTA_DATA(rta), v4 ? a16 + 12 : a16, alen);

    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        goto out;
    if (libc_sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) !=
        (ssize_t)req.nh.nlmsg_len)
        goto out;
    ssize_t n;
    do
        n = recv(fd, &reply, sizeof reply, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct rtmsg)))
        goto out;
    const struct nlmsghdr *nh = &reply.nh;
    if (NLMSG_OK(nh, (size_t)n) && nh->nlmsg_type == RTM_NEWROUTE &&
        nh->nlmsg_seq == LOCALADDR_SEQ && nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg))) {
        const struct rtmsg *rt = NLMSG_DATA(nh);
        local = rt->rtm_type == RTN_LOCAL;
    }
out:
    if (fd >= 0)
        close(fd);
    errno = saved;
    return local;
}
