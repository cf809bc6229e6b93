/*
 * auth-internal.h - what the auth-*.c files of api-http share behind
 * api-auth.h: the api_auth object, directory users as the gate needs them,
 * and the registration of the routes (auth-login.c) and of `ucctl api`
 * (auth-commands.c).
 */
#ifndef AUTH_INTERNAL_H
#define AUTH_INTERNAL_H

#include "api-auth.h"
#include "api-router.h"
#include "auth-ratelimit.h"
#include "auth-store.h"

/* Shared by the api_auth and every login still being checked on a worker:
 * the worker's done callback finds `auth` NULL when the module stopped
 * meanwhile, and then touches nothing. */
typedef struct auth_guard {
    gint refs;
    api_auth *auth;
} auth_guard;

struct api_auth {
    api_ctx *ctx;
    auth_store *store;
    auth_ratelimit *limit;
    auth_guard *guard;
    gint64 last_purge_ms; /* wall clock */
};

/* A directory user, copied out of the directory's callback. */
typedef struct auth_user {
    char *id;
    char *login;
    char *display_name;
    char *backend; /* module id of its users service */
    char *home_server;
    gboolean enabled;
    gboolean active_here;
} auth_user;

/* Finds a user by id or login into `out` (clear it with auth_user_clear).
 * UCD_OK or UCD_E_NOT_FOUND. */
int auth_user_find(api_auth *auth, const char *id_or_login, auth_user *out);
void auth_user_clear(auth_user *user);
/* NULL when the user may hold a session here, else why not, for people
 * ("user eve is disabled"): a new string. */
char *auth_user_refusal(const auth_user *user);

/* Now on the wall clock, in milliseconds since the epoch (what the store
 * keeps: expiry times outlive a restart). */
gint64 auth_now_ms(void);
/* A time of the store as RFC 3339 in UTC ("2026-12-07T16:40:00Z"); 0 gives
 * NULL. */
char *auth_time_text(gint64 ms);
/* "user", "leader", "admin". */
const char *auth_role_word(guint role);
/* `text` (from a client) made safe for one log line: at most 64 bytes,
 * control characters escaped. */
char *auth_log_text(const char *text);

gboolean auth_guard_alive(const auth_guard *guard);
auth_guard *auth_guard_ref(auth_guard *guard);
void auth_guard_unref(auth_guard *guard);

/* The /auth/... routes (auth-login.c). */
gboolean auth_login_register(api_auth *auth, api_router *router, GError **error);
/* `ucctl api ...` (auth-commands.c). */
gboolean auth_commands_register(api_auth *auth, GError **error);

#endif /* AUTH_INTERNAL_H */
