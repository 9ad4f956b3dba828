/* The status reader: jansson does the JSON, this file only picks fields and
 * normalises names (trailing dot, case) for the name map. */
#include "status.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {
    "NoState", "InUseOtherUser", "NeedsLogin", "NeedsMachineAuth", "Stopped", "Starting", "Running",
};

const char *status_state_name(long n)
{
    if (n < 0 || n >= (long)(sizeof state_names / sizeof state_names[0]))
        return "";
    return state_names[n];
}

static char *dup_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return strdup(json_is_string(v) ? json_string_value(v) : "");
}

static char *norm_dns(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        return NULL;
    size_t n = strlen(d);
    while (n > 0 && d[n - 1] == '.')
        d[--n] = '\0';
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* The members parse_node() reads: a peer's other members (about 30 in
 * tailscaled's PeerStatus, three quarters of its text) never reach jansson
 * on the streaming path (see pick_members). Keep in step with parse_node. */
static const char *const node_keys[] = {
    "DNSName", "HostName", "OS", "Online", "ExitNode", "TailscaleIPs", "PrimaryRoutes",
};

static int parse_node(json_t *obj, struct status_node *n)
{
    json_t *v = json_object_get(obj, "DNSName");
    n->dns_name = norm_dns(json_is_string(v) ? json_string_value(v) : "");
    n->host_name = dup_str(obj, "HostName");
    n->os = dup_str(obj, "OS");
    n->online = json_is_true(json_object_get(obj, "Online"));
    n->exit_node = json_is_true(json_object_get(obj, "ExitNode"));
    if (!n->dns_name || !n->host_name || !n->os)
        return -ENOMEM;

    json_t *ips = json_object_get(obj, "TailscaleIPs"), *ip;
    size_t i;
    json_array_foreach(ips, i, ip)
    {
        unsigned char tmp[sizeof(struct in6_addr)];
        const char *s = json_string_value(ip);
        if (!s || n->nips >= STATUS_MAX_IPS)
            continue;
        int fam = strchr(s, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(fam, s, tmp) != 1)
            continue;
        inet_ntop(fam, tmp, n->ips[n->nips], sizeof n->ips[0]);
        n->nips++;
    }

    size_t cap = 1, used = 0;
    json_t *routes = json_object_get(obj, "PrimaryRoutes"), *r;
    json_array_foreach(routes, i, r)
    {
        if (json_is_string(r))
            cap += strlen(json_string_value(r)) + 1;
    }
    n->routes = malloc(cap);
    if (!n->routes)
        return -ENOMEM;
    n->routes[0] = '\0';
    json_array_foreach(routes, i, r)
    {
        if (!json_is_string(r))
            continue;
        used += (size_t)sprintf(n->routes + used, "%s%s", used ? "," : "", json_string_value(r));
    }
    return 0;
}

static void free_node(struct status_node *n)
{
    free(n->dns_name);
    free(n->host_name);
    free(n->os);
    free(n->routes);
    memset(n, 0, sizeof *n);
}

static int cmp_peer(const void *a, const void *b)
{
    const struct status_node *x = a, *y = b;
    int c = strcmp(x->dns_name, y->dns_name);
    return c ? c : strcmp(x->host_name, y->host_name);
}

/* --- the streaming reader: the Peer map one peer at a time ---
 *
 * A 10,000-peer status is ~9 MB of JSON; jansson's tree for all of it costs
 * ~70 MB and most of the parse time, and the whole body another 9 MB. So
 * the reader scans the text as it arrives (structure only: strings,
 * brackets, commas; jansson validates every piece it keeps): the top-level
 * object's members before Peer are kept, the Peer value is replaced by
 * null, each peer object is decoded on its own and dropped with its text,
 * and what follows the map is kept. At the end jansson parses the kept
 * document (small) for the other fields. Anything the scanner does not
 * expect (a duplicate or escaped top-level key, a peer that is not an
 * object, a malformed map) ends in -EAGAIN: the caller then parses the
 * whole text with jansson, so errors read as they always did. The Peer
 * map's keys (node public keys, unused) are skipped, not decoded.
 * Of each peer, only the members parse_node() reads go to jansson
 * (pick_members): jansson's lexer, reading every byte, was most of the
 * parse time (10,000 peers: 0.17 -> 0.08 s of tsrun's CPU, bench/bigtail's
 * noready case). The members dropped are bracket-matched, not validated. */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* p at '"': just past the closing quote, or NULL. *esc says whether the
 * string held a backslash. */
static const char *skip_string(const char *p, const char *end, bool *esc)
{
    /* memchr, not a loop over every byte: most of 9 MB is in strings. The
     * next quote is searched for again only once an escape has passed it,
     * so a string full of escapes (Go writes \u003c) is still one pass. */
    const char *q = NULL;
    for (p++; p < end;) {
        if (!q || q < p) {
            q = memchr(p, '"', (size_t)(end - p));
            if (!q)
                return NULL;
        }
        const char *bs = memchr(p, '\\', (size_t)(q - p));
        if (!bs)
            return q + 1;
        if (esc)
            *esc = true;
        if (end - bs < 2)
            return NULL;
        p = bs + 2; /* past the escaped byte, which may be a quote */
    }
    return NULL;
}

/* One value's extent (not validated: jansson does that later), or NULL
 * when the text ends first. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end, NULL);
    if (*p != '{' && *p != '[') {
        while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
               *p != '\r' && *p != '\n')
            p++;
        return p < end ? p : NULL; /* at the end: maybe cut short */
    }
    size_t depth = 0;
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end, NULL);
            if (!p)
                return NULL;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
        p++;
    }
    return NULL;
}

