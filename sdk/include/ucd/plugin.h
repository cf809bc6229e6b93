/*
 * ucd/plugin.h - what a ucd plugin is: its descriptor, its life cycle, the ABI rule.
 *
 * Read this file first. A ucd plugin is a shared object that exports exactly one
 * symbol, `ucd_plugin_entry`, returning a pointer to a constant descriptor: plain
 * data that says who the plugin is, which services it provides, requires and
 * optionally uses, which configuration keys it accepts, and its life-cycle hooks.
 * The UCD_PLUGIN_DEFINE() macro at the end of this file writes both for you.
 *
 * Everything the core offers a plugin (logging, configuration, the event bus,
 * timers, worker threads, the service registry, counters, control commands)
 * arrives as one function table, `ucd_host`, passed to the init hook: see
 * ucd/host.h. Events are described in ucd/event.h. Each kind of plugin
 * (PBX driver, user backend, journal store, calendar source, exporter) publishes
 * a versioned interface described in its own header: pbx.h, users.h, journal.h,
 * calendar.h (no provider yet), exporter.h. The core provides the telephony
 * model the same way, as services in numbers.h, directory.h, calls.h,
 * presence.h and permissions.h.
 *
 * Versions: one SDK major, a minor per interface
 * --------------------------------------------------
 * UCD_ABI_MAJOR is the SDK's major version: the layout of this descriptor and
 * of the host table. The core refuses a plugin built for another major.
 * Below it, every interface has a minor version of its own, as PKCS#11
 * interfaces do: the host table and the event types (UCD_HOST_MINOR, host.h
 * and event.h) and each service (UCD_PBX_MINOR, UCD_USERS_MINOR,
 * UCD_DIRECTORY_MINOR ... in the service's header). A minor only ever adds: a
 * function at the end of a table, a member at the end of a struct, an event
 * type, a flag.
 *
 * A plugin says, per interface, the lowest minor it needs, and the core
 * refuses only what it cannot serve, naming the interface and both versions:
 *   - the host table: the descriptor's abi_minor, UCD_TARGET_HOST_MINOR. It is
 *     UCD_HOST_MINOR of the headers unless the plugin defines
 *     UCD_TARGET_HOST_MINOR before including any ucd header (opt-in, like
 *     GLib's GLIB_VERSION_MIN_REQUIRED): a plugin that targets an older host
 *     checks UCD_HOST_HAS(host, member) before calling anything newer.
 *   - each service: the `minor` of its entry in `requires` or `uses`. A
 *     required service whose running provider is older refuses the module
 *     ("requires service 'directory' 1.2, the core provides 1.0"); a used
 *     service that is older is not handed out by service_get(), as if absent.
 *     0 (the default of an entry that does not set it) takes any provider.
 *   - a provider declares the minor it implements in its `provides` entry.
 *
 * Every struct that crosses the boundary starts with a `uint32_t struct_size`
 * and only ever grows at its end. A reader looks at struct_size before
 * touching a member, so an older plugin (smaller struct) gets defaults for what
 * it lacks, and a newer core never reads past what a plugin filled. The
 * headers contain no GLib or other third-party types: only C11, fixed-width
 * integers, opaque handles and callbacks with a user-data pointer.
 *
 * Threads
 * -------
 * Hooks, event callbacks, timer and watch callbacks and work completions all run
 * on the core's main loop thread, one at a time, unless a function says otherwise.
 * Functions marked "any thread" in host.h may be called from threads the plugin
 * created or from a work function running on the worker pool.
 */
#ifndef UCD_PLUGIN_H
#define UCD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The SDK's major version, and the minor of the host table and event types
 * these headers describe. Bump the host minor for an append-only addition to
 * host.h or event.h, a service's own minor (in its header) for an addition to
 * that service; bump MAJOR, with a note in docs/sdk/CHANGES.md, for anything
 * else. UCD_ABI_MINOR is the host minor under its older name. */
/* clang-format off */
#define UCD_ABI_MAJOR 1
#define UCD_HOST_MINOR 6
#define UCD_ABI_MINOR UCD_HOST_MINOR
/* clang-format on */

