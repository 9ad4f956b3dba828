/* `tsrun install-preload` / `tsrun uninstall-preload`: global mode, where
 * /etc/ld.so.preload loads the shim into every dynamically linked process
 * and /etc/tsrun/tsrun.conf (root-owned) configures it. */
#ifndef TSRUN_PRELOAD_H
#define TSRUN_PRELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "daemon.h"

#define PRELOAD_LIST "/etc/ld.so.preload"
#define PRELOAD_CONF_DIR "/etc/tsrun"
#define PRELOAD_CONF "/etc/tsrun/tsrun.conf"
#define PRELOAD_DEFAULT_SOCKS5 "127.0.0.1:1055" /* the shim's own default */
/* First line of an /etc/ld.so.preload that tsrun created: uninstall removes
 * the file again when nothing else is left in it. */
#define PRELOAD_MARKER "# created by tsrun install-preload; tsrun uninstall-preload removes it"

/* Pure: text of /etc/ld.so.preload (NULL: the file does not exist) with shim
 * added at the end, unless already present. Other entries of ours (any
 * ".../libtsshim.so", e.g. an older install path) are dropped; everything
 * else (entries, their order, comments) is kept. *out is malloc'd. Returns
 * 1 when the text changed, 0 when not, -EINVAL for a path ld.so cannot
 * list (relative, or containing space, tab, ':' or '#'), -ENOMEM. */
int preload_list_add(const char *text, const char *shim, char **out);

/* Pure: text with shim and every other ".../libtsshim.so" entry removed.
 * *remove_file is set when only tsrun's marker line and blanks are left (the
 * file was created by tsrun and should go). Returns 1 changed, 0 not, -ENOMEM. */
int preload_list_remove(const char *text, const char *shim, char **out, bool *remove_file);

/* Pure: does the text list shim (outside comments)? */
bool preload_list_has(const char *text, const char *shim);

/* Pure: can /etc/ld.so.preload hold this path (absolute, no space, tab,
 * ':' or '#': glibc's ld.so splits the file on those)? */
bool preload_path_listable(const char *shim);

struct preload_conf {
    const char *socks5; /* "IP:PORT" / "[V6]:PORT" (required) */
    const char *names;  /* map path or NULL */
    const char *routes; /* TSRUN_ROUTES list or NULL/"" */
};

/* Pure: the text of /etc/tsrun/tsrun.conf (shim/config.h format). malloc'd
 * into *out; 0, -EINVAL (bad socks5 or a value with a newline), -ENOMEM. */
int preload_conf_text(const struct preload_conf *c, char **out);

/* Pure: "IP:PORT" or "[V6]:PORT" with a numeric host the shim accepts. */
bool preload_socks5_valid(const char *s);

/* The subcommand (c->cmd CLI_INSTALL_PRELOAD or CLI_UNINSTALL_PRELOAD, its
 * options in c->preload; usage text: cli_usage("install-preload")). setup
 * fills a daemon from the global options (called after the root check,
 * install only). Exit code. */
typedef int (*preload_setup_fn)(const struct cli *c, struct daemon *d);
int preload_main(const struct cli *c, preload_setup_fn setup);

#endif
