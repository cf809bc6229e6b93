/*
 * api-auth.h - who may use the client API: sessions from logins, API keys
 * for integrations, and the principal a bearer token stands for.
 *
 * Tokens are opaque random strings (32 bytes from OpenSSL's RAND_bytes,
 * base64url). Only their SHA-256 is stored (an SQLite file in the module's
 * state directory), so a stolen database opens no session. A session has an
 * access token (short life) and a refresh token (long life); logout and
 * `ucctl api sessions revoke` end it at once. API keys are made and revoked
 * with `ucctl api keys`, carry scopes and listed users, and are shown once.
 */
#ifndef API_AUTH_H
#define API_AUTH_H

#include "api-call.h"

/* Opens (creates) the store in the module's state directory. NULL and
 * `error` when it cannot. Reads ctx->dir when used, not here. A login asks
 * the user's own backend (service "users", by module id) to check the
 * password: api-http lists "users" in its descriptor's `uses`, so that
 * backends start before it and stop after it. */
api_auth *api_auth_new(api_ctx *ctx, GError **error);
/* Waits for the store's pending writes (a host work queue) and frees it:
 * call it from the stop hook, as the core frees a module's work queues
 * after stop. */
void api_auth_free(api_auth *auth);

/* The principal for a bearer token (a session's access token or an API
 * key), into `out` (free with api_principal_clear). FALSE with the error
 * code (API_ERR_UNAUTHENTICATED, API_ERR_TOKEN_EXPIRED) and a message.
 * Never blocks: sessions and keys are kept in memory, written through. A
 * user who is disabled or gone from the directory has no principal. */
gboolean api_auth_resolve(api_auth *auth, const char *token, const char *address,
                          api_principal *out, const char **code, char **message);

/* The role of a directory user: ADMIN in the admin group, LEADER when
 * leading a group, else USER. */
guint api_auth_role_of(api_auth *auth, const char *user_id);

/* Adds the auth routes (/auth/login, /auth/refresh, /auth/logout,
 * /auth/sessions ...) to the router, and `ucctl api` to the commands. */
gboolean api_auth_register(api_auth *auth, api_router *router, GError **error);

#endif /* API_AUTH_H */
