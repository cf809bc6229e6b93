/*
 * auth-commands.c - `ucctl api ...`: sessions, tokens and API keys for
 * administrators at the server's console.
 *
 *   ucctl api tokens                          live tokens, no values
 *   ucctl api sessions [USER]                 sessions, everyone's or one user's
 *   ucctl api sessions revoke ID|--user USER  ends a session, or all of a user's
 *   ucctl api keys                            API keys, no values
 *   ucctl api keys create NAME --scope S[,S] [--users U[,U]]
 *                                             a new key, printed this once
 *   ucctl api keys revoke NAME
 *
 * One command, `api`, with subcommands: a plugin's commands are one name
 * each, and ucctl shows the usage below for `ucctl help`.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "auth-internal.h"
#include "auth-tokens.h"

#define API_COMMAND_USAGE                                                                          \
    "tokens | sessions [USER] | sessions revoke ID|--user USER | keys | "                          \
    "keys create NAME --scope S[,S] [--users U[,U]] | keys revoke NAME"

/* api-http's own scopes (design: README.md). A plugin's routes may name
 * others ("contacts:read"): those are taken, with a warning. */
static const char *const known_scopes[] = {
    "directory:read", "presence:read",  "presence:write", "calls:read", "calls:control",
    "journal:read",   "analytics:read", "events:read",    NULL,
};

static const ucd_host *host_of(api_auth *auth)
{
    return auth->ctx->host;
}

/* The login of a user id for tables, the id itself when the directory has
 * none. A new string. */
static char *login_of(api_auth *auth, const char *user_id)
{
    auth_user user;
    if (auth_user_find(auth, user_id, &user) != UCD_OK)
        return g_strdup(user_id);
    char *login = g_strdup(user.login);
    auth_user_clear(&user);
    return login;
}

static int usage_error(api_auth *auth, ucd_reply *reply, const char *what)
{
    host_of(auth)->reply_error(reply, "%s; usage: ucctl api %s", what, API_COMMAND_USAGE);
    return UCD_E_INVALID;
}

/* ---- tokens and sessions ------------------------------------------------- */

static void token_row(api_auth *auth, ucd_reply *reply, const auth_session *s, const char *kind,
                      gint64 expires, const char *login)
{
    char *created = auth_time_text(s->created);
    char *until = auth_time_text(expires);
    const char *row[] = {s->id, login, kind, created, until, s->address ? s->address : ""};
    host_of(auth)->reply_row(reply, row);
    g_free(created);
    g_free(until);
}

static int cmd_tokens(api_auth *auth, ucd_reply *reply)
{
    static const char *const columns[] = {"session", "user",    "kind",
                                          "created", "expires", "address"};
    host_of(auth)->reply_columns(reply, G_N_ELEMENTS(columns), columns);
    gint64 now = auth_now_ms();
    GPtrArray *list = auth_store_sessions(auth->store, NULL);
    for (guint i = 0; i < list->len; i++) {
        const auth_session *s = list->pdata[i];
        char *login = login_of(auth, s->user_id);
        if (s->access_expires > now)
            token_row(auth, reply, s, "access", s->access_expires, login);
        if (s->refresh_expires > now)
            token_row(auth, reply, s, "refresh", s->refresh_expires, login);
        g_free(login);
    }
    g_ptr_array_free(list, TRUE);
    return UCD_OK;
}

