/* Name map writer: status -> version-2 image -> file, atomically. The
 * layout and the index building are common/namemap_format.c's, shared with
 * the shim's reader. */
#include "namemap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "namemap_format.h"
#include "tsrun.h"

/* One status node as the writer's input; false when it cannot be one. */
static bool node_in(const struct status_node *n, enum nm_role role, struct nm_node_in *out)
{
    memset(out, 0, sizeof *out);
    if (n->dns_name == NULL || n->dns_name[0] == '\0' || n->nips == 0)
        return false;
    out->fqdn = n->dns_name;
    out->fqdn_len = strlen(n->dns_name);
    out->role = role;
    out->state = n->online ? NAMES_ONLINE : NAMES_OFFLINE;
    for (int i = 0; i < n->nips && i < NAMES_MAX_ADDRS; i++) {
        struct names_addr *a = &out->addr[out->naddrs];
        if (inet_pton(AF_INET, n->ips[i], a->bytes) == 1)
            a->family = AF_INET;
        else if (inet_pton(AF_INET6, n->ips[i], a->bytes) == 1)
            a->family = AF_INET6;
        else
            return false; /* the shim would have dropped this node too */
        out->naddrs++;
    }
    return nm_node_ok(out);
}

int namemap_format(const struct tsr_status *st, time_t now, char **out, size_t *len)
{
    size_t n = 0, size;
    int rc = -ENOMEM;
    char *img = NULL;
    struct nm_node_in *nodes = calloc(st->npeers + 1, sizeof *nodes);
    if (nodes == NULL)
        return -ENOMEM;
    n += node_in(&st->self, NM_ROLE_SELF, &nodes[n]);
    for (size_t i = 0; i < st->npeers; i++)
        n += node_in(&st->peers[i], NM_ROLE_PEER, &nodes[n]);
    /* The shim fails tailnet connects fast while the backend is not Running,
     * instead of letting tailscaled stall each dial for 5 s. */
    struct nm_meta meta = {
        .backend = st->backend_state,
        .suffix = st->suffix,
        .version = st->version && *st->version ? st->version : "unknown",
        .generated = (int64_t)now,
    };
    size = nm_image_size(nodes, n, &meta);
    if (size == 0) {
        rc = -E2BIG;
        goto out;
    }
    img = aligned_alloc(8, (size + 7) & ~(size_t)7);
    if (img == NULL)
        goto out;
    if (nm_image_build(nodes, n, &meta, img, size) < 0) {
        rc = -EINVAL;
        goto out;
    }
    *out = img;
    img = NULL;
    if (len)
        *len = size;
    rc = 0;
out:
    free(img);
    free(nodes);
    return rc;
}

int namemap_write(const char *path, const struct tsr_status *st, time_t now, int *changed)
{
    char *img = NULL, *old = NULL;
    size_t len = 0, old_len = 0;
    if (changed)
        *changed = 0;
    int rc = namemap_format(st, now, &img, &len);
    if (rc < 0)
        return rc;
    if (tsr_read_file(path, &old, &old_len) == 0 && nm_image_same(old, old_len, img, len))
        goto out;
    rc = tsr_write_atomic(path, img, len, 0644);
    if (rc == 0 && changed)
        *changed = 1;
out:
    free(old);
    free(img);
    return rc;
}
