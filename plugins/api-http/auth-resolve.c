/*
 * auth-resolve.c - the api_auth object (api-auth.h): its life, and what a
 * bearer token stands for.
 *
 * Every request with a token comes here before its handler, so resolving
 * is lookups only: the token's prefix says where to look, its SHA-256 finds
 * the session or key in memory, and the directory (in memory too) says
 * whether the user still may. Being in the directory is checked on every
 * request, not at login only: a user disabled or removed in the directory
 * loses the sessions at once, whatever their tokens' lifetime.
 */
#include <string.h>

#include "auth-internal.h"
#include "auth-tokens.h"

#define AUTH_STORE_FILE "sessions.db"
#define AUTH_WINDOW_MS  60000
/* Expired sessions are dropped when a request comes at least this long
 * after the last purge: no timer to keep, and a quiet server owes nothing. */
#define AUTH_PURGE_EVERY_MS 60000

/* ---- helpers the auth files share ---------------------------------------- */

gint64 auth_now_ms(void)
{
    return g_get_real_time() / 1000;
}

char *auth_time_text(gint64 ms)
{
    if (ms <= 0)
        return NULL;
    GDateTime *t = g_date_time_new_from_unix_utc(ms / 1000);
    char *text = t ? g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ") : NULL;
    if (t)
        g_date_time_unref(t);
    return text;
}

const char *auth_role_word(guint role)
{
    switch (role) {
    case UCD_HTTP_ROLE_ADMIN:
        return "admin";
    case UCD_HTTP_ROLE_LEADER:
        return "leader";
    case UCD_HTTP_ROLE_ANYONE:
        return "anyone";
    default:
        return "user";
    }
}

char *auth_log_text(const char *text)
{
    if (text == NULL)
        return g_strdup("(none)");
    char *cut = g_strndup(text, 64);
    char *safe = g_strescape(cut, NULL);
    g_free(cut);
    return safe;
}

gboolean auth_guard_alive(const auth_guard *guard)
{
    return guard->auth != NULL;
}

auth_guard *auth_guard_ref(auth_guard *guard)
{
    g_atomic_int_inc(&guard->refs);
    return guard;
}

void auth_guard_unref(auth_guard *guard)
{
    if (g_atomic_int_dec_and_test(&guard->refs))
        g_free(guard);
}

/* ---- directory users ----------------------------------------------------- */

static int copy_user(const ucd_directory_user *u, void *data)
{
    auth_user *out = data;
    out->id = g_strdup(u->id);
    out->login = g_strdup(u->login);
    out->display_name = g_strdup(u->display_name);
    out->backend = g_strdup(u->backend);
    out->home_server = g_strdup(u->home_server);
    out->enabled = u->enabled != 0;
    out->active_here = u->active_here != 0;
    return 1;
}

int auth_user_find(api_auth *auth, const char *id_or_login, auth_user *out)
{
    memset(out, 0, sizeof *out);
    api_ctx *ctx = auth->ctx;
    if (ctx->dir == NULL || id_or_login == NULL || *id_or_login == '\0')
        return UCD_E_NOT_FOUND;
    int rc = ctx->dir->get_user(ctx->dir_impl, id_or_login, copy_user, out);
    if (rc == UCD_OK && out->id == NULL)
        rc = UCD_E_NOT_FOUND;
    return rc == UCD_OK ? UCD_OK : UCD_E_NOT_FOUND;
}

void auth_user_clear(auth_user *user)
{
    g_free(user->id);
    g_free(user->login);
    g_free(user->display_name);
    g_free(user->backend);
    g_free(user->home_server);
    memset(user, 0, sizeof *user);
}

char *auth_user_refusal(const auth_user *user)
{
    if (!user->enabled)
        return g_strdup_printf("user %s is disabled", user->login);
    if (!user->active_here)
        return g_strdup_printf("user %s is active on server %s, not on this one", user->login,
                               user->home_server && *user->home_server ? user->home_server
                                                                       : "(another)");
    return NULL;
}

/* ---- roles --------------------------------------------------------------- */

typedef struct role_search {
    const char *admin_group;
    const char *user_id;
    gboolean admin;
    gboolean leader;
} role_search;

static int check_admin(const ucd_directory_user *u, void *data)
{
    role_search *r = data;
    for (const char *const *g = u->groups; r->admin_group && g && *g; g++)
        if (strcmp(*g, r->admin_group) == 0)
            r->admin = TRUE;
    return 1;
}

static int check_leader(const ucd_directory_group *group, void *data)
{
    role_search *r = data;
    for (const char *const *l = group->leaders; l && *l; l++)
        if (strcmp(*l, r->user_id) == 0) {
            r->leader = TRUE;
            return 1;
        }
    return 0;
}

guint api_auth_role_of(api_auth *auth, const char *user_id)
{
    api_ctx *ctx = auth->ctx;
    if (ctx->dir == NULL || user_id == NULL)
        return UCD_HTTP_ROLE_USER;
    role_search r = {.admin_group = ctx->config.admin_group, .user_id = user_id};
    if (r.admin_group && *r.admin_group)
        ctx->dir->get_user(ctx->dir_impl, user_id, check_admin, &r);
    if (r.admin)
        return UCD_HTTP_ROLE_ADMIN;
    ctx->dir->foreach_group(ctx->dir_impl, check_leader, &r);
    return r.leader ? UCD_HTTP_ROLE_LEADER : UCD_HTTP_ROLE_USER;
}

