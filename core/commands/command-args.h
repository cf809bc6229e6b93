/*
 * command-args.h - what the model's ucctl commands share: option parsing in
 * the daemon, times and durations as an admin types them, and errors. (The
 * words for states are event.h's, the ones the trace ring writes.)
 */
#ifndef CORE_COMMAND_ARGS_H
#define CORE_COMMAND_ARGS_H

#include <glib.h>
#include <ucd/ucd.h>

/* Replies the error and returns `code`, so handlers can `return command_fail(...)`. */
int command_fail(ucd_reply *r, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Adds a field with a decimal count. */
void command_reply_count(ucd_reply *r, const char *name, uint64_t value);

/* `s`, or "" for NULL. */
const char *or_empty(const char *s);

/* Local "YYYY-MM-DD HH:MM:SS" of a UTC time in ms; "" for 0. g_free it. */
char *local_time_text(int64_t ms);

/* Parses the options of one command with GOption: on success `*args` holds
 * the remaining words (args[0] is the command name; g_strfreev it); else
 * replies "COMMAND: what is wrong". Never prints help, never exits. */
gboolean command_parse_options(int argc, const char *const *argv, GOptionEntry *entries,
                               char ***args, ucd_reply *r);

/* "90s", "30m", "2h", "1d", "500ms" -> milliseconds; -1 when malformed. */
int64_t parse_duration_ms(const char *s);
/* ISO 8601 ("2026-03-01T12:00:00", local time unless a zone is given) or a
 * date "2026-03-01" -> UTC ms; -1 when malformed. */
int64_t parse_time_ms(const char *s);
/* Either form, a duration counting from now; -1 when malformed. */
int64_t parse_until_ms(const char *s);
/* A decimal number 0..max. */
gboolean parse_uint(const char *s, guint64 max, guint64 *out);

#endif /* CORE_COMMAND_ARGS_H */
