/* Happens-before edges for ThreadSanitizer where it cannot see them itself.
 *
 * IMPORTANT: under TSan the shim's hooks run inside TSan's own interceptor
 * for the call they wrap (an instrumented program's poll() or recv() is
 * TSan's, and its REAL() is the shim's). For blocking calls TSan raises
 * ignore_interceptors there, and then performs atomics without recording
 * their acquire/release, while still recording plain loads and stores
 * (compiler-rt tsan_interceptors_posix.cpp BlockingCall;
 * tsan_interface_atomic.cpp AtomicImpl). A try-lock taken with a CAS in
 * two threads' poll() therefore looks like no lock at all. These macros
 * state the edge the atomic already provides; they compile to nothing in
 * every other build. */
#ifndef TSSHIM_TSAN_SYNC_H
#define TSSHIM_TSAN_SYNC_H

#if defined(__SANITIZE_THREAD__)
#define TSSHIM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSSHIM_TSAN 1
#endif
#endif

#ifdef TSSHIM_TSAN
/* compiler-rt's annotation interface (sanitizer/tsan_interface.h). */
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
/* The dynamic annotations an instrumented executable exports (its
 * libclang_rt.tsan .syms list has Annotate* and __tsan_acquire/release, not
 * __tsan_ignore_thread_*). In TSan both stop recording this thread's
 * accesses (ThreadIgnoreBegin). */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
#define tsan_acquire(addr) __tsan_acquire((void *)(addr))
#define tsan_release(addr) __tsan_release((void *)(addr))
/* Between the two, this thread's reads are not recorded (an fd number
 * probed on purpose, see fdtab.c). */
#define tsan_ignore_begin() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define tsan_ignore_end() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define tsan_acquire(addr) ((void)(addr))
#define tsan_release(addr) ((void)(addr))
#define tsan_ignore_begin() ((void)0)
#define tsan_ignore_end() ((void)0)
#endif

#endif
