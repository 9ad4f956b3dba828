/* ELF inspection from bytes: PT_INTERP decides whether ld.so (and so
 * LD_PRELOAD) ever runs in a program; a Go build id or build-info section
 * says the program makes its own syscalls (Go's net package calls connect
 * directly even when cgo links it against libc). */
#include "elfinfo.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

/* Fallback read size when the file cannot be mapped (not regular). */
#define ELF_READ_MAX (1u << 20)

/* The Go linker's build-id note: name "Go", type 4 (cmd/link
 * ELF_NOTE_GOBUILDID_TAG), in section .note.go.buildid; the module and
 * version data live in .go.buildinfo (both present since Go 1.13 / 1.18 and
 * kept by external linkers for cgo builds). */
#define GO_NOTE_NAME "Go"
#define GO_NOTE_BUILDID 4u
#define GO_SECTION_NOTE ".note.go.buildid"
#define GO_SECTION_BUILDINFO ".go.buildinfo"

static uint16_t rd16(const unsigned char *p, bool le)
{
    return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[1] | p[0] << 8);
}

static uint32_t rd32(const unsigned char *p, bool le)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[le ? i : 3 - i] << (8 * i);
    return v;
}

static uint64_t rd64(const unsigned char *p, bool le)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[le ? i : 7 - i] << (8 * i);
    return v;
}

/* True when [off, off+sz) lies inside a buffer of len bytes. */
static bool in_buf(uint64_t off, uint64_t sz, size_t len)
{
    return off <= len && sz <= len - off;
}

/* A PT_NOTE segment's notes: is one of them Go's build id? */
static bool notes_have_go(const unsigned char *p, uint64_t sz, bool le)
{
    uint64_t at = 0;
    while (sz >= 12 && at <= sz - 12) {
        uint32_t namesz = rd32(p + at, le), descsz = rd32(p + at + 4, le);
        uint32_t type = rd32(p + at + 8, le);
        uint64_t name = at + 12;
        uint64_t desc = name + (((uint64_t)namesz + 3) & ~3ull);
        uint64_t next = desc + (((uint64_t)descsz + 3) & ~3ull);
        if (desc > sz || next > sz)
            return false;
        if (type == GO_NOTE_BUILDID && namesz == sizeof GO_NOTE_NAME &&
            memcmp(p + name, GO_NOTE_NAME, sizeof GO_NOTE_NAME) == 0)
            return true;
        at = next;
    }
    return false;
}

/* Section names: .note.go.buildid or .go.buildinfo present? Section
 * headers outside buf count as absent. */
static bool sections_have_go(const unsigned char *buf, size_t len, bool is64, bool le)
{
    uint64_t shoff;
    size_t shentsize, shnum, shstrndx;
    if (is64) {
        shoff = rd64(buf + offsetof(Elf64_Ehdr, e_shoff), le);
        shentsize = rd16(buf + offsetof(Elf64_Ehdr, e_shentsize), le);
        shnum = rd16(buf + offsetof(Elf64_Ehdr, e_shnum), le);
        shstrndx = rd16(buf + offsetof(Elf64_Ehdr, e_shstrndx), le);
    } else {
        shoff = rd32(buf + offsetof(Elf32_Ehdr, e_shoff), le);
        shentsize = rd16(buf + offsetof(Elf32_Ehdr, e_shentsize), le);
        shnum = rd16(buf + offsetof(Elf32_Ehdr, e_shnum), le);
        shstrndx = rd16(buf + offsetof(Elf32_Ehdr, e_shstrndx), le);
    }
    size_t want = is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    if (shoff == 0 || shnum == 0 || shentsize < want || shstrndx >= shnum ||
        !in_buf(shoff, (uint64_t)shnum * shentsize, len))
        return false;
    const unsigned char *str = buf + shoff + shstrndx * shentsize;
    uint64_t stroff = is64 ? rd64(str + offsetof(Elf64_Shdr, sh_offset), le)
                           : rd32(str + offsetof(Elf32_Shdr, sh_offset), le);
    uint64_t strsz = is64 ? rd64(str + offsetof(Elf64_Shdr, sh_size), le)
                          : rd32(str + offsetof(Elf32_Shdr, sh_size), le);
    if (!in_buf(stroff, strsz, len))
        return false;
    const char *names = (const char *)buf + stroff;
    for (size_t i = 0; i < shnum; i++) {
        uint32_t name = rd32(buf + shoff + i * shentsize, le); /* sh_name is first */
        if (name >= strsz)
            continue;
        size_t max = (size_t)(strsz - name);
        const char *n = names + name;
        if ((max > strlen(GO_SECTION_NOTE) && strcmp(n, GO_SECTION_NOTE) == 0) ||
            (max > strlen(GO_SECTION_BUILDINFO) && strcmp(n, GO_SECTION_BUILDINFO) == 0))
            return true;
    }
    return false;
}