/* The lowest host minor this plugin needs: define it before including any
 * ucd header to run on older cores (see "Versions" above). */
#ifndef UCD_TARGET_HOST_MINOR
#define UCD_TARGET_HOST_MINOR UCD_HOST_MINOR
#endif
#if UCD_TARGET_HOST_MINOR > UCD_HOST_MINOR
#error "UCD_TARGET_HOST_MINOR is newer than the host these ucd headers describe"
#endif

#if defined(__GNUC__)
#define UCD_EXPORT         __attribute__((visibility("default")))
#define UCD_PRINTF(fi, va) __attribute__((format(printf, fi, va)))
#else
#define UCD_EXPORT
#define UCD_PRINTF(fi, va)
#endif

/* Result codes used by every hook and interface function in the SDK. Zero is
 * success; UCD_DECLINE is only meaningful from an init hook ("not for me, with
 * this configuration": the module is skipped without an error); negative values
 * are errors. */
enum {
    UCD_OK = 0,
    UCD_DECLINE = 1,
    UCD_FAIL = -1,          /* generic failure; details via host->set_error() */
    UCD_E_INVALID = -2,     /* an argument is malformed or out of range */
    UCD_E_NOT_FOUND = -3,   /* no such line, call, user, key, service ... */
    UCD_E_UNSUPPORTED = -4, /* the operation is not offered (see capabilities) */
    UCD_E_BUSY = -5,        /* try again later (queue full, resource in use) */
    UCD_E_DENIED = -6,      /* authentication or permission refused */
    UCD_E_UNAVAILABLE = -7, /* the peer behind the plugin is unreachable */
    UCD_E_NOMEM = -8,
};

/* Returns a short constant English text for a UCD_* result code. Inline, so a
 * plugin needs no symbol from the daemon: plugins link against nothing of ucd. */
static inline const char *ucd_strerror(int code)
{
    switch (code) {
    case UCD_OK:
        return "success";
    case UCD_DECLINE:
        return "declined";
    case UCD_FAIL:
        return "failed";
    case UCD_E_INVALID:
        return "invalid argument";
    case UCD_E_NOT_FOUND:
        return "not found";
    case UCD_E_UNSUPPORTED:
        return "not supported";
    case UCD_E_BUSY:
        return "busy, try again later";
    case UCD_E_DENIED:
        return "permission denied";
    case UCD_E_UNAVAILABLE:
        return "peer unavailable";
    case UCD_E_NOMEM:
        return "out of memory";
    default:
        return "unknown error";
    }
}

/* The opaque handle of one module instance ("[module pbx-sim:office]" in the
 * configuration). The core creates it before init; the plugin passes it first
 * to the host functions that log or create something, so that logs, counters,
 * subscriptions, timers and work queues are attributed to, and cleaned up
 * with, that instance. A plugin loaded twice gets two handles. */
typedef struct ucd_plugin ucd_plugin;

/* The host function table, see ucd/host.h. */
typedef struct ucd_host ucd_host;

/* ---- Services --------------------------------------------------------------
 *
 * Plugins name what they provide and need by service, never by file name: a PBX
 * driver provides "pbx" major 1; a plugin that stores calls requires "journal"
 * major 1 or optionally uses "users". The loader starts providers before their
 * users, declines a module whose required service nobody provides, refuses one
 * whose required service is older than the minor it asks for, and refuses two
 * modules providing one service marked UCD_SERVICE_EXCLUSIVE.
 *
 * Provided by plugins (interfaces in the kind headers): "pbx", "users",
 * "journal", "calendar" (no plugin provides it yet), "exporter". Provided by
 * the core itself, always running: "numbers", "directory", "calls",
 * "presence", "permissions".
 * Integrators may invent their own, ideally prefixed ("acme.crm"). */
enum {
    UCD_SERVICE_EXCLUSIVE = 1u << 0, /* at most one enabled module may provide it */
};

typedef struct ucd_service_decl {
    const char *name; /* NULL terminates an array of declarations */
    uint32_t major;   /* interface major version provided or required */
    uint32_t flags;   /* UCD_SERVICE_* (meaningful in `provides` only) */
    /* Since host 1.4 (a plugin built earlier declares 0 everywhere): in
     * `provides`, the minor implemented; in `requires` and `uses`, the lowest
     * minor needed. */
    uint32_t minor;
    uint32_t reserved; /* 0 */
} ucd_service_decl;

