/*
 * ucd/host.h - everything the core offers a plugin, as one function table.
 *
 * The core passes a `const ucd_host *` to a plugin's init hook. The table lives
 * as long as the process; keep the pointer. A function that creates something
 * takes the plugin's own `ucd_plugin *self` first, so that what it creates is
 * attributed to that module instance and removed with it; functions that act
 * on a thing already created (counter_add, subscription_dropped,
 * work_queue_submit, reply_*) take that thing instead. When a module stops, the
 * core removes whatever subscriptions, timers, fd watches, services, work
 * queues and commands it still holds, and waits for its pending work items
 * before calling fini; counters stay until the process exits.
 *
 * Grouped by purpose:
 *   identity      module_id, instance, state_dir
 *   logging       log, log_enabled, set_error
 *   configuration config_string, config_int, config_bool, config_double,
 *                 config_list, config_error
 *   event bus     publish, subscribe, unsubscribe, subscription_dropped
 *   main loop     timer_add, timer_remove, watch_add, watch_update, watch_remove
 *   threads       work_submit, work_queue_new, work_queue_submit, work_queue_free
 *   services      service_register, service_get, service_foreach
 *   metrics       counter_new, counter_add, counter_set
 *   control       command_register, reply_*
 *
 * Functions run on the main loop thread only, except those marked "any thread".
 * The table's version is UCD_ABI_MAJOR.UCD_HOST_MINOR (plugin.h). A plugin that
 * targets an older host (UCD_TARGET_HOST_MINOR) checks UCD_HOST_HAS(host,
 * member) before calling a function added after that minor; each such
 * addition says from which host minor it exists.
 */
#ifndef UCD_HOST_H
#define UCD_HOST_H

#include <stdarg.h>
#include <ucd/event.h>
#include <ucd/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels, numbered as syslog numbers them. */
typedef enum ucd_log_level {
    UCD_LOG_ERROR = 3,
    UCD_LOG_WARNING = 4,
    UCD_LOG_NOTICE = 5,
    UCD_LOG_INFO = 6,
    UCD_LOG_DEBUG = 7,
} ucd_log_level;

/* fd watch conditions (watch_add, and the `revents` of ucd_watch_cb). */
enum {
    UCD_WATCH_READ = 1u << 0,
    UCD_WATCH_WRITE = 1u << 1,
    UCD_WATCH_ERROR = 1u << 2, /* always reported, need not be asked for */
};

/* Timer flags. */
enum {
    UCD_TIMER_REPEAT = 1u << 0, /* fire every interval until removed; else once */
};

/* Counter kinds. */
typedef enum ucd_counter_kind {
    UCD_COUNTER_MONOTONIC = 0, /* only grows: events sent, records stored */
    UCD_COUNTER_GAUGE = 1,     /* goes up and down: queue depth, lines monitored */
} ucd_counter_kind;

typedef struct ucd_subscription ucd_subscription; /* opaque */
typedef struct ucd_timer ucd_timer;               /* opaque */
typedef struct ucd_watch ucd_watch;               /* opaque */
typedef struct ucd_counter ucd_counter;           /* opaque */
typedef struct ucd_reply ucd_reply;               /* opaque: the answer to a control command */
typedef struct ucd_work_queue ucd_work_queue;     /* opaque: ordered work, host 1.4 */

typedef void (*ucd_timer_cb)(void *user_data);
typedef void (*ucd_watch_cb)(int fd, uint32_t revents, void *user_data);
/* `work` runs on a pool thread; `done` runs afterwards on the main loop. */
typedef void (*ucd_work_fn)(void *user_data);
typedef void (*ucd_done_fn)(void *user_data);

/* A service found in the registry. `iface` points to the provider's function
 * table for the requested major version (e.g. ucd_pbx_v1); pass `impl` as the
 * first argument of each of its functions. Valid until the provider stops: hold
 * it no longer than your own module runs (the loader stops you first when you
 * require it). */
typedef struct ucd_service {
    uint32_t struct_size;
    uint32_t major;
    const char *name;
    const char *provider; /* module id of the provider: "pbx-sim:office", "core" */
    const void *iface;
    void *impl;
    /* Since host 1.4 (filled when the caller's struct_size has room): */
    uint32_t minor; /* the minor the provider declared */
    uint32_t reserved;
} ucd_service;

typedef int (*ucd_service_cb)(const ucd_service *service, void *user_data); /* non-zero stops */

/* A control command handler, run on the main loop when `ucctl NAME ARGS...`
 * arrives. argv[0] is NAME. Fill `reply` with the reply_* functions and return
 * UCD_OK, or a UCD_E_* code after reply_error(). */
typedef int (*ucd_command_fn)(int argc, const char *const *argv, ucd_reply *reply, void *user_data);

struct ucd_host {
    uint32_t struct_size; /* sizeof(ucd_host) in the running core */
    uint16_t abi_major;   /* the running core's ABI */
    uint16_t abi_minor;
    const char *core_version; /* "0.1.0" */

    /* ---- identity ---- */

