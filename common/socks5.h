/* SOCKS5 (RFC 1928) client messages as pure functions over byte buffers:
 * no sockets here, so unit tests and fuzzers can feed them bytes. */
#ifndef TSSHIM_SOCKS5_H
#define TSSHIM_SOCKS5_H

#include <stddef.h>
#include <stdint.h>

#define SOCKS5_VERSION 0x05
#define SOCKS5_METHOD_NO_AUTH 0x00
#define SOCKS5_METHOD_NO_ACCEPTABLE 0xff
#define SOCKS5_CMD_CONNECT 0x01
#define SOCKS5_ATYP_IPV4 0x01
#define SOCKS5_ATYP_DOMAIN 0x03
#define SOCKS5_ATYP_IPV6 0x04

#define SOCKS5_REP_SUCCEEDED 0x00
#define SOCKS5_REP_GENERAL_FAILURE 0x01
#define SOCKS5_REP_NOT_ALLOWED 0x02
#define SOCKS5_REP_NETWORK_UNREACHABLE 0x03
#define SOCKS5_REP_HOST_UNREACHABLE 0x04
#define SOCKS5_REP_CONNECTION_REFUSED 0x05
#define SOCKS5_REP_TTL_EXPIRED 0x06
#define SOCKS5_REP_COMMAND_NOT_SUPPORTED 0x07
#define SOCKS5_REP_ADDRESS_NOT_SUPPORTED 0x08

/* The no-auth greeting: VER NMETHODS METHOD. */
#define SOCKS5_GREETING_LEN 3
/* Greeting (3 bytes) + CONNECT with an IPv6 address (22 bytes). */
#define SOCKS5_REQUEST_MAX 25
/* Method reply (2) + CONNECT reply with the longest domain (4 + 1 + 255 + 2). */
#define SOCKS5_REPLY_MAX 264

/* Encodes the no-auth greeting followed by CONNECT to addr16 (IPv6 form;
 * an IPv4-mapped address is sent as ATYP 1) and port, so both go out in one
 * write. Returns the length written (13 or 25). */
size_t socks5_encode_connect(uint8_t out[SOCKS5_REQUEST_MAX],
                             const uint8_t addr16[16], uint16_t port);

enum socks5_error {
    SOCKS5_OK = 0,
    SOCKS5_ERR_VERSION,        /* a version byte other than 5 */
    SOCKS5_ERR_NO_METHOD,      /* 05 FF: the server wants authentication */
    SOCKS5_ERR_METHOD,         /* the server picked a method we did not offer */
    SOCKS5_ERR_ATYP,           /* an address type we do not know */
    SOCKS5_ERR_REPLY,          /* the server answered REP != 0 (see rep) */
};

struct socks5_reply {
    enum socks5_error error;
    uint8_t rep;       /* REP byte when error == SOCKS5_ERR_REPLY or OK */
    uint8_t atyp;      /* of the bound address */
    size_t length;     /* bytes the method + CONNECT replies occupy */
};

/* Parses the method reply followed by the CONNECT reply, from the bytes read
 * so far. Returns 0 when complete (see out->error), or the total number of
 * bytes needed before it can decide (> len). A failure reply is complete as
 * soon as REP is known: tailscaled before 1.72 sent only 4 bytes, then EOF. */
size_t socks5_parse_reply(const uint8_t *buf, size_t len,
                          struct socks5_reply *out);

const char *socks5_error_name(enum socks5_error e);
const char *socks5_rep_name(uint8_t rep);

#endif
