/*
 * auth-login.c - the /auth routes: login, refresh, logout, and the sessions
 * of a user.
 *
 * A login asks the directory who the login is and which users backend it
 * came from, and that backend whether the password is right: its
 * authenticate() blocks (an LDAP bind, a slow password hash), so it runs on
 * a worker while the call waits, deferred. The password is copied once for
 * the worker and wiped when it is done; it is never logged or stored. The
 * answer to a wrong password and to an unknown login is the same, so the
 * API tells nobody which logins exist; the log, for the administrator, says
 * which it was. A disabled user, or one homed on another server, hears so
 * (403) only after giving the right password, and only when the backend
 * takes it: users-file and Active Directory refuse a disabled user's
 * password as wrong (401). Failed logins are limited per login and per address
 * (auth-ratelimit.h) before the backend is asked at all.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "auth-internal.h"
#include "auth-tokens.h"

/* Limits of what a client may send as login and password: longer is not a
 * login, and a backend should never be handed megabytes to hash. */
#define AUTH_LOGIN_MAX    256
#define AUTH_PASSWORD_MAX 1024
#define AUTH_AGENT_MAX    256

/* One login on its way through a worker. */
typedef struct login_job {
    auth_guard *guard;
    api_call *call;
    char *typed;    /* the login as the client typed it: its rate-limit budget */
    char *login;    /* the login as the backend knows it */
    char *password; /* wiped before it is freed */
    char *address;
    char *user_agent;
    char *user_id;
    char *backend;
    const ucd_users_v1 *users;
    void *users_impl;
    int result;
} login_job;

static const ucd_host *host_of(api_auth *auth)
{
    return auth->ctx->host;
}

static ucd_plugin *self_of(api_auth *auth)
{
    return auth->ctx->self;
}

/* A member that must be a non-empty string of at most `max` bytes; else
 * answers 400 and returns NULL. */
static const char *string_member(api_call *call, JsonObject *o, const char *name, gsize max)
{
    const char *value = NULL;
    if (!api_json_string(call, o, name, TRUE, &value))
        return NULL;
    if (*value == '\0') {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "field \"%s\" is empty", name);
        return NULL;
    }
    if (strlen(value) > max) {
        api_call_error(call, 400, API_ERR_INVALID_ARGUMENT, "field \"%s\" is longer than %zu bytes",
                       name, max);
        return NULL;
    }
    return value;
}

static void log_failure(api_auth *auth, const char *login, const char *address, const char *why)
{
    char *safe_login = auth_log_text(login);
    char *safe_address = auth_log_text(address);
    ucd_notice(host_of(auth), self_of(auth), "failed login for '%s' from %s: %s", safe_login,
               safe_address, why);
    g_free(safe_login);
    g_free(safe_address);
}

static JsonNode *user_node(api_auth *auth, const auth_user *user)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, user->id);
    json_builder_set_member_name(b, "login");
    json_builder_add_string_value(b, user->login);
    json_builder_set_member_name(b, "display_name");
    json_builder_add_string_value(b, user->display_name);
    json_builder_set_member_name(b, "role");
    json_builder_add_string_value(b, auth_role_word(api_auth_role_of(auth, user->id)));
    json_builder_end_object(b);
    JsonNode *node = json_builder_get_root(b);
    g_object_unref(b);
    return node;
}

/* New tokens for session `id` (a new session when `user` is given, else a
 * rotation), answered as {access_token, refresh_token, ...}. */
