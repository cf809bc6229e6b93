/*
 * modules.h - the module manager: module instances and their life cycle.
 *
 * One `struct ucd_plugin` per enabled "[module NAME[:INSTANCE]]" section. The
 * manager opens each plugin (loader.c), binds its section to its key table
 * (config.c), orders the instances by services (loader.c), and runs the hooks:
 * init and start in order, stop and fini in reverse order.
 *
 * Failure rules (issue #2):
 *  - init returning UCD_DECLINE or UCD_FAIL declines every module that
 *    requires a service only it provided (transitively);
 *  - a module marked `required = true` that cannot start stops start-up;
 *    any other is logged with its reason and skipped.
 *
 * Everything a module registers through the host table (host.h: subscriptions,
 * timers, fd watches, services, work queues, counters, commands) is recorded
 * on its instance and removed after its stop hook, before fini: a plugin that
 * forgets to unsubscribe cannot be called after it is gone.
 *
 * Versions (plugin.h): a module whose `requires` names a service whose
 * providers are all older than the minor it asks for fails at prepare, both
 * versions named; one whose `uses` meets only older providers runs, with one
 * notice at init, and service_get does not hand those providers to it.
 */
#ifndef CORE_MODULES_H
#define CORE_MODULES_H

#include <glib.h>
#include <ucd/ucd.h>

#include "bus.h"
#include "config.h"
#include "control.h"
#include "loader.h"
#include "worker.h"

/* What modules need from the running daemon. */
typedef struct core_runtime {
    GMainContext *ctx;
    core_bus *bus;
    core_workers *workers;
    core_control *control; /* may be NULL (tests, --check-config) */
    char *state_dir;       /* [core] state_dir */
    char *server_name;     /* [core] server_name, or the host name; NULL: the host name */
    char **plugin_path;    /* directories searched, the built-in one last */
} core_runtime;

typedef struct core_modules core_modules;

core_modules *core_modules_new(core_runtime *rt);
/* Stops everything still running and frees. */
void core_modules_free(core_modules *mods);

/* Opens every enabled module of `cfg` and binds its section; appends every
 * problem to `errors` ("FILE:LINE: ..." for config, "module X: ..." for plugin
 * files). Runs no plugin code besides the entry function. Returns the number
 * of errors. The manager keeps `cfg` (not owned) until the next prepare. */
int core_modules_check(core_modules *mods, core_config *cfg, GPtrArray *errors);

/* Inits and starts every prepared module in dependency order. Returns FALSE
 * (with the reason in *error) when a required module could not start; the
 * caller then stops the rest and exits. */
gboolean core_modules_start(core_modules *mods, char **error);

/* Stops every running module in reverse start order and finalizes it. */
void core_modules_stop_all(core_modules *mods);

/* Applies a new configuration: refuses it (returning FALSE, errors appended,
 * nothing changed) when it does not check; otherwise restarts only modules
 * whose section changed, plus those that depend on them, stops removed or
 * disabled ones and starts new ones. The manager takes the new cfg. */
gboolean core_modules_reload(core_modules *mods, core_config *cfg, GPtrArray *errors);

/* For `ucctl modules`: one call per known instance, in start order, then
 * disabled and failed ones. */
typedef struct core_module_info {
    const char *id;
    const char *name;
    const char *instance;
    const char *version;
    const char *path;
    unsigned abi_major, abi_minor; /* abi_minor: the lowest host minor it needs */
    /* The plugin's declarations (normalized), NULL-name terminated or NULL. */
    const ucd_service_decl *provides, *requires, *uses;
    ucd_module_state state;
    const char *last_error;
    gboolean required;
} core_module_info;
void core_modules_foreach(core_modules *mods, void (*cb)(const core_module_info *info, void *ud),
                          void *ud);

/* The services the core itself provides (numbers and the model's directory,
 * calls, presence, permissions), as `ucctl modules core` lists them:
 * NULL-name terminated, valid until the next core_modules_add_core_service. */
const ucd_service_decl *core_modules_core_provides(core_modules *mods);

/* Counters of every module: "MODULE_ID.NAME", kind, value, help. */
void core_modules_foreach_counter(core_modules *mods,
                                  void (*cb)(const char *name, ucd_counter_kind kind, int64_t value,
                                             const char *help, void *ud),
                                  void *ud);

/* TRUE when `section`'s key is a secret in the key table of the module bound
 * to that section (for the redacted config dump). */
gboolean core_modules_key_is_secret(const char *section, const char *key, void *mods);

/* Registers a service the core itself provides (the number service, the
 * model's directory, calls, presence and permissions), at `major`.`minor`.
 * Call before core_modules_check(): plugins then find it with service_get and
 * may name it in `requires`. Its provider id is "core". */
void core_modules_add_core_service(core_modules *mods, const char *name, uint32_t major,
                                   uint32_t minor, const void *iface, void *impl);

/* The service registry as the core sees it: running or initialized providers
 * only, in registration order, the core's own services first, whatever minor
 * they declared. */
int core_modules_service_get(core_modules *mods, const char *name, uint32_t major,
                             const char *provider, ucd_service *out);
void core_modules_service_foreach(core_modules *mods, const char *name, uint32_t major,
                                  ucd_service_cb cb, void *user_data);

#endif /* CORE_MODULES_H */