/* A `requires` or `uses` entry: UCD_NEED(UCD_DIRECTORY_SERVICE,
 * UCD_DIRECTORY_MAJOR, 0). A `provides` entry: UCD_PROVIDE(UCD_PBX_SERVICE,
 * UCD_PBX_MAJOR, UCD_PBX_MINOR, 0). The array ends with {NULL}. */
#define UCD_NEED(name_, major_, minor_) {.name = (name_), .major = (major_), .minor = (minor_)}
#define UCD_PROVIDE(name_, major_, minor_, flags_)                                                 \
    {.name = (name_), .major = (major_), .flags = (flags_), .minor = (minor_)}

/* ---- Configuration keys ----------------------------------------------------
 *
 * A plugin lists every key its "[module NAME]" section accepts. The core checks
 * a section against this list before init: unknown keys, values of the wrong
 * type and missing required keys are reported with file:line, and
 * `ucd --check-config` reports them for every enabled module without starting
 * anything. The keys enabled, required, path and log_level belong to the core
 * and are accepted in every module section. */
typedef enum ucd_config_type {
    UCD_CONFIG_STRING = 1,
    UCD_CONFIG_INT = 2,      /* 64-bit signed, decimal */
    UCD_CONFIG_BOOL = 3,     /* true/false, yes/no, on/off, 1/0 */
    UCD_CONFIG_DOUBLE = 4,   /* decimal with optional fraction and exponent */
    UCD_CONFIG_LIST = 5,     /* strings separated by ';' (GKeyFile list syntax) */
    UCD_CONFIG_DURATION = 6, /* integer with unit ms, s, m, h or d; read as milliseconds */
} ucd_config_type;

enum {
    UCD_KEY_REQUIRED = 1u << 0, /* the section must set it; no default applies */
    UCD_KEY_SECRET = 1u << 1,   /* never logged; redacted in `ucctl log export` */
    /* The value names a file that must exist, be a regular file and be
     * readable by ucd: checked by `ucd --check-config`, at start and at reload,
     * so a wrong path is reported with file:line before anything runs. A core
     * older than these flags ignores them (the plugin's own init still fails). */
    UCD_KEY_FILE = 1u << 2,
    /* The value is a plain name (an SQL table or column, an identifier): ASCII
     * letters, digits and '_', not starting with a digit, optionally one '.'
     * between two such parts ("schema.table"). Checked like UCD_KEY_FILE. */
    UCD_KEY_NAME = 1u << 3,
};

typedef struct ucd_config_key {
    const char *name;          /* NULL terminates the array */
    uint32_t type;             /* ucd_config_type */
    uint32_t flags;            /* UCD_KEY_* */
    const char *default_value; /* as it would be written in the file; NULL for none */
    const char *help;          /* one line, for `ucd --check-config` messages and docs */
} ucd_config_key;

/* ---- The descriptor --------------------------------------------------------
 *
 * Life cycle, all on the main loop:
 *   init(self, host, &state)  read config, check the environment, register
 *                             services and commands. Return UCD_OK, UCD_DECLINE
 *                             (skipped, dependents declined, no error) or
 *                             UCD_FAIL (after host->set_error(self, "why")).
 *                             Must not block on the network.
 *   start(state)              begin work: subscribe, open connections, add timers.
 *                             Runs after every module this one requires started.
 *   stop(state)               stop producing, flush what is buffered. Runs in
 *                             reverse start order, so a journal stops after the
 *                             drivers that feed it. Whatever the plugin still has
 *                             subscribed, scheduled or registered is removed by the
 *                             core after stop returns.
 *   fini(state)               free everything. The library stays loaded until the
 *                             process exits (resident): a plugin may rely on
 *                             its static data and on libraries it links staying
 *                             mapped; a replaced plugin file takes effect at the
 *                             next start of ucd. fini runs only for a module whose
 *                             init returned UCD_OK: an init that declines or
 *                             fails frees what it allocated itself (the core
 *                             still removes what it registered).
 *   reload(state)             (host 1.5) the configuration was reloaded
 *                             (SIGHUP, `ucctl reload`) and this running
 *                             module's section did not change: re-read what the
 *                             section names but the core cannot compare, the
 *                             files behind its paths (a renewed TLS certificate,
 *                             a CA bundle). Runs on every applied reload, after
 *                             the modules that restart have started again.
 *                             Return UCD_OK, or an error after
 *                             host->set_error(self, "why"): the module keeps
 *                             running with what it had, and the reload reports
 *                             "module ID: reload failed: why" (ucctl reload,
 *                             the log, the error column of ucctl modules). Must
 *                             not block on the network.
 * A hook may be NULL when there is nothing to do. On reload, a module whose
 * configuration section changed (or that uses a service of one that does)
 * runs stop, fini, init and start again instead: reload is not called. */
