/* Static-ELF and setuid detection. */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfinfo.h"

/* A minimal ELF64 LE image: header + n program headers of the given types. */
static size_t craft(unsigned char *buf, size_t size, const uint32_t *types, int n)
{
    memset(buf, 0, size);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_phoff = sizeof(Elf64_Ehdr);
    eh->e_phentsize = sizeof(Elf64_Phdr);
    eh->e_phnum = (uint16_t)n;
    Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));
    for (int i = 0; i < n; i++)
        ph[i].p_type = types[i];
    return sizeof(Elf64_Ehdr) + (size_t)n * sizeof(Elf64_Phdr);
}

Test(elf, crafted_dynamic_and_static)
{
    unsigned char buf[1024];
    struct elf_info ei;
    uint32_t dyn[] = {PT_PHDR, PT_INTERP, PT_LOAD, PT_DYNAMIC};
    size_t len = craft(buf, sizeof buf, dyn, 4);
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert(ei.is_elf);
    cr_assert_not(ei.is_static);
    uint32_t stat_[] = {PT_LOAD, PT_LOAD, PT_TLS, PT_GNU_STACK};
    len = craft(buf, sizeof buf, stat_, 4);
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert(ei.is_elf);
    cr_assert(ei.is_static);
    /* Truncated program headers: malformed, not "static". */
    cr_assert_eq(elf_inspect_buf(buf, len - 10, &ei), -EINVAL);
}

Test(elf, crafted_interp_path)
{
    unsigned char buf[1024];
    struct elf_info ei;
    uint32_t dyn[] = {PT_INTERP, PT_LOAD};
    size_t len = craft(buf, sizeof buf, dyn, 2);
    Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));
    const char musl[] = "/lib/ld-musl-x86_64.so.1";
    memcpy(buf + len, musl, sizeof musl);
    ph[0].p_offset = len;
    ph[0].p_filesz = sizeof musl;
    cr_assert_eq(elf_inspect_buf(buf, len + sizeof musl, &ei), 0);
    cr_assert_str_eq(ei.interp, musl);
    cr_assert(elf_is_musl(&ei));
    /* Interpreter string outside the buffer: still dynamic, path unknown. */
    ph[0].p_offset = 4000;
    cr_assert_eq(elf_inspect_buf(buf, len + sizeof musl, &ei), 0);
    cr_assert_not(ei.is_static);
    cr_assert_str_eq(ei.interp, "");
    cr_assert_not(elf_is_musl(&ei));
}

Test(elf, crafted_elf32_big_endian)
{
    unsigned char buf[512] = {0};
    struct elf_info ei;
    memcpy(buf, ELFMAG, SELFMAG);
    buf[EI_CLASS] = ELFCLASS32;
    buf[EI_DATA] = ELFDATA2MSB;
    /* e_phoff = 52, e_phentsize = 32, e_phnum = 2 (big endian). */
    buf[offsetof(Elf32_Ehdr, e_phoff) + 3] = 52;
    buf[offsetof(Elf32_Ehdr, e_phentsize) + 1] = 32;
    buf[offsetof(Elf32_Ehdr, e_phnum) + 1] = 2;
    buf[52 + 3] = PT_LOAD;
    buf[52 + 32 + 3] = PT_INTERP;
    cr_assert_eq(elf_inspect_buf(buf, 52 + 64, &ei), 0);
    cr_assert(ei.is_elf);
    cr_assert_not(ei.is_static);
}

Test(elf, not_elf)
{
    struct elf_info ei;
    const unsigned char script[] = "#!/bin/sh\necho hi\n";
    cr_assert_eq(elf_inspect_buf(script, sizeof script, &ei), 0);
    cr_assert_not(ei.is_elf);
    cr_assert_not(ei.is_static);
    cr_assert_eq(elf_inspect_buf(script, 2, &ei), 0);
}

Test(elf, real_binaries)
{
    struct elf_info ei;
    cr_assert_eq(elf_inspect_path("/bin/true", &ei), 0);
    cr_assert(ei.is_elf);
    cr_assert_not(ei.is_static, "/bin/true is dynamically linked");
    cr_assert(strstr(ei.interp, "ld-linux"), "interp %s", ei.interp);
    cr_assert_not(elf_is_musl(&ei));
    cr_assert_not(ei.setuid);
    cr_assert_eq(elf_inspect_path("/nonexistent/x", &ei), -ENOENT);

    /* A static binary built here, when a static libc is available. */
    char dir[] = "/tmp/test-elf.XXXXXX", cmd[512], bin[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(bin, sizeof bin, "%s/static", dir);
    snprintf(cmd, sizeof cmd,
             "printf 'int main(void){return 0;}\\n' > %s/s.c && "
             "(cc -static -o %s %s/s.c || musl-gcc -static -o %s %s/s.c) 2>/dev/null",
             dir, bin, dir, bin, dir);
    if (system(cmd) == 0) {
        cr_assert_eq(elf_inspect_path(bin, &ei), 0);
        cr_assert(ei.is_elf);
        cr_assert(ei.is_static);
        /* setuid bit. */
        cr_assert_eq(chmod(bin, 04755), 0);
        cr_assert_eq(elf_inspect_path(bin, &ei), 0);
        cr_assert(ei.setuid);
    } else {
        cr_log_warn("no static toolchain: static binary case skipped");
    }
    /* A musl-linked dynamic binary. */
    snprintf(bin, sizeof bin, "%s/musl", dir);
    snprintf(cmd, sizeof cmd, "musl-gcc -o %s %s/s.c 2>/dev/null", bin, dir);
    if (system(cmd) == 0) {
        cr_assert_eq(elf_inspect_path(bin, &ei), 0);
        cr_assert_not(ei.is_static);
        cr_assert(elf_is_musl(&ei), "interp %s", ei.interp);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
