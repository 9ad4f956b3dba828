/* `tsrun status`: the text and JSON reports (report.h). */
#include "report.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "session.h"
#include "start.h"
#include "status.h"
#include "tsrun.h"

static const char *mode_name(enum daemon_mode m)
{
    return m == DAEMON_MODE_TUN ? "tun" : m == DAEMON_MODE_EXTERNAL ? "external" : "userspace";
}

static long map_age(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) < 0)
        return -1;
    long age = (long)(time(NULL) - sb.st_mtime);
    return age < 0 ? 0 : age;
}

static json_t *ips_json(const struct status_node *n)
{
    json_t *a = json_array();
    for (int i = 0; i < n->nips; i++)
        json_array_append_new(a, json_string(n->ips[i]));
    return a;
}

static json_t *routes_json(const char *routes)
{
    json_t *a = json_array();
    for (const char *p = routes ? routes : ""; *p;) {
        size_t n = strcspn(p, ",");
        json_array_append_new(a, json_stringn(p, n));
        p += n;
        if (*p)
            p++;
    }
    return a;
}

static int status_json(struct daemon *d, const struct session *s, bool up, bool bad, pid_t pid,
                       pid_t sup)
{
    json_t *o = json_object();
    json_object_set_new(o, "running", json_boolean(up && !strcmp(d->st.backend_state, "Running")));
    const char *state = bad ? "Unusable" : "NotRunning";
    json_object_set_new(o, "backend_state", json_string(up ? d->st.backend_state : state));
    json_object_set_new(o, "mode", json_string(mode_name(s->mode)));
    json_object_set_new(o, "socket", json_string(d->sock));
    json_object_set_new(o, "socks5", s->socks5[0] ? json_string(s->socks5) : json_null());
    json_object_set_new(o, "http_proxy",
                        s->http_proxy[0] ? json_string(s->http_proxy) : json_null());
    json_object_set_new(o, "state_dir", json_string(d->state_dir));
    json_object_set_new(o, "tailscaled_pid", pid > 0 ? json_integer(pid) : json_null());
    json_object_set_new(o, "supervisor_pid", sup > 0 ? json_integer(sup) : json_null());
    long age = map_age(s->names);
    json_t *names = json_object();
    json_object_set_new(names, "path", json_string(s->names));
    json_object_set_new(names, "age_seconds", age >= 0 ? json_integer(age) : json_null());
    json_object_set_new(o, "names", names);
    json_object_set_new(o, "error", bad ? json_string(d->err) : json_null());
    if (up) {
        json_object_set_new(o, "version", json_string(d->st.version));
        json_object_set_new(o, "tun", json_boolean(d->st.tun));
        json_object_set_new(o, "tailnet", json_string(d->st.tailnet));
        json_object_set_new(o, "suffix", json_string(d->st.suffix));
        json_object_set_new(o, "auth_url", json_string(d->st.auth_url));
        json_object_set_new(o, "exit_node_in_use", json_boolean(d->st.exit_node_in_use));
        json_t *self = json_object();
        json_object_set_new(self, "name", json_string(d->st.self.dns_name));
        json_object_set_new(self, "host_name", json_string(d->st.self.host_name));
        json_object_set_new(self, "ips", ips_json(&d->st.self));
        json_object_set_new(o, "self", self);
        json_t *peers = json_array();
        for (size_t i = 0; i < d->st.npeers; i++) {
            const struct status_node *n = &d->st.peers[i];
            json_t *p = json_object();
            json_object_set_new(p, "name", json_string(n->dns_name));
            json_object_set_new(p, "host_name", json_string(n->host_name));
            json_object_set_new(p, "os", json_string(n->os));
            json_object_set_new(p, "ips", ips_json(n));
            json_object_set_new(p, "online", json_boolean(n->online));
            json_object_set_new(p, "exit_node", json_boolean(n->exit_node));
            json_object_set_new(p, "routes", routes_json(n->routes));
            json_array_append_new(peers, p);
        }
        json_object_set_new(o, "peers", peers);
        json_t *health = json_array();
        for (size_t i = 0; i < d->st.nhealth; i++)
            json_array_append_new(health, json_string(d->st.health[i]));
        json_object_set_new(o, "health", health);
    }
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return TSR_EXIT_INTERNAL;
    printf("%s\n", text);
    free(text);
    return 0;
}

