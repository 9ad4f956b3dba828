/* Global mode's two texts, pure (text in, text out): /etc/ld.so.preload
 * with the shim added or removed, and /etc/tsrun/tsrun.conf (preload.h). */
#include "preload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject.h" /* INJECT_SHIM_NAME */

/* ------------------------------------------------------------ pure helpers */

/* glibc's ld.so splits /etc/ld.so.preload on " \t\n:" after blanking '#'
 * comments up to the end of the line (elf/rtld.c). */
static bool is_sep(char c)
{
    return c == ' ' || c == '\t' || c == ':';
}

static bool token_is(const char *tok, size_t n, const char *s)
{
    return s && strlen(s) == n && memcmp(tok, s, n) == 0;
}

/* Any ".../libtsshim.so" (or a bare one) is an entry of ours. */
static bool token_ours(const char *tok, size_t n)
{
    size_t k = strlen(INJECT_SHIM_NAME);
    return n >= k && memcmp(tok + n - k, INJECT_SHIM_NAME, k) == 0 &&
           (n == k || tok[n - k - 1] == '/');
}

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static int finish(struct buf *b, char **out)
{
    if (!b->oom && !b->p)
        put(b, "", 0);
    if (b->oom) {
        free(b->p);
        return -ENOMEM;
    }
    *out = b->p;
    return 0;
}

/* The next entry of the code part of a line (entries are separated by
 * blanks or ':', as ld.so reads them): true with *tok and *len set. */
static bool next_entry(const char *code, size_t codelen, size_t *i, const char **tok, size_t *len)
{
    while (*i < codelen && is_sep(code[*i]))
        (*i)++;
    size_t s = *i;
    while (*i < codelen && !is_sep(code[*i]))
        (*i)++;
    *tok = code + s;
    *len = *i - s;
    return *len > 0;
}

/* An entry of ours that is not the one to keep. */
static bool droppable(const char *tok, size_t len, const char *keep)
{
    return token_ours(tok, len) && !token_is(tok, len, keep);
}

/* Copies text with our entries dropped (except keep, when not NULL).
 * Lines without such an entry are copied byte for byte; in a line that had
 * one, the remaining entries are joined by single spaces. */
static int filter(const char *text, const char *keep, struct buf *b)
{
    const char *p = text, *tok;
    size_t len;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
        const char *hash = memchr(p, '#', linelen);
        size_t codelen = hash ? (size_t)(hash - p) : linelen;
        bool drop_any = false;
        for (size_t i = 0; i < codelen;)
            if (next_entry(p, codelen, &i, &tok, &len) && droppable(tok, len, keep))
                drop_any = true;
        if (!drop_any) {
            put(b, p, linelen + (eol ? 1 : 0));
        } else {
            bool first = true;
            for (size_t i = 0; i < codelen;) {
                if (!next_entry(p, codelen, &i, &tok, &len) || droppable(tok, len, keep))
                    continue;
                if (!first)
                    put(b, " ", 1);
                put(b, tok, len);
                first = false;
            }
            if (hash) {
                if (!first)
                    put(b, " ", 1);
                put(b, hash, linelen - codelen);
                first = false;
            }
            if (!first && eol)
                put(b, "\n", 1); /* a line left empty goes entirely */
        }
        p += linelen + (eol ? 1 : 0);
    }
    return b->oom ? -ENOMEM : 0;
}

bool preload_list_has(const char *text, const char *shim)
{
    const char *tok;
    size_t len;
    for (const char *p = text ? text : ""; *p;) {
        size_t linelen = strcspn(p, "\n");
        const char *hash = memchr(p, '#', linelen);
        size_t codelen = hash ? (size_t)(hash - p) : linelen;
        for (size_t i = 0; i < codelen;)
            if (next_entry(p, codelen, &i, &tok, &len) && token_is(tok, len, shim))
                return true;
        p += linelen + (p[linelen] == '\n');
    }
    return false;
}

