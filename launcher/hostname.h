/* The name tsrun gives `tailscale up --hostname`: TS_HOSTNAME checked with
 * the real CLI's rules, or the machine's name made into a valid label. */
#ifndef TSRUN_HOSTNAME_H
#define TSRUN_HOSTNAME_H

#include <stddef.h>

#define HOSTNAME_LABEL_MAX 63
#define HOSTNAME_NAME_MAX 253 /* a DNS name without its trailing dot */
#define HOSTNAME_FALLBACK "tsrun"

/* Pure: lower-cases, maps every run of characters outside [a-z0-9] to one
 * '-', trims '-' at both ends, cuts to 63 characters (and trims again); an
 * empty result becomes "tsrun". Only the first label of a dotted name is
 * kept ("box.example.com" -> "box"). For the machine's own name (never for
 * TS_HOSTNAME). out needs 64 bytes. 0 or -EINVAL. */
int hostname_sanitize(const char *in, char *out, size_t outlen);

/* Pure: 0 when `tailscale up --hostname=NAME` accepts name, else -EINVAL
 * with the rule it breaks in why (one clause, no prefix). The rules are
 * tailscale's util/dnsname.ValidHostname, which cmd/tailscale/cli/up.go
 * applies to a non-empty --hostname: one leading and one trailing dot are
 * dropped; the rest, with a trailing dot, is at most 254 bytes; every
 * dot-separated label is 1..63 bytes of ASCII letters, digits and '-',
 * starting and ending with a letter or digit. Dotted names and capitals
 * are accepted (and passed on unchanged). */
int hostname_check(const char *name, char *why, size_t whylen);

/* TS_HOSTNAME when set and non-empty: checked (hostname_check) and copied
 * unchanged, -EINVAL when the CLI would refuse it (why filled when not
 * NULL); else gethostname(), sanitised. out needs HOSTNAME_NAME_MAX + 2
 * bytes (-EINVAL when smaller). 0 or -EINVAL. */
int hostname_pick(char *out, size_t outlen, char *why, size_t whylen);

#endif