    /* The module id, "NAME" or "NAME:INSTANCE" as in the configuration section. */
    const char *(*module_id)(ucd_plugin *self);
    /* The instance part of the id, or NULL for a module configured without one. */
    const char *(*instance)(ucd_plugin *self);
    /* A directory private to this module instance, created mode 0700 and owned by
     * the user ucd runs as: STATE_DIR/MODULE_ID. Valid for the module's life. */
    const char *(*state_dir)(ucd_plugin *self);

    /* ---- logging ---- */

    /* Logs one line at `level`, prefixed with the module id. Secrets must never
     * be passed here. Any thread. */
    void (*log)(ucd_plugin *self, int level, const char *fmt, ...) UCD_PRINTF(3, 4);
    /* Non-zero when a message at `level` would be written: skip costly formatting
     * when it is zero. The level is per module and can change at run time
     * (`ucctl log level MODULE debug`). Any thread. */
    int (*log_enabled)(ucd_plugin *self, int level);
    /* Records why the module failed or declined: logged, shown by `ucctl modules`
     * as last error, and named in the loader's message when init fails. */
    void (*set_error)(ucd_plugin *self, const char *fmt, ...) UCD_PRINTF(2, 3);

    /* ---- configuration: this module's own section, checked against its keys ----
     *
     * Each getter returns UCD_OK and the value (the descriptor's default when the
     * section does not set it), UCD_E_NOT_FOUND when the key is neither set nor
     * has a default, or UCD_E_INVALID when `key` is not declared with that type.
     * Returned strings are owned by the core and valid until this module's fini. */
    int (*config_string)(ucd_plugin *self, const char *key, const char **value);
    int (*config_int)(ucd_plugin *self, const char *key, int64_t *value); /* also DURATION, ms */
    int (*config_bool)(ucd_plugin *self, const char *key, int *value);
    int (*config_double)(ucd_plugin *self, const char *key, double *value);
    /* `items` is a NULL-terminated array; `count` may be NULL. */
    int (*config_list)(ucd_plugin *self, const char *key, const char *const **items, size_t *count);
    /* Reports a value that has the right type but is wrong for the plugin ("rate
     * must be positive"): logged as "FILE:LINE: [module X] key: message" and
     * recorded as the module's error. (`ucd --check-config` checks key names,
     * types and required keys from the key table; it runs no plugin code.) Returns UCD_FAIL, so
     * init can `return host->config_error(self, "rate", "must be positive");` */
    int (*config_error)(ucd_plugin *self, const char *key, const char *fmt, ...) UCD_PRINTF(3, 4);

    /* ---- event bus ---- */

    /* Publishes a copy of `event` (see event.h): source, seq and time are set by
     * the bus. Never blocks: a subscriber whose queue is full loses the event and
     * its drop counter grows. Returns UCD_E_INVALID for an unknown type, a
     * payload with a wrong struct_size, or a type only the core publishes
     * (UCD_EVENT_CONVERSATION_ENDED, UCD_EVENT_DIRECTORY). Any thread. */
    int (*publish)(ucd_plugin *self, const ucd_event *event);
    /* Calls `cb` for every published event that matches `filter` (NULL: all),
     * in publication order. The filter is copied. `out` may be NULL when the
     * plugin never unsubscribes by hand. */
    int (*subscribe)(ucd_plugin *self, const ucd_event_filter *filter, ucd_event_cb cb,
                     void *user_data, ucd_subscription **out);
    /* Stops delivery; no callback runs for this subscription after it returns.
     * Events still queued are discarded. */
    void (*unsubscribe)(ucd_plugin *self, ucd_subscription *subscription);
    /* Events this subscription lost because its queue was full. Any thread. */
    uint64_t (*subscription_dropped)(ucd_subscription *subscription);

    /* ---- main loop: timers and file descriptors ---- */

    ucd_timer *(*timer_add)(ucd_plugin *self, uint64_t interval_ms, uint32_t flags, ucd_timer_cb cb,
                            void *user_data);
    /* Removes a timer; safe inside its own callback. A one-shot timer that fired
     * is removed already and must not be passed here. */
    void (*timer_remove)(ucd_plugin *self, ucd_timer *timer);
    /* Calls `cb` whenever `fd` is ready for what `events` asks. The fd stays the
     * plugin's to close, after watch_remove. */
    ucd_watch *(*watch_add)(ucd_plugin *self, int fd, uint32_t events, ucd_watch_cb cb,
                            void *user_data);
    void (*watch_update)(ucd_plugin *self, ucd_watch *watch, uint32_t events);
    void (*watch_remove)(ucd_plugin *self, ucd_watch *watch);

    /* ---- threads ---- */

    /* Runs `work(user_data)` on the core's worker pool, then `done(user_data)` on
     * the main loop (`done` may be NULL). Use it for blocking calls: database
     * writes, LDAP searches, file I/O. Work items of one module may run in
     * parallel; use a work queue (below) when order matters. Any thread. */
    int (*work_submit)(ucd_plugin *self, ucd_work_fn work, ucd_done_fn done, void *user_data);

    /* ---- services ---- */

