/* Logging the node in. The auth key comes from TS_AUTHKEY or TS_AUTH_KEY
 * ("file:PATH": the file's contents, trimmed) and reaches `tailscale up`
 * only through a pipe (--auth-key=file:/dev/fd/N): never argv, never disk,
 * never a child's environment. */
#ifndef TSRUN_LOGIN_H
#define TSRUN_LOGIN_H

#include <stdbool.h>

struct daemon;

/* How a key is handed to a child tsrun: TS_AUTHKEY=file:/dev/fd/N. */
#define LOGIN_KEY_FD_PREFIX "/dev/fd/"

/* IMPORTANT: a long-lived tsrun (the supervisor, a seccomp parent) would
 * otherwise show the key to whoever can read /proc/PID/environ for as long
 * as it runs. Called first thing in main(): reads the key once into memory
 * (what login_run and login_check_key use from then on), then removes
 * TS_AUTHKEY and TS_AUTH_KEY from environ with their bytes zeroed in place
 * (unsetenv alone would leave them in the initial environment block that
 * /proc/PID/environ shows). A key handed over as file:/dev/fd/N has that
 * descriptor closed once read. Errors reading a key file are kept for
 * login_check_key to report. */
void login_take_key(void);

/* A pipe holding the key and a newline, write end closed: its read end
 * (O_CLOEXEC; the caller passes it on and closes it), -ENOENT when there is
 * no usable key, or -errno. */
int login_key_pipe(void);

/* The backend is NeedsLogin or NoState. */
bool login_wanted(const struct daemon *d);

/* TS_AUTH_ONCE=false (strconv.ParseBool spelling) and a key is set:
 * log in on every start of tailscaled, not only when logged out. */
bool login_every_start(void);

/* The key can be used: its file is readable and not empty, and an OAuth
 * client secret (tskey-client-...) comes with tags (TSRUN_TAGS or
 * TS_EXTRA_ARGS --advertise-tags). 0, or TSR_EXIT_LOGIN after saying why. */
int login_check_key(void);

/* A Stopped node: WantRunning (and RouteAll with --accept-routes) set by
 * EditPrefs, nothing else changed. 0, TSR_EXIT_DAEMON (no LocalAPI) or
 * TSR_EXIT_LOGIN (refused), after saying why. */
int login_resume_stopped(struct daemon *d);

/* TS_HOSTNAME on a logged-in node, as `tailscale set --hostname` would;
 * nothing when unset or in effect. 0, or TSR_EXIT_DAEMON after a warning. */
int login_apply_hostname(struct daemon *d);

/* `tailscale up` with the key, hostname, tags, TS_EXTRA_ARGS and a
 * --timeout up to deadline (tsr_now_ms() milliseconds), watching its output
 * (the auth URL, machine approval) and the backend state every 500 ms.
 * 0 when Running or when it exited 0; else TSR_EXIT_NEEDS_LOGIN (no key,
 * not a terminal: the URL was shown), TSR_EXIT_LOGIN, TSR_EXIT_TIMEOUT,
 * TSR_EXIT_USAGE or TSR_EXIT_INTERNAL after saying why. */
int login_run(struct daemon *d, long long deadline);

#endif
