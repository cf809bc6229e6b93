/*
 * loader.h - opening plugin files and ordering module instances.
 *
 * The loader knows files and descriptors; it does not run plugin hooks (that
 * is modules.c). Each failure has its own plain-language message that names
 * the file and what to do, e.g.
 *   "/usr/lib/ucd/plugins/pbx-x.so: built for ucd plugin ABI 2.0, this ucd has
 *    ABI 1.3: rebuild the plugin against this ucd's SDK"
 *
 * Plugins are opened with libltdl (lazy binding) but are linked with -z now
 * (the SDK's pkg-config and meson helper add it), so the dynamic linker
 * resolves every symbol at open time and a plugin with a missing symbol fails
 * to open rather than crashing mid-call. libltdl 2.4.7 reports such a failure
 * as "file not found"; the loader finds the real reason (see loader.c).
 */
#ifndef CORE_LOADER_H
#define CORE_LOADER_H

#include <glib.h>
#include <ucd/plugin.h>

typedef struct core_plugin_lib core_plugin_lib;

/* lt_dlinit / lt_dlexit, balanced. */
gboolean core_loader_init(void);
void core_loader_shutdown(void);

/* Opens the plugin NAME: `explicit_path` when not NULL, else the first
 * NAME.so found in `search_path` (NULL-terminated directories). Checks that
 * the file exists, is an ELF shared object, exports ucd_plugin_entry, and
 * that the descriptor is sane (struct_size, name, ABI: major equal to
 * UCD_ABI_MAJOR and minor not newer than UCD_ABI_MINOR) and that its name
 * equals NAME. Returns NULL with *error set (g_free) on any failure. The same
 * file opened twice (two instances) shares one libltdl handle (refcounted). */
core_plugin_lib *core_loader_open(const char *name, const char *explicit_path,
                                  const char *const *search_path, char **error);
/* Drops the handle; the library is unloaded when its last user closed it. */
void core_loader_close(core_plugin_lib *lib);

const char *core_plugin_lib_path(const core_plugin_lib *lib);
/* The descriptor normalized to this core's layout: members an older plugin
 * lacked are zero/NULL, so callers never look at struct_size again. */
const ucd_plugin_descriptor *core_plugin_lib_descriptor(const core_plugin_lib *lib);
/* The ABI the plugin was built for. */
void core_plugin_lib_abi(const core_plugin_lib *lib, unsigned *major, unsigned *minor);
/* The i-th config key (walked with the plugin's own key stride), NULL past the end. */
const ucd_config_key *core_plugin_lib_key(const core_plugin_lib *lib, size_t i);

/* ---- Start order ---------------------------------------------------------- */

typedef struct core_order_item {
    const char *id;                   /* module id, for messages */
    const ucd_plugin_descriptor *desc; /* normalized descriptor */
    char *error;                      /* out: why it cannot start (g_free), or NULL */
    void *user_data;                  /* the caller's, untouched */
} core_order_item;

/* Sorts `items` (core_order_item *) into start order: every item after the
 * providers of the services it requires and, where they exist, of those it
 * uses. Sets `error` on items that cannot start, and moves them to the end:
 *   - a required service nobody in `items` provides (name and major named);
 *   - a dependency cycle (the cycle named: "a -> b -> a");
 *   - an exclusive service provided by two items (both named; both fail);
 *   - a required service whose only providers themselves cannot start.
 * An item whose error is already set on entry (or whose desc is NULL) counts
 * as unable to start: it provides nothing and keeps its message.
 * Items keep their relative input order where dependencies allow (stable). */
void core_loader_order(GPtrArray *items);

#endif /* CORE_LOADER_H */
