/* Hostname sanitising: tailscale rejects --hostname values that are not a
 * DNS label, and sandbox names ("My_Dev Box!", 80-char pod names) often are
 * not. */
#include "hostname.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hostname_sanitize(const char *in, char *out, size_t outlen)
{
    if (!out || outlen < HOSTNAME_LABEL_MAX + 1)
        return -EINVAL;
    size_t n = 0;
    bool dash = false;
    for (const char *p = in ? in : ""; *p && *p != '.'; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && n > 0 && n < HOSTNAME_LABEL_MAX)
                out[n++] = '-';
            dash = false;
            if (n < HOSTNAME_LABEL_MAX)
                out[n++] = c;
        } else {
            dash = true;
        }
        if (n >= HOSTNAME_LABEL_MAX)
            break;
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    if (n == 0)
        strcpy(out, HOSTNAME_FALLBACK);
    return 0;
}

int hostname_pick(char *out, size_t outlen)
{
    const char *env = getenv("TS_HOSTNAME");
    char buf[256] = "";
    if (env && *env)
        return hostname_sanitize(env, out, outlen);
    if (gethostname(buf, sizeof buf - 1) < 0)
        buf[0] = '\0';
    buf[sizeof buf - 1] = '\0';
    return hostname_sanitize(buf, out, outlen);
}
