/*
 * fake-host.h - a fake ucd core, for test and benchmark programs that drive one
 * plugin without the daemon.
 *
 * The program loads the plugin (fake_load_plugin), makes a module instance
 * (fake_module_new), gives it the values of its configuration section
 * (fake_module_set) and runs its hooks (fake_module_init, fake_module_start,
 * fake_module_stop). The plugin receives `fake_host`, a complete ucd_host
 * table, and everything it asks of it is recorded in the module, where the
 * test reads it: log lines, the last set_error text, the key of the last
 * config_error, timers, fd watches, subscriptions, counters, commands and
 * services. The daemon's own tests run plugins in the real core; this one is
 * for testing a plugin alone, fast and deterministically.
 *
 * What the fake does, where it differs from the core:
 *   - configuration: the values set by the test, else the key table's
 *     defaults, with the core's type rules (UCD_E_INVALID for an undeclared
 *     key or the wrong getter); values are not validated beforehand;
 *   - timers and fd watches are real GLib sources on the default main
 *     context, so a test may run the loop; a test that must not depend on
 *     wall-clock time fires them by hand (fake_timer_fire,
 *     fake_module_poll_watches) and never runs the loop;
 *   - work items run at once, on the calling thread: work, then done; so do
 *     the items of a work queue (host 1.4), which is their order too; a
 *     queue the plugin still holds is freed by fake_module_stop;
 *   - publish hands each event to the module's on_publish hook (the test's
 *     recorder) and delivers nothing; fake_module_deliver plays the bus for
 *     the module's own subscriptions;
 *   - service_get and service_foreach find what the test gave with
 *     fake_provide_service, then the services other live fake modules
 *     registered (a test may run a real journal and its reader side by side),
 *     in that order, with the minor the provider declared in `provides` (0
 *     for fake_provide_service); unlike the core, they do not skip providers
 *     older than the minor the caller declared;
 * log, publish and the counter functions may be called from any thread.
 */
#ifndef UCD_TESTS_FAKE_HOST_H
#define UCD_TESTS_FAKE_HOST_H

#include <glib.h>
#include <ucd/ucd.h>

/* A module instance as the fake host knows it: the plugin's opaque handle. */
typedef struct ucd_plugin fake_module;

/* Called for every event the module publishes, under the fake host's lock
 * (it may run on any thread): record what the test needs, call nothing of
 * the host. */
typedef void (*fake_publish_fn)(fake_module *module, const ucd_event *event, void *data);

struct ucd_timer {
    fake_module *owner;
    uint64_t interval_ms;
    uint32_t flags; /* UCD_TIMER_* as the plugin asked */
    ucd_timer_cb cb;
    void *user_data;
    guint source;
};

struct ucd_watch {
    fake_module *owner;
    int fd;
    uint32_t events; /* UCD_WATCH_* as the plugin asked */
    ucd_watch_cb cb;
    void *user_data;
    guint source;
};

struct ucd_subscription {
    fake_module *owner;
    ucd_event_filter filter; /* subject and source are copies */
    ucd_event_cb cb;
    void *user_data;
};

struct ucd_plugin {
    /* Who the module is; fake_module_new fills these. */
    const ucd_plugin_descriptor *descriptor;
    char *id;       /* "NAME" or "NAME:INSTANCE" */
    char *instance; /* the part after ':', or NULL */
    char *state_dir;
    void *state; /* what init returned; NULL again after fake_module_stop */

    /* Set by the test. */
    int log_echo_level;         /* lines at or below it are printed on stderr; 0 = none */
    fake_publish_fn on_publish; /* NULL: published events are only counted */
    void *publish_data;

    /* What the plugin did. */
    GPtrArray *log_lines;   /* char *: the text of each line, in order */
    GArray *log_levels;     /* int: the level of each line */
    char *last_error;       /* set_error's last text */
    char *config_error_key; /* the key of the last config_error */
    unsigned published;     /* events published */
    GPtrArray *timers;      /* struct ucd_timer *, pending */
    GPtrArray *watches;     /* struct ucd_watch * */
    GPtrArray *subscriptions;
    unsigned leftover_timers; /* what fake_module_stop found after stop */
    unsigned leftover_watches;

    /* The fake host's own: see the functions below. */
    GHashTable *config;   /* key -> value, as written in the section */
    GHashTable *lists;    /* key -> char ** handed out by config_list */
    GHashTable *counters; /* name -> struct ucd_counter */
    GPtrArray *commands;
    GPtrArray *services;
    GPtrArray *work_queues; /* struct ucd_work_queue *, not freed yet */
};

/* The host table every module gets. */
extern const ucd_host fake_host;

/* Opens the plugin at `path` (dlopen, RTLD_NOW) and returns its descriptor,
 * checking that the plugin is called `name`; `*handle` is for dlclose at the
 * end. Aborts the program (g_error) when the file cannot be loaded. */
const ucd_plugin_descriptor *fake_load_plugin(const char *path, const char *name, void **handle);

/* A new module instance of the plugin `descriptor` with the module id `id`
 * ("pbx-sim:office" gives the instance "office"), an empty configuration
 * section, no state directory, and log lines echoed on stderr only when the
 * test runs with --verbose. Free it with fake_module_free. */
