#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define CONFIG_FILE_MAX 4096
#define CONFIG_TIMEOUT_MAX_MS 600000

static const char *const config_keys[] = {
    "TSRUN_SOCKS5", "TSRUN_ROUTES", "TSRUN_CONNECT_TIMEOUT_MS",
    "TSRUN_DEBUG",  "TSRUN_QUIET",  "TSRUN_NAMES", "TSRUN_SOCKS5_PIPELINE",
};

int config_parse_socks5(const char *s, struct sockaddr_in6 *out, bool *is_v4)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon;
    size_t hostlen;

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
    if (hostlen == 0 || hostlen >= sizeof host)
        return -EINVAL;
    memcpy(host, s, hostlen);
    host[hostlen] = '\0';

    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
        return -EINVAL;

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

static int parse_int(const char *s, long min, long max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

static void set_defaults(struct config *cfg)
{
    bool is_v4 = true;
    memset(cfg, 0, sizeof *cfg);
    cfg->enabled = true;
    config_parse_socks5(CONFIG_DEFAULT_SOCKS5, &cfg->socks5, &is_v4);
    cfg->socks5_is_v4 = is_v4;
    cfg->connect_timeout_ms = CONFIG_DEFAULT_CONNECT_TIMEOUT_MS;
    /* tailscaled reads the greeting and the request with io.ReadFull, so
     * both can go in one write; some servers (microsocks) drop the excess. */
    cfg->pipeline = true;
}

const char *config_socks5_text(const struct config *cfg, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    unsigned port = ntohs(cfg->socks5.sin6_port);
    if (cfg->socks5_is_v4) {
        inet_ntop(AF_INET, &cfg->socks5.sin6_addr.s6_addr[12], ip, sizeof ip);
        snprintf(buf, size, "%s:%u", ip, port);
    } else {
        inet_ntop(AF_INET6, &cfg->socks5.sin6_addr, ip, sizeof ip);
        snprintf(buf, size, "[%s]:%u", ip, port);
    }
    return buf;
}

int config_parse(config_lookup_fn lookup, void *ctx, struct config *cfg,
                 char *err, size_t errlen)
{
    const char *v, *bad = NULL;
    int flag;

    set_defaults(cfg);
    if ((v = lookup("TSRUN_SOCKS5", ctx)) != NULL &&
        config_parse_socks5(v, &cfg->socks5, &cfg->socks5_is_v4) < 0) {
        snprintf(err, errlen, "TSRUN_SOCKS5=%.80s: expected IP:PORT or [IPv6]:PORT", v);
        return -EINVAL;
    }
    if ((v = lookup("TSRUN_ROUTES", ctx)) != NULL &&
        route_parse_list(v, &cfg->routes, &bad) < 0) {
        snprintf(err, errlen, "TSRUN_ROUTES: bad item \"%.60s\" (expected CIDR list or \"all\")",
                 bad != NULL ? bad : v);
        return -EINVAL;
    }
    if ((v = lookup("TSRUN_CONNECT_TIMEOUT_MS", ctx)) != NULL &&
        parse_int(v, 1, CONFIG_TIMEOUT_MAX_MS, &cfg->connect_timeout_ms) < 0) {
        snprintf(err, errlen, "TSRUN_CONNECT_TIMEOUT_MS=%.40s: expected 1..%d", v,
                 CONFIG_TIMEOUT_MAX_MS);
        return -EINVAL;
    }
    if ((v = lookup("TSRUN_DEBUG", ctx)) != NULL && *v != '\0' &&
        parse_int(v, 0, 9, &cfg->debug) < 0) {
        snprintf(err, errlen, "TSRUN_DEBUG=%.40s: expected 0..9", v);
        return -EINVAL;
    }
    if ((v = lookup("TSRUN_QUIET", ctx)) != NULL && *v != '\0') {
        if (parse_int(v, 0, 1, &flag) < 0) {
            snprintf(err, errlen, "TSRUN_QUIET=%.40s: expected 0 or 1", v);
            return -EINVAL;
        }
        cfg->quiet = flag == 1;
    }
    if ((v = lookup("TSRUN_SOCKS5_PIPELINE", ctx)) != NULL && *v != '\0') {
        if (parse_int(v, 0, 1, &flag) < 0) {
            snprintf(err, errlen, "TSRUN_SOCKS5_PIPELINE=%.40s: expected 0 or 1", v);
            return -EINVAL;
        }
        cfg->pipeline = flag == 1;
    }
    if ((v = lookup("TSRUN_NAMES", ctx)) != NULL) {
        if (strlen(v) >= sizeof cfg->names_path) {
            snprintf(err, errlen, "TSRUN_NAMES: path longer than %zu bytes",
                     sizeof cfg->names_path - 1);
            return -EINVAL;
        }
        strcpy(cfg->names_path, v);
    }
    return 0;
}

/* --- the root-owned file: "key = value" lines mapped onto TSRUN_* keys --- */

#define CONFIG_NKEYS (sizeof config_keys / sizeof config_keys[0])

struct file_pairs {
    const char *value[CONFIG_NKEYS];
    bool use_env; /* environment first, then the file (config_load) */
};

static const char *file_lookup(const char *key, void *ctx)
{
    const struct file_pairs *pairs = ctx;
    const char *env = pairs->use_env ? getenv(key) : NULL;
    if (env != NULL)
        return env;
    for (size_t i = 0; i < CONFIG_NKEYS; i++)
        if (strcmp(key, config_keys[i]) == 0)
            return pairs->value[i];
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Splits the file's text into pairs; values point into copy. */
static int file_split(char *copy, struct file_pairs *pairs, char *err, size_t errlen)
{
    unsigned lineno = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        line = trim(line);
        if (*line == '\0' || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s: line %u: expected key = value",
                     CONFIG_SYSTEM_FILE, lineno);
            return -EINVAL;
        }
        *eq = '\0';
        char *key = trim(line), *value = trim(eq + 1);
        char envkey[64];
        size_t i;
        snprintf(envkey, sizeof envkey, "TSRUN_%s", key);
        for (char *p = envkey; *p != '\0'; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        for (i = 0; i < CONFIG_NKEYS; i++)
            if (strcmp(envkey, config_keys[i]) == 0)
                break;
        if (i == CONFIG_NKEYS) {
            snprintf(err, errlen, "%s: line %u: unknown key \"%.40s\"",
                     CONFIG_SYSTEM_FILE, lineno, key);
            return -EINVAL;
        }
        pairs->value[i] = value;
    }
    return 0;
}

int config_parse_file_text(const char *text, struct config *cfg, char *err,
                           size_t errlen)
{
    char copy[CONFIG_FILE_MAX + 1];
    struct file_pairs pairs = {0};
    size_t len = strlen(text);

    if (len > CONFIG_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes", CONFIG_SYSTEM_FILE,
                 CONFIG_FILE_MAX);
        return -EINVAL;
    }
    memcpy(copy, text, len + 1);
    int rc = file_split(copy, &pairs, err, errlen);
    return rc < 0 ? rc : config_parse(file_lookup, &pairs, cfg, err, errlen);
}