/* The top-level "Peer" value's extent in [json, end): 1 found, 0 absent,
 * -1 when the fast path should not be trusted with this text. */
static int find_peer(const char *json, const char *end, const char **vs, const char **ve)
{
    int found = 0;
    const char *p = skip_ws(json, end);
    if (p >= end || *p++ != '{')
        return -1;
    p = skip_ws(p, end);
    if (p < end && *p == '}')
        return 0;
    for (;;) {
        bool esc = false;
        if (p >= end || *p != '"')
            return -1;
        const char *k = p;
        p = skip_string(p, end, &esc);
        if (!p || esc)
            return -1;
        bool is_peer = p - k == 6 && memcmp(k, "\"Peer\"", 6) == 0;
        p = skip_ws(p, end);
        if (p >= end || *p++ != ':')
            return -1;
        p = skip_ws(p, end);
        const char *v = p;
        p = skip_value(p, end);
        if (!p || p == v)
            return -1;
        if (is_peer) {
            if (found)
                return -1;
            found = 1;
            *vs = v;
            *ve = p;
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        return p < end && *p == '}' ? found : -1;
    }
}

static bool node_key(const char *k, size_t len)
{
    for (size_t i = 0; i < sizeof node_keys / sizeof *node_keys; i++)
        if (len && node_keys[i][0] == k[0] && strnlen(node_keys[i], len + 1) == len &&
            memcmp(node_keys[i], k, len) == 0)
            return true;
    return false;
}

/* One peer object from v (at its '{') in [v, end) -> "{...}" holding only
 * the members parse_node() reads, plus any member with an escaped key
 * (jansson decodes those; one might be "DNSName"), in their order, so
 * duplicates resolve as in a tree of the whole object. The other members'
 * values are bracket-matched, not validated: what tsrun uses is all decoded
 * by jansson. One pass: *ve is set just past the object.
 * 0 with the text in *out (its size in *cap) and its length in *olen;
 * 1 when the text ends first (feed more); -ENOMEM; -EAGAIN when the object
 * is not plain "key": value pairs (the whole parse then says what is wrong). */
static int pick_members(const char *v, const char *end, const char **ve, char **out, size_t *cap,
                        size_t *olen)
{
    const char *p = skip_ws(v + 1, end);
    size_t used = 1;
    bool first = true;
    for (;;) {
        bool esc = false;
        const char *k = p, *ke, *val;
        if (p >= end)
            return 1;
        if (*p == '}' && first)
            break;
        if (*p != '"')
            return -EAGAIN;
        if (!(ke = skip_string(p, end, &esc)) || (p = skip_ws(ke, end)) >= end)
            return 1;
        if (*p != ':')
            return -EAGAIN;
        if ((val = p = skip_ws(p + 1, end)) >= end || !(p = skip_value(p, end)))
            return 1;
        if (p == val)
            return -EAGAIN;
        if (esc || node_key(k + 1, (size_t)(ke - k) - 2)) {
            size_t klen = (size_t)(ke - k), vlen = (size_t)(p - val);
            if (used + klen + vlen + 3 > *cap) {
                size_t ncap = *cap ? *cap : 1024;
                while (ncap < used + klen + vlen + 3)
                    ncap *= 2;
                char *nb = realloc(*out, ncap);
                if (!nb)
                    return -ENOMEM;
                *out = nb;
                *cap = ncap;
            }
            if (used > 1)
                (*out)[used++] = ',';
            memcpy(*out + used, k, klen);
            used += klen;
            (*out)[used++] = ':';
            memcpy(*out + used, val, vlen);
            used += vlen;
        }
        first = false;
        if ((p = skip_ws(p, end)) >= end)
            return 1;
        if (*p == '}')
            break;
        if (*p != ',')
            return -EAGAIN;
        p = skip_ws(p + 1, end);
    }
    if (!*out) {
        if (!(*out = malloc(1024)))
            return -ENOMEM;
        *cap = 1024;
    }
    (*out)[0] = '{';
    (*out)[used++] = '}';
    *olen = used;
    *ve = p + 1;
    return 0;
}

static int add_peer(struct tsr_status *st, size_t *cap, json_t *obj)
{
    if (st->npeers == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct status_node *np = realloc(st->peers, ncap * sizeof *np);
        if (!np)
            return -ENOMEM;
        st->peers = np;
        *cap = ncap;
    }
    struct status_node *n = &st->peers[st->npeers++];
    memset(n, 0, sizeof *n);
    int rc = parse_node(obj, n);
    if (rc == 0 && n->exit_node)
        st->exit_node_in_use = true;
    return rc;
}

/* Everything but the peers, from a tree. */
static int parse_root(json_t *root, struct tsr_status *st, char *err, size_t errlen)
{
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "BackendState"))) {
        snprintf(err, errlen, "status: no BackendState in the reply");
        return -EINVAL;
    }
    st->version = dup_str(root, "Version");
    st->backend_state = dup_str(root, "BackendState");
    st->auth_url = dup_str(root, "AuthURL");
    st->tun = json_is_true(json_object_get(root, "TUN"));
    json_t *ens = json_object_get(root, "ExitNodeStatus");
    st->exit_node_in_use = st->exit_node_in_use || json_is_object(ens);

    json_t *tn = json_object_get(root, "CurrentTailnet");
    json_t *sfx = json_object_get(tn, "MagicDNSSuffix");
    if (!json_is_string(sfx) || !*json_string_value(sfx))
        sfx = json_object_get(root, "MagicDNSSuffix");
    st->suffix = norm_dns(json_is_string(sfx) ? json_string_value(sfx) : "");
    st->tailnet = dup_str(tn, "Name"); /* json_object_get(NULL, ..) is NULL */
    if (!st->version || !st->backend_state || !st->auth_url || !st->suffix || !st->tailnet)
        return -ENOMEM;

    json_t *health = json_object_get(root, "Health"), *h;
    size_t i;
    if (json_array_size(health)) {
        st->health = calloc(json_array_size(health), sizeof *st->health);
        if (!st->health)
            return -ENOMEM;
        json_array_foreach(health, i, h)
        {
            if (json_is_string(h) && (st->health[st->nhealth] = strdup(json_string_value(h))))
                st->nhealth++;
        }
    }

    json_t *self = json_object_get(root, "Self");
    return parse_node(json_is_object(self) ? self : NULL, &st->self);
}

