/*
 * daemon.h - the running daemon: configuration, runtime, modules, signals.
 */
#ifndef CORE_DAEMON_H
#define CORE_DAEMON_H

#include <glib.h>

#include "commands.h"
#include "config.h"
#include "modules.h"
#include "numbers.h"

typedef struct core_model core_model;
typedef struct core_permissions core_permissions;

/* The number service as plugins hold it: one stable interface whose plan is
 * swapped on reload. Replaced plans are kept until exit, since another thread
 * may still be inside normalize() with one. */
typedef struct core_numbers_slot {
    core_numbers *_Atomic current;
    GPtrArray *retired;
} core_numbers_slot;

typedef struct core_daemon {
    char *config_file;      /* -c, or the default */
    char *conf_dir;         /* --conf-dir, or NULL: conf.d beside the config file */
    core_config *cfg;       /* the configuration in force */
    core_section *core_sec; /* [core] bound */
    GMainLoop *loop;
    core_runtime rt;
    core_modules *mods;
    core_numbers_slot numbers;
    core_permissions *perms;
    core_model *model;
    struct core_model_commands *model_commands; /* ucctl's users, calls, presence ... */
    core_commands_ctx commands; /* what the core's own commands read and ask of the daemon */
    gint64 started_us;          /* monotonic */
    guint reloads;
    int exit_code;
} core_daemon;

/* Reads the configuration and checks all of it, every enabled plugin's key
 * table included, without running plugin code. Returns the number of errors
 * (appended to `errors`); 0 means the configuration would start. */
int core_daemon_check(const char *config_file, const char *conf_dir, GPtrArray *errors);

/* Runs the daemon until SIGTERM/SIGINT; returns the process exit code. */
int core_daemon_run(const char *config_file, const char *conf_dir);

/* Re-reads the configuration and applies it, or refuses it and keeps the
 * running one. Appends the reasons to `errors`. Returns TRUE if applied. A
 * configuration that enables no module while modules run is refused unless
 * `force` (`ucctl reload --force`; SIGHUP never forces). */
gboolean core_daemon_reload(core_daemon *d, gboolean force, GPtrArray *errors);

/* The search path: $UCD_PLUGIN_PATH (':'-separated, for development), then
 * [core] plugin_path, then the built-in plugin directory. */
char **core_daemon_plugin_path(core_config *cfg);

#endif /* CORE_DAEMON_H */