fake_module *fake_module_new(const ucd_plugin_descriptor *descriptor, const char *id);

/* Frees the module and whatever the plugin still holds in it. Run
 * fake_module_stop first if the module was initialized. */
void fake_module_free(fake_module *module);

/* Sets `key` in the module's section to `value`, the text as the
 * configuration file would have it ("2s", "true", "201;202"); a NULL value
 * unsets it, so that the key table's default applies. */
void fake_module_set(fake_module *module, const char *key, const char *value);

/* fake_module_set for each pair of a NULL-terminated array {key, value, key,
 * value, ..., NULL}. `pairs` may be NULL. */
void fake_module_set_pairs(fake_module *module, const char *const *pairs);

/* Makes `dir` the module's state directory (state_dir); the test creates and
 * removes the directory. */
void fake_module_set_state_dir(fake_module *module, const char *dir);

/* Runs the plugin's init hook as the core does; the state it returns is kept
 * in module->state. Returns init's result. */
int fake_module_init(fake_module *module);

/* Runs init and start, both of which must succeed: otherwise the program
 * aborts with the error the plugin recorded. */
void fake_module_start(fake_module *module);

/* Stops the module as the core does: runs the stop hook, removes the timers,
 * fd watches, subscriptions, commands, services and work queues the plugin
 * still holds
 * (counting leftover timers and watches, so a test can check that the plugin
 * removed its own), then runs fini. Hooks the plugin does not have are
 * skipped. */
void fake_module_stop(fake_module *module);

/* The value of the module's counter `name`, or -1 when the plugin has not
 * created it. Any thread. */
int64_t fake_module_counter(fake_module *module, const char *name);

/* TRUE when a line logged at `level` (0: any level) contains `needle`. Any
 * thread. */
gboolean fake_module_log_has(fake_module *module, int level, const char *needle);

/* Forgets the lines logged so far. */
void fake_module_log_clear(fake_module *module);

/* The function table the module registered as service `name` major `major`,
 * or NULL; its implementation pointer goes to `*impl` when `impl` is not NULL. */
const void *fake_module_service(fake_module *module, const char *name, uint32_t major, void **impl);

/* Plays the bus: calls, on this thread, each of the module's subscriptions
 * whose filter takes `event` (type mask, subject and source). Unlike the bus,
 * the fake host derives nothing: it compares the event's subject and source
 * as the test filled them in. */
void fake_module_deliver(fake_module *module, const ucd_event *event);

/* Fires `timer` now, as if its interval had elapsed: a one-shot timer is
 * removed before its callback runs, as in the core. */
void fake_timer_fire(struct ucd_timer *timer);

/* Waits up to `timeout_ms` for the module's watched fds and calls the
 * callback of each that is ready, without the main loop. Returns how many
 * callbacks ran. */
unsigned fake_module_poll_watches(fake_module *module, int timeout_ms);

/* The name of the first control command the module registered, or NULL. */
const char *fake_module_command_name(fake_module *module);

/* Runs the module's first command with `args` (NULL-terminated, after the
 * name; may be NULL), as `ucctl NAME ARGS...` would. Its result goes to
 * `*rc`; returns the reply, one line per reply call: "columns:A,B" and
 * "row:X,Y" for a table, "NAME=VALUE" for a field, "text:..." for text and
 * "error" for an error. Free with g_strfreev. */
char **fake_module_run_command(fake_module *module, int *rc, const char *const *args);

/* Runs the module's command with the NULL-terminated arguments that follow
 * `expect_rc`, asserts its result is `expect_rc`, and returns the reply's
 * lines joined with ", " ("call=sim-1, result=ringing"). Free with g_free. */
char *fake_module_command(fake_module *module, int expect_rc, ...) G_GNUC_NULL_TERMINATED;

/* Runs the module's command with the NULL-terminated arguments that follow
 * `expected`, whatever its result, and asserts that the reply's lines joined
 * with ", " are exactly `expected`. */
void fake_module_command_is(fake_module *module, const char *expected, ...) G_GNUC_NULL_TERMINATED;

/* ---- services of other modules ------------------------------------------ */

/* Makes `iface`/`impl` a running provider `provider` ("journal-fake") of
 * service `name` major `major` for every module's service_get and
 * service_foreach, until fake_withdraw_services. The strings are copied;
 * `iface` and `impl` stay the test's. */
void fake_provide_service(const char *provider, const char *name, uint32_t major, const void *iface,
                          void *impl);

/* Forgets every service given with fake_provide_service. */
void fake_withdraw_services(void);

/* ---- users backends ------------------------------------------------------ */

/* A deep copy of one record a users backend gave through foreach_user, so a
 * test can keep it after the callback. String arrays are never NULL. */
typedef struct fake_user {
    char *id, *login, *display_name, *given_name, *surname, *email, *department, *title;
    char *home_server;
    gboolean enabled;
    char **numbers, **groups, **lines;
} fake_user;

/* The backend's current users, login -> fake_user (the table owns them).
 * Asserts that foreach_user succeeds and that no login comes twice. */
GHashTable *fake_users_by_login(const ucd_users_v1 *iface, void *impl);

#endif /* UCD_TESTS_FAKE_HOST_H */
