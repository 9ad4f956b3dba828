/* LocalAPI /localapi/v0/status JSON -> the few fields tsrun needs. */
#ifndef TSRUN_STATUS_H
#define TSRUN_STATUS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define STATUS_MAX_IPS 8

struct status_node {
    char *dns_name;  /* DNSName lower-cased, trailing dot removed; "" if none */
    char *host_name; /* HostName (the OS name, not a DNS name) */
    char *os;
    char ips[STATUS_MAX_IPS][INET6_ADDRSTRLEN]; /* numeric TailscaleIPs */
    int nips;
    bool online;
    bool exit_node; /* this peer is the exit node in use */
    char *routes;   /* PrimaryRoutes joined with ','; "" if none */
};

struct tsr_status {
    char *version;
    char *backend_state; /* "Running", "NeedsLogin", ... */
    char *auth_url;
    char *suffix;  /* CurrentTailnet.MagicDNSSuffix (or the legacy field) */
    char *tailnet; /* CurrentTailnet.Name */
    bool tun;
    bool exit_node_in_use; /* ExitNodeStatus present */
    char **health;
    size_t nhealth;
    struct status_node self;
    struct status_node *peers; /* sorted by dns_name, then host_name */
    size_t npeers;
};

/* Pure. Tolerates null/missing Peer, Self, CurrentTailnet, Health and
 * TailscaleIPs; rejects text that is not a JSON object or lacks
 * BackendState. Like the reader below (which it uses), it does not
 * validate the peer members it does not read: those are bracket-matched. On error fills err (one line) and returns -EINVAL; st is
 * then empty and safe to status_free(). */
int status_parse(const char *json, size_t len, struct tsr_status *st, char *err, size_t errlen);

void status_free(struct tsr_status *st);

/* The same, fed as the text arrives, without ever holding the whole text
 * or a tree for all of it: peers are decoded one at a time and their text
 * dropped (status.c says how); of a peer, only the members status_node
 * holds are decoded, the others are bracket-matched, not validated.
 * feed() keeps going after a failure (it drains and ignores the rest) and
 * returns 0, so it can sit in a transfer callback. finish() fills st as
 * status_parse() would, or returns -ENOMEM, -EINVAL (no BackendState; err
 * says so), or -EAGAIN: the text is malformed or unusual (a duplicate or
 * escaped top-level key, a peer that is not an object) -- parse the whole
 * text with status_parse() for the exact result or error. finish() once;
 * then free(). */
struct status_reader;
struct status_reader *status_reader_new(void);
int status_reader_feed(struct status_reader *r, const char *data, size_t n);
int status_reader_finish(struct status_reader *r, struct tsr_status *st, char *err, size_t errlen);
void status_reader_free(struct status_reader *r);

/* What the supervisor needs from one watch-ipn-bus Notify line, read
 * without a tree for its NetMap (several MB with 10,000 peers): the
 * top-level keys are scanned, only State and ErrMessage are decoded. */
struct status_notify {
    bool refresh;   /* NetMap, PeersChanged, PeersRemoved, Prefs or State present */
    bool has_state; /* State is an integer */
    long state;     /* ipn.State number */
    char err[512];  /* ErrMessage when it is a string (cut to fit), else "" */
};

/* Pure. 0, or -EINVAL when the line is not a JSON object. Other members'
 * values are skipped, not validated (a line with a malformed NetMap still
 * says "refresh"; the status call that follows is checked). Lines with an
 * escaped top-level key are decoded whole by jansson. */
int status_notify_parse(const char *line, size_t len, struct status_notify *n);

/* ipn.State number (watch-ipn-bus Notify.State) -> name; "" when unknown. */
const char *status_state_name(long n);

/* PrimaryRoutes of every peer, comma-joined (malloc'd, "" when none). */
char *status_routes(const struct tsr_status *st);

#endif
