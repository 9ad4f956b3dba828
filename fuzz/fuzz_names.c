/* Fuzzes names_parse() (version-1 text and version-2 images) and, when a map
 * comes out, lookups against it: names taken from the map itself and from
 * the input, and every address. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct names_map *map = NULL;
    struct names_entry e;
    char err[256];
    char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    /* A version-2 image whose size field is wrong is refused at once: fix
     * it up so mutations reach the offsets, indexes and records. */
    if (size >= NM_HEADER_SIZE && memcmp(buf, NM_MAGIC_V2, sizeof NM_MAGIC_V2 - 1) == 0 &&
        (data[size - 1] & 1) == 0) { /* the last byte picks: fixed up or as is */
        uint32_t len32 = (uint32_t)size;
        memcpy(buf + offsetof(struct nm_header, file_size), &len32, sizeof len32);
    }
    int rc = names_parse(buf, size, &map, err, sizeof err);
    if (rc == 0) {
        if (map == NULL || strlen(names_map_suffix(map)) >= NAMES_MAX_NAME)
            abort();
        (void)names_map_count(map);
        static const char *const probes[] = {
            "db",        "DB.tail1a2b3.ts.net.", "sandbox-1",         "x.ts.net", "",
            "localhost", "100.88.12.5",          "fd7a:115c:a1e0::1",
        };
        for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
            if (names_map_lookup(map, probes[i], &e) == NAMES_FOUND) {
                char shortname[NAMES_MAX_NAME];
                if (e.naddrs > NAMES_MAX_ADDRS || strlen(e.fqdn) >= NAMES_MAX_NAME)
                    abort();
                names_short(e.fqdn, shortname);
                for (unsigned a = 0; a < e.naddrs; a++)
                    (void)names_map_lookup_addr(map, e.addr[a].family, e.addr[a].bytes, &e);
            }
        /* Every whitespace-separated word of the input as a name. */
        char word[NAMES_MAX_NAME + 8];
        size_t w = 0;
        for (size_t i = 0; i <= size && i < 4096; i++) {
            char c = i < size ? buf[i] : ' ';
            if (c == ' ' || c == '\n' || c == '\t' || c == '\0' || w == sizeof word - 1) {
                word[w] = '\0';
                if (w > 0)
                    (void)names_map_lookup(map, word, &e);
                w = 0;
            } else {
                word[w++] = c;
            }
        }
        uint8_t a16[16] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};
        uint8_t a4[4] = {100, 88, 12, 5};
        (void)names_map_lookup_addr(map, AF_INET, a4, &e);
        (void)names_map_lookup_addr(map, AF_INET6, a16, &e);
        names_map_free(map);
    } else if (map != NULL) {
        abort(); /* an error leaves no map behind */
    }
    /* NULL map: only the *.ts.net rule. */
    (void)names_map_lookup(NULL, "a.b.ts.net", &e);
    free(buf);
    return 0;
}