static int cmd_sessions_list(api_auth *auth, ucd_reply *reply, const char *who)
{
    auth_user user = {0};
    if (who && auth_user_find(auth, who, &user) != UCD_OK) {
        host_of(auth)->reply_error(reply, "no user '%s' in the directory", who);
        return UCD_E_NOT_FOUND;
    }
    static const char *const columns[] = {"id",        "user",      "created",
                                          "last_used", "expires",   "refresh_expires",
                                          "address",   "user_agent"};
    host_of(auth)->reply_columns(reply, G_N_ELEMENTS(columns), columns);
    GPtrArray *list = auth_store_sessions(auth->store, user.id);
    for (guint i = 0; i < list->len; i++) {
        const auth_session *s = list->pdata[i];
        char *login = login_of(auth, s->user_id);
        char *created = auth_time_text(s->created);
        char *used = auth_time_text(s->last_used);
        char *expires = auth_time_text(s->access_expires);
        char *refresh = auth_time_text(s->refresh_expires);
        const char *row[] = {s->id,
                             login,
                             created,
                             used,
                             expires,
                             refresh,
                             s->address ? s->address : "",
                             s->user_agent ? s->user_agent : ""};
        host_of(auth)->reply_row(reply, row);
        g_free(login);
        g_free(created);
        g_free(used);
        g_free(expires);
        g_free(refresh);
    }
    g_ptr_array_free(list, TRUE);
    auth_user_clear(&user);
    return UCD_OK;
}

static int cmd_sessions_revoke(api_auth *auth, ucd_reply *reply, int argc, const char *const *argv)
{
    const ucd_host *host = host_of(auth);
    if (argc == 2 && strcmp(argv[0], "--user") == 0) {
        auth_user user;
        if (auth_user_find(auth, argv[1], &user) != UCD_OK) {
            host->reply_error(reply, "no user '%s' in the directory", argv[1]);
            return UCD_E_NOT_FOUND;
        }
        guint count = auth_store_remove_user_sessions(auth->store, user.id);
        ucd_notice(host, auth->ctx->self, "%u session%s of %s revoked by ucctl", count,
                   count == 1 ? "" : "s", user.login);
        char number[16];
        g_snprintf(number, sizeof number, "%u", count);
        host->reply_field(reply, "user", user.login);
        host->reply_field(reply, "revoked", number);
        auth_user_clear(&user);
        return UCD_OK;
    }
    if (argc != 1 || argv[0][0] == '-')
        return usage_error(auth, reply, "sessions revoke takes a session id or --user USER");
    const auth_session *s = auth_store_session(auth->store, argv[0]);
    if (s == NULL) {
        host->reply_error(reply, "no session '%s' (ucctl api sessions lists them)", argv[0]);
        return UCD_E_NOT_FOUND;
    }
    char *login = login_of(auth, s->user_id);
    auth_store_remove_session(auth->store, argv[0]);
    ucd_notice(host, auth->ctx->self, "session %s of %s revoked by ucctl", argv[0], login);
    host->reply_field(reply, "session", argv[0]);
    host->reply_field(reply, "user", login);
    host->reply_field(reply, "revoked", "1");
    g_free(login);
    return UCD_OK;
}

/* ---- keys ---------------------------------------------------------------- */

static int cmd_keys_list(api_auth *auth, ucd_reply *reply)
{
    static const char *const columns[] = {"name",    "scopes",     "users",
                                          "created", "created_by", "last_used"};
    host_of(auth)->reply_columns(reply, G_N_ELEMENTS(columns), columns);
    GPtrArray *list = auth_store_keys(auth->store);
    for (guint i = 0; i < list->len; i++) {
        const auth_key *k = list->pdata[i];
        char *scopes = g_strjoinv(",", k->scopes);
        GPtrArray *logins = g_ptr_array_new_with_free_func(g_free);
        for (char **u = k->users; u && *u; u++)
            g_ptr_array_add(logins, login_of(auth, *u));
        g_ptr_array_add(logins, NULL);
        char *users = g_strjoinv(",", (char **)logins->pdata);
        char *created = auth_time_text(k->created);
        char *used = auth_time_text(k->last_used);
        const char *row[] = {k->name,
                             scopes,
                             users,
                             created,
                             k->created_by ? k->created_by : "",
                             used ? used : "never"};
        host_of(auth)->reply_row(reply, row);
        g_free(scopes);
        g_ptr_array_free(logins, TRUE);
        g_free(users);
        g_free(created);
        g_free(used);
    }
    g_ptr_array_free(list, TRUE);
    return UCD_OK;
}

