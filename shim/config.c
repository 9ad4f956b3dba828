#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "settings.h"

#define CONFIG_STR_(x) #x
#define CONFIG_STR(x) CONFIG_STR_(x)

#define CONFIG_FILE_MAX 4096

int config_parse_socks5(const char *s, struct sockaddr_in6 *out, bool *is_v4)
{
    return settings_parse_ipport(s, out, is_v4);
}

static void set_defaults(struct config *cfg)
{
    bool is_v4 = true;
    memset(cfg, 0, sizeof *cfg);
    cfg->enabled = true;
    settings_parse_ipport(CONFIG_DEFAULT_SOCKS5, &cfg->socks5, &is_v4);
    cfg->socks5_is_v4 = is_v4;
    cfg->connect_timeout_ms = CONFIG_DEFAULT_CONNECT_TIMEOUT_MS;
    /* Off by default: RFC 1928 servers such as microsocks drop bytes sent
     * after the greeting. tailscaled reads greeting and request with
     * io.ReadFull, so tsrun turns it on for the tailscaled it started. */
    cfg->pipeline = false;
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

/* Appends "; " + one formatted message to err (truncating, never overflowing). */
static void add_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_err(char *err, size_t errlen, const char *fmt, ...)
{
    size_t used = strnlen(err, errlen);
    if (errlen == 0 || used + 1 >= errlen)
        return;
    if (used > 0) {
        snprintf(err + used, errlen - used, "; ");
        used = strnlen(err, errlen);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + used, errlen - used, fmt, ap);
    va_end(ap);
}

/* Parses one key's value into cfg; on a bad value applies the fail-closed
 * fallback and returns what it fell back to, for the message. NULL: good. */
static const char *parse_key(enum settings_key k, const char *v, struct config *cfg)
{
    bool b;
    switch (k) {
    case SETTINGS_SOCKS5: {
        struct sockaddr_in6 sa;
        if (settings_parse_ipport(v, &sa, &b) == 0) {
            cfg->socks5 = sa;
            cfg->socks5_is_v4 = b;
            return NULL;
        }
    }
        cfg->refuse_errno = ECONNREFUSED;
        return "tailnet connections are refused (ECONNREFUSED)";
    case SETTINGS_ROUTES:
        if (route_parse_list(v, &cfg->routes, NULL) == 0)
            return NULL;
        memset(&cfg->routes, 0, sizeof cfg->routes);
        cfg->routes.all = true;
        return "every non-loopback destination goes through the proxy (as \"all\")";
    case SETTINGS_CONNECT_TIMEOUT_MS:
        if (settings_parse_int(v, 1, SETTINGS_TIMEOUT_MAX_MS, &cfg->connect_timeout_ms) == 0)
            return NULL;
        cfg->connect_timeout_ms = CONFIG_DEFAULT_CONNECT_TIMEOUT_MS;
        return "using " CONFIG_STR(CONFIG_DEFAULT_CONNECT_TIMEOUT_MS);
    case SETTINGS_DEBUG:
        if (settings_parse_level(v, &cfg->debug) == 0)
            return NULL;
        cfg->debug = 0;
        return "using 0";
    case SETTINGS_QUIET:
        if (settings_parse_bool(v, &b) == 0) {
            cfg->quiet = b;
            return NULL;
        }
        cfg->quiet = false;
        return "using 0";
    case SETTINGS_SOCKS5_PIPELINE:
        if (settings_parse_bool(v, &b) == 0) {
            cfg->pipeline = b;
            return NULL;
        }
        cfg->pipeline = false;
        return "using 0";
    case SETTINGS_NAMES:
        if (settings_check(k, v) == 0) {
            strcpy(cfg->names_path, v);
            return NULL;
        }
        cfg->names_path[0] = '\0';
        return "no name map";
    case SETTINGS_LOG:
        if (settings_check(k, v) == 0) {
            strcpy(cfg->log_path, v);
            return NULL;
        }
        cfg->log_path[0] = '\0';
        return "no log file";
    case SETTINGS_NKEYS:
        break;
    }
    return "ignored";
}

/* config_parse() that appends to err instead of starting it afresh. */
static int parse_all(config_lookup_fn lookup, void *ctx, struct config *cfg, char *err,
                     size_t errlen)
{
    int rc = 0;
    set_defaults(cfg);
    for (int k = 0; k < SETTINGS_NKEYS; k++) {
        const char *v = lookup(settings_name(k), ctx);
        if (v == NULL || *v == '\0')
            continue; /* unset: the default */
        const char *fallback = parse_key(k, v, cfg);
        if (fallback != NULL) {
            add_err(err, errlen, "%s=%.60s: expected %s; %s", settings_name(k), v,
                    settings_expected(k), fallback);
            rc = -EINVAL;
        }
    }
    return rc;
}

int config_parse(config_lookup_fn lookup, void *ctx, struct config *cfg, char *err, size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    return parse_all(lookup, ctx, cfg, err, errlen);
}

/* --- the root-owned file: "key = value" lines mapped onto TSRUN_* keys --- */

struct file_pairs {
    const char *value[SETTINGS_NKEYS];
    bool use_env; /* environment first, then the file (config_load) */
};

static const char *file_lookup(const char *key, void *ctx)
{
    const struct file_pairs *pairs = ctx;
    const char *env = pairs->use_env ? getenv(key) : NULL;
    if (env != NULL)
        return env;
    int k = settings_key_of(key);
    return k < 0 ? NULL : pairs->value[k];
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

/* Splits the file's text into pairs; values point into copy. A bad line is
 * skipped and reported in err; the others still count. */
static int file_split(char *copy, struct file_pairs *pairs, char *err, size_t errlen)
{
    unsigned lineno = 0;
    int rc = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        line = trim(line);
        if (*line == '\0' || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            add_err(err, errlen, "%s: line %u: expected key = value; line ignored",
                    CONFIG_SYSTEM_FILE, lineno);
            rc = -EINVAL;
            continue;
        }
        *eq = '\0';
        char *key = trim(line), *value = trim(eq + 1);
        char envkey[64];
        snprintf(envkey, sizeof envkey, "TSRUN_%s", key);
        for (char *p = envkey; *p != '\0'; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        int k = settings_key_of(envkey);
        if (k < 0) {
            add_err(err, errlen, "%s: line %u: unknown key \"%.40s\"; line ignored",
                    CONFIG_SYSTEM_FILE, lineno, key);
            rc = -EINVAL;
            continue;
        }
        pairs->value[k] = value;
    }
    return rc;
}

int config_parse_file_text(const char *text, struct config *cfg, char *err, size_t errlen)
{
    char copy[CONFIG_FILE_MAX + 1];
    struct file_pairs pairs = {0};
    size_t len = strlen(text);

    if (errlen > 0)
        err[0] = '\0';
    if (len > CONFIG_FILE_MAX) {
        set_defaults(cfg);
        snprintf(err, errlen, "%s: larger than %d bytes; ignored", CONFIG_SYSTEM_FILE,
                 CONFIG_FILE_MAX);
        return -EINVAL;
    }
    memcpy(copy, text, len + 1);
    int rc = file_split(copy, &pairs, err, errlen);
    int rc2 = parse_all(file_lookup, &pairs, cfg, err, errlen);
    return rc < 0 ? rc : rc2;
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
    char err[1024] = "";
    char text[CONFIG_FILE_MAX + 1];
    struct file_pairs pairs = {0};
    int saved = errno, rc = 0;
    /* IMPORTANT: in setuid/setgid/AT_SECURE processes the environment belongs
     * to a less privileged caller; only the root-owned file may configure
     * the shim there, and without it the shim stays inert. Elsewhere each
     * TSRUN_* variable overrides the file's value for that key. */
    bool secure = getauxval(AT_SECURE) != 0;
    bool have_file = read_system_file(text, sizeof text);

    if (secure && !have_file) {
        memset(&config_global, 0, sizeof config_global);
    } else {
        if (have_file)
            rc = file_split(text, &pairs, err, sizeof err);
        pairs.use_env = !secure;
        if (parse_all(file_lookup, &pairs, &config_global, err, sizeof err) < 0)
            rc = -EINVAL;
    }
    /* The log depends on nothing: it gets its settings pushed from here. */
    log_configure(config_global.debug, config_global.quiet, config_global.log_path);
    /* IMPORTANT: a bad value never turns interception off; every key fell
     * back to a fail-closed value (config.h). Say so once. */
    if (rc < 0)
        log_line("%s", err);
    errno = saved;
}

const struct config *config_get(void)
{
    pthread_once(&config_once, config_load);
    return &config_global;
}