static void issue(api_auth *auth, api_call *call, const char *session_id, const auth_user *user,
                  const char *address, const char *user_agent)
{
    char *access = auth_token_new(AUTH_PREFIX_ACCESS);
    char *refresh = auth_token_new(AUTH_PREFIX_REFRESH);
    char *id = session_id ? g_strdup(session_id) : auth_session_id_new();
    if (access == NULL || refresh == NULL || id == NULL) {
        api_call_error(call, 500, API_ERR_INTERNAL, "no random numbers for a token");
        goto out;
    }
    const api_config *config = &auth->ctx->config;
    gint64 now = auth_now_ms();
    gint64 access_expires = now + config->session_lifetime_ms;
    gint64 refresh_expires = now + MAX(config->refresh_lifetime_ms, config->session_lifetime_ms);
    char *access_hash = auth_token_hash(access);
    char *refresh_hash = auth_token_hash(refresh);
    if (session_id) {
        auth_store_rotate(auth->store, id, access_hash, refresh_hash, access_expires,
                          refresh_expires);
        g_free(access_hash);
        g_free(refresh_hash);
    } else {
        auth_session *s = g_new0(auth_session, 1);
        s->id = g_strdup(id);
        s->user_id = g_strdup(user->id);
        s->access_hash = access_hash;
        s->refresh_hash = refresh_hash;
        s->created = s->last_used = now;
        s->access_expires = access_expires;
        s->refresh_expires = refresh_expires;
        s->address = g_strdup(address);
        s->user_agent = user_agent ? g_strndup(user_agent, AUTH_AGENT_MAX) : NULL;
        auth_store_add_session(auth->store, s);
    }

    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "access_token");
    json_builder_add_string_value(b, access);
    json_builder_set_member_name(b, "refresh_token");
    json_builder_add_string_value(b, refresh);
    json_builder_set_member_name(b, "token_type");
    json_builder_add_string_value(b, "Bearer");
    json_builder_set_member_name(b, "expires_in");
    json_builder_add_int_value(b, (access_expires - now) / 1000);
    json_builder_set_member_name(b, "refresh_expires_in");
    json_builder_add_int_value(b, (refresh_expires - now) / 1000);
    json_builder_set_member_name(b, "session_id");
    json_builder_add_string_value(b, id);
    if (user) {
        json_builder_set_member_name(b, "user");
        json_builder_add_value(b, user_node(auth, user));
    }
    json_builder_end_object(b);
    api_call_respond(call, 200, json_builder_get_root(b));
    g_object_unref(b);
out:
    if (access)
        OPENSSL_cleanse(access, strlen(access));
    if (refresh)
        OPENSSL_cleanse(refresh, strlen(refresh));
    g_free(access);
    g_free(refresh);
    g_free(id);
}

/* ---- POST /auth/login ----------------------------------------------------- */

static void login_job_free(login_job *job)
{
    if (job->password) {
        OPENSSL_cleanse(job->password, strlen(job->password));
        g_free(job->password);
    }
    g_free(job->typed);
    g_free(job->login);
    g_free(job->address);
    g_free(job->user_agent);
    g_free(job->user_id);
    g_free(job->backend);
    auth_guard_unref(job->guard);
    g_free(job);
}

static void login_work(gpointer data)
{
    login_job *job = data;
    job->result = job->users->authenticate(job->users_impl, job->login, job->password);
    OPENSSL_cleanse(job->password, strlen(job->password));
}

static void rate_limited(api_auth *auth, api_call *call, const char *login, const char *address,
                         guint retry_after)
{
    char seconds[16];
    g_snprintf(seconds, sizeof seconds, "%u", retry_after);
    log_failure(auth, login, address, "too many failed logins, refused without checking");
    api_call_set_header(call, "Retry-After", seconds);
    api_call_error(call, 429, API_ERR_RATE_LIMITED,
                   "too many failed logins for this login or from this address: try again in %u "
                   "s",
                   retry_after);
}

/* The backend answered; on the main loop. */
static void login_done(gpointer data)
{
    login_job *job = data;
    api_auth *auth = job->guard->auth;
    if (auth == NULL) { /* the module stopped meanwhile */
        login_job_free(job);
        return;
    }
    api_call *call = job->call;
    auth_attempt outcome = AUTH_ATTEMPT_NEUTRAL;
    auth_user user = {0};
    if (job->user_id == NULL) { /* whatever the backend said (check_unknown) */
        outcome = AUTH_ATTEMPT_FAILED;
        log_failure(auth, job->login, job->address, "no such login in the directory");
        api_call_error(call, 401, API_ERR_UNAUTHENTICATED, "wrong login or password");
    } else if (job->result == UCD_E_DENIED || job->result == UCD_E_NOT_FOUND) {
        outcome = AUTH_ATTEMPT_FAILED;
        log_failure(auth, job->login, job->address,
                    job->result == UCD_E_DENIED ? "wrong password"
                                                : "the backend does not know the login");
        api_call_error(call, 401, API_ERR_UNAUTHENTICATED, "wrong login or password");
    } else if (job->result == UCD_E_UNSUPPORTED) {
        log_failure(auth, job->login, job->address, "its backend has no passwords");
        api_call_error(call, 403, API_ERR_FORBIDDEN, "the backend of %s (%s) has no passwords",
                       job->login, job->backend);
    } else if (job->result != UCD_OK) {
        log_failure(auth, job->login, job->address, ucd_strerror(job->result));
        api_call_error(call, 503, API_ERR_UNAVAILABLE,
                       "the backend of %s (%s) cannot check passwords now: %s", job->login,
                       job->backend, ucd_strerror(job->result));
    } else if (auth_user_find(auth, job->user_id, &user) != UCD_OK) {
        log_failure(auth, job->login, job->address, "gone from the directory meanwhile");
        api_call_error(call, 401, API_ERR_UNAUTHENTICATED, "wrong login or password");
    } else {
        char *why = auth_user_refusal(&user);
        if (why) {
            /* the right password of a user who may not log in (disabled, or
             * active on another server): said only to who knows it */
            log_failure(auth, job->login, job->address, why);
            api_call_error(call, 403, API_ERR_FORBIDDEN, "%s", why);
            g_free(why);
        } else {
            outcome = AUTH_ATTEMPT_SUCCEEDED;
            /* a client that left gets no session, nobody would hold its
             * tokens; the empty answer only releases the deferred call */
            if (!api_call_answered(call))
                issue(auth, call, NULL, &user, job->address, job->user_agent);
            else
                api_call_respond(call, 204, NULL);
            char *safe_address = auth_log_text(job->address);
            ucd_info(host_of(auth), self_of(auth), "login of %s from %s", user.login, safe_address);
            g_free(safe_address);
        }
    }
    auth_ratelimit_end(auth->limit, job->typed, job->address, outcome);
    auth_user_clear(&user);
    login_job_free(job);
}

