/* A DNS stub inside the seccomp supervisor: Go's pure resolver (and any
 * program that connects a UDP socket to a nameserver's port 53) is pointed
 * here; tailnet names are answered from the status, every other query is
 * forwarded unchanged to the nameserver the program chose. */
#ifndef TSRUN_DNSSTUB_H
#define TSRUN_DNSSTUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "status.h"

#define DNSSTUB_PORT 53

/* Pure: the answer to one query from the status snapshot. Returns the
 * answer's length in out (A/AAAA records for a node's FQDN or short name,
 * an empty NOERROR for its other types, NXDOMAIN for other names under the
 * tailnet suffix or *.ts.net and for PTR names of the tailnet ranges), 0
 * when the query is not about the tailnet (forward it), or -EINVAL for a
 * message that is not a single-question query. */
int dnsstub_answer(const struct tsr_status *st, const uint8_t *q, size_t qlen, uint8_t *out,
                   size_t outlen);

/* Would the running stub answer this query itself (a tailnet name, or a
 * name under the tailnet's suffix)? False for other names, for malformed
 * messages and before dnsstub_start. */
bool dnsstub_is_tailnet(const uint8_t *q, size_t qlen);

/* Starts the stub on 127.0.0.1:0 with a thread of its own; *addr is where
 * it listens. st must outlive the process. 0 or -errno. */
int dnsstub_start(const struct tsr_status *st, struct sockaddr_storage *addr, socklen_t *len);

/* The app socket with local address `from` was redirected away from the
 * nameserver `ns`: queries from it are forwarded there. */
void dnsstub_remember(const struct sockaddr_storage *from, const struct sockaddr_storage *ns,
                      socklen_t nslen);

#endif
