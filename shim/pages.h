/* Anonymous pages for the name map, off the program's heap.
 *
 * IMPORTANT: a process may fork while another thread is inside malloc, and
 * the child may then resolve a name: that works only with a fork-safe
 * allocator, which glibc's and musl's are but gcc 12's ASan allocator and
 * older tcmallocs are not. So the shim's map memory comes from mmap. Pages
 * come zeroed. The block ends at most 15 bytes before a PROT_NONE guard
 * page, so an overrun faults at once (ASan does not watch mmap'ed memory;
 * the fuzzers still catch what they caught on the heap). */
#ifndef TSSHIM_PAGES_H
#define TSSHIM_PAGES_H

#include <stddef.h>

/* size bytes, 16-byte aligned, zeroed; NULL when mmap fails. Async-signal-
 * safe (mmap, mprotect, munmap only). */
void *pages_alloc(size_t size);

/* Frees a block from pages_alloc(size) (same size). NULL is a no-op. */
void pages_free(void *p, size_t size);

#endif
