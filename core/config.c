/*
 * config.c - ucd's configuration files (see config.h).
 *
 * GKeyFile parses every file and reads every value. What GKeyFile lacks for an
 * admin is the place of things: it keeps no line numbers. So each file's lines
 * are also scanned here, but only to LOCATE section headers and "key =" lines;
 * no value is ever taken from that scan. The files are then merged into one
 * GKeyFile key by key (a later file wins), remembering for every key the file
 * and line of the value that won.
 *
 * Checking a section against a key table ("binding") converts each value to
 * its declared type once, so the typed getters afterwards cannot fail on a
 * value and modules read their configuration without error paths.
 */
#include "config.h"

#include <ucd/host.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_MAIN_FILE "/etc/ucd/ucd.conf"
#define DROP_IN_DIR_NAME  "conf.d"
#define DROP_IN_SUFFIX    ".conf"
/* No configuration file is anywhere near this; a bigger "file" is a mistake
 * (a log, a disk image), and reading it would only burn memory. */
#define FILE_SIZE_MAX (4 * 1024 * 1024)
/* How much of a value an error message shows: a 1 MB value is not repeated. */
#define VALUE_SHOWN_MAX 64
/* What a UTF-8 editor may put first in a file; like most INI readers, skip it. */
#define UTF8_BOM "\xEF\xBB\xBF"

/* What a valid module section name looks like; [core] and [log] are checked
 * by name. */
#define MODULE_SECTION_PATTERN "^module [a-z0-9][a-z0-9_-]*(:[A-Za-z0-9_-]+)?$"
#define MODULE_PREFIX          "module "
/* Numbering-plan locations (numbers.c binds their keys). */
#define LOCATION_SECTION_PATTERN "^location [A-Za-z0-9_-]+$"

const ucd_config_key core_config_core_keys[] = {
    {"plugin_path", UCD_CONFIG_LIST, 0, "",
     "directories searched for plugins, in order, before the built-in plugin directory"},
    {"state_dir", UCD_CONFIG_STRING, 0, "/var/lib/ucd",
     "where modules keep their state, one subdirectory per module instance"},
    {"control_socket", UCD_CONFIG_STRING, 0, "/run/ucd/ucd.sock", "the socket ucctl talks to"},
    {"server_name", UCD_CONFIG_STRING, 0, NULL,
     "this server's name, matched against users' home servers; unset: the host name"},
    {"user", UCD_CONFIG_STRING, 0, NULL, "drop root privileges to this user after start-up"},
    {"group", UCD_CONFIG_STRING, 0, NULL,
     "drop root privileges to this group (default: the user's primary group)"},
    {"worker_threads", UCD_CONFIG_INT, 0, "4", "threads for blocking work, 1..64"},
    {"bus_queue_size", UCD_CONFIG_INT, 0, "65536",
     "events queued per subscriber before it loses events, 16..16777216"},
    {NULL, 0, 0, NULL, NULL},
};

const ucd_config_key core_config_log_keys[] = {
    {"target", UCD_CONFIG_STRING, 0, "auto", "auto, stderr or journal"},
    {"level", UCD_CONFIG_STRING, 0, "info", "error, warning, notice, info or debug"},
    {"recent_lines", UCD_CONFIG_INT, 0, "2000", "recent log lines kept for `ucctl log export`"},
    {NULL, 0, 0, NULL, NULL},
};

const ucd_config_key core_config_module_keys[] = {
    {"enabled", UCD_CONFIG_BOOL, 0, "true", "false skips this module"},
    {"required", UCD_CONFIG_BOOL, 0, "false", "true makes the daemon fail when this module fails"},
    {"path", UCD_CONFIG_STRING, 0, NULL, "the plugin file, instead of NAME.so on the plugin path"},
    {"log_level", UCD_CONFIG_STRING, 0, NULL,
     "this module's log level: error, warning, notice, info or debug"},
    {"location", UCD_CONFIG_STRING, 0, NULL,
     "for PBX drivers: the [location NAME] whose numbering plan its numbers follow"},
    {NULL, 0, 0, NULL, NULL},
};

static const char *const log_targets[] = {"auto", "stderr", "journal", NULL};
/* Indexed by level - UCD_LOG_ERROR. */
static const char *const log_levels[] = {"error", "warning", "notice", "info", "debug", NULL};

#define WORKER_THREADS_MIN 1
#define WORKER_THREADS_MAX 64
#define BUS_QUEUE_MIN      16
#define BUS_QUEUE_MAX      16777216
#define RECENT_LINES_MIN   0
#define RECENT_LINES_MAX   1000000

/* ---- The loaded configuration -------------------------------------------- */

/* One key of a section: the raw value that won the merge, and where it was
 * written. `file` points into core_config.files. */
typedef struct conf_entry {
    char *key;
    char *raw;
    const char *file;
    int line;
} conf_entry;

typedef struct conf_section {
    char *name;
    const char *file; /* where the header first appeared */
    int line;
    GPtrArray *entries; /* conf_entry, in order of first appearance */
    GHashTable *by_key; /* key -> conf_entry */
} conf_section;

struct core_config {
    GPtrArray *files;    /* char *, reading order, NULL-terminated */
    GKeyFile *merged;    /* every value, later files winning */
    GPtrArray *sections; /* conf_section, in order of first appearance */
    GHashTable *by_name; /* section name -> conf_section */
    GPtrArray *modules;  /* core_module_conf */
};

static void conf_entry_free(gpointer p)
{
    conf_entry *e = p;

    g_free(e->key);
    g_free(e->raw);
    g_free(e);
}

static void conf_section_free(gpointer p)
{
    conf_section *s = p;

    g_free(s->name);
    g_hash_table_destroy(s->by_key);
    g_ptr_array_unref(s->entries);
    g_free(s);
}

static void module_conf_free(gpointer p)
{
    core_module_conf *m = p;

    g_free(m->section);
    g_free(m->id);
    g_free(m->name);
    g_free(m->instance);
    g_free(m->path);
    g_free(m->location);
    g_free(m);
}

static core_config *config_new(void)
{
    core_config *cfg = g_new0(core_config, 1);

    cfg->files = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(cfg->files, NULL);
    cfg->merged = g_key_file_new();
    cfg->sections = g_ptr_array_new_with_free_func(conf_section_free);
    cfg->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    cfg->modules = g_ptr_array_new_with_free_func(module_conf_free);
    return cfg;
}

void core_config_free(core_config *cfg)
{
    if (!cfg)
        return;
    g_ptr_array_unref(cfg->modules);
    g_hash_table_destroy(cfg->by_name);
    g_ptr_array_unref(cfg->sections);
    g_key_file_free(cfg->merged);
    g_ptr_array_unref(cfg->files);
    g_free(cfg);
}

/* Keeps the NULL terminator last so the array doubles as a char **. Returns
 * the stored copy, which lives as long as cfg. */