/* --- the process-wide configuration --- */

static struct config config_global;
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

/* Reads the system file if it is a root-owned regular file nobody else can
 * write. Returns 1 when read into buf, 0 when absent or untrusted. */
static int read_system_file(char *buf, size_t size)
{
    int fd = open(CONFIG_SYSTEM_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    struct stat st;
    ssize_t n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 &&
        (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 && (size_t)st.st_size < size) {
        size_t got = 0;
        while (got < size - 1) {
            ssize_t r = read(fd, buf + got, size - 1 - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        buf[got] = '\0';
        n = (ssize_t)got;
    }
    close(fd);
    return n >= 0;
}

static void config_load(void)
{
    char err[256] = "";
    char text[CONFIG_FILE_MAX + 1];
    struct file_pairs pairs = {0};
    int saved = errno, rc = 0;
    /* IMPORTANT: in setuid/setgid/AT_SECURE processes the environment belongs
     * to a less privileged caller; only the root-owned file may configure
     * the shim there, and without it the shim stays inert. Elsewhere each
     * TSRUN_* variable overrides the file's value for that key. */
    bool secure = getauxval(AT_SECURE) != 0;
    bool have_file = read_system_file(text, sizeof text);

    if (have_file)
        rc = file_split(text, &pairs, err, sizeof err);
    if (secure && !have_file) {
        memset(&config_global, 0, sizeof config_global);
    } else if (rc == 0) {
        pairs.use_env = !secure;
        rc = config_parse(file_lookup, &pairs, &config_global, err, sizeof err);
    }
    if (rc < 0) {
        /* A bad value must not take the program down: say so once, then
         * step aside for the rest of this process. */
        memset(&config_global, 0, sizeof config_global);
        log_line("%s; tunnelling disabled for this process", err);
    }
    errno = saved;
}

const struct config *config_get(void)
{
    pthread_once(&config_once, config_load);
    return &config_global;
}