/* The whole document as one tree: the fallback, and the error messages. */
static int parse_whole(const char *json, size_t len, struct tsr_status *st, char *err,
                       size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) {
        snprintf(err, errlen, "status: bad JSON at line %d: %s", jerr.line, jerr.text);
        return -EINVAL;
    }
    int rc = parse_root(root, st, err, errlen);
    json_t *peers = json_object_get(root, "Peer"), *p;
    const char *key;
    size_t cap = 0;
    if (rc == 0 && json_is_object(peers)) {
        json_object_foreach(peers, key, p)
        {
            if (json_is_object(p) && (rc = add_peer(st, &cap, p)) < 0)
                break;
        }
    }
    json_decref(root);
    return rc;
}

enum { RD_HEAD, RD_PEERS, RD_TAIL };

struct status_reader {
    char *buf;       /* text not consumed yet */
    size_t len, cap; /* bytes in buf, its size */
    size_t pos;      /* where the next member starts in buf */
    char *rest;      /* RD_PEERS/RD_TAIL after a Peer map: the text before it, then "null" */
    size_t rlen;
    int phase;      /* RD_* */
    bool opened;    /* saw the top-level '{' */
    bool more;      /* a member came before (a ',' is due) */
    bool seen_peer; /* a top-level Peer key */
    int rc;         /* 0, or the first error: -ENOMEM, -EAGAIN */
    size_t pcap;    /* st.peers' capacity */
    char *pick;     /* one peer's picked members (pick_members) */
    size_t pickcap;
    struct tsr_status st;
};