static const char *config_add_file(core_config *cfg, const char *path)
{
    char *copy = g_strdup(path);

    g_ptr_array_index(cfg->files, cfg->files->len - 1) = copy;
    g_ptr_array_add(cfg->files, NULL);
    return copy;
}

const char *const *core_config_files(const core_config *cfg)
{
    return (const char *const *)cfg->files->pdata;
}

static const char *config_main_file(const core_config *cfg)
{
    return cfg->files->len > 1 ? g_ptr_array_index(cfg->files, 0) : "(no file)";
}

static conf_section *config_section(core_config *cfg, const char *name)
{
    return cfg ? g_hash_table_lookup(cfg->by_name, name) : NULL;
}

static conf_entry *config_entry(core_config *cfg, const char *section, const char *key)
{
    conf_section *sec = config_section(cfg, section);

    return sec ? g_hash_table_lookup(sec->by_key, key) : NULL;
}

/* ---- Error messages ------------------------------------------------------ */

/* Appends "WHERE: message"; WHERE is "FILE:LINE" or "FILE". */
static void G_GNUC_PRINTF(3, 4)
    add_error(GPtrArray *errors, const char *where, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(errors, g_strdup_printf("%s: %s", where, msg));
    g_free(msg);
}

static char *format_where(const char *file, int line)
{
    return line > 0 ? g_strdup_printf("%s:%d", file, line) : g_strdup(file);
}

static void add_error_at(GPtrArray *errors, const char *file, int line, const char *msg)
{
    char *where = format_where(file, line);

    add_error(errors, where, "%s", msg);
    g_free(where);
}

char *core_config_clip(const char *value)
{
    size_t len, cut = VALUE_SHOWN_MAX;

    if (!value)
        return g_strdup("");
    len = strlen(value);
    if (len <= VALUE_SHOWN_MAX)
        return g_strdup(value);
    /* Never cut inside a UTF-8 sequence: back up over continuation bytes. */
    while (cut > 0 && ((guchar)value[cut] & 0xC0) == 0x80)
        cut--;
    return g_strdup_printf("%.*s... (%zu bytes)", (int)cut, value, len);
}

char *core_config_clip_message(const char *message)
{
    size_t len = strlen(message);
    size_t head = 120, tail = 60;

    if (len <= head + tail + 3)
        return g_strdup(message);
    while (head > 0 && ((guchar)message[head] & 0xC0) == 0x80)
        head--;
    while (tail > 0 && ((guchar)message[len - tail] & 0xC0) == 0x80)
        tail--;
    return g_strdup_printf("%.*s...%s", (int)head, message, message + len - tail);
}

/* ---- Locating headers and keys in one file -------------------------------- */

/* Where things are in one file, from a scan of its lines. Only used after
 * GKeyFile accepted the file, so every '[' line is a well-formed header and
 * every other non-comment line is "key = value". */
typedef struct file_places {
    GArray *header_lines;     /* int, every header occurrence in order */
    GPtrArray *header_names;  /* char *, parallel to header_lines */
    GHashTable *first_header; /* name -> first line (GINT_TO_POINTER) */
    GHashTable *key_line;     /* "section\nkey" -> last line setting it */
} file_places;

static char *place_key(const char *section, const char *key)
{
    return g_strconcat(section, "\n", key, NULL);
}

static void file_places_clear(file_places *fp)
{
    g_array_unref(fp->header_lines);
    g_ptr_array_unref(fp->header_names);
    g_hash_table_destroy(fp->first_header);
    g_hash_table_destroy(fp->key_line);
}

static void note_header(file_places *fp, const char *line_text, int line)
{
    const char *close = strrchr(line_text, ']');
    char *name;

    if (!close || close == line_text)
        return;
    name = g_strndup(line_text + 1, close - line_text - 1);
    g_array_append_val(fp->header_lines, line);
    g_ptr_array_add(fp->header_names, name);
    if (!g_hash_table_contains(fp->first_header, name))
        g_hash_table_insert(fp->first_header, g_strdup(name), GINT_TO_POINTER(line));
}

/* A duplicated key within one file: the later line wins, as in GKeyFile. */
static void note_key(file_places *fp, const char *section, const char *line_text, int line)
{
    const char *eq = strchr(line_text, '=');
    char *key;

    if (!eq || !section)
        return;
    key = g_strchomp(g_strndup(line_text, eq - line_text));
    g_hash_table_replace(fp->key_line, place_key(section, key), GINT_TO_POINTER(line));
    g_free(key);
}

static void file_places_scan(file_places *fp, const char *text)
{
    char **lines = g_strsplit(text, "\n", -1);
    const char *section = NULL;

    fp->header_lines = g_array_new(FALSE, FALSE, sizeof(int));
    fp->header_names = g_ptr_array_new_with_free_func(g_free);
    fp->first_header = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    fp->key_line = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int i = 0; lines[i]; i++) {
        const char *s = g_strstrip(lines[i]);
        guint before = fp->header_names->len;

        if (*s == '\0' || *s == '#')
            continue;
        if (*s == '[') {
            note_header(fp, s, i + 1);
            if (fp->header_names->len > before)
                section = g_ptr_array_index(fp->header_names, before);
        } else {
            note_key(fp, section, s, i + 1);
        }
    }
    g_strfreev(lines);
}

static int file_places_key_line(file_places *fp, const char *section, const char *key)
{
    char *k = place_key(section, key);
    int line = GPOINTER_TO_INT(g_hash_table_lookup(fp->key_line, k));

    g_free(k);
    return line;
}

/* ---- Reading files ------------------------------------------------------- */

/* GKeyFile says what is wrong but not where. Loading ever longer prefixes of
 * the file finds the first line that makes it fail: a GKeyFile error is about
 * one line, so once a prefix fails every longer one does, and a binary search
 * applies. Returns 0 when no prefix fails alone. */
static int first_bad_line(const char *text, gsize len)
{
    GArray *ends = g_array_new(FALSE, FALSE, sizeof(gsize));
    int lo = 1, hi, found = 0;

    for (gsize i = 0; i < len; i++) {
        if (text[i] == '\n') {
            gsize end = i + 1;

            g_array_append_val(ends, end);
        }
    }
    if (ends->len == 0 || g_array_index(ends, gsize, ends->len - 1) != len)
        g_array_append_val(ends, len);
    hi = (int)ends->len;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        GKeyFile *kf = g_key_file_new();
        gboolean ok = g_key_file_load_from_data(kf, text, g_array_index(ends, gsize, mid - 1),
                                                G_KEY_FILE_NONE, NULL);

        g_key_file_free(kf);
        if (ok) {
            lo = mid + 1;
        } else {
            found = mid;
            hi = mid - 1;
        }
    }
    g_array_unref(ends);
    return found;
}

