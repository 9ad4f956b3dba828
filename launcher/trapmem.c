/* A trapped thread's memory, read and written by its supervisor (trap.h's
 * trap_mem_read/trap_mem_write).
 *
 * process_vm_readv/process_vm_writev first: one syscall, and a read-only
 * page refuses a write as the kernel's own copy-out would (EFAULT). Docker's
 * default seccomp profile refuses both without CAP_SYS_PTRACE (EPERM), and
 * gVisor release 20221219 lacks them (ENOSYS), as tests/progs/ctrprobe
 * measured (docker.io 20.10.24, runsc 20221219; 2026-11-30). Then, and from
 * then on, /proc/TID/mem, which the same ptrace access check guards (the
 * supervisor is the tracee's parent or tracer, with its uid).
 *
 * IMPORTANT: a write through /proc/TID/mem succeeds on a read-only mapping
 * (the kernel forces it, FOLL_FORCE): on that path an answer (getpeername's
 * address, recvfrom's data) written to a read-only buffer lands there
 * instead of failing with EFAULT. */
#include "trap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_bool no_vm; /* process_vm_* refused once: /proc/TID/mem from then on */

/* len bytes at addr through /proc/TID/mem: the count moved, or -errno
 * (an unmapped address reads as EIO there: -EFAULT, as from the kernel). */
static ssize_t via_proc(pid_t tid, uint64_t addr, void *buf, size_t len, bool write)
{
    if (addr > (uint64_t)INT64_MAX)
        return -EFAULT; /* beyond any offset pread takes: no user mapping there */
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)tid);
    int m = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (m < 0)
        return -errno;
    ssize_t n = write ? pwrite(m, buf, len, (off_t)addr) : pread(m, buf, len, (off_t)addr);
    int e = errno;
    close(m);
    return n >= 0 ? n : e == EIO ? -EFAULT : -e;
}

static int mem_io(pid_t tid, uint64_t addr, void *buf, size_t len, bool write)
{
    ssize_t n = -1;
    if (!atomic_load_explicit(&no_vm, memory_order_relaxed)) {
        struct iovec l = {.iov_base = buf, .iov_len = len};
        struct iovec r = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
        n = write ? process_vm_writev(tid, &l, 1, &r, 1, 0)
                  : process_vm_readv(tid, &l, 1, &r, 1, 0);
        if (n < 0 && errno != EPERM && errno != ENOSYS)
            return -errno;
        if (n < 0)
            atomic_store_explicit(&no_vm, true, memory_order_relaxed);
    }
    if (n < 0 && (n = via_proc(tid, addr, buf, len, write)) < 0)
        return (int)n;
    return (size_t)n == len ? 0 : -EFAULT;
}

int trap_mem_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
    return mem_io(tid, addr, buf, len, false);
}

int trap_mem_write(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
    return mem_io(tid, addr, (void *)buf, len, true);
}