static void print_ips(const struct status_node *n)
{
    for (int i = 0; i < n->nips; i++)
        printf(" %s", n->ips[i]);
    printf("\n");
}

int report_status(struct daemon *d, bool json)
{
    int rc = 0;
    int frc = daemon_fetch_status(d, 3000);
    bool up = frc == 0;
    /* Something answers, but not with a status: say what, not "not running". */
    bool bad = frc < 0 && frc != -ECONNREFUSED && frc != -ENOSYS && frc != -ENOENT;
    if (d->mode == DAEMON_MODE_USERSPACE)
        start_read_addrs(d); /* what the last start recorded */
    if (up && d->st.tun)
        d->mode = DAEMON_MODE_TUN;
    if (!up && !bad && d->mode == DAEMON_MODE_USERSPACE && daemon_find_tun(d))
        up = true; /* a TUN tailscaled at a usual socket: what `tsrun CMD` uses */
    pid_t pid = daemon_read_pid(d->pid_path), sup = daemon_read_pid(d->sup_pid_path);
    if (d->mode == DAEMON_MODE_EXTERNAL || !daemon_pid_is_tailscaled(pid, d->sock))
        pid = -1;
    if (sup > 0 && !daemon_pid_is_supervisor(sup))
        sup = -1;
    struct session s;
    session_observe(d, &s);
    if (json) {
        rc = status_json(d, &s, up, bad, pid, sup);
    } else if (bad) {
        printf("state:    unusable: %s\n", d->err);
        printf("mode:     %s\n", mode_name(s.mode));
        printf("socket:   %s\n", d->sock);
    } else if (!up) {
        printf("state:    not running (no tailscaled answers at %s)\n", d->sock);
        printf("mode:     %s\n", mode_name(s.mode));
        printf("start it: tsrun up --background   (or just `tsrun COMMAND`)\n");
    } else {
        printf("state:    %s\n", d->st.backend_state);
        if (*d->st.auth_url)
            printf("login:    %s\n", d->st.auth_url);
        printf("self:     %s", *d->st.self.dns_name ? d->st.self.dns_name : "-");
        print_ips(&d->st.self);
        if (*d->st.tailnet || *d->st.suffix)
            printf("tailnet:  %s (%s)\n", *d->st.tailnet ? d->st.tailnet : "-", d->st.suffix);
        printf("mode:     %s", mode_name(s.mode));
        if (s.mode == DAEMON_MODE_TUN)
            printf(" (tailscaled at %s routes the tailnet; tsrun injects nothing)", d->sock);
        if (pid > 0)
            printf(" (tailscaled pid %ld started by tsrun%s)", (long)pid,
                   sup > 0 ? ", supervised" : "");
        printf("\nversion:  %s\n", d->st.version);
        printf("socket:   %s\n", d->sock);
        printf("socks5:   %s\n", s.socks5[0] ? s.socks5 : "-");
        if (s.http_proxy[0])
            printf("http:     %s (HTTP proxy)\n", s.http_proxy);
        long age = map_age(s.names);
        if (s.mode != DAEMON_MODE_TUN) {
            if (age >= 0)
                printf("names:    %s (updated %lds ago)\n", s.names, age);
            else
                printf("names:    %s (not written yet)\n", s.names);
        }
        for (size_t i = 0; i < d->st.nhealth; i++)
            printf("health:   %s\n", d->st.health[i]);
        printf("peers:    %zu\n", d->st.npeers);
        for (size_t i = 0; i < d->st.npeers; i++) {
            const struct status_node *n = &d->st.peers[i];
            printf("  %-40s %-8s", *n->dns_name ? n->dns_name : n->host_name,
                   n->online ? "online" : "offline");
            for (int k = 0; k < n->nips; k++)
                printf(" %s", n->ips[k]);
            if (n->routes && *n->routes)
                printf("  routes %s", n->routes);
            if (n->exit_node)
                printf("  (exit node)");
            printf("\n");
        }
    }
    if (rc == 0 && bad)
        rc = TSR_EXIT_DAEMON;
    else if (rc == 0 && !(up && !strcmp(d->st.backend_state, "Running")))
        rc = TSR_EXIT_FAIL;
    if (d->have_st)
        status_free(&d->st);
    return rc;
}