static gboolean section_name_valid(const char *name)
{
    if (strcmp(name, "core") == 0 || strcmp(name, "log") == 0 || strcmp(name, "permissions") == 0)
        return TRUE;
    if (g_str_has_prefix(name, "location"))
        return g_regex_match_simple(LOCATION_SECTION_PATTERN, name, G_REGEX_DOLLAR_ENDONLY, 0);
    return g_regex_match_simple(MODULE_SECTION_PATTERN, name, G_REGEX_DOLLAR_ENDONLY, 0);
}

static gboolean check_section_names(const char *file, file_places *fp, GPtrArray *errors)
{
    gboolean ok = TRUE;

    for (guint i = 0; i < fp->header_names->len; i++) {
        const char *name = g_ptr_array_index(fp->header_names, i);
        int line = g_array_index(fp->header_lines, int, i);
        char *msg;

        if (section_name_valid(name))
            continue;
        if (g_str_has_prefix(name, "module"))
            msg = g_strdup_printf(
                "bad module section [%s]: write [module NAME] or [module NAME:INSTANCE]; NAME "
                "has lowercase letters, digits, '-' and '_' and starts with a letter or digit, "
                "INSTANCE has letters, digits, '-' and '_'",
                name);
        else
            msg = g_strdup_printf("unknown section [%s]: the sections are [core], [log], "
                                  "[permissions], [location NAME], [module NAME] and "
                                  "[module NAME:INSTANCE]",
                                  name);
        add_error_at(errors, file, line, msg);
        g_free(msg);
        ok = FALSE;
    }
    return ok;
}

static conf_section *section_get_or_add(core_config *cfg, const char *name, const char *file,
                                        int line)
{
    conf_section *sec = config_section(cfg, name);

    if (sec)
        return sec;
    sec = g_new0(conf_section, 1);
    sec->name = g_strdup(name);
    sec->file = file;
    sec->line = line;
    sec->entries = g_ptr_array_new_with_free_func(conf_entry_free);
    sec->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    g_ptr_array_add(cfg->sections, sec);
    g_hash_table_insert(cfg->by_name, sec->name, sec);
    return sec;
}

static void section_set(conf_section *sec, const char *key, const char *raw, const char *file,
                        int line)
{
    conf_entry *e = g_hash_table_lookup(sec->by_key, key);

    if (!e) {
        e = g_new0(conf_entry, 1);
        e->key = g_strdup(key);
        g_ptr_array_add(sec->entries, e);
        g_hash_table_insert(sec->by_key, e->key, e);
    }
    g_free(e->raw);
    e->raw = g_strdup(raw);
    e->file = file;
    e->line = line;
}

/* Adds one parsed file's sections and keys to cfg; its values win over those
 * of earlier files, key by key. */
static void merge_file(core_config *cfg, GKeyFile *kf, const char *file, file_places *fp)
{
    char **groups = g_key_file_get_groups(kf, NULL);

    for (int g = 0; groups[g]; g++) {
        int header = GPOINTER_TO_INT(g_hash_table_lookup(fp->first_header, groups[g]));
        conf_section *sec = section_get_or_add(cfg, groups[g], file, header);
        /* A key written twice in one file is listed twice; both read the
         * later value, so setting it twice is harmless. */
        char **keys = g_key_file_get_keys(kf, groups[g], NULL, NULL);

        for (int k = 0; keys && keys[k]; k++) {
            char *raw = g_key_file_get_value(kf, groups[g], keys[k], NULL);

            g_key_file_set_value(cfg->merged, groups[g], keys[k], raw);
            section_set(sec, keys[k], raw, file, file_places_key_line(fp, groups[g], keys[k]));
            g_free(raw);
        }
        g_strfreev(keys);
    }
    g_strfreev(groups);
}

/* Reads a whole configuration file into *text. Opened non-blocking so that a
 * FIFO cannot stall the caller (the main loop, at reload), and checked to be a
 * regular file of at most FILE_SIZE_MAX bytes before anything is read: a
 * device such as /dev/zero would never end. */
static gboolean read_text(const char *path, char **text, gsize *len, GPtrArray *errors)
{
    struct stat st;
    GString *buf;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        add_error(errors, path, "cannot read the file: %s", g_strerror(errno));
        return FALSE;
    }
    if (fstat(fd, &st) != 0) {
        add_error(errors, path, "cannot read the file: %s", g_strerror(errno));
        close(fd);
        return FALSE;
    }
    if (!S_ISREG(st.st_mode)) {
        add_error(errors, path,
                  "not a regular file (%s): only regular files are read as configuration",
                  S_ISDIR(st.st_mode)    ? "a directory"
                  : S_ISFIFO(st.st_mode) ? "a FIFO"
                  : S_ISCHR(st.st_mode)  ? "a character device"
                  : S_ISBLK(st.st_mode)  ? "a block device"
                  : S_ISSOCK(st.st_mode) ? "a socket"
                                         : "not a file");
        close(fd);
        return FALSE;
    }
    if (st.st_size > FILE_SIZE_MAX) {
        add_error(errors, path, "the file is %lld bytes; a configuration file may have at most %d",
                  (long long)st.st_size, FILE_SIZE_MAX);
        close(fd);
        return FALSE;
    }
    /* The size can change while we read (an editor saving): read to the end,
     * but never past the limit. */
    buf = g_string_sized_new((gsize)st.st_size + 1);
    for (;;) {
        char chunk[65536];
        ssize_t n = read(fd, chunk, sizeof chunk);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            add_error(errors, path, "cannot read the file: %s", g_strerror(errno));
            break;
        }
        if (n == 0) {
            close(fd);
            *len = buf->len;
            *text = g_string_free(buf, FALSE);
            return TRUE;
        }
        if (buf->len + (gsize)n > FILE_SIZE_MAX) {
            add_error(errors, path, "the file grew past %d bytes while being read", FILE_SIZE_MAX);
            break;
        }
        g_string_append_len(buf, chunk, n);
    }
    close(fd);
    g_string_free(buf, TRUE);
    return FALSE;
}

/* The 1-based line of byte `offset` in text. */
static int line_of(const char *text, gsize offset)
{
    int line = 1;

    for (gsize i = 0; i < offset; i++)
        line += text[i] == '\n';
    return line;
}

/* Reads, parses, checks the section names of and merges one file. Returns
 * FALSE after appending errors. */
