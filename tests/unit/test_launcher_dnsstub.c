/* The seccomp supervisor's DNS stub: answers from a name map image (built
 * here from a status, as the launcher writes it). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsstub.h"
#include "mapview.h"
#include "namemap.h"

/* A query for name/type with id 0x1234 and RD set. */
static size_t query(uint8_t *q, const char *name, int type)
{
    size_t pos = 12;
    memset(q, 0, 12);
    q[0] = 0x12, q[1] = 0x34, q[2] = 0x01, q[5] = 1;
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, ".");
        q[pos++] = (uint8_t)n;
        memcpy(q + pos, p, n);
        pos += n;
        p += n;
        if (*p)
            p++;
    }
    q[pos++] = 0;
    q[pos++] = 0, q[pos++] = (uint8_t)type;
    q[pos++] = 0, q[pos++] = 1;
    return pos;
}

static void fixture(struct tsr_status *st, struct status_node *peer)
{
    memset(st, 0, sizeof *st);
    memset(peer, 0, sizeof *peer);
    st->suffix = "tail1a2b3.ts.net";
    st->self.dns_name = "sandbox-1.tail1a2b3.ts.net";
    strcpy(st->self.ips[0], "100.101.7.42");
    st->self.nips = 1;
    peer->dns_name = "db.tail1a2b3.ts.net";
    strcpy(peer->ips[0], "100.88.12.5");
    strcpy(peer->ips[1], "fd7a:115c:a1e0::d401:c05");
    peer->nips = 2;
    st->peers = peer;
    st->npeers = 1;
}

/* The fixture as an nm_open'd image (the image is leaked: one per test). */
static const struct nm_view *fixture_view(void)
{
    static struct nm_view v;
    struct tsr_status st;
    struct status_node peer;
    char *img = NULL;
    size_t len = 0;
    const char *why = "";
    fixture(&st, &peer);
    cr_assert_eq(namemap_format(&st, 0, &img, &len), 0);
    cr_assert_eq(nm_open(img, len, &v, &why), 0, "%s", why);
    return &v;
}

Test(dnsstub, answers_tailnet_names)
{
    const struct nm_view *st = fixture_view();
    uint8_t q[512], a[1232];
    size_t ql = query(q, "DB", 1);
    int n = dnsstub_answer(st, q, ql, a, sizeof a);
    cr_assert_eq(n, (int)ql + 16, "one A record");
    cr_assert_eq(a[0], 0x12);
    cr_assert_eq(a[2] & 0x80, 0x80, "QR");
    cr_assert_eq(a[3] & 0x0f, 0, "NOERROR");
    cr_assert_eq(a[7], 1, "ANCOUNT");
    const uint8_t want[4] = {100, 88, 12, 5};
    cr_assert_arr_eq(a + n - 4, want, 4);
    ql = query(q, "db.tail1a2b3.ts.net", 28);
    n = dnsstub_answer(st, q, ql, a, sizeof a);
    cr_assert_eq(n, (int)ql + 28, "one AAAA record");
    ql = query(q, "db.tail1a2b3.ts.net", 16); /* TXT: empty NOERROR */
    n = dnsstub_answer(st, q, ql, a, sizeof a);
    cr_assert_eq(n, (int)ql);
    cr_assert_eq(a[3] & 0x0f, 0);
    cr_assert_eq(a[7], 0);
}

Test(dnsstub, nxdomain_and_forward)
{
    const struct nm_view *st = fixture_view();
    uint8_t q[512], a[1232];
    size_t ql = query(q, "nope.tail1a2b3.ts.net", 1);
    int n = dnsstub_answer(st, q, ql, a, sizeof a);
    cr_assert_eq(n, (int)ql);
    cr_assert_eq(a[3] & 0x0f, 3, "NXDOMAIN, never forwarded");
    ql = query(q, "x.other.ts.net", 1);
    cr_assert_gt(dnsstub_answer(st, q, ql, a, sizeof a), 0);
    ql = query(q, "5.12.88.100.in-addr.arpa", 12);
    n = dnsstub_answer(st, q, ql, a, sizeof a);
    cr_assert_eq(a[3] & 0x0f, 3, "tailnet PTR stays here");
    ql = query(q, "5.12.8.100.in-addr.arpa", 12);
    cr_assert_eq(dnsstub_answer(st, q, ql, a, sizeof a), 0, "100.8/16 is not the tailnet");
    ql = query(q, "100.in-addr.arpa", 12); /* the /8 zone itself: no second octet */
    cr_assert_eq(dnsstub_answer(st, q, ql, a, sizeof a), 0, "forwarded");
    ql = query(q, "example.com", 1);
    cr_assert_eq(dnsstub_answer(st, q, ql, a, sizeof a), 0, "forwarded");
    ql = query(q, "dbx", 1);
    cr_assert_eq(dnsstub_answer(st, q, ql, a, sizeof a), 0);
    /* Not a query / truncated. */
    q[2] |= 0x80;
    cr_assert_eq(dnsstub_answer(st, q, ql, a, sizeof a), -EINVAL);
    ql = query(q, "db", 1);
    cr_assert_eq(dnsstub_answer(st, q, ql - 3, a, sizeof a), -EINVAL);
}

