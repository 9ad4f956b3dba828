/* Pure matching over one name map (names.h): which names are tailnet names,
 * and what a map says about a name or an address. No I/O, no globals. */
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "names_text.h"
#include "pages.h"

#define NAMES_TS_NET ".ts.net"


static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool names_is_tailscale_addr(int family, const void *addr)
{
    const uint8_t *a = addr;
    if (addr == NULL)
        return false;
    if (family == AF_INET) /* 100.64.0.0/10 */
        return a[0] == 100 && (a[1] & 0xc0) == 64;
    if (family == AF_INET6) {
        static const uint8_t ula[6] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
        if (memcmp(a, ula, sizeof ula) == 0)
            return true;
        return memcmp(a, v4mapped, sizeof v4mapped) == 0 &&
               names_is_tailscale_addr(AF_INET, a + 12);
    }
    return false;
}

bool names_trivially_not_tailnet(const char *name)
{
    if (name == NULL || *name == '\0')
        return true;
    bool numeric = true;
    const char *p;
    for (p = name; *p != '\0'; p++) {
        if (*p == ':')
            return true; /* an IPv6 literal, or no host name at all */
        if ((*p < '0' || *p > '9') && *p != '.')
            numeric = false;
    }
    if (numeric)
        return true; /* IPv4 literal in any inet_aton form */
    size_t len = (size_t)(p - name);
    while (len > 0 && name[len - 1] == '.')
        len--;
    static const char lh[] = "localhost";
    size_t lhl = sizeof lh - 1;
    if (len == lhl && nm_ieq(name, lh, lhl))
        return true;
    return len > lhl && name[len - lhl - 1] == '.' && nm_ieq(name + len - lhl, lh, lhl);
}

/* ------------------------------------------------------------ loading */

int names_map_open(struct names_map *m, void *mem, size_t mem_len, bool anon, const char **why)
{
    memset(m, 0, sizeof *m);
    int rc = nm_open(mem, mem_len, &m->view, why);
    if (rc < 0)
        return rc;
    m->mem = mem;
    m->mem_len = mem_len;
    m->anon = anon;
    return 0;
}

int names_parse(const char *buf, size_t len, struct names_map **out, char *err, size_t errlen)
{
    void *img = NULL;
    size_t img_len = 0;
    const char *why = NULL;
    int rc;

    *out = NULL;
    if (buf != NULL && len >= sizeof NM_MAGIC_V2 - 1 &&
        memcmp(buf, NM_MAGIC_V2, sizeof NM_MAGIC_V2 - 1) == 0) {
        if (len > NM_MAX_FILE) {
            snprintf(err, errlen, "larger than %u bytes", NM_MAX_FILE);
            return -E2BIG;
        }
        img = pages_alloc(len);
        if (img == NULL) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        memcpy(img, buf, len);
        img_len = len;
        if (errlen > 0)
            err[0] = '\0';
    } else {
        rc = names_text_image(buf, len, &img, &img_len, err, errlen);
        if (rc < 0)
            return rc;
    }
    struct names_map *m = pages_alloc(sizeof *m);
    if (m == NULL) {
        pages_free(img, img_len);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc = names_map_open(m, img, img_len, true, &why);
    if (rc < 0) {
        pages_free(img, img_len);
        pages_free(m, sizeof *m);
        snprintf(err, errlen, "%s", why);
        return rc;
    }
    *out = m;
    return 0;
}

void names_map_free(struct names_map *map)
{
    if (map == NULL)
        return;
    pages_free(map->mem, map->mem_len);
    pages_free(map, sizeof *map);
}

unsigned names_map_count(const struct names_map *map)
{
    return map != NULL ? map->view.nodes : 0;
}

const char *names_map_backend(const struct names_map *map)
{
    return map != NULL ? map->view.backend : "";
}

const char *names_map_suffix(const struct names_map *map)
{
    return map != NULL ? map->view.suffix : "";
}

/* ------------------------------------------------------------ matching */

/* name[0..len) ends with "." + sfx, or equals sfx when exact_ok. */
static bool under(const char *name, size_t len, const char *sfx, size_t slen, bool exact_ok)
{
    if (slen == 0)
        return false;
    if (len == slen)
        return exact_ok && nm_ieq(name, sfx, slen);
    return len > slen && name[len - slen - 1] == '.' && nm_ieq(name + len - slen, sfx, slen);
}

enum names_verdict names_map_lookup(const struct names_map *map, const char *name,
                                    struct names_entry *entry)
{
    if (names_trivially_not_tailnet(name))
        return NAMES_NOT_TAILNET;
    size_t len = strlen(name), dots = 0;
    while (len > 0 && name[len - 1] == '.') {
        len--;
        dots++;
    }
    if (len == 0)
        return NAMES_NOT_TAILNET;
    if (map != NULL && nm_find_name(&map->view, name, len, entry) >= 0) {
        /* "db." is db; "db.." is a malformed tailnet name: refuse it rather
         * than let libc guess. */
        return dots > 1 ? NAMES_MISSING : NAMES_FOUND;
    }
    /* IMPORTANT: the tailnet zones are matched on a label boundary, so
     * "evil-ts.net" and "ts.net.attacker.com" are not tailnet names, while
     * "a.ts.net", "x..ts.net" and 300-byte names under them are (they get
     * EAI_NONAME, never a DNS query). The bare "ts.net" is public. */
    if (map != NULL && under(name, len, map->view.suffix, map->view.suffix_len, true))
        return NAMES_MISSING;
    if (len >= sizeof NAMES_TS_NET - 1 &&
        nm_ieq(name + len - (sizeof NAMES_TS_NET - 1), NAMES_TS_NET, sizeof NAMES_TS_NET - 1))
        return NAMES_MISSING;
    return NAMES_NOT_TAILNET;
}

bool names_map_lookup_addr(const struct names_map *map, int family, const void *addr,
                           struct names_entry *entry)
{
    const uint8_t *bytes = addr;
    if (map == NULL || addr == NULL || (family != AF_INET && family != AF_INET6))
        return false;
    if (family == AF_INET6 && memcmp(bytes, v4mapped, sizeof v4mapped) == 0) {
        family = AF_INET;
        bytes += 12;
    }
    return nm_find_addr(&map->view, family, bytes, entry) >= 0;
}
