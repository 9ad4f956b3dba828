/* The name map's version-2 image: writer and checked reader (see the
 * header for the layout). */
#include "namemap_format.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

_Static_assert(sizeof(struct nm_header) == NM_HEADER_SIZE, "header layout");
_Static_assert(sizeof(struct nm_node) == 16, "node layout");
_Static_assert(sizeof(struct nm_addr) == 24, "address layout");
_Static_assert(sizeof(struct nm_slot) == 8, "slot layout");

#define NM_LABEL_MAX 63
#define NM_NAME_LEN_MAX (NAMES_MAX_NAME - 1) /* 253 */
#define NM_VERSION_MAX 63

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool nm_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

uint32_t nm_hash_name(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)lower(s[i]);
        h *= 16777619u;
    }
    return h;
}

uint32_t nm_hash_addr(int family, const uint8_t *bytes)
{
    uint32_t h = 2166136261u;
    size_t n = family == AF_INET ? 4 : 16;
    h ^= family == AF_INET ? 4u : 6u;
    h *= 16777619u;
    for (size_t i = 0; i < n; i++) {
        h ^= bytes[i];
        h *= 16777619u;
    }
    return h;
}

bool nm_valid_dns_name(char *s, size_t len)
{
    size_t label = 0;
    if (len == 0 || len > NM_NAME_LEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i] = lower(s[i]);
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
            if (++label > NM_LABEL_MAX)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

static bool backend_ok(const char *b, size_t n)
{
    if (n == 0 || n >= NAMES_MAX_BACKEND)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((b[i] >= 'A' && b[i] <= 'Z') || (b[i] >= 'a' && b[i] <= 'z')))
            return false;
    return true;
}

/* ------------------------------------------------------------ writing */

static uint32_t pow2_at_least(uint64_t n)
{
    uint32_t p = 16;
    while (p < n)
        p <<= 1;
    return p;
}

/* fqdn without its one trailing dot, lower-cased into out; its length or 0. */
static size_t norm_name(const char *s, size_t n, char out[NAMES_MAX_NAME])
{
    if (s == NULL)
        return 0;
    if (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || n > NM_NAME_LEN_MAX)
        return 0;
    memcpy(out, s, n);
    out[n] = '\0';
    return nm_valid_dns_name(out, n) ? n : 0;
}

bool nm_node_ok(const struct nm_node_in *n)
{
    char name[NAMES_MAX_NAME];
    if (norm_name(n->fqdn, n->fqdn_len, name) == 0)
        return false;
    if ((n->role != NM_ROLE_SELF && n->role != NM_ROLE_PEER) ||
        (n->state != NAMES_ONLINE && n->state != NAMES_OFFLINE))
        return false;
    if (n->naddrs == 0 || n->naddrs > NAMES_MAX_ADDRS)
        return false;
    for (unsigned i = 0; i < n->naddrs; i++)
        if (n->addr[i].family != AF_INET && n->addr[i].family != AF_INET6)
            return false;
    return true;
}

static size_t suffix_len_of(const struct nm_meta *m, char out[NAMES_MAX_NAME])
{
    if (m == NULL || m->suffix == NULL)
        return 0;
    return norm_name(m->suffix, strlen(m->suffix), out);
}

static size_t version_len_of(const struct nm_meta *m)
{
    if (m == NULL || m->version == NULL)
        return 0;
    size_t n = strnlen(m->version, NM_VERSION_MAX + 1);
    return n > NM_VERSION_MAX ? NM_VERSION_MAX : n;
}

/* Region sizes for an input; false when over the limits. */
struct plan {
    uint32_t nodes, addrs, name_slots, addr_slots, str_len;
    uint32_t node_off, addr_off, name_slot_off, addr_slot_off, str_off;
    size_t size;
};

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static bool make_plan(const struct nm_node_in *nodes, size_t n, const struct nm_meta *meta,
                      struct plan *p)
{
    char name[NAMES_MAX_NAME];
    uint64_t kept = 0, addrs = 0, str = 0;
    for (size_t i = 0; i < n; i++) {
        if (!nm_node_ok(&nodes[i]))
            continue;
        kept++;
        addrs += nodes[i].naddrs;
        str += norm_name(nodes[i].fqdn, nodes[i].fqdn_len, name) + 1;
    }
    if (kept > NAMES_MAX_NODES)
        return false;
    str += suffix_len_of(meta, name) + 1 + version_len_of(meta) + 1;
    memset(p, 0, sizeof *p);
    p->nodes = (uint32_t)kept;
    p->addrs = (uint32_t)addrs;
    p->name_slots = pow2_at_least(4 * kept); /* 2 keys a node, half full at most */
    p->addr_slots = pow2_at_least(2 * addrs);
    p->str_len = (uint32_t)str;
    size_t off = NM_HEADER_SIZE;
    p->node_off = (uint32_t)off;
    off = align8(off + (size_t)p->nodes * sizeof(struct nm_node));
    p->addr_off = (uint32_t)off;
    off = align8(off + (size_t)p->addrs * sizeof(struct nm_addr));
    p->name_slot_off = (uint32_t)off;
    off += (size_t)p->name_slots * sizeof(struct nm_slot);
    p->addr_slot_off = (uint32_t)off;
    off += (size_t)p->addr_slots * sizeof(struct nm_slot);
    p->str_off = (uint32_t)off;
    off = align8(off + str);
    if (off > NM_MAX_FILE)
        return false;
    p->size = off;
    return true;
}