struct status_reader *status_reader_new(void)
{
    return calloc(1, sizeof(struct status_reader));
}

void status_reader_free(struct status_reader *r)
{
    if (!r)
        return;
    status_free(&r->st);
    free(r->buf);
    free(r->rest);
    free(r->pick);
    free(r);
}

/* ',' then a key's opening quote when a member came before; 1 = more text
 * needed, -EAGAIN = unexpected, 0 with *pp at the quote. */
static int next_member(struct status_reader *r, const char **pp, const char *end)
{
    const char *p = *pp;
    if (r->more) {
        if (*p != ',')
            return -EAGAIN;
        p = skip_ws(p + 1, end);
        if (p >= end)
            return 1;
    }
    if (*p != '"')
        return -EAGAIN;
    *pp = p;
    return 0;
}

/* A key and its ':' from *pp (at the quote); leaves *pp at the value. */
static int key_colon(const char **pp, const char *end, bool *esc)
{
    const char *p = skip_string(*pp, end, esc);
    if (!p || (p = skip_ws(p, end)) >= end)
        return 1;
    if (*p != ':')
        return -EAGAIN;
    p = skip_ws(p + 1, end);
    if (p >= end)
        return 1;
    *pp = p;
    return 0;
}

/* Top-level members until the Peer map opens or the object closes. */
static int step_head(struct status_reader *r)
{
    const char *b = r->buf, *end = b + r->len;
    for (;;) {
        const char *p = skip_ws(b + r->pos, end), *k;
        bool esc = false;
        int rc;
        if (p >= end)
            return 1;
        if (!r->opened) {
            if (*p != '{')
                return -EAGAIN;
            r->opened = true;
            r->pos = (size_t)(p + 1 - b);
            continue;
        }
        if (*p == '}') {
            r->phase = RD_TAIL; /* no Peer map: buf holds the whole document */
            return 0;
        }
        if ((rc = next_member(r, &p, end)) != 0)
            return rc;
        k = p;
        if ((rc = key_colon(&p, end, &esc)) != 0)
            return rc;
        if (esc)
            return -EAGAIN;
        const char *ke = skip_string(k, end, NULL);
        if (ke == k + 6 && memcmp(k, "\"Peer\"", 6) == 0) {
            if (r->seen_peer)
                return -EAGAIN;
            if (*p == '{') {
                size_t head = (size_t)(p - b);
                r->rest = malloc(head + 4);
                if (!r->rest)
                    return -ENOMEM;
                memcpy(r->rest, b, head);
                memcpy(r->rest + head, "null", 4);
                r->rlen = head + 4;
                r->pos = head + 1;
                r->more = false;
                r->seen_peer = true;
                r->phase = RD_PEERS;
                return 0;
            }
        }
        const char *v = p;
        if (!(p = skip_value(p, end)))
            return 1;
        if (p == v)
            return -EAGAIN;
        /* Committed only now: an incomplete member is scanned again. */
        r->seen_peer = r->seen_peer || (ke == k + 6 && memcmp(k, "\"Peer\"", 6) == 0);
        r->pos = (size_t)(p - b);
        r->more = true;
    }
}