bool preload_path_listable(const char *shim)
{
    return shim && shim[0] == '/' && strcspn(shim, " \t\n:#") == strlen(shim);
}

int preload_list_add(const char *text, const char *shim, char **out)
{
    struct buf b = {0};
    if (!preload_path_listable(shim))
        return -EINVAL;
    if (!text) {
        puts_(&b, PRELOAD_MARKER "\n");
        puts_(&b, shim);
        puts_(&b, "\n");
        return finish(&b, out) < 0 ? -ENOMEM : 1;
    }
    filter(text, shim, &b); /* out of memory: b.oom, reported by finish() */
    if (!b.oom && !preload_list_has(b.p ? b.p : "", shim)) {
        if (b.p != NULL && b.len > 0 && b.p[b.len - 1] != '\n')
            put(&b, "\n", 1);
        puts_(&b, shim);
        put(&b, "\n", 1);
    }
    if (finish(&b, out) < 0)
        return -ENOMEM;
    return strcmp(*out, text) != 0;
}

/* Only the marker line and blanks left? */
static bool only_marker(const char *text)
{
    bool marker = false;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        size_t s = 0;
        while (s < n && (p[s] == ' ' || p[s] == '\t' || p[s] == '\r'))
            s++;
        size_t e = n;
        while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\r'))
            e--;
        if (e > s) {
            if (e - s == strlen(PRELOAD_MARKER) && !memcmp(p + s, PRELOAD_MARKER, e - s))
                marker = true;
            else
                return false;
        }
        p += n + (p[n] == '\n');
    }
    return marker;
}

int preload_list_remove(const char *text, const char *shim, char **out, bool *remove_file)
{
    struct buf b = {0};
    (void)shim; /* matched by name: every libtsshim.so entry is ours */
    *remove_file = false;
    filter(text ? text : "", NULL, &b);
    if (finish(&b, out) < 0) /* frees b.p on failure */
        return -ENOMEM;
    *remove_file = text && only_marker(*out);
    return text && strcmp(*out, text) != 0;
}

bool preload_socks5_valid(const char *s)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port;
    unsigned char addr[16];
    if (!s || !*s)
        return false;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host)
            return false;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        if (inet_pton(AF_INET6, host, addr) != 1)
            return false;
        port = close + 2;
    } else {
        const char *colon = strchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host)
            return false;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        if (inet_pton(AF_INET, host, addr) != 1)
            return false;
        port = colon + 1;
    }
    char *end;
    errno = 0;
    long v = strtol(port, &end, 10);
    return *port >= '0' && *port <= '9' && !errno && !*end && v >= 1 && v <= 65535;
}

int preload_conf_text(const struct preload_conf *c, char **out)
{
    struct buf b = {0};
    if (!preload_socks5_valid(c->socks5))
        return -EINVAL;
    if ((c->names && (c->names[0] != '/' || strchr(c->names, '\n'))) ||
        (c->routes && strpbrk(c->routes, "\n#")))
        return -EINVAL;
    puts_(&b, "# Written by `tsrun install-preload` for the shim listed in /etc/ld.so.preload.\n"
              "# The shim reads it when no TSRUN_* variable is set, and in setuid programs;\n"
              "# it must stay root-owned and not group/world-writable. Keys: socks5, routes,\n"
              "# names, connect_timeout_ms, debug, quiet, socks5_pipeline (see tsrun(1)).\n");
    puts_(&b, "socks5 = ");
    puts_(&b, c->socks5);
    puts_(&b, "\n");
    if (c->names && *c->names) {
        puts_(&b, "names = ");
        puts_(&b, c->names);
        puts_(&b, "\n");
    }
    if (c->routes && *c->routes) {
        puts_(&b, "routes = ");
        puts_(&b, c->routes);
        puts_(&b, "\n");
    }
    return finish(&b, out);
}
