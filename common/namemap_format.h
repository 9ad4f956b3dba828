/* The name map's on-disk format, version 2 (docs/name-map.md): what the
 * launcher writes and the shim reads, defined once.
 *
 * A version-2 map is a binary image the shim uses in place: it mmaps the
 * file read-only, so every process shares the same page-cache pages, and
 * the writer has already built the hash indexes, so a reader does no
 * per-process work beyond checking the fixed header. Lookups touch a few
 * pages (header, one index slot, one node, its name, its addresses) and
 * bounds-check every offset they follow: a damaged or hostile file gives
 * "not found", never a read outside the image.
 *
 * Layout (all integers are host byte order; the byte-order mark rejects a
 * file from another byte order):
 *
 *   header           struct nm_header, NM_HEADER_SIZE bytes at offset 0
 *   node records     nodes      x struct nm_node   at node_off
 *   address records  addrs      x struct nm_addr   at addr_off
 *   name index       name_slots x struct nm_slot   at name_slot_off
 *   address index    addr_slots x struct nm_slot   at addr_slot_off
 *   string pool      str_len bytes                 at str_off
 *
 * The indexes are open-addressing hash tables (linear probing, power-of-two
 * size, at most half full): slot = hash & (slots - 1), then the next slots
 * until an empty one (ref 0). A name slot's ref is (node + 1), with
 * NM_REF_SHORT set when the key is the node's short name (its first label);
 * an address slot's ref is (address record + 1). Duplicate keys: the first
 * node wins (the writer inserts in node order and skips taken keys).
 *
 * Pure code: no allocation, no I/O; the caller owns every buffer. */
#ifndef TSRUN_NAMEMAP_FORMAT_H
#define TSRUN_NAMEMAP_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAMES_MAX_ADDRS 8    /* addresses per node */
#define NAMES_MAX_NAME 254   /* a DNS name without trailing dot (253), plus NUL */
#define NAMES_MAX_BACKEND 32 /* a BackendState name, plus NUL */
#define NAMES_MAX_NODES 65536

/* The first line of every map: "tsrun-names 1" (text) or "tsrun-names 2"
 * (this binary layout), so `head -n1` names the version. */
#define NM_MAGIC_V1 "tsrun-names 1"
#define NM_MAGIC_V2 "tsrun-names 2\n"
#define NM_MAGIC_LEN 16 /* NM_MAGIC_V2 then NUL padding */
#define NM_BOM 0x0a0b0c0du
#define NM_HEADER_SIZE 128
#define NM_MAX_FILE (64u << 20) /* 64 MiB: far above 65536 nodes */
#define NM_REF_SHORT 0x80000000u

enum names_state { NAMES_UNKNOWN = 0, NAMES_ONLINE, NAMES_OFFLINE };
enum nm_role { NM_ROLE_SELF = 1, NM_ROLE_PEER = 2 };

struct names_addr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t bytes[16]; /* 4 used for AF_INET */
};

/* One node as a lookup returns it (a copy: the caller keeps it as long as
 * it likes, whatever happens to the map). */
struct names_entry {
    char fqdn[NAMES_MAX_NAME]; /* lower case, no trailing dot */
    enum names_state state;
    unsigned naddrs;
    struct names_addr addr[NAMES_MAX_ADDRS];
};

/* --- the image --- */

struct nm_header {
    char magic[NM_MAGIC_LEN]; /* NM_MAGIC_V2, NUL padded */
    uint32_t bom;             /* NM_BOM */
    uint32_t header_size;     /* NM_HEADER_SIZE */
    uint32_t file_size;       /* the whole image; a shorter file is truncated */
    uint32_t nodes, addrs, name_slots, addr_slots;
    uint32_t node_off, addr_off, name_slot_off, addr_slot_off, str_off, str_len;
    uint32_t reserved;
    int64_t generated;                 /* unix seconds; ignored when comparing maps */
    char backend[NAMES_MAX_BACKEND];   /* BackendState, NUL padded; "" = unknown */
    uint32_t suffix_off, suffix_len;   /* MagicDNS suffix in the string pool */
    uint32_t version_off, version_len; /* tailscaled's version, ditto */
};

struct nm_node {
    uint32_t fqdn_off;   /* into the string pool; NUL-terminated there */
    uint8_t fqdn_len;    /* 1..253 */
    uint8_t short_len;   /* length of the first label */
    uint8_t state;       /* enum names_state */
    uint8_t role;        /* enum nm_role */
    uint32_t addr_first; /* index of its first address record */
    uint32_t naddrs;     /* 1..NAMES_MAX_ADDRS */
};