static gboolean read_file(core_config *cfg, const char *path, GPtrArray *errors)
{
    GError *err = NULL;
    char *text = NULL, *body;
    gsize len = 0;
    GKeyFile *kf;
    file_places fp;
    const char *file;
    const char *nul;
    gboolean ok;

    if (!read_text(path, &text, &len, errors))
        return FALSE;
    body = text;
    if (len >= 3 && memcmp(body, UTF8_BOM, 3) == 0) {
        body += 3;
        len -= 3;
    }
    /* GKeyFile would end the value (or the line) at a NUL without a word. */
    nul = memchr(body, '\0', len);
    if (nul) {
        char *where = format_where(path, line_of(body, (gsize)(nul - body)));

        add_error(errors, where, "a NUL byte in the line: a configuration file is text");
        g_free(where);
        g_free(text);
        return FALSE;
    }
    kf = g_key_file_new();
    if (!g_key_file_load_from_data(kf, body, len, G_KEY_FILE_NONE, &err)) {
        char *where = format_where(path, first_bad_line(body, len));
        char *message = core_config_clip_message(err->message);

        add_error(errors, where, "syntax error: %s", message);
        g_free(message);
        g_free(where);
        g_error_free(err);
        g_key_file_free(kf);
        g_free(text);
        return FALSE;
    }
    file = config_add_file(cfg, path);
    file_places_scan(&fp, body);
    ok = check_section_names(file, &fp, errors);
    merge_file(cfg, kf, file, &fp);
    file_places_clear(&fp);
    g_key_file_free(kf);
    g_free(text);
    return ok;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The drop-in files of `dir`, sorted by byte value of their names so the
 * order does not depend on the locale. Hidden files (editor and package
 * manager leftovers) are skipped. A missing directory has none. */
static GPtrArray *list_drop_ins(const char *dir, GPtrArray *errors, gboolean *ok)
{
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *names = g_ptr_array_new();
    GError *err = NULL;
    GDir *d = g_dir_open(dir, 0, &err);
    const char *name;

    if (!d) {
        if (!g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            add_error(errors, dir, "cannot read the drop-in directory: %s", err->message);
            *ok = FALSE;
        }
        g_error_free(err);
        g_ptr_array_unref(names);
        return paths;
    }
    while ((name = g_dir_read_name(d)))
        if (name[0] != '.' && g_str_has_suffix(name, DROP_IN_SUFFIX))
            g_ptr_array_add(names, (gpointer)name);
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++)
        g_ptr_array_add(paths, g_build_filename(dir, g_ptr_array_index(names, i), NULL));
    g_ptr_array_unref(names);
    g_dir_close(d);
    return paths;
}

/* ---- Typed values -------------------------------------------------------- */

typedef struct typed_value {
    char *string;    /* STRING */
    int64_t integer; /* INT, DURATION (ms) */
    int boolean;     /* BOOL */
    double number;   /* DOUBLE */
    char **list;     /* LIST, NULL-terminated */
    size_t count;    /* LIST */
} typed_value;

static void typed_value_clear(typed_value *v)
{
    g_free(v->string);
    g_strfreev(v->list);
    memset(v, 0, sizeof(*v));
}

static const char *type_name(uint32_t type)
{
    switch (type) {
    case UCD_CONFIG_STRING:
        return "string";
    case UCD_CONFIG_INT:
        return "integer";
    case UCD_CONFIG_BOOL:
        return "boolean";
    case UCD_CONFIG_DOUBLE:
        return "number";
    case UCD_CONFIG_LIST:
        return "list";
    case UCD_CONFIG_DURATION:
        return "duration";
    default:
        return NULL;
    }
}

/* The value as a string with GKeyFile's escapes resolved. */
static char *read_string(GKeyFile *kf, const char *group, const char *key, char **problem)
{
    GError *err = NULL;
    char *s = g_key_file_get_string(kf, group, key, &err);

    /* GKeyFile may return a string and an error (a bad escape). */
    if (err) {
        g_free(s);
        *problem = g_strdup_printf("cannot be read: %s", err->message);
        g_error_free(err);
        return NULL;
    }
    return s;
}

static gboolean convert_int(const char *s, typed_value *out, char **problem)
{
    GError *err = NULL;
    gint64 v;

    if (g_ascii_string_to_signed(s, 10, G_MININT64, G_MAXINT64, &v, &err)) {
        out->integer = v;
        return TRUE;
    }
    if (g_error_matches(err, G_NUMBER_PARSER_ERROR, G_NUMBER_PARSER_ERROR_OUT_OF_BOUNDS))
        *problem = g_strdup_printf("'%s' is out of range for a 64-bit integer", s);
    else
        *problem = g_strdup_printf("'%s' is not an integer (write decimal digits, e.g. 42)", s);
    g_error_free(err);
    return FALSE;
}

static gboolean convert_bool(const char *s, typed_value *out, char **problem)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(s, yes[i]) == 0 || g_ascii_strcasecmp(s, no[i]) == 0) {
            out->boolean = g_ascii_strcasecmp(s, yes[i]) == 0;
            return TRUE;
        }
    }
    *problem =
        g_strdup_printf("'%s' is not a boolean (write true/false, yes/no, on/off or 1/0)", s);
    return FALSE;
}

static gboolean convert_double(const char *s, typed_value *out, char **problem)
{
    char *end = NULL;
    double d;

    errno = 0;
    d = g_ascii_strtod(s, &end);
    if (end == s || *end != '\0') {
        *problem = g_strdup_printf("'%s' is not a number (e.g. 2, 0.5 or 1e-3)", s);
        return FALSE;
    }
    if (!isfinite(d) || (errno == ERANGE && fabs(d) > 1.0)) {
        *problem = g_strdup_printf("'%s' is out of range for a number", s);
        return FALSE;
    }
    out->number = d;
    return TRUE;
}

static const struct {
    const char *unit;
    int64_t ms;
} duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60 * 1000}, {"h", 3600 * 1000}, {"d", 24 * 3600 * 1000},
};

static gboolean convert_duration(const char *s, typed_value *out, char **problem)
{
    char *end = NULL;
    guint64 n;

    if (s[0] == '-') {
        *problem = g_strdup_printf("'%s' is negative: a duration is 0 or more", s);
        return FALSE;
    }
    /* g_ascii_strtoull would also take a sign or leading blanks. */
    if (!g_ascii_isdigit(s[0])) {
        *problem = g_strdup_printf("'%s' is not a duration (write a whole number and a unit: "
                                   "ms, s, m, h or d, e.g. 30s)",
                                   s);
        return FALSE;
    }
    errno = 0;
    n = g_ascii_strtoull(s, &end, 10);
    if (*end == '\0') {
        *problem =
            g_strdup_printf("'%s' has no unit: write %sms, %ss, %sm, %sh or %sd", s, s, s, s, s, s);
        return FALSE;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(duration_units); i++) {
        if (strcmp(end, duration_units[i].unit) != 0)
            continue;
        if (errno == ERANGE || n > (guint64)(G_MAXINT64 / duration_units[i].ms)) {
            *problem = g_strdup_printf("'%s' is out of range for a duration", s);
            return FALSE;
        }
        out->integer = (int64_t)n * duration_units[i].ms;
        return TRUE;
    }
    *problem =
        g_strdup_printf("'%s' has an unknown unit '%s': the units are ms, s, m, h and d", s, end);
    return FALSE;
}

