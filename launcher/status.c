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

int status_parse(const char *json, size_t len, struct tsr_status *st, char *err, size_t errlen)
{
    int rc = 0;
    json_error_t jerr;
    memset(st, 0, sizeof *st);
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) {
        snprintf(err, errlen, "status: bad JSON at line %d: %s", jerr.line, jerr.text);
        return -EINVAL;
    }
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "BackendState"))) {
        snprintf(err, errlen, "status: no BackendState in the reply");
        rc = -EINVAL;
        goto out;
    }
    st->version = dup_str(root, "Version");
    st->backend_state = dup_str(root, "BackendState");
    st->auth_url = dup_str(root, "AuthURL");
    st->tun = json_is_true(json_object_get(root, "TUN"));
    json_t *ens = json_object_get(root, "ExitNodeStatus");
    st->exit_node_in_use = json_is_object(ens);

    json_t *tn = json_object_get(root, "CurrentTailnet");
    json_t *sfx = json_object_get(tn, "MagicDNSSuffix");
    if (!json_is_string(sfx) || !*json_string_value(sfx))
        sfx = json_object_get(root, "MagicDNSSuffix");
    st->suffix = norm_dns(json_is_string(sfx) ? json_string_value(sfx) : "");
    st->tailnet = dup_str(tn, "Name"); /* json_object_get(NULL, ..) is NULL */
    if (!st->version || !st->backend_state || !st->auth_url || !st->suffix || !st->tailnet) {
        rc = -ENOMEM;
        goto out;
    }

    json_t *health = json_object_get(root, "Health"), *h;
    size_t i;
    if (json_array_size(health)) {
        st->health = calloc(json_array_size(health), sizeof *st->health);
        if (!st->health) {
            rc = -ENOMEM;
            goto out;
        }
        json_array_foreach(health, i, h)
        {
            if (json_is_string(h) && (st->health[st->nhealth] = strdup(json_string_value(h))))
                st->nhealth++;
        }
    }

    json_t *self = json_object_get(root, "Self");
    rc = parse_node(json_is_object(self) ? self : NULL, &st->self);
    if (rc < 0)
        goto out;

    json_t *peers = json_object_get(root, "Peer"), *p;
    const char *key;
    if (json_is_object(peers) && json_object_size(peers)) {
        st->peers = calloc(json_object_size(peers), sizeof *st->peers);
        if (!st->peers) {
            rc = -ENOMEM;
            goto out;
        }
        json_object_foreach(peers, key, p)
        {
            if (!json_is_object(p))
                continue;
            rc = parse_node(p, &st->peers[st->npeers++]);
            if (rc < 0)
                goto out;
            if (st->peers[st->npeers - 1].exit_node)
                st->exit_node_in_use = true;
        }
        qsort(st->peers, st->npeers, sizeof *st->peers, cmp_peer);
    }
out:
    json_decref(root);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "status: out of memory");
    if (rc < 0)
        status_free(st);
    return rc;
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
