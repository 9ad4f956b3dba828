/* The supervisor's view of the name map (launcher/mapview.c): lookups by
 * name and address, a replaced file seen, a missing one is "no map", and a
 * fixed image from a status snapshot. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mapview.h"
#include "namemap.h"

static char path[64];

static void write_map(bool with_new)
{
    struct status_node peers[2] = {
        {.dns_name = "db.t.ts.net", .ips = {"100.88.12.5", "fd7a:115c:a1e0::5"}, .nips = 2},
        {.dns_name = "new.t.ts.net", .ips = {"100.77.0.1"}, .nips = 1, .online = true},
    };
    struct tsr_status st = {.backend_state = "Running",
                            .suffix = "t.ts.net",
                            .peers = peers,
                            .npeers = with_new ? 2 : 1};
    cr_assert_eq(namemap_write(path, &st, 0, NULL), 0);
}

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/mapview-%d", (int)getpid());
    unlink(path);
}

static void teardown(void)
{
    mapview_close();
    unlink(path);
}

static const uint8_t db4[16] = {[10] = 0xff, [11] = 0xff, 100, 88, 12, 5};
static const uint8_t db6[16] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, [15] = 5};

/* Every lookup checks the file: the first one after a rename sees it. */
static int find(const char *name, struct names_entry *e)
{
    return mapview_find_name(name, strlen(name), e);
}

Test(mapview, follows_the_file, .init = setup, .fini = teardown)
{
    struct names_entry e;
    char state[NAMES_MAX_BACKEND];
    cr_assert_eq(mapview_open_file(path), 0, "absent for now");
    cr_assert_eq(mapview_find_name("db", 2, &e), -ENOENT);
    cr_assert_eq(mapview_addr_state(db4), NAMES_UNKNOWN);
    cr_assert_not(mapview_backend_stopped(state));
    write_map(false);
    cr_assert_eq(find("DB", &e), 0, "short name, any case");
    cr_assert_str_eq(e.fqdn, "db.t.ts.net");
    cr_assert_eq(mapview_find_name("db.t.ts.net", 11, &e), 0);
    cr_assert_eq(mapview_addr_state(db4), NAMES_OFFLINE);
    cr_assert_eq(mapview_addr_state(db6), NAMES_OFFLINE);
    cr_assert_eq(mapview_find_name("new", 3, &e), -ENOENT);
    write_map(true);
    cr_assert_eq(find("new", &e), 0, "a peer added later");
    cr_assert_eq(e.state, NAMES_ONLINE);
    unlink(path);
    cr_assert_eq(find("new", &e), -ENOENT, "the file is gone: no map");
}

Test(mapview, held_map_survives_replacement, .init = setup, .fini = teardown)
{
    write_map(false);
    cr_assert_eq(mapview_open_file(path), 0);
    const struct nm_view *v;
    struct mapview_ref *r = mapview_get(&v);
    cr_assert_not_null(v);
    uint32_t nodes = v->nodes;
    write_map(true);
    struct names_entry e;
    cr_assert_eq(find("new", &e), 0);
    cr_assert_eq(nm_find_name(v, "db", 2, &e) >= 0, true, "the held map is still mapped");
    cr_assert_eq(v->nodes, nodes);
    mapview_put(r);
}

Test(mapview, fixed_image_from_a_status, .init = setup, .fini = teardown)
{
    struct status_node peer = {.dns_name = "db.t.ts.net", .ips = {"100.88.12.5"}, .nips = 1};
    struct tsr_status st = {.backend_state = "Stopped", .peers = &peer, .npeers = 1};
    char state[NAMES_MAX_BACKEND];
    struct names_entry e;
    cr_assert_eq(mapview_open_status(&st), 0);
    cr_assert_eq(mapview_find_name("db", 2, &e), 0);
    cr_assert_eq(mapview_addr_state(db4), NAMES_OFFLINE);
    cr_assert_not(mapview_backend_stopped(state), "a snapshot never refuses every connect");
}

/* Lookups from several threads while the file is replaced over and over:
 * every lookup finds the peer every version has, and none reads an
 * unmapped image (the held map stays mapped until its last holder). */
static atomic_int stop, misses;

static void *reader(void *arg)
{
    (void)arg;
    struct names_entry e;
    while (!atomic_load(&stop))
        if (mapview_find_name("db", 2, &e) != 0 || mapview_addr_state(db4) != NAMES_OFFLINE)
            atomic_fetch_add(&misses, 1);
    return NULL;
}

Test(mapview, threads_while_the_file_is_replaced, .init = setup, .fini = teardown)
{
    write_map(false);
    cr_assert_eq(mapview_open_file(path), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, reader, NULL), 0);
    for (int i = 0; i < 200; i++)
        write_map(i % 2 == 0);
    atomic_store(&stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(atomic_load(&misses), 0);
}
