/* Machine name -> a valid DNS label for `tailscale up --hostname`. */
#ifndef TSRUN_HOSTNAME_H
#define TSRUN_HOSTNAME_H

#include <stddef.h>

#define HOSTNAME_LABEL_MAX 63
#define HOSTNAME_FALLBACK "tsrun"

/* Pure: lower-cases, maps every run of characters outside [a-z0-9] to one
 * '-', trims '-' at both ends, cuts to 63 characters (and trims again); an
 * empty result becomes "tsrun". Only the first label of a dotted name is
 * kept ("box.example.com" -> "box"). out needs 64 bytes. 0 or -EINVAL. */
int hostname_sanitize(const char *in, char *out, size_t outlen);

/* TS_HOSTNAME if set, else gethostname(), sanitised. */
int hostname_pick(char *out, size_t outlen);

#endif
