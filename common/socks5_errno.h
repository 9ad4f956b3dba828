/* The errno a failed SOCKS5 CONNECT stands for: one table for the shim and
 * the seccomp supervisor, so a program sees the same error either way. Pure. */
#ifndef TSRUN_SOCKS5_ERRNO_H
#define TSRUN_SOCKS5_ERRNO_H

#include "socks5.h"

/* A 0x01 reply this late is tailscaled's 5 s dial timeout, not a refusal. */
#define SOCKS5_SLOW_FAILURE_MS 4500

/* 0 for a successful reply, else the positive errno a kernel connect would
 * give: 0x01 (tailscaled's answer to every dial failure) -> ECONNREFUSED
 * when it came at once, ETIMEDOUT when it came after elapsed_ms >=
 * SOCKS5_SLOW_FAILURE_MS; 0x02 EACCES, 0x03 ENETUNREACH, 0x04 EHOSTUNREACH,
 * 0x05 ECONNREFUSED, 0x06 ETIMEDOUT, 0x07 EOPNOTSUPP, 0x08 EAFNOSUPPORT; a
 * malformed reply or unknown code ECONNREFUSED. */
int socks5_reply_errno(const struct socks5_reply *reply, long long elapsed_ms);

#endif
