/* The text name map, version 1 ("tsrun-names 1", docs/name-map.md): what
 * tsrun wrote before version 2 and what the test fakes still write. The
 * shim turns it into a version-2 image in anonymous pages (pages.h), so
 * one lookup code serves both; only version 2 is shared between processes
 * (the shim maps the launcher's file in place). Pure code over a buffer. */
#ifndef TSSHIM_NAMES_TEXT_H
#define TSSHIM_NAMES_TEXT_H

#include <stddef.h>

#define NAMES_MAX_TEXT (16u << 20) /* 16 MiB: 65536 nodes of long lines */
#define NAMES_MAX_LINE 1024

/* Parses a whole version-1 file into a fresh version-2 image: *img (from
 * pages_alloc(*img_len); free with pages_free). Returns 0, or -EINVAL
 * (garbage, wrong header, truncated: no or wrong "end N", a bad suffix
 * line), -E2BIG (over NAMES_MAX_TEXT, NAMES_MAX_NODES or NAMES_MAX_LINE)
 * or -ENOMEM, with a one-line reason in err. A malformed node line is
 * skipped (it still counts toward "end N"); on success err says how many
 * were skipped, or is "". */
int names_text_image(const char *buf, size_t len, void **img, size_t *img_len, char *err,
                     size_t errlen);

#endif
