/*
 * loader.h - opening plugin files and ordering module instances.
 *
 * The loader knows files and descriptors; it does not run plugin hooks (that
 * is modules.c). Each failure has its own plain-language message that names
 * the file and what to do, e.g.
 *   "/usr/lib/ucd/plugins/pbx-x.so: needs host interface 1.5, this ucd has host
 *    interface 1.4: it needs a newer ucd, or rebuild it against this ucd's SDK
 *    headers (...)"
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
 * that the descriptor is sane (struct_size, name, key and service table
 * strides, ABI: major equal to UCD_ABI_MAJOR and the host minor it needs not
 * newer than UCD_HOST_MINOR) and that its name equals NAME. Returns NULL
 * with *error set (g_free) on any failure. The same file opened twice (two
 * instances) shares one libltdl handle (refcounted). */
core_plugin_lib *core_loader_open(const char *name, const char *explicit_path,
                                  const char *const *search_path, char **error);
/* Drops the handle; the library is unloaded when its last user closed it. */
void core_loader_close(core_plugin_lib *lib);

const char *core_plugin_lib_path(const core_plugin_lib *lib);
/* The descriptor normalized to this core's layout: members an older plugin
 * lacked are zero/NULL, and config_keys, provides, requires and uses are
 * copies at this core's strides (a declaration from before host 1.4 has
 * minor 0), so callers never look at struct_size or the strides again. */
const ucd_plugin_descriptor *core_plugin_lib_descriptor(const core_plugin_lib *lib);
/* The ABI the plugin was built for: its major, and the lowest host minor it
 * needs (the descriptor's abi_minor). */
void core_plugin_lib_abi(const core_plugin_lib *lib, unsigned *major, unsigned *minor);
/* The i-th config key (walked with the plugin's own key stride), NULL past the end. */
const ucd_config_key *core_plugin_lib_key(const core_plugin_lib *lib, size_t i);

/* ---- Start order ---------------------------------------------------------- */

typedef struct core_order_item {
    const char *id;                    /* module id, for messages */
    const ucd_plugin_descriptor *desc; /* normalized descriptor */
    char *error;                       /* out: why it cannot start (g_free), or NULL */
    void *user_data;                   /* the caller's, untouched */
} core_order_item;

/* Sorts `items` (core_order_item *) into start order: every item after the
 * providers of the services it requires and, where they exist, of those it
 * uses. Sets `error` on items that cannot start, and moves them to the end:
 *   - a required service nobody in `items` provides (name and major named);
 *   - a required service whose live providers are all older than the minor
 *     it asks for ("requires service 'x' 1.2, but core provides 1.0");
 *   - a dependency cycle (the cycle named: "a -> b -> a");
 *   - an exclusive service provided by two items (both named; both fail);
 *   - a required service whose only providers themselves cannot start.
 * An item whose error is already set on entry (or whose desc is NULL) counts
 * as unable to start: it provides nothing and keeps its message.
 * Items keep their relative input order where dependencies allow (stable). */
void core_loader_order(GPtrArray *items);

#endif /* CORE_LOADER_H */