size_t nm_image_size(const struct nm_node_in *nodes, size_t n, const struct nm_meta *meta)
{
    struct plan p;
    return make_plan(nodes, n, meta, &p) ? p.size : 0;
}

static void insert(struct nm_slot *slots, uint32_t mask, uint32_t hash, uint32_t ref)
{
    uint32_t i = hash & mask;
    while (slots[i].ref != 0)
        i = (i + 1) & mask;
    slots[i].hash = hash;
    slots[i].ref = ref;
}

long nm_image_build(const struct nm_node_in *nodes, size_t n, const struct nm_meta *meta, void *out,
                    size_t size)
{
    struct plan p;
    char name[NAMES_MAX_NAME];
    if (!make_plan(nodes, n, meta, &p) || p.size != size || out == NULL || (uintptr_t)out % 8 != 0)
        return -EINVAL;
    uint8_t *img = out;
    memset(img, 0, size);
    struct nm_header *h = out;
    memcpy(h->magic, NM_MAGIC_V2, sizeof NM_MAGIC_V2 - 1);
    h->bom = NM_BOM;
    h->header_size = NM_HEADER_SIZE;
    h->file_size = (uint32_t)p.size;
    h->nodes = p.nodes;
    h->addrs = p.addrs;
    h->name_slots = p.name_slots;
    h->addr_slots = p.addr_slots;
    h->node_off = p.node_off;
    h->addr_off = p.addr_off;
    h->name_slot_off = p.name_slot_off;
    h->addr_slot_off = p.addr_slot_off;
    h->str_off = p.str_off;
    h->str_len = p.str_len;
    h->generated = meta != NULL ? meta->generated : 0;
    if (meta != NULL && meta->backend != NULL &&
        backend_ok(meta->backend, strnlen(meta->backend, NAMES_MAX_BACKEND)))
        memcpy(h->backend, meta->backend, strlen(meta->backend));

    struct nm_node *nrec = (struct nm_node *)(void *)(img + p.node_off);
    struct nm_addr *arec = (struct nm_addr *)(void *)(img + p.addr_off);
    char *str = (char *)img + p.str_off;
    uint32_t s = 0, k = 0, a = 0;

    size_t sl = suffix_len_of(meta, name);
    h->suffix_off = s;
    h->suffix_len = (uint32_t)sl;
    memcpy(str + s, name, sl);
    s += (uint32_t)sl + 1;
    size_t vl = version_len_of(meta);
    h->version_off = s;
    h->version_len = (uint32_t)vl;
    if (vl > 0)
        memcpy(str + s, meta->version, vl);
    s += (uint32_t)vl + 1;

    struct nm_view v;
    const char *why;
    for (size_t i = 0; i < n; i++) {
        const struct nm_node_in *in = &nodes[i];
        if (!nm_node_ok(in))
            continue;
        size_t len = norm_name(in->fqdn, in->fqdn_len, name);
        nrec[k].fqdn_off = s;
        nrec[k].fqdn_len = (uint8_t)len;
        nrec[k].short_len = (uint8_t)strcspn(name, ".");
        nrec[k].state = (uint8_t)in->state;
        nrec[k].role = (uint8_t)in->role;
        nrec[k].addr_first = a;
        nrec[k].naddrs = in->naddrs;
        memcpy(str + s, name, len + 1);
        s += (uint32_t)len + 1;
        for (unsigned j = 0; j < in->naddrs; j++, a++) {
            arec[a].family = in->addr[j].family == AF_INET ? 4 : 6;
            arec[a].node = k;
            memcpy(arec[a].bytes, in->addr[j].bytes, in->addr[j].family == AF_INET ? 4 : 16);
        }
        k++;
    }
    /* The indexes, in node order, through the reader's own lookups so the
     * first node keeps a duplicate key (the view sees the tables fill). */
    if (nm_open(out, size, &v, &why) < 0)
        return -EINVAL; /* cannot happen: we just wrote a valid header */
    struct nm_slot *ns = (struct nm_slot *)(void *)(img + p.name_slot_off);
    struct nm_slot *as = (struct nm_slot *)(void *)(img + p.addr_slot_off);
    for (uint32_t i = 0; i < k; i++) {
        const char *fq = str + nrec[i].fqdn_off;
        if (nm_find_name(&v, fq, nrec[i].fqdn_len, NULL) < 0)
            insert(ns, p.name_slots - 1, nm_hash_name(fq, nrec[i].fqdn_len), i + 1);
        if (nm_find_name(&v, fq, nrec[i].short_len, NULL) < 0)
            insert(ns, p.name_slots - 1, nm_hash_name(fq, nrec[i].short_len),
                   (i + 1) | NM_REF_SHORT);
        for (uint32_t j = 0; j < nrec[i].naddrs; j++) {
            const struct nm_addr *ad = &arec[nrec[i].addr_first + j];
            int fam = ad->family == 4 ? AF_INET : AF_INET6;
            if (nm_find_addr(&v, fam, ad->bytes, NULL) < 0)
                insert(as, p.addr_slots - 1, nm_hash_addr(fam, ad->bytes),
                       nrec[i].addr_first + j + 1);
        }
    }
    return (long)k;
}

