/* LocalAPI client. libcurl speaks the HTTP (chunked streams included);
 * CURLOPT_UNIX_SOCKET_PATH points it at tailscaled.sock and the URL's host
 * is the one tailscaled accepts (Host: local-tailscaled.sock).
 *
 * IMPORTANT: libcurl is dlopen()ed on first use, not linked. Loading it and
 * its ~30 dependencies (GnuTLS, Kerberos, LDAP, OpenSSL with its config)
 * costs ~6 ms per exec, more than the whole warm path may take; a warm
 * `tsrun CMD` with a fresh ready file never talks HTTP, so it never pays. */
#include "localapi.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tsrun.h"

#define LOCALAPI_MAX_BODY (64u << 20)

static struct {
    int state; /* 0 not tried, 1 loaded, -1 failed */
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*setopt)(CURL *, CURLoption, ...);
    CURLcode (*perform)(CURL *);
    CURLcode (*getinfo)(CURL *, CURLINFO, ...);
    void (*cleanup)(CURL *);
    const char *(*strerror)(CURLcode);
} lc;

static int localapi_init(void)
{
    static const char *const names[] = {"libcurl.so.4", "libcurl.so", "libcurl-gnutls.so.4"};
    if (lc.state)
        return lc.state > 0 ? 0 : -ENOSYS;
    lc.state = -1;
    void *h = NULL;
    for (size_t i = 0; !h && i < sizeof names / sizeof *names; i++)
        h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        tsr_error("libcurl not found (%s); install libcurl4", dlerror());
        return -ENOSYS;
    }
    /* dlsym's void * -> function pointer, copied bytewise (ISO C has no cast). */
    const struct {
        const char *name;
        void **slot;
    } syms[] = {
        {"curl_global_init", (void **)&lc.global_init}, {"curl_easy_init", (void **)&lc.easy_init},
        {"curl_easy_setopt", (void **)&lc.setopt},      {"curl_easy_perform", (void **)&lc.perform},
        {"curl_easy_getinfo", (void **)&lc.getinfo},    {"curl_easy_cleanup", (void **)&lc.cleanup},
        {"curl_easy_strerror", (void **)&lc.strerror},
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        void *f = dlsym(h, syms[i].name);
        if (!f) {
            tsr_error("libcurl lacks %s", syms[i].name);
            return -ENOSYS;
        }
        memcpy(syms[i].slot, &f, sizeof f);
    }
    /* No SSL init: plain HTTP over a unix socket only. */
    lc.global_init(CURL_GLOBAL_NOTHING);
    lc.state = 1;
    return 0;
}

struct sink {
    char *p;
    size_t len, cap;
    int oom;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    if (s->len + n + 1 > s->cap) {
        size_t ncap = s->cap ? s->cap : 16384;
        while (ncap < s->len + n + 1)
            ncap *= 2;
        char *np = ncap <= LOCALAPI_MAX_BODY ? realloc(s->p, ncap) : NULL;
        if (!np) {
            s->oom = 1;
            return 0;
        }
        s->p = np;
        s->cap = ncap;
    }
    memcpy(s->p + s->len, data, n);
    s->len += n;
    s->p[s->len] = '\0';
    return n;
}

static int map_curl_error(CURLcode c)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_WRITE_ERROR:
        return -ENOMEM;
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
        return -EPROTO;
    default:
        return -EIO;
    }
}

/* What a failed exchange means, in words a user can act on. */
static void describe_curl_error(CURLcode c, char *err, size_t errlen)
{
    switch (c) {
    case CURLE_GOT_NOTHING:
        snprintf(err, errlen, "closed the connection without an answer");
        break;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        snprintf(err, errlen, "sent a reply that is not HTTP");
        break;
    case CURLE_PARTIAL_FILE:
        snprintf(err, errlen, "cut its reply short");
        break;
    default:
        snprintf(err, errlen, "%s", lc.strerror(c));
        break;
    }
}

static CURL *make_handle(const char *sock, const char *path, char *url, size_t urlsize)
{
    if (localapi_init() < 0)
        return NULL;
    if (tsr_fmt(url, urlsize, "http://" LOCALAPI_HOST "%s", path) < 0)
        return NULL;
    CURL *h = lc.easy_init();
    if (!h)
        return NULL;
    lc.setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
    lc.setopt(h, CURLOPT_URL, url);
    lc.setopt(h, CURLOPT_NOSIGNAL, 1L);
    lc.setopt(h, CURLOPT_PROXY, ""); /* never an http_proxy from env */
    lc.setopt(h, CURLOPT_USERAGENT, "tsrun/" TSRUN_VERSION);
    return h;
}

/* A reply's body: kept in s, or (fn set and HTTP 200) handed to fn. */
struct reply {
    struct sink s;
    CURL *h;
    localapi_chunk_fn fn;
    void *ctx;
    int streaming; /* 0 not known yet, 1 to fn, -1 kept */
};

static size_t on_reply(char *data, size_t size, size_t nmemb, void *ud)
{
    struct reply *rp = ud;
    if (rp->fn && rp->streaming == 0) {
        long code = 0; /* the headers are in before the first body byte */
        lc.getinfo(rp->h, CURLINFO_RESPONSE_CODE, &code);
        rp->streaming = code == 200 ? 1 : -1;
    }
    if (rp->fn && rp->streaming == 1) {
        rp->fn(data, size * nmemb, rp->ctx);
        return size * nmemb;
    }
    return on_body(data, size, nmemb, &rp->s);
}

