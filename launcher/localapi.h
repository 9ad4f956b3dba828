/* HTTP to tailscaled's LocalAPI over its unix socket (libcurl). */
#ifndef TSRUN_LOCALAPI_H
#define TSRUN_LOCALAPI_H

#include <stdbool.h>
#include <stddef.h>

#define LOCALAPI_HOST "local-tailscaled.sock"

struct localapi_resp {
    long code;  /* HTTP status */
    char *body; /* NUL-terminated */
    size_t len;
    char err[96]; /* on failure: what went wrong, e.g. "cut its reply short" */
};

/* GET path (e.g. "/localapi/v0/status"). 0 with r filled (any HTTP code),
 * -ECONNREFUSED when nothing listens, -ETIMEDOUT, -EPROTO for a reply that
 * is not HTTP or cut short, -EIO otherwise; r->err says which. */
int localapi_get(const char *sock, const char *path, long timeout_ms, struct localapi_resp *r);

/* A piece of a 200 reply's body, in order (see localapi_get_stream). */
typedef void (*localapi_chunk_fn)(const char *data, size_t len, void *ctx);

/* GET like localapi_get, except that a 200 reply's body goes to fn piece by
 * piece as it arrives and is not kept (r->body is then ""): a 10,000-peer
 * status never sits in memory whole. Any other reply's body is kept in r
 * as usual. A transfer that fails midway may have fed fn part of a body. */
int localapi_get_stream(const char *sock, const char *path, long timeout_ms, localapi_chunk_fn fn,
                        void *ctx, struct localapi_resp *r);

/* PATCH path with a JSON body (e.g. ipn.MaskedPrefs to /localapi/v0/prefs);
 * returns as localapi_get. */
int localapi_patch(const char *sock, const char *path, const char *json, long timeout_ms,
                   struct localapi_resp *r);

void localapi_resp_free(struct localapi_resp *r);

/* Called once per complete line of a streaming reply; non-zero stops. */
typedef int (*localapi_line_fn)(const char *line, size_t len, void *ctx);
/* Polled about every 100 ms while streaming; true stops. */
typedef bool (*localapi_stop_fn)(void *ctx);

/* Streams GET /localapi/v0/watch-ipn-bus?mask=MASK until the server closes,
 * fn/stop ask to stop (returns 0), or an error (-errno). */
int localapi_watch(const char *sock, unsigned long long mask, localapi_line_fn fn,
                   localapi_stop_fn stop, void *ctx);

/* Plain connect() to the socket: 0 if something accepts, else -errno. */
int localapi_ping(const char *sock);

#endif