static gboolean convert_list(GKeyFile *kf, const char *group, const char *key, typed_value *out,
                             char **problem)
{
    GError *err = NULL;
    gsize n = 0;
    char **items = g_key_file_get_string_list(kf, group, key, &n, &err);

    if (err) {
        g_strfreev(items);
        *problem = g_strdup_printf("cannot be read as a list: %s", err->message);
        g_error_free(err);
        return FALSE;
    }
    out->list = items;
    out->count = n;
    return TRUE;
}

/* Converts the value of group/key in kf to `type`. On failure sets *problem to
 * a sentence about the value (g_free). */
static gboolean convert_value(GKeyFile *kf, const char *group, const char *key, uint32_t type,
                              typed_value *out, char **problem)
{
    gboolean ok = FALSE;
    char *s;

    memset(out, 0, sizeof(*out));
    if (type == UCD_CONFIG_LIST)
        return convert_list(kf, group, key, out, problem);
    s = read_string(kf, group, key, problem);
    if (!s)
        return FALSE;
    if (type == UCD_CONFIG_STRING) {
        /* Strings keep what GKeyFile gives, trailing blanks included. */
        out->string = s;
        return TRUE;
    }
    /* GKeyFile keeps trailing blanks, which matter to no number. */
    g_strstrip(s);
    /* No number, boolean or duration is this long; and the messages below
     * would repeat the value whole. */
    if (strlen(s) > VALUE_SHOWN_MAX) {
        char *shown = core_config_clip(s);

        *problem = g_strdup_printf("'%s' is not a%s %s: far too long", shown,
                                   type == UCD_CONFIG_INT ? "n" : "", type_name(type));
        g_free(shown);
        g_free(s);
        return FALSE;
    }
    switch (type) {
    case UCD_CONFIG_INT:
        ok = convert_int(s, out, problem);
        break;
    case UCD_CONFIG_BOOL:
        ok = convert_bool(s, out, problem);
        break;
    case UCD_CONFIG_DOUBLE:
        ok = convert_double(s, out, problem);
        break;
    case UCD_CONFIG_DURATION:
        ok = convert_duration(s, out, problem);
        break;
    default:
        *problem = g_strdup_printf("has an unknown type %u", type);
        break;
    }
    g_free(s);
    return ok;
}

/* Converts a value as it would be written in a file: used for the defaults of
 * key tables, so a default reads exactly like the same text in ucd.conf. */
static gboolean convert_text(const char *text, uint32_t type, typed_value *out, char **problem)
{
    GKeyFile *kf = g_key_file_new();
    gboolean ok;

    g_key_file_set_value(kf, "default", "value", text);
    ok = convert_value(kf, "default", "value", type, out, problem);
    g_key_file_free(kf);
    return ok;
}

/* ---- Binding a section to a key table ------------------------------------ */

typedef struct bound_key {
    char *name;
    uint32_t type;
    uint32_t flags;
    gboolean has_value; /* set in a file, or a default applies */
    typed_value value;
    char *where; /* "FILE:LINE" where set; NULL when the default applies */
} bound_key;

struct core_section {
    char *name;
    char *where;     /* the section header, or the main file */
    GPtrArray *keys; /* bound_key, in declaration order */
    GHashTable *by_name;
    int errors; /* how many errors binding appended */
};

static void bound_key_free(gpointer p)
{
    bound_key *k = p;

    g_free(k->name);
    typed_value_clear(&k->value);
    g_free(k->where);
    g_free(k);
}

void core_section_free(core_section *sec)
{
    if (!sec)
        return;
    g_hash_table_destroy(sec->by_name);
    g_ptr_array_unref(sec->keys);
    g_free(sec->where);
    g_free(sec->name);
    g_free(sec);
}

static core_section *section_new(core_config *cfg, const char *name)
{
    core_section *sec = g_new0(core_section, 1);
    conf_section *cs = config_section(cfg, name);

    sec->name = g_strdup(name);
    sec->where = cs ? format_where(cs->file, cs->line) : g_strdup(config_main_file(cfg));
    sec->keys = g_ptr_array_new_with_free_func(bound_key_free);
    sec->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    return sec;
}

static void G_GNUC_PRINTF(3, 4)
    plugin_bug(core_section *sec, GPtrArray *errors, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    add_error(errors, sec->where, "[%s] plugin bug: %s; report this to the plugin's author",
              sec->name, msg);
    g_free(msg);
    sec->errors++;
}

/* Checks one key declaration and adds it, with its default converted. A
 * required key gets no default, as plugin.h says. */
static void declare_key(core_section *sec, const ucd_config_key *decl, gboolean from_plugin,
                        GPtrArray *errors)
{
    bound_key *k;
    char *problem = NULL;

    if (!type_name(decl->type)) {
        plugin_bug(sec, errors, "key '%s' has an unknown type %u", decl->name, decl->type);
        return;
    }
    if (g_hash_table_contains(sec->by_name, decl->name)) {
        plugin_bug(sec, errors,
                   from_plugin ? "key '%s' is declared twice"
                               : "key '%s' is declared by the plugin but belongs to the core",
                   decl->name);
        return;
    }
    k = g_new0(bound_key, 1);
    k->name = g_strdup(decl->name);
    k->type = decl->type;
    k->flags = decl->flags;
    if (decl->default_value && !(decl->flags & UCD_KEY_REQUIRED)) {
        if (convert_text(decl->default_value, decl->type, &k->value, &problem)) {
            k->has_value = TRUE;
        } else {
            plugin_bug(sec, errors, "the default of key '%s' (%s) does not parse: %s", decl->name,
                       type_name(decl->type), problem);
            g_free(problem);
        }
    }
    g_ptr_array_add(sec->keys, k);
    g_hash_table_insert(sec->by_name, k->name, k);
}

/* Walks a key table `stride` bytes per element. Only the members of the ABI
 * 1.0 ucd_config_key are read, and only those within the stride: a plugin
 * built with a smaller struct gets zero for what it lacks. */
static void declare_table(core_section *sec, const ucd_config_key *table, size_t stride,
                          gboolean from_plugin, GPtrArray *errors)
{
    const char *p = (const char *)table;

    if (!table)
        return;
    if (stride == 0)
        stride = sizeof(ucd_config_key);
    for (;; p += stride) {
        ucd_config_key decl = {0};

        memcpy(&decl, p, MIN(stride, sizeof(decl)));
        if (!decl.name)
            break;
        declare_key(sec, &decl, from_plugin, errors);
    }
}

static char *known_keys(core_section *sec)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < sec->keys->len; i++) {
        bound_key *k = g_ptr_array_index(sec->keys, i);

        g_string_append_printf(s, "%s%s", i ? ", " : "", k->name);
    }
    if (s->len == 0)
        g_string_append(s, "none");
    return g_string_free(s, FALSE);
}

/* UCD_KEY_NAME (plugin.h): letters, digits and '_', not starting with a
 * digit, optionally "schema.table". */
