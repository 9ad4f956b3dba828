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

/* The first word of the file at path (up to a space, CR or LF) into out;
 * out is "" and false when the file is absent, empty, or the word does not
 * fit outlen. */
bool statedir_read_word(const char *path, char *out, size_t outlen);

#endif
