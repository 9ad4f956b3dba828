/* The state directory (daemon_pick_state_dir and daemon_init, declared in
 * daemon.h, live in statedir.c): chosen from --state-dir, TSRUN_STATE_DIR,
 * the uid, XDG_STATE_HOME or HOME; created 0700; refused when it is a
 * symlink, not a directory, owned by another user or group/world-writable
 * (the reason and the fix in one line). Files in it are replaced with
 * tsr_write_atomic/tsr_write_cache (O_EXCL|O_NOFOLLOW temp file + rename). */
#ifndef TSRUN_STATEDIR_H
#define TSRUN_STATEDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The first word of the file at path (up to a space, CR or LF) into out;
 * out is "" and false when the file is absent, empty, or the word does not
 * fit outlen. */
bool statedir_read_word(const char *path, char *out, size_t outlen);

/* open(2) for a file of the state directory that tsrun opens in place (the
 * lock, the logs): O_NOFOLLOW|O_CLOEXEC added, so a symlink found there is
 * never followed (ELOOP) and O_CREAT never creates a file elsewhere. The
 * descriptor, or -1 with errno, like open(2). */
int statedir_open(const char *path, int flags, mode_t mode);

#endif