/* ---- resolving a token --------------------------------------------------- */

static gboolean refuse(const char **code, char **message, const char *error_code, char *text)
{
    *code = error_code;
    *message = text;
    return FALSE;
}

static void maybe_purge(api_auth *auth, gint64 now)
{
    if (now - auth->last_purge_ms < AUTH_PURGE_EVERY_MS)
        return;
    auth->last_purge_ms = now;
    guint purged = auth_store_purge(auth->store, now);
    if (purged > 0)
        ucd_info(auth->ctx->host, auth->ctx->self, "%u expired session%s ended", purged,
                 purged == 1 ? "" : "s");
}

static gboolean resolve_session(api_auth *auth, const char *hash, const char *address,
                                api_principal *out, const char **code, char **message)
{
    const auth_session *s = auth_store_session_by_access(auth->store, hash);
    if (s == NULL || !auth_hash_equal(s->access_hash, hash))
        return refuse(code, message, API_ERR_UNAUTHENTICATED,
                      g_strdup("unknown or revoked token: log in again"));
    gint64 now = auth_now_ms();
    if (s->access_expires <= now) {
        char *when = auth_time_text(s->access_expires);
        char *text = g_strdup_printf(
            "the access token expired at %s: get a new one with POST /auth/refresh", when);
        g_free(when);
        return refuse(code, message, API_ERR_TOKEN_EXPIRED, text);
    }
    auth_user user;
    if (auth_user_find(auth, s->user_id, &user) != UCD_OK)
        return refuse(code, message, API_ERR_UNAUTHENTICATED,
                      g_strdup_printf("user %s is no longer in the directory", s->user_id));
    char *why = auth_user_refusal(&user);
    if (why) {
        auth_user_clear(&user);
        return refuse(code, message, API_ERR_UNAUTHENTICATED, why);
    }
    out->role = api_auth_role_of(auth, user.id);
    out->user_id = g_strdup(user.id);
    out->login = g_strdup(user.login);
    out->session_id = g_strdup(s->id);
    out->address = g_strdup(address);
    out->expires_ms = s->access_expires;
    auth_store_touch_session(auth->store, s->id, now);
    auth_user_clear(&user);
    return TRUE;
}

static gboolean resolve_key(api_auth *auth, const char *hash, const char *address,
                            api_principal *out, const char **code, char **message)
{
    const auth_key *k = auth_store_key_by_hash(auth->store, hash);
    if (k == NULL || !auth_hash_equal(k->hash, hash))
        return refuse(code, message, API_ERR_UNAUTHENTICATED,
                      g_strdup("unknown or revoked API key"));
    /* A key acts as the system, within its scopes: the router checks them. */
    out->role = UCD_HTTP_ROLE_USER;
    out->key_name = g_strdup(k->name);
    out->scopes = g_strdupv(k->scopes);
    out->users = k->users && k->users[0] ? g_strdupv(k->users) : NULL;
    out->address = g_strdup(address);
    auth_store_touch_key(auth->store, k->name, auth_now_ms());
    return TRUE;
}

gboolean api_auth_resolve(api_auth *auth, const char *token, const char *address,
                          api_principal *out, const char **code, char **message)
{
    memset(out, 0, sizeof *out);
    *message = NULL;
    maybe_purge(auth, auth_now_ms());
    if (token == NULL || *token == '\0')
        return refuse(code, message, API_ERR_UNAUTHENTICATED,
                      g_strdup("no token: send Authorization: Bearer ACCESS_TOKEN"));
    gboolean access = g_str_has_prefix(token, AUTH_PREFIX_ACCESS);
    gboolean key = g_str_has_prefix(token, AUTH_PREFIX_KEY);
    if (g_str_has_prefix(token, AUTH_PREFIX_REFRESH))
        return refuse(code, message, API_ERR_UNAUTHENTICATED,
                      g_strdup("that is a refresh token: send it to POST /auth/refresh and the "
                               "access token with requests"));
    if (!access && !key)
        return refuse(code, message, API_ERR_UNAUTHENTICATED,
                      g_strdup("not a token of this server"));
    char *hash = auth_token_hash(token);
    gboolean ok = access ? resolve_session(auth, hash, address, out, code, message)
                         : resolve_key(auth, hash, address, out, code, message);
    g_free(hash);
    return ok;
}

/* ---- life ---------------------------------------------------------------- */

api_auth *api_auth_new(api_ctx *ctx, GError **error)
{
    const ucd_host *host = ctx->host;
    char *path = g_build_filename(host->state_dir(ctx->self), AUTH_STORE_FILE, NULL);
    auth_store *store = auth_store_open(host, ctx->self, path, error);
    g_free(path);
    if (store == NULL)
        return NULL;
    api_auth *auth = g_new0(api_auth, 1);
    auth->ctx = ctx;
    auth->store = store;
    auth->limit = auth_ratelimit_new((guint)CLAMP(ctx->config.login_attempts, 0, G_MAXINT),
                                     AUTH_WINDOW_MS, NULL, NULL);
    auth->guard = g_new0(auth_guard, 1);
    auth->guard->refs = 1;
    auth->guard->auth = auth;
    maybe_purge(auth, auth_now_ms());
    return auth;
}

void api_auth_free(api_auth *auth)
{
    if (auth == NULL)
        return;
    auth->guard->auth = NULL;
    auth_guard_unref(auth->guard);
    auth_store_close(auth->store);
    auth_ratelimit_free(auth->limit);
    g_free(auth);
}
