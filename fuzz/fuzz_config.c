/* Fuzzes the configuration parsers: the input is split on NUL bytes into
 * fields; the first seven are the values of the TSRUN_* keys (a field
 * starting with 0x01 means "unset"), handed to config_parse() through a
 * lookup function. Every field also goes to route_parse_list() and
 * config_parse_socks5() on its own, and the whole input to
 * config_parse_file_text(). */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "route.h"

#define NKEYS 8
static const char *const keys[NKEYS] = {
    "TSRUN_SOCKS5", "TSRUN_ROUTES", "TSRUN_CONNECT_TIMEOUT_MS", "TSRUN_DEBUG",
    "TSRUN_QUIET",  "TSRUN_NAMES",  "TSRUN_SOCKS5_PIPELINE", "TSRUN_LOG",
};

struct fields {
    const char *value[NKEYS];
};

static const char *lookup(const char *key, void *ctx)
{
    const struct fields *f = ctx;
    for (int i = 0; i < NKEYS; i++)
        if (strcmp(key, keys[i]) == 0)
            return f->value[i];
    abort(); /* config_parse asked for a key it does not document */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return 0;
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';

    struct fields f = {{0}};
    struct config *cfg = malloc(sizeof *cfg);
    struct route_table *rt = malloc(sizeof *rt);
    char err[256];
    size_t off = 0;
    int n = 0;
    while (off <= size) {
        char *field = buf + off;
        size_t flen = strlen(field);
        const char *bad = NULL;
        if (n < NKEYS)
            f.value[n++] = field[0] == '\x01' ? NULL : field;
        if (route_parse_list(field, rt, &bad) < 0) {
            if (bad != NULL && (bad < field || bad > field + flen))
                abort(); /* *bad must point into the item list */
        } else if (rt->count > ROUTE_MAX) {
            abort();
        }
        struct sockaddr_in6 sa;
        bool v4;
        (void)config_parse_socks5(field, &sa, &v4);
        off += flen + 1;
    }
    err[0] = '\0';
    if (config_parse(lookup, &f, cfg, err, sizeof err) < 0) {
        if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
            abort(); /* a failure always says why, NUL-terminated */
    } else {
        if (cfg->routes.count > ROUTE_MAX || cfg->connect_timeout_ms < 1 ||
            memchr(cfg->names_path, '\0', sizeof cfg->names_path) == NULL)
            abort();
        char text[80];
        (void)config_socks5_text(cfg, text, sizeof text);
    }
    (void)config_parse_file_text(buf, cfg, err, sizeof err);
    free(rt);
    free(cfg);
    free(buf);
    return 0;
}
