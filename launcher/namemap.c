/* Name map writer: struct -> text -> file, atomically. */
#include "namemap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsrun.h"

#define NAMEMAP_LINE_MAX 1024

struct buf {
    char *p;
    size_t len, cap;
    int err;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bprintf(struct buf *b, const char *fmt, ...)
{
    if (b->err)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->err = -EINVAL;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = (b->cap + (size_t)n + 1) * 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->err = -ENOMEM;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static int node_line(struct buf *b, const struct status_node *n, const char *role)
{
    if (!n->dns_name || !*n->dns_name || n->nips == 0 || strchr(n->dns_name, ' '))
        return 0;
    size_t start = b->len;
    bprintf(b, "node %s %s %s", n->dns_name, role, n->online ? "online" : "offline");
    for (int i = 0; i < n->nips && i < 8; i++)
        bprintf(b, " %s", n->ips[i]);
    bprintf(b, "\n");
    if (!b->err && b->len - start > NAMEMAP_LINE_MAX) {
        b->len = start; /* the reader would reject the whole file */
        b->p[b->len] = '\0';
        return 0;
    }
    return 1;
}

int namemap_format(const struct tsr_status *st, time_t now, char **out, size_t *len)
{
    struct buf b = {malloc(1024), 0, 1024, 0};
    if (!b.p)
        return -ENOMEM;
    struct tm tm;
    char when[32];
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *ver = st->version && *st->version ? st->version : "unknown";
    bprintf(&b, "tsrun-names 1\n# generated %s from tailscaled %.200s\n", when, ver);
    /* The shim fails tailnet connects fast while the backend is not Running,
     * instead of letting tailscaled stall each dial for 5 s. */
    if (st->backend_state && *st->backend_state && strlen(st->backend_state) < 32 &&
        !strpbrk(st->backend_state, " \n"))
        bprintf(&b, "backend %s\n", st->backend_state);
    if (st->suffix && *st->suffix && !strchr(st->suffix, ' ') && strlen(st->suffix) < 900)
        bprintf(&b, "suffix %s\n", st->suffix);
    int count = node_line(&b, &st->self, "self");
    for (size_t i = 0; i < st->npeers; i++)
        count += node_line(&b, &st->peers[i], "peer");
    bprintf(&b, "end %d\n", count);
    if (b.err) {
        free(b.p);
        return b.err;
    }
    *out = b.p;
    if (len)
        *len = b.len;
    return 0;
}

/* The text after the "# generated" line: equal bodies mean equal maps. */
static const char *body_of(const char *text)
{
    const char *p = strstr(text, "\n# generated ");
    if (!p)
        return text;
    p = strchr(p + 1, '\n');
    return p ? p + 1 : text;
}

int namemap_write(const char *path, const struct tsr_status *st, time_t now, int *changed)
{
    char *text = NULL, *old = NULL;
    size_t len = 0;
    if (changed)
        *changed = 0;
    int rc = namemap_format(st, now, &text, &len);
    if (rc < 0)
        return rc;
    if (tsr_read_file(path, &old, NULL) == 0 && strncmp(old, "tsrun-names 1\n", 14) == 0 &&
        strcmp(body_of(old), body_of(text)) == 0)
        goto out;
    rc = tsr_write_atomic(path, text, len, 0644);
    if (rc == 0 && changed)
        *changed = 1;
out:
    free(old);
    free(text);
    return rc;
}
