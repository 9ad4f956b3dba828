/* Version-1 text map -> version-2 image (see names_text.h). */
#include "names_text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "namemap_format.h"
#include "pages.h"

/* What the second pass fills: node records and the names they point at. */
struct sink {
    struct nm_node_in *node;
    char *names; /* every kept name, NUL-separated; at most len bytes */
    size_t names_used;
    char suffix[NAMES_MAX_NAME];
    char backend[NAMES_MAX_BACKEND];
};

/* What one pass over the file found. */
struct parse_result {
    unsigned nodes;     /* node lines, the count "end N" must match */
    unsigned stored;    /* well-formed node lines, kept */
    unsigned skipped;   /* malformed node lines, skipped */
    unsigned skip_line; /* the first skipped one, for the debug line */
    const char *skip_why;
};

struct tokens {
    char *tok[3 + NAMES_MAX_ADDRS + 2];
    unsigned n; /* may exceed the array: counts every token */
};

/* Splits a NUL-terminated line on spaces and tabs. */
static void tokenize(char *line, struct tokens *t)
{
    t->n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return;
        if (t->n < sizeof t->tok / sizeof t->tok[0])
            t->tok[t->n] = p;
        t->n++;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
}

static bool parse_addr(const char *s, struct names_addr *a)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, s, a->bytes) == 1) {
        a->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, a->bytes) == 1) {
        a->family = AF_INET6;
        return true;
    }
    return false;
}

static bool parse_count(const char *s, unsigned long *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* Parses one "node" line's tokens into n (n->fqdn points into the line). */
static int parse_node(const struct tokens *t, struct nm_node_in *n, const char **why)
{
    if (t->n < 5) {
        *why = "node line needs FQDN ROLE STATE ADDR...";
        return -EINVAL;
    }
    if (t->n - 4 > NAMES_MAX_ADDRS) {
        *why = "node line has more than 8 addresses";
        return -EINVAL;
    }
    memset(n, 0, sizeof *n);
    char *fqdn = t->tok[1];
    size_t len = strlen(fqdn);
    if (len > 0 && fqdn[len - 1] == '.')
        fqdn[--len] = '\0';
    if (!nm_valid_dns_name(fqdn, len)) {
        *why = "node name is not a valid DNS name";
        return -EINVAL;
    }
    n->fqdn = fqdn;
    n->fqdn_len = len;
    if (strcmp(t->tok[2], "self") == 0) {
        n->role = NM_ROLE_SELF;
    } else if (strcmp(t->tok[2], "peer") == 0) {
        n->role = NM_ROLE_PEER;
    } else {
        *why = "node role is neither self nor peer";
        return -EINVAL;
    }
    if (strcmp(t->tok[3], "online") == 0) {
        n->state = NAMES_ONLINE;
    } else if (strcmp(t->tok[3], "offline") == 0) {
        n->state = NAMES_OFFLINE;
    } else {
        *why = "node state is neither online nor offline";
        return -EINVAL;
    }
    for (unsigned i = 4; i < t->n; i++) {
        if (!parse_addr(t->tok[i], &n->addr[n->naddrs])) {
            *why = "node address is not a numeric IPv4/IPv6 address";
            return -EINVAL;
        }
        n->naddrs++;
    }
    return 0;
}

/* One pass over the file. With s == NULL it validates and counts; with s it
 * fills s. Returns 0 or -errno with *why and *lineno.
 *
 * IMPORTANT: structural damage (header, "end N", line length, NUL bytes, the
 * suffix) invalidates the whole file: it means a truncated or foreign file.
 * A malformed node line (bad name, role, state or address, more than 8
 * addresses) only skips that node: it still counts toward "end N", so
 * truncation is still caught, and one odd peer cannot take every tailnet
 * name away. */
static int parse_pass(const char *buf, size_t len, struct sink *s, struct parse_result *r,
                      const char **why, unsigned *lineno)
{
    char line[NAMES_MAX_LINE + 1];
    bool have_suffix = false, ended = false;
    size_t pos = 0;
    struct tokens t;

    memset(r, 0, sizeof *r);
    *lineno = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t ll = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;
        ++*lineno;
        if (ended) {
            size_t sp = 0;
            while (sp < ll && (buf[pos + sp] == ' ' || buf[pos + sp] == '\t'))
                sp++;
            if (sp == ll) { /* blank lines may follow */
                pos += ll + (nl != NULL);
                continue;
            }
            *why = "data after the end line";
            return -EINVAL;
        }
        if (ll > NAMES_MAX_LINE) {
            *why = "line longer than 1024 bytes";
            return -E2BIG;
        }
        memcpy(line, buf + pos, ll);
        line[ll] = '\0';
        pos += ll + (nl != NULL);
        if (memchr(line, '\0', ll) != NULL) {
            *why = "NUL byte";
            return -EINVAL;
        }
        if (*lineno == 1) {
            if (strcmp(line, NM_MAGIC_V1) != 0) {
                *why = "first line is not \"" NM_MAGIC_V1 "\"";
                return -EINVAL;
            }
            continue;
        }
        if (line[0] == '#')
            continue;
        tokenize(line, &t);
        if (t.n == 0)
            continue;
        if (strcmp(t.tok[0], "node") == 0) {
            if (r->nodes >= NAMES_MAX_NODES) {
                *why = "more than 65536 nodes";
                return -E2BIG;
            }
            r->nodes++;
            struct nm_node_in n;
            const char *bad = NULL;
            if (parse_node(&t, &n, &bad) < 0) {
                if (r->skipped++ == 0) {
                    r->skip_line = *lineno;
                    r->skip_why = bad;
                }
                continue;
            }
            if (s != NULL) { /* the name moves out of the line buffer */
                char *keep = s->names + s->names_used;
                memcpy(keep, n.fqdn, n.fqdn_len + 1);
                s->names_used += n.fqdn_len + 1;
                n.fqdn = keep;
                s->node[r->stored] = n;
            }
            r->stored++;
        } else if (strcmp(t.tok[0], "suffix") == 0) {
            if (have_suffix) {
                *why = "more than one suffix line";
                return -EINVAL;
            }
            size_t sl = t.n == 2 ? strlen(t.tok[1]) : 0;
            if (sl > 0 && t.tok[1][sl - 1] == '.')
                t.tok[1][--sl] = '\0';
            if (t.n != 2 || !nm_valid_dns_name(t.tok[1], sl)) {
                *why = "suffix is not a valid DNS name";
                return -EINVAL;
            }
            have_suffix = true;
            if (s != NULL)
                memcpy(s->suffix, t.tok[1], sl + 1);
        } else if (strcmp(t.tok[0], "backend") == 0) {
            /* tailscaled's BackendState; a malformed one is ignored like an
             * unknown keyword (the image keeps only [A-Za-z]{1,31}): the
             * reader then assumes Running. */
            size_t bl = t.n == 2 ? strlen(t.tok[1]) : 0;
            if (s != NULL && bl > 0 && bl < sizeof s->backend)
                memcpy(s->backend, t.tok[1], bl + 1);
        } else if (strcmp(t.tok[0], "end") == 0) {
            unsigned long want;
            if (t.n != 2 || !parse_count(t.tok[1], &want)) {
                *why = "malformed end line";
                return -EINVAL;
            }
            if (want != r->nodes) {
                *why = "end count differs from the node lines (truncated?)";
                return -EINVAL;
            }
            ended = true;
        }
        /* Unknown keywords: skipped (forward compatibility). */
    }
    if (*lineno == 0) {
        *why = "empty file";
        return -EINVAL;
    }
    if (!ended) {
        *why = "no end line (truncated)";
        return -EINVAL;
    }
    return 0;
}