bool nm_image_same(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t g = offsetof(struct nm_header, generated), ge = g + sizeof(int64_t);
    if (alen != blen || alen < NM_HEADER_SIZE)
        return false;
    const uint8_t *x = a, *y = b;
    return memcmp(x, y, g) == 0 && memcmp(x + ge, y + ge, alen - ge) == 0;
}

/* ------------------------------------------------------------ reading */

static bool region_ok(size_t len, uint32_t off, uint64_t count, size_t size, size_t align)
{
    uint64_t end = (uint64_t)off + count * size;
    return off >= NM_HEADER_SIZE && off % align == 0 && end <= len;
}

static bool pow2(uint32_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

int nm_open(const void *base, size_t len, struct nm_view *v, const char **why)
{
    struct nm_header h;
    memset(v, 0, sizeof *v);
    if (base == NULL || len < NM_HEADER_SIZE || (uintptr_t)base % 8 != 0) {
        *why = "shorter than a version-2 header";
        return -EINVAL;
    }
    memcpy(&h, base, sizeof h);
    static const char magic[NM_MAGIC_LEN] = NM_MAGIC_V2;
    if (memcmp(h.magic, magic, NM_MAGIC_LEN) != 0) {
        *why = "not a version-2 name map";
        return -EINVAL;
    }
    if (h.bom != NM_BOM || h.header_size != NM_HEADER_SIZE) {
        *why = "written for another byte order or header size";
        return -EINVAL;
    }
    if (h.file_size != len) {
        *why = "size differs from the header (truncated?)";
        return -EINVAL;
    }
    if (h.nodes > NAMES_MAX_NODES || h.addrs > (uint64_t)h.nodes * NAMES_MAX_ADDRS) {
        *why = "too many nodes or addresses";
        return -EINVAL;
    }
    if (!pow2(h.name_slots) || !pow2(h.addr_slots) ||
        !region_ok(len, h.node_off, h.nodes, sizeof(struct nm_node), 4) ||
        !region_ok(len, h.addr_off, h.addrs, sizeof(struct nm_addr), 4) ||
        !region_ok(len, h.name_slot_off, h.name_slots, sizeof(struct nm_slot), 8) ||
        !region_ok(len, h.addr_slot_off, h.addr_slots, sizeof(struct nm_slot), 8) ||
        !region_ok(len, h.str_off, h.str_len, 1, 1)) {
        *why = "a region lies outside the file";
        return -EINVAL;
    }
    const uint8_t *b = base;
    v->base = b;
    v->len = len;
    v->nodes = h.nodes;
    v->addrs = h.addrs;
    v->name_mask = h.name_slots - 1;
    v->addr_mask = h.addr_slots - 1;
    v->node = (const struct nm_node *)(const void *)(b + h.node_off);
    v->addr = (const struct nm_addr *)(const void *)(b + h.addr_off);
    v->name_slot = (const struct nm_slot *)(const void *)(b + h.name_slot_off);
    v->addr_slot = (const struct nm_slot *)(const void *)(b + h.addr_slot_off);
    v->str = (const char *)b + h.str_off;
    v->str_len = h.str_len;
    size_t bl = strnlen(h.backend, NAMES_MAX_BACKEND);
    if (backend_ok(h.backend, bl))
        memcpy(v->backend, h.backend, bl);
    /* A bad suffix is dropped, not fatal: names then match *.ts.net only. */
    if (h.suffix_len > 0 && h.suffix_len <= NM_NAME_LEN_MAX &&
        (uint64_t)h.suffix_off + h.suffix_len <= h.str_len) {
        memcpy(v->suffix, v->str + h.suffix_off, h.suffix_len);
        if (nm_valid_dns_name(v->suffix, h.suffix_len))
            v->suffix_len = h.suffix_len;
        else
            memset(v->suffix, 0, sizeof v->suffix);
    }
    return 0;
}

/* Node i's name within the pool, checked; NULL when it lies outside. */
static const char *node_name(const struct nm_view *v, uint32_t i, const struct nm_node **rec)
{
    if (i >= v->nodes)
        return NULL;
    const struct nm_node *n = &v->node[i];
    if (n->fqdn_len == 0 || n->short_len > n->fqdn_len ||
        (uint64_t)n->fqdn_off + n->fqdn_len > v->str_len)
        return NULL;
    *rec = n;
    return v->str + n->fqdn_off;
}

int nm_entry(const struct nm_view *v, uint32_t i, struct names_entry *e)
{
    const struct nm_node *n;
    const char *name = node_name(v, i, &n);
    if (name == NULL || n->naddrs == 0 || n->naddrs > NAMES_MAX_ADDRS ||
        (uint64_t)n->addr_first + n->naddrs > v->addrs)
        return -EINVAL;
    if (e == NULL)
        return 0;
    memcpy(e->fqdn, name, n->fqdn_len);
    e->fqdn[n->fqdn_len] = '\0';
    if (!nm_valid_dns_name(e->fqdn, n->fqdn_len))
        return -EINVAL;
    e->state = n->state == NAMES_ONLINE    ? NAMES_ONLINE
               : n->state == NAMES_OFFLINE ? NAMES_OFFLINE
                                           : NAMES_UNKNOWN;
    e->naddrs = 0;
    for (uint32_t j = 0; j < n->naddrs; j++) {
        const struct nm_addr *a = &v->addr[n->addr_first + j];
        if (a->family != 4 && a->family != 6)
            return -EINVAL;
        struct names_addr *o = &e->addr[e->naddrs++];
        memset(o, 0, sizeof *o);
        o->family = a->family == 4 ? AF_INET : AF_INET6;
        memcpy(o->bytes, a->bytes, a->family == 4 ? 4 : 16);
    }
    return 0;
}

long nm_find_name(const struct nm_view *v, const char *name, size_t len, struct names_entry *entry)
{
    if (v == NULL || v->nodes == 0 || len == 0 || len > NM_NAME_LEN_MAX)
        return -1;
    uint32_t hash = nm_hash_name(name, len);
    uint32_t i = hash & v->name_mask;
    for (uint64_t probes = 0; probes <= v->name_mask; probes++, i = (i + 1) & v->name_mask) {
        struct nm_slot s = v->name_slot[i];
        if (s.ref == 0)
            return -1;
        if (s.hash != hash)
            continue;
        uint32_t idx = (s.ref & ~NM_REF_SHORT) - 1;
        const struct nm_node *n;
        const char *key = node_name(v, idx, &n);
        if (key == NULL)
            continue;
        size_t klen = (s.ref & NM_REF_SHORT) ? n->short_len : n->fqdn_len;
        if (klen != len || !nm_ieq(key, name, len))
            continue;
        if (nm_entry(v, idx, entry) < 0)
            return -1;
        return (long)idx;
    }
    return -1;
}

long nm_find_addr(const struct nm_view *v, int family, const uint8_t *bytes,
                  struct names_entry *entry)
{
    if (v == NULL || v->addrs == 0 || bytes == NULL || (family != AF_INET && family != AF_INET6))
        return -1;
    uint8_t fam = family == AF_INET ? 4 : 6;
    size_t alen = family == AF_INET ? 4 : 16;
    uint32_t hash = nm_hash_addr(family, bytes);
    uint32_t i = hash & v->addr_mask;
    for (uint64_t probes = 0; probes <= v->addr_mask; probes++, i = (i + 1) & v->addr_mask) {
        struct nm_slot s = v->addr_slot[i];
        if (s.ref == 0)
            return -1;
        if (s.hash != hash || s.ref - 1 >= v->addrs)
            continue;
        const struct nm_addr *a = &v->addr[s.ref - 1];
        if (a->family != fam || memcmp(a->bytes, bytes, alen) != 0)
            continue;
        if (nm_entry(v, a->node, entry) < 0)
            return -1;
        return (long)a->node;
    }
    return -1;
}
