/* The status fetch against a scripted LocalAPI on a unix socket in a temp
 * dir: a 200 status streams into the reader in pieces (chunked encoding, as
 * tailscaled sends a big one), another code keeps its body, and a status
 * the streaming reader leaves alone is fetched again and parsed whole. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "localapi.h"
#include "status.h"

static char dir[64], sock[128];

/* A server answering one connection per reply in replies[], in order:
 * reads the request head, writes the reply, closes. Returns its pid. */
static pid_t serve(const char *const *replies, size_t n)
{
    snprintf(dir, sizeof dir, "/tmp/test-localapi.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(sock, sizeof sock, "%s/s.sock", dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, sock);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(l, 4) == 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid) {
        close(l);
        return pid;
    }
    for (size_t i = 0; i < n; i++) {
        int c = accept(l, NULL, NULL);
        char req[4096];
        size_t got = 0;
        while (got < sizeof req - 1) {
            ssize_t k = read(c, req + got, sizeof req - 1 - got);
            if (k <= 0)
                break;
            got += (size_t)k;
            req[got] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        for (size_t off = 0, len = strlen(replies[i]); off < len;) {
            ssize_t k = write(c, replies[i] + off, len - off);
            if (k <= 0)
                break;
            off += (size_t)k;
        }
        close(c);
    }
    _exit(0);
}

static void reap(pid_t pid)
{
    int ws;
    kill(pid, SIGTERM);
    waitpid(pid, &ws, 0);
    unlink(sock);
    rmdir(dir);
}

/* A chunked 200 reply: body in chunks of `chunk` bytes. malloc'd. */
static char *chunked_200(const char *body, size_t chunk)
{
    size_t len = strlen(body), cap = 256 + len + (len / chunk + 1) * 16, n = 0;
    char *out = malloc(cap);
    n += (size_t)sprintf(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n");
    for (size_t off = 0; off < len; off += chunk) {
        size_t k = len - off < chunk ? len - off : chunk;
        n += (size_t)sprintf(out + n, "%zx\r\n", k);
        memcpy(out + n, body + off, k);
        n += k;
        n += (size_t)sprintf(out + n, "\r\n");
    }
    sprintf(out + n, "0\r\n\r\n");
    return out;
}

static char *big_status(int peers, const char *extra_peer)
{
    char *j = malloc((size_t)peers * 160 + 512);
    size_t n = (size_t)sprintf(j, "{\"BackendState\":\"Running\",\"Version\":\"1.0\",\"Peer\":{");
    for (int i = 0; i < peers; i++)
        n += (size_t)sprintf(j + n,
                             "%s\"nodekey:%d\":{\"DNSName\":\"p%d.ts.net.\",\"HostName\":\"p%d\","
                             "\"TailscaleIPs\":[\"100.64.%d.%d\"],\"Online\":true}",
                             i ? "," : "", i, i, i, i / 256, i % 256);
    n += (size_t)sprintf(j + n, "%s}}", extra_peer ? extra_peer : "");
    return j;
}

static void feed(const char *data, size_t len, void *ctx)
{
    status_reader_feed(ctx, data, len);
}

Test(localapi, status_streams_into_the_reader)
{
    char *body = big_status(3000, NULL), *reply = chunked_200(body, 1000);
    const char *replies[] = {reply};
    pid_t pid = serve(replies, 1);
    struct status_reader *sr = status_reader_new();
    struct localapi_resp r;
    struct tsr_status st;
    char err[256] = "";
    cr_assert_eq(localapi_get_stream(sock, "/localapi/v0/status", 5000, feed, sr, &r), 0, "%s",
                 r.err);
    cr_assert_eq(r.code, 200);
    cr_assert_str_eq(r.body, "", "a streamed body is not kept");
    cr_assert_eq(status_reader_finish(sr, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(st.npeers, 3000);
    cr_assert_str_eq(st.version, "1.0");
    status_free(&st);
    status_reader_free(sr);
    localapi_resp_free(&r);
    reap(pid);
    free(reply);
    free(body);
}

static int calls;
static void count(const char *data, size_t len, void *ctx)
{
    (void)data, (void)len, (void)ctx;
    calls++;
}

Test(localapi, error_reply_body_is_kept)
{
    const char *replies[] = {
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nboom!"};
    pid_t pid = serve(replies, 1);
    struct localapi_resp r;
    calls = 0;
    cr_assert_eq(localapi_get_stream(sock, "/localapi/v0/status", 5000, count, NULL, &r), 0);
    cr_assert_eq(r.code, 500);
    cr_assert_str_eq(r.body, "boom!");
    cr_assert_eq(calls, 0);
    localapi_resp_free(&r);
    reap(pid);
}

Test(localapi, daemon_status_unusual_reply_is_parsed_whole)
{
    /* A peer that is not an object: the reader gives up, the daemon asks
     * again and jansson's whole-tree parse skips that peer. */
    char *body = big_status(50, ",\"odd\":5"), *reply = chunked_200(body, 7);
    const char *replies[] = {reply, reply};
    pid_t pid = serve(replies, 2);
    struct daemon d;
    memset(&d, 0, sizeof d);
    snprintf(d.sock, sizeof d.sock, "%s", sock);
    cr_assert_eq(daemon_fetch_status(&d, 5000), 0, "%s", d.err);
    cr_assert(d.have_st);
    cr_assert_eq(d.st.npeers, 50);
    cr_assert_str_eq(d.st.backend_state, "Running");
    status_free(&d.st);
    reap(pid);
    free(reply);
    free(body);
}

Test(localapi, daemon_status_bad_json_says_so)
{
    const char *body = "{\"BackendState\":\"Running\",\"Peer\":{\"a\":{";
    char bad[256];
    snprintf(bad, sizeof bad, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s", strlen(body),
             body);
    const char *replies[] = {bad, bad};
    pid_t pid = serve(replies, 2);
    struct daemon d;
    memset(&d, 0, sizeof d);
    snprintf(d.sock, sizeof d.sock, "%s", sock);
    cr_assert_eq(daemon_fetch_status(&d, 5000), -EINVAL);
    cr_assert_not(d.have_st);
    cr_assert(strstr(d.err, "not valid JSON"), "%s", d.err);
    reap(pid);
}