static gboolean valid_name(const char *name)
{
    gsize length = strlen(name);
    if (length == 0 || length > 64)
        return FALSE;
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("._-", *p))
            return FALSE;
    return TRUE;
}

/* "word:word", lower case: what a route's scope looks like. */
static gboolean valid_scope(const char *scope)
{
    const char *colon = strchr(scope, ':');
    if (colon == NULL || colon == scope || colon[1] == '\0' || strchr(colon + 1, ':'))
        return FALSE;
    for (const char *p = scope; *p; p++)
        if (!(g_ascii_islower(*p) || g_ascii_isdigit(*p) || strchr(":_.-", *p)))
            return FALSE;
    return TRUE;
}

/* Splits "a,b" into a NULL-terminated array without empty items. */
static char **split_commas(const char *text)
{
    char **parts = g_strsplit(text, ",", -1);
    GPtrArray *out = g_ptr_array_new();
    for (char **p = parts; *p; p++) {
        char *item = g_strstrip(*p);
        if (*item)
            g_ptr_array_add(out, g_strdup(item));
    }
    g_strfreev(parts);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

static int cmd_keys_create(api_auth *auth, ucd_reply *reply, int argc, const char *const *argv)
{
    const ucd_host *host = host_of(auth);
    if (argc < 1 || argv[0][0] == '-')
        return usage_error(auth, reply, "keys create needs a NAME");
    const char *name = argv[0];
    const char *scope_text = NULL, *users_text = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc)
            scope_text = argv[++i];
        else if (strcmp(argv[i], "--users") == 0 && i + 1 < argc)
            users_text = argv[++i];
        else
            return usage_error(auth, reply, "keys create takes --scope S[,S] and --users U[,U]");
    }
    if (!valid_name(name)) {
        host->reply_error(reply,
                          "the key name '%s' is not 1 to 64 letters, digits, '.', '_' or "
                          "'-'",
                          name);
        return UCD_E_INVALID;
    }
    if (auth_store_key(auth->store, name)) {
        host->reply_error(reply, "there is a key '%s' already (revoke it first)", name);
        return UCD_E_BUSY;
    }
    char **scopes = split_commas(scope_text ? scope_text : "");
    if (scopes[0] == NULL) {
        g_strfreev(scopes);
        return usage_error(auth, reply, "a key needs at least one --scope");
    }
    GString *unknown = g_string_new(NULL);
    for (char **s = scopes; *s; s++) {
        if (!valid_scope(*s)) {
            host->reply_error(reply, "'%s' is not a scope (like journal:read); api-http's: %s", *s,
                              "directory:read, presence:read, presence:write, calls:read, "
                              "calls:control, journal:read, analytics:read, events:read");
            g_strfreev(scopes);
            g_string_free(unknown, TRUE);
            return UCD_E_INVALID;
        }
        if (!g_strv_contains(known_scopes, *s))
            g_string_append_printf(unknown, "%s%s", unknown->len ? ", " : "", *s);
    }
    char **names = split_commas(users_text ? users_text : "");
    GPtrArray *ids = g_ptr_array_new();
    for (char **u = names; *u; u++) {
        auth_user user;
        if (auth_user_find(auth, *u, &user) != UCD_OK) {
            host->reply_error(reply, "no user '%s' in the directory", *u);
            g_strfreev(scopes);
            g_strfreev(names);
            g_ptr_array_free(ids, TRUE);
            g_string_free(unknown, TRUE);
            return UCD_E_NOT_FOUND;
        }
        g_ptr_array_add(ids, g_strdup(user.id));
        auth_user_clear(&user);
    }
    g_strfreev(names);
    g_ptr_array_add(ids, NULL);

    char *secret = auth_token_new(AUTH_PREFIX_KEY);
    if (secret == NULL) {
        host->reply_error(reply, "no random numbers for a key");
        g_strfreev(scopes);
        g_strfreev((char **)g_ptr_array_free(ids, FALSE));
        g_string_free(unknown, TRUE);
        return UCD_FAIL;
    }
    auth_key *k = g_new0(auth_key, 1);
    k->name = g_strdup(name);
    k->hash = auth_token_hash(secret);
    k->scopes = scopes;
    k->users = (char **)g_ptr_array_free(ids, FALSE);
    k->created = auth_now_ms();
    k->created_by = g_strdup("ucctl");
    char *scope_list = g_strjoinv(",", k->scopes);
    char *user_list = g_strjoinv(",", k->users);
    auth_store_add_key(auth->store, k);
    ucd_notice(host, auth->ctx->self, "API key %s created by ucctl (scopes %s%s%s)", name,
               scope_list, *user_list ? ", users " : "", user_list);
    host->reply_field(reply, "name", name);
    host->reply_field(reply, "key", secret);
    host->reply_field(reply, "scopes", scope_list);
    host->reply_field(reply, "users", user_list);
    if (unknown->len)
        host->reply_text(reply, "note: %s %s not api-http's own (a plugin's route may use %s)",
                         unknown->str, strchr(unknown->str, ',') ? "are" : "is",
                         strchr(unknown->str, ',') ? "them" : "it");
    host->reply_text(reply, "the key is shown this once: store it now (only its hash is kept)");
    OPENSSL_cleanse(secret, strlen(secret));
    g_free(secret);
    g_free(scope_list);
    g_free(user_list);
    g_string_free(unknown, TRUE);
    return UCD_OK;
}

