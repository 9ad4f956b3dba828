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

/* A PT_NOTE segment holding one note (name, type) after the headers. */
static size_t craft_note(unsigned char *buf, size_t size, const char *name, uint32_t type)
{
    uint32_t types[] = {PT_INTERP, PT_NOTE};
    size_t len = craft(buf, size, types, 2);
    Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));
    uint32_t namesz = (uint32_t)strlen(name) + 1, descsz = 8;
    unsigned char *n = buf + len;
    memcpy(n, &namesz, 4);
    memcpy(n + 4, &descsz, 4);
    memcpy(n + 8, &type, 4);
    memcpy(n + 12, name, namesz);
    size_t total = 12 + ((namesz + 3) & ~3u) + descsz;
    ph[1].p_offset = len;
    ph[1].p_filesz = total;
    return len + total;
}

Test(elf, go_build_id_note)
{
    unsigned char buf[1024];
    struct elf_info ei;
    size_t len = craft_note(buf, sizeof buf, "Go", 4);
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert_not(ei.is_static);
    cr_assert(ei.is_go);
    cr_assert(elf_bypasses_preload(&ei), "a dynamic Go program bypasses the shim");
    /* GNU's build id (name "GNU", type 3) is not Go's. */
    len = craft_note(buf, sizeof buf, "GNU", 3);
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert_not(ei.is_go);
    cr_assert_not(elf_bypasses_preload(&ei));
    /* "Go" with another type, and a note running past its segment. */
    len = craft_note(buf, sizeof buf, "Go", 1);
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert_not(ei.is_go);
    len = craft_note(buf, sizeof buf, "Go", 4);
    Elf64_Phdr *ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));
    ph[1].p_filesz = 14;
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert_not(ei.is_go);
    /* The segment outside the buffer counts as absent. */
    ph[1].p_filesz = 24;
    ph[1].p_offset = 4096;
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert_not(ei.is_go);
}

/* Section headers [null, shstrtab, name] with the name's string table. */
static size_t craft_sections(unsigned char *buf, size_t size, const char *secname)
{
    uint32_t types[] = {PT_INTERP, PT_LOAD};
    size_t len = craft(buf, size, types, 2);
    char strtab[64] = "";
    size_t strsz = 1;
    memcpy(strtab + strsz, ".shstrtab", 10);
    size_t shstr_name = strsz;
    strsz += 10;
    size_t sec_name = strsz;
    memcpy(strtab + strsz, secname, strlen(secname) + 1);
    strsz += strlen(secname) + 1;
    memcpy(buf + len, strtab, strsz);
    size_t stroff = len;
    len += (strsz + 7) & ~7u;
    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    eh->e_shoff = len;
    eh->e_shentsize = sizeof(Elf64_Shdr);
    eh->e_shnum = 3;
    eh->e_shstrndx = 1;
    Elf64_Shdr *sh = (Elf64_Shdr *)(buf + len);
    memset(sh, 0, 3 * sizeof *sh);
    sh[1].sh_name = (uint32_t)shstr_name;
    sh[1].sh_type = SHT_STRTAB;
    sh[1].sh_offset = stroff;
    sh[1].sh_size = strsz;
    sh[2].sh_name = (uint32_t)sec_name;
    sh[2].sh_type = SHT_PROGBITS;
    return len + 3 * sizeof *sh;
}

Test(elf, go_sections)
{
    unsigned char buf[2048];
    struct elf_info ei;
    size_t len = craft_sections(buf, sizeof buf, ".go.buildinfo");
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert(ei.is_go);
    len = craft_sections(buf, sizeof buf, ".note.go.buildid");
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert(ei.is_go);
    len = craft_sections(buf, sizeof buf, ".go.buildinf");
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert_not(ei.is_go);
    len = craft_sections(buf, sizeof buf, ".gopclntab");
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert_not(ei.is_go);
    /* Section headers cut off by the buffer: absent, not an error. */
    len = craft_sections(buf, sizeof buf, ".go.buildinfo");
    cr_assert_eq(elf_inspect_buf(buf, len - 1, &ei), 0);
    cr_assert_not(ei.is_go);
    /* A name offset past the string table. */
    Elf64_Shdr *sh = (Elf64_Shdr *)(buf + len - 3 * sizeof(Elf64_Shdr));
    sh[2].sh_name = 60;
    cr_assert_eq(elf_inspect_buf(buf, len, &ei), 0);
    cr_assert_not(ei.is_go);
}

/* Go programs built here with Debian's golang-go: static (CGO_ENABLED=0),
 * cgo (dynamically linked against glibc), and a C program for contrast. */
Test(elf, real_go_binaries, .timeout = 300)
{
    if (system("command -v go >/dev/null 2>&1") != 0) {
        cr_log_warn("no go toolchain (apt-get install golang-go): Go cases skipped");
        return;
    }
    char dir[] = "/tmp/test-elf-go.XXXXXX", cmd[2048], bin[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "cd %s && export GOCACHE=%s/cache GOPATH=%s/gopath GOFLAGS= GO111MODULE=off && "
             "printf 'package main\\nimport \"net\"\\nfunc main(){ net.Dial(\"tcp\", "
             "\"127.0.0.1:1\") }\\n' > m.go && "
             "CGO_ENABLED=0 go build -o static m.go && CGO_ENABLED=1 go build -o cgo m.go",
             dir, dir, dir);
    cr_assert_eq(system(cmd), 0, "go build failed: %s", cmd);
    struct elf_info ei;
    snprintf(bin, sizeof bin, "%s/static", dir);
    cr_assert_eq(elf_inspect_path(bin, &ei), 0);
    cr_assert(ei.is_static);
    cr_assert(ei.is_go);
    snprintf(bin, sizeof bin, "%s/cgo", dir);
    cr_assert_eq(elf_inspect_path(bin, &ei), 0);
    cr_assert_not(ei.is_static, "the cgo build has an interpreter");
    cr_assert(ei.is_go, "the cgo build still carries Go's build id");
    cr_assert(elf_bypasses_preload(&ei));
    cr_assert_eq(elf_inspect_path("/bin/true", &ei), 0);
    cr_assert_not(ei.is_go);
    cr_assert_not(elf_bypasses_preload(&ei));
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'; rm -rf '%s'", dir, dir);
    cr_assert_eq(system(cmd), 0);
}
