/* Shared by every launcher module: exit codes, messages, small file helpers.
 * Every non-static launcher function carries a module prefix (tsr_, cli_,
 * daemon_, ...) because unit tests link the launcher and the shim together. */
#ifndef TSRUN_TSRUN_H
#define TSRUN_TSRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "say.h" /* tsr_error, tsr_warn, tsr_debug, tsr_note */

/* Exit statuses of tsrun itself (documented in docs/tsrun.1). COMMAND's own
 * status passes through unchanged; 126/127 follow the shell convention. */
#define TSR_EXIT_OK 0
#define TSR_EXIT_FAIL 1           /* doctor found a FAIL; status: not running */
#define TSR_EXIT_USAGE 2          /* bad arguments */
#define TSR_EXIT_NO_TAILSCALE 120 /* tailscaled / tailscale not found */
#define TSR_EXIT_DAEMON 121       /* tailscaled did not start / socket dead */
#define TSR_EXIT_NEEDS_LOGIN 122  /* no auth key: the auth URL was shown */
#define TSR_EXIT_LOGIN 123        /* bad key, OAuth without tags, machine auth */
#define TSR_EXIT_TIMEOUT 124      /* no Running state within --timeout */
#define TSR_EXIT_INTERNAL 125     /* state dir, shim missing, other errors */
#define TSR_EXIT_CANNOT_EXEC 126
#define TSR_EXIT_NOT_FOUND 127

long long tsr_now_ms(void);
void tsr_sleep_ms(int ms);

/* mkdir -p; the last component gets mode, parents 0755. 0 or -errno. */
int tsr_mkdir_p(const char *path, mode_t mode);
/* Whole file into a NUL-terminated malloc'd buffer. 0 or -errno. */
int tsr_read_file(const char *path, char **out, size_t *len);
/* Temp file in the same dir, fsync, rename. 0 or -errno. */
int tsr_write_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* Same without fsync: for caches whose loss costs only a status call. */
int tsr_write_cache(const char *path, const char *data, size_t len, mode_t mode);
/* snprintf that reports truncation: 0 or -ENAMETOOLONG. */
int tsr_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Splits s on whitespace like Go's strings.Fields (how containerboot reads
 * TS_EXTRA_ARGS and TS_TAILSCALED_EXTRA_ARGS; no quoting). A malloc'd
 * NULL-terminated array in *out (free with tsr_free_fields): the count, or
 * -ENOMEM. s may be NULL (no fields). */
int tsr_split_fields(const char *s, char ***out);
void tsr_free_fields(char **v);

#endif
