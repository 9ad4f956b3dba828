#include "settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "route.h"

static const struct {
    const char *name, *expected;
} keys[SETTINGS_NKEYS] = {
    [SETTINGS_SOCKS5] = {"TSRUN_SOCKS5", "IP:PORT or [IPv6]:PORT"},
    [SETTINGS_ROUTES] = {"TSRUN_ROUTES", "a CIDR list or \"all\""},
    [SETTINGS_CONNECT_TIMEOUT_MS] = {"TSRUN_CONNECT_TIMEOUT_MS", "1..600000"},
    [SETTINGS_DEBUG] = {"TSRUN_DEBUG", "0..9, true/false, yes/no or on/off"},
    [SETTINGS_QUIET] = {"TSRUN_QUIET", "1/0, true/false, yes/no or on/off"},
    [SETTINGS_NAMES] = {"TSRUN_NAMES", "a path shorter than PATH_MAX"},
    [SETTINGS_SOCKS5_PIPELINE] = {"TSRUN_SOCKS5_PIPELINE", "1/0, true/false, yes/no or on/off"},
    [SETTINGS_LOG] = {"TSRUN_LOG", "an absolute path shorter than PATH_MAX"},
};

const char *settings_name(enum settings_key k)
{
    return (unsigned)k < SETTINGS_NKEYS ? keys[k].name : "TSRUN_?";
}

const char *settings_expected(enum settings_key k)
{
    return (unsigned)k < SETTINGS_NKEYS ? keys[k].expected : "?";
}

int settings_key_of(const char *name)
{
    for (int k = 0; k < SETTINGS_NKEYS; k++)
        if (strcmp(name, keys[k].name) == 0)
            return k;
    return -ENOENT;
}

int settings_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

int settings_parse_int(const char *s, long min, long max, int *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -EINVAL; /* no sign, no leading space */
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

int settings_parse_level(const char *s, int *out)
{
    bool b;
    if (settings_parse_int(s, 0, SETTINGS_DEBUG_MAX, out) == 0)
        return 0;
    if (settings_parse_bool(s, &b) < 0)
        return -EINVAL;
    *out = b ? 1 : 0;
    return 0;
}

int settings_parse_port(const char *s, int *out)
{
    return settings_parse_int(s, 1, 65535, out);
}

int settings_parse_ipport(const char *s, struct sockaddr_in6 *out, bool *is_v4)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon;
    size_t hostlen;
    int port;

    if (s == NULL || *s == '\0')
        return -EINVAL;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -EINVAL;
        hostlen = (size_t)(close - s - 1);
        s++;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
            return -EINVAL; /* bare IPv6 needs brackets */
        hostlen = (size_t)(colon - s);
    }
    if (hostlen == 0 || hostlen >= sizeof host || settings_parse_port(colon + 1, &port) < 0)
        return -EINVAL;
    memcpy(host, s, hostlen);
    host[hostlen] = '\0';

    memset(out, 0, sizeof *out);
    out->sin6_family = AF_INET6;
    out->sin6_port = htons((uint16_t)port);
    struct in_addr v4;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &v4) == 1) {
        out->sin6_addr.s6_addr[10] = 0xff;
        out->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&out->sin6_addr.s6_addr[12], &v4, 4);
        *is_v4 = true;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &out->sin6_addr) == 1) {
        *is_v4 = false;
        return 0;
    }
    return -EINVAL;
}

int settings_check(enum settings_key k, const char *value)
{
    struct sockaddr_in6 sa;
    struct route_table routes;
    bool b;
    int n;

    if (value == NULL || *value == '\0')
        return 0;
    switch (k) {
    case SETTINGS_SOCKS5:
        return settings_parse_ipport(value, &sa, &b);
    case SETTINGS_ROUTES:
        return route_parse_list(value, &routes, NULL);
    case SETTINGS_CONNECT_TIMEOUT_MS:
        return settings_parse_int(value, 1, SETTINGS_TIMEOUT_MAX_MS, &n);
    case SETTINGS_DEBUG:
        return settings_parse_level(value, &n);
    case SETTINGS_QUIET:
    case SETTINGS_SOCKS5_PIPELINE:
        return settings_parse_bool(value, &b);
    case SETTINGS_NAMES:
        return strlen(value) < PATH_MAX ? 0 : -EINVAL;
    case SETTINGS_LOG:
        return value[0] == '/' && strlen(value) < PATH_MAX ? 0 : -EINVAL;
    case SETTINGS_NKEYS:
        break;
    }
    return -EINVAL;
}