int names_text_image(const char *buf, size_t len, void **img, size_t *img_len, char *err,
                     size_t errlen)
{
    const char *why = NULL;
    unsigned lineno = 0;
    struct parse_result r;
    struct sink s;
    size_t nodes_bytes = 0, names_bytes = 0, size;
    int rc;

    *img = NULL;
    *img_len = 0;
    memset(&s, 0, sizeof s);
    if (len > NAMES_MAX_TEXT) {
        snprintf(err, errlen, "larger than %u bytes", NAMES_MAX_TEXT);
        return -E2BIG;
    }
    if (buf == NULL)
        len = 0;
    rc = parse_pass(buf, len, NULL, &r, &why, &lineno);
    if (rc < 0)
        goto fail;
    nodes_bytes = (r.stored > 0 ? r.stored : 1) * sizeof(struct nm_node_in);
    names_bytes = len + 1;
    s.node = pages_alloc(nodes_bytes);
    s.names = pages_alloc(names_bytes);
    rc = -ENOMEM;
    why = "out of memory";
    lineno = 0;
    if (s.node == NULL || s.names == NULL)
        goto fail;
    unsigned stored = r.stored;
    rc = parse_pass(buf, len, &s, &r, &why, &lineno);
    if (rc < 0 || r.stored != stored) { /* cannot happen: same bytes, same pass */
        rc = -EINVAL;
        goto fail;
    }
    struct nm_meta meta = {.backend = s.backend, .suffix = s.suffix, .version = "", .generated = 0};
    size = nm_image_size(s.node, r.stored, &meta);
    rc = -E2BIG;
    why = "too large for an image";
    if (size == 0)
        goto fail;
    *img = pages_alloc(size);
    rc = -ENOMEM;
    why = "out of memory";
    if (*img == NULL)
        goto fail;
    if (nm_image_build(s.node, r.stored, &meta, *img, size) < 0) {
        pages_free(*img, size);
        *img = NULL;
        rc = -EINVAL;
        why = "image build failed";
        goto fail;
    }
    *img_len = size;
    if (r.skipped > 0)
        snprintf(err, errlen, "skipped %u malformed node line(s); first: line %u: %s", r.skipped,
                 r.skip_line, r.skip_why);
    else if (errlen > 0)
        err[0] = '\0';
    rc = 0;
    goto out;

fail:
    if (lineno > 0)
        snprintf(err, errlen, "line %u: %s", lineno, why);
    else
        snprintf(err, errlen, "%s", why);
out:
    pages_free(s.node, nodes_bytes);
    pages_free(s.names, names_bytes);
    return rc;
}