/* Hands the password to `users`' backend on a worker; login_done answers.
 * `user` NULL: a login the directory does not know (check_unknown). */
static void submit_check(api_auth *auth, api_call *call, const char *typed, const char *password,
                         const char *address, const auth_user *user, const ucd_service *users)
{
    login_job *job = g_new0(login_job, 1);
    job->guard = auth_guard_ref(auth->guard);
    job->call = call;
    job->typed = g_strdup(typed);
    job->login = g_strdup(user ? user->login : typed);
    job->password = g_strdup(password);
    job->address = g_strdup(address);
    job->user_agent = g_strdup(api_call_header(call, "User-Agent"));
    job->user_id = g_strdup(user ? user->id : NULL);
    job->backend = g_strdup(user ? user->backend : NULL);
    job->users = users->iface;
    job->users_impl = users->impl;
    api_call_defer(call);
    if (host_of(auth)->work_submit(self_of(auth), login_work, login_done, job) != UCD_OK) {
        auth_ratelimit_end(auth->limit, typed, address, AUTH_ATTEMPT_NEUTRAL);
        api_call_error(call, 503, API_ERR_UNAVAILABLE, "no worker to check the password now");
        login_job_free(job);
    }
}

/* A login nobody has is answered as late as a wrong password: a users
 * backend is asked anyway (users-file spends a password hash on an unknown
 * login), so the time of the answer does not tell which logins exist
 * either. Without a backend that checks passwords, at once. */
static void check_unknown(api_auth *auth, api_call *call, const char *login, const char *password,
                          const char *address)
{
    ucd_service users = {.struct_size = sizeof users};
    if (host_of(auth)->service_get(self_of(auth), UCD_USERS_SERVICE, UCD_USERS_MAJOR, NULL,
                                   &users) == UCD_OK &&
        ((const ucd_users_v1 *)users.iface)->authenticate) {
        submit_check(auth, call, login, password, address, NULL, &users);
        return;
    }
    log_failure(auth, login, address, "no such login in the directory");
    auth_ratelimit_end(auth->limit, login, address, AUTH_ATTEMPT_FAILED);
    api_call_error(call, 401, API_ERR_UNAUTHENTICATED, "wrong login or password");
}

