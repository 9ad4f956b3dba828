/* The session value (session.h) from struct daemon. */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "tsrun.h"

/* TSRUN_ROUTES for the command: "all" with an exit node, peers' routes
 * with --accept-routes, else nothing (the shim's tailnet ranges). */
static char *routes_for(const struct daemon *d)
{
    if (d->from_ready) {
        if (d->ready_exit_node)
            return strdup("all");
        return d->accept_routes ? strdup(d->ready_routes) : NULL;
    }
    if (!d->have_st)
        return NULL;
    if (d->st.exit_node_in_use)
        return strdup("all");
    if (d->accept_routes)
        return status_routes(&d->st);
    return NULL;
}

void session_observe(const struct daemon *d, struct session *s)
{
    memset(s, 0, sizeof *s);
    s->mode = d->mode;
    snprintf(s->socks5, sizeof s->socks5, "%s", d->socks5);
    snprintf(s->http_proxy, sizeof s->http_proxy, "%s", d->http_proxy);
    snprintf(s->names, sizeof s->names, "%s", d->names_path);
    s->pipeline = d->mode == DAEMON_MODE_USERSPACE;
}

int session_ensure(struct daemon *d, struct session *s)
{
    memset(s, 0, sizeof *s);
    int rc = daemon_ensure(d, 0);
    if (rc)
        return rc;
    if (d->started)
        daemon_spawn_supervisor(d); /* keeps the map fresh while COMMAND runs */
    if (d->have_st && d->st.tun)
        d->mode = DAEMON_MODE_TUN; /* ours, started in kernel mode */
    if (d->mode != DAEMON_MODE_TUN && d->have_st)
        daemon_write_names(d);
    session_observe(d, s);
    if (d->mode == DAEMON_MODE_TUN || !(d->have_st || d->from_ready))
        s->names[0] = '\0'; /* no map to read */
    if (d->mode != DAEMON_MODE_TUN)
        s->routes = routes_for(d);
    return 0;
}

void session_free(struct session *s)
{
    free(s->routes);
    s->routes = NULL;
}