/* Peer map entries, each decoded and dropped, until the map closes. */
static int step_peers(struct status_reader *r)
{
    const char *b = r->buf, *end = b + r->len;
    for (;;) {
        const char *p = skip_ws(b + r->pos, end);
        int rc;
        if (p >= end)
            return 1;
        if (*p == '}') {
            r->pos = (size_t)(p + 1 - b);
            r->phase = RD_TAIL;
            return 0;
        }
        if ((rc = next_member(r, &p, end)) != 0 || (rc = key_colon(&p, end, NULL)) != 0)
            return rc;
        if (*p != '{')
            return -EAGAIN; /* a peer that is not an object: rare, left to jansson */
        size_t plen;
        if ((rc = pick_members(p, end, &p, &r->pick, &r->pickcap, &plen)) != 0)
            return rc;
        json_error_t jerr;
        json_t *obj = json_loadb(r->pick, plen, 0, &jerr);
        if (!obj)
            return -EAGAIN;
        rc = add_peer(&r->st, &r->pcap, obj);
        json_decref(obj);
        if (rc < 0)
            return rc;
        r->pos = (size_t)(p - b);
        r->more = true;
    }
}

static void fail(struct status_reader *r, int rc)
{
    r->rc = rc;
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = r->pos = 0;
}

int status_reader_feed(struct status_reader *r, const char *data, size_t n)
{
    if (r->rc)
        return 0; /* the rest is drained unread; finish says why */
    if (r->len + n + 1 > r->cap) {
        size_t ncap = r->cap ? r->cap : 16384;
        while (ncap < r->len + n + 1)
            ncap *= 2;
        char *nb = realloc(r->buf, ncap);
        if (!nb) {
            fail(r, -ENOMEM);
            return 0;
        }
        r->buf = nb;
        r->cap = ncap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    int rc = 0;
    while (rc == 0 && r->phase != RD_TAIL)
        rc = r->phase == RD_HEAD ? step_head(r) : step_peers(r);
    if (rc < 0) {
        fail(r, rc);
        return 0;
    }
    /* What the peers used is gone; the head stays until the map opens. */
    if (r->rest && r->pos) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    return 0;
}

int status_reader_finish(struct status_reader *r, struct tsr_status *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    if (r->rc == 0 && r->phase != RD_TAIL)
        r->rc = -EAGAIN; /* cut short, or not an object */
    if (r->rc) {
        if (r->rc == -ENOMEM)
            snprintf(err, errlen, "status: out of memory");
        return r->rc;
    }
    char *doc = r->buf;
    size_t dlen = r->len;
    if (r->rest) {
        doc = realloc(r->rest, r->rlen + r->len + 1);
        if (!doc) {
            snprintf(err, errlen, "status: out of memory");
            return -ENOMEM;
        }
        r->rest = doc;
        memcpy(doc + r->rlen, r->buf, r->len);
        dlen = r->rlen + r->len;
        /* A second Peer after the map (the last one wins in jansson). */
        const char *vs, *ve;
        if (find_peer(doc, doc + dlen, &vs, &ve) != 1)
            return -EAGAIN;
    }
    json_error_t jerr;
    json_t *root = json_loadb(doc ? doc : "", dlen, 0, &jerr);
    if (!root)
        return -EAGAIN;
    int rc = parse_root(root, &r->st, err, errlen);
    json_decref(root);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "status: out of memory");
    if (rc < 0)
        return rc;
    if (r->st.npeers)
        qsort(r->st.peers, r->st.npeers, sizeof *r->st.peers, cmp_peer);
    *st = r->st;
    memset(&r->st, 0, sizeof r->st);
    return 0;
}

int status_parse(const char *json, size_t len, struct tsr_status *st, char *err, size_t errlen)
{
    struct status_reader *r = status_reader_new();
    if (!r) {
        memset(st, 0, sizeof *st);
        snprintf(err, errlen, "status: out of memory");
        return -ENOMEM;
    }
    status_reader_feed(r, json, len);
    int rc = status_reader_finish(r, st, err, errlen);
    status_reader_free(r);
    if (rc != -EAGAIN)
        return rc;
    rc = parse_whole(json, len, st, err, errlen);
    if (rc == 0 && st->npeers)
        qsort(st->peers, st->npeers, sizeof *st->peers, cmp_peer);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "status: out of memory");
    if (rc < 0)
        status_free(st);
    return rc;
}

