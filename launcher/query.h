/* Asking tailscaled over the LocalAPI. daemon_fetch_status and
 * daemon_find_tun (declared in daemon.h) live in query.c. */
#ifndef TSRUN_QUERY_H
#define TSRUN_QUERY_H

#include <stdbool.h>

struct daemon;
struct localapi_resp;

/* d->err = "LocalAPI answered HTTP CODE from SOCK: <first body line>",
 * printable, the line cut at 120 bytes ("..." when cut). */
void query_describe_http_error(struct daemon *d, const struct localapi_resp *r);

/* The last status read says BackendState s (false when there is none). */
bool daemon_state_is(const struct daemon *d, const char *s);

#endif