typedef struct ucd_plugin_descriptor {
    uint32_t struct_size; /* sizeof(ucd_plugin_descriptor) as the plugin was built */
    uint16_t abi_major;   /* UCD_ABI_MAJOR as the plugin was built */
    uint16_t abi_minor;   /* the lowest host minor it needs: UCD_TARGET_HOST_MINOR */

    const char *name;        /* plugin name, "kind-name" style: "pbx-sim" */
    const char *version;     /* the plugin's own version: "1.2.0" */
    const char *license;     /* SPDX identifier: "MIT", "GPL-2.0-or-later" */
    const char *description; /* one line */

    const ucd_service_decl *provides; /* each may be NULL (none) */
    const ucd_service_decl *requires;
    const ucd_service_decl *uses;
    const ucd_config_key *config_keys;
    uint32_t config_key_size; /* sizeof(ucd_config_key) as built; lets the key struct grow */

    int (*init)(ucd_plugin *self, const ucd_host *host, void **state);
    int (*start)(void *state);
    void (*stop)(void *state);
    void (*fini)(void *state);

    /* Since host 1.4: sizeof(ucd_service_decl) as built, the stride of the
     * provides/requires/uses arrays (0 from an older plugin: the 1.0 layout,
     * without `minor`). */
    uint32_t service_decl_size;
    uint32_t reserved;

    /* Since host 1.5 (struct_size tells whether the plugin has it; a core
     * older than 1.5 never calls it): see "reload" in the life cycle above. */
    int (*reload)(void *state);
} ucd_plugin_descriptor;

/* The one symbol every plugin exports. */
#define UCD_PLUGIN_ENTRY_SYMBOL "ucd_plugin_entry"
typedef const ucd_plugin_descriptor *(*ucd_plugin_entry_fn)(void);

/* Declares a plugin. Use it once, at file scope, in one source file:
 *
 *   static const ucd_config_key keys[] = {
 *       {"greeting", UCD_CONFIG_STRING, 0, "hello", "what to log for each event"},
 *       {NULL},
 *   };
 *   UCD_PLUGIN_DEFINE(.name = "example-hello", .version = "1.0.0", .license = "MIT",
 *                     .description = "logs every call event",
 *                     .config_keys = keys, .init = hello_init, .fini = hello_fini);
 *
 * The macro fills struct_size, the versions and the two array strides. */
#define UCD_PLUGIN_DEFINE(...)                                                                     \
    UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void);                                \
    UCD_EXPORT const ucd_plugin_descriptor *ucd_plugin_entry(void)                                 \
    {                                                                                              \
        static const ucd_plugin_descriptor ucd_descriptor_ = {                                     \
            .struct_size = sizeof(ucd_plugin_descriptor),                                          \
            .abi_major = UCD_ABI_MAJOR,                                                            \
            .abi_minor = UCD_TARGET_HOST_MINOR,                                                    \
            .config_key_size = sizeof(ucd_config_key),                                             \
            .service_decl_size = sizeof(ucd_service_decl),                                         \
            __VA_ARGS__};                                                                          \
        return &ucd_descriptor_;                                                                   \
    }

#ifdef __cplusplus
}
#endif
#endif /* UCD_PLUGIN_H */
