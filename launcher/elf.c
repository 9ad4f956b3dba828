/* ELF inspection from bytes: PT_INTERP decides whether ld.so (and so
 * LD_PRELOAD) ever runs in a program. */
#include "elfinfo.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define ELF_READ_MAX (1u << 20)

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
        if (type != PT_INTERP)
            continue;
        out->is_static = false;
        uint64_t off = is64 ? rd64(ph + offsetof(Elf64_Phdr, p_offset), le)
                            : rd32(ph + offsetof(Elf32_Phdr, p_offset), le);
        uint64_t sz = is64 ? rd64(ph + offsetof(Elf64_Phdr, p_filesz), le)
                           : rd32(ph + offsetof(Elf32_Phdr, p_filesz), le);
        if (off < len && sz > 0 && sz <= len - off && sz < sizeof out->interp) {
            memcpy(out->interp, buf + off, (size_t)sz);
            out->interp[sz] = '\0';
        }
        break;
    }
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
