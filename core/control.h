/*
 * control.h - the local control socket that `ucctl` talks to.
 *
 * A unix stream socket (mode 0660, so an admin group can use ucctl without
 * root). The protocol is one JSON object per line each way:
 *
 *   request:  {"argv": ["modules"], "json": true}\n
 *   response: {"ok": true, "columns": ["name", ...], "rows": [["pbx-sim", ...]],
 *              "fields": [{"name": "version", "value": "0.1.0"}],
 *              "text": "free text", "error": "message when ok is false"}\n
 *
 * Members of the response other than "ok" are present only when filled. The
 * server always answers JSON; ucctl renders tables for people unless --json.
 * A request longer than CORE_CONTROL_MAX_REQUEST bytes, one that is not a JSON
 * object with a non-empty "argv" array of strings, or an unknown command gets an
 * error response naming what is wrong; an oversized or non-JSON request also
 * closes that connection. A string with a NUL character (the escape \u0000)
 * is refused: json-glib would cut it there. Nothing a client sends can stop
 * the daemon, and idle connections cannot lock ucctl out (the limits below).
 *
 * Commands run on the main loop. Built-in: "help" (a table of every command:
 * command, usage, help, owner; "help NAME" describes one as fields).
 * Everything else is registered: by the core (status, modules, reload,
 * check-config, log, ...) and by plugins through host->command_register.
 */
#ifndef CORE_CONTROL_H
#define CORE_CONTROL_H

#include <glib.h>
#include <ucd/control.h>
#include <ucd/host.h>

#define CORE_CONTROL_MAX_REQUEST (64 * 1024)
/* At most this many connections at once. When full, the connection that has
 * waited longest for a request is closed to make room; only when every one is
 * busy with a command is the newcomer refused. */
#define CORE_CONTROL_MAX_CLIENTS 64
/* A connection that sends no (complete) request for this long, or does not
 * read its answer within it, is closed. */
#define CORE_CONTROL_IDLE_MS (30 * 1000)
/* The most content one reply may carry (the sum of its strings). A command that
 * writes more gets an error response "reply larger than 16 MiB" instead, so a
 * runaway plugin cannot make the daemon buffer unbounded output. */
#define CORE_CONTROL_MAX_REPLY (16 * 1024 * 1024)

typedef struct core_control core_control;

/* Creates the socket at `path` (removing a stale socket file first, refusing
 * to replace anything that is not a socket, or a socket some process still
 * listens on) with mode 0660, and serves it on `ctx`: every callback and every
 * command runs on whichever thread iterates `ctx`. Who may connect is decided
 * by the socket file's group and the permissions of its parent directory, which
 * the caller prepares: the socket takes the directory's group when the
 * process may give it that group (root may). NULL and *err on failure. */
core_control *core_control_new(GMainContext *ctx, const char *path, GError **err);
/* Closes every connection, removes the socket file (only if it is still the
 * one this server created), frees. Connections with I/O in flight release
 * their last bytes of memory when `ctx` next runs. */
void core_control_free(core_control *ctl);
/* Changes the idle timeout and the connection cap (0 keeps the current
 * value). The daemon uses the defaults above; tests shorten them. */
void core_control_set_limits(core_control *ctl, guint idle_ms, guint max_clients);
/* The socket's path, as given to core_control_new (for log messages). */
const char *core_control_path(core_control *ctl);

/* Registers a top-level command NAME for `owner` ("core" or a module id).
 * UCD_E_BUSY when NAME exists, UCD_E_INVALID for an empty name or one with
 * characters other than [a-z0-9-]. */
int core_control_register(core_control *ctl, const char *owner, const char *name, const char *usage,
                          const char *help, ucd_command_fn fn, void *user_data);
/* Removes every command of `owner` (module stop). */
void core_control_unregister_owner(core_control *ctl, const char *owner);

/* Runs a command in-process, as if it came from the socket, and returns the
 * response JSON (newly allocated, no trailing newline). For tests and for
 * `ucd --check-config`-style local calls. */
char *core_control_execute(core_control *ctl, int argc, const char *const *argv);

/* Runs a command in-process for the control service (ucd/control.h): as a
 * socket request would run, but the response JSON (exactly what the socket
 * sends, without the newline) goes to `done` with the command's result:
 * UCD_OK for an ok reply, else the handler's error code (UCD_FAIL when it
 * returned UCD_OK or deferred and still replied an error). The command runs
 * from an idle source on the server's context, never inside the caller's
 * stack (it may stop modules, the caller's among them); `done` runs once,
 * after this returns, when the command or its deferred reply completes, or
 * never when the server is freed first. A command whose module stopped in
 * between answers the unknown-command error with UCD_E_NOT_FOUND.
 * UCD_E_INVALID for an empty argv, a NULL word or one that is not UTF-8, and
 * UCD_E_NOT_FOUND for an unknown command, at once: `done` is not called. */
int core_control_run(core_control *ctl, int argc, const char *const *argv, ucd_control_done_cb done,
                     void *user_data);

/* Defers a reply: the handler returns at once (its return value is then
 * ignored) and answers later, from the main loop, by filling `reply` and
 * calling core_reply_complete(). For commands that must block (a database
 * query, a directory write): run the blocking part on the worker pool and
 * complete in its done callback. The connection reads no further request
 * until then, so answers stay in request order; a client that disconnects
 * meanwhile is simply not answered. Core commands only (not in the SDK). */
void core_reply_defer(ucd_reply *reply);
/* Sends a deferred reply and frees it: `reply` is invalid afterwards. */
void core_reply_complete(ucd_reply *reply);

/* The ucd_reply functions of the host table (host.h).
 *
 * reply_columns sets the table's columns; called again before any row it
 * replaces them, after a row it is ignored (the rows would no longer fit).
 * reply_row reads one value per column and stops early at a NULL: a shorter,
 * NULL-terminated row is padded with "" and values beyond the column count are
 * never read (cut). A row before any columns is ignored. reply_field adds a
 * "name: value" pair (NULL value: ""). reply_text appends to the free text as
 * is (several calls concatenate). reply_error makes the response ok:false; a
 * second error is appended after "; ". Strings that are not valid UTF-8 are
 * repaired (U+FFFD) when the response is written. Past CORE_CONTROL_MAX_REPLY
 * the whole reply turns into an error. */
void core_reply_columns(ucd_reply *reply, size_t count, const char *const *names);
void core_reply_row(ucd_reply *reply, const char *const *values);
void core_reply_field(ucd_reply *reply, const char *name, const char *value);
void core_reply_text(ucd_reply *reply, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void core_reply_error(ucd_reply *reply, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void core_reply_textv(ucd_reply *reply, const char *fmt, va_list ap) G_GNUC_PRINTF(2, 0);
void core_reply_errorv(ucd_reply *reply, const char *fmt, va_list ap) G_GNUC_PRINTF(2, 0);

#endif /* CORE_CONTROL_H */