    /* Makes `iface` (a kind's function table, e.g. a filled ucd_pbx_v1) available
     * under `name` and `major`. The module must declare it in `provides`. */
    int (*service_register)(ucd_plugin *self, const char *name, uint32_t major, const void *iface,
                            void *impl);
    /* Finds a running provider of `name` with exactly `major`; `provider` narrows
     * it to one module id (NULL: the first in start order). A provider older
     * than the minor this module declared for the service (requires/uses) is
     * skipped. UCD_E_NOT_FOUND if none. */
    int (*service_get)(ucd_plugin *self, const char *name, uint32_t major, const char *provider,
                       ucd_service *out);
    /* Calls `cb` for each running provider of `name`/`major`, in start order,
     * skipping those older than the minor this module declared. */
    int (*service_foreach)(ucd_plugin *self, const char *name, uint32_t major, ucd_service_cb cb,
                           void *user_data);

    /* ---- metrics ---- */

    /* A named counter, shown by `ucctl counters` and exported by
     * analytics exporters as MODULE_ID.NAME. Names: lower case, digits, '_'. */
    ucd_counter *(*counter_new)(ucd_plugin *self, const char *name, uint32_t kind,
                                const char *help);
    void (*counter_add)(ucd_counter *counter, int64_t delta); /* any thread */
    void (*counter_set)(ucd_counter *counter, int64_t value); /* any thread */

    /* ---- control commands (ucctl) ---- */

    /* Adds `ucctl NAME ...`. `usage` is the argument synopsis ("[--full] [USER]"),
     * `help` one line. UCD_E_BUSY if NAME is taken by the core or another module. */
    int (*command_register)(ucd_plugin *self, const char *name, const char *usage, const char *help,
                            ucd_command_fn fn, void *user_data);
    /* A reply is either a table (columns then rows), a list of fields, free text,
     * or a combination; ucctl prints tables for people and JSON with --json. */
    void (*reply_columns)(ucd_reply *reply, size_t count, const char *const *names);
    void (*reply_row)(ucd_reply *reply, const char *const *values); /* one per column */
    void (*reply_field)(ucd_reply *reply, const char *name, const char *value);
    void (*reply_text)(ucd_reply *reply, const char *fmt, ...) UCD_PRINTF(2, 3);
    void (*reply_error)(ucd_reply *reply, const char *fmt, ...) UCD_PRINTF(2, 3);

    /* ---- host 1.3: replies that come later (check UCD_HOST_HAS(host, reply_complete)) ---- */

    /* Keeps `reply` open after the command handler returns, for a command whose
     * work blocks (a database query, a report): call it in the handler, return
     * UCD_OK, run the blocking part with work_submit(), fill the reply in the
     * done callback and send it with reply_complete(). Until then the client's
     * connection reads no further request, so answers stay in request order; a
     * client that disconnects meanwhile is simply not answered. Main loop only. */
    void (*reply_defer)(ucd_reply *reply);
    /* Sends a deferred reply; `reply` is invalid afterwards. Main loop only.
     * Every deferred reply must be completed, also when the module stops: a
     * work item's done callback still runs before stop() returns. */
    void (*reply_complete)(ucd_reply *reply);

    /* ---- host 1.4: ordered work (check UCD_HOST_HAS(host, work_queue_free)) ---- */

    /* A queue whose items run one after another, in submission order, on the
     * worker pool (never on the main loop, never two at once); each item's
     * `done` runs on the main loop in the same order. Items of different
     * queues, and work_submit() items, still run in parallel. `name` appears
     * in logs. The core frees a queue the module still holds after its stop
     * hook, after running what was submitted. NULL when out of memory. */
    ucd_work_queue *(*work_queue_new)(ucd_plugin *self, const char *name);
    /* Appends an item to `queue`. Any thread. UCD_E_INVALID after the queue
     * was freed or its module stopped. */
    int (*work_queue_submit)(ucd_work_queue *queue, ucd_work_fn work, ucd_done_fn done,
                             void *user_data);
    /* Runs what was submitted, waits for it (every `done` has run when it
     * returns) and frees the queue. Main loop only, never from a work item. */
    void (*work_queue_free)(ucd_plugin *self, ucd_work_queue *queue);
};

/* Convenience wrappers, so a plugin writes ucd_info(host, self, "...") */
#define ucd_error(h, p, ...)   (h)->log((p), UCD_LOG_ERROR, __VA_ARGS__)
#define ucd_warning(h, p, ...) (h)->log((p), UCD_LOG_WARNING, __VA_ARGS__)
#define ucd_notice(h, p, ...)  (h)->log((p), UCD_LOG_NOTICE, __VA_ARGS__)
#define ucd_info(h, p, ...)    (h)->log((p), UCD_LOG_INFO, __VA_ARGS__)
#define ucd_debug(h, p, ...)   (h)->log((p), UCD_LOG_DEBUG, __VA_ARGS__)

/* True when the running core's table has `member` (a function added later). */
#define UCD_HOST_HAS(h, member)                                                                    \
    ((h)->struct_size >= offsetof(ucd_host, member) + sizeof((h)->member))

#ifdef __cplusplus
}
#endif
#endif /* UCD_HOST_H */
