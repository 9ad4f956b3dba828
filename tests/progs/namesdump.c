/* namesdump FILE: prints a version-2 name map as the version-1 text would
 * say it (docs/name-map.md), for tests and for people:
 *   tsrun-names 2 / backend STATE / suffix S / node FQDN ROLE STATE ADDR... / end N
 * Exits 0, 1 when the file is not a valid version-2 map, 64 on bad usage. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "namemap_format.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: namesdump FILE\n");
        return 64;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 1;
    }
    static char buf[NM_MAX_FILE] __attribute__((aligned(8)));
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    struct nm_view v;
    const char *why;
    if (nm_open(buf, len, &v, &why) < 0) {
        fprintf(stderr, "namesdump: %s: %s\n", argv[1], why);
        return 1;
    }
    printf("tsrun-names 2\n");
    if (v.backend[0] != '\0')
        printf("backend %s\n", v.backend);
    if (v.suffix[0] != '\0')
        printf("suffix %s\n", v.suffix);
    for (uint32_t i = 0; i < v.nodes; i++) {
        struct names_entry e;
        if (nm_entry(&v, i, &e) < 0) {
            printf("# node %u: damaged\n", i);
            continue;
        }
        printf("node %s %s %s", e.fqdn, v.node[i].role == NM_ROLE_SELF ? "self" : "peer",
               e.state == NAMES_ONLINE ? "online" : "offline");
        for (unsigned a = 0; a < e.naddrs; a++) {
            char text[INET6_ADDRSTRLEN];
            inet_ntop(e.addr[a].family, e.addr[a].bytes, text, sizeof text);
            printf(" %s", text);
        }
        printf("\n");
    }
    printf("end %u\n", v.nodes);
    return 0;
}
