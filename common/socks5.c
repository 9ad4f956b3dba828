#include "socks5.h"

#include <string.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

size_t socks5_encode_connect(uint8_t out[SOCKS5_REQUEST_MAX],
                             const uint8_t addr16[16], uint16_t port)
{
    size_t n = 0;
    out[n++] = SOCKS5_VERSION;
    out[n++] = 1; /* one method offered: tailscaled accepts only no-auth */
    out[n++] = SOCKS5_METHOD_NO_AUTH;
    out[n++] = SOCKS5_VERSION;
    out[n++] = SOCKS5_CMD_CONNECT;
    out[n++] = 0; /* RSV */
    if (memcmp(addr16, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
        out[n++] = SOCKS5_ATYP_IPV4;
        memcpy(out + n, addr16 + 12, 4);
        n += 4;
    } else {
        out[n++] = SOCKS5_ATYP_IPV6;
        memcpy(out + n, addr16, 16);
        n += 16;
    }
    out[n++] = (uint8_t)(port >> 8);
    out[n++] = (uint8_t)(port & 0xff);
    return n;
}

static size_t fail(struct socks5_reply *out, enum socks5_error e, size_t length)
{
    out->error = e;
    out->length = length;
    return 0;
}

size_t socks5_parse_reply(const uint8_t *buf, size_t len,
                          struct socks5_reply *out)
{
    memset(out, 0, sizeof *out);
    /* Method reply: VER METHOD */
    if (len < 2)
        return 2;
    if (buf[0] != SOCKS5_VERSION)
        return fail(out, SOCKS5_ERR_VERSION, 2);
    if (buf[1] == SOCKS5_METHOD_NO_ACCEPTABLE)
        return fail(out, SOCKS5_ERR_NO_METHOD, 2);
    if (buf[1] != SOCKS5_METHOD_NO_AUTH)
        return fail(out, SOCKS5_ERR_METHOD, 2);

    /* CONNECT reply: VER REP RSV ATYP BND.ADDR BND.PORT */
    if (len < 6)
        return 6;
    if (buf[2] != SOCKS5_VERSION)
        return fail(out, SOCKS5_ERR_VERSION, 6);
    out->rep = buf[3];
    out->atyp = buf[5];
    if (out->rep != SOCKS5_REP_SUCCEEDED)
        return fail(out, SOCKS5_ERR_REPLY, 6);

    size_t need;
    switch (out->atyp) {
    case SOCKS5_ATYP_IPV4:
        need = 2 + 4 + 4 + 2;
        break;
    case SOCKS5_ATYP_IPV6:
        need = 2 + 4 + 16 + 2;
        break;
    case SOCKS5_ATYP_DOMAIN:
        if (len < 7)
            return 7;
        need = 2 + 4 + 1 + (size_t)buf[6] + 2;
        break;
    default:
        return fail(out, SOCKS5_ERR_ATYP, 6);
    }
    if (len < need)
        return need;
    out->error = SOCKS5_OK;
    out->length = need;
    return 0;
}

const char *socks5_error_name(enum socks5_error e)
{
    switch (e) {
    case SOCKS5_OK: return "ok";
    case SOCKS5_ERR_VERSION: return "not a SOCKS5 reply (bad version byte)";
    case SOCKS5_ERR_NO_METHOD: return "proxy requires authentication (05 FF)";
    case SOCKS5_ERR_METHOD: return "proxy chose a method we did not offer";
    case SOCKS5_ERR_ATYP: return "unknown address type in reply";
    case SOCKS5_ERR_REPLY: return "proxy refused the CONNECT";
    }
    return "unknown";
}

const char *socks5_rep_name(uint8_t rep)
{
    static const char *const names[] = {
        "succeeded",           "general failure",     "not allowed by ruleset",
        "network unreachable", "host unreachable",    "connection refused",
        "TTL expired",         "command not supported", "address type not supported",
    };
    return rep < sizeof names / sizeof names[0] ? names[rep] : "unassigned reply code";
}
