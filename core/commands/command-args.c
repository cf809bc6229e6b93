/*
 * command-args.c - option parsing, times and errors of the model's ucctl
 * commands (command-args.h).
 */
#include <string.h>

#include "command-args.h"
#include "control.h"

int command_fail(ucd_reply *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_reply_errorv(r, fmt, ap);
    va_end(ap);
    return code;
}

void command_reply_count(ucd_reply *r, const char *name, uint64_t value)
{
    char buf[32];
    g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, value);
    core_reply_field(r, name, buf);
}

const char *or_empty(const char *s)
{
    return s ? s : "";
}

char *local_time_text(int64_t ms)
{
    if (!ms)
        return g_strdup("");
    GDateTime *utc = g_date_time_new_from_unix_utc(ms / 1000);
    GDateTime *local = utc ? g_date_time_to_local(utc) : NULL;
    char *s = local ? g_date_time_format(local, "%Y-%m-%d %H:%M:%S") : g_strdup("");
    if (local)
        g_date_time_unref(local);
    if (utc)
        g_date_time_unref(utc);
    return s;
}

gboolean command_parse_options(int argc, const char *const *argv, GOptionEntry *entries,
                               char ***args, ucd_reply *r)
{
    GOptionContext *ctx = g_option_context_new(NULL);
    /* The daemon must never print help and exit on a client's --help. */
    g_option_context_set_help_enabled(ctx, FALSE);
    g_option_context_add_main_entries(ctx, entries, NULL);
    *args = g_new0(char *, argc + 1);
    for (int i = 0; i < argc; i++)
        (*args)[i] = g_strdup(argv[i]);
    GError *err = NULL;
    gboolean ok = g_option_context_parse_strv(ctx, args, &err);
    if (!ok) {
        core_reply_error(r, "%s: %s", argv[0], err->message);
        g_error_free(err);
        g_strfreev(*args);
        *args = NULL;
    }
    g_option_context_free(ctx);
    return ok;
}

int64_t parse_duration_ms(const char *s)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    char *end = NULL;
    gint64 n = g_ascii_strtoll(s, &end, 10);
    if (end == s || n < 0)
        return -1;
    for (size_t i = 0; i < G_N_ELEMENTS(units); i++)
        if (strcmp(end, units[i].unit) == 0)
            return n * units[i].ms;
    return -1;
}

int64_t parse_time_ms(const char *s)
{
    GTimeZone *tz = g_time_zone_new_local();
    GDateTime *dt = g_date_time_new_from_iso8601(s, tz);
    if (!dt) {
        char *midnight = g_strconcat(s, "T00:00:00", NULL);
        dt = g_date_time_new_from_iso8601(midnight, tz);
        g_free(midnight);
    }
    g_time_zone_unref(tz);
    if (!dt)
        return -1;
    int64_t ms = g_date_time_to_unix(dt) * 1000 + g_date_time_get_microsecond(dt) / 1000;
    g_date_time_unref(dt);
    return ms;
}

int64_t parse_until_ms(const char *s)
{
    int64_t d = parse_duration_ms(s);
    return d >= 0 ? g_get_real_time() / 1000 + d : parse_time_ms(s);
}

gboolean parse_uint(const char *s, guint64 max, guint64 *out)
{
    return g_ascii_string_to_unsigned(s, 10, 0, max, out, NULL);
}
