/* The TSRUN_* settings the shim reads: the keys, one parser per value kind,
 * and the check the launcher runs before it hands the environment on. The
 * shim (shim/config.c) and the launcher (launcher/inject.c) both call these,
 * so they accept exactly the same values. Pure: no I/O, no allocation.
 *
 * Every key: an empty value means "unset" (the built-in default). */
#ifndef TSRUN_SETTINGS_H
#define TSRUN_SETTINGS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

enum settings_key {
    SETTINGS_SOCKS5,             /* IP:PORT or [IPv6]:PORT (numeric, or localhost) */
    SETTINGS_ROUTES,             /* CIDR list and/or "all" (common/route.h) */
    SETTINGS_CONNECT_TIMEOUT_MS, /* milliseconds, 1..SETTINGS_TIMEOUT_MAX_MS */
    SETTINGS_DEBUG,              /* level 0..9, or a boolean word (on = 1) */
    SETTINGS_QUIET,              /* boolean */
    SETTINGS_NAMES,              /* name-map path, shorter than PATH_MAX */
    SETTINGS_SOCKS5_PIPELINE,    /* boolean */
    SETTINGS_LOG,                /* absolute path for the shim's lines */
    SETTINGS_NKEYS
};

#define SETTINGS_TIMEOUT_MAX_MS 600000
#define SETTINGS_DEBUG_MAX 9

/* "TSRUN_SOCKS5" ... for k < SETTINGS_NKEYS. */
const char *settings_name(enum settings_key k);

/* The key called name ("TSRUN_DEBUG"), or -ENOENT. */
int settings_key_of(const char *name);

/* What a value of k must look like, for messages ("1..600000"). */
const char *settings_expected(enum settings_key k);

/* Booleans: 1/0, true/false, yes/no, on/off, any letter case. 0 or -EINVAL. */
int settings_parse_bool(const char *s, bool *out);

/* 0..SETTINGS_DEBUG_MAX in decimal, or a boolean word (true = 1). */
int settings_parse_level(const char *s, int *out);

/* Decimal integer in [min, max], nothing else (no sign, space or unit). */
int settings_parse_int(const char *s, long min, long max, int *out);

/* A TCP port, 1..65535. */
int settings_parse_port(const char *s, int *out);

/* "HOST:PORT" / "[V6]:PORT" with a numeric host ("localhost" = 127.0.0.1).
 * out gets AF_INET6 with IPv4 stored v4-mapped; *is_v4 says which it was. */
int settings_parse_ipport(const char *s, struct sockaddr_in6 *out, bool *is_v4);

/* 0 when value is acceptable for k (empty = unset is always acceptable),
 * else -EINVAL. The launcher's whole check; the shim parses with the
 * settings_parse_* functions above, which this calls. */
int settings_check(enum settings_key k, const char *value);

#endif