static void on_login(api_call *call, gpointer data)
{
    api_auth *auth = data;
    static const char *const allowed[] = {"login", "password", NULL};
    JsonObject *body = api_call_json_object(call, allowed);
    if (body == NULL)
        return;
    const char *login = string_member(call, body, "login", AUTH_LOGIN_MAX);
    if (login == NULL)
        return;
    const char *password = string_member(call, body, "password", AUTH_PASSWORD_MAX);
    if (password == NULL)
        return;
    const char *address = api_call_address(call);
    guint retry_after = 0;
    if (!auth_ratelimit_begin(auth->limit, login, address, &retry_after)) {
        rate_limited(auth, call, login, address, retry_after);
        return;
    }

    auth_user user;
    if (auth_user_find(auth, login, &user) != UCD_OK) {
        check_unknown(auth, call, login, password, address);
        return;
    }
    /* A disabled user, or one active on another server, is refused only
     * after the backend took the password (login_done): before, the answer
     * would tell anyone that the login exists. A backend that refuses a
     * disabled user's right password too (users-file, Active Directory)
     * makes it the same 401 as a wrong one. */
    ucd_service users = {.struct_size = sizeof users};
    if (user.backend == NULL ||
        host_of(auth)->service_get(self_of(auth), UCD_USERS_SERVICE, UCD_USERS_MAJOR, user.backend,
                                   &users) != UCD_OK) {
        log_failure(auth, login, address, "its users backend is not running");
        auth_ratelimit_end(auth->limit, login, address, AUTH_ATTEMPT_NEUTRAL);
        api_call_error(call, 503, API_ERR_UNAVAILABLE, "the backend of %s (%s) is not running",
                       user.login, user.backend ? user.backend : "unknown");
        auth_user_clear(&user);
        return;
    }
    const ucd_users_v1 *iface = users.iface;
    if (iface->authenticate == NULL) {
        log_failure(auth, login, address, "its backend has no passwords");
        auth_ratelimit_end(auth->limit, login, address, AUTH_ATTEMPT_NEUTRAL);
        api_call_error(call, 403, API_ERR_FORBIDDEN, "the backend of %s (%s) has no passwords",
                       user.login, user.backend);
        auth_user_clear(&user);
        return;
    }

    /* The backend checks the login it gave the directory ("alice" where
     * "Alice" was typed); the rate limit counts what was typed. */
    submit_check(auth, call, login, password, address, &user, &users);
    auth_user_clear(&user);
}

/* ---- POST /auth/refresh -------------------------------------------------- */

static void on_refresh(api_call *call, gpointer data)
{
    api_auth *auth = data;
    static const char *const allowed[] = {"refresh_token", NULL};
    JsonObject *body = api_call_json_object(call, allowed);
    if (body == NULL)
        return;
    const char *token = string_member(call, body, "refresh_token", AUTH_LOGIN_MAX);
    if (token == NULL)
        return;
    if (!g_str_has_prefix(token, AUTH_PREFIX_REFRESH)) {
        api_call_error(call, 401, API_ERR_UNAUTHENTICATED, "not a refresh token of this server");
        return;
    }
    char *hash = auth_token_hash(token);
    const auth_session *s = auth_store_session_by_refresh(auth->store, hash);
    gboolean known = s && auth_hash_equal(s->refresh_hash, hash);
    g_free(hash);
    if (!known) {
        api_call_error(call, 401, API_ERR_UNAUTHENTICATED,
                       "unknown, used or revoked refresh token: log in again");
        return;
    }
    char *id = g_strdup(s->id);
    if (s->refresh_expires <= auth_now_ms()) {
        auth_store_remove_session(auth->store, id);
        api_call_error(call, 401, API_ERR_TOKEN_EXPIRED, "the refresh token expired: log in again");
        g_free(id);
        return;
    }
    auth_user user;
    char *why = NULL;
    if (auth_user_find(auth, s->user_id, &user) != UCD_OK)
        why = g_strdup_printf("user %s is no longer in the directory", s->user_id);
    else
        why = auth_user_refusal(&user);
    if (why) {
        auth_store_remove_session(auth->store, id);
        api_call_error(call, 401, API_ERR_UNAUTHENTICATED, "%s", why);
        g_free(why);
    } else {
        issue(auth, call, id, NULL, NULL, NULL);
    }
    auth_user_clear(&user);
    g_free(id);
}

/* ---- POST /auth/logout --------------------------------------------------- */

static void on_logout(api_call *call, gpointer data)
{
    api_auth *auth = data;
    const api_principal *p = api_call_principal(call);
    if (p->session_id == NULL) {
        api_call_error(call, 400, API_ERR_BAD_REQUEST,
                       "an API key has no session: revoke it with ucctl api keys revoke");
        return;
    }
    auth_store_remove_session(auth->store, p->session_id);
    ucd_info(host_of(auth), self_of(auth), "session %s of %s ended by logout", p->session_id,
             p->login);
    api_call_respond(call, 204, NULL);
}

/* ---- GET /auth/sessions, DELETE /auth/sessions/{id} ----------------------- */

static void add_time(JsonBuilder *b, const char *name, gint64 ms)
{
    char *text = auth_time_text(ms);
    json_builder_set_member_name(b, name);
    if (text)
        json_builder_add_string_value(b, text);
    else
        json_builder_add_null_value(b);
    g_free(text);
}