/* One exchange: GET, or PATCH with a JSON body when json is not NULL; a 200
 * body to fn when fn is not NULL. */
static int request(const char *sock, const char *path, const char *json, long timeout_ms,
                   localapi_chunk_fn fn, void *ctx, struct localapi_resp *r)
{
    int rc = 0;
    char url[512];
    struct reply rp = {.fn = fn, .ctx = ctx};
    struct sink s = {0};
    memset(r, 0, sizeof *r);
    CURL *h = make_handle(sock, path, url, sizeof url);
    if (!h)
        return lc.state < 0 ? -ENOSYS : -ENOMEM;
    rp.h = h;
    if (json) {
        lc.setopt(h, CURLOPT_CUSTOMREQUEST, "PATCH");
        lc.setopt(h, CURLOPT_POSTFIELDS, json);
        lc.setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    }
    lc.setopt(h, CURLOPT_WRITEFUNCTION, on_reply);
    lc.setopt(h, CURLOPT_WRITEDATA, &rp);
    lc.setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    lc.setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    CURLcode c = lc.perform(h);
    s = rp.s;
    if (c != CURLE_OK) {
        rc = s.oom ? -ENOMEM : map_curl_error(c);
        describe_curl_error(s.oom ? CURLE_OUT_OF_MEMORY : c, r->err, sizeof r->err);
        tsr_debug("localapi %s: %s", path, lc.strerror(c));
        goto out;
    }
    lc.getinfo(h, CURLINFO_RESPONSE_CODE, &r->code);
    if (!s.p) {
        s.p = strdup("");
        if (!s.p) {
            rc = -ENOMEM;
            goto out;
        }
    }
    r->body = s.p;
    r->len = s.len;
    s.p = NULL;
out:
    free(s.p);
    lc.cleanup(h);
    return rc;
}

int localapi_get(const char *sock, const char *path, long timeout_ms, struct localapi_resp *r)
{
    return request(sock, path, NULL, timeout_ms, NULL, NULL, r);
}

int localapi_get_stream(const char *sock, const char *path, long timeout_ms, localapi_chunk_fn fn,
                        void *ctx, struct localapi_resp *r)
{
    return request(sock, path, NULL, timeout_ms, fn, ctx, r);
}

int localapi_patch(const char *sock, const char *path, const char *json, long timeout_ms,
                   struct localapi_resp *r)
{
    return request(sock, path, json, timeout_ms, NULL, NULL, r);
}

void localapi_resp_free(struct localapi_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

struct watch {
    struct sink s;
    localapi_line_fn fn;
    localapi_stop_fn stop;
    void *ctx;
    int stopped;
};

static size_t on_stream(char *data, size_t size, size_t nmemb, void *ud)
{
    struct watch *w = ud;
    size_t n = size * nmemb;
    if (on_body(data, size, nmemb, &w->s) != n)
        return 0;
    char *start = w->s.p, *nl;
    while ((nl = memchr(start, '\n', w->s.len - (size_t)(start - w->s.p)))) {
        *nl = '\0';
        if (nl > start && w->fn(start, (size_t)(nl - start), w->ctx)) {
            w->stopped = 1;
            return 0;
        }
        start = nl + 1;
    }
    size_t rest = w->s.len - (size_t)(start - w->s.p);
    memmove(w->s.p, start, rest);
    w->s.len = rest;
    w->s.p[rest] = '\0';
    return n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct watch *w = ud;
    (void)a, (void)b, (void)c, (void)d;
    if (w->stop && w->stop(w->ctx)) {
        w->stopped = 1;
        return 1;
    }
    return 0;
}

int localapi_watch(const char *sock, unsigned long long mask, localapi_line_fn fn,
                   localapi_stop_fn stop, void *ctx)
{
    int rc = 0;
    char url[512], path[128];
    struct watch w = {.fn = fn, .stop = stop, .ctx = ctx};
    snprintf(path, sizeof path, "/localapi/v0/watch-ipn-bus?mask=%llu", mask);
    CURL *h = make_handle(sock, path, url, sizeof url);
    if (!h)
        return lc.state < 0 ? -ENOSYS : -ENOMEM;
    lc.setopt(h, CURLOPT_WRITEFUNCTION, on_stream);
    lc.setopt(h, CURLOPT_WRITEDATA, &w);
    lc.setopt(h, CURLOPT_NOPROGRESS, 0L);
    lc.setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    lc.setopt(h, CURLOPT_XFERINFODATA, &w);
    lc.setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    CURLcode c = lc.perform(h);
    if (w.stopped)
        goto out;
    if (c != CURLE_OK) {
        tsr_debug("watch-ipn-bus: %s", lc.strerror(c));
        rc = map_curl_error(c);
        goto out;
    }
    long code = 0;
    lc.getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200)
        rc = -EPROTO;
out:
    free(w.s.p);
    lc.cleanup(h);
    return rc;
}

int localapi_ping(const char *sock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof sa.sun_path)
        return -ENAMETOOLONG;
    strcpy(sa.sun_path, sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? -errno : 0;
    close(fd);
    return rc;
}