static gboolean plain_name(const char *s)
{
    const char *dot = strchr(s, '.');

    for (int part = 0; part < 2; part++) {
        const char *end = part == 0 && dot ? dot : s + strlen(s);

        if (s == end || g_ascii_isdigit(*s))
            return FALSE;
        for (const char *p = s; p < end; p++)
            if (!g_ascii_isalnum(*p) && *p != '_')
                return FALSE;
        if (part == 0 && !dot)
            return TRUE;
        s = dot + 1;
    }
    return TRUE;
}

/* Whether `user` (with `group`, or the user's primary group, and the user's
 * supplementary groups, as core_service_drop_privileges() sets them) may read
 * `path`: 0, or the errno of access(R_OK) as that user. A forked child takes
 * the identity and asks the kernel, so modes, owners, groups, ACLs and every
 * directory on the way count exactly as they will for the daemon. -1 when
 * the user or group does not exist or the probe could not run (the caller
 * then checks as itself; the start reports an unknown user). */
static int access_as(const char *path, const char *user, const char *group)
{
    struct passwd *pw = getpwnam(user);
    struct group *gr = group ? getgrnam(group) : NULL;

    if (!pw || (group && !gr))
        return -1;
    uid_t uid = pw->pw_uid;
    gid_t gid = gr ? gr->gr_gid : pw->pw_gid;
    int count = 64;
    gid_t *groups = g_new(gid_t, count);
    if (getgrouplist(user, gid, groups, &count) < 0) {
        groups = g_renew(gid_t, groups, count);
        if (getgrouplist(user, gid, groups, &count) < 0)
            count = 0;
    }
    /* The child only makes async-signal-safe calls: the daemon may have
     * threads when a reload checks a file. */
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups((size_t)count, groups) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
            _exit(255);
        _exit(access(path, R_OK) == 0 ? 0 : MIN(errno, 254));
    }
    g_free(groups);
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) == 255)
        return -1;
    return WEXITSTATUS(status);
}

/* UCD_KEY_FILE (plugin.h): an existing regular file that ucd may read. NULL
 * when it is, else why not (g_free). Run as root with a [core] user set (a
 * start, --check-config), the daemon reads the file only after dropping to
 * that user: whether root may read it says nothing, so the check is made as
 * that user. */
static char *file_problem(core_config *cfg, const char *path)
{
    struct stat st;
    const char *user = geteuid() == 0 ? core_config_raw(cfg, "core", "user") : NULL;

    if (stat(path, &st) != 0)
        return g_strdup_printf("%s", g_strerror(errno));
    if (!S_ISREG(st.st_mode))
        return g_strdup(S_ISDIR(st.st_mode) ? "a directory, not a file" : "not a regular file");
    if (user && *user) {
        const char *group = core_config_raw(cfg, "core", "group");
        int code = access_as(path, user, group && *group ? group : NULL);
        if (code > 0)
            return g_strdup_printf("not readable by [core] user '%s', which ucd runs as: %s", user,
                                   g_strerror(code));
        if (code == 0)
            return NULL;
    }
    if (access(path, R_OK) != 0)
        return g_strdup_printf("not readable: %s", g_strerror(errno));
    return NULL;
}

/* The checks that plugin.h's UCD_KEY_FILE and UCD_KEY_NAME ask for, on a
 * value set in a file (an empty string means "none" and passes). Unknown
 * flags are ignored: newer plugins may ask for checks this core lacks. */
static void check_flags(core_config *cfg, core_section *sec, bound_key *k, const char *where,
                        GPtrArray *errors)
{
    const char *one[2] = {k->value.string, NULL};
    const char *const *items =
        k->type == UCD_CONFIG_LIST ? (const char *const *)k->value.list : one;

    if (!(k->flags & (UCD_KEY_FILE | UCD_KEY_NAME)) ||
        (k->type != UCD_CONFIG_STRING && k->type != UCD_CONFIG_LIST))
        return;
    for (; items && *items; items++) {
        char *shown, *problem = NULL;

        if (**items == '\0')
            continue;
        if (k->flags & UCD_KEY_FILE)
            problem = file_problem(cfg, *items);
        if (!problem && (k->flags & UCD_KEY_NAME) && !plain_name(*items))
            problem = g_strdup("not a plain name (ASCII letters, digits and '_', not starting "
                               "with a digit; optionally SCHEMA.NAME)");
        if (!problem)
            continue;
        shown = core_config_clip(*items);
        add_error(errors, where, "[%s] %s: '%s': %s", sec->name, k->name, shown, problem);
        g_free(shown);
        g_free(problem);
        sec->errors++;
    }
}

static void bind_entry(core_config *cfg, core_section *sec, conf_entry *e, gboolean report_unknown,
                       GPtrArray *errors)
{
    bound_key *k = g_hash_table_lookup(sec->by_name, e->key);
    char *where = format_where(e->file, e->line);
    char *problem = NULL;
    typed_value v;

    if (!k) {
        if (report_unknown) {
            char *known = known_keys(sec);

            add_error(errors, where, "[%s] unknown key '%s' (known: %s)", sec->name, e->key, known);
            g_free(known);
            sec->errors++;
        }
    } else if (!convert_value(cfg->merged, sec->name, e->key, k->type, &v, &problem)) {
        add_error(errors, where, "[%s] %s: %s", sec->name, e->key, problem);
        g_free(problem);
        sec->errors++;
    } else {
        typed_value_clear(&k->value);
        k->value = v;
        k->has_value = TRUE;
        g_free(k->where);
        k->where = g_strdup(where);
        check_flags(cfg, sec, k, where, errors);
    }
    g_free(where);
}

static void check_required(core_section *sec, GPtrArray *errors)
{
    for (guint i = 0; i < sec->keys->len; i++) {
        bound_key *k = g_ptr_array_index(sec->keys, i);

        if ((k->flags & UCD_KEY_REQUIRED) && !k->where) {
            add_error(errors, sec->where, "[%s] missing required key '%s' (%s)", sec->name, k->name,
                      type_name(k->type));
            sec->errors++;
        }
    }
}

/* Binds without giving up on errors (sec->errors counts them), so the core's
 * own checks can go on with the values that are fine. */
static core_section *bind_section(core_config *cfg, const char *name, const ucd_config_key *keys,
                                  size_t stride, const ucd_config_key *extra_keys,
                                  gboolean report_unknown, GPtrArray *errors)
{
    core_section *sec = section_new(cfg, name);
    conf_section *cs = config_section(cfg, name);

    declare_table(sec, keys, stride, TRUE, errors);
    declare_table(sec, extra_keys, sizeof(ucd_config_key), FALSE, errors);
    for (guint i = 0; cs && i < cs->entries->len; i++)
        bind_entry(cfg, sec, g_ptr_array_index(cs->entries, i), report_unknown, errors);
    check_required(sec, errors);
    return sec;
}

