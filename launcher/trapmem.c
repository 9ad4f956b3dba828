/* A trapped thread's memory, read and written by its supervisor (trap.h's
 * trap_mem_read/trap_mem_write).
 *
 * process_vm_readv/process_vm_writev where tsrun may call them: one syscall,
 * and an address the program could not use itself fails as the kernel's own
 * copy would (EFAULT). Docker's default seccomp profile refuses both without
 * CAP_SYS_PTRACE (EPERM), and gVisor release 20221219 lacks them (ENOSYS),
 * as tests/progs/ctrprobe measured (docker.io 20.10.24, runsc 20221219;
 * 2026-11-30). There /proc/TID/mem is used instead, which the same ptrace
 * access check guards (the supervisor is the tracee's parent or tracer,
 * with its uid). Which one is decided once, by trap_mem_init asking about
 * tsrun itself (a process may always read itself: only a filter or a
 * missing call says no), so that one tracee that refuses (an undumpable
 * one) does not switch every later access to the slower path.
 *
 * IMPORTANT: /proc/TID/mem forces access (FOLL_FORCE): on that path a
 * PROT_NONE page reads and a read-only page is written, where the kernel
 * would answer EFAULT. A program that hands a syscall such a buffer gets,
 * under Docker, what it asked for instead of EFAULT (an address it could
 * not read itself is still judged, and a tunnelled one still tunnelled:
 * nothing goes out by the kernel's routes). Checking /proc/TID/maps on every
 * access would cost more than the whole trapped call. */
#include "trap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_bool no_vm; /* process_vm_* refused to tsrun: /proc/TID/mem (trap_mem_init) */

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

int trap_mem_probe(void)
{
    int x = 1, y = 0;
    struct iovec l = {.iov_base = &y, .iov_len = sizeof y};
    struct iovec r = {.iov_base = &x, .iov_len = sizeof x};
    return process_vm_readv(getpid(), &l, 1, &r, 1, 0) < 0 ? -errno : 0;
}

void trap_mem_init(void)
{
    int rc = trap_mem_probe();
    atomic_store_explicit(&no_vm, rc == -EPERM || rc == -ENOSYS, memory_order_relaxed);
}

static int mem_io(pid_t tid, uint64_t addr, void *buf, size_t len, bool write)
{
    ssize_t n;
    if (atomic_load_explicit(&no_vm, memory_order_relaxed)) {
        n = via_proc(tid, addr, buf, len, write);
    } else {
        struct iovec l = {.iov_base = buf, .iov_len = len};
        struct iovec r = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
        n = write ? process_vm_writev(tid, &l, 1, &r, 1, 0)
                  : process_vm_readv(tid, &l, 1, &r, 1, 0);
        if (n < 0)
            n = -errno;
    }
    if (n < 0)
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
