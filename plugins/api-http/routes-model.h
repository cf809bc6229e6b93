/*
 * routes-model.h - the model's records (users, lines, presence, live call
 * legs) as the JSON the client API answers with, cut to what the caller may
 * see, for the routes of me, directory, presence and calls.
 *
 * One rule decides every field: the level (permissions.h) at which the
 * caller sees the user a record is about, from routes_level():
 *   BLOCKED   the user is not shown at all (a GET of it answers 404)
 *   PUBLIC    id, login, display_name, given_name, surname, email,
 *             department, title, numbers, groups; presence: its state
 *   BUSINESS  + calls (live legs) and lines with their state; presence: the
 *             note, until and the parts the state was merged from
 *   PERSONAL  everything: enabled, home server, backend, E.164 numbers; a
 *             line's DND, forward and capabilities
 * A private remote number (UCD_CALL_FLAG_PRIVATE) shows as "anonymous" to
 * everyone but the user of the leg's line. A line without a user, and its
 * calls, only admins and API keys see.
 *
 * routes-model.c implements all of it; the route files use it and never
 * each other. Main loop.
 */
#ifndef ROUTES_MODEL_H
#define ROUTES_MODEL_H

#include <ucd/calls.h>
#include <ucd/directory.h>
#include <ucd/permissions.h>
#include <ucd/presence.h>

#include "api-call.h"

/* What a masked private number shows as (the journal's and the stream's
 * word too). */
#define ROUTES_MASKED_NUMBER "anonymous"

/* Keyset pages of users: ?limit= from 1 to ROUTES_MAX_LIMIT. */
#define ROUTES_DEFAULT_LIMIT 100
#define ROUTES_MAX_LIMIT     500

/* ---- users, lines, levels ---- */

/* Adds "name": value, a JSON null for NULL. */
void routes_add_string(JsonBuilder *b, const char *name, const char *value);
/* Adds "name": [values...] of a NULL-terminated list (NULL: []). */
void routes_add_strings(JsonBuilder *b, const char *name, const char *const *values);
/* `member`: {"name", "company"} of a call's remote party, or null when
 * both are NULL (nobody known). */
void routes_add_call_party(JsonBuilder *b, const char *member, const char *name,
                           const char *company);
/* `ms` as ISO 8601 UTC with milliseconds ("2026-12-07T17:36:37.586Z")
 * into `buf`; "" for 0 or less. Returns `buf`. */
const char *routes_iso_time(gint64 ms, char *buf, gsize size);
/* Adds "name": ISO 8601 UTC and "name_ms": ms, both null for 0. */
void routes_add_time(JsonBuilder *b, const char *name, gint64 ms);

/* TRUE when the caller is an API key (no user). */
gboolean routes_is_key(api_call *call);
/* The level at which the caller sees the user `subject` (an id; NULL: a
 * line without a user): api_call_level for users (PERSONAL for oneself and
 * for admins); an API key sees as the system does, PERSONAL on everyone,
 * but never a private number. */
guint routes_level(api_call *call, const char *subject);
/* routes_level of a directory record: a disabled user is BLOCKED to anyone
 * below PERSONAL (admins and keys still see one). */
guint routes_user_level(api_call *call, const ucd_directory_user *u);
/* The caller's level on `user` (id or login) and the user's id (copied
 * into `id`, at most `size` bytes). FALSE after answering 404 when there is
 * no such user or the caller may not see it (the two answers are the
 * same: the API tells nobody which users it hides). */
gboolean routes_find_user(api_call *call, const char *user, char *id, gsize size, guint *level);
/* The user object for `u`, cut to `level` (at least PUBLIC). */
JsonNode *routes_user_json(api_call *call, const ucd_directory_user *u, guint level);
/* The line object for `l` at `level` (at least BUSINESS). */
JsonNode *routes_line_json(const ucd_directory_line *l, guint level);
/* The line named "DRIVER/ADDRESS", or an ADDRESS on one driver only, into
 * `cb`; UCD_E_NOT_FOUND when there is none (or the address is on several
 * drivers). */
int routes_find_line(api_ctx *ctx, const char *name, ucd_directory_line_cb cb, void *data);
/* ?limit= of a list (default ROUTES_DEFAULT_LIMIT); FALSE after answering
 * 400. */
gboolean routes_read_limit(api_call *call, guint *limit);

/* ---- presence ---- */

/* The presence object of `info` at `level` (at least PUBLIC). */
JsonNode *routes_presence_json(const ucd_presence_info *info, guint level);
/* The presence of user `user_id` at `level`, or a JSON null when the user
 * has none here. */
JsonNode *routes_user_presence(api_ctx *ctx, const char *user_id, guint level);

/* ---- live legs ---- */

/* The leg object of `leg`, its private number masked unless the caller is
 * the user of the leg's line. */
JsonNode *routes_leg_json(api_call *call, const ucd_call_leg *leg);
/* The live legs on the lines of `user_id` (NULL: every line), as an array
 * (new); with `check_level`, only those the caller sees at BUSINESS. */
JsonArray *routes_legs(api_call *call, const char *user_id, gboolean check_level);
/* The live legs on the lines of `user_id`, as an array (new). */
JsonArray *routes_user_legs(api_call *call, const char *user_id);

#endif /* ROUTES_MODEL_H */
