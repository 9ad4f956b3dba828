/* "Can the shim work in this program?" -- static ELF and setuid/setcap checks. */
#ifndef TSRUN_ELFINFO_H
#define TSRUN_ELFINFO_H

#include <stdbool.h>
#include <stddef.h>

struct elf_info {
    bool is_elf;    /* starts with \x7fELF and has valid program headers */
    bool is_static; /* ELF without PT_INTERP: the dynamic loader never runs */
    bool is_go;     /* Go build-id note (PT_NOTE) or .note.go.buildid /
                       .go.buildinfo section: connect() is a raw syscall */
    bool setuid, setgid;
    bool file_caps;   /* security.capability xattr present */
    char interp[128]; /* PT_INTERP path ("" if static or not inside the buffer) */
};

/* True when interp names musl's loader (ld-musl-*.so.1). */
bool elf_is_musl(const struct elf_info *ei);

/* True when LD_PRELOAD cannot see the program's connects: static or Go. */
bool elf_bypasses_preload(const struct elf_info *ei);

/* Pure: inspects an ELF image held in buf (the program headers must be
 * inside buf; notes and section headers outside it count as absent). A non-ELF buffer gives
 * is_elf=false and returns 0; a truncated or malformed ELF returns -EINVAL. */
int elf_inspect_buf(const unsigned char *buf, size_t len, struct elf_info *out);

/* Reads path's headers, mode bits and capability xattr. 0 or -errno. */
int elf_inspect_path(const char *path, struct elf_info *out);

#endif
