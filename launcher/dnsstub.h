/* A DNS stub inside the seccomp/ptrace supervisor: Go's pure resolver (and
 * any program that connects a UDP socket to a nameserver's port 53) is
 * pointed here; tailnet names are answered from the name map as it is at
 * the time of the query (mapview.h), every other query is forwarded
 * unchanged to the nameserver the program chose. */
#ifndef TSRUN_DNSSTUB_H
#define TSRUN_DNSSTUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "namemap_format.h"

#define DNSSTUB_PORT 53

/* Pure: the answer to one query from a name map (v: nm_open'd; NULL = no
 * map, no tailnet names). Returns the answer's length in out (A/AAAA
 * records for a node's FQDN or short name, an empty NOERROR for its other
 * types, NXDOMAIN for other names under the map's MagicDNS suffix or
 * *.ts.net and for PTR names of the tailnet ranges), 0 when the query is
 * not about the tailnet (forward it), or -EINVAL for a message that is not
 * a single-question query. */
int dnsstub_answer(const struct nm_view *v, const uint8_t *q, size_t qlen, uint8_t *out,
                   size_t outlen);

/* Is this message about the tailnet (a tailnet name, or a name under the
 * tailnet's suffix), so that it must not reach a nameserver? Each of its
 * first 16 questions is judged as a query of its own, whatever the header
 * says (QR set, several questions: the stub itself answers only a plain
 * query with one). False for other names, for a question it cannot parse
 * (a compression pointer in it), and before dnsstub_start. */
bool dnsstub_is_tailnet(const uint8_t *q, size_t qlen);

/* Starts the stub on 127.0.0.1:0 with a thread of its own; *addr is where
 * it listens. It answers from mapview.h's current source (open it first).
 * 0 or -errno. */
int dnsstub_start(struct sockaddr_storage *addr, socklen_t *len);

/* The app socket with local address `from` was redirected away from the
 * nameserver `ns`: queries from it are forwarded there. */
void dnsstub_remember(const struct sockaddr_storage *from, const struct sockaddr_storage *ns,
                      socklen_t nslen);

/* DNS over TCP (RFC 7766; Go falls back to it on truncation or with
 * "options use-vc"): a listener on 127.0.0.1 beside the UDP stub, served by
 * a thread of its own with one thread per connection. Each message (2-byte
 * length, then the query) about the tailnet is answered from the name map;
 * any other is forwarded unchanged over one TCP connection to the
 * nameserver remembered for the client (dnsstub_remember_tcp), its answer
 * relayed back; a malformed one closes the connection. Idle connections
 * close after DNSSTUB_TCP_IDLE_MS; a forward waits at most 5 s. Call after
 * dnsstub_start. 0 or -errno; *addr is where it listens. */
#define DNSSTUB_TCP_IDLE_MS 10000
int dnsstub_start_tcp(struct sockaddr_storage *addr, socklen_t *len);

/* The app's TCP socket with local address `from` (IPv4 form) was connected
 * to the TCP stub instead of the nameserver ns. */
void dnsstub_remember_tcp(const struct sockaddr_storage *from, const struct sockaddr_storage *ns,
                          socklen_t nslen);

#endif