int elf_inspect_buf(const unsigned char *buf, size_t len, struct elf_info *out)
{
    memset(out, 0, sizeof *out);
    if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0)
        return 0;
    bool is64 = buf[EI_CLASS] == ELFCLASS64;
    bool le = buf[EI_DATA] == ELFDATA2LSB;
    if ((!is64 && buf[EI_CLASS] != ELFCLASS32) || (!le && buf[EI_DATA] != ELFDATA2MSB))
        return -EINVAL;
    uint64_t phoff;
    size_t phentsize, phnum, ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (len < ehsize)
        return -EINVAL;
    if (is64) {
        phoff = rd64(buf + offsetof(Elf64_Ehdr, e_phoff), le);
        phentsize = rd16(buf + offsetof(Elf64_Ehdr, e_phentsize), le);
        phnum = rd16(buf + offsetof(Elf64_Ehdr, e_phnum), le);
    } else {
        phoff = rd32(buf + offsetof(Elf32_Ehdr, e_phoff), le);
        phentsize = rd16(buf + offsetof(Elf32_Ehdr, e_phentsize), le);
        phnum = rd16(buf + offsetof(Elf32_Ehdr, e_phnum), le);
    }
    size_t want = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (phnum == 0 || phentsize < want || phoff > len || phnum * phentsize > len - phoff)
        return -EINVAL;
    out->is_elf = true;
    out->is_static = true;
    for (size_t i = 0; i < phnum; i++) {
        const unsigned char *ph = buf + phoff + i * phentsize;
        uint32_t type = rd32(ph, le); /* p_type is first in both layouts */
        if (type != PT_INTERP && type != PT_NOTE)
            continue;
        uint64_t off = is64 ? rd64(ph + offsetof(Elf64_Phdr, p_offset), le)
                            : rd32(ph + offsetof(Elf32_Phdr, p_offset), le);
        uint64_t sz = is64 ? rd64(ph + offsetof(Elf64_Phdr, p_filesz), le)
                           : rd32(ph + offsetof(Elf32_Phdr, p_filesz), le);
        if (type == PT_NOTE) {
            if (!out->is_go && in_buf(off, sz, len))
                out->is_go = notes_have_go(buf + off, sz, le);
            continue;
        }
        if (!out->is_static)
            continue; /* the first PT_INTERP counts */
        out->is_static = false;
        if (off < len && sz > 0 && sz <= len - off && sz < sizeof out->interp) {
            memcpy(out->interp, buf + off, (size_t)sz);
            out->interp[sz] = '\0';
        }
    }
    if (!out->is_go)
        out->is_go = sections_have_go(buf, len, is64, le);
    return 0;
}

int elf_inspect_path(const char *path, struct elf_info *out)
{
    int rc = 0;
    unsigned char *buf = NULL;
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        rc = -errno;
        goto out;
    }
    /* Section headers sit at the end of the file (tens of MB for Go tools):
     * map it whole; only the pages read are loaded. */
    void *map = MAP_FAILED;
    size_t maplen = 0;
    if (S_ISREG(sb.st_mode) && sb.st_size > 0 && (uintmax_t)sb.st_size <= SIZE_MAX) {
        maplen = (size_t)sb.st_size;
        map = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, fd, 0);
    }
    if (map != MAP_FAILED) {
        rc = elf_inspect_buf(map, maplen, out);
        munmap(map, maplen);
    } else {
        size_t len = sb.st_size < (off_t)ELF_READ_MAX ? (size_t)sb.st_size : ELF_READ_MAX;
        buf = malloc(len ? len : 1);
        if (!buf) {
            rc = -ENOMEM;
            goto out;
        }
        ssize_t n = pread(fd, buf, len, 0);
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        rc = elf_inspect_buf(buf, (size_t)n, out);
    }
    if (rc < 0) {
        rc = 0; /* not an ELF we understand: not static, not our business */
        memset(out, 0, sizeof *out);
    }
    out->setuid = (sb.st_mode & S_ISUID) != 0;
    out->setgid = (sb.st_mode & S_ISGID) != 0;
    out->file_caps = fgetxattr(fd, "security.capability", NULL, 0) > 0;
out:
    free(buf);
    close(fd);
    return rc;
}

bool elf_is_musl(const struct elf_info *ei)
{
    const char *base = strrchr(ei->interp, '/');
    return strncmp(base ? base + 1 : ei->interp, "ld-musl-", 8) == 0;
}

bool elf_bypasses_preload(const struct elf_info *ei)
{
    return ei->is_elf && (ei->is_static || ei->is_go);
}
