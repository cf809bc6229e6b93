/*
 * log.h - the core's logger: one line per message, level per module, to stderr
 * or journald, with a ring of recent lines for `ucctl log export`.
 *
 * Thread-safe: any thread may log. Module names are module ids ("pbx-sim:office")
 * or "core". A module without its own level uses the default level.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <glib.h>
#include <stdarg.h>

typedef enum core_log_target {
    CORE_LOG_AUTO = 0, /* journald when stderr is connected to the journal, else stderr */
    CORE_LOG_STDERR = 1,
    CORE_LOG_JOURNAL = 2,
} core_log_target;

/* Sets the target, the default level (UCD_LOG_* numbers) and how many recent
 * lines to keep for export. May be called again (reload) at any time. */
void core_log_configure(core_log_target target, int default_level, size_t ring_lines);
/* Parses "auto", "stderr", "journal"; returns -1 for anything else. */
int core_log_target_parse(const char *name);

/* Sets a module's level; module NULL sets the default. level -1 removes a
 * module's own level (it follows the default again). */
void core_log_set_level(const char *module, int level);
/* The effective level of a module (its own or the default). */
int core_log_level(const char *module);
/* TRUE when a message of `level` from `module` would be written. Cheap when
 * `level` is above every configured level. */
gboolean core_log_enabled(const char *module, int level);
/* "error", "warning", "notice", "info", "debug" <-> 3..7; -1 when unknown. */
int core_log_level_parse(const char *name);
const char *core_log_level_name(int level); /* "unknown" outside 3..7 */

/* Writes one line "LEVEL module: text" when the module's level allows it, and
 * keeps it in the ring. Control characters, invalid UTF-8 and C1 controls in
 * the text (and the module) are escaped (\n, \xHH, \uHHHH), so a message
 * never spans lines. module NULL means "core". Any thread. */
void core_log(const char *module, int level, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void core_logv(const char *module, int level, const char *fmt, va_list ap) G_GNUC_PRINTF(3, 0);

/* The recent lines, oldest first, each "2026-11-22T15:00:00.123Z LEVEL module: text";
 * NULL-terminated, free with g_strfreev(). */
char **core_log_recent(void);

/* Frees the ring and the level table (at exit, for valgrind). */
void core_log_shutdown(void);

#define core_err(...)    core_log("core", 3, __VA_ARGS__)
#define core_warn(...)   core_log("core", 4, __VA_ARGS__)
#define core_notice(...) core_log("core", 5, __VA_ARGS__)
#define core_info(...)   core_log("core", 6, __VA_ARGS__)
#define core_debug(...)  core_log("core", 7, __VA_ARGS__)

#endif /* CORE_LOG_H */
