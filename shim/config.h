/* The shim's configuration, read lazily and once per process.
 *
 * Each key comes from, first match wins:
 *   1. its TSRUN_* environment variable (ignored in AT_SECURE processes),
 *   2. /etc/tsrun/tsrun.conf when root-owned and not group/world writable,
 *   3. the built-in default (proxy 127.0.0.1:1055).
 * In AT_SECURE processes the shim stays inert without the root-owned file.
 *
 * IMPORTANT: a bad value never turns interception off (fail closed). Each bad
 * key falls back to a value that keeps tailnet traffic off the host's routes:
 *   TSRUN_SOCKS5       -> refuse_errno = ECONNREFUSED: tunnelled connects fail
 *   TSRUN_ROUTES       -> "all": every non-loopback destination is tunnelled
 *   TSRUN_NAMES        -> no name map
 *   TSRUN_LOG          -> none (fd 2 rules, shim/log.h)
 *   the others         -> their defaults
 * and config loading writes one line naming the key, the value and the
 * fallback. Values are parsed by common/settings.c, as the launcher does. */
#ifndef TSSHIM_CONFIG_H
#define TSSHIM_CONFIG_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>

#include "route.h"

#define CONFIG_DEFAULT_SOCKS5 "127.0.0.1:1055"
/* Above tailscaled's 5 s dial cap, so its own 0x01 reply arrives first. */
#define CONFIG_DEFAULT_CONNECT_TIMEOUT_MS 7000
#define CONFIG_SYSTEM_FILE "/etc/tsrun/tsrun.conf"

struct config {
    bool enabled;               /* false: every call passes straight to libc */
    struct sockaddr_in6 socks5; /* proxy address, IPv4 stored v4-mapped */
    bool socks5_is_v4;          /* configured as an IPv4 address */
    struct route_table routes;  /* TSRUN_ROUTES */
    int connect_timeout_ms;     /* TSRUN_CONNECT_TIMEOUT_MS */
    int debug;                  /* TSRUN_DEBUG */
    bool quiet;                 /* TSRUN_QUIET: no hint lines */
    bool pipeline;              /* TSRUN_SOCKS5_PIPELINE: greeting + CONNECT in one write */
    char names_path[PATH_MAX];  /* TSRUN_NAMES; "" = no name map */
    char log_path[PATH_MAX];    /* TSRUN_LOG; "" = fd 2 when a person reads it */
    int refuse_errno;           /* nonzero: tunnelled connects fail with it */
};

/* Key/value source for config_parse(): returns the value or NULL. */
typedef const char *(*config_lookup_fn)(const char *key, void *ctx);

/* Pure: fills cfg from a lookup function asked for every key of
 * common/settings.h. Returns 0, or -EINVAL when a value was bad: cfg is then
 * still complete, with the fallbacks above, and err holds one line naming
 * every bad key ("; " between them). */
int config_parse(config_lookup_fn lookup, void *ctx, struct config *cfg, char *err, size_t errlen);

/* Parses "HOST:PORT" / "[V6]:PORT" with a numeric host
 * (settings_parse_ipport). */
int config_parse_socks5(const char *s, struct sockaddr_in6 *out, bool *is_v4);

/* Parses the root config file's text ("key = value", '#' comments; keys are
 * the TSRUN_* keys without the prefix, any case). Pure. A malformed line or
 * an unknown key is skipped and reported like a bad value (-EINVAL, err); the
 * other lines still apply. */
int config_parse_file_text(const char *text, struct config *cfg, char *err, size_t errlen);

/* "127.0.0.1:1055" or "[::1]:1055", for messages. */
const char *config_socks5_text(const struct config *cfg, char *buf, size_t size);

/* The process-wide configuration; never NULL. Thread- and fork-safe. */
const struct config *config_get(void);

#endif
