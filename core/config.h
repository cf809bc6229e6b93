/*
 * config.h - ucd's configuration: INI files read with GKeyFile, with the place
 * (file:line) of every section and key remembered for error messages.
 *
 * Files: the main file (default /etc/ucd/ucd.conf), then every *.conf in the
 * drop-in directory (default: conf.d beside the main file) in lexical order.
 * A later file adds sections and overrides keys of earlier ones. Only regular
 * files (or symlinks to them) of at most 4 MiB are read: a FIFO, a device or
 * a directory is refused at once, so reading never blocks. A UTF-8 byte-order
 * mark at the start is skipped; a NUL byte is refused with file:line. A
 * configuration with no section at all in any file (an empty main file and no
 * drop-ins) is an error: it would run nothing.
 *
 * Sections:
 *   [core]                      the daemon (core_config_core_keys)
 *   [log]                       logging (core_config_log_keys)
 *   [module NAME]               one plugin instance
 *   [module NAME:INSTANCE]      one of several instances of a plugin
 *   [location NAME]             a numbering plan (numbers.c binds its keys)
 *   [permissions]               permission defaults (model/permissions.c binds its keys)
 * Any other section name is an error. Every module section accepts the keys of
 * core_config_module_keys (enabled, required, path, log_level) besides the
 * plugin's own.
 *
 * Errors are strings "FILE:LINE: message" (or "FILE: message" when no line
 * applies) appended to a caller's GPtrArray (element free func g_free), so a
 * check reports every problem at once rather than the first.
 */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include <glib.h>
#include <ucd/plugin.h>

typedef struct core_config core_config;

/* A value as error messages show it: values longer than 64 bytes are cut
 * (at a character boundary) and followed by "... (N bytes)", so a runaway
 * value does not flood the log. Newly allocated. */
char *core_config_clip(const char *value);
/* A message that may quote a long value (GKeyFile's, a location's): longer
 * than 183 bytes, it keeps its first 120 and last 60 bytes around "...", so
 * both the value's start and the explanation after it stay. */
char *core_config_clip_message(const char *message);

/* The keys of [core], [log] and the core's keys in every [module ...]
 * section, each terminated by {NULL}. */
extern const ucd_config_key core_config_core_keys[];
extern const ucd_config_key core_config_log_keys[];
extern const ucd_config_key core_config_module_keys[];

/* Reads the main file and the drop-ins. main_file NULL means
 * /etc/ucd/ucd.conf; conf_dir NULL means "conf.d" beside the main file (a
 * missing drop-in directory is fine, a missing main file is an error). Returns
 * NULL after appending errors when any file cannot be read or parsed, or a
 * section name is not one of the forms above. */
core_config *core_config_load(const char *main_file, const char *conf_dir, GPtrArray *errors);
void core_config_free(core_config *cfg);

/* The files read, in order (NULL-terminated, owned by cfg). */
const char *const *core_config_files(const core_config *cfg);

/* A module section as found in the files, in order of first appearance. */
typedef struct core_module_conf {
    char *section;     /* "module pbx-sim:office" */
    char *id;          /* "pbx-sim:office" */
    char *name;        /* "pbx-sim" */
    char *instance;    /* "office", or NULL */
    gboolean enabled;  /* key enabled, default true */
    gboolean required; /* key required, default false */
    char *path;        /* key path, or NULL: found by name on the plugin path */
    int log_level;     /* key log_level parsed, or -1 */
    char *location;    /* key location (PBX drivers' numbering plan), or NULL */
} core_module_conf;

/* The module sections (owned by cfg). Their core keys are parsed here; wrong
 * types in them are appended to `errors` by core_config_check(). */
GPtrArray *core_config_modules(core_config *cfg);

/* Checks [core], [log] and the core keys of every module section: unknown
 * keys, wrong types, missing required keys. Returns the number of errors. */
int core_config_check(core_config *cfg, GPtrArray *errors);

/* The names of every section starting with `prefix` ("location "), in order
 * of first appearance; NULL-terminated, free with g_strfreev(). */
char **core_config_sections(core_config *cfg, const char *prefix);

/* Raw access, for sections the core owns. NULL when not set. */
const char *core_config_raw(core_config *cfg, const char *section, const char *key);
/* "FILE:LINE" of a key (or of the section header when key is NULL), newly
 * allocated, or NULL when not present. */
char *core_config_where(core_config *cfg, const char *section, const char *key);
/* TRUE when both configs have the same keys and raw values in `section`
 * (either or both may lack it). Used by reload to restart only what changed. */
gboolean core_config_section_equal(core_config *a, core_config *b, const char *section);

/* A section checked against a key table and converted to typed values. */
typedef struct core_section core_section;

/* Binds `section` of cfg to `keys` (an array walked with `stride` bytes per
 * element, so a plugin built with a smaller ucd_config_key works), plus
 * `extra_keys` (the core's own keys for that kind of section, may be NULL).
 * Unknown keys (with the list of known ones), wrong types and missing required
 * keys are appended to errors with file:line; returns NULL if there was any. A
 * missing section binds as empty (defaults apply). */
core_section *core_section_bind(core_config *cfg, const char *section, const ucd_config_key *keys,
                                size_t stride, const ucd_config_key *extra_keys, GPtrArray *errors);
void core_section_free(core_section *sec);

/* Typed getters with the semantics of the host table's config_* functions
 * (host.h): UCD_OK, UCD_E_NOT_FOUND (not set, no default) or UCD_E_INVALID
 * (key not declared with a compatible type). DURATION reads with _int, in ms.
 * Strings are owned by the section. */
int core_section_string(core_section *sec, const char *key, const char **value);
int core_section_int(core_section *sec, const char *key, int64_t *value);
int core_section_bool(core_section *sec, const char *key, int *value);
int core_section_double(core_section *sec, const char *key, double *value);
int core_section_list(core_section *sec, const char *key, const char *const **items, size_t *count);
/* "FILE:LINE" where the key is set, or the section header, or the main file. */
char *core_section_where(core_section *sec, const char *key);
/* TRUE when `key` is declared UCD_KEY_SECRET in the bound table. */
gboolean core_section_is_secret(core_section *sec, const char *key);

/* The whole configuration as INI text, keys in file order, with the value of
 * every key for which is_secret() says TRUE, and of any key whose name contains
 * "password", "secret" or "token", replaced by "<redacted>". For log export. */
char *core_config_dump_redacted(core_config *cfg,
                                gboolean (*is_secret)(const char *section, const char *key,
                                                      void *ud),
                                void *ud);

#endif /* CORE_CONFIG_H */