static int cmd_keys_revoke(api_auth *auth, ucd_reply *reply, int argc, const char *const *argv)
{
    if (argc != 1)
        return usage_error(auth, reply, "keys revoke takes a NAME");
    if (!auth_store_remove_key(auth->store, argv[0])) {
        host_of(auth)->reply_error(reply, "no API key '%s' (ucctl api keys lists them)", argv[0]);
        return UCD_E_NOT_FOUND;
    }
    ucd_notice(host_of(auth), auth->ctx->self, "API key %s revoked by ucctl", argv[0]);
    host_of(auth)->reply_field(reply, "key", argv[0]);
    host_of(auth)->reply_field(reply, "revoked", "1");
    return UCD_OK;
}

/* ---- dispatch ------------------------------------------------------------ */

static int run_api(int argc, const char *const *argv, ucd_reply *reply, void *data)
{
    api_auth *auth = data;
    const char *what = argc > 1 ? argv[1] : NULL;
    const char *sub = argc > 2 ? argv[2] : NULL;
    if (what == NULL)
        return usage_error(auth, reply, "what of the API");
    if (strcmp(what, "tokens") == 0 && argc == 2)
        return cmd_tokens(auth, reply);
    if (strcmp(what, "sessions") == 0) {
        if (sub && strcmp(sub, "revoke") == 0)
            return cmd_sessions_revoke(auth, reply, argc - 3, argv + 3);
        if (argc <= 3)
            return cmd_sessions_list(auth, reply, sub);
    }
    if (strcmp(what, "keys") == 0) {
        if (sub == NULL)
            return cmd_keys_list(auth, reply);
        if (strcmp(sub, "create") == 0)
            return cmd_keys_create(auth, reply, argc - 3, argv + 3);
        if (strcmp(sub, "revoke") == 0)
            return cmd_keys_revoke(auth, reply, argc - 3, argv + 3);
    }
    return usage_error(auth, reply, "unknown arguments");
}

gboolean auth_commands_register(api_auth *auth, GError **error)
{
    int rc =
        host_of(auth)->command_register(auth->ctx->self, "api", API_COMMAND_USAGE,
                                        "client API sessions, tokens and API keys", run_api, auth);
    if (rc != UCD_OK) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot register the command api: %s",
                    ucd_strerror(rc));
        return FALSE;
    }
    return TRUE;
}
