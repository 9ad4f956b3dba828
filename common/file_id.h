/* Which version of a file a reader has: the name map's readers (the shim,
 * tsrun's seccomp/ptrace supervisor) map the file again when it was
 * replaced. The writer replaces it by rename(), so a new version has a new
 * inode; size and mtime also catch a rewrite in place by hand.
 *
 * Pure code: the caller does the stat(). */
#ifndef TSRUN_FILE_ID_H
#define TSRUN_FILE_ID_H

#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

struct file_id {
    bool present; /* false: the file was absent (then nothing else is set) */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim;
};

/* *id for the file st describes (present). */
void file_id_of(const struct stat *st, struct file_id *id);

/* True when a and b name the same version of the file, or both say absent. */
bool file_id_eq(const struct file_id *a, const struct file_id *b);

#endif
