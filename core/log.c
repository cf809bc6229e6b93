/*
 * log.c - the core's logger.
 *
 * Every message is escaped before it goes anywhere: text often comes from a
 * peer (a PBX, a directory, a client), and a raw newline or terminal escape in
 * it could forge log lines or rewrite a terminal. Control characters become
 * \n, \r, \t or \xHH, invalid UTF-8 bytes \xHH, C1 controls and the Unicode
 * line separators \uHHHH.
 *
 * One mutex guards the configuration, the level table and the ring; a message
 * below every configured level is rejected before taking it, using an atomic
 * copy of the highest level in use.
 */
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The location would always be this file: leave CODE_FILE & co. out. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#define LEVEL_MIN          0 /* syslog "emerg" */
#define LEVEL_ERROR        3
#define LEVEL_DEBUG        7
#define DEFAULT_LEVEL      6 /* info */
#define DEFAULT_RING_LINES 1000

typedef struct log_state {
    gboolean configured;
    core_log_target target;
    gboolean use_journal;       /* target resolved: write to journald */
    gboolean stderr_is_journal; /* stderr is a journal stream (no time stamp needed) */
    int default_level;
    GHashTable *levels; /* module -> level (GINT_TO_POINTER) */
    char **ring;        /* ring_size slots, the oldest at ring_next when full */
    size_t ring_size;
    size_t ring_next;
    size_t ring_count;
} log_state;

static GMutex log_lock;
static log_state state;
/* The highest level any module logs at: cheaper than the lock for the common
 * "debug is off" answer. */
static atomic_int max_level = DEFAULT_LEVEL;

static const char *const level_names[] = {"error", "warning", "notice", "info", "debug"};
static const char *const level_labels[] = {"ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"};

static int clamp_level(int level)
{
    return CLAMP(level, LEVEL_MIN, LEVEL_DEBUG);
}

/* ---- target selection ----------------------------------------------------- */

/* True when JOURNAL_STREAM names the file stderr is: systemd connected it. */
static gboolean stderr_connected_to_journal(void)
{
    const char *env = g_getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char trailing;
    if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &trailing) != 2)
        return FALSE;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0)
        return FALSE;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void recompute_max_level_locked(void)
{
    int max = state.default_level;
    GHashTableIter it;
    gpointer value;
    if (state.levels != NULL) {
        g_hash_table_iter_init(&it, state.levels);
        while (g_hash_table_iter_next(&it, NULL, &value))
            max = MAX(max, GPOINTER_TO_INT(value));
    }
    atomic_store(&max_level, max);
}

/* Keeps the newest lines that fit in `lines` slots. */
static void ring_resize_locked(size_t lines)
{
    char **ring = lines ? g_new0(char *, lines) : NULL;
    size_t keep = MIN(state.ring_count, lines);
    size_t oldest =
        (state.ring_next + state.ring_size - state.ring_count) % MAX(state.ring_size, 1);
    for (size_t i = 0; i < state.ring_count; i++) {
        char **slot = &state.ring[(oldest + i) % state.ring_size];
        if (i >= state.ring_count - keep)
            ring[i - (state.ring_count - keep)] = *slot;
        else
            g_free(*slot);
    }
    g_free(state.ring);
    state.ring = ring;
    state.ring_size = lines;
    state.ring_count = keep;
    state.ring_next = lines ? keep % lines : 0;
}

static void configure_locked(core_log_target target, int default_level, size_t ring_lines)
{
    if (state.levels == NULL)
        state.levels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    state.configured = TRUE;
    state.target = target;
    state.stderr_is_journal = stderr_connected_to_journal();
    state.use_journal =
        target == CORE_LOG_JOURNAL || (target == CORE_LOG_AUTO && state.stderr_is_journal);
    state.default_level = clamp_level(default_level);
    ring_resize_locked(ring_lines);
    recompute_max_level_locked();
}

/* Logging works before core_log_configure(): it starts with the defaults. */
static void ensure_configured_locked(void)
{
    if (!state.configured)
        configure_locked(CORE_LOG_AUTO, DEFAULT_LEVEL, DEFAULT_RING_LINES);
}

void core_log_configure(core_log_target target, int default_level, size_t ring_lines)
{
    g_mutex_lock(&log_lock);
    configure_locked(target, default_level, ring_lines);
    g_mutex_unlock(&log_lock);
}