core_section *core_section_bind(core_config *cfg, const char *section, const ucd_config_key *keys,
                                size_t stride, const ucd_config_key *extra_keys, GPtrArray *errors)
{
    core_section *sec = bind_section(cfg, section, keys, stride, extra_keys, TRUE, errors);

    if (sec->errors > 0) {
        core_section_free(sec);
        return NULL;
    }
    return sec;
}

/* The key's value when it is declared with one of the two types. */
static int section_lookup(core_section *sec, const char *key, uint32_t type, uint32_t alt_type,
                          bound_key **out)
{
    bound_key *k;

    if (!sec || !key)
        return UCD_E_INVALID;
    k = g_hash_table_lookup(sec->by_name, key);
    if (!k || (k->type != type && k->type != alt_type))
        return UCD_E_INVALID;
    if (!k->has_value)
        return UCD_E_NOT_FOUND;
    *out = k;
    return UCD_OK;
}

int core_section_string(core_section *sec, const char *key, const char **value)
{
    bound_key *k = NULL;
    int rc = section_lookup(sec, key, UCD_CONFIG_STRING, UCD_CONFIG_STRING, &k);

    if (rc == UCD_OK && value)
        *value = k->value.string;
    return rc;
}

int core_section_int(core_section *sec, const char *key, int64_t *value)
{
    bound_key *k = NULL;
    int rc = section_lookup(sec, key, UCD_CONFIG_INT, UCD_CONFIG_DURATION, &k);

    if (rc == UCD_OK && value)
        *value = k->value.integer;
    return rc;
}

int core_section_bool(core_section *sec, const char *key, int *value)
{
    bound_key *k = NULL;
    int rc = section_lookup(sec, key, UCD_CONFIG_BOOL, UCD_CONFIG_BOOL, &k);

    if (rc == UCD_OK && value)
        *value = k->value.boolean;
    return rc;
}

int core_section_double(core_section *sec, const char *key, double *value)
{
    bound_key *k = NULL;
    int rc = section_lookup(sec, key, UCD_CONFIG_DOUBLE, UCD_CONFIG_DOUBLE, &k);

    if (rc == UCD_OK && value)
        *value = k->value.number;
    return rc;
}

int core_section_list(core_section *sec, const char *key, const char *const **items, size_t *count)
{
    bound_key *k = NULL;
    int rc = section_lookup(sec, key, UCD_CONFIG_LIST, UCD_CONFIG_LIST, &k);

    if (rc == UCD_OK) {
        if (items)
            *items = (const char *const *)k->value.list;
        if (count)
            *count = k->value.count;
    }
    return rc;
}

char *core_section_where(core_section *sec, const char *key)
{
    bound_key *k = key ? g_hash_table_lookup(sec->by_name, key) : NULL;

    return g_strdup(k && k->where ? k->where : sec->where);
}

gboolean core_section_is_secret(core_section *sec, const char *key)
{
    bound_key *k = sec && key ? g_hash_table_lookup(sec->by_name, key) : NULL;

    return k && (k->flags & UCD_KEY_SECRET);
}

/* ---- Module sections ----------------------------------------------------- */

static int level_from_name(const char *name)
{
    for (int i = 0; name && log_levels[i]; i++)
        if (strcmp(name, log_levels[i]) == 0)
            return UCD_LOG_ERROR + i;
    return -1;
}

/* Reads the core keys of a module section leniently: a wrong value leaves the
 * default here, and core_config_check() reports it. */
static core_module_conf *module_conf_new(core_config *cfg, const char *section)
{
    GPtrArray *ignored = g_ptr_array_new_with_free_func(g_free);
    core_section *sec =
        bind_section(cfg, section, NULL, 0, core_config_module_keys, FALSE, ignored);
    core_module_conf *m = g_new0(core_module_conf, 1);
    const char *id = section + strlen(MODULE_PREFIX);
    const char *colon = strchr(id, ':');
    const char *s = NULL;
    int b;

    m->section = g_strdup(section);
    m->id = g_strdup(id);
    m->name = colon ? g_strndup(id, colon - id) : g_strdup(id);
    m->instance = colon ? g_strdup(colon + 1) : NULL;
    m->enabled = core_section_bool(sec, "enabled", &b) == UCD_OK ? b : TRUE;
    m->required = core_section_bool(sec, "required", &b) == UCD_OK ? b : FALSE;
    if (core_section_string(sec, "path", &s) == UCD_OK)
        m->path = g_strdup(s);
    m->log_level = core_section_string(sec, "log_level", &s) == UCD_OK ? level_from_name(s) : -1;
    if (core_section_string(sec, "location", &s) == UCD_OK)
        m->location = g_strdup(s);
    core_section_free(sec);
    g_ptr_array_unref(ignored);
    return m;
}

static void build_modules(core_config *cfg)
{
    for (guint i = 0; i < cfg->sections->len; i++) {
        conf_section *cs = g_ptr_array_index(cfg->sections, i);

        if (g_str_has_prefix(cs->name, MODULE_PREFIX))
            g_ptr_array_add(cfg->modules, module_conf_new(cfg, cs->name));
    }
}

char **core_config_sections(core_config *cfg, const char *prefix)
{
    GPtrArray *names = g_ptr_array_new();
    for (guint i = 0; i < cfg->sections->len; i++) {
        conf_section *cs = g_ptr_array_index(cfg->sections, i);
        if (g_str_has_prefix(cs->name, prefix))
            g_ptr_array_add(names, g_strdup(cs->name));
    }
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(names, FALSE);
}

GPtrArray *core_config_modules(core_config *cfg)
{
    return cfg->modules;
}

/* ---- Loading ------------------------------------------------------------- */

core_config *core_config_load(const char *main_file, const char *conf_dir, GPtrArray *errors)
{
    core_config *cfg = config_new();
    char *default_dir = NULL;
    GPtrArray *drop_ins;
    gboolean ok = TRUE;

    if (!main_file)
        main_file = DEFAULT_MAIN_FILE;
    if (!conf_dir) {
        char *parent = g_path_get_dirname(main_file);

        conf_dir = default_dir = g_build_filename(parent, DROP_IN_DIR_NAME, NULL);
        g_free(parent);
    }
    ok = read_file(cfg, main_file, errors);
    drop_ins = list_drop_ins(conf_dir, errors, &ok);
    for (guint i = 0; i < drop_ins->len; i++)
        ok = read_file(cfg, g_ptr_array_index(drop_ins, i), errors) && ok;
    g_ptr_array_unref(drop_ins);
    if (ok && cfg->sections->len == 0) {
        /* An empty file is "valid" INI, but a daemon started on it runs
         * nothing: most likely a truncated file or the wrong path. */
        add_error(errors, main_file,
                  "the configuration is empty: no section in this file or in the drop-ins of "
                  "%s (write at least a [module NAME] section)",
                  conf_dir);
        ok = FALSE;
    }
    g_free(default_dir);
    if (!ok) {
        core_config_free(cfg);
        return NULL;
    }
    build_modules(cfg);
    return cfg;
}

