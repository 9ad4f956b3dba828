/* The shim is built with -fvisibility=hidden: only the libc functions it
 * replaces are visible to the dynamic linker. */
#ifndef TSSHIM_EXPORT_H
#define TSSHIM_EXPORT_H
#define TSSHIM_EXPORT __attribute__((visibility("default")))
#endif
