/* Fuzzes socks5_parse_reply() the way tunnel.c drives it: the whole input at
 * once, then every prefix (a reply arriving byte by byte), checking the
 * parser's contract on each answer. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "socks5.h"
#include "socks5_errno.h"
#include "tunnel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct socks5_reply r;
    /* An exact-size heap copy so ASan sees any read past the end. */
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    for (size_t len = 0; len <= size && len <= SOCKS5_REPLY_MAX; len++) {
        size_t need = socks5_parse_reply(buf, len, &r);
        if (need != 0) {
            /* "need more": strictly more than we have, never past the max. */
            if (need <= len || need > SOCKS5_REPLY_MAX)
                abort();
            continue;
        }
        if (r.length == 0 || r.length > len)
            abort();
        if (r.error == SOCKS5_OK && r.rep != SOCKS5_REP_SUCCEEDED)
            abort();
        (void)socks5_error_name(r.error);
        (void)socks5_rep_name(r.rep);
        (void)socks5_reply_errno(&r, (long long)(len * 100));
        break; /* complete: later bytes belong to the application */
    }
    free(buf);
    return 0;
}