static void notify_member(struct status_notify *n, const char *key, json_t *v)
{
    static const char *const refresh[] = {"NetMap", "PeersChanged", "PeersRemoved", "Prefs",
                                          "State"};
    for (size_t i = 0; i < sizeof refresh / sizeof *refresh; i++)
        n->refresh = n->refresh || strcmp(key, refresh[i]) == 0;
    if (strcmp(key, "State") == 0) {
        n->has_state = json_is_integer(v);
        n->state = n->has_state ? (long)json_integer_value(v) : 0;
    } else if (strcmp(key, "ErrMessage") == 0) {
        snprintf(n->err, sizeof n->err, "%s", json_is_string(v) ? json_string_value(v) : "");
    }
}

/* The whole line as one tree: lines the scanner leaves alone. */
static int notify_whole(const char *line, size_t len, struct status_notify *n)
{
    json_error_t jerr;
    json_t *root = json_loadb(line, len, 0, &jerr), *v;
    const char *key;
    if (!json_is_object(root)) {
        json_decref(root);
        return -EINVAL;
    }
    json_object_foreach(root, key, v)
    {
        notify_member(n, key, v);
    }
    json_decref(root);
    return 0;
}

int status_notify_parse(const char *line, size_t len, struct status_notify *n)
{
    const char *end = line + len, *p = skip_ws(line, end);
    memset(n, 0, sizeof *n);
    if (p >= end || *p++ != '{')
        return -EINVAL;
    p = skip_ws(p, end);
    if (p < end && *p == '}')
        return skip_ws(p + 1, end) == end ? 0 : -EINVAL;
    for (;;) {
        bool esc = false;
        char key[16];
        if (p >= end || *p != '"')
            return -EINVAL;
        const char *k = p;
        if (!(p = skip_string(p, end, &esc)))
            return -EINVAL;
        if (esc)
            return notify_whole(line, len, n);
        size_t klen = (size_t)(p - k) - 2;
        snprintf(key, sizeof key, "%.*s", klen < sizeof key ? (int)klen : 0, k + 1);
        p = skip_ws(p, end);
        if (p >= end || *p++ != ':')
            return -EINVAL;
        p = skip_ws(p, end);
        const char *v = p;
        if (!(p = skip_value(p, end)) || p == v)
            return -EINVAL;
        if (strcmp(key, "State") == 0 || strcmp(key, "ErrMessage") == 0) {
            json_error_t jerr;
            json_t *val = json_loadb(v, (size_t)(p - v), JSON_DECODE_ANY, &jerr);
            if (!val)
                return -EINVAL;
            notify_member(n, key, val);
            json_decref(val);
        } else if (key[0]) {
            notify_member(n, key, NULL);
        }
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        return p < end && *p == '}' && skip_ws(p + 1, end) == end ? 0 : -EINVAL;
    }
}

void status_free(struct tsr_status *st)
{
    free(st->version);
    free(st->backend_state);
    free(st->auth_url);
    free(st->suffix);
    free(st->tailnet);
    for (size_t i = 0; i < st->nhealth; i++)
        free(st->health[i]);
    free(st->health);
    free_node(&st->self);
    for (size_t i = 0; i < st->npeers; i++)
        free_node(&st->peers[i]);
    free(st->peers);
    memset(st, 0, sizeof *st);
}

char *status_routes(const struct tsr_status *st)
{
    size_t cap = 1;
    for (size_t i = 0; i < st->npeers; i++)
        cap += strlen(st->peers[i].routes ? st->peers[i].routes : "") + 1;
    char *out = malloc(cap), *p = out;
    if (!out)
        return NULL;
    *p = '\0';
    for (size_t i = 0; i < st->npeers; i++) {
        const char *r = st->peers[i].routes;
        if (!r || !*r)
            continue;
        p += sprintf(p, "%s%s", p == out ? "" : ",", r);
    }
    return out;
}