int core_log_target_parse(const char *name)
{
    static const char *const names[] = {"auto", "stderr", "journal"};
    for (int i = 0; name != NULL && i < (int)G_N_ELEMENTS(names); i++)
        if (g_ascii_strcasecmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* ---- levels --------------------------------------------------------------- */

void core_log_set_level(const char *module, int level)
{
    g_mutex_lock(&log_lock);
    ensure_configured_locked();
    if (module == NULL) {
        if (level >= 0)
            state.default_level = clamp_level(level);
    } else if (level < 0) {
        g_hash_table_remove(state.levels, module);
    } else {
        g_hash_table_replace(state.levels, g_strdup(module), GINT_TO_POINTER(clamp_level(level)));
    }
    recompute_max_level_locked();
    g_mutex_unlock(&log_lock);
}

static int level_locked(const char *module)
{
    gpointer value;
    if (module != NULL && g_hash_table_lookup_extended(state.levels, module, NULL, &value))
        return GPOINTER_TO_INT(value);
    return state.default_level;
}

int core_log_level(const char *module)
{
    g_mutex_lock(&log_lock);
    ensure_configured_locked();
    int level = level_locked(module);
    g_mutex_unlock(&log_lock);
    return level;
}

gboolean core_log_enabled(const char *module, int level)
{
    if (level > atomic_load_explicit(&max_level, memory_order_relaxed))
        return FALSE;
    return level <= core_log_level(module);
}

int core_log_level_parse(const char *name)
{
    for (int i = 0; name != NULL && i < (int)G_N_ELEMENTS(level_names); i++)
        if (g_ascii_strcasecmp(name, level_names[i]) == 0)
            return LEVEL_ERROR + i;
    return -1;
}

const char *core_log_level_name(int level)
{
    if (level < LEVEL_ERROR || level > LEVEL_DEBUG)
        return "unknown";
    return level_names[level - LEVEL_ERROR];
}

/* The label in a line; the syslog levels above "error" count as errors. */
static const char *level_label(int level)
{
    return level_labels[CLAMP(level, LEVEL_ERROR, LEVEL_DEBUG) - LEVEL_ERROR];
}

/* ---- formatting ----------------------------------------------------------- */

static void append_control(GString *out, unsigned char c)
{
    switch (c) {
    case '\n':
        g_string_append(out, "\\n");
        break;
    case '\r':
        g_string_append(out, "\\r");
        break;
    case '\t':
        g_string_append(out, "\\t");
        break;
    default:
        g_string_append_printf(out, "\\x%02x", c);
        break;
    }
}

/* Appends `s` with everything that could break a line or drive a terminal
 * escaped (see the top of this file). */
static void append_escaped(GString *out, const char *s)
{
    const char *p = s;
    while (*p != '\0') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                append_control(out, c);
            else
                g_string_append_c(out, (char)c);
            p++;
            continue;
        }
        gunichar u = g_utf8_get_char_validated(p, -1);
        if (u == (gunichar)-1 || u == (gunichar)-2) {
            g_string_append_printf(out, "\\x%02x", c);
            p++;
            continue;
        }
        const char *next = g_utf8_next_char(p);
        if (u <= 0x9f || u == 0x2028 || u == 0x2029)
            g_string_append_printf(out, "\\u%04x", (unsigned)u);
        else
            g_string_append_len(out, p, next - p);
        p = next;
    }
}

/* "2026-11-22T15:00:00.123Z" for `usec` since the epoch. */
static void format_timestamp(char *buf, size_t size, int64_t usec)
{
    time_t secs = (time_t)(usec / G_USEC_PER_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    g_snprintf(buf + n, size - n, ".%03dZ", (int)(usec % G_USEC_PER_SEC / 1000));
}

/* ---- output --------------------------------------------------------------- */

/* One write() per line, so lines of concurrent processes do not interleave. */
static void write_stderr(const char *line, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, line, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* nowhere left to complain to */
        line += n;
        len -= (size_t)n;
    }
}

static void ring_append_locked(char *line)
{
    if (state.ring_size == 0) {
        g_free(line);
        return;
    }
    g_free(state.ring[state.ring_next]); /* NULL until the ring is full */
    state.ring[state.ring_next] = line;
    state.ring_next = (state.ring_next + 1) % state.ring_size;
    state.ring_count = MIN(state.ring_count + 1, state.ring_size);
}

/* Writes one escaped message to the configured target; lock held. */
static void emit_locked(int level, const char *module, const char *text, const char *stamp)
{
    if (state.use_journal && sd_journal_send("MESSAGE=%s: %s", module, text, "PRIORITY=%d", level,
                                             "UCD_MODULE=%s", module, "SYSLOG_IDENTIFIER=%s",
                                             g_get_prgname() ? g_get_prgname() : "ucd", NULL) >= 0)
        return;
    /* stderr, also when journald refused the message. The journal stamps
     * lines itself and reads the priority from a "<N>" prefix. */
    char *line = state.stderr_is_journal
                     ? g_strdup_printf("<%d>%s %s: %s\n", level, level_label(level), module, text)
                     : g_strdup_printf("%s %s %s: %s\n", stamp, level_label(level), module, text);
    write_stderr(line, strlen(line));
    g_free(line);
}

void core_logv(const char *module, int level, const char *fmt, va_list ap)
{
    if (module == NULL)
        module = "core";
    if (!core_log_enabled(module, level))
        return;
    level = clamp_level(level);

    char *raw = g_strdup_vprintf(fmt, ap);
    GString *text = g_string_sized_new(strlen(raw) + 16);
    append_escaped(text, raw);
    g_free(raw);
    GString *mod = g_string_new(NULL);
    append_escaped(mod, module);
    char stamp[40];
    format_timestamp(stamp, sizeof(stamp), g_get_real_time());

    g_mutex_lock(&log_lock);
    ensure_configured_locked();
    emit_locked(level, mod->str, text->str, stamp);
    ring_append_locked(
        g_strdup_printf("%s %s %s: %s", stamp, level_label(level), mod->str, text->str));
    g_mutex_unlock(&log_lock);

    g_string_free(mod, TRUE);
    g_string_free(text, TRUE);
}

void core_log(const char *module, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_logv(module, level, fmt, ap);
    va_end(ap);
}

char **core_log_recent(void)
{
    g_mutex_lock(&log_lock);
    char **lines = g_new0(char *, state.ring_count + 1);
    size_t oldest = state.ring_size
                        ? (state.ring_next + state.ring_size - state.ring_count) % state.ring_size
                        : 0;
    for (size_t i = 0; i < state.ring_count; i++)
        lines[i] = g_strdup(state.ring[(oldest + i) % state.ring_size]);
    g_mutex_unlock(&log_lock);
    return lines;
}

void core_log_shutdown(void)
{
    g_mutex_lock(&log_lock);
    ring_resize_locked(0);
    if (state.levels != NULL)
        g_hash_table_destroy(state.levels);
    state = (log_state){0};
    atomic_store(&max_level, DEFAULT_LEVEL);
    g_mutex_unlock(&log_lock);
}
