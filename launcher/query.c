/* Asking tailscaled: one LocalAPI status call into struct daemon, and the
 * TUN-mode tailscaled at the usual sockets. */
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "localapi.h"
#include "tsrun.h"

/* "HTTP 500 from SOCK: <first line of the body>", printable and short. */
void query_describe_http_error(struct daemon *d, const struct localapi_resp *r)
{
    char line[121];
    size_t n = 0;
    for (const char *p = r->body; *p && *p != '\n' && *p != '\r' && n < sizeof line - 1; p++)
        line[n++] = *p >= 0x20 && *p < 0x7f ? *p : '?';
    line[n] = '\0';
    snprintf(d->err, sizeof d->err, "LocalAPI answered HTTP %ld from %s%s%s%s", r->code, d->sock,
             n ? ": " : "", line,
             r->body[n] && r->body[n] != '\n' && r->body[n] != '\r' ? "..." : "");
}

static void feed_status(const char *data, size_t len, void *ctx)
{
    status_reader_feed(ctx, data, len);
}

/* One GET of the status: its body to sr as it arrives when sr is not NULL,
 * else whole in *r. 0 with a 200 reply, or -errno with d->err set. */
static int get_status(struct daemon *d, long timeout_ms, struct status_reader *sr,
                      struct localapi_resp *r)
{
    int rc =
        sr ? localapi_get_stream(d->sock, "/localapi/v0/status", timeout_ms, feed_status, sr, r)
           : localapi_get(d->sock, "/localapi/v0/status", timeout_ms, r);
    if (rc == -ETIMEDOUT)
        snprintf(d->err, sizeof d->err, "LocalAPI at %s did not answer within %ld s", d->sock,
                 (timeout_ms + 999) / 1000);
    else if (rc == -ECONNREFUSED || rc == -ENOMEM || rc == -ENOSYS)
        snprintf(d->err, sizeof d->err, "cannot reach tailscaled at %s: %s", d->sock,
                 strerror(-rc));
    else if (rc < 0)
        snprintf(d->err, sizeof d->err, "LocalAPI at %s %s", d->sock, r->err);
    if (rc < 0)
        return rc;
    if (r->code != 200) {
        query_describe_http_error(d, r);
        tsr_debug("status: HTTP %ld: %.200s", r->code, r->body);
        localapi_resp_free(r);
        return -EPROTO;
    }
    return 0;
}

int daemon_fetch_status(struct daemon *d, long timeout_ms)
{
    struct localapi_resp r;
    struct tsr_status st;
    char err[160] = "";
    d->err[0] = '\0';
    /* Streamed into the reader: a big tailnet's status never sits in memory
     * whole, nor as one tree (status.h). Text the reader leaves alone
     * (malformed or unusual) is fetched again whole for jansson's verdict. */
    struct status_reader *sr = status_reader_new();
    int rc = sr ? get_status(d, timeout_ms, sr, &r) : -ENOMEM;
    if (!sr)
        snprintf(d->err, sizeof d->err, "cannot reach tailscaled at %s: %s", d->sock,
                 strerror(ENOMEM));
    if (rc == 0) {
        localapi_resp_free(&r);
        rc = status_reader_finish(sr, &st, err, sizeof err);
    }
    status_reader_free(sr);
    if (rc == -EAGAIN) {
        tsr_debug("status: an unusual reply; parsing it whole");
        rc = get_status(d, timeout_ms, NULL, &r);
        if (rc == 0) {
            rc = status_parse(r.body, r.len, &st, err, sizeof err);
            localapi_resp_free(&r);
        }
    }
    if (rc < 0 && !err[0])
        return rc; /* d->err says why */
    if (rc < 0) {
        if (d->have_st) /* as before: an unusable status leaves none */
            status_free(&d->st);
        d->have_st = false;
        const char *why = strncmp(err, "status: ", 8) == 0 ? err + 8 : err;
        if (strncmp(why, "bad JSON ", 9) == 0)
            snprintf(d->err, sizeof d->err,
                     "LocalAPI sent a status that is not valid JSON (%s) from %s", why + 9,
                     d->sock);
        else
            snprintf(d->err, sizeof d->err, "LocalAPI at %s sent an unusable status (%s)", d->sock,
                     why);
        tsr_debug("%s", err);
        return rc;
    }
    if (d->have_st)
        status_free(&d->st);
    d->st = st;
    d->have_st = true;
    tsr_debug("status: %s, %zu peers", d->st.backend_state, d->st.npeers);
    return 0;
}

bool daemon_state_is(const struct daemon *d, const char *s)
{
    return d->have_st && strcmp(d->st.backend_state, s) == 0;
}

bool daemon_find_tun(struct daemon *d)
{
    const char *env = getenv("TSRUN_SYSTEM_SOCKETS");
    char list[4096];
    snprintf(list, sizeof list, "%s", env && *env ? env : DAEMON_USUAL_SOCKETS);
    char *save = NULL;
    for (char *sock = strtok_r(list, ":", &save); sock; sock = strtok_r(NULL, ":", &save)) {
        if (!strcmp(sock, d->sock) || localapi_ping(sock) < 0)
            continue;
        struct daemon probe = *d;
        probe.have_st = false;
        snprintf(probe.sock, sizeof probe.sock, "%s", sock);
        bool tun = daemon_fetch_status(&probe, DAEMON_STATUS_TIMEOUT_MS) == 0 && probe.st.tun &&
                   strcmp(probe.st.backend_state, "Running") == 0;
        if (!tun) {
            if (probe.have_st)
                status_free(&probe.st);
            continue;
        }
        if (d->have_st)
            status_free(&d->st);
        d->st = probe.st;
        d->have_st = true;
        snprintf(d->sock, sizeof d->sock, "%s", sock);
        d->mode = DAEMON_MODE_TUN;
        return true;
    }
    return false;
}
