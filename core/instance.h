/*
 * instance.h - private to modules.c and host.c: a module instance and the
 * manager's tables. Plugins see `struct ucd_plugin` only as an opaque handle.
 * The host table that fills the instance's records is in host.h.
 */
#ifndef CORE_INSTANCE_H
#define CORE_INSTANCE_H

#include <stdatomic.h>

#include "modules.h"

struct ucd_plugin {
    core_modules *mods;
    char *id;       /* "pbx-sim:office" */
    char *name;     /* "pbx-sim" */
    char *instance; /* "office" or NULL */
    char *section;  /* "module pbx-sim:office" */
    char *where;    /* "FILE:LINE" of the section header, for messages */
    gboolean required;
    int conf_log_level; /* log_level key, -1 when unset */

    core_plugin_lib *lib;              /* NULL when disabled or not loadable */
    const ucd_plugin_descriptor *desc; /* normalized, owned by lib */
    core_section *cfg;                 /* bound section, NULL when binding failed */

    ucd_module_state state;
    gboolean prepared; /* opened, bound and ordered without error: may init */
    gboolean started;  /* start hook returned OK: stop hook is due */
    char *last_error;
    void *pstate;    /* what init returned through its state pointer */
    char *state_dir; /* created on first request */

    GPtrArray *timers;   /* struct ucd_timer *, not owned (sources own them) */
    GPtrArray *watches;  /* struct ucd_watch * (GSource, one ref held) */
    GPtrArray *counters; /* struct ucd_counter *, owned */
    GPtrArray *queues;   /* core_work_queue *, not yet freed (host 1.4) */
};

struct ucd_counter {
    ucd_plugin *owner;
    char *name;
    char *help;
    ucd_counter_kind kind;
    _Atomic int64_t value;
};

/* A service registered by a module. */
typedef struct core_service_entry {
    ucd_plugin *provider;
    char *name;
    uint32_t major;
    uint32_t minor; /* as the provider declared it */
    const void *iface;
    void *impl;
} core_service_entry;

struct core_modules {
    core_runtime *rt;
    /* The core as a provider of its own services: always running, never in
     * `all`, first in the start order. */
    struct ucd_plugin core_self;
    ucd_plugin_descriptor core_desc;
    GArray *core_provides; /* ucd_service_decl, NULL-terminated */
    core_config *cfg;      /* the configuration the instances were bound to */
    GPtrArray *all;        /* ucd_plugin *, in start order; unprepared ones last */
    GPtrArray *services;   /* core_service_entry *, in registration order */

    /* The registry as module `caller` sees it (the host table's service_get
     * and service_foreach): as core_modules_service_get/foreach, but a
     * provider whose minor is older than the one `caller` declared for
     * name/major in its `requires` or `uses` is skipped, as if absent. A
     * service the caller did not declare is not filtered. modules.c sets
     * them: it owns the registry and calls down into host.c, which reaches
     * the lookups only through these pointers, never back by name. */
    int (*service_get_for)(core_modules *mods, const ucd_plugin *caller, const char *name,
                           uint32_t major, const char *provider, ucd_service *out);
    void (*service_foreach_for)(core_modules *mods, const ucd_plugin *caller, const char *name,
                                uint32_t major, ucd_service_cb cb, void *user_data);
};

#endif /* CORE_INSTANCE_H */
