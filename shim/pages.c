/* Anonymous pages with a guard page (see pages.h). */
#include "pages.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES_ALIGN 16

/* Bytes of whole pages before the guard; *lead = where the block starts. */
static size_t pages_data(size_t size, size_t page, size_t *lead)
{
    size_t body = (size + PAGES_ALIGN - 1) & ~(size_t)(PAGES_ALIGN - 1);
    size_t data = (body + page - 1) & ~(page - 1);
    *lead = data - body;
    return data;
}

void *pages_alloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), lead;
    size_t data = pages_data(size, page, &lead);
    char *base =
        mmap(NULL, data + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    if (mprotect(base + data, page, PROT_NONE) < 0) {
        munmap(base, data + page);
        return NULL;
    }
    return base + lead;
}

void pages_free(void *p, size_t size)
{
    if (p == NULL)
        return;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), lead;
    size_t data = pages_data(size, page, &lead);
    munmap((char *)p - lead, data + page);
}