/* ---- Checking the core's own sections ------------------------------------ */

static const char *set_value_where(core_section *sec, const char *key)
{
    bound_key *k = g_hash_table_lookup(sec->by_name, key);

    return k ? k->where : NULL;
}

/* Only values set in a file are checked: the defaults are known good. */
static void check_int_range(core_section *sec, const char *key, int64_t min, int64_t max,
                            GPtrArray *errors)
{
    const char *where = set_value_where(sec, key);
    int64_t v;

    if (!where || core_section_int(sec, key, &v) != UCD_OK)
        return;
    if (v < min || v > max) {
        add_error(errors, where,
                  "[%s] %s: %" G_GINT64_FORMAT " is out of range (%" G_GINT64_FORMAT
                  "..%" G_GINT64_FORMAT ")",
                  sec->name, key, v, min, max);
        sec->errors++;
    }
}

static void check_word(core_section *sec, const char *key, const char *const *words,
                       GPtrArray *errors)
{
    const char *where = set_value_where(sec, key);
    const char *v = NULL;
    char *list;

    if (!where || core_section_string(sec, key, &v) != UCD_OK || g_strv_contains(words, v))
        return;
    list = g_strjoinv(", ", (char **)words);
    char *shown = core_config_clip(v);
    add_error(errors, where, "[%s] %s: '%s' is not one of %s", sec->name, key, shown, list);
    g_free(shown);
    g_free(list);
    sec->errors++;
}

/* A unix socket path must fit sockaddr_un.sun_path with its NUL: the start
 * would fail at bind() otherwise, after --check-config said OK. */
static void check_socket_path(core_section *sec, const char *key, GPtrArray *errors)
{
    struct sockaddr_un addr;
    const char *where = set_value_where(sec, key);
    const char *v = NULL;

    if (!where || core_section_string(sec, key, &v) != UCD_OK)
        return;
    if (*v == '\0') {
        add_error(errors, where, "[%s] %s: the path is empty", sec->name, key);
        sec->errors++;
    } else if (strlen(v) >= sizeof addr.sun_path) {
        char *shown = core_config_clip(v);

        add_error(errors, where,
                  "[%s] %s: '%s' is %zu bytes; a unix socket path may have at most %zu", sec->name,
                  key, shown, strlen(v), sizeof addr.sun_path - 1);
        g_free(shown);
        sec->errors++;
    }
}

static int check_core(core_config *cfg, GPtrArray *errors)
{
    core_section *sec = bind_section(cfg, "core", core_config_core_keys, sizeof(ucd_config_key),
                                     NULL, TRUE, errors);
    int n;

    check_int_range(sec, "worker_threads", WORKER_THREADS_MIN, WORKER_THREADS_MAX, errors);
    check_int_range(sec, "bus_queue_size", BUS_QUEUE_MIN, BUS_QUEUE_MAX, errors);
    check_socket_path(sec, "control_socket", errors);
    n = sec->errors;
    core_section_free(sec);
    return n;
}

static int check_log(core_config *cfg, GPtrArray *errors)
{
    core_section *sec =
        bind_section(cfg, "log", core_config_log_keys, sizeof(ucd_config_key), NULL, TRUE, errors);
    int n;

    check_word(sec, "target", log_targets, errors);
    check_word(sec, "level", log_levels, errors);
    check_int_range(sec, "recent_lines", RECENT_LINES_MIN, RECENT_LINES_MAX, errors);
    n = sec->errors;
    core_section_free(sec);
    return n;
}

/* Only the core keys: the plugin's keys are checked when the plugin's key
 * table is known (core_section_bind). */
static int check_module(core_config *cfg, const char *section, GPtrArray *errors)
{
    core_section *sec = bind_section(cfg, section, NULL, 0, core_config_module_keys, FALSE, errors);
    int n;

    check_word(sec, "log_level", log_levels, errors);
    n = sec->errors;
    core_section_free(sec);
    return n;
}

int core_config_check(core_config *cfg, GPtrArray *errors)
{
    int n = check_core(cfg, errors) + check_log(cfg, errors);

    for (guint i = 0; i < cfg->modules->len; i++) {
        core_module_conf *m = g_ptr_array_index(cfg->modules, i);

        n += check_module(cfg, m->section, errors);
    }
    return n;
}

/* ---- Raw access, comparison, export -------------------------------------- */

const char *core_config_raw(core_config *cfg, const char *section, const char *key)
{
    conf_entry *e = config_entry(cfg, section, key);

    return e ? e->raw : NULL;
}

char *core_config_where(core_config *cfg, const char *section, const char *key)
{
    conf_section *sec = config_section(cfg, section);
    conf_entry *e;

    if (!sec)
        return NULL;
    if (!key)
        return format_where(sec->file, sec->line);
    e = g_hash_table_lookup(sec->by_key, key);
    return e ? format_where(e->file, e->line) : NULL;
}

/* A missing section compares like an empty one: both mean "all defaults". */
gboolean core_config_section_equal(core_config *a, core_config *b, const char *section)
{
    conf_section *sa = config_section(a, section);
    conf_section *sb = config_section(b, section);
    guint na = sa ? sa->entries->len : 0;
    guint nb = sb ? sb->entries->len : 0;

    if (na != nb)
        return FALSE;
    for (guint i = 0; i < na; i++) {
        conf_entry *ea = g_ptr_array_index(sa->entries, i);
        conf_entry *eb = g_hash_table_lookup(sb->by_key, ea->key);

        if (!eb || strcmp(ea->raw, eb->raw) != 0)
            return FALSE;
    }
    return TRUE;
}

static gboolean name_looks_secret(const char *key)
{
    char *lower = g_ascii_strdown(key, -1);
    gboolean secret =
        strstr(lower, "password") || strstr(lower, "secret") || strstr(lower, "token");

    g_free(lower);
    return secret;
}

char *core_config_dump_redacted(core_config *cfg,
                                gboolean (*is_secret)(const char *section, const char *key,
                                                      void *ud),
                                void *ud)
{
    GString *out = g_string_new("# ucd configuration, read from:");

    for (guint i = 0; i + 1 < cfg->files->len; i++)
        g_string_append_printf(out, " %s", (const char *)g_ptr_array_index(cfg->files, i));
    g_string_append_c(out, '\n');
    for (guint i = 0; i < cfg->sections->len; i++) {
        conf_section *sec = g_ptr_array_index(cfg->sections, i);

        g_string_append_printf(out, "\n[%s]\n", sec->name);
        for (guint j = 0; j < sec->entries->len; j++) {
            conf_entry *e = g_ptr_array_index(sec->entries, j);
            gboolean hide =
                name_looks_secret(e->key) || (is_secret && is_secret(sec->name, e->key, ud));

            g_string_append_printf(out, "%s=%s\n", e->key, hide ? "<redacted>" : e->raw);
        }
    }
    return g_string_free(out, FALSE);
}
