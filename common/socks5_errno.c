#include "socks5_errno.h"

#include <errno.h>

int socks5_reply_errno(const struct socks5_reply *reply, long long elapsed_ms)
{
    if (reply->error != SOCKS5_ERR_REPLY)
        return reply->error == SOCKS5_OK ? 0 : ECONNREFUSED;
    switch (reply->rep) {
    case SOCKS5_REP_GENERAL_FAILURE:
        /* tailscaled answers every dial failure with 0x01: a refused port
         * answers at once, an offline or filtered peer after its 5 s cap. */
        return elapsed_ms >= SOCKS5_SLOW_FAILURE_MS ? ETIMEDOUT : ECONNREFUSED;
    case SOCKS5_REP_NOT_ALLOWED:
        return EACCES;
    case SOCKS5_REP_NETWORK_UNREACHABLE:
        return ENETUNREACH;
    case SOCKS5_REP_HOST_UNREACHABLE:
        return EHOSTUNREACH;
    case SOCKS5_REP_CONNECTION_REFUSED:
        return ECONNREFUSED;
    case SOCKS5_REP_TTL_EXPIRED:
        return ETIMEDOUT;
    case SOCKS5_REP_COMMAND_NOT_SUPPORTED:
        return EOPNOTSUPP;
    case SOCKS5_REP_ADDRESS_NOT_SUPPORTED:
        return EAFNOSUPPORT;
    default:
        return ECONNREFUSED;
    }
}