struct nm_addr {
    uint8_t family; /* 4 or 6 */
    uint8_t pad[3];
    uint32_t node; /* owning node record */
    uint8_t bytes[16];
};

struct nm_slot {
    uint32_t hash; /* nm_hash of the key, to skip most mismatches unread */
    uint32_t ref;  /* 0 = empty */
};

/* --- writing --- */

/* One node handed to the writer. fqdn need not be NUL-terminated, may have
 * one trailing dot and any case. */
struct nm_node_in {
    const char *fqdn;
    size_t fqdn_len;
    enum nm_role role;
    enum names_state state; /* NAMES_ONLINE or NAMES_OFFLINE */
    unsigned naddrs;
    struct names_addr addr[NAMES_MAX_ADDRS];
};

struct nm_meta {
    const char *backend; /* NULL or "" = not said; kept only if [A-Za-z]{1,31} */
    const char *suffix;  /* NULL or "" = none; dropped if not a valid DNS name */
    const char *version; /* NULL = "" ; truncated to 63 bytes */
    int64_t generated;
};

/* True when the writer keeps this node: a valid DNS name (labels of
 * [A-Za-z0-9_-], 1..63 bytes, at most 253 bytes), a known role and state,
 * 1..8 addresses each AF_INET or AF_INET6. */
bool nm_node_ok(const struct nm_node_in *n);

/* Bytes of the image for these nodes (nodes failing nm_node_ok are left
 * out), or 0 when it would exceed NAMES_MAX_NODES / NM_MAX_FILE. */
size_t nm_image_size(const struct nm_node_in *nodes, size_t n, const struct nm_meta *meta);

/* Builds the image into out (size bytes from nm_image_size for the same
 * input; need not be zeroed, but must be 8-byte aligned). Returns the
 * number of nodes kept, or -EINVAL when size does not match. */
long nm_image_build(const struct nm_node_in *nodes, size_t n, const struct nm_meta *meta, void *out,
                    size_t size);

/* Two images describe the same map: equal bytes except `generated`. */
bool nm_image_same(const void *a, size_t alen, const void *b, size_t blen);

/* --- reading --- */

/* A checked image: base/len plus what the header says, after nm_open. */
struct nm_view {
    const uint8_t *base;
    size_t len;
    uint32_t nodes, addrs, name_mask, addr_mask;
    const struct nm_node *node;
    const struct nm_addr *addr;
    const struct nm_slot *name_slot, *addr_slot;
    const char *str;
    uint32_t str_len;
    char backend[NAMES_MAX_BACKEND]; /* "" unless [A-Za-z]{1,31} */
    char suffix[NAMES_MAX_NAME];     /* "" unless a valid DNS name */
    size_t suffix_len;
};

/* Checks the header (O(1): reads the first NM_HEADER_SIZE bytes only) and
 * fills *v. Returns 0, or -EINVAL with a one-line reason in *why: not a
 * version-2 image, another byte order, a file_size other than len
 * (truncated or grown), a region outside the image or misaligned, more
 * than NAMES_MAX_NODES nodes, slot counts not powers of two. */
int nm_open(const void *base, size_t len, struct nm_view *v, const char **why);

/* Looks a name up: name[0..len) without trailing dot, any case. Returns
 * the node's index and fills *entry (may be NULL), or -1. Bounded: at most
 * name_slots probes; a record pointing outside the image is "not found". */
long nm_find_name(const struct nm_view *v, const char *name, size_t len, struct names_entry *entry);

/* Looks an address up (family AF_INET with 4 bytes or AF_INET6 with 16;
 * no v4-mapped translation here). Same return convention. */
long nm_find_addr(const struct nm_view *v, int family, const uint8_t *bytes,
                  struct names_entry *entry);

/* Copies node i out (checked). 0 or -EINVAL. */
int nm_entry(const struct nm_view *v, uint32_t i, struct names_entry *entry);

/* FNV-1a; names hashed lower-cased. */
uint32_t nm_hash_name(const char *s, size_t n);
uint32_t nm_hash_addr(int family, const uint8_t *bytes);

/* A host name as the map carries it (see nm_node_ok); lower-cases in place. */
bool nm_valid_dns_name(char *s, size_t len);

/* True when the n bytes at a and b are equal, ASCII letters compared without
 * case (DNS names; locale-free, async-signal-safe). */
bool nm_ieq(const char *a, const char *b, size_t n);

#endif