static JsonNode *session_node(const auth_session *s, const auth_user *user, const char *current)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_string_value(b, s->id);
    json_builder_set_member_name(b, "user_id");
    json_builder_add_string_value(b, s->user_id);
    json_builder_set_member_name(b, "login");
    json_builder_add_string_value(b, user->login);
    add_time(b, "created", s->created);
    add_time(b, "expires", s->access_expires);
    add_time(b, "refresh_expires", s->refresh_expires);
    add_time(b, "last_used", s->last_used);
    json_builder_set_member_name(b, "address");
    json_builder_add_string_value(b, s->address);
    json_builder_set_member_name(b, "user_agent");
    json_builder_add_string_value(b, s->user_agent);
    json_builder_set_member_name(b, "current");
    json_builder_add_boolean_value(b, current && strcmp(current, s->id) == 0);
    json_builder_end_object(b);
    JsonNode *node = json_builder_get_root(b);
    g_object_unref(b);
    return node;
}

static void on_sessions(api_call *call, gpointer data)
{
    api_auth *auth = data;
    const api_principal *p = api_call_principal(call);
    const char *who = api_call_query(call, "user");
    auth_user user;
    if (auth_user_find(auth, who ? who : p->user_id, &user) != UCD_OK) {
        if (p->role >= UCD_HTTP_ROLE_ADMIN)
            api_call_error(call, 404, API_ERR_NOT_FOUND, "no user '%s'", who);
        else
            api_call_error(call, 403, API_ERR_FORBIDDEN,
                           "only an admin sees the sessions of another user");
        return;
    }
    if (strcmp(user.id, p->user_id) != 0 && p->role < UCD_HTTP_ROLE_ADMIN) {
        api_call_error(call, 403, API_ERR_FORBIDDEN,
                       "only an admin sees the sessions of another user");
        auth_user_clear(&user);
        return;
    }
    GPtrArray *list = auth_store_sessions(auth->store, user.id);
    JsonArray *items = json_array_new();
    for (guint i = 0; i < list->len; i++)
        json_array_add_element(items, session_node(list->pdata[i], &user, p->session_id));
    api_call_respond_list(call, items, list->len, NULL);
    g_ptr_array_free(list, TRUE);
    auth_user_clear(&user);
}

static void on_session_delete(api_call *call, gpointer data)
{
    api_auth *auth = data;
    const api_principal *p = api_call_principal(call);
    const char *id = api_call_param(call, "id");
    const auth_session *s = auth_store_session(auth->store, id);
    /* another user's session is "not found" to a non-admin: ids are not
     * secrets, but whose they are is none of his business */
    if (s == NULL || (strcmp(s->user_id, p->user_id) != 0 && p->role < UCD_HTTP_ROLE_ADMIN)) {
        api_call_error(call, 404, API_ERR_NOT_FOUND, "no session '%s'", id);
        return;
    }
    char *owner = g_strdup(s->user_id);
    auth_store_remove_session(auth->store, id);
    ucd_notice(host_of(auth), self_of(auth), "session %s of %s ended by %s", id, owner, p->login);
    g_free(owner);
    api_call_respond(call, 204, NULL);
}

/* ---- the routes ---------------------------------------------------------- */

#define TOKENS_SCHEMA                                                                              \
    "{\"type\":\"object\",\"required\":[\"access_token\",\"refresh_token\",\"expires_in\","        \
    "\"session_id\"],\"properties\":{"                                                             \
    "\"access_token\":{\"type\":\"string\",\"description\":\"send as Authorization: Bearer\"},"    \
    "\"refresh_token\":{\"type\":\"string\",\"description\":\"for POST /auth/refresh\"},"          \
    "\"token_type\":{\"type\":\"string\",\"const\":\"Bearer\"},"                                   \
    "\"expires_in\":{\"type\":\"integer\",\"description\":\"seconds the access token lives\"},"    \
    "\"refresh_expires_in\":{\"type\":\"integer\"},"                                               \
    "\"session_id\":{\"type\":\"string\"},"                                                        \
    "\"user\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"string\"},"                  \
    "\"login\":{\"type\":\"string\"},\"display_name\":{\"type\":\"string\"},"                      \
    "\"role\":{\"enum\":[\"user\",\"leader\",\"admin\"]}}}}}"

