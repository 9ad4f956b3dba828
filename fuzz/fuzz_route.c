/* Fuzzes the route check with random families, lengths and bytes. Input:
 * byte 0 picks the family (0: AF_INET, 1: AF_INET6, else the byte itself),
 * bytes 1-2 the length (little endian), the rest fills the sockaddr from
 * offset 2 (after the family). Invariant: a tailnet address in any length
 * the kernel accepts (AF_INET 16..128, AF_INET6 24..128; sendmsg clamps
 * longer names to 128) is always caught, by route_is_tunnelled() and by
 * the hooks' intercept_wants(); a length the kernel rejects never is. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "intercept.h"
#include "route.h"

static bool tailnet(const uint8_t a[16])
{
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    static const uint8_t v6[6] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
    if (memcmp(a, mapped, 12) == 0)
        return a[12] == 100 && (a[13] & 0xc0) == 64;
    return memcmp(a, v6, 6) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    size_t n = size - 3 > sizeof ss - 2 ? sizeof ss - 2 : size - 3;
    memcpy((char *)&ss + 2, data + 3, n);
    ss.ss_family = data[0] == 0 ? AF_INET : data[0] == 1 ? AF_INET6 : data[0];
    socklen_t len = (socklen_t)(data[1] | data[2] << 8);

    uint8_t a[16];
    bool accepted = false, in_tailnet = false;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)&ss;
        memset(a, 0, 10);
        a[10] = a[11] = 0xff;
        memcpy(a + 12, &in->sin_addr, 4);
        accepted = len >= 16 && len <= 128;
        in_tailnet = tailnet(a);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)&ss;
        memcpy(a, &in6->sin6_addr, 16);
        accepted = len >= 24 && len <= 128;
        in_tailnet = tailnet(a);
    }
    const struct sockaddr *sa = (const struct sockaddr *)&ss;
    bool caught = route_is_tunnelled(sa, len, NULL);
    if (accepted && in_tailnet && !caught)
        abort(); /* a tailnet address in an accepted length escaped */
    if (caught && !(accepted && in_tailnet))
        abort(); /* caught something the kernel would refuse, or no tailnet */
    if (accepted && in_tailnet && !intercept_wants(sa, len))
        abort();
    /* sendmsg()/sendmmsg(): the kernel clamps msg_namelen to 128. */
    socklen_t mlen = intercept_msg_namelen(len);
    bool maccepted = ss.ss_family == AF_INET ? mlen >= 16 : mlen >= 24;
    if (maccepted && in_tailnet && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) &&
        !intercept_wants(sa, mlen))
        abort();
    return 0;
}
