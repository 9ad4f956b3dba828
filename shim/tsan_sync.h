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
#define tsan_acquire(addr) __tsan_acquire((void *)(addr))
#define tsan_release(addr) __tsan_release((void *)(addr))
#else
#define tsan_acquire(addr) ((void)(addr))
#define tsan_release(addr) ((void)(addr))
#endif

#endif