static const char login_openapi[] =
    "{\"summary\":\"Log in with a login and password\",\"tags\":[\"auth\"],"
    "\"description\":\"Checks the password with the user's own backend (an LDAP bind, a hashed "
    "file or SQL password) and opens a session. Failed logins are limited per login and per "
    "address (login_attempts a minute): 429 with Retry-After.\","
    "\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":{"
    "\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"login\",\"password\"],"
    "\"properties\":{\"login\":{\"type\":\"string\",\"maxLength\":256},"
    "\"password\":{\"type\":\"string\",\"maxLength\":1024}}}}}},"
    "\"responses\":{\"200\":{\"description\":\"a new session\",\"content\":{"
    "\"application/json\":{\"schema\":" TOKENS_SCHEMA "}}},"
    "\"401\":{\"description\":\"wrong login or password\"},"
    "\"403\":{\"description\":\"the user is disabled, not active on this server, or its backend "
    "has no passwords\"},"
    "\"429\":{\"description\":\"too many failed logins\",\"headers\":{\"Retry-After\":{"
    "\"schema\":{\"type\":\"integer\"}}}}}}";

static const char refresh_openapi[] =
    "{\"summary\":\"New tokens for a refresh token\",\"tags\":[\"auth\"],"
    "\"description\":\"Rotates both tokens of the session: the old ones stop working.\","
    "\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":{"
    "\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"refresh_token\"],"
    "\"properties\":{\"refresh_token\":{\"type\":\"string\"}}}}}},"
    "\"responses\":{\"200\":{\"description\":\"the session's new tokens\",\"content\":{"
    "\"application/json\":{\"schema\":" TOKENS_SCHEMA "}}},"
    "\"401\":{\"description\":\"unknown, used, revoked or expired refresh token\"}}}";

static const char logout_openapi[] =
    "{\"summary\":\"End the caller's session\",\"tags\":[\"auth\"],"
    "\"responses\":{\"204\":{\"description\":\"the session ended; its tokens are refused\"}}}";

static const char sessions_openapi[] =
    "{\"summary\":\"Sessions of a user\",\"tags\":[\"auth\"],"
    "\"description\":\"The caller's own sessions; an admin names another user with ?user=.\","
    "\"parameters\":[{\"name\":\"user\",\"in\":\"query\",\"schema\":{\"type\":\"string\"},"
    "\"description\":\"a user id or login (admin)\"}],"
    "\"responses\":{\"200\":{\"description\":\"the sessions, oldest first; no tokens\","
    "\"content\":{\"application/json\":{\"schema\":{\"type\":\"object\",\"properties\":{"
    "\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"string\"},\"user_id\":{\"type\":\"string\"},"
    "\"login\":{\"type\":\"string\"},"
    "\"created\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"expires\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"refresh_expires\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"last_used\":{\"type\":\"string\",\"format\":\"date-time\"},"
    "\"address\":{\"type\":\"string\"},\"user_agent\":{\"type\":[\"string\",\"null\"]},"
    "\"current\":{\"type\":\"boolean\"}}}},"
    "\"total\":{\"type\":\"integer\"},\"next\":{\"type\":\"null\"}}}}}},"
    "\"403\":{\"description\":\"another user's sessions, asked by a non-admin\"}}}";

static const char session_delete_openapi[] =
    "{\"summary\":\"End a session\",\"tags\":[\"auth\"],"
    "\"description\":\"One of the caller's own sessions, or any for an admin.\","
    "\"parameters\":[{\"name\":\"id\",\"in\":\"path\",\"required\":true,"
    "\"schema\":{\"type\":\"string\"}}],"
    "\"responses\":{\"204\":{\"description\":\"ended\"},"
    "\"404\":{\"description\":\"no such session (or not the caller's)\"}}}";

static const api_route_def auth_routes[] = {
    {"POST", "/auth/login", UCD_HTTP_ROLE_ANYONE, NULL, login_openapi, on_login},
    {"POST", "/auth/refresh", UCD_HTTP_ROLE_ANYONE, NULL, refresh_openapi, on_refresh},
    {"POST", "/auth/logout", UCD_HTTP_ROLE_USER, NULL, logout_openapi, on_logout},
    {"GET", "/auth/sessions", UCD_HTTP_ROLE_USER, NULL, sessions_openapi, on_sessions},
    {"DELETE", "/auth/sessions/{id}", UCD_HTTP_ROLE_USER, NULL, session_delete_openapi,
     on_session_delete},
};

gboolean auth_login_register(api_auth *auth, api_router *router, GError **error)
{
    return api_router_add(router, auth_routes, G_N_ELEMENTS(auth_routes), auth, NULL, error);
}