Test(dnsstub, without_a_map_tailnet_names_stay_off_dns)
{
    uint8_t q[512], a[1232];
    size_t ql = query(q, "db.tail1a2b3.ts.net", 1);
    int n = dnsstub_answer(NULL, q, ql, a, sizeof a);
    cr_assert_eq(n, (int)ql);
    cr_assert_eq(a[3] & 0x0f, 3, "NXDOMAIN, never forwarded");
    ql = query(q, "db", 1);
    cr_assert_eq(dnsstub_answer(NULL, q, ql, a, sizeof a), 0, "forwarded");
}

/* --- the TCP stub, over loopback --- */

static int tcp_msg(int fd, const uint8_t *m, size_t n, uint8_t *reply, size_t max)
{
    uint8_t l[2] = {(uint8_t)(n >> 8), (uint8_t)n};
    if (write(fd, l, 2) != 2 || write(fd, m, n) != (ssize_t)n)
        return -1;
    size_t got = 0;
    while (got < 2) {
        ssize_t r = read(fd, l + got, 2 - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    size_t want = (size_t)(l[0] << 8 | l[1]);
    if (want > max)
        return -1;
    for (got = 0; got < want;) {
        ssize_t r = read(fd, reply + got, want - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return (int)want;
}

/* The upstream nameserver: one connection, echoes each message with QR set. */
static void *upstream(void *arg)
{
    int l = (int)(intptr_t)arg, c = accept(l, NULL, NULL);
    uint8_t m[514];
    for (;;) {
        ssize_t r = read(c, m, 2);
        if (r != 2)
            break;
        size_t n = (size_t)(m[0] << 8 | m[1]);
        if (read(c, m + 2, n) != (ssize_t)n)
            break;
        m[4] |= 0x80;
        if (write(c, m, n + 2) != (ssize_t)(n + 2))
            break;
    }
    close(c);
    return NULL;
}

Test(dnsstub, tcp_answers_tailnet_names_and_forwards_the_rest)
{
    static struct tsr_status st;
    static struct status_node peer;
    fixture(&st, &peer);
    struct sockaddr_storage udp, tcp, ns, from;
    socklen_t ul, tl, nl = sizeof ns, fl = sizeof from;
    cr_assert_eq(mapview_open_status(&st), 0);
    cr_assert_eq(dnsstub_start(&udp, &ul), 0);
    cr_assert_eq(dnsstub_start_tcp(&tcp, &tl), 0);
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int l = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(bind(l, (struct sockaddr *)&lo, sizeof lo) == 0 && listen(l, 1) == 0);
    getsockname(l, (struct sockaddr *)&ns, &nl);
    pthread_t t;
    pthread_create(&t, NULL, upstream, (void *)(intptr_t)l);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(c, (struct sockaddr *)&tcp, tl), 0);
    getsockname(c, (struct sockaddr *)&from, &fl);
    dnsstub_remember_tcp(&from, &ns, nl);
    uint8_t q[512], a[1232];
    size_t ql = query(q, "db", 1);
    int n = tcp_msg(c, q, ql, a, sizeof a);
    cr_assert_eq(n, (int)ql + 16, "answered from the map");
    const uint8_t want[4] = {100, 88, 12, 5};
    cr_assert_arr_eq(a + n - 4, want, 4);
    ql = query(q, "example.internal", 1);
    n = tcp_msg(c, q, ql, a, sizeof a);
    cr_assert_eq(n, (int)ql, "forwarded unchanged, the upstream's reply relayed");
    cr_assert_eq(a[2] & 0x80, 0x80);
    cr_assert_arr_eq(a + 3, q + 3, ql - 3);
    /* A second message on the same connection: also answered. */
    ql = query(q, "db.tail1a2b3.ts.net", 28);
    cr_assert_eq(tcp_msg(c, q, ql, a, sizeof a), (int)ql + 28);
    close(c);
    /* A client nobody remembered: its non-tailnet query is not forwarded. */
    c = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(c, (struct sockaddr *)&tcp, tl), 0);
    ql = query(q, "example.internal", 1);
    cr_assert_eq(tcp_msg(c, q, ql, a, sizeof a), -1, "closed, not forwarded");
    close(c);
    pthread_join(t, NULL);
    close(l);
}
